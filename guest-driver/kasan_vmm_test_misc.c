// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Page-backed, mem*() and deferred-free scenarios, and the cases that must
 * not report. Same rules as kasan_vmm_test_slab.c: bad writes stay in the
 * slot's slack, reads may leave it.
 */
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <asm/io.h>

#include "kasan_vmm_test.h"

/* Results of mem*() calls go here so the calls are not optimized away. */
static void *volatile kvt_sink_ptr;
static volatile int kvt_sink_int;

static int kmalloc_large_oob_right(void)
{
	size_t size = KMALLOC_MAX_CACHE_SIZE + 10;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr + size, 0);
	kfree(ptr);
	return 0;
}

static int kmalloc_large_uaf(void)
{
	size_t size = KMALLOC_MAX_CACHE_SIZE + 10;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(PAGE_UAF, 1, ptr, size);
	kvt_read8(ptr);
	return 0;
}

/* 6.1 frees the whole large allocation from any pointer into it. */
static int kmalloc_large_invalid_free(void)
{
	size_t size = KMALLOC_MAX_CACHE_SIZE + 10;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_free(INVALID_FREE, ptr, size);
	kfree(ptr + 1);
	return 0;
}

static int page_alloc_uaf(void)
{
	unsigned int order = 4;
	struct page *pages = alloc_pages(GFP_KERNEL, order);
	char *ptr;

	KVT_ASSERT(pages);
	ptr = page_address(pages);
	free_pages((unsigned long)ptr, order);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(PAGE_UAF, 1, ptr, PAGE_SIZE << order);
	kvt_read8(ptr);
	return 0;
}

static int kmalloc_oob_in_memset(void)
{
	size_t size = 128 - KASAN_GRANULE_SIZE;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(size);
	expect_write(SLAB_OOB, size + KASAN_GRANULE_SIZE, ptr, size);
	memset(ptr, 0, size + KASAN_GRANULE_SIZE);
	kfree(ptr);
	return 0;
}

/* memset of n bytes ending one byte past kmalloc(120): still in the 128 slot. */
static noinline int kvt_memset_past_end(size_t n)
{
	size_t size = 128 - KASAN_GRANULE_SIZE;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(n);
	expect_write(SLAB_OOB, n, ptr, size);
	memset(ptr + size - (n - 1), 0, n);
	kfree(ptr);
	return 0;
}

static int kmalloc_oob_memset_2(void)
{
	return kvt_memset_past_end(2);
}

static int kmalloc_oob_memset_4(void)
{
	return kvt_memset_past_end(4);
}

static int kmalloc_oob_memset_8(void)
{
	return kvt_memset_past_end(8);
}

static int kmalloc_oob_memset_16(void)
{
	return kvt_memset_past_end(16);
}

static int kmalloc_memmove_invalid_size(void)
{
	size_t size = 64, invalid_size = size;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	memset(ptr, 0, size);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(invalid_size);
	expect_read(SLAB_OOB, invalid_size, ptr, size);
	memmove(ptr, ptr + 4, invalid_size);
	kfree(ptr);
	return 0;
}

static int kasan_memchr(void)
{
	size_t size = 24;
	char *ptr = kmalloc(size, GFP_KERNEL | __GFP_ZERO);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(size);
	expect_read(SLAB_OOB, 1, ptr, size);
	kvt_sink_ptr = memchr(ptr, '1', size + 1);
	kfree(ptr);
	return 0;
}

static int kasan_memcmp(void)
{
	size_t size = 24;
	char arr[24 + 8] = {};
	char *ptr = kmalloc(size, GFP_KERNEL | __GFP_ZERO);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(size);
	expect_read(SLAB_OOB, 1, ptr, size);
	kvt_sink_int = memcmp(ptr, arr, size + 1);
	kfree(ptr);
	return 0;
}

struct kvt_rcu_info {
	int i;
	struct rcu_head rcu;
};

static noinline void rcu_uaf_reclaim(struct rcu_head *rp)
{
	struct kvt_rcu_info *fp = container_of(rp, struct kvt_rcu_info, rcu);

	kfree(fp);
	kvt_sink_int = READ_ONCE(fp->i);
}

static int rcu_uaf(void)
{
	struct kvt_rcu_info *ptr = kmalloc(sizeof(*ptr), GFP_KERNEL);

	KVT_ASSERT(ptr);
	/* The read happens in the callback, after this line. */
	expect_read(SLAB_UAF, 4, ptr, sizeof(*ptr));
	call_rcu(&ptr->rcu, rcu_uaf_reclaim);
	rcu_barrier();
	return 0;
}

static struct kmem_cache *kvt_work_cache;

static void workqueue_uaf_work(struct work_struct *work)
{
	kmem_cache_free(kvt_work_cache, work);
}

/*
 * Linux's case kmallocs the work. Without KASAN's quarantine, SLUB may hand
 * the freed slot to anyone kmallocing the same size while destroy_workqueue()
 * runs, and the read below is then valid (seen here). A cache of its own
 * keeps the slot free until the read.
 */
