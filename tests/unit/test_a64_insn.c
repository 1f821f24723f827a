/* SPDX-License-Identifier: MIT */
/*
 * A64 load/store decoding, address computation and emulation
 * (vmm/arm64/a64_insn.h). Instruction words come from Debian's
 * aarch64-linux-gnu-as (-march=armv8.5-a+memtag+lse+rcpc) and objdump; the
 * assembly text is next to each word. Hand-made words say why they are
 * unallocated (objdump prints them as "undefined").
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/arm64/a64_insn.h"

/* ---- ESR data-abort syndromes ---- */

static void esr_isv_load(void **state)
{
	struct a64_dabt d;
	/* EC 0x24, IL, ISV, SAS=2 (4 bytes), SSE, SRT=7, SF=0, AR, FnV=0, WnR=0, DFSC 0x07 */
	uint64_t esr = (0x24ull << 26) | (1u << 25) | (1u << 24) | (2u << 22) | (1u << 21) |
		       (7u << 16) | (1u << 14) | 0x07;

	(void)state;
	assert_int_equal(a64_esr_decode_dabt(esr, &d), 0);
	assert_int_equal(d.ec, 0x24);
	assert_true(d.il);
	assert_true(d.isv);
	assert_int_equal(d.size, 4);
	assert_true(d.sign_extend);
	assert_int_equal(d.srt, 7);
	assert_false(d.sf);
	assert_true(d.acq_rel);
	assert_false(d.write);
	assert_false(d.s1ptw);
	assert_int_equal(d.dfsc, 0x07);
}

static void esr_isv_store_64(void **state)
{
	struct a64_dabt d;
	/* STR X30: SAS=3, SRT=30, SF, WnR; DFSC 0x0f (permission fault, level 3) */
	uint64_t esr = (0x24ull << 26) | (1u << 25) | (1u << 24) | (3u << 22) | (30u << 16) |
		       (1u << 15) | (1u << 6) | 0x0f;

	(void)state;
	assert_int_equal(a64_esr_decode_dabt(esr, &d), 0);
	assert_int_equal(d.size, 8);
	assert_int_equal(d.srt, 30);
	assert_true(d.sf);
	assert_true(d.write);
	assert_false(d.sign_extend);
	assert_false(d.acq_rel);
	assert_int_equal(d.dfsc, 0x0f);
}

static void esr_no_isv(void **state)
{
	struct a64_dabt d;
	/* LDP: ISV=0, so bits 23:14 carry no syndrome; S1PTW, FnV and EA still count */
	uint64_t esr = (0x24ull << 26) | (1u << 25) | (0x3ffu << 14) | (1u << 10) | (1u << 9) |
		       (1u << 7) | 0x04;

	(void)state;
	assert_int_equal(a64_esr_decode_dabt(esr, &d), 0);
	assert_false(d.isv);
	assert_int_equal(d.size, 0);
	assert_int_equal(d.srt, 0);
	assert_false(d.sf);
	assert_true(d.fnv);
	assert_true(d.ea);
	assert_true(d.s1ptw);
	assert_int_equal(d.dfsc, 0x04);
}

static void esr_not_dabt(void **state)
{
	struct a64_dabt d;

	(void)state;
	/* 0x20 instruction abort, 0x16 HVC, 0x01 WFI, 0x3f */
	assert_int_equal(a64_esr_decode_dabt(0x20ull << 26, &d), -EINVAL);
	assert_int_equal(a64_esr_decode_dabt(0x16ull << 26, &d), -EINVAL);
	assert_int_equal(a64_esr_decode_dabt(0x01ull << 26, &d), -EINVAL);
	assert_int_equal(a64_esr_decode_dabt(~0ull, &d), -EINVAL);
	assert_int_equal(a64_esr_decode_dabt((0x25ull << 26) | (1u << 6), &d), 0);
	assert_int_equal(d.ec, 0x25);
	assert_true(d.write);
	/* bits above 31 (ISS2) do not change the decode */
	assert_int_equal(a64_esr_decode_dabt((0xffffffffull << 32) | (0x24ull << 26), &d), 0);
	assert_int_equal(d.ec, 0x24);
}

