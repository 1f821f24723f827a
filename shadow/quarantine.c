/* SPDX-License-Identifier: MIT */
#include "shadow/quarantine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int quarantine_init(struct quarantine *q, uint32_t max_id, uint64_t cap_bytes)
{
	memset(q, 0, sizeof(*q));
	if (max_id == 0 || max_id == UINT32_MAX)
		return -EINVAL;
	q->e = calloc((size_t)max_id + 1, sizeof(*q->e));
	if (!q->e) {
		quarantine_destroy(q);
		return -ENOMEM;
	}
	q->max_id = max_id;
	q->cap_bytes = cap_bytes;
	return 0;
}

void quarantine_destroy(struct quarantine *q)
{
	free(q->e);
	q->e = NULL;
}

/* Membership: the head has prev 0 but is the head; others have a prev. */
bool quarantine_contains(const struct quarantine *q, uint32_t id)
{
	if (id == 0 || id > q->max_id)
		return false;
	return q->head == id || q->e[id].prev != 0;
}

bool quarantine_put(struct quarantine *q, uint32_t id, uint64_t bytes)
{
	if (id == 0 || id > q->max_id || quarantine_contains(q, id))
		return false;
	q->e[id].prev = q->tail;
	q->e[id].next = 0;
	if (q->tail)
		q->e[q->tail].next = id;
	else
		q->head = id;
	q->tail = id;
	q->e[id].bytes = bytes;
	q->total += bytes;
	q->count++;
	return true;
}

void quarantine_remove(struct quarantine *q, uint32_t id)
{
	if (!quarantine_contains(q, id))
		return;
	if (q->e[id].prev)
		q->e[q->e[id].prev].next = q->e[id].next;
	else
		q->head = q->e[id].next;
	if (q->e[id].next)
		q->e[q->e[id].next].prev = q->e[id].prev;
	else
		q->tail = q->e[id].prev;
	q->e[id].prev = q->e[id].next = 0;
	q->total -= q->e[id].bytes;
	q->e[id].bytes = 0;
	q->count--;
}

uint32_t quarantine_pop_oldest(struct quarantine *q)
{
	uint32_t id = q->head;

	if (id)
		quarantine_remove(q, id);
	return id;
}

uint32_t quarantine_pop_over(struct quarantine *q)
{
	return q->total > q->cap_bytes ? quarantine_pop_oldest(q) : 0;
}
