// SPDX-License-Identifier: MIT
/*
 * arm64 trap handling without KVM: device lookup, the kasan-vmm page, and
 * NISV emulation of real instruction words against a fake vCPU (MMU off and
 * a one-page-table MMU on), checking memory, registers, PC and the exact
 * accesses the VMM is asked to judge.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/a64_trap.h"

#define RAM_SIZE 0x40000ull
#define CODE	 0x1000ull /* RAM offset of the instruction */
#define DATA	 0x8000ull /* RAM offset of the data */

struct access {
	uint64_t ipa, va;
	unsigned int len;
	bool write;
};

struct fake {
	uint64_t x[31], sp, pc;
	uint8_t v[32][16];
	struct a64_mmu_regs mmu;
	uint8_t ram[RAM_SIZE];
	struct access acc[8];
	unsigned int nacc;
};

static int f_read_gpr(void *ctx, unsigned int n, uint64_t *val)
{
	struct fake *f = ctx;

	*val = n == A64_REG_PC ? f->pc : n == A64_REG_SP ? f->sp : f->x[n];
	return 0;
}

static int f_write_gpr(void *ctx, unsigned int n, uint64_t val)
{
	struct fake *f = ctx;

	if (n == A64_REG_PC)
		f->pc = val;
	else if (n == A64_REG_SP)
		f->sp = val;
	else
		f->x[n] = val;
	return 0;
}

static int f_read_vreg(void *ctx, unsigned int n, uint8_t val[16])
{
	memcpy(val, ((struct fake *)ctx)->v[n], 16);
	return 0;
}

static int f_write_vreg(void *ctx, unsigned int n, const uint8_t val[16])
{
	memcpy(((struct fake *)ctx)->v[n], val, 16);
	return 0;
}

static int f_mmu(void *ctx, struct a64_mmu_regs *r)
{
	*r = ((struct fake *)ctx)->mmu;
	return 0;
}

static int f_read_ram(void *ctx, uint64_t ipa, void *buf, unsigned int len)
{
	struct fake *f = ctx;

	if (ipa < A64_RAM_BASE || ipa - A64_RAM_BASE + len > RAM_SIZE)
		return -EFAULT;
	memcpy(buf, f->ram + (ipa - A64_RAM_BASE), len);
	return 0;
}

static int f_access(void *ctx, uint64_t ipa, uint64_t va, void *buf, unsigned int len, bool write)
{
	struct fake *f = ctx;
	uint8_t *p;

	assert_true(f->nacc < 8);
	assert_true((ipa & 0xfff) + len <= 0x1000); /* never crosses a page */
	f->acc[f->nacc++] = (struct access){ipa, va, len, write};
	if (ipa < A64_RAM_BASE || ipa - A64_RAM_BASE + len > RAM_SIZE)
		return -EFAULT;
	p = f->ram + (ipa - A64_RAM_BASE);
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	return 0;
}

static const struct a64_nisv_ops ops = {f_read_gpr, f_write_gpr, f_read_vreg, f_write_vreg,
					f_mmu,	    f_read_ram,	 f_access};

static struct fake f;

/* MMU off: VA = IPA. One instruction at CODE, x0 = the data address. */
static void setup(uint32_t insn)
{
	memset(&f, 0, sizeof(f));
	f.pc = A64_RAM_BASE + CODE;
	memcpy(f.ram + CODE, &insn, 4);
	f.x[0] = A64_RAM_BASE + DATA;
	f.x[1] = 0x1111111111111111ull;
	f.x[2] = 0x2222222222222222ull;
}

static uint64_t ram64(uint64_t off)
{
	uint64_t v;

	memcpy(&v, f.ram + off, 8);
	return v;
}

static void test_stp_pre_index(void **state)
{
	struct a64_nisv_result r;

	(void)state;
	setup(0xa9810801); /* stp x1, x2, [x0, #16]! */
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), 0);
	assert_int_equal(r.insn, 0xa9810801);
	assert_int_equal(r.op.nregs, 2);
	assert_int_equal(ram64(DATA + 16), 0x1111111111111111ull);
	assert_int_equal(ram64(DATA + 24), 0x2222222222222222ull);
	assert_int_equal(f.x[0], A64_RAM_BASE + DATA + 16); /* writeback */
	assert_int_equal(f.pc, A64_RAM_BASE + CODE + 4);
	/* One access of the pair's whole footprint: the VMM judges 16 bytes, as KASAN would */
	assert_int_equal(f.nacc, 1);
	assert_int_equal(f.acc[0].ipa, A64_RAM_BASE + DATA + 16);
	assert_int_equal(f.acc[0].va, A64_RAM_BASE + DATA + 16);
	assert_int_equal(f.acc[0].len, 16);
	assert_true(f.acc[0].write);
}