static int workqueue_uaf(void)
{
	struct workqueue_struct *wq = create_workqueue("kasan_workqueue_test");
	struct work_struct *work;

	KVT_ASSERT(wq);
	kvt_work_cache = kmem_cache_create("kvt_work", sizeof(*work), 0, 0, NULL);
	work = kvt_work_cache ? kmem_cache_alloc(kvt_work_cache, GFP_KERNEL) : NULL;
	if (!work) {
		kmem_cache_destroy(kvt_work_cache);
		destroy_workqueue(wq);
		return -ENOMEM;
	}
	INIT_WORK(work, workqueue_uaf_work);
	queue_work(wq, work);
	destroy_workqueue(wq);
	OPTIMIZER_HIDE_VAR(work);
	expect_read(SLAB_UAF, 8, work, sizeof(*work));
	kvt_sink_int = (int)atomic_long_read(&work->data);
	kmem_cache_destroy(kvt_work_cache);
	return 0;
}

static int kfree_via_page(void)
{
	char *ptr = kmalloc(8, GFP_KERNEL);
	struct page *page;

	KVT_ASSERT(ptr);
	kvt_expect_none();
	page = virt_to_page(ptr);
	kfree(page_address(page) + offset_in_page(ptr));
	return 0;
}

static int kfree_via_phys(void)
{
	char *ptr = kmalloc(8, GFP_KERNEL);

	KVT_ASSERT(ptr);
	kvt_expect_none();
	kfree(phys_to_virt(virt_to_phys(ptr)));
	return 0;
}

static int kmem_cache_accounted(void)
{
	struct kmem_cache *cache = kmem_cache_create("test_cache", 200, 0, SLAB_ACCOUNT, NULL);
	int i;

	KVT_ASSERT(cache);
	kvt_expect_none();
	for (i = 0; i < 5; i++) {
		void *p = kmem_cache_alloc(cache, GFP_KERNEL);

		if (p)
			kmem_cache_free(cache, p);
	}
	kmem_cache_destroy(cache);
	return 0;
}

/* The bulk APIs have no tracepoint in 6.1: nothing is seen, nothing reported. */
static int kmem_cache_bulk(void)
{
	struct kmem_cache *cache = kmem_cache_create("test_cache", 200, 0, 0, NULL);
	void *p[10];
	int ret, i;

	KVT_ASSERT(cache);
	kvt_expect_none();
	ret = kmem_cache_alloc_bulk(cache, GFP_KERNEL, ARRAY_SIZE(p), p);
	if (!ret) {
		kmem_cache_destroy(cache);
		return -ENOMEM;
	}
	for (i = 0; i < ret; i++)
		kvt_write8(p[i], 0);
	kmem_cache_free_bulk(cache, ret, p);
	kmem_cache_destroy(cache);
	return 0;
}

/*
 * A page freed while kasan-vmm watches, handed out again by the bulk page
 * allocator, which sends no event in 6.1 (vmalloc and VMAP_STACK task stacks
 * use it): the host must see from the struct page that the page is in use
 * and let its new owner write. The freed page heads this CPU's free list, so
 * a bulk allocation on the same CPU gets it back; the case checks that it did.
 */
static int page_reuse_by_bulk(void)
{
	struct page *got[4];
	bool reused = false;
	int tries, i, n;

	kvt_expect_none();
	for (tries = 0; tries < 3 && !reused; tries++) {
		struct page *page;

		memset(got, 0, sizeof(got));
		migrate_disable();
		page = alloc_page(GFP_KERNEL);
		if (page)
			__free_page(page);
		n = page ? alloc_pages_bulk_array(GFP_KERNEL, ARRAY_SIZE(got), got) : 0;
		migrate_enable();
		for (i = 0; i < n; i++) {
			reused |= got[i] == page;
			kvt_write8(page_address(got[i]), 1);
		}
		for (i = 0; i < n; i++)
			__free_page(got[i]);
	}
	KVT_ASSERT(reused);
	return 0;
}

const struct kvt_case kvt_misc_cases[] = {
    KVT_CASE(kmalloc_large_oob_right),
    KVT_CASE(kmalloc_large_uaf),
    KVT_CASE(kmalloc_large_invalid_free),
    KVT_SKIP(page_alloc_oob_right, "tag mode only"),
    KVT_CASE(page_alloc_uaf),
    KVT_CASE(kmalloc_oob_in_memset),
    KVT_CASE(kmalloc_oob_memset_2),
    KVT_CASE(kmalloc_oob_memset_4),
    KVT_CASE(kmalloc_oob_memset_8),
    KVT_CASE(kmalloc_oob_memset_16),
    KVT_SKIP(kmalloc_memmove_negative_size, "an unchecked memmove of 2^64-2 bytes cannot complete"),
    KVT_CASE(kmalloc_memmove_invalid_size),
    KVT_CASE(kasan_memchr),
    KVT_CASE(kasan_memcmp),
    KVT_SKIP(vmalloc_oob,
	     "6.1 has no vmalloc tracepoint: the driver cannot announce vmalloc areas"),
    KVT_CASE(rcu_uaf),
    KVT_CASE(workqueue_uaf),
    KVT_CASE(kfree_via_page),
    KVT_CASE(kfree_via_phys),
    KVT_CASE(kmem_cache_accounted),
    KVT_CASE(kmem_cache_bulk),
    KVT_CASE(page_reuse_by_bulk),
};
const unsigned int kvt_misc_count = ARRAY_SIZE(kvt_misc_cases);