/* ---- decoding: real encodings ---- */

struct insn_case {
	uint32_t word;
	const char *text;
	struct a64_mem_op want; /* nregs 0 means 1 */
};

#define LIT  A64_RN_PC
#define PRE  A64_WB_PRE
#define POST A64_WB_POST
#define UXTW A64_EXT_UXTW
#define LSL  A64_EXT_LSL
#define SXTW A64_EXT_SXTW
#define SXTX A64_EXT_SXTX

static const struct insn_case decode_cases[] = {
    /* unsigned immediate, scaled by the access size */
    {0xf9400441, "ldr x1, [x2, #8]", {.size = 8, .rt = 1, .rn = 2, .dest_64 = 1, .imm = 8}},
    {0xb90fffe3, "str w3, [sp, #4092]", {.write = 1, .size = 4, .rt = 3, .rn = 31, .imm = 4092}},
    {0x397ffc20, "ldrb w0, [x1, #4095]", {.size = 1, .rt = 0, .rn = 1, .imm = 4095}},
    {0x794004c5, "ldrh w5, [x6, #2]", {.size = 2, .rt = 5, .rn = 6, .imm = 2}},
    {0x39800507,
     "ldrsb x7, [x8, #1]",
     {.size = 1, .rt = 7, .rn = 8, .sign_extend = 1, .dest_64 = 1, .imm = 1}},
    {0x39c00107, "ldrsb w7, [x8]", {.size = 1, .rt = 7, .rn = 8, .sign_extend = 1}},
    {0x79800d49,
     "ldrsh x9, [x10, #6]",
     {.size = 2, .rt = 9, .rn = 10, .sign_extend = 1, .dest_64 = 1, .imm = 6}},
    {0x79c00149, "ldrsh w9, [x10]", {.size = 2, .rt = 9, .rn = 10, .sign_extend = 1}},
    {0xb9bffd8b,
     "ldrsw x11, [x12, #16380]",
     {.size = 4, .rt = 11, .rn = 12, .sign_extend = 1, .dest_64 = 1, .imm = 16380}},
    {0x3900001f, "strb wzr, [x0]", {.write = 1, .size = 1, .rt = 31, .rn = 0}},
    {0x793ffc41, "strh w1, [x2, #8190]", {.write = 1, .size = 2, .rt = 1, .rn = 2, .imm = 8190}},
    {0xf93fffbe,
     "str x30, [x29, #32760]",
     {.write = 1, .size = 8, .rt = 30, .rn = 29, .dest_64 = 1, .imm = 32760}},
    /* unscaled */
    {0xf85f8020, "ldur x0, [x1, #-8]", {.size = 8, .rt = 0, .rn = 1, .dest_64 = 1, .imm = -8}},
    {0xb80ff062, "stur w2, [x3, #255]", {.write = 1, .size = 4, .rt = 2, .rn = 3, .imm = 255}},
    {0xb89000a4,
     "ldursw x4, [x5, #-256]",
     {.size = 4, .rt = 4, .rn = 5, .sign_extend = 1, .dest_64 = 1, .imm = -256}},
    {0x385ff3e6, "ldurb w6, [sp, #-1]", {.size = 1, .rt = 6, .rn = 31, .imm = -1}},
    /* pre/post-index */
    {0xf8410c20,
     "ldr x0, [x1, #16]!",
     {.size = 8, .rt = 0, .rn = 1, .dest_64 = 1, .wb = PRE, .imm = 16}},
    {0xf81f0fe0,
     "str x0, [sp, #-16]!",
     {.write = 1, .size = 8, .rt = 0, .rn = 31, .dest_64 = 1, .wb = PRE, .imm = -16}},
    {0xf8500462,
     "ldr x2, [x3], #-256",
     {.size = 8, .rt = 2, .rn = 3, .dest_64 = 1, .wb = POST, .imm = -256}},
    {0x380014a4,
     "strb w4, [x5], #1",
     {.write = 1, .size = 1, .rt = 4, .rn = 5, .wb = POST, .imm = 1}},
    {0xb88044e6,
     "ldrsw x6, [x7], #4",
     {.size = 4, .rt = 6, .rn = 7, .sign_extend = 1, .dest_64 = 1, .wb = POST, .imm = 4}},
    {0x78dfed28,
     "ldrsh w8, [x9, #-2]!",
     {.size = 2, .rt = 8, .rn = 9, .sign_extend = 1, .wb = PRE, .imm = -2}},
    /* unprivileged */
    {0xf8408820,
     "ldtr x0, [x1, #8]",
     {.size = 8, .rt = 0, .rn = 1, .dest_64 = 1, .imm = 8, .unprivileged = 1}},
    {0x38000862, "sttrb w2, [x3]", {.write = 1, .size = 1, .rt = 2, .rn = 3, .unprivileged = 1}},
    /* register offset */
    {0xf8626820,
     "ldr x0, [x1, x2]",
     {.size = 8, .rt = 0, .rn = 1, .dest_64 = 1, .reg_offset = 1, .rm = 2, .extend = LSL}},
    {0xf8627820,
     "ldr x0, [x1, x2, lsl #3]",
     {.size = 8,
      .rt = 0,
      .rn = 1,
      .dest_64 = 1,
      .reg_offset = 1,
      .rm = 2,
      .extend = LSL,
      .shift = 3}},
    {0xb8655883,
     "ldr w3, [x4, w5, uxtw #2]",
     {.size = 4, .rt = 3, .rn = 4, .reg_offset = 1, .rm = 5, .extend = UXTW, .shift = 2}},
    {0x3868c8e6,
     "ldrb w6, [x7, w8, sxtw]",
     {.size = 1, .rt = 6, .rn = 7, .reg_offset = 1, .rm = 8, .extend = SXTW}},
    {0x782bf949,
     "strh w9, [x10, x11, sxtx #1]",
     {.write = 1,
      .size = 2,
      .rt = 9,
      .rn = 10,
      .reg_offset = 1,
      .rm = 11,
      .extend = SXTX,
      .shift = 1}},
    {0xb8addbec,
     "ldrsw x12, [sp, w13, sxtw #2]",
     {.size = 4,
      .rt = 12,
      .rn = 31,
      .sign_extend = 1,
      .dest_64 = 1,
      .reg_offset = 1,
      .rm = 13,
      .extend = SXTW,
      .shift = 2}},
    {0x3ca27820,
     "str q0, [x1, x2, lsl #4]",
     {.write = 1,
      .size = 16,
      .rt = 0,
      .rn = 1,
      .simd = 1,
      .reg_offset = 1,
      .rm = 2,
      .extend = LSL,
      .shift = 4}},
    {0xfc7f6841,
     "ldr d1, [x2, xzr]",
     {.size = 8, .rt = 1, .rn = 2, .simd = 1, .reg_offset = 1, .rm = 31, .extend = LSL}},
    {0xf87f6be0,
     "ldr x0, [sp, xzr]",
     {.size = 8, .rt = 0, .rn = 31, .dest_64 = 1, .reg_offset = 1, .rm = 31, .extend = LSL}},
    {0x38627820,
     "ldrb w0, [x1, x2, lsl #0]",
     {.size = 1, .rt = 0, .rn = 1, .reg_offset = 1, .rm = 2, .extend = LSL}},
    {0x78625820,
     "ldrh w0, [x1, w2, uxtw #1]",
     {.size = 2, .rt = 0, .rn = 1, .reg_offset = 1, .rm = 2, .extend = UXTW, .shift = 1}},
    /* literal: rn = A64_RN_PC, imm relative to the instruction */
    {0x58000040,
     "ldr x0, . + 8",
     {.size = 8, .rt = 0, .rn = LIT, .dest_64 = 1, .imm = 8, .literal = 1}},
    {0x18ffffe1, "ldr w1, . - 4", {.size = 4, .rt = 1, .rn = LIT, .imm = -4, .literal = 1}},
    {0x987fffe2,
     "ldrsw x2, . + 1048572",
     {.size = 4, .rt = 2, .rn = LIT, .sign_extend = 1, .dest_64 = 1, .imm = 1048572, .literal = 1}},
    {0x9c800003,
     "ldr q3, . - 1048576",
     {.size = 16, .rt = 3, .rn = LIT, .simd = 1, .imm = -1048576, .literal = 1}},
    {0x1c000084,
     "ldr s4, . + 16",
     {.size = 4, .rt = 4, .rn = LIT, .simd = 1, .imm = 16, .literal = 1}},
    {0x5c000005, "ldr d5, .", {.size = 8, .rt = 5, .rn = LIT, .simd = 1, .literal = 1}},
    /* pairs, imm7 scaled */
    {0xa9400440,
     "ldp x0, x1, [x2]",
     {.size = 8, .nregs = 2, .rt = 0, .rt2 = 1, .rn = 2, .dest_64 = 1}},
    {0xa9bf7bfd,
     "stp x29, x30, [sp, #-16]!",
     {.write = 1,
      .size = 8,
      .nregs = 2,
      .rt = 29,
      .rt2 = 30,
      .rn = 31,
      .dest_64 = 1,
      .wb = PRE,
      .imm = -16}},
    {0xa8c17bfd,
     "ldp x29, x30, [sp], #16",
     {.size = 8, .nregs = 2, .rt = 29, .rt2 = 30, .rn = 31, .dest_64 = 1, .wb = POST, .imm = 16}},
    {0x295f90a3,
     "ldp w3, w4, [x5, #252]",
     {.size = 4, .nregs = 2, .rt = 3, .rt2 = 4, .rn = 5, .imm = 252}},
    {0x69601d06,
     "ldpsw x6, x7, [x8, #-256]",
     {.size = 4,
      .nregs = 2,
      .rt = 6,
      .rt2 = 7,
      .rn = 8,
      .sign_extend = 1,
      .dest_64 = 1,
      .imm = -256}},
    {0xad1f8400,
     "stp q0, q1, [x0, #1008]",
     {.write = 1, .size = 16, .nregs = 2, .rt = 0, .rt2 = 1, .rn = 0, .simd = 1, .imm = 1008}},
    {0x6de00c22,
     "ldp d2, d3, [x1, #-512]!",
     {.size = 8, .nregs = 2, .rt = 2, .rt2 = 3, .rn = 1, .simd = 1, .wb = PRE, .imm = -512}},
    {0x2cc09444,
     "ldp s4, s5, [x2], #4",
     {.size = 4, .nregs = 2, .rt = 4, .rt2 = 5, .rn = 2, .simd = 1, .wb = POST, .imm = 4}},
    {0xa8410440,
     "ldnp x0, x1, [x2, #16]",
     {.size = 8,
      .nregs = 2,
      .rt = 0,
      .rt2 = 1,
      .rn = 2,
      .dest_64 = 1,
      .imm = 16,
      .pair_nontemporal = 1}},
    {0xac000c82,
     "stnp q2, q3, [x4]",
     {.write = 1,
      .size = 16,
      .nregs = 2,
      .rt = 2,
      .rt2 = 3,
      .rn = 4,
      .simd = 1,
      .pair_nontemporal = 1}},
    /* FP/SIMD single registers */
    {0x3d7ffc20, "ldr b0, [x1, #4095]", {.size = 1, .rt = 0, .rn = 1, .simd = 1, .imm = 4095}},
    {0x7d000462,
     "str h2, [x3, #2]",
     {.write = 1, .size = 2, .rt = 2, .rn = 3, .simd = 1, .imm = 2}},
    {0xbd4004a4, "ldr s4, [x5, #4]", {.size = 4, .rt = 4, .rn = 5, .simd = 1, .imm = 4}},
    {0xfd0007e6,
     "str d6, [sp, #8]",
     {.write = 1, .size = 8, .rt = 6, .rn = 31, .simd = 1, .imm = 8}},
    {0x3dfffd07, "ldr q7, [x8, #65520]", {.size = 16, .rt = 7, .rn = 8, .simd = 1, .imm = 65520}},
    {0x3cdff149, "ldur q9, [x10, #-1]", {.size = 16, .rt = 9, .rn = 10, .simd = 1, .imm = -1}},
    {0x3c820d8b,
     "str q11, [x12, #32]!",
     {.write = 1, .size = 16, .rt = 11, .rn = 12, .simd = 1, .wb = PRE, .imm = 32}},
    {0x3c9f0420,
     "str q0, [x1], #-16",
     {.write = 1, .size = 16, .rt = 0, .rn = 1, .simd = 1, .wb = POST, .imm = -16}},
/* exclusive, ordered, compare-and-swap, atomics: decoded, flagged */
#define XA .exclusive_or_atomic = 1
#define EX .exclusive = 1 /* load/store-exclusive: one half of a monitor pair */
#define AR .acquire_release = 1
    {0xc85f7c20, "ldxr x0, [x1]", {.size = 8, .rt = 0, .rn = 1, .dest_64 = 1, XA, EX, .rs = 31}},
    {0xc8027c83,
     "stxr w2, x3, [x4]",
     {.write = 1, .size = 8, .rt = 3, .rn = 4, .dest_64 = 1, XA, EX, .rs = 2}},
    {0x885ffcc5, "ldaxr w5, [x6]", {.size = 4, .rt = 5, .rn = 6, XA, EX, AR, .rs = 31}},
    {0x8807fd28,
     "stlxr w7, w8, [x9]",
     {.write = 1, .size = 4, .rt = 8, .rn = 9, XA, EX, AR, .rs = 7}},
    {0xc8dffd6a,
     "ldar x10, [x11]",
     {.size = 8, .rt = 10, .rn = 11, .dest_64 = 1, XA, AR, .rs = 31}},
    {0x889ffdac, "stlr w12, [x13]", {.write = 1, .size = 4, .rt = 12, .rn = 13, XA, AR, .rs = 31}},
    {0x08dffc20, "ldarb w0, [x1]", {.size = 1, .rt = 0, .rn = 1, XA, AR, .rs = 31}},
    {0x485ffca4, "ldaxrh w4, [x5]", {.size = 2, .rt = 4, .rn = 5, XA, EX, AR, .rs = 31}},
    {0xc87f0440,
     "ldxp x0, x1, [x2]",
     {.size = 8, .nregs = 2, .rt = 0, .rt2 = 1, .rn = 2, .dest_64 = 1, XA, EX, .rs = 31}},
    {0xc8200861,
     "stxp w0, x1, x2, [x3]",
     {.write = 1,
      .size = 8,
      .nregs = 2,
      .rt = 1,
      .rt2 = 2,
      .rn = 3,
      .dest_64 = 1,
      XA,
      EX,
      .rs = 0}},
    {0xc8a07c41,
     "cas x0, x1, [x2]",
     {.write = 1, .size = 8, .rt = 1, .rn = 2, .dest_64 = 1, XA, .rs = 0}},
    {0x08e3fca4, "casalb w3, w4, [x5]", {.write = 1, .size = 1, .rt = 4, .rn = 5, XA, AR, .rs = 3}},
    {0x48207c82,
     "casp x0, x1, x2, x3, [x4]",
     {.write = 1, .size = 8, .nregs = 2, .rt = 2, .rt2 = 3, .rn = 4, .dest_64 = 1, XA, .rs = 0}},
    {0xf8200041,
     "ldadd x0, x1, [x2]",
     {.write = 1, .size = 8, .rt = 1, .rn = 2, .dest_64 = 1, XA, .rs = 0}},
    {0xb823009f, "stadd w3, [x4]", {.write = 1, .size = 4, .rt = 31, .rn = 4, XA, .rs = 3}},
    {0xf8e580e6,
     "swpal x5, x6, [x7]",
     {.write = 1, .size = 8, .rt = 6, .rn = 7, .dest_64 = 1, XA, AR, .rs = 5}},
    {0xf8bfc128, "ldapr x8, [x9]", {.size = 8, .rt = 8, .rn = 9, .dest_64 = 1, XA, AR, .rs = 31}},
    {0x38bfc020, "ldaprb w0, [x1]", {.size = 1, .rt = 0, .rn = 1, XA, AR, .rs = 31}},
    {0xd95f8020,
     "ldapur x0, [x1, #-8]",
     {.size = 8, .rt = 0, .rn = 1, .dest_64 = 1, .imm = -8, XA, AR}},
    {0x59004062,
     "stlurh w2, [x3, #4]",
     {.write = 1, .size = 2, .rt = 2, .rn = 3, .imm = 4, XA, AR}},
};

