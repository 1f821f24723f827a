/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shadow/depot.h"

static void make_stack(uint64_t *f, uint32_t n, uint64_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		f[i] = 0xffffffff81000000ull + seed * 0x1000 + i * 8;
}

static void test_dedup(void **state)
{
	struct depot d;
	struct depot_stats st;
	uint64_t a[8], b[8];
	const uint64_t *out;
	uint32_t ha, ha2, hb;

	(void)state;
	assert_int_equal(depot_init(&d, 1 << 20), 0);
	make_stack(a, 8, 1);
	make_stack(b, 8, 1);
	b[7] ^= 1; /* differs in the last frame only */
	ha = depot_save(&d, a, 8, true);
	ha2 = depot_save(&d, a, 8, true);
	hb = depot_save(&d, b, 8, true);
	assert_int_not_equal(ha, 0);
	assert_int_equal(ha, ha2);
	assert_int_not_equal(ha, hb);
	assert_int_equal(depot_fetch(&d, ha, &out), 8);
	assert_memory_equal(out, a, sizeof(a));
	assert_int_equal(depot_fetch(&d, hb, &out), 8);
	assert_memory_equal(out, b, sizeof(b));
	assert_int_equal(depot_save(&d, a, 7, false) == ha, 0); /* prefix is another stack */
	depot_get_stats(&d, &st);
	assert_int_equal(st.saves, 4);
	assert_int_equal(st.dedup_hits, 1);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.bytes, 2 * (DEPOT_RECORD_OVERHEAD + 64) + DEPOT_RECORD_OVERHEAD + 56);
	assert_int_equal(depot_save(&d, a, 0, true), 0);
	assert_int_equal(depot_fetch(&d, 0, &out), 0);
	assert_int_equal(depot_fetch(&d, 0x12345, &out), 0); /* never issued */
	depot_destroy(&d);
}

static void test_truncates_long_stacks(void **state)
{
	struct depot d;
	uint64_t f[100];
	const uint64_t *out;

	(void)state;
	assert_int_equal(depot_init(&d, 1 << 20), 0);
	make_stack(f, 100, 3);
	assert_int_equal(depot_fetch(&d, depot_save(&d, f, 100, false), &out), DEPOT_MAX_FRAMES);
	assert_memory_equal(out, f, DEPOT_MAX_FRAMES * 8);
	depot_destroy(&d);
}

static void test_eviction_under_cap(void **state)
{
	const uint64_t cap = 64 * 1024, rec = DEPOT_RECORD_OVERHEAD + 16 * 8;
	struct depot d;
	struct depot_stats st;
	uint64_t f[16];
	const uint64_t *out;
	uint32_t pinned, first_weak, h = 0;

	(void)state;
	assert_int_equal(depot_init(&d, cap), 0);
	make_stack(f, 16, 1000);
	pinned = depot_save(&d, f, 16, true);
	make_stack(f, 16, 1001);
	first_weak = depot_save(&d, f, 16, false);
	for (uint64_t i = 0; i < 3 * cap / rec; i++) {
		make_stack(f, 16, i);
		h = depot_save(&d, f, 16, false);
		assert_int_not_equal(h, 0);
		depot_get_stats(&d, &st);
		assert_true(st.bytes <= cap);
	}
	depot_get_stats(&d, &st);
	assert_true(st.evicted > 0);
	assert_int_equal(st.failed, 0);
	/* the referenced record survives, the oldest unreferenced one is gone */
	make_stack(f, 16, 1000);
	assert_int_equal(depot_fetch(&d, pinned, &out), 16);
	assert_memory_equal(out, f, sizeof(f));
	assert_int_equal(depot_fetch(&d, first_weak, &out), 0);
	assert_int_equal(depot_fetch(&d, h, &out), 16); /* the newest is there */
	depot_put(&d, pinned);
	depot_destroy(&d);
}

static void test_full_of_references_fails(void **state)
{
	struct depot d;
	struct depot_stats st;
	uint64_t f[64];
	uint32_t n = 0;

	(void)state;
	assert_int_equal(depot_init(&d, DEPOT_MIN_BYTES), 0);
	for (uint64_t i = 0; i < 100; i++) {
		make_stack(f, 64, i);
		n += depot_save(&d, f, 64, true) != 0;
	}
	depot_get_stats(&d, &st);
	assert_int_equal(n, DEPOT_MIN_BYTES / (DEPOT_RECORD_OVERHEAD + 512));
	assert_int_equal(st.failed, 100 - n);
	assert_true(st.bytes <= DEPOT_MIN_BYTES);
	depot_destroy(&d);
	assert_int_equal(depot_init(&d, 100), -EINVAL);
}

static void test_put_makes_evictable(void **state)
{
	struct depot d;
	uint64_t f[64];
	uint32_t h[8];
	const uint64_t *out;

	(void)state;
	assert_int_equal(depot_init(&d, DEPOT_MIN_BYTES), 0);
	for (int i = 0; i < 7; i++) { /* 7 * 544 bytes fill 4 KiB */
		make_stack(f, 64, i);
		h[i] = depot_save(&d, f, 64, true);
		assert_int_not_equal(h[i], 0);
	}
	make_stack(f, 64, 7);
	assert_int_equal(depot_save(&d, f, 64, true), 0);
	depot_put(&d, h[3]);
	h[7] = depot_save(&d, f, 64, true);
	assert_int_not_equal(h[7], 0);
	assert_int_equal(depot_fetch(&d, h[3], &out), 0); /* stale handle */
	assert_int_equal(depot_fetch(&d, h[2], &out), 64);
	depot_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dedup),
	    cmocka_unit_test(test_truncates_long_stacks),
	    cmocka_unit_test(test_eviction_under_cap),
	    cmocka_unit_test(test_full_of_references_fails),
	    cmocka_unit_test(test_put_makes_evictable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
