/*
 * AArch64 stage-1 translation (EL1&0 regime) done in software, so the VMM can
 * read guest memory by virtual address (instruction fetch for emulation,
 * report stacks). 4 KiB granule only; 3 or 4 levels depending on TnSZ.
 *
 * Portable C. The page tables are guest memory and therefore untrusted: the
 * walk is at most 4 levels, reads only through the callback, and any
 * malformed descriptor is a translation fault (-EFAULT), never UB.
 */
#ifndef KVMM_A64_MMU_H
#define KVMM_A64_MMU_H

#include <stdint.h>

struct a64_mmu_regs {
	uint64_t ttbr0, ttbr1, tcr, sctlr;
};

/* 8-byte read of guest RAM at an 8-aligned IPA; -EFAULT outside RAM. */
typedef int (*a64_read_phys_fn)(void *ctx, uint64_t ipa, uint64_t *val);

/*
 * Translates va into *ipa. MMU off (SCTLR_EL1.M = 0): ipa = va.
 * Honours TCR_EL1 T0SZ/T1SZ (16..39 with 4 KiB: 48..25-bit VAs), EPD0/EPD1,
 * TBI0/TBI1 (the top byte is ignored when set) and IPS (output addresses and
 * table addresses above it fault).
 * Returns 0; -EFAULT for a translation or address-size fault (VA outside both
 * ranges, walk disabled by EPDn, invalid or reserved descriptor, the read
 * callback failing); -ENOTSUP for a 16K/64K granule or a TnSZ outside 16..39
 * (52-bit VAs, or ranges the 4 KiB granule does not allow).
 */
int a64_mmu_translate(const struct a64_mmu_regs *r, uint64_t va, a64_read_phys_fn rd, void *ctx,
		      uint64_t *ipa);

/* The walk's details, for callers that need permissions. */
struct a64_mmu_walk {
	uint64_t ipa;
	uint64_t desc;	    /* the final page/block descriptor */
	unsigned int level; /* level of the final descriptor: 1, 2 or 3 */
	uint64_t map_size;  /* bytes mapped by it (4K, 2M, 1G) */
};
int a64_mmu_walk(const struct a64_mmu_regs *r, uint64_t va, a64_read_phys_fn rd, void *ctx,
		 struct a64_mmu_walk *out);

#endif
