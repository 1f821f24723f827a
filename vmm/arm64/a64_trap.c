// SPDX-License-Identifier: MIT
/* Device lookup, the kasan-vmm page's stores, and NISV emulation through callbacks. */
#include <errno.h>
#include <string.h>

#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/a64_trap.h"

#define PAGE 4096ull

static bool within(uint64_t ipa, uint64_t len, uint64_t base, uint64_t size, uint64_t *off)
{
	if (ipa < base || ipa - base >= size || len > size - (ipa - base))
		return false;
	*off = ipa - base;
	return true;
}

enum a64_dev a64_dev_at(uint64_t ipa, uint64_t len, uint64_t ram_size, uint64_t *offset)
{
	if (within(ipa, len, A64_RAM_BASE, ram_size, offset))
		return A64_DEV_RAM;
	if (within(ipa, len, A64_UART_BASE, A64_UART_SIZE, offset))
		return A64_DEV_UART;
	if (within(ipa, len, A64_KVMM_BASE, A64_KVMM_SIZE, offset))
		return A64_DEV_KVMM;
	*offset = 0;
	return A64_DEV_NONE;
}

enum a64_kvmm_cmd a64_kvmm_store(uint64_t offset, unsigned int len)
{
	if (len != 4)
		return A64_KVMM_IGNORE; /* x86 takes the doorbell as one outl only, too */
	if (offset == A64_KVMM_DOORBELL_OFFSET)
		return A64_KVMM_DOORBELL;
	if (offset == A64_KVMM_EXIT_OFFSET)
		return A64_KVMM_EXIT_CODE;
	return A64_KVMM_IGNORE;
}

/* ---- NISV emulation ---- */

struct nisv {
	const struct a64_nisv_ops *ops;
	void *ctx;
	struct a64_mmu_regs mmu;
};

static int nisv_read_phys(void *ctx, uint64_t ipa, uint64_t *val)
{
	struct nisv *n = ctx;

	return n->ops->read_ram(n->ctx, ipa, val, sizeof(*val)) ? -EFAULT : 0;
}

/* One access, split where it crosses a page: each page translates on its own. */
static int nisv_mem(struct nisv *n, uint64_t va, uint8_t *buf, unsigned int len, bool write)
{
	while (len) {
		unsigned int part = (unsigned int)(PAGE - (va & (PAGE - 1)));
		uint64_t ipa;
		int err;

		if (part > len)
			part = len;
		if (a64_mmu_translate(&n->mmu, va, nisv_read_phys, n, &ipa))
			return -EFAULT;
		err = n->ops->access(n->ctx, ipa, va, buf, part, write);
		if (err)
			return err;
		va += part;
		buf += part;
		len -= part;
	}
	return 0;
}

static int nisv_read_mem(void *ctx, uint64_t va, void *buf, unsigned int len)
{
	return nisv_mem(ctx, va, buf, len, false);
}

static int nisv_write_mem(void *ctx, uint64_t va, const void *buf, unsigned int len)
{
	uint8_t copy[32]; /* a pair of Q registers */

	if (len > sizeof(copy))
		return -EINVAL;
	memcpy(copy, buf, len); /* access() takes a mutable buffer for reads and writes alike */
	return nisv_mem(ctx, va, copy, len, true);
}

static int nisv_read_gpr(void *ctx, unsigned int r, uint64_t *val)
{
	struct nisv *n = ctx;

	return n->ops->read_gpr(n->ctx, r, val);
}

static int nisv_write_gpr(void *ctx, unsigned int r, uint64_t val)
{
	struct nisv *n = ctx;

	return n->ops->write_gpr(n->ctx, r, val);
}

static int nisv_read_vreg(void *ctx, unsigned int r, uint8_t val[16])
{
	struct nisv *n = ctx;

	return n->ops->read_vreg(n->ctx, r, val);
}

static int nisv_write_vreg(void *ctx, unsigned int r, const uint8_t val[16])
{
	struct nisv *n = ctx;

	return n->ops->write_vreg(n->ctx, r, val);
}

/* PC, the stage-1 registers and the instruction word at PC. */
static int fetch(struct nisv *n, struct a64_nisv_result *res)
{
	uint64_t pc_ipa;
	int err;

	memset(res, 0, sizeof(*res));
	err = n->ops->read_gpr(n->ctx, A64_REG_PC, &res->pc);
	if (!err)
		err = n->ops->mmu_regs(n->ctx, &n->mmu);
	if (err)
		return err;
	if ((res->pc & 3) || a64_mmu_translate(&n->mmu, res->pc, nisv_read_phys, n, &pc_ipa) ||
	    n->ops->read_ram(n->ctx, pc_ipa, &res->insn, sizeof(res->insn)))
		return -EFAULT;
	return a64_insn_decode(res->insn, &res->op) ? -EINVAL : 0;
}

int a64_trap_insn_va(const struct a64_nisv_ops *ops, void *ctx, struct a64_nisv_result *res,
		     uint64_t *va)
{
	struct nisv n = {.ops = ops, .ctx = ctx};
	uint64_t x[31] = {0}, sp = 0, new_base;
	int err = fetch(&n, res);

	if (err)
		return err;
	if (!res->op.literal)
		err = res->op.rn == 31 ? ops->read_gpr(ctx, A64_REG_SP, &sp)
				       : ops->read_gpr(ctx, res->op.rn, &x[res->op.rn]);
	if (!err && res->op.reg_offset && res->op.rm < 31)
		err = ops->read_gpr(ctx, res->op.rm, &x[res->op.rm]);
	if (!err)
		err = a64_mem_op_address_pc(&res->op, x, sp, res->pc, va, &new_base);
	return err;
}

int a64_nisv_emulate(const struct a64_nisv_ops *ops, void *ctx, struct a64_nisv_result *res)
{
	struct a64_emul_ops eo = {
	    .read_gpr = nisv_read_gpr,
	    .write_gpr = nisv_write_gpr,
	    .read_vreg = ops->read_vreg ? nisv_read_vreg : NULL,
	    .write_vreg = ops->write_vreg ? nisv_write_vreg : NULL,
	    .read_mem = nisv_read_mem,
	    .write_mem = nisv_write_mem,
	};
	struct nisv n = {.ops = ops, .ctx = ctx};
	int err = fetch(&n, res);

	return err ? err : a64_mem_op_emulate(&res->op, &eo, &n);
}
