/*
 * Address computation and emulation of one decoded A64 load/store (the
 * interface is in a64_insn.h). The op may come from anywhere, so every field
 * is range-checked before it selects a register or sizes a buffer.
 */
#include "vmm/arm64/a64_insn.h"

#include <errno.h>
#include <string.h>

unsigned int a64_mem_op_bytes(const struct a64_mem_op *op)
{
	return (unsigned int)op->size * op->nregs;
}

static bool valid_size(uint8_t size, bool simd)
{
	return size == 1 || size == 2 || size == 4 || size == 8 || (simd && size == 16);
}

static bool op_fields_valid(const struct a64_mem_op *op)
{
	if (!valid_size(op->size, op->simd) || op->nregs < 1 || op->nregs > 2)
		return false;
	if (op->rt > 31 || op->rt2 > 31 || (op->rn > 31 && !op->literal))
		return false;
	if (op->literal && (op->wb != A64_WB_NONE || op->reg_offset))
		return false;
	if (op->wb != A64_WB_NONE && op->wb != A64_WB_PRE && op->wb != A64_WB_POST)
		return false;
	if (op->reg_offset) {
		if (op->wb != A64_WB_NONE || op->rm > 31 || op->shift > 4)
			return false;
		if (op->extend != A64_EXT_UXTW && op->extend != A64_EXT_LSL &&
		    op->extend != A64_EXT_SXTW && op->extend != A64_EXT_SXTX)
			return false;
	}
	return true;
}

static uint64_t extend_reg(uint64_t v, uint8_t extend)
{
	switch (extend) {
	case A64_EXT_UXTW:
		return v & 0xffffffffull;
	case A64_EXT_SXTW:
		return ((v & 0xffffffffull) ^ 0x80000000ull) - 0x80000000ull;
	default: /* LSL (UXTX), SXTX: the full 64 bits */
		return v;
	}
}

int a64_mem_op_address_pc(const struct a64_mem_op *op, const uint64_t x[31], uint64_t sp,
			  uint64_t pc, uint64_t *va, uint64_t *new_base)
{
	uint64_t base, offset;

	if (!op_fields_valid(op))
		return -EINVAL;
	if (op->literal)
		base = pc;
	else
		base = op->rn == 31 ? sp : x[op->rn];
	if (op->reg_offset)
		offset = extend_reg(op->rm == 31 ? 0 : x[op->rm], op->extend) << op->shift;
	else
		offset = (uint64_t)op->imm; /* two's complement wrap, as the CPU adds */
	*va = op->wb == A64_WB_POST ? base : base + offset;
	*new_base = op->wb == A64_WB_NONE ? base : base + offset;
	return 0;
}

int a64_mem_op_address(const struct a64_mem_op *op, const uint64_t x[31], uint64_t sp, uint64_t *va,
		       uint64_t *new_base)
{
	if (op->literal)
		return -EINVAL;
	return a64_mem_op_address_pc(op, x, sp, 0, va, new_base);
}

/* ---- emulation ---- */

static void put_le(uint8_t *buf, uint64_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *buf, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	return v;
}

/* The value a GPR load leaves in Xt: sign- or zero-extended, W targets cut to 32 bits. */
static uint64_t load_value(const struct a64_mem_op *op, const uint8_t *buf)
{
	unsigned int nbits = op->size * 8u;
	uint64_t v = get_le(buf, op->size);

	if (op->sign_extend && nbits < 64) {
		uint64_t m = 1ull << (nbits - 1);

		v = (v ^ m) - m;
	}
	return op->dest_64 ? v : v & 0xffffffffull;
}

static bool unpredictable(const struct a64_mem_op *op)
{
	bool wb = op->wb != A64_WB_NONE && !op->literal;

	if (!op->write && op->nregs == 2 && op->rt == op->rt2)
		return true;
	if (wb && !op->simd && op->rn != 31 &&
	    (op->rn == op->rt || (op->nregs == 2 && op->rn == op->rt2)))
		return true;
	return false;
}

/* Reads the base and offset registers into x/sp (only those op uses). */
static int read_address_regs(const struct a64_mem_op *op, const struct a64_emul_ops *ops, void *ctx,
			     uint64_t x[31], uint64_t *sp)
{
	int err = 0;

	if (!op->literal)
		err = op->rn == 31 ? ops->read_gpr(ctx, A64_REG_SP, sp)
				   : ops->read_gpr(ctx, op->rn, &x[op->rn]);
	if (!err && op->reg_offset && op->rm != 31)
		err = ops->read_gpr(ctx, op->rm, &x[op->rm]);
	return err;
}

/*
 * One memory access for the whole instruction: a pair's two registers are
 * adjacent in memory, so the VMM judges the footprint the instruction has
 * (an out-of-bounds LDP of 16 bytes is "Read of size 16" at its address, as
 * KASAN reports a 16-byte access), not two halves of which one looks fine.
 */
static int store_regs(const struct a64_mem_op *op, const struct a64_emul_ops *ops, void *ctx,
		      uint64_t va)
{
	uint8_t buf[2 * 16] = {0};
	uint8_t regs[2] = {op->rt, op->rt2};
	int err;

	for (unsigned int i = 0; i < op->nregs; i++) {
		uint8_t *part = buf + i * op->size;
		uint8_t v16[16];
		uint64_t v = 0;

		if (op->simd) {
			err = ops->read_vreg(ctx, regs[i], v16);
			memcpy(part, v16, op->size);
		} else {
			err = regs[i] == 31 ? 0 : ops->read_gpr(ctx, regs[i], &v);
			put_le(part, v, op->size);
		}
		if (err)
			return err;
	}
	return ops->write_mem(ctx, va, buf, a64_mem_op_bytes(op));
}

static int load_regs(const struct a64_mem_op *op, const struct a64_emul_ops *ops, void *ctx,
		     uint64_t va)
{
	uint8_t buf[2 * 16] = {0};
	uint8_t regs[2] = {op->rt, op->rt2};
	int err = ops->read_mem(ctx, va, buf, a64_mem_op_bytes(op));

	for (unsigned int i = 0; !err && i < op->nregs; i++) {
		const uint8_t *part = buf + i * op->size;
		uint8_t v16[16] = {0};

		if (op->simd) {
			memcpy(v16, part, op->size);
			err = ops->write_vreg(ctx, regs[i], v16); /* upper bytes stay 0 */
		} else if (regs[i] != 31) {
			err = ops->write_gpr(ctx, regs[i], load_value(op, part));
		}
	}
	return err;
}

int a64_mem_op_emulate(const struct a64_mem_op *op, const struct a64_emul_ops *ops, void *ctx)
{
	uint64_t x[31] = {0}, sp = 0, pc, va, new_base;
	int err;

	if (!op_fields_valid(op))
		return -EINVAL;
	if (op->exclusive_or_atomic || (op->simd && (!ops->read_vreg || !ops->write_vreg)))
		return -ENOTSUP;
	if (unpredictable(op))
		return -EINVAL;
	err = ops->read_gpr(ctx, A64_REG_PC, &pc);
	if (!err)
		err = read_address_regs(op, ops, ctx, x, &sp);
	if (!err)
		err = a64_mem_op_address_pc(op, x, sp, pc, &va, &new_base);
	if (!err)
		err = op->write ? store_regs(op, ops, ctx, va) : load_regs(op, ops, ctx, va);
	if (!err && op->wb != A64_WB_NONE)
		err = ops->write_gpr(ctx, op->rn == 31 ? A64_REG_SP : op->rn, new_base);
	if (!err)
		err = ops->write_gpr(ctx, A64_REG_PC, pc + 4);
	return err;
}
