/* SPDX-License-Identifier: MIT */
/*
 * Host-side consumer of the paravirtual ABI (paravirt/kasan_vmm_abi.h):
 * handles doorbells, reads the guest's per-CPU event rings, validates every
 * record, and hands decoded events to shadow/ in global sequence order
 * through one callback.
 *
 * Guest memory is reached only through struct kv_guest_mem, which vmm/ fills
 * (paravirt/ does not know vmm/'s RAM layout). Host memory is allocated once
 * at creation: nothing the guest does allocates more.
 *
 * Thread safety: every entry point takes one internal mutex, so vCPU threads
 * may ring doorbells and drain concurrently. The apply and log callbacks run
 * under that mutex and must not call back into the consumer.
 */
#ifndef PARAVIRT_CONSUMER_H
#define PARAVIRT_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "paravirt/kasan_vmm_abi.h"
#include "shadow/event.h"

/*
 * Guest RAM view. ptr() returns the host address of [gpa, gpa + len) when the
 * whole range is RAM and contiguous in the host mapping, else NULL. The
 * mapping must stay valid for the consumer's lifetime (pointers to rings are
 * cached).
 */
struct kv_guest_mem {
	void *(*ptr)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
	uint64_t ram_size; /* total RAM bytes: the bound for every size */
};

typedef void (*kv_apply_fn)(void *ctx, const struct shadow_event *ev);
/* Several events at once, in order (see apply_batch). */
typedef void (*kv_apply_batch_fn)(void *ctx, const struct shadow_event *evs, uint32_t n);
typedef void (*kv_log_fn)(void *ctx, const char *line);
/* A record that passed validation, as the guest wrote it (len bytes). */
typedef void (*kv_record_fn)(void *ctx, const uint8_t *rec, uint32_t len);
typedef uint64_t (*kv_clock_fn)(void *ctx);

#define KV_CPUS_MAX    256u
#define KV_APPLY_BATCH 32u /* events per apply_batch call, at most */

/*
 * The guest's architecture decides two address rules (ABI 1.2):
 * x86-64: record addresses are canonical (48-bit) with no tag, and
 *   direct_map_base is a canonical VA.
 * arm64: record addresses may carry a pointer tag in bits 63:56 (Top Byte
 *   Ignore); the untagged address (bit 55 copied into the top byte) must be
 *   canonical, and the tag is passed on in the event. direct_map_base is an
 *   offset (Linux's PAGE_OFFSET - PHYS_OFFSET wraps): only the page addresses
 *   it yields must be canonical.
 */
enum kv_arch {
	KV_ARCH_X86_64 = 0,
	KV_ARCH_ARM64,
};

struct kv_consumer_config {
	struct kv_guest_mem mem;
	kv_apply_fn apply; /* one of apply and apply_batch is required */
	/*
	 * Instead of apply: events are handed over KV_APPLY_BATCH at a time (and
	 * the rest at the end of each drain), so that the receiver can work on
	 * several together; every drain still applies all it took.
	 */
	kv_apply_batch_fn apply_batch;
	void *apply_ctx;
	/*
	 * Optional: every record that passed validation, raw, in the order the
	 * rings were read (kasan-vmm's KASAN_VMM_RECORD_EVENTS, for replays).
	 */
	kv_record_fn record;
	void *record_ctx;
	kv_log_fn log; /* NULL: stderr */
	void *log_ctx;
	kv_clock_fn now_ns; /* NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
	uint32_t mode;		 /* KV_MODE_* announced to the guest */
	uint32_t max_cpus;	 /* ring slots, 1..KV_CPUS_MAX */
	uint32_t features;	 /* KV_FEAT_* announced; 0: KV_FEAT_EVENTS | KV_FEAT_STACKS */
	uint64_t gap_timeout_ns; /* how long a sequence gap may hold events back; 0: 20 ms */
	uint32_t log_burst;	 /* log lines per second; 0: 10 */
	enum kv_arch arch;	 /* address rules; 0: x86-64 */
};

