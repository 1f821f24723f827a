/* SPDX-License-Identifier: MIT */
/*
 * addr_index (B+-tree of address ranges) against a brute-force reference:
 * growth to several levels, deletion down through borrows, merges and root
 * collapse, the finger after structural changes, hints taken before them,
 * and the entry cap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/addr_index.h"

#define BASE  0xffff888000000000ull
#define SLOTS 200000u /* slot k: range [BASE + 16k, BASE + 16k + len[k]) */

struct ref {
	uint32_t id[SLOTS]; /* 0: absent */
	uint8_t len[SLOTS]; /* 1..16 */
	uint32_t count;
};

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static uint64_t addr_of(uint32_t k)
{
	return BASE + (uint64_t)k * 16;
}

static void put(struct addr_index *x, struct ref *r, uint32_t k)
{
	uint8_t len = (uint8_t)(1 + rnd(16));

	assert_true(addr_index_insert(x, addr_of(k), addr_of(k) + len, k + 1));
	r->id[k] = k + 1;
	r->len[k] = len;
	r->count++;
}

static void drop(struct addr_index *x, struct ref *r, uint32_t k)
{
	assert_false(addr_index_remove(x, addr_of(k), k + 2)); /* someone else's id */
	assert_true(addr_index_remove(x, addr_of(k), k + 1));
	assert_false(addr_index_remove(x, addr_of(k), k + 1));
	r->id[k] = 0;
	r->count--;
}

/* Every query at q (an address in slot qk) against the reference. */
static void check_queries(struct addr_index *x, const struct ref *r, uint64_t q)
{
	uint32_t qk = (uint32_t)((q - BASE) / 16), fk = UINT32_MAX, ck = UINT32_MAX;
	struct addr_entry e;
	bool inside;

	for (uint32_t k = qk + 1; k-- > 0;)
		if (r->id[k]) {
			fk = k;
			break;
		}
	for (uint32_t k = q == addr_of(qk) ? qk : qk + 1; k < SLOTS; k++)
		if (r->id[k]) {
			ck = k;
			break;
		}
	assert_int_equal(addr_index_floor(x, q, &e), fk != UINT32_MAX);
	if (fk != UINT32_MAX) {
		assert_int_equal(e.id, fk + 1);
		assert_true(e.start == addr_of(fk) && e.end == addr_of(fk) + r->len[fk]);
	}
	assert_int_equal(addr_index_ceil(x, q, &e), ck != UINT32_MAX);
	if (ck != UINT32_MAX)
		assert_int_equal(e.id, ck + 1);
	inside = r->id[qk] && q < addr_of(qk) + r->len[qk];
	assert_int_equal(addr_index_containing(x, q, &e), inside);
	if (inside)
		assert_int_equal(e.id, qk + 1);
	assert_int_equal(addr_index_find(x, addr_of(qk)), r->id[qk]);
	/* [q, q + 32): the range holding q, else the first start in it */
	if (inside) {
		assert_true(addr_index_first_overlap(x, q, q + 32, &e));
		assert_int_equal(e.id, qk + 1);
	} else if (ck != UINT32_MAX && addr_of(ck) < q + 32) {
		assert_true(addr_index_first_overlap(x, q, q + 32, &e));
		assert_int_equal(e.id, ck + 1);
	} else {
		assert_false(addr_index_first_overlap(x, q, q + 32, &e));
	}
}

static void check_some(struct addr_index *x, const struct ref *r, int n)
{
	for (int i = 0; i < n; i++)
		check_queries(x, r, BASE + rnd(SLOTS * 16));
	assert_int_equal(addr_index_check(x), r->count);
}

static void test_grow_and_shrink(void **state)
{
	struct ref *r = calloc(1, sizeof(*r));
	uint32_t *order = malloc(SLOTS * sizeof(*order));
	struct addr_index x;

	(void)state;
	assert_non_null(r);
	assert_non_null(order);
	assert_int_equal(addr_index_init(&x, SLOTS), 0);
	for (uint32_t k = 0; k < SLOTS; k++)
		order[k] = k;
	for (uint32_t k = SLOTS - 1; k > 0; k--) {
		uint32_t j = rnd(k + 1), t = order[k];

		order[k] = order[j];
		order[j] = t;
	}
	/* random order, checked as it grows */
	for (uint32_t i = 0; i < SLOTS * 3 / 4; i++) {
		put(&x, r, order[i]);
		if (i % 20000 == 0)
			check_some(&x, r, 200);
	}
	assert_true(x.height >= 3);
	assert_false(addr_index_insert(&x, addr_of(order[0]), addr_of(order[0]) + 1, 9)); /* dup */
	check_some(&x, r, 5000);
	/* remove most, in another order: borrows, merges, fewer levels */
	for (uint32_t i = 0; i < SLOTS * 3 / 4; i += 1) {
		uint32_t k = order[(i * 7919u) % (SLOTS * 3 / 4)];

		if (r->id[k] && (i % 10) != 0)
			drop(&x, r, k);
		if (i % 20000 == 0)
			check_some(&x, r, 200);
	}
	check_some(&x, r, 5000);
	/* churn at that size, then empty it */
	for (uint32_t i = 0; i < 100000; i++) {
		uint32_t k = rnd(SLOTS);

		if (r->id[k])
			drop(&x, r, k);
		else
			put(&x, r, k);
		if (i % 10000 == 0)
			check_some(&x, r, 200);
	}
	for (uint32_t k = 0; k < SLOTS; k++)
		if (r->id[k])
			drop(&x, r, k);
	assert_int_equal(addr_index_check(&x), 0);
	assert_int_equal(x.height, 0);
	check_some(&x, r, 100);
	addr_index_destroy(&x);
	free(order);
	free(r);
}

