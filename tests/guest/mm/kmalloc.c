/* SPDX-License-Identifier: MIT */
/*
 * kmalloc: power-of-two caches kmalloc-8 ... kmalloc-8192 plus kmalloc-96 and
 * kmalloc-192, and page-backed "large" allocations above 8192 bytes. kfree
 * reports every pointer it is given (kasan-vmm judges bad ones) and applies
 * only frees of allocated object starts.
 */
#include "mm_internal.h"
#include "printf.h"
#include "string.h"

static const u32 kmalloc_sizes[] = {8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192};
static struct kmem_cache *kmalloc_caches[ARRAY_SIZE(kmalloc_sizes)];
static char kmalloc_names[ARRAY_SIZE(kmalloc_sizes)][16];

void kmem_cache_init(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(kmalloc_sizes); i++) {
		snprintf(kmalloc_names[i], sizeof(kmalloc_names[i]), "kmalloc-%u",
			 kmalloc_sizes[i]);
		kmalloc_caches[i] =
		    mm_cache_create(kmalloc_names[i], kmalloc_sizes[i], 8, 0, NULL, THIS_FRAME());
		if (!kmalloc_caches[i])
			panic("kmem_cache_init: %s", kmalloc_names[i]);
	}
}

struct kmem_cache *kmalloc_slab(size_t size)
{
	for (u32 i = 0; i < ARRAY_SIZE(kmalloc_sizes); i++)
		if (size <= kmalloc_sizes[i])
			return kmalloc_caches[i];
	return NULL;
}

static unsigned int size_order(size_t size)
{
	unsigned int o = 0;

	while ((PAGE_SIZE << o) < size)
		o++;
	return o;
}

size_t kmalloc_size_roundup(size_t size)
{
	struct kmem_cache *s = kmalloc_slab(size);

	return s ? kmem_cache_size(s) : PAGE_SIZE << size_order(size);
}

/* Large kmalloc: a buddy block, flagged so that kfree and ksize know it. */
void *__kmalloc_large(size_t size, gfp_t gfp, u64 fp)
{
	unsigned int order = size_order(size);
	struct page *pg = order <= MAX_PAGE_ORDER ? __alloc_pages_silent(0, order) : NULL;
	void *p;

	if (!pg)
		return NULL;
	pg->flags |= PG_large;
	pg->private = size;
	p = page_address(pg);
	if (fp)
		kv_emit(KV_EV_KMALLOC_LARGE, fp,
			&(struct kv_ev){
			    .addr = (u64)p, .size_req = size, .size_alloc = PAGE_SIZE << order});
	if (gfp & __GFP_ZERO)
		memset(p, 0, size);
	return p;
}

void *__kmalloc(size_t size, gfp_t gfp, u64 fp)
{
	if (!size)
		return ZERO_SIZE_PTR;
	if (size > KMALLOC_MAX_CACHE_SIZE)
		return __kmalloc_large(size, gfp, fp);
	return slab_alloc(kmalloc_slab(size), gfp, size, fp);
}

/* The large kmalloc block starting exactly at p, or NULL. */
static struct page *large_of(const void *p)
{
	struct page *pg;

	if (!virt_addr_valid(p) || offset_in_page(p))
		return NULL;
	pg = virt_to_page(p);
	return (pg->flags & PG_head) && (pg->flags & PG_large) ? pg : NULL;
}

void __kfree(const void *p, u64 fp)
{
	struct page *pg;

	if (ZERO_OR_NULL_PTR(p))
		return;
	pg = virt_addr_valid(p) ? mm_head_page(virt_to_page(p)) : NULL;
	if (pg && (pg->flags & PG_slab)) {
		slab_free(NULL, p, fp);
		return;
	}
	/* Anything else is a large kmalloc to Linux: report it, free only a real one. */
	if (fp)
		kv_emit(KV_EV_KFREE_LARGE, fp, &(struct kv_ev){.addr = (u64)p});
	pg = large_of(p);
	if (pg) {
		pg->flags &= ~PG_large;
		__free_pages_silent(pg, pg->order);
	}
}

