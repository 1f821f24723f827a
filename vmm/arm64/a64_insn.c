/*
 * A64 load/store decoding and ESR data-abort syndromes (Arm ARM C4.1.66 "Loads
 * and Stores" encoding index, D17 ESR_EL2). Every 32-bit word is accepted:
 * fields are extracted with masks, never used as shift counts or array
 * indices before they are range-checked.
 */
#include "shadow/tags.h"
#include "vmm/arm64/a64_insn.h"

#include <errno.h>
#include <string.h>

static inline uint32_t bits(uint32_t v, unsigned int hi, unsigned int lo)
{
	return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

/* Sign-extends the low n bits of v (1 <= n <= 32) without relying on signed shifts. */
static int64_t sign_extend(uint32_t v, unsigned int n)
{
	uint64_t m = 1ull << (n - 1);
	uint64_t x = v & ((m << 1) - 1);

	return (int64_t)((x ^ m) - m);
}

int a64_esr_decode_dabt(uint64_t esr, struct a64_dabt *out)
{
	uint32_t iss = (uint32_t)(esr & 0x1ffffff);
	uint8_t ec = (uint8_t)((esr >> 26) & 0x3f);

	if (ec != A64_EC_DABT_LOWER && ec != A64_EC_DABT_CUR)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->ec = ec;
	out->iss = iss;
	out->il = (esr >> 25) & 1;
	out->isv = bits(iss, 24, 24);
	if (out->isv) {
		/* Only meaningful with ISV: otherwise RES0 or used by other features. */
		out->size = (uint8_t)(1u << bits(iss, 23, 22));
		out->sign_extend = bits(iss, 21, 21);
		out->srt = (uint8_t)bits(iss, 20, 16);
		out->sf = bits(iss, 15, 15);
		out->acq_rel = bits(iss, 14, 14);
	}
	out->fnv = bits(iss, 10, 10);
	out->ea = bits(iss, 9, 9);
	out->cm = bits(iss, 8, 8);
	out->s1ptw = bits(iss, 7, 7);
	out->write = bits(iss, 6, 6);
	out->dfsc = (uint8_t)bits(iss, 5, 0);
	return 0;
}

static void op_init(struct a64_mem_op *op, uint32_t insn)
{
	memset(op, 0, sizeof(*op));
	op->insn = insn;
	op->nregs = 1;
	op->rt = (uint8_t)bits(insn, 4, 0);
	op->rn = (uint8_t)bits(insn, 9, 5);
}

/*
 * size/V/opc of the single-register classes (unsigned offset, unscaled,
 * pre/post-index, unprivileged, register offset). -EINVAL for prefetches and
 * unallocated combinations.
 */
static int decode_size_opc(struct a64_mem_op *op, uint32_t size, bool v, uint32_t opc)
{
	op->simd = v;
	if (v) {
		if (opc >= 2) { /* 128-bit Q: size must be 00 */
			if (size != 0)
				return -EINVAL;
			op->size = 16;
		} else {
			op->size = (uint8_t)(1u << size);
		}
		op->write = !(opc & 1);
		return 0;
	}
	op->size = (uint8_t)(1u << size);
	switch (opc) {
	case 0: /* STR*: dest_64 says Xt, as ESR.SF would */
		op->write = true;
		op->dest_64 = size == 3;
		return 0;
	case 1: /* LDR* zero-extending */
		op->dest_64 = size == 3;
		return 0;
	case 2: /* LDRSB/LDRSH/LDRSW to X; size 3 is PRFM */
		if (size == 3)
			return -EINVAL;
		op->sign_extend = true;
		op->dest_64 = true;
		return 0;
	default: /* LDRSB/LDRSH to W */
		if (size >= 2)
			return -EINVAL;
		op->sign_extend = true;
		return 0;
	}
}

static unsigned int log2_size(uint8_t size)
{
	return size == 16 ? 4 : size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
}

/* LDR (literal): address = PC + imm19 * 4. */
static int decode_literal(uint32_t insn, struct a64_mem_op *op)
{
	uint32_t opc = bits(insn, 31, 30);
	bool v = bits(insn, 26, 26);

	op->literal = true;
	op->rn = A64_RN_PC;
	op->imm = sign_extend(bits(insn, 23, 5), 19) * 4;
	op->simd = v;
	if (v) {
		if (opc == 3)
			return -EINVAL;
		op->size = (uint8_t)(4u << opc);
		return 0;
	}
	switch (opc) {
	case 0:
		op->size = 4;
		return 0;
	case 1:
		op->size = 8;
		op->dest_64 = true;
		return 0;
	case 2: /* LDRSW (literal) */
		op->size = 4;
		op->sign_extend = true;
		op->dest_64 = true;
		return 0;
	default: /* PRFM (literal) */
		return -EINVAL;
	}
}

/* LDP/STP/LDPSW/LDNP/STNP, integer and FP/SIMD, offset/pre/post. */
static int decode_pair(uint32_t insn, struct a64_mem_op *op)
{
	uint32_t opc = bits(insn, 31, 30), idx = bits(insn, 24, 23);
	bool v = bits(insn, 26, 26), load = bits(insn, 22, 22);

	if (opc == 3)
		return -EINVAL;
	op->nregs = 2;
	op->rt2 = (uint8_t)bits(insn, 14, 10);
	op->write = !load;
	op->simd = v;
	if (v) {
		op->size = (uint8_t)(4u << opc);
	} else if (opc == 1) {
		/* LDPSW; the store slot (L=0) is STGP (MTE tags), not handled */
		if (!load || idx == 0)
			return -EINVAL;
		op->size = 4;
		op->sign_extend = true;
		op->dest_64 = true;
	} else {
		op->size = opc ? 8 : 4;
		op->dest_64 = opc == 2;
	}
	op->pair_nontemporal = idx == 0;
	op->wb = idx == 1 ? A64_WB_POST : idx == 3 ? A64_WB_PRE : A64_WB_NONE;
	op->imm = sign_extend(bits(insn, 21, 15), 7) * op->size;
	return 0;
}

/* Exclusive, ordered (LDAR/STLR) and compare-and-swap: bits 29:24 = 001000. */
static int decode_exclusive(uint32_t insn, struct a64_mem_op *op)
{
	uint32_t size = bits(insn, 31, 30);
	bool o2 = bits(insn, 23, 23), load = bits(insn, 22, 22), o1 = bits(insn, 21, 21);
	bool o0 = bits(insn, 15, 15);

	op->exclusive_or_atomic = true;
	op->size = (uint8_t)(1u << size);
	op->dest_64 = size == 3;
	op->rs = (uint8_t)bits(insn, 20, 16);
	/* Should-be-one fields: Rt2 of CAS/CASP/LDAR/STLR, Rs of LDAR/STLR; newer
	 * architecture versions allocate other values to other instructions. */
	if (o2 && bits(insn, 14, 10) != 31)
		return -EINVAL;
	if (o2 && !o1 && op->rs != 31)
		return -EINVAL;
	if (!o2 && o1) { /* pairs: CASP (size 0x) or LDXP/STXP (size 1x) */
		op->nregs = 2;
		op->size = bits(insn, 30, 30) ? 8 : 4;
		op->dest_64 = op->size == 8;
		if (size < 2) { /* CASP: even pairs Rs,Rs+1 and Rt,Rt+1 */
			if ((op->rt & 1) || (op->rs & 1) || bits(insn, 14, 10) != 31)
				return -EINVAL;
			op->rt2 = (uint8_t)((op->rt + 1) & 31);
			op->write = true;
		} else {
			op->rt2 = (uint8_t)bits(insn, 14, 10);
			op->write = !load;
		}
	} else if (o2 && o1) { /* CAS{A,L,AL}{B,H,}: read-modify-write */
		op->write = true;
	} else { /* LDXR/STXR family (o2=0) or LDAR/STLR/LDLAR/STLLR (o2=1) */
		op->write = !load;
	}
	/* LDXR/STXR/LDXP/STXP and their acquire/release forms (not CASP) */
	op->exclusive = !o2 && !(o1 && size < 2);
	/* o0 is release (stores, CAS) or acquire (exclusive loads); L is acquire for CAS */
	op->acquire_release = o0 || (o2 && !o1) || (o1 && (o2 || size < 2) && load);
	return 0;
}

/* Atomic memory operations (LDADD..., SWP, LDAPR): bit 21 = 1, bits 11:10 = 00. */
static int decode_atomic(uint32_t insn, struct a64_mem_op *op)
{
	uint32_t size = bits(insn, 31, 30), opc = bits(insn, 14, 12);
	bool a = bits(insn, 23, 23), r = bits(insn, 22, 22), o3 = bits(insn, 15, 15);
	uint32_t rs = bits(insn, 20, 16);

	op->exclusive_or_atomic = true;
	op->size = (uint8_t)(1u << size);
	op->dest_64 = size == 3;
	op->rs = (uint8_t)rs;
	op->acquire_release = a || r;
	if (!o3 || opc == 0) { /* LD<op> (8 kinds) and SWP: read-modify-write */
		op->write = true;
		return 0;
	}
	if (opc == 4 && a && !r && rs == 31) /* LDAPR */
		return 0;
	return -EINVAL; /* LD64B/ST64B and unallocated */
}

/* Register offset: [Xn, (W|X)m{, extend {#amount}}]. */
static int decode_reg_offset(uint32_t insn, struct a64_mem_op *op)
{
	uint32_t option = bits(insn, 15, 13);

	if (!(option & 2)) /* only UXTW, LSL(UXTX), SXTW, SXTX are allocated */
		return -EINVAL;
	op->reg_offset = true;
	op->rm = (uint8_t)bits(insn, 20, 16);
	op->extend = (uint8_t)option;
	op->shift = bits(insn, 12, 12) ? (uint8_t)log2_size(op->size) : 0;
	return 0;
}

/* bits 29:27 = 111, 25:24 = 00: unscaled, pre/post, unprivileged, register, atomics. */
static int decode_single_unscaled(uint32_t insn, struct a64_mem_op *op)
{
	uint32_t size = bits(insn, 31, 30), opc = bits(insn, 23, 22), kind = bits(insn, 11, 10);
	bool v = bits(insn, 26, 26);
	int err;

	if (bits(insn, 21, 21)) {
		if (kind == 0)
			return v ? -EINVAL : decode_atomic(insn, op);
		if (kind != 2) /* LDRAA/LDRAB: pointer authentication */
			return -EINVAL;
		err = decode_size_opc(op, size, v, opc);
		return err ? err : decode_reg_offset(insn, op);
	}
	if (kind == 2 && v) /* no unprivileged FP/SIMD forms */
		return -EINVAL;
	err = decode_size_opc(op, size, v, opc);
	if (err)
		return err;
	/* Unprivileged and writeback forms have no prefetch: opc 10 size 11 handled above. */
	op->imm = sign_extend(bits(insn, 20, 12), 9);
	op->unprivileged = kind == 2;
	op->wb = kind == 1 ? A64_WB_POST : kind == 3 ? A64_WB_PRE : A64_WB_NONE;
	return 0;
}

/* LDAPUR/STLUR (RCpc, unscaled): bits 29:24 = 011001, bit 21 = 0, bits 11:10 = 00. */
static int decode_rcpc_unscaled(uint32_t insn, struct a64_mem_op *op)
{
	uint32_t size = bits(insn, 31, 30), opc = bits(insn, 23, 22);
	int err;

	if (bits(insn, 21, 21) || bits(insn, 11, 10))
		return -EINVAL; /* MTE tag loads/stores and LRCPC3 forms */
	err = decode_size_opc(op, size, false, opc);
	if (err)
		return err;
	op->exclusive_or_atomic = true;
	op->acquire_release = true;
	op->imm = sign_extend(bits(insn, 20, 12), 9);
	return 0;
}

int a64_insn_decode(uint32_t insn, struct a64_mem_op *op)
{
	int err = -EINVAL;

	op_init(op, insn);
	if ((insn & 0x3f000000) == 0x08000000)
		err = decode_exclusive(insn, op);
	else if ((insn & 0x3f000000) == 0x19000000)
		err = decode_rcpc_unscaled(insn, op);
	else if ((insn & 0x3b000000) == 0x18000000)
		err = decode_literal(insn, op);
	else if ((insn & 0x3a000000) == 0x28000000)
		err = decode_pair(insn, op);
	else if ((insn & 0x3b000000) == 0x38000000)
		err = decode_single_unscaled(insn, op);
	else if ((insn & 0x3b000000) == 0x39000000) {
		err =
		    decode_size_opc(op, bits(insn, 31, 30), bits(insn, 26, 26), bits(insn, 23, 22));
		op->imm = (int64_t)bits(insn, 21, 10) << log2_size(op->size);
	}
	if (err)
		op_init(op, insn);
	return err;
}

uint8_t a64_ptr_tag(uint64_t va)
{
	return (uint8_t)(va >> 56);
}

uint64_t a64_untag(uint64_t va)
{
	return tag_reset(va);
}
