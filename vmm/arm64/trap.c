// SPDX-License-Identifier: MIT
/*
 * Guest accesses outside the memslots. KVM_EXIT_MMIO (the ESR had a valid
 * syndrome: KVM gives IPA, size, direction and data) and KVM_EXIT_ARM_NISV
 * (no syndrome: decoded and emulated here, a64_trap.h) both end in one
 * access routine: a trapped RAM page is judged by the sanitizer and then
 * completed through the alias; the UART and the kasan-vmm page are devices.
 * Atomics are not emulated: the page is opened, the vCPU single-steps the
 * instruction, and the page is closed again. Load/store-exclusives cannot be
 * stepped (an exit clears the exclusive monitor, so the STXR of an LL/SC loop
 * would fail forever): their page stays open until the vCPU's next exit.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

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
	int err;

	if (!vm->san)
		return;
	a64_san_flush(vm->san); /* drain before judging */
	if (!a64_san_poisoned(vm->san, ipa, len) && !a64_san_checks_tags(vm->san))
		return;
	if (arm64_san_cpu(v, &c))
		return;
	if (!va && a64_trap_insn_va(&arm64_nisv_ops, v, &res, &va))
		va = 0;
	/* With MTE, what the guest's own tags say about the granule, for the log. */
	if (vm->mte && vm->cli->mode == SAN_TAGS) {
		err = arm64_mte_sync_page(vm, ipa);
		if (err)
			pr_debug("vCPU %u: MTE tags of IPA 0x%llx: %s", v->index,
				 (unsigned long long)ipa, strerror(-err));
		else if (a64_san_mte_tag(vm->san, ipa, &tag))
			pr_debug("vCPU %u: access at IPA 0x%llx, pointer tag 0x%02x, guest MTE tag "
				 "0x%02x",
				 v->index, (unsigned long long)ipa, a64_ptr_tag(va), tag);
	}
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

#define OPEN_NS 20000000ull /* the longest a page stays open for an exclusive: 20 ms */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/*
 * A load/store-exclusive on a trapped page. Judged as the read-modify-write
 * that LL/SC loops are (Linux checks atomics as writes; the loop's STXR will
 * not trap again), then the page stays open so the loop can finish without
 * exits: until the vCPU's next exit to the VMM (arm64_trap_on_exit; LL/SC
 * loops make none), at most OPEN_NS (arm64_trap_tick). Accesses to the page
 * meanwhile are not checked.
 */
static int open_for_exclusive(struct arm64_vcpu *v, uint64_t page)
{
	struct arm64_vm *vm = v->vm;
	uint64_t close_ns = now_ns() + OPEN_NS, oldest = 0;
	unsigned int i;
	int ret;

	pthread_mutex_lock(&vm->open_lock);
	for (i = 0; i < vm->nr_open && vm->open[i].page != page; i++)
		;
	if (i == vm->nr_open && vm->nr_open == ARM64_OPEN_MAX) {
		oldest = vm->open[0].page; /* full: the oldest closes early */
		memmove(&vm->open[0], &vm->open[1], (ARM64_OPEN_MAX - 1) * sizeof(vm->open[0]));
		i = --vm->nr_open;
	}
	if (i == vm->nr_open)
		vm->nr_open++;
	vm->open[i].page = page;
	vm->open[i].close_ns = close_ns;
	vm->open[i].vcpu = v->index;
	atomic_store(&v->opened, true);
	pthread_mutex_unlock(&vm->open_lock);
	if (oldest && vm->san && a64_san_poisoned(vm->san, oldest, 4096))
		arm64_vm_set_trap(vm, oldest, true);
	ret = arm64_vm_set_trap(vm, page, false);
	if (ret)
		pr_warn("vCPU %u: opening page 0x%llx for an exclusive: %s", v->index,
			(unsigned long long)page, strerror(-ret));
	return ret;
}

/* Close the open pages whose time is up (now) or that vCPU `by` opened (by < nr_vcpus). */
static void close_open_pages(struct arm64_vm *vm, uint64_t now, unsigned int by)
{
	uint64_t close[ARM64_OPEN_MAX];
	unsigned int n = 0, kept = 0;

	pthread_mutex_lock(&vm->open_lock);
	for (unsigned int i = 0; i < vm->nr_open; i++) {
		if (vm->open[i].close_ns <= now || vm->open[i].vcpu == by)
			close[n++] = vm->open[i].page;
		else
			vm->open[kept++] = vm->open[i];
	}
	vm->nr_open = kept;
	pthread_mutex_unlock(&vm->open_lock);
	for (unsigned int i = 0; i < n; i++)
		if (vm->san && a64_san_poisoned(vm->san, close[i], 4096))
			arm64_vm_set_trap(vm, close[i], true);
}

void arm64_trap_tick(struct arm64_vm *vm, uint64_t now)
{
	close_open_pages(vm, now, UINT32_MAX);
}

void arm64_trap_on_exit(struct arm64_vcpu *v)
{
	if (atomic_exchange(&v->opened, false))
		close_open_pages(v->vm, 0, v->index);
}

/*
 * An exclusive or atomic on a trapped page: judge it, then let the CPU run
 * it: an atomic once, single-stepped; an exclusive with the page left open.
 */
static void step_through(struct arm64_vcpu *v, uint64_t ipa)
{
	struct arm64_vm *vm = v->vm;
	struct a64_nisv_result res;
	uint64_t va = 0, off;
	bool exclusive = false;

	if (a64_trap_insn_va(&arm64_nisv_ops, v, &res, &va) == 0) {
		exclusive = res.op.exclusive;
		judge(v, ipa, va, a64_mem_op_bytes(&res.op), res.op.write || exclusive);
	}
	if (exclusive && a64_dev_at(ipa, 1, vm->ram_size, &off) == A64_DEV_RAM && vm->stage2 &&
	    open_for_exclusive(v, ipa & ~0xfffull) == 0)
		return;
	if (a64_dev_at(ipa, 1, vm->ram_size, &off) != A64_DEV_RAM || !vm->stage2 ||
	    arm64_vm_set_trap(vm, ipa & ~0xfffull, false) || set_single_step(v, true)) {
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
		arm64_vm_set_trap(vm, page, true);
}
