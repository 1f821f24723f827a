/* SPDX-License-Identifier: MIT */
/*
 * Stage-1 translation (vmm/arm64/a64_mmu.h): page tables are built in a fake
 * guest RAM buffer, then walked. Descriptor and TCR_EL1 encodings are the
 * Arm ARM's (VMSAv8-64, 4 KiB granule).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/arm64/a64_mmu.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (4u << 20)

#define TABLE	3ull /* valid + table (levels 0-2) */
#define PAGE	3ull /* valid + page (level 3) */
#define BLOCK	1ull /* valid + block (levels 1-2) */
#define AF	(1ull << 10)
#define SCTLR_M 1ull

/* TCR_EL1 fields */
#define T0SZ(n) ((uint64_t)(n))
#define T1SZ(n) ((uint64_t)(n) << 16)
#define EPD0	(1ull << 7)
#define EPD1	(1ull << 23)
#define TG0_4K	(0ull << 14)
#define TG0_64K (1ull << 14)
#define TG0_16K (2ull << 14)
#define TG1_16K (1ull << 30)
#define TG1_4K	(2ull << 30)
#define TG1_64K (3ull << 30)
#define IPS(n)	((uint64_t)(n) << 32) /* 0: 32 bits, 2: 40 bits, 5: 48 bits */
#define TBI0	(1ull << 37)
#define TBI1	(1ull << 38)
#define TCR_DS	(1ull << 59)

static uint64_t ram[RAM_SIZE / 8];
static unsigned int reads;
static uint64_t next_table;

static int read_phys(void *ctx, uint64_t ipa, uint64_t *val)
{
	(void)ctx;
	reads++;
	assert_int_equal(ipa & 7, 0);
	if (ipa < RAM_BASE || ipa - RAM_BASE >= RAM_SIZE)
		return -EFAULT;
	*val = ram[(ipa - RAM_BASE) / 8];
	return 0;
}

static int reset(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	reads = 0;
	next_table = RAM_BASE;
	return 0;
}

static uint64_t new_table(void)
{
	uint64_t t = next_table;

	next_table += 4096;
	return t;
}

static void set_desc(uint64_t table, unsigned int idx, uint64_t desc)
{
	ram[(table - RAM_BASE) / 8 + idx] = desc;
}

/* Index of va at a level (4 KiB granule: 9 bits per level, L3 at bit 12). */
static unsigned int idx(uint64_t va, unsigned int level)
{
	return (unsigned int)((va >> (12 + 9 * (3 - level))) & 511);
}

/* A 4-level chain for va ending in a page at pa; returns the L0 table. */
static uint64_t map_page_4level(uint64_t va, uint64_t pa)
{
	uint64_t l0 = new_table(), l1 = new_table(), l2 = new_table(), l3 = new_table();

	set_desc(l0, idx(va, 0), l1 | TABLE);
	set_desc(l1, idx(va, 1), l2 | TABLE);
	set_desc(l2, idx(va, 2), l3 | TABLE);
	set_desc(l3, idx(va, 3), pa | AF | PAGE);
	return l0;
}

static int translate(const struct a64_mmu_regs *r, uint64_t va, uint64_t *ipa)
{
	return a64_mmu_translate(r, va, read_phys, NULL, ipa);
}

static void mmu_off_is_identity(void **state)
{
	struct a64_mmu_regs r = {.ttbr0 = 0xdead000, .tcr = TG0_64K, .sctlr = 0};
	uint64_t ipa = 0;

	(void)state;
	assert_int_equal(translate(&r, 0x40081234, &ipa), 0);
	assert_int_equal(ipa, 0x40081234);
	assert_int_equal(reads, 0);
}

static void four_levels_48bit(void **state)
{
	uint64_t va = 0x0000123456789000ull, ipa = 0;
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | IPS(5) | T1SZ(16) | TG1_4K,
				 .sctlr = SCTLR_M};
	struct a64_mmu_walk w;

	(void)state;
	r.ttbr0 = map_page_4level(va, 0x40123000);
	assert_int_equal(translate(&r, va + 0xabc, &ipa), 0);
	assert_int_equal(ipa, 0x40123abc);
	assert_int_equal(reads, 4);
	assert_int_equal(a64_mmu_walk(&r, va + 8, read_phys, NULL, &w), 0);
	assert_int_equal(w.level, 3);
	assert_int_equal(w.map_size, 4096);
	assert_int_equal(w.desc, 0x40123000 | AF | PAGE);
	/* the neighbouring page has no L3 entry */
	assert_int_equal(translate(&r, va + 0x1000, &ipa), -EFAULT);
	/* ASID bits in TTBR0 [63:48] are not part of the table address */
	r.ttbr0 |= 0x00ab000000000000ull;
	assert_int_equal(translate(&r, va, &ipa), 0);
	assert_int_equal(ipa, 0x40123000);
}

