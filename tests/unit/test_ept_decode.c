/* SPDX-License-Identifier: MIT */
/*
 * ept's memory-operand decoder for instructions KVM cannot emulate: the
 * linear address of AVX, cmpxchg16b and xsave operands in every ModRM form
 * it handles, and the forms it must refuse (register operands, one-byte
 * opcodes, EVEX, truncated bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ept/ept_internal.h"

static const struct kvm_regs regs = {
    .rax = 0x1000,
    .rcx = 0x20,
    .rbx = 0x300000,
    .rsi = 0x400fe0,
    .rdi = 0x500000,
    .r8 = 0x80000,
    .r13 = 0x7000,
    .rip = 0x10000,
};
static struct kvm_sregs sregs;

static uint64_t operand(const uint8_t *insn, unsigned int len)
{
	uint64_t lin = 0;
	uint32_t span = 0;

	assert_true(ept_insn_mem_operand(insn, len, &regs, &sregs, &lin, &span));
	return lin;
}

static uint32_t span_of(const uint8_t *insn, unsigned int len)
{
	uint64_t lin = 0;
	uint32_t span = 0;

	assert_true(ept_insn_mem_operand(insn, len, &regs, &sregs, &lin, &span));
	return span;
}

static void refused(const uint8_t *insn, unsigned int len)
{
	uint64_t lin;
	uint32_t span;

	assert_false(ept_insn_mem_operand(insn, len, &regs, &sregs, &lin, &span));
}

static void test_modrm_forms(void **state)
{
	(void)state;
	/* vmovdqu ymm0,[rsi] (VEX2) */
	assert_int_equal(operand((uint8_t[]){0xc5, 0xfe, 0x6f, 0x06}, 4), 0x400fe0);
	/* vmovdqu ymm0,[rdi+0x10] (disp8) */
	assert_int_equal(operand((uint8_t[]){0xc5, 0xfe, 0x6f, 0x47, 0x10}, 5), 0x500010);
	/* vmovdqu ymm0,[rdi-0x10] (negative disp8) */
	assert_int_equal(operand((uint8_t[]){0xc5, 0xfe, 0x6f, 0x47, 0xf0}, 5), 0x4ffff0);
	/* vmovdqu ymm0,[rbx+rcx*8+0x100] (SIB, disp32) */
	assert_int_equal(operand((uint8_t[]){0xc5, 0xfe, 0x6f, 0x84, 0xcb, 0, 1, 0, 0}, 9),
			 0x300000 + 0x20 * 8 + 0x100);
	/* VEX3 with ~X ~B clear: vmovdqu ymm0,[r13+r8*2] (mod 1, disp8 0: r13 needs it) */
	assert_int_equal(operand((uint8_t[]){0xc4, 0x81, 0x7e, 0x6f, 0x44, 0x45, 0x00}, 7),
			 0x7000 + 0x80000 * 2);
	/* lock cmpxchg16b [rsi] (REX.W, 0f c7 /1) */
	assert_int_equal(operand((uint8_t[]){0xf0, 0x48, 0x0f, 0xc7, 0x0e}, 5), 0x400fe0);
	/* xsave [rax] (0f ae /4) */
	assert_int_equal(operand((uint8_t[]){0x0f, 0xae, 0x20}, 3), 0x1000);
	/* SIB without base (mod 0, base 5): [rcx*4+0x2000] */
	assert_int_equal(operand((uint8_t[]){0xc5, 0xfe, 0x6f, 0x04, 0x8d, 0, 0x20, 0, 0}, 9),
			 0x20 * 4 + 0x2000);
}

static void test_rip_relative_and_segments(void **state)
{
	(void)state;
	/* vmovdqu ymm0,[rip+0x100]: from the next instruction (8 bytes) */
	assert_int_equal(operand((uint8_t[]){0xc5, 0xfe, 0x6f, 0x05, 0, 1, 0, 0}, 8),
			 0x10000 + 8 + 0x100);
	/* gs: vmovdqu ymm0,gs:[rsi] adds the segment base */
	sregs.gs.base = 0xffff888000000000ull;
	assert_int_equal(operand((uint8_t[]){0x65, 0xc5, 0xfe, 0x6f, 0x06}, 5),
			 0xffff888000000000ull + 0x400fe0);
	sregs.gs.base = 0;
	/* addr32: [eax-0x2000] wraps at 4 GiB */
	assert_int_equal(operand((uint8_t[]){0x67, 0xc5, 0xfe, 0x6f, 0x80, 0, 0xe0, 0xff, 0xff}, 9),
			 0xfffff000);
}