size_t kmalloc_alloc_size(const void *p)
{
	struct kmem_cache *s;
	struct page *pg;
	bool allocated;

	if (slab_lookup(p, &s, &allocated))
		return allocated ? kmem_cache_size(s) : 0;
	pg = large_of(p);
	return pg ? PAGE_SIZE << pg->order : 0;
}

void *kmalloc(size_t size, gfp_t gfp)
{
	return __kmalloc(size, gfp, THIS_FRAME());
}

void *kzalloc(size_t size, gfp_t gfp)
{
	return __kmalloc(size, gfp | __GFP_ZERO, THIS_FRAME());
}

void *kmalloc_node(size_t size, gfp_t gfp, int node)
{
	(void)node;
	return __kmalloc(size, gfp, THIS_FRAME());
}

void *kzalloc_node(size_t size, gfp_t gfp, int node)
{
	(void)node;
	return __kmalloc(size, gfp | __GFP_ZERO, THIS_FRAME());
}

void *kmalloc_track_caller(size_t size, gfp_t gfp)
{
	return __kmalloc(size, gfp, THIS_FRAME());
}

void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	return __kmalloc(n * size, gfp, THIS_FRAME());
}

void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	return __kmalloc(n * size, gfp | __GFP_ZERO, THIS_FRAME());
}

void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = __kmalloc(len, gfp, THIS_FRAME());

	if (!ZERO_OR_NULL_PTR(p))
		memcpy(p, src, len);
	return p;
}

char *kstrdup(const char *s, gfp_t gfp)
{
	size_t len = strlen(s) + 1;
	char *p = __kmalloc(len, gfp, THIS_FRAME());

	if (p)
		memcpy(p, s, len);
	return p;
}

void kfree(const void *objp)
{
	__kfree(objp, THIS_FRAME());
}

void kfree_sensitive(const void *objp)
{
	size_t ks = ZERO_OR_NULL_PTR(objp) ? 0 : kmalloc_alloc_size(objp);

	if (ks) /* allocator code: the slack may be zeroed too */
		mm_zero((void *)objp, ks);
	__kfree(objp, THIS_FRAME());
}

size_t ksize(const void *objp)
{
	size_t ks;

	if (ZERO_OR_NULL_PTR(objp))
		return 0;
	kasan_check_byte(objp); /* a freed object: kasan-vmm reports it here */
	ks = kmalloc_alloc_size(objp);
	if (ks)
		kv_emit(KV_EV_KSIZE, THIS_FRAME(), &(struct kv_ev){.addr = (u64)objp});
	return ks;
}

/* One KREALLOC event: in place when the allocation already holds new_size. */
void *krealloc(const void *p, size_t new_size, gfp_t gfp)
{
	struct page *pg;
	size_t ks;
	void *q;

	if (ZERO_OR_NULL_PTR(p))
		return __kmalloc(new_size, gfp, THIS_FRAME());
	if (!new_size) {
		__kfree(p, THIS_FRAME());
		return ZERO_SIZE_PTR;
	}
	kasan_check_byte(p);
	ks = kmalloc_alloc_size(p);
	if (!ks)
		return NULL;
	if (new_size <= ks) {
		pg = large_of(p);
		if (pg)
			pg->private = new_size;
		kv_emit(KV_EV_KREALLOC, THIS_FRAME(),
			&(struct kv_ev){.old_addr = (u64)p,
					.addr = (u64)p,
					.size_req = new_size,
					.size_alloc = ks});
		return (void *)p;
	}
	q = __kmalloc(new_size, gfp, 0);
	if (!q)
		return NULL;
	mm_copy(q, p, ks);
	kv_emit(KV_EV_KREALLOC, THIS_FRAME(),
		&(struct kv_ev){.old_addr = (u64)p,
				.addr = (u64)q,
				.size_req = new_size,
				.size_alloc = kmalloc_alloc_size(q)});
	__kfree(p, 0);
	return q;
}