static void blocks_level1_and_level2(void **state)
{
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | IPS(2), .sctlr = SCTLR_M};
	uint64_t l0 = new_table(), l1 = new_table(), l2 = new_table(), ipa = 0;
	struct a64_mmu_walk w;

	(void)state;
	r.ttbr0 = l0;
	set_desc(l0, 0, l1 | TABLE);
	set_desc(l1, 1, 0x40000000 | AF | BLOCK); /* VA [1G, 2G) -> PA [1G, 2G) */
	set_desc(l1, 2, l2 | TABLE);
	set_desc(l2, 3, 0x40600000 | AF | BLOCK); /* VA 2G + 6M -> PA 0x40600000 */
	assert_int_equal(translate(&r, 0x4abcdef0, &ipa), 0);
	assert_int_equal(ipa, 0x4abcdef0);
	assert_int_equal(a64_mmu_walk(&r, 0x80612345, read_phys, NULL, &w), 0);
	assert_int_equal(w.ipa, 0x40612345);
	assert_int_equal(w.level, 2);
	assert_int_equal(w.map_size, 2u << 20);
	/* a block at level 0 does not exist with 4 KiB pages */
	set_desc(l0, 1, 0x8000000000ull | AF | BLOCK);
	assert_int_equal(translate(&r, 0x8000001000ull, &ipa), -EFAULT);
}

static void three_levels_39bit(void **state)
{
	uint64_t l1 = new_table(), l2 = new_table(), l3 = new_table(), ipa = 0;
	uint64_t va = 0x7f12345000ull; /* below 2^39 */
	struct a64_mmu_regs r = {.tcr = T0SZ(25) | TG0_4K | IPS(5), .sctlr = SCTLR_M};

	(void)state;
	r.ttbr0 = l1;
	set_desc(l1, idx(va, 1), l2 | TABLE);
	set_desc(l2, idx(va, 2), l3 | TABLE);
	set_desc(l3, idx(va, 3), 0x40321000 | AF | PAGE);
	assert_int_equal(translate(&r, va + 0x10, &ipa), 0);
	assert_int_equal(ipa, 0x40321010);
	assert_int_equal(reads, 3);
	/* bit 39 set: outside the 39-bit TTBR0 range */
	assert_int_equal(translate(&r, va | (1ull << 39), &ipa), -EFAULT);
}

static void two_levels_30bit(void **state)
{
	uint64_t l2 = new_table(), l3 = new_table(), ipa = 0;
	struct a64_mmu_regs r = {.tcr = T0SZ(34) | TG0_4K | IPS(5), .sctlr = SCTLR_M};

	(void)state;
	r.ttbr0 = l2;
	set_desc(l2, 511, l3 | TABLE);
	set_desc(l3, 1, 0x40555000 | AF | PAGE);
	assert_int_equal(translate(&r, 0x3fe01008, &ipa), 0);
	assert_int_equal(ipa, 0x40555008);
	assert_int_equal(reads, 2);
}

static void small_start_table(void **state)
{
	/* T0SZ 24 = 40-bit VAs: level 0 resolves one bit (a 16-byte table) */
	uint64_t l0 = new_table() + 0x30, ipa = 0; /* 16-aligned inside a page */
	struct a64_mmu_regs r = {.tcr = T0SZ(24) | TG0_4K | IPS(5), .sctlr = SCTLR_M};
	uint64_t va = 0x8012345000ull, l1 = new_table(), l2 = new_table(), l3 = new_table();

	(void)state;
	r.ttbr0 = l0;
	ram[(l0 - RAM_BASE) / 8 + 1] = l1 | TABLE;
	set_desc(l1, idx(va, 1), l2 | TABLE);
	set_desc(l2, idx(va, 2), l3 | TABLE);
	set_desc(l3, idx(va, 3), 0x40777000 | AF | PAGE);
	assert_int_equal(translate(&r, va, &ipa), 0);
	assert_int_equal(ipa, 0x40777000);
}

static void upper_half_ttbr1(void **state)
{
	uint64_t va = 0xffff000012345000ull, ipa = 0;
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | T1SZ(16) | TG1_4K | IPS(5),
				 .sctlr = SCTLR_M};

	(void)state;
	r.ttbr1 = map_page_4level(va, 0x40246000);
	r.ttbr0 = new_table(); /* empty: the walk must not use it */
	assert_int_equal(translate(&r, va + 4, &ipa), 0);
	assert_int_equal(ipa, 0x40246004);
	/* not all ones above bit 47: neither half */
	assert_int_equal(translate(&r, 0xfffe000012345000ull, &ipa), -EFAULT);
	r.tcr |= EPD1;
	assert_int_equal(translate(&r, va, &ipa), -EFAULT);
	r.tcr = (r.tcr & ~EPD1 & ~TG1_4K) | TG1_16K;
	assert_int_equal(translate(&r, va, &ipa), -ENOTSUP);
}

