# The arm64 VMM, cross-built with Debian's gcc-aarch64-linux-gnu (included
# from the top-level Makefile):
#
#   make arm64   build/arm64/kasan-vmm: static aarch64 binary (runs in a bare initramfs),
#                and the arm64 test guest (tests/guest-arm64/guest.mk) when present
#
# It reuses the project's portable code compiled for arm64 -- shadow/,
# paravirt/, the log, host log, symbols, allocator exemption and the 16550A
# core (vmm/uart.c) -- plus everything in vmm/arm64/. Static libfdt, libelf
# and zlib come from Debian's arm64 packages unpacked into the cache
# (scripts/fetch-arm64-libs.sh), linked through $(A64_BUILD)/sysroot.

A64_CC      := aarch64-linux-gnu-gcc
A64_BUILD   := $(BUILD)/arm64
A64_SYSROOT := $(A64_BUILD)/sysroot
A64_SRCS    := $(sort $(wildcard shadow/*.c paravirt/*.c vmm/arm64/*.c)) \
	       vmm/log.c vmm/hostlog.c vmm/symbols.c vmm/exempt.c vmm/uart.c
A64_OBJS    := $(A64_SRCS:%.c=$(A64_BUILD)/obj/%.o)
A64_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -g -O2 -I. -I$(A64_SYSROOT)/usr/include -MMD -MP
A64_LIBS    := -L$(A64_SYSROOT)/usr/lib/aarch64-linux-gnu -lfdt -lelf -lz -lpthread

.PHONY: arm64
arm64: $(A64_BUILD)/kasan-vmm $(if $(wildcard tests/guest-arm64/guest.mk),arm64-testguest)

# The unpacked Debian arm64 libraries (cached; the link is refreshed each time
# the script or the package list changes).
$(A64_SYSROOT)/.stamp: scripts/fetch-arm64-libs.sh | $(DEPS_STAMP)
	@mkdir -p $(A64_BUILD)
	ln -sfn "$$(scripts/fetch-arm64-libs.sh)" $(A64_SYSROOT)
	@touch $@

$(A64_BUILD)/obj/%.o: %.c | $(A64_SYSROOT)/.stamp
	@mkdir -p $(dir $@)
	$(A64_CC) $(A64_CFLAGS) -c $< -o $@

$(A64_BUILD)/kasan-vmm: $(A64_OBJS)
	$(A64_CC) -static -o $@ $^ $(A64_LIBS)

# The arm64 test guest (engineer DECODE's tests/guest-arm64/), when present.
-include tests/guest-arm64/guest.mk
