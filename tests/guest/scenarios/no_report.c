/* SPDX-License-Identifier: MIT */
/*
 * Must-not-report cases: correct code paths that a sanitizer must accept
 * (frees through an equivalent address, accounted caches, bulk alloc/free).
 */
#include "scenario.h"

TESTCASE(kfree_via_page)
{
	char *ptr = kmalloc(8, GFP_KERNEL);
	struct page *page;

	TEST_ASSERT(ptr);
	expect_none();
	page = virt_to_page(ptr);
	kfree((char *)page_address(page) + offset_in_page(ptr));
	return 0;
}

TESTCASE(kfree_via_phys)
{
	char *ptr = kmalloc(8, GFP_KERNEL);

	TEST_ASSERT(ptr);
	expect_none();
	kfree(phys_to_virt(virt_to_phys(ptr)));
	return 0;
}

/* Linux sleeps 100 ms between rounds for lazy memcg caches; nothing to wait for here. */
TESTCASE(kmem_cache_accounted)
{
	struct kmem_cache *cache = kmem_cache_create("test_cache", 200, 0, SLAB_ACCOUNT, NULL);

	TEST_ASSERT(cache);
	expect_none();
	for (int i = 0; i < 5; i++) {
		char *p = kmem_cache_alloc(cache, GFP_KERNEL);

		if (!p)
			break;
		kmem_cache_free(cache, p);
	}
	kmem_cache_destroy(cache);
	return 0;
}

TESTCASE(kmem_cache_bulk)
{
	size_t size = 200;
	struct kmem_cache *cache = kmem_cache_create("test_cache", size, 0, 0, NULL);
	char *p[10];

	TEST_ASSERT(cache);
	expect_none();
	if (!kmem_cache_alloc_bulk(cache, GFP_KERNEL, ARRAY_SIZE(p), (void **)p)) {
		kmem_cache_destroy(cache);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
		write8(p[i], 42);
		write8(p[i] + size - 1, 42);
	}
	kmem_cache_free_bulk(cache, ARRAY_SIZE(p), (void **)p);
	kmem_cache_destroy(cache);
	return 0;
}
