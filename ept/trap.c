// SPDX-License-Identifier: MIT
/*
 * Exits caused by armed pages. An MMIO exit on an armed page is judged and
 * then completed through the always-RW alias; on a page that is no longer
 * armed it is completed without judgement (stale). What plain completion
 * cannot do goes through a single step with the page briefly open:
 *  - read-modify-write, seen at its read exit (decoded) and judged there as
 *    one Write: the page is opened before KVM resumes, so KVM's emulator
 *    finishes the write on guest memory without a second exit (a locked one
 *    with a real cmpxchg, retrying the instruction if it lost a race: atomic
 *    for every vCPU). A locked RMW not decoded
 *    in time fails emulation right after its read exit: it is stepped then.
 *  - instruction fetch from an armed page (emulation failure): stepped, not
 *    judged (a fetch is not a data access).
 * While a page is open for a step (a few tens of microseconds), other vCPUs
 * access it without a trap: that is the detection window.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ept/ept_internal.h"

#define STEP_RETRIES 4

struct trap_regs {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	const struct kvm_regs *r;
	const struct kvm_sregs *s;
};

static int fetch_regs(struct ept *ept, const struct ept_exit *x, struct trap_regs *tr)
{
	if (ept->sync_regs && (x->run->kvm_valid_regs & KVM_SYNC_X86_SREGS)) {
		tr->r = &x->run->s.regs.regs;
		tr->s = &x->run->s.regs.sregs;
		return 0;
	}
	if (ioctl(x->vcpu_fd, KVM_GET_REGS, &tr->regs) < 0 ||
	    ioctl(x->vcpu_fd, KVM_GET_SREGS, &tr->sregs) < 0)
		return -errno;
	tr->r = &tr->regs;
	tr->s = &tr->sregs;
	return 0;
}

static uint8_t *alias_at(struct ept *ept, uint64_t page, uint64_t gpa)
{
	return ept->cfg.alias + (page << EPT_PAGE_SHIFT) + (gpa & (EPT_PAGE_SIZE - 1));
}

/* Guest-physical page of a linear code address, cached per vCPU by (cr3, page). */
static uint64_t code_gpa(struct ept_vcpu *v, int fd, uint64_t cr3, uint64_t lin)
{
	struct kvm_translation t = {.linear_address = lin & ~(EPT_PAGE_SIZE - 1)};

	if (v->code_lin == t.linear_address && v->code_cr3 == cr3 && v->code_gpa != UINT64_MAX)
		return v->code_gpa | (lin & (EPT_PAGE_SIZE - 1));
	if (ioctl(fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return UINT64_MAX;
	v->code_cr3 = cr3;
	v->code_lin = t.linear_address;
	v->code_gpa = t.physical_address & ~(EPT_PAGE_SIZE - 1);
	return v->code_gpa | (lin & (EPT_PAGE_SIZE - 1));
}

/* Up to 15 instruction bytes at rip, from the alias; returns how many. */
static unsigned int read_insn(struct ept *ept, struct ept_vcpu *v, int fd,
			      const struct trap_regs *tr, uint8_t *buf)
{
	uint64_t rip = tr->r->rip + tr->s->cs.base;
	unsigned int n = 0;

	while (n < 15) {
		uint64_t gpa = code_gpa(v, fd, tr->s->cr3, rip + n);
		uint64_t page = gpa == UINT64_MAX ? UINT64_MAX : ept_gpa_to_page(ept, gpa);
		unsigned int chunk = EPT_PAGE_SIZE - (gpa & (EPT_PAGE_SIZE - 1));

		if (page == UINT64_MAX)
			break;
		if (chunk > 15 - n)
			chunk = 15 - n;
		memcpy(buf + n, alias_at(ept, page, gpa), chunk);
		n += chunk;
	}
	return n;
}

/* Single-copy atomic for aligned 1/2/4/8-byte accesses, as the hardware would be. */
static void complete_access(struct kvm_run *run, uint8_t *host)
{
	uint32_t len = run->mmio.len;
	bool aligned = !((uintptr_t)host & (len - 1)) && !(len & (len - 1));
	uint64_t v = 0;

	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, len);
		if (aligned && len == 8)
			__atomic_store_n((uint64_t *)host, v, __ATOMIC_SEQ_CST);
		else if (aligned && len == 4)
			__atomic_store_n((uint32_t *)host, (uint32_t)v, __ATOMIC_SEQ_CST);
		else if (aligned && len == 2)
			__atomic_store_n((uint16_t *)host, (uint16_t)v, __ATOMIC_SEQ_CST);
		else
			memcpy(host, run->mmio.data, len);
		return;
	}
	if (aligned && len == 8)
		v = __atomic_load_n((uint64_t *)host, __ATOMIC_SEQ_CST);
	else if (aligned && len == 4)
		v = __atomic_load_n((uint32_t *)host, __ATOMIC_SEQ_CST);
	else if (aligned && len == 2)
		v = __atomic_load_n((uint16_t *)host, __ATOMIC_SEQ_CST);
	else
		memcpy(&v, host, len);
	memcpy(run->mmio.data, &v, len);
}

