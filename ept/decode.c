// SPDX-License-Identifier: MIT
/*
 * Just enough x86 decoding to tell a locked read-modify-write (lock prefix,
 * or xchg with a memory operand, which locks implicitly) from a plain access.
 * KVM splits those into a read exit and a write exit (or fails the write), so
 * ept must see them coming at the read to keep them atomic. Plain
 * read-modify-writes (add/or/inc/not/shifts/bts... on memory) split the same
 * way: seen at the read, they are one Write, as KASAN reports them.
 */
#include "ept/ept_internal.h"

static bool legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0xf0: /* lock */
	case 0xf2:
	case 0xf3:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x26:
	case 0x64:
	case 0x65:
	case 0x66:
	case 0x67:
		return true;
	default:
		return false;
	}
}

bool ept_insn_string(const uint8_t *insn, unsigned int len, enum ept_string_op *op, uint32_t *elem,
		     bool *rep)
{
	static const enum ept_string_op ops[] = {[0xa4 - 0xa4] = EPT_STR_MOVS,
						 [0xa6 - 0xa4] = EPT_STR_CMPS,
						 [0xaa - 0xa4] = EPT_STR_STOS,
						 [0xac - 0xa4] = EPT_STR_LODS,
						 [0xae - 0xa4] = EPT_STR_SCAS};
	bool opsize16 = false, rex_w = false;
	unsigned int i = 0;
	uint8_t b;

	*rep = false;
	while (i < len && i < 14 && legacy_prefix(insn[i])) {
		*rep |= insn[i] == 0xf3 || insn[i] == 0xf2;
		opsize16 |= insn[i] == 0x66;
		i++;
	}
	if (i < len && (insn[i] & 0xf0) == 0x40)
		rex_w = insn[i++] & 0x08;
	if (i >= len)
		return false;
	b = insn[i];
	if (b < 0xa4 || b > 0xaf || (b >= 0xa8 && b <= 0xa9) || !ops[(b & ~1) - 0xa4])
		return false;
	*op = ops[(b & ~1) - 0xa4];
	*elem = !(b & 1) ? 1 : rex_w ? 8 : opsize16 ? 2 : 4;
	return true;
}

bool ept_insn_is_locked_rmw(const uint8_t *insn, unsigned int len)
{
	bool lock = false;
	unsigned int i = 0;

	while (i < len && i < 14 && legacy_prefix(insn[i])) {
		lock |= insn[i] == 0xf0;
		i++;
	}
	if (lock)
		return true; /* lock is only valid on RMW instructions with a memory destination */
	if (i < len && (insn[i] & 0xf0) == 0x40)
		i++; /* REX */
	if (i + 1 >= len)
		return false;
	/* xchg r/m, r (86 /r, 87 /r) with a memory operand (modrm.mod != 3) */
	return (insn[i] == 0x86 || insn[i] == 0x87) && (insn[i + 1] >> 6) != 3;
}

/* reg field of modrm for the group opcodes; -1: not a memory operand */
static int modrm_mem_reg(const uint8_t *insn, unsigned int i, unsigned int len)
{
	if (i >= len || insn[i] >> 6 == 3)
		return -1;
	return (insn[i] >> 3) & 7;
}

/* Two-byte (0f xx) opcodes that read and write their memory operand. */
static bool twobyte_rmw(const uint8_t *insn, unsigned int i, unsigned int len)
{
	int reg = modrm_mem_reg(insn, i + 1, len);

	switch (i < len ? insn[i] : 0) {
	case 0xab: /* bts */
	case 0xb3: /* btr */
	case 0xbb: /* btc */
	case 0xb0: /* cmpxchg */
	case 0xb1:
	case 0xc0: /* xadd */
	case 0xc1:
		return reg >= 0;
	case 0xba: /* bt group: /5 bts, /6 btr, /7 btc */
		return reg >= 5;
	default:
		return false;
	}
}

