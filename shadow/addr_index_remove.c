/* SPDX-License-Identifier: MIT */
/*
 * addr_index deletion: an entry leaves its leaf; a leaf (or inner node)
 * that falls below half full borrows from a sibling or merges with it, up
 * the recorded path, and an inner root left with one child goes.
 */
#include <string.h>

#include "shadow/addr_index_internal.h"

static void leaf_delete_at(struct addr_leaf *l, uint32_t pos)
{
	uint64_t start = NONE, end = 0;
	uint32_t id = 0;

	/* a rotation from the last entry down (GCC turns a plain shift into three memmove calls) */
	for (uint32_t i = l->count; i-- > pos;)
		addr_leaf_exchange(l, i, &start, &end, &id);
	l->count--;
}

/* Drop key k and child k + 1 of an inner node (child k + 1 was merged into child k). */
static void inner_delete_at(struct addr_inner *in, uint32_t k)
{
	uint32_t tail = in->count - k - 2;

	memmove(&in->key[k], &in->key[k + 1], tail * sizeof(in->key[0]));
	memmove(&in->child[k + 1], &in->child[k + 2], tail * sizeof(in->child[0]));
	in->count--;
	in->key[in->count - 1] = NONE;
}

/* Leaves a (left) and b (right), separated by key k of parent `in`: merge or share. */
static bool leaf_fix_pair(struct addr_index *x, struct addr_inner *in, uint32_t k)
{
	uint32_t an = in->child[k], bn = in->child[k + 1];
	struct addr_leaf *a = &x->leaves[an], *b = &x->leaves[bn];

	if (a->count + b->count <= ADDR_LEAF_MAX) {
		memcpy(&a->start[a->count], b->start, b->count * sizeof(b->start[0]));
		memcpy(&a->end[a->count], b->end, b->count * sizeof(b->end[0]));
		memcpy(&a->id[a->count], b->id, b->count * sizeof(b->id[0]));
		a->count += b->count;
		a->next = b->next;
		if (b->next)
			x->leaves[b->next].prev = an;
		addr_leaf_free(x, bn);
		inner_delete_at(in, k);
		return true;
	}
	if (a->count > b->count) { /* a's last entry becomes b's first */
		addr_leaf_insert_at(b, 0, a->start[a->count - 1], a->end[a->count - 1],
				    a->id[a->count - 1]);
		leaf_delete_at(a, a->count - 1);
	} else { /* b's first entry moves to a's end */
		addr_leaf_insert_at(a, a->count, b->start[0], b->end[0], b->id[0]);
		leaf_delete_at(b, 0);
	}
	in->key[k] = b->start[0];
	return false;
}

/* Inner nodes a (left) and b (right), separated by key k of parent `in`: merge or share. */
static bool inner_fix_pair(struct addr_index *x, struct addr_inner *in, uint32_t k)
{
	uint32_t bn = in->child[k + 1];
	struct addr_inner *a = &x->inners[in->child[k]], *b = &x->inners[bn];

	if (a->count + b->count <= ADDR_INNER_MAX) {
		a->key[a->count - 1] = in->key[k];
		memcpy(&a->key[a->count], b->key, (b->count - 1) * sizeof(b->key[0]));
		memcpy(&a->child[a->count], b->child, b->count * sizeof(b->child[0]));
		a->count += b->count;
		addr_inner_free(x, bn);
		inner_delete_at(in, k);
		return true;
	}
	if (a->count > b->count) { /* a's last child moves to b's front */
		memmove(&b->key[1], b->key, (b->count - 1) * sizeof(b->key[0]));
		memmove(&b->child[1], b->child, b->count * sizeof(b->child[0]));
		b->key[0] = in->key[k];
		b->child[0] = a->child[a->count - 1];
		b->count++;
		in->key[k] = a->key[a->count - 2];
		a->key[a->count - 2] = NONE;
		a->count--;
	} else { /* b's first child moves to a's end */
		a->key[a->count - 1] = in->key[k];
		a->child[a->count] = b->child[0];
		a->count++;
		in->key[k] = b->key[0];
		memmove(b->key, &b->key[1], (b->count - 2) * sizeof(b->key[0]));
		memmove(b->child, &b->child[1], (b->count - 1) * sizeof(b->child[0]));
		b->count--;
		b->key[b->count - 1] = NONE;
	}
	return false;
}

/*
 * The node the path reached at depth `level` (a leaf when level == height)
 * fell below half full: fix it with a sibling, and its parent if a merge
 * made that one too small; an inner root left with one child goes.
 */
static void rebalance(struct addr_index *x, const struct path *p, uint32_t level)
{
	while (level > 0) {
		struct addr_inner *parent = &x->inners[p->node[level - 1]];
		uint32_t s = p->slot[level - 1], k = s ? s - 1 : 0;
		bool merged;

		merged =
		    level == x->height ? leaf_fix_pair(x, parent, k) : inner_fix_pair(x, parent, k);
		if (!merged)
			return;
		level--;
		if (level > 0 && parent->count >= INNER_MIN)
			return;
	}
	if (x->height && x->inners[x->root].count == 1) {
		uint32_t old = x->root;

		x->root = x->inners[old].child[0];
		x->height--;
		addr_inner_free(x, old);
	}
}

bool addr_index_remove(struct addr_index *x, uint64_t start, uint32_t id)
{
	struct path p;
	uint32_t n = addr_finger_for(x, start), pos;
	struct addr_leaf *l;

	if (!n || (x->height && x->leaves[n].count <= LEAF_MIN))
		n = addr_descend(x, start, &p); /* it may merge: the way up is needed */
	l = &x->leaves[n];
	pos = addr_leaf_lower(l, start);
	if (pos >= l->count || l->start[pos] != start || l->id[pos] != id)
		return false;
	leaf_delete_at(l, pos);
	x->count--;
	if (x->height && l->count < LEAF_MIN) {
		rebalance(x, &p, x->height);
		addr_drop_fingers(x);
	}
	return true;
}
