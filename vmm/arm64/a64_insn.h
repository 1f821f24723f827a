/*
 * AArch64 data-abort syndrome and load/store instruction decoding, plus the
 * emulation of one decoded load/store against a register file.
 *
 * Portable C (no <linux/kvm.h>, no arm64 headers): built into the x86 library
 * too so it is unit-tested here. Every input (ESR value, instruction word,
 * register contents) is untrusted: any 32/64-bit value is accepted without UB.
 *
 * Typical VMM use when the guest touches a trapped page:
 *   - ESR has ISV=1: a64_esr_decode_dabt() gives size/register/direction.
 *   - ISV=0 (LDP/STP, writeback, SIMD...): fetch the instruction at PC
 *     (a64_mmu_translate() the PC), a64_insn_decode() it, then
 *     a64_mem_op_emulate() with callbacks for KVM registers and guest memory.
 */
#ifndef KVMM_A64_INSN_H
#define KVMM_A64_INSN_H

#include <stdbool.h>
#include <stdint.h>

/* ---- ESR_ELx data aborts ---- */

#define A64_EC_DABT_LOWER 0x24 /* data abort from a lower EL (the guest) */
#define A64_EC_DABT_CUR	  0x25 /* data abort taken without a change of EL */

struct a64_dabt {	  /* ESR_ELx of a data abort, decoded */
	uint8_t ec;	  /* exception class: 0x24 lower-EL data abort */
	bool isv;	  /* the syndrome below is valid */
	uint8_t size;	  /* bytes: 1,2,4,8 (from SAS) */
	bool sign_extend; /* SSE */
	uint8_t srt;	  /* register Xt/Wt (31 = xzr for loads/stores) */
	bool sf;	  /* 64-bit register */
	bool acq_rel;	  /* AR */
	bool write;	  /* WnR */
	bool s1ptw;	  /* fault on a stage-1 table walk */
	uint8_t dfsc;	  /* fault status code */
	/* additions */
	bool il;      /* 32-bit instruction (always 1 for A64) */
	bool fnv;     /* FAR is not valid */
	bool ea;      /* external abort */
	bool cm;      /* cache maintenance / address translation instruction */
	uint32_t iss; /* raw ISS [24:0] */
};

/* Decodes a data-abort ESR. ISV=0 leaves size/srt/sf/sign_extend/acq_rel 0.
 * -EINVAL if the EC is neither 0x24 nor 0x25. */
int a64_esr_decode_dabt(uint64_t esr, struct a64_dabt *out);

/* ---- load/store instructions ---- */

enum a64_wb { A64_WB_NONE, A64_WB_PRE, A64_WB_POST };

/* a64_mem_op.extend: the instruction's "option" field for register offsets */
enum a64_extend {
	A64_EXT_UXTW = 2, /* zero-extend Wm */
	A64_EXT_LSL = 3,  /* Xm as is (UXTX) */
	A64_EXT_SXTW = 6, /* sign-extend Wm */
	A64_EXT_SXTX = 7, /* Xm as is */
};

/* rn value of a PC-relative literal load (a64_mem_op.literal) */
#define A64_RN_PC 32

struct a64_mem_op { /* one decoded load/store instruction */
	bool write;
	uint8_t size;	     /* bytes per register: 1,2,4,8,16 */
	uint8_t nregs;	     /* 1, or 2 for LDP/STP */
	uint8_t rt, rt2, rn; /* rn == 31 means SP; A64_RN_PC for literals */
	bool simd;	     /* rt/rt2 are V registers (FP/SIMD) */
	bool sign_extend;
	bool dest_64;	/* loads: target width (LDRSx, W/X); stores: Xt, like ESR.SF */
	enum a64_wb wb; /* base writeback */
	bool reg_offset;
	uint8_t rm;
	uint8_t extend;
	uint8_t shift;		  /* register-offset forms: (ext(Xm/Wm) << shift) */
	int64_t imm;		  /* byte offset for immediate forms (already scaled) */
	bool exclusive_or_atomic; /* LDXR/STXR/LDADD/CAS...: decoded but not emulated */
	bool exclusive;		  /* LDXR/STXR/LDAXR/STLXR(+P): half of a monitor pair */
	/* additions */
	bool literal;	       /* LDR (literal): address = PC + imm, rn = A64_RN_PC */
	bool acquire_release;  /* LDAR/STLR/LDAPR/LDAXR... ordering semantics */
	bool unprivileged;     /* LDTR/STTR: checked as EL0 access */
	bool pair_nontemporal; /* LDNP/STNP */
	uint8_t rs;	       /* exclusive/atomic: status or operand register */
	uint32_t insn;	       /* the decoded word */
};

