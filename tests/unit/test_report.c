// SPDX-License-Identifier: MIT
/*
 * KASAN report text: golden reports per bug family, built line by line from
 * the format rules in ../shared/reference/kasan-report-format.md (Linux 6.6
 * mm/kasan/report.c wording). Single-rule checks are in
 * test_report_sections.c.
 */
#include "tests/unit/report_fixture.h"

static void expect(const struct report_info *r, const char *golden)
{
	char *got = fmt(r);

	if (strcmp(got, golden) != 0)
		fprintf(stderr, "--- expected\n%s--- got\n%s", golden, got);
	assert_string_equal(got, golden);
	free(got);
}

#define DUMP_STACK                                                                                 \
	"CPU: 1 PID: 123 Comm: insmod Not tainted 6.6.0 #1\n"                                      \
	"Hardware name: kasan-vmm\n"                                                               \
	"Call Trace:\n"                                                                            \
	" <TASK>\n"                                                                                \
	" kmalloc_oob_right+0x1a/0x40 [kasan_test]\n"                                              \
	" do_one_initcall+0x50/0x200\n"                                                            \
	" 0xffffffffa0001234\n"                                                                    \
	" </TASK>\n"

#define FC_ROW "fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc\n"

/* kmalloc(13) in kmalloc-16, read one byte past the end; a stale free track is ignored. */
static void test_slab_oob_right(void **state)
{
	struct report_info r;
	(void)state;

	base(&r, 0xffff888003a1c10d, 1, 0xffff888003a1c10d);
	r.rows[2][0] = 0x00;
	r.rows[2][1] = 0x05;
	r.has_object = true;
	r.obj_start = 0xffff888003a1c100;
	r.obj_size = 13;
	r.cache_name = "kmalloc-16";
	r.cache_object_size = 16;
	r.alloc = track(123, alloc_stack, 2);
	r.free = track(99, free_stack, 2);
	r.free.valid = false; /* the object was reallocated: its old free is stale */
	r.has_page = true;
	r.pfn = 0x3a1c;
	r.page_struct_addr = 0xffffea00000e8700;
	r.page_refcount = 1;
	r.page_flags = 0x200;
	r.page_flags_desc = "slab";
	expect(&r, EQ "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x1a/0x40 [kasan_test]\n"
		      "Read of size 1 at addr ffff888003a1c10d by task insmod/123\n"
		      "\n" DUMP_STACK "\n"
		      "Allocated by task 123:\n"
		      " __kmalloc+0x30/0x80\n"
		      " kmalloc_oob_right+0x10/0x40 [kasan_test]\n"
		      "\n"
		      "The buggy address belongs to the object at ffff888003a1c100\n"
		      " which belongs to the cache kmalloc-16 of size 16\n"
		      "The buggy address is located 0 bytes to the right of\n"
		      " allocated 13-byte region [ffff888003a1c100, ffff888003a1c10d)\n"
		      "\n"
		      "The buggy address belongs to the physical page:\n"
		      "page:ffffea00000e8700 refcount:1 mapcount:0 mapping:0000000000000000 "
		      "index:0x0 pfn:0x3a1c\n"
		      "flags: 0x200(slab)\n"
		      "page dumped because: kasan: bad access detected\n"
		      "\n"
		      "Memory state around the buggy address:\n"
		      " ffff888003a1c000: " FC_ROW " ffff888003a1c080: " FC_ROW
		      ">ffff888003a1c100: 00 05 fc fc fc fc fc fc fc fc fc fc fc fc fc fc\n"
		      "                      ^\n"
		      " ffff888003a1c180: " FC_ROW " ffff888003a1c200: " FC_ROW EQ);
}

