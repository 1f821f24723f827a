/* SPDX-License-Identifier: MIT */
/*
 * vmalloc: areas of 4 KiB pages mapped at VMALLOC_START and up, each followed
 * by an unmapped guard page. Addresses are never reused (the area is 32 TiB),
 * so a stale pointer into a freed area faults instead of aliasing.
 */
#include "mm_internal.h"
#include "string.h"

#define VM_AREAS 256

struct vm_area {
	u64 addr, pages;
};

static struct vm_area areas[VM_AREAS];
static u64 vm_next = VMALLOC_START;
static spinlock_t vm_lock;

static void unmap_area(u64 va, u64 pages)
{
	for (u64 i = 0; i < pages; i++) {
		u64 pa = mmu_translate(va + i * PAGE_SIZE);

		if (pa == ~0ull)
			continue;
		mmu_unmap_4k(va + i * PAGE_SIZE);
		vmemmap[pa >> PAGE_SHIFT].flags &= ~PG_vmalloc;
		__free_pages_ev(pfn_to_page(pa >> PAGE_SHIFT), 0, THIS_FRAME());
	}
}

/* Backing pages are page events too: freed pages must not stay trapped under a mapping. */
static void *__vmalloc(unsigned long size, gfp_t gfp, u64 fp)
{
	u64 pages = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE, va = 0;
	struct vm_area *a = NULL;

	if (!size || pages > (1ul << 20))
		return NULL;
	spin_lock(&vm_lock);
	for (u32 i = 0; i < VM_AREAS && !a; i++)
		if (!areas[i].addr)
			a = &areas[i];
	if (a) {
		va = a->addr = vm_next;
		a->pages = pages;
		vm_next += (pages + 1) * PAGE_SIZE; /* + the guard page */
	}
	spin_unlock(&vm_lock);
	if (!a)
		return NULL;
	for (u64 i = 0; i < pages; i++) {
		struct page *pg = __alloc_pages_silent(0, 0);

		if (!pg ||
		    mmu_map_4k(va + i * PAGE_SIZE, (u64)page_to_pfn(pg) << PAGE_SHIFT, PTE_W)) {
			if (pg)
				__free_pages_silent(pg, 0);
			unmap_area(va, i);
			a->addr = 0;
			return NULL;
		}
		pg->flags |= PG_vmalloc;
	}
	kv_emit(KV_EV_VMALLOC, fp,
		&(struct kv_ev){.addr = va, .size_req = size, .size_alloc = pages * PAGE_SIZE});
	if (gfp & __GFP_ZERO)
		memset((void *)va, 0, size);
	return (void *)va;
}

void *vmalloc(unsigned long size)
{
	return __vmalloc(size, GFP_KERNEL, THIS_FRAME());
}

void *vzalloc(unsigned long size)
{
	return __vmalloc(size, GFP_KERNEL | __GFP_ZERO, THIS_FRAME());
}

static void __vfree(const void *addr, u64 fp)
{
	struct vm_area *a = NULL;

	if (!addr)
		return;
	/* Reported before the pages can be reused; a bad pointer is reported too. */
	kv_emit(KV_EV_VFREE, fp, &(struct kv_ev){.addr = (u64)addr});
	spin_lock(&vm_lock);
	for (u32 i = 0; i < VM_AREAS && !a; i++)
		if (areas[i].addr == (u64)addr)
			a = &areas[i];
	spin_unlock(&vm_lock);
	if (!a)
		return;
	unmap_area(a->addr, a->pages);
	a->addr = 0;
}

void vfree(const void *addr)
{
	__vfree(addr, THIS_FRAME());
}

bool is_vmalloc_addr(const void *addr)
{
	return (u64)addr >= VMALLOC_START && (u64)addr < VMALLOC_END;
}

struct page *vmalloc_to_page(const void *addr)
{
	u64 pa = is_vmalloc_addr(addr) ? mmu_translate((u64)addr) : ~0ull;

	return pa == ~0ull ? NULL : pfn_to_page(pa >> PAGE_SHIFT);
}

void *kvmalloc(size_t size, gfp_t gfp)
{
	if (size <= KMALLOC_MAX_CACHE_SIZE)
		return __kmalloc(size, gfp, THIS_FRAME());
	return __vmalloc(size, gfp, THIS_FRAME());
}

void kvfree(const void *addr)
{
	if (is_vmalloc_addr(addr))
		__vfree(addr, THIS_FRAME());
	else
		__kfree(addr, THIS_FRAME());
}
