/* SPDX-License-Identifier: MIT */
/*
 * a64_mem_op_emulate() against a fake vCPU (registers + one page of memory),
 * and a fuzz pass over the decoder: every value of bits [31:10] (all opcode
 * fields) plus millions of pseudo-random words and ESR values, checking that
 * decode never crashes (ASan+UBSan build) and that what it decodes is
 * self-consistent, addressable and emulatable. Words from aarch64-linux-gnu-as.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/arm64/a64_insn.h"

#define MEM_BASE 0x40200000ull
#define MEM_SIZE 4096u

struct fake_cpu {
	uint64_t x[31], sp, pc;
	uint8_t v[32][16];
	uint8_t mem[MEM_SIZE];
	bool permissive; /* fuzz: any address reads zeros, writes vanish */
	uint64_t last_va;
	unsigned int reads, writes, gpr_writes;
	bool wrote_reg31; /* write_gpr(31) means SP: must only happen for rn == 31 */
};

static int get_gpr(void *ctx, unsigned int n, uint64_t *val)
{
	struct fake_cpu *c = ctx;

	if (n > A64_REG_PC)
		return -EINVAL;
	*val = n == A64_REG_PC ? c->pc : n == A64_REG_SP ? c->sp : c->x[n];
	return 0;
}

static int set_gpr(void *ctx, unsigned int n, uint64_t val)
{
	struct fake_cpu *c = ctx;

	if (n > A64_REG_PC)
		return -EINVAL;
	c->gpr_writes++;
	if (n == A64_REG_PC)
		c->pc = val;
	else if (n == A64_REG_SP) {
		c->sp = val;
		c->wrote_reg31 = true;
	} else
		c->x[n] = val;
	return 0;
}

static int get_vreg(void *ctx, unsigned int n, uint8_t val[16])
{
	struct fake_cpu *c = ctx;

	if (n > 31)
		return -EINVAL;
	memcpy(val, c->v[n], 16);
	return 0;
}

static int set_vreg(void *ctx, unsigned int n, const uint8_t val[16])
{
	struct fake_cpu *c = ctx;

	if (n > 31)
		return -EINVAL;
	memcpy(c->v[n], val, 16);
	return 0;
}

/* The page at MEM_BASE, reached through any tag (the VMM would translate with TBI). */
static uint8_t *mem_at(struct fake_cpu *c, uint64_t va, unsigned int len)
{
	uint64_t a = a64_untag(va);

	if (a < MEM_BASE || a - MEM_BASE > MEM_SIZE - len)
		return NULL;
	return c->mem + (a - MEM_BASE);
}

static int read_mem(void *ctx, uint64_t va, void *buf, unsigned int len)
{
	struct fake_cpu *c = ctx;
	uint8_t *p = mem_at(c, va, len);

	assert_true(len >= 1 && len <= 32); /* a pair of Q registers: 32 */
	c->reads++;
	c->last_va = va;
	if (!p && c->permissive) {
		memset(buf, 0, len);
		return 0;
	}
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

static int write_mem(void *ctx, uint64_t va, const void *buf, unsigned int len)
{
	struct fake_cpu *c = ctx;
	uint8_t *p = mem_at(c, va, len);

	assert_true(len >= 1 && len <= 32); /* a pair of Q registers: 32 */
	c->writes++;
	c->last_va = va;
	if (!p)
		return c->permissive ? 0 : -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

static const struct a64_emul_ops fake_ops = {
    .read_gpr = get_gpr,
    .write_gpr = set_gpr,
    .read_vreg = get_vreg,
    .write_vreg = set_vreg,
    .read_mem = read_mem,
    .write_mem = write_mem,
};

static struct fake_cpu cpu;

static int emulate(uint32_t word)
{
	struct a64_mem_op op;

	assert_int_equal(a64_insn_decode(word, &op), 0);
	return a64_mem_op_emulate(&op, &fake_ops, &cpu);
}

static int reset(void **state)
{
	(void)state;
	memset(&cpu, 0, sizeof(cpu));
	cpu.pc = 0x40080000;
	return 0;
}

static uint64_t mem64(unsigned int off)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < 8; i++)
		v |= (uint64_t)cpu.mem[off + i] << (8 * i);
	return v;
}

