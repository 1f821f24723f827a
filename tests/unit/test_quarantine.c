/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shadow/quarantine.h"

static void test_fifo_and_accounting(void **state)
{
	struct quarantine q;

	(void)state;
	assert_int_equal(quarantine_init(&q, 100, 1000), 0);
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
	quarantine_destroy(&q);
}

static void test_cap_zero_and_bad_init(void **state)
{
	struct quarantine q;

	(void)state;
	assert_int_equal(quarantine_init(&q, 0, 10), -EINVAL);
	assert_int_equal(quarantine_init(&q, 8, 0), 0);
	assert_true(quarantine_put(&q, 8, 1));
	assert_int_equal(quarantine_pop_over(&q), 8);
	quarantine_destroy(&q);
}

static void test_long_run(void **state)
{
	struct quarantine q;
	uint32_t expect = 1, id;

	(void)state;
	assert_int_equal(quarantine_init(&q, 10000, 64 * 100), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_and_accounting),
	    cmocka_unit_test(test_cap_zero_and_bad_init),
	    cmocka_unit_test(test_long_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
