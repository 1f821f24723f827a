// SPDX-License-Identifier: MIT
/*
 * Carry out a cpl0_fixup_decide() decision on a vCPU stopped at a KVM
 * emulation failure: KVM has not moved rip, so the instruction is still
 * ahead of it and nothing of it has happened yet.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "vmm/cpl0.h"

/* struct kvm_regs in the instruction encoding's register order. */
static __u64 *reg_ptr(struct kvm_regs *r, unsigned int n)
{
	__u64 *const regs[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
				 &r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
				 &r->r12, &r->r13, &r->r14, &r->r15};

	return regs[n & 15];
}

#define RFLAGS_ZF (1ull << 6)

/* LSL: ZF and the destination as the CPU would leave them; rip past it. */
static int apply_lsl(int vcpu_fd, const uint8_t *bytes, size_t n, const struct cpl0_mem *mem,
		     struct cpl0_action *act)
{
	struct cpl0_lsl l;
	struct kvm_regs r;
	struct kvm_sregs sr;
	struct cpl0_table gdt, ldt;
	uint64_t addr, desc;
	uint32_t limit;
	uint16_t sel;
	bool ok;

	if (!mem || !cpl0_lsl_decode(bytes, n, &l))
		return 0;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	gdt = (struct cpl0_table){sr.gdt.base, sr.gdt.limit, true};
	ldt = (struct cpl0_table){sr.ldt.base, sr.ldt.limit, !sr.ldt.unusable && sr.ldt.present};
	sel = (uint16_t)*reg_ptr(&r, l.src);
	ok = cpl0_lsl_desc_addr(sel, &gdt, &ldt, &addr) &&
	     mem->read(mem->ctx, addr, &desc, sizeof(desc)) == 0 &&
	     cpl0_lsl_limit(desc, sel, sr.cs.selector & 3, &limit);
	if (ok)
		*reg_ptr(&r, l.dst) = cpl0_lsl_result(*reg_ptr(&r, l.dst), limit, l.opsize);
	r.rflags = ok ? r.rflags | RFLAGS_ZF : r.rflags & ~RFLAGS_ZF;
	r.rip += l.len;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	*act = (struct cpl0_action){.kind = CPL0_FIXUP_LSL, .new_rip = r.rip};
	return 1;
}

int cpl0_fixup_apply(int vcpu_fd, const uint8_t *bytes, size_t n, const struct cpl0_mem *mem,
		     struct cpl0_action *act)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs r;
	struct kvm_fpu fpu = {0};
	struct kvm_sregs sr = {0};
	int ret = apply_lsl(vcpu_fd, bytes, n, mem, act);

	if (ret)
		return ret;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0)
		return -errno;
	/* Only fwait needs the x87 status word and CR0. */
	if (n && bytes[0] == 0x9b &&
	    (ioctl(vcpu_fd, KVM_GET_FPU, &fpu) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0))
		return -errno;
	if (!cpl0_fixup_decide(bytes, n, r.rip, fpu.fsw, sr.cr0, act))
		return 0;
	r.rip = act->new_rip;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	if (!act->inject)
		return 1;
	if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	/*
	 * Injected (not pending): delivered on the next entry exactly as it
	 * is, with rip as we left it -- past the int3 for the #BP trap, at the
	 * fwait for the #MF fault. Neither vector pushes an error code.
	 */
	memset(&ev.exception, 0, sizeof(ev.exception));
	ev.exception.injected = 1;
	ev.exception.nr = act->vector;
	ev.exception.has_error_code = 0;
	ev.flags = 0;
	if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	return 1;
}
