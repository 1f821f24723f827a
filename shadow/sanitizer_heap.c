/* SPDX-License-Identifier: MIT */
/*
 * Allocation and free events: shadow updates, object tracking, quarantine,
 * and the checks that cost no trap (double/invalid free, slack canary found
 * broken at free, freed-object fill found broken at reallocation).
 */
#include <string.h>

#include "shadow/sanitizer_internal.h"

#define KMALLOC_MAX_CACHE 8192 /* SLUB: bigger kmalloc goes to the page allocator */

static uint64_t round8(uint64_t x)
{
	return (x + SHADOW_GRANULE_MASK) & ~SHADOW_GRANULE_MASK;
}

/* ---- guest ranges by GVA, one page piece at a time ---- */

enum piece_op { PIECE_POISON, PIECE_UNPOISON, PIECE_WRITE, PIECE_SCAN, PIECE_TAG, PIECE_OWNER };

struct piece_arg {
	enum piece_op op;
	uint8_t val;
	const uint8_t *pat; /* PIECE_WRITE, PIECE_SCAN: periodic pattern by gva & 7 */
	uint64_t base;	    /* PIECE_SCAN: offsets are relative to this gva */
	uint64_t first, last;
	bool bad, nonzero;
	bool is_free; /* PIECE_OWNER */
	const struct object_track *track;
};

static void scan_piece(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t len,
		       struct piece_arg *a)
{
	if (!s->ops.read_phys(s->ops.ctx, gpa, s->scratch, len))
		return;
	for (uint64_t i = 0; i < len; i++) {
		uint8_t b = s->scratch[i];

		a->nonzero |= b != 0;
		if (b == a->pat[(gva + i) & 7])
			continue;
		if (!a->bad)
			a->first = gva + i - a->base;
		a->last = gva + i - a->base;
		a->bad = true;
	}
}

static bool do_piece(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t len,
		     struct piece_arg *a)
{
	switch (a->op) {
	case PIECE_POISON:
		return shadow_poison(&s->shadow, gpa, len, a->val);
	case PIECE_UNPOISON:
		return shadow_unpoison(&s->shadow, gpa, len);
	case PIECE_WRITE:
		return s->ops.write_phys(s->ops.ctx, gpa, a->pat + (gva & 7), len);
	case PIECE_SCAN:
		scan_piece(s, gpa, gva, len, a);
		return true;
	case PIECE_TAG:
		return tag_map_set(&s->tags, gpa, len, a->val);
	case PIECE_OWNER:
		if (a->is_free) /* the object's free: its pages' own free is still to come */
			page_owner_set_object_free(&s->page_owner, gpa & ~(SHADOW_PAGE_SIZE - 1), 1,
						   a->track);
		else
			page_owner_set(&s->page_owner, gpa & ~(SHADOW_PAGE_SIZE - 1), 1, false,
				       a->track);
		return true;
	}
	return false;
}

/* Run a over [gva, gva + len) page by page; unmapped pieces are skipped and counted. */
static void each_piece(struct sanitizer *s, uint64_t gva, uint64_t len, struct piece_arg *a)
{
	bool ok = true;

	while (len) {
		uint64_t n = SHADOW_PAGE_SIZE - (gva & (SHADOW_PAGE_SIZE - 1));
		uint64_t gpa;

		if (n > len)
			n = len;
		if (!s->ops.virt_to_phys(s->ops.ctx, gva, &gpa) || !do_piece(s, gpa, gva, n, a))
			ok = false;
		gva += n;
		len -= n;
	}
	if (!ok)
		s->st.bad_ranges++;
}

static void poison(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t val)
{
	struct piece_arg a = {.op = PIECE_POISON, .val = val};

	each_piece(s, gva, len, &a);
}

/* Tag mode: give every granule touching [gva, gva + len) the memory tag `tag`. */
static void tag_range(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t tag)
{
	struct piece_arg a = {.op = PIECE_TAG, .val = tag};

	if (s->cfg.mode == SANITIZER_TAGS && len)
		each_piece(s, gva, len, &a);
}

