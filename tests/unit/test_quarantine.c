/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/quarantine.h"

/* The owner's per-id records, with the mark among other fields (stride > 4). */
struct rec {
	uint64_t payload;
	struct quarantine_mark mark;
	uint32_t other;
};

static struct rec recs[20001];

static int init(struct quarantine *q, uint32_t max_id, uint64_t cap)
{
	memset(recs, 0, sizeof(recs));
	return quarantine_init(q, max_id, cap, &recs[0].mark, sizeof(recs[0]));
}

static void test_fifo_and_accounting(void **state)
{
	struct quarantine q;

	(void)state;
	assert_int_equal(init(&q, 100, 1000), 0);
	assert_true(quarantine_put(&q, 1, 400));
	assert_true(quarantine_put(&q, 2, 300));
	assert_true(quarantine_put(&q, 3, 200));
	assert_false(quarantine_put(&q, 2, 10)); /* already in */
	assert_false(quarantine_put(&q, 101, 10));
	assert_false(quarantine_put(&q, 0, 10));
	assert_int_equal(q.total, 900);
	assert_int_equal(q.count, 3);
	assert_int_equal(quarantine_pop_over(&q), 0); /* under the cap */
	assert_true(quarantine_put(&q, 4, 500));      /* 1400 > 1000 */
	assert_int_equal(quarantine_pop_over(&q), 1); /* oldest first */
	assert_int_equal(q.total, 1000);
	assert_int_equal(quarantine_pop_over(&q), 0);
	assert_false(quarantine_contains(&q, 1));
	assert_true(quarantine_contains(&q, 2));
	/* early removal from the middle keeps order and totals */
	quarantine_remove(&q, 3);
	quarantine_remove(&q, 3);
	assert_int_equal(q.total, 800);
	assert_int_equal(q.count, 2);
	assert_int_equal(quarantine_pop_oldest(&q), 2);
	assert_int_equal(quarantine_pop_oldest(&q), 4);
	assert_int_equal(quarantine_pop_oldest(&q), 0);
	assert_int_equal(q.total, 0);
	/* an id can come back after leaving */
	assert_true(quarantine_put(&q, 3, 1));
	assert_int_equal(quarantine_pop_oldest(&q), 3);
	/* taken out and put back: its old slot is stale, it is the newest now */
	assert_true(quarantine_put(&q, 5, 1));
	assert_true(quarantine_put(&q, 6, 1));
	assert_true(quarantine_put(&q, 7, 1));
	quarantine_remove(&q, 5);
	assert_true(quarantine_put(&q, 5, 1));
	{
		uint32_t ids[8], seen[4], n = 0, id;
		uint64_t it = 0;

		assert_int_equal(quarantine_peek(&q, ids, 8), 4); /* stale slot included */
		assert_int_equal(ids[0], 5);
		/* 5 is quarantined again, but not in its old slot: that one is stale */
		assert_true(quarantine_contains(&q, ids[0]));
		assert_false(quarantine_live_at(&q, 0));
		assert_true(quarantine_live_at(&q, 1) && quarantine_live_at(&q, 3));
		assert_false(quarantine_live_at(&q, 4)); /* past the newest */
		while ((id = quarantine_iter(&q, &it)))
			seen[n++] = id;
		assert_int_equal(n, 3); /* newest first, the stale slot skipped */
		assert_true(seen[0] == 5 && seen[1] == 7 && seen[2] == 6);
	}
	assert_int_equal(quarantine_pop_oldest(&q), 6);
	assert_int_equal(quarantine_pop_oldest(&q), 7);
	assert_int_equal(quarantine_pop_oldest(&q), 5);
	quarantine_destroy(&q);
}

static void test_cap_zero_and_bad_init(void **state)
{
	struct quarantine q;

	(void)state;
	assert_int_equal(init(&q, 0, 10), -EINVAL);
	assert_int_equal(quarantine_init(&q, 8, 10, NULL, 4), -EINVAL);
	assert_int_equal(init(&q, 8, 0), 0);
	assert_true(quarantine_put(&q, 8, 1));
	assert_int_equal(quarantine_pop_over(&q), 8);
	quarantine_destroy(&q);
}

