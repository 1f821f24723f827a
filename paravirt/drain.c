/* SPDX-License-Identifier: MIT */
/*
 * Ring draining and the global-order merge. Each ring is in seq order (its
 * producer takes the seq and publishes with local interrupts off), so a
 * k-way merge over the rings' next records yields global order. A record
 * whose seq is above the next expected one waits for the missing seq (a
 * producer between taking its seq and publishing) until the gap times out.
 *
 * Every record is copied into host memory once and then validated, so the
 * guest changing it meanwhile cannot make a checked value differ from the
 * one applied. The host's tail is its own: the guest's copy is only written.
 */
#include <stddef.h>
#include <string.h>

#include "paravirt/consumer_internal.h"

static void publish_tail(struct kv_ring *r)
{
	__atomic_store_n(&r->hdr->tail, r->tail, __ATOMIC_RELEASE);
	__atomic_store_n(&r->hdr->applied, r->applied, __ATOMIC_RELAXED);
	__atomic_store_n(&r->hdr->rejected, r->rejected, __ATOMIC_RELAXED);
}

/* Discard everything published so far: the ring's framing can't be trusted. */
static void resync(struct kv_consumer *c, struct kv_ring *r, enum kv_reject why, uint64_t detail)
{
	kv_reject(c, why, r->cpu, detail);
	c->stats.resyncs++;
	r->rejected++;
	r->tail = r->limit;
}

/* Take this drain's head snapshot; a head that is impossible resyncs the ring. */
static void snapshot_head(struct kv_consumer *c, struct kv_ring *r)
{
	uint64_t head = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);

	r->limit = r->tail;
	if (head % KV_REC_ALIGN) {
		kv_reject(c, KV_REJ_HEAD_ALIGN, r->cpu, head);
		r->rejected++; /* the guest sees every reject it caused in its header */
		return;
	}
	if (head < r->seen_head) {
		r->limit = r->seen_head = head;
		resync(c, r, KV_REJ_HEAD_BACKWARD, head);
		return;
	}
	r->seen_head = r->limit = head;
	if (head - r->tail > r->size)
		resync(c, r, KV_REJ_HEAD_OVERRUN, head - r->tail);
}

static bool seq_in_skipped_gap(struct kv_consumer *c, uint64_t seq)
{
	for (uint32_t i = 0; i < KV_GAPS_KEPT; i++)
		if (seq >= c->gaps[i].lo && seq < c->gaps[i].hi)
			return true;
	return false;
}

/*
 * A refused record still used up its seq: keep the seq as a tombstone that
 * takes its turn in the merge without being applied, or every later event
 * would wait behind a gap that never fills. Only plausible seqs qualify.
 */
static void hold_tombstone(struct kv_consumer *c, struct kv_ring *r)
{
	uint64_t seq;

	memcpy(&seq, c->recbuf + offsetof(struct kv_rec, seq), sizeof(seq));
	if (seq <= r->last_seq || seq >= c->next_seq + KV_SEQ_WINDOW)
		return;
	r->last_seq = seq;
	r->peek.seq = seq;
	r->have_peek = true;
	r->peek_dead = true;
}

/* Copy and decode one record at the tail; false when the ring has nothing (more) now. */
static bool fetch_one(struct kv_consumer *c, struct kv_ring *r)
{
	uint64_t pos = r->tail & (r->size - 1);
	uint64_t to_end = r->size - pos, avail = r->limit - r->tail;
	uint16_t kind, len;
	enum kv_reject why;

	if (avail == 0)
		return false;
	memcpy(&kind, r->data + pos, sizeof(kind));
	memcpy(&len, r->data + pos + 2, sizeof(len));
	if (kind == KV_REC_PAD) {
		if (len != to_end || len > avail) {
			resync(c, r, KV_REJ_REC_PAD, len);
			return false;
		}
		r->tail += len;
		return true;
	}
	if (len < KV_REC_HDR_SIZE || len > KV_REC_MAX_SIZE || len % KV_REC_ALIGN || len > to_end) {
		resync(c, r, KV_REJ_REC_LEN, len);
		return false;
	}
	if (len > avail) {
		resync(c, r, KV_REJ_REC_TRUNCATED, len);
		return false;
	}
	memcpy(c->recbuf, r->data + pos, len);
	r->tail += len; /* the copy is ours now: the guest may reuse the space */
	if (memcmp(c->recbuf, &kind, 2) || memcmp(c->recbuf + 2, &len, 2))
		why = KV_REJ_REC_TORN;
	else
		why = kv_decode_record(c, c->recbuf, len, r->cpu, &r->peek);
	if (why == KV_REJ_COUNT && r->peek.seq <= r->last_seq)
		why = KV_REJ_SEQ_REWIND;
	if (why == KV_REJ_COUNT && r->peek.seq >= c->next_seq + KV_SEQ_WINDOW)
		why = KV_REJ_SEQ_FAR;
	if (why != KV_REJ_COUNT) {
		kv_reject(c, why, r->cpu, r->tail - len);
		r->rejected++;
		if (why != KV_REJ_REC_TORN && why != KV_REJ_SEQ_REWIND && why != KV_REJ_SEQ_FAR)
			hold_tombstone(c, r);
		return true;
	}
	r->last_seq = r->peek.seq;
	r->have_peek = true;
	if (c->cfg.record)
		c->cfg.record(c->cfg.record_ctx, c->recbuf, len);
	return true;
}

