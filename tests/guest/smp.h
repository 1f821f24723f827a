/* SPDX-License-Identifier: MIT */
/*
 * CPUs: discovery (MP table or ACPI MADT), bring-up (INIT-SIPI-SIPI) and
 * running work on another CPU. Each CPU's GS base points at its struct cpu.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include "kernel.h"

struct cpu {
	struct cpu *self; /* %gs:0 */
	u32 id;		  /* index in cpus[]; 0 is the boot CPU */
	u32 apic_id;
	u32 online;
	void (*work_fn)(void *); /* set by smp_call_on, cleared by the CPU that runs it */
	void *work_arg;
	u32 work_done;
	void *current_task; /* kasan_vmm.c: struct kv_task this CPU runs (kasan-vmm reads it) */
};

extern struct cpu cpus[MAX_CPUS];
extern u32 nr_cpus; /* discovered, whether or not they came online */

static inline u32 smp_processor_id(void)
{
	u32 id;

	asm volatile("movl %%gs:%c1, %0" : "=r"(id) : "i"(offsetof(struct cpu, id)));
	return id;
}

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	asm volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

/* Boot CPU, first thing in kmain: GS base -> cpus[0]. */
void smp_early_init(void);
/* Discover CPUs, start the others, print "testguest: cpus online: N". */
void smp_init(void);
u32 smp_cpus_online(void);
/* Run fn(arg) on CPU `cpu` and wait for it; -1 if offline or no answer in timeout_us. */
int smp_call_on(u32 cpu, void (*fn)(void *), void *arg, u64 timeout_us);

/* cpus.c: APIC IDs of the usable CPUs into ids[]; the count (0: no table). */
u32 cpus_discover(u32 *ids, u32 max, const char **source);

#endif
