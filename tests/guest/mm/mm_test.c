/* SPDX-License-Identifier: MIT */
/*
 * Self-tests of the guest allocators and the kasan-vmm guest side. None of
 * them touches freed or out-of-bounds memory: under kasan-vmm they must
 * produce no report.
 */
#include "mm_internal.h"
#include "smp.h"
#include "string.h"
#include "testcase.h"
#include "timer.h"

#define IS_DIRECT(p) ((u64)(p) >= DIRECT_MAP_BASE && (u64)(p) < VMALLOC_START)

TESTCASE(mm_page_roundtrip)
{
	unsigned long before = nr_free_pages();

	for (unsigned int order = 0; order <= 4; order++) {
		struct page *pg = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
		u8 *p;

		TEST_ASSERT(pg);
		p = page_address(pg);
		TEST_ASSERT(IS_DIRECT(p) && !offset_in_page(p));
		TEST_ASSERT(virt_to_page(p) == pg && pfn_to_page(page_to_pfn(pg)) == pg);
		TEST_ASSERT(virt_to_head_page(p + (PAGE_SIZE << order) - 1) == pg);
		TEST_ASSERT(p[0] == 0 && p[(PAGE_SIZE << order) - 1] == 0);
		__free_pages(pg, order);
	}
	unsigned long a = __get_free_pages(GFP_KERNEL, MAX_PAGE_ORDER);
	TEST_ASSERT(a && !(virt_to_phys((void *)a) & ((PAGE_SIZE << MAX_PAGE_ORDER) - 1)));
	free_pages(a, MAX_PAGE_ORDER);
	TEST_ASSERT(!alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER + 1));
	TEST_ASSERT(nr_free_pages() == before); /* buddies merged back */
	return 0;
}

TESTCASE(mm_slab_cache)
{
	struct kmem_cache *c = kmem_cache_create("mm_test_20", 20, 16, 0, NULL);
	void *a, *b, *bulk[8];

	/* 20 bytes + KASAN's 16-byte red zone, rounded up to the 16-byte alignment */
	TEST_ASSERT(c && kmem_cache_size(c) == 20 && kmem_cache_slot_size(c) == 48);
	TEST_ASSERT(kmem_cache_freeptr_offset(c) == 8); /* middle of the object, like SLUB */
	a = kmem_cache_alloc(c, GFP_KERNEL);
	b = kmem_cache_zalloc(c, GFP_KERNEL);
	TEST_ASSERT(a && b && a != b && IS_DIRECT(a) && !((u64)a % 16) && !((u64)b % 16));
	/* a red zone on both sides, also for the first object of a slab */
	TEST_ASSERT(offset_in_page(a) >= 28 && offset_in_page(b) >= 28);
	TEST_ASSERT(((u8 *)b)[0] == 0 && ((u8 *)b)[19] == 0);
	kmem_cache_free(c, a);
	kmem_cache_free(c, b);
	a = kmem_cache_alloc(c, GFP_KERNEL); /* freed objects wait in the quarantine */
	TEST_ASSERT(a && a != b);
	kmem_cache_free(c, a);
	TEST_ASSERT(kmem_cache_alloc_bulk(c, GFP_KERNEL, ARRAY_SIZE(bulk), bulk) == 8);
	for (u32 i = 1; i < ARRAY_SIZE(bulk); i++)
		TEST_ASSERT(bulk[i] && bulk[i] != bulk[i - 1]);
	kmem_cache_free_bulk(c, ARRAY_SIZE(bulk), bulk);
	kmem_cache_destroy(c);
	return 0;
}

static void ctor_fill(void *p)
{
	memset(p, 0x5a, 24);
}

