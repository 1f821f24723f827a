# The arm64 freestanding test guest, cross-built with Debian's
# gcc-aarch64-linux-gnu: $(BUILD)/arm64/testguest.Image (a Linux arm64
# Image: what `kasan-vmm run --kernel` and `qemu-system-aarch64 -kernel`
# boot), $(BUILD)/arm64/testguest.elf (same code, with symbols) and
# $(BUILD)/arm64/testguest.map (System.map format, for --system_map).
# Sources: tests/guest-arm64/*.{c,S}; new files need no edit here.
#
# Standalone:  make -f tests/guest-arm64/guest.mk     (from the repository root)
# Included:    include tests/guest-arm64/guest.mk; depend on arm64-testguest
A64G_STANDALONE := $(if $(filter tests/guest-arm64/guest.mk,$(firstword $(MAKEFILE_LIST))),1)
A64G_SAVED_GOAL := $(.DEFAULT_GOAL)

BUILD	    ?= build
WARN	    ?= -Wall -Wextra -Werror
A64G_CROSS  ?= aarch64-linux-gnu-
A64G_CC	    := $(A64G_CROSS)gcc
A64G_DIR    := tests/guest-arm64
A64G_OUT    := $(BUILD)/arm64
A64G_SRCS   := $(sort $(wildcard $(A64G_DIR)/*.c $(A64G_DIR)/*.S))
A64G_OBJS   := $(A64G_SRCS:$(A64G_DIR)/%=$(A64G_OUT)/guest/%.o)
A64G_LDS    := $(A64G_DIR)/linker.ld
A64G_DEPS   ?= $(DEPS_STAMP)

# Frame records (kasan-vmm and the guest unwind by x29), no sibling calls,
# general registers only in C (the SIMD scenario uses inline asm), atomics
# inline (LDXR/STXR: no libgcc outline helpers), real mem*/str* calls.
# Recursive (=): the compiler is asked for its include directory only when a
# recipe runs, after the top-level build installed it ($(A64G_DEPS)).
A64G_CFLAGS = -std=gnu11 $(WARN) -O2 -g -ffreestanding -fno-builtin -nostdinc \
	-isystem $(shell $(A64G_CC) -print-file-name=include 2>/dev/null) -I. -I$(A64G_DIR) \
	-march=armv8-a -mgeneral-regs-only -mno-outline-atomics -mbranch-protection=none \
	-fno-pic -fno-pie -mcmodel=small -fno-stack-protector -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fno-tree-loop-distribute-patterns -fno-strict-aliasing -fno-common -fno-toplevel-reorder \
	-MMD -MP
A64G_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(A64G_LDS) -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-z,noexecstack -Wl,-z,max-page-size=4096

.PHONY: arm64-testguest
arm64-testguest: $(A64G_OUT)/testguest.Image $(A64G_OUT)/testguest.elf $(A64G_OUT)/testguest.map

$(A64G_OUT)/guest/%.c.o: $(A64G_DIR)/%.c $(A64G_DIR)/guest.mk | $(A64G_DEPS)
	@mkdir -p $(dir $@)
	$(A64G_CC) $(A64G_CFLAGS) -c $< -o $@
$(A64G_OUT)/guest/%.S.o: $(A64G_DIR)/%.S $(A64G_DIR)/guest.mk | $(A64G_DEPS)
	@mkdir -p $(dir $@)
	$(A64G_CC) $(A64G_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(A64G_OUT)/testguest.elf: $(A64G_OBJS) $(A64G_LDS)
	$(A64G_CC) $(A64G_LDFLAGS) -o $@ $(A64G_OBJS) -lgcc
$(A64G_OUT)/testguest.Image: $(A64G_OUT)/testguest.elf
	$(A64G_CROSS)objcopy -O binary $< $@
$(A64G_OUT)/testguest.map: $(A64G_OUT)/testguest.elf
	$(A64G_CROSS)nm -n $< | grep -i ' [t] ' > $@

-include $(wildcard $(A64G_OUT)/guest/*.d)

ifeq ($(A64G_STANDALONE),1)
.DEFAULT_GOAL := arm64-testguest
else
.DEFAULT_GOAL := $(A64G_SAVED_GOAL)
endif
