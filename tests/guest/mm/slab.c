/* SPDX-License-Identifier: MIT */
/*
 * Slab caches. A slab is a buddy block: a leading pad, then the slots, a
 * bitmap of allocated objects at its end (so a double or invalid free is
 * reported but never applied). A slot is the object, then a red zone sized
 * like KASAN's optimal_redzone(); the pad is one red zone, so that every
 * object has one on each side (kasan-vmm poisons them from the stride the
 * cache announces). Free objects hold the freelist pointer at a per-cache
 * offset: the middle of the object like SLUB, or after it (in the red zone,
 * touched only by allocator code) for caches with a constructor or
 * SLAB_TYPESAFE_BY_RCU (whose contents must survive a free).
 * An fp of 0 means "no event" (krealloc's internal moves).
 *
 * SMP, SLUB cpu-slab style: each CPU allocates from its own small array of
 * free objects per cache, refilled from the slabs under the cache's lock only
 * when empty, and frees into its own quarantine; allocated bits are set and
 * cleared atomically, so two CPUs allocate, free and emit their events at the
 * same time. Only this CPU touches its arrays and nothing allocates from
 * interrupt context, so they need no lock.
 */
#include "mm_internal.h"
#include "printf.h"
#include "smp.h"
#include "string.h"

#define CACHE_NAME_MAX 32
#define CPU_CACHE_OBJS 8 /* free objects a CPU keeps per cache */

struct cpu_cache {
	void *objs[CPU_CACHE_OBJS]; /* popped from the end */
	u32 nr;
};

struct kmem_cache {
	char name[CACHE_NAME_MAX];
	u32 id;
	u32 size;   /* object size */
	u32 slot;   /* stride: object + red zone (or free pointer) + alignment */
	u32 pad;    /* before the first object: at least one red zone */
	u32 offset; /* free pointer */
	u32 flags;
	u32 order; /* of each slab */
	u32 objs;  /* per slab */
	u32 bitmap_off;
	void (*ctor)(void *);
	spinlock_t lock;
	struct page *partial; /* slabs with free objects (page->next/prev) */
	struct page *slabs;   /* every slab (page->private chains them) */
	struct kmem_cache *next_cache;
	struct cpu_cache cpu[MAX_CPUS];
};

static struct kmem_cache kmem_cache_boot; /* the cache of struct kmem_cache */
static struct kmem_cache *caches;	  /* live caches */
static spinlock_t caches_lock;
static u32 next_cache_id = 1; /* 0 means "kfree: unknown cache" in events */

static inline void **freeptr(const struct kmem_cache *s, void *obj)
{
	return (void **)((u8 *)obj + s->offset);
}

static void list_del(struct page **head, struct page *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		*head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
}

static void list_add(struct page **head, struct page *p)
{
	p->prev = NULL;
	p->next = *head;
	if (*head)
		(*head)->prev = p;
	*head = p;
}

