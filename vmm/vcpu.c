// SPDX-License-Identifier: MIT
/*
 * vCPUs: creation, boot state, one thread each running KVM_RUN, and the
 * dispatch of every exit reason. An exit we do not handle ends the run with
 * a message naming it; nothing here calls exit().
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ept/ept.h"
#include "vmm/cpl0.h"
#include "vmm/cpuid.h"
#include "vmm/guest_mmu.h"
#include "vmm/kvm_compat.h"
#include "vmm/log.h"
#include "vmm/sanitize.h"
#include "vmm/vcpu_exit.h"
#include "vmm/vm.h"

#define VCPU_KICK_SIGNAL     SIGUSR1
#define MSR_IA32_MISC_ENABLE 0x1a0
#define APIC_LVT0	     0x350
#define APIC_LVT1	     0x360
#define APIC_MODE_NMI	     0x4
#define APIC_MODE_EXTINT     0x7

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

static int vcpu_set_cpuid(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *shared = vcpu->vm->cpuid;
	size_t size = sizeof(*shared) + shared->nent * sizeof(shared->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, shared, size);
	cpuid_set_apic_id(c, vcpu->index);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		pr_err("vCPU %d: KVM_SET_CPUID2: %s", vcpu->index, strerror(errno));
	}
	free(c);
	return ret;
}

static int vcpu_set_msrs_fpu(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs = {.hdr.nmsrs = 1, .e = {{.index = MSR_IA32_MISC_ENABLE, .data = 1}}};
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};

	if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1)
		pr_warn("vCPU %d: KVM_SET_MSRS(MISC_ENABLE) failed", vcpu->index);
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0) {
		pr_err("vCPU %d: KVM_SET_FPU: %s", vcpu->index, strerror(errno));
		return -errno;
	}
	return 0;
}

/* LINT0 ExtINT (the PIC), LINT1 NMI: what firmware leaves for the OS. */
static int vcpu_set_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[APIC_LVT1];

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	*lvt0 = (*lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lvt1 = (*lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vm *vm, int index)
{
	struct vcpu *vcpu = &vm->vcpus[index];
	static bool handler_installed;
	int ret;

	if (!handler_installed) {
		/*
		 * SA_RESTART: a kick that lands while the thread handles an exit
		 * must not fail its write()s or fsync()s. KVM_RUN returns -EINTR
		 * anyway (never restarted), and immediate_exit covers the gap.
		 */
		struct sigaction sa = {.sa_handler = kick_handler, .sa_flags = SA_RESTART};

		sigemptyset(&sa.sa_mask);
		sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
		handler_installed = true;
	}
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, index);
	if (vcpu->fd < 0) {
		pr_err("KVM_CREATE_VCPU %d: %s", index, strerror(errno));
		return -errno;
	}
	vcpu->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		pr_err("vCPU %d: mmap kvm_run: %s", index, strerror(errno));
		return -errno;
	}
	if (vm->ept)
		ept_vcpu_init(vm->ept, (unsigned int)index, vcpu->run);
	ret = vcpu_set_cpuid(vcpu);
	if (!ret)
		ret = vcpu_set_msrs_fpu(vcpu);
	if (!ret)
		ret = vcpu_set_lapic(vcpu);
	if (ret)
		pr_err("vCPU %d: set-up failed: %s", index, strerror(-ret));
	return ret;
}

/* 32-bit protected mode, flat segments from the GDT vmm/ wrote, paging off. */
int vcpu_setup_boot(struct vcpu *vcpu, uint32_t rip, uint32_t rsi, uint32_t rbx)
{
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = rip, .rsi = rsi, .rbx = rbx, .rflags = 2};
	struct kvm_segment code = {.base = 0,
				   .limit = 0xffffffff,
				   .selector = 0x10,
				   .type = 11,
				   .present = 1,
				   .s = 1,
				   .db = 1,
				   .g = 1};
	struct kvm_segment data = code;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	data.selector = 0x18;
	data.type = 3;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = 0x1000;
	s.gdt.limit = 4 * 8 - 1;
	s.cr0 = 0x11; /* PE, ET */
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0 || ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0) {
		pr_err("vCPU %d: boot registers: %s", vcpu->index, strerror(errno));
		return -errno;
	}
	return 0;
}

int vcpu_read_gva(struct vcpu *vcpu, uint64_t gva, void *buf, size_t len)
{
	struct kvm_sregs s;
	struct mmu_state st;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	st.cr0 = s.cr0;
	st.cr3 = s.cr3;
	st.cr4 = s.cr4;
	st.efer = s.efer;
	return mmu_read(&vcpu->vm->ram, &st, gva, buf, len);
}

/* Where the vCPU stopped: RIP and the bytes there, for the message that ends the run. */
static void vcpu_read_site(struct vcpu *vcpu, struct vcpu_exit_site *site)
{
	struct kvm_regs r;

	memset(site, 0, sizeof(*site));
	site->vcpu = (unsigned int)vcpu->index;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0)
		return;
	site->rip_known = true;
	site->rip = r.rip;
	if (vcpu_read_gva(vcpu, r.rip, site->insn, 8) == 0)
		site->insn_len = 8;
}

static int vcpu_read_gva_cb(void *ctx, uint64_t gva, void *buf, size_t len)
{
	return vcpu_read_gva(ctx, gva, buf, len);
}

/*
 * An emulating KVM (kvm_pvm) gives up on a few instructions at guest CPL0
 * that have no CPUID bit to hide (vmm/cpl0.h): int3 becomes the #BP the
 * hardware would raise, fwait and lsl are done here. True when the guest
 * can go on.
 */
