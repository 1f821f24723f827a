// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/guest_mmu.h"

#define CR0_PG	  (1ull << 31)
#define CR4_PSE	  (1ull << 4)
#define CR4_PAE	  (1ull << 5)
#define CR4_LA57  (1ull << 12)
#define EFER_LMA  (1ull << 10)
#define PTE_P	  1ull
#define PTE_PS	  (1ull << 7)
#define ADDR_MASK 0x000ffffffffff000ull

static int read_entry(const struct guest_ram *ram, uint64_t gpa, unsigned int size, uint64_t *e)
{
	void *p = guest_ram_ptr(ram, gpa, size);

	if (!p)
		return -EFAULT;
	*e = 0;
	memcpy(e, p, size);
	return 0;
}

/* Long mode (4 or 5 levels) and PAE: 9 index bits a level, 8-byte entries. */
static int walk_64(const struct guest_ram *ram, const struct mmu_state *st, uint64_t gva,
		   uint64_t *gpa)
{
	int levels = (st->efer & EFER_LMA) ? ((st->cr4 & CR4_LA57) ? 5 : 4) : 3;
	uint64_t table = st->cr3 & (levels == 3 ? 0xffffffe0ull : ADDR_MASK);

	for (int level = levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		uint64_t idx = (gva >> shift) & (levels == 3 && level == 3 ? 3 : 511);
		uint64_t e;

		if (read_entry(ram, table + idx * 8, 8, &e) || !(e & PTE_P))
			return -EFAULT;
		if (level <= 3 && level > 1 && (e & PTE_PS)) {
			uint64_t mask = (1ull << shift) - 1;

			*gpa = (e & ADDR_MASK & ~mask) | (gva & mask);
			return 0;
		}
		table = e & ADDR_MASK;
	}
	*gpa = table | (gva & 0xfff);
	return 0;
}

/* 32-bit paging: two levels of 4-byte entries, 4 MiB pages with CR4.PSE. */
static int walk_32(const struct guest_ram *ram, const struct mmu_state *st, uint64_t gva,
		   uint64_t *gpa)
{
	uint64_t pde, pte;

	if (read_entry(ram, (st->cr3 & 0xfffff000) + ((gva >> 22) & 1023) * 4, 4, &pde) ||
	    !(pde & PTE_P))
		return -EFAULT;
	if ((pde & PTE_PS) && (st->cr4 & CR4_PSE)) {
		*gpa = (pde & 0xffc00000) | (gva & 0x3fffff);
		return 0;
	}
	if (read_entry(ram, (pde & 0xfffff000) + ((gva >> 12) & 1023) * 4, 4, &pte) ||
	    !(pte & PTE_P))
		return -EFAULT;
	*gpa = (pte & 0xfffff000) | (gva & 0xfff);
	return 0;
}

int mmu_translate(const struct guest_ram *ram, const struct mmu_state *st, uint64_t gva,
		  uint64_t *gpa)
{
	if (!(st->cr0 & CR0_PG)) {
		*gpa = gva & 0xffffffffull;
		return 0;
	}
	if (st->cr4 & CR4_PAE)
		return walk_64(ram, st, gva, gpa);
	return walk_32(ram, st, gva & 0xffffffffull, gpa);
}

struct rev_walk {
	const struct guest_ram *ram;
	uint64_t lo, hi, page; /* range and the physical page wanted */
	uint64_t found;
	unsigned int budget; /* entries left to look at: a hostile table cannot stall us */
};

static uint64_t sign_extend48(uint64_t va)
{
	return (va & (1ull << 47)) ? va | 0xffff000000000000ull : va;
}

/* Depth-first over one table; base: the VA its entry 0 maps. */
static bool rev_table(struct rev_walk *w, uint64_t table, int level, uint64_t base)
{
	unsigned int shift = 12 + 9 * (level - 1);
	uint64_t span = 1ull << shift;

	for (unsigned int i = 0; i < 512; i++) {
		uint64_t va = sign_extend48(base + i * span), e;

		if (va + span - 1 < w->lo || va >= w->hi)
			continue;
		if (!w->budget-- || read_entry(w->ram, table + i * 8, 8, &e))
			return false;
		if (!(e & PTE_P))
			continue;
		if (level == 1 || (level <= 3 && (e & PTE_PS))) {
			uint64_t pa = e & ADDR_MASK & ~(span - 1);

			if (w->page >= pa && w->page - pa < span) {
				w->found = va + (w->page - pa);
				return true;
			}
			continue;
		}
		if (rev_table(w, e & ADDR_MASK, level - 1, base + i * span))
			return true;
	}
	return false;
}

int mmu_find_va(const struct guest_ram *ram, const struct mmu_state *st, uint64_t va_start,
		uint64_t va_end, uint64_t gpa, uint64_t *va)
{
	struct rev_walk w = {ram, va_start, va_end, gpa & ~0xfffull, 0, 1u << 20};

	if (!(st->cr0 & CR0_PG) || !(st->efer & EFER_LMA) || (st->cr4 & CR4_LA57))
		return -EINVAL;
	if (!rev_table(&w, st->cr3 & ADDR_MASK, 4, 0))
		return -ENOENT;
	*va = w.found | (gpa & 0xfff);
	return 0;
}

int mmu_read(const struct guest_ram *ram, const struct mmu_state *st, uint64_t gva, void *buf,
	     uint64_t len)
{
	uint8_t *out = buf;

	while (len) {
		uint64_t chunk = 4096 - (gva & 0xfff), gpa;
		void *src;

		if (chunk > len)
			chunk = len;
		if (mmu_translate(ram, st, gva, &gpa))
			return -EFAULT;
		src = guest_ram_ptr(ram, gpa, chunk);
		if (!src)
			return -EFAULT;
		memcpy(out, src, chunk);
		out += chunk;
		gva += chunk;
		len -= chunk;
	}
	return 0;
}