static void stp_ldp_frame(void **state)
{
	(void)state;
	cpu.sp = MEM_BASE + 0x100;
	cpu.x[29] = 0x1122334455667788ull;
	cpu.x[30] = 0x99aabbccddeeff00ull;
	assert_int_equal(emulate(0xa9bf7bfd), 0); /* stp x29, x30, [sp, #-16]! */
	assert_int_equal(cpu.writes, 1);	  /* one 16-byte access */
	assert_int_equal(cpu.last_va, MEM_BASE + 0xf0);
	assert_int_equal(cpu.sp, MEM_BASE + 0xf0);
	assert_int_equal(mem64(0xf0), 0x1122334455667788ull);
	assert_int_equal(mem64(0xf8), 0x99aabbccddeeff00ull);
	assert_int_equal(cpu.mem[0xf0], 0x88); /* little-endian */
	assert_int_equal(cpu.pc, 0x40080004);

	cpu.x[29] = cpu.x[30] = 0;
	assert_int_equal(emulate(0xa8c17bfd), 0); /* ldp x29, x30, [sp], #16 */
	assert_int_equal(cpu.x[29], 0x1122334455667788ull);
	assert_int_equal(cpu.x[30], 0x99aabbccddeeff00ull);
	assert_int_equal(cpu.sp, MEM_BASE + 0x100);
	assert_int_equal(cpu.pc, 0x40080008);
}

static void loads_extend(void **state)
{
	(void)state;
	cpu.x[8] = MEM_BASE;
	cpu.mem[1] = 0x80;
	cpu.x[7] = ~0ull;
	assert_int_equal(emulate(0x39c00507), 0); /* ldrsb w7, [x8, #1]: W target */
	assert_int_equal(cpu.x[7], 0x00000000ffffff80ull);
	assert_int_equal(emulate(0x39800507), 0); /* ldrsb x7, [x8, #1] */
	assert_int_equal(cpu.x[7], 0xffffffffffffff80ull);

	cpu.x[4] = MEM_BASE;
	cpu.x[5] = 0xffffffff00000002ull; /* uxtw: index 2, << 2 = 8 */
	cpu.x[3] = ~0ull;
	memcpy(cpu.mem + 8, "\x01\x02\x03\x84", 4);
	assert_int_equal(emulate(0xb8655883), 0); /* ldr w3, [x4, w5, uxtw #2] */
	assert_int_equal(cpu.x[3], 0x84030201ull);

	cpu.x[7] = MEM_BASE + 8;
	assert_int_equal(emulate(0xb88044e6), 0); /* ldrsw x6, [x7], #4 */
	assert_int_equal(cpu.x[6], 0xffffffff84030201ull);
	assert_int_equal(cpu.x[7], MEM_BASE + 12);
}

static void simd_registers(void **state)
{
	uint8_t zero12[12] = {0};

	(void)state;
	for (int i = 0; i < 16; i++)
		cpu.v[0][i] = (uint8_t)(0xa0 + i);
	cpu.x[1] = MEM_BASE;
	cpu.x[2] = 2;
	assert_int_equal(emulate(0x3ca27820), 0); /* str q0, [x1, x2, lsl #4] */
	assert_memory_equal(cpu.mem + 32, cpu.v[0], 16);

	memset(cpu.v[4], 0xff, 16);
	cpu.x[5] = MEM_BASE + 28;
	assert_int_equal(emulate(0xbd4004a4), 0); /* ldr s4, [x5, #4] */
	assert_memory_equal(cpu.v[4], cpu.v[0], 4);
	assert_memory_equal(cpu.v[4] + 4, zero12, 12); /* the rest of V4 is zeroed */

	cpu.x[1] = MEM_BASE + 0x200 + 512;
	memset(cpu.mem + 0x200, 0x5a, 8);
	memset(cpu.mem + 0x208, 0xa5, 8);
	assert_int_equal(emulate(0x6de00c22), 0); /* ldp d2, d3, [x1, #-512]! */
	assert_int_equal(cpu.v[2][0], 0x5a);
	assert_int_equal(cpu.v[3][7], 0xa5);
	assert_int_equal(cpu.v[3][8], 0);
	assert_int_equal(cpu.x[1], MEM_BASE + 0x200);
}

static void zero_register(void **state)
{
	(void)state;
	cpu.x[0] = MEM_BASE;
	cpu.mem[0] = 0xff;
	cpu.sp = 0x1234;
	assert_int_equal(emulate(0x3900001f), 0); /* strb wzr, [x0]: stores 0, not SP */
	assert_int_equal(cpu.mem[0], 0);

	cpu.x[1] = MEM_BASE;
	assert_int_equal(emulate(0xf940003f), 0); /* ldr xzr, [x1]: discarded, SP untouched */
	assert_int_equal(cpu.sp, 0x1234);
	assert_false(cpu.wrote_reg31);
	assert_int_equal(cpu.reads, 1);
}