static bool vcpu_cpl0_fixup(struct vcpu *vcpu)
{
	static atomic_uint seen[CPL0_FIXUP_LSL + 1];
	const struct cpl0_mem mem = {vcpu_read_gva_cb, vcpu};
	struct kvm_run *run = vcpu->run;
	struct cpl0_action act;
	struct kvm_regs r;
	uint8_t insn[16];
	size_t n = 0;
	int ret;

	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return false;
	if (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) {
		n = run->emulation_failure.insn_size < sizeof(insn)
			? run->emulation_failure.insn_size
			: sizeof(insn);
		memcpy(insn, run->emulation_failure.insn_bytes, n);
	} else if (ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0) {
		/* lsl is up to 5 bytes; near the end of a mapping, one is all there is */
		n = vcpu_read_gva(vcpu, r.rip, insn, 8) == 0   ? 8
		    : vcpu_read_gva(vcpu, r.rip, insn, 1) == 0 ? 1
							       : 0;
	}
	ret = cpl0_fixup_apply(vcpu->fd, insn, n, &mem, &act);
	if (ret < 0)
		pr_err("vCPU %d: handling %s: %s", vcpu->index, cpl0_fixup_name(act.kind),
		       strerror(-ret));
	if (ret <= 0)
		return false;
	/* Logged once per kind: a kernel may hit them thousands of times. */
	if (atomic_fetch_add(&seen[act.kind], 1) == 0)
		pr_info("vCPU %d: KVM cannot emulate %s at CPL0: %s (further ones not logged)",
			vcpu->index, cpl0_fixup_name(act.kind),
			act.kind == CPL0_FIXUP_INT3 ? "delivering #BP to the guest"
						    : "done by kasan-vmm");
	return true;
}

/*
 * Where a stopped vCPU was: rip and the return addresses of its frame-pointer
 * chain (a guest kernel with frame pointers: configs/linux/), raw, for
 * System.map. Says where a guest that never finished is stuck.
 */
void vcpu_log_where(struct vcpu *vcpu)
{
	struct kvm_regs r;
	char buf[256];
	size_t off;
	uint64_t fp;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0)
		return;
	off = (size_t)snprintf(buf, sizeof(buf),
			       "vCPU %d stopped at rip 0x%llx; callers:", vcpu->index,
			       (unsigned long long)r.rip);
	fp = r.rbp;
	for (int i = 0; i < 8 && off < sizeof(buf); i++) {
		uint64_t frame[2]; /* saved rbp, return address */

		if (!fp || vcpu_read_gva(vcpu, fp, frame, sizeof(frame)) || !frame[1])
			break;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " 0x%llx",
					(unsigned long long)frame[1]);
		if (frame[0] <= fp)
			break; /* stacks grow down: a caller's frame is above */
		fp = frame[0];
	}
	pr_warn("%s", buf);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++) {
		if (!ioport_handle(vcpu, run->io.port, is_write, data, run->io.size) && !is_write)
			memset(data, 0xff, run->io.size); /* nothing there: a floating bus */
		data += run->io.size;
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	/* No MMIO devices yet: reads float, writes are dropped. */
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	pr_debug("vCPU %d: MMIO %s at 0x%llx len %u", vcpu->index,
		 run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
		 run->mmio.len);
}

/* Handle one exit; the run ends through vm_stop(). */
static void vcpu_dispatch(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	struct ept_exit x = {.vcpu = (unsigned int)vcpu->index, .vcpu_fd = vcpu->fd, .run = run};
	struct vcpu_exit_site site;
	char msg[320];
	int code;

	if (vm->ept && ept_handle_exit(vm->ept, &x))
		return;
	switch (vcpu_exit_classify(run)) {
	case VCPU_EXIT_CLASS_IO:
		vcpu_handle_io(vcpu);
		san_on_exit(vcpu);
		return;
	case VCPU_EXIT_CLASS_MMIO:
		vcpu_handle_mmio(vcpu);
		san_on_exit(vcpu);
		return;
	case VCPU_EXIT_CLASS_RESUME:
		return;
	case VCPU_EXIT_CLASS_INTERNAL:
		if (vcpu_cpl0_fixup(vcpu))
			return;
		break;
	case VCPU_EXIT_CLASS_END:
		break;
	}
	vcpu_read_site(vcpu, &site);
	code = vcpu_exit_outcome(run, &site, msg, sizeof(msg));
	vm_stop(vm, code, "%s", msg);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;

	while (!atomic_load(&vm->stopping)) {
		int ret;

		/* ept holds vCPUs out of KVM_RUN while it replaces memslots */
		if (vm->ept)
			ept_vcpu_enter(vm->ept, (unsigned int)vcpu->index);
		ret = ioctl(vcpu->fd, KVM_RUN, 0) < 0 ? -errno : 0;
		if (vm->ept)
			ept_vcpu_leave(vm->ept, (unsigned int)vcpu->index);
		if (ret < 0) {
			if (ret == -EINTR || ret == -EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			vm_stop(vm, VMM_EXIT_ERROR, "vCPU %d: KVM_RUN: %s", vcpu->index,
				strerror(-ret));
			break;
		}
		vcpu->exits++;
		vcpu_dispatch(vcpu);
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int err = pthread_create(&vcpu->thread, NULL, vcpu_main, vcpu);

	if (err) {
		pr_err("vCPU %d: thread: %s", vcpu->index, strerror(err));
		return -err;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->run)
		return;
	vcpu->run->immediate_exit = 1;
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd > 0)
		close(vcpu->fd);
}
