/* SPDX-License-Identifier: MIT */
/*
 * mempool, as in Linux: the reserve holds min_nr elements that are "freed"
 * from KASAN's view (a free event when one enters the reserve, an alloc
 * event when one leaves it); mempool_alloc prefers the underlying allocator.
 * Elements of a page pool are struct page *.
 */
#include "mm_internal.h"
#include "string.h"

enum pool_kind { POOL_KMALLOC = 1, POOL_SLAB, POOL_PAGE };

static void *elem_new(mempool_t *pool, gfp_t gfp, u64 fp)
{
	switch (pool->kind) {
	case POOL_KMALLOC:
		return __kmalloc((size_t)pool->pool_data, gfp, fp);
	case POOL_SLAB:
		return slab_alloc(pool->pool_data, gfp, kmem_cache_size(pool->pool_data), fp);
	default:
		return __alloc_pages_ev(gfp, (unsigned int)(u64)pool->pool_data, fp);
	}
}

static void elem_release(mempool_t *pool, void *e, u64 fp)
{
	if (pool->kind == POOL_KMALLOC)
		__kfree(e, fp);
	else if (pool->kind == POOL_SLAB)
		slab_free(pool->pool_data, e, fp);
	else
		__free_pages_ev(e, (unsigned int)(u64)pool->pool_data, fp);
}

/* Whether e is an element this pool could have handed out. */
static bool elem_valid(mempool_t *pool, void *e)
{
	struct kmem_cache *s;
	bool allocated;

	if (pool->kind == POOL_PAGE) {
		struct page *pg = e;
		u64 pfn = (u64)(pg - vmemmap);

		return virt_addr_valid(phys_to_virt(pfn << PAGE_SHIFT)) && (pg->flags & PG_head) &&
		       pg->order == (u64)pool->pool_data;
	}
	if (pool->kind == POOL_SLAB)
		return slab_lookup(e, &s, &allocated) && allocated && s == pool->pool_data;
	return kmalloc_alloc_size(e) != 0;
}

/* KASAN's view of an element: poisoned (in the reserve) or live (handed out). */
static void elem_event(mempool_t *pool, void *e, bool live, u64 fp)
{
	size_t size = (size_t)pool->pool_data;
	struct kv_ev ev = {.addr = (u64)e};
	u32 kind;

	if (pool->kind == POOL_PAGE) {
		ev.pfn = (u64)((struct page *)e - vmemmap);
		ev.order = (u32)(u64)pool->pool_data;
		ev.addr = (u64)page_address(e);
		kind = live ? KV_EV_PAGE_ALLOC : KV_EV_PAGE_FREE;
	} else if (pool->kind == POOL_KMALLOC && size > KMALLOC_MAX_CACHE_SIZE) {
		ev.size_req = size;
		ev.size_alloc = kmalloc_size_roundup(size);
		kind = live ? KV_EV_KMALLOC_LARGE : KV_EV_KFREE_LARGE;
	} else {
		struct kmem_cache *s =
		    pool->kind == POOL_SLAB ? pool->pool_data : kmalloc_slab(size);

		ev.size_req = pool->kind == POOL_SLAB ? kmem_cache_size(s) : size;
		ev.size_alloc = kmem_cache_size(s);
		ev.cache_id = live || pool->kind == POOL_SLAB ? slab_cache_id(s) : 0;
		kind = live ? KV_EV_SLAB_ALLOC : KV_EV_SLAB_FREE;
	}
	kv_emit(kind, fp, &ev);
}

static bool in_reserve(mempool_t *pool, void *e)
{
	for (int i = 0; i < pool->curr_nr; i++)
		if (pool->elements[i] == e)
			return true;
	return false;
}

