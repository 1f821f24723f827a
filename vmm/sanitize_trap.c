// SPDX-License-Identifier: MIT
/*
 * Judging trapped accesses (ept's judge): exempt allocator code, drain the
 * rings, unwind the access stack, name the access by the address the guest
 * used, and ask shadow/ -- a rep string instruction once over its range.
 */
#include <stdio.h>
#include <string.h>

#include "vmm/exempt.h"
#include "vmm/sanitize.h"
#include "vmm/sanitize_internal.h"
#include "vmm/unwind.h"
#include "vmm/vm.h"

void san_mmu_from_sregs(const struct kvm_sregs *s, struct mmu_state *st)
{
	st->cr0 = s->cr0;
	st->cr3 = s->cr3;
	st->cr4 = s->cr4;
	st->efer = s->efer;
}

/*
 * Who was running on the vCPU: the guest registered where its per-CPU
 * current-task pointer and the task's pid/comm live. Everything read here
 * is guest-controlled, so each read is bounds-checked by the page walk and
 * a failure leaves "vcpuN"/0.
 */
void san_current_task(struct san *san, unsigned int cpu, const struct mmu_state *st,
		      struct sanitizer_access *sa)
{
	const struct kv_guest_layout *l = &san->layout;
	const struct guest_ram *ram = &san->vm->ram;
	uint64_t base, task;
	uint32_t pid;
	char comm[SHADOW_COMM_LEN];

	snprintf(sa->comm, sizeof(sa->comm), "vcpu%u", cpu);
	if (!san->have_layout || !l->percpu_offsets_va || cpu >= l->nr_cpus)
		return;
	if (mmu_read(ram, st, l->percpu_offsets_va + 8ull * cpu, &base, 8) ||
	    mmu_read(ram, st, base + l->current_task_pcpu, &task, 8) || !task)
		return;
	if (mmu_read(ram, st, task + l->task_pid_off, &pid, 4) ||
	    mmu_read(ram, st, task + l->task_comm_off, comm, sizeof(comm)))
		return;
	comm[sizeof(comm) - 1] = '\0';
	sa->pid = pid;
	memcpy(sa->comm, comm, sizeof(comm));
}

/*
 * KVM gives the access's physical address only. Name it by the kernel
 * address the guest most likely used: the vmalloc mapping when the memory
 * is vmalloc'ed (shadow 0xF8 nearby), else the direct map.
 */
static uint64_t san_access_va(struct san *san, const struct mmu_state *st, uint64_t gpa,
			      uint32_t len)
{
	const struct kv_guest_layout *l = &san->layout;
	bool vmalloced = false;
	uint64_t va;

	if (!san->have_layout)
		return gpa;
	/* a partial granule (1..7) is followed by the redzone that tells the kind */
	for (uint64_t g = gpa & ~7ull; g <= gpa + len + 8 && !vmalloced; g += 8) {
		uint8_t v;

		vmalloced = sanitizer_shadow_byte(san->shadow, g, &v) && v == 0xF8;
	}
	if (vmalloced && l->vmalloc_start < l->vmalloc_end &&
	    mmu_find_va(&san->vm->ram, st, l->vmalloc_start, l->vmalloc_end, gpa, &va) == 0)
		return va;
	return l->direct_map_base ? l->direct_map_base + gpa : gpa;
}

/* Any shadow byte of [gpa, gpa + len) other than "accessible" (exactness is shadow/'s job). */
static bool san_range_poisoned(struct san *san, uint64_t gpa, uint32_t len)
{
	for (uint64_t g = gpa & ~7ull; g < gpa + (len ? len : 1); g += 8) {
		uint8_t v;

		if (sanitizer_shadow_byte(san->shadow, g, &v) && v)
			return true;
	}
	return false;
}

/* One linear range of a string instruction; gpa contiguity is checked, else one page. */
static bool san_check_linear(struct san *san, const struct mmu_state *st, uint64_t lin,
			     uint64_t len, bool is_write, const struct sanitizer_access *sa)
{
	uint64_t gpa, last;

	if (mmu_translate(&san->vm->ram, st, lin, &gpa))
		return false;
	if (len > 1 &&
	    (mmu_translate(&san->vm->ram, st, lin + len - 1, &last) || last != gpa + len - 1))
		len = 4096 - (lin & 4095);
	return sanitizer_check_access(san->shadow, gpa, lin, len, is_write, sa);
}

/* A rep string instruction's whole remaining operation, as KASAN checks mem*() ranges. */
static bool san_check_string(struct san *san, const struct mmu_state *st,
			     const struct ept_string *s, const struct sanitizer_access *sa)
{
	uint64_t len = s->count * s->elem, back = (s->count - 1) * s->elem;
	uint64_t src = s->backward ? s->src - back : s->src;
	uint64_t dst = s->backward ? s->dst - back : s->dst;

	if (s->count > (1u << 20) / s->elem)
		len = 1u << 20; /* a bounded check of a huge (or hostile) count */
	switch (s->op) {
	case EPT_STR_STOS:
		return san_check_linear(san, st, dst, len, true, sa);
	case EPT_STR_MOVS:
		return san_check_linear(san, st, src, len, false, sa) ||
		       san_check_linear(san, st, dst, len, true, sa);
	case EPT_STR_LODS:
		return san_check_linear(san, st, src, len, false, sa);
	case EPT_STR_CMPS:
		return san_check_linear(san, st, src, len, false, sa) ||
		       san_check_linear(san, st, dst, len, false, sa);
	default:
		return san_check_linear(san, st, dst, len, false, sa);
	}
}

enum ept_verdict san_judge(void *ctx, const struct ept_access *a)
{
	struct vm *vm = ctx;
	struct san *san = vm->san;
	uint64_t frames[UNWIND_MAX_FRAMES];
	struct sanitizer_access sa = {.cpu = a->vcpu, .ip = a->rip};
	bool string = a->str.op != EPT_STR_NONE && a->str.count && a->str.elem;
	struct mmu_state st;
	uint64_t len = a->len;
	bool bad;

	/* The allocator's own accesses to free objects are not bugs. */
	if (exempt_contains(san->exempt, a->rip))
		return EPT_ALLOW;
	/* A word-at-a-time string read may run past the string: its first byte counts. */
	if (!string && !a->is_write && exempt_first_byte(san->exempt, a->rip))
		len = 1;
	/* Drain before judging: the shadow must include every event the guest made. */
	kv_consumer_flush(san->consumer);
	if (!string && !san_range_poisoned(san, a->gpa, len))
		return EPT_ALLOW; /* the common case: a valid access on an armed page */
	san_mmu_from_sregs(a->sregs, &st);
	sa.frames = frames;
	sa.nr_frames =
	    unwind_frame_pointers(&vm->ram, &st, a->rip, a->regs->rbp, frames, UNWIND_MAX_FRAMES);
	/* memset/memcpy called by the allocator (page zeroing, krealloc copies) */
	if (sa.nr_frames > 1 && exempt_contains(san->exempt, frames[1]))
		return EPT_ALLOW;
	san_current_task(san, a->vcpu, &st, &sa);
	if (string)
		bad = san_check_string(san, &st, &a->str, &sa);
	else
		bad = sanitizer_check_access(san->shadow, a->gpa,
					     san_access_va(san, &st, a->gpa, len), len, a->is_write,
					     &sa);
	if (!bad)
		return EPT_ALLOW;
	return atomic_load(&vm->stopping) ? EPT_STOP : EPT_REPORT_AND_COMPLETE;
}
