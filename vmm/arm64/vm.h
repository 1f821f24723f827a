/* SPDX-License-Identifier: MIT */
/*
 * The arm64 VM (arm64-only: built by vmm/arm64/arm64.mk with the aarch64
 * cross compiler). KVM handles, guest RAM (one anonymous mapping that KVM
 * and the VMM share; traps are memslot holes), stage-2 holes, the vGIC,
 * the UART, the sanitizer, vCPU threads, and how a run ends.
 */
#ifndef VMM_ARM64_VM_H
#define VMM_ARM64_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/arm64/a64_cli.h"

struct a64_stage2;
struct a64_san;
struct uart;
struct arm64_vm;

#define ARM64_OPEN_MAX 32 /* pages open for exclusives at a time */

struct arm64_vcpu {
	struct arm64_vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint64_t mpidr;
	pthread_t thread;
	bool thread_started;
	uint64_t step_page;  /* page opened for a single step (+1), 0: none */
	bool in_run;	     /* inside KVM_RUN (vm->gate_lock) */
	_Atomic bool opened; /* opened a page for an exclusive: close at its next exit */
};

struct arm64_vm {
	const struct a64_cli *cli;
	int kvm_fd, vm_fd, gic_fd;
	unsigned int ipa_bits;
	bool nisv_to_user; /* KVM_CAP_ARM_NISV_TO_USER enabled */
	bool mte;	   /* KVM_CAP_ARM_MTE enabled: guest RAM carries allocation tags */
	bool mte_ldg;	   /* and RAM is mapped PROT_MTE here: the VMM reads tags with LDG */
	uint8_t *kvm_map;  /* guest RAM, as registered with KVM */
	uint8_t *alias;	   /* the VMM's view of it: kvm_map (holes are memslots, not protections) */
	uint64_t ram_size;
	struct a64_stage2 *stage2;
	struct a64_san *san; /* NULL with --mode off */
	struct uart *uart;
	int console_fd;
	unsigned int nr_vcpus;
	struct arm64_vcpu *vcpus;
	_Atomic uint32_t guest_exit_code; /* written at doorbell page + 8 */

	/*
	 * Memslot changes stop the world: replacing a region's memslots leaves
	 * its pages unmapped for a moment, and a vCPU fetching code or walking
	 * its page tables there would get an abort injected by KVM. vCPUs pass
	 * a gate before KVM_RUN; arm64_vm_set_trap() closes it, kicks the vCPUs
	 * out of KVM_RUN and waits for them (vm.c).
	 */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	bool gate_closed;
	unsigned int nr_in_run;

	/* Pages opened for a load/store-exclusive, closed again by the tick (trap.c). */
	pthread_mutex_t open_lock;
	struct {
		uint64_t page, close_ns;
		unsigned int vcpu; /* who opened it */
	} open[ARM64_OPEN_MAX];
	unsigned int nr_open;

	atomic_bool stopping;
	int exit_code;
	char stop_reason[512];
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
};

/* vm.c */
int arm64_vm_create(struct arm64_vm *vm, const struct a64_cli *cli);
int arm64_vm_load_and_start(struct arm64_vm *vm);
int arm64_vm_wait(struct arm64_vm *vm);
void arm64_vm_destroy(struct arm64_vm *vm);
void arm64_vm_stop(struct arm64_vm *vm, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Arm (trap) or disarm a RAM page with every vCPU out of KVM_RUN. 0 or -errno. */
int arm64_vm_set_trap(struct arm64_vm *vm, uint64_t ipa_page, bool armed);
/* The gate around KVM_RUN (vcpu.c): false once the VM is stopping. */
bool arm64_vm_enter_run(struct arm64_vcpu *vcpu);
void arm64_vm_leave_run(struct arm64_vcpu *vcpu);

/* gic.c: the vGIC v3 (create before the vCPUs, finalize after). */
int arm64_gic_create(struct arm64_vm *vm);
int arm64_gic_finalize(struct arm64_vm *vm);
void arm64_gic_set_spi(struct arm64_vm *vm, unsigned int spi, int level);

/* boot.c: Image, initrd and device tree into RAM; vCPU 0's entry registers. */
int arm64_boot_load(struct arm64_vm *vm);
/* The same checks without a VM: -ENOEXEC/-EFBIG (bad input) before anything is created. */
int arm64_boot_check(const struct a64_cli *cli);

/* vcpu.c */
int arm64_vcpu_create(struct arm64_vm *vm, unsigned int index);
int arm64_vcpu_start(struct arm64_vcpu *vcpu);
void arm64_vcpu_kick(struct arm64_vcpu *vcpu);
void arm64_vcpu_destroy(struct arm64_vcpu *vcpu);

/* regs.c: KVM_GET/SET_ONE_REG for the core and system registers we use. */
int arm64_reg_get(int vcpu_fd, uint64_t id, uint64_t *val);
int arm64_reg_set(int vcpu_fd, uint64_t id, uint64_t val);
uint64_t arm64_reg_x(unsigned int n); /* X0..X30 */
uint64_t arm64_reg_pc(void);
uint64_t arm64_reg_pstate(void);
uint64_t arm64_reg_sp_el0(void);
uint64_t arm64_reg_sp_el1(void);
uint64_t arm64_reg_mpidr(void);
/* The a64_nisv_ops of a stopped vCPU (vmm/arm64/a64_trap.h). */
struct a64_nisv_ops;
extern const struct a64_nisv_ops arm64_nisv_ops;
/* Fill the judge's view of a vCPU (PC, x29, x30, stage-1 registers). */
struct a64_san_cpu;
int arm64_san_cpu(struct arm64_vcpu *vcpu, struct a64_san_cpu *out);

/* trap.c: exits that are accesses (MMIO with ISV, NISV), and the single step. */
/* One data access of a trapped instruction (struct a64_nisv_ops.access; ctx: the vCPU). */
int arm64_trap_access(void *ctx, uint64_t ipa, uint64_t va, void *buf, unsigned int len,
		      bool write);
void arm64_handle_mmio(struct arm64_vcpu *vcpu);
void arm64_handle_nisv(struct arm64_vcpu *vcpu);
void arm64_handle_debug(struct arm64_vcpu *vcpu);
/* The periodic tick: close the pages opened for exclusives whose time is up. */
void arm64_trap_tick(struct arm64_vm *vm, uint64_t now_ns);
/* Every exit to the VMM: close the pages this vCPU opened at an earlier one. */
void arm64_trap_on_exit(struct arm64_vcpu *vcpu);

/* mte.c */
int arm64_mte_enable(struct arm64_vm *vm);
/* Extra mmap protection for guest RAM (PROT_MTE when the VMM can read tags). */
int arm64_mte_ram_prot(const struct arm64_vm *vm);
/* Copy the guest's tags of the page holding ipa into the sanitizer's MTE map. */
int arm64_mte_sync_page(struct arm64_vm *vm, uint64_t ipa);

#endif /* VMM_ARM64_VM_H */
