/* SPDX-License-Identifier: MIT */
/*
 * Internals of addr_index, shared by its files only: addr_index.c (nodes,
 * search, insertion), addr_index_remove.c (deletion and rebalancing),
 * addr_index_check.c (the tests' invariant walk).
 */
#ifndef SHADOW_ADDR_INDEX_INTERNAL_H
#define SHADOW_ADDR_INDEX_INTERNAL_H

#include "shadow/addr_index.h"

#define LEAF_MIN   (ADDR_LEAF_MAX / 2)
#define INNER_MIN  (ADDR_INNER_MAX / 2)
#define MAX_HEIGHT 16	      /* min fan-out 16 over at most 2^32 entries: 8 levels */
#define NONE	   UINT64_MAX /* unused key slots: never below any address */

/* The inner nodes passed on the way down, and which child was taken in each. */
struct path {
	uint32_t node[MAX_HEIGHT];
	uint32_t slot[MAX_HEIGHT];
};

/*
 * The leaf whose key range holds addr. With p, the way down is recorded
 * (for splits and merges); without, a finger may answer.
 */
uint32_t addr_descend(struct addr_index *x, uint64_t addr, struct path *p);
/* The same from the root, fingers untouched: the leaf and its key range [*lo, *hi). */
uint32_t addr_descend_range(const struct addr_index *x, uint64_t addr, struct path *p, uint64_t *lo,
			    uint64_t *hi);
/*
 * All six lines of a node at once (leaves and inner nodes are both six): a
 * search then waits for one memory round trip, not one per line it probes.
 * Always inlined: GCC takes a function that only prefetches for one without
 * effects and drops the calls.
 */
static inline __attribute__((always_inline)) void addr_prefetch_node(const void *node)
{
	const char *p = node;

	_Static_assert(sizeof(struct addr_leaf) == 6 * 64, "a leaf is six cache lines");
	_Static_assert(sizeof(struct addr_inner) == 6 * 64, "an inner node is six cache lines");
	__builtin_prefetch(p);
	__builtin_prefetch(p + 64);
	__builtin_prefetch(p + 128);
	__builtin_prefetch(p + 192);
	__builtin_prefetch(p + 256);
	__builtin_prefetch(p + 320);
}
/*
 * Branchless search of a sorted node: each step adds the half the key is
 * past as arithmetic on a compare (a branch on it would mispredict half the
 * time; written as a pointer select, GCC turns it into one), unrolled since
 * the node sizes are fixed. Inline: every lookup runs them, once per level.
 */

/* Position of the first start >= addr in a leaf; the unused slots (NONE) are never below. */
static inline uint32_t addr_leaf_lower(const struct addr_leaf *l, uint64_t addr)
{
	const uint64_t *k = l->start;
	uint32_t p = 0;

	_Static_assert(ADDR_LEAF_MAX == 16, "the steps below halve 16 keys");
	p += (uint32_t)(k[p + 7] < addr) << 3;
	p += (uint32_t)(k[p + 3] < addr) << 2;
	p += (uint32_t)(k[p + 1] < addr) << 1;
	p += (uint32_t)(k[p] < addr);
	return p + (k[p] < addr);
}

/* The child of an inner node whose key range holds addr: how many separators are <= addr. */
static inline uint32_t addr_inner_slot(const struct addr_inner *in, uint64_t addr)
{
	const uint64_t *k = in->key;
	uint32_t p = 0;

	_Static_assert(ADDR_INNER_MAX == 32, "the steps below halve 31 keys");
	p += (uint32_t)(k[p + 14] <= addr) * 15;
	p += (uint32_t)(k[p + 7] <= addr) << 3;
	p += (uint32_t)(k[p + 3] <= addr) << 2;
	p += (uint32_t)(k[p + 1] <= addr) << 1;
	p += (uint32_t)(k[p] <= addr);
	p += k[p] <= addr;
	return p < in->count - 1 ? p : in->count - 1;
}

/*
 * Leaf entry i takes (*start, *end, *id) and hands its own back: a shift by
 * one slot is a run of these (GCC turns a plain shift into three memmoves).
 */
static inline void addr_leaf_exchange(struct addr_leaf *l, uint32_t i, uint64_t *start,
				      uint64_t *end, uint32_t *id)
{
	uint64_t s = l->start[i], e = l->end[i];
	uint32_t d = l->id[i];

	l->start[i] = *start;
	l->end[i] = *end;
	l->id[i] = *id;
	*start = s;
	*end = e;
	*id = d;
}

void addr_leaf_insert_at(struct addr_leaf *l, uint32_t pos, uint64_t start, uint64_t end,
			 uint32_t id);
void addr_leaf_free(struct addr_index *x, uint32_t n);
void addr_inner_free(struct addr_index *x, uint32_t n);
/* The leaf of a finger whose range holds key, else 0. */
uint32_t addr_finger_for(const struct addr_index *x, uint64_t key);
/* Separators moved (split, merge, borrow): no finger's range can be trusted. */
void addr_drop_fingers(struct addr_index *x);

#endif /* SHADOW_ADDR_INDEX_INTERNAL_H */