static void top_byte_ignore(void **state)
{
	uint64_t va = 0x0000000040201000ull, ipa = 0;
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | T1SZ(16) | TG1_4K | IPS(5) | TBI0,
				 .sctlr = SCTLR_M};

	(void)state;
	r.ttbr0 = map_page_4level(va, 0x40201000);
	assert_int_equal(translate(&r, 0x2a00000040201ff0ull, &ipa), 0);
	assert_int_equal(ipa, 0x40201ff0);
	r.tcr &= ~TBI0; /* without TBI a tag is an address outside the range */
	assert_int_equal(translate(&r, 0x2a00000040201ff0ull, &ipa), -EFAULT);
	/* TBI1 does not apply to the lower half */
	r.tcr |= TBI1;
	assert_int_equal(translate(&r, 0x2a00000040201ff0ull, &ipa), -EFAULT);
	/* bit 55 selects the half even when tagged: this is an upper-half VA */
	r.tcr |= TBI0 | EPD1;
	assert_int_equal(translate(&r, 0x2a80000040201ff0ull, &ipa), -EFAULT);
}

static void epd0_and_granules(void **state)
{
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | IPS(5) | EPD0, .sctlr = SCTLR_M};
	uint64_t ipa;

	(void)state;
	r.ttbr0 = map_page_4level(0x1000, 0x40001000);
	assert_int_equal(translate(&r, 0x1000, &ipa), -EFAULT);
	assert_int_equal(reads, 0);
	/* a disabled half faults whatever its granule and size fields say (T1SZ 0) */
	r.tcr = T0SZ(25) | TG0_4K | IPS(5) | EPD1;
	assert_int_equal(translate(&r, 0xffff000040000000ull, &ipa), -EFAULT);
	r.tcr = T0SZ(16) | TG0_64K | IPS(5);
	assert_int_equal(translate(&r, 0x1000, &ipa), -ENOTSUP);
	r.tcr = T0SZ(16) | TG0_16K | IPS(5);
	assert_int_equal(translate(&r, 0x1000, &ipa), -ENOTSUP);
	r.tcr = T0SZ(16) | TG0_4K | IPS(5) | TCR_DS;
	assert_int_equal(translate(&r, 0x1000, &ipa), -ENOTSUP);
	r.tcr = T0SZ(12) | TG0_4K | IPS(5); /* 52-bit VAs */
	assert_int_equal(translate(&r, 0x1000, &ipa), -ENOTSUP);
	r.tcr = T0SZ(48) | TG0_4K | IPS(5);
	assert_int_equal(translate(&r, 0x1000, &ipa), -ENOTSUP);
	r.tcr = T0SZ(16) | TG0_4K | IPS(5);
	assert_int_equal(translate(&r, 0x1000, &ipa), 0);
	assert_int_equal(ipa, 0x40001000);
}

static void invalid_descriptors(void **state)
{
	uint64_t va = 0x0000004000200000ull, ipa;
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | IPS(5), .sctlr = SCTLR_M};
	uint64_t l0, l1, l2, l3;

	(void)state;
	l0 = map_page_4level(va, 0x40300000);
	l1 = l0 + 4096;
	l2 = l0 + 8192;
	l3 = l0 + 12288;
	r.ttbr0 = l0;
	assert_int_equal(translate(&r, va, &ipa), 0);
	/* level 3 "01" is reserved, not a page */
	set_desc(l3, idx(va, 3), 0x40300000 | AF | 1);
	assert_int_equal(translate(&r, va, &ipa), -EFAULT);
	set_desc(l3, idx(va, 3), 0x40300000 | AF | PAGE);
	set_desc(l2, idx(va, 2), (l3 | TABLE) & ~1ull); /* invalid at level 2 */
	assert_int_equal(translate(&r, va, &ipa), -EFAULT);
	set_desc(l2, idx(va, 2), l3 | TABLE);
	set_desc(l1, idx(va, 1), 0);
	assert_int_equal(translate(&r, va, &ipa), -EFAULT);
	/* a table outside RAM: the read fails */
	set_desc(l1, idx(va, 1), 0x80000000 | TABLE);
	assert_int_equal(translate(&r, va, &ipa), -EFAULT);
}