TESTCASE(mm_slab_ctor_rcu_align)
{
	struct kmem_cache *c = kmem_cache_create("mm_test_ctor", 24, 0, 0, ctor_fill);
	struct kmem_cache *r = kmem_cache_create("mm_test_rcu", 40, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	struct kmem_cache *h = kmem_cache_create("mm_test_hw", 40, 0, SLAB_HWCACHE_ALIGN, NULL);
	u8 *p;

	TEST_ASSERT(c && r && h);
	TEST_ASSERT(kmem_cache_freeptr_offset(c) >= 24); /* outside the constructed object */
	TEST_ASSERT(kmem_cache_freeptr_offset(r) >= 40);
	p = kmem_cache_alloc(c, GFP_KERNEL);
	TEST_ASSERT(p && p[0] == 0x5a && p[23] == 0x5a);
	kmem_cache_free(c, p);
	p = kmem_cache_alloc(h, GFP_KERNEL);
	/* 40 bytes + 16-byte red zone fit one 64-byte line */
	TEST_ASSERT(p && !((u64)p % 64) && kmem_cache_slot_size(h) == 64);
	TEST_ASSERT(kmem_cache_slot_size(r) == 56); /* no red zone: object + rcu_head */
	kmem_cache_free(h, p);
	p = kmem_cache_alloc(r, GFP_KERNEL);
	kmem_cache_free(r, p);
	rcu_barrier(); /* the deferred free happens here */
	kmem_cache_destroy(c);
	kmem_cache_destroy(r);
	kmem_cache_destroy(h);
	return 0;
}

TESTCASE(mm_kmalloc_sizes)
{
	static const u32 sizes[][2] = {{1, 8},	     {8, 8},	  {9, 16},    {65, 96},
				       {96, 96},     {120, 128},  {150, 192}, {200, 256},
				       {4097, 8192}, {8192, 8192}};
	u8 *p;

	for (u32 i = 0; i < ARRAY_SIZE(sizes); i++) {
		TEST_ASSERT(kmem_cache_size(kmalloc_slab(sizes[i][0])) == sizes[i][1]);
		p = kmalloc(sizes[i][0], GFP_KERNEL);
		TEST_ASSERT(p && IS_DIRECT(p) && !((u64)p % 8));
		p[sizes[i][0] - 1] = 1;
		kfree(p);
	}
	TEST_ASSERT(!kmalloc_slab(8193));
	TEST_ASSERT(kmem_cache_freeptr_offset(kmalloc_slab(128)) == 64);
	TEST_ASSERT(kmalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR);
	kfree(NULL);
	kfree(ZERO_SIZE_PTR);
	p = kzalloc(120, GFP_KERNEL);
	TEST_ASSERT(p && p[0] == 0 && p[119] == 0);
	TEST_ASSERT(ksize(p) == 128); /* the slack becomes usable */
	p[127] = 1;
	kfree_sensitive(p);
	return 0;
}

TESTCASE(mm_kmalloc_large_krealloc)
{
	u8 *p = kmalloc(10000, GFP_KERNEL), *q;

	TEST_ASSERT(p && IS_DIRECT(p) && !offset_in_page(p));
	TEST_ASSERT(ksize(p) == 4 * PAGE_SIZE);
	memset(p, 0xab, 10000);
	q = krealloc(p, 12000, GFP_KERNEL); /* fits the 4 pages: in place */
	TEST_ASSERT(q == p && q[11999 - 2000] == 0xab);
	q = krealloc(p, 40000, GFP_KERNEL);
	TEST_ASSERT(q && q != p && q[0] == 0xab && q[9999] == 0xab);
	kfree(q);
	p = kmalloc(100, GFP_KERNEL);
	memset(p, 7, 100);
	q = krealloc(p, 90, GFP_KERNEL);
	TEST_ASSERT(q == p);
	q = krealloc(p, 300, GFP_KERNEL);
	TEST_ASSERT(q && q != p && q[0] == 7 && q[89] == 7);
	kfree(q);
	return 0;
}

TESTCASE(mm_vmalloc)
{
	u8 *v = vmalloc(3 * PAGE_SIZE + 10), *z = vzalloc(100);
	u64 va = (u64)v;

	TEST_ASSERT(v && is_vmalloc_addr(v) && !offset_in_page(v));
	TEST_ASSERT(z && z[0] == 0 && z[99] == 0);
	memset(v, 1, 3 * PAGE_SIZE + 10);
	TEST_ASSERT(vmalloc_to_page(v) && vmalloc_to_page(v + 3 * PAGE_SIZE));
	TEST_ASSERT(mmu_translate(va + 4 * PAGE_SIZE) == ~0ull); /* guard page */
	TEST_ASSERT((u64)z >= va + 5 * PAGE_SIZE);
	vfree(v);
	vfree(z);
	TEST_ASSERT(mmu_translate(va) == ~0ull);
	return 0;
}

TESTCASE(mm_mempool)
{
	mempool_t *kp = mempool_create_kmalloc_pool(2, 100);
	mempool_t *pp = mempool_create_page_pool(1, 1);
	void *a, *b;
	struct page *pg;

	TEST_ASSERT(kp && pp && kp->curr_nr == 2 && pp->curr_nr == 1);
	a = mempool_alloc(kp, GFP_KERNEL); /* from kmalloc: the reserve stays full */
	TEST_ASSERT(a && kp->curr_nr == 2);
	mempool_free(a, kp); /* reserve full: really freed */
	a = mempool_alloc_preallocated(kp);
	b = mempool_alloc_preallocated(kp);
	TEST_ASSERT(a && b && a != b && !mempool_alloc_preallocated(kp));
	memset(a, 1, 100);
	mempool_free(a, kp);
	mempool_free(b, kp);
	TEST_ASSERT(kp->curr_nr == 2);
	pg = mempool_alloc_preallocated(pp);
	TEST_ASSERT(pg && IS_DIRECT(page_address(pg)));
	memset(page_address(pg), 0, 2 * PAGE_SIZE);
	mempool_free(pg, pp);
	mempool_destroy(kp);
	mempool_destroy(pp);
	return 0;
}

struct deferred {
	int ran;
	u32 cpu;
	struct rcu_head rcu;
	struct work_struct work;
};

static void rcu_cb(struct rcu_head *head)
{
	struct deferred *d = container_of(head, struct deferred, rcu);

	d->ran = 1;
}

static void work_cb(struct work_struct *work)
{
	struct deferred *d = container_of(work, struct deferred, work);

	d->ran = 2;
	d->cpu = smp_processor_id();
}

TESTCASE(mm_rcu_workqueue)
{
	struct deferred *d = kzalloc(sizeof(*d), GFP_KERNEL);
	struct workqueue_struct *wq = create_workqueue("mm_test_wq");

	TEST_ASSERT(d && wq);
	call_rcu(&d->rcu, rcu_cb);
	rcu_barrier();
	TEST_ASSERT(d->ran == 1);
	INIT_WORK(&d->work, work_cb);
	TEST_ASSERT(queue_work(wq, &d->work));
	TEST_ASSERT(!queue_work(wq, &d->work)); /* already pending */
	TEST_ASSERT(flush_work(&d->work) && d->ran == 2);
	if (smp_cpus_online() > 1 && !mm_cpu_busy[1])
		TEST_ASSERT(d->cpu != smp_processor_id());
	destroy_workqueue(wq);
	kfree_rcu(d, rcu);
	rcu_barrier();
	return 0;
}

TESTCASE(mm_kasan_vmm_rings)
{
	struct kv_stats s0, s1;

	if (!kv_present) {
		printf("# kasan-vmm absent: nothing emitted\n");
		return 0;
	}
	TEST_ASSERT(kv_rings_ready() == smp_cpus_online());
	kv_get_stats(&s0);
	kfree(kmalloc(32, GFP_KERNEL));
	kv_drain();
	kv_get_stats(&s1);
	TEST_ASSERT(s1.emitted == s0.emitted + 2 && !s1.dropped);
	if (!mm_cpu_busy[1]) /* the garbage flood makes CPU 1's counters meaningless */
		TEST_ASSERT(s1.applied == s1.emitted && !s1.rejected);
	return 0;
}

static void print_rate(const char *what, const struct kv_stats *s0, u64 t0)
{
	u64 dt = rdtsc() - t0, n;
	struct kv_stats s1;

	kv_get_stats(&s1);
	n = s1.emitted - s0->emitted;
	printf("# %s, mode %u: %llu events in %llu us: %llu events/s, %llu doorbells\n", what,
	       kv_mode, (unsigned long long)n, (unsigned long long)(dt * 1000 / tsc_khz()),
	       (unsigned long long)(n * tsc_khz() * 1000 / (dt ? dt : 1)),
	       (unsigned long long)(s1.kicks - s0->kicks));
}

/* Events per second: bare events (aux stacks of a live object), then kmalloc+kfree pairs. */
TESTCASE(mm_event_rate)
{
	struct kv_stats s0;
	void *obj = kmalloc(64, GFP_KERNEL);
	u64 t0;

	TEST_ASSERT(obj);
	kv_get_stats(&s0);
	t0 = rdtsc();
	for (u32 i = 0; i < 2000; i++)
		mm_record_aux_stack(obj, THIS_FRAME());
	kv_drain();
	print_rate("aux_stack", &s0, t0);
	kfree(obj);
	kv_get_stats(&s0);
	t0 = rdtsc();
	for (u32 i = 0; i < 1000; i++)
		kfree(kmalloc(64, GFP_KERNEL));
	kv_drain();
	print_rate("kmalloc+kfree", &s0, t0);
	return 0;
}
