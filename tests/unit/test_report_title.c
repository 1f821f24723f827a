// SPDX-License-Identifier: MIT
/*
 * syzkaller titles from report text (pkg/report/linux.go rules: KASAN formats,
 * header frame then Call Trace, skip patterns, syscall prefixes, ADDR), and
 * the log summary's dedup counts.
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

static void check(const char *text, const char *want)
{
	char t[256];
	int n = report_title(text, t, sizeof(t));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(t, want);
}

/* A report: header function, access line, then the given Call Trace frames. */
static char *report(const char *type, const char *func, const char *access, const char *frames)
{
	char *s;

	assert_true(asprintf(&s,
			     "BUG: KASAN: %s in %s\n%s\n\nCPU: 0 PID: 1 Comm: a Not tainted 6.6.0 "
			     "#1\nCall Trace:\n <TASK>\n%s </TASK>\n\nAllocated by task 1:\n "
			     "alloc_here+0x1/0x2\n\nMemory state around the buggy address:\n"
			     ">ffff888003a1c100: 00 05 fc fc fc fc fc fc fc fc fc fc fc fc fc fc\n",
			     type, func, access, frames) > 0);
	return s;
}

static void check_report(const char *type, const char *func, const char *access, const char *frames,
			 const char *want)
{
	char *s = report(type, func, access, frames);

	check(s, want);
	free(s);
}

#define READ1 "Read of size 1 at addr ffff888003a1c10d by task a/1"

static void test_access_titles(void **state)
{
	(void)state;
	check_report("slab-out-of-bounds", "oob_right+0x1a/0x40 [kasan_test]", READ1,
		     " oob_right+0x1a/0x40 [kasan_test]\n",
		     "KASAN: slab-out-of-bounds Read in oob_right");
	/* syzkaller's unanchored k?v?(m|z|c)alloc skips any name containing "malloc" */
	check_report("slab-out-of-bounds", "kmalloc_oob_right+0x1a/0x40 [kasan_test]", READ1,
		     " kmalloc_oob_right+0x1a/0x40 [kasan_test]\n kunit_try_run_case+0x1/0x2\n",
		     "KASAN: slab-out-of-bounds Read in kunit_try_run_case");
	check_report("use-after-free", "foo+0x1/0x2", "Write of size 8 at addr ffff888003a1c10d",
		     " foo+0x1/0x2\n", "KASAN: use-after-free Write in foo");
	check_report("slab-out-of-bounds", "foo+0x1/0x2", "Write at addr ffff888003a1c10d by",
		     " foo+0x1/0x2\n", "KASAN: slab-out-of-bounds Write in foo");
	/* .isra/.constprop suffixes end the name like '+' does */
	check_report("out-of-bounds", "bar.isra.0+0x1/0x2", READ1, " bar.isra.0+0x1/0x2\n",
		     "KASAN: out-of-bounds Read in bar");
}

static void test_skip_list(void **state)
{
	(void)state;
	/* header in memcpy: the first Call Trace frame past kasan/memcpy/kmalloc wins */
	check_report("slab-out-of-bounds", "memcpy+0x1/0x2", READ1,
		     " dump_stack_lvl+0x1/0x2\n kasan_report+0x1/0x2\n __asan_memcpy+0x1/0x2\n"
		     " memcpy+0x1/0x2\n __kmalloc_node+0x1/0x2\n kmem_cache_alloc+0x1/0x2\n"
		     " my_driver_ioctl+0x1/0x2 [mydrv]\n",
		     "KASAN: slab-out-of-bounds Read in my_driver_ioctl");
	/* anchored patterns: ^down$ skips "down" only, ^kv?free$ not kvfree_rcu_x */
	check_report("slab-out-of-bounds", "down+0x1/0x2", READ1,
		     " down+0x1/0x2\n shutdown_sock+0x1/0x2\n",
		     "KASAN: slab-out-of-bounds Read in shutdown_sock");
	check_report("use-after-free", "kvfree+0x1/0x2", READ1,
		     " kvfree+0x1/0x2\n kvfree_rcu_x+0x1/0x2\n",
		     "KASAN: use-after-free Read in kvfree_rcu_x");
	/* syscall prefixes are stripped in syzkaller's order */
	check_report("use-after-free", "__do_sys_foo+0x1/0x2", READ1, "",
		     "KASAN: use-after-free Read in foo");
	check_report("use-after-free", "strlen+0x1/0x2", READ1,
		     " strlen+0x1/0x2\n __x64_sys_open+0x1/0x2\n",
		     "KASAN: use-after-free Read in sys_open");
	/* unsymbolized and "? " frames are not frames; nothing left: corrupted */
	check_report("use-after-free", "kasan_check+0x1/0x2", READ1,
		     " 0xffffffffa0001234\n ? real_func+0x1/0x2\n",
		     "KASAN: use-after-free Read in corrupted");
	/* the stack ends at the next stack's header */
	check_report("use-after-free", "memset+0x1/0x2", READ1, " memset+0x1/0x2\n",
		     "KASAN: use-after-free Read in corrupted");
}

