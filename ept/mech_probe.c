// SPDX-License-Identifier: MIT
/*
 * Which arming mechanisms give exact MMIO exits on this host: for each, a
 * throwaway VM at CPL0 runs `mov rax,[rsi]; mov [rsi],rbx; hlt` on an armed
 * page. Exact means: a read exit with the right gpa, length and direction
 * whose data we supply lands in rax, and a write exit carrying rbx. On VMX,
 * mprotect gives EFAULT or KVM_EXIT_MEMORY_FAULT instead, so it fails here.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ept/ept_internal.h"
#include "ept/tiny_vm.h"

#define PROBE_RAM	(4u << 20)
#define PATTERN_MEM	0x1122334455667788ull
#define PATTERN_READ	0x0badc0ffee0ddf00ull
#define PATTERN_WRITE	0xaabbccdd00112233ull
#define UNBACKED_GPA	0x800000 /* mapped by the guest page tables, not RAM */
#define EXIT_LOOP	32
#define DEFAULT_EXIT_NS 10000

static const uint8_t probe_code[] = {
    0x48, 0x8b, 0x06, /* mov rax, [rsi] */
    0x48, 0x89, 0x1e, /* mov [rsi], rbx */
    0xf4,	      /* hlt */
};

/* loop: mov rax,[rdi]; dec rcx; jnz loop; hlt */
static const uint8_t exit_loop_code[] = {0x48, 0x8b, 0x07, 0x48, 0xff, 0xc9, 0x75, 0xf8, 0xf4};

static bool is_exit(struct kvm_run *run, bool write)
{
	return run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == TINY_VM_DATA &&
	       run->mmio.len == 8 && run->mmio.is_write == write;
}

/* Raw exits, not ept's handler: the probe checks what KVM itself reports. */
static void probe_exits(struct tiny_vm *t, enum ept_mechanism m, bool *rd, bool *wr)
{
	struct kvm_run *run = t->run[0];
	uint64_t v = PATTERN_READ, want_rax = m == EPT_MECH_READONLY ? PATTERN_MEM : PATTERN_READ;
	struct kvm_regs r;
	bool saw_read = false, saw_write = false;

	for (int i = 0; i < 4; i++) {
		if (ioctl(t->vcpu_fd[0], KVM_RUN, 0) < 0)
			return; /* EFAULT: no exit at all */
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (is_exit(run, false) && !saw_read) {
			memcpy(run->mmio.data, &v, 8);
			saw_read = true;
		} else if (is_exit(run, true) &&
			   !memcmp(run->mmio.data, &(uint64_t){PATTERN_WRITE}, 8)) {
			saw_write = true;
		} else {
			return; /* MEMORY_FAULT, INTERNAL_ERROR, or inexact */
		}
	}
	if (run->exit_reason != KVM_EXIT_HLT || ioctl(t->vcpu_fd[0], KVM_GET_REGS, &r) < 0 ||
	    r.rax != want_rax)
		return;
	*rd = saw_read;
	*wr = saw_write;
}

static uint64_t measure_exit_ns(struct tiny_vm *t)
{
	struct kvm_regs r = {.rip = TINY_VM_CODE + 0x100, .rdi = UNBACKED_GPA, .rcx = EXIT_LOOP};
	uint64_t t0, n = 0;

	tiny_vm_put(t, TINY_VM_CODE + 0x100, exit_loop_code, sizeof(exit_loop_code));
	if (tiny_vm_set_regs(t, 0, &r))
		return 0;
	t0 = ept_now_ns();
	for (;;) {
		if (ioctl(t->vcpu_fd[0], KVM_RUN, 0) < 0 || t->run[0]->exit_reason != KVM_EXIT_MMIO)
			break;
		n++;
	}
	return n == EXIT_LOOP ? (ept_now_ns() - t0) / n : 0;
}

static int probe_one(int kvm_fd, enum ept_mechanism m, struct ept_probe_result *res,
		     uint64_t *exit_ns)
{
	struct kvm_regs r = {
	    .rip = TINY_VM_CODE, .rsi = TINY_VM_DATA, .rbx = PATTERN_WRITE, .rsp = TINY_VM_STACK};
	struct ept_config cfg;
	struct tiny_vm t;
	struct ept *ept = NULL;
	int ret = tiny_vm_create(&t, kvm_fd, PROBE_RAM, 1);

	if (ret)
		return ret;
	tiny_vm_ept_config(&t, &cfg);
	cfg.mechanism = m;
	cfg.log = NULL;
	ret = ept_create(&cfg, &ept);
	if (!ret) {
		tiny_vm_put(&t, TINY_VM_CODE, probe_code, sizeof(probe_code));
		tiny_vm_put(&t, TINY_VM_DATA, &(uint64_t){PATTERN_MEM}, 8);
		ret = ept_arm_page(ept, TINY_VM_DATA);
	}
	if (!ret)
		ret = tiny_vm_set_regs(&t, 0, &r);
	if (!ret) {
		probe_exits(&t, m, &res->exact_read[m], &res->exact_write[m]);
		if (exit_ns && !*exit_ns)
			*exit_ns = measure_exit_ns(&t);
	}
	ept_destroy(ept);
	tiny_vm_destroy(&t);
	/* A mechanism KVM refuses (e.g. no read-only memslots) is just not exact. */
	return ret == -ENOMEM ? ret : 0;
}