/* Why a doorbell, command or record was refused. */
enum kv_reject {
	KV_REJ_DB_VALUE,      /* doorbell value is neither a short command nor a block PFN */
	KV_REJ_CMD_ADDR,      /* command block outside RAM */
	KV_REJ_CMD_MAGIC,     /* command block magic */
	KV_REJ_CMD_VERSION,   /* ABI major mismatch */
	KV_REJ_CMD_UNKNOWN,   /* unknown command code */
	KV_REJ_CMD_STATE,     /* command not valid in this state */
	KV_REJ_REG_FIELD,     /* REGISTER field out of range */
	KV_REJ_REG_STRING,    /* REGISTER release string too long or unprintable */
	KV_REJ_RING_CPU,      /* RING_SETUP cpu out of range */
	KV_REJ_RING_SIZE,     /* RING_SETUP size shift out of range for the mode */
	KV_REJ_RING_ADDR,     /* ring header or data not in RAM */
	KV_REJ_RING_ALIGN,    /* ring header or data misaligned */
	KV_REJ_HEAD_ALIGN,    /* ring head not a multiple of 8 */
	KV_REJ_HEAD_BACKWARD, /* ring head moved backwards (ring resynced) */
	KV_REJ_HEAD_OVERRUN,  /* ring head more than the ring size past the tail (resynced) */
	KV_REJ_REC_LEN,	      /* record length invalid */
	KV_REJ_REC_TRUNCATED, /* record longer than the published bytes (resynced) */
	KV_REJ_REC_PAD,	      /* pad record that does not end at the ring's end (resynced) */
	KV_REJ_REC_TORN,      /* record header changed while it was copied */
	KV_REJ_KIND,	      /* unknown event kind */
	KV_REJ_CPU,	      /* record cpu is not the ring's */
	KV_REJ_SEQ_REWIND,    /* seq not above the ring's previous one (or 0) */
	KV_REJ_SEQ_DUP,	      /* seq already applied */
	KV_REJ_SEQ_FAR,	      /* seq implausibly far ahead */
	KV_REJ_ADDR,	      /* address null, non-canonical, wrapping or outside its area */
	KV_REJ_SIZE,	      /* size zero, above RAM size, or size_req > size_alloc */
	KV_REJ_ORDER,	      /* order > KV_ORDER_MAX */
	KV_REJ_PFN,	      /* pages outside RAM */
	KV_REJ_PAGE_ADDR,     /* addr is not the direct-map address of pfn */
	KV_REJ_FRAMES,	      /* nr_frames > 64 or a non-canonical frame */
	KV_REJ_NAME,	      /* name missing, unexpected, too long or unprintable */
	KV_REJ_FREEPTR,	      /* freeptr_offset outside the slot */
	KV_REJ_COUNT
};

/* Host copy of the validated REGISTER block. */
struct kv_guest_layout {
	uint32_t guest_kind;
	uint32_t nr_cpus;
	uint64_t direct_map_base, vmemmap_base, vmalloc_start, vmalloc_end;
	uint64_t kaslr_offset, text_start, text_end;
	uint64_t seq_counter_gpa, percpu_offsets_va, current_task_pcpu;
	uint32_t task_pid_off, task_comm_off, task_struct_size;
	uint32_t page_struct_size, page_refcount_off; /* 0: unknown (guests before 1.3) */
	char release[KV_RELEASE_MAX + 1];
};

struct kv_consumer_stats {
	uint64_t doorbells, drains, commands, applied_total;
	uint64_t applied[KV_EV_KIND_MAX + 1]; /* by kind */
	uint64_t rejects[KV_REJ_COUNT];	      /* by reason */
	uint64_t gap_waits;		      /* drains that stopped at a sequence gap */
	uint64_t gaps_skipped;		      /* gaps given up on after the timeout (or at flush) */
	uint64_t late_applied;		      /* events that arrived after their gap was skipped */
	uint64_t resyncs;		      /* rings whose unread bytes were discarded */
	uint64_t log_suppressed;
	uint64_t guest_emitted, guest_dropped; /* sums of the rings' guest counters */
};

struct kv_consumer;

struct kv_consumer *kv_consumer_new(const struct kv_consumer_config *cfg);
void kv_consumer_free(struct kv_consumer *c);

/* Fill a hypervisor CPUID leaf; false if the leaf is not one of ours. */
bool kv_consumer_cpuid(const struct kv_consumer *c, uint32_t leaf, uint32_t out[4]);

/* From the KV_PORT_DOORBELL I/O exit of vCPU `vcpu` (outl value). */
void kv_consumer_doorbell(struct kv_consumer *c, uint32_t vcpu, uint32_t value);

/* Apply what is visible, holding back events behind a young sequence gap. */
void kv_consumer_drain(struct kv_consumer *c);
/* Apply everything visible, skipping gaps: guest exit, GOODBYE, before a final report. */
void kv_consumer_flush(struct kv_consumer *c);
/* Forget rings and layout without touching guest memory: guest reset. */
void kv_consumer_reset(struct kv_consumer *c);

bool kv_consumer_layout(struct kv_consumer *c, struct kv_guest_layout *out);
/* Tell the sanitizer what a registered layout says about addresses and struct page. */
struct sanitizer;
void kv_layout_to_sanitizer(const struct kv_guest_layout *l, struct sanitizer *s);
void kv_consumer_get_stats(struct kv_consumer *c, struct kv_consumer_stats *out);
void kv_consumer_print_stats(struct kv_consumer *c, FILE *f);
/* Host bytes held: fixed at creation, whatever the guest does. */
size_t kv_consumer_footprint(const struct kv_consumer *c);

const char *kv_reject_name(enum kv_reject r);
const char *kv_event_kind_name(uint32_t kind);

#endif /* PARAVIRT_CONSUMER_H */
