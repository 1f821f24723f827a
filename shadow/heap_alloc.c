/* SPDX-License-Identifier: MIT */
/*
 * Allocation events: shadow, tags and red zones of the new object, and the
 * check that costs no trap: a freed object's fill found broken when its
 * memory is handed out again (a write after free).
 */
#include <string.h>

#include "shadow/heap_internal.h"

/*
 * A freed object's fill must be intact when its memory is handed out again,
 * except the allocator's freelist word. An all-zero object is accepted:
 * __GFP_ZERO / init_on_alloc clear it before the alloc event is sent.
 */
static int check_reuse(struct sanitizer *s, const struct shadow_event *ev, uint64_t start,
		       uint32_t at)
{
	struct shadow_object *o = objects_get(&s->objects, at);
	struct heap_scan sc = {.pat = s->free_pat, .base = start};
	uint64_t off;

	if (!o || o->state != OBJ_FREED || !(o->flags & OBJ_F_PATTERN) ||
	    o->cache_id != ev->cache_id)
		return 0;
	off = heap_freeptr_of(s, o);
	heap_scan_range(s, start, off < o->size_alloc ? off : o->size_alloc, &sc);
	if (off + 8 < o->size_alloc)
		heap_scan_range(s, start + off + 8, o->size_alloc - off - 8, &sc);
	if (!sc.bad || !sc.nonzero)
		return 0;
	report_event_bug(s, ev, REPORT_ACCESS, "slab-use-after-free", start + sc.first,
			 sc.last - sc.first + 1, true, o);
	return 1;
}

/*
 * Tag mode: the requested bytes, rounded up to whole granules, get the
 * object's tag (the guest's own when its pointer carries one, else a random
 * one); the rest of the allocation is TAG_INVALID, like Linux's tag modes.
 */
void heap_tag_object(struct sanitizer *s, uint64_t start, uint64_t req, uint64_t alloc, uint8_t tag)
{
	heap_tag_range(s, start, req, tag);
	if (alloc > req)
		heap_tag_invalid_inside(s, start + req, alloc - req);
}

static uint8_t tag_alloc(struct sanitizer *s, const struct shadow_event *ev, uint64_t start,
			 uint64_t req, uint64_t alloc)
{
	uint8_t tag = ev->ptr_tagged ? ev->ptr_tag : TAG_MATCH_ALL;

	if (s->cfg.untagged_pointers || tag >= TAG_INVALID)
		tag = tag_random(&s->tags);
	heap_tag_object(s, start, req, alloc, tag);
	return tag;
}

