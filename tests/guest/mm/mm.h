/* SPDX-License-Identifier: MIT */
/*
 * Test-guest allocators with Linux names and semantics: buddy pages, slab
 * caches and kmalloc, vmalloc, mempool, call_rcu and a work queue. Every
 * address handed out is a direct-map address (DIRECT_MAP_BASE + pa) except
 * vmalloc's. Every allocation and free is reported to kasan-vmm (kasan_vmm.h);
 * bad frees (double, invalid pointer) are reported but not applied.
 * Locks are plain xchg spinlocks; allocation from interrupt context is not
 * supported.
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include "kernel.h"
#include "mmu.h"

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

/* ---- gfp flags (only __GFP_ZERO changes behaviour) ------------------------ */

typedef unsigned int gfp_t;
#define __GFP_ZERO	 0x100u
#define __GFP_NOWARN	 0x200u
#define __GFP_COMP	 0x400u
#define __GFP_NORETRY	 0x800u
#define __GFP_NOMEMALLOC 0x1000u
#define GFP_KERNEL	 0x1u
#define GFP_ATOMIC	 0x2u
#define GFP_NOWAIT	 0x4u
#define NUMA_NO_NODE	 (-1)

/* ---- spinlock: lock xchg on ordinary memory --------------------------------- */

typedef struct {
	volatile u32 locked;
} spinlock_t;
#define SPINLOCK_INIT                                                                              \
	{                                                                                          \
		0                                                                                  \
	}

static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* ---- buddy page allocator (page_alloc.c) ------------------------------------ */

#define PAGE_SHIFT	  12
#define MAX_PAGE_ORDER	  KV_ORDER_MAX /* largest order, inclusive: 4 MiB blocks */
#define offset_in_page(p) ((unsigned long)(p) & (PAGE_SIZE - 1))

struct kmem_cache;

/* One per page frame, in one array (vmemmap); 64 bytes like Linux's. */
struct page {
	u32 flags;		       /* PG_* (internal) */
	u16 order;		       /* buddy block order (head page) */
	u16 inuse;		       /* slab: objects in use */
	struct page *next, *prev;      /* buddy free list or slab list */
	struct kmem_cache *slab_cache; /* slab: owner */
	void *freelist;		       /* slab: first free object */
	u64 private;		       /* vmalloc / large kmalloc bookkeeping */
	u8 *alloc_bits;		       /* slab: per-object allocated bits */
	u64 pad;
};

extern struct page *vmemmap; /* struct page of pfn 0 (virtual base, maybe unbacked below) */

struct page *alloc_pages(gfp_t gfp, unsigned int order);
void __free_pages(struct page *page, unsigned int order);
unsigned long __get_free_pages(gfp_t gfp, unsigned int order);
unsigned long get_zeroed_page(gfp_t gfp);
void free_pages(unsigned long addr, unsigned int order);
#define alloc_page(gfp)	     alloc_pages(gfp, 0)
#define __free_page(page)    __free_pages(page, 0)
#define __get_free_page(gfp) __get_free_pages(gfp, 0)
#define free_page(addr)	     free_pages(addr, 0)

static inline unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - vmemmap);
}
static inline struct page *pfn_to_page(unsigned long pfn)
{
	return vmemmap + pfn;
}
static inline void *page_address(const struct page *page)
{
	return phys_to_virt((u64)page_to_pfn(page) << PAGE_SHIFT);
}
/* Direct-map (or identity-map) address to its struct page; no checks. */
static inline struct page *virt_to_page(const void *addr)
{
	return pfn_to_page(virt_to_phys(addr) >> PAGE_SHIFT);
}
/* The head page of the buddy block or slab holding addr. */
struct page *virt_to_head_page(const void *addr);
/* addr is a direct-map address of a page the buddy allocator manages. */
bool virt_addr_valid(const void *addr);
unsigned long nr_free_pages(void);

/* ---- slab caches and kmalloc (slab.c, kmalloc.c) ---------------------------- */

#define SLAB_HWCACHE_ALIGN   0x00002000u /* align objects to 64 bytes */
#define SLAB_PANIC	     0x00040000u
#define SLAB_TYPESAFE_BY_RCU 0x00080000u /* frees take effect after a grace period */
#define SLAB_ACCOUNT	     0x04000000u
#define SLAB_NO_MERGE	     0x01000000u

#define KMALLOC_MIN_SIZE       8
#define KMALLOC_MAX_CACHE_SIZE 8192 /* larger kmallocs come from the buddy allocator */

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
				     unsigned int flags, void (*ctor)(void *));
void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *s, void *objp);
void kmem_cache_destroy(struct kmem_cache *s);
/* Returns nr on success, 0 (nothing allocated) on failure, like Linux. */
int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t nr, void **p);
void kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p);
unsigned int kmem_cache_size(struct kmem_cache *s); /* object size */
/* For tests: slot stride (object + red zone, aligned) and the free pointer's offset. */
unsigned int kmem_cache_slot_size(struct kmem_cache *s);
unsigned int kmem_cache_freeptr_offset(struct kmem_cache *s);
/* For tests: the cache kmalloc(size) would use, NULL above KMALLOC_MAX_CACHE_SIZE. */
struct kmem_cache *kmalloc_slab(size_t size);

