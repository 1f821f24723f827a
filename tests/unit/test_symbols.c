// SPDX-License-Identifier: MIT
/* Symbolization in the kernel's %pS format, from ELF and System.map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/exempt.h"
#include "vmm/symbols.h"

static void test_system_map(void **state)
{
	char path[] = "/tmp/kv-sysmap-XXXXXX", buf[128];
	struct symbols *s;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	uint64_t size;

	(void)state;
	fputs("ffffffff81000000 T _text\n"
	      "ffffffff81000100 T kmalloc_oob_right\n"
	      "ffffffff81000180 t helper\n"
	      "ffffffff81000200 D some_data\n"
	      "ffffffff81000300 T last_func\n"
	      "garbage line\n",
	      f);
	fclose(f);
	assert_int_equal(symbols_load_system_map(&s, path), 0);
	unlink(path);
	assert_int_equal(symbols_count(s), 4); /* data symbol ignored */
	assert_true(symbols_lookup(s, 0xffffffff81000123, buf, sizeof(buf)));
	assert_string_equal(buf, "kmalloc_oob_right+0x23/0x80");
	assert_true(symbols_lookup(s, 0xffffffff81000180, buf, sizeof(buf)));
	assert_string_equal(buf, "helper+0x0/0x180");
	assert_false(symbols_lookup(s, 0xffffffff80000000, buf, sizeof(buf)));
	/* KASLR: the guest runs 0x1000000 higher than the map says */
	symbols_set_offset(s, 0x1000000);
	assert_true(symbols_lookup(s, 0xffffffff82000105, buf, sizeof(buf)));
	assert_string_equal(buf, "kmalloc_oob_right+0x5/0x80");
	assert_int_equal(symbols_find(s, "helper", &size), 0xffffffff82000180);
	assert_int_equal(size, 0x180);
	assert_int_equal(symbols_find(s, "nope", NULL), 0);
	symbols_free(s);
}

static void test_elf_self(void **state)
{
	struct symbols *s;
	char buf[128];

	(void)state;
	/* This test binary is a real ELF with a symbol table: look ourselves up. */
	assert_int_equal(symbols_load_elf(&s, "/proc/self/exe"), 0);
	assert_true(symbols_count(s) > 10);
	uint64_t size, addr = symbols_find(s, "symbols_lookup", &size);
	assert_true(addr != 0);
	assert_true(size > 0);
	assert_true(symbols_lookup(s, addr + 1, buf, sizeof(buf)));
	assert_true(strncmp(buf, "symbols_lookup+0x1/0x", 21) == 0);
	symbols_free(s);
}

static void test_errors(void **state)
{
	struct symbols *s = NULL;

	(void)state;
	assert_true(symbols_load_elf(&s, "/nonexistent") < 0);
	assert_true(symbols_load_elf(&s, "/etc/passwd") < 0);
	assert_true(symbols_load_system_map(&s, "/etc/hostname") < 0);
	assert_null(s);
}

/* Exemption lists: exact names and prefixes resolve to ranges; lookups are exact. */
static void test_exempt(void **state)
{
	char map[] = "/tmp/kv-exmap-XXXXXX", list[] = "/tmp/kv-exlist-XXXXXX";
	struct symbols *s;
	struct exempt *e;
	FILE *f;

	(void)state;
	f = fdopen(mkstemp(map), "w");
	fputs("1000 T slab_alloc\n1100 T slab_free\n1200 T buddy_a\n1300 T buddy_b\n"
	      "1400 T kmalloc_oob_right\n1500 T strscpy\n1600 T end\n",
	      f);
	fclose(f);
	f = fdopen(mkstemp(list), "w");
	fputs("# comment\n\nslab_free\n  buddy_*   # trailing comment\nmissing_func\n"
	      "word\tstrscpy\nwordy\n",
	      f);
	fclose(f);
	assert_int_equal(symbols_load_system_map(&s, map), 0);
	assert_int_equal(exempt_load(&e, list, s), 0);
	unlink(map);
	unlink(list);
	assert_int_equal(exempt_count(e), 4);
	assert_false(exempt_contains(e, 0x1000)); /* slab_alloc is not listed */
	assert_true(exempt_contains(e, 0x1100));
	assert_true(exempt_contains(e, 0x11ff));
	assert_true(exempt_contains(e, 0x1250));
	assert_true(exempt_contains(e, 0x13ff));
	assert_false(exempt_contains(e, 0x1400)); /* the scenario itself is judged */
	assert_false(exempt_contains(e, 0x10));
	/* "word" functions: judged, on the first byte of their reads */
	assert_false(exempt_contains(e, 0x1500));
	assert_true(exempt_first_byte(e, 0x1500));
	assert_true(exempt_first_byte(e, 0x15ff));
	assert_false(exempt_first_byte(e, 0x1100));
	assert_false(exempt_first_byte(e, 0x1600));
	exempt_free(e);
	assert_true(exempt_load(&e, "/nonexistent", s) < 0);
	symbols_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_system_map),
	    cmocka_unit_test(test_elf_self),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_exempt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