static void output_size(void **state)
{
	uint64_t va = 0x1000, ipa;
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | IPS(0), .sctlr = SCTLR_M};
	uint64_t l0 = map_page_4level(va, 0x100000000ull); /* 4 GiB: beyond a 32-bit IPS */

	(void)state;
	r.ttbr0 = l0;
	assert_int_equal(translate(&r, va, &ipa), -EFAULT);
	r.tcr = T0SZ(16) | TG0_4K | IPS(2); /* 40 bits */
	assert_int_equal(translate(&r, va, &ipa), 0);
	assert_int_equal(ipa, 0x100000000ull);
	/* a table address beyond the IPS is an address size fault, not a read */
	r.tcr = T0SZ(16) | TG0_4K | IPS(0);
	r.ttbr0 = 0x100000000ull;
	reads = 0;
	assert_int_equal(translate(&r, va, &ipa), -EFAULT);
	assert_int_equal(reads, 0);
}

static void self_referencing_tables_are_bounded(void **state)
{
	uint64_t l0 = new_table(), ipa = 0;
	struct a64_mmu_regs r = {.tcr = T0SZ(16) | TG0_4K | IPS(5), .sctlr = SCTLR_M};

	(void)state;
	r.ttbr0 = l0;
	for (unsigned int i = 0; i < 512; i++)
		set_desc(l0, i, l0 | TABLE); /* every entry points back to itself */
	assert_int_equal(translate(&r, 0x0000123456789abcull, &ipa), 0);
	assert_int_equal(reads, 4); /* L0, L1, L2 and L3 all read l0; L3 sees a "page" */
	assert_int_equal(ipa, l0 | 0xabc);
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random descriptors that mostly point back into RAM, random registers and VAs. */
static void fuzz_tables(void **state)
{
	unsigned long ok = 0;

	(void)state;
	for (size_t i = 0; i < 64 * 512; i++) {
		uint64_t d = rng();

		if (d & 1) /* half of them "tables" into the first 128 KiB */
			d = (d & ~0x0000fffffffff000ull) | (RAM_BASE + ((d >> 20) & 31) * 4096);
		ram[i] = d;
	}
	for (int i = 0; i < 300000; i++) {
		struct a64_mmu_regs r = {.ttbr0 = RAM_BASE + (rng() & 31) * 4096,
					 .ttbr1 = RAM_BASE + (rng() & 31) * 4096,
					 .tcr = rng() & ~(3ull << 14) & ~(3ull << 30) & ~TCR_DS,
					 .sctlr = SCTLR_M};
		struct a64_mmu_walk w;
		uint64_t va = rng();
		int err;

		r.tcr |= TG1_4K;
		if (i & 1) /* in-range sizes, walks enabled for half of them */
			r.tcr = (r.tcr & ~0x3full & ~(0x3full << 16) & ~EPD0 & ~EPD1) |
				T0SZ(16 + (rng() % 24)) | T1SZ(16 + (rng() % 24));
		if (i & 2) /* inside every TnSZ's range (25 bits), either half */
			va = (va & 0x1ffffffull) | ((va >> 55) & 1 ? ~0ull << 25 : 0);
		reads = 0;
		err = a64_mmu_walk(&r, va, read_phys, NULL, &w);
		assert_true(reads <= 4);
		assert_true(err == 0 || err == -EFAULT || err == -ENOTSUP);
		if (err)
			continue;
		ok++;
		assert_true(w.level >= 1 && w.level <= 3);
		assert_true(w.ipa < (1ull << 48));
		assert_int_equal(w.ipa & (w.map_size - 1), va & (w.map_size - 1));
	}
	print_message("%lu of 300000 walks translated\n", ok);
	assert_true(ok > 1000); /* the pass did reach successful walks */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(mmu_off_is_identity, reset),
	    cmocka_unit_test_setup(four_levels_48bit, reset),
	    cmocka_unit_test_setup(blocks_level1_and_level2, reset),
	    cmocka_unit_test_setup(three_levels_39bit, reset),
	    cmocka_unit_test_setup(two_levels_30bit, reset),
	    cmocka_unit_test_setup(small_start_table, reset),
	    cmocka_unit_test_setup(upper_half_ttbr1, reset),
	    cmocka_unit_test_setup(top_byte_ignore, reset),
	    cmocka_unit_test_setup(epd0_and_granules, reset),
	    cmocka_unit_test_setup(invalid_descriptors, reset),
	    cmocka_unit_test_setup(output_size, reset),
	    cmocka_unit_test_setup(self_referencing_tables_are_bounded, reset),
	    cmocka_unit_test_setup(fuzz_tables, reset),
	};

	return cmocka_run_group_tests_name("a64_mmu", tests, NULL, NULL);
}
