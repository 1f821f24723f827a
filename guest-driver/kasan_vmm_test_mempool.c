// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The 12 mempool cases of Linux's KASAN tests (names and buggy accesses of
 * tests/guest/scenarios/mempool.c). 6.1 has no mempool_alloc_preallocated()
 * and its mempool KASAN hooks (kasan_slab_free_mempool, kasan_poison_pages)
 * are inline calls compiled out without KASAN: an element parked in a
 * pool's reserve is invisible to kasan-vmm. So the pools here stay full:
 * mempool_alloc() takes a fresh element from the allocator and
 * mempool_free() hands it back to the allocator (the reserve has no room),
 * both through the kmem/page tracepoints. A second or misaligned free is
 * announced through the tracepoint KASAN's hook would have checked, without
 * the free itself, which without KASAN would corrupt SLUB or the buddy lists.
 */
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <trace/events/kmem.h>

#include "kasan_vmm_test.h"

#define KVT_POOL_SIZE  4
#define KVT_LARGE_SIZE (KMALLOC_MAX_CACHE_SIZE + 1)
#define KVT_PAGE_ORDER 2

static int kvt_kmalloc_pool(mempool_t *pool, size_t size)
{
	memset(pool, 0, sizeof(*pool));
	return mempool_init_kmalloc_pool(pool, KVT_POOL_SIZE, size);
}

static struct kmem_cache *kvt_slab_pool(mempool_t *pool, size_t size)
{
	struct kmem_cache *cache = kmem_cache_create("test_cache", size, 0, 0, NULL);

	memset(pool, 0, sizeof(*pool));
	if (cache && mempool_init_slab_pool(pool, KVT_POOL_SIZE, cache)) {
		kmem_cache_destroy(cache);
		return NULL;
	}
	return cache;
}

static noinline int kvt_mempool_oob_right(mempool_t *pool, size_t size, const char *bug)
{
	char *elem = mempool_alloc(pool, GFP_KERNEL);

	KVT_ASSERT(elem);
	OPTIMIZER_HIDE_VAR(elem);
	expect_read(bug, 1, elem, size);
	(void)kvt_read8(elem + size);
	mempool_free(elem, pool);
	return 0;
}

static int mempool_kmalloc_oob_right(void)
{
	size_t size = 128 - KASAN_GRANULE_SIZE - 5;
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, size));
	ret = kvt_mempool_oob_right(&pool, size, SLAB_OOB);
	mempool_exit(&pool);
	return ret;
}

static int mempool_kmalloc_large_oob_right(void)
{
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, KVT_LARGE_SIZE));
	ret = kvt_mempool_oob_right(&pool, KVT_LARGE_SIZE, SLAB_OOB);
	mempool_exit(&pool);
	return ret;
}

static int mempool_slab_oob_right(void)
{
	size_t size = 123;
	mempool_t pool;
	struct kmem_cache *cache = kvt_slab_pool(&pool, size);
	int ret;

	KVT_ASSERT(cache);
	ret = kvt_mempool_oob_right(&pool, size, SLAB_OOB);
	mempool_exit(&pool);
	kmem_cache_destroy(cache);
	return ret;
}

/* Give an element back to the (full) pool, then read its first byte. */
static noinline int kvt_mempool_uaf(mempool_t *pool, bool page, size_t size, const char *bug)
{
	void *elem = mempool_alloc(pool, GFP_KERNEL);
	char *ptr;

	KVT_ASSERT(elem);
	ptr = page ? page_address((struct page *)elem) : elem;
	mempool_free(elem, pool);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(bug, 1, ptr, size);
	(void)kvt_read8(ptr);
	return 0;
}

static int mempool_kmalloc_uaf(void)
{
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, 128));
	ret = kvt_mempool_uaf(&pool, false, 128, SLAB_UAF);
	mempool_exit(&pool);
	return ret;
}

static int mempool_kmalloc_large_uaf(void)
{
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, KVT_LARGE_SIZE));
	ret = kvt_mempool_uaf(&pool, false, KVT_LARGE_SIZE, PAGE_UAF);
	mempool_exit(&pool);
	return ret;
}

static int mempool_slab_uaf(void)
{
	mempool_t pool;
	struct kmem_cache *cache = kvt_slab_pool(&pool, 123);
	int ret;

	KVT_ASSERT(cache);
	ret = kvt_mempool_uaf(&pool, false, 123, SLAB_UAF);
	mempool_exit(&pool);
	kmem_cache_destroy(cache);
	return ret;
}

