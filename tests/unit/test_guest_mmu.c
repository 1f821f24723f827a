// SPDX-License-Identifier: MIT
/* Guest page-table walks over a plain buffer, including hostile tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/guest_mmu.h"

#define RAM_SIZE (8u << 20)

static struct guest_ram ram;

static int setup(void **state)
{
	(void)state;
	ram.alias = calloc(1, RAM_SIZE);
	ram.size = RAM_SIZE;
	return ram.alias ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram.alias);
	return 0;
}

static void put(uint64_t gpa, uint64_t v)
{
	memcpy(ram.alias + gpa, &v, 8);
}

/* 4-level: 0xffff888000000000 -> 2 MiB page at 0x200000, and a 4 KiB page. */
static struct mmu_state long_mode(void)
{
	struct mmu_state st = {.cr0 = 0x80000011, .cr3 = 0x1000, .cr4 = 0x20, .efer = 0x500};
	uint64_t va = 0xffff888000000000ull;

	memset(ram.alias, 0, 0x10000);
	put(0x1000 + ((va >> 39) & 511) * 8, 0x2000 | 3);
	put(0x2000 + ((va >> 30) & 511) * 8, 0x3000 | 3);
	put(0x3000 + 0 * 8, 0x200000 | 0x83); /* 2 MiB page */
	put(0x3000 + 1 * 8, 0x4000 | 3);      /* page table */
	put(0x4000 + 5 * 8, 0x7000 | 3);      /* va + 2 MiB + 5 pages -> 0x7000 */
	return st;
}

static void test_no_paging(void **state)
{
	struct mmu_state st = {.cr0 = 0x11};
	uint64_t gpa;

	(void)state;
	assert_int_equal(mmu_translate(&ram, &st, 0x123456, &gpa), 0);
	assert_int_equal(gpa, 0x123456);
}

static void test_long_mode_pages(void **state)
{
	struct mmu_state st = long_mode();
	uint64_t va = 0xffff888000000000ull, gpa;

	(void)state;
	assert_int_equal(mmu_translate(&ram, &st, va + 0x1234, &gpa), 0);
	assert_int_equal(gpa, 0x201234);
	assert_int_equal(mmu_translate(&ram, &st, va + 0x200000 + 5 * 4096 + 0x10, &gpa), 0);
	assert_int_equal(gpa, 0x7010);
	assert_int_equal(mmu_translate(&ram, &st, va + 0x200000 + 6 * 4096, &gpa), -EFAULT);
	assert_int_equal(mmu_translate(&ram, &st, 0x1000, &gpa), -EFAULT);
}

static void test_read_across_pages(void **state)
{
	struct mmu_state st = long_mode();
	uint64_t va = 0xffff888000000000ull + 0x200000 - 2;
	uint8_t buf[4];

	(void)state;
	/* last 2 bytes of the 2 MiB page, then the first 2 of the 4 KiB page at 0x4000's slot 0 */
	put(0x4000, 0x8000 | 3);
	memcpy(ram.alias + 0x3ffffe, "AB", 2);
	memcpy(ram.alias + 0x8000, "CD", 2);
	assert_int_equal(mmu_read(&ram, &st, va, buf, 4), 0);
	assert_memory_equal(buf, "ABCD", 4);
}

static void test_hostile_tables_stay_in_ram(void **state)
{
	struct mmu_state st = long_mode();
	uint64_t va = 0xffff888000000000ull, gpa;
	uint8_t buf[8];

	(void)state;
	/* PDPT entry pointing far outside guest RAM */
	put(0x2000 + ((va >> 30) & 511) * 8, 0x7fff00000000ull | 3);
	assert_int_equal(mmu_translate(&ram, &st, va, &gpa), -EFAULT);
	/* CR3 outside RAM */
	st = long_mode();
	st.cr3 = 0xfff000000ull;
	assert_int_equal(mmu_translate(&ram, &st, va, &gpa), -EFAULT);
	/* a leaf that maps beyond RAM translates, but reading it fails cleanly */
	st = long_mode();
	put(0x3000, 0x40000000ull | 0x83);
	assert_int_equal(mmu_read(&ram, &st, va, buf, 8), -EFAULT);
}

static void test_reverse_lookup(void **state)
{
	struct mmu_state st = long_mode();
	uint64_t va = 0xffff888000000000ull, found;

	(void)state;
	/* 0x7000 is mapped by a 4 KiB page at va + 2 MiB + 5 pages */
	assert_int_equal(mmu_find_va(&ram, &st, va, va + (4ull << 20), 0x7010, &found), 0);
	assert_int_equal(found, va + 0x200000 + 5 * 4096 + 0x10);
	/* inside the 2 MiB page */
	assert_int_equal(mmu_find_va(&ram, &st, va, va + (4ull << 20), 0x201234, &found), 0);
	assert_int_equal(found, va + 0x1234);
	/* a range that does not cover the mapping finds nothing */
	assert_int_equal(mmu_find_va(&ram, &st, va + 0x400000, va + 0x800000, 0x7010, &found),
			 -ENOENT);
	/* an unmapped page */
	assert_int_equal(mmu_find_va(&ram, &st, va, va + (4ull << 20), 0x9000, &found), -ENOENT);
}

static void test_32bit_paging(void **state)
{
	struct mmu_state st = {.cr0 = 0x80000011, .cr3 = 0x1000, .cr4 = 0x10};
	uint32_t pde4m = 0x400000 | 0x83, pde = 0x2000 | 3, pte = 0x5000 | 3;
	uint64_t gpa;

	(void)state;
	memset(ram.alias, 0, 0x10000);
	memcpy(ram.alias + 0x1000 + 1 * 4, &pde4m, 4);
	memcpy(ram.alias + 0x1000 + 2 * 4, &pde, 4);
	memcpy(ram.alias + 0x2000 + 3 * 4, &pte, 4);
	assert_int_equal(mmu_translate(&ram, &st, 0x400000 + 0x1234, &gpa), 0);
	assert_int_equal(gpa, 0x401234);
	assert_int_equal(mmu_translate(&ram, &st, 0x800000 + 3 * 4096 + 8, &gpa), 0);
	assert_int_equal(gpa, 0x5008);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_paging),
	    cmocka_unit_test(test_long_mode_pages),
	    cmocka_unit_test(test_read_across_pages),
	    cmocka_unit_test(test_hostile_tables_stay_in_ram),
	    cmocka_unit_test(test_reverse_lookup),
	    cmocka_unit_test(test_32bit_paging),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