/*
 * Tag mode: the granules lying wholly in [gva, gva + len) become TAG_INVALID
 * (red zone, slack): a granule shared with an object keeps the object's tag,
 * as Linux's kasan_poison_kmalloc_redzone starts at round_up(object + size).
 */
static void tag_invalid_inside(struct sanitizer *s, uint64_t gva, uint64_t len)
{
	uint64_t lo = (gva + TAG_GRANULE - 1) & ~(uint64_t)(TAG_GRANULE - 1);
	uint64_t hi = (gva + len) & ~(uint64_t)(TAG_GRANULE - 1);

	if (hi > lo)
		tag_range(s, lo, hi - lo, TAG_INVALID);
}

static void unpoison(struct sanitizer *s, uint64_t gva, uint64_t len)
{
	struct piece_arg a = {.op = PIECE_UNPOISON};

	each_piece(s, gva, len, &a);
}

static void fill(struct sanitizer *s, uint64_t gva, uint64_t len, const uint8_t *pat)
{
	struct piece_arg a = {.op = PIECE_WRITE, .pat = pat};

	each_piece(s, gva, len, &a);
}

static void scan(struct sanitizer *s, uint64_t base, uint64_t gva, uint64_t len,
		 struct piece_arg *a)
{
	a->op = PIECE_SCAN;
	a->base = base;
	each_piece(s, gva, len, a);
}

/* Requested bytes accessible, the rest of the allocation a redzone. */
static void shadow_live(struct sanitizer *s, uint64_t start, uint64_t req, uint64_t alloc,
			uint8_t redzone)
{
	uint64_t rz = round8(start + req);

	unpoison(s, start, req);
	if (start + alloc > rz)
		poison(s, rz, start + alloc - rz, redzone);
}

static uint8_t shadow_at(struct sanitizer *s, uint64_t gva)
{
	uint64_t gpa;
	uint8_t v = 0;

	if (s->ops.virt_to_phys(s->ops.ctx, gva, &gpa))
		shadow_map_get(&s->shadow, gpa, &v);
	return v;
}

/* ---- object life cycle ---- */

static struct object_track new_track(struct sanitizer *s, const struct shadow_event *ev, bool ref)
{
	return (struct object_track){
	    .time = ev->time,
	    .pid = ev->pid,
	    .cpu = ev->cpu,
	    .handle = depot_save(&s->depot, ev->frames, ev->nr_frames, ref),
	};
}

void heap_forget(struct sanitizer *s, uint32_t id)
{
	struct shadow_object *o = objects_get(&s->objects, id);

	if (!o)
		return;
	quarantine_remove(&s->quarantine, id);
	depot_put(&s->depot, o->alloc.handle);
	depot_put(&s->depot, o->free.handle);
	depot_put(&s->depot, o->aux[0].handle);
	depot_put(&s->depot, o->aux[1].handle);
	objects_remove(&s->objects, id);
}

/*
 * Leaving quarantine: the free track goes with the object, so a slab
 * object's first granule drops from "free, meta valid" to plain "free"
 * (unless the memory moved on since, e.g. its page was freed).
 */
static void evict(struct sanitizer *s, uint32_t id)
{
	struct shadow_object *o = objects_get(&s->objects, id);

	if (o->kind == OBJ_SLAB && shadow_at(s, o->start) == SHADOW_SLAB_FREE_META)
		poison(s, o->start, SHADOW_GRANULE, SHADOW_SLAB_FREE);
	heap_forget(s, id);
	s->st.quarantine_evicted++;
}

static void quarantine_trim(struct sanitizer *s)
{
	uint32_t id;

	while ((id = quarantine_pop_over(&s->quarantine)))
		evict(s, id);
}

