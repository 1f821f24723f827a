/* SPDX-License-Identifier: MIT */
/*
 * Internals of the sanitizer's allocation/free handling, shared by its
 * files only (not an interface for other modules):
 *   heap_range.c   guest ranges by GVA: shadow, tags, fills, scans, owners
 *   heap_track.c   tracked objects: create, forget, quarantine, overlaps
 *   heap_alloc.c   allocation events and the checks made at allocation
 *   heap_free.c    free events and the checks made at free
 *   heap_events.c  page, krealloc and ksize events; the dispatcher
 * All run under the sanitizer's lock.
 */
#ifndef SHADOW_HEAP_INTERNAL_H
#define SHADOW_HEAP_INTERNAL_H

#include "shadow/sanitizer_internal.h"

#define KMALLOC_MAX_CACHE 8192 /* SLUB: bigger kmalloc goes to the page allocator */

static inline uint64_t round8(uint64_t x)
{
	return (x + SHADOW_GRANULE_MASK) & ~SHADOW_GRANULE_MASK;
}

/* ---- heap_range.c: [gva, gva + len), page by page (unmapped pieces are counted) ---- */

void heap_poison(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t val);
void heap_unpoison(struct sanitizer *s, uint64_t gva, uint64_t len);
/* Set the shadow of the granules from gva (aligned) to runs[0 .. nr), if all in one page. */
bool heap_write_shadow(struct sanitizer *s, uint64_t gva, const struct shadow_run *runs,
		       uint32_t nr);
/* A freed slab object: first granule `head` (free meta), the rest `val`. */
void heap_poison_head(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t head, uint8_t val);
/* Requested bytes accessible, the rest of the allocation a red zone `redzone`. */
void heap_shadow_live(struct sanitizer *s, uint64_t start, uint64_t req, uint64_t alloc,
		      uint8_t redzone);
/* Shadow byte of gva (0 if unmapped). */
uint8_t heap_shadow_at(struct sanitizer *s, uint64_t gva);
/* If gva's granule has shadow `old`, poison it (that granule only) with `val`. */
void heap_shadow_replace(struct sanitizer *s, uint64_t gva, uint8_t old, uint8_t val);
/* Start fetching the shadow of gva (a hint). */
void heap_prefetch_shadow(struct sanitizer *s, uint64_t gva);
/* Write the periodic pattern pat (indexed by gva & 7) over the range. */
void heap_fill(struct sanitizer *s, uint64_t gva, uint64_t len, const uint8_t *pat);

/* Where a range's bytes differ from a periodic pattern, relative to a base. */
struct heap_scan {
	const uint8_t *pat;
	uint64_t base;
	uint64_t first, last; /* valid when bad */
	bool bad, nonzero;
};
void heap_scan_range(struct sanitizer *s, uint64_t gva, uint64_t len, struct heap_scan *sc);

/* Tag mode (no-ops otherwise): every granule touching the range gets `tag`. */
void heap_tag_range(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t tag);
/* Tag mode: granules wholly inside the range become TAG_INVALID (red zone, slack). */
void heap_tag_invalid_inside(struct sanitizer *s, uint64_t gva, uint64_t len);
/* page_owner: the pages behind the range were allocated / freed with an object. */
void heap_set_page_owner(struct sanitizer *s, uint64_t gva, uint64_t len,
			 const struct object_track *t, bool object_free);

/* ---- heap_track.c ---- */

struct object_track heap_new_track(struct sanitizer *s, const struct shadow_event *ev, bool ref);
/* Quarantine freed object o of cache c (may be NULL); false: no room, it was not put. */
bool heap_quarantine_put(struct sanitizer *s, uint32_t id, struct shadow_object *o,
			 struct shadow_cache *c);
/* Drop a tracked object: quarantine, stack references, record. */
void heap_forget(struct sanitizer *s, uint32_t id);
/* A quarantined object leaves: forget it, its shadow becomes plain "free". */
void heap_evict(struct sanitizer *s, uint32_t id);
/* Over its cap, the quarantine sheds its oldest objects, a batch at a time. */
void heap_quarantine_trim(struct sanitizer *s);
/* The guest reused [start, end): whatever we tracked there is gone. */
void heap_drop_overlaps(struct sanitizer *s, uint64_t start, uint64_t end);
/* Cache shutdown: the cache's quarantined objects leave, with their poison. */
void heap_drop_cache(struct sanitizer *s, uint32_t cache_id);

struct alloc_req {
	uint64_t start, req, alloc;
	uint32_t cache_id;
	uint8_t kind;
	bool redzones; /* cache_id names the object's own cache: poison its red zones */
};
/* What an allocation at [start, end) finds: looked up once, used by every step. */
struct alloc_site {
	uint32_t first;		    /* the lowest object overlapping the range, 0: none */
	uint32_t at;		    /* the object starting at start, 0: none */
	struct shadow_cache *cache; /* the allocation's cache, NULL: none */
};
void heap_lookup_site(struct sanitizer *s, uint64_t start, uint64_t end, struct alloc_site *site);
/* Track a new object over whatever was there; NULL if the table is full (counted). */
struct shadow_object *heap_track_new(struct sanitizer *s, const struct shadow_event *ev,
				     const struct alloc_req *a, const struct alloc_site *site);
/* The freelist word's offset in o's cache, or CACHE_NO_FREEPTR. */
uint32_t heap_freeptr_of(struct sanitizer *s, const struct shadow_object *o);

/* ---- heap_alloc.c ---- */

int heap_do_alloc(struct sanitizer *s, const struct shadow_event *ev, struct alloc_req *a);
/* Tag mode: the object's granules get `tag`, its slack TAG_INVALID. */
void heap_tag_object(struct sanitizer *s, uint64_t start, uint64_t req, uint64_t alloc,
		     uint8_t tag);
/* Tag mode: record an allocation or free in the stack ring (slab objects). */
void heap_ring_note(struct sanitizer *s, const struct shadow_object *o, uint32_t handle,
		    const struct shadow_event *ev, bool is_free);

/* ---- heap_free.c ---- */

/* kind: what the event frees (OBJ_SLAB or OBJ_LARGE); cache_id 0: kfree. */
int heap_do_free(struct sanitizer *s, const struct shadow_event *ev, uint64_t addr,
		 uint32_t cache_id, uint8_t kind);
void heap_vfree(struct sanitizer *s, const struct shadow_event *ev);

/* ---- heap_prefetch.c: a few events ahead of their application ---- */

#define HEAP_AHEAD_RING 16 /* events in flight, at most (a power of two) */

/* An event on its way: the address it looks up first and how far down the index that got. */
struct heap_ahead {
	uint64_t addr; /* 0: none */
	struct addr_hint hint;
};
/* Before applying evs[0 .. n): start fetching what the first ones touch. */
void heap_ahead_start(struct sanitizer *s, const struct shadow_event *evs, size_t n,
		      struct heap_ahead *ring);
/* Before applying evs[i]: advance the later events' fetches, point evs[i]'s lookups. */
void heap_ahead(struct sanitizer *s, const struct shadow_event *evs, size_t n, size_t i,
		struct heap_ahead *ring);

/* ---- heap_events.c ---- */

int heap_apply(struct sanitizer *s, const struct shadow_event *ev);

#endif /* SHADOW_HEAP_INTERNAL_H */