static void test_free_titles(void **state)
{
	(void)state;
	/* syzkaller titles double and invalid frees alike; kfree and slab_ are skipped */
	check_report("double-free", "kfree+0x60/0x120", "Free of addr ffff888003a1c200 by task a/1",
		     " kfree+0x60/0x120\n slab_free_hook+0x1/0x2\n my_release+0x1/0x2 [m]\n",
		     "KASAN: invalid-free in my_release");
	check_report("invalid-free", "my_put+0x1/0x2", "Free of addr ffff888003a1c204 by task a/1",
		     " my_put+0x1/0x2\n", "KASAN: invalid-free in my_put");
	check("BUG: KASAN: double-free or invalid-free in x_free+0x1/0x2\n\nCall Trace:\n"
	      " x_free+0x1/0x2\n",
	      "KASAN: invalid-free in x_free");
}

static void test_other_formats(void **state)
{
	(void)state;
	check(EQ "BUG: KASAN: invalid-access\nAsynchronous fault: no details available\n\n"
		 "Call Trace:\n <TASK>\n foo+0x1/0x2\n </TASK>\n" EQ,
	      "KASAN: invalid-access");
	/* unsymbolized header: the catch-all format, the address turned into ADDR */
	check("BUG: KASAN: slab-out-of-bounds in 0xffffffffa0001234\n" READ1 "\n",
	      "KASAN: slab-out-of-bounds in ADDR");
	/* an access header without a Read/Write line is not the access format */
	check("BUG: KASAN: use-after-free in foo+0x1/0x2\n\nCall Trace:\n foo+0x1/0x2\n",
	      "KASAN: use-after-free in foo+0x1/0x2");
	check("BUG: KASAN: stack-out-of-bounds on address ffffffff\nRead of size 4 by\n",
	      "KASAN: stack-out-of-bounds Read");
	/* console timestamps and caller ids are stripped before parsing */
	check("[   12.345678][  T123] BUG: KASAN: use-after-free in foo+0x1/0x2\n"
	      "[   12.345679][  T123] Read of size 4 at addr ffff888003a1c10d\n"
	      "[   12.345680][  T123] Call Trace:\n"
	      "[   12.345681][  T123]  kasan_report+0x1/0x2\n",
	      "KASAN: use-after-free Read in foo");
}

static void test_no_header(void **state)
{
	char t[16] = "x";
	(void)state;

	assert_int_equal(report_title("BUG: unable to handle page fault\n", t, sizeof(t)), -1);
	assert_int_equal(report_title("", t, sizeof(t)), -1);
	assert_int_equal(report_title(NULL, t, sizeof(t)), -1);
	/* snprintf convention: the needed length, truncated output */
	assert_int_equal(report_title("BUG: KASAN: invalid-access\n", t, 8), 21);
	assert_string_equal(t, "KASAN: ");
}

static char *summarize(const char *log, int *reports)
{
	FILE *in = fmemopen((void *)log, strlen(log), "r");
	char *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);

	assert_non_null(in);
	assert_non_null(o);
	*reports = report_summarize(in, o);
	fclose(in);
	fclose(o);
	return out;
}

#define R(type, func) EQ "BUG: KASAN: " type " in " func "+0x1/0x2\n" READ1 "\n" EQ

static void test_summary(void **state)
{
	int n;
	char *out;
	(void)state;

	out = summarize(
	    "boot noise\n" R("slab-out-of-bounds", "b") "between\n" R("use-after-free", "a")
		R("use-after-free", "c") R("use-after-free", "a") R("use-after-free", "c")
		    R("use-after-free", "a") R("slab-out-of-bounds", "d"),
	    &n);
	assert_int_equal(n, 7);
	/* counts descending, ties in order of first appearance */
	assert_string_equal(out, "3 KASAN: use-after-free Read in a\n"
				 "2 KASAN: use-after-free Read in c\n"
				 "1 KASAN: slab-out-of-bounds Read in b\n"
				 "1 KASAN: slab-out-of-bounds Read in d\n");
	free(out);

	/* a report cut short (no closing line) still counts, and so does the next one */
	out =
	    summarize(EQ "BUG: KASAN: use-after-free in a+0x1/0x2\n" READ1
			 "\n" R("use-after-free", "a") "junk\n" EQ "BUG: KASAN: use-after-free in "
						       "e+0x1/0x2\n" READ1 "\n",
		      &n);
	assert_int_equal(n, 3);
	assert_string_equal(out, "2 KASAN: use-after-free Read in a\n"
				 "1 KASAN: use-after-free Read in e\n");
	free(out);

	out = summarize("no reports here\n" EQ "not kasan\n" EQ, &n);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_access_titles), cmocka_unit_test(test_skip_list),
	    cmocka_unit_test(test_free_titles),	  cmocka_unit_test(test_other_formats),
	    cmocka_unit_test(test_no_header),	  cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
