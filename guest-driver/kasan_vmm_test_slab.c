// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Slab scenarios: kmalloc, krealloc, ksize and kmem_cache cases of Linux's
 * KASAN tests. Without KASAN the bad accesses really happen, so:
 * - out-of-bounds writes stay inside the object's slot (slack bytes), the
 *   out-of-bounds reads may leave it;
 * - use-after-free writes stop short of SLUB's free pointer (the middle of
 *   the object in 6.1) and run with interrupts off, so nothing on this CPU
 *   takes the slot in between;
 * - a double or invalid free is announced through the kfree/kmem_cache_free
 *   tracepoint without calling the allocator, which without KASAN would
 *   corrupt its freelist or BUG().
 */
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
/* No CREATE_TRACE_POINTS: trace_kfree() and friends call the registered probes. */
#include <trace/events/kmem.h>

#include "kasan_vmm_test.h"

/* What KASAN's free hook sees for a second free, without the free. */
noinline void kvt_announce_kfree(const void *p)
{
	trace_kfree(_RET_IP_, p);
}

static noinline void kvt_announce_cache_free(struct kmem_cache *s, const void *p)
{
	trace_kmem_cache_free(_RET_IP_, p, s);
}

static int kmalloc_oob_right(void)
{
	size_t size = 128 - KASAN_GRANULE_SIZE - 5;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr + size, 'x');
	expect_write(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr + size + 5, 'y');
	/* Past the 128-byte slot: a read only. */
	expect_read(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr, kvt_read8(ptr + size + KASAN_GRANULE_SIZE + 5));
	kfree(ptr);
	return 0;
}

static int kmalloc_oob_left(void)
{
	size_t size = 15;
	char *first = kmalloc(size, GFP_KERNEL), *ptr = first;

	KVT_ASSERT(ptr);
	/* ptr[-1] should be the previous slot, not the page before the slab. */
	if (!offset_in_page(ptr))
		ptr = kmalloc(size, GFP_KERNEL);
	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr, kvt_read8(ptr - 1));
	if (ptr != first)
		kfree(ptr);
	kfree(first);
	return 0;
}

static int kmalloc_node_oob_right(void)
{
	size_t size = 4096;
	char *ptr = kmalloc_node(size, GFP_KERNEL, 0);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr, kvt_read8(ptr + size));
	kfree(ptr);
	return 0;
}

static int kmalloc_track_caller_oob_right(void)
{
	size_t size = 128 - KASAN_GRANULE_SIZE;
	char *ptr = kmalloc_track_caller(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr + size, 'y');
	kfree(ptr);
	ptr = kmalloc_node_track_caller(size, GFP_KERNEL, 0);
	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr + size, 'y');
	kfree(ptr);
	return 0;
}

static int kmalloc_big_oob_right(void)
{
	size_t size = KMALLOC_MAX_CACHE_SIZE - 256;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	kvt_write8(ptr + size, 0);
	kfree(ptr);
	return 0;
}

static int kmalloc_oob_16(void)
{
	u64 *ptr1 = kmalloc(16 - 3, GFP_KERNEL), *ptr2 = kmalloc(16, GFP_KERNEL);

	KVT_ASSERT(ptr1 && ptr2);
	OPTIMIZER_HIDE_VAR(ptr1);
	/* A 16-byte copy as two 8-byte stores: the second one is bad. */
	WRITE_ONCE(ptr1[0], READ_ONCE(ptr2[0]));
	expect_write(SLAB_OOB, 8, ptr1, 16 - 3);
	WRITE_ONCE(ptr1[1], READ_ONCE(ptr2[1]));
	kfree(ptr1);
	kfree(ptr2);
	return 0;
}

static int kmalloc_uaf(void)
{
	size_t size = 10;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_read8(ptr + 8);
	return 0;
}

static int kmalloc_uaf_16(void)
{
	u64 *ptr1 = kmalloc(16, GFP_KERNEL), *ptr2 = kmalloc(16, GFP_KERNEL);

	KVT_ASSERT(ptr1 && ptr2);
	kfree(ptr2);
	OPTIMIZER_HIDE_VAR(ptr2);
	expect_read(SLAB_UAF, 8, ptr2, 16);
	WRITE_ONCE(ptr1[0], READ_ONCE(ptr2[0]));
	expect_read(SLAB_UAF, 8, ptr2, 16);
	WRITE_ONCE(ptr1[1], READ_ONCE(ptr2[1]));
	kfree(ptr1);
	return 0;
}

static int kmalloc_uaf_memset(void)
{
	size_t size = 33, len = 32; /* kmalloc-64: the free pointer is at 32 */
	unsigned long flags;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	local_irq_save(flags);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_UAF, len, ptr, size);
	memset(ptr, 0, len);
	local_irq_restore(flags);
	return 0;
}

