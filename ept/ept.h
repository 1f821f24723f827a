/* SPDX-License-Identifier: MIT */
/*
 * ept: which guest pages are armed (every guest access to them traps), how
 * they are armed through KVM (host mprotect of the KVM mapping, memslot holes,
 * or read-only memslots: chosen by probing the host), and the handling of the
 * resulting exits: judge the exact access through a callback, then complete
 * it through the VMM's always-RW alias of guest RAM.
 *
 * ept also registers guest RAM with KVM (ept_create), as fixed-size memslots,
 * so that splitting a slot around one page touches a small slot.
 *
 * Thread safety: ept_arm_page/ept_disarm_page/ept_page_poisoned/ept_page_clean
 * may be called from any thread (not between ept_vcpu_enter and _leave);
 * ept_handle_exit only from the thread of the vCPU that exited.
 */
#ifndef EPT_EPT_H
#define EPT_EPT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/kvm.h>

#define EPT_PAGE_SIZE  4096ull
#define EPT_MAX_RANGES 4

enum ept_mechanism {
	EPT_MECH_AUTO,	   /* probe the host and choose the cheapest exact one */
	EPT_MECH_MPROTECT, /* host mprotect(PROT_NONE) of the KVM mapping */
	EPT_MECH_HOLE,	   /* delete the page from its memslot */
	EPT_MECH_READONLY, /* KVM_MEM_READONLY memslot: traps writes only */
	EPT_MECH_NR
};

enum ept_policy { EPT_POLICY_ALL, EPT_POLICY_FREED, EPT_POLICY_SAMPLED, EPT_POLICY_ADAPTIVE };

enum ept_verdict {
	EPT_ALLOW,		 /* valid access: complete it */
	EPT_REPORT_AND_COMPLETE, /* reported; complete it anyway (report mode) */
	EPT_STOP,		 /* reported; the VMM is stopping: do not complete */
};

enum ept_poison_reason { EPT_POISON_FREED, EPT_POISON_REDZONE };

/* One block of guest RAM: GPA range and where it starts in kvm_map/alias. */
struct ept_ram_range {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
};

/* The access a trap caught, for the judge. regs/sregs are the vCPU's at the trap. */
enum ept_string_op {
	EPT_STR_NONE,
	EPT_STR_STOS,
	EPT_STR_MOVS,
	EPT_STR_LODS,
	EPT_STR_CMPS,
	EPT_STR_SCAS
};

/* What a string instruction will touch from now on (linear addresses, counts). */
struct ept_string {
	enum ept_string_op op;
	uint32_t elem;	/* bytes per element */
	uint64_t count; /* elements left, this one included */
	uint64_t src;	/* RSI: movs, lods, cmps */
	uint64_t dst;	/* RDI: stos, movs, cmps, scas */
	bool backward;	/* EFLAGS.DF */
};

/* Decode a string instruction (with or without rep); false if it is not one. */
bool ept_insn_string(const uint8_t *insn, unsigned int len, enum ept_string_op *op, uint32_t *elem,
		     bool *rep);

struct ept_access {
	unsigned int vcpu;
	int vcpu_fd;
	uint64_t gpa;
	uint32_t len;
	bool is_write;
	bool is_rmw; /* locked read-modify-write (or xchg): judged once, as a write */
	/*
	 * At a read exit rip is the accessing instruction. At a write exit KVM
	 * has usually retired it (rip is the next instruction, like KASAN's
	 * return address after __asan_store); a string instruction with
	 * elements left keeps its own rip.
	 */
	uint64_t rip;
	const struct kvm_regs *regs;
	const struct kvm_sregs *sregs;
	/*
	 * A rep string instruction: KVM exits once per element, but the whole
	 * remaining operation is judged at its first trap (as KASAN checks a
	 * memset's whole range once); later elements are not judged again.
	 */
	struct ept_string str;
};

/* What ept needs from the VMM. Pointers must stay valid until ept_destroy(). */
struct ept_config {
	int kvm_fd;
	int vm_fd;
	uint8_t *kvm_map; /* mapping registered with KVM (protected by the mprotect mechanism) */
	uint8_t *alias;	  /* always read-write mapping of the same memory */
	struct ept_ram_range ranges[EPT_MAX_RANGES];
	unsigned int nr_ranges;
	unsigned int nr_vcpus;
	int nr_memslots;		/* KVM_CAP_NR_MEMSLOTS; 0: ask KVM */
	unsigned int reserved_memslots; /* left for the VMM; 0: 16 */
	enum ept_mechanism mechanism;	/* EPT_MECH_AUTO: probe */
	/* A forced mechanism is probed too and refused (-ENOTSUP) if not exact on this host. */
	bool probe_forced;
	enum ept_policy policy;
	unsigned int sample_n;	      /* SAMPLED: arm 1 page in n (0: 8) */
	uint64_t sample_seed;	      /* SAMPLED: which pages */
	unsigned int budget_permille; /* ADAPTIVE: trap time budget (0: 50 = 5%) */
	enum ept_verdict (*judge)(void *ctx, const struct ept_access *a);
	void *judge_ctx;
	void (*log)(void *ctx, int level, const char *msg); /* level: 0 err .. 3 debug */
	/*
	 * Pull vCPU `vcpu` out of KVM_RUN soon (a signal plus immediate_exit):
	 * the hole and read-only mechanisms keep other vCPUs out of KVM_RUN while
	 * they replace memslots (see ept_vcpu_enter). NULL with several vCPUs:
	 * unsafe unless the caller never runs two vCPUs at once.
	 */
	void (*kick_vcpu)(void *ctx, unsigned int vcpu);
	void *kick_ctx;
	/* Diagnostics: do not decode locked RMWs at their read exit (tests the fallback). */
	bool no_rmw_decode;
	/* Diagnostics: mechanisms (bit 1 << m) the probe reports not exact (tests refusal). */
	unsigned int probe_fail_mask;
	void *log_ctx;
};

