# kasan-vmm: top-level build.
#
#   make          build/kasan-vmm (release), build/testguest.elf
#   make arm64    build/arm64/kasan-vmm, cross-built for arm64 hosts (vmm/arm64/arm64.mk)
#   make test     every test: unit (cmocka, under ASan+UBSan) and integration (real /dev/kvm)
#   make demo     boot the bundled test guest under kasan-vmm and show its KASAN reports
#   make bench    benchmarks (ratios against a baseline run side by side)
#
# Sources are picked up by directory, so adding a file needs no Makefile edit:
#   vmm/ paravirt/ shadow/ ept/  -> host library (vmm/main.c holds main())
#   vmm/arm64/a64_*.c            -> also in the host library (portable arm64 parts)
#   tests/unit/test_*.c          -> one cmocka binary each, linked with the sanitized library
#   tests/guest/*.c *.S          -> build/testguest.elf

CC         := gcc
BUILD      := build
CACHE      ?= $(HOME)/.cache/kasan-vmm
export CACHE

WARN       := -Wall -Wextra -Werror
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -g -O2 -I. -MMD -MP
SAN_CFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HOST_LIBS  := -linih -lelf -lpthread -lseccomp -lfdt
# libvirt client (vmm/libvirt*.c): pkg-config runs in each recipe's shell, so
# a fresh `make` asks it only after $(DEPS_STAMP) installed the packages.
HOST_CFLAGS += $$(pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
HOST_LIBS  += $$(pkg-config --libs libvirt libxml-2.0 2>/dev/null || echo -lvirt -lxml2)

# vmm/arm64/a64_*.c are the arm64 VMM's architecture-neutral parts (device
# tree generator, instruction/ESR decoding): pure C, also built into the x86
# library so cmocka tests them here. The rest of vmm/arm64/ is arm64-only.
HOST_SRCS  := $(sort $(wildcard vmm/*.c paravirt/*.c shadow/*.c ept/*.c vmm/arm64/a64_*.c))
LIB_SRCS   := $(filter-out vmm/main.c,$(HOST_SRCS))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
SAN_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/san/obj/%.o)

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/san/tests/%)

DEPS_STAMP := $(BUILD)/.deps-$(shell cat scripts/deps.txt 2>/dev/null | md5sum | cut -c1-8)

.PHONY: all deps test unit integration demo bench clean format fuzz debian-kernel install-libvirt-hook
all: $(DEPS_STAMP) $(BUILD)/kasan-vmm $(BUILD)/san/kasan-vmm $(BUILD)/testguest.elf

# Install missing Debian packages once per package list.
$(DEPS_STAMP): scripts/deps.txt scripts/deps.sh
	@mkdir -p $(BUILD)
	@scripts/deps.sh
	@touch $@
deps: $(DEPS_STAMP)

# ---- host ----
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@
$(BUILD)/san/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(SAN_CFLAGS) -c $< -o $@

$(BUILD)/libkvmm.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/san/libkvmm.a: $(SAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/kasan-vmm: $(BUILD)/obj/vmm/main.o $(BUILD)/libkvmm.a
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LIBS)
$(BUILD)/san/kasan-vmm: $(BUILD)/san/obj/vmm/main.o $(BUILD)/san/libkvmm.a
	$(CC) $(HOST_CFLAGS) $(SAN_CFLAGS) -o $@ $^ $(HOST_LIBS)

$(BUILD)/san/tests/%: tests/unit/%.c $(BUILD)/san/libkvmm.a | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(SAN_CFLAGS) -o $@ $< $(BUILD)/san/libkvmm.a -lcmocka $(HOST_LIBS)

# ---- test guest ----
include tests/guest/guest.mk
include vmm/arm64/arm64.mk
-include tests/fuzz/fuzz.mk
-include tests/bench/bench.mk

# ---- tests ----
# The stock Debian bzImage/vmlinux that unit tests check the loaders against
# (the script is idempotent and fast once the files are cached).
export KASAN_VMM_BZIMAGE := $(CACHE)/debian/vmlinuz
export KASAN_VMM_VMLINUX := $(CACHE)/debian/vmlinux
debian-kernel:
	@scripts/fetch-debian-kernel.sh >/dev/null

# The Linux guest modules against the matching Debian 6.1 headers (cached).
.PHONY: debian-headers linux-modules
debian-headers:
	@scripts/fetch-debian-headers.sh >/dev/null
linux-modules: debian-headers
	$(MAKE) -C guest-driver KDIR=$$(scripts/fetch-debian-headers.sh)

# The CI Linux guest: linux-source-6.1 + configs/linux/, the guest driver and
# scenario runner built in; cached by source version and input hash, so a
# second run only prints the directory (scripts/build-linux.sh).
.PHONY: linux-kernel demo-linux
linux-kernel:
	@scripts/build-linux.sh

demo-linux: all
	@scripts/demo-linux.sh

test: all arm64 $(UNIT_BINS) debian-kernel debian-headers
	@scripts/run-tests.sh $(UNIT_BINS)

unit: $(UNIT_BINS) debian-kernel
	@scripts/run-tests.sh --unit-only $(UNIT_BINS)

demo: all
	@scripts/demo.sh

# End to end on emulated arm64 KVM (QEMU TCG, Debian's arm64 kernel at EL2):
# minutes, so not part of `make test` (scripts/e2e-arm64.sh).
.PHONY: e2e-arm64
e2e-arm64: arm64
	@scripts/e2e-arm64.sh

bench: all
	@tests/bench/run.sh

# The libvirt hook that stops libvirt from starting domains tagged for kasan-vmm
# (libvirtd notices a new hook after SIGHUP or a restart).
install-libvirt-hook:
	install -D -m 0755 scripts/libvirt-hook $(DESTDIR)/etc/libvirt/hooks/qemu.d/kasan-vmm

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
