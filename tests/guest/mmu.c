/* SPDX-License-Identifier: MIT */
#include "mmu.h"
#include "bootinfo.h"
#include "printf.h"
#include "string.h"

#define PT_POOL_PAGES 32 /* enough for ~28 GiB of direct map plus some vmalloc */

extern u64 boot_pml4[512];
extern u64 boot_pt0[512];

static u8 pt_pool[PT_POOL_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned int pt_pool_used;
static u64 (*pt_alloc_hook)(void);
static bool direct_map_ready;

void mmu_set_pt_allocator(u64 (*alloc_page)(void))
{
	pt_alloc_hook = alloc_page;
}

/* The pool is in the (identity-mapped) image, so its pa equals its address. */
static u64 pt_alloc(void)
{
	if (pt_alloc_hook)
		return pt_alloc_hook();
	if (pt_pool_used == PT_POOL_PAGES)
		return 0;
	/* .bss comes zeroed from the loader and pool pages are never reused. */
	return (u64)pt_pool[pt_pool_used++];
}

/* A table page's pa -> pointer: identity below 4 GiB, else the direct map. */
static u64 *table_ptr(u64 pa)
{
	if (pa < SIZE_4G || !direct_map_ready)
		return (u64 *)pa;
	return phys_to_virt(pa);
}

static unsigned int pt_index(u64 va, int level)
{
	return (va >> (12 + 9 * level)) & 511;
}

/*
 * The entry for va at `level` (3 PML4 .. 0 PT), creating missing tables on
 * the way. NULL if a table cannot be allocated or a large page is in the way.
 */
static u64 *pte_walk(u64 va, int level, bool create)
{
	u64 *table = boot_pml4;

	for (int l = 3; l > level; l--) {
		u64 *e = &table[pt_index(va, l)];

		if (!(*e & PTE_P)) {
			u64 page = create ? pt_alloc() : 0;

			if (!page)
				return NULL;
			*e = page | PTE_P | PTE_W;
		} else if (*e & PTE_PS) {
			return NULL;
		}
		table = table_ptr(*e & PTE_ADDR_MASK);
	}
	return &table[pt_index(va, level)];
}

int mmu_map_4k(u64 va, u64 pa, u64 flags)
{
	u64 *pte = pte_walk(va, 0, true);

	if (!pte)
		return -1;
	*pte = (pa & PTE_ADDR_MASK) | flags | PTE_P;
	return 0;
}

static int map_2m(u64 va, u64 pa, u64 flags)
{
	u64 *pde = pte_walk(va, 1, true);

	if (!pde)
		return -1;
	*pde = (pa & ~(SIZE_2M - 1)) | flags | PTE_P | PTE_PS;
	return 0;
}

int mmu_unmap_4k(u64 va)
{
	u64 *pte = pte_walk(va, 0, false);

	if (!pte || !(*pte & PTE_P))
		return -1;
	*pte = 0;
	invlpg(va);
	return 0;
}

u64 mmu_translate(u64 va)
{
	u64 *table = boot_pml4;

	for (int l = 3; l >= 0; l--) {
		u64 e = table[pt_index(va, l)];
		u64 page_mask = (1ull << (12 + 9 * l)) - 1;

		if (!(e & PTE_P))
			return ~0ull;
		if (l == 0 || (e & PTE_PS))
			return (e & PTE_ADDR_MASK & ~page_mask) | (va & page_mask);
		table = table_ptr(e & PTE_ADDR_MASK);
	}
	return ~0ull;
}

bool mmu_is_ram(u64 pa, u64 len)
{
	for (u32 i = 0; i < bootinfo.nr_mem; i++) {
		const struct mem_range *m = &bootinfo.mem[i];

		if (m->type == MEM_TYPE_RAM && pa >= m->start && pa + len <= m->start + m->size)
			return true;
	}
	return false;
}

/* 2 MiB pages where a whole 2 MiB chunk is RAM, 4 KiB pages at the ragged edges. */
static void map_direct_range(u64 start, u64 end)
{
	u64 pa = ALIGN_UP(start, PAGE_SIZE);

	end = ALIGN_DOWN(end, PAGE_SIZE);
	while (pa < end) {
		int err = 0;

		if (mmu_translate(DIRECT_MAP_BASE + pa) != ~0ull) {
			pa += PAGE_SIZE; /* overlapping memmap entries: already mapped */
			continue;
		}
		if (!(pa & (SIZE_2M - 1)) && pa + SIZE_2M <= end) {
			err = map_2m(DIRECT_MAP_BASE + pa, pa, PTE_W);
			pa += SIZE_2M;
		} else {
			err = mmu_map_4k(DIRECT_MAP_BASE + pa, pa, PTE_W);
			pa += PAGE_SIZE;
		}
		if (err)
			panic("mmu: out of page-table pages mapping pa 0x%lx", pa);
	}
}

void mmu_init(void)
{
	for (u32 i = 0; i < bootinfo.nr_mem; i++) {
		const struct mem_range *m = &bootinfo.mem[i];

		if (m->type == MEM_TYPE_RAM)
			map_direct_range(m->start, m->start + m->size);
	}
	direct_map_ready = true;
	/* Nothing may use physical page 0 through the identity map from now on. */
	boot_pt0[0] = 0;
	invlpg(0);
	printf("testguest: direct map at 0x%lx, %u page-table pages used\n", DIRECT_MAP_BASE,
	       pt_pool_used);
}