/* A pair of Q registers: one 32-byte access, each register's 16 bytes in order. */
static void test_ldp_q_pair(void **state)
{
	struct a64_nisv_result r;

	(void)state;
	setup(0xad400400); /* ldp q0, q1, [x0] */
	for (int i = 0; i < 32; i++)
		f.ram[DATA + i] = (uint8_t)i;
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), 0);
	assert_int_equal(f.nacc, 1);
	assert_int_equal(f.acc[0].len, 32);
	assert_false(f.acc[0].write);
	assert_memory_equal(f.v[0], f.ram + DATA, 16);
	assert_memory_equal(f.v[1], f.ram + DATA + 16, 16);
}

static void test_ldp_across_a_page(void **state)
{
	struct a64_nisv_result r;

	(void)state;
	setup(0xa9401003);		      /* ldp x3, x4, [x0] */
	f.x[0] = A64_RAM_BASE + DATA + 0xffc; /* 4 bytes before a page boundary */
	memcpy(f.ram + DATA + 0xffc, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12);
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), 0);
	assert_int_equal(f.x[3], 0x0807060504030201ull);
	assert_int_equal(f.x[4] & 0xffffffff, 0x0c0b0a09);
	assert_int_equal(f.x[0], A64_RAM_BASE + DATA + 0xffc); /* no writeback */
	assert_int_equal(f.nacc, 2); /* the pair's 16 bytes, split at the page */
	assert_int_equal(f.acc[0].len, 4);
	assert_int_equal(f.acc[1].ipa, A64_RAM_BASE + DATA + 0x1000);
	assert_int_equal(f.acc[1].va, A64_RAM_BASE + DATA + 0x1000);
	assert_int_equal(f.acc[1].len, 12);
	assert_false(f.acc[1].write);
	assert_int_equal(f.pc, A64_RAM_BASE + CODE + 4);
}

static void test_post_index_and_simd(void **state)
{
	struct a64_nisv_result r;

	(void)state;
	setup(0xf8008401); /* str x1, [x0], #8 */
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), 0);
	assert_int_equal(ram64(DATA), 0x1111111111111111ull);
	assert_int_equal(f.x[0], A64_RAM_BASE + DATA + 8);

	setup(0x3dc00800); /* ldr q0, [x0, #32] */
	for (int i = 0; i < 16; i++)
		f.ram[DATA + 32 + i] = (uint8_t)(0xa0 + i);
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), 0);
	assert_int_equal(f.v[0][0], 0xa0);
	assert_int_equal(f.v[0][15], 0xaf);
	assert_int_equal(f.nacc, 1);
	assert_int_equal(f.acc[0].len, 16);

	setup(0xf8408fe7); /* ldr x7, [sp, #8]! */
	f.sp = A64_RAM_BASE + DATA;
	memcpy(f.ram + DATA + 8, "\x77\x66\x55\x44\x33\x22\x11\x00", 8);
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), 0);
	assert_int_equal(f.x[7], 0x0011223344556677ull);
	assert_int_equal(f.sp, A64_RAM_BASE + DATA + 8);
}

static void test_not_emulated(void **state)
{
	struct a64_nisv_result r;
	struct a64_nisv_ops no_simd = ops;

	(void)state;
	setup(0xc85f7c05); /* ldxr x5, [x0]: the CPU must run it */
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), -ENOTSUP);
	assert_int_equal(f.pc, A64_RAM_BASE + CODE);
	assert_int_equal(f.nacc, 0);
	setup(0xd503201f); /* nop */
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), -EINVAL);
	assert_int_equal(f.pc, A64_RAM_BASE + CODE);
	setup(0x3dc00800); /* ldr q0 without vector register access */
	no_simd.read_vreg = NULL;
	no_simd.write_vreg = NULL;
	assert_int_equal(a64_nisv_emulate(&no_simd, &f, &r), -ENOTSUP);
	setup(0xa9401003);
	f.pc = 0x1000; /* PC outside RAM */
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), -EFAULT);
	setup(0xa9401003);
	f.pc += 2; /* misaligned PC */
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), -EFAULT);
	setup(0xa9401003);
	f.x[0] = 0x10; /* data outside RAM: the access callback refuses, nothing is written */
	f.x[3] = 33;
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), -EFAULT);
	assert_int_equal(f.x[3], 33);
	assert_int_equal(f.pc, A64_RAM_BASE + CODE);
}

