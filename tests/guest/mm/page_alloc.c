/* SPDX-License-Identifier: MIT */
/*
 * Buddy page allocator over the memmap's RAM above the kernel image (low
 * memory, the image with its page tables and the struct page array stay
 * out). Only block heads are initialised at boot: touching every struct
 * page costs too much where guest kernel code is emulated.
 */
#include "mm_internal.h"
#include "bootinfo.h"
#include "printf.h"
#include "string.h"

#define NR_ORDERS   (MAX_PAGE_ORDER + 1)
#define MAX_MANAGED BOOT_MEMMAP_MAX
#define LOW_MEM_END 0x100000ul /* BIOS area, trampoline: never handed out */

struct page *vmemmap;
static struct page *free_area[NR_ORDERS];
static u64 nr_free, max_pfn;
static spinlock_t zone_lock;
static struct {
	u64 start, end; /* pfns */
} managed[MAX_MANAGED];
static u32 nr_managed;

static void list_del(struct page **head, struct page *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		*head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
}

static void list_add(struct page **head, struct page *p)
{
	p->prev = NULL;
	p->next = *head;
	if (*head)
		(*head)->prev = p;
	*head = p;
}

static void buddy_put(u64 pfn, unsigned int order)
{
	struct page *p = vmemmap + pfn;

	p->flags = PG_buddy;
	p->order = (u16)order;
	list_add(&free_area[order], p);
}

/* Called with zone_lock held; merges with free buddies. */
static void buddy_free_locked(u64 pfn, unsigned int order)
{
	nr_free += 1ul << order;
	while (order < MAX_PAGE_ORDER) {
		u64 bpfn = pfn ^ (1ul << order);
		struct page *b = vmemmap + bpfn;

		if (bpfn >= max_pfn || !(b->flags & PG_buddy) || b->order != order)
			break;
		list_del(&free_area[order], b);
		b->flags = 0;
		pfn &= ~(1ul << order);
		order++;
	}
	buddy_put(pfn, order);
}

static struct page *buddy_alloc(unsigned int order)
{
	struct page *p = NULL;
	unsigned int o;

	spin_lock(&zone_lock);
	for (o = order; o < NR_ORDERS && !free_area[o]; o++)
		;
	if (o < NR_ORDERS) {
		p = free_area[o];
		list_del(&free_area[o], p);
		while (o > order) { /* split: give back the upper halves */
			o--;
			buddy_put(page_to_pfn(p) + (1ul << o), o);
		}
		p->flags = PG_head;
		p->order = (u16)order;
		nr_free -= 1ul << order;
	}
	spin_unlock(&zone_lock);
	if (p)
		for (u64 i = 1; i < (1ul << order); i++) {
			p[i].flags = PG_tail;
			p[i].private = page_to_pfn(p);
		}
	return p;
}

struct page *mm_head_page(struct page *page)
{
	if (page->flags & PG_tail)
		page = vmemmap + page->private;
	return (page->flags & PG_head) ? page : NULL;
}

struct page *virt_to_head_page(const void *addr)
{
	struct page *p = virt_to_page(addr);
	struct page *h = mm_head_page(p);

	return h ? h : p;
}

bool virt_addr_valid(const void *addr)
{
	u64 a = (u64)addr, pfn;

	if (a < DIRECT_MAP_BASE)
		return false;
	pfn = (a - DIRECT_MAP_BASE) >> PAGE_SHIFT;
	for (u32 i = 0; i < nr_managed; i++)
		if (pfn >= managed[i].start && pfn < managed[i].end)
			return true;
	return false;
}

struct page *__alloc_pages_silent(gfp_t gfp, unsigned int order)
{
	struct page *p;

	if (order > MAX_PAGE_ORDER)
		return NULL;
	p = buddy_alloc(order);
	if (p && (gfp & __GFP_ZERO))
		memset(page_address(p), 0, PAGE_SIZE << order);
	return p;
}

/*
 * Frees a block if page heads an allocated block of that order; sends the
 * event (if ev) either way, under the lock so that a reuse on another CPU is
 * ordered after it.
 */
static void free_block(struct page *page, unsigned int order, bool ev, u64 fp)
{
	u64 pfn = page_to_pfn(page);
	bool ok = order <= MAX_PAGE_ORDER && (page->flags & PG_head) && page->order == order;

	if (ok)
		for (u64 i = 1; i < (1ul << order); i++)
			page[i].flags = 0;
	spin_lock(&zone_lock);
	if (ok)
		buddy_free_locked(pfn, order);
	if (ev)
		kv_emit(
		    KV_EV_PAGE_FREE, fp,
		    &(struct kv_ev){.pfn = pfn, .order = order, .addr = (u64)page_address(page)});
	spin_unlock(&zone_lock);
}

