// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/cpuid.h"

enum reg { EAX, EBX, ECX, EDX };

/* One feature bit: where it lives and which probed instruction class it needs. */
struct feature {
	uint32_t function;
	uint32_t index;
	enum reg reg;
	uint8_t bit;
	enum probe_insn needs;
};

#define F(fn, idx, r, b, p)                                                                        \
	{                                                                                          \
		fn, idx, r, b, p                                                                   \
	}

/* Feature bits by the instruction class that executes them (SDM vol. 2 CPUID tables). */
static const struct feature features[] = {
    F(1, 0, ECX, 28, PROBE_VEX),     /* AVX */
    F(1, 0, ECX, 12, PROBE_VEX),     /* FMA */
    F(1, 0, ECX, 29, PROBE_VEX),     /* F16C */
    F(7, 0, EBX, 5, PROBE_VEX),	     /* AVX2 */
    F(7, 0, EBX, 3, PROBE_VEX),	     /* BMI1 (VEX-encoded) */
    F(7, 0, EBX, 8, PROBE_VEX),	     /* BMI2 */
    F(7, 0, EBX, 16, PROBE_VEX),     /* AVX512F */
    F(7, 0, EBX, 17, PROBE_VEX),     /* AVX512DQ */
    F(7, 0, EBX, 21, PROBE_VEX),     /* AVX512_IFMA */
    F(7, 0, EBX, 26, PROBE_VEX),     /* AVX512PF */
    F(7, 0, EBX, 27, PROBE_VEX),     /* AVX512ER */
    F(7, 0, EBX, 28, PROBE_VEX),     /* AVX512CD */
    F(7, 0, EBX, 30, PROBE_VEX),     /* AVX512BW */
    F(7, 0, EBX, 31, PROBE_VEX),     /* AVX512VL */
    F(7, 0, ECX, 1, PROBE_VEX),	     /* AVX512_VBMI */
    F(7, 0, ECX, 6, PROBE_VEX),	     /* AVX512_VBMI2 */
    F(7, 0, ECX, 9, PROBE_VEX),	     /* VAES */
    F(7, 0, ECX, 10, PROBE_VEX),     /* VPCLMULQDQ */
    F(7, 0, ECX, 11, PROBE_VEX),     /* AVX512_VNNI */
    F(7, 0, ECX, 12, PROBE_VEX),     /* AVX512_BITALG */
    F(7, 0, ECX, 14, PROBE_VEX),     /* AVX512_VPOPCNTDQ */
    F(7, 0, EDX, 2, PROBE_VEX),	     /* AVX512_4VNNIW */
    F(7, 0, EDX, 3, PROBE_VEX),	     /* AVX512_4FMAPS */
    F(7, 0, EDX, 8, PROBE_VEX),	     /* AVX512_VP2INTERSECT */
    F(7, 0, EDX, 22, PROBE_VEX),     /* AMX_BF16 */
    F(7, 0, EDX, 23, PROBE_VEX),     /* AVX512_FP16 */
    F(7, 0, EDX, 24, PROBE_VEX),     /* AMX_TILE */
    F(7, 0, EDX, 25, PROBE_VEX),     /* AMX_INT8 */
    F(7, 1, EAX, 4, PROBE_VEX),	     /* AVX_VNNI */
    F(7, 1, EAX, 5, PROBE_VEX),	     /* AVX512_BF16 */
    F(7, 1, EAX, 23, PROBE_VEX),     /* AVX_IFMA */
    F(1, 0, ECX, 13, PROBE_CX16),    /* CMPXCHG16B */
    F(1, 0, ECX, 26, PROBE_XSAVE),   /* XSAVE */
    F(1, 0, ECX, 27, PROBE_XSAVE),   /* OSXSAVE */
    F(1, 0, ECX, 28, PROBE_XSAVE),   /* AVX needs XSAVE to be enabled */
    F(7, 0, EBX, 16, PROBE_XSAVE),   /* AVX512F needs XSAVE too */
    F(0xd, 1, EAX, 0, PROBE_XSAVE),  /* XSAVEOPT */
    F(0xd, 1, EAX, 1, PROBE_XSAVE),  /* XSAVEC */
    F(0xd, 1, EAX, 2, PROBE_XSAVE),  /* XGETBV1 */
    F(0xd, 1, EAX, 3, PROBE_XSAVES), /* XSAVES */
    F(0xd, 1, EAX, 3, PROBE_XSAVE),
    F(1, 0, ECX, 23, PROBE_POPCNT),
    F(7, 0, EBX, 20, PROBE_SMAP),
    F(7, 0, EBX, 0, PROBE_FSGSBASE),
    F(1, 0, ECX, 30, PROBE_RDRAND),
    F(7, 0, EBX, 18, PROBE_RDSEED),
    F(1, 0, ECX, 22, PROBE_MOVBE),
    F(7, 0, EBX, 19, PROBE_ADX),
    F(7, 0, EBX, 11, PROBE_RTM),
    F(7, 0, EBX, 4, PROBE_RTM), /* HLE goes with TSX */
    F(7, 0, ECX, 22, PROBE_RDPID),
    F(0x80000001, 0, EDX, 27, PROBE_RDTSCP),
    F(7, 0, ECX, 3, PROBE_PKU),
    F(7, 0, ECX, 4, PROBE_PKU), /* OSPKE */
    F(7, 0, EBX, 10, PROBE_INVPCID),
    F(7, 0, EBX, 23, PROBE_CLFLUSHOPT),
    F(7, 0, EBX, 24, PROBE_CLWB),
    F(7, 0, EDX, 14, PROBE_SERIALIZE),
    F(0x80000001, 0, ECX, 5, PROBE_LZCNT),
    F(1, 0, ECX, 1, PROBE_PCLMUL),
    F(1, 0, ECX, 25, PROBE_AESNI),
    F(1, 0, ECX, 9, PROBE_SSSE3),
    F(1, 0, ECX, 19, PROBE_SSE41),
    F(1, 0, ECX, 20, PROBE_SSE42),
    F(7, 0, EBX, 29, PROBE_SHA),
    F(7, 0, ECX, 8, PROBE_GFNI),
};