bool ept_insn_is_rmw(const uint8_t *insn, unsigned int len)
{
	unsigned int i = 0;
	uint8_t b;
	int reg;

	if (ept_insn_is_locked_rmw(insn, len))
		return true;
	while (i < len && i < 14 && legacy_prefix(insn[i]))
		i++;
	if (i < len && (insn[i] & 0xf0) == 0x40)
		i++; /* REX */
	if (i >= len)
		return false;
	b = insn[i];
	reg = modrm_mem_reg(insn, i + 1, len);
	if (b == 0x0f)
		return twobyte_rmw(insn, i + 1, len);
	if (b < 0x40 && (b & 7) < 2 && (b & 0x38) != 0x38)
		return reg >= 0; /* add/or/adc/sbb/and/sub/xor r/m, r (not cmp) */
	switch (b) {
	case 0x80: /* ALU r/m, imm: all but /7 cmp */
	case 0x81:
	case 0x83:
		return reg >= 0 && reg != 7;
	case 0xc0: /* rotates and shifts */
	case 0xc1:
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		return reg >= 0 && reg != 6;
	case 0xf6: /* /2 not, /3 neg */
	case 0xf7:
		return reg == 2 || reg == 3;
	case 0xfe: /* /0 inc, /1 dec */
	case 0xff:
		return reg == 0 || reg == 1;
	default:
		return false;
	}
}

/* Which REX/VEX register-extension bits and opcode map an instruction has. */
struct insn_prefixes {
	bool rex_x, rex_b;
	bool addr32, vex;
	uint8_t seg;	  /* 0x64 fs, 0x65 gs, else 0 */
	unsigned int map; /* 0: one-byte, 1: 0f, 2: 0f38, 3: 0f3a */
	unsigned int i;	  /* index of the opcode byte */
};

/* Prefixes and opcode map of a 64-bit mode instruction; false if not decodable here. */
static bool read_prefixes(const uint8_t *insn, unsigned int len, struct insn_prefixes *p)
{
	unsigned int i = 0;

	*p = (struct insn_prefixes){0};
	while (i < len && i < 14 && legacy_prefix(insn[i])) {
		p->addr32 |= insn[i] == 0x67;
		if (insn[i] == 0x64 || insn[i] == 0x65)
			p->seg = insn[i];
		i++;
	}
	if (i + 2 >= len)
		return false;  /* not even a 0f map opcode with its ModRM */
	if (insn[i] == 0xc5) { /* VEX2: ~R vvvv L pp; map 0f */
		p->map = 1;
		p->i = i + 2;
		p->vex = true;
		return true;
	}
	if (insn[i] == 0xc4) { /* VEX3: ~R ~X ~B mmmmm, then W vvvv L pp */
		p->rex_x = !(insn[i + 1] & 0x40);
		p->rex_b = !(insn[i + 1] & 0x20);
		p->map = insn[i + 1] & 0x1f;
		p->i = i + 3;
		p->vex = true;
		return p->map >= 1 && p->map <= 3;
	}
	if (insn[i] == 0x62)
		return false; /* EVEX: disp8 is scaled by the operand size, not decoded here */
	if ((insn[i] & 0xf0) == 0x40) {
		p->rex_x = insn[i] & 0x02;
		p->rex_b = insn[i] & 0x01;
		i++;
	}
	if (i + 1 < len && insn[i] == 0x0f) {
		p->map = insn[i + 1] == 0x38 ? 2 : insn[i + 1] == 0x3a ? 3 : 1;
		i += p->map == 1 ? 1 : 2;
	}
	p->i = i;
	return p->map != 0; /* one-byte opcodes vary in ModRM use: not needed here */
}

static uint64_t reg_value(const struct kvm_regs *r, unsigned int n)
{
	const uint64_t v[16] = {r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				r->r8,	r->r9,	r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};

	return v[n & 15];
}

/*
 * Bytes from the operand's address an instruction this path serves may
 * touch; 0 for any other opcode: without ModRM (syscall, jcc, bswap...) or
 * with VSIB (gathers), the byte after it is no memory operand we can decode.
 */
