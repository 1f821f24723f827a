/* SPDX-License-Identifier: MIT */
/*
 * addr_index hints: descents taken ahead. Nothing here changes the tree;
 * the fingers change only when a hint is used, and only after the leaf it
 * reached proved right: the tree may have changed since the descent, but a
 * live leaf (freed ones have count 0) with keys at or below and at or above
 * the key holds the key's range, wherever the leaf is now.
 */
#include "shadow/addr_index_internal.h"

void addr_index_hint_begin(const struct addr_index *x, uint64_t addr, struct addr_hint *h)
{
	uint32_t n = x->root;

	/* the upper levels are few and stay cached: down to the leaves' parent, fetched */
	for (uint32_t level = 0; level + 1 < x->height; level++) {
		const struct addr_inner *in = &x->inners[n];

		n = in->child[addr_inner_slot(in, addr)];
	}
	h->leaf = n;
	if (x->height)
		addr_prefetch_node(&x->inners[n]);
	else
		addr_prefetch_node(&x->leaves[n]);
}

void addr_index_hint_finish(const struct addr_index *x, uint64_t addr, struct addr_hint *h)
{
	const struct addr_inner *in;

	if (!x->height)
		return;
	/* the tree may have changed since: stay inside the nodes in use */
	if (h->leaf >= x->next_inner) {
		h->leaf = 0;
		return;
	}
	in = &x->inners[h->leaf];
	h->leaf = in->child[addr_inner_slot(in, addr)];
	if (h->leaf >= x->next_leaf)
		h->leaf = 0;
	else
		addr_prefetch_node(&x->leaves[h->leaf]);
}

void addr_index_hints(const struct addr_index *x, const uint64_t *addrs, struct addr_hint *h,
		      uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		h[i].leaf = x->root;
	/* each level's searches read what the previous level's prefetches brought in */
	for (uint32_t level = 0; level < x->height; level++) {
		for (uint32_t i = 0; i < n; i++) {
			const struct addr_inner *in = &x->inners[h[i].leaf];

			h[i].leaf = in->child[addr_inner_slot(in, addrs[i])];
			if (level + 1 < x->height)
				addr_prefetch_node(&x->inners[h[i].leaf]);
		}
	}
	for (uint32_t i = 0; i < n; i++)
		addr_prefetch_node(&x->leaves[h[i].leaf]);
}

/* The hinted leaf if it holds addr's range, else 0. */
static uint32_t good_leaf(const struct addr_index *x, const struct addr_hint *h, uint64_t addr)
{
	const struct addr_leaf *l;

	if (h->leaf >= x->next_leaf) /* not a leaf id (the tree changed between the steps) */
		return 0;
	l = &x->leaves[h->leaf];
	return l->count && l->start[0] <= addr && addr <= l->start[l->count - 1] ? h->leaf : 0;
}

uint32_t addr_index_hint_floor(const struct addr_index *x, const struct addr_hint *h, uint64_t addr)
{
	uint32_t n = good_leaf(x, h, addr), pos;

	if (!n)
		return 0;
	pos = addr_leaf_lower(&x->leaves[n], addr);
	if (x->leaves[n].start[pos] == addr)
		return x->leaves[n].id[pos];
	return pos ? x->leaves[n].id[pos - 1] : 0;
}

void addr_index_use_hint(struct addr_index *x, const struct addr_hint *h, uint64_t addr)
{
	uint32_t n = good_leaf(x, h, addr);
	const struct addr_leaf *l = &x->leaves[n];
	struct addr_finger f;

	if (!n)
		return;
	/* a range inside the leaf's own: its first key to its last */
	f = (struct addr_finger){.leaf = n, .lo = l->start[0], .hi = l->start[l->count - 1] + 1};
	if (x->finger[0].leaf == n) {
		/* both ranges lie inside the leaf's: so does the span of the two */
		f.lo = f.lo < x->finger[0].lo ? f.lo : x->finger[0].lo;
		f.hi = f.hi > x->finger[0].hi ? f.hi : x->finger[0].hi;
	} else {
		x->finger[1] = x->finger[0];
	}
	x->finger[0] = f;
}
