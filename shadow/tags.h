/* SPDX-License-Identifier: MIT */
/*
 * Tag-mode state (software/hardware tag-based KASAN semantics):
 *
 * - tag map: one memory tag per 16-byte granule of guest RAM, indexed by
 *   GPA, lazily backed like the generic shadow. Allocations get a random tag
 *   that is never TAG_INVALID (0xFE, freed memory) or TAG_MATCH_ALL (0xFF);
 *   a pointer tag of 0xFF matches any memory tag. Memory never tagged reads
 *   as 0xFF (KASAN_TAG_KERNEL, what Linux gives memory KASAN never saw):
 *   the map stores tag ^ 0xFF so that its zero-filled lazy pages mean that.
 * - stack ring: the last `size` alloc/free records (default 32768, as
 *   kasan.stack_ring_size), searched newest-first at report time to find the
 *   alloc and free tracks of the object the bad pointer points into.
 *
 * Ring entries hold depot handles without a reference (history only).
 * Not thread-safe: the owner (struct sanitizer) serializes.
 */
#ifndef SHADOW_TAGS_H
#define SHADOW_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shadow/shadow_map.h"

#define TAG_GRANULE	   16
#define TAG_INVALID	   0xFE
#define TAG_MATCH_ALL	   0xFF
#define TAG_SHIFT	   56
#define STACK_RING_DEFAULT 32768u
#define STACK_RING_MAX	   (1u << 24)

static inline uint8_t tag_get(uint64_t ptr)
{
	return (uint8_t)(ptr >> TAG_SHIFT);
}

static inline uint64_t tag_set(uint64_t ptr, uint8_t tag)
{
	return (ptr & ~(0xFFull << TAG_SHIFT)) | (uint64_t)tag << TAG_SHIFT;
}

/*
 * The untagged pointer, as TBI reads it: bit 55 copied into the top byte
 * (0xFF for kernel pointers, so it is also the match-all form of those).
 */
static inline uint64_t tag_reset(uint64_t ptr)
{
	return (uint64_t)((int64_t)(ptr << 8) >> 8);
}

/* A pointer whose top byte is bit 55's sign carries no tag: match-all. */
static inline uint8_t tag_of_pointer(uint64_t ptr)
{
	return tag_reset(ptr) == ptr ? TAG_MATCH_ALL : tag_get(ptr);
}

struct tag_map {
	struct shadow_ram_layout layout;
	uint8_t *tags;
	size_t len;
	uint64_t rng;
};

int tag_map_init(struct tag_map *tm, const struct shadow_ram_range *ranges, unsigned int nr,
		 uint64_t seed);
void tag_map_destroy(struct tag_map *tm);

/* A random allocation tag in 0x00 .. 0xFD. */
uint8_t tag_random(struct tag_map *tm);

/* Tag every granule touching [gpa, gpa + len); false if not all RAM (nothing changed). */
bool tag_map_set(struct tag_map *tm, uint64_t gpa, uint64_t len, uint8_t tag);
bool tag_map_get(const struct tag_map *tm, uint64_t gpa, uint8_t *tag);

/*
 * First granule in [gpa, gpa + len) whose memory tag differs from ptr_tag
 * (never with ptr_tag 0xFF); *bad is the granule start, clamped to gpa.
 * Memory that is not RAM mismatches. False if all granules match.
 */
bool tag_map_first_mismatch(const struct tag_map *tm, uint64_t gpa, uint64_t len, uint8_t ptr_tag,
			    uint64_t *bad);

/*
 * First granule in [gpa, gpa + len) whose memory tag is TAG_INVALID, for
 * pointers that carry no tag (x86): they match every assigned tag, so only
 * freed or never-assigned (red zone, slack) memory faults. Memory that is not
 * RAM is left to the guest. *bad as for tag_map_first_mismatch.
 */
bool tag_map_first_invalid(const struct tag_map *tm, uint64_t gpa, uint64_t len, uint64_t *bad);

struct ring_entry {
	uint64_t ptr; /* tagged object pointer */
	uint64_t size;
	uint32_t pid;
	uint32_t cpu;
	uint32_t handle;
	uint8_t is_free;
};

struct stack_ring {
	struct ring_entry *e;
	uint32_t size;
	uint64_t pos; /* total records written; newest at (pos - 1) % size */
};

enum ring_hit {
	RING_HIT_NONE = 0,
	RING_HIT_FREE,	/* slab-use-after-free */
	RING_HIT_ALLOC, /* slab-out-of-bounds */
};

struct ring_result {
	enum ring_hit first;
	bool has_alloc, has_free;
	struct ring_entry alloc, free;
};

/* size 0 selects STACK_RING_DEFAULT; at most STACK_RING_MAX. 0 or -errno. */
int stack_ring_init(struct stack_ring *r, uint32_t size);
void stack_ring_destroy(struct stack_ring *r);
void stack_ring_record(struct stack_ring *r, const struct ring_entry *entry);

/*
 * Newest-first search for entries of the object at obj_start (untagged) with
 * pointer tag `tag` and size `size`: the first free entry gives the free
 * track, the first alloc entry the alloc track and ends the search; a second
 * free before any alloc ends it too (the object was reused). A match-all
 * `tag` (a pointer without a tag) accepts entries of any tag: the newest
 * life of the slot is the one described.
 */
void stack_ring_search(const struct stack_ring *r, uint64_t obj_start, uint8_t tag, uint64_t size,
		       struct ring_result *out);

/* "slab-use-after-free", "slab-out-of-bounds" or "invalid-access". */
const char *ring_bug_type(enum ring_hit first);

#endif /* SHADOW_TAGS_H */
