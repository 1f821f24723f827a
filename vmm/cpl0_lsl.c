// SPDX-License-Identifier: MIT
/*
 * LSL (load segment limit), which KVM's instruction emulator does not
 * implement: on a host that emulates guest CPL0 it ends the run. Linux runs
 * it at CPL0 to find its CPU number in the limit of the GDT's CPUNODE entry
 * (GET_PERCPU_BASE in the NMI, #DB, #MC and #DF entries with FSGSBASE, when
 * RDPID is hidden). The rules below are the SDM's for 64-bit mode.
 */
#include <string.h>

#include "vmm/cpl0.h"

#define DESC_S	       (1ull << 44) /* code/data, not system */
#define DESC_CODE      (1ull << 43) /* with S: code segment */
#define DESC_CONFORM   (1ull << 42) /* with S and code: conforming */
#define DESC_G	       (1ull << 55) /* limit in 4 KiB units */
#define DESC_TYPE(d)   ((unsigned int)((d) >> 40) & 0xf)
#define DESC_DPL(d)    ((unsigned int)((d) >> 45) & 3)
#define SYS_LDT	       0x2
#define SYS_TSS64      0x9
#define SYS_TSS64_BUSY 0xb

bool cpl0_lsl_decode(const uint8_t *bytes, size_t n, struct cpl0_lsl *l)
{
	size_t i = 0;
	uint8_t rex = 0;

	memset(l, 0, sizeof(*l));
	l->opsize = 4;
	if (i < n && bytes[i] == 0x66) {
		l->opsize = 2;
		i++;
	}
	if (i < n && (bytes[i] & 0xf0) == 0x40)
		rex = bytes[i++];
	if (rex & 0x8)
		l->opsize = 8; /* REX.W wins over 0x66 */
	if (n < i + 3 || bytes[i] != 0x0f || bytes[i + 1] != 0x03)
		return false;
	/* Only a register source: a memory selector would need the access judged too. */
	if (bytes[i + 2] >> 6 != 3)
		return false;
	l->dst = (bytes[i + 2] >> 3 & 7) | (rex & 0x4 ? 8 : 0);
	l->src = (bytes[i + 2] & 7) | (rex & 0x1 ? 8 : 0);
	l->len = (unsigned int)i + 3;
	return true;
}

bool cpl0_lsl_limit(uint64_t desc, uint16_t sel, unsigned int cpl, uint32_t *limit)
{
	unsigned int rpl = sel & 3, dpl = DESC_DPL(desc);
	uint32_t raw = (uint32_t)(desc & 0xffff) | (uint32_t)(desc >> 32 & 0xf0000);

	if (!(desc & DESC_S)) {
		unsigned int t = DESC_TYPE(desc);

		if (t != SYS_LDT && t != SYS_TSS64 && t != SYS_TSS64_BUSY)
			return false;
	}
	/* conforming code segments are visible at every privilege */
	if (!((desc & DESC_S) && (desc & DESC_CODE) && (desc & DESC_CONFORM)) &&
	    (dpl < cpl || dpl < rpl))
		return false;
	*limit = desc & DESC_G ? raw << 12 | 0xfff : raw;
	return true;
}

uint64_t cpl0_lsl_result(uint64_t old, uint32_t limit, unsigned int opsize)
{
	/* a 16-bit destination keeps its upper bits; 32 and 64 zero-extend */
	return opsize == 2 ? (old & ~0xffffull) | (limit & 0xffff) : limit;
}

bool cpl0_lsl_desc_addr(uint16_t sel, const struct cpl0_table *gdt, const struct cpl0_table *ldt,
			uint64_t *addr)
{
	const struct cpl0_table *t = sel & 4 ? ldt : gdt;
	uint32_t off = sel & ~7u;

	if (!(sel & 4) && off == 0)
		return false; /* the null selector */
	if (!t->usable || (uint64_t)off + 7 > t->limit)
		return false;
	*addr = t->base + off;
	return true;
}