/* MMU on, 39-bit VAs (T0SZ 25, 3 levels from L1), 4K granule: VA 0x400000000 -> RAM. */
static void test_mmu_on(void **state)
{
	const uint64_t l1 = 0x10000, l2 = 0x11000, l3 = 0x12000, va = 0x400000000ull;
	uint64_t d;
	struct a64_nisv_result r;

	(void)state;
	setup(0xa9810801); /* stp x1, x2, [x0, #16]! */
	f.mmu.sctlr = 1;
	f.mmu.tcr = 25 | (1ull << 23) /* EPD1 */ | (5ull << 32) /* IPS 48 bits */;
	f.mmu.ttbr0 = A64_RAM_BASE + l1;
	d = (A64_RAM_BASE + l2) | 3;
	memcpy(f.ram + l1 + 8 * ((va >> 30) & 511), &d, 8);
	d = (A64_RAM_BASE + l3) | 3;
	memcpy(f.ram + l2 + 8 * ((va >> 21) & 511), &d, 8);
	d = (A64_RAM_BASE + CODE) | 0x403; /* page: valid, AF */
	memcpy(f.ram + l3 + 0, &d, 8);
	d = (A64_RAM_BASE + DATA) | 0x403;
	memcpy(f.ram + l3 + 8, &d, 8);
	f.pc = va;
	f.x[0] = va + 0x1000;
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), 0);
	assert_int_equal(f.acc[0].ipa, A64_RAM_BASE + DATA + 16);
	assert_int_equal(f.acc[0].va, va + 0x1000 + 16);
	assert_int_equal(ram64(DATA + 16), 0x1111111111111111ull);
	assert_int_equal(f.pc, va + 4);
	f.pc = va + 0x2000; /* unmapped */
	assert_int_equal(a64_nisv_emulate(&ops, &f, &r), -EFAULT);
}

static void test_insn_va(void **state)
{
	struct a64_nisv_result r;
	uint64_t va = 0;

	(void)state;
	setup(0xc85f7c05);		/* ldxr x5, [x0]: not emulated, but its address is known */
	f.x[0] = 0x3400000040008000ull; /* a tagged pointer: the tag is kept */
	assert_int_equal(a64_trap_insn_va(&ops, &f, &r, &va), 0);
	assert_int_equal(va, 0x3400000040008000ull);
	assert_true(r.op.exclusive_or_atomic);
	setup(0xa9810801); /* stp x1, x2, [x0, #16]!: the pre-indexed address */
	assert_int_equal(a64_trap_insn_va(&ops, &f, &r, &va), 0);
	assert_int_equal(va, A64_RAM_BASE + DATA + 16);
	assert_int_equal(f.x[0], A64_RAM_BASE + DATA); /* nothing was performed */
	assert_int_equal(f.pc, A64_RAM_BASE + CODE);
	assert_int_equal(f.nacc, 0);
	setup(0xf8408fe7); /* ldr x7, [sp, #8]! */
	f.sp = 0x1000;
	assert_int_equal(a64_trap_insn_va(&ops, &f, &r, &va), 0);
	assert_int_equal(va, 0x1008);
	setup(0xd503201f); /* nop */
	assert_int_equal(a64_trap_insn_va(&ops, &f, &r, &va), -EINVAL);
}

static void test_devices_and_kvmm_page(void **state)
{
	uint64_t off;

	(void)state;
	assert_int_equal(a64_dev_at(A64_RAM_BASE, 8, RAM_SIZE, &off), A64_DEV_RAM);
	assert_int_equal(off, 0);
	assert_int_equal(a64_dev_at(A64_RAM_BASE + RAM_SIZE - 8, 8, RAM_SIZE, &off), A64_DEV_RAM);
	assert_int_equal(a64_dev_at(A64_RAM_BASE + RAM_SIZE - 4, 8, RAM_SIZE, &off), A64_DEV_NONE);
	assert_int_equal(a64_dev_at(A64_UART_BASE + 5, 1, RAM_SIZE, &off), A64_DEV_UART);
	assert_int_equal(off, 5);
	assert_int_equal(a64_dev_at(A64_KVMM_BASE + 8, 4, RAM_SIZE, &off), A64_DEV_KVMM);
	assert_int_equal(off, 8);
	assert_int_equal(a64_dev_at(A64_KVMM_BASE + 0xffe, 4, RAM_SIZE, &off), A64_DEV_NONE);
	assert_int_equal(a64_dev_at(A64_GIC_DIST_BASE, 4, RAM_SIZE, &off), A64_DEV_NONE);
	assert_int_equal(a64_dev_at(UINT64_MAX - 1, 8, RAM_SIZE, &off), A64_DEV_NONE);

	assert_int_equal(a64_kvmm_store(0, 4), A64_KVMM_DOORBELL);
	assert_int_equal(a64_kvmm_store(8, 4), A64_KVMM_EXIT_CODE);
	assert_int_equal(a64_kvmm_store(0, 8), A64_KVMM_IGNORE);
	assert_int_equal(a64_kvmm_store(0, 1), A64_KVMM_IGNORE);
	assert_int_equal(a64_kvmm_store(4, 4), A64_KVMM_IGNORE);
	assert_int_equal(a64_kvmm_store(0xffc, 4), A64_KVMM_IGNORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stp_pre_index),
	    cmocka_unit_test(test_ldp_q_pair),
	    cmocka_unit_test(test_ldp_across_a_page),
	    cmocka_unit_test(test_post_index_and_simd),
	    cmocka_unit_test(test_not_emulated),
	    cmocka_unit_test(test_mmu_on),
	    cmocka_unit_test(test_devices_and_kvmm_page),
	    cmocka_unit_test(test_insn_va),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
