/* SPDX-License-Identifier: MIT */
/*
 * Object table and cache table.
 *
 * The object table holds every live and quarantined heap object (slab,
 * page-backed kmalloc, vmalloc area) keyed by its start GVA, in a treap over
 * a preallocated node pool (range lookups, O(log n)) plus a hash index by
 * exact start (frees and reuse of the same address, O(1)); no malloc after
 * init but the index doubling as the table fills. The treap nodes are a
 * compact array apart from the records (24 bytes: a 100k-object tree stays
 * in L2 where the records would not), with parent links so that removing
 * an object never walks down from the root (expected O(1)).
 * Objects do not overlap (the sanitizer
 * removes overlapped stale objects before inserting), so "the object whose
 * [start, start + extent) holds addr" is the floor entry by start.
 * At most `cap` objects (OBJECTS_DEFAULT_CAP unless configured); inserting
 * into a full table fails and the caller degrades (object not tracked).
 *
 * The cache table maps guest cache ids to name, object size and freelist
 * word offset; at most CACHES_MAX caches. Destroyed caches keep their entry
 * (marked) so a second destroy can be recognised.
 *
 * Not thread-safe: the owner (struct sanitizer) serializes.
 */
#ifndef SHADOW_OBJECTS_H
#define SHADOW_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "shadow/event.h"

#define OBJECTS_DEFAULT_CAP (1u << 20)
#define OBJECTS_MAX_CAP	    (1u << 26)
#define CACHES_MAX	    4096
#define CACHE_NO_FREEPTR    UINT32_MAX

enum object_kind {
	OBJ_SLAB = 1,
	OBJ_LARGE,   /* page-backed kmalloc */
	OBJ_VMALLOC, /* vmalloc area */
};

enum object_state {
	OBJ_LIVE = 1,
	OBJ_FREED, /* in quarantine: the free track is valid */
};

#define OBJ_F_KSIZED	     0x1 /* ksize() made the slack usable: no canary */
#define OBJ_F_CANARY	     0x2 /* the slack holds the canary pattern */
#define OBJ_F_PATTERN	     0x4 /* the freed body holds the free pattern */
#define OBJ_F_SLACK_REPORTED 0x8 /* a trapped write into the slack was reported already */

/* Who allocated/freed/queued work, and the depot handle of the stack. */
struct object_track {
	uint64_t time;
	uint32_t pid;
	uint32_t cpu;
	uint32_t handle; /* 0: stack not available */
};

struct shadow_object {
	uint64_t start;
	uint64_t size_req;
	uint64_t size_alloc; /* extent for lookups (>= size_req) */
	uint32_t cache_id;   /* 0: none (large, vmalloc) */
	uint8_t kind;
	uint8_t state;
	uint8_t tag; /* tag mode: the allocation's memory tag */
	uint16_t flags;
	struct object_track alloc, free;
	struct object_track aux[2]; /* [0] last, [1] second to last work creation */
};

/* Treap node of object id: the key and links only, so a lookup touches no record. */
struct object_node {
	uint64_t start;
	uint32_t left, right, parent; /* ids, 0: none */
	uint32_t prio;		      /* random, never 0 in the tree; 0: node not in the tree */
};

/*
 * Index slot: the id and 32 bits of the start's hash. The hash gives the home
 * slot (deletion and growth never read the nodes) and filters probes, so
 * only a matching hash costs a node read to compare starts.
 */
struct object_index_slot {
	uint32_t id; /* 0: empty */
	uint32_t hash;
};

struct object_table {
	struct shadow_object *pool;	 /* [1 .. cap] */
	struct object_node *nodes;	 /* [1 .. cap] */
	struct object_index_slot *index; /* linear probing, grows to stay <= 1/2 full */
	uint32_t index_mask;
	uint32_t cap;
	uint32_t count;
	uint32_t root;
	uint32_t free_head; /* free nodes chained through .left */
	uint32_t next_unused;
	uint64_t rng;
};

/* cap: maximum number of objects, 1 .. OBJECTS_MAX_CAP. 0 or -errno. */
int objects_init(struct object_table *t, uint32_t cap);
void objects_destroy(struct object_table *t);

/*
 * Add an object starting at `start`; returns its id (the record is zeroed but
 * for .start), or 0 if the table is full or an object already starts there.
 */
uint32_t objects_insert(struct object_table *t, uint64_t start);
void objects_remove(struct object_table *t, uint32_t id);
struct shadow_object *objects_get(struct object_table *t, uint32_t id);

uint32_t objects_find(const struct object_table *t, uint64_t start); /* exact start */
uint32_t objects_floor(const struct object_table *t, uint64_t addr); /* last start <= addr */
uint32_t objects_ceil(const struct object_table *t, uint64_t addr);  /* first start >= addr */
uint32_t objects_containing(const struct object_table *t, uint64_t addr);
/* Some object overlapping [start, end), or 0. */
uint32_t objects_first_overlap(const struct object_table *t, uint64_t start, uint64_t end);

struct shadow_cache {
	uint32_t id; /* 0: empty slot */
	bool destroyed;
	uint32_t object_size;
	uint32_t stride;	 /* slot: object + red zone; object_size: no red zone */
	uint32_t freeptr_offset; /* CACHE_NO_FREEPTR if unknown */
	uint64_t live;		 /* objects allocated and not yet freed */
	char name[SHADOW_NAME_LEN];
};

struct cache_table {
	struct shadow_cache *slots; /* open addressing, 2 * CACHES_MAX */
	uint32_t count;
};

int caches_init(struct cache_table *c);
void caches_destroy(struct cache_table *c);
/* The cache with this id (destroyed ones included), or NULL. id 0 is never stored. */
struct shadow_cache *caches_find(struct cache_table *c, uint32_t id);
/* Find or create; NULL if the table is full or id is 0. */
struct shadow_cache *caches_add(struct cache_table *c, uint32_t id);

#endif /* SHADOW_OBJECTS_H */
