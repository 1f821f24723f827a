/* SPDX-License-Identifier: MIT */
/*
 * Private to paravirt/: the consumer's state, shared by consumer.c (lifecycle,
 * stats, log), command.c (doorbell and command blocks), drain.c (rings and
 * the global-order merge) and decode.c (record validation).
 */
#ifndef PARAVIRT_CONSUMER_INTERNAL_H
#define PARAVIRT_CONSUMER_INTERNAL_H

#include <pthread.h>

#include "paravirt/consumer.h"

/* A guest CPU's ring as the host tracks it. Guest memory only via hdr/data. */
struct kv_ring {
	bool active;
	uint32_t cpu;
	uint64_t size;		 /* data bytes, a power of two */
	struct kv_ring_hdr *hdr; /* host alias of the guest header */
	const uint8_t *data;	 /* host alias of the guest data area */
	uint64_t tail;		 /* host's own consumer counter: the guest's copy is never read */
	uint64_t limit;		 /* head snapshot of the current drain */
	uint64_t seen_head;	 /* largest valid head seen */
	uint64_t last_seq;	 /* seq of the last accepted record */
	uint64_t applied, rejected;
	bool have_peek; /* peek holds the ring's next decoded event */
	bool peek_dead; /* ... or only the seq of a refused record */
	struct shadow_event peek;
};

/* Sequence numbers given up on, remembered so a late arrival is not a duplicate. */
struct kv_seq_gap {
	uint64_t lo, hi; /* [lo, hi) */
};
#define KV_GAPS_KEPT 16u

/* Further than this past the next expected seq, a record is implausible. */
#define KV_SEQ_WINDOW (1ull << 24)

struct kv_consumer {
	pthread_mutex_t lock;
	struct kv_consumer_config cfg;
	bool registered;
	struct kv_guest_layout layout;
	uint64_t next_seq;     /* next global seq to apply */
	bool gap_pending;      /* a drain stopped at next_seq */
	uint64_t gap_since_ns; /* when that gap was first seen */
	struct kv_seq_gap gaps[KV_GAPS_KEPT];
	uint32_t gap_next; /* round-robin slot in gaps */
	struct kv_consumer_stats stats;
	uint64_t log_window_ns;
	uint32_t log_lines;
	uint64_t log_dropped;  /* suppressed in the current window */
	struct kv_ring *rings; /* cfg.max_cpus slots */
	uint32_t nbatch;       /* events waiting in batch (cfg.apply_batch) */
	struct shadow_event batch[KV_APPLY_BATCH];
	_Alignas(8) uint8_t recbuf[KV_REC_MAX_SIZE];
	size_t footprint;
};

uint64_t kv_now(struct kv_consumer *c);
void kv_log(struct kv_consumer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Count a reject and log it (rate-limited). */
void kv_reject(struct kv_consumer *c, enum kv_reject r, uint32_t cpu, uint64_t detail);

/*
 * Validate a record copied into host memory (len bytes, framing already
 * checked) and decode it into *out. Returns KV_REJ_COUNT if valid, else the
 * reason.
 */
enum kv_reject kv_decode_record(const struct kv_consumer *c, const uint8_t *rec, uint32_t len,
				uint32_t ring_cpu, struct shadow_event *out);

void kv_drain_locked(struct kv_consumer *c, bool force);
void kv_forget_rings_locked(struct kv_consumer *c);

/*
 * Canonical: the bits above the VA size all equal the top VA bit (x86-64:
 * 48-bit VAs, bits 63:47 equal). arm64 (48-bit VAs): bits 63:48 all zero
 * (TTBR0) or all one (TTBR1), bit 47 free.
 */
static inline bool kv_canonical(const struct kv_consumer *c, uint64_t va)
{
	unsigned int shift = c->cfg.arch == KV_ARCH_ARM64 ? 48 : 47;
	uint64_t top = va >> shift;

	return top == 0 || top == (~0ull >> shift);
}

/* [va, va + len) is canonical, does not wrap and stays in one half. */
static inline bool kv_canonical_range(const struct kv_consumer *c, uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;

	if (!kv_canonical(c, va))
		return false;
	if (len == 0)
		return true;
	return last >= va && kv_canonical(c, last) && (last >> 63) == (va >> 63);
}

#endif /* PARAVIRT_CONSUMER_INTERNAL_H */
