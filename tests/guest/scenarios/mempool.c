/* SPDX-License-Identifier: MIT */
/*
 * mempool scenarios: elements taken from the reserve, then accessed out of
 * bounds, after being returned to the pool, or returned twice / through a
 * bad pointer. Pools hold 4 elements; kmalloc and page pools keep one extra
 * element out so that frees refill the reserve instead of freeing.
 */
#include "scenario.h"

#define POOL_SIZE  4
#define LARGE_SIZE (KMALLOC_MAX_CACHE_SIZE + 1)
#define PAGE_ORDER 2

static void *prepare_kmalloc(mempool_t *pool, size_t size)
{
	memset(pool, 0, sizeof(*pool));
	if (mempool_init_kmalloc_pool(pool, POOL_SIZE, size))
		return NULL;
	return mempool_alloc_preallocated(pool);
}

static struct kmem_cache *prepare_slab(mempool_t *pool, size_t size)
{
	/* tag modes align slab objects to the granule (ARCH_SLAB_MINALIGN); so do we */
	struct kmem_cache *cache = kmem_cache_create("test_cache", size, OOB_TAG_OFF, 0, NULL);

	memset(pool, 0, sizeof(*pool));
	if (cache && mempool_init_slab_pool(pool, POOL_SIZE, cache)) {
		kmem_cache_destroy(cache);
		return NULL;
	}
	return cache;
}

static void *prepare_page(mempool_t *pool)
{
	memset(pool, 0, sizeof(*pool));
	if (mempool_init_page_pool(pool, POOL_SIZE, PAGE_ORDER))
		return NULL;
	return mempool_alloc_preallocated(pool);
}

static __always_inline int oob_right(mempool_t *pool, size_t size, const char *bug)
{
	char *elem = mempool_alloc_preallocated(pool);

	TEST_ASSERT(elem);
	OPTIMIZER_HIDE_VAR(elem);
	expect_read(bug, 1, elem, size);
	/* tag modes: the first granule past the object (Linux's mempool_oob_right_helper) */
	read8(elem + (scenario_tag_mode() ? round_up(size, KASAN_GRANULE_SIZE) : size));
	mempool_free(elem, pool);
	return 0;
}

TESTCASE(mempool_kmalloc_oob_right)
{
	size_t size = 128 - KASAN_GRANULE_SIZE - 5;
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, size);
	int rc;

	TEST_ASSERT(extra);
	rc = oob_right(&pool, size, SLAB_OOB);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

TESTCASE(mempool_kmalloc_large_oob_right)
{
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, LARGE_SIZE);
	int rc;

	TEST_ASSERT(extra);
	rc = oob_right(&pool, LARGE_SIZE, LARGE_OOB);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

TESTCASE(mempool_slab_oob_right)
{
	size_t size = 123;
	mempool_t pool;
	struct kmem_cache *cache = prepare_slab(&pool, size);
	int rc;

	TEST_ASSERT(cache);
	rc = oob_right(&pool, size, SLAB_OOB);
	mempool_exit(&pool);
	kmem_cache_destroy(cache);
	return rc;
}

/* Return an element to the pool, then read its first byte. */
static __always_inline int uaf(mempool_t *pool, bool page, size_t size, const char *bug)
{
	char *elem = mempool_alloc_preallocated(pool), *ptr;

	TEST_ASSERT(elem);
	mempool_free(elem, pool);
	ptr = page ? page_address((struct page *)elem) : elem;
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(bug, 1, ptr, size);
	read8(ptr);
	return 0;
}

TESTCASE(mempool_kmalloc_uaf)
{
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, 128);
	int rc;

	TEST_ASSERT(extra);
	rc = uaf(&pool, false, 128, SLAB_UAF);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

TESTCASE(mempool_kmalloc_large_uaf)
{
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, LARGE_SIZE);
	int rc;

	TEST_ASSERT(extra);
	rc = uaf(&pool, false, LARGE_SIZE, PAGE_UAF);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

TESTCASE(mempool_slab_uaf)
{
	mempool_t pool;
	struct kmem_cache *cache = prepare_slab(&pool, 123);
	int rc;

	TEST_ASSERT(cache);
	rc = uaf(&pool, false, 123, SLAB_UAF);
	mempool_exit(&pool);
	kmem_cache_destroy(cache);
	return rc;
}

TESTCASE(mempool_page_alloc_uaf)
{
	mempool_t pool;
	void *extra = prepare_page(&pool);
	int rc;

	TEST_ASSERT(extra);
	rc = uaf(&pool, true, PAGE_SIZE << PAGE_ORDER, PAGE_UAF);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

/* The second mempool_free of one element is reported and not applied. */
static __always_inline int double_free(mempool_t *pool, bool page, size_t size)
{
	void *elem = mempool_alloc_preallocated(pool);

	TEST_ASSERT(elem);
	mempool_free(elem, pool);
	expect_free(DOUBLE_FREE, page ? page_address(elem) : elem, size);
	mempool_free(elem, pool);
	return 0;
}

TESTCASE(mempool_kmalloc_double_free)
{
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, 128);
	int rc;

	TEST_ASSERT(extra);
	rc = double_free(&pool, false, 128);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

TESTCASE(mempool_kmalloc_large_double_free)
{
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, LARGE_SIZE);
	int rc;

	TEST_ASSERT(extra);
	rc = double_free(&pool, false, LARGE_SIZE);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

TESTCASE(mempool_page_alloc_double_free)
{
	mempool_t pool;
	void *extra = prepare_page(&pool);
	int rc;

	TEST_ASSERT(extra);
	rc = double_free(&pool, true, PAGE_SIZE << PAGE_ORDER);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

static __always_inline int invalid_free(mempool_t *pool, size_t size)
{
	char *elem = mempool_alloc_preallocated(pool);

	TEST_ASSERT(elem);
	expect_free(INVALID_FREE, elem, size);
	mempool_free(elem + 1, pool);
	mempool_free(elem, pool);
	return 0;
}

TESTCASE(mempool_kmalloc_invalid_free)
{
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, 128);
	int rc;

	TEST_ASSERT(extra);
	rc = invalid_free(&pool, 128);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}

TESTCASE(mempool_kmalloc_large_invalid_free)
{
	mempool_t pool;
	void *extra = prepare_kmalloc(&pool, LARGE_SIZE);
	int rc;

	TEST_ASSERT(extra);
	rc = invalid_free(&pool, LARGE_SIZE);
	mempool_free(extra, &pool);
	mempool_exit(&pool);
	return rc;
}
