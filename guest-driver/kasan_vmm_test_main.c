// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kasan_vmm_test: runs the KASAN scenarios selected by kasan_test= and
 * prints KTAP the way KUnit does (a "kasan" suite of "ok N - name" lines).
 * As a module the selection is the module parameter (default all); built in
 * it is kasan_test= on the kernel command line (default none), run from
 * late_initcall_sync, after the kasan_vmm driver is up (core_initcall, or
 * with kasan_vmm_start=late the same level, linked earlier) and after the
 * boot's own background allocators are done: tracing fills tracefs from a
 * work item that trace_eval_sync() (late_initcall_sync, linked earlier)
 * drains. Run beside it, the scenarios' freed slab slots went to its
 * kmalloc()s before the bad access, so use-after-free and double-free cases
 * saw live objects.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "kasan_vmm_param.h"
#include "kasan_vmm_test.h"
#ifndef MODULE
#include <linux/minmax.h>
#include <asm/io.h>
#include <asm/processor.h>
#include "kasan_vmm.h"
#endif

KV_STRING_PARAM(kasan_test, "all", "none",
		"cases to run: all, none, or a comma-separated list of names");

static const char *const kvt_access_names[] = {"Read", "Write", "Free"};

void kvt_expect(const char *bug, enum kvt_access acc, size_t size, const void *obj, size_t obj_size)
{
	pr_info("    # kasan-vmm expects: %s %s %zu\n", bug, kvt_access_names[acc], size);
	pr_info("    # kasan-vmm object: 0x%lx size %zu\n", (unsigned long)obj, obj_size);
}

void kvt_expect_none(void)
{
	pr_info("    # kasan-vmm expects: none\n");
}

/* Whether name is in the comma-separated list sel. */
static bool kvt_selected(const char *sel, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(sel, "all"))
		return true;
	while (*sel) {
		size_t len = strcspn(sel, ",");

		if (len == n && !strncmp(sel, name, n))
			return true;
		sel += len;
		if (*sel == ',')
			sel++;
	}
	return false;
}

static const struct {
	const struct kvt_case *cases;
	const unsigned int *count;
} kvt_groups[] = {
    {kvt_slab_cases, &kvt_slab_count},
    {kvt_misc_cases, &kvt_misc_count},
    {kvt_mempool_cases, &kvt_mempool_count},
    {kvt_ops_cases, &kvt_ops_count},
};

int kasan_vmm_run_tests(const char *sel)
{
	unsigned int g, i, n = 0, failed = 0, total = 0;

	if (!sel || !*sel || !strcmp(sel, "none"))
		return 0;
	for (g = 0; g < ARRAY_SIZE(kvt_groups); g++)
		for (i = 0; i < *kvt_groups[g].count; i++)
			total += kvt_selected(sel, kvt_groups[g].cases[i].name);
	if (!total) {
		pr_warn("kasan_vmm_test: kasan_test=%s selects no case\n", sel);
		return 0;
	}
	pr_info("KTAP version 1\n");
	pr_info("1..1\n");
	pr_info("    KTAP version 1\n");
	pr_info("    # Subtest: kasan\n");
	pr_info("    1..%u\n", total);
	for (g = 0; g < ARRAY_SIZE(kvt_groups); g++) {
		for (i = 0; i < *kvt_groups[g].count; i++) {
			const struct kvt_case *c = &kvt_groups[g].cases[i];
			int ret;

			if (!kvt_selected(sel, c->name))
				continue;
			n++;
			if (c->skip) {
				pr_info("    ok %u - %s # SKIP %s\n", n, c->name, c->skip);
				continue;
			}
			ret = c->run();
			if (ret)
				failed++;
			pr_info("    %sok %u - %s\n", ret ? "not " : "", n, c->name);
		}
	}
	pr_info("# kasan: pass:%u fail:%u total:%u\n", total - failed, failed, total);
	pr_info("%sok 1 - kasan\n", failed ? "not " : "");
	return failed;
}

#ifndef MODULE
/*
 * Built in (the CI guest has no user space): when cases ran under
 * kasan-vmm, hand the host the last events and power off through its exit
 * port with the number of failed cases, as the bundled test guest does.
 */
static void kasan_vmm_test_power_off(int failed)
{
	u32 a, b, c, d;

	if (!strcmp(kasan_test, "none"))
		return;
	cpuid(KV_CPUID_LEAF, &a, &b, &c, &d);
	if (b != KV_CPUID_SIG_EBX || c != KV_CPUID_SIG_ECX || d != KV_CPUID_SIG_EDX)
		return;
	if (kv_seq) /* the driver is up: its rings may hold events */
		kv_drain();
	pr_info("kasan_vmm_test: done, powering off through kasan-vmm (exit %d)\n", failed);
	outb(min(failed, KV_GUEST_EXIT_MAX), KV_PORT_EXIT);
}
#else
static inline void kasan_vmm_test_power_off(int failed)
{
}
#endif

static int __init kasan_vmm_test_init(void)
{
	kasan_vmm_test_power_off(kasan_vmm_run_tests(kasan_test));
	return 0;
}

static void __exit kasan_vmm_test_exit(void)
{
}

#ifdef MODULE
module_init(kasan_vmm_test_init);
#else
late_initcall_sync(kasan_vmm_test_init);
#endif
module_exit(kasan_vmm_test_exit);

MODULE_DESCRIPTION("kasan-vmm: Linux KASAN test scenarios for the host to detect");
MODULE_AUTHOR("kasan-vmm");
MODULE_LICENSE("Dual MIT/GPL");
