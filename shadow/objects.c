/* SPDX-License-Identifier: MIT */
#include "shadow/objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow/shadow_map.h" /* shadow_lazy_alloc */

#define CACHE_SLOTS (2 * CACHES_MAX)

static size_t pool_bytes(uint32_t cap)
{
	return ((size_t)cap + 1) * sizeof(struct shadow_object);
}

static size_t aux_bytes(uint32_t cap)
{
	return ((size_t)cap + 1) * sizeof(struct object_track[2]);
}

size_t objects_max_bytes(const struct object_table *t)
{
	return pool_bytes(t->cap) + aux_bytes(t->cap) + addr_index_bytes(&t->index);
}

int objects_init(struct object_table *t, uint32_t cap)
{
	int err;

	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > OBJECTS_MAX_CAP)
		return -EINVAL;
	/* lazily backed and aligned: records and aux entries never used cost nothing */
	t->pool = shadow_lazy_alloc(pool_bytes(cap));
	t->aux = shadow_lazy_alloc(aux_bytes(cap));
	t->cap = cap;
	err = t->pool && t->aux ? addr_index_init(&t->index, cap) : -ENOMEM;
	if (err) {
		objects_destroy(t);
		return err;
	}
	t->next_unused = 1;
	return 0;
}

void objects_destroy(struct object_table *t)
{
	shadow_lazy_free(t->pool, pool_bytes(t->cap));
	shadow_lazy_free(t->aux, aux_bytes(t->cap));
	addr_index_destroy(&t->index);
	t->pool = NULL;
	t->aux = NULL;
}

/*
 * Zero a record (every allocation and removal does), its two lines a memset
 * each: GCC turns one 128-byte memset into rep stos, slow to start for so
 * few bytes, and two 64-byte ones into plain vector stores.
 */
static void clear_record(struct shadow_object *o)
{
	_Static_assert(sizeof(*o) == 128, "a record is two cache lines");
	memset(o, 0, 64);
	memset((char *)o + 64, 0, 64);
}

/* End of the extent lookups use: at least one byte, saturating at the top. */
static uint64_t extent_end(uint64_t start, uint64_t size_req, uint64_t size_alloc)
{
	uint64_t ext = size_alloc > size_req ? size_alloc : size_req;

	if (ext == 0)
		ext = 1;
	return start + ext < start ? UINT64_MAX : start + ext;
}

uint32_t objects_insert(struct object_table *t, uint64_t start, uint64_t size_req,
			uint64_t size_alloc)
{
	uint32_t id = t->free_head ? t->free_head : t->next_unused;

	if (id > t->cap ||
	    !addr_index_insert(&t->index, start, extent_end(start, size_req, size_alloc), id))
		return 0;
	if (id == t->free_head)
		t->free_head = t->pool[id].next_free;
	else
		t->next_unused++;
	clear_record(&t->pool[id]);
	t->pool[id].start = start;
	t->pool[id].size_req = size_req;
	t->pool[id].size_alloc = size_alloc;
	t->count++;
	return id;
}

uint32_t objects_replace(struct object_table *t, uint32_t id, uint64_t size_req,
			 uint64_t size_alloc)
{
	uint64_t start;

	if (!id || id > t->cap)
		return 0;
	start = t->pool[id].start;
	if (!addr_index_set_end(&t->index, start, extent_end(start, size_req, size_alloc)))
		return 0;
	if (t->pool[id].flags & OBJ_F_AUX)
		memset(t->aux[id], 0, sizeof(t->aux[id]));
	clear_record(&t->pool[id]);
	t->pool[id].start = start;
	t->pool[id].size_req = size_req;
	t->pool[id].size_alloc = size_alloc;
	return id;
}

void objects_resize(struct object_table *t, uint32_t id, uint64_t size_req, uint64_t size_alloc)
{
	struct shadow_object *o;

	if (!id || id > t->cap || addr_index_find(&t->index, t->pool[id].start) != id)
		return;
	o = &t->pool[id];
	o->size_req = size_req;
	o->size_alloc = size_alloc;
	addr_index_set_end(&t->index, o->start, extent_end(o->start, size_req, size_alloc));
}

/* The owner has released what the record refers to (stacks, quarantine). */
void objects_remove(struct object_table *t, uint32_t id)
{
	if (!id || id > t->cap || !addr_index_remove(&t->index, t->pool[id].start, id))
		return;
	if (t->pool[id].flags & OBJ_F_AUX)
		memset(t->aux[id], 0, sizeof(t->aux[id]));
	clear_record(&t->pool[id]);
	t->pool[id].next_free = t->free_head;
	t->free_head = id;
	t->count--;
}

struct shadow_object *objects_get(struct object_table *t, uint32_t id)
{
	return id && id <= t->cap ? &t->pool[id] : NULL;
}

uint32_t objects_id_of(const struct object_table *t, const struct shadow_object *o)
{
	uintptr_t p = (uintptr_t)o, base = (uintptr_t)t->pool;

	if (p <= base || p > base + (uintptr_t)t->cap * sizeof(*o) || (p - base) % sizeof(*o))
		return 0;
	return (uint32_t)((p - base) / sizeof(*o));
}

struct object_track *objects_aux(struct object_table *t, uint32_t id)
{
	return id && id <= t->cap ? t->aux[id] : NULL;
}

uint32_t objects_find(struct object_table *t, uint64_t start)
{
	return addr_index_find(&t->index, start);
}

uint32_t objects_floor(struct object_table *t, uint64_t addr)
{
	struct addr_entry e;

	return addr_index_floor(&t->index, addr, &e) ? e.id : 0;
}

uint32_t objects_ceil(struct object_table *t, uint64_t addr)
{
	struct addr_entry e;

	return addr_index_ceil(&t->index, addr, &e) ? e.id : 0;
}

uint32_t objects_containing(struct object_table *t, uint64_t addr)
{
	struct addr_entry e;

	return addr_index_containing(&t->index, addr, &e) ? e.id : 0;
}

uint32_t objects_first_overlap(struct object_table *t, uint64_t start, uint64_t end)
{
	struct addr_entry e;

	return addr_index_first_overlap(&t->index, start, end, &e) ? e.id : 0;
}

int caches_init(struct cache_table *c)
{
	c->count = 0;
	c->slots = calloc(CACHE_SLOTS, sizeof(*c->slots));
	return c->slots ? 0 : -ENOMEM;
}

void caches_destroy(struct cache_table *c)
{
	free(c->slots);
	c->slots = NULL;
}

/* Slot holding id, or the empty slot where it would go. */
static struct shadow_cache *cache_slot(struct cache_table *c, uint32_t id)
{
	uint32_t i = (id * 2654435761u) & (CACHE_SLOTS - 1);

	while (c->slots[i].id && c->slots[i].id != id)
		i = (i + 1) & (CACHE_SLOTS - 1);
	return &c->slots[i];
}

struct shadow_cache *caches_find(struct cache_table *c, uint32_t id)
{
	struct shadow_cache *s;

	if (id == 0)
		return NULL;
	s = cache_slot(c, id);
	return s->id ? s : NULL;
}

struct shadow_cache *caches_add(struct cache_table *c, uint32_t id)
{
	struct shadow_cache *s;

	if (id == 0)
		return NULL;
	s = cache_slot(c, id);
	if (s->id)
		return s;
	if (c->count >= CACHES_MAX)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->freeptr_offset = CACHE_NO_FREEPTR;
	c->count++;
	return s;
}
