/* SPDX-License-Identifier: MIT */
/*
 * Tracked objects: creating them over whatever the guest reused, forgetting
 * them, and the quarantine that keeps freed ones describable for a while.
 */
#include <string.h>

#include "shadow/heap_internal.h"

struct object_track heap_new_track(struct sanitizer *s, const struct shadow_event *ev, bool ref)
{
	return (struct object_track){
	    .time = ev->time,
	    .pid = ev->pid,
	    .cpu = ev->cpu,
	    .handle = depot_save(&s->depot, ev->frames, ev->nr_frames, ref),
	};
}

/* o left the quarantine: its cache counts one fewer (see heap_drop_cache). */
static void left_quarantine(struct sanitizer *s, const struct shadow_object *o)
{
	struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

	if (c && c->quarantined)
		c->quarantined--;
}

bool heap_quarantine_put(struct sanitizer *s, uint32_t id, struct shadow_object *o,
			 struct shadow_cache *c)
{
	if (!quarantine_put(&s->quarantine, id, o->size_alloc))
		return false;
	if (c)
		c->quarantined++;
	return true;
}

static uint32_t pop_oldest(struct sanitizer *s)
{
	uint32_t id = quarantine_pop_oldest(&s->quarantine);

	if (id)
		left_quarantine(s, objects_get(&s->objects, id));
	return id;
}

/* What a tracked object holds goes: its place in the quarantine, its stacks. */
static void release(struct sanitizer *s, uint32_t id, struct shadow_object *o)
{
	if (quarantine_contains(&s->quarantine, id)) {
		quarantine_remove(&s->quarantine, id);
		left_quarantine(s, o);
	}
	depot_put(&s->depot, o->alloc.handle);
	depot_put(&s->depot, o->free.handle);
	if (o->flags & OBJ_F_AUX) {
		struct object_track *aux = objects_aux(&s->objects, id);

		depot_put(&s->depot, aux[0].handle);
		depot_put(&s->depot, aux[1].handle);
	}
}

void heap_forget(struct sanitizer *s, uint32_t id)
{
	struct shadow_object *o = objects_get(&s->objects, id);

	if (!o)
		return;
	release(s, id, o);
	objects_remove(&s->objects, id);
}

/*
 * The free track goes with the object, so a freed slab object's first
 * granule drops from "free, meta valid" to plain "free" (unless the memory
 * moved on since, e.g. its page was freed).
 */
static void forget_freed(struct sanitizer *s, uint32_t id)
{
	struct shadow_object *o = objects_get(&s->objects, id);

	if (o->kind == OBJ_SLAB && o->state == OBJ_FREED)
		heap_shadow_replace(s, o->start, SHADOW_SLAB_FREE_META, SHADOW_SLAB_FREE);
	heap_forget(s, id);
}

void heap_evict(struct sanitizer *s, uint32_t id)
{
	forget_freed(s, id);
	s->st.quarantine_evicted++;
}

/*
 * Like Linux's quarantine_reduce(), evictions come in batches: once over
 * the cap, the oldest leave until the total is a 64th below it (caps under
 * 1 MiB: just below it). A batch is a loop over independent victims, so
 * their records, shadow and index leaves are fetched several at a time
 * (a victim at a time, each would be three memory round trips in a row).
 */
#define EVICT_AHEAD	   8
#define BATCH_MIN_CAP	   (1ull << 20)
#define BATCH_CAP_FRACTION 64

/*
 * The next victims, in eviction order, with their index leaves looked up
 * ahead: their removals may skip the descent. The ring's slots of objects
 * that left early are stale and skipped, as the pops skip them.
 */
struct victims {
	uint32_t n, next; /* next: the one the next pop should take */
	uint32_t id[EVICT_AHEAD];
	uint64_t start[EVICT_AHEAD];
	struct addr_hint hint[EVICT_AHEAD];
};

/* Start fetching what evicting the next victims will read. */
static void prefetch_victims(struct sanitizer *s, struct victims *v)
{
	uint32_t ids[3 * EVICT_AHEAD], n = quarantine_peek(&s->quarantine, ids, 3 * EVICT_AHEAD);

	for (uint32_t i = 2 * EVICT_AHEAD; i < n; i++) /* far ahead: their records */
		objects_prefetch(&s->objects, ids[i]);
	v->n = v->next = 0;
	for (uint32_t i = 0; i < n && i < 2 * EVICT_AHEAD && v->n < EVICT_AHEAD; i++) {
		const struct shadow_object *o = objects_get(&s->objects, ids[i]);

		/* near: what the records point at; a stale slot is skipped, as the pops do */
		if (o && quarantine_live_at(&s->quarantine, i)) {
			heap_prefetch_shadow(s, o->start);
			v->id[v->n] = ids[i];
			v->start[v->n++] = o->start;
		}
	}
	/* level by level for all of them: their misses overlap */
	objects_hints(&s->objects, v->start, v->hint, v->n);
}

static void use_victim_hint(struct sanitizer *s, struct victims *v, uint32_t id)
{
	if (v->next < v->n && v->id[v->next] == id)
		objects_use_hint(&s->objects, &v->hint[v->next], v->start[v->next]);
	v->next++;
}

