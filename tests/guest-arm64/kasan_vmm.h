/* SPDX-License-Identifier: MIT */
/*
 * Guest side of the kasan-vmm ABI on arm64 (paravirt/ABI.md): discovery from
 * the device tree's "kasan-vmm,paravirt" node, REGISTER and RING_SETUP
 * command blocks through the MMIO doorbell, event records with a
 * frame-pointer stack. One CPU. Without the node every call is a no-op.
 */
#ifndef A64G_KASAN_VMM_H
#define A64G_KASAN_VMM_H

#include "fdt.h"

struct kv_ev {
	u64 addr;
	u64 size_req;
	u64 size_alloc;
	u32 cache_id;
	u32 freeptr_offset;
	const char *name; /* CACHE_CREATE */
};

extern bool kv_present; /* registered and the ring is set up */

/* Discovery, REGISTER and the ring; prints what happened. */
void kv_init(const struct fdt_info *fdt);
/* Whether the host runs tag-based mode (KV_FEAT_TAGS). */
bool kv_tag_mode(void);
bool kv_pointer_tags(void);
/* One event; fp is the allocator entry's frame: the stack starts at its caller. */
void kv_emit(u32 kind, u64 fp, const struct kv_ev *ev);
/* Drain, print the ring counters. */
void kv_finish(void);
/* Power off through PSCI; a nonzero code first goes to doorbell base + 8. */
noreturn void kv_system_off(int code, bool psci_smc);

#endif