static int mempool_page_alloc_uaf(void)
{
	mempool_t pool;
	int ret;

	memset(&pool, 0, sizeof(pool));
	KVT_ASSERT(!mempool_init_page_pool(&pool, KVT_POOL_SIZE, KVT_PAGE_ORDER));
	ret = kvt_mempool_uaf(&pool, true, PAGE_SIZE << KVT_PAGE_ORDER, PAGE_UAF);
	mempool_exit(&pool);
	return ret;
}

static noinline int kvt_mempool_double_free(mempool_t *pool, size_t size)
{
	void *elem = mempool_alloc(pool, GFP_KERNEL);

	KVT_ASSERT(elem);
	mempool_free(elem, pool);
	expect_free(DOUBLE_FREE, elem, size);
	kvt_announce_kfree(elem);
	return 0;
}

static int mempool_kmalloc_double_free(void)
{
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, 128));
	ret = kvt_mempool_double_free(&pool, 128);
	mempool_exit(&pool);
	return ret;
}

static int mempool_kmalloc_large_double_free(void)
{
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, KVT_LARGE_SIZE));
	ret = kvt_mempool_double_free(&pool, KVT_LARGE_SIZE);
	mempool_exit(&pool);
	return ret;
}

#ifndef MODULE
/* A page pool frees through __free_pages(): its tracepoint is mm_page_free. */
static int mempool_page_alloc_double_free(void)
{
	mempool_t pool;
	struct page *elem;

	memset(&pool, 0, sizeof(pool));
	KVT_ASSERT(!mempool_init_page_pool(&pool, KVT_POOL_SIZE, KVT_PAGE_ORDER));
	elem = mempool_alloc(&pool, GFP_KERNEL);
	if (elem) {
		mempool_free(elem, &pool);
		expect_free(DOUBLE_FREE, page_address(elem), PAGE_SIZE << KVT_PAGE_ORDER);
		trace_mm_page_free(elem, KVT_PAGE_ORDER);
	}
	mempool_exit(&pool);
	KVT_ASSERT(elem);
	return 0;
}
#endif

/* The slab case frees elem + 1 only in the tracepoint; a large one for real. */
static noinline int kvt_mempool_invalid_free(mempool_t *pool, size_t size, bool large)
{
	char *elem = mempool_alloc(pool, GFP_KERNEL);

	KVT_ASSERT(elem);
	expect_free(INVALID_FREE, elem, size);
	if (large) { /* 6.1 frees the whole large allocation from any pointer into it */
		mempool_free(elem + 1, pool);
		return 0;
	}
	kvt_announce_kfree(elem + 1);
	mempool_free(elem, pool);
	return 0;
}

static int mempool_kmalloc_invalid_free(void)
{
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, 128));
	ret = kvt_mempool_invalid_free(&pool, 128, false);
	mempool_exit(&pool);
	return ret;
}

static int mempool_kmalloc_large_invalid_free(void)
{
	mempool_t pool;
	int ret;

	KVT_ASSERT(!kvt_kmalloc_pool(&pool, KVT_LARGE_SIZE));
	ret = kvt_mempool_invalid_free(&pool, KVT_LARGE_SIZE, true);
	mempool_exit(&pool);
	return ret;
}

const struct kvt_case kvt_mempool_cases[] = {
    KVT_CASE(mempool_kmalloc_oob_right),
    KVT_CASE(mempool_kmalloc_large_oob_right),
    KVT_CASE(mempool_slab_oob_right),
    KVT_CASE(mempool_kmalloc_uaf),
    KVT_CASE(mempool_kmalloc_large_uaf),
    KVT_CASE(mempool_slab_uaf),
    KVT_CASE(mempool_page_alloc_uaf),
    KVT_CASE(mempool_kmalloc_double_free),
    KVT_CASE(mempool_kmalloc_large_double_free),
#ifndef MODULE
    KVT_CASE(mempool_page_alloc_double_free),
#else
    KVT_SKIP(mempool_page_alloc_double_free,
	     "the mm_page_free tracepoint is not exported to modules"),
#endif
    KVT_CASE(mempool_kmalloc_invalid_free),
    KVT_CASE(mempool_kmalloc_large_invalid_free),
};
const unsigned int kvt_mempool_count = ARRAY_SIZE(kvt_mempool_cases);