static bool sync_regs_supported(int kvm_fd)
{
	int want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;

	return (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & want) == want;
}

static int probe_all(int kvm_fd, struct ept_probe_result *res, uint64_t *exit_ns)
{
	memset(res, 0, sizeof(*res));
	res->sync_regs = sync_regs_supported(kvm_fd);
	for (int m = EPT_MECH_MPROTECT; m < EPT_MECH_NR; m++) {
		int ret = probe_one(kvm_fd, (enum ept_mechanism)m, res, exit_ns);

		if (ret)
			return ret;
	}
	return 0;
}

int ept_probe_mechanisms(int kvm_fd, struct ept_probe_result *res)
{
	return probe_all(kvm_fd, res, NULL);
}

static const char *yes(bool b)
{
	return b ? "exact" : "no";
}

/* Read-only memslots never trap reads: exact means exact writes for them. */
static bool exact_for(const struct ept_probe_result *p, enum ept_mechanism m)
{
	return p->exact_write[m] && (p->exact_read[m] || m == EPT_MECH_READONLY);
}

static enum ept_mechanism cheapest_exact(const struct ept_probe_result *p)
{
	/* Cheapest first: mprotect changes no memslot; holes trap reads too, read-only does not. */
	for (int m = EPT_MECH_MPROTECT; m < EPT_MECH_NR; m++)
		if (exact_for(p, (enum ept_mechanism)m))
			return (enum ept_mechanism)m;
	return EPT_MECH_AUTO;
}

int ept_choose_mechanism(struct ept *ept)
{
	struct ept_probe_result *p = &ept->probe;
	enum ept_mechanism forced = ept->cfg.mechanism;
	int ret;

	ept->exit_ns = DEFAULT_EXIT_NS;
	/* Probe VMs and tests force a mechanism they know: no probe inside the probe. */
	if (forced != EPT_MECH_AUTO && !ept->cfg.probe_forced) {
		ept->mech = forced;
		ept->sync_regs = sync_regs_supported(ept->cfg.kvm_fd);
		ept_log(ept, 3, "ept: mechanism %s forced", ept_mechanism_name(ept->mech));
		return 0;
	}
	ept->exit_ns = 0;
	ret = probe_all(ept->cfg.kvm_fd, p, &ept->exit_ns);
	if (ret) {
		ept_log(ept, 0, "ept: probing the arming mechanisms: %s", strerror(-ret));
		return ret;
	}
	for (int m = EPT_MECH_MPROTECT; m < EPT_MECH_NR; m++)
		if (ept->cfg.probe_fail_mask & (1u << m))
			p->exact_read[m] = p->exact_write[m] = false;
	ept->sync_regs = p->sync_regs;
	if (!ept->exit_ns)
		ept->exit_ns = DEFAULT_EXIT_NS;
	ept->mech = forced != EPT_MECH_AUTO ? forced : cheapest_exact(p);
	ept_log(ept, 2,
		"ept: arming probe: mprotect read %s write %s; hole read %s write %s; read-only "
		"write %s; bare MMIO exit %llu ns -> %s%s",
		yes(p->exact_read[1]), yes(p->exact_write[1]), yes(p->exact_read[2]),
		yes(p->exact_write[2]), yes(p->exact_write[3]), (unsigned long long)ept->exit_ns,
		ept->mech ? ept_mechanism_name(ept->mech) : "none",
		forced != EPT_MECH_AUTO ? " (forced)" : "");
	if (forced != EPT_MECH_AUTO && !exact_for(p, forced)) {
		ept_log(
		    ept, 0,
		    "ept: mechanism %s was forced, but the start-up probe found it not exact on "
		    "this host (read %s, write %s): use --ept_mechanism auto",
		    ept_mechanism_name(forced), yes(p->exact_read[forced]),
		    yes(p->exact_write[forced]));
		return -ENOTSUP;
	}
	if (ept->mech == EPT_MECH_AUTO) {
		ept_log(ept, 0, "ept: no arming mechanism gives exact exits on this host");
		return -ENOTSUP;
	}
	if (ept->mech == EPT_MECH_READONLY)
		ept_log(ept, 1, "ept: only read-only memslots are exact: reads will not trap");
	return 0;
}