void __free_pages_silent(struct page *page, unsigned int order)
{
	free_block(page, order, false, 0);
}

struct page *__alloc_pages_ev(gfp_t gfp, unsigned int order, u64 fp)
{
	struct page *p = order <= MAX_PAGE_ORDER ? buddy_alloc(order) : NULL;

	if (!p)
		return NULL;
	kv_emit(
	    KV_EV_PAGE_ALLOC, fp,
	    &(struct kv_ev){.pfn = page_to_pfn(p), .order = order, .addr = (u64)page_address(p)});
	if (gfp & __GFP_ZERO)
		memset(page_address(p), 0, PAGE_SIZE << order);
	return p;
}

void __free_pages_ev(struct page *page, unsigned int order, u64 fp)
{
	free_block(page, order, true, fp);
}

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	return __alloc_pages_ev(gfp, order, THIS_FRAME());
}

void __free_pages(struct page *page, unsigned int order)
{
	if (page)
		free_block(page, order, true, THIS_FRAME());
}

unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	struct page *p = __alloc_pages_ev(gfp, order, THIS_FRAME());

	return p ? (unsigned long)page_address(p) : 0;
}

unsigned long get_zeroed_page(gfp_t gfp)
{
	struct page *p = __alloc_pages_ev(gfp | __GFP_ZERO, 0, THIS_FRAME());

	return p ? (unsigned long)page_address(p) : 0;
}

void free_pages(unsigned long addr, unsigned int order)
{
	if (addr)
		free_block(virt_to_page((void *)addr), order, true, THIS_FRAME());
}

unsigned long nr_free_pages(void)
{
	return nr_free;
}

static u64 pt_page_alloc(void)
{
	/* An event: a page freed earlier must not stay trapped once the MMU walks it. */
	struct page *p = __alloc_pages_ev(__GFP_ZERO, 0, THIS_FRAME());

	return p ? (u64)page_to_pfn(p) << PAGE_SHIFT : 0;
}

/* Hands [s, e) to the buddy allocator in the largest aligned blocks. */
static void add_range(u64 s, u64 e)
{
	if (s >= e)
		return;
	if (nr_managed < MAX_MANAGED) {
		managed[nr_managed].start = s;
		managed[nr_managed++].end = e;
	}
	while (s < e) {
		unsigned int o = MAX_PAGE_ORDER;

		while ((s & ((1ul << o) - 1)) || s + (1ul << o) > e)
			o--;
		buddy_free_locked(s, o);
		s += 1ul << o;
	}
}

void page_alloc_init(void)
{
	extern char __kernel_end[];
	u64 img_end = ALIGN_UP(virt_to_phys(__kernel_end), PAGE_SIZE), map_pa = 0, map_size;

	for (u32 i = 0; i < bootinfo.nr_mem; i++)
		if (bootinfo.mem[i].type == MEM_TYPE_RAM)
			max_pfn = MAX(max_pfn,
				      (bootinfo.mem[i].start + bootinfo.mem[i].size) >> PAGE_SHIFT);
	map_size = ALIGN_UP(max_pfn * sizeof(struct page), PAGE_SIZE);
	for (u32 i = 0; i < bootinfo.nr_mem && !map_pa; i++) {
		const struct mem_range *m = &bootinfo.mem[i];
		u64 s = MAX(ALIGN_UP(m->start, PAGE_SIZE), img_end);

		if (m->type == MEM_TYPE_RAM && s + map_size <= m->start + m->size)
			map_pa = s;
	}
	if (!map_pa)
		panic("page_alloc: no room for %llu struct pages", (unsigned long long)max_pfn);
	vmemmap = phys_to_virt(map_pa);
	memset(vmemmap, 0, map_size);
	for (u32 i = 0; i < bootinfo.nr_mem; i++) {
		const struct mem_range *m = &bootinfo.mem[i];
		u64 s = ALIGN_UP(m->start, PAGE_SIZE),
		    e = ALIGN_DOWN(m->start + m->size, PAGE_SIZE);

		if (m->type != MEM_TYPE_RAM)
			continue;
		s = MAX(s, LOW_MEM_END);
		if (s < map_pa + map_size && e > LOW_MEM_END)
			s = MAX(s, map_pa + map_size); /* the image and the array */
		add_range(s >> PAGE_SHIFT, e >> PAGE_SHIFT);
	}
	mmu_set_pt_allocator(pt_page_alloc);
	printf("testguest: page allocator: %llu free pages, vmemmap at %p\n",
	       (unsigned long long)nr_free, (void *)vmemmap);
}
