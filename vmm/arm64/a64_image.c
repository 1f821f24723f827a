// SPDX-License-Identifier: MIT
/* arm64 Image header parsing and boot placement; every bound checked against RAM. */
#include <errno.h>
#include <string.h>

#include "vmm/arm64/a64_image.h"
#include "vmm/arm64/a64_platform.h"
#include "vmm/log.h"

#define FLAG_BE		(1ull << 0)
#define FLAG_PAGE_SHIFT 1
#define FLAG_PAGE_MASK	3ull
#define FLAG_PHYS_BASE	(1ull << 3)
#define PAGE_4K		0x1000ull

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int a64_image_parse(const void *buf, size_t len, uint64_t file_size, struct a64_image *out)
{
	static const unsigned int page_sizes[4] = {0, 4096, 16384, 65536};
	const uint8_t *h = buf;

	memset(out, 0, sizeof(*out));
	if (len < A64_IMAGE_HEADER_SIZE || file_size < A64_IMAGE_HEADER_SIZE) {
		pr_err("kernel: %llu bytes, too short for an arm64 Image header",
		       (unsigned long long)(len < file_size ? len : file_size));
		return -ENOEXEC;
	}
	if ((uint32_t)le64_at(h + 56) != A64_IMAGE_MAGIC) {
		pr_err("kernel: not an arm64 Image (no \"ARM\\x64\" magic at offset 56)");
		return -ENOEXEC;
	}
	out->text_offset = le64_at(h + 8);
	out->image_size = le64_at(h + 16);
	out->flags = le64_at(h + 24);
	if (!out->image_size) {
		/* Before 3.17 text_offset had no stated endianness: booting.rst says 0x80000. */
		out->old_header = true;
		out->flags = 0;
		out->text_offset = A64_TEXT_OFFSET_OLD;
		out->image_size = file_size;
	}
	if (out->flags & FLAG_BE) {
		pr_err("kernel: big-endian arm64 Image; kasan-vmm runs little-endian guests only");
		return -ENOEXEC;
	}
	out->page_size = page_sizes[(out->flags >> FLAG_PAGE_SHIFT) & FLAG_PAGE_MASK];
	out->phys_anywhere = out->flags & FLAG_PHYS_BASE;
	if (out->image_size < file_size) {
		pr_err("kernel: image_size 0x%llx is smaller than the file (%llu bytes)",
		       (unsigned long long)out->image_size, (unsigned long long)file_size);
		return -ENOEXEC;
	}
	if (out->text_offset & 7) {
		pr_err("kernel: text_offset 0x%llx is not 8-byte aligned",
		       (unsigned long long)out->text_offset);
		return -ENOEXEC;
	}
	return 0;
}

/* [a, a + n) lies inside [lo, hi), without wrapping. */
static bool inside(uint64_t a, uint64_t n, uint64_t lo, uint64_t hi)
{
	return a >= lo && a <= hi && n <= hi - a;
}

int a64_boot_layout(const struct a64_image *img, uint64_t ram_base, uint64_t ram_size,
		    uint64_t initrd_size, struct a64_boot_layout *out)
{
	uint64_t ram_end = ram_base + ram_size;
	uint64_t base = (ram_base + A64_KERNEL_ALIGN - 1) & ~(A64_KERNEL_ALIGN - 1);

	memset(out, 0, sizeof(*out));
	if (ram_end < ram_base || ram_size < 2 * A64_FDT_MAX_SIZE || base < ram_base) {
		pr_err("boot: RAM [0x%llx, +0x%llx) is too small or wraps",
		       (unsigned long long)ram_base, (unsigned long long)ram_size);
		return -EFBIG;
	}
	out->fdt_ipa = (ram_end - A64_FDT_MAX_SIZE) & ~7ull;
	out->kernel_ipa = base + img->text_offset;
	if (out->kernel_ipa < base ||
	    !inside(out->kernel_ipa, img->image_size, ram_base, out->fdt_ipa)) {
		pr_err("boot: the kernel (text_offset 0x%llx, image_size 0x%llx) does not fit "
		       "in %llu MiB of RAM below the device tree",
		       (unsigned long long)img->text_offset, (unsigned long long)img->image_size,
		       (unsigned long long)(ram_size >> 20));
		return -EFBIG;
	}
	out->kernel_end = out->kernel_ipa + img->image_size;
	if (!initrd_size)
		return 0;
	if (initrd_size > out->fdt_ipa - out->kernel_end) {
		pr_err("boot: the initrd (%llu bytes) does not fit between the kernel and the "
		       "device tree",
		       (unsigned long long)initrd_size);
		return -EFBIG;
	}
	out->initrd_ipa = (out->fdt_ipa - initrd_size) & ~(PAGE_4K - 1);
	if (out->initrd_ipa < out->kernel_end) {
		pr_err("boot: the initrd (%llu bytes) does not fit page-aligned above the kernel",
		       (unsigned long long)initrd_size);
		return -EFBIG;
	}
	out->initrd_size = initrd_size;
	return 0;
}
