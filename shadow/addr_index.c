/* SPDX-License-Identifier: MIT */
#include "shadow/addr_index.h"

#include <errno.h>
#include <string.h>

#include "shadow/addr_index_internal.h"
#include "shadow/shadow_map.h" /* shadow_lazy_alloc */

static size_t leaves_bytes(const struct addr_index *x)
{
	return ((size_t)x->max_leaves + 1) * sizeof(*x->leaves);
}

static size_t inners_bytes(const struct addr_index *x)
{
	return ((size_t)x->max_inners + 1) * sizeof(*x->inners);
}

size_t addr_index_bytes(const struct addr_index *x)
{
	return leaves_bytes(x) + inners_bytes(x);
}

int addr_index_init(struct addr_index *x, uint32_t max_count)
{
	memset(x, 0, sizeof(*x));
	if (max_count == 0)
		return -EINVAL;
	/* every node but the root is at least half full */
	x->max_leaves = max_count / LEAF_MIN + 2;
	x->max_inners = x->max_leaves / (INNER_MIN - 1) + MAX_HEIGHT;
	x->leaves = shadow_lazy_alloc(leaves_bytes(x));
	x->inners = shadow_lazy_alloc(inners_bytes(x));
	if (!x->leaves || !x->inners) {
		addr_index_destroy(x);
		return -ENOMEM;
	}
	x->max_count = max_count;
	x->next_leaf = 2;
	x->next_inner = 1;
	x->root = 1;
	memset(x->leaves[1].start, 0xFF, sizeof(x->leaves[1].start));
	return 0;
}

void addr_index_destroy(struct addr_index *x)
{
	shadow_lazy_free(x->leaves, leaves_bytes(x));
	shadow_lazy_free(x->inners, inners_bytes(x));
	x->leaves = NULL;
	x->inners = NULL;
}

/* ---- nodes ---- */

static uint32_t leaf_new(struct addr_index *x)
{
	uint32_t n = x->free_leaf;

	if (n)
		x->free_leaf = x->leaves[n].next;
	else
		n = x->next_leaf++;
	memset(&x->leaves[n], 0, sizeof(x->leaves[n]));
	memset(x->leaves[n].start, 0xFF, sizeof(x->leaves[n].start));
	return n;
}

void addr_leaf_free(struct addr_index *x, uint32_t n)
{
	x->leaves[n].next = x->free_leaf;
	x->leaves[n].count = 0; /* a hint that still names it must not trust its keys */
	x->free_leaf = n;
}

static uint32_t inner_new(struct addr_index *x)
{
	uint32_t n = x->free_inner;

	if (n)
		x->free_inner = x->inners[n].child[0];
	else
		n = x->next_inner++;
	memset(&x->inners[n], 0, sizeof(x->inners[n]));
	memset(x->inners[n].key, 0xFF, sizeof(x->inners[n].key));
	return n;
}

void addr_inner_free(struct addr_index *x, uint32_t n)
{
	x->inners[n].child[0] = x->free_inner;
	x->free_inner = n;
}

/* Whether a split all the way up can get its nodes (the bounds say always). */
static bool room_to_split(const struct addr_index *x)
{
	bool leaf = x->free_leaf || x->next_leaf <= x->max_leaves;
	uint32_t inners = x->max_inners + 1 - x->next_inner;

	for (uint32_t n = x->free_inner; n && inners <= x->height; n = x->inners[n].child[0])
		inners++;
	return leaf && inners > x->height;
}

/* ---- search ---- */

/* The leaf of a finger whose range holds key, else 0. */
uint32_t addr_finger_for(const struct addr_index *x, uint64_t key)
{
	for (int i = 0; i < 2; i++) {
		const struct addr_finger *f = &x->finger[i];

		if (f->leaf && key >= f->lo && key < f->hi)
			return f->leaf;
	}
	return 0;
}

/* Separators moved (split, merge, borrow): no finger's range can be trusted. */
void addr_drop_fingers(struct addr_index *x)
{
	x->finger[0].leaf = 0;
	x->finger[1].leaf = 0;
}

uint32_t addr_descend_range(const struct addr_index *x, uint64_t addr, struct path *p, uint64_t *lo,
			    uint64_t *hi)
{
	uint64_t l = 0, h = NONE;
	uint32_t n = x->root;

	for (uint32_t level = 0; level < x->height; level++) {
		const struct addr_inner *in = &x->inners[n];
		uint32_t s;

		if (level)
			addr_prefetch_node(in); /* the root stays cached */
		s = addr_inner_slot(in, addr);
		if (p) {
			p->node[level] = n;
			p->slot[level] = s;
		}
		/* the separators around the child bound its keys; outer bounds stay otherwise */
		l = s > 0 ? in->key[s - 1] : l;
		h = s + 1 < in->count ? in->key[s] : h;
		n = in->child[s];
	}
	addr_prefetch_node(&x->leaves[n]);
	*lo = l;
	*hi = h;
	return n;
}