static void literal_load(void **state)
{
	(void)state;
	cpu.pc = MEM_BASE + 0x10;
	cpu.mem[0x18] = 0x42;
	assert_int_equal(emulate(0x58000040), 0); /* ldr x0, . + 8 */
	assert_int_equal(cpu.last_va, MEM_BASE + 0x18);
	assert_int_equal(cpu.x[0], 0x42);
	assert_int_equal(cpu.pc, MEM_BASE + 0x14);
}

static void tagged_base(void **state)
{
	(void)state;
	cpu.x[1] = 0x2a00000000000000ull | MEM_BASE;
	cpu.mem[8] = 7;
	assert_int_equal(emulate(0xf9400420), 0);			 /* ldr x0, [x1, #8] */
	assert_int_equal(cpu.last_va, 0x2a00000000000008ull | MEM_BASE); /* tag kept for the VMM */
	assert_int_equal(cpu.x[0], 7);
}

static void refused(void **state)
{
	(void)state;
	cpu.x[1] = MEM_BASE;
	assert_int_equal(emulate(0xc85f7c20), -ENOTSUP); /* ldxr x0, [x1] */
	assert_int_equal(emulate(0xf8200041), -ENOTSUP); /* ldadd x0, x1, [x2] */
	assert_int_equal(emulate(0xf8408421), -EINVAL);	 /* ldr x1, [x1], #8 (unpredictable) */
	assert_int_equal(emulate(0xa9400020), -EINVAL);	 /* ldp x0, x0, [x1] (unpredictable) */
	assert_int_equal(cpu.reads + cpu.writes + cpu.gpr_writes, 0);
	assert_int_equal(cpu.x[1], MEM_BASE);
	assert_int_equal(cpu.pc, 0x40080000);
}

static void fault_writes_nothing(void **state)
{
	(void)state;
	cpu.sp = MEM_BASE + MEM_SIZE - 8; /* the second register is past the page */
	cpu.x[29] = 1;
	cpu.x[30] = 2;
	assert_int_equal(emulate(0xa8c17bfd), -EFAULT); /* ldp x29, x30, [sp], #16 */
	assert_int_equal(cpu.x[29], 1);
	assert_int_equal(cpu.x[30], 2);
	assert_int_equal(cpu.sp, MEM_BASE + MEM_SIZE - 8);
	assert_int_equal(cpu.pc, 0x40080000);
	assert_int_equal(cpu.gpr_writes, 0);
}

static void simd_without_vreg_callbacks(void **state)
{
	struct a64_emul_ops ops = fake_ops;
	struct a64_mem_op op;

	(void)state;
	ops.read_vreg = NULL;
	ops.write_vreg = NULL;
	assert_int_equal(a64_insn_decode(0xbd4004a4, &op), 0); /* ldr s4, [x5, #4] */
	assert_int_equal(a64_mem_op_emulate(&op, &ops, &cpu), -ENOTSUP);
}

/* ---- fuzz ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned int lg(unsigned int size)
{
	return size == 16 ? 4 : size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
}

/* Invariants any decoded op must satisfy; returns the violated one or NULL. */
static const char *op_invariant(uint32_t w, const struct a64_mem_op *op)
{
	unsigned int s = op->size;

	if (op->insn != w || op->rt != (w & 31))
		return "insn/rt";
	if (s != 1 && s != 2 && s != 4 && s != 8 && !(s == 16 && op->simd))
		return "size";
	if (op->nregs != 1 && op->nregs != 2)
		return "nregs";
	if (op->rt2 > 31 || op->rm > 31 || op->rs > 31)
		return "register number";
	if (op->literal ? op->rn != A64_RN_PC : op->rn != ((w >> 5) & 31))
		return "rn";
	if (op->sign_extend && (op->write || op->simd || s >= 8))
		return "sign_extend";
	if (op->dest_64 && op->simd)
		return "dest_64";
	if (op->simd && op->exclusive_or_atomic)
		return "simd atomic";
	if (op->exclusive && (!op->exclusive_or_atomic || (w & 0x3f800000) != 0x08000000))
		return "exclusive"; /* only load/store-exclusive encodings (bits 29:23) */
	if (op->wb != A64_WB_NONE && (op->exclusive_or_atomic || op->literal || op->reg_offset))
		return "writeback";
	if (op->reg_offset &&
	    ((op->extend & 2) == 0 || (op->shift != 0 && op->shift != lg(s)) || op->nregs != 1))
		return "register offset";
	if (op->literal && (op->write || op->nregs != 1 || op->imm % 4 || op->imm < -(1 << 20) ||
			    op->imm >= (1 << 20)))
		return "literal";
	if (op->nregs == 2 && !op->exclusive_or_atomic &&
	    (op->imm % (int64_t)s || op->imm < -64 * (int64_t)s || op->imm > 63 * (int64_t)s))
		return "pair offset";
	if (op->nregs == 1 && !op->literal && !op->reg_offset &&
	    (op->imm < -256 || op->imm > 4095 * (int64_t)s))
		return "offset range";
	return NULL;
}

