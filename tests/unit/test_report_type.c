// SPDX-License-Identifier: MIT
/* Bug-type classification: every generic shadow value, wrap and no-shadow rules, tag mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/report.h"

#define KADDR 0xffff888003a1c100ull

/* The reference's table, value by value; everything not listed is unknown-crash. */
static const char *expected(uint8_t v)
{
	static const struct {
		uint8_t v;
		const char *type;
	} table[] = {
	    {0xfc, "slab-out-of-bounds"},    {0xfe, "slab-out-of-bounds"},
	    {0xf9, "global-out-of-bounds"},  {0xf1, "stack-out-of-bounds"},
	    {0xf2, "stack-out-of-bounds"},   {0xf3, "stack-out-of-bounds"},
	    {0xf4, "stack-out-of-bounds"},   {0xff, "use-after-free"},
	    {0xfb, "slab-use-after-free"},   {0xfa, "slab-use-after-free"},
	    {0xca, "alloca-out-of-bounds"},  {0xcb, "alloca-out-of-bounds"},
	    {0xf8, "vmalloc-out-of-bounds"},
	};

	if (v <= 7)
		return "out-of-bounds";
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].v == v)
			return table[i].type;
	return "unknown-crash";
}

static void test_every_shadow_value(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		const char *want = expected((uint8_t)v);
		/* 1..7 look at the next granule; 0 and poison values never do */
		if (v >= 1 && v <= 7) {
			assert_string_equal(report_bug_type(KADDR, 1, true, (uint8_t)v, 0xfb),
					    "slab-use-after-free");
			assert_string_equal(report_bug_type(KADDR, 1, true, (uint8_t)v, 0x00),
					    "out-of-bounds");
		} else {
			assert_string_equal(report_bug_type(KADDR, 1, true, (uint8_t)v, 0xfb),
					    want);
		}
	}
	assert_string_equal(report_bug_type(KADDR, 1, true, 0xf5, 0), "unknown-crash");
}

static void test_wrap_and_wild(void **state)
{
	(void)state;
	/* address + size wrapping wins over everything */
	assert_string_equal(report_bug_type(UINT64_MAX - 3, 8, true, 0xfb, 0), "out-of-bounds");
	assert_string_equal(report_bug_type(UINT64_MAX - 3, 8, false, 0, 0), "out-of-bounds");
	assert_string_equal(report_bug_type(UINT64_MAX - 8, 8, false, 0, 0), "wild-memory-access");
	assert_string_equal(report_bug_type(0, 8, false, 0, 0), "null-ptr-deref");
	assert_string_equal(report_bug_type(0xfff, 1, false, 0, 0), "null-ptr-deref");
	assert_string_equal(report_bug_type(0x1000, 1, false, 0, 0), "user-memory-access");
	assert_string_equal(report_bug_type(0x00007fffffffefff, 1, false, 0, 0),
			    "user-memory-access");
	assert_string_equal(report_bug_type(0x00007ffffffff000, 1, false, 0, 0),
			    "wild-memory-access");
	assert_string_equal(report_bug_type(0xdead000000000100, 1, false, 0, 0),
			    "wild-memory-access");
}

static void test_tags(void **state)
{
	(void)state;
	assert_string_equal(report_bug_type_tags(REPORT_RING_FREE, KADDR, 8),
			    "slab-use-after-free");
	assert_string_equal(report_bug_type_tags(REPORT_RING_ALLOC, KADDR, 8),
			    "slab-out-of-bounds");
	assert_string_equal(report_bug_type_tags(REPORT_RING_NONE, KADDR, 8), "invalid-access");
	assert_string_equal(report_bug_type_tags(REPORT_RING_NONE, UINT64_MAX, 2), "out-of-bounds");
	/* a ring hit decides even for a wrapping access */
	assert_string_equal(report_bug_type_tags(REPORT_RING_FREE, UINT64_MAX, 2),
			    "slab-use-after-free");
}

/* report_info_bug_type reads the shadow of first_bad_addr from the dumped rows. */
static void test_from_rows(void **state)
{
	struct report_info r;
	(void)state;

	memset(&r, 0, sizeof(r));
	r.kind = REPORT_ACCESS;
	r.addr = KADDR + 13;
	r.access_size = 1;
	r.first_bad_addr = KADDR + 13;
	r.row_addr = KADDR - 256;
	r.rows[2][1] = 0x05; /* granule of first_bad: partial, so the next decides */
	r.rows[2][2] = 0xfa;
	assert_string_equal(report_info_bug_type(&r), "slab-use-after-free");
	r.rows[2][2] = 0xfe;
	assert_string_equal(report_info_bug_type(&r), "slab-out-of-bounds");
	r.rows[2][1] = 0xf8;
	assert_string_equal(report_info_bug_type(&r), "vmalloc-out-of-bounds");
	/* the next granule lives in the following row */
	r.first_bad_addr = KADDR + 127;
	r.rows[2][15] = 0x07;
	r.rows[3][0] = 0xff;
	assert_string_equal(report_info_bug_type(&r), "use-after-free");
	r.first_bad_addr = KADDR + 4096; /* outside the dump */
	assert_string_equal(report_info_bug_type(&r), "unknown-crash");
	r.bug_type = "global-out-of-bounds"; /* the caller's type wins */
	assert_string_equal(report_info_bug_type(&r), "global-out-of-bounds");
	r.kind = REPORT_DOUBLE_FREE;
	assert_string_equal(report_info_bug_type(&r), "double-free");
	r.kind = REPORT_INVALID_FREE;
	assert_string_equal(report_info_bug_type(&r), "invalid-free");
	r.kind = REPORT_ASYNC;
	assert_string_equal(report_info_bug_type(&r), "invalid-access");
	r.kind = REPORT_ACCESS;
	r.bug_type = NULL;
	r.no_shadow = true;
	r.addr = 8;
	assert_string_equal(report_info_bug_type(&r), "null-ptr-deref");
	r.no_shadow = false;
	r.tags = true;
	assert_string_equal(report_info_bug_type(&r), "invalid-access");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_shadow_value),
	    cmocka_unit_test(test_wrap_and_wild),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_from_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