/*
 * The leaf whose key range holds addr. With p, the way down is recorded
 * (for splits and merges); without, a finger may answer. A descent makes
 * its leaf the newest finger and fetches all of the leaf's lines at once.
 */
uint32_t addr_descend(struct addr_index *x, uint64_t addr, struct path *p)
{
	uint32_t n;
	uint64_t lo, hi;

	if (!p && (n = addr_finger_for(x, addr)))
		return n;
	n = addr_descend_range(x, addr, p, &lo, &hi);
	x->finger[1] = x->finger[0];
	x->finger[0] = (struct addr_finger){.leaf = n, .lo = lo, .hi = hi};
	return n;
}

static void entry_at(const struct addr_leaf *l, uint32_t i, struct addr_entry *out)
{
	out->start = l->start[i];
	out->end = l->end[i];
	out->id = l->id[i];
}

uint32_t addr_index_find(struct addr_index *x, uint64_t start)
{
	const struct addr_leaf *l = &x->leaves[addr_descend(x, start, NULL)];
	uint32_t pos = addr_leaf_lower(l, start);

	return pos < l->count && l->start[pos] == start ? l->id[pos] : 0;
}

/*
 * Floor and ceiling of addr from one descent. Separators may lie below their
 * subtree's lowest key (after deletions), so the floor can be the last entry
 * of the previous leaf; the ceiling can be the first of the next.
 */
static void neighbours(struct addr_index *x, uint64_t addr, struct addr_entry *floor,
		       bool *has_floor, struct addr_entry *ceil, bool *has_ceil)
{
	const struct addr_leaf *l = &x->leaves[addr_descend(x, addr, NULL)], *f = l, *c = l;
	uint32_t pos = addr_leaf_lower(l, addr), fpos = pos, cpos = pos;

	if (pos < l->count && l->start[pos] == addr)
		fpos++;
	if (fpos == 0 && l->prev) {
		f = &x->leaves[l->prev];
		fpos = f->count;
	}
	*has_floor = fpos > 0;
	if (*has_floor)
		entry_at(f, fpos - 1, floor);
	if (cpos == l->count && l->next) {
		c = &x->leaves[l->next];
		cpos = 0;
	}
	*has_ceil = cpos < c->count;
	if (*has_ceil)
		entry_at(c, cpos, ceil);
}

bool addr_index_floor(struct addr_index *x, uint64_t addr, struct addr_entry *out)
{
	struct addr_entry ceil;
	bool has_floor, has_ceil;

	neighbours(x, addr, out, &has_floor, &ceil, &has_ceil);
	return has_floor;
}

bool addr_index_ceil(struct addr_index *x, uint64_t addr, struct addr_entry *out)
{
	struct addr_entry floor;
	bool has_floor, has_ceil;

	neighbours(x, addr, &floor, &has_floor, out, &has_ceil);
	return has_ceil;
}

bool addr_index_containing(struct addr_index *x, uint64_t addr, struct addr_entry *out)
{
	return addr_index_floor(x, addr, out) && addr < out->end;
}

bool addr_index_first_overlap(struct addr_index *x, uint64_t start, uint64_t end,
			      struct addr_entry *out)
{
	struct addr_entry ceil;
	bool has_floor, has_ceil;

	neighbours(x, start, out, &has_floor, &ceil, &has_ceil);
	if (has_floor && start < out->end)
		return true;
	*out = ceil;
	return has_ceil && ceil.start < end;
}

/* ---- insertion ---- */

void addr_leaf_insert_at(struct addr_leaf *l, uint32_t pos, uint64_t start, uint64_t end,
			 uint32_t id)
{
	/*
	 * A few entries at most: one loop beats three library calls. Written as
	 * a rotation (each slot takes the carried entry, passes its own on), as
	 * GCC turns a plain shift into three memmove calls.
	 */
	for (uint32_t i = pos; i <= l->count; i++)
		addr_leaf_exchange(l, i, &start, &end, &id);
	l->count++;
}

/* Move the upper half of full leaf n to a new leaf right after it; returns that leaf. */
static uint32_t leaf_split(struct addr_index *x, uint32_t n)
{
	uint32_t rn = leaf_new(x);
	struct addr_leaf *l = &x->leaves[n], *r = &x->leaves[rn];
	uint32_t keep = ADDR_LEAF_MAX / 2, move = l->count - keep;

	memcpy(r->start, &l->start[keep], move * sizeof(l->start[0]));
	memcpy(r->end, &l->end[keep], move * sizeof(l->end[0]));
	memcpy(r->id, &l->id[keep], move * sizeof(l->id[0]));
	memset(&l->start[keep], 0xFF, move * sizeof(l->start[0]));
	r->count = move;
	l->count = keep;
	r->prev = n;
	r->next = l->next;
	if (l->next)
		x->leaves[l->next].prev = rn;
	l->next = rn;
	return rn;
}

