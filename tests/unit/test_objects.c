/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "shadow/objects.h"
#include "shadow/page_owner.h"

#define BASE 0xffff888000000000ull

static uint32_t add(struct object_table *t, uint64_t start, uint64_t size)
{
	uint32_t id = objects_insert(t, start, size, size);

	assert_int_not_equal(id, 0);
	assert_int_equal(objects_get(t, id)->size_alloc, size);
	return id;
}

static void test_lookup(void **state)
{
	struct object_table t;
	uint32_t a, b;

	(void)state;
	assert_int_equal(objects_init(&t, 16), 0);
	a = add(&t, BASE + 0x100, 64);
	b = add(&t, BASE + 0x200, 32);
	assert_int_equal(objects_insert(&t, BASE + 0x100, 8, 8), 0); /* duplicate start */
	assert_int_equal(objects_find(&t, BASE + 0x100), a);
	assert_int_equal(objects_find(&t, BASE + 0x101), 0);
	assert_int_equal(objects_containing(&t, BASE + 0x13F), a);
	assert_int_equal(objects_containing(&t, BASE + 0x140), 0);
	assert_int_equal(objects_containing(&t, BASE + 0xFF), 0);
	assert_int_equal(objects_floor(&t, BASE + 0x1FF), a);
	assert_int_equal(objects_ceil(&t, BASE + 0x101), b);
	assert_int_equal(objects_first_overlap(&t, BASE + 0x140, BASE + 0x200), 0);
	assert_int_equal(objects_first_overlap(&t, BASE + 0x140, BASE + 0x201), b);
	assert_int_equal(objects_first_overlap(&t, BASE + 0x0, BASE + 0x101), a);
	objects_remove(&t, a);
	assert_int_equal(objects_containing(&t, BASE + 0x120), 0);
	assert_int_equal(objects_find(&t, BASE + 0x200), b);
	assert_int_equal(t.count, 1);
	objects_destroy(&t);
}

/* The index's extent follows objects_resize(); a stale id is ignored. */
static void test_resize(void **state)
{
	struct object_table t;
	uint32_t a;

	(void)state;
	assert_int_equal(objects_init(&t, 16), 0);
	a = add(&t, BASE + 0x100, 32);
	assert_int_equal(objects_containing(&t, BASE + 0x120), 0);
	objects_resize(&t, a, 40, 64);
	assert_int_equal(objects_get(&t, a)->size_req, 40);
	assert_int_equal(objects_containing(&t, BASE + 0x13F), a);
	assert_int_equal(objects_first_overlap(&t, BASE + 0x130, BASE + 0x131), a);
	objects_resize(&t, a, 8, 8);
	assert_int_equal(objects_containing(&t, BASE + 0x108), 0);
	objects_remove(&t, a);
	objects_resize(&t, a, 100, 100); /* no longer tracked: nothing happens */
	assert_int_equal(objects_containing(&t, BASE + 0x100), 0);
	assert_int_equal(t.count, 0);
	objects_destroy(&t);
}

static void test_cap(void **state)
{
	struct object_table t;
	uint32_t id;

	(void)state;
	assert_int_equal(objects_init(&t, 4), 0);
	for (int i = 0; i < 4; i++)
		add(&t, BASE + i * 64, 64);
	assert_int_equal(objects_insert(&t, BASE + 0x1000, 64, 64), 0);
	id = objects_find(&t, BASE + 64);
	objects_remove(&t, id);
	assert_int_not_equal(objects_insert(&t, BASE + 0x1000, 64, 64), 0); /* the slot is reused */
	objects_destroy(&t);
	assert_int_equal(objects_init(&t, 0), -EINVAL);
}

/* Many objects in random order against a plain reference array. */
static void test_many(void **state)
{
	enum { N = 200000 };
	struct object_table t;
	uint32_t *ids = calloc(N, sizeof(*ids));

	(void)state;
	assert_non_null(ids);
	assert_int_equal(objects_init(&t, N), 0);
	srand(7);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t k = (uint32_t)(((uint64_t)i * 2654435761u) % N); /* a permutation */

		ids[k] = add(&t, BASE + (uint64_t)k * 128, 96);
	}
	assert_int_equal(t.count, N);
	for (int i = 0; i < 100000; i++) {
		uint32_t k = (uint32_t)rand() % N;
		uint64_t off = (uint64_t)rand() % 128;
		uint32_t want = off < 96 ? ids[k] : 0;

		assert_int_equal(objects_containing(&t, BASE + (uint64_t)k * 128 + off), want);
	}
	/* remove the odd ones, then the lookups must see the change */
	for (uint32_t k = 1; k < N; k += 2)
		objects_remove(&t, ids[k]);
	assert_int_equal(t.count, N / 2);
	for (uint32_t k = 0; k < N; k += 1001) {
		uint32_t got = objects_containing(&t, BASE + (uint64_t)k * 128 + 5);

		assert_int_equal(got, k % 2 ? 0 : ids[k]);
		assert_int_equal(objects_ceil(&t, BASE + (uint64_t)k * 128 + 1),
				 k + 1 < N ? ids[k % 2 ? k + 1 : k + 2] : 0);
	}
	objects_destroy(&t);
	free(ids);
}

