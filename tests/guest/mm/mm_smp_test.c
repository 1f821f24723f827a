/* SPDX-License-Identifier: MIT */
/*
 * SMP self-test of the slab allocator: both CPUs allocate and free at the
 * same time, so their events interleave in the rings and kasan-vmm's
 * global-order merge has real work. No report is expected.
 */
#include "mm_internal.h"
#include "printf.h"
#include "smp.h"
#include "string.h"
#include "testcase.h"
#include "timer.h"

#define CHURN_ITERS 1000 /* kmalloc + kfree pairs per CPU */
#define CHURN_HELD  16	 /* objects each CPU keeps live at a time */
#define CHURN_CPU   1	 /* the second CPU */

struct churn {
	u32 cpu;
	u32 corrupt; /* objects whose stamp another CPU overwrote: shared by mistake */
	u32 failed;  /* kmalloc returned NULL */
	u64 start, end;
	void *held[CHURN_HELD]; /* left live at the end: the other CPU frees them */
	volatile u32 done;
};

static u64 stamp(const struct churn *c, u32 i)
{
	return (u64)c->cpu << 32 | i;
}

static void churn_run(struct churn *c)
{
	u64 want[CHURN_HELD] = {0};

	c->start = rdtsc();
	for (u32 i = 0; i < CHURN_ITERS; i++) {
		u32 slot = i % CHURN_HELD;
		u64 *p = c->held[slot];

		if (p) {
			c->corrupt += *p != want[slot];
			kfree(p);
		}
		/* sizes 8 .. 512: several kmalloc caches, each with its per-CPU array */
		p = kmalloc((size_t)8 << (i % 7), GFP_KERNEL);
		c->held[slot] = p;
		if (!p) {
			c->failed++;
			continue;
		}
		*p = want[slot] = stamp(c, i);
	}
	for (u32 slot = 0; slot < CHURN_HELD; slot++)
		if (c->held[slot])
			c->corrupt += *(u64 *)c->held[slot] != want[slot];
	c->end = rdtsc();
}

static void churn_remote(void *arg)
{
	struct churn *c = arg;

	churn_run(c);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
}

TESTCASE(mm_slab_smp_concurrent)
{
	static struct churn local, remote;
	bool two = smp_cpus_online() > CHURN_CPU && !mm_cpu_busy[CHURN_CPU];
	struct kv_stats s0, s1;
	u64 deadline, events;

	memset(&local, 0, sizeof(local));
	memset(&remote, 0, sizeof(remote));
	local.cpu = smp_processor_id();
	remote.cpu = CHURN_CPU;
	kv_get_stats(&s0);
	if (two) /* returns at once (1 us timeout): CPU 1 churns while this CPU does */
		smp_call_on(CHURN_CPU, churn_remote, &remote, 1);
	else
		printf("# one CPU free: the churn runs on cpu %u alone\n", local.cpu);
	churn_run(&local);
	deadline = tsc_deadline_us(300 * 1000 * 1000ull); /* a loaded, emulated host */
	while (two && !__atomic_load_n(&remote.done, __ATOMIC_ACQUIRE) && !tsc_passed(deadline))
		cpu_relax();
	TEST_ASSERT(!two || remote.done);
	/* cross-CPU frees: this CPU frees what the other one left live */
	for (u32 slot = 0; slot < CHURN_HELD; slot++) {
		kfree(local.held[slot]);
		kfree(remote.held[slot]);
	}
	kv_drain();
	kv_get_stats(&s1);
	events = s1.emitted - s0.emitted;
	printf("# %llu events; cpu %u churned %llu..%llu, cpu %u %llu..%llu (tsc)\n",
	       (unsigned long long)events, local.cpu, (unsigned long long)local.start,
	       (unsigned long long)local.end, remote.cpu, (unsigned long long)remote.start,
	       (unsigned long long)remote.end);
	TEST_ASSERT(!local.failed && !remote.failed);
	TEST_ASSERT(!local.corrupt && !remote.corrupt); /* no object handed to two CPUs */
	if (kv_present)
		TEST_ASSERT(events >= (two ? 4u : 2u) * CHURN_ITERS);
	/* the two CPUs really ran at the same time */
	TEST_ASSERT(!two || (remote.start < local.end && local.start < remote.end));
	return 0;
}
