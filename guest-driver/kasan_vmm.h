/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Internal interface of the kasan_vmm driver (kasan_vmm_core.c: discovery,
 * REGISTER and module life; kasan_vmm_ring.c: per-CPU rings and the event
 * producer; kasan_vmm_hooks.c: allocator tracepoints and module notifier).
 */
#ifndef GUEST_DRIVER_KASAN_VMM_H
#define GUEST_DRIVER_KASAN_VMM_H

#include <linux/types.h>
#include "paravirt/kasan_vmm_abi.h"

/* What a probe knows about one event; the producer adds the rest. */
struct kv_ev {
	u64 addr;
	u64 old_addr;
	u64 size_req;
	u64 size_alloc;
	u64 pfn;
	u32 order;
	u32 cache_id;
	u32 freeptr_offset;
	u32 red_left;	  /* CACHE_CREATE: bytes of the slot before the object */
	const char *name; /* NUL-terminated or NULL */
};

/* From CPUID (kasan_vmm_core.c), fixed before any event is produced. */
extern u32 kv_features;
extern u32 kv_mode;
extern u16 kv_port;
extern u32 kv_nr_cpus; /* ring CPU ids are below it */
extern u32 kv_ring_shift_min, kv_ring_shift_max;
extern u64 *kv_seq; /* the global sequence counter, in the direct map */

/* The doorbell: a memory clobber so the host sees every store made before it. */
static inline void kv_outl(u32 v)
{
	asm volatile("outl %0, %w1" : : "a"(v), "Nd"(kv_port) : "memory");
}

/* kasan_vmm_core.c: one command block on the shared page; a KV_ST_* status. */
int kv_command_ring_setup(u32 cpu, u32 shift, u64 hdr_gpa, u64 data_gpa);

/* kasan_vmm_ring.c */
int kv_rings_init(void);
void kv_rings_stop(void); /* no more events; rings still mapped by the host */
void kv_rings_free(void); /* after GOODBYE */
void kv_emit(u32 kind, const struct kv_ev *ev);
void kv_drain(void);
void kv_rings_stats(u64 *emitted, u64 *dropped, u64 *lost);

/* kasan_vmm_hooks.c */
int kv_hooks_init(void);
void kv_hooks_exit(void);

/* kasan_vmm_kprobes.c: krealloc/ksize kretprobes, when the kernel has them */
void kv_kprobes_init(void);
void kv_kprobes_exit(void);

#endif /* GUEST_DRIVER_KASAN_VMM_H */
