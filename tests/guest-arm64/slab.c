/* SPDX-License-Identifier: MIT */
/*
 * Slab allocator of the arm64 test guest. Objects live at slab_base + i *
 * stride (stride = object size + SLAB_REDZONE); slabs start on a page, so
 * the left red zone kasan-vmm derives for the first object is clipped away.
 * The functions that touch free objects (slab_alloc, new_slab, put_object)
 * are the ones configs/exempt/testguest.txt names, so kasan-vmm does not
 * report the allocator's own accesses to poisoned memory.
 */
#include "slab.h"
#include "console.h"
#include "kasan_vmm.h"
#include "string.h"

#define NR_CACHES      8
#define MAX_SLABS      96
#define MAX_OBJS       64
#define QUARANTINE_LEN 64
#define ARENA_SIZE     (2u << 20)

struct kmem_cache {
	char name[16];
	u32 id; /* nonzero: 0 in SLAB_FREE means kfree */
	u32 size, stride, freeptr;
	u64 freelist; /* untagged object address, 0 = empty */
};

struct slab {
	struct kmem_cache *cache;
	u64 base;
	u32 nobj;
	u8 live[MAX_OBJS];
};

static struct kmem_cache caches[NR_CACHES];
static struct slab slabs[MAX_SLABS];
static u32 nr_slabs;
static u8 arena[ARENA_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u64 arena_used;
static u64 quarantine[QUARANTINE_LEN]; /* untagged objects, oldest at q_head */
static u32 q_head, q_len;
static u32 tag_seed = 0x2545f491u;

static void *pages_alloc(u32 pages)
{
	u64 bytes = (u64)pages * PAGE_SIZE;

	if (bytes > ARENA_SIZE - arena_used)
		return NULL;
	arena_used += bytes;
	return arena + arena_used - bytes;
}

/* Random tag in [0xf0, 0xfd]: never 0xfe (invalid) nor 0xff (match-all). */
static u8 random_tag(void)
{
	tag_seed = tag_seed * 1103515245u + 12345u;
	return (u8)(0xf0 + (tag_seed >> 16) % 14);
}

static struct slab *slab_of(u64 addr)
{
	for (u32 i = 0; i < nr_slabs; i++) {
		struct slab *s = &slabs[i];

		if (addr >= s->base && addr < s->base + (u64)s->nobj * s->cache->stride)
			return s;
	}
	return NULL;
}

/* Fresh pages cut into objects, chained through their free pointers. */
static noinline bool new_slab(struct kmem_cache *c)
{
	u32 pages = (u32)ALIGN_UP((u64)c->stride * 8, PAGE_SIZE) / PAGE_SIZE;
	struct slab *s;
	u8 *base;

	if (nr_slabs == MAX_SLABS || !(base = pages_alloc(pages)))
		return false;
	s = &slabs[nr_slabs++];
	s->cache = c;
	s->base = (u64)base;
	s->nobj = MIN(pages * PAGE_SIZE / c->stride, MAX_OBJS);
	for (u32 i = s->nobj; i-- > 0;) {
		*(u64 *)(base + (u64)i * c->stride + c->freeptr) = c->freelist;
		c->freelist = (u64)base + (u64)i * c->stride;
	}
	return true;
}

static noinline void put_object(struct kmem_cache *c, u64 obj)
{
	*(volatile u64 *)(obj + c->freeptr) = c->freelist;
	c->freelist = obj;
}

static noinline void *slab_alloc(struct kmem_cache *c, size_t req, u64 fp)
{
	u64 obj;
	struct slab *s;
	void *p;

	if (!c->freelist && !new_slab(c))
		return NULL;
	obj = c->freelist;
	c->freelist = *(volatile u64 *)(obj + c->freeptr);
	s = slab_of(obj);
	s->live[(obj - s->base) / c->stride] = 1;
	p = kv_tag_mode() ? set_tag((void *)obj, random_tag()) : (void *)obj;
	kv_emit(KV_EV_SLAB_ALLOC, fp,
		&(struct kv_ev){
		    .addr = (u64)p, .size_req = req, .size_alloc = c->size, .cache_id = c->id});
	return p;
}

static void quarantine_add(u64 obj)
{
	if (q_len == QUARANTINE_LEN) { /* the oldest object becomes reusable */
		u64 old = quarantine[q_head];

		put_object(slab_of(old)->cache, old);
		q_head = (q_head + 1) % QUARANTINE_LEN;
		q_len--;
	}
	quarantine[(q_head + q_len++) % QUARANTINE_LEN] = obj;
}

static noinline void slab_free(const void *p, u64 fp)
{
	u64 obj = (u64)reset_tag(p);
	struct slab *s = slab_of(obj);
	bool ok = false;

	if (s) {
		u64 off = obj - s->base;
		u32 idx = (u32)(off / s->cache->stride);

		ok = off % s->cache->stride == 0 && s->live[idx];
		if (ok)
			s->live[idx] = 0;
	}
	/* also for a bad pointer: kasan-vmm judges it (invalid-free, double-free) */
	kv_emit(KV_EV_SLAB_FREE, fp, &(struct kv_ev){.addr = (u64)p, .cache_id = 0});
	if (ok) /* reusable only after the event and the quarantine */
		quarantine_add(obj);
}

static struct kmem_cache *cache_for(size_t size)
{
	for (u32 i = 0; i < NR_CACHES; i++)
		if (size <= caches[i].size)
			return &caches[i];
	return NULL;
}

void kmalloc_init(void)
{
	u64 fp = (u64)__builtin_frame_address(0);

	for (u32 i = 0; i < NR_CACHES; i++) {
		struct kmem_cache *c = &caches[i];

		c->id = i + 1;
		c->size = 16u << i;
		c->stride = c->size + SLAB_REDZONE;
		c->freeptr = c->stride - 8; /* the red zone's last word */
		snprintf(c->name, sizeof(c->name), "kmalloc-%u", c->size);
		kv_emit(KV_EV_CACHE_CREATE, fp,
			&(struct kv_ev){.name = c->name,
					.cache_id = c->id,
					.size_req = c->size,
					.size_alloc = c->stride,
					.freeptr_offset = c->freeptr});
	}
}

void *kmalloc(size_t size)
{
	struct kmem_cache *c = cache_for(size ? size : 1);

	if (!c)
		return NULL;
	return slab_alloc(c, size, (u64)__builtin_frame_address(0));
}

void kfree(const void *p)
{
	if (p)
		slab_free(p, (u64)__builtin_frame_address(0));
}

size_t kmalloc_object_size(size_t size)
{
	struct kmem_cache *c = cache_for(size ? size : 1);

	return c ? c->size : 0;
}
