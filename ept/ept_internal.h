/* SPDX-License-Identifier: MIT */
/* ept's private state, shared by its files only. */
#ifndef EPT_EPT_INTERNAL_H
#define EPT_EPT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ept/ept.h"

#define EPT_PAGE_SHIFT	   12
#define EPT_STEP_MAX_PAGES 4
#define EPT_SUSPEND_MAX	   64
#define EPT_HEAT_SLOTS	   1024
#define EPT_NATIVE_MAX	   16

/* A run of pages in one region with the same protection: one KVM memslot. */
struct ept_run {
	uint32_t first, count;
	bool prot; /* hole: never a slot; read-only: a KVM_MEM_READONLY slot */
	int slot;
};

/* A fixed-size piece of guest RAM; one memslot while nothing in it is protected. */
struct ept_region {
	uint64_t gpa, offset, size;
	uint32_t nr_prot;
	uint32_t nr_runs;
	struct ept_run *runs; /* &one, or a heap array while split */
	struct ept_run one;
};

struct ept_vcpu {
	struct kvm_run *run;
	atomic_bool in_run; /* between ept_vcpu_enter and ept_vcpu_leave */
	/* The last exit was a trapped access on this page (ram page index + 1, 0: none). */
	uint64_t inflight_page;
	uint64_t inflight_rip;
	bool stepping;
	unsigned int step_tries;
	uint64_t step_rip;
	uint64_t step_pages[EPT_STEP_MAX_PAGES];
	unsigned int nr_step_pages;
	uint64_t retried_rip;
	/* Pages opened for an instruction KVM cannot emulate: closed at the next exit. */
	bool native_open;
	uint64_t native_rip;
	unsigned int native_tries;
	/* The rep string instruction judged last: later elements are not judged again. */
	uint64_t str_rip, str_count, str_addr;
	bool str_read; /* judged at a read exit: the element's write exit follows */
	/* Code translation cache for instruction decoding. */
	uint64_t code_cr3, code_lin, code_gpa;
	/* ADAPTIVE accounting. */
	uint64_t window_start_ns, window_trap_ns, window_traps;
};

struct ept_heat {
	uint64_t page; /* ram page index + 1; 0: empty */
	uint32_t traps;
	uint32_t level; /* backoff exponent */
	uint64_t rearm_ns;
};

struct ept {
	struct ept_config cfg;
	enum ept_mechanism mech;
	struct ept_probe_result probe;
	bool sync_regs;
	uint32_t debug_flags; /* KVM_GUESTDBG_* used for single steps */
	uint64_t exit_ns;     /* one bare exit round trip, for trap-time estimates */

	pthread_mutex_t lock; /* protection state, regions, memslot ids, suspends */
	uint64_t nr_pages;
	_Atomic uint64_t *armed; /* pages the policy wants armed */
	uint64_t *prot;		 /* pages protected through KVM right now */
	uint64_t *poisoned;	 /* pages shadow says are poisoned (for re-arming) */
	struct {
		uint64_t page;
		uint32_t count;
	} suspended[EPT_SUSPEND_MAX];

	uint64_t slot_size;
	struct ept_region *regions;
	uint32_t nr_regions;
	uint32_t range_first_region[EPT_MAX_RANGES];
	int *free_slots; /* stack of free KVM memslot ids */
	int nr_free_slots, slot_cap;
	long vma_budget; /* mprotect: protected pages allowed (each may split a VMA) */

	struct ept_vcpu *vcpus;

	/* Closed while memslots are replaced: no vCPU in KVM_RUN (vcpu_gate.c). */
	atomic_bool gate_closed;
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;

	/* Pages open for instructions KVM cannot emulate (trap.c): by vCPU, since when. */
	pthread_mutex_t native_lock;
	struct {
		bool used;
		unsigned int vcpu;
		uint64_t page, since_ns;
	} native[EPT_NATIVE_MAX];

	pthread_mutex_t heat_lock;
	struct ept_heat heat[EPT_HEAT_SLOTS];
	uint64_t last_tick_ns, last_heat_log_ns;

	struct {
		_Atomic uint64_t arms, disarms, arm_failures, heat_disarms, heat_rearms;
		_Atomic uint64_t allowed, reported, stopped, stale, stepped, fetch, rmw, undecoded,
		    native;
		_Atomic uint64_t trap_ns, pages_armed, pauses, pauses_held, pause_ns;
	} st;
};

/* ept.c */
void ept_log(struct ept *ept, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t ept_now_ns(void);
/* RAM page index of gpa (offset into kvm_map / 4 KiB), or UINT64_MAX if not RAM. */
uint64_t ept_gpa_to_page(const struct ept *ept, uint64_t gpa);
static inline bool ept_bit(const uint64_t *map, uint64_t page)
{
	return map[page / 64] & (1ull << (page % 64));
}
static inline bool ept_armed_bit(const struct ept *ept, uint64_t page)
{
	return atomic_load_explicit(&ept->armed[page / 64], memory_order_acquire) &
	       (1ull << (page % 64));
}

/* slots.c: memslots and the three mechanisms. Called with ept->lock held. */
int ept_slots_init(struct ept *ept);
void ept_slots_destroy(struct ept *ept);
int ept_slots_protect(struct ept *ept, uint64_t page, bool on);
uint64_t ept_slots_in_use(const struct ept *ept);

/* arm.c */
int ept_arm_locked(struct ept *ept, uint64_t page, bool arm);
void ept_suspend_page(struct ept *ept, uint64_t page);
void ept_resume_page(struct ept *ept, uint64_t page);

/* vcpu_gate.c: hole and read-only close the gate around each memslot relayout. */
int ept_gate_init(struct ept *ept);
void ept_gate_destroy(struct ept *ept);
void ept_gate_close(struct ept *ept);
void ept_gate_open(struct ept *ept);

/* trap.c: close pages opened for unemulatable instructions longer than the limit. */
void ept_native_expire(struct ept *ept, uint64_t now_ns);

/* adaptive.c */
void ept_heat_trap(struct ept *ept, struct ept_vcpu *v, uint64_t page, uint64_t t0, uint64_t t1);
bool ept_heat_backing_off(struct ept *ept, uint64_t page, uint64_t now);

/* decode.c: is the instruction at these bytes a locked read-modify-write? */
bool ept_insn_is_locked_rmw(const uint8_t *insn, unsigned int len);
/* Any read-modify-write of a memory operand, locked or not. */
bool ept_insn_is_rmw(const uint8_t *insn, unsigned int len);
/*
 * Linear address of the memory operand of a 64-bit mode instruction KVM fails
 * to emulate (SSE/AVX moves, cmpxchg8b/16b, the xsave family), and how many
 * bytes from there it may touch; false if it has none or is not one of those.
 */
bool ept_insn_mem_operand(const uint8_t *insn, unsigned int len, const struct kvm_regs *r,
			  const struct kvm_sregs *s, uint64_t *lin, uint32_t *span);

/* probe.c */
int ept_choose_mechanism(struct ept *ept);

#endif /* EPT_EPT_INTERNAL_H */
