// SPDX-License-Identifier: MIT
/* Frame-pointer unwinding over hostile stacks, and the append-only report log. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <cmocka.h>

#include "vmm/hostlog.h"
#include "vmm/unwind.h"

#define RAM (1u << 20)

static void put(struct guest_ram *ram, uint64_t gpa, uint64_t v)
{
	memcpy(ram->alias + gpa, &v, 8);
}

static void test_unwind_chain(void **state)
{
	struct guest_ram ram = {.alias = calloc(1, RAM), .size = RAM};
	struct mmu_state st = {.cr0 = 0x11}; /* paging off: addresses are physical */
	uint64_t frames[8];

	(void)state;
	/* three frames: 0x8000 -> 0x8100 -> 0x8200 -> end (saved rbp 0) */
	put(&ram, 0x8000, 0x8100);
	put(&ram, 0x8008, 0x101111);
	put(&ram, 0x8100, 0x8200);
	put(&ram, 0x8108, 0x102222);
	put(&ram, 0x8200, 0);
	put(&ram, 0x8208, 0x103333);
	assert_int_equal(unwind_frame_pointers(&ram, &st, 0x100000, 0x8000, frames, 8), 4);
	assert_int_equal(frames[0], 0x100000);
	assert_int_equal(frames[1], 0x101111);
	assert_int_equal(frames[2], 0x102222);
	assert_int_equal(frames[3], 0x103333);
	/* the cap is honoured */
	assert_int_equal(unwind_frame_pointers(&ram, &st, 0x100000, 0x8000, frames, 2), 2);
	free(ram.alias);
}

static void test_unwind_hostile(void **state)
{
	struct guest_ram ram = {.alias = calloc(1, RAM), .size = RAM};
	struct mmu_state st = {.cr0 = 0x11};
	uint64_t frames[UNWIND_MAX_FRAMES];

	(void)state;
	/* a loop: the frame points at itself */
	put(&ram, 0x8000, 0x8000);
	put(&ram, 0x8008, 0x101111);
	assert_int_equal(unwind_frame_pointers(&ram, &st, 0x100000, 0x8000, frames, 64), 2);
	/* rbp outside RAM */
	assert_int_equal(unwind_frame_pointers(&ram, &st, 0x100000, 0x7fff0000, frames, 64), 1);
	/* rbp at the very end of RAM: the pair would cross it */
	assert_int_equal(unwind_frame_pointers(&ram, &st, 0x100000, RAM - 8, frames, 64), 1);
	/* a user-space return address ends the trace */
	put(&ram, 0x9000, 0x9100);
	put(&ram, 0x9008, 0x00007f0000001000ull);
	assert_int_equal(unwind_frame_pointers(&ram, &st, 0x100000, 0x9000, frames, 64), 1);
	free(ram.alias);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_true(fread(buf, 1, 65535, f) > 0);
	fclose(f);
	return buf;
}

static void put_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	fclose(f);
}

/*
 * Two runs append one report each to files holding `old_text` / `old_json`
 * (NULL: no file yet); the files must end up as `want_text` / `want_json`.
 */
static void check_two_runs(const char *old_text, const char *old_json, const char *want_text,
			   const char *want_json)
{
	char dir[] = "/tmp/kv-log-XXXXXX", path[256], json[300];
	struct hostlog *log;
	char *text, *lines;
	int saved = dup(2);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kasan.log", dir);
	snprintf(json, sizeof(json), "%s.jsonl", path);
	if (old_text)
		put_file(path, old_text), put_file(json, old_json);
	freopen("/dev/null", "w", stderr); /* reports are echoed to stderr too */
	assert_int_equal(hostlog_open(&log, path), 0);
	assert_int_equal(hostlog_write_report(log, "REPORT ONE\n", "{\"n\":1}"), 0);
	hostlog_close(log);
	assert_int_equal(hostlog_open(&log, path), 0);
	assert_int_equal(hostlog_write_report(log, "REPORT TWO", "{\"n\":2}"), 0);
	hostlog_close(log);
	dup2(saved, 2);
	text = slurp(path);
	lines = slurp(json);
	assert_string_equal(text, want_text);
	assert_string_equal(lines, want_json);
	free(text);
	free(lines);
	unlink(json);
	unlink(path);
	rmdir(dir);
}

/* A second run appends instead of truncating; an intact file gets no extra newline. */
static void test_hostlog_appends_both_files(void **state)
{
	(void)state;
	check_two_runs(NULL, NULL, "REPORT ONE\nREPORT TWO\n", "{\"n\":1}\n{\"n\":2}\n");
}

/* A killed run left both files cut mid-line: the next run's records start on their own lines. */
static void test_hostlog_ends_a_cut_line(void **state)
{
	(void)state;
	check_two_runs("OLD\n==== cut",
		       "{\"n\":0}\n{\"n\":", "OLD\n==== cut\nREPORT ONE\nREPORT TWO\n",
		       "{\"n\":0}\n{\"n\":\n{\"n\":1}\n{\"n\":2}\n");
}

static void test_hostlog_bad_path(void **state)
{
	struct hostlog *log = NULL;
	int saved = dup(2);

	(void)state;
	freopen("/dev/null", "w", stderr);
	assert_int_equal(hostlog_open(&log, "/nonexistent/dir/kasan.log"), -ENOENT);
	dup2(saved, 2);
	assert_null(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unwind_chain),
	    cmocka_unit_test(test_unwind_hostile),
	    cmocka_unit_test(test_hostlog_appends_both_files),
	    cmocka_unit_test(test_hostlog_ends_a_cut_line),
	    cmocka_unit_test(test_hostlog_bad_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
