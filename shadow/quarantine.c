/* SPDX-License-Identifier: MIT */
#include "shadow/quarantine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RING_MIN 1024u

int quarantine_init(struct quarantine *q, uint32_t max_id, uint64_t cap_bytes,
		    struct quarantine_mark *marks, size_t stride)
{
	memset(q, 0, sizeof(*q));
	if (max_id == 0 || max_id == UINT32_MAX || !marks || stride < sizeof(*marks))
		return -EINVAL;
	q->ring = calloc(RING_MIN, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	q->size = RING_MIN;
	q->marks = (char *)marks;
	q->stride = stride;
	q->max_id = max_id;
	q->cap_bytes = cap_bytes;
	return 0;
}

void quarantine_destroy(struct quarantine *q)
{
	free(q->ring);
	q->ring = NULL;
}

static struct quarantine_mark *mark(const struct quarantine *q, uint32_t id)
{
	return (struct quarantine_mark *)(q->marks + (size_t)id * q->stride);
}

bool quarantine_contains(const struct quarantine *q, uint32_t id)
{
	return id && id <= q->max_id && mark(q, id)->slot != 0;
}

/* Whether ring slot pos (an index) is id's current one: else it went stale. */
static bool live_at(const struct quarantine *q, uint32_t pos)
{
	uint32_t id = q->ring[pos];

	return id && id <= q->max_id && mark(q, id)->slot == pos + 1;
}

/*
 * The ring is full: pack the live slots, in order, into a new ring, twice
 * as big when they fill more than half of this one (so the next pack is at
 * least size / 2 puts away). Their marks follow them.
 */
static bool make_room(struct quarantine *q)
{
	uint32_t size = q->size, n = 0;
	uint32_t *to;

	if (2ull * q->count > size && size < 2ull * q->max_id)
		size *= 2;
	to = calloc(size, sizeof(*to));
	if (!to)
		return false;
	for (uint64_t i = q->head; i != q->tail; i++) {
		uint32_t pos = (uint32_t)(i & (q->size - 1));

		if (live_at(q, pos)) {
			to[n] = q->ring[pos];
			mark(q, to[n])->slot = n + 1;
			n++;
		}
	}
	free(q->ring);
	q->ring = to;
	q->size = size;
	q->head = 0;
	q->tail = n;
	return n < size;
}

bool quarantine_put(struct quarantine *q, uint32_t id, uint64_t bytes)
{
	struct quarantine_mark *m;
	uint32_t pos;

	if (id == 0 || id > q->max_id || quarantine_contains(q, id))
		return false;
	if (q->tail - q->head == q->size && !make_room(q))
		return false;
	pos = (uint32_t)(q->tail++ & (q->size - 1));
	q->ring[pos] = id;
	m = mark(q, id);
	m->slot = pos + 1;
	m->bytes = bytes;
	q->total += bytes;
	q->count++;
	return true;
}

/* Its ring slot is left behind: pops and packing see it is stale. */
void quarantine_remove(struct quarantine *q, uint32_t id)
{
	struct quarantine_mark *m;

	if (!quarantine_contains(q, id))
		return;
	m = mark(q, id);
	q->total -= m->bytes;
	m->slot = 0;
	m->bytes = 0;
	q->count--;
}

uint32_t quarantine_pop_oldest(struct quarantine *q)
{
	while (q->head != q->tail) {
		uint32_t pos = (uint32_t)(q->head++ & (q->size - 1));

		if (live_at(q, pos)) {
			uint32_t id = q->ring[pos];

			quarantine_remove(q, id);
			return id;
		}
	}
	return 0;
}

uint32_t quarantine_pop_over(struct quarantine *q)
{
	return q->total > q->cap_bytes ? quarantine_pop_oldest(q) : 0;
}

uint32_t quarantine_peek(const struct quarantine *q, uint32_t *ids, uint32_t n)
{
	uint32_t k = 0;

	for (uint64_t i = q->head; i != q->tail && k < n; i++)
		ids[k++] = q->ring[i & (q->size - 1)];
	return k;
}

bool quarantine_live_at(const struct quarantine *q, uint32_t k)
{
	return k < q->tail - q->head && live_at(q, (uint32_t)((q->head + k) & (q->size - 1)));
}

uint32_t quarantine_iter(const struct quarantine *q, uint64_t *it)
{
	while (*it < q->tail - q->head) {
		uint32_t pos = (uint32_t)((q->tail - 1 - (*it)++) & (q->size - 1));

		if (live_at(q, pos))
			return q->ring[pos];
	}
	return 0;
}