#define NATIVE_TRIES	   2
#define NATIVE_OPEN_MAX_NS (10ull * 1000 * 1000)

/*
 * Suspend before recording: once recorded, ept_native_expire may resume the
 * slot at any time, and a resume that overtook our suspend would leave the
 * page open for good (or drop another vCPU's count).
 */
static bool native_add(struct ept *ept, unsigned int vcpu, uint64_t page, uint64_t now)
{
	bool added = false;

	ept_suspend_page(ept, page);
	pthread_mutex_lock(&ept->native_lock);
	for (unsigned int i = 0; i < EPT_NATIVE_MAX && !added; i++) {
		if (ept->native[i].used)
			continue;
		ept->native[i].used = added = true;
		ept->native[i].vcpu = vcpu;
		ept->native[i].page = page;
		ept->native[i].since_ns = now;
	}
	pthread_mutex_unlock(&ept->native_lock);
	if (!added)
		ept_resume_page(ept, page); /* table full: nobody would close it */
	return added;
}

/* Close the pages opened for one vCPU (vcpu < nr_vcpus) or open since before `before`. */
static void native_close(struct ept *ept, unsigned int vcpu, uint64_t before)
{
	uint64_t pages[EPT_NATIVE_MAX];
	unsigned int n = 0;

	pthread_mutex_lock(&ept->native_lock);
	for (unsigned int i = 0; i < EPT_NATIVE_MAX; i++) {
		if (ept->native[i].used &&
		    (ept->native[i].vcpu == vcpu || ept->native[i].since_ns < before)) {
			ept->native[i].used = false;
			pages[n++] = ept->native[i].page;
		}
	}
	pthread_mutex_unlock(&ept->native_lock);
	for (unsigned int i = 0; i < n; i++)
		ept_resume_page(ept, pages[i]);
}

void ept_native_expire(struct ept *ept, uint64_t now_ns)
{
	if (now_ns > NATIVE_OPEN_MAX_NS)
		native_close(ept, UINT32_MAX, now_ns - NATIVE_OPEN_MAX_NS);
}

