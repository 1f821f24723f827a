// SPDX-License-Identifier: MIT
/*
 * Guest accesses outside the memslots. KVM_EXIT_MMIO (the ESR had a valid
 * syndrome: KVM gives IPA, size, direction and data) and KVM_EXIT_ARM_NISV
 * (no syndrome: decoded and emulated here, a64_trap.h) both end in one
 * access routine: a trapped RAM page is judged by the sanitizer and then
 * completed through the alias; the UART and the kasan-vmm page are devices.
 * Exclusives and atomics are not emulated: the page is opened, the vCPU
 * single-steps the instruction, and the page is closed again.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "paravirt/kasan_vmm_abi.h"
#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/a64_san.h"
#include "vmm/arm64/a64_stage2.h"
#include "vmm/arm64/a64_trap.h"
#include "vmm/arm64/vm.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/uart.h"

/*
 * A RAM access on a trapped page. Most are valid (the page also holds live
 * data): only a poisoned range costs the vCPU's registers and, when the exit
 * did not say, the decoding of the instruction for the address the guest used.
 */
static void judge(struct arm64_vcpu *v, uint64_t ipa, uint64_t va, unsigned int len, bool write)
{
	struct arm64_vm *vm = v->vm;
	struct a64_nisv_result res;
	struct a64_san_cpu c;
	uint8_t tag;

	if (!vm->san)
		return;
	a64_san_flush(vm->san); /* drain before judging */
	if (!a64_san_poisoned(vm->san, ipa, len) || arm64_san_cpu(v, &c))
		return;
	if (!va && a64_trap_insn_va(&arm64_nisv_ops, v, &res, &va))
		va = 0;
	/* With MTE, what the guest's own tags say about the granule, for the log. */
	if (vm->mte && vm->cli->mode == SAN_TAGS && arm64_mte_sync_page(vm, ipa) == 0 &&
	    a64_san_mte_tag(vm->san, ipa, &tag))
		pr_debug("vCPU %u: access at IPA 0x%llx, pointer tag 0x%02x, guest MTE tag 0x%02x",
			 v->index, (unsigned long long)ipa, a64_ptr_tag(va), tag);
	a64_san_judge(vm->san, &c, ipa, va, len, write);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void kvmm_access(struct arm64_vcpu *v, uint64_t off, uint8_t *buf, unsigned int len,
			bool write)
{
	struct arm64_vm *vm = v->vm;
	struct a64_san_cpu c;
	uint32_t code;

	if (!write) {
		memset(buf, 0, len);
		return;
	}
	switch (a64_kvmm_store(off, len)) {
	case A64_KVMM_DOORBELL:
		if (vm->san && arm64_san_cpu(v, &c) == 0)
			a64_san_doorbell(vm->san, &c, le32(buf));
		break;
	case A64_KVMM_EXIT_CODE:
		code = le32(buf);
		if (code > KV_GUEST_EXIT_MAX) {
			pr_warn("guest exit code %u is above %d (reserved for kasan-vmm); using %d",
				code, KV_GUEST_EXIT_MAX, KV_GUEST_EXIT_MAX);
			code = KV_GUEST_EXIT_MAX;
		}
		atomic_store(&vm->guest_exit_code, code);
		break;
	default:
		pr_debug("vCPU %u: ignored %u-byte store at kasan-vmm page offset 0x%llx", v->index,
			 len, (unsigned long long)off);
	}
}

int arm64_trap_access(void *ctx, uint64_t ipa, uint64_t va, void *buf, unsigned int len, bool write)
{
	struct arm64_vcpu *v = ctx;
	struct arm64_vm *vm = v->vm;
	uint8_t *p = buf;
	uint64_t off;

	switch (a64_dev_at(ipa, len, vm->ram_size, &off)) {
	case A64_DEV_RAM:
		judge(v, ipa, va, len, write);
		if (write)
			memcpy(vm->alias + off, p, len);
		else
			memcpy(p, vm->alias + off, len);
		return 0;
	case A64_DEV_UART:
		/* 8-bit registers (reg-io-width 1): wider reads see the byte, zero-extended */
		if (!write)
			memset(p, 0, len);
		uart_io(vm->uart, (unsigned int)off, write, p);
		return 0;
	case A64_DEV_KVMM:
		kvmm_access(v, off, p, len, write);
		return 0;
	default:
		if (!write)
			memset(p, 0xff, len); /* nothing there: reads float */
		pr_debug("vCPU %u: %s of %u bytes at unassigned IPA 0x%llx", v->index,
			 write ? "write" : "read", len, (unsigned long long)ipa);
		return 0;
	}
}

void arm64_handle_mmio(struct arm64_vcpu *v)
{
	struct kvm_run *run = v->run;

	/* KVM gives the IPA only: judge() decodes the address when it matters */
	arm64_trap_access(v, run->mmio.phys_addr, 0, run->mmio.data,
			  run->mmio.len <= 8 ? run->mmio.len : 8, run->mmio.is_write);
}

static int set_single_step(struct arm64_vcpu *v, bool on)
{
	struct kvm_guest_debug dbg = {.control =
					  on ? KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP : 0};

	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
}

/* An exclusive or atomic on a trapped page: judge it, then let the CPU run it once. */
static void step_through(struct arm64_vcpu *v, uint64_t ipa)
{
	struct arm64_vm *vm = v->vm;
	struct a64_nisv_result res;
	uint64_t va = 0, off;

	if (a64_trap_insn_va(&arm64_nisv_ops, v, &res, &va) == 0)
		judge(v, ipa, va, a64_mem_op_bytes(&res.op), res.op.write);
	if (a64_dev_at(ipa, 1, vm->ram_size, &off) != A64_DEV_RAM || !vm->stage2 ||
	    a64_stage2_disarm(vm->stage2, ipa) || set_single_step(v, true)) {
		arm64_vm_stop(vm, VMM_EXIT_EMULATION,
			      "vCPU %u: cannot run the exclusive/atomic access at IPA 0x%llx "
			      "(instruction 0x%08x at pc 0x%llx)",
			      v->index, (unsigned long long)ipa, res.insn,
			      (unsigned long long)res.pc);
		return;
	}
	v->step_page = (ipa & ~0xfffull) + 1;
}

void arm64_handle_nisv(struct arm64_vcpu *v)
{
	uint64_t ipa = v->run->arm_nisv.fault_ipa;
	struct a64_nisv_result res;
	int err = a64_nisv_emulate(&arm64_nisv_ops, v, &res);

	if (err == -ENOTSUP) {
		step_through(v, ipa);
		return;
	}
	if (err)
		arm64_vm_stop(v->vm, VMM_EXIT_EMULATION,
			      "vCPU %u: cannot emulate the access without syndrome at IPA 0x%llx "
			      "(instruction 0x%08x at pc 0x%llx): %s",
			      v->index, (unsigned long long)ipa, res.insn,
			      (unsigned long long)res.pc, strerror(-err));
}

/* The single step of step_through() is done: close the page again if still poisoned. */
void arm64_handle_debug(struct arm64_vcpu *v)
{
	struct arm64_vm *vm = v->vm;
	uint64_t page = v->step_page - 1;

	if (!v->step_page)
		return;
	v->step_page = 0;
	if (set_single_step(v, false))
		pr_warn("vCPU %u: clearing the single step: %s", v->index, strerror(errno));
	if (vm->san && a64_san_poisoned(vm->san, page, 4096))
		a64_stage2_arm(vm->stage2, page);
}