/* kmalloc(32) freed (free track valid, aux stack from call_rcu), then read at +8. */
static void test_slab_uaf(void **state)
{
	struct report_info r;
	(void)state;

	base(&r, 0xffff888003a1c208, 8, 0xffff888003a1c208);
	r.frames = (const uint64_t[]){0xffffffffa0000100};
	r.nr_frames = 1;
	memset(r.rows[2], 0xfa, 4);
	r.has_object = true;
	r.obj_start = 0xffff888003a1c200;
	r.obj_size = 32;
	r.cache_name = "kmalloc-32";
	r.cache_object_size = 32;
	r.obj_freed = true;
	r.alloc = track(7, alloc_stack, 2);
	r.free = track(8, free_stack, 2);
	r.aux1 = track(0, aux_stack, 1);
	expect(&r, EQ "BUG: KASAN: slab-use-after-free in kmalloc_uaf+0x30/0x60 [kasan_test]\n"
		      "Read of size 8 at addr ffff888003a1c208 by task insmod/123\n"
		      "\n"
		      "CPU: 1 PID: 123 Comm: insmod Not tainted 6.6.0 #1\n"
		      "Hardware name: kasan-vmm\n"
		      "Call Trace:\n"
		      " <TASK>\n"
		      " kmalloc_uaf+0x30/0x60 [kasan_test]\n"
		      " </TASK>\n"
		      "\n"
		      "Allocated by task 7:\n"
		      " __kmalloc+0x30/0x80\n"
		      " kmalloc_oob_right+0x10/0x40 [kasan_test]\n"
		      "\n"
		      "Freed by task 8:\n"
		      " kfree+0x60/0x120\n"
		      " kmalloc_uaf+0x30/0x60 [kasan_test]\n"
		      "\n"
		      "Last potentially related work creation:\n"
		      " call_rcu+0x20/0x300\n"
		      "\n"
		      "The buggy address belongs to the object at ffff888003a1c200\n"
		      " which belongs to the cache kmalloc-32 of size 32\n"
		      "The buggy address is located 8 bytes inside of\n"
		      " freed 32-byte region [ffff888003a1c200, ffff888003a1c220)\n"
		      "\n"
		      "Memory state around the buggy address:\n"
		      " ffff888003a1c100: " FC_ROW " ffff888003a1c180: " FC_ROW
		      ">ffff888003a1c200: fa fa fa fa fc fc fc fc fc fc fc fc fc fc fc fc\n"
		      "                      ^\n"
		      " ffff888003a1c280: " FC_ROW " ffff888003a1c300: " FC_ROW EQ);
}

/* A freed page (no slab cache): page_owner stacks follow the page dump. */
static void test_page_uaf_with_owner(void **state)
{
	struct report_info r;
	(void)state;

	base(&r, 0xffff888004000010, 4, 0xffff888004000010);
	memset(r.rows, 0xff, sizeof(r.rows));
	r.has_page = true;
	r.pfn = 0x4000;
	r.page_struct_addr = 0xffffea0000100000;
	r.page_flags = 0xfff00000000000;
	r.page_flags_desc = "node=0|zone=1|lastcpupid=0x7ff";
	r.page_alloc = track(5, page_alloc_stack, 1);
	r.page_alloc.time = 1000;
	r.page_free = track(6, page_free_stack, 1);
	r.page_free.time = 2000;
	r.page_freed = true;
	r.alloc = track(5, alloc_stack, 2); /* no cache: Linux has no Allocated section here */
	expect(&r, EQ "BUG: KASAN: use-after-free in kmalloc_oob_right+0x1a/0x40 [kasan_test]\n"
		      "Read of size 4 at addr ffff888004000010 by task insmod/123\n"
		      "\n" DUMP_STACK "\n"
		      "The buggy address belongs to the physical page:\n"
		      "page:ffffea0000100000 refcount:0 mapcount:0 mapping:0000000000000000 "
		      "index:0x0 pfn:0x4000\n"
		      "flags: 0xfff00000000000(node=0|zone=1|lastcpupid=0x7ff)\n"
		      "page dumped because: kasan: bad access detected\n"
		      "page_owner tracks the page as freed\n"
		      "page last allocated via order 0, pid 5, ts 1000, free_ts 2000\n"
		      " __alloc_pages+0x1b0/0x300\n"
		      "page last free stack trace:\n"
		      " __free_pages+0x40/0x90\n"
		      "\n"
		      "Memory state around the buggy address:\n"
		      " ffff888003ffff00: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff\n"
		      " ffff888003ffff80: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff\n"
		      ">ffff888004000000: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff\n"
		      "                         ^\n"
		      " ffff888004000080: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff\n"
		      " ffff888004000100: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff\n" EQ);
}

