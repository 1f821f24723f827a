/* SPDX-License-Identifier: MIT */
#include "shadow/tags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tag_map_init(struct tag_map *tm, const struct shadow_ram_range *ranges, unsigned int nr,
		 uint64_t seed)
{
	int err;

	memset(tm, 0, sizeof(*tm));
	err = shadow_layout_init(&tm->layout, ranges, nr);
	if (err)
		return err;
	tm->len = tm->layout.total / TAG_GRANULE;
	tm->tags = shadow_lazy_alloc(tm->len);
	tm->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
	return tm->tags ? 0 : -ENOMEM;
}

void tag_map_destroy(struct tag_map *tm)
{
	shadow_lazy_free(tm->tags, tm->len);
	tm->tags = NULL;
}

uint8_t tag_random(struct tag_map *tm)
{
	uint64_t x = tm->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	tm->rng = x;
	return (uint8_t)((x >> 24) % 0xFE); /* 0x00 .. 0xFD */
}

/* Dense index of [gpa, gpa + len) when it lies in one RAM range. */
static bool span(const struct shadow_ram_layout *l, uint64_t gpa, uint64_t len, uint64_t *idx)
{
	uint64_t last;

	if (len == 0 || gpa + len < gpa)
		return false;
	if (!shadow_layout_index(l, gpa, idx) || !shadow_layout_index(l, gpa + len - 1, &last))
		return false;
	return last - *idx == len - 1;
}

bool tag_map_set(struct tag_map *tm, uint64_t gpa, uint64_t len, uint8_t tag)
{
	uint64_t idx, s, e;

	if (len == 0)
		return true;
	if (!span(&tm->layout, gpa, len, &idx))
		return false;
	s = idx / TAG_GRANULE;
	e = (idx + len + TAG_GRANULE - 1) / TAG_GRANULE;
	memset(tm->tags + s, tag ^ 0xFF, e - s); /* stored inverted: 0 means 0xFF */
	return true;
}

bool tag_map_get(const struct tag_map *tm, uint64_t gpa, uint8_t *tag)
{
	uint64_t idx;

	if (!shadow_layout_index(&tm->layout, gpa, &idx))
		return false;
	*tag = tm->tags[idx / TAG_GRANULE] ^ 0xFF;
	return true;
}

bool tag_map_first_mismatch(const struct tag_map *tm, uint64_t gpa, uint64_t len, uint8_t ptr_tag,
			    uint64_t *bad)
{
	uint64_t end = gpa + len < gpa ? UINT64_MAX : gpa + len;

	if (ptr_tag == TAG_MATCH_ALL)
		return false;
	for (uint64_t g = gpa & ~(uint64_t)(TAG_GRANULE - 1); g < end; g += TAG_GRANULE) {
		uint8_t t;

		if (!tag_map_get(tm, g < gpa ? gpa : g, &t) || t != ptr_tag) {
			*bad = g < gpa ? gpa : g;
			return true;
		}
		if (g + TAG_GRANULE < g)
			break;
	}
	return false;
}

bool tag_map_first_invalid(const struct tag_map *tm, uint64_t gpa, uint64_t len, uint64_t *bad)
{
	uint64_t end = gpa + len < gpa ? UINT64_MAX : gpa + len;

	for (uint64_t g = gpa & ~(uint64_t)(TAG_GRANULE - 1); g < end; g += TAG_GRANULE) {
		uint8_t t;

		if (tag_map_get(tm, g < gpa ? gpa : g, &t) && t == TAG_INVALID) {
			*bad = g < gpa ? gpa : g;
			return true;
		}
		if (g + TAG_GRANULE < g)
			break;
	}
	return false;
}

int stack_ring_init(struct stack_ring *r, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	if (size == 0)
		size = STACK_RING_DEFAULT;
	if (size > STACK_RING_MAX)
		return -EINVAL;
	r->e = calloc(size, sizeof(*r->e));
	if (!r->e)
		return -ENOMEM;
	r->size = size;
	return 0;
}

void stack_ring_destroy(struct stack_ring *r)
{
	free(r->e);
	r->e = NULL;
}

void stack_ring_record(struct stack_ring *r, const struct ring_entry *entry)
{
	r->e[r->pos % r->size] = *entry;
	r->pos++;
}

void stack_ring_search(const struct stack_ring *r, uint64_t obj_start, uint8_t tag, uint64_t size,
		       struct ring_result *out)
{
	uint64_t n = r->pos < r->size ? r->pos : r->size;

	memset(out, 0, sizeof(*out));
	for (uint64_t i = 1; i <= n; i++) {
		const struct ring_entry *e = &r->e[(r->pos - i) % r->size];

		if (tag_reset(e->ptr) != tag_reset(obj_start) ||
		    (tag != TAG_MATCH_ALL && tag_get(e->ptr) != tag) || e->size != size)
			continue;
		if (e->is_free) {
			if (out->has_free)
				break;
			out->free = *e;
			out->has_free = true;
			if (out->first == RING_HIT_NONE)
				out->first = RING_HIT_FREE;
		} else {
			out->alloc = *e;
			out->has_alloc = true;
			if (out->first == RING_HIT_NONE)
				out->first = RING_HIT_ALLOC;
			break;
		}
	}
}

const char *ring_bug_type(enum ring_hit first)
{
	switch (first) {
	case RING_HIT_FREE:
		return "slab-use-after-free";
	case RING_HIT_ALLOC:
		return "slab-out-of-bounds";
	default:
		return "invalid-access";
	}
}
