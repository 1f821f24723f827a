/* SPDX-License-Identifier: MIT */
#include "shadow/objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS (2 * CACHES_MAX)
#define INDEX_MIN   1024

int objects_init(struct object_table *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > OBJECTS_MAX_CAP)
		return -EINVAL;
	/* large callocs are mmap-backed: unused nodes and records cost no memory */
	t->pool = calloc((size_t)cap + 1, sizeof(*t->pool));
	t->nodes = calloc((size_t)cap + 1, sizeof(*t->nodes));
	t->index_mask = INDEX_MIN - 1; /* small and cache-resident until it must grow */
	t->index = calloc(INDEX_MIN, sizeof(*t->index));
	if (!t->pool || !t->nodes || !t->index) {
		objects_destroy(t);
		return -ENOMEM;
	}
	t->cap = cap;
	t->next_unused = 1;
	t->rng = 0x243F6A8885A308D3ull;
	return 0;
}

void objects_destroy(struct object_table *t)
{
	free(t->pool);
	free(t->nodes);
	free(t->index);
	t->pool = NULL;
	t->nodes = NULL;
	t->index = NULL;
}

/* splitmix64's finalizer: slab addresses differ only in a few middle bits */
static uint32_t start_hash(uint64_t start)
{
	start ^= start >> 30;
	start *= 0xBF58476D1CE4E5B9ull;
	start ^= start >> 27;
	start *= 0x94D049BB133111EBull;
	start ^= start >> 31;
	return (uint32_t)start;
}

static uint32_t index_get(const struct object_table *t, uint64_t start)
{
	uint32_t h = start_hash(start);

	for (uint32_t i = h & t->index_mask;; i = (i + 1) & t->index_mask) {
		const struct object_index_slot *e = &t->index[i];

		if (!e->id)
			return 0;
		if (e->hash == h && t->nodes[e->id].start == start)
			return e->id;
	}
}

static void index_put(struct object_table *t, uint32_t hash, uint32_t id)
{
	uint32_t i = hash & t->index_mask;

	while (t->index[i].id)
		i = (i + 1) & t->index_mask;
	t->index[i].id = id;
	t->index[i].hash = hash;
}

/* Double the index when it would pass half full; false if out of memory. */
static bool index_grow(struct object_table *t)
{
	struct object_index_slot *old = t->index;
	uint64_t old_n = (uint64_t)t->index_mask + 1;

	if (2ull * (t->count + 1) <= old_n)
		return true;
	t->index = calloc(2 * old_n, sizeof(*t->index));
	if (!t->index) {
		t->index = old;
		return false;
	}
	t->index_mask = (uint32_t)(2 * old_n - 1);
	for (uint64_t i = 0; i < old_n; i++)
		if (old[i].id)
			index_put(t, old[i].hash, old[i].id);
	free(old);
	return true;
}