static void free_report(struct report_info *r, enum report_kind kind, uint64_t ptr)
{
	base(r, ptr, 0, ptr);
	r->kind = kind;
	r->frames = free_stack;
	r->nr_frames = 2;
	memset(r->rows[2], 0xfb, 4);
	r->has_object = true;
	r->obj_start = 0xffff888003a1c200;
	r->obj_size = 32;
	r->cache_name = "kmalloc-32";
	r->cache_object_size = 32;
}

static void test_double_free(void **state)
{
	struct report_info r;
	(void)state;

	free_report(&r, REPORT_DOUBLE_FREE, 0xffff888003a1c200);
	r.obj_freed = true;
	r.alloc = track(7, alloc_stack, 2);
	r.free = track(8, free_stack, 2);
	expect(&r, EQ "BUG: KASAN: double-free in kfree+0x60/0x120\n"
		      "Free of addr ffff888003a1c200 by task insmod/123\n"
		      "\n"
		      "CPU: 1 PID: 123 Comm: insmod Not tainted 6.6.0 #1\n"
		      "Hardware name: kasan-vmm\n"
		      "Call Trace:\n"
		      " <TASK>\n"
		      " kfree+0x60/0x120\n"
		      " kmalloc_uaf+0x30/0x60 [kasan_test]\n"
		      " </TASK>\n"
		      "\n"
		      "Allocated by task 7:\n"
		      " __kmalloc+0x30/0x80\n"
		      " kmalloc_oob_right+0x10/0x40 [kasan_test]\n"
		      "\n"
		      "Freed by task 8:\n"
		      " kfree+0x60/0x120\n"
		      " kmalloc_uaf+0x30/0x60 [kasan_test]\n"
		      "\n"
		      "The buggy address belongs to the object at ffff888003a1c200\n"
		      " which belongs to the cache kmalloc-32 of size 32\n"
		      "The buggy address is located 0 bytes inside of\n"
		      " 32-byte region [ffff888003a1c200, ffff888003a1c220)\n"
		      "\n"
		      "Memory state around the buggy address:\n"
		      " ffff888003a1c100: " FC_ROW " ffff888003a1c180: " FC_ROW
		      ">ffff888003a1c200: fb fb fb fb fc fc fc fc fc fc fc fc fc fc fc fc\n"
		      "                   ^\n"
		      " ffff888003a1c280: " FC_ROW " ffff888003a1c300: " FC_ROW EQ);
}

/* Only the lines that differ from the double-free layout are checked here. */
static void test_invalid_free(void **state)
{
	struct report_info r;
	char *got;
	(void)state;

	free_report(&r, REPORT_INVALID_FREE, 0xffff888003a1c204);
	r.first_bad_addr = 0xffff888003a1c204;
	r.alloc = track(7, alloc_stack, 2);
	got = fmt(&r);
	assert_non_null(strstr(got, EQ "BUG: KASAN: invalid-free in kfree+0x60/0x120\n"
				       "Free of addr ffff888003a1c204 by task insmod/123\n\n"));
	assert_non_null(strstr(got, "The buggy address is located 4 bytes inside of\n"
				    " 32-byte region [ffff888003a1c200, ffff888003a1c220)\n\n"));
	assert_null(strstr(got, "Freed by task")); /* a live object has no free track */
	free(got);
}

