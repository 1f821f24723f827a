/* SPDX-License-Identifier: MIT */
/*
 * Guest CPUID: KVM_GET_SUPPORTED_CPUID, minus every feature whose
 * instructions the host's KVM was found unable to run (vmm/probe.c), plus
 * the hypervisor bit, per-vCPU APIC ids and the kasan-vmm discovery leaves.
 * Pure functions over struct kvm_cpuid2, unit-tested without KVM.
 */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Instruction classes probed at guest CPL0. Bit i of a "cannot run" mask = class i failed. */
enum probe_insn {
	PROBE_VEX,    /* vpxor: AVX, AVX2, AVX-512, FMA, F16C, BMI1/2, VAES, ... */
	PROBE_CX16,   /* lock cmpxchg16b */
	PROBE_XSAVE,  /* xsave: the XSAVE family and everything that needs it */
	PROBE_XSAVES, /* xsaves (supervisor states) */
	PROBE_POPCNT,
	PROBE_SMAP,	/* clac */
	PROBE_FSGSBASE, /* rdfsbase */
	PROBE_RDRAND,
	PROBE_RDSEED,
	PROBE_MOVBE,
	PROBE_ADX, /* adcx */
	PROBE_RTM, /* xbegin */
	PROBE_RDPID,
	PROBE_RDTSCP,
	PROBE_PKU, /* rdpkru */
	PROBE_INVPCID,
	PROBE_CLFLUSHOPT,
	PROBE_CLWB,
	PROBE_SERIALIZE,
	PROBE_LZCNT,
	PROBE_PCLMUL,
	PROBE_AESNI,
	PROBE_SSSE3, /* pshufb */
	PROBE_SSE41, /* pblendw */
	PROBE_SSE42, /* crc32 */
	PROBE_SHA,
	PROBE_GFNI,
	PROBE_NR
};

const char *probe_insn_name(enum probe_insn p);

/* Clear every feature bit that depends on a failed class; returns how many bits were cleared. */
int cpuid_filter(struct kvm_cpuid2 *cpuid, uint64_t cannot_run);

/* Set the hypervisor bit; drop leaves a filtered feature needs (0xD when XSAVE is gone). */
void cpuid_finish(struct kvm_cpuid2 *cpuid);

/*
 * KVM paravirtual features (leaf 0x40000001 EAX) that hang a guest whose CPL0
 * is emulated: Linux's PV IPIs and PV sched yield are VMCALLs, and under
 * kvm_pvm a CPU sending one never comes back (seen booting Linux 6.1 with 2
 * vCPUs: the AP stuck at the vmcall in __send_ipi_mask, the BSP spinning on
 * the runqueue lock it holds). Without them Linux sends IPIs through the APIC.
 */
#define CPUID_KVM_PV_SEND_IPI	 11
#define CPUID_KVM_PV_SCHED_YIELD 13
/* Clear those bits; returns how many were set. */
int cpuid_hide_pv_hypercalls(struct kvm_cpuid2 *cpuid);

/* Per-vCPU copy tweaks: initial APIC id in leaf 1 EBX[31:24] and x2APIC id in 0xB/0x1F EDX. */
void cpuid_set_apic_id(struct kvm_cpuid2 *cpuid, uint32_t apic_id);

/*
 * The feature words a guest reads (leaves 1, 7.0, 0xD.0/1, 0x80000001) as one
 * line, "1.ecx=0x... 1.edx=0x... 7.ebx=...": the test guest prints the same
 * line with testguest.cpuid=1, so tests compare what was set with what is seen.
 */
void cpuid_describe(struct kvm_cpuid2 *cpuid, char *buf, size_t len);

/* Find an entry, or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid, uint32_t function, uint32_t index);

/* Append (or replace) an entry; -ENOSPC when the array (sized `capacity`) is full. */
int cpuid_set(struct kvm_cpuid2 *cpuid, uint32_t capacity, const struct kvm_cpuid_entry2 *e);

#endif /* VMM_CPUID_H */