/* Not a memory load/store the VMM can decode: -EINVAL. */
static const struct {
	uint32_t word;
	const char *text;
} reject_cases[] = {
    {0xf9800000, "prfm pldl1keep, [x0]"},
    {0xf8a16800, "prfm pldl1keep, [x0, x1]"},
    {0xf89ff000, "prfum pldl1keep, [x0, #-1]"},
    {0xd8000040, "prfm pldl1keep, . + 8"},
    {0x8b020020, "add x0, x1, x2"},
    {0xd503201f, "nop"},
    {0x14000000, "b ."},
    {0xd65f03c0, "ret"},
    {0xd4000001, "svc #0"},
    {0x4c407000, "ld1 {v0.16b}, [x0] (SIMD structures: not covered)"},
    {0x69000440, "stgp x0, x1, [x2] (MTE)"},
    {0xf8200420, "ldraa x0, [x1] (pointer authentication)"},
    {0xd9600020, "ldg x0, [x1] (MTE)"},
    {0xd50b7e20, "dc civac, x0"},
    {0xd538d080, "mrs x0, tpidr_el1"},
    {0x00000000, "udf #0"},
    {0xb9c00000, "ldrsw opc=11 (unallocated)"},
    {0xe9400000, "ldp opc=11 (unallocated)"},
    {0x7dc00000, "ldr q, size=01 (unallocated)"},
    {0xf8620820, "register offset, option=000 (unallocated)"},
    {0x68400440, "ldnp opc=01 (unallocated)"},
    {0x38a0c020, "ldapr with Rs != 31 (unallocated)"},
};