static uint64_t data_gpa(int fd, uint64_t lin)
{
	struct kvm_translation t = {.linear_address = lin};

	if (ioctl(fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return UINT64_MAX;
	return t.physical_address;
}

static bool step_begin(struct ept *ept, struct ept_vcpu *v, int fd, uint64_t page, uint64_t rip)
{
	struct kvm_guest_debug dbg = {.control = ept->debug_flags};

	if (v->nr_step_pages >= EPT_STEP_MAX_PAGES)
		return false;
	if (!v->stepping && ioctl(fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		ept_log(ept, 1, "ept: KVM_SET_GUEST_DEBUG (single step): %s", strerror(errno));
		return false;
	}
	ept_suspend_page(ept, page);
	v->step_pages[v->nr_step_pages++] = page;
	if (!v->stepping) {
		v->stepping = true;
		v->step_rip = rip;
		v->step_tries = 0;
	}
	return true;
}

/*
 * Finish the current instruction with `page` open: a single step at CPL0; in
 * guest user mode the page stays open until the vCPU's next exit instead,
 * since kvm_pvm delivers a user-mode step's #DB into the guest.
 */
static bool open_for_insn(struct ept *ept, struct ept_vcpu *v, const struct ept_exit *x,
			  const struct kvm_sregs *s, uint64_t page, uint64_t rip)
{
	if (!s || s->cs.dpl == 0)
		return step_begin(ept, v, x->vcpu_fd, page, rip);
	if (!native_add(ept, x->vcpu, page, ept_now_ns()))
		return false;
	v->native_open = true;
	return true;
}

/* The debug exit of our single step: close the pages again, unless the instruction restarted. */
static bool step_end(struct ept *ept, struct ept_vcpu *v, const struct ept_exit *x)
{
	struct kvm_guest_debug dbg = {.control = 0};
	struct trap_regs tr;

	if (!v->stepping)
		return false;
	if (fetch_regs(ept, x, &tr) == 0 && tr.r->rip == v->step_rip &&
	    ++v->step_tries < STEP_RETRIES)
		return true; /* lost a cmpxchg race, or rep: step again with the page open */
	for (unsigned int i = 0; i < v->nr_step_pages; i++)
		ept_resume_page(ept, v->step_pages[i]);
	v->nr_step_pages = 0;
	v->stepping = false;
	if (ioctl(x->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		ept_log(ept, 1, "ept: clearing guest debug: %s", strerror(errno));
	atomic_fetch_add(&ept->st.stepped, 1);
	return true;
}

static enum ept_verdict judge(struct ept *ept, const struct ept_access *a)
{
	enum ept_verdict vd = ept->cfg.judge ? ept->cfg.judge(ept->cfg.judge_ctx, a) : EPT_ALLOW;

	if (vd == EPT_ALLOW)
		atomic_fetch_add(&ept->st.allowed, 1);
	else if (vd == EPT_REPORT_AND_COMPLETE)
		atomic_fetch_add(&ept->st.reported, 1);
	else
		atomic_fetch_add(&ept->st.stopped, 1);
	return vd;
}

/*
 * A string instruction: describe what it touches from this element on. The
 * first trap of a rep instruction judges the whole operation; following
 * element exits of the same instance (same rip, count going down) get
 * count 0 so they are completed without judging again.
 */
static void describe_string(struct ept_vcpu *v, const struct trap_regs *tr, const uint8_t *insn,
			    unsigned int n, struct ept_access *a)
{
	struct ept_string *s = &a->str;
	uint64_t addr, done;
	bool rep, later;

	if (!ept_insn_string(insn, n, &s->op, &s->elem, &rep)) {
		s->op = EPT_STR_NONE;
		v->str_rip = 0;
		return;
	}
	s->count = rep ? tr->r->rcx : 1;
	s->src = tr->r->rsi;
	s->dst = tr->r->rdi;
	s->backward = tr->r->rflags & (1u << 10);
	/*
	 * KVM exits for an element's write after it advanced rcx/rsi/rdi past
	 * it (the data is already taken); a read exit comes before. Step back.
	 */
	if (a->is_write && rep) {
		int64_t step = s->backward ? -(int64_t)s->elem : (int64_t)s->elem;

		/* rcx is the guest's: a count of ~0 must not wrap to "already judged" */
		if (s->count != UINT64_MAX)
			s->count++;
		s->dst -= step;
		if (s->op == EPT_STR_MOVS)
			s->src -= step;
	}
	/*
	 * The same instance: same rip, fewer elements left, address moved by
	 * exactly that many; or the write exit of the movs element whose read
	 * exit was judged (same count: both ranges were judged then).
	 */
	addr = s->op == EPT_STR_LODS ? s->src : s->dst;
	done = v->str_count - s->count;
	later = s->count < v->str_count || (s->count == v->str_count && a->is_write && v->str_read);
	if (rep && v->str_rip == tr->r->rip && s->count && later &&
	    addr == (s->backward ? v->str_addr - done * s->elem : v->str_addr + done * s->elem)) {
		s->count = 0;
		return;
	}
	v->str_rip = rep ? tr->r->rip : 0;
	v->str_count = s->count;
	v->str_addr = addr;
	v->str_read = !a->is_write;
}

/*
 * A read exit whose instruction could not be decoded, under memslot holes: if
 * it is a locked RMW, its write would come as a second exit, completed apart
 * from the read (not atomic). Finishing it with the page open keeps it atomic
 * whatever it is (mprotect needs no such step: the write fails emulation).
 */
static void step_undecoded(struct ept *ept, uint64_t rip)
{
	uint64_t n = atomic_fetch_add(&ept->st.undecoded, 1) + 1;

	if (!(n & (n - 1))) /* 1, 2, 4, ...: rate-limited */
		ept_log(
		    ept, 1,
		    "ept: instruction at rip %#llx not decoded at its read exit: single-stepped "
		    "with the page open, in case it is a locked read-modify-write (%llu so far)",
		    (unsigned long long)rip, (unsigned long long)n);
}

static bool handle_armed(struct ept *ept, struct ept_vcpu *v, const struct ept_exit *x,
			 uint64_t page, uint8_t *host)
{
	struct kvm_run *run = x->run;
	uint64_t t0 = ept_now_ns();
	struct trap_regs tr;
	struct ept_access a = {.vcpu = x->vcpu,
			       .vcpu_fd = x->vcpu_fd,
			       .gpa = run->mmio.phys_addr,
			       .len = run->mmio.len,
			       .is_write = run->mmio.is_write};
	uint8_t insn[16];
	bool decoded = false;

	if (fetch_regs(ept, x, &tr) == 0) {
		unsigned int n = read_insn(ept, v, x->vcpu_fd, &tr, insn);

		a.rip = tr.r->rip;
		a.regs = tr.r;
		a.sregs = tr.s;
		decoded = n && !ept->cfg.no_rmw_decode;
		if (!a.is_write && decoded)
			a.is_rmw = ept_insn_is_rmw(insn, n);
		describe_string(v, &tr, insn, n, &a);
	}
	a.is_write |= a.is_rmw;
	if (a.str.op != EPT_STR_NONE && a.str.count == 0) {
		atomic_fetch_add(&ept->st.allowed, 1); /* a later element of a judged operation */
	} else if (judge(ept, &a) == EPT_STOP) {
		v->inflight_page = 0;
		return true;
	}
	complete_access(run, host);
	v->inflight_page = 0;
	if (a.is_rmw && open_for_insn(ept, v, x, a.sregs, page, a.rip)) {
		atomic_fetch_add(&ept->st.rmw, 1);
	} else if (!a.is_write && !decoded && ept->mech == EPT_MECH_HOLE &&
		   open_for_insn(ept, v, x, a.sregs, page, a.rip)) {
		step_undecoded(ept, a.rip);
	} else {
		v->inflight_page = page + 1;
		v->inflight_rip = a.rip;
	}
	ept_heat_trap(ept, v, page, t0, ept_now_ns());
	return true;
}

static bool handle_mmio(struct ept *ept, struct ept_vcpu *v, const struct ept_exit *x)
{
	struct kvm_run *run = x->run;
	uint64_t gpa = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	uint64_t page = ept_gpa_to_page(ept, gpa);

	v->retried_rip = 0;
	if (page == UINT64_MAX || !len || len > 8 || ept_gpa_to_page(ept, gpa + len - 1) != page) {
		v->inflight_page = 0;
		return false; /* not RAM: a device's */
	}
	if (ept_armed_bit(ept, page))
		return handle_armed(ept, v, x, page, alias_at(ept, page, gpa));
	/* Disarmed since KVM decided to exit, or a memslot being replaced: just complete. */
	complete_access(run, alias_at(ept, page, gpa));
	atomic_fetch_add(&ept->st.stale, 1);
	v->inflight_page = 0;
	return true;
}

/* Armed pages holding the instruction at rip (it may cross a page). */
static bool step_fetch(struct ept *ept, struct ept_vcpu *v, int fd, const struct trap_regs *tr)
{
	uint64_t rip = tr->r->rip + tr->s->cs.base;
	bool any = false;

	for (uint64_t lin = rip; lin < rip + 15; lin = (lin | (EPT_PAGE_SIZE - 1)) + 1) {
		uint64_t gpa = code_gpa(v, fd, tr->s->cr3, lin);
		uint64_t page = gpa == UINT64_MAX ? UINT64_MAX : ept_gpa_to_page(ept, gpa);

		if (page != UINT64_MAX && ept_armed_bit(ept, page))
			any |= step_begin(ept, v, fd, page, tr->r->rip);
	}
	if (any)
		atomic_fetch_add(&ept->st.fetch, 1);

	return any;
}

/*
 * An instruction KVM cannot emulate (AVX, cmpxchg16b, xsave: no MMIO exit
 * tells its address) touching an armed page: decode its memory operand, open
 * the armed pages it may touch and resume, so the CPU runs it (guest user
 * code runs natively even on kvm_pvm). The pages close at this vCPU's next
 * exit, or after NATIVE_OPEN_MAX_NS (ept_tick). A single step would close
 * them sooner, but kvm_pvm delivers the step's #DB into guest user mode. The
 * access is not judged (its size is not decoded): counted as not emulatable.
 */
static bool open_for_native(struct ept *ept, struct ept_vcpu *v, const struct ept_exit *x,
			    const struct trap_regs *tr)
{
	uint8_t insn[16];
	unsigned int n = read_insn(ept, v, x->vcpu_fd, tr, insn);
	uint64_t lin, now = ept_now_ns(), count;
	uint32_t span;
	bool any = false;

	if (!tr->s->cs.l || !ept_insn_mem_operand(insn, n, tr->r, tr->s, &lin, &span))
		return false;
	for (uint64_t a = lin & ~(EPT_PAGE_SIZE - 1); a < lin + span; a += EPT_PAGE_SIZE) {
		uint64_t gpa = data_gpa(x->vcpu_fd, a);
		uint64_t page = gpa == UINT64_MAX ? UINT64_MAX : ept_gpa_to_page(ept, gpa);

		if (page != UINT64_MAX && ept_armed_bit(ept, page))
			any |= native_add(ept, x->vcpu, page, now);
	}
	if (!any)
		return false;
	v->native_open = true;
	count = atomic_fetch_add(&ept->st.native, 1) + 1;
	if (!(count & (count - 1)))
		ept_log(ept, 1,
			"ept: rip %#llx: KVM cannot emulate this access to an armed page at "
			"%#llx: run with the page open, not judged (%llu so far)",
			(unsigned long long)tr->r->rip, (unsigned long long)lin,
			(unsigned long long)count);
	return true;
}

static bool rip_is_locked_rmw(struct ept *ept, struct ept_vcpu *v, int fd,
			      const struct trap_regs *tr)
{
	uint8_t insn[16];

	return ept_insn_is_locked_rmw(insn, read_insn(ept, v, fd, tr, insn));
}

static bool handle_emulation_failure(struct ept *ept, struct ept_vcpu *v, const struct ept_exit *x)
{
	uint64_t inflight = v->inflight_page;
	struct trap_regs tr;

	v->inflight_page = 0;
	if (x->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION || fetch_regs(ept, x, &tr))
		return false;
	/* The write half of an access already judged at its read exit (an RMW). */
	if (inflight && tr.r->rip == v->inflight_rip &&
	    open_for_insn(ept, v, x, tr.s, inflight - 1, tr.r->rip)) {
		atomic_fetch_add(&ept->st.rmw, 1);
		return true;
	}
	if (step_fetch(ept, v, x->vcpu_fd, &tr))
		return true;
	/* The same instruction failing again with its pages open: not ours to fix. */
	if (v->native_rip != tr.r->rip) {
		v->native_rip = tr.r->rip;
		v->native_tries = 0;
	}
	if (v->native_tries++ < NATIVE_TRIES && open_for_native(ept, v, x, &tr))
		return true;
	/*
	 * Retry once: a fetch may have hit a memslot being replaced, or a locked
	 * RMW read the page while another vCPU's step had it open and found it
	 * closed again at its write (nothing was written back; it restarts and
	 * traps at its read).
	 */
	if (v->retried_rip != tr.r->rip &&
	    (ept->mech != EPT_MECH_MPROTECT || rip_is_locked_rmw(ept, v, x->vcpu_fd, &tr))) {
		v->retried_rip = tr.r->rip;
		return true;
	}
	return false;
}

bool ept_handle_exit(struct ept *ept, const struct ept_exit *x)
{
	struct ept_vcpu *v;

	if (!ept || x->vcpu >= ept->cfg.nr_vcpus)
		return false;
	v = &ept->vcpus[x->vcpu];
	if (v->native_open) { /* the instruction ran: close its pages */
		v->native_open = false;
		native_close(ept, x->vcpu, 0);
	}
	if (x->run->exit_reason != KVM_EXIT_INTERNAL_ERROR)
		v->native_rip = 0;
	switch (x->run->exit_reason) {
	case KVM_EXIT_MMIO:
		return handle_mmio(ept, v, x);
	case KVM_EXIT_INTERNAL_ERROR:
		return handle_emulation_failure(ept, v, x);
	case KVM_EXIT_DEBUG:
		return step_end(ept, v, x);
	default:
		v->inflight_page = 0;
		return false;
	}
}
