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

int cpl0_fixup_apply(int vcpu_fd, const uint8_t *bytes, size_t n, struct cpl0_action *act)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs r;
	struct kvm_fpu fpu = {0};
	struct kvm_sregs sr = {0};

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
