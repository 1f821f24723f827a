/* SPDX-License-Identifier: MIT */
#include "shadow/depot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_BITS 22
#define GEN_MASK  0x3FFu

struct depot_slot {
	uint64_t *frames; /* NULL: slot free */
	uint32_t hash;
	uint32_t nr;
	uint32_t refs;
	uint32_t gen;
	uint32_t chain; /* next in bucket, or next free slot */
	uint32_t lru_prev, lru_next;
};

/*
 * The frames, each multiplied by an odd constant of its position (mod 4),
 * summed in four independent lanes, then mixed (splitmix64's finalizer)
 * and folded to 32 bits: no multiply waits for the previous one. The lanes
 * are locals, not an array, so they stay in registers.
 */
static uint32_t stack_hash(const uint64_t *frames, uint32_t nr)
{
	const uint64_t k0 = 0x9E3779B97F4A7C15ull, k1 = 0xC2B2AE3D27D4EB4Full,
		       k2 = 0x165667B19E3779F9ull, k3 = 0xD6E8FEB86659FD93ull;
	uint64_t a = nr, b = 0, c = 0, d = 0, h;
	uint32_t i = 0;

	for (; i + 4 <= nr; i += 4) {
		a += (frames[i] ^ i) * k0;
		b += (frames[i + 1] ^ (i + 1)) * k1;
		c += (frames[i + 2] ^ (i + 2)) * k2;
		d += (frames[i + 3] ^ (i + 3)) * k3;
	}
	if (i < nr)
		a += (frames[i] ^ i) * k0;
	if (i + 1 < nr)
		b += (frames[i + 1] ^ (i + 1)) * k1;
	if (i + 2 < nr)
		c += (frames[i + 2] ^ (i + 2)) * k2;
	h = a ^ (b << 16 | b >> 48) ^ (c << 32 | c >> 32) ^ (d << 48 | d >> 16);
	h ^= h >> 30;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 27;
	h *= 0x94D049BB133111EBull;
	h ^= h >> 31;
	return (uint32_t)h;
}

static uint64_t record_bytes(uint32_t nr)
{
	return DEPOT_RECORD_OVERHEAD + 8ull * nr;
}

int depot_init(struct depot *d, uint64_t cap_bytes)
{
	uint64_t slots;

	memset(d, 0, sizeof(*d));
	if (cap_bytes < DEPOT_MIN_BYTES)
		return -EINVAL;
	slots = cap_bytes / record_bytes(1) + 1;
	if (slots > DEPOT_MAX_RECORDS)
		slots = DEPOT_MAX_RECORDS;
	d->max_slots = (uint32_t)slots;
	d->nr_buckets = 1024;
	while (d->nr_buckets < d->max_slots / 2)
		d->nr_buckets <<= 1;
	d->slots = calloc(d->max_slots, sizeof(*d->slots));
	d->buckets = calloc(d->nr_buckets, sizeof(*d->buckets));
	d->recent = calloc(DEPOT_RECENT, sizeof(*d->recent));
	if (!d->slots || !d->buckets || !d->recent) {
		depot_destroy(d);
		return -ENOMEM;
	}
	d->next_unused = 1;
	d->st.cap_bytes = cap_bytes;
	return 0;
}

uint64_t depot_max_bytes(const struct depot *d)
{
	return d->st.cap_bytes + (uint64_t)d->max_slots * sizeof(*d->slots) +
	       (uint64_t)d->nr_buckets * sizeof(*d->buckets) + DEPOT_RECENT * sizeof(*d->recent);
}

void depot_destroy(struct depot *d)
{
	if (d->slots)
		for (uint32_t i = 1; i < d->next_unused; i++)
			free(d->slots[i].frames);
	free(d->slots);
	free(d->buckets);
	free(d->recent);
	d->slots = NULL;
	d->buckets = NULL;
	d->recent = NULL;
}

static struct depot_slot *resolve(const struct depot *d, uint32_t handle)
{
	uint32_t idx = handle & DEPOT_MAX_RECORDS;
	struct depot_slot *s;

	if (!handle || idx == 0 || idx >= d->next_unused)
		return NULL;
	s = &d->slots[idx];
	if (!s->frames || (s->gen & GEN_MASK) != handle >> SLOT_BITS)
		return NULL;
	return s;
}

static uint32_t make_handle(const struct depot *d, const struct depot_slot *s)
{
	return (uint32_t)(s - d->slots) | (s->gen & GEN_MASK) << SLOT_BITS;
}

static void lru_unlink(struct depot *d, uint32_t idx)
{
	struct depot_slot *s = &d->slots[idx];

	if (s->lru_prev)
		d->slots[s->lru_prev].lru_next = s->lru_next;
	else
		d->lru_head = s->lru_next;
	if (s->lru_next)
		d->slots[s->lru_next].lru_prev = s->lru_prev;
	else
		d->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = 0;
}

static void lru_append(struct depot *d, uint32_t idx)
{
	struct depot_slot *s = &d->slots[idx];

	s->lru_prev = d->lru_tail;
	s->lru_next = 0;
	if (d->lru_tail)
		d->slots[d->lru_tail].lru_next = idx;
	else
		d->lru_head = idx;
	d->lru_tail = idx;
}