/* Name of the first field where op differs from the expectation, or NULL. */
static const char *op_mismatch(const struct insn_case *c, const struct a64_mem_op *op)
{
	const struct a64_mem_op *w = &c->want;

#define FIELD(f, want)                                                                             \
	if ((int64_t)op->f != (int64_t)(want))                                                     \
		return #f;
	FIELD(insn, c->word);
	FIELD(write, w->write);
	FIELD(size, w->size);
	FIELD(nregs, w->nregs ? w->nregs : 1);
	FIELD(rt, w->rt);
	FIELD(rt2, w->rt2);
	FIELD(rn, w->rn);
	FIELD(simd, w->simd);
	FIELD(sign_extend, w->sign_extend);
	FIELD(dest_64, w->dest_64);
	FIELD(wb, w->wb);
	FIELD(reg_offset, w->reg_offset);
	FIELD(rm, w->rm);
	FIELD(extend, w->extend);
	FIELD(shift, w->shift);
	FIELD(imm, w->imm);
	FIELD(exclusive_or_atomic, w->exclusive_or_atomic);
	FIELD(exclusive, w->exclusive);
	FIELD(literal, w->literal);
	FIELD(acquire_release, w->acquire_release);
	FIELD(unprivileged, w->unprivileged);
	FIELD(pair_nontemporal, w->pair_nontemporal);
	if (w->exclusive_or_atomic)
		FIELD(rs, w->rs);
#undef FIELD
	return NULL;
}