/* The guest reused [start, end): whatever we tracked there is gone. */
static void drop_overlaps(struct sanitizer *s, uint64_t start, uint64_t end)
{
	uint32_t id = objects_find(&s->objects, start);
	struct shadow_object *same = objects_get(&s->objects, id);

	/*
	 * Common case: the address is reused for an object no bigger. Tracked
	 * objects never overlap, so nothing else can overlap [start, end).
	 */
	if (same && same->state == OBJ_FREED && end - start <= same->size_alloc) {
		heap_forget(s, id);
		return;
	}
	while ((id = objects_first_overlap(&s->objects, start, end))) {
		struct shadow_object *o = objects_get(&s->objects, id);

		if (o->state == OBJ_LIVE) {
			struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

			s->st.stale_dropped++;
			if (c && c->live)
				c->live--;
		}
		heap_forget(s, id);
	}
}

struct alloc_req {
	uint64_t start, req, alloc;
	uint32_t cache_id;
	uint8_t kind;
	bool redzones; /* cache_id names the object's own cache: poison its red zones */
};

static struct shadow_object *track_new(struct sanitizer *s, const struct shadow_event *ev,
				       const struct alloc_req *a)
{
	struct shadow_object *o;
	struct shadow_cache *c;
	uint32_t id, old;

	drop_overlaps(s, a->start, a->start + a->alloc);
	id = objects_insert(&s->objects, a->start);
	if (!id && (old = quarantine_pop_oldest(&s->quarantine))) {
		evict(s, old);
		id = objects_insert(&s->objects, a->start);
	}
	if (!id) {
		s->st.untracked++;
		return NULL;
	}
	o = objects_get(&s->objects, id);
	o->size_req = a->req;
	o->size_alloc = a->alloc;
	o->cache_id = a->cache_id;
	o->kind = a->kind;
	o->state = OBJ_LIVE;
	o->alloc = new_track(s, ev, true);
	c = caches_find(&s->caches, a->cache_id);
	if (c)
		c->live++;
	return o;
}

static uint32_t freeptr_of(struct sanitizer *s, const struct shadow_object *o)
{
	struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

	return c ? c->freeptr_offset : CACHE_NO_FREEPTR;
}

/*
 * A freed object's fill must be intact when its memory is handed out again,
 * except the allocator's freelist word. An all-zero object is accepted:
 * __GFP_ZERO / init_on_alloc clear it before the alloc event is sent.
 */
static int check_reuse(struct sanitizer *s, const struct shadow_event *ev, uint64_t start)
{
	struct shadow_object *o = objects_get(&s->objects, objects_find(&s->objects, start));
	struct piece_arg a = {.pat = s->free_pat};
	uint64_t off;

	if (!o || o->state != OBJ_FREED || !(o->flags & OBJ_F_PATTERN) ||
	    o->cache_id != ev->cache_id)
		return 0;
	off = freeptr_of(s, o);
	scan(s, start, start, off < o->size_alloc ? off : o->size_alloc, &a);
	if (off + 8 < o->size_alloc)
		scan(s, start, start + off + 8, o->size_alloc - off - 8, &a);
	if (!a.bad || !a.nonzero)
		return 0;
	report_event_bug(s, ev, REPORT_ACCESS, "slab-use-after-free", start + a.first,
			 a.last - a.first + 1, true, o);
	return 1;
}

/*
 * Tag mode: the requested bytes, rounded up to whole granules, get the
 * object's tag (the guest's own when its pointer carries one, else a random
 * one); the rest of the allocation is TAG_INVALID, like Linux's tag modes.
 */
static void tag_object(struct sanitizer *s, uint64_t start, uint64_t req, uint64_t alloc,
		       uint8_t tag)
{
	tag_range(s, start, req, tag);
	if (alloc > req)
		tag_invalid_inside(s, start + req, alloc - req);
}

static uint8_t tag_alloc(struct sanitizer *s, const struct shadow_event *ev, uint64_t start,
			 uint64_t req, uint64_t alloc)
{
	uint8_t tag = tag_get(ev->addr);

	if (s->cfg.untagged_pointers || tag >= TAG_INVALID)
		tag = tag_random(&s->tags);
	tag_object(s, start, req, alloc, tag);
	return tag;
}