static int kmalloc_uaf2(void)
{
	size_t size = 43;
	char *ptr1 = kmalloc(size, GFP_KERNEL), *ptr2;

	KVT_ASSERT(ptr1);
	kfree(ptr1);
	ptr2 = kmalloc(size, GFP_KERNEL);
	KVT_ASSERT(ptr2);
	if (ptr1 == ptr2) { /* SLUB handed the slot straight back: no UAF to see */
		pr_info("    # kmalloc_uaf2: freed slot reused at once (no quarantine)\n");
		kfree(ptr2);
		return -EAGAIN;
	}
	OPTIMIZER_HIDE_VAR(ptr1);
	expect_read(SLAB_UAF, 1, ptr1, size);
	kvt_read8(ptr1 + 40);
	kfree(ptr2);
	return 0;
}

static int kmalloc_double_kzfree(void)
{
	size_t size = 16;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	kfree_sensitive(ptr);
	expect_free(DOUBLE_FREE, ptr, size);
	kvt_announce_kfree(ptr);
	return 0;
}

static noinline int krealloc_more_oob_helper(size_t size1, size_t size2)
{
	size_t bad[] = {size2, round_up(size2, KASAN_GRANULE_SIZE)};
	char *ptr1 = kmalloc(size1, GFP_KERNEL), *ptr2;
	unsigned int i;

	KVT_ASSERT(ptr1);
	ptr2 = krealloc(ptr1, size2, GFP_KERNEL);
	if (!ptr2)
		kfree(ptr1);
	KVT_ASSERT(ptr2);
	OPTIMIZER_HIDE_VAR(ptr2);
	kvt_write8(ptr2 + size1, 'x');
	kvt_write8(ptr2 + size2 - 1, 'x');
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		expect_write(SLAB_OOB, 1, ptr2, size2);
		kvt_write8(ptr2 + bad[i], 'x');
	}
	kfree(ptr2);
	return 0;
}

static noinline int krealloc_less_oob_helper(size_t size1, size_t size2)
{
	size_t middle = size2 + (size1 - size2) / 2;
	size_t bad[] = {size2, round_up(size2, KASAN_GRANULE_SIZE), middle, size1 - 1, size1};
	char *ptr1 = kmalloc(size1, GFP_KERNEL), *ptr2;
	unsigned int i;

	KVT_ASSERT(ptr1);
	ptr2 = krealloc(ptr1, size2, GFP_KERNEL);
	if (!ptr2)
		kfree(ptr1);
	KVT_ASSERT(ptr2);
	OPTIMIZER_HIDE_VAR(ptr2);
	kvt_write8(ptr2 + size2 - 1, 'x');
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		expect_write(SLAB_OOB, 1, ptr2, size2);
		kvt_write8(ptr2 + bad[i], 'x');
	}
	kfree(ptr2);
	return 0;
}

static int krealloc_more_oob(void)
{
	return krealloc_more_oob_helper(201, 235);
}

static int krealloc_less_oob(void)
{
	return krealloc_less_oob_helper(235, 201);
}

static int krealloc_large_more_oob(void)
{
	return krealloc_more_oob_helper(KMALLOC_MAX_CACHE_SIZE + 201, KMALLOC_MAX_CACHE_SIZE + 235);
}

static int krealloc_large_less_oob(void)
{
	return krealloc_less_oob_helper(KMALLOC_MAX_CACHE_SIZE + 235, KMALLOC_MAX_CACHE_SIZE + 201);
}

/*
 * krealloc of a freed object: 6.1 without KASAN reads only the slab
 * metadata and hands the stale pointer back (never free the alias: it is
 * already free). The driver's krealloc kretprobe (CONFIG_KRETPROBES) sends
 * that as an in-place KREALLOC, which the host reports as KASAN's krealloc
 * check would; without it only the plain read is seen.
 */
static int krealloc_uaf(void)
{
	size_t size1 = 201, size2 = 235;
	char *ptr1 = kmalloc(size1, GFP_KERNEL), *ptr2;

	KVT_ASSERT(ptr1);
	kfree(ptr1);
	if (IS_ENABLED(CONFIG_KRETPROBES))
		expect_read(SLAB_UAF, 1, ptr1, size1);
	ptr2 = krealloc(ptr1, size2, GFP_KERNEL);
	OPTIMIZER_HIDE_VAR(ptr2);
	OPTIMIZER_HIDE_VAR(ptr1);
	expect_read(SLAB_UAF, 1, ptr1, size1);
	kvt_read8(ptr1);
	return 0;
}

