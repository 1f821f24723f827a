/* SPDX-License-Identifier: MIT */
/*
 * Generic-mode quarantine: freed objects (by object-table id) in free order,
 * with the bytes they account for. The total is capped (default guest RAM /
 * 32, as Linux); the owner pops the oldest while over the cap and forgets
 * them. Linux batches per CPU before the global FIFO; the host needs no
 * per-CPU stage, so this is one global FIFO.
 *
 * Links live in one array of records indexed by id (ids 1 .. max_id), so
 * put/remove/pop are O(1) and allocation-free, and touch one cache line per
 * id (ids are random: parallel arrays cost a miss each). Not thread-safe:
 * the owner serializes.
 */
#ifndef SHADOW_QUARANTINE_H
#define SHADOW_QUARANTINE_H

#include <stdbool.h>
#include <stdint.h>

struct quarantine_link {
	uint32_t prev, next;
	uint64_t bytes;
};

struct quarantine {
	struct quarantine_link *e; /* [0 .. max_id] */
	uint32_t max_id;
	uint32_t head, tail; /* oldest, newest */
	uint32_t count;
	uint64_t total, cap_bytes;
};

/* ids 1 .. max_id; cap_bytes may be 0 (nothing stays quarantined). 0 or -errno. */
int quarantine_init(struct quarantine *q, uint32_t max_id, uint64_t cap_bytes);
void quarantine_destroy(struct quarantine *q);

/* Append id as the newest entry accounting `bytes`; false if id is invalid or already in. */
bool quarantine_put(struct quarantine *q, uint32_t id, uint64_t bytes);
/* Take id out early (its memory was reallocated); no-op if not in. */
void quarantine_remove(struct quarantine *q, uint32_t id);
bool quarantine_contains(const struct quarantine *q, uint32_t id);
/* Remove and return the oldest id if the total exceeds the cap, else 0. */
uint32_t quarantine_pop_over(struct quarantine *q);
/* Remove and return the oldest id, 0 if empty. */
uint32_t quarantine_pop_oldest(struct quarantine *q);

#endif /* SHADOW_QUARANTINE_H */
