/* SPDX-License-Identifier: MIT */
/*
 * What a guest access outside the KVM memslots is: which device (RAM hole,
 * UART, the kasan-vmm page), what a store to the kasan-vmm page means, and
 * the emulation of accesses KVM could not describe (KVM_EXIT_ARM_NISV: no
 * ESR syndrome, e.g. LDP/STP, writeback, SIMD): fetch the instruction at
 * PC through the guest's stage-1 tables, decode it (a64_insn.h), perform
 * each memory access through the VMM's `access` callback, write the
 * registers back and step PC.
 *
 * Portable: the vCPU and guest memory are reached through callbacks, so the
 * whole path is unit-tested on x86 with a fake vCPU.
 */
#ifndef VMM_ARM64_A64_TRAP_H
#define VMM_ARM64_A64_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/arm64/a64_insn.h"
#include "vmm/arm64/a64_mmu.h"

enum a64_dev { A64_DEV_NONE, A64_DEV_RAM, A64_DEV_UART, A64_DEV_KVMM };

/* The device holding all of [ipa, ipa + len), and the offset into it. */
enum a64_dev a64_dev_at(uint64_t ipa, uint64_t len, uint64_t ram_size, uint64_t *offset);

enum a64_kvmm_cmd { A64_KVMM_IGNORE, A64_KVMM_DOORBELL, A64_KVMM_EXIT_CODE };

/* A store of len bytes at offset into the kasan-vmm page: 32-bit stores only. */
enum a64_kvmm_cmd a64_kvmm_store(uint64_t offset, unsigned int len);

struct a64_nisv_ops {
	/* Registers: as struct a64_emul_ops (n 0..30 X, 31 SP, 32 PC). */
	int (*read_gpr)(void *ctx, unsigned int n, uint64_t *val);
	int (*write_gpr)(void *ctx, unsigned int n, uint64_t val);
	int (*read_vreg)(void *ctx, unsigned int n, uint8_t val[16]); /* NULL: no SIMD */
	int (*write_vreg)(void *ctx, unsigned int n, const uint8_t val[16]);
	int (*mmu_regs)(void *ctx, struct a64_mmu_regs *r);
	/* Plain guest RAM read (page tables, the instruction); -EFAULT outside RAM. */
	int (*read_ram)(void *ctx, uint64_t ipa, void *buf, unsigned int len);
	/*
	 * One data access of the emulated instruction, never crossing a page:
	 * the VMM judges it and completes it (RAM through its alias, or a
	 * device). va is the address the guest used, tag included.
	 */
	int (*access)(void *ctx, uint64_t ipa, uint64_t va, void *buf, unsigned int len,
		      bool write);
};

struct a64_nisv_result {
	uint64_t pc;
	uint32_t insn;
	struct a64_mem_op op;
};

/*
 * Emulate the load/store at the vCPU's PC. 0: done, PC advanced by 4.
 * -ENOTSUP: exclusive or atomic (the VMM must let the CPU run it, e.g.
 * single-stepped with the page open). -EINVAL: not an emulable load/store.
 * -EFAULT: PC or the data address does not translate. Callback errors are
 * passed back. Registers are written only once every read succeeded.
 */
int a64_nisv_emulate(const struct a64_nisv_ops *ops, void *ctx, struct a64_nisv_result *res);

/*
 * The address (tag included) that the load/store at PC accesses, without
 * performing it: for accesses KVM did describe (ISV), whose exit carries
 * only the IPA. Same errors as a64_nisv_emulate; exclusives and atomics
 * are fine here.
 */
int a64_trap_insn_va(const struct a64_nisv_ops *ops, void *ctx, struct a64_nisv_result *res,
		     uint64_t *va);

#endif /* VMM_ARM64_A64_TRAP_H */