/* The id of the last range starting at or below q, 0 if none (the reference). */
static uint32_t ref_floor(const struct ref *r, uint64_t q)
{
	for (uint32_t k = (uint32_t)((q - BASE) / 16) + 1; k-- > 0;)
		if (r->id[k])
			return r->id[k];
	return 0;
}

/*
 * Hints taken, then splits, merges, borrows and height changes (a size
 * swinging between a few and thousands), then the hints finished and used:
 * a hint may no longer help, but never misleads the lookups after it.
 */
static void test_stale_hints(void **state)
{
	enum { KEYS = 48, SPAN = 30000 };
	struct ref *r = calloc(1, sizeof(*r));
	struct addr_hint h[KEYS], he[KEYS / 2];
	uint64_t q[KEYS], qe[KEYS / 2];
	struct addr_index x;
	uint32_t good = 0;

	(void)state;
	assert_non_null(r);
	assert_int_equal(addr_index_init(&x, SLOTS), 0);
	for (uint32_t round = 0; round < 300; round++) {
		bool grow = round % 60 < 30;

		/* odd keys: the first step now, the second after the changes; even: all now */
		for (uint32_t i = 0; i < KEYS; i++) {
			q[i] = addr_of(rnd(SPAN)) + rnd(3) * 8;
			if (i % 2)
				addr_index_hint_begin(&x, q[i], &h[i]);
			else
				qe[i / 2] = q[i];
		}
		addr_index_hints(&x, qe, he, KEYS / 2);
		for (uint32_t i = 0; i < KEYS; i += 2)
			h[i] = he[i / 2];
		for (uint32_t j = 0; j < 400; j++) {
			uint32_t k = rnd(SPAN);

			if (r->id[k] && (!grow || rnd(4) == 0))
				drop(&x, r, k);
			else if (!r->id[k] && (grow || rnd(4) == 0))
				put(&x, r, k);
		}
		for (uint32_t i = 0; i < KEYS; i++) {
			uint32_t id;

			if (i % 2)
				addr_index_hint_finish(&x, q[i], &h[i]);
			id = addr_index_hint_floor(&x, &h[i], q[i]);
			assert_true(id == 0 || id == ref_floor(r, q[i]));
			good += id != 0;
			addr_index_use_hint(&x, &h[i], q[i]);
			check_queries(&x, r, q[i]);
		}
		assert_int_equal(addr_index_check(&x), r->count);
	}
	assert_true(good > 0); /* some hints survived the changes */
	addr_index_destroy(&x);
	free(r);
}

/* Ascending and descending runs split and merge at the edges only. */
static void test_sequential(void **state)
{
	struct ref *r = calloc(1, sizeof(*r));
	struct addr_index x;

	(void)state;
	assert_non_null(r);
	assert_int_equal(addr_index_init(&x, SLOTS), 0);
	for (uint32_t k = 0; k < 50000; k++)
		put(&x, r, k);
	for (uint32_t k = SLOTS; k-- > SLOTS - 50000;)
		put(&x, r, k);
	check_some(&x, r, 2000);
	for (uint32_t k = 0; k < 50000; k++)
		drop(&x, r, k);
	check_some(&x, r, 2000);
	for (uint32_t k = SLOTS; k-- > SLOTS - 49000;)
		drop(&x, r, k);
	check_some(&x, r, 2000);
	addr_index_destroy(&x);
	free(r);
}

static void test_cap_and_edges(void **state)
{
	struct addr_index x;
	struct addr_entry e;

	(void)state;
	assert_int_equal(addr_index_init(&x, 0), -EINVAL);
	assert_int_equal(addr_index_init(&x, 40), 0);
	assert_false(addr_index_floor(&x, BASE, &e));
	assert_false(addr_index_ceil(&x, 0, &e));
	for (uint32_t i = 0; i < 40; i++)
		assert_true(addr_index_insert(&x, BASE + 64 * i, BASE + 64 * i + 8, i + 1));
	assert_false(addr_index_insert(&x, BASE + 64 * 40, BASE + 64 * 41, 41)); /* full */
	assert_false(addr_index_insert(&x, UINT64_MAX, UINT64_MAX, 42));
	assert_true(addr_index_remove(&x, BASE + 64 * 3, 4));
	assert_true(addr_index_insert(&x, UINT64_MAX - 8, UINT64_MAX, 42)); /* room again */
	assert_true(addr_index_floor(&x, UINT64_MAX, &e));
	assert_int_equal(e.id, 42);
	assert_true(addr_index_ceil(&x, 0, &e));
	assert_int_equal(e.id, 1);
	assert_false(addr_index_containing(&x, BASE + 64 * 3 + 1, &e));
	assert_true(addr_index_set_end(&x, BASE + 64 * 2, BASE + 64 * 2 + 100));
	assert_false(addr_index_set_end(&x, BASE + 64 * 2 + 1, 0));
	assert_true(addr_index_containing(&x, BASE + 64 * 3 + 1, &e));
	assert_int_equal(e.id, 3);
	assert_int_equal(addr_index_check(&x), 40);
	addr_index_destroy(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow_and_shrink),
	    cmocka_unit_test(test_sequential),
	    cmocka_unit_test(test_stale_hints),
	    cmocka_unit_test(test_cap_and_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
