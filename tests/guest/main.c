/* SPDX-License-Identifier: MIT */
/*
 * Test guest entry (kmain, called by boot.S) and the TAP runner. Output:
 *   testguest: ... boot lines
 *   1..N / ok N - name / not ok N - name
 * then power-off through KV_PORT_EXIT with the number of failures (capped).
 */
#include "apic.h"
#include "bootinfo.h"
#include "idt.h"
#include "kasan_vmm.h"
#include "mm/mm.h"
#include "mmu.h"
#include "printf.h"
#include "serial.h"
#include "smp.h"
#include "string.h"
#include "testcase.h"
#include "timer.h"

#define TEST_ARG_MAX 512

extern const struct testcase __start_testcases[], __stop_testcases[];

noreturn void guest_exit(int code)
{
	kv_drain(); /* kasan-vmm applies what is pending before the power-off */
	outb(KV_PORT_EXIT, (u8)code);
	for (;;) /* in case the VMM ignores the port */
		asm volatile("cli; hlt");
}

noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	console_lock();
	printf("testguest: PANIC on cpu %u: ", smp_processor_id());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	dump_backtrace((u64)__builtin_frame_address(0));
	guest_exit(EXIT_PANIC);
}

/*
 * testguest.crash_after_tests=panic|triplefault|hang: end badly after the tests (and
 * their reports), for the host's durability tests. Events are drained
 * first so that the host has seen everything the tests did.
 */
static void crash_after_tests(void)
{
	char how[16];

	if (cmdline_get("testguest.crash_after_tests", how, sizeof(how)) < 0)
		return;
	kv_drain();
	printf("testguest: crashing on purpose: %s\n", how);
	if (!strcmp(how, "panic"))
		panic("testguest.crash_after_tests=panic");
	if (!strcmp(how, "triplefault")) {
		struct {
			u16 limit;
			u64 base;
		} __attribute__((packed)) empty = {0, 0};

		asm volatile("lidt %0; int3" : : "m"(empty)); /* no IDT: #DF, then shutdown */
	}
	if (!strcmp(how, "hang")) {
		for (;;)
			asm volatile("cli; hlt");
	}
	printf("testguest: unknown testguest.crash_after_tests=%s\n", how);
}

/*
 * testguest.linger_ms=N: stay up N ms after the tests, so that host tests
 * can look at the running VMM (its /proc status) without racing its exit.
 */
static void linger_after_tests(void)
{
	char ms[16];
	u64 n = 0;

	if (cmdline_get("testguest.linger_ms", ms, sizeof(ms)) < 0)
		return;
	for (const char *p = ms; *p >= '0' && *p <= '9' && n < 600000; p++)
		n = n * 10 + (u64)(*p - '0');
	printf("testguest: lingering %llu ms\n", (unsigned long long)n);
	udelay(n * 1000);
}

static const struct testcase *find_test(const char *name, size_t len)
{
	for (const struct testcase *t = __start_testcases; t < __stop_testcases; t++) {
		if (strlen(t->name) == len && !strncmp(t->name, name, len))
			return t;
	}
	return NULL;
}

static int run_one(int n, const char *name, size_t len)
{
	const struct testcase *t = find_test(name, len);
	int rc;

	if (!t) {
		printf("not ok %d - %.*s # no such test\n", n, (int)len, name);
		return 1;
	}
	rc = t->fn();
	printf("%sok %d - %s\n", rc ? "not " : "", n, t->name);
	return rc ? 1 : 0;
}

/* Runs the selection; returns the number of failed cases. */
static int run_tests(const char *sel)
{
	int n = 0, failed = 0;

	if (!strcmp(sel, "none") || !*sel) {
		printf("1..0\n");
		return 0;
	}
	if (!strcmp(sel, "all")) {
		printf("1..%d\n", (int)(__stop_testcases - __start_testcases));
		for (const struct testcase *t = __start_testcases; t < __stop_testcases; t++)
			failed += run_one(++n, t->name, strlen(t->name));
		return failed;
	}
	for (const char *p = sel; *p; p++) /* plan: one case per comma-separated name */
		n += *p == ',';
	printf("1..%d\n", n + 1);
	n = 0;
	for (const char *p = sel;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		failed += run_one(++n, p, len);
		if (!end)
			break;
		p = end + 1;
	}
	return failed;
}

void kmain(u32 start_info_pa);
void kmain(u32 start_info_pa)
{
	char sel[TEST_ARG_MAX];
	struct kv_task *boot_task;
	int failed;

	smp_early_init();
	serial_init();
	idt_init();
	pic_disable();
	printf("testguest: booting, PVH start_info at 0x%x\n", start_info_pa);
	if (bootinfo_parse(start_info_pa)) {
		printf("testguest: bad PVH start_info (magic)\n");
		guest_exit(EXIT_BOOT);
	}
	bootinfo_print();
	bootinfo_print_cpuid();
	mmu_init();
	tsc_calibrate();
	smp_init();
	page_alloc_init();
	kv_init((u64)vmemmap); /* rings before the first allocator event */
	kmem_cache_init();
	exercise_boot();
	if (cmdline_get("kasan_test", sel, sizeof(sel)) < 0)
		strscpy(sel, "all", sizeof(sel));
	garbage_start();
	boot_task = kv_task_switch(&kv_test_task);
	failed = run_tests(sel);
	kv_task_switch(boot_task);
	garbage_finish();
	crash_after_tests();
	linger_after_tests();
	kv_finish();
	printf("testguest: %d test(s) failed, powering off\n", failed);
	guest_exit(failed ? MIN(failed, EXIT_TESTS_MAX) : EXIT_OK);
}
