// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "vmm/cpl0.h"
#include "vmm/cpuid.h"

#define X87_FSW_ES 0x80	     /* error summary: an unmasked x87 exception is pending */
#define CR0_NE	   (1u << 5) /* x87 errors raise #MF (else the legacy FERR# pin) */

/* Linux's clearcpuid= copies its value into a 128-byte buffer. */
#define CLEARCPUID_MAX 127

/*
 * Per probed instruction class: a dedicated kernel option where Linux has
 * one, else X86_FEATURE_* numbers (arch/x86/include/asm/cpufeatures.h,
 * word*32+bit) for clearcpuid=. The order is the order of importance on a
 * Linux 6.1 boot (what the kernel itself executes first), so that the
 * classes which matter most fit when clearcpuid's buffer runs out.
 */
struct cpl0_option {
	enum probe_insn cls;
	const char *option;   /* NULL: none */
	const char *features; /* comma-separated X86_FEATURE numbers, NULL: none */
};

static const struct cpl0_option options[] = {
    {PROBE_XSAVE, "noxsave", NULL}, /* also clears AVX*, XSAVEOPT/C/S by dependency */
    {PROBE_XSAVES, "noxsaves", NULL},
    {PROBE_CX16, NULL, "141"},			      /* SLUB's cmpxchg_double */
    {PROBE_SMAP, NULL, "308"},			      /* stac/clac in uaccess */
    {PROBE_POPCNT, NULL, "151"},		      /* hweight alternatives */
    {PROBE_FSGSBASE, "nofsgsbase", NULL},	      /* context switch */
    {PROBE_VEX, NULL, "156,140,157,293,291,296,304"}, /* avx fma f16c avx2 bmi1 bmi2 avx512f */
    {PROBE_PKU, "nopku", NULL},
    {PROBE_INVPCID, "noinvpcid", NULL},
    {PROBE_RDRAND, NULL, "158"},
    {PROBE_RDSEED, NULL, "306"},
    {PROBE_RDPID, NULL, "534"},
    {PROBE_RDTSCP, NULL, "59"},
    {PROBE_CLFLUSHOPT, NULL, "311"},
    {PROBE_CLWB, NULL, "312"},
    {PROBE_SERIALIZE, NULL, "590"},
    {PROBE_MOVBE, NULL, "150"},
    {PROBE_ADX, NULL, "307"},
    {PROBE_RTM, NULL, "299,292"}, /* rtm hle */
    {PROBE_LZCNT, NULL, "197"},	  /* abm */
    {PROBE_SSE42, NULL, "148"},	  /* crc32c */
    {PROBE_SSE41, NULL, "147"},
    {PROBE_SSSE3, NULL, "137"},
    {PROBE_PCLMUL, NULL, "129"},
    {PROBE_AESNI, NULL, "153"},
    {PROBE_SHA, NULL, "317"},
    {PROBE_GFNI, NULL, "520"},
};

bool cpl0_fixup_decide(const uint8_t *bytes, size_t n, uint64_t rip, uint16_t fsw, uint64_t cr0,
		       struct cpl0_action *act)
{
	memset(act, 0, sizeof(*act));
	act->new_rip = rip;
	if (!n)
		return false;
	switch (bytes[0]) {
	case 0xcc:
		/* #BP is a trap: the handler sees rip past the int3 (Linux's
		 * do_int3 looks at regs->ip - 1). */
		act->kind = CPL0_FIXUP_INT3;
		act->new_rip = rip + 1;
		act->inject = true;
		act->vector = CPL0_VEC_BP;
		return true;
	case 0x9b:
		/* fwait raises #MF (a fault, rip unchanged) when an unmasked
		 * x87 exception is pending, and otherwise does nothing. */
		act->kind = CPL0_FIXUP_FWAIT;
		if ((fsw & X87_FSW_ES) && !(cr0 & CR0_NE)) {
			act->kind = CPL0_FIXUP_NONE;
			return false;
		}
		if (fsw & X87_FSW_ES) {
			act->inject = true;
			act->vector = CPL0_VEC_MF;
		} else {
			act->new_rip = rip + 1;
		}
		return true;
	default:
		return false;
	}
}

const char *cpl0_fixup_name(enum cpl0_fixup_kind kind)
{
	switch (kind) {
	case CPL0_FIXUP_INT3:
		return "int3";
	case CPL0_FIXUP_FWAIT:
		return "fwait";
	case CPL0_FIXUP_LSL:
		return "lsl";
	default:
		return "none";
	}
}

/* Append " word" (no space when at the start); false when it does not fit. */
static bool append(char *buf, size_t len, size_t *off, const char *word)
{
	int n = snprintf(buf + *off, len - *off, "%s%s", *off ? " " : "", word);

	if (n < 0 || (size_t)n >= len - *off) {
		buf[*off] = '\0';
		return false;
	}
	*off += (size_t)n;
	return true;
}

int cpl0_linux_cmdline(uint64_t cannot_run, char *buf, size_t len)
{
	char clear[CLEARCPUID_MAX + 1 + 11] = "clearcpuid=";
	size_t off = 0, coff = strlen(clear), cstart = coff;

	if (!len)
		return -1;
	buf[0] = '\0';
	/*
	 * Emulated, the guest runs far slower than the clock: with the TSC
	 * deadline timer Linux's periodic tick is a one-shot timer, and
	 * tick_handle_periodic() re-runs every missed tick before it can
	 * program the next one -- both vCPUs were seen catching up ticks for
	 * minutes. The LAPIC's periodic mode drops missed ticks instead.
	 */
	if (!append(buf, len, &off, "lapic=notscdeadline"))
		return -1;
	/*
	 * For the same reason RCU's stall detector fires on a loaded host: its
	 * warnings and NMI backtraces would only be noise (and slow).
	 */
	if (!append(buf, len, &off, "rcupdate.rcu_cpu_stall_suppress=1"))
		return -1;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const struct cpl0_option *o = &options[i];

		if (!(cannot_run & (1ull << o->cls)))
			continue;
		if (o->option && !append(buf, len, &off, o->option))
			return -1;
		if (o->features) {
			size_t need = strlen(o->features) + (coff > cstart);

			if (coff - cstart + need > CLEARCPUID_MAX)
				return -1; /* Linux would cut the list */
			coff += (size_t)snprintf(clear + coff, sizeof(clear) - coff, "%s%s",
						 coff > cstart ? "," : "", o->features);
		}
	}
	if (coff > cstart && !append(buf, len, &off, clear))
		return -1;
	return (int)off;
}

/*
 * A bzImage carries the Linux boot protocol's "HdrS" at 0x202; an ELF vmlinux
 * has the banner "Linux version " in its .rodata.
 */
bool cpl0_image_is_linux(const uint8_t *data, size_t len)
{
	static const char banner[] = "Linux version ";

	if (len >= 0x206 && !memcmp(data + 0x202, "HdrS", 4))
		return true;
	return memmem(data, len, banner, sizeof(banner) - 1) != NULL;
}