void heap_ring_note(struct sanitizer *s, const struct shadow_object *o, uint32_t handle,
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
 * Returns the left red zone's start (== a->start: none); *end: the slot's.
 */
static uint64_t slab_slot(const struct alloc_req *a, const struct shadow_cache *c, uint64_t *end)
{
	uint64_t rz, page, left;

	*end = a->start + a->alloc;
	if (!a->redzones || !c || c->stride <= a->alloc)
		return a->start;
	rz = c->stride - a->alloc;
	/* the slot is [start - red_left, + stride): the next slot's pad is not ours */
	*end = a->start + c->stride - (c->red_left <= rz ? c->red_left : 0);
	page = a->start & ~(SHADOW_PAGE_SIZE - 1);
	left = a->start - page < rz ? page : a->start - rz;
	/* whole granules only: a granule shared with the object stays the object's */
	left = round8(left);
	return left < a->start ? left : a->start;
}

static void slab_redzones(struct sanitizer *s, const struct alloc_req *a, uint64_t left,
			  uint64_t end)
{
	if (end > a->start + a->alloc) {
		heap_poison(s, round8(a->start + a->alloc), end - round8(a->start + a->alloc),
			    SHADOW_SLAB_REDZONE);
		heap_tag_invalid_inside(s, a->start + a->alloc, end - a->start - a->alloc);
	}
	if (left < a->start) {
		heap_poison(s, left, a->start - left, SHADOW_SLAB_REDZONE);
		heap_tag_invalid_inside(s, left, a->start - left);
	}
}

/*
 * Generic mode, a slot in one page (the common case): left red zone, the
 * requested bytes (a partial last granule holds their count), red zone to
 * the slot's end, in one shadow write. The same bytes as the slow path.
 */
static bool slab_shadow_fast(struct sanitizer *s, const struct alloc_req *a, uint64_t left,
			     uint64_t end)
{
	uint64_t n = (round8(end) - left) / SHADOW_GRANULE,
		 obj = (a->start - left) / SHADOW_GRANULE, body = a->req / SHADOW_GRANULE;
	uint32_t partial = (a->req & SHADOW_GRANULE_MASK) != 0;
	const struct shadow_run runs[] = {
	    {(uint32_t)obj, SHADOW_SLAB_REDZONE},
	    {(uint32_t)body, 0},
	    {partial, a->req & SHADOW_GRANULE_MASK},
	    {(uint32_t)(n - obj - body - partial), SHADOW_SLAB_REDZONE},
	};

	if (s->cfg.mode != SANITIZER_GENERIC || (a->start & SHADOW_GRANULE_MASK) ||
	    n > SHADOW_PAGE_SIZE / SHADOW_GRANULE)
		return false;
	return heap_write_shadow(s, left, runs, 4);
}

int heap_do_alloc(struct sanitizer *s, const struct shadow_event *ev, struct alloc_req *a)
{
	static const uint8_t redzone[] = {
	    [OBJ_SLAB] = SHADOW_SLAB_REDZONE,
	    [OBJ_LARGE] = SHADOW_PAGE_REDZONE,
	    [OBJ_VMALLOC] = SHADOW_VMALLOC_INVALID,
	};
	struct shadow_object *o;
	struct alloc_site site;
	uint64_t left, end;
	bool fast = false;
	int bugs = 0;
	uint8_t tag = 0;

	if (a->alloc < a->req)
		a->alloc = a->req;
	if (a->alloc == 0)
		return 0;
	left = a->start;
	end = a->start + a->alloc;
	if (!s->ahead) /* in flight while the object index is searched */
		heap_prefetch_shadow(s, a->start);
	heap_lookup_site(s, a->start, end, &site);
	site.cache = caches_find(&s->caches, a->cache_id);
	if (a->kind == OBJ_SLAB)
		bugs = check_reuse(s, ev, a->start, site.at);
	o = heap_track_new(s, ev, a, &site);
	if (a->kind == OBJ_SLAB) {
		left = slab_slot(a, site.cache, &end);
		fast = slab_shadow_fast(s, a, left, end);
	}
	if (!fast)
		heap_shadow_live(s, a->start, a->req, a->alloc, redzone[a->kind]);
	if (s->cfg.mode == SANITIZER_TAGS)
		tag = tag_alloc(s, ev, a->start, a->req, a->alloc);
	if (a->kind == OBJ_SLAB && !fast)
		slab_redzones(s, a, left, end);
	if (!o)
		return bugs;
	o->tag = tag;
	/* the pages behind a page-backed object are this allocation's (page_owner's view) */
	if (a->kind == OBJ_LARGE || a->kind == OBJ_VMALLOC)
		heap_set_page_owner(s, a->start, a->alloc, &o->alloc, false);
	if (a->kind == OBJ_SLAB && s->cfg.write_patterns && a->alloc > a->req) {
		heap_fill(s, a->start + a->req, a->alloc - a->req, s->slack_pat);
		o->flags |= OBJ_F_CANARY;
	}
	/* Linux's stack ring holds slab objects only; page-backed ones have none */
	if (s->cfg.mode == SANITIZER_TAGS && a->kind == OBJ_SLAB)
		heap_ring_note(s, o, o->alloc.handle, ev, false);
	return bugs;
}
