/* SPDX-License-Identifier: MIT */
/*
 * Stack depot: deduplicated storage of stack traces behind u32 handles.
 *
 * Records are found by a 32-bit hash of the frames and compared in full.
 * At most DEPOT_MAX_FRAMES frames are kept per stack (longer stacks are cut).
 * Memory is capped: each record costs DEPOT_RECORD_OVERHEAD + 8 bytes per
 * frame against the cap. Records carry a reference count; when a save would
 * exceed the cap, unreferenced records are evicted oldest-unreferenced first.
 * A handle of an evicted record then resolves to "not available" (a
 * generation number in the handle tells stale handles apart; it is 10 bits,
 * so a handle stale through 1024 reuses of its slot could alias). If nothing
 * can be evicted, the save fails and returns 0 ("not available").
 *
 * Holders that must keep their stack (objects' alloc/free/aux tracks) take a
 * reference; history holders (stack ring, page owner) may save without one
 * and accept that their stacks can be evicted.
 *
 * Not thread-safe: the owner (struct sanitizer) serializes.
 */
#ifndef SHADOW_DEPOT_H
#define SHADOW_DEPOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEPOT_MAX_FRAMES      64
#define DEPOT_RECORD_OVERHEAD 32u
#define DEPOT_MAX_RECORDS     ((1u << 22) - 1) /* handle: 22-bit slot, 10-bit generation */
#define DEPOT_DEFAULT_BYTES   (32ull << 20)
#define DEPOT_MIN_BYTES	      4096ull

struct depot_stats {
	uint64_t records; /* currently stored */
	uint64_t bytes;	  /* charged against the cap */
	uint64_t cap_bytes;
	uint64_t saves;	     /* depot_save() calls */
	uint64_t dedup_hits; /* saves that found an existing record */
	uint64_t evicted;    /* records dropped to make room */
	uint64_t failed;     /* saves that found no room */
};

struct depot_slot;

#define DEPOT_RECENT 4096 /* slots remembered by a cheap key of their frames */

struct depot {
	struct depot_slot *slots; /* [1 .. max_slots), 0 unused */
	uint32_t *buckets;
	uint32_t *recent;    /* [DEPOT_RECENT]: a slot that held such frames lately, 0: none */
	uint32_t nr_buckets; /* power of two */
	uint32_t max_slots;
	uint32_t free_head; /* free slot list through slot.chain */
	uint32_t next_unused;
	uint32_t lru_head, lru_tail; /* unreferenced records, oldest first */
	struct depot_stats st;
};

/* cap_bytes: memory cap for records (>= DEPOT_MIN_BYTES). 0 or -errno. */
int depot_init(struct depot *d, uint64_t cap_bytes);
void depot_destroy(struct depot *d);
/* Host bytes the depot uses when full: records up to the cap plus its tables. */
uint64_t depot_max_bytes(const struct depot *d);

/*
 * Store (or find) the stack; returns its handle, or 0 if nr == 0 or no room.
 * With take_ref, the caller owns one reference and must depot_put() it.
 */
uint32_t depot_save(struct depot *d, const uint64_t *frames, uint32_t nr, bool take_ref);

/* Frames of a handle; returns the count, 0 if the stack is not available. */
uint32_t depot_fetch(const struct depot *d, uint32_t handle, const uint64_t **frames);

/* Take / drop a reference; stale or 0 handles are ignored. */
void depot_get(struct depot *d, uint32_t handle);
void depot_put(struct depot *d, uint32_t handle);

void depot_get_stats(const struct depot *d, struct depot_stats *out);

#endif /* SHADOW_DEPOT_H */
