/* SPDX-License-Identifier: MIT */
/* addr_index's invariants, walked in full: for tests only. */
#include "shadow/addr_index_internal.h"

struct check {
	const struct addr_index *x;
	uint32_t prev_leaf; /* the leaf left of the next one visited */
	uint64_t entries;
	bool have_last;
	uint64_t last;
};

static bool check_leaf(struct check *c, uint32_t n, uint64_t lo, uint64_t hi, bool root)
{
	const struct addr_leaf *l = &c->x->leaves[n];

	if (l->count > ADDR_LEAF_MAX || (!root && l->count < LEAF_MIN) || l->prev != c->prev_leaf)
		return false;
	if (c->prev_leaf && c->x->leaves[c->prev_leaf].next != n)
		return false;
	for (uint32_t i = 0; i < ADDR_LEAF_MAX; i++) {
		if (i >= l->count) {
			if (l->start[i] != NONE)
				return false;
			continue;
		}
		if (l->start[i] < lo || l->start[i] >= hi ||
		    (c->have_last && l->start[i] <= c->last))
			return false;
		c->last = l->start[i];
		c->have_last = true;
	}
	c->prev_leaf = n;
	c->entries += l->count;
	return true;
}

/* Subtree n at depth `level`: keys in [lo, hi). */
static bool check_node(struct check *c, uint32_t n, uint32_t level, uint64_t lo, uint64_t hi)
{
	const struct addr_inner *in;

	if (level == c->x->height)
		return check_leaf(c, n, lo, hi, n == c->x->root);
	in = &c->x->inners[n];
	if (in->count > ADDR_INNER_MAX || in->count < (n == c->x->root ? 2u : INNER_MIN))
		return false;
	for (uint32_t i = 0; i < ADDR_INNER_MAX - 1; i++)
		if (i >= in->count - 1 ? in->key[i] != NONE
				       : in->key[i] < lo || in->key[i] >= hi ||
					     (i && in->key[i] <= in->key[i - 1]))
			return false;
	for (uint32_t i = 0; i < in->count; i++)
		if (!check_node(c, in->child[i], level + 1, i ? in->key[i - 1] : lo,
				i + 1 < in->count ? in->key[i] : hi))
			return false;
	return true;
}

/* The leaf a full descent reaches for key (no fingers). */
static uint32_t leaf_of(const struct addr_index *x, uint64_t key)
{
	uint32_t n = x->root;

	for (uint32_t h = 0; h < x->height; h++)
		n = x->inners[n].child[addr_inner_slot(&x->inners[n], key)];
	return n;
}

/* A finger's whole range must descend to its leaf. */
static bool check_fingers(const struct addr_index *x)
{
	for (int i = 0; i < 2; i++) {
		const struct addr_finger *f = &x->finger[i];

		if (f->leaf && (f->lo >= f->hi || leaf_of(x, f->lo) != f->leaf ||
				leaf_of(x, f->hi - 1) != f->leaf))
			return false;
	}
	return true;
}

int64_t addr_index_check(const struct addr_index *x)
{
	struct check c = {.x = x};

	if (x->height >= MAX_HEIGHT || !check_node(&c, x->root, 0, 0, NONE) || !check_fingers(x))
		return -1;
	if (c.entries != x->count || x->leaves[c.prev_leaf].next != 0)
		return -1;
	return (int64_t)c.entries;
}