/*
 * Random inserts and removes (id reuse, index splits and merges) against a
 * plain array, with the index's invariants and every query checked against
 * brute force as the table churns.
 */
static void test_churn(void **state)
{
	enum { SLOTS = 4096, CAP = 3000, ROUNDS = 60000 };
	struct object_table t;
	uint32_t *ids = calloc(SLOTS, sizeof(*ids)); /* slot k: object at BASE + 64k, 48 bytes */

	(void)state;
	assert_non_null(ids);
	assert_int_equal(objects_init(&t, CAP), 0);
	srand(11);
	for (int r = 0; r < ROUNDS; r++) {
		uint32_t k = (uint32_t)rand() % SLOTS;
		uint64_t a = BASE + (uint64_t)k * 64, q = BASE + (uint64_t)rand() % (SLOTS * 64);
		uint32_t qk = (uint32_t)((q - BASE) / 64), want_floor = 0, want_ceil = 0;

		if (ids[k]) {
			objects_remove(&t, ids[k]);
			objects_remove(&t, ids[k]); /* twice: a no-op */
			ids[k] = 0;
		} else if (t.count < CAP) {
			ids[k] = add(&t, a, 48);
		} else {
			assert_int_equal(objects_insert(&t, a, 48, 48), 0);
		}
		for (uint32_t j = qk + 1; j-- > 0 && !want_floor;)
			want_floor = ids[j];
		for (uint32_t j = (q - BASE) % 64 ? qk + 1 : qk; j < SLOTS && !want_ceil; j++)
			want_ceil = ids[j];
		assert_int_equal(objects_floor(&t, q), want_floor);
		assert_int_equal(objects_ceil(&t, q), want_ceil);
		assert_int_equal(objects_containing(&t, q), (q - BASE) % 64 < 48 ? ids[qk] : 0);
		assert_int_equal(objects_find(&t, BASE + (uint64_t)qk * 64), ids[qk]);
		assert_int_equal(objects_first_overlap(&t, q, q + 64),
				 (q - BASE) % 64 < 48 && ids[qk]		 ? ids[qk]
				 : want_ceil && t.pool[want_ceil].start < q + 64 ? want_ceil
										 : 0);
		if (r % 5000 == 0)
			assert_int_equal(addr_index_check(&t.index), t.count);
	}
	assert_int_equal(addr_index_check(&t.index), t.count);
	objects_destroy(&t);
	free(ids);
}

static void test_caches(void **state)
{
	struct cache_table c;
	struct shadow_cache *a;

	(void)state;
	assert_int_equal(caches_init(&c), 0);
	assert_null(caches_find(&c, 5));
	assert_null(caches_add(&c, 0));
	a = caches_add(&c, 5);
	assert_non_null(a);
	assert_int_equal(a->freeptr_offset, CACHE_NO_FREEPTR);
	a->object_size = 192;
	assert_ptr_equal(caches_find(&c, 5), a);
	assert_ptr_equal(caches_add(&c, 5), a);
	for (uint32_t i = 100; i < 100 + CACHES_MAX - 1; i++)
		assert_non_null(caches_add(&c, i));
	assert_null(caches_add(&c, 1)); /* full */
	assert_int_equal(caches_find(&c, 5)->object_size, 192);
	caches_destroy(&c);
}

static void test_page_owner(void **state)
{
	struct shadow_ram_range r[2] = {{0, 1 << 20}, {1ull << 32, 1 << 20}};
	struct object_track al = {.time = 1, .pid = 10, .cpu = 0, .handle = 77};
	struct object_track fr = {.time = 2, .pid = 11, .cpu = 1, .handle = 78};
	struct page_owner po;
	const struct page_owner_entry *e;

	(void)state;
	assert_int_equal(page_owner_init(&po, r, 2), 0);
	page_owner_set(&po, (1ull << 32) + 0x3000, 4, false, &al);
	page_owner_set(&po, (1ull << 32) + 0x4000, 1, true, &fr);
	e = page_owner_get(&po, (1ull << 32) + 0x3123);
	assert_true(e->has_alloc && !e->has_free);
	assert_int_equal(e->alloc.handle, 77);
	e = page_owner_get(&po, (1ull << 32) + 0x4000);
	assert_true(e->has_alloc && e->has_free);
	assert_int_equal(e->free.pid, 11);
	e = page_owner_get(&po, 0x3000); /* low RAM does not alias */
	assert_false(e->has_alloc);
	assert_null(page_owner_get(&po, 2 << 20));
	page_owner_destroy(&po);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),     cmocka_unit_test(test_resize),
	    cmocka_unit_test(test_cap),	       cmocka_unit_test(test_many),
	    cmocka_unit_test(test_churn),      cmocka_unit_test(test_caches),
	    cmocka_unit_test(test_page_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
