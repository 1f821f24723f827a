/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "shadow/shadow_map.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

struct notes {
	unsigned int poisoned, clean;
	uint64_t last_page;
	uint8_t last_val;
};

static void note(void *ctx, uint64_t gpa_page, bool poisoned, uint8_t val)
{
	struct notes *n = ctx;

	n->last_val = val;
	if (poisoned)
		n->poisoned++;
	else
		n->clean++;
	n->last_page = gpa_page;
}

static uint8_t sb(struct shadow_map *m, uint64_t gpa)
{
	uint8_t v = 0xAA;

	assert_true(shadow_map_get(m, gpa, &v));
	return v;
}

static void test_unpoison_partial(void **state)
{
	struct shadow_ram_range r = {0, 1 * MIB};
	struct shadow_map m;
	uint64_t bad;

	(void)state;
	assert_int_equal(shadow_map_init(&m, &r, 1, NULL, NULL), 0);
	assert_true(shadow_poison(&m, 0x1000, 64, 0xFC));
	assert_true(shadow_unpoison(&m, 0x1000, 13));
	assert_int_equal(sb(&m, 0x1000), 0);
	assert_int_equal(sb(&m, 0x1008), 5);
	assert_int_equal(sb(&m, 0x1010), 0xFC);
	assert_int_equal(sb(&m, 0x1038), 0xFC);
	assert_int_equal(sb(&m, 0x1040), 0); /* untouched beyond */

	/* the accessible prefix of a partial granule is not bad */
	assert_false(shadow_first_bad(&m, 0x1000, 13, &bad));
	assert_true(shadow_first_bad(&m, 0x1000, 14, &bad));
	assert_int_equal(bad, 0x100D);
	assert_true(shadow_first_bad(&m, 0x100E, 1, &bad));
	assert_int_equal(bad, 0x100E);
	assert_true(shadow_first_bad(&m, 0x0FF0, 64, &bad));
	assert_int_equal(bad, 0x100D);
	shadow_map_destroy(&m);
}

static void test_first_bad_across_pages(void **state)
{
	struct shadow_ram_range r = {0, 1 * MIB};
	struct shadow_map m;
	uint64_t bad;

	(void)state;
	assert_int_equal(shadow_map_init(&m, &r, 1, NULL, NULL), 0);
	assert_true(shadow_poison(&m, 0x3000, 0x1000, 0xFF));
	assert_false(shadow_first_bad(&m, 0x2000, 0x1000, &bad));
	assert_true(shadow_first_bad(&m, 0x2FF8, 16, &bad));
	assert_int_equal(bad, 0x3000);
	assert_true(shadow_first_bad(&m, 0x2FFD, 8, &bad)); /* unaligned, crossing */
	assert_int_equal(bad, 0x3000);
	assert_true(shadow_first_bad(&m, 0x3ABC, 4, &bad));
	assert_int_equal(bad, 0x3ABC);
	assert_true(shadow_unpoison(&m, 0x3000, 0x1000));
	assert_false(shadow_first_bad(&m, 0x2000, 0x3000, &bad));
	/* past the end of RAM counts as bad */
	assert_true(shadow_first_bad(&m, 1 * MIB - 8, 16, &bad));
	assert_int_equal(bad, 1 * MIB);
	shadow_map_destroy(&m);
}

static void test_hole_layout(void **state)
{
	struct shadow_ram_range r[2] = {{0, 1 * MIB}, {4 * GIB, 1 * MIB}};
	struct shadow_map m;
	uint64_t bad, idx;
	uint8_t v;

	(void)state;
	assert_int_equal(shadow_map_init(&m, r, 2, NULL, NULL), 0);
	assert_true(shadow_layout_index(&m.layout, 4 * GIB + 16, &idx));
	assert_int_equal(idx, 1 * MIB + 16);
	assert_false(shadow_map_get(&m, 2 * MIB, &v));
	assert_false(shadow_poison(&m, 1 * MIB - 8, 16, 0xFF)); /* crosses the hole */
	assert_true(shadow_poison(&m, 4 * GIB + 0x100, 8, 0xFB));
	assert_int_equal(sb(&m, 4 * GIB + 0x100), 0xFB);
	assert_int_equal(sb(&m, 0x100), 0); /* no aliasing with low RAM */
	assert_true(shadow_first_bad(&m, 4 * GIB, 0x200, &bad));
	assert_int_equal(bad, 4 * GIB + 0x100);
	shadow_map_destroy(&m);
}