static const char *const probe_names[PROBE_NR] = {
    [PROBE_VEX] = "vex",
    [PROBE_CX16] = "cx16",
    [PROBE_XSAVE] = "xsave",
    [PROBE_XSAVES] = "xsaves",
    [PROBE_POPCNT] = "popcnt",
    [PROBE_SMAP] = "smap",
    [PROBE_FSGSBASE] = "fsgsbase",
    [PROBE_RDRAND] = "rdrand",
    [PROBE_RDSEED] = "rdseed",
    [PROBE_MOVBE] = "movbe",
    [PROBE_ADX] = "adx",
    [PROBE_RTM] = "rtm",
    [PROBE_RDPID] = "rdpid",
    [PROBE_RDTSCP] = "rdtscp",
    [PROBE_PKU] = "pku",
    [PROBE_INVPCID] = "invpcid",
    [PROBE_CLFLUSHOPT] = "clflushopt",
    [PROBE_CLWB] = "clwb",
    [PROBE_SERIALIZE] = "serialize",
    [PROBE_LZCNT] = "lzcnt",
    [PROBE_PCLMUL] = "pclmulqdq",
    [PROBE_AESNI] = "aes",
    [PROBE_SSSE3] = "ssse3",
    [PROBE_SSE41] = "sse4_1",
    [PROBE_SSE42] = "sse4_2",
    [PROBE_SHA] = "sha_ni",
    [PROBE_GFNI] = "gfni",
};

const char *probe_insn_name(enum probe_insn p)
{
	return (unsigned int)p < PROBE_NR ? probe_names[p] : "?";
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

		if (e->function == function && (!indexed || e->index == index))
			return e;
	}
	return NULL;
}

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, enum reg r)
{
	switch (r) {
	case EAX:
		return &e->eax;
	case EBX:
		return &e->ebx;
	case ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

int cpuid_filter(struct kvm_cpuid2 *cpuid, uint64_t cannot_run)
{
	int cleared = 0;

	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		struct kvm_cpuid_entry2 *e;
		uint32_t *reg;

		if (!(cannot_run & (1ull << f->needs)))
			continue;
		e = cpuid_find(cpuid, f->function, f->index);
		if (!e)
			continue;
		reg = entry_reg(e, f->reg);
		if (*reg & (1u << f->bit)) {
			*reg &= ~(1u << f->bit);
			cleared++;
		}
	}
	return cleared;
}

void cpuid_finish(struct kvm_cpuid2 *cpuid)
{
	struct kvm_cpuid_entry2 *leaf1 = cpuid_find(cpuid, 1, 0);

	if (!leaf1)
		return;
	leaf1->ecx |= 1u << 31; /* hypervisor present */
	if (!(leaf1->ecx & (1u << 26))) {
		/* Without XSAVE, leaf 0xD must not advertise any state component. */
		for (uint32_t i = 0; i < cpuid->nent; i++) {
			struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

			if (e->function == 0xd)
				e->eax = e->ebx = e->ecx = e->edx = 0;
		}
	}
}

int cpuid_hide_pv_hypercalls(struct kvm_cpuid2 *cpuid)
{
	const uint32_t mask = (1u << CPUID_KVM_PV_SEND_IPI) | (1u << CPUID_KVM_PV_SCHED_YIELD);
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 0x40000001, 0);
	int n;

	if (!e)
		return 0;
	n = __builtin_popcount(e->eax & mask);
	e->eax &= ~mask;
	return n;
}

void cpuid_set_apic_id(struct kvm_cpuid2 *cpuid, uint32_t apic_id)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (apic_id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = apic_id;
	}
}

int cpuid_set(struct kvm_cpuid2 *cpuid, uint32_t capacity, const struct kvm_cpuid_entry2 *e)
{
	struct kvm_cpuid_entry2 *old = cpuid_find(cpuid, e->function, e->index);

	if (old) {
		*old = *e;
		return 0;
	}
	if (cpuid->nent >= capacity)
		return -ENOSPC;
	cpuid->entries[cpuid->nent++] = *e;
	return 0;
}

void cpuid_describe(struct kvm_cpuid2 *cpuid, char *buf, size_t len)
{
	static const struct {
		uint32_t function, index;
		enum reg reg;
		const char *name;
	} words[] = {
	    {1, 0, ECX, "1.ecx"},
	    {1, 0, EDX, "1.edx"},
	    {7, 0, EBX, "7.ebx"},
	    {7, 0, ECX, "7.ecx"},
	    {7, 0, EDX, "7.edx"},
	    {0xd, 0, EAX, "d.eax"},
	    {0xd, 1, EAX, "d1.eax"},
	    {0x80000001, 0, ECX, "80000001.ecx"},
	    {0x80000001, 0, EDX, "80000001.edx"},
	};
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && off < len; i++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, words[i].function, words[i].index);
		uint32_t v = e ? *entry_reg(e, words[i].reg) : 0;

		off += (size_t)snprintf(buf + off, len - off, "%s%s=0x%x", i ? " " : "",
					words[i].name, v);
	}
}