/* Into the reserve if it has room: true if taken (or refused as a bad free). */
static bool reserve_put(mempool_t *pool, void *e, u64 fp)
{
	bool taken = false;

	spin_lock(&pool->lock);
	if (pool->curr_nr < pool->min_nr || in_reserve(pool, e)) {
		taken = true;
		/* Double or invalid frees are reported, never stored. */
		if (!in_reserve(pool, e) && elem_valid(pool, e))
			pool->elements[pool->curr_nr++] = e;
		elem_event(pool, e, false, fp);
	}
	spin_unlock(&pool->lock);
	return taken;
}

static void *reserve_take(mempool_t *pool, u64 fp)
{
	void *e = NULL;

	spin_lock(&pool->lock);
	if (pool->curr_nr)
		e = pool->elements[--pool->curr_nr];
	spin_unlock(&pool->lock);
	if (e)
		elem_event(pool, e, true, fp);
	return e;
}

static void pool_exit(mempool_t *pool, u64 fp)
{
	void *e;

	while ((e = reserve_take(pool, fp)))
		elem_release(pool, e, fp);
	__kfree(pool->elements, fp);
	pool->elements = NULL;
}

static int pool_init(mempool_t *pool, int min_nr, int kind, void *data, u64 fp)
{
	memset(pool, 0, sizeof(*pool));
	pool->kind = kind;
	pool->pool_data = data;
	pool->min_nr = min_nr;
	pool->elements = __kmalloc(sizeof(void *) * (size_t)MAX(min_nr, 1), GFP_KERNEL, fp);
	if (!pool->elements)
		return -1;
	for (int i = 0; i < min_nr; i++) {
		void *e = elem_new(pool, GFP_KERNEL, fp);

		if (!e) {
			pool_exit(pool, fp);
			return -1;
		}
		reserve_put(pool, e, fp);
	}
	return 0;
}

int mempool_init_kmalloc_pool(mempool_t *pool, int min_nr, size_t size)
{
	return pool_init(pool, min_nr, POOL_KMALLOC, (void *)size, THIS_FRAME());
}

int mempool_init_slab_pool(mempool_t *pool, int min_nr, struct kmem_cache *cache)
{
	return pool_init(pool, min_nr, POOL_SLAB, cache, THIS_FRAME());
}

int mempool_init_page_pool(mempool_t *pool, int min_nr, int order)
{
	return pool_init(pool, min_nr, POOL_PAGE, (void *)(u64)order, THIS_FRAME());
}

void mempool_exit(mempool_t *pool)
{
	pool_exit(pool, THIS_FRAME());
}

static mempool_t *pool_create(int min_nr, int kind, void *data, u64 fp)
{
	mempool_t *pool = __kmalloc(sizeof(*pool), GFP_KERNEL, fp);

	if (pool && pool_init(pool, min_nr, kind, data, fp)) {
		__kfree(pool, fp);
		pool = NULL;
	}
	return pool;
}

mempool_t *mempool_create_kmalloc_pool(int min_nr, size_t size)
{
	return pool_create(min_nr, POOL_KMALLOC, (void *)size, THIS_FRAME());
}

mempool_t *mempool_create_slab_pool(int min_nr, struct kmem_cache *cache)
{
	return pool_create(min_nr, POOL_SLAB, cache, THIS_FRAME());
}

mempool_t *mempool_create_page_pool(int min_nr, int order)
{
	return pool_create(min_nr, POOL_PAGE, (void *)(u64)order, THIS_FRAME());
}

void mempool_destroy(mempool_t *pool)
{
	if (!pool)
		return;
	pool_exit(pool, THIS_FRAME());
	__kfree(pool, THIS_FRAME());
}

void *mempool_alloc(mempool_t *pool, gfp_t gfp)
{
	void *e = elem_new(pool, gfp | __GFP_NORETRY | __GFP_NOWARN, THIS_FRAME());

	return e ? e : reserve_take(pool, THIS_FRAME());
}

void *mempool_alloc_preallocated(mempool_t *pool)
{
	return reserve_take(pool, THIS_FRAME());
}

void mempool_free(void *element, mempool_t *pool)
{
	if (element && !reserve_put(pool, element, THIS_FRAME()))
		elem_release(pool, element, THIS_FRAME());
}
