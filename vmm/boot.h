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

#include <stddef.h>
#include <stdint.h>
#include "vmm/guest_ram.h"

#define BOOT_GDT_GPA	    0x1000
#define BOOT_START_INFO_GPA 0x6000
#define BOOT_ZERO_PAGE_GPA  0x7000
#define BOOT_CMDLINE_GPA    0x20000
#define BOOT_CMDLINE_MAX    4096 /* bytes including the NUL */
#define BOOT_MPTABLE_GPA    0x9fc00
#define BOOT_MPTABLE_SIZE   0x400
#define BOOT_KERNEL_GPA	    0x100000

/* vCPUs an MP table fits in its 1 KiB region (config.h caps --cpus to this). */
#define BOOT_MPTABLE_CPUS_MAX 40

enum boot_kind {
	BOOT_KIND_NONE = 0,
	BOOT_KIND_BZIMAGE, /* Linux x86 boot protocol, 32-bit entry, ESI = zero page */
	BOOT_KIND_PVH,	   /* ELF with a XEN_ELFNOTE_PHYS32_ENTRY note, EBX = start_info */
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

/*
 * Checks without loading that kernel (and initrd, may be NULL) fit a guest of
 * ram_size bytes where boot_load will put them, so that `run` rejects them
 * before a VM exists: 0, or -ENOEXEC (not a kernel), -EFBIG (needs more RAM),
 * -ENOSPC (initrd does not fit), -EINVAL (empty initrd), other -errno (open);
 * one line on stderr on error.
 */
int boot_check_fit(const char *kernel, const char *initrd, uint64_t ram_size);

/* Load kernel (+ initrd, command line) into ram; fills *entry. -errno + one line on error. */
int boot_load(const struct guest_ram *ram, const char *kernel, const char *initrd,
	      const char *cmdline, struct boot_entry *entry);

/* Write an MP 1.4 table (one processor per vCPU, an IOAPIC, ISA bus, interrupts). */
int mptable_write(const struct guest_ram *ram, unsigned int cpus);

/*
 * Below: the per-protocol loaders over images already in memory (used by
 * boot_load, unit tests and fuzz targets), and what the loaders share.
 * Images are untrusted: every offset and size is checked against len.
 */

/* A file's bytes; name is only used in messages. data may be NULL when len is 0. */
struct boot_image {
	const char *name;
	const uint8_t *data;
	size_t len;
};

/* The image's protocol judged from its headers; BOOT_KIND_NONE if neither. Silent. */
enum boot_kind boot_identify(const struct boot_image *img);

/*
 * Where a loader puts the kernel and initrd in a RAM of ram->size bytes
 * (ram->alias is not touched): the *_plan functions are the loaders' checks,
 * with the same errors and messages, and no writes.
 */
struct boot_plan {
	uint32_t entry;	     /* PVH: the 32-bit entry point */
	uint64_t kernel_end; /* first byte past the kernel's load and run area */
	uint64_t initrd_gpa; /* 0: no initrd */
};

int bzimage_plan(const struct guest_ram *ram, const struct boot_image *kernel,
		 const struct boot_image *initrd, struct boot_plan *plan);
int pvh_plan(const struct guest_ram *ram, const struct boot_image *kernel,
	     const struct boot_image *initrd, struct boot_plan *plan);

/* initrd may be NULL (no initrd); cmdline may be NULL (empty). */
int bzimage_load(const struct guest_ram *ram, const struct boot_image *kernel,
		 const struct boot_image *initrd, const char *cmdline, struct boot_entry *entry);
int pvh_load(const struct guest_ram *ram, const struct boot_image *kernel,
	     const struct boot_image *initrd, const char *cmdline, struct boot_entry *entry);

/*
 * Header checks without loading, silent: 0, or -ENOEXEC with *why saying what
 * is wrong. pvh_find_entry also gives the 32-bit entry from the Xen note.
 */
int bzimage_check(const struct boot_image *img, const char **why);
int pvh_find_entry(const struct boot_image *img, uint32_t *entry, const char **why);

/* The guest physical memory map, identical for every protocol. */
#define BOOT_E820_RAM	   1
#define BOOT_E820_RESERVED 2
#define BOOT_E820_MAX	   6

struct boot_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Fills map (BOOT_E820_MAX entries); returns the count, or -EINVAL if RAM is below 2 MiB. */
int boot_e820_map(const struct guest_ram *ram, struct boot_memmap_entry *map);

/*
 * Highest page-aligned GPA for `size` bytes in low RAM that starts at or
 * above `floor` and ends at or below `limit` (exclusive). -ENOSPC if none.
 */
int boot_place_high(const struct guest_ram *ram, uint64_t size, uint64_t floor, uint64_t limit,
		    uint64_t *gpa);

/*
 * The initrd's GPA by boot_place_high (limit: one past its highest byte);
 * -EINVAL if it is empty, -ENOSPC if it does not fit, each with one line.
 */
int boot_place_initrd(const struct guest_ram *ram, const struct boot_image *initrd,
		      uint64_t kernel_end, uint64_t limit, uint64_t *gpa);

/* Copies cmdline (NULL: empty) to BOOT_CMDLINE_GPA, cut to max_len bytes; returns bytes kept. */
size_t boot_write_cmdline(const struct guest_ram *ram, const char *cmdline, size_t max_len);

#endif /* VMM_BOOT_H */
