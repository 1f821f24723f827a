// SPDX-License-Identifier: MIT
/*
 * KASAN report sections checked one rule at a time: region wording and its
 * allocated/freed adjectives, free-track validity, caret columns, and input
 * handling (zero size, hostile comm, truncation, bad input).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/report.h"

#define EQ "==================================================================\n"

static const struct {
	uint64_t addr;
	const char *name;
} syms[] = {
    {0xffffffffa0000010, "kmalloc_oob_right+0x1a/0x40 [kasan_test]"},
    {0xffffffffa0000008, "kmalloc_oob_right+0x10/0x40 [kasan_test]"},
    {0xffffffffa0000100, "kmalloc_uaf+0x30/0x60 [kasan_test]"},
    {0xffffffff81100050, "do_one_initcall+0x50/0x200"},
    {0xffffffff81300030, "__kmalloc+0x30/0x80"},
    {0xffffffff81300100, "kfree+0x60/0x120"},
    {0xffffffff81400000, "call_rcu+0x20/0x300"},
    {0xffffffff81500000, "__alloc_pages+0x1b0/0x300"},
    {0xffffffff81500100, "__free_pages+0x40/0x90"},
    {0xffffffff81600000, "vmalloc_oob+0x44/0x90"},
};

static bool sym(void *ctx, uint64_t addr, char *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if (syms[i].addr == addr) {
			snprintf(buf, len, "%s", syms[i].name);
			return true;
		}
	}
	return false;
}

static const uint64_t access_stack[] = {0xffffffffa0000010, 0xffffffff81100050, 0xffffffffa0001234};
static const uint64_t free_stack[] = {0xffffffff81300100, 0xffffffffa0000100};

static struct report_track track(uint32_t pid, const uint64_t *f, uint32_t n)
{
	return (struct report_track){
	    .valid = true, .present = true, .pid = pid, .frames = f, .nr_frames = n};
}

/* A generic-mode access report; rows start 2 rows (256 bytes) above first_bad's row. */
static void base(struct report_info *r, uint64_t addr, uint64_t size, uint64_t first_bad)
{
	memset(r, 0, sizeof(*r));
	r->kind = REPORT_ACCESS;
	r->addr = addr;
	r->access_size = size;
	r->first_bad_addr = first_bad;
	r->cpu = 1;
	r->pid = 123;
	strcpy(r->comm, "insmod");
	r->kernel_release = "6.6.0";
	r->hardware_name = "kasan-vmm";
	r->frames = access_stack;
	r->nr_frames = 3;
	r->row_addr = (first_bad & ~127ull) - 256;
	memset(r->rows, 0xfc, sizeof(r->rows));
}

static char *fmt(const struct report_info *r)
{
	int n = report_format(r, sym, NULL, NULL, 0);
	char *buf;

	assert_true(n > 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(report_format(r, sym, NULL, buf, (size_t)n + 1), n);
	assert_int_equal(strlen(buf), n);
	return buf;
}

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
