/* SPDX-License-Identifier: MIT */
/*
 * Boot protocols: load a kernel image into guest RAM and describe how the
 * boot vCPU must start. Pure functions over struct guest_ram: no KVM here,
 * so everything is unit-testable on a plain buffer.
 *
 * Low guest memory map used by the loaders and vmm/:
 *   0x01000  GDT written by vmm/ for the 32-bit entry (selectors 0x10 code, 0x18 data)
 *   0x06000  PVH hvm_start_info, then its memmap and module list
 *   0x07000  Linux zero page (boot_params)
 *   0x20000  kernel command line
 *   0x9fc00  MP table (the last KiB below 640 KiB, reserved in e820)
 *   0x100000 kernel
 *   initrd   page-aligned, as high as allowed below RAM end (and initrd_addr_max)
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdint.h>
#include "vmm/guest_ram.h"

#define BOOT_GDT_GPA       0x1000
#define BOOT_START_INFO_GPA 0x6000
#define BOOT_ZERO_PAGE_GPA 0x7000
#define BOOT_CMDLINE_GPA   0x20000
#define BOOT_CMDLINE_MAX   4096
#define BOOT_MPTABLE_GPA   0x9fc00
#define BOOT_KERNEL_GPA    0x100000

enum boot_kind {
	BOOT_KIND_NONE = 0,
	BOOT_KIND_BZIMAGE, /* Linux x86 boot protocol, 32-bit entry, ESI = zero page */
	BOOT_KIND_PVH,     /* ELF with a XEN_ELFNOTE_PHYS32_ENTRY note, EBX = start_info */
};

/* How the boot vCPU starts: 32-bit protected mode, flat segments, paging off. */
struct boot_entry {
	enum boot_kind kind;
	uint32_t rip;
	uint32_t rsi; /* bzImage: zero page */
	uint32_t rbx; /* PVH: hvm_start_info */
};

/* Which protocol a file speaks, without loading it; -ENOEXEC (+ one line on stderr) if none. */
int boot_probe_kernel(const char *path, enum boot_kind *kind);

/* Load kernel (+ initrd, command line) into ram; fills *entry. -errno + one line on error. */
int boot_load(const struct guest_ram *ram, const char *kernel, const char *initrd,
	      const char *cmdline, struct boot_entry *entry);

/* Write an MP 1.4 table (one processor per vCPU, an IOAPIC, ISA bus, interrupts). */
int mptable_write(const struct guest_ram *ram, unsigned int cpus);

#endif /* VMM_BOOT_H */