static void decode_table(void **state)
{
	struct a64_mem_op op;

	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		int err = a64_insn_decode(decode_cases[i].word, &op);

		const char *bad = err ? "decode failed" : op_mismatch(&decode_cases[i], &op);

		if (bad)
			print_message("%08x %s: %s\n", decode_cases[i].word, decode_cases[i].text,
				      bad);
		assert_null(bad);
	}
}

static void decode_rejects(void **state)
{
	struct a64_mem_op op;

	(void)state;
	for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
		int err = a64_insn_decode(reject_cases[i].word, &op);

		if (err != -EINVAL)
			print_message("%08x %s: decoded\n", reject_cases[i].word,
				      reject_cases[i].text);
		assert_int_equal(err, -EINVAL);
	}
}

/* ---- address computation ---- */

static int decode_word(uint32_t word, struct a64_mem_op *op)
{
	int err = a64_insn_decode(word, op);

	assert_int_equal(err, 0);
	return err;
}

static void address_sp_and_xzr(void **state)
{
	uint64_t x[31] = {0}, va, nb;
	struct a64_mem_op op;

	(void)state;
	x[2] = 0x1000;
	decode_word(0xf87f6be0, &op); /* ldr x0, [sp, xzr]: rn 31 is SP, rm 31 is zero */
	assert_int_equal(a64_mem_op_address(&op, x, 0xffff800000008000ull, &va, &nb), 0);
	assert_int_equal(va, 0xffff800000008000ull);
	assert_int_equal(nb, 0xffff800000008000ull);

	decode_word(0xfc7f6841, &op); /* ldr d1, [x2, xzr] */
	assert_int_equal(a64_mem_op_address(&op, x, 0xdead0000, &va, &nb), 0);
	assert_int_equal(va, 0x1000);

	decode_word(0xfd0007e6, &op); /* str d6, [sp, #8] */
	assert_int_equal(a64_mem_op_address(&op, x, 0x8000, &va, &nb), 0);
	assert_int_equal(va, 0x8008);
}

