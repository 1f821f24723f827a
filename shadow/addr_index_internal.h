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
/* Position of the first start >= addr in a leaf. */
uint32_t addr_leaf_lower(const struct addr_leaf *l, uint64_t addr);
/* The child of an inner node whose key range holds addr. */
uint32_t addr_inner_slot(const struct addr_inner *in, uint64_t addr);
void addr_leaf_insert_at(struct addr_leaf *l, uint32_t pos, uint64_t start, uint64_t end,
			 uint32_t id);
void addr_leaf_free(struct addr_index *x, uint32_t n);
void addr_inner_free(struct addr_index *x, uint32_t n);
/* The leaf of a finger whose range holds key, else 0. */
uint32_t addr_finger_for(const struct addr_index *x, uint64_t key);
/* Separators moved (split, merge, borrow): no finger's range can be trusted. */
void addr_drop_fingers(struct addr_index *x);

#endif /* SHADOW_ADDR_INDEX_INTERNAL_H */