static void ring_note(struct sanitizer *s, const struct shadow_object *o, uint32_t handle,
		      const struct shadow_event *ev, bool is_free)
{
	struct ring_entry e = {
	    .ptr = tag_set(o->start, o->tag),
	    .size = ring_size(s, o),
	    .pid = ev->pid,
	    .cpu = ev->cpu,
	    .handle = handle,
	    .is_free = is_free,
	};

	stack_ring_record(&s->ring, &e);
}

/*
 * A cache whose slots are longer than the object (KASAN's optimal_redzone,
 * slub_debug=Z) has red zones: after the object up to the next slot, and
 * before it, the previous slot's tail or the slab's leading pad. Both are
 * poisoned at every allocation, as the guest never announces a new slab:
 * that is what catches an overflow into a slot never allocated. The left
 * one stays inside the object's page: a slab without a leading pad starts
 * on a page boundary, and the memory before it is not the cache's.
 */
static void slab_redzones(struct sanitizer *s, const struct alloc_req *a)
{
	struct shadow_cache *c = caches_find(&s->caches, a->cache_id);
	uint64_t rz, page, left;

	if (!c || c->stride <= a->alloc)
		return;
	rz = c->stride - a->alloc;
	poison(s, round8(a->start + a->alloc), a->start + c->stride - round8(a->start + a->alloc),
	       SHADOW_SLAB_REDZONE);
	tag_invalid_inside(s, a->start + a->alloc, c->stride - a->alloc);
	page = a->start & ~(SHADOW_PAGE_SIZE - 1);
	left = a->start - page < rz ? page : a->start - rz;
	/* whole granules only: a granule shared with the object stays the object's */
	left = round8(left);
	if (left < a->start) {
		poison(s, left, a->start - left, SHADOW_SLAB_REDZONE);
		tag_invalid_inside(s, left, a->start - left);
	}
}

static int do_alloc(struct sanitizer *s, const struct shadow_event *ev, struct alloc_req *a)
{
	static const uint8_t redzone[] = {
	    [OBJ_SLAB] = SHADOW_SLAB_REDZONE,
	    [OBJ_LARGE] = SHADOW_PAGE_REDZONE,
	    [OBJ_VMALLOC] = SHADOW_VMALLOC_INVALID,
	};
	struct shadow_object *o;
	int bugs = 0;
	uint8_t tag = 0;

	if (a->alloc < a->req)
		a->alloc = a->req;
	if (a->alloc == 0)
		return 0;
	if (a->kind == OBJ_SLAB)
		bugs = check_reuse(s, ev, a->start);
	o = track_new(s, ev, a);
	shadow_live(s, a->start, a->req, a->alloc, redzone[a->kind]);
	if (s->cfg.mode == SANITIZER_TAGS)
		tag = tag_alloc(s, ev, a->start, a->req, a->alloc);
	if (a->kind == OBJ_SLAB && a->redzones)
		slab_redzones(s, a);
	if (!o)
		return bugs;
	o->tag = tag;
	if (a->kind == OBJ_LARGE || a->kind == OBJ_VMALLOC) {
		/* the pages behind it now belong to this allocation (page_owner's view) */
		struct piece_arg pa = {.op = PIECE_OWNER, .track = &o->alloc};

		each_piece(s, a->start, a->alloc, &pa);
	}
	if (a->kind == OBJ_SLAB && s->cfg.write_patterns && a->alloc > a->req) {
		fill(s, a->start + a->req, a->alloc - a->req, s->slack_pat);
		o->flags |= OBJ_F_CANARY;
	}
	/* Linux's stack ring holds slab objects only; page-backed ones have none */
	if (s->cfg.mode == SANITIZER_TAGS && a->kind == OBJ_SLAB)
		ring_note(s, o, o->alloc.handle, ev, false);
	return bugs;
}

/* ---- frees ---- */

