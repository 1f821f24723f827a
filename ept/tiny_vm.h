/* SPDX-License-Identifier: MIT */
/*
 * A tiny 64-bit VM on the real /dev/kvm, for ept's host probe, its tests and
 * its benchmark: guest RAM is a memfd mapped twice (KVM's mapping and an RW
 * alias, like the VMM's), identity-mapped with 2 MiB pages over the first
 * GiB, vCPUs in long mode at CPL0. Memory is registered by ept (or plainly).
 */
#ifndef EPT_TINY_VM_H
#define EPT_TINY_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "ept/ept.h"

#define TINY_VM_MAX_VCPUS 4
#define TINY_VM_PML4	  0x1000
#define TINY_VM_CODE	  0x10000 /* conventional places for tests */
#define TINY_VM_DATA	  0x20000
#define TINY_VM_STACK	  0x80000

struct tiny_vm {
	int kvm_fd, vm_fd, mem_fd;
	uint8_t *kvm_map, *alias;
	uint64_t size;
	unsigned int nr_vcpus;
	int vcpu_fd[TINY_VM_MAX_VCPUS];
	struct kvm_run *run[TINY_VM_MAX_VCPUS];
	pthread_t thread[TINY_VM_MAX_VCPUS]; /* the one in tiny_vm_run, for kicks */
	atomic_bool has_thread[TINY_VM_MAX_VCPUS];
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
};

/* size: multiple of 2 MiB, at most 1 GiB. No memslot is registered yet. */
int tiny_vm_create(struct tiny_vm *t, int kvm_fd, uint64_t size, unsigned int nr_vcpus);
void tiny_vm_destroy(struct tiny_vm *t);
/* All RAM as one memslot, without ept (baselines). */
int tiny_vm_register_plain(struct tiny_vm *t);
/*
 * An ept_config for this VM's RAM and its vCPU kicks (judge, policy and
 * mechanism left to the caller).
 */
void tiny_vm_ept_config(struct tiny_vm *t, struct ept_config *cfg);
void tiny_vm_put(struct tiny_vm *t, uint64_t gpa, const void *bytes, size_t len);
/* Long mode, flat segments, then these registers (rflags forced to 2 if 0). */
int tiny_vm_set_regs(struct tiny_vm *t, unsigned int vcpu, const struct kvm_regs *regs);
/*
 * KVM_RUN until an exit ept does not handle; returns its exit reason, or
 * -errno. vCPUs may run on threads of their own at once.
 */
int tiny_vm_run(struct tiny_vm *t, unsigned int vcpu, struct ept *ept);

#endif /* EPT_TINY_VM_H */
