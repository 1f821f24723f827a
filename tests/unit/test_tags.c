/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shadow/tags.h"

#define OBJ 0xffff888000012340ull

static void test_random_tags_valid(void **state)
{
	struct shadow_ram_range r = {0, 1 << 20};
	struct tag_map tm;
	unsigned int seen[256] = {0};

	(void)state;
	assert_int_equal(tag_map_init(&tm, &r, 1, 42), 0);
	for (int i = 0; i < 100000; i++)
		seen[tag_random(&tm)]++;
	assert_int_equal(seen[0xFE], 0);
	assert_int_equal(seen[0xFF], 0);
	for (int t = 0; t < 0xFE; t++)
		assert_true(seen[t] > 0);
	tag_map_destroy(&tm);
}

static void test_tag_map(void **state)
{
	struct shadow_ram_range r = {0, 1 << 20};
	struct tag_map tm;
	uint64_t bad;
	uint8_t t;

	(void)state;
	assert_int_equal(tag_map_init(&tm, &r, 1, 1), 0);
	assert_true(tag_map_set(&tm, 0x1000, 40, 0x2A)); /* 3 granules */
	assert_true(tag_map_set(&tm, 0x1030, 16, TAG_INVALID));
	assert_true(tag_map_get(&tm, 0x102F, &t));
	assert_int_equal(t, 0x2A);
	assert_false(tag_map_first_mismatch(&tm, 0x1000, 48, 0x2A, &bad));
	assert_true(tag_map_first_mismatch(&tm, 0x1008, 48, 0x2A, &bad));
	assert_int_equal(bad, 0x1030);
	assert_true(tag_map_first_mismatch(&tm, 0x1004, 4, 0x2B, &bad));
	assert_int_equal(bad, 0x1004); /* clamped to the access */
	/* a match-all pointer never mismatches */
	assert_false(tag_map_first_mismatch(&tm, 0x1000, 0x100, TAG_MATCH_ALL, &bad));
	assert_false(tag_map_set(&tm, (1 << 20) - 16, 32, 1));
	assert_int_equal(tag_get(tag_set(OBJ, 0x2A)), 0x2A);
	assert_int_equal(tag_reset(tag_set(OBJ, 0x2A)), OBJ);
	tag_map_destroy(&tm);
}

static void rec(struct stack_ring *r, uint64_t ptr, uint8_t tag, uint64_t size, uint32_t h,
		bool is_free)
{
	struct ring_entry e = {
	    .ptr = tag_set(ptr, tag), .size = size, .pid = h, .handle = h, .is_free = is_free};

	stack_ring_record(r, &e);
}

static void test_ring_search_order(void **state)
{
	struct stack_ring r;
	struct ring_result res;

	(void)state;
	assert_int_equal(stack_ring_init(&r, 0), 0);
	assert_int_equal(r.size, STACK_RING_DEFAULT);
	rec(&r, OBJ, 0x11, 64, 1, false); /* an older life of the object */
	rec(&r, OBJ, 0x11, 64, 2, true);
	rec(&r, OBJ, 0x22, 64, 3, false); /* current life, tag 0x22 */
	rec(&r, OBJ + 64, 0x22, 64, 9, false);
	rec(&r, OBJ, 0x22, 32, 9, true); /* other size: no match */
	rec(&r, OBJ, 0x22, 64, 4, true);

	stack_ring_search(&r, OBJ, 0x22, 64, &res);
	assert_int_equal(res.first, RING_HIT_FREE);
	assert_true(res.has_free && res.has_alloc);
	assert_int_equal(res.free.handle, 4);
	assert_int_equal(res.alloc.handle, 3);
	assert_string_equal(ring_bug_type(res.first), "slab-use-after-free");

	stack_ring_search(&r, OBJ, 0x11, 64, &res);
	assert_int_equal(res.free.handle, 2);
	assert_int_equal(res.alloc.handle, 1);

	rec(&r, OBJ, 0x33, 64, 5, false);
	stack_ring_search(&r, OBJ, 0x33, 64, &res);
	assert_int_equal(res.first, RING_HIT_ALLOC);
	assert_false(res.has_free);
	assert_string_equal(ring_bug_type(res.first), "slab-out-of-bounds");

	stack_ring_search(&r, OBJ, 0x44, 64, &res);
	assert_int_equal(res.first, RING_HIT_NONE);
	assert_string_equal(ring_bug_type(res.first), "invalid-access");
	stack_ring_destroy(&r);
}

static void test_ring_second_free_stops(void **state)
{
	struct stack_ring r;
	struct ring_result res;

	(void)state;
	assert_int_equal(stack_ring_init(&r, 8), 0);
	rec(&r, OBJ, 0x5, 16, 1, false);
	rec(&r, OBJ, 0x5, 16, 2, true);
	rec(&r, OBJ, 0x5, 16, 3, true);
	stack_ring_search(&r, OBJ, 0x5, 16, &res);
	assert_int_equal(res.free.handle, 3);
	assert_false(res.has_alloc);
	stack_ring_destroy(&r);
}

static void test_ring_wraps(void **state)
{
	struct stack_ring r;
	struct ring_result res;

	(void)state;
	assert_int_equal(stack_ring_init(&r, 4), 0);
	rec(&r, OBJ, 0x7, 16, 1, false);
	for (uint32_t i = 0; i < 4; i++)
		rec(&r, OBJ + 0x100, 0x7, 16, 10 + i, false);
	stack_ring_search(&r, OBJ, 0x7, 16, &res); /* overwritten */
	assert_int_equal(res.first, RING_HIT_NONE);
	stack_ring_search(&r, OBJ + 0x100, 0x7, 16, &res);
	assert_int_equal(res.alloc.handle, 13);
	stack_ring_destroy(&r);
	assert_int_equal(stack_ring_init(&r, STACK_RING_MAX + 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_tags_valid), cmocka_unit_test(test_tag_map),
	    cmocka_unit_test(test_ring_search_order), cmocka_unit_test(test_ring_second_free_stops),
	    cmocka_unit_test(test_ring_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