/* Linear-probing delete: shift later entries of the cluster back, no tombstones. */
static void index_del(struct object_table *t, uint32_t id)
{
	uint32_t mask = t->index_mask, i = start_hash(t->nodes[id].start) & mask, j;

	while (t->index[i].id && t->index[i].id != id)
		i = (i + 1) & mask;
	if (!t->index[i].id)
		return;
	for (j = (i + 1) & mask; t->index[j].id; j = (j + 1) & mask) {
		uint32_t home = t->index[j].hash & mask;

		/* move j into the hole at i unless its home lies cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i].id = 0;
}

static uint32_t next_prio(struct object_table *t)
{
	uint64_t x = t->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->rng = x;
	return (uint32_t)(x >> 32) | 1; /* 0 marks a node outside the tree */
}

static uint64_t extent_end(const struct shadow_object *o)
{
	uint64_t ext = o->size_alloc > o->size_req ? o->size_alloc : o->size_req;

	if (ext == 0)
		ext = 1;
	return o->start + ext < o->start ? UINT64_MAX : o->start + ext;
}

/*
 * Split subtree n into keys < key (*l, hung under lp) and keys >= key (*r,
 * hung under rp), keeping parent links right.
 */
static void split(struct object_node *p, uint32_t n, uint64_t key, uint32_t *l, uint32_t *r,
		  uint32_t lp, uint32_t rp)
{
	while (n) {
		if (p[n].start < key) {
			*l = n;
			p[n].parent = lp;
			lp = n;
			l = &p[n].right;
			n = p[n].right;
		} else {
			*r = n;
			p[n].parent = rp;
			rp = n;
			r = &p[n].left;
			n = p[n].left;
		}
	}
	*l = *r = 0;
}

/* Join a and b (every key in a below every key in b) under `parent`. */
static uint32_t merge(struct object_node *p, uint32_t a, uint32_t b, uint32_t parent)
{
	uint32_t root = 0, *link = &root;

	while (a && b) {
		if (p[a].prio > p[b].prio) {
			*link = a;
			p[a].parent = parent;
			parent = a;
			link = &p[a].right;
			a = p[a].right;
		} else {
			*link = b;
			p[b].parent = parent;
			parent = b;
			link = &p[b].left;
			b = p[b].left;
		}
	}
	*link = a ? a : b;
	if (*link)
		p[*link].parent = parent;
	return root;
}

uint32_t objects_insert(struct object_table *t, uint64_t start)
{
	struct object_node *p = t->nodes;
	uint32_t id, parent = 0, *link = &t->root;

	if (index_get(t, start) || !index_grow(t))
		return 0;
	if (t->free_head) {
		id = t->free_head;
		t->free_head = p[id].left;
	} else if (t->next_unused <= t->cap) {
		id = t->next_unused++;
	} else {
		return 0;
	}
	memset(&t->pool[id], 0, sizeof(t->pool[id]));
	t->pool[id].start = start;
	p[id].start = start;
	p[id].prio = next_prio(t);
	/* descend while parents outrank the new node, then split there */
	while (*link && p[*link].prio >= p[id].prio) {
		parent = *link;
		link = start < p[parent].start ? &p[parent].left : &p[parent].right;
	}
	split(p, *link, start, &p[id].left, &p[id].right, id, id);
	*link = id;
	p[id].parent = parent;
	index_put(t, start_hash(start), id);
	t->count++;
	return id;
}

void objects_remove(struct object_table *t, uint32_t id)
{
	struct object_node *p = t->nodes;
	uint32_t parent, *link;

	if (id == 0 || id > t->cap || !p[id].prio)
		return;
	/* the parent link finds the node's slot: no walk from the root */
	parent = p[id].parent;
	link = !parent ? &t->root : p[parent].left == id ? &p[parent].left : &p[parent].right;
	*link = merge(p, p[id].left, p[id].right, parent);
	index_del(t, id);
	memset(&t->pool[id], 0, sizeof(t->pool[id]));
	memset(&p[id], 0, sizeof(p[id]));
	p[id].left = t->free_head;
	t->free_head = id;
	t->count--;
}

struct shadow_object *objects_get(struct object_table *t, uint32_t id)
{
	return id && id <= t->cap ? &t->pool[id] : NULL;
}

uint32_t objects_find(const struct object_table *t, uint64_t start)
{
	return index_get(t, start);
}

uint32_t objects_floor(const struct object_table *t, uint64_t addr)
{
	const struct object_node *p = t->nodes;
	uint32_t n = t->root, best = 0;

	while (n) {
		if (p[n].start <= addr) {
			best = n;
			n = p[n].right;
		} else {
			n = p[n].left;
		}
	}
	return best;
}

uint32_t objects_ceil(const struct object_table *t, uint64_t addr)
{
	const struct object_node *p = t->nodes;
	uint32_t n = t->root, best = 0;

	while (n) {
		if (p[n].start >= addr) {
			best = n;
			n = p[n].left;
		} else {
			n = p[n].right;
		}
	}
	return best;
}

uint32_t objects_containing(const struct object_table *t, uint64_t addr)
{
	uint32_t id = index_get(t, addr); /* frees name the start: skip the tree */

	if (id)
		return id;
	id = objects_floor(t, addr);

	return id && addr < extent_end(&t->pool[id]) ? id : 0;
}

uint32_t objects_first_overlap(const struct object_table *t, uint64_t start, uint64_t end)
{
	const struct object_node *p = t->nodes;
	uint32_t n = t->root, floor = 0, ceil = 0;

	/* one descent finds both neighbours of start: floor may hold it, ceil may reach end */
	while (n) {
		if (p[n].start == start)
			return n;
		if (p[n].start < start) {
			floor = n;
			n = p[n].right;
		} else {
			ceil = n;
			n = p[n].left;
		}
	}
	if (floor && start < extent_end(&t->pool[floor]))
		return floor;
	return ceil && p[ceil].start < end ? ceil : 0;
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