/* Child `child` goes in at slot s (right of slot s - 1), separated by key. */
static void inner_insert_at(struct addr_inner *in, uint32_t s, uint64_t key, uint32_t child)
{
	uint32_t tail = in->count - s;

	memmove(&in->key[s], &in->key[s - 1], tail * sizeof(in->key[0]));
	memmove(&in->child[s + 1], &in->child[s], tail * sizeof(in->child[0]));
	in->key[s - 1] = key;
	in->child[s] = child;
	in->count++;
}

/*
 * A full inner node gets one more child: the 33 children are split 17 / 16
 * and the key between the halves moves up. Returns the new right node.
 */
static uint32_t inner_split_insert(struct addr_index *x, uint32_t n, uint32_t s, uint64_t *key,
				   uint32_t child)
{
	uint64_t keys[ADDR_INNER_MAX];
	uint32_t kids[ADDR_INNER_MAX + 1], rn = inner_new(x);
	struct addr_inner *in = &x->inners[n], *r = &x->inners[rn];
	const uint32_t left = ADDR_INNER_MAX / 2 + 1, right = ADDR_INNER_MAX + 1 - left;

	memcpy(keys, in->key, (s - 1) * sizeof(keys[0]));
	keys[s - 1] = *key;
	memcpy(&keys[s], &in->key[s - 1], (ADDR_INNER_MAX - s) * sizeof(keys[0]));
	memcpy(kids, in->child, s * sizeof(kids[0]));
	kids[s] = child;
	memcpy(&kids[s + 1], &in->child[s], (ADDR_INNER_MAX - s) * sizeof(kids[0]));

	memset(in->key, 0xFF, sizeof(in->key));
	memcpy(in->key, keys, (left - 1) * sizeof(keys[0]));
	memcpy(in->child, kids, left * sizeof(kids[0]));
	in->count = left;
	*key = keys[left - 1];
	memcpy(r->key, &keys[left], (right - 1) * sizeof(keys[0]));
	memcpy(r->child, &kids[left], right * sizeof(kids[0]));
	r->count = right;
	return rn;
}

/* Hang `child` (keys from `key` up) right of the node the path took at `level`. */
static void insert_up(struct addr_index *x, const struct path *p, uint32_t level, uint64_t key,
		      uint32_t child)
{
	uint32_t root;

	while (level > 0) {
		uint32_t n = p->node[level - 1], s = p->slot[level - 1] + 1;

		if (x->inners[n].count < ADDR_INNER_MAX) {
			inner_insert_at(&x->inners[n], s, key, child);
			return;
		}
		child = inner_split_insert(x, n, s, &key, child);
		level--;
	}
	root = inner_new(x);
	x->inners[root].child[0] = x->root;
	x->inners[root].child[1] = child;
	x->inners[root].key[0] = key;
	x->inners[root].count = 2;
	x->root = root;
	x->height++;
}

bool addr_index_insert(struct addr_index *x, uint64_t start, uint64_t end, uint32_t id)
{
	struct path p;
	uint32_t n, pos;
	struct addr_leaf *l;

	if (x->count >= x->max_count || start == NONE)
		return false;
	n = addr_finger_for(x, start);
	if (!n || x->leaves[n].count == ADDR_LEAF_MAX)
		n = addr_descend(x, start, &p); /* it may split: the way up is needed */
	l = &x->leaves[n];
	pos = addr_leaf_lower(l, start);
	if (pos < l->count && l->start[pos] == start)
		return false;
	if (l->count == ADDR_LEAF_MAX) {
		uint32_t rn;

		if (!room_to_split(x))
			return false;
		rn = leaf_split(x, n);
		insert_up(x, &p, x->height, x->leaves[rn].start[0], rn);
		addr_drop_fingers(x);
		if (start > x->leaves[rn].start[0])
			l = &x->leaves[rn];
		pos = addr_leaf_lower(l, start);
	}
	addr_leaf_insert_at(l, pos, start, end, id);
	x->count++;
	return true;
}

bool addr_index_set_end(struct addr_index *x, uint64_t start, uint64_t end)
{
	struct addr_leaf *l = &x->leaves[addr_descend(x, start, NULL)];
	uint32_t pos = addr_leaf_lower(l, start);

	if (pos >= l->count || l->start[pos] != start)
		return false;
	l->end[pos] = end;
	return true;
}
