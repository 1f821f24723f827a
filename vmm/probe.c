// SPDX-License-Identifier: MIT
/*
 * Probe the host's KVM: what kind it is, and which instruction classes it
 * cannot execute at guest CPL0. kvm_pvm runs guest kernel code in KVM's
 * instruction emulator, which lacks VEX, cmpxchg16b, xsave, ...; hardware
 * virtualization runs them all. We run each instruction once in a throwaway
 * 64-bit VM instead of trusting a list, so a host that gains (or loses)
 * support is described correctly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/cpuid.h"
#include "vmm/kvm_compat.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PROBE_MEM   (4u << 20)
#define PROBE_PML4  0x1000
#define PROBE_PDPT  0x2000
#define PROBE_PD    0x3000
#define PROBE_CODE  0x10000
#define PROBE_DATA  0x20000
#define PROBE_STACK 0x30000

struct probe_insn_def {
	enum probe_insn id;
	uint32_t function, index; /* CPUID feature the instruction belongs to */
	char reg;		  /* 'b', 'c', 'd' */
	uint8_t bit;
	uint8_t len;
	uint8_t bytes[12];
};

#define P(id, fn, idx, r, b, ...)                                                                  \
	{                                                                                          \
		id, fn, idx, r, b, sizeof((uint8_t[]){__VA_ARGS__}),                               \
		{                                                                                  \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}

static const struct probe_insn_def probes[] = {
    P(PROBE_VEX, 1, 0, 'c', 28, 0xc5, 0xf9, 0xef, 0xc0),		   /* vpxor xmm0 */
    P(PROBE_CX16, 1, 0, 'c', 13, 0xf0, 0x48, 0x0f, 0xc7, 0x0e),		   /* lock cmpxchg16b */
    P(PROBE_XSAVE, 1, 0, 'c', 26, 0x0f, 0xae, 0x27),			   /* xsave [rdi] */
    P(PROBE_XSAVES, 0xd, 1, 'a', 3, 0x0f, 0xc7, 0x2f),			   /* xsaves [rdi] */
    P(PROBE_POPCNT, 1, 0, 'c', 23, 0xf3, 0x48, 0x0f, 0xb8, 0xc0),	   /* popcnt */
    P(PROBE_SMAP, 7, 0, 'b', 20, 0x0f, 0x01, 0xca),			   /* clac */
    P(PROBE_FSGSBASE, 7, 0, 'b', 0, 0xf3, 0x48, 0x0f, 0xae, 0xc0),	   /* rdfsbase */
    P(PROBE_RDRAND, 1, 0, 'c', 30, 0x48, 0x0f, 0xc7, 0xf0),		   /* rdrand */
    P(PROBE_RDSEED, 7, 0, 'b', 18, 0x48, 0x0f, 0xc7, 0xf8),		   /* rdseed */
    P(PROBE_MOVBE, 1, 0, 'c', 22, 0x48, 0x0f, 0x38, 0xf0, 0x06),	   /* movbe rax,[rsi] */
    P(PROBE_ADX, 7, 0, 'b', 19, 0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc0),	   /* adcx */
    P(PROBE_RTM, 7, 0, 'b', 11, 0xc7, 0xf8, 3, 0, 0, 0, 0x0f, 0x01, 0xd5), /* xbegin; xend */
    P(PROBE_RDPID, 7, 0, 'c', 22, 0xf3, 0x0f, 0xc7, 0xf8),		   /* rdpid */
    P(PROBE_RDTSCP, 0x80000001, 0, 'd', 27, 0x0f, 0x01, 0xf9),		   /* rdtscp */
    P(PROBE_PKU, 7, 0, 'c', 3, 0x0f, 0x01, 0xee),			   /* rdpkru */
    P(PROBE_INVPCID, 7, 0, 'b', 10, 0x66, 0x0f, 0x38, 0x82, 0x06),	   /* invpcid */
    P(PROBE_CLFLUSHOPT, 7, 0, 'b', 23, 0x66, 0x0f, 0xae, 0x3e),		   /* clflushopt */
    P(PROBE_CLWB, 7, 0, 'b', 24, 0x66, 0x0f, 0xae, 0x36),		   /* clwb */
    P(PROBE_SERIALIZE, 7, 0, 'd', 14, 0x0f, 0x01, 0xe8),		   /* serialize */
    P(PROBE_LZCNT, 0x80000001, 0, 'c', 5, 0xf3, 0x48, 0x0f, 0xbd, 0xc0),   /* lzcnt */
    P(PROBE_PCLMUL, 1, 0, 'c', 1, 0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00),	   /* pclmulqdq */
    P(PROBE_AESNI, 1, 0, 'c', 25, 0x66, 0x0f, 0x38, 0xdc, 0xc1),	   /* aesenc */
    P(PROBE_SSSE3, 1, 0, 'c', 9, 0x66, 0x0f, 0x38, 0x00, 0xc1),		   /* pshufb */
    P(PROBE_SSE41, 1, 0, 'c', 19, 0x66, 0x0f, 0x3a, 0x0e, 0xc1, 0x00),	   /* pblendw */
    P(PROBE_SSE42, 1, 0, 'c', 20, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc0),	   /* crc32 */
    P(PROBE_SHA, 7, 0, 'b', 29, 0x0f, 0x38, 0xc8, 0xc1),		   /* sha1nexte */
    P(PROBE_GFNI, 7, 0, 'c', 8, 0x66, 0x0f, 0x38, 0xcf, 0xc1),		   /* gf2p8mulb */
};

struct probe_vm {
	int vm_fd, vcpu_fd;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
	uint64_t cr4, xcr0;
};

static void host_kind(struct host_probe *p)
{
	FILE *f;
	char line[4096];

	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(p->kind, sizeof(p->kind), "kvm_pvm");
		return;
	}
	snprintf(p->kind, sizeof(p->kind), "unknown");
	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		if (strstr(line, " vmx"))
			snprintf(p->kind, sizeof(p->kind), "vmx");
		else if (strstr(line, " svm"))
			snprintf(p->kind, sizeof(p->kind), "svm");
		break;
	}
	fclose(f);
}