static void test_bad_layouts(void **state)
{
	struct shadow_ram_range unaligned = {0x800, 1 * MIB};
	struct shadow_ram_range overlap[2] = {{0, 2 * MIB}, {1 * MIB, 1 * MIB}};
	struct shadow_map m;

	(void)state;
	assert_int_equal(shadow_map_init(&m, &unaligned, 1, NULL, NULL), -EINVAL);
	assert_int_equal(shadow_map_init(&m, overlap, 2, NULL, NULL), -EINVAL);
	assert_int_equal(shadow_map_init(&m, overlap, 0, NULL, NULL), -EINVAL);
}

static void test_notify_on_change_only(void **state)
{
	struct shadow_ram_range r = {0, 1 * MIB};
	struct notes n = {0};
	struct shadow_map m;

	(void)state;
	assert_int_equal(shadow_map_init(&m, &r, 1, note, &n), 0);
	assert_true(shadow_poison(&m, 0x5000, 16, 0xFC));
	assert_int_equal(n.poisoned, 1);
	assert_int_equal(n.last_page, 0x5000);
	assert_int_equal(n.last_val, 0xFC);		  /* the value that poisoned it */
	assert_true(shadow_poison(&m, 0x5100, 16, 0xFB)); /* same page: no change */
	assert_int_equal(n.poisoned, 1);
	assert_true(shadow_page_poisoned(&m, 0x5FFF));
	assert_true(shadow_unpoison(&m, 0x5000, 16));
	assert_int_equal(n.clean, 0); /* still 0x5100 poisoned */
	assert_true(shadow_unpoison(&m, 0x5100, 16));
	assert_int_equal(n.clean, 1);
	assert_false(shadow_page_poisoned(&m, 0x5000));
	/* a whole range: one note per page */
	assert_true(shadow_poison(&m, 0x10000, 0x4000, 0xFF));
	assert_int_equal(n.poisoned, 5);
	assert_int_equal(n.last_val, 0xFF);
	assert_true(shadow_unpoison(&m, 0x10000, 0x4000));
	assert_int_equal(n.clean, 5);
	assert_int_equal(n.last_val, 0);
	/* a partial granule is still poisoned */
	assert_true(shadow_unpoison(&m, 0x20000, 3));
	assert_int_equal(n.poisoned, 6);
	shadow_map_destroy(&m);
}

struct freed_notes {
	struct notes n; /* first: the notify callback's view */
	unsigned int freed;
	uint64_t page;
	uint8_t val;
};

static void freed_note(void *ctx, uint64_t gpa_page, uint8_t val)
{
	struct freed_notes *f = ctx;

	f->freed++;
	f->page = gpa_page;
	f->val = val;
}

/*
 * Freed memory on a page poisoned already (a slab object freed between red
 * zones) flips nothing, so notify stays quiet: the freed callback tells it.
 */
static void test_freed_on_poisoned_page(void **state)
{
	struct shadow_ram_range r = {0, 1 * MIB};
	struct shadow_run slot[] = {{2, SHADOW_SLAB_REDZONE}, {4, SHADOW_SLAB_FREE}};
	struct freed_notes f = {0};
	struct shadow_map m;

	(void)state;
	assert_int_equal(shadow_map_init(&m, &r, 1, note, &f), 0);
	m.freed = freed_note;
	assert_true(shadow_poison(&m, 0x7000, 16, SHADOW_SLAB_REDZONE)); /* clean -> poisoned */
	assert_int_equal(f.n.poisoned, 1);
	assert_int_equal(f.freed, 0); /* a red zone is not freed memory */
	assert_true(shadow_poison(&m, 0x7100, 32, SHADOW_SLAB_REDZONE));
	assert_int_equal(f.freed, 0);
	assert_true(shadow_write(&m, 0x7200, slot, 2)); /* a freed slot, its left red zone first */
	assert_int_equal(f.n.poisoned, 1);
	assert_int_equal(f.freed, 1);
	assert_int_equal(f.page, 0x7000);
	assert_int_equal(f.val, SHADOW_SLAB_FREE);
	assert_true(shadow_poison(&m, 0x7400, 8, SHADOW_SLAB_FREE_META));
	assert_int_equal(f.freed, 2);
	/* a freed slot on a clean page: the notify itself says freed */
	assert_true(shadow_write(&m, 0x9000, slot, 2));
	assert_int_equal(f.n.poisoned, 2);
	assert_int_equal(f.n.last_val, SHADOW_SLAB_FREE);
	assert_int_equal(f.freed, 2);
	shadow_map_destroy(&m);
}

