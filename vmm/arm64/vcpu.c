// SPDX-License-Identifier: MIT
/*
 * arm64 vCPUs: KVM_ARM_VCPU_INIT with the host's preferred target and
 * in-kernel PSCI 0.2+ (secondaries created powered off, started by the
 * guest's CPU_ON), one thread each running KVM_RUN, and the exit dispatch.
 * An exit we do not handle ends the run with a message naming it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/arm64/a64_san.h"
#include "vmm/arm64/vm.h"
#include "vmm/config.h"
#include "vmm/log.h"

#define KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

static int vcpu_init(struct arm64_vcpu *v)
{
	struct kvm_vcpu_init init;

	if (ioctl(v->vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		pr_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return -errno;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (v->index)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		pr_err("vCPU %u: KVM_ARM_VCPU_INIT (target %u): %s", v->index, init.target,
		       strerror(errno));
		return -errno;
	}
	return arm64_reg_get(v->fd, arm64_reg_mpidr(), &v->mpidr);
}

int arm64_vcpu_create(struct arm64_vm *vm, unsigned int index)
{
	struct arm64_vcpu *v = &vm->vcpus[index];
	static bool handler_installed;
	long size;
	int ret;

	if (!handler_installed) {
		struct sigaction sa = {.sa_handler = kick_handler};

		sigemptyset(&sa.sa_mask);
		sigaction(KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN must return */
		handler_installed = true;
	}
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0) {
		pr_err("KVM_CREATE_VCPU %u: %s", index, strerror(errno));
		return -errno;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run_size = size > 0 ? (size_t)size : 0;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		pr_err("vCPU %u: mmap kvm_run: %s", index, strerror(errno));
		return -errno;
	}
	ret = vcpu_init(v);
	if (ret)
		pr_err("vCPU %u: set-up failed: %s", index, strerror(-ret));
	return ret;
}

static void handle_system_event(struct arm64_vcpu *v)
{
	struct arm64_vm *vm = v->vm;
	uint32_t code = atomic_load(&vm->guest_exit_code);

	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		if (code)
			arm64_vm_stop(vm, (int)code, "the guest powered off with exit code %u",
				      code);
		else
			arm64_vm_stop(vm, VMM_EXIT_OK, "the guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		arm64_vm_stop(vm, VMM_EXIT_REBOOT, "the guest asked for a reboot (PSCI)");
		break;
	default:
		arm64_vm_stop(vm, VMM_EXIT_UNHANDLED, "vCPU %u: system event %u", v->index,
			      v->run->system_event.type);
	}
}

static void describe_pc(struct arm64_vcpu *v, char *buf, size_t len)
{
	uint64_t pc;

	if (arm64_reg_get(v->fd, arm64_reg_pc(), &pc))
		snprintf(buf, len, "at an unknown pc");
	else
		snprintf(buf, len, "at pc 0x%llx", (unsigned long long)pc);
}

static void dispatch(struct arm64_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct arm64_vm *vm = v->vm;
	char where[64];

	arm64_trap_on_exit(v); /* a page it opened for an exclusive closes now */
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		arm64_handle_mmio(v);
		break;
	case KVM_EXIT_ARM_NISV:
		arm64_handle_nisv(v);
		break;
	case KVM_EXIT_DEBUG:
		arm64_handle_debug(v);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(v);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_FAIL_ENTRY:
		arm64_vm_stop(vm, VMM_EXIT_UNHANDLED,
			      "KVM_EXIT_FAIL_ENTRY on vCPU %u: reason 0x%llx", v->index,
			      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		describe_pc(v, where, sizeof(where));
		arm64_vm_stop(vm, VMM_EXIT_EMULATION, "KVM internal error %u on vCPU %u %s",
			      run->internal.suberror, v->index, where);
		return;
	default:
		describe_pc(v, where, sizeof(where));
		arm64_vm_stop(vm, VMM_EXIT_UNHANDLED, "unhandled exit %u on vCPU %u %s",
			      run->exit_reason, v->index, where);
		return;
	}
	a64_san_on_exit(vm->san);
}

static void *vcpu_main(void *arg)
{
	struct arm64_vcpu *v = arg;
	struct arm64_vm *vm = v->vm;

	while (arm64_vm_enter_run(v)) {
		int ret = ioctl(v->fd, KVM_RUN, 0), err = errno;

		arm64_vm_leave_run(v);
		if (ret < 0) {
			if (err == EINTR || err == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			arm64_vm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->index,
				      strerror(err));
			break;
		}
		dispatch(v);
	}
	return NULL;
}

int arm64_vcpu_start(struct arm64_vcpu *v)
{
	int err = pthread_create(&v->thread, NULL, vcpu_main, v);

	if (err) {
		pr_err("vCPU %u: thread: %s", v->index, strerror(err));
		return -err;
	}
	v->thread_started = true;
	return 0;
}

void arm64_vcpu_kick(struct arm64_vcpu *v)
{
	if (!v->run)
		return;
	v->run->immediate_exit = 1;
	if (v->thread_started)
		pthread_kill(v->thread, KICK_SIGNAL);
}

void arm64_vcpu_destroy(struct arm64_vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd > 0)
		close(v->fd);
}
