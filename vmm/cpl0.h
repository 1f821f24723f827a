/* SPDX-License-Identifier: MIT */
/*
 * What the VMM does about instructions an emulating KVM (kvm_pvm: guest CPL0
 * runs in KVM's instruction emulator) cannot run at guest CPL0.
 *
 * - Features: the guest CPUID hides them (vmm/cpuid.c), but kvm_pvm lets the
 *   host's features through in places (a Linux guest still saw XSAVE/AVX), so
 *   a Linux guest is also told on its command line (cpl0_linux_cmdline()).
 * - Instructions with no feature bit to hide: int3 is delivered as the #BP the
 *   hardware would raise, fwait and lsl are run here (cpl0_fixup_*(),
 *   cpl0_lsl_*()).
 *
 * Pure functions, unit-tested without KVM (tests/unit/test_cpl0.c); vcpu.c
 * applies the decisions.
 */
#ifndef VMM_CPL0_H
#define VMM_CPL0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPL0_VEC_BP 3  /* #BP: trap, pushed rip is past the int3 */
#define CPL0_VEC_MF 16 /* #MF: fault, pushed rip is the fwait */

enum cpl0_fixup_kind {
	CPL0_FIXUP_NONE,  /* not ours: the emulation failure stands */
	CPL0_FIXUP_INT3,  /* 0xcc */
	CPL0_FIXUP_FWAIT, /* 0x9b */
	CPL0_FIXUP_LSL,	  /* 0f 03 /r, register source */
};

/* What to do at an emulation failure: set rip, then maybe inject an exception. */
struct cpl0_action {
	enum cpl0_fixup_kind kind;
	uint64_t new_rip;
	bool inject;
	uint8_t vector;
};

/*
 * Decide from the bytes at rip (n of them, n may be 0 when unknown), the x87
 * status word and CR0 (fwait only). Returns false when the instruction is not
 * one we handle; a prefixed int3/fwait is not handled (no compiler emits one),
 * nor a pending x87 error with CR0.NE clear (legacy FERR#, not an exception).
 */
bool cpl0_fixup_decide(const uint8_t *bytes, size_t n, uint64_t rip, uint16_t fsw, uint64_t cr0,
		       struct cpl0_action *act);

const char *cpl0_fixup_name(enum cpl0_fixup_kind kind);

/* LSL (vmm/cpl0_lsl.c): decoded, then the SDM's checks, then the result. */
struct cpl0_lsl {
	unsigned int dst, src; /* register numbers as encoded: 0 rax, 1 rcx, ... 15 r15 */
	unsigned int opsize;   /* 2, 4 or 8 bytes */
	unsigned int len;      /* instruction bytes */
};
bool cpl0_lsl_decode(const uint8_t *bytes, size_t n, struct cpl0_lsl *l);

/* A descriptor table as the vCPU's sregs give it (the LDT may be unusable). */
struct cpl0_table {
	uint64_t base;
	uint32_t limit;
	bool usable;
};
/* Where selector sel's descriptor lies; false: null selector or past the table (ZF=0). */
bool cpl0_lsl_desc_addr(uint16_t sel, const struct cpl0_table *gdt, const struct cpl0_table *ldt,
			uint64_t *addr);
/* The limit LSL loads from desc at privilege cpl; false: not visible or wrong type (ZF=0). */
bool cpl0_lsl_limit(uint64_t desc, uint16_t sel, unsigned int cpl, uint32_t *limit);
/* The destination register after a successful LSL of opsize bytes. */
uint64_t cpl0_lsl_result(uint64_t old, uint32_t limit, unsigned int opsize);

/*
 * Linux command-line options for a guest whose CPL0 is emulated:
 * lapic=notscdeadline (a periodic tick that cannot fall behind), then the
 * options that switch off every feature whose instruction
 * class is set in cannot_run (bit per enum probe_insn). Writes a space-
 * separated list (maybe empty) into buf; returns its length, or -1 if buf is
 * too small. The options are the kernel's own (noxsave, nopku, ...) or
 * clearcpuid= with X86_FEATURE numbers, which work without
 * CONFIG_X86_FEATURE_NAMES and keep within clearcpuid's 128-byte buffer.
 */
int cpl0_linux_cmdline(uint64_t cannot_run, char *buf, size_t len);

/* Guest-virtual reads for LSL's descriptor: 0 or -errno. */
struct cpl0_mem {
	int (*read)(void *ctx, uint64_t gva, void *buf, size_t len);
	void *ctx;
};

/*
 * At a KVM emulation failure on vcpu_fd, with the instruction bytes at rip:
 * decide, then move rip and inject through KVM_SET_VCPU_EVENTS, or for LSL
 * read the descriptor through mem and set the registers (vmm/cpl0_apply.c).
 * 1: handled (act says how), 0: not ours, <0: -errno.
 */
int cpl0_fixup_apply(int vcpu_fd, const uint8_t *bytes, size_t n, const struct cpl0_mem *mem,
		     struct cpl0_action *act);

/* Whether an image (bzImage or ELF) is a Linux kernel: "HdrS" or a Linux banner. */
bool cpl0_image_is_linux(const uint8_t *data, size_t len);

struct host_probe;

/*
 * The command line to boot with (malloc'd, NULL on ENOMEM): append, plus
 * cpl0_linux_cmdline()'s options when the probe says guest CPL0 is emulated
 * and the kernel file is Linux (vmm/cpl0_cmdline.c).
 */
char *cpl0_guest_cmdline(const struct host_probe *probe, const char *kernel, const char *append);

#endif /* VMM_CPL0_H */