static long rss_pages(void)
{
	long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss;
}

/*
 * Random poison/unpoison of small unaligned ranges: the per-page count of
 * non-zero shadow bytes (kept a word at a time) must match a recount, and
 * the notify callback must fire exactly on the page's clean/poisoned flips.
 */
static void test_random_counts(void **state)
{
	enum { PAGES = 4 };
	struct shadow_ram_range r = {0, PAGES * 4096};
	struct notes n = {0};
	struct shadow_map m;
	bool dirty[PAGES] = {false};
	unsigned int flips = 0;

	(void)state;
	assert_int_equal(shadow_map_init(&m, &r, 1, note, &n), 0);
	srand(3);
	for (int i = 0; i < 20000; i++) {
		uint64_t len = 1 + (uint64_t)rand() % 700;
		uint64_t gpa = ((uint64_t)rand() % (PAGES * 4096 - len)) & ~7ull;
		uint8_t vals[] = {SHADOW_SLAB_FREE, 0x80, 0}; /* 0x80: only its top bit set */
		uint8_t v = vals[rand() % 3];

		if (v)
			assert_true(shadow_poison(&m, gpa, len, v));
		else
			assert_true(shadow_unpoison(&m, gpa, len));
		for (unsigned int p = 0; p < PAGES; p++) {
			unsigned int want = 0;

			for (unsigned int b = 0; b < 512; b++)
				want += m.bytes[p * 512 + b] != 0;
			assert_int_equal(m.page_dirty[p], want);
			flips += dirty[p] != (want != 0);
			dirty[p] = want != 0;
			assert_int_equal(shadow_page_poisoned(&m, p * 4096ull), want != 0);
		}
		assert_int_equal(n.poisoned + n.clean, flips);
	}
	shadow_map_destroy(&m);
}

static void test_lazy_backing(void **state)
{
	struct shadow_ram_range r[2] = {{0, 3 * GIB}, {4 * GIB, 1 * GIB}};
	struct shadow_map m;
	uint64_t bad;
	long before, after;

	(void)state;
	before = rss_pages();
	assert_int_equal(shadow_map_init(&m, r, 2, NULL, NULL), 0);
	/* 512 MiB of shadow reserved; a few scattered objects must not commit it */
	for (uint64_t gpa = 0; gpa < 3 * GIB; gpa += 64 * MIB) {
		assert_true(shadow_poison(&m, gpa + 0x1000, 128, 0xFC));
		assert_true(shadow_unpoison(&m, gpa + 0x1000, 100));
	}
	/* unpoisoning untouched memory writes nothing */
	assert_true(shadow_unpoison(&m, 4 * GIB, 1 * GIB));
	assert_false(shadow_first_bad(&m, 4 * GIB, 1 * MIB, &bad));
	after = rss_pages();
	assert_true(after - before < 1024); /* < 4 MiB for a 5 GiB guest */
	/* a big page free commits, and giving it back releases it again */
	assert_true(shadow_poison(&m, 0, 256 * MIB, 0xFF));
	assert_true(rss_pages() - before >= (long)(32 * MIB / 4096) - 64);
	assert_true(shadow_unpoison(&m, 0, 256 * MIB));
	assert_true(rss_pages() - before < 2048);
	shadow_map_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unpoison_partial),
	    cmocka_unit_test(test_first_bad_across_pages),
	    cmocka_unit_test(test_hole_layout),
	    cmocka_unit_test(test_bad_layouts),
	    cmocka_unit_test(test_notify_on_change_only),
	    cmocka_unit_test(test_freed_on_poisoned_page),
	    cmocka_unit_test(test_lazy_backing),
	    cmocka_unit_test(test_random_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