void mm_copy(void *dst, const void *src, size_t n)
{
	asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

void mm_zero(void *dst, size_t n)
{
	asm volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

/* KASAN's optimal_redzone() (mm/kasan/generic.c): bigger objects, bigger red zones. */
static u32 optimal_redzone(size_t size)
{
	return size <= 64 - 16		  ? 16
	       : size <= 128 - 32	  ? 32
	       : size <= 512 - 64	  ? 64
	       : size <= 4096 - 128	  ? 128
	       : size <= (1 << 14) - 256  ? 256
	       : size <= (1 << 15) - 512  ? 512
	       : size <= (1 << 16) - 1024 ? 1024
					  : 2048;
}

/* Layout: slot size, pad, free pointer, slab order and objects per slab. */
static void cache_layout(struct kmem_cache *s, size_t size, size_t align)
{
	bool rcu = s->flags & SLAB_TYPESAFE_BY_RCU;
	bool outside = s->ctor || rcu || size < 8;
	u32 bytes, inuse;

	align = MAX(align, 8);
	if (s->flags & SLAB_HWCACHE_ALIGN)
		align = MAX(align, 64);
	align = MIN(align, PAGE_SIZE);
	s->size = (u32)size;
	if (outside) { /* an RCU-deferred free keeps a struct rcu_head there */
		s->offset = (u32)ALIGN_UP(size, 8);
		inuse = s->offset + (rcu ? 16 : 8);
	} else {
		s->offset = (u32)ALIGN_DOWN(size / 2, 8);
		inuse = (u32)size;
	}
	/*
	 * No red zone for SLAB_TYPESAFE_BY_RCU: call_rcu (not allocator code)
	 * writes the rcu_head after the object, which must stay accessible.
	 */
	s->slot = (u32)ALIGN_UP(rcu ? inuse : MAX(inuse, size + optimal_redzone(size)), align);
	s->pad = rcu ? 0 : (u32)ALIGN_UP(s->slot - size, align);
	for (s->order = 0;; s->order++) {
		bytes = (u32)(PAGE_SIZE << s->order);
		s->objs = bytes > s->pad ? ((bytes - s->pad) * 8) / (s->slot * 8 + 1) : 0;
		if (s->objs >= 8 || (s->objs && s->order >= 3) || s->order == MAX_PAGE_ORDER)
			break;
	}
	s->bitmap_off = bytes - (u32)ALIGN_UP((s->objs + 7) / 8, 8);
	while (s->pad + s->objs * s->slot > s->bitmap_off)
		s->objs--;
}

static inline void *slab_obj(const struct kmem_cache *s, u8 *base, u32 i)
{
	return base + s->pad + (u64)i * s->slot;
}

/*
 * A slab is a page allocation to kasan-vmm (PAGE_ALLOC): pages freed earlier
 * stop being "freed pages" before their objects are handed out.
 */
static struct page *new_slab(struct kmem_cache *s, u64 fp)
{
	struct page *pg = __alloc_pages_ev(0, s->order, fp);
	u8 *base;

	if (!pg)
		return NULL;
	base = page_address(pg);
	pg->flags |= PG_slab;
	pg->slab_cache = s;
	pg->inuse = 0;
	pg->alloc_bits = base + s->bitmap_off;
	mm_zero(pg->alloc_bits, (s->objs + 7) / 8);
	for (u32 i = s->objs; i-- > 0;) {
		void *obj = slab_obj(s, base, i);

		if (s->ctor)
			s->ctor(obj);
		*freeptr(s, obj) = i + 1 < s->objs ? slab_obj(s, base, i + 1) : NULL;
	}
	pg->freelist = slab_obj(s, base, 0);
	pg->private = (u64)s->slabs;
	s->slabs = pg;
	list_add(&s->partial, pg);
	return pg;
}

/*
 * Move up to half a CPU cache of free objects from the slabs into cc, so
 * that they come out in freelist order. False if there is no memory.
 */
static bool cpu_cache_refill(struct kmem_cache *s, struct cpu_cache *cc, u64 fp)
{
	void *got[CPU_CACHE_OBJS / 2];
	u32 n = 0;

	spin_lock(&s->lock);
	while (n < ARRAY_SIZE(got)) {
		struct page *pg = s->partial ? s->partial : new_slab(s, fp);

		if (!pg)
			break;
		got[n++] = pg->freelist;
		pg->freelist = *freeptr(s, got[n - 1]);
		if (!pg->freelist)
			list_del(&s->partial, pg);
	}
	spin_unlock(&s->lock);
	for (u32 i = 0; i < n; i++)
		cc->objs[n - 1 - i] = got[i];
	cc->nr = n;
	return n > 0;
}

/* Object start obj of slab pg becomes allocated (another CPU may flip bits of the same byte). */
static void mark_allocated(const struct kmem_cache *s, void *obj)
{
	struct page *pg = mm_head_page(virt_to_page(obj));
	u32 idx = (u32)(((u8 *)obj - (u8 *)page_address(pg) - s->pad) / s->slot);

	__atomic_fetch_or(&pg->alloc_bits[idx / 8], (u8)(1u << (idx % 8)), __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&pg->inuse, 1, __ATOMIC_RELAXED);
}

void *slab_alloc(struct kmem_cache *s, gfp_t gfp, size_t req, u64 fp)
{
	struct cpu_cache *cc = &s->cpu[smp_processor_id()];
	void *obj;

	if (!cc->nr && !cpu_cache_refill(s, cc, fp ? fp : THIS_FRAME()))
		return NULL;
	obj = cc->objs[--cc->nr];
	mark_allocated(s, obj);
	if (fp)
		kv_emit(KV_EV_SLAB_ALLOC, fp,
			&(struct kv_ev){.addr = (u64)obj,
					.size_req = req,
					.size_alloc = s->size,
					.cache_id = s->id});
	if (gfp & __GFP_ZERO)
		memset(obj, 0, req);
	return obj;
}

/* Slab holding p and p's object index; false if p is not an object start. */
static bool slab_of(const void *p, struct page **pgp, u32 *idxp)
{
	struct page *pg;
	u64 off;

	if (!virt_addr_valid(p))
		return false;
	pg = mm_head_page(virt_to_page(p));
	if (!pg || !(pg->flags & PG_slab))
		return false;
	off = (u64)((const u8 *)p - (const u8 *)page_address(pg));
	*pgp = pg;
	if (off < pg->slab_cache->pad) { /* the pad: bit 0 is checked, never changed */
		*idxp = 0;
		return false;
	}
	off -= pg->slab_cache->pad;
	*idxp = (u32)(off / pg->slab_cache->slot);
	return off % pg->slab_cache->slot == 0 && *idxp < pg->slab_cache->objs;
}

int slab_lookup(const void *p, struct kmem_cache **s, bool *allocated)
{
	struct page *pg;
	u32 idx;

	if (!slab_of(p, &pg, &idx))
		return 0;
	*s = pg->slab_cache;
	*allocated = pg->alloc_bits[idx / 8] & (1u << (idx % 8));
	return 1;
}

unsigned int slab_cache_id(struct kmem_cache *s)
{
	return s->id;
}

static void put_object(struct kmem_cache *s, struct page *pg, void *obj)
{
	*freeptr(s, obj) = pg->freelist;
	if (!pg->freelist)
		list_add(&s->partial, pg);
	pg->freelist = obj;
}

/*
 * Freed objects wait in a small per-CPU FIFO before they can be reused, like
 * KASAN's quarantine: a use-after-free must not land on a reallocated object.
 * The lock is for kmem_cache_destroy, which empties every CPU's quarantine.
 */
#define QUARANTINE_OBJS 64
static struct quarantine {
	spinlock_t lock;
	u32 pos;
	void *objs[QUARANTINE_OBJS];
} quarantines[MAX_CPUS];

static void quarantine_add(void *obj)
{
	struct quarantine *q = &quarantines[smp_processor_id()];
	struct page *pg;
	void *old;

	spin_lock(&q->lock);
	old = q->objs[q->pos];
	q->objs[q->pos] = obj;
	q->pos = (q->pos + 1) % QUARANTINE_OBJS;
	if (old) { /* under q->lock: a destroy cannot free its slab meanwhile */
		pg = mm_head_page(virt_to_page(old));
		spin_lock(&pg->slab_cache->lock);
		put_object(pg->slab_cache, pg, old);
		spin_unlock(&pg->slab_cache->lock);
	}
	spin_unlock(&q->lock);
}

/* A cache going away takes its quarantined objects with it. */
static void quarantine_drop(struct kmem_cache *s)
{
	for (u32 c = 0; c < MAX_CPUS; c++) {
		struct quarantine *q = &quarantines[c];

		spin_lock(&q->lock);
		for (u32 i = 0; i < QUARANTINE_OBJS; i++)
			if (q->objs[i] && mm_head_page(virt_to_page(q->objs[i]))->slab_cache == s)
				q->objs[i] = NULL;
		spin_unlock(&q->lock);
	}
}

/* After a grace period: the object of a SLAB_TYPESAFE_BY_RCU cache is free. */
static void rcu_free_object(struct rcu_head *head)
{
	struct page *pg = mm_head_page(virt_to_page(head));
	struct kmem_cache *s = pg->slab_cache;
	void *obj = (u8 *)head - s->offset;

	spin_lock(&s->lock);
	put_object(s, pg, obj);
	kv_emit(KV_EV_SLAB_FREE, THIS_FRAME(),
		&(struct kv_ev){.addr = (u64)obj, .cache_id = s->id});
	spin_unlock(&s->lock);
}

/* s: the cache kmem_cache_free named, NULL for kfree (the event then says 0). */
void slab_free(struct kmem_cache *s, const void *p, u64 fp)
{
	struct kmem_cache *owner = NULL;
	struct page *pg = NULL;
	u32 idx = 0;
	u8 bit;
	bool ok = slab_of(p, &pg, &idx);

	if (ok)
		owner = pg->slab_cache;
	if (ok && s && s != owner) /* Linux warns and does not free: neither do we */
		ok = false;
	bit = (u8)(1u << (idx % 8));
	/* test and clear: of two frees of one object (any CPUs), one frees it */
	ok = ok && (__atomic_fetch_and(&pg->alloc_bits[idx / 8], (u8)~bit, __ATOMIC_ACQ_REL) & bit);
	if (ok) {
		__atomic_fetch_sub(&pg->inuse, 1, __ATOMIC_RELAXED); /* quarantined: not in use */
		if (owner->flags & SLAB_TYPESAFE_BY_RCU) {
			call_rcu((struct rcu_head *)freeptr(owner, (void *)p), rcu_free_object);
			return;
		}
	}
	if (fp) /* also for a bad pointer: kasan-vmm judges it */
		kv_emit(KV_EV_SLAB_FREE, fp,
			&(struct kv_ev){.addr = (u64)p, .cache_id = s ? s->id : 0});
	if (ok) /* reusable only after the event: no reordering with a reallocation */
		quarantine_add((void *)p);
}

static void cache_init(struct kmem_cache *s, const char *name, size_t size, size_t align,
		       unsigned int flags, void (*ctor)(void *))
{
	memset(s, 0, sizeof(*s));
	strscpy(s->name, name, sizeof(s->name));
	s->flags = flags;
	s->ctor = ctor;
	cache_layout(s, size, align);
	spin_lock(&caches_lock);
	s->id = next_cache_id++;
	s->next_cache = caches;
	caches = s;
	spin_unlock(&caches_lock);
}

static void cache_created(struct kmem_cache *s, u64 fp)
{
	kv_emit(KV_EV_CACHE_CREATE, fp,
		&(struct kv_ev){.name = s->name,
				.cache_id = s->id,
				.size_req = s->size,
				/* the stride, when there is a red zone to poison */
				.size_alloc = s->pad ? s->slot : 0,
				/*
				 * Without a red zone (SLAB_TYPESAFE_BY_RCU) the free
				 * pointer after the object is not announced: as for the
				 * Linux driver, the host leaves freed contents alone.
				 */
				.freeptr_offset = s->pad || s->offset + 8 <= s->size
						      ? s->offset
						      : KV_FREEPTR_NONE});
}

struct kmem_cache *mm_cache_create(const char *name, size_t size, size_t align, unsigned int flags,
				   void (*ctor)(void *), u64 fp)
{
	struct kmem_cache *s;

	if (!kmem_cache_boot.id) {
		cache_init(&kmem_cache_boot, "kmem_cache", sizeof(struct kmem_cache), 0,
			   SLAB_HWCACHE_ALIGN, NULL);
		cache_created(&kmem_cache_boot, fp);
	}
	if (!size || size > (PAGE_SIZE << MAX_PAGE_ORDER) / 2 || (align & (align - 1)))
		return NULL;
	s = slab_alloc(&kmem_cache_boot, GFP_KERNEL, sizeof(*s), fp);
	if (s) {
		cache_init(s, name, size, align, flags, ctor);
		cache_created(s, fp);
	}
	return s;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
				     unsigned int flags, void (*ctor)(void *))
{
	return mm_cache_create(name, size, align, flags, ctor, THIS_FRAME());
}

static bool cache_live(struct kmem_cache *s)
{
	bool live = false;

	spin_lock(&caches_lock);
	for (struct kmem_cache *c = caches; c; c = c->next_cache)
		live |= c == s;
	spin_unlock(&caches_lock);
	return live;
}

void kmem_cache_destroy(struct kmem_cache *s)
{
	struct kmem_cache **pp;
	u32 left = 0;

	if (!s)
		return;
	kasan_check_byte(s); /* a destroyed cache: kasan-vmm reports the use-after-free */
	if (!cache_live(s) || s == &kmem_cache_boot)
		return;
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		rcu_barrier();
	quarantine_drop(s);
	spin_lock(&caches_lock);
	for (pp = &caches; *pp != s; pp = &(*pp)->next_cache)
		;
	*pp = s->next_cache;
	spin_unlock(&caches_lock);
	for (struct page *pg = s->slabs, *next; pg; pg = next) {
		next = (struct page *)pg->private;
		left += pg->inuse;
		pg->flags &= ~PG_slab;
		pg->private = 0;
		__free_pages_ev(pg, s->order, THIS_FRAME());
	}
	if (left)
		printf("testguest: kmem_cache_destroy %s: %u objects remaining\n", s->name, left);
	kv_emit(KV_EV_CACHE_DESTROY, THIS_FRAME(), &(struct kv_ev){.cache_id = s->id});
	slab_free(&kmem_cache_boot, s, THIS_FRAME());
}

void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp)
{
	return slab_alloc(s, gfp, s->size, THIS_FRAME());
}

void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t gfp)
{
	return slab_alloc(s, gfp | __GFP_ZERO, s->size, THIS_FRAME());
}

void kmem_cache_free(struct kmem_cache *s, void *objp)
{
	slab_free(s, objp, THIS_FRAME());
}

int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t nr, void **p)
{
	for (size_t i = 0; i < nr; i++) {
		p[i] = slab_alloc(s, gfp, s->size, THIS_FRAME());
		if (!p[i]) {
			while (i-- > 0)
				slab_free(s, p[i], THIS_FRAME());
			return 0;
		}
	}
	return (int)nr;
}

void kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p)
{
	for (size_t i = 0; i < nr; i++)
		slab_free(s, p[i], THIS_FRAME());
}

unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return s->size;
}

unsigned int kmem_cache_slot_size(struct kmem_cache *s)
{
	return s->slot;
}

unsigned int kmem_cache_freeptr_offset(struct kmem_cache *s)
{
	return s->offset;
}
