// SPDX-License-Identifier: MIT
/* arm64 Image header parsing and the boot layout's bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/arm64/a64_image.h"
#include "vmm/arm64/a64_platform.h"

#define RAM  (256ull << 20)
#define MiB  (1ull << 20)
#define FILE (3 * MiB)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A header as Linux writes it: b <entry>, text_offset, image_size, flags, magic. */
static void header(uint8_t h[64], uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(h, 0, 64);
	put64(h, 0x14000010); /* b +0x40 */
	put64(h + 8, text_offset);
	put64(h + 16, image_size);
	put64(h + 24, flags);
	put64(h + 56, 0x644d5241);
}

static void test_good_header(void **state)
{
	uint8_t h[64];
	struct a64_image img;
	struct a64_boot_layout l;

	(void)state;
	header(h, 0, 16 * MiB, 0xa); /* LE, 4K pages, anywhere */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(img.text_offset, 0);
	assert_int_equal(img.image_size, 16 * MiB);
	assert_int_equal(img.page_size, 4096);
	assert_true(img.phys_anywhere);
	assert_false(img.old_header);

	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0x123456, &l), 0);
	assert_int_equal(l.kernel_ipa, A64_RAM_BASE);
	assert_int_equal(l.kernel_end, A64_RAM_BASE + 16 * MiB);
	assert_int_equal(l.fdt_ipa, A64_RAM_BASE + RAM - 2 * MiB);
	assert_int_equal(l.initrd_ipa, 0x4fcdc000);
	assert_int_equal(l.initrd_size, 0x123456);
	assert_true(l.initrd_ipa + l.initrd_size <= l.fdt_ipa);
	assert_true(l.initrd_ipa >= l.kernel_end);

	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), 0);
	assert_int_equal(l.initrd_ipa, 0);
	assert_int_equal(l.initrd_size, 0);
}

static void test_text_offset_and_page_sizes(void **state)
{
	uint8_t h[64];
	struct a64_image img;
	struct a64_boot_layout l;

	(void)state;
	header(h, 0x80000, 8 * MiB, 0x4); /* 16K pages, 2 MiB base near RAM start */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(img.page_size, 16384);
	assert_false(img.phys_anywhere);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), 0);
	assert_int_equal(l.kernel_ipa, A64_RAM_BASE + 0x80000);
	header(h, 0, 8 * MiB, 0x6);
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(img.page_size, 65536);
	header(h, 0, 8 * MiB, 0);
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(img.page_size, 0);
	/* RAM not 2 MiB aligned: the kernel goes to the next 2 MiB boundary */
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE + 0x1000, RAM, 0, &l), 0);
	assert_int_equal(l.kernel_ipa, A64_RAM_BASE + 2 * MiB);
}

static void test_bad_magic_and_endianness(void **state)
{
	uint8_t h[64];
	struct a64_image img;

	(void)state;
	header(h, 0, 8 * MiB, 0xa);
	h[56] = 'X';
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), -ENOEXEC);
	memset(h, 0, sizeof(h)); /* e.g. an ELF or a zero-filled file */
	memcpy(h, "\177ELF", 4);
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), -ENOEXEC);
	header(h, 0, 8 * MiB, 0xb); /* big-endian */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), -ENOEXEC);
	header(h, 4, 8 * MiB, 0xa); /* misaligned text_offset */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), -ENOEXEC);
}

static void test_truncated(void **state)
{
	uint8_t h[64];
	struct a64_image img;

	(void)state;
	header(h, 0, 8 * MiB, 0xa);
	assert_int_equal(a64_image_parse(h, 63, FILE, &img), -ENOEXEC);
	assert_int_equal(a64_image_parse(h, 0, 0, &img), -ENOEXEC);
	assert_int_equal(a64_image_parse(h, 64, 63, &img), -ENOEXEC);
	/* a file longer than the size its header claims */
	header(h, 0, 1 * MiB, 0xa);
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), -ENOEXEC);
}

static void test_old_kernel_image_size_zero(void **state)
{
	uint8_t h[64];
	struct a64_image img;
	struct a64_boot_layout l;

	(void)state;
	/* pre-3.17: text_offset of unknown endianness, ignored; flags meaningless */
	header(h, 0x0800080000000000ull, 0, 0xffff);
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_true(img.old_header);
	assert_int_equal(img.text_offset, 0x80000);
	assert_int_equal(img.image_size, FILE);
	assert_int_equal(img.flags, 0);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), 0);
	assert_int_equal(l.kernel_ipa, A64_RAM_BASE + 0x80000);
	assert_int_equal(l.kernel_end, A64_RAM_BASE + 0x80000 + FILE);
}

static void test_sizes_overflowing_ram(void **state)
{
	uint8_t h[64];
	struct a64_image img;
	struct a64_boot_layout l;

	(void)state;
	header(h, 0, RAM, 0xa); /* the kernel alone fills RAM: no room for the FDT */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), -EFBIG);
	header(h, 0, RAM - 2 * MiB, 0xa); /* exactly up to the FDT block */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), 0);
	assert_int_equal(l.kernel_end, l.fdt_ipa);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 1, &l), -EFBIG);
	header(h, 0, UINT64_MAX - 7, 0xa); /* kernel end wraps */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), -EFBIG);
	header(h, UINT64_MAX - 7, 8 * MiB, 0xa); /* load address wraps */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), -EFBIG);
	header(h, RAM, 8 * MiB, 0xa); /* text_offset past RAM */
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, 0, &l), -EFBIG);

	header(h, 0, 16 * MiB, 0xa);
	assert_int_equal(a64_image_parse(h, sizeof(h), FILE, &img), 0);
	/* initrd: too big, exactly fitting, and a size that would wrap */
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, RAM - 17 * MiB, &l), -EFBIG);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, RAM - 18 * MiB, &l), 0);
	assert_int_equal(l.initrd_ipa, l.kernel_end);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, RAM - 18 * MiB + 1, &l), -EFBIG);
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, RAM, UINT64_MAX, &l), -EFBIG);
	/* RAM itself: too small, or wrapping the address space */
	assert_int_equal(a64_boot_layout(&img, A64_RAM_BASE, 3 * MiB, 0, &l), -EFBIG);
	assert_int_equal(a64_boot_layout(&img, UINT64_MAX - RAM + 1, RAM, 0, &l), -EFBIG);
	assert_int_equal(a64_boot_layout(&img, UINT64_MAX - 0xfff, RAM, 0, &l), -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_header),
	    cmocka_unit_test(test_text_offset_and_page_sizes),
	    cmocka_unit_test(test_bad_magic_and_endianness),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_old_kernel_image_size_zero),
	    cmocka_unit_test(test_sizes_overflowing_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
