/* SPDX-License-Identifier: MIT */
/*
 * The arm64 Linux Image header (Documentation/arch/arm64/booting.rst) and
 * where the kernel, initrd and device tree go in guest RAM. Portable.
 *
 * Placement: the kernel at the first 2 MiB boundary of RAM + text_offset,
 * the device tree in the last 2 MiB of RAM (its own 2 MiB block, as booting
 * asks), the initrd right below it (page-aligned). Everything is checked
 * against RAM and against the others, so no input can make the loader write
 * outside guest memory.
 */
#ifndef VMM_ARM64_A64_IMAGE_H
#define VMM_ARM64_A64_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define A64_IMAGE_MAGIC	      0x644d5241u /* "ARM\x64" at offset 56 */
#define A64_IMAGE_HEADER_SIZE 64

struct a64_image {
	uint64_t text_offset; /* bytes from the 2 MiB aligned base */
	uint64_t image_size;  /* bytes the kernel needs (bss included); >= file size */
	uint64_t flags;
	unsigned int page_size; /* 4096, 16384, 65536; 0: not stated */
	bool phys_anywhere;	/* flags bit 3: any 2 MiB aligned base in RAM is fine */
	bool old_header;	/* image_size 0: a kernel before 3.17 */
};

/*
 * Parse the first bytes of a kernel file (len = what was read, file_size =
 * the whole file). -ENOEXEC with a message for anything that is not a
 * little-endian arm64 Image.
 */
int a64_image_parse(const void *buf, size_t len, uint64_t file_size, struct a64_image *out);

struct a64_boot_layout {
	uint64_t kernel_ipa; /* load address = entry point */
	uint64_t kernel_end; /* kernel_ipa + image_size */
	uint64_t initrd_ipa; /* 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t fdt_ipa; /* 8-byte aligned; A64_FDT_MAX_SIZE bytes reserved */
};

/*
 * Where everything goes in RAM [ram_base, ram_base + ram_size). -EFBIG with
 * a message if something does not fit.
 */
int a64_boot_layout(const struct a64_image *img, uint64_t ram_base, uint64_t ram_size,
		    uint64_t initrd_size, struct a64_boot_layout *out);

#endif /* VMM_ARM64_A64_IMAGE_H */
