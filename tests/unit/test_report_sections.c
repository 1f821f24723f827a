// SPDX-License-Identifier: MIT
/*
 * KASAN report sections checked one rule at a time: region wording and its
 * allocated/freed adjectives, free-track validity, caret columns, and input
 * handling (zero size, hostile comm, truncation, bad input).
 */
#include "tests/unit/report_fixture.h"

/* The region line for an access at addr with the given type (generic unless tags). */
static char *region_lines(uint64_t addr, const char *type, bool tags)
{
	struct report_info r;
	char *got, *p, *out;

	base(&r, addr, 1, addr);
	r.bug_type = type;
	r.tags = tags;
	r.has_object = true;
	r.obj_start = 0xffff888003a1c100;
	r.obj_size = 20;
	r.cache_name = "kmalloc-32";
	r.cache_object_size = 32;
	got = fmt(&r);
	p = strstr(got, "The buggy address is located");
	assert_non_null(p);
	*strstr(strchr(p, '\n') + 1, "\n") = '\0';
	out = strdup(p);
	free(got);
	return out;
}

static void check_region(uint64_t addr, const char *type, bool tags, const char *want)
{
	char *got = region_lines(addr, type, tags);

	assert_string_equal(got, want);
	free(got);
}

static void test_region_wording(void **state)
{
	(void)state;
	check_region(0xffff888003a1c114, "slab-out-of-bounds", false,
		     "The buggy address is located 0 bytes to the right of\n"
		     " allocated 20-byte region [ffff888003a1c100, ffff888003a1c114)");
	check_region(0xffff888003a1c0f8, "slab-out-of-bounds", false,
		     "The buggy address is located 8 bytes to the left of\n"
		     " allocated 20-byte region [ffff888003a1c100, ffff888003a1c114)");
	check_region(0xffff888003a1c105, "slab-use-after-free", false,
		     "The buggy address is located 5 bytes inside of\n"
		     " freed 20-byte region [ffff888003a1c100, ffff888003a1c114)");
	/* past the requested size but inside the cache slot: still "to the right" */
	check_region(0xffff888003a1c11c, "slab-out-of-bounds", false,
		     "The buggy address is located 8 bytes to the right of\n"
		     " allocated 20-byte region [ffff888003a1c100, ffff888003a1c114)");
	check_region(0xffff888003a1c114, "slab-out-of-bounds", true,
		     "The buggy address is located 0 bytes to the right of\n"
		     " 20-byte region [ffff888003a1c100, ffff888003a1c114)");
	check_region(0xffff888003a1c105, "out-of-bounds", false,
		     "The buggy address is located 5 bytes inside of\n"
		     " 20-byte region [ffff888003a1c100, ffff888003a1c114)");
}

/* Generic mode never prints a free stack for a live object, even one marked valid. */
static void test_free_track_validity(void **state)
{
	struct report_info r;
	char *got;
	(void)state;

	base(&r, 0xffff888003a1c10d, 1, 0xffff888003a1c10d);
	r.has_object = true;
	r.obj_start = 0xffff888003a1c100;
	r.obj_size = 13;
	r.cache_name = "kmalloc-16";
	r.cache_object_size = 16;
	r.free = track(9, free_stack, 2);
	got = fmt(&r);
	assert_null(strstr(got, "Freed by task"));
	free(got);

	r.obj_freed = true;
	r.free.nr_frames = 0; /* freed, but the stack was not captured */
	got = fmt(&r);
	assert_non_null(strstr(got, "\nFreed by task 9:\n(stack is not available)\n\n"));
	free(got);

	r.free.present = false;
	got = fmt(&r);
	assert_null(strstr(got, "Freed by task"));
	free(got);
}

/* The caret line after the buggy row: "^" at column 20 + 3 * granule index. */
static void check_caret(bool tags, uint64_t off)
{
	struct report_info r;
	uint64_t row = 0xffff888003a1c100, gran = tags ? 16 : 8;
	char want[128], *got, *p;
	int spaces = 19 + 3 * (int)(off / gran);

	base(&r, row + off, 1, row + off);
	r.tags = tags;
	if (tags)
		r.row_addr = row - 512;
	memset(want, ' ', (size_t)spaces);
	snprintf(want + spaces, sizeof(want) - (size_t)spaces, "^\n");
	got = fmt(&r);
	p = strstr(got, ">ffff888003a1c100: ");
	assert_non_null(p);
	p = strchr(p, '\n') + 1;
	assert_memory_equal(p, want, strlen(want));
	assert_null(strstr(p + strlen(want), "^")); /* one caret only */
	free(got);
}

static void test_caret_columns(void **state)
{
	(void)state;
	check_caret(false, 0);
	check_caret(false, 5);	 /* partial granule: still granule 0 */
	check_caret(false, 13);	 /* granule 1 */
	check_caret(false, 64);	 /* granule 8 */
	check_caret(false, 127); /* last granule of the row */
	check_caret(true, 0);
	check_caret(true, 0x31); /* granule 3 with 16-byte granules */
	check_caret(true, 0xff);
}

/* Zero size, writes, hostile comm, unknown header frame, truncation, bad input. */
static void test_lines_and_input(void **state)
{
	struct report_info r;
	char small[40], *got;
	int n;
	(void)state;

	base(&r, 0xffff888003a1c10d, 0, 0xffff888003a1c10d);
	r.is_write = true;
	strcpy(r.comm, "ev\nil\x1b");
	r.frames = (const uint64_t[]){0xffffffffa0009999};
	r.nr_frames = 1;
	got = fmt(&r);
	assert_non_null(strstr(got, "BUG: KASAN: slab-out-of-bounds in 0xffffffffa0009999\n"
				    "Write at addr ffff888003a1c10d by task ev?il?/123\n"));
	assert_non_null(strstr(got, "Comm: ev?il? Not tainted"));
	n = (int)strlen(got);
	free(got);

	assert_int_equal(report_format(&r, sym, NULL, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, EQ, sizeof(small) - 1);

	r.nr_frames = 2;
	r.frames = NULL;
	assert_int_equal(report_format(&r, sym, NULL, small, sizeof(small)), -1);
	assert_int_equal(report_format(NULL, sym, NULL, small, sizeof(small)), -1);
	base(&r, 1, 1, 1);
	r.kind = 0;
	assert_int_equal(report_format(&r, sym, NULL, small, sizeof(small)), -1);
	base(&r, 1, 1, 1);
	r.alloc = track(1, NULL, 3);
	assert_int_equal(report_format(&r, sym, NULL, small, sizeof(small)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_region_wording),
	    cmocka_unit_test(test_free_track_validity),
	    cmocka_unit_test(test_caret_columns),
	    cmocka_unit_test(test_lines_and_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
