/* SPDX-License-Identifier: MIT */
/*
 * Page allocator, krealloc and ksize events, and the dispatcher that hands
 * every allocation/free event to its handler.
 */
#include "shadow/heap_internal.h"

/* Allocated pages: the guest's pointer tag where it sent one, else a random tag. */
static uint8_t page_tag(struct sanitizer *s, const struct shadow_event *ev)
{
	if (!s->cfg.untagged_pointers && ev->ptr_tagged && ev->ptr_tag < TAG_INVALID)
		return ev->ptr_tag;
	return tag_random(&s->tags);
}

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

/*
 * A page handed out by the page allocator is wholly its new owner's: any
 * slab object or quarantine entry we still had over it is stale (its cache
 * or slab went away without us seeing every object go), so it is forgotten
 * before the pages are unpoisoned. The double-free check above still sees
 * a second free of the pages, and frees of forgotten objects still meet
 * the shadow.
 */
static int pages(struct sanitizer *s, const struct shadow_event *ev, uint64_t addr, bool is_free)
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
	if (!is_free && addr)
		heap_drop_overlaps(s, addr, addr + len);
	ok = is_free ? shadow_poison(&s->shadow, gpa, len, SHADOW_PAGE_FREE)
		     : shadow_unpoison(&s->shadow, gpa, len);
	/* tag mode: free pages are TAG_INVALID, allocated ones a new tag (kasan_unpoison_pages) */
	if (ok && s->cfg.mode == SANITIZER_TAGS)
		ok = tag_map_set(&s->tags, gpa, len, is_free ? TAG_INVALID : page_tag(s, ev));
	if (!ok) {
		s->st.bad_ranges++;
		return 0;
	}
	t = heap_new_track(s, ev, false); /* page history holds no depot reference */
	page_owner_set(&s->page_owner, gpa, 1ull << ev->order, is_free, &t);
	return 0;
}

/*
 * The guest's reference count of the page at gpa, from its struct page
 * (guest memory, untrusted: only "positive" is believed). False if unknown.
 */
static bool page_refcount(struct sanitizer *s, uint64_t gpa, int32_t *refs)
{
	uint64_t pfn = gpa >> SHADOW_PAGE_SHIFT, va, pa;

	if (!s->cfg.vmemmap_base || !s->cfg.page_struct_size)
		return false;
	va = s->cfg.vmemmap_base + pfn * s->cfg.page_struct_size + s->cfg.page_refcount_off;
	return s->ops.virt_to_phys(s->ops.ctx, va, &pa) &&
	       s->ops.read_phys(s->ops.ctx, pa, refs, 4);
}

/*
 * A page whose last event freed it, trapped in use: if its struct page holds
 * references, an allocation that sends no event handed it out again (Linux
 * 6.1's alloc_pages_bulk() has no tracepoint; vmalloc and VMAP_STACK task
 * stacks use it). Judged as freed, the kernel's own stack would be a
 * use-after-free, and an armed stack page turns the guest's next interrupt
 * into a double fault. The page becomes allocated, with no stack. A page the
 * guest really freed has no references, so page use-after-free is still found.
 */
bool page_reused_locked(struct sanitizer *s, uint64_t gpa)
{
	const struct page_owner_entry *e = page_owner_get(&s->page_owner, gpa);
	uint64_t pfn = gpa >> SHADOW_PAGE_SHIFT;
	struct shadow_event ev = {.kind = SHADOW_EV_PAGE_ALLOC, .pfn = pfn};
	int32_t refs;

	if (!e || e->state != PAGE_STATE_FREED || !page_refcount(s, gpa, &refs) || refs <= 0)
		return false;
	ev.addr = s->cfg.direct_map_base + (pfn << SHADOW_PAGE_SHIFT);
	pages(s, &ev, ev.addr, false);
	/* only a page that really changed state: the caller loops while this says true */
	e = page_owner_get(&s->page_owner, gpa);
	if (e && e->state == PAGE_STATE_FREED)
		return false;
	s->st.pages_reused++;
	return true;
}

/* Resized in place: only the object's extent and allocation track change. */
static void realloc_in_place(struct sanitizer *s, const struct shadow_event *ev,
			     struct shadow_object *o, uint64_t req, uint64_t alloc)
{
	uint64_t size = alloc > o->size_alloc ? alloc : o->size_alloc;

	objects_resize(&s->objects, objects_id_of(&s->objects, o), req, size > req ? size : req);
	depot_put(&s->depot, o->alloc.handle);
	o->alloc = heap_new_track(s, ev, true);
	heap_shadow_live(s, o->start, o->size_req, o->size_alloc,
			 o->kind == OBJ_LARGE ? SHADOW_PAGE_REDZONE : SHADOW_SLAB_REDZONE);
	/* the pointer keeps its tag: only the object's extent changes */
	heap_tag_object(s, o->start, o->size_req, o->size_alloc, o->tag);
	if (s->cfg.mode == SANITIZER_TAGS && o->kind == OBJ_SLAB)
		heap_ring_note(s, o, o->alloc.handle, ev, false); /* kasan_krealloc saves it too */
	if ((o->flags & OBJ_F_CANARY) && !(o->flags & OBJ_F_KSIZED))
		heap_fill(s, o->start + o->size_req, o->size_alloc - o->size_req, s->slack_pat);
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
		/* Linux without KASAN hands the stale pointer back: it stays freed */
		if (ev->addr == ev->old_addr)
			return 1;
		o = NULL;
		bugs = 1;
	}
	if (o && ev->addr == ev->old_addr) {
		realloc_in_place(s, ev, o, a.req, a.alloc);
		return bugs;
	}
	if (!a.cache_id && o)
		a.cache_id = o->cache_id;
	if (ev->addr)
		bugs += heap_do_alloc(s, ev, &a);
	o = objects_get(&s->objects, objects_find(&s->objects, ev->old_addr));
	if (o && o->state == OBJ_LIVE && ev->addr != ev->old_addr)
		bugs += heap_do_free(s, ev, ev->old_addr, 0, o->kind);
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
	heap_unpoison(s, o->start, o->size_alloc);
	heap_tag_range(s, o->start, o->size_alloc,
		       o->tag); /* ksize() makes the slot the object's */
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
		return heap_do_alloc(s, ev, &a);
	case SHADOW_EV_SLAB_FREE:
		return heap_do_free(s, ev, addr, ev->cache_id, OBJ_SLAB);
	case SHADOW_EV_KMALLOC_LARGE:
		a.kind = OBJ_LARGE;
		a.cache_id = 0;
		return heap_do_alloc(s, ev, &a);
	case SHADOW_EV_KFREE_LARGE:
		return heap_do_free(s, ev, addr, 0, OBJ_LARGE);
	case SHADOW_EV_PAGE_ALLOC:
	case SHADOW_EV_PAGE_FREE:
		return pages(s, ev, addr, ev->kind == SHADOW_EV_PAGE_FREE);
	case SHADOW_EV_VMALLOC:
		a.kind = OBJ_VMALLOC;
		a.cache_id = 0;
		return heap_do_alloc(s, ev, &a);
	case SHADOW_EV_VFREE:
		heap_vfree(s, ev);
		return 0;
	case SHADOW_EV_KREALLOC:
		return realloc_event(s, ev);
	case SHADOW_EV_KSIZE:
		return ksize_event(s, ev);
	default:
		return 0;
	}
}
