/*
 * Software stage-1 walk of the EL1&0 regime, VMSAv8-64, 4 KiB granule
 * (Arm ARM D8 "The AArch64 Virtual Memory System Architecture"). The tables
 * are guest memory: the walk makes at most 4 reads and stops at the first
 * descriptor that is not a valid table.
 */
#include "vmm/arm64/a64_mmu.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define SCTLR_M (1ull << 0)

#define TCR_T0SZ_SHIFT 0
#define TCR_EPD0       (1ull << 7)
#define TCR_TG0_SHIFT  14
#define TCR_T1SZ_SHIFT 16
#define TCR_EPD1       (1ull << 23)
#define TCR_TG1_SHIFT  30
#define TCR_IPS_SHIFT  32
#define TCR_TBI0       (1ull << 37)
#define TCR_TBI1       (1ull << 38)
#define TCR_DS	       (1ull << 59) /* LPA2: a different descriptor format */

#define TG0_4K 0u /* TCR_EL1.TG0 and TG1 encode the granule differently */
#define TG1_4K 2u

#define DESC_VALID	1ull
#define DESC_TABLE	2ull		      /* levels 0-2: table; level 3: page */
#define DESC_OA_MASK	0x0000fffffffff000ull /* output address bits [47:12] */
#define TTBR_BADDR_MASK 0x0000fffffffffffeull /* [47:1]; aligned to the table size below */

#define PAGE_SHIFT 12
#define LEVEL_BITS 9  /* 512 eight-byte entries per 4 KiB table */
#define TSZ_MIN	   16 /* 48-bit VAs */
#define TSZ_MAX	   39 /* 25-bit VAs */

/* The half of the address space va selects and how that half is configured. */
struct va_range {
	unsigned int va_bits; /* 64 - TnSZ */
	uint64_t table;	      /* TTBRn BADDR */
};

/* TCR_EL1.IPS -> physical address bits; 52-bit sizes need LPA/LPA2, so 48 here. */
static unsigned int ips_bits(uint64_t tcr)
{
	static const unsigned int sizes[8] = {32, 36, 40, 42, 44, 48, 48, 48};

	return sizes[(tcr >> TCR_IPS_SHIFT) & 7];
}

static int select_range(const struct a64_mmu_regs *r, uint64_t va, struct va_range *out)
{
	bool upper = (va >> 55) & 1;
	uint64_t tcr = r->tcr;
	unsigned int tsz, tg, top;
	uint64_t high;

	tsz = (unsigned int)((tcr >> (upper ? TCR_T1SZ_SHIFT : TCR_T0SZ_SHIFT)) & 0x3f);
	tg = (unsigned int)((tcr >> (upper ? TCR_TG1_SHIFT : TCR_TG0_SHIFT)) & 3);
	if (tcr & (upper ? TCR_EPD1 : TCR_EPD0))
		return -EFAULT; /* walks of this half disabled: its other fields do not matter */
	if (tg != (upper ? TG1_4K : TG0_4K) || (tcr & TCR_DS))
		return -ENOTSUP;
	if (tsz < TSZ_MIN || tsz > TSZ_MAX)
		return -ENOTSUP;
	/* Bits [top:64-tsz] must all equal bit 55; with TBI the top byte is ignored. */
	top = (tcr & (upper ? TCR_TBI1 : TCR_TBI0)) ? 55 : 63;
	high = (va >> (64 - tsz)) & ((1ull << (top - (64 - tsz) + 1)) - 1);
	if (high != (upper ? (1ull << (top - (64 - tsz) + 1)) - 1 : 0))
		return -EFAULT;
	out->va_bits = 64 - tsz;
	out->table = (upper ? r->ttbr1 : r->ttbr0) & TTBR_BADDR_MASK;
	return 0;
}

/* Page or block: the output address of va (block sizes: L1 1 GiB, L2 2 MiB, L3 4 KiB). */
static int leaf(uint64_t desc, unsigned int level, uint64_t va, unsigned int pa_bits,
		struct a64_mmu_walk *out)
{
	unsigned int shift = PAGE_SHIFT + LEVEL_BITS * (3 - level);
	uint64_t size = 1ull << shift;
	uint64_t oa = desc & DESC_OA_MASK & ~(size - 1);

	if (level == 0 || (level == 3 && !(desc & DESC_TABLE)))
		return -EFAULT; /* no level-0 blocks with 4K; level-3 01 is reserved */
	if (oa >> pa_bits)
		return -EFAULT; /* address size fault */
	out->ipa = oa | (va & (size - 1));
	out->desc = desc;
	out->level = level;
	out->map_size = size;
	return 0;
}

int a64_mmu_walk(const struct a64_mmu_regs *r, uint64_t va, a64_read_phys_fn rd, void *ctx,
		 struct a64_mmu_walk *out)
{
	unsigned int pa_bits = ips_bits(r->tcr), level, levels;
	struct va_range range;
	uint64_t table;
	int err;

	memset(out, 0, sizeof(*out));
	if (!(r->sctlr & SCTLR_M)) {
		out->ipa = va;
		return 0;
	}
	err = select_range(r, va, &range);
	if (err)
		return err;
	levels = (range.va_bits - PAGE_SHIFT + LEVEL_BITS - 1) / LEVEL_BITS; /* 2..4 */
	table = range.table;
	for (level = 4 - levels; level <= 3; level++) {
		unsigned int shift = PAGE_SHIFT + LEVEL_BITS * (3 - level);
		unsigned int idx_bits = level == 4 - levels ? range.va_bits - shift : LEVEL_BITS;
		uint64_t idx = (va >> shift) & ((1ull << idx_bits) - 1), desc;

		if (table >> pa_bits)
			return -EFAULT;
		/* A short start-level table is aligned to its own size: BADDR's low bits are RES0.
		 */
		err = rd(ctx, (table & ~((8ull << idx_bits) - 1)) + idx * 8, &desc);
		if (err)
			return err < 0 ? err : -EFAULT;
		if (!(desc & DESC_VALID))
			return -EFAULT;
		if (level == 3 || !(desc & DESC_TABLE))
			return leaf(desc, level, va, pa_bits, out);
		table = desc & DESC_OA_MASK;
	}
	return -EFAULT; /* not reached: level 3 always ends the walk */
}

int a64_mmu_translate(const struct a64_mmu_regs *r, uint64_t va, a64_read_phys_fn rd, void *ctx,
		      uint64_t *ipa)
{
	struct a64_mmu_walk w;
	int err = a64_mmu_walk(r, va, rd, ctx, &w);

	if (!err)
		*ipa = w.ipa;
	return err;
}
