/* SPDX-License-Identifier: MIT */
/*
 * The virtual machine: KVM handles, guest RAM (memfd mapped twice), vCPU
 * threads, devices, and how a run ends. One struct vm per process.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/config.h"
#include "vmm/guest_ram.h"

struct uart;
struct ept;
struct san;

/* What the host's KVM was found to do (vmm/probe.c). */
struct host_probe {
	char kind[32];	     /* "kvm_pvm", "vmx", "svm", "unknown" */
	bool cpl0_emulated;  /* guest kernel code runs in KVM's instruction emulator */
	uint64_t cannot_run; /* bit per enum probe_insn: fails at guest CPL0 */
	bool insn_bytes_on_emulation_failure; /* KVM_CAP_EXIT_ON_EMULATION_FAILURE enabled */
	int nr_memslots;
};

struct vcpu {
	struct vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	uint64_t exits;
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	struct host_probe probe;

	int mem_fd;	      /* memfd backing guest RAM */
	uint8_t *kvm_map;     /* mapping registered with KVM (may be protected for traps) */
	struct guest_ram ram; /* ram.alias: always read-write mapping of the same memfd */
	struct ept *ept;      /* guest RAM memslots, page arming and traps (ept/) */

	struct kvm_cpuid2 *cpuid; /* filtered, shared by all vCPUs before per-vCPU tweaks */
	unsigned int nr_vcpus;
	struct vcpu *vcpus;

	struct uart *uart;
	struct san *san; /* NULL with --mode off */
	int console_fd;	 /* console copy file, or -1 */

	/* How the run ends: the first vCPU (or the timer) to set `stopping` wins. */
	atomic_bool stopping;
	int exit_code;
	char stop_reason[512];
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
};

int vm_create(struct vm *vm, const struct vm_config *cfg);
int vm_load_and_start(struct vm *vm);
/* Waits for the guest to end (or the timeout); returns the process exit code. */
int vm_wait(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Ends the run with `code` unless it is already ending; kicks every vCPU out of KVM_RUN. */
void vm_stop(struct vm *vm, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Probe the host's KVM (vmm/probe.c). kvm_fd is an open /dev/kvm. */
int host_probe_run(int kvm_fd, struct host_probe *probe);

/* vCPU (vmm/vcpu.c) */
int vcpu_create(struct vm *vm, int index);
int vcpu_setup_boot(struct vcpu *vcpu, uint32_t rip, uint32_t rsi, uint32_t rbx);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
/* After the run: log where a vCPU was (rip and frame-pointer callers), e.g. at a timeout. */
void vcpu_log_where(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

/* Port I/O dispatch (vmm/ioport.c): returns true if handled. */
bool ioport_handle(struct vcpu *vcpu, uint16_t port, bool is_write, uint8_t *data, uint32_t size);

/* Read guest memory at a guest virtual address using the vCPU's paging state. */
int vcpu_read_gva(struct vcpu *vcpu, uint64_t gva, void *buf, size_t len);

#endif /* VMM_VM_H */