static void test_refused_forms(void **state)
{
	(void)state;
	refused((uint8_t[]){0xc5, 0xfe, 0x6f, 0xc1}, 4);	     /* register operand */
	refused((uint8_t[]){0x48, 0x8b, 0x06, 0x90}, 4);	     /* one-byte opcode map */
	refused((uint8_t[]){0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x06}, 6); /* EVEX */
	refused((uint8_t[]){0xc5, 0xfe, 0x6f, 0x84, 0xcb, 0}, 6);    /* disp32 cut short */
	refused((uint8_t[]){0xc5, 0xfe}, 2);			     /* truncated */
	refused((uint8_t[]){0}, 0);
	/* 0f-map opcodes without ModRM: the next byte is no operand */
	refused((uint8_t[]){0x0f, 0x05, 0x06, 0x90}, 4);	     /* syscall */
	refused((uint8_t[]){0x0f, 0x0b, 0x06, 0x90}, 4);	     /* ud2 */
	refused((uint8_t[]){0x0f, 0x31, 0x06, 0x90}, 4);	     /* rdtsc */
	refused((uint8_t[]){0x0f, 0x84, 0x06, 0, 0, 0}, 6);	     /* je rel32 */
	refused((uint8_t[]){0x0f, 0xc8, 0x06, 0x90}, 4);	     /* bswap eax */
	refused((uint8_t[]){0xc4, 0xe2, 0x7d, 0x90, 0x04, 0x8e}, 6); /* vpgatherdd: VSIB */
	refused((uint8_t[]){0x0f, 0xae, 0x38}, 3);		     /* clflush [rax]: 0f ae /7 */
	refused((uint8_t[]){0x0f, 0xc7, 0x30}, 3);		     /* vmptrld [rax]: 0f c7 /6 */
	refused((uint8_t[]){0xc4, 0xe3, 0x7d, 0x18, 0x06, 0x01}, 6); /* 0f3a: not served */
}

/* How far past the address each served instruction may reach. */
static void test_spans(void **state)
{
	(void)state;
	assert_int_equal(span_of((uint8_t[]){0x0f, 0xae, 0x20}, 3), 4096);     /* xsave */
	assert_int_equal(span_of((uint8_t[]){0x0f, 0xae, 0x28}, 3), 4096);     /* xrstor */
	assert_int_equal(span_of((uint8_t[]){0x0f, 0xae, 0x00}, 3), 4096);     /* fxsave */
	assert_int_equal(span_of((uint8_t[]){0x0f, 0xae, 0x08}, 3), 4096);     /* fxrstor */
	assert_int_equal(span_of((uint8_t[]){0x0f, 0xc7, 0x28}, 3), 4096);     /* xsaves */
	assert_int_equal(span_of((uint8_t[]){0x0f, 0xc7, 0x20}, 3), 4096);     /* xsavec */
	assert_int_equal(span_of((uint8_t[]){0x0f, 0xc7, 0x18}, 3), 4096);     /* xrstors */
	assert_int_equal(span_of((uint8_t[]){0x48, 0x0f, 0xc7, 0x0e}, 4), 16); /* cmpxchg16b */
	assert_int_equal(span_of((uint8_t[]){0xc5, 0xfe, 0x6f, 0x06}, 4), 32); /* vmovdqu ymm */
	assert_int_equal(span_of((uint8_t[]){0xf3, 0x0f, 0x6f, 0x06}, 4), 16); /* movdqu xmm */
}

/* Plain read-modify-writes of memory: one Write at their read exit. */
static void test_decode_plain_rmw(void **state)
{
	(void)state;
	assert_true(
	    ept_insn_is_rmw((uint8_t[]){0x49, 0x0f, 0xab, 0x1c, 0x24}, 5)); /* bts r,[r12] */
	assert_true(
	    ept_insn_is_rmw((uint8_t[]){0x48, 0x0f, 0xba, 0x2e, 0x05}, 5)); /* bts [rsi],5 */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x48, 0x0f, 0xba, 0x26, 0x05}, 5)); /* bt: reads */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x48, 0x0f, 0xa3, 0x06}, 4)); /* bt [rsi],rax */
	assert_true(ept_insn_is_rmw((uint8_t[]){0x01, 0x06}, 2));	       /* add [rsi],eax */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x39, 0x06}, 2));	       /* cmp [rsi],eax */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x03, 0x06}, 2));	 /* add eax,[rsi]: reads */
	assert_true(ept_insn_is_rmw((uint8_t[]){0x83, 0x06, 0x01}, 3));	 /* add [rsi],1 */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x83, 0x3e, 0x01}, 3)); /* cmp [rsi],1 */
	assert_true(ept_insn_is_rmw((uint8_t[]){0xfe, 0x06}, 2));	 /* inc byte [rsi] */
	assert_true(ept_insn_is_rmw((uint8_t[]){0xf7, 0x16}, 2));	 /* not [rsi] */
	assert_false(ept_insn_is_rmw((uint8_t[]){0xf7, 0x06, 0, 0, 0, 0}, 6)); /* test */
	assert_true(ept_insn_is_rmw((uint8_t[]){0xd1, 0x26}, 2));	       /* shl [rsi],1 */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x48, 0x01, 0xd8}, 3));       /* add rax,rbx */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x48, 0x89, 0x06}, 3)); /* mov: writes only */
	assert_true(ept_insn_is_rmw((uint8_t[]){0xf0, 0x48, 0x0f, 0xc1, 0x1e}, 5)); /* locked too */
	assert_false(ept_insn_is_rmw((uint8_t[]){0x0f}, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_modrm_forms),
	    cmocka_unit_test(test_rip_relative_and_segments),
	    cmocka_unit_test(test_refused_forms),
	    cmocka_unit_test(test_spans),
	    cmocka_unit_test(test_decode_plain_rmw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