/* What ept_probe_mechanisms() found: exact = gpa, length, direction and data. */
struct ept_probe_result {
	bool exact_read[EPT_MECH_NR];
	bool exact_write[EPT_MECH_NR];
	bool sync_regs; /* KVM_CAP_SYNC_REGS: registers come with every exit */
};

struct ept_stats {
	uint64_t pages_armed; /* now */
	uint64_t arms, disarms, arm_failures;
	uint64_t heat_disarms, heat_rearms;
	uint64_t memslots; /* now */
	uint64_t traps_allowed, traps_reported, traps_stopped;
	uint64_t traps_stale, traps_stepped, traps_fetch;
	uint64_t rmw_traps;
	uint64_t undecoded_steps;  /* holes: read exits stepped, the instruction not decoded */
	uint64_t traps_native;	   /* not emulatable by KVM: run with the page open, unjudged */
	uint64_t trap_ns;	   /* time in trap handling, all vCPUs */
	uint64_t pauses, pause_ns; /* other vCPUs held out of KVM_RUN for a relayout */
	uint64_t pauses_held;	   /* of those, found a vCPU in KVM_RUN: kicked, waited for */
};

/* The exit a vCPU just took. */
struct ept_exit {
	unsigned int vcpu;
	int vcpu_fd;
	struct kvm_run *run;
};

struct ept;

/*
 * Probes (if cfg->mechanism is AUTO), chooses and logs the mechanism, and
 * registers guest RAM with KVM as fixed-size memslots. -errno on failure.
 */
int ept_create(const struct ept_config *cfg, struct ept **out);
/*
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE, for the VMM to enable once at VM
 * creation (ept_create does not): see ept.c. True if enabled.
 */
bool ept_exit_on_emulation_failure(int kvm_fd, int vm_fd);
void ept_destroy(struct ept *ept);
enum ept_mechanism ept_mechanism(const struct ept *ept);
const char *ept_mechanism_name(enum ept_mechanism m);
uint64_t ept_slot_size(const struct ept *ept);

/*
 * Run the host probe alone: each mechanism in a throwaway 64-bit VM at CPL0.
 * Returns 0 or -errno if no probe VM could be made.
 */
int ept_probe_mechanisms(int kvm_fd, struct ept_probe_result *res);

/* Call once per vCPU before its first KVM_RUN: asks KVM to sync registers on every exit. */
void ept_vcpu_init(struct ept *ept, unsigned int vcpu, struct kvm_run *run);

/*
 * A vCPU thread calls enter right before each KVM_RUN and leave right after it
 * returns (before handling the exit). KVM replaces memslots by deleting and
 * re-creating them, so while ept relays out a region the other vCPUs must be
 * outside KVM_RUN: enter waits while that runs. Cheap when nothing does.
 */
void ept_vcpu_enter(struct ept *ept, unsigned int vcpu);
void ept_vcpu_leave(struct ept *ept, unsigned int vcpu);

/*
 * Arm/disarm one page (gpa rounded down). Idempotent. 0, or -errno when the
 * page is not RAM or the host refused (-ENOSPC: out of memslots/VMAs).
 */
int ept_arm_page(struct ept *ept, uint64_t gpa);
int ept_disarm_page(struct ept *ept, uint64_t gpa);
bool ept_page_armed(const struct ept *ept, uint64_t gpa);

/* Shadow state changes, through the VMM: the policy decides about arming. */
void ept_page_poisoned(struct ept *ept, uint64_t gpa, enum ept_poison_reason why);
void ept_page_clean(struct ept *ept, uint64_t gpa);

/*
 * Handle a vCPU exit if it is ept's: an MMIO exit on guest RAM, an emulation
 * failure on an armed page, the debug exit of ept's single step. Returns true
 * if handled (the VMM resumes the vCPU), false if the VMM should handle it.
 */
bool ept_handle_exit(struct ept *ept, const struct ept_exit *x);

/* Periodic work: ADAPTIVE re-arming, closing pages left open; now_ns: CLOCK_MONOTONIC. */
void ept_tick(struct ept *ept, uint64_t now_ns);

void ept_get_stats(struct ept *ept, struct ept_stats *st);
void ept_print_coverage(struct ept *ept, FILE *out);

#endif /* EPT_EPT_H */
