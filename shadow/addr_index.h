/* SPDX-License-Identifier: MIT */
/*
 * Ordered index of non-overlapping guest address ranges: start -> (end, id).
 *
 * A B+-tree whose nodes are a few cache lines each (16 ranges per leaf, 32
 * children per inner node), so a lookup among 100k ranges reads the hot top
 * levels from cache and then one leaf: one or two memory misses where a
 * binary tree chases ~20 pointers. Leaves keep each range's end next to its
 * start, so "which range holds addr" and "does anything overlap [a, b)" need
 * no record outside the index. Leaves are linked both ways for neighbours.
 *
 * The leaves of the last two descents are remembered with the key ranges
 * their separators give them (fingers): queries and updates that fall in
 * such a range skip the descent, as the several steps of one allocation
 * do, or the removal of an object whose leaf was prefetched.
 *
 * Deletion rebalances (borrow from or merge with a sibling), so every node
 * but the root stays at least half full: node memory is bounded by the
 * entry cap given at init (at most cap / 8 leaves) and preallocated lazily
 * (untouched node pages cost no host memory); nothing is allocated after
 * init.
 *
 * The index does not check that ranges do not overlap; its owner keeps them
 * apart (floor/containing answers assume it). Not thread-safe.
 */
#ifndef SHADOW_ADDR_INDEX_H
#define SHADOW_ADDR_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_LEAF_MAX  16
#define ADDR_INNER_MAX 32 /* children */

struct addr_entry {
	uint64_t start, end; /* [start, end) */
	uint32_t id;
};

/* 64-byte aligned, 6 cache lines: the starts are one 128-byte pair */
struct addr_leaf {
	_Alignas(64) uint64_t start[ADDR_LEAF_MAX]; /* sorted, then UINT64_MAX */
	uint64_t end[ADDR_LEAF_MAX];
	uint32_t id[ADDR_LEAF_MAX];
	uint32_t count;
	uint32_t prev, next; /* neighbouring leaves (0: none), or next free leaf */
};

struct addr_inner {
	/* key[i] <= every start under child[i + 1] < key[i + 1]; unused: UINT64_MAX */
	_Alignas(64) uint64_t key[ADDR_INNER_MAX - 1];
	uint32_t child[ADDR_INNER_MAX];
	uint32_t count; /* children */
};

struct addr_index {
	struct addr_leaf *leaves;  /* [1 .. max_leaves] */
	struct addr_inner *inners; /* [1 .. max_inners] */
	uint32_t max_leaves, max_inners;
	uint32_t next_leaf, next_inner; /* never used yet */
	uint32_t free_leaf, free_inner; /* free lists */
	uint32_t root;			/* a leaf when height == 0 */
	uint32_t height;
	uint32_t count, max_count;
	struct addr_finger {
		uint32_t leaf;	 /* 0: none */
		uint64_t lo, hi; /* keys in [lo, hi) descend to leaf */
	} finger[2];		 /* [0]: the last descent */
};

/* max_count: most entries ever held at once, >= 1. 0 or -errno. */
int addr_index_init(struct addr_index *x, uint32_t max_count);
void addr_index_destroy(struct addr_index *x);
/* Host memory reserved for the index at its cap (lazily backed). */
size_t addr_index_bytes(const struct addr_index *x);

/* false if start is already a key, is UINT64_MAX, or the index holds max_count entries. */
bool addr_index_insert(struct addr_index *x, uint64_t start, uint64_t end, uint32_t id);
/* false if start is not a key or not id's. */
bool addr_index_remove(struct addr_index *x, uint64_t start, uint32_t id);
/* New end of the range at start; false if start is not a key. */
bool addr_index_set_end(struct addr_index *x, uint64_t start, uint64_t end);

/* Exact start: id, or 0. */
uint32_t addr_index_find(struct addr_index *x, uint64_t start);
/* The entry with the greatest start <= addr; false if none. */
bool addr_index_floor(struct addr_index *x, uint64_t addr, struct addr_entry *out);
/* The entry with the least start >= addr; false if none. */
bool addr_index_ceil(struct addr_index *x, uint64_t addr, struct addr_entry *out);
/* The entry whose [start, end) holds addr; false if none. */
bool addr_index_containing(struct addr_index *x, uint64_t addr, struct addr_entry *out);
/* An entry overlapping [start, end) (the lowest one), false if none. */
bool addr_index_first_overlap(struct addr_index *x, uint64_t start, uint64_t end,
			      struct addr_entry *out);

/*
 * Hints: a descent taken a few operations ahead of the one that needs it,
 * fetching the nodes it will read, so that their memory round trips overlap
 * with other work. The tree may change meanwhile: a hint is only a guess,
 * checked when used (the leaf it reached is live and holds keys on both
 * sides of the key).
 */
struct addr_hint {
	uint32_t leaf; /* 0: none; between the two steps below, the leaves' parent */
};

/*
 * A hint in two steps, some operations apart: down to the leaves' parent
 * (the levels above stay cached), fetching it; then to the leaf, fetching it.
 */
void addr_index_hint_begin(const struct addr_index *x, uint64_t addr, struct addr_hint *h);
void addr_index_hint_finish(const struct addr_index *x, uint64_t addr, struct addr_hint *h);
/* Hints for addrs[0 .. n), level by level for all of them together: their misses overlap. */
void addr_index_hints(const struct addr_index *x, const uint64_t *addrs, struct addr_hint *h,
		      uint32_t n);
/* The id of the last entry at or below addr in the hinted leaf; 0: none there or no good. */
uint32_t addr_index_hint_floor(const struct addr_index *x, const struct addr_hint *h,
			       uint64_t addr);
/* If the hinted leaf holds keys on both sides of addr, make it the newest finger. */
void addr_index_use_hint(struct addr_index *x, const struct addr_hint *h, uint64_t addr);

/* Tests: walk the whole tree checking order, fill, links and separators; entries, or -1. */
int64_t addr_index_check(const struct addr_index *x);

#endif /* SHADOW_ADDR_INDEX_H */