/* Address, then emulation on a permissive fake CPU with random registers. */
static void exercise(uint32_t w, const struct a64_mem_op *op)
{
	uint64_t va, nb;
	int err;

	for (int i = 0; i < 31; i++)
		cpu.x[i] = rng();
	cpu.sp = rng();
	cpu.pc = rng() & ~3ull;
	assert_int_equal(a64_mem_op_address_pc(op, cpu.x, cpu.sp, cpu.pc, &va, &nb), 0);
	if (op->wb == A64_WB_POST && op->rn != 31)
		assert_int_equal(va, cpu.x[op->rn]);
	err = a64_mem_op_emulate(op, &fake_ops, &cpu);
	if (err) {
		if (err != -ENOTSUP && err != -EINVAL)
			print_message("%08x: emulate %d\n", w, err);
		assert_true(err == -ENOTSUP || err == -EINVAL);
		assert_int_equal(err == -ENOTSUP, op->exclusive_or_atomic);
	} else {
		assert_int_equal(cpu.reads + cpu.writes, 1); /* one access, pairs included */
	}
	cpu.reads = cpu.writes = 0;
}

static unsigned long check_word(uint32_t w)
{
	struct a64_mem_op op, again;
	const char *bad;

	if (a64_insn_decode(w, &op)) {
		assert_int_equal(op.size, 0); /* nothing a careless caller could act on */
		return 0;
	}
	bad = op_invariant(w, &op);
	if (bad)
		print_message("%08x: %s\n", w, bad);
	assert_null(bad);
	assert_int_equal(a64_insn_decode(w, &again), 0);
	assert_memory_equal(&op, &again, sizeof(op));
	exercise(w, &op);
	return 1;
}

static void fuzz_opcode_space(void **state)
{
	unsigned long decoded = 0;

	(void)state;
	cpu.permissive = true;
	/* every value of bits [31:10]; Rn/Rt random */
	for (uint32_t hi = 0; hi < (1u << 22); hi++)
		decoded += check_word((hi << 10) | (uint32_t)(rng() & 0x3ff));
	print_message("opcode space: %lu of %u words decode\n", decoded, 1u << 22);
	assert_true(decoded > 100000); /* the load/store class is a large part of the space */
}

static void fuzz_random_words(void **state)
{
	unsigned long decoded = 0;

	(void)state;
	cpu.permissive = true;
	for (int i = 0; i < 3000000; i++)
		decoded += check_word((uint32_t)rng());
	assert_true(decoded > 100000);
}

static void fuzz_esr(void **state)
{
	struct a64_dabt d;

	(void)state;
	for (int i = 0; i < 2000000; i++) {
		uint64_t esr = rng();
		unsigned int ec = (esr >> 26) & 0x3f;

		if (i & 1) /* half of them data aborts */
			esr = (esr & ~(0x3full << 26)) | ((uint64_t)(0x24 + (i & 2) / 2) << 26);
		ec = (esr >> 26) & 0x3f;
		if (a64_esr_decode_dabt(esr, &d)) {
			assert_true(ec != 0x24 && ec != 0x25);
			continue;
		}
		assert_int_equal(d.ec, ec);
		assert_true(d.srt < 32 && d.dfsc < 64);
		if (d.isv)
			assert_true(d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8);
		else
			assert_int_equal(d.size, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(stp_ldp_frame, reset),
	    cmocka_unit_test_setup(loads_extend, reset),
	    cmocka_unit_test_setup(simd_registers, reset),
	    cmocka_unit_test_setup(zero_register, reset),
	    cmocka_unit_test_setup(literal_load, reset),
	    cmocka_unit_test_setup(tagged_base, reset),
	    cmocka_unit_test_setup(refused, reset),
	    cmocka_unit_test_setup(fault_writes_nothing, reset),
	    cmocka_unit_test_setup(simd_without_vreg_callbacks, reset),
	    cmocka_unit_test_setup(fuzz_opcode_space, reset),
	    cmocka_unit_test_setup(fuzz_random_words, reset),
	    cmocka_unit_test_setup(fuzz_esr, reset),
	};

	return cmocka_run_group_tests_name("a64_emul", tests, NULL, NULL);
}
