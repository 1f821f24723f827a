// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kasan_vmm_bench: an allocation-heavy workload for `make bench`
 * (tests/bench/bench_linux_kasan.sh), timed in the guest with ktime so that
 * the same code can be compared on a plain kernel, a plain kernel under the
 * kasan-vmm sanitizer and a kernel with Linux's own KASAN.
 *
 * kasan_vmm_bench=alloc[:ROUNDS][,continue] selects it (built in: on the
 * kernel command line, run from late_initcall_sync after the driver and the
 * scenario runner; as kasan_vmm_bench.ko: the module parameter, run at
 * load). One round:
 *   kmalloc:    for each size of kvb_sizes, KVB_BATCH objects, each written
 *               at its first and last byte, freed even slots first, then odd;
 *   kmem_cache: KVB_CACHE_BATCH objects of a 200-byte cache, the same way;
 *   pages:      order 0, 0, 1 and 2 page blocks, each page written once.
 * An op is one allocation and its free. Nothing is random: every run does
 * the same allocations in the same order. It prints one line
 *   kasan_vmm_bench: alloc N ops in T ns (R rounds; kmalloc ... )
 * and, built in, ends the boot: through kasan-vmm's exit port (code 0, or 1
 * if an allocation failed) when kasan-vmm's CPUID signature is present,
 * otherwise (kasan-vmm with --mode off, another hypervisor) with
 * kernel_restart(), which kasan-vmm reports as a reboot (exit 120). With
 * ",continue" the boot goes on instead (e.g. to the KUnit executor, whose
 * kunit_shutdown= ends it).
 */
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kasan_vmm_param.h"

#ifndef MODULE
#include <linux/reboot.h>
#include <asm/io.h>
#include <asm/processor.h>
#include "kasan_vmm.h"
#endif

#define KVB_DEFAULT_ROUNDS 40
#define KVB_MAX_ROUNDS	   1000000
#define KVB_BATCH	   16
#define KVB_CACHE_BATCH	   32
#define KVB_CACHE_SIZE	   200

static const size_t kvb_sizes[] = {8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096};
static const unsigned int kvb_orders[] = {0, 0, 1, 2};

KV_STRING_PARAM(kasan_vmm_bench, "alloc", "none", "workload: none, alloc or alloc:ROUNDS");

#define KVB_CONTINUE ",continue"

struct kvb_phase {
	const char *name;
	u64 ops;
	u64 ns;
};

/* Touch an object at both ends, as code initialising a header and a tail would. */
static void kvb_touch(void *p, size_t size)
{
	WRITE_ONCE(*(u8 *)p, (u8)size);
	WRITE_ONCE(*((u8 *)p + size - 1), (u8)(size >> 3));
}

/* Frees even slots first, then odd ones: the freelists see more than LIFO reuse. */
static void kvb_free_objs(void **objs, unsigned int n, struct kmem_cache *cache)
{
	unsigned int i, pass;

	for (pass = 0; pass < 2; pass++)
		for (i = pass; i < n; i += 2) {
			if (cache)
				kmem_cache_free(cache, objs[i]);
			else
				kfree(objs[i]);
		}
}

static int kvb_kmalloc_round(struct kvb_phase *ph)
{
	void *objs[KVB_BATCH];
	unsigned int s, i;
	u64 t0 = ktime_get_ns();

	for (s = 0; s < ARRAY_SIZE(kvb_sizes); s++) {
		for (i = 0; i < KVB_BATCH; i++) {
			objs[i] = kmalloc(kvb_sizes[s], GFP_KERNEL);
			if (!objs[i]) {
				kvb_free_objs(objs, i, NULL);
				return -ENOMEM;
			}
			kvb_touch(objs[i], kvb_sizes[s]);
		}
		kvb_free_objs(objs, KVB_BATCH, NULL);
		ph->ops += KVB_BATCH;
	}
	ph->ns += ktime_get_ns() - t0;
	return 0;
}

