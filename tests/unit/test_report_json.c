// SPDX-License-Identifier: MIT
/* The JSON sidecar line: exact object for a report, escaping of hostile guest strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/report.h"

static bool sym(void *ctx, uint64_t addr, char *buf, size_t len)
{
	(void)ctx;
	if (addr == 0xffffffff81000010) {
		snprintf(buf, len, "foo+0x10/0x20 [m\"od]");
		return true;
	}
	return false;
}

static const uint64_t stack[] = {0xffffffff81000010, 0xffffffffa0001234};

static void base(struct report_info *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = REPORT_ACCESS;
	r->bug_type = "slab-use-after-free";
	r->addr = 0xffff888003a1c208;
	r->access_size = 8;
	r->pid = 42;
	r->cpu = 3;
	strcpy(r->comm, "sh");
	r->frames = stack;
	r->nr_frames = 2;
	r->has_object = true;
	r->cache_name = "kmalloc-32";
	r->obj_freed = true;
	r->alloc = (struct report_track){.present = true,
					 .valid = true,
					 .pid = 7,
					 .cpu = 1,
					 .time = 100,
					 .nr_frames = 1,
					 .frames = stack};
	r->free = (struct report_track){
	    .present = true, .valid = true, .pid = 8, .cpu = 2, .time = 200, .nr_frames = 0};
}

static void test_object(void **state)
{
	struct report_info r;
	char buf[1024];
	const char *want =
	    "{\"title\":\"KASAN: slab-use-after-free Read in foo\","
	    "\"bug_type\":\"slab-use-after-free\",\"access\":\"read\",\"size\":8,"
	    "\"addr\":\"0xffff888003a1c208\",\"task\":{\"pid\":42,\"comm\":\"sh\"},\"cpu\":3,"
	    "\"frames\":[\"foo+0x10/0x20 [m\\\"od]\",\"0xffffffffa0001234\"],"
	    "\"cache\":\"kmalloc-32\","
	    "\"alloc\":{\"pid\":7,\"cpu\":1,\"time\":100,\"frames\":[\"foo+0x10/0x20 [m\\\"od]\"]},"
	    "\"free\":{\"pid\":8,\"cpu\":2,\"time\":200,\"frames\":[]}}";
	(void)state;

	base(&r);
	assert_int_equal(
	    report_json(&r, "KASAN: slab-use-after-free Read in foo", sym, NULL, buf, sizeof(buf)),
	    (int)strlen(want));
	assert_string_equal(buf, want);

	/* a live object's stale free track is not reported; frees say "free" */
	r.obj_freed = false;
	r.kind = REPORT_INVALID_FREE;
	assert_true(report_json(&r, NULL, sym, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "{\"title\":null,\"bug_type\":\"invalid-free\",\"access\":"
				    "\"free\","));
	assert_non_null(strstr(buf, ",\"free\":null}"));
	assert_int_equal(report_json(NULL, NULL, sym, NULL, buf, sizeof(buf)), -1);
}

static void test_escaping(void **state)
{
	struct report_info r;
	char buf[1024];
	(void)state;

	base(&r);
	/* quote, backslash, newline, control, DEL, invalid byte, then valid 2-byte UTF-8 */
	memcpy(r.comm, "a\"b\\c\n\x01\x7f\xff\xc3\xa9", 12);
	r.comm[12] = '\0';
	assert_true(report_json(&r, "t", sym, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"comm\":\"a\\\"b\\\\c\\n\\u0001\\u007f\\ufffd\xc3\xa9\"}"));

	/* overlong '/', a lone surrogate, truncated sequence at the end */
	memcpy(r.comm, "\xc0\xaf\xed\xa0\x80x\xe2\x82", 9);
	r.comm[9] = '\0';
	assert_true(report_json(&r, "t", sym, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(
	    strstr(buf, "\"comm\":\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffdx\\ufffd\\ufffd\""));

	/* comm is a fixed array: a missing NUL stops at SHADOW_COMM_LEN */
	memset(r.comm, 'z', sizeof(r.comm));
	assert_true(report_json(&r, "t", sym, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"comm\":\"zzzzzzzzzzzzzzzz\"}"));

	/* snprintf convention when the buffer is short */
	int need = report_json(&r, "t", sym, NULL, NULL, 0);
	assert_true(need > 16);
	assert_int_equal(report_json(&r, "t", sym, NULL, buf, 16), need);
	assert_int_equal(strlen(buf), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_object),
	    cmocka_unit_test(test_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
