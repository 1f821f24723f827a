/* SPDX-License-Identifier: MIT */
/*
 * krealloc (growing and shrinking, slab and large) and ksize scenarios.
 * After krealloc the valid range is exactly the new size: generic KASAN is
 * byte-precise, so the first byte past it and the next granule are bad.
 */
#include "scenario.h"

/* Reports for a store at each offset of offs[] into ptr (object of size). */
static __always_inline void oob_stores(char *ptr, size_t size, const size_t *offs, int n)
{
	const char *bug = size > KMALLOC_MAX_CACHE_SIZE ? LARGE_OOB : SLAB_OOB;

	for (int i = 0; i < n; i++) {
		expect_write(bug, 1, ptr, size);
		write8(ptr + offs[i], 'x');
	}
}

static noinline int krealloc_more_oob_helper(size_t size1, size_t size2)
{
	size_t middle = size1 + (size2 - size1) / 2;
	size_t bad[] = {size2, round_up(size2, KASAN_GRANULE_SIZE)};
	char *ptr1, *ptr2;

	ptr1 = kmalloc(size1, GFP_KERNEL);
	TEST_ASSERT(ptr1);
	ptr2 = krealloc(ptr1, size2, GFP_KERNEL);
	TEST_ASSERT(ptr2);
	OPTIMIZER_HIDE_VAR(ptr2);
	/* Everything below size2 is valid now. */
	write8(ptr2 + size1 - 1, 'x');
	write8(ptr2 + size1, 'x');
	write8(ptr2 + middle, 'x');
	write8(ptr2 + size2 - 1, 'x');
	/* tag modes are not byte-precise: only the first aligned offset past size2 */
	if (scenario_tag_mode())
		oob_stores(ptr2, size2, bad + 1, ARRAY_SIZE(bad) - 1);
	else
		oob_stores(ptr2, size2, bad, ARRAY_SIZE(bad));
	kfree(ptr2);
	return 0;
}

static noinline int krealloc_less_oob_helper(size_t size1, size_t size2)
{
	size_t middle = size2 + (size1 - size2) / 2;
	size_t bad[] = {size2, round_up(size2, KASAN_GRANULE_SIZE), middle, size1 - 1, size1};
	char *ptr1, *ptr2;

	ptr1 = kmalloc(size1, GFP_KERNEL);
	TEST_ASSERT(ptr1);
	ptr2 = krealloc(ptr1, size2, GFP_KERNEL);
	TEST_ASSERT(ptr2);
	OPTIMIZER_HIDE_VAR(ptr2);
	write8(ptr2 + size2 - 1, 'x');
	if (scenario_tag_mode()) /* ptr2[size2] shares the last valid granule */
		oob_stores(ptr2, size2, bad + 1, ARRAY_SIZE(bad) - 1);
	else
		oob_stores(ptr2, size2, bad, ARRAY_SIZE(bad));
	kfree(ptr2);
	return 0;
}

TESTCASE(krealloc_more_oob)
{
	return krealloc_more_oob_helper(201, 235);
}

TESTCASE(krealloc_less_oob)
{
	return krealloc_less_oob_helper(235, 201);
}

/* Large kmalloc: the bad bytes are page redzone (0xFE), still slab-out-of-bounds. */
TESTCASE(krealloc_large_more_oob)
{
	return krealloc_more_oob_helper(KMALLOC_MAX_CACHE_SIZE + 201, KMALLOC_MAX_CACHE_SIZE + 235);
}

TESTCASE(krealloc_large_less_oob)
{
	return krealloc_less_oob_helper(KMALLOC_MAX_CACHE_SIZE + 235, KMALLOC_MAX_CACHE_SIZE + 201);
}

/*
 * krealloc of a freed object: like Linux's kasan_check_byte() in krealloc,
 * the allocator reports a 1-byte read of ptr1[0] and returns NULL; then a
 * plain read of the freed object.
 */
TESTCASE(krealloc_uaf)
{
	size_t size1 = 201, size2 = 235;
	char *ptr1, *ptr2;

	ptr1 = kmalloc(size1, GFP_KERNEL);
	TEST_ASSERT(ptr1);
	kfree(ptr1);
	expect_read(SLAB_UAF, 1, ptr1, size1);
	ptr2 = krealloc(ptr1, size2, GFP_KERNEL);
	TEST_ASSERT(!ptr2);
	OPTIMIZER_HIDE_VAR(ptr1);
	expect_read(SLAB_UAF, 1, ptr1, size1);
	read8(ptr1);
	return 0;
}

/*
 * ksize() makes the whole slot valid (Linux 6.1 semantics, as mm.h
 * documents): the byte past the requested size is fine afterwards, the byte
 * past ksize() is not. (Linux >= 6.2 reversed this; see README.md.)
 */
TESTCASE(ksize_unpoisons_memory)
{
	size_t size = 123, real_size;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	real_size = ksize(ptr);
	TEST_ASSERT(real_size > size);
	OPTIMIZER_HIDE_VAR(ptr);
	/* Valid after ksize(): no report. */
	write8(ptr + size, 'x');
	write8(ptr + real_size - 1, 'x');
	expect_read(SLAB_OOB, 1, ptr, real_size);
	read8(ptr + real_size);
	kfree(ptr);
	return 0;
}

/* ksize() of a freed object reports (1-byte check of ptr[0]), then plain reads. */
TESTCASE(ksize_uaf)
{
	size_t size = 128 - KASAN_GRANULE_SIZE;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	ksize(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	read8(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	read8(ptr + size);
	return 0;
}
