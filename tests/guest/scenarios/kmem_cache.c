/* SPDX-License-Identifier: MIT */
/*
 * kmem_cache scenarios: out-of-bounds, double and invalid free, use after an
 * RCU-delayed free, double destroy. Cache "test_cache" of 200-byte objects.
 */
#include "scenario.h"

#define CACHE_OBJ_SIZE 200

static struct kmem_cache *test_cache(unsigned int flags)
{
	return kmem_cache_create("test_cache", CACHE_OBJ_SIZE, 0, flags, NULL);
}

TESTCASE(kmem_cache_oob)
{
	struct kmem_cache *cache = test_cache(0);
	char *p;

	TEST_ASSERT(cache);
	p = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!p) {
		kmem_cache_destroy(cache);
		return 1;
	}
	expect_read(SLAB_OOB, 1, p, CACHE_OBJ_SIZE);
	write8(p, read8(p + CACHE_OBJ_SIZE + OOB_TAG_OFF));
	kmem_cache_free(cache, p);
	kmem_cache_destroy(cache);
	return 0;
}

TESTCASE(kmem_cache_double_free)
{
	struct kmem_cache *cache = test_cache(0);
	char *p;

	TEST_ASSERT(cache);
	p = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!p) {
		kmem_cache_destroy(cache);
		return 1;
	}
	kmem_cache_free(cache, p);
	expect_free(DOUBLE_FREE, p, CACHE_OBJ_SIZE);
	kmem_cache_free(cache, p);
	kmem_cache_destroy(cache);
	return 0;
}

TESTCASE(kmem_cache_invalid_free)
{
	struct kmem_cache *cache = test_cache(SLAB_TYPESAFE_BY_RCU);
	char *p;

	TEST_ASSERT(cache);
	p = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!p) {
		kmem_cache_destroy(cache);
		return 1;
	}
	expect_free(INVALID_FREE, p, CACHE_OBJ_SIZE);
	kmem_cache_free(cache, p + 1);
	/* The bad free was refused: free the object for real. */
	kmem_cache_free(cache, p);
	kmem_cache_destroy(cache);
	return 0;
}

/*
 * SLAB_TYPESAFE_BY_RCU (Linux's CONFIG_SLUB_RCU_DEBUG variant): the object
 * stays valid until a grace period has passed after kmem_cache_free.
 */
TESTCASE(kmem_cache_rcu_uaf)
{
	struct kmem_cache *cache = test_cache(SLAB_TYPESAFE_BY_RCU);
	char *p;

	TEST_ASSERT(cache);
	p = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!p) {
		kmem_cache_destroy(cache);
		return 1;
	}
	write8(p, 1);
	rcu_read_lock();
	kmem_cache_free(cache, p);
	read8(p); /* still inside the read-side section: valid */
	rcu_read_unlock();
	rcu_barrier();
	expect_read(SLAB_UAF, 1, p, CACHE_OBJ_SIZE);
	read8(p);
	kmem_cache_destroy(cache);
	return 0;
}

/*
 * The second destroy checks the (freed) cache descriptor like Linux's
 * kasan_check_byte(s): a 1-byte read of a freed object. Its size is private
 * to the allocator; the object line gives size 0.
 */
TESTCASE(kmem_cache_double_destroy)
{
	struct kmem_cache *cache = test_cache(SLAB_NO_MERGE);

	TEST_ASSERT(cache);
	kmem_cache_destroy(cache);
	expect_read(SLAB_UAF, 1, cache, 0);
	kmem_cache_destroy(cache);
	return 0;
}
