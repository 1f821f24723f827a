/* SPDX-License-Identifier: MIT */
/*
 * kmain: device tree, console, a TBI self-check, kasan-vmm registration,
 * the slab caches, then the test cases `kasan_test=` selects (all, none, or
 * NAME,NAME,...), printed as TAP. Ends with PSCI SYSTEM_OFF.
 */
#include "scenario.h"
#include "smp.h"
#include "string.h"

#define CMDLINE_KEY "kasan_test="

static struct fdt_info fdt;

noreturn void guest_exit(int code)
{
	printf("testguest: exit %d\n", code);
	kv_system_off(code, fdt.psci_smc);
}

noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	printf("testguest: panic: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	guest_exit(EXIT_PANIC);
}

/* From boot.S's vectors: any exception here is a bug in the guest. */
noreturn void unexpected_exception(u64 vector, u64 esr, u64 elr, u64 far, u64 sp)
{
	printf("testguest: unexpected exception: vector %lu ESR 0x%lx ELR 0x%lx FAR 0x%lx SP "
	       "0x%lx\n",
	       vector, esr, elr, far, sp);
	guest_exit(EXIT_EXCEPTION);
}

/* The kasan_test= value: a pointer into bootargs and its length; "all" if absent. */
static const char *test_selection(size_t *len)
{
	const char *a = fdt.bootargs;

	for (const char *p = a; *p; p++) {
		if ((p == a || p[-1] == ' ') && !strncmp(p, CMDLINE_KEY, strlen(CMDLINE_KEY))) {
			p += strlen(CMDLINE_KEY);
			*len = strcspn(p, " ");
			return p;
		}
	}
	*len = 3;
	return "all";
}

static const struct testcase *find_test(const char *name, size_t len)
{
	extern const struct testcase __start_testcases[], __stop_testcases[];

	for (const struct testcase *t = __start_testcases; t < __stop_testcases; t++)
		if (strlen(t->name) == len && !strncmp(t->name, name, len))
			return t;
	return NULL;
}

static int run_one(const struct testcase *t, const char *name, size_t len, size_t n)
{
	int rc;

	if (!t) {
		printf("not ok %zu - %.*s # no such test\n", n, (int)len, name);
		return 1;
	}
	printf("# %s\n", t->name);
	rc = t->fn();
	printf("%sok %zu - %s\n", rc ? "not " : "", n, t->name);
	return rc != 0;
}

/* "all": every case in link order; "none"; else the listed names in order (unknown: not ok). */
static int run_tests(void)
{
	extern const struct testcase __start_testcases[], __stop_testcases[];
	size_t len, n = 0, total = 0, item;
	const char *sel = test_selection(&len), *p;
	int failed = 0;

	if (len == 3 && !strncmp(sel, "all", 3)) {
		printf("TAP version 13\n1..%zu\n", (size_t)(__stop_testcases - __start_testcases));
		for (const struct testcase *t = __start_testcases; t < __stop_testcases; t++)
			failed += run_one(t, t->name, strlen(t->name), ++n);
	} else {
		bool none = len == 4 && !strncmp(sel, "none", 4);

		for (p = sel; !none && p < sel + len; p += item + 1)
			total += (item = MIN(strcspn(p, ","), (size_t)(sel + len - p))) != 0;
		printf("TAP version 13\n1..%zu\n", total);
		for (p = sel; !none && p < sel + len; p += item + 1) {
			item = MIN(strcspn(p, ","), (size_t)(sel + len - p));
			if (item)
				failed += run_one(find_test(p, item), p, item, ++n);
		}
	}
	printf("testguest: %zu tests, %d failed\n", n, failed);
	return failed;
}

/* TCR_EL1.TBI0 is on: a tagged pointer reaches the same memory as the untagged one. */
static noinline bool tbi_works(void)
{
	static volatile u64 word;
	volatile u64 *tagged = set_tag((const void *)&word, 0x5a);

	word = 1;
	*tagged = 0x1234;
	return word == 0x1234;
}

void kmain(const void *dtb)
{
	int failed;

	if (fdt_parse(dtb, &fdt))
		kv_system_off(EXIT_BOOT, false); /* no console to say so */
	console_init(fdt.uart_kind, fdt.uart_base, fdt.uart_shift);
	smp_init(&fdt);
	printf("testguest: arm64, EL1, device tree at %p, RAM 0x%lx+0x%lx, command line \"%s\"\n",
	       dtb, fdt.ram_base, fdt.ram_size, fdt.bootargs);
	if (!tbi_works())
		panic("top-byte-ignore: a tagged pointer did not reach its memory");
	printf("testguest: MMU on (identity map, 4 KiB granule), TBI on: tagged pointers work\n");
	kv_init(&fdt);
	if (kv_tag_mode())
		printf(
		    "testguest: kasan-vmm tag mode: 16-byte granules, tagged kmalloc pointers\n");
	kmalloc_init();
	failed = run_tests();
	kv_finish();
	guest_exit(failed > EXIT_TESTS_MAX ? EXIT_TESTS_MAX : failed);
}