static void evict(struct depot *d, uint32_t idx)
{
	struct depot_slot *s = &d->slots[idx];
	uint32_t *link = &d->buckets[s->hash & (d->nr_buckets - 1)];

	while (*link != idx)
		link = &d->slots[*link].chain;
	*link = s->chain;
	lru_unlink(d, idx);
	d->st.bytes -= record_bytes(s->nr);
	d->st.records--;
	d->st.evicted++;
	free(s->frames);
	s->frames = NULL;
	s->gen++; /* old handles go stale */
	s->chain = d->free_head;
	d->free_head = idx;
}

static uint32_t slot_alloc(struct depot *d, uint64_t need)
{
	uint32_t idx;

	while (d->st.bytes + need > d->st.cap_bytes ||
	       (!d->free_head && d->next_unused >= d->max_slots)) {
		if (!d->lru_head)
			return 0;
		evict(d, d->lru_head);
	}
	if (d->free_head) {
		idx = d->free_head;
		d->free_head = d->slots[idx].chain;
	} else {
		idx = d->next_unused++;
	}
	return idx;
}

/*
 * A stack saved again is mostly one saved lately: a key of three frames
 * names the slot that last held such frames, and comparing them in full
 * makes it certain (a slot holds a stack only once, so it is the one find()
 * would return). Else the full hash and the bucket are needed.
 */
static uint32_t recent_key(const uint64_t *frames, uint32_t nr)
{
	uint64_t k = (frames[0] ^ nr) * 0x9E3779B97F4A7C15ull ^ frames[nr / 2] ^
		     frames[nr - 1] * 0xC2B2AE3D27D4EB4Full;

	return (uint32_t)(k >> 40) & (DEPOT_RECENT - 1);
}

static bool holds(const struct depot *d, uint32_t idx, const uint64_t *frames, uint32_t nr)
{
	const struct depot_slot *s = &d->slots[idx];

	return idx && s->frames && s->nr == nr && !memcmp(s->frames, frames, 8ull * nr);
}

static uint32_t find(struct depot *d, uint32_t hash, const uint64_t *frames, uint32_t nr)
{
	for (uint32_t i = d->buckets[hash & (d->nr_buckets - 1)]; i; i = d->slots[i].chain) {
		const struct depot_slot *s = &d->slots[i];

		if (s->hash == hash && s->nr == nr && !memcmp(s->frames, frames, 8ull * nr))
			return i;
	}
	return 0;
}

/* The slot holding the stack, found by its hash or made; 0 if there is no room. */
static uint32_t find_or_add(struct depot *d, const uint64_t *frames, uint32_t nr)
{
	uint32_t hash = stack_hash(frames, nr), idx = find(d, hash, frames, nr);
	struct depot_slot *s;
	uint64_t *copy;

	if (idx) {
		d->st.dedup_hits++;
		return idx;
	}
	copy = malloc(8ull * nr);
	idx = copy ? slot_alloc(d, record_bytes(nr)) : 0;
	if (!idx) {
		free(copy);
		d->st.failed++;
		return 0;
	}
	s = &d->slots[idx];
	memcpy(copy, frames, 8ull * nr);
	s->frames = copy;
	s->hash = hash;
	s->nr = nr;
	s->refs = 0;
	s->chain = d->buckets[hash & (d->nr_buckets - 1)];
	d->buckets[hash & (d->nr_buckets - 1)] = idx;
	d->st.bytes += record_bytes(nr);
	d->st.records++;
	lru_append(d, idx);
	return idx;
}

uint32_t depot_save(struct depot *d, const uint64_t *frames, uint32_t nr, bool take_ref)
{
	uint32_t key, idx;
	struct depot_slot *s;

	if (!frames || nr == 0)
		return 0;
	if (nr > DEPOT_MAX_FRAMES)
		nr = DEPOT_MAX_FRAMES;
	d->st.saves++;
	key = recent_key(frames, nr);
	idx = d->recent[key];
	if (holds(d, idx, frames, nr)) {
		d->st.dedup_hits++;
	} else {
		idx = find_or_add(d, frames, nr);
		if (!idx)
			return 0;
		d->recent[key] = idx;
	}
	s = &d->slots[idx];
	if (take_ref && s->refs++ == 0) /* depot_get() without resolving the handle again */
		lru_unlink(d, idx);
	return make_handle(d, s);
}

uint32_t depot_fetch(const struct depot *d, uint32_t handle, const uint64_t **frames)
{
	const struct depot_slot *s = resolve(d, handle);

	if (!s) {
		*frames = NULL;
		return 0;
	}
	*frames = s->frames;
	return s->nr;
}

void depot_get(struct depot *d, uint32_t handle)
{
	struct depot_slot *s = resolve(d, handle);

	if (!s)
		return;
	if (s->refs++ == 0)
		lru_unlink(d, (uint32_t)(s - d->slots));
}

void depot_put(struct depot *d, uint32_t handle)
{
	struct depot_slot *s = resolve(d, handle);

	if (!s || s->refs == 0)
		return;
	if (--s->refs == 0)
		lru_append(d, (uint32_t)(s - d->slots));
}

void depot_get_stats(const struct depot *d, struct depot_stats *out)
{
	*out = d->st;
}
