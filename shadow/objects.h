/* SPDX-License-Identifier: MIT */
/*
 * Object table and cache table.
 *
 * The object table holds every live and quarantined heap object (slab,
 * page-backed kmalloc, vmalloc area) in a pool of records indexed by id, and
 * orders them by start GVA in an addr_index (B+-tree) that also keeps each
 * object's extent: exact, floor, ceiling, containing and overlap queries
 * read one leaf and no record. Objects do not overlap (the sanitizer removes
 * overlapped stale objects before inserting). Sizes change only through
 * objects_insert() and objects_resize(), which keep the index's extent in
 * step. Ids are reused last-freed first (its record is likely still cached).
 * At most `cap` objects (OBJECTS_DEFAULT_CAP unless configured); inserting
 * into a full table fails and the caller degrades (object not tracked). No
 * allocation after init; unused records and nodes cost no host memory.
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

#include "shadow/addr_index.h"
#include "shadow/event.h"
#include "shadow/quarantine.h"

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

#define OBJ_F_KSIZED	     0x1  /* ksize() made the slack usable: no canary */
#define OBJ_F_CANARY	     0x2  /* the slack holds the canary pattern */
#define OBJ_F_PATTERN	     0x4  /* the freed body holds the free pattern */
#define OBJ_F_SLACK_REPORTED 0x8  /* a trapped write into the slack was reported already */
#define OBJ_F_AUX	     0x10 /* objects_aux() holds work-creation stacks */

/* Who allocated/freed/queued work, and the depot handle of the stack. */
struct object_track {
	uint64_t time;
	uint32_t pid;
	uint32_t cpu;
	uint32_t handle; /* 0: stack not available */
};

/*
 * One record: two cache lines, 128-byte aligned in the pool, so that a free
 * or an eviction costs one memory round trip (the rarely set work-creation
 * stacks live apart, in objects_aux()).
 */
struct shadow_object {
	_Alignas(128) uint64_t start;
	uint64_t size_req;
	uint64_t size_alloc; /* extent for lookups (>= size_req) */
	uint32_t cache_id;   /* 0: none (large, vmalloc) */
	uint8_t kind;
	uint8_t state;
	uint8_t tag; /* tag mode: the allocation's memory tag */
	uint16_t flags;
	struct quarantine_mark qmark; /* the quarantine's per-id state */
	struct object_track alloc, free;
	uint32_t next_free; /* objects.c: free-list link while the id is unused */
};

struct object_table {
	struct shadow_object *pool;    /* [1 .. cap] */
	struct object_track (*aux)[2]; /* [id]: [0] last, [1] second to last work creation */
	struct addr_index index;
	uint32_t cap;
	uint32_t count;
	uint32_t free_head; /* chained through next_free */
	uint32_t next_unused;
};

/* cap: maximum number of objects, 1 .. OBJECTS_MAX_CAP. 0 or -errno. */
int objects_init(struct object_table *t, uint32_t cap);
void objects_destroy(struct object_table *t);
/* Host bytes the table uses when full (records, tracks, index): its part of README "Caps". */
size_t objects_max_bytes(const struct object_table *t);

/*
 * Add an object [start, start + max(size_req, size_alloc, 1)); returns its id
 * (the record is zeroed but for start and sizes), or 0 if the table is full
 * or an object already starts there.
 */
uint32_t objects_insert(struct object_table *t, uint64_t start, uint64_t size_req,
			uint64_t size_alloc);
/*
 * A new object in place of tracked object id, at its start: as
 * objects_remove(id) and then objects_insert(its start, ...) would (the id
 * comes back, the record is zeroed but for start and sizes), with no index
 * entry removed and put back. The new extent must overlap no other object.
 */
uint32_t objects_replace(struct object_table *t, uint32_t id, uint64_t size_req,
			 uint64_t size_alloc);
/* New sizes of a tracked object (its record's fields must not be written directly). */
void objects_resize(struct object_table *t, uint32_t id, uint64_t size_req, uint64_t size_alloc);
void objects_remove(struct object_table *t, uint32_t id); /* no-op if id is not tracked */
struct shadow_object *objects_get(struct object_table *t, uint32_t id);
/* The id of a record in the pool (0 for a pointer elsewhere, e.g. a copy). */
uint32_t objects_id_of(const struct object_table *t, const struct shadow_object *o);
/* Work-creation stacks of id (valid while OBJ_F_AUX is set), NULL for a bad id. */
struct object_track *objects_aux(struct object_table *t, uint32_t id);
/*
 * Start fetching the record of id, both lines (a hint: any id is accepted).
 * Always inlined: GCC takes a function that only prefetches for one without
 * effects and drops the calls.
 */
static inline __attribute__((always_inline)) void objects_prefetch(const struct object_table *t,
								   uint32_t id)
{
	if (id && id <= t->cap) {
		__builtin_prefetch(&t->pool[id]);
		__builtin_prefetch((const char *)&t->pool[id] + 64);
	}
}
/*
 * Lookups a few operations ahead (addr_index.h, hints): descend towards
 * addr's index leaf, fetching the last levels a step apart; then start
 * fetching the record of the object at or below addr; at the operation,
 * let the hint spare its descent. Inline: they only forward.
 */
static inline void objects_hint_begin(const struct object_table *t, uint64_t addr,
				      struct addr_hint *h)
{
	addr_index_hint_begin(&t->index, addr, h);
}

static inline void objects_hint_finish(const struct object_table *t, uint64_t addr,
				       struct addr_hint *h)
{
	addr_index_hint_finish(&t->index, addr, h);
}

static inline void objects_hints(const struct object_table *t, const uint64_t *addrs,
				 struct addr_hint *h, uint32_t n)
{
	addr_index_hints(&t->index, addrs, h, n);
}

static inline void objects_use_hint(struct object_table *t, const struct addr_hint *h,
				    uint64_t addr)
{
	addr_index_use_hint(&t->index, h, addr);
}

/* Start fetching the record of the object at or below addr in the hinted leaf. */
static inline void objects_prefetch_hinted(const struct object_table *t, const struct addr_hint *h,
					   uint64_t addr)
{
	objects_prefetch(t, addr_index_hint_floor(&t->index, h, addr));
}

uint32_t objects_find(struct object_table *t, uint64_t start); /* exact start */
uint32_t objects_floor(struct object_table *t, uint64_t addr); /* last start <= addr */
uint32_t objects_ceil(struct object_table *t, uint64_t addr);  /* first start >= addr */
uint32_t objects_containing(struct object_table *t, uint64_t addr);
/* Some object overlapping [start, end), or 0. */
uint32_t objects_first_overlap(struct object_table *t, uint64_t start, uint64_t end);

struct shadow_cache {
	uint32_t id; /* 0: empty slot */
	bool destroyed;
	uint32_t object_size;
	uint32_t stride;	 /* slot: object + red zone; object_size: no red zone */
	uint32_t red_left;	 /* slot bytes before the object (its left red zone) */
	uint32_t freeptr_offset; /* CACHE_NO_FREEPTR if unknown */
	uint64_t live;		 /* objects allocated and not yet freed */
	uint64_t quarantined;	 /* its freed objects in the quarantine now */
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