/* vmalloc: the mapping line has no blank after it; no physical page here. */
static void test_vmalloc_oob(void **state)
{
	struct report_info r;
	char *got;
	(void)state;

	base(&r, 0xffffc90000015000, 1, 0xffffc90000015000);
	memset(r.rows, 0xf8, sizeof(r.rows));
	r.frames = (const uint64_t[]){0xffffffff81600000};
	r.nr_frames = 1;
	r.is_vmalloc = true;
	got = fmt(&r);
	assert_non_null(
	    strstr(got, "BUG: KASAN: vmalloc-out-of-bounds in vmalloc_oob+0x44/0x90\n"));
	assert_non_null(strstr(got,
			       " </TASK>\n\n"
			       "The buggy address ffffc90000015000 belongs to a vmalloc virtual "
			       "mapping\n"
			       "Memory state around the buggy address:\n"
			       " ffffc90000014f00: f8"));
	assert_null(strstr(got, "physical page"));
	free(got);
}

/* Tag mode: tag line, 256-byte rows of 16-byte granules, no region adjective. */
static void test_tags(void **state)
{
	struct report_info r;
	char *got;
	(void)state;

	base(&r, 0xffff888003a1c230, 8, 0xffff888003a1c230);
	r.tags = true;
	r.bug_type = report_bug_type_tags(REPORT_RING_FREE, r.addr, 8);
	r.ptr_tag = 0xf3;
	r.mem_tag = 0xfe;
	r.row_addr = 0xffff888003a1c200 - 512;
	memset(r.rows, 0xfe, sizeof(r.rows));
	r.has_object = true;
	r.obj_start = 0xffff888003a1c200;
	r.obj_size = 64;
	r.cache_name = "kmalloc-64";
	r.cache_object_size = 64;
	r.free = track(8, free_stack, 2); /* from the ring: printed without obj_freed */
	got = fmt(&r);
	assert_non_null(strstr(got, "BUG: KASAN: slab-use-after-free in kmalloc_oob_right"));
	assert_non_null(strstr(got, "Read of size 8 at addr ffff888003a1c230 by task insmod/123\n"
				    "Pointer tag: [f3], memory tag: [fe]\n\n"));
	assert_non_null(strstr(got, "Freed by task 8:\n"));
	assert_non_null(strstr(got, "located 48 bytes inside of\n 64-byte region"));
	assert_non_null(strstr(got, " ffff888003a1c000: fe"));
	assert_non_null(strstr(got, " ffff888003a1c100: fe"));
	/* (0x230 - 0x200) / 16 = granule 3: caret at column 20 + 9 */
	assert_non_null(strstr(got, ">ffff888003a1c200: fe fe fe fe fe fe fe fe fe fe fe fe fe fe "
				    "fe fe\n                            ^\n"
				    " ffff888003a1c300: fe"));
	free(got);
}

static void test_async(void **state)
{
	struct report_info r;
	(void)state;

	base(&r, 0, 0, 0);
	r.kind = REPORT_ASYNC;
	r.tags = true;
	expect(&r, EQ "BUG: KASAN: invalid-access\n"
		      "Asynchronous fault: no details available\n"
		      "\n" DUMP_STACK EQ);
}

/* No shadow for the address: Linux prints only the dump_stack block. */
static void test_null_deref(void **state)
{
	struct report_info r;
	(void)state;

	base(&r, 0x10, 8, 0x10);
	r.no_shadow = true;
	r.is_write = true;
	r.taint = "G    B             ";
	expect(&r, EQ "BUG: KASAN: null-ptr-deref in kmalloc_oob_right+0x1a/0x40 [kasan_test]\n"
		      "Write of size 8 at addr 0000000000000010 by task insmod/123\n"
		      "\n"
		      "CPU: 1 PID: 123 Comm: insmod Tainted: G    B              6.6.0 #1\n"
		      "Hardware name: kasan-vmm\n"
		      "Call Trace:\n"
		      " <TASK>\n"
		      " kmalloc_oob_right+0x1a/0x40 [kasan_test]\n"
		      " do_one_initcall+0x50/0x200\n"
		      " 0xffffffffa0001234\n"
		      " </TASK>\n" EQ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slab_oob_right),
	    cmocka_unit_test(test_slab_uaf),
	    cmocka_unit_test(test_page_uaf_with_owner),
	    cmocka_unit_test(test_double_free),
	    cmocka_unit_test(test_invalid_free),
	    cmocka_unit_test(test_vmalloc_oob),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_async),
	    cmocka_unit_test(test_null_deref),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