static uint32_t native_span(const struct insn_prefixes *p, uint8_t op, unsigned int reg)
{
	if (p->map == 1) {
		switch (op) {
		case 0x10: /* (v)movups/movss/movupd/movsd */
		case 0x11:
		case 0x12: /* (v)movlps/movlpd */
		case 0x13:
		case 0x16: /* (v)movhps/movhpd */
		case 0x17:
		case 0x28: /* (v)movaps/movapd */
		case 0x29:
		case 0x2b: /* (v)movntps/movntpd */
		case 0x6f: /* (v)movdqa/movdqu */
		case 0x7f:
		case 0xd6: /* (v)movq */
		case 0xe7: /* (v)movntdq */
			return p->vex ? 32 : 16;
		case 0xae: /* fxsave, fxrstor, xsave, xrstor: the area fits in a page */
			return !p->vex && (reg <= 1 || reg == 4 || reg == 5) ? EPT_PAGE_SIZE : 0;
		case 0xc7: /* /1 cmpxchg8b/16b; /3 xrstors, /4 xsavec, /5 xsaves */
			if (p->vex)
				return 0;
			return reg == 1 ? 16 : reg >= 3 && reg <= 5 ? EPT_PAGE_SIZE : 0;
		default:
			return 0;
		}
	}
	if (p->map == 2 && p->vex) {
		switch (op) {
		case 0x18: /* vbroadcastss/sd/f128 */
		case 0x19:
		case 0x1a:
		case 0x2a: /* vmovntdqa */
		case 0x2c: /* vmaskmovps/pd */
		case 0x2d:
		case 0x2e:
		case 0x2f:
		case 0x58: /* vpbroadcastd/q/i128 */
		case 0x59:
		case 0x5a:
		case 0x8c: /* vpmaskmovd/q */
		case 0x8e:
			return 32;
		default:
			return 0; /* 90-93: gathers, VSIB */
		}
	}
	return 0;
}

bool ept_insn_mem_operand(const uint8_t *insn, unsigned int len, const struct kvm_regs *r,
			  const struct kvm_sregs *s, uint64_t *lin, uint32_t *span)
{
	struct insn_prefixes p;
	unsigned int i, mod, rm;
	uint64_t ea = 0;
	int64_t disp = 0;

	if (!read_prefixes(insn, len, &p) || p.i + 1 >= len)
		return false;
	i = p.i + 1; /* ModRM follows the opcodes accepted below */
	mod = insn[i] >> 6;
	rm = insn[i] & 7;
	*span = native_span(&p, insn[p.i], (insn[i] >> 3) & 7);
	if (!*span)
		return false;
	i++;
	if (mod == 3)
		return false; /* register operand */
	if (rm == 4) {	      /* SIB */
		unsigned int base, index, scale;

		if (i >= len)
			return false;
		scale = insn[i] >> 6;
		index = ((insn[i] >> 3) & 7) | (p.rex_x ? 8 : 0);
		base = (insn[i] & 7) | (p.rex_b ? 8 : 0);
		i++;
		if (index != 4)
			ea += reg_value(r, index) << scale;
		if ((base & 7) == 5 && mod == 0)
			mod = 2; /* disp32, no base */
		else
			ea += reg_value(r, base);
	} else if (rm == 5 && mod == 0) {
		if (i + 4 > len)
			return false;
		disp = (int32_t)(insn[i] | insn[i + 1] << 8 | insn[i + 2] << 16 |
				 (uint32_t)insn[i + 3] << 24);
		/* RIP-relative, from the next instruction: an immediate (0f3a) is not counted */
		*lin = r->rip + i + 4 + (uint64_t)disp + s->cs.base;
		return true;
	} else {
		ea = reg_value(r, rm | (p.rex_b ? 8 : 0));
	}
	if (mod == 1 && i < len)
		disp = (int8_t)insn[i];
	else if (mod == 2 && i + 4 <= len)
		disp = (int32_t)(insn[i] | insn[i + 1] << 8 | insn[i + 2] << 16 |
				 (uint32_t)insn[i + 3] << 24);
	else if (mod)
		return false;
	ea += (uint64_t)disp;
	if (p.addr32)
		ea = (uint32_t)ea;
	ea += p.seg == 0x64 ? s->fs.base : p.seg == 0x65 ? s->gs.base : 0;
	*lin = ea;
	return true;
}
