/* SPDX-License-Identifier: MIT */
/*
 * What a KVM exit means for the run, decided from struct kvm_run alone so
 * that every reason, including ones no test guest can provoke, is
 * unit-tested: handled in place (I/O, MMIO), resumed, or the end of the run
 * with an exit code (vmm/config.h) and a message naming the reason, the vCPU,
 * the guest RIP and the instruction bytes.
 */
#ifndef VMM_VCPU_EXIT_H
#define VMM_VCPU_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/kvm_compat.h"

enum vcpu_exit_class {
	VCPU_EXIT_CLASS_IO,	  /* port I/O: the device model handles it */
	VCPU_EXIT_CLASS_MMIO,	  /* MMIO: the device model handles it */
	VCPU_EXIT_CLASS_RESUME,	  /* nothing to do but run again */
	VCPU_EXIT_CLASS_INTERNAL, /* KVM internal error: the CPL0 fix-ups may resume it */
	VCPU_EXIT_CLASS_END,	  /* the run ends */
};

/* Where the vCPU stopped, as the VMM read it (KVM_GET_REGS, guest memory). */
struct vcpu_exit_site {
	unsigned int vcpu;
	bool rip_known;
	uint64_t rip;
	uint8_t insn[16]; /* bytes at rip, used when KVM reports none */
	unsigned int insn_len;
};

enum vcpu_exit_class vcpu_exit_classify(const struct kvm_run *run);

/*
 * For an exit of class INTERNAL (not fixed up) or END: the run's exit code
 * (enum vmm_exit_code) and one line in msg. Other classes: -1, msg empty.
 */
int vcpu_exit_outcome(const struct kvm_run *run, const struct vcpu_exit_site *site, char *msg,
		      size_t len);

#endif /* VMM_VCPU_EXIT_H */
