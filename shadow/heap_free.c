/* SPDX-License-Identifier: MIT */
/*
 * Free events: double and invalid frees, the slack canary found broken at
 * free (a write past the requested size), and what a freed object leaves
 * behind: poison, fill, free track, a place in the quarantine.
 */
#include "shadow/heap_internal.h"

/* A write past the requested size, found at free: the canary in the slack is broken. */
static int check_slack(struct sanitizer *s, const struct shadow_event *ev, struct shadow_object *o,
		       const struct shadow_cache *c)
{
	struct heap_scan sc = {.pat = s->slack_pat, .base = o->start};
	uint64_t lo = o->size_req, hi = o->size_alloc, fp;

	if (!(o->flags & OBJ_F_CANARY) || (o->flags & (OBJ_F_KSIZED | OBJ_F_SLACK_REPORTED)))
		return 0;
	fp = c ? c->freeptr_offset : CACHE_NO_FREEPTR;
	/* The allocator may store its freelist word in the slack before the free event. */
	if (fp != CACHE_NO_FREEPTR && fp + 8 > lo && fp < hi) {
		if (fp > lo)
			heap_scan_range(s, o->start + lo, fp - lo, &sc);
		lo = fp + 8;
	}
	if (hi > lo)
		heap_scan_range(s, o->start + lo, hi - lo, &sc);
	if (!sc.bad)
		return 0;
	report_event_bug(s, ev, REPORT_ACCESS, "slab-out-of-bounds", o->start + sc.first,
			 sc.last - sc.first + 1, true, o);
	return 1;
}

static void fill_freed(struct sanitizer *s, struct shadow_object *o, const struct shadow_cache *c)
{
	uint64_t off = c ? c->freeptr_offset : CACHE_NO_FREEPTR;

	if (!s->cfg.write_patterns || off == CACHE_NO_FREEPTR)
		return;
	heap_fill(s, o->start, off < o->size_alloc ? off : o->size_alloc, s->free_pat);
	if (off + 8 < o->size_alloc)
		heap_fill(s, o->start + off + 8, o->size_alloc - off - 8, s->free_pat);
	o->flags |= OBJ_F_PATTERN;
}

/* c: o's cache (NULL: none), looked up once for every step. */
static void mark_freed(struct sanitizer *s, const struct shadow_event *ev, uint32_t id,
		       struct shadow_object *o, struct shadow_cache *c)
{
	o->state = OBJ_FREED;
	o->flags &= ~OBJ_F_CANARY;
	o->free = heap_new_track(s, ev, true);
	if (c && c->live)
		c->live--;
	if (o->kind == OBJ_SLAB) {
		heap_poison_head(s, o->start, o->size_alloc, SHADOW_SLAB_FREE_META,
				 SHADOW_SLAB_FREE);
		fill_freed(s, o, c);
	} else {
		heap_poison(s, o->start, o->size_alloc,
			    o->kind == OBJ_LARGE ? SHADOW_PAGE_FREE : SHADOW_VMALLOC_INVALID);
		/* the object's free: its pages' own free is still to come */
		heap_set_page_owner(s, o->start, o->size_alloc, &o->free, true);
	}
	heap_tag_range(s, o->start, o->size_alloc, TAG_INVALID);
	if (s->cfg.mode == SANITIZER_TAGS && o->kind == OBJ_SLAB)
		heap_ring_note(s, o, o->free.handle, ev, true);
	/*
	 * In tag mode too: the guest reuses the memory at once either way (the
	 * quarantine is host bookkeeping, never a delay). It keeps the freed
	 * object's extent so that a report can name the object, as
	 * nearest_obj() does from the slab; the tracks come from the ring.
	 */
	if (!heap_quarantine_put(s, id, o, c))
		heap_evict(s, id); /* no room to remember it (out of memory): forget it now */
	heap_quarantine_trim(s);   /* may forget o */
}

/* A free of memory we do not track: the shadow alone can still tell a double free. */
static int free_untracked(struct sanitizer *s, const struct shadow_event *ev, uint64_t addr,
			  uint8_t kind)
{
	uint8_t v = heap_shadow_at(s, addr);
	bool twice = kind == OBJ_SLAB ? v == SHADOW_SLAB_FREE || v == SHADOW_SLAB_FREE_META
				      : v == SHADOW_PAGE_FREE;

	if (!twice) {
		s->st.unknown_frees++;
		return 0;
	}
	report_event_bug(s, ev, REPORT_DOUBLE_FREE, "double-free", addr, 0, false, NULL);
	return 1;
}

/*
 * Linux order: a pointer that is not an object start (or the wrong kind or
 * cache) is an invalid free; an object already freed is a double free.
 * kfree() (cache_id 0) legitimately frees both kinds.
 */
int heap_do_free(struct sanitizer *s, const struct shadow_event *ev, uint64_t addr,
		 uint32_t cache_id, uint8_t kind)
{
	uint32_t id;
	struct shadow_object *o;
	struct shadow_cache *c;
	bool wrong_kind;
	int bugs = 0;

	if (!s->ahead) /* in flight while the object index is searched */
		heap_prefetch_shadow(s, addr);
	id = objects_find(&s->objects, addr); /* frees name the start, but for invalid ones */
	if (!id)
		id = objects_containing(&s->objects, addr);
	o = objects_get(&s->objects, id);
	if (!o)
		return free_untracked(s, ev, addr, kind);
	wrong_kind =
	    o->kind == OBJ_VMALLOC || (o->kind != kind && !(kind == OBJ_SLAB && !cache_id));
	if (o->start != addr || wrong_kind ||
	    (cache_id && o->kind == OBJ_SLAB && o->cache_id != cache_id)) {
		report_event_bug(s, ev, REPORT_INVALID_FREE, "invalid-free", addr, 0, false, o);
		return 1;
	}
	if (o->state == OBJ_FREED) {
		report_event_bug(s, ev, REPORT_DOUBLE_FREE, "double-free", addr, 0, false, o);
		return 1;
	}
	c = caches_find(&s->caches, o->cache_id);
	if (o->kind == OBJ_SLAB)
		bugs = check_slack(s, ev, o, c);
	mark_freed(s, ev, id, o, c);
	return bugs;
}

void heap_vfree(struct sanitizer *s, const struct shadow_event *ev)
{
	uint32_t id = objects_find(&s->objects, ev->addr);
	struct shadow_object *o = objects_get(&s->objects, id);

	/* vfree of a bad pointer is a vmalloc WARN in Linux, not KASAN: count it */
	if (!o || o->kind != OBJ_VMALLOC || o->state != OBJ_LIVE) {
		s->st.unknown_frees++;
		return;
	}
	mark_freed(s, ev, id, o, caches_find(&s->caches, o->cache_id));
}