static int kvb_cache_round(struct kmem_cache *cache, struct kvb_phase *ph)
{
	void *objs[KVB_CACHE_BATCH];
	unsigned int i;
	u64 t0 = ktime_get_ns();

	for (i = 0; i < KVB_CACHE_BATCH; i++) {
		objs[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		if (!objs[i]) {
			kvb_free_objs(objs, i, cache);
			return -ENOMEM;
		}
		kvb_touch(objs[i], KVB_CACHE_SIZE);
	}
	kvb_free_objs(objs, KVB_CACHE_BATCH, cache);
	ph->ops += KVB_CACHE_BATCH;
	ph->ns += ktime_get_ns() - t0;
	return 0;
}

static int kvb_pages_round(struct kvb_phase *ph)
{
	struct page *pages[ARRAY_SIZE(kvb_orders)];
	unsigned int i, j;
	u64 t0 = ktime_get_ns();

	for (i = 0; i < ARRAY_SIZE(kvb_orders); i++) {
		pages[i] = alloc_pages(GFP_KERNEL, kvb_orders[i]);
		if (!pages[i]) {
			while (i--)
				__free_pages(pages[i], kvb_orders[i]);
			return -ENOMEM;
		}
		for (j = 0; j < (1u << kvb_orders[i]); j++)
			WRITE_ONCE(*(u8 *)page_address(pages[i] + j), (u8)j);
	}
	for (i = 0; i < ARRAY_SIZE(kvb_orders); i++)
		__free_pages(pages[i], kvb_orders[i]);
	ph->ops += ARRAY_SIZE(kvb_orders);
	ph->ns += ktime_get_ns() - t0;
	return 0;
}

/* Whether sel ends in ",continue" (built in: do not end the boot). */
static bool kvb_continue(const char *sel)
{
	size_t n = strlen(sel), k = strlen(KVB_CONTINUE);

	return n >= k && !strcmp(sel + n - k, KVB_CONTINUE);
}

/*
 * "alloc" or "alloc:ROUNDS", optionally followed by ",continue": the number
 * of rounds, or 0 if sel is something else.
 */
static unsigned int kvb_parse(const char *sel)
{
	size_t len = strlen(sel) - (kvb_continue(sel) ? strlen(KVB_CONTINUE) : 0);
	char num[12];
	unsigned int rounds;

	if (len < 5 || strncmp(sel, "alloc", 5))
		return 0;
	if (len == 5)
		return KVB_DEFAULT_ROUNDS;
	if (sel[5] != ':' || len - 6 >= sizeof(num) || len == 6)
		return 0;
	memcpy(num, sel + 6, len - 6);
	num[len - 6] = '\0';
	if (kstrtouint(num, 10, &rounds) || !rounds || rounds > KVB_MAX_ROUNDS)
		return 0;
	return rounds;
}

/* Runs the workload; returns 0, -ENOMEM if an allocation failed, or -EINVAL. */
static int kvb_run(const char *sel)
{
	struct kvb_phase ph[3] = {{"kmalloc"}, {"kmem_cache"}, {"pages"}};
	struct kmem_cache *cache;
	unsigned int rounds = kvb_parse(sel), r;
	u64 t0, ns, ops;
	int ret = 0;

	if (!rounds) {
		pr_warn("kasan_vmm_bench: unknown workload '%s' (alloc or alloc:1..%u, then "
			",continue)\n",
			sel, KVB_MAX_ROUNDS);
		return -EINVAL;
	}
	cache = kmem_cache_create("kasan_vmm_bench", KVB_CACHE_SIZE, 0, 0, NULL);
	if (!cache) {
		pr_err("kasan_vmm_bench: kmem_cache_create failed\n");
		return -ENOMEM;
	}
	pr_info("kasan_vmm_bench: alloc: %u rounds of %zu kmalloc sizes x %d, %d kmem_cache, %zu "
		"page blocks\n",
		rounds, ARRAY_SIZE(kvb_sizes), KVB_BATCH, KVB_CACHE_BATCH, ARRAY_SIZE(kvb_orders));
	t0 = ktime_get_ns();
	for (r = 0; r < rounds && !ret; r++) {
		ret = kvb_kmalloc_round(&ph[0]);
		if (!ret)
			ret = kvb_cache_round(cache, &ph[1]);
		if (!ret)
			ret = kvb_pages_round(&ph[2]);
		cond_resched();
	}
	ns = ktime_get_ns() - t0;
	kmem_cache_destroy(cache);
	ops = ph[0].ops + ph[1].ops + ph[2].ops;
	if (ret) {
		pr_err("kasan_vmm_bench: alloc failed in round %u: an allocation returned NULL\n",
		       r);
		return ret;
	}
	pr_info("kasan_vmm_bench: alloc %llu ops in %llu ns (%u rounds; %s %llu ops %llu ns, %s "
		"%llu ops %llu ns, %s %llu ops %llu ns)\n",
		ops, ns, rounds, ph[0].name, ph[0].ops, ph[0].ns, ph[1].name, ph[1].ops, ph[1].ns,
		ph[2].name, ph[2].ops, ph[2].ns);
	return 0;
}

#ifndef MODULE
/*
 * Built in, there is no user space to go back to: end the boot. Under
 * kasan-vmm's sanitizer, hand the host the last events and leave through its
 * exit port; without its signature, reboot (kasan-vmm stops with exit 120).
 */
static void kvb_end(int ret)
{
	u32 a, b, c, d;

	cpuid(KV_CPUID_LEAF, &a, &b, &c, &d);
	if (b == KV_CPUID_SIG_EBX && c == KV_CPUID_SIG_ECX && d == KV_CPUID_SIG_EDX) {
		if (kv_seq) /* the driver is up: its rings may hold events */
			kv_drain();
		pr_info("kasan_vmm_bench: done, powering off through kasan-vmm (exit %d)\n", !!ret);
		outb(ret ? 1 : 0, KV_PORT_EXIT);
		return;
	}
	pr_info("kasan_vmm_bench: done, no kasan-vmm signature: restarting\n");
	kernel_restart(NULL);
}

static int __init kasan_vmm_bench_init(void)
{
	int ret;

	if (!strcmp(kasan_vmm_bench, "none"))
		return 0;
	ret = kvb_run(kasan_vmm_bench);
	if (kvb_continue(kasan_vmm_bench))
		pr_info("kasan_vmm_bench: done, the boot continues\n");
	else
		kvb_end(ret);
	return 0;
}
late_initcall_sync(kasan_vmm_bench_init);
#else
static int __init kasan_vmm_bench_init(void)
{
	if (!strcmp(kasan_vmm_bench, "none"))
		return 0;
	return kvb_run(kasan_vmm_bench);
}
module_init(kasan_vmm_bench_init);

static void __exit kasan_vmm_bench_exit(void)
{
}
module_exit(kasan_vmm_bench_exit);
#endif

MODULE_DESCRIPTION("kasan-vmm: an allocation-heavy workload timed in the guest");
MODULE_AUTHOR("kasan-vmm");
MODULE_LICENSE("Dual MIT/GPL");
