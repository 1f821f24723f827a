/* SPDX-License-Identifier: MIT */
/*
 * Guest side of the kasan-vmm ABI (paravirt/ABI.md): discovery, REGISTER,
 * one event ring per CPU, event records with a frame-pointer stack, doorbells
 * by the announced mode. Without kasan-vmm (CPUID signature absent) every
 * call here is a cheap no-op.
 */
#ifndef GUEST_KASAN_VMM_H
#define GUEST_KASAN_VMM_H

#include "kernel.h"

/* Event fields; unused ones stay 0. */
struct kv_ev {
	u64 addr;
	u64 old_addr;
	u64 size_req;
	u64 size_alloc;
	u64 pfn;
	u32 order;
	u32 cache_id;
	u32 freeptr_offset;
	const char *name; /* CACHE_CREATE: the cache name */
};

/* The "task" a CPU runs: what records carry as pid and comm. */
struct kv_task {
	u64 reserved;
	u32 pid;
	u32 pad;
	char comm[KV_COMM_LEN];
};

struct kv_stats {
	u64 emitted, dropped, kicks, applied, rejected;
};

extern bool kv_present; /* CPUID signature and major version matched */
extern u32 kv_mode;	/* KV_MODE_* */

/* Discovery and REGISTER; then the boot CPU's ring. Call once, on CPU 0. */
void kv_init(u64 vmemmap_base);
/* Called on each CPU (after kv_init): allocate and set up its ring. */
void kv_cpu_init(void);
/*
 * Write one event. fp is the frame address of the allocator entry point:
 * the stack starts at its caller. Events before this CPU's ring exists are
 * kept and written once it does.
 */
void kv_emit(u32 kind, u64 fp, const struct kv_ev *ev);
/* Ring the drain doorbell (apply everything published). */
void kv_drain(void);
/* Sum of the per-ring counters (after a drain: applied == emitted). */
void kv_get_stats(struct kv_stats *st);
/* Drain and print "testguest: kasan-vmm events emitted: N" and friends. */
void kv_finish(void);
/* Rings set up so far (tests). */
u32 kv_rings_ready(void);

/* Switch the current task of this CPU; returns the previous one. */
struct kv_task *kv_task_switch(struct kv_task *t);
struct kv_task *kv_worker_task(u32 cpu); /* "kworker/N:1" */
extern struct kv_task kv_test_task;	 /* "kasan_test", the test runner */

/*
 * A one-byte read of p from outside the allocators (which kasan-vmm
 * exempts), like Linux's kasan_check_byte(): kasan-vmm traps it and reports
 * if p is poisoned. Used by ksize, krealloc and kmem_cache_destroy.
 */
void kasan_check_byte(const void *p);

/* For the garbage exerciser: this CPU's ring, raw. */
struct kv_ring_hdr *kv_this_ring(u64 *size, u8 **data);
/* Continue this CPU's ring at byte counter head (after the garbage exerciser). */
void kv_ring_resync(u64 head);
u16 kv_doorbell_port(void);
/* kasan_vmm_exercise.c: testguest.exit=, testguest.crash=, kasan_vmm.garbage= */
void exercise_boot(void);
void garbage_start(void);
void garbage_finish(void);
u64 kv_seq_gpa(void);
u64 kv_seq_take(void); /* a real sequence number */

#endif
