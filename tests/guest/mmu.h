/* SPDX-License-Identifier: MIT */
/*
 * Page tables. Layout (like Linux x86-64, so kasan-vmm prints and translates
 * familiar addresses):
 *   [0, 4 GiB)                identity map: kernel image, low memory, LAPIC/IOAPIC (UC);
 *                             the page at 0 is unmapped to catch NULL dereferences
 *   DIRECT_MAP_BASE + pa      every RAM range of the memmap (Linux page_offset_base)
 *   [VMALLOC_START, END)      4 KiB mappings made on demand (vmalloc-like area)
 * All CPUs share one set of tables. Unmapping flushes only the local TLB.
 */
#ifndef GUEST_MMU_H
#define GUEST_MMU_H

#include "kernel.h"

#define DIRECT_MAP_BASE 0xffff888000000000ul
#define VMALLOC_START	0xffffc90000000000ul
#define VMALLOC_END	0xffffe90000000000ul /* 32 TiB, as Linux */

#define PTE_P	      0x001ull
#define PTE_W	      0x002ull
#define PTE_PWT	      0x008ull
#define PTE_PCD	      0x010ull
#define PTE_PS	      0x080ull
#define PTE_ADDR_MASK 0x000ffffffffff000ull

#define SIZE_2M (2ull << 20)
#define SIZE_4G (4ull << 30)

static inline void *phys_to_virt(u64 pa)
{
	return (void *)(pa + DIRECT_MAP_BASE);
}

/* Direct-map or identity-map addresses only (not vmalloc: use mmu_translate). */
static inline u64 virt_to_phys(const void *va)
{
	u64 v = (u64)va;

	return v >= DIRECT_MAP_BASE ? v - DIRECT_MAP_BASE : v;
}

/*
 * Page-table pages come from a small static pool; an allocator can take
 * over once it exists (it must return a zeroed, 4 KiB-aligned physical page,
 * or 0 when out of memory).
 */
void mmu_set_pt_allocator(u64 (*alloc_page)(void));

/* Build the direct map from bootinfo and unmap the NULL page. */
void mmu_init(void);

/* Map one 4 KiB page (flags: PTE_W, PTE_PCD...; P is implied). 0, or -1 if no page-table page. */
int mmu_map_4k(u64 va, u64 pa, u64 flags);
/* Unmap one 4 KiB page, flush it from this CPU's TLB; -1 if it was not mapped. */
int mmu_unmap_4k(u64 va);
/* Physical address va maps to (any page size), or ~0 if unmapped. */
u64 mmu_translate(u64 va);
/* True if [pa, pa + len) lies in one RAM range of the memmap. */
bool mmu_is_ram(u64 pa, u64 len);

#endif