void *kmalloc(size_t size, gfp_t gfp);
void *kzalloc(size_t size, gfp_t gfp);
void *kmalloc_node(size_t size, gfp_t gfp, int node);
void *kzalloc_node(size_t size, gfp_t gfp, int node);
void *kmalloc_track_caller(size_t size, gfp_t gfp);
void *kmalloc_array(size_t n, size_t size, gfp_t gfp);
void *kcalloc(size_t n, size_t size, gfp_t gfp);
void *kmemdup(const void *src, size_t len, gfp_t gfp);
char *kstrdup(const char *s, gfp_t gfp);
void kfree(const void *objp);
void kfree_sensitive(const void *objp); /* zero the whole allocation, then kfree */
#define kzfree(p) kfree_sensitive(p)
void *krealloc(const void *p, size_t new_size, gfp_t gfp);
size_t ksize(const void *objp); /* the allocation's full size; makes all of it valid */
size_t kmalloc_size_roundup(size_t size);

/* ---- vmalloc (vmalloc.c): 4 KiB pages, one unmapped guard page after each area ---- */

void *vmalloc(unsigned long size);
void *vzalloc(unsigned long size);
void vfree(const void *addr);
bool is_vmalloc_addr(const void *addr);
struct page *vmalloc_to_page(const void *addr);
void *kvmalloc(size_t size, gfp_t gfp); /* kmalloc, or vmalloc above a page order 3 */
void kvfree(const void *addr);

/* ---- mempool (mempool.c) ------------------------------------------------------ */

/*
 * As in Linux: mempool_alloc tries the underlying allocator first and falls
 * back to the reserved elements; mempool_free refills the reserve while it is
 * below min_nr, else frees. Reserved elements are "freed" from KASAN's view.
 * Page pools hand out struct page *.
 */
typedef void *(mempool_alloc_t)(gfp_t gfp, void *pool_data);
typedef void(mempool_free_t)(void *element, void *pool_data);

typedef struct mempool {
	spinlock_t lock;
	int min_nr;
	int curr_nr;
	void **elements;
	void *pool_data;
	mempool_alloc_t *alloc;
	mempool_free_t *free;
	int kind; /* internal: what the elements are */
} mempool_t;

int mempool_init_kmalloc_pool(mempool_t *pool, int min_nr, size_t size);
int mempool_init_slab_pool(mempool_t *pool, int min_nr, struct kmem_cache *cache);
int mempool_init_page_pool(mempool_t *pool, int min_nr, int order);
void mempool_exit(mempool_t *pool);
mempool_t *mempool_create_kmalloc_pool(int min_nr, size_t size);
mempool_t *mempool_create_slab_pool(int min_nr, struct kmem_cache *cache);
mempool_t *mempool_create_page_pool(int min_nr, int order);
void *mempool_alloc(mempool_t *pool, gfp_t gfp);
void mempool_free(void *element, mempool_t *pool);
void mempool_destroy(mempool_t *pool);
/* For tests: use only the reserve (the underlying allocator "fails"). */
void *mempool_alloc_preallocated(mempool_t *pool);

/* ---- RCU (rcu.c) ------------------------------------------------------------------ */

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};
typedef void (*rcu_callback_t)(struct rcu_head *head);

/*
 * call_rcu records the caller's stack as an aux stack of the object holding
 * head; callbacks run after a grace period (every online CPU passed a
 * quiescent point), at the latest in rcu_barrier() or synchronize_rcu().
 */
void call_rcu(struct rcu_head *head, rcu_callback_t func);
void rcu_barrier(void);
void synchronize_rcu(void);
static inline void rcu_read_lock(void)
{
	barrier();
}
static inline void rcu_read_unlock(void)
{
	barrier();
}
/* kfree_rcu(ptr, field): kfree(ptr) after a grace period. */
void __kfree_rcu(struct rcu_head *head, unsigned long offset);
#define kfree_rcu(ptr, rhf) __kfree_rcu(&(ptr)->rhf, offsetof(__typeof__(*(ptr)), rhf))

/* ---- work queue (workqueue.c) ------------------------------------------------- */

struct work_struct;
typedef void (*work_func_t)(struct work_struct *work);
struct work_struct {
	struct work_struct *next;
	work_func_t func;
	u32 pending;
	u32 cpu;
};
#define INIT_WORK(w, f)                                                                            \
	do {                                                                                       \
		(w)->next = NULL;                                                                  \
		(w)->func = (f);                                                                   \
		(w)->pending = 0;                                                                  \
		(w)->cpu = 0;                                                                      \
	} while (0)

struct workqueue_struct;
extern struct workqueue_struct *system_wq;

/*
 * Work runs on another CPU than the queueing one (smp_call_on; on the same
 * CPU with one CPU) when the queue is flushed or destroyed, as a "kworker"
 * task. queue_work records the caller's stack as an aux stack of the object
 * holding work.
 */
struct workqueue_struct *alloc_workqueue(const char *name, unsigned int flags, int max_active);
#define create_workqueue(name) alloc_workqueue(name, 0, 1)
void destroy_workqueue(struct workqueue_struct *wq);
bool queue_work(struct workqueue_struct *wq, struct work_struct *work);
bool schedule_work(struct work_struct *work);
bool flush_work(struct work_struct *work);
void flush_workqueue(struct workqueue_struct *wq);

/* ---- init (called by kmain) ---------------------------------------------------- */

void page_alloc_init(void); /* after mmu_init: takes over page-table allocation */
void kmem_cache_init(void); /* kmalloc caches */

#endif