static void address_extend(void **state)
{
	uint64_t x[31] = {0}, va, nb;
	struct a64_mem_op op;

	(void)state;
	x[4] = 0x40000000;
	x[5] = 0xabcd000000000003ull; /* UXTW uses only w5 = 3 */
	decode_word(0xb8655883, &op); /* ldr w3, [x4, w5, uxtw #2] */
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), 0);
	assert_int_equal(va, 0x4000000c);

	x[7] = 0x40001000;
	x[8] = 0x12345678fffffff0ull; /* SXTW: w8 = -16 */
	decode_word(0x3868c8e6, &op); /* ldrb w6, [x7, w8, sxtw] */
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), 0);
	assert_int_equal(va, 0x40000ff0);

	x[13] = 0xfffffffe;	      /* w13 = -2, <<2 = -8 */
	decode_word(0xb8addbec, &op); /* ldrsw x12, [sp, w13, sxtw #2] */
	assert_int_equal(a64_mem_op_address(&op, x, 0x9000, &va, &nb), 0);
	assert_int_equal(va, 0x8ff8);

	x[10] = 0x5000;
	x[11] = (uint64_t)-3;	      /* SXTX #1: -6 */
	decode_word(0x782bf949, &op); /* strh w9, [x10, x11, sxtx #1] */
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), 0);
	assert_int_equal(va, 0x4ffa);

	x[1] = 0x100;
	x[2] = 0x3;
	decode_word(0x3ca27820, &op); /* str q0, [x1, x2, lsl #4] */
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), 0);
	assert_int_equal(va, 0x130);
}