static void test_long_run(void **state)
{
	struct quarantine q;
	uint32_t expect = 1, id;

	(void)state;
	assert_int_equal(init(&q, 10000, 64 * 100), 0);
	for (uint32_t i = 1; i <= 10000; i++) {
		assert_true(quarantine_put(&q, i, 64));
		while ((id = quarantine_pop_over(&q)))
			assert_int_equal(id, expect++);
		assert_true(q.total <= 64 * 100);
	}
	assert_int_equal(q.count, 100);
	assert_int_equal(expect, 10000 - 100 + 1);
	quarantine_destroy(&q);
}

/*
 * Many early removals leave holes; the ring packs them out and doubles while
 * live slots fill it, the FIFO order and totals survive both, and the marks
 * (in the owner's records) always point at their slots.
 */
static void test_holes_pack_and_grow(void **state)
{
	enum { N = 20000 };
	static uint8_t in[N + 1];
	struct quarantine q;
	uint64_t total = 0;
	uint32_t next_expected = 1, id;

	(void)state;
	memset(in, 0, sizeof(in));
	assert_int_equal(init(&q, N, UINT64_MAX), 0);
	srand(5);
	for (uint32_t i = 1; i <= N; i++) {
		assert_true(quarantine_put(&q, i, i % 7 + 1));
		in[i] = 1;
		total += i % 7 + 1;
		if (i % 3 == 0) { /* remove a random earlier one */
			uint32_t k = 1 + (uint32_t)rand() % i;

			if (in[k]) {
				quarantine_remove(&q, k);
				assert_false(quarantine_contains(&q, k));
				assert_int_equal(recs[k].mark.slot, 0);
				in[k] = 0;
				total -= k % 7 + 1;
			}
		}
		assert_int_equal(q.total, total);
	}
	assert_true(q.size >= q.count && q.size <= 2 * N);
	assert_true(recs[5].other == 0 && recs[5].payload == 0); /* only marks are written */
	for (uint32_t i = 1; i <= N; i++)
		assert_int_equal(quarantine_contains(&q, i), in[i]);
	/* the live ones come out oldest first */
	while ((id = quarantine_pop_oldest(&q))) {
		while (!in[next_expected])
			next_expected++;
		assert_int_equal(id, next_expected);
		in[id] = 0;
		total -= id % 7 + 1;
		next_expected++;
	}
	assert_int_equal(q.count, 0);
	assert_int_equal(q.total, 0);
	assert_int_equal(total, 0);
	quarantine_destroy(&q);
}

/*
 * A steady stream where most frees come back early (holes, no pops) and some
 * go over the cap (pops): the ring wraps and packs many times, but with 100
 * live entries it never needs to grow.
 */
static void test_wrap_steady(void **state)
{
	struct quarantine q;
	uint32_t id, live_before;

	(void)state;
	assert_int_equal(init(&q, 20000, 100 * 8), 0);
	for (uint32_t i = 0; i < 200000; i++) {
		uint32_t k = 1 + (i * 7) % (i % 5 ? 150 : 20000);

		if (quarantine_contains(&q, k))
			quarantine_remove(&q, k);
		assert_true(quarantine_put(&q, k, 8));
		assert_true(recs[k].mark.slot >= 1 && recs[k].mark.slot <= q.size);
		live_before = q.count;
		while ((id = quarantine_pop_over(&q)))
			assert_false(quarantine_contains(&q, id));
		assert_true(q.count <= live_before && q.total <= 100 * 8);
	}
	assert_int_equal(q.count, 100);
	assert_int_equal(q.size, 1024);
	quarantine_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_and_accounting),
	    cmocka_unit_test(test_cap_zero_and_bad_init),
	    cmocka_unit_test(test_long_run),
	    cmocka_unit_test(test_holes_pack_and_grow),
	    cmocka_unit_test(test_wrap_steady),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
