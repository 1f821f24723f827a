# The freestanding test guest (PVH ELF): $(BUILD)/testguest.elf.
# Sources: tests/guest/*.{c,S}, tests/guest/mm/ (allocators) and
# tests/guest/scenarios/ (KASAN bug scenarios); new files need no edit here.
GUEST_DIR  := tests/guest
GUEST_SRCS := $(sort $(wildcard $(GUEST_DIR)/*.c $(GUEST_DIR)/*.S \
		$(GUEST_DIR)/mm/*.c $(GUEST_DIR)/mm/*.S \
		$(GUEST_DIR)/scenarios/*.c $(GUEST_DIR)/scenarios/*.S))
GUEST_OBJS := $(GUEST_SRCS:%=$(BUILD)/guest/%.o)
GUEST_LDS  := $(GUEST_DIR)/linker.ld

# No SSE/AVX (the CPL0 emulator here cannot run VEX; no FPU state is kept),
# baseline x86-64 (no popcnt, no cx16), frame pointers and no sibling calls
# (kasan-vmm unwinds guest stacks by rbp), real out-of-line mem*/str* calls
# (-fno-builtin; no loop-to-memset rewriting inside string.c itself).
GUEST_CFLAGS := -std=gnu11 $(WARN) -O2 -g -ffreestanding -fno-builtin -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) -I. -I$(GUEST_DIR) \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -march=x86-64 -mtune=generic \
	-mcmodel=small -fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-optimize-sibling-calls -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fcf-protection=none -fno-tree-loop-distribute-patterns -fno-strict-aliasing \
	-fno-common -fno-toplevel-reorder -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_LDS) -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-z,noexecstack

$(BUILD)/guest/%.c.o: %.c $(GUEST_DIR)/guest.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/%.S.o: %.S $(GUEST_DIR)/guest.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(BUILD)/testguest.elf: $(GUEST_OBJS) $(GUEST_LDS)
	$(CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)