static void address_writeback(void **state)
{
	uint64_t x[31] = {0}, va, nb;
	struct a64_mem_op op;

	(void)state;
	decode_word(0xa9bf7bfd, &op); /* stp x29, x30, [sp, #-16]! */
	assert_int_equal(a64_mem_op_address(&op, x, 0x8000, &va, &nb), 0);
	assert_int_equal(va, 0x7ff0);
	assert_int_equal(nb, 0x7ff0);

	decode_word(0xa8c17bfd, &op); /* ldp x29, x30, [sp], #16 */
	assert_int_equal(a64_mem_op_address(&op, x, 0x7ff0, &va, &nb), 0);
	assert_int_equal(va, 0x7ff0);
	assert_int_equal(nb, 0x8000);

	x[3] = 0x1000;
	decode_word(0xf8500462, &op); /* ldr x2, [x3], #-256 */
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), 0);
	assert_int_equal(va, 0x1000);
	assert_int_equal(nb, 0xf00);

	x[1] = 0x2000;
	decode_word(0x6de00c22, &op); /* ldp d2, d3, [x1, #-512]! */
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), 0);
	assert_int_equal(va, 0x1e00);
	assert_int_equal(nb, 0x1e00);
	assert_int_equal(a64_mem_op_bytes(&op), 16);

	x[0] = 0;		      /* wraps like the CPU: no UB */
	decode_word(0xf85f8020, &op); /* ldur x0, [x1, #-8] */
	x[1] = 0;
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), 0);
	assert_int_equal(va, 0xfffffffffffffff8ull);
}