static void fill_peek(struct kv_consumer *c, struct kv_ring *r)
{
	while (!r->have_peek && fetch_one(c, r))
		;
}

static void flush_batch(struct kv_consumer *c)
{
	if (c->nbatch)
		c->cfg.apply_batch(c->cfg.apply_ctx, c->batch, c->nbatch);
	c->nbatch = 0;
}

static void apply(struct kv_consumer *c, struct kv_ring *r)
{
	r->have_peek = false;
	if (r->peek_dead) {
		r->peek_dead = false; /* already counted as a reject */
		return;
	}
	if (c->cfg.apply_batch) {
		c->batch[c->nbatch++] = r->peek;
		if (c->nbatch == KV_APPLY_BATCH)
			flush_batch(c);
	} else {
		c->cfg.apply(c->cfg.apply_ctx, &r->peek);
	}
	c->stats.applied[r->peek.kind]++;
	c->stats.applied_total++;
	r->applied++;
}

static void remember_gap(struct kv_consumer *c, uint64_t lo, uint64_t hi)
{
	c->gaps[c->gap_next] = (struct kv_seq_gap){lo, hi};
	c->gap_next = (c->gap_next + 1) % KV_GAPS_KEPT;
	c->stats.gaps_skipped++;
	kv_log(c, "sequence gap [%llu, %llu) skipped", (unsigned long long)lo,
	       (unsigned long long)hi);
}

/* The ring holding the lowest pending seq, or NULL. */
static struct kv_ring *lowest(struct kv_consumer *c)
{
	struct kv_ring *best = NULL;

	for (uint32_t i = 0; i < c->cfg.max_cpus; i++) {
		struct kv_ring *r = &c->rings[i];

		if (!r->active)
			continue;
		fill_peek(c, r);
		if (r->have_peek && (!best || r->peek.seq < best->peek.seq))
			best = r;
	}
	return best;
}

/* Apply or drop best's event; false when the merge must stop at a young gap. */
static bool merge_step(struct kv_consumer *c, struct kv_ring *best, bool force)
{
	uint64_t seq = best->peek.seq;

	if (seq < c->next_seq) {
		if (best->peek_dead) {
			apply(c, best); /* a stale tombstone: nothing to apply or count */
		} else if (seq_in_skipped_gap(c, seq)) {
			c->stats.late_applied++;
			apply(c, best);
		} else {
			kv_reject(c, KV_REJ_SEQ_DUP, best->cpu, seq);
			best->rejected++;
			best->have_peek = false;
		}
		return true;
	}
	if (seq > c->next_seq) {
		uint64_t now = kv_now(c);

		if (!c->gap_pending) {
			c->gap_pending = true;
			c->gap_since_ns = now;
		}
		if (!force && now - c->gap_since_ns < c->cfg.gap_timeout_ns) {
			c->stats.gap_waits++;
			return false;
		}
		remember_gap(c, c->next_seq, seq);
	}
	c->next_seq = seq + 1;
	c->gap_pending = false;
	apply(c, best);
	return true;
}

void kv_drain_locked(struct kv_consumer *c, bool force)
{
	struct kv_ring *best;

	c->stats.drains++;
	for (uint32_t i = 0; i < c->cfg.max_cpus; i++)
		if (c->rings[i].active)
			snapshot_head(c, &c->rings[i]);
	/* Bounded: every step consumes a record below a snapshot limit, or stops. */
	while ((best = lowest(c)) && merge_step(c, best, force))
		;
	flush_batch(c); /* the drain applies all it took */
	for (uint32_t i = 0; i < c->cfg.max_cpus; i++)
		if (c->rings[i].active)
			publish_tail(&c->rings[i]);
}

void kv_forget_rings_locked(struct kv_consumer *c)
{
	memset(c->rings, 0, c->cfg.max_cpus * sizeof(*c->rings));
	memset(c->gaps, 0, sizeof(c->gaps));
	c->gap_next = 0;
	c->gap_pending = false;
	c->next_seq = KV_SEQ_FIRST;
}
