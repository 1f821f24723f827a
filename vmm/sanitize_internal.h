/* SPDX-License-Identifier: MIT */
/* Shared between vmm/sanitize.c (wiring, events, reports) and vmm/sanitize_trap.c (judging traps).
 */
#ifndef VMM_SANITIZE_INTERNAL_H
#define VMM_SANITIZE_INTERNAL_H

#include <linux/kvm.h>

#include "paravirt/consumer.h"
#include "shadow/sanitizer.h"
#include "vmm/guest_mmu.h"

#define REPORT_BUF (64 * 1024)
#define JSON_BUF   (32 * 1024)

struct symbols;
struct exempt;
struct hostlog;
struct vm;

struct san {
	struct vm *vm;
	struct sanitizer *shadow;
	struct kv_consumer *consumer;
	struct symbols *syms;
	struct exempt *exempt;
	struct hostlog *log;
	FILE *record; /* KASAN_VMM_RECORD_EVENTS: accepted raw records, or NULL */
	bool async;
	/* guest layout from REGISTER, cached outside the consumer's lock */
	bool have_layout;
	struct kv_guest_layout layout;
	/* last known paging state, captured on the vCPU thread at doorbells and traps */
	struct mmu_state mmu;
	/* report buffers: the sink runs under the sanitizer's lock, one report at a time */
	char text[REPORT_BUF];
	char json[JSON_BUF];
	char title[256];
};

void san_mmu_from_sregs(const struct kvm_sregs *s, struct mmu_state *st);
/* Who runs on the vCPU, from the per-CPU current task the guest registered. */
void san_current_task(struct san *san, unsigned int cpu, const struct mmu_state *st,
		      struct sanitizer_access *sa);

#endif /* VMM_SANITIZE_INTERNAL_H */