static void address_literal(void **state)
{
	uint64_t x[31] = {0}, va, nb;
	struct a64_mem_op op;

	(void)state;
	decode_word(0x9c800003, &op); /* ldr q3, . - 1048576 */
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), -EINVAL);
	assert_int_equal(a64_mem_op_address_pc(&op, x, 0, 0x40200000, &va, &nb), 0);
	assert_int_equal(va, 0x40100000);
}

static void address_rejects_bad_fields(void **state)
{
	uint64_t x[31] = {0}, va, nb;
	struct a64_mem_op op;

	(void)state;
	decode_word(0xf8626820, &op); /* ldr x0, [x1, x2] */
	op.rm = 40;
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), -EINVAL);
	decode_word(0xf8626820, &op);
	op.extend = 0;
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), -EINVAL);
	decode_word(0xf9400441, &op);
	op.rn = 32;
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), -EINVAL);
	decode_word(0xf9400441, &op);
	op.size = 3;
	assert_int_equal(a64_mem_op_address(&op, x, 0, &va, &nb), -EINVAL);
}

static void tags(void **state)
{
	(void)state;
	assert_int_equal(a64_ptr_tag(0xf3ff000040001000ull), 0xf3);
	assert_int_equal(a64_untag(0xf3ff000040001000ull), 0xffff000040001000ull);
	assert_int_equal(a64_untag(0x2a00000040001000ull), 0x0000000040001000ull);
	assert_int_equal(a64_untag(0x00ff800000000000ull), 0xffff800000000000ull);
	assert_int_equal(a64_untag(0xff007fffffffffffull), 0x00007fffffffffffull);
	assert_int_equal(a64_ptr_tag(0x0000000040001000ull), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(esr_isv_load),
	    cmocka_unit_test(esr_isv_store_64),
	    cmocka_unit_test(esr_no_isv),
	    cmocka_unit_test(esr_not_dabt),
	    cmocka_unit_test(decode_table),
	    cmocka_unit_test(decode_rejects),
	    cmocka_unit_test(address_sp_and_xzr),
	    cmocka_unit_test(address_extend),
	    cmocka_unit_test(address_writeback),
	    cmocka_unit_test(address_literal),
	    cmocka_unit_test(address_rejects_bad_fields),
	    cmocka_unit_test(tags),
	};
	return cmocka_run_group_tests_name("a64_insn", tests, NULL, NULL);
}
