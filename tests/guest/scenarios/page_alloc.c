/* SPDX-License-Identifier: MIT */
/*
 * Scenarios on page-backed memory: large kmalloc (above the biggest kmalloc
 * cache, served by the buddy allocator) and alloc_pages. Freed pages stay in
 * the direct map, so the use-after-free reads are safe to complete.
 */
#include "scenario.h"

#define LARGE_SIZE (KMALLOC_MAX_CACHE_SIZE + 10)

TESTCASE(kmalloc_large_oob_right)
{
	char *ptr = kmalloc(LARGE_SIZE, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	/* Inside the last page of the block: page redzone (0xFE). */
	expect_write(LARGE_OOB, 1, ptr, LARGE_SIZE);
	write8(ptr + LARGE_SIZE + OOB_TAG_OFF, 0);
	kfree(ptr);
	return 0;
}

TESTCASE(kmalloc_large_uaf)
{
	char *ptr = kmalloc(LARGE_SIZE, GFP_KERNEL);

	TEST_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(PAGE_UAF, 1, ptr, LARGE_SIZE);
	read8(ptr);
	return 0;
}

TESTCASE(kmalloc_large_invalid_free)
{
	char *ptr = kmalloc(LARGE_SIZE, GFP_KERNEL);

	TEST_ASSERT(ptr);
	expect_free(INVALID_FREE, ptr, LARGE_SIZE);
	kfree(ptr + 1);
	/* The bad free was refused; free it properly (Linux leaks it). */
	kfree(ptr);
	return 0;
}

/* Generic mode puts no redzone after pages: tag modes only, as in Linux. */
TESTCASE_TAGS_ONLY(page_alloc_oob_right)
{
	unsigned int order = 4;
	size_t size = PAGE_SIZE << order;
	struct page *pages = alloc_pages(GFP_KERNEL, order);
	char *ptr;

	TEST_ASSERT(pages);
	ptr = page_address(pages);
	OPTIMIZER_HIDE_VAR(ptr);
	/*
	 * ptr[size] is the next block: allocated (another tag) or never freed
	 * to kasan-vmm; only a free block there has TAG_INVALID. Linux finds it
	 * by the pointer's tag, which x86 pointers lack.
	 */
	expect_needs_pointer_tags(TAG_MISMATCH, KV_READ, 1,
				  "the next pages hold a valid tag of their own");
	write8(ptr, read8(ptr + size));
	free_pages((unsigned long)ptr, order);
	return 0;
}

TESTCASE(page_alloc_uaf)
{
	unsigned int order = 4;
	struct page *pages = alloc_pages(GFP_KERNEL, order);
	char *ptr;

	TEST_ASSERT(pages);
	ptr = page_address(pages);
	free_pages((unsigned long)ptr, order);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(PAGE_UAF, 1, ptr, PAGE_SIZE << order);
	read8(ptr);
	return 0;
}