/* 6.1 semantics: ksize() makes the slot valid; the byte past it is not. */
static int ksize_unpoisons_memory(void)
{
	size_t size = 123, real_size;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	real_size = ksize(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	kvt_write8(ptr + size, 'x');
	kvt_write8(ptr + real_size - 1, 'x');
	expect_read(SLAB_OOB, 1, ptr, real_size);
	kvt_read8(ptr + real_size);
	kfree(ptr);
	return 0;
}

/* Without KASAN ksize() does not touch the object: the host judges its KSIZE event. */
static int ksize_uaf(void)
{
	size_t size = 128 - KASAN_GRANULE_SIZE;
	char *ptr = kmalloc(size, GFP_KERNEL);

	KVT_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	/* ksize() of a freed object: the driver's KSIZE event (kretprobe), judged by the host */
	if (IS_ENABLED(CONFIG_KRETPROBES))
		expect_read(SLAB_UAF, 1, ptr, size);
	ksize(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_read8(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_read8(ptr + size);
	return 0;
}

#define CACHE_OBJ_SIZE 200

static void kvt_ctor(void *p)
{
}

static int kmem_cache_oob(void)
{
	struct kmem_cache *cache = kmem_cache_create("test_cache", CACHE_OBJ_SIZE, 0, 0, NULL);
	char *p;

	KVT_ASSERT(cache);
	p = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!p) {
		kmem_cache_destroy(cache);
		return -ENOMEM;
	}
	expect_read(SLAB_OOB, 1, p, CACHE_OBJ_SIZE);
	kvt_write8(p, kvt_read8(p + CACHE_OBJ_SIZE));
	kmem_cache_free(cache, p);
	kmem_cache_destroy(cache);
	return 0;
}

static int kmem_cache_double_free(void)
{
	struct kmem_cache *cache = kmem_cache_create("test_cache", CACHE_OBJ_SIZE, 0, 0, NULL);
	char *p;

	KVT_ASSERT(cache);
	p = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!p) {
		kmem_cache_destroy(cache);
		return -ENOMEM;
	}
	kmem_cache_free(cache, p);
	expect_free(DOUBLE_FREE, p, CACHE_OBJ_SIZE);
	kvt_announce_cache_free(cache, p);
	kmem_cache_destroy(cache);
	return 0;
}

static int kmem_cache_invalid_free(void)
{
	struct kmem_cache *cache =
	    kmem_cache_create("test_cache", CACHE_OBJ_SIZE, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	char *p;

	KVT_ASSERT(cache);
	p = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!p) {
		kmem_cache_destroy(cache);
		return -ENOMEM;
	}
	expect_free(INVALID_FREE, p, CACHE_OBJ_SIZE);
	kvt_announce_cache_free(cache, p + 1);
	kmem_cache_free(cache, p);
	kmem_cache_destroy(cache);
	return 0;
}

/*
 * Linux's second kmem_cache_destroy() checks one byte of the freed struct
 * kmem_cache; without KASAN it would go on and decrement its refcount, so the
 * check byte is read here instead. A ctor keeps the cache from being merged
 * (its struct is really freed); its size is private: size 0.
 */
static int kmem_cache_double_destroy(void)
{
	struct kmem_cache *cache = kmem_cache_create("test_cache", CACHE_OBJ_SIZE, 0, 0, kvt_ctor);

	KVT_ASSERT(cache);
	kmem_cache_destroy(cache);
	OPTIMIZER_HIDE_VAR(cache);
	expect_read(SLAB_UAF, 1, cache, 0);
	kvt_read8(cache);
	return 0;
}

const struct kvt_case kvt_slab_cases[] = {
    KVT_CASE(kmalloc_oob_right),
    KVT_CASE(kmalloc_oob_left),
    KVT_CASE(kmalloc_node_oob_right),
    KVT_CASE(kmalloc_track_caller_oob_right),
    KVT_CASE(kmalloc_big_oob_right),
    KVT_CASE(kmalloc_oob_16),
    KVT_CASE(kmalloc_uaf),
    KVT_CASE(kmalloc_uaf_16),
    KVT_CASE(kmalloc_uaf_memset),
    KVT_CASE(kmalloc_uaf2),
    KVT_SKIP(kmalloc_uaf3, "tag mode only"),
    KVT_CASE(kmalloc_double_kzfree),
    KVT_CASE(krealloc_more_oob),
    KVT_CASE(krealloc_less_oob),
    KVT_CASE(krealloc_large_more_oob),
    KVT_CASE(krealloc_large_less_oob),
    KVT_CASE(krealloc_uaf),
    KVT_CASE(ksize_unpoisons_memory),
    KVT_CASE(ksize_uaf),
    KVT_CASE(kmem_cache_oob),
    KVT_CASE(kmem_cache_double_free),
    KVT_CASE(kmem_cache_invalid_free),
    KVT_SKIP(kmem_cache_rcu_uaf, "needs CONFIG_SLUB_RCU_DEBUG (Linux >= 6.12)"),
    KVT_CASE(kmem_cache_double_destroy),
};
const unsigned int kvt_slab_count = ARRAY_SIZE(kvt_slab_cases);