void heap_quarantine_trim(struct sanitizer *s)
{
	uint64_t cap = s->quarantine.cap_bytes, low = cap;
	struct victims v = {0};
	uint32_t id;

	if (s->quarantine.total <= cap)
		return;
	if (cap >= BATCH_MIN_CAP)
		low = cap - cap / BATCH_CAP_FRACTION;
	while (s->quarantine.total > low) {
		if (v.next >= v.n)
			prefetch_victims(s, &v);
		id = pop_oldest(s);
		if (!id)
			break;
		use_victim_hint(s, &v, id);
		heap_evict(s, id);
	}
}

/*
 * The guest reused [start, end): `at` is the object starting at start (0:
 * none), `first` the lowest one overlapping the range (0: none). Returns
 * `at` if it was released but is still in the table, for the new object to
 * take its place (objects_replace); else 0.
 */
static uint32_t drop_overlaps_known(struct sanitizer *s, uint64_t start, uint64_t end,
				    uint32_t first, uint32_t at)
{
	struct shadow_object *same = objects_get(&s->objects, at);
	uint32_t id;

	/*
	 * Common case: the address is reused for an object no bigger. Tracked
	 * objects never overlap, so nothing else can overlap [start, end).
	 */
	if (same && same->state == OBJ_FREED && end - start <= same->size_alloc) {
		release(s, at, same);
		return at;
	}
	if (!first)
		return 0;
	while ((id = objects_first_overlap(&s->objects, start, end))) {
		struct shadow_object *o = objects_get(&s->objects, id);

		if (o->state == OBJ_LIVE) {
			struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

			s->st.stale_dropped++;
			if (c && c->live)
				c->live--;
		}
		if (o->start < start) /* its head stays outside the reused range */
			forget_freed(s, id);
		else
			heap_forget(s, id);
	}
	return 0;
}

void heap_drop_overlaps(struct sanitizer *s, uint64_t start, uint64_t end)
{
	uint32_t kept =
	    drop_overlaps_known(s, start, end, objects_first_overlap(&s->objects, start, end),
				objects_find(&s->objects, start));

	objects_remove(&s->objects, kept); /* no-op for 0 */
}

void heap_lookup_site(struct sanitizer *s, uint64_t start, uint64_t end, struct alloc_site *site)
{
	const struct shadow_object *o;

	site->first = objects_first_overlap(&s->objects, start, end);
	o = objects_get(&s->objects, site->first);
	site->at = o && o->start == start ? site->first : 0;
	/* below start: nothing else starts at start, unless objects overlap (a resize) */
	if (o && o->start < start)
		site->at = objects_find(&s->objects, start);
}

/*
 * Linux empties a cache's quarantine at shutdown (kasan_quarantine_remove_
 * cache): its objects go back to the slab, and the slab to the page
 * allocator, whose next owner may get the memory without an event we see.
 * So the objects are forgotten and their memory no longer poisoned as freed
 * objects (generic mode; tags change when the pages are handed out again).
 * The cache's count says whether there is anything to find; the walk starts
 * at the newest, where a cache's last frees before its shutdown are, and
 * stops when all are found.
 */
void heap_drop_cache(struct sanitizer *s, uint32_t cache_id)
{
	struct shadow_cache *c = caches_find(&s->caches, cache_id);
	uint64_t it = 0;
	uint32_t id;

	while (c && c->quarantined && (id = quarantine_iter(&s->quarantine, &it))) {
		struct shadow_object *o = objects_get(&s->objects, id);

		if (o->kind != OBJ_SLAB || o->cache_id != cache_id)
			continue;
		if (s->cfg.mode == SANITIZER_GENERIC)
			heap_unpoison(s, o->start, o->size_alloc);
		heap_forget(s, id);
		s->st.quarantine_dropped++;
	}
}

struct shadow_object *heap_track_new(struct sanitizer *s, const struct shadow_event *ev,
				     const struct alloc_req *a, const struct alloc_site *site)
{
	struct shadow_object *o;
	uint32_t id, old;

	id = drop_overlaps_known(s, a->start, a->start + a->alloc, site->first, site->at);
	/* the freed object there leaves, the new one takes its index entry */
	id = id ? objects_replace(&s->objects, id, a->req, a->alloc)
		: objects_insert(&s->objects, a->start, a->req, a->alloc);
	if (!id && (old = pop_oldest(s))) {
		heap_evict(s, old);
		id = objects_insert(&s->objects, a->start, a->req, a->alloc);
	}
	if (!id) {
		s->st.untracked++;
		return NULL;
	}
	o = objects_get(&s->objects, id);
	o->cache_id = a->cache_id;
	o->kind = a->kind;
	o->state = OBJ_LIVE;
	o->alloc = heap_new_track(s, ev, true);
	if (site->cache)
		site->cache->live++;
	return o;
}

uint32_t heap_freeptr_of(struct sanitizer *s, const struct shadow_object *o)
{
	struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

	return c ? c->freeptr_offset : CACHE_NO_FREEPTR;
}