/*
 * Decodes one A64 instruction word. 0 on success; -EINVAL (op zeroed but for
 * insn/rt/rn) if it is not a load/store this decoder covers:
 *   covered: LDR/STR/LDUR/STUR/LDTR/STTR B/H/W/X, LDRS{B,H,W} (unsigned
 *     offset, unscaled, pre/post-index, register offset, literal), LDP/STP/
 *     LDPSW/LDNP/STNP, FP/SIMD B/H/S/D/Q single and S/D/Q pairs; flagged
 *     exclusive_or_atomic (sizes and registers decoded, never emulated):
 *     LDXR/STXR/LDAXR/STLXR(+P), LDAR/STLR/LDLAR/STLLR, LDAPR, LDAPUR/STLUR,
 *     CAS/CASP, LD<op>/ST<op>, SWP. The ordered single-register forms fault
 *     with ISV=1, so the ESR path handles them.
 *   not covered: prefetches (they never fault), SIMD structure loads
 *     (LD1..4/ST1..4), SVE, MTE tag instructions (STG, LDG, STGP...),
 *     LDRAA/LDRAB, LD64B/ST64B, unallocated and should-be-one violations.
 */
int a64_insn_decode(uint32_t insn, struct a64_mem_op *op);

/* Virtual address accessed by op (the first register's; the second of a pair
 * is at va + size) and the base register's value after writeback (== the base
 * when wb is NONE). x[0..30] are X0..X30, sp the current stack pointer; rn 31
 * is SP, rm 31 is XZR. The VA is not untagged. -EINVAL for literals (their
 * base is the PC: use a64_mem_op_address_pc) or an out-of-range field. */
int a64_mem_op_address(const struct a64_mem_op *op, const uint64_t x[31], uint64_t sp, uint64_t *va,
		       uint64_t *new_base);
/* The same with the instruction's address, so literal loads work too. */
int a64_mem_op_address_pc(const struct a64_mem_op *op, const uint64_t x[31], uint64_t sp,
			  uint64_t pc, uint64_t *va, uint64_t *new_base);

/* Total bytes accessed: size * nregs. */
unsigned int a64_mem_op_bytes(const struct a64_mem_op *op);

uint8_t a64_ptr_tag(uint64_t va); /* top byte (TBI) */
uint64_t a64_untag(uint64_t va);  /* canonical form: bit 55 sign-extended into [63:56] */

/* ---- emulation ----
 *
 * a64_mem_op_emulate() performs op as the CPU would have: reads the base,
 * offset and (stores) data registers, accesses memory through the callbacks,
 * writes loaded values (W destinations zero bits [63:32]; SIMD destinations
 * zero the rest of the 128-bit V register; writes to XZR are dropped), writes
 * the base back, and finally sets PC to PC + 4. No register is written unless
 * every memory access succeeded (a pair store may have written its first
 * register's bytes when the second access fails, as a CPU may).
 *
 * Callbacks return 0 or a -errno that a64_mem_op_emulate() passes back.
 *   read_gpr/write_gpr: n = 0..30 X registers, 31 = SP (the stack pointer
 *     the instruction used: SP_EL1 at EL1h, SP_EL0 at EL1t/EL0), 32 = PC.
 *   read_vreg/write_vreg (SIMD ops only): n = 0..31, 16 bytes little-endian
 *     (byte 0 is the least significant byte of Qn).
 *   read_mem/write_mem: len = a64_mem_op_bytes(op) bytes at guest VA va (as
 *     computed by the guest, tag included: the VMM translates it, e.g. with
 *     a64_mmu_translate, which honours TBI); little-endian data. One call per
 *     instruction: a pair is one access of both registers (up to 32 bytes),
 *     the footprint a sanitizer judges; an access may cross a page.
 * Memory accesses happen in register order (rt, then rt2).
 *
 * Returns 0, the callback's error, -ENOTSUP for exclusive/atomic ops (they
 * need the real CPU: the VMM should let the guest retry natively), or -EINVAL
 * for a constrained-unpredictable form (load pair with rt == rt2, writeback
 * with rn == rt/rt2 and rn != 31).
 */
struct a64_emul_ops {
	int (*read_gpr)(void *ctx, unsigned int n, uint64_t *val);
	int (*write_gpr)(void *ctx, unsigned int n, uint64_t val);
	int (*read_vreg)(void *ctx, unsigned int n, uint8_t val[16]);
	int (*write_vreg)(void *ctx, unsigned int n, const uint8_t val[16]);
	int (*read_mem)(void *ctx, uint64_t va, void *buf, unsigned int len);
	int (*write_mem)(void *ctx, uint64_t va, const void *buf, unsigned int len);
};

#define A64_REG_SP 31
#define A64_REG_PC 32

int a64_mem_op_emulate(const struct a64_mem_op *op, const struct a64_emul_ops *ops, void *ctx);

#endif
