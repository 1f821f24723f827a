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
	q->prev = calloc((size_t)max_id + 1, sizeof(*q->prev));
	q->next = calloc((size_t)max_id + 1, sizeof(*q->next));
	q->bytes = calloc((size_t)max_id + 1, sizeof(*q->bytes));
	if (!q->prev || !q->next || !q->bytes) {
		quarantine_destroy(q);
		return -ENOMEM;
	}
	q->max_id = max_id;
	q->cap_bytes = cap_bytes;
	return 0;
}

void quarantine_destroy(struct quarantine *q)
{
	free(q->prev);
	free(q->next);
	free(q->bytes);
	q->prev = q->next = NULL;
	q->bytes = NULL;
}

/* Membership: the head has prev 0 but is the head; others have a prev. */
bool quarantine_contains(const struct quarantine *q, uint32_t id)
{
	if (id == 0 || id > q->max_id)
		return false;
	return q->head == id || q->prev[id] != 0;
}

bool quarantine_put(struct quarantine *q, uint32_t id, uint64_t bytes)
{
	if (id == 0 || id > q->max_id || quarantine_contains(q, id))
		return false;
	q->prev[id] = q->tail;
	q->next[id] = 0;
	if (q->tail)
		q->next[q->tail] = id;
	else
		q->head = id;
	q->tail = id;
	q->bytes[id] = bytes;
	q->total += bytes;
	q->count++;
	return true;
}

void quarantine_remove(struct quarantine *q, uint32_t id)
{
	if (!quarantine_contains(q, id))
		return;
	if (q->prev[id])
		q->next[q->prev[id]] = q->next[id];
	else
		q->head = q->next[id];
	if (q->next[id])
		q->prev[q->next[id]] = q->prev[id];
	else
		q->tail = q->prev[id];
	q->prev[id] = q->next[id] = 0;
	q->total -= q->bytes[id];
	q->bytes[id] = 0;
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