static bool feature_present(struct kvm_cpuid2 *cpuid, const struct probe_insn_def *d)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, d->function, d->index);
	uint32_t v;

	if (!e)
		return false;
	v = d->reg == 'a' ? e->eax : d->reg == 'b' ? e->ebx : d->reg == 'c' ? e->ecx : e->edx;
	return v & (1u << d->bit);
}

static bool has(struct kvm_cpuid2 *cpuid, uint32_t fn, char reg, int bit)
{
	struct probe_insn_def d = {.function = fn, .reg = reg, .bit = bit};

	return feature_present(cpuid, &d);
}

/* Identity-mapped 64-bit mode over the first 4 MiB with 2 MiB pages. */
static void probe_write_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + PROBE_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + PROBE_PDPT);
	uint64_t *pd = (uint64_t *)(mem + PROBE_PD);

	pml4[0] = PROBE_PDPT | 3;
	pdpt[0] = PROBE_PD | 3;
	pd[0] = 0x0 | 0x83;
	pd[1] = 0x200000 | 0x83;
}

static int probe_set_sregs(struct probe_vm *pv)
{
	struct kvm_sregs s;
	struct kvm_segment code = {.base = 0,
				   .limit = 0xffffffff,
				   .selector = 8,
				   .type = 11,
				   .present = 1,
				   .s = 1,
				   .l = 1,
				   .g = 1};
	struct kvm_segment data = code;

	if (ioctl(pv->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	data.selector = 16;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr3 = PROBE_PML4;
	s.cr4 = pv->cr4;
	s.cr0 = 0x80050033; /* PG WP NE ET MP PE */
	s.efer = 0xd00;	    /* NXE LMA LME */
	if (ioctl(pv->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	return 0;
}

/* Run one instruction followed by hlt. 0: it ran; 1: it could not run; <0: probe broken. */
static int probe_one(struct probe_vm *pv, const struct probe_insn_def *d)
{
	struct kvm_regs r = {0};
	int ret;

	memset(pv->mem + PROBE_DATA, 0, 4096);
	memcpy(pv->mem + PROBE_CODE, d->bytes, d->len);
	pv->mem[PROBE_CODE + d->len] = 0xf4;
	ret = probe_set_sregs(pv);
	if (ret)
		return ret;
	r.rip = PROBE_CODE;
	r.rsp = PROBE_STACK;
	r.rsi = r.rdi = PROBE_DATA;
	r.rax = d->id == PROBE_INVPCID ? 2 : 3; /* invpcid type 2; xsave mask x87|SSE */
	r.rflags = 2;
	if (ioctl(pv->vcpu_fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	if (ioctl(pv->vcpu_fd, KVM_RUN, 0) < 0)
		return -errno;
	switch (pv->run->exit_reason) {
	case KVM_EXIT_HLT:
		return 0;
	case KVM_EXIT_INTERNAL_ERROR: /* KVM's emulator gave up */
	case KVM_EXIT_SHUTDOWN:	      /* #UD or #GP with no IDT: triple fault */
		return 1;
	default:
		pr_debug("probe %s: exit reason %u", probe_insn_name(d->id), pv->run->exit_reason);
		return 1;
	}
}

static int probe_vm_create(int kvm_fd, struct probe_vm *pv)
{
	struct kvm_userspace_memory_region region = {0};
	int n = 256;

	pv->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (pv->vm_fd < 0)
		return -errno;
	ioctl(pv->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	pv->mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pv->mem == MAP_FAILED) {
		pv->mem = NULL;
		return -errno;
	}
	region.memory_size = PROBE_MEM;
	region.userspace_addr = (uintptr_t)pv->mem;
	if (ioctl(pv->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	probe_write_tables(pv->mem);
	pv->vcpu_fd = ioctl(pv->vm_fd, KVM_CREATE_VCPU, 0);
	if (pv->vcpu_fd < 0)
		return -errno;
	pv->run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	pv->run = mmap(NULL, pv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, pv->vcpu_fd, 0);
	if (pv->run == MAP_FAILED) {
		pv->run = NULL;
		return -errno;
	}
	pv->cpuid = calloc(1, sizeof(*pv->cpuid) + n * sizeof(struct kvm_cpuid_entry2));
	if (!pv->cpuid)
		return -ENOMEM;
	pv->cpuid->nent = n;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, pv->cpuid) < 0)
		return -errno;
	if (ioctl(pv->vcpu_fd, KVM_SET_CPUID2, pv->cpuid) < 0)
		return -errno;
	return 0;
}

/* CR4/XCR0 so that each probed instruction is architecturally enabled. */
static int probe_enable_features(struct probe_vm *pv)
{
	struct kvm_cpuid2 *c = pv->cpuid;

	pv->cr4 = 0x20 | 0x200 | 0x400; /* PAE OSFXSR OSXMMEXCPT */
	if (has(c, 1, 'c', 26))
		pv->cr4 |= 1u << 18; /* OSXSAVE */
	if (has(c, 7, 'b', 0))
		pv->cr4 |= 1u << 16; /* FSGSBASE */
	if (has(c, 7, 'c', 3))
		pv->cr4 |= 1u << 22; /* PKE */
	if (has(c, 7, 'b', 10) || has(c, 1, 'c', 17))
		pv->cr4 |= 1u << 17; /* PCIDE */
	if (pv->cr4 & (1u << 18)) {
		struct kvm_xcrs x = {.nr_xcrs = 1};

		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = has(c, 1, 'c', 28) ? 7 : 3;
		if (ioctl(pv->vcpu_fd, KVM_SET_XCRS, &x) < 0)
			pr_debug("probe: KVM_SET_XCRS: %s", strerror(errno));
	}
	return probe_set_sregs(pv);
}

static void probe_vm_destroy(struct probe_vm *pv)
{
	free(pv->cpuid);
	if (pv->run)
		munmap(pv->run, pv->run_size);
	if (pv->vcpu_fd > 0)
		close(pv->vcpu_fd);
	if (pv->mem)
		munmap(pv->mem, PROBE_MEM);
	if (pv->vm_fd > 0)
		close(pv->vm_fd);
}

int host_probe_run(int kvm_fd, struct host_probe *p)
{
	struct probe_vm pv = {.vm_fd = -1, .vcpu_fd = -1};
	int ret;

	host_kind(p);
	p->nr_memslots = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	ret = probe_vm_create(kvm_fd, &pv);
	if (!ret)
		ret = probe_enable_features(&pv);
	if (ret) {
		pr_err("host probe: creating the probe VM failed: %s", strerror(-ret));
		probe_vm_destroy(&pv);
		return ret;
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe_insn_def *d = &probes[i];

		/* Probed even when KVM does not offer the feature: the log then shows it all. */
		ret = probe_one(&pv, d);
		if (ret < 0) {
			pr_err("host probe: running %s failed: %s", probe_insn_name(d->id),
			       strerror(-ret));
			break;
		}
		if (ret)
			p->cannot_run |= 1ull << d->id;
		ret = 0;
	}
	p->cpl0_emulated = !strcmp(p->kind, "kvm_pvm") || (p->cannot_run & (1ull << PROBE_VEX));
	probe_vm_destroy(&pv);
	return ret;
}