/* A write past the requested size, found at free: the canary in the slack is broken. */
static int check_slack(struct sanitizer *s, const struct shadow_event *ev, struct shadow_object *o)
{
	struct piece_arg a = {.pat = s->slack_pat};
	uint64_t lo = o->size_req, hi = o->size_alloc, fp = freeptr_of(s, o);

	if (!(o->flags & OBJ_F_CANARY) || (o->flags & (OBJ_F_KSIZED | OBJ_F_SLACK_REPORTED)))
		return 0;
	/* The allocator may store its freelist word in the slack before the free event. */
	if (fp != CACHE_NO_FREEPTR && fp + 8 > lo && fp < hi) {
		if (fp > lo)
			scan(s, o->start, o->start + lo, fp - lo, &a);
		lo = fp + 8;
	}
	if (hi > lo)
		scan(s, o->start, o->start + lo, hi - lo, &a);
	if (!a.bad)
		return 0;
	report_event_bug(s, ev, REPORT_ACCESS, "slab-out-of-bounds", o->start + a.first,
			 a.last - a.first + 1, true, o);
	return 1;
}

static void fill_freed(struct sanitizer *s, struct shadow_object *o)
{
	uint64_t off = freeptr_of(s, o);

	if (!s->cfg.write_patterns || off == CACHE_NO_FREEPTR)
		return;
	fill(s, o->start, off < o->size_alloc ? off : o->size_alloc, s->free_pat);
	if (off + 8 < o->size_alloc)
		fill(s, o->start + off + 8, o->size_alloc - off - 8, s->free_pat);
	o->flags |= OBJ_F_PATTERN;
}

static void mark_freed(struct sanitizer *s, const struct shadow_event *ev, uint32_t id,
		       struct shadow_object *o)
{
	struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

	o->state = OBJ_FREED;
	o->flags &= ~OBJ_F_CANARY;
	o->free = new_track(s, ev, true);
	if (c && c->live)
		c->live--;
	if (o->kind == OBJ_SLAB) {
		poison(s, o->start, SHADOW_GRANULE, SHADOW_SLAB_FREE_META);
		if (o->size_alloc > SHADOW_GRANULE)
			poison(s, o->start + SHADOW_GRANULE, o->size_alloc - SHADOW_GRANULE,
			       SHADOW_SLAB_FREE);
		fill_freed(s, o);
	} else {
		struct piece_arg pa = {.op = PIECE_OWNER, .is_free = true, .track = &o->free};

		poison(s, o->start, o->size_alloc,
		       o->kind == OBJ_LARGE ? SHADOW_PAGE_FREE : SHADOW_VMALLOC_INVALID);
		each_piece(s, o->start, o->size_alloc, &pa);
	}
	tag_range(s, o->start, o->size_alloc, TAG_INVALID);
	if (s->cfg.mode == SANITIZER_TAGS && o->kind == OBJ_SLAB)
		ring_note(s, o, o->free.handle, ev, true);
	/*
	 * In tag mode too: the guest reuses the memory at once either way (the
	 * quarantine is host bookkeeping, never a delay). It keeps the freed
	 * object's extent so that a report can name the object, as
	 * nearest_obj() does from the slab; the tracks come from the ring.
	 */
	quarantine_put(&s->quarantine, id, o->size_alloc);
	quarantine_trim(s); /* may forget o */
}

