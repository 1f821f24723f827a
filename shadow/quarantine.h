/* SPDX-License-Identifier: MIT */
/*
 * Generic-mode quarantine: freed objects (by object-table id) in free order,
 * with the bytes they account for. The total is capped (default guest RAM /
 * 32, as Linux); the owner pops the oldest while over the cap and forgets
 * them. Linux batches per CPU before the global FIFO; the host needs no
 * per-CPU stage, so this is one global FIFO.
 *
 * The FIFO is a ring of ids. An id's state is its mark, which the OWNER
 * keeps inside its own per-id record (at `marks + id * stride`): the bytes
 * it accounts and its ring slot + 1 (0: not quarantined). So a put touches
 * the record the owner is working on anyway and the ring's cached tail, an
 * early removal only the record (its ring slot goes stale: a slot whose
 * id's mark does not point back at it is skipped), and a pop the ring's
 * cached head and the record the owner is about to evict. When the ring
 * fills, its live slots are packed (and the ring doubled if they take more
 * than half of it), so both are amortized O(1); the ring grows with the
 * number of quarantined objects only, up to 2 * max_id slots.
 * Not thread-safe: the owner serializes.
 */
#ifndef SHADOW_QUARANTINE_H
#define SHADOW_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per-id state, in the owner's records; all zero before the id is first put. */
struct quarantine_mark {
	uint64_t bytes;
	uint32_t slot; /* ring slot + 1; 0: not quarantined */
};

struct quarantine {
	uint32_t *ring;	     /* ids */
	uint32_t size;	     /* slots, a power of two */
	uint64_t head, tail; /* free-running: oldest slot, next free slot */
	char *marks;	     /* the owner's: id's mark is at marks + id * stride */
	size_t stride;
	uint32_t max_id;
	uint32_t count;
	uint64_t total, cap_bytes;
};

/*
 * ids 1 .. max_id; cap_bytes may be 0 (nothing stays quarantined). marks:
 * the mark of id 0 (never used), each id's `stride` bytes further; the
 * owner zeroes a mark before its id is first put. 0 or -errno.
 */
int quarantine_init(struct quarantine *q, uint32_t max_id, uint64_t cap_bytes,
		    struct quarantine_mark *marks, size_t stride);
void quarantine_destroy(struct quarantine *q);

/*
 * Append id as the newest entry accounting `bytes`; false if id is invalid,
 * already in, or the ring could not grow (out of memory).
 */
bool quarantine_put(struct quarantine *q, uint32_t id, uint64_t bytes);
/* Take id out early (its memory was reallocated); no-op if not in. */
void quarantine_remove(struct quarantine *q, uint32_t id);
bool quarantine_contains(const struct quarantine *q, uint32_t id);
/* Remove and return the oldest id if the total exceeds the cap, else 0. */
uint32_t quarantine_pop_over(struct quarantine *q);
/* Remove and return the oldest id, 0 if empty. */
uint32_t quarantine_pop_oldest(struct quarantine *q);
/*
 * Walk the quarantined ids, newest first: *it = 0 to start; 0 at the end.
 * The walk may remove the id it was just given (and nothing else).
 */
uint32_t quarantine_iter(const struct quarantine *q, uint64_t *it);
/*
 * The ids in the ring's n oldest slots (stale ones included, so it reads
 * the ring only): the next evictions, whose records the owner may prefetch.
 * Returns how many were stored in ids.
 */
uint32_t quarantine_peek(const struct quarantine *q, uint32_t *ids, uint32_t n);
/* Whether the k-th oldest ring slot (as quarantine_peek counts) holds its id now. */
bool quarantine_live_at(const struct quarantine *q, uint32_t k);

#endif /* SHADOW_QUARANTINE_H */
