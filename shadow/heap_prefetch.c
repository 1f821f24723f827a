/* SPDX-License-Identifier: MIT */
/*
 * What an event will touch, fetched a few events ahead (sanitizer_apply_
 * events): each event's object lookup and shadow write are memory round
 * trips to random places, which one event at a time would wait for in a
 * row. Ahead, they overlap with the events applied meanwhile. Hints only:
 * nothing here changes state but the prefetched lines and, at the event,
 * which index leaf its lookups try first.
 *
 * The stages, by distance from the event being applied: its own lines
 * (AHEAD_LINES); its shadow, and the index down to the leaves' parent
 * (AHEAD_INDEX; the levels above stay cached); the leaf, in the parent that
 * arrived meanwhile (AHEAD_LEAF); its record, found in the leaf that
 * arrived meanwhile (AHEAD_RECORD); its leaf as a finger (0).
 */
#include "shadow/heap_internal.h"

#define AHEAD_LINES  16
#define AHEAD_INDEX  12
#define AHEAD_LEAF   7
#define AHEAD_RECORD 3

_Static_assert(AHEAD_INDEX < HEAP_AHEAD_RING, "one ring slot per event in flight");
_Static_assert(AHEAD_INDEX > AHEAD_LEAF && AHEAD_LEAF > AHEAD_RECORD, "stages in order");

/* Always inlined: GCC drops calls of a function that only prefetches. */
static inline __attribute__((always_inline)) void prefetch_lines(const struct shadow_event *ev)
{
	__builtin_prefetch(ev);
	__builtin_prefetch(&ev->addr);
	__builtin_prefetch(&ev->cache_id);
	__builtin_prefetch(&ev->frames[0]);
	__builtin_prefetch(&ev->frames[8]);
}

/* The address whose object the event looks up first (0: none). */
static uint64_t event_addr(const struct sanitizer *s, const struct shadow_event *ev)
{
	uint64_t addr = ev->kind == SHADOW_EV_KREALLOC ? ev->old_addr : ev->addr;

	switch (ev->kind) {
	case SHADOW_EV_CACHE_CREATE:
	case SHADOW_EV_CACHE_DESTROY:
	case SHADOW_EV_MODULE_LOAD:
	case SHADOW_EV_MODULE_UNLOAD:
		return 0;
	default:
		return s->cfg.mode == SANITIZER_TAGS ? tag_reset(addr) : addr;
	}
}

static void begin(struct sanitizer *s, const struct shadow_event *ev, struct heap_ahead *a)
{
	a->addr = event_addr(s, ev);
	if (!a->addr)
		return;
	if (ev->kind == SHADOW_EV_PAGE_ALLOC || ev->kind == SHADOW_EV_PAGE_FREE)
		shadow_map_prefetch(&s->shadow, ev->pfn << SHADOW_PAGE_SHIFT);
	else
		heap_prefetch_shadow(s, a->addr);
	objects_hint_begin(&s->objects, a->addr, &a->hint);
}

void heap_ahead_start(struct sanitizer *s, const struct shadow_event *evs, size_t n,
		      struct heap_ahead *ring)
{
	for (size_t i = 0; i < n && i < AHEAD_LINES; i++)
		prefetch_lines(&evs[i]);
	for (size_t i = 0; i < n && i < AHEAD_INDEX; i++) { /* the first ones: no time to wait */
		begin(s, &evs[i], &ring[i]);
		if (ring[i].addr)
			objects_hint_finish(&s->objects, ring[i].addr, &ring[i].hint);
	}
}

void heap_ahead(struct sanitizer *s, const struct shadow_event *evs, size_t n, size_t i,
		struct heap_ahead *ring)
{
	struct heap_ahead *a;

	if (i + AHEAD_LINES < n)
		prefetch_lines(&evs[i + AHEAD_LINES]);
	if (i + AHEAD_INDEX < n)
		begin(s, &evs[i + AHEAD_INDEX], &ring[(i + AHEAD_INDEX) % HEAP_AHEAD_RING]);
	a = &ring[(i + AHEAD_LEAF) % HEAP_AHEAD_RING];
	if (i + AHEAD_LEAF < n && i + AHEAD_LEAF >= AHEAD_INDEX && a->addr)
		objects_hint_finish(&s->objects, a->addr, &a->hint);
	a = &ring[(i + AHEAD_RECORD) % HEAP_AHEAD_RING];
	if (i + AHEAD_RECORD < n && a->addr)
		objects_prefetch_hinted(&s->objects, &a->hint, a->addr);
	a = &ring[i % HEAP_AHEAD_RING];
	if (a->addr)
		objects_use_hint(&s->objects, &a->hint, a->addr);
}