/* A free of memory we do not track: the shadow alone can still tell a double free. */
static int free_untracked(struct sanitizer *s, const struct shadow_event *ev, uint64_t addr,
			  uint8_t kind)
{
	uint8_t v = shadow_at(s, addr);
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
 * kind: what the event says is being freed (slab object or large kmalloc).
 * Linux order: a pointer that is not an object start (or the wrong kind or
 * cache) is an invalid free; an object already freed is a double free.
 * kfree() (cache_id 0) legitimately frees both kinds.
 */
static int do_free(struct sanitizer *s, const struct shadow_event *ev, uint64_t addr,
		   uint32_t cache_id, uint8_t kind)
{
	uint32_t id = objects_containing(&s->objects, addr);
	struct shadow_object *o = objects_get(&s->objects, id);
	bool wrong_kind;
	int bugs = 0;

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
	if (o->kind == OBJ_SLAB)
		bugs = check_slack(s, ev, o);
	mark_freed(s, ev, id, o);
	return bugs;
}

/* ---- other events ---- */

/*
 * A page free of pages a page free already freed, with no allocation since:
 * Linux reports it as a double-free at the page address (mempool's
 * kasan_mempool_poison_pages: the first byte is no longer accessible). Pages
 * freed together with a large kmalloc or vmalloc object are expected to be
 * freed once more as pages (PAGE_STATE_OBJECT_FREED), and pages never seen
 * (PAGE_STATE_UNKNOWN) may predate the driver: neither is reported.
 */
static bool page_double_free(struct sanitizer *s, uint64_t gpa)
{
	const struct page_owner_entry *e = page_owner_get(&s->page_owner, gpa);
	uint8_t v = 0;

	return e && e->state == PAGE_STATE_FREED && shadow_map_get(&s->shadow, gpa, &v) &&
	       v == SHADOW_PAGE_FREE;
}

static int pages(struct sanitizer *s, const struct shadow_event *ev, bool is_free)
{
	uint64_t gpa = ev->pfn << SHADOW_PAGE_SHIFT, len;
	struct object_track t;
	bool ok;

	if (ev->order >= 32 || ev->pfn > (UINT64_MAX >> SHADOW_PAGE_SHIFT)) {
		s->st.bad_ranges++;
		return 0;
	}
	if (is_free && page_double_free(s, gpa)) {
		/* like Linux, the bad free is not applied: the first free's track stays */
		report_event_bug(s, ev, REPORT_DOUBLE_FREE, "double-free", ev->addr, 0, false,
				 NULL);
		return 1;
	}
	len = SHADOW_PAGE_SIZE << ev->order;
	if (!is_free && ev->addr)
		drop_overlaps(s, ev->addr, ev->addr + len);
	ok = is_free ? shadow_poison(&s->shadow, gpa, len, SHADOW_PAGE_FREE)
		     : shadow_unpoison(&s->shadow, gpa, len);
	/* tag mode: free pages are TAG_INVALID, allocated ones a new tag (kasan_unpoison_pages) */
	if (ok && s->cfg.mode == SANITIZER_TAGS)
		ok = tag_map_set(&s->tags, gpa, len, is_free ? TAG_INVALID : tag_random(&s->tags));
	if (!ok) {
		s->st.bad_ranges++;
		return 0;
	}
	t = new_track(s, ev, false); /* page history holds no depot reference */
	page_owner_set(&s->page_owner, gpa, 1ull << ev->order, is_free, &t);
	return 0;
}

static void vfree(struct sanitizer *s, const struct shadow_event *ev)
{
	uint32_t id = objects_find(&s->objects, ev->addr);
	struct shadow_object *o = objects_get(&s->objects, id);

	/* vfree of a bad pointer is a vmalloc WARN in Linux, not KASAN: count it */
	if (!o || o->kind != OBJ_VMALLOC || o->state != OBJ_LIVE) {
		s->st.unknown_frees++;
		return;
	}
	mark_freed(s, ev, id, o);
}

/* krealloc of a freed object reads it: Linux reports a Read of size 1 there. */
static int realloc_event(struct sanitizer *s, const struct shadow_event *ev)
{
	struct shadow_object *o = objects_get(&s->objects, objects_find(&s->objects, ev->old_addr));
	struct alloc_req a = {ev->addr,	    ev->size_req, ev->size_alloc,
			      ev->cache_id, OBJ_SLAB,	  false};
	int bugs = 0;

	if (a.req > KMALLOC_MAX_CACHE)
		a.kind = OBJ_LARGE;
	if (o && o->state == OBJ_FREED) {
		report_event_bug(s, ev, REPORT_ACCESS, NULL, ev->old_addr, 1, false, o);
		o = NULL;
		bugs = 1;
	}
	if (o && ev->addr == ev->old_addr) { /* resized in place */
		o->size_req = a.req;
		if (a.alloc > o->size_alloc)
			o->size_alloc = a.alloc;
		if (o->size_alloc < a.req)
			o->size_alloc = a.req;
		depot_put(&s->depot, o->alloc.handle);
		o->alloc = new_track(s, ev, true);
		shadow_live(s, o->start, o->size_req, o->size_alloc,
			    o->kind == OBJ_LARGE ? SHADOW_PAGE_REDZONE : SHADOW_SLAB_REDZONE);
		/* the pointer keeps its tag: only the object's extent changes */
		tag_object(s, o->start, o->size_req, o->size_alloc, o->tag);
		if (s->cfg.mode == SANITIZER_TAGS && o->kind == OBJ_SLAB)
			ring_note(s, o, o->alloc.handle, ev,
				  false); /* kasan_krealloc saves it too */
		if ((o->flags & OBJ_F_CANARY) && !(o->flags & OBJ_F_KSIZED))
			fill(s, o->start + o->size_req, o->size_alloc - o->size_req, s->slack_pat);
		return bugs;
	}
	if (!a.cache_id && o)
		a.cache_id = o->cache_id;
	if (ev->addr)
		bugs += do_alloc(s, ev, &a);
	o = objects_get(&s->objects, objects_find(&s->objects, ev->old_addr));
	if (o && o->state == OBJ_LIVE && ev->addr != ev->old_addr)
		bugs += do_free(s, ev, ev->old_addr, 0, o->kind);
	return bugs;
}

static int ksize_event(struct sanitizer *s, const struct shadow_event *ev)
{
	struct shadow_object *o =
	    objects_get(&s->objects, objects_containing(&s->objects, ev->addr));

	if (!o)
		return 0;
	if (o->state == OBJ_FREED) {
		report_event_bug(s, ev, REPORT_ACCESS, NULL, ev->addr, 1, false, o);
		return 1;
	}
	unpoison(s, o->start, o->size_alloc);
	tag_range(s, o->start, o->size_alloc, o->tag); /* ksize() makes the slot the object's */
	o->flags = (o->flags | OBJ_F_KSIZED) & ~OBJ_F_CANARY;
	return 0;
}

int heap_apply(struct sanitizer *s, const struct shadow_event *ev)
{
	/* objects are keyed by untagged address; the tag lives in the tag map */
	uint64_t addr = s->cfg.mode == SANITIZER_TAGS ? tag_reset(ev->addr) : ev->addr;
	struct alloc_req a = {addr, ev->size_req, ev->size_alloc, ev->cache_id, OBJ_SLAB, false};

	switch (ev->kind) {
	case SHADOW_EV_SLAB_ALLOC:
		a.redzones = true;
		return do_alloc(s, ev, &a);
	case SHADOW_EV_SLAB_FREE:
		return do_free(s, ev, addr, ev->cache_id, OBJ_SLAB);
	case SHADOW_EV_KMALLOC_LARGE:
		a.kind = OBJ_LARGE;
		a.cache_id = 0;
		return do_alloc(s, ev, &a);
	case SHADOW_EV_KFREE_LARGE:
		return do_free(s, ev, addr, 0, OBJ_LARGE);
	case SHADOW_EV_PAGE_ALLOC:
	case SHADOW_EV_PAGE_FREE:
		return pages(s, ev, ev->kind == SHADOW_EV_PAGE_FREE);
	case SHADOW_EV_VMALLOC:
		a.kind = OBJ_VMALLOC;
		a.cache_id = 0;
		return do_alloc(s, ev, &a);
	case SHADOW_EV_VFREE:
		vfree(s, ev);
		return 0;
	case SHADOW_EV_KREALLOC:
		return realloc_event(s, ev);
	case SHADOW_EV_KSIZE:
		return ksize_event(s, ev);
	default:
		return 0;
	}
}
