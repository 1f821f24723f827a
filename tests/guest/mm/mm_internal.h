/* SPDX-License-Identifier: MIT */
/* Internals shared by the allocators in mm/ and kasan_vmm.c. */
#ifndef GUEST_MM_INTERNAL_H
#define GUEST_MM_INTERNAL_H

#include "mm.h"
#include "kasan_vmm.h"

/* struct page flags */
#define PG_managed 0x01u /* RAM the buddy allocator owns */
#define PG_buddy   0x02u /* head of a free buddy block of page->order */
#define PG_head	   0x04u /* head of an allocated block of page->order */
#define PG_tail	   0x08u /* inside an allocated block: private = head pfn */
#define PG_slab	   0x10u /* head of a slab: slab_cache, freelist, alloc_bits */
#define PG_large   0x20u /* head of a large kmalloc: private = requested size */
#define PG_vmalloc 0x40u /* backs a vmalloc area */

#define ZERO_SIZE_PTR	    ((void *)16)
#define ZERO_OR_NULL_PTR(p) ((unsigned long)(p) <= (unsigned long)ZERO_SIZE_PTR)

/* The frame to start a reported stack at: the caller of the function using it. */
#define THIS_FRAME() ((u64)__builtin_frame_address(0))

/* Buddy blocks without an event (slab pages, vmalloc backing, rings, page tables). */
struct page *__alloc_pages_silent(gfp_t gfp, unsigned int order);
void __free_pages_silent(struct page *page, unsigned int order);
/* The same with a PAGE_ALLOC / PAGE_FREE event whose stack starts at fp. */
struct page *__alloc_pages_ev(gfp_t gfp, unsigned int order, u64 fp);
void __free_pages_ev(struct page *page, unsigned int order, u64 fp);
/* Head page of the block holding a managed pfn, or NULL if not allocated. */
struct page *mm_head_page(struct page *page);

/* slab.c: objects of a known cache, and what a kfree'd pointer is. */
void *slab_alloc(struct kmem_cache *s, gfp_t gfp, size_t req, u64 fp);
void slab_free(struct kmem_cache *s, const void *p, u64 fp);
/* 1 if p is an allocated object start (object and its cache out), 0 if not. */
int slab_lookup(const void *p, struct kmem_cache **s, bool *allocated);
unsigned int slab_cache_id(struct kmem_cache *s);
struct kmem_cache *mm_cache_create(const char *name, size_t size, size_t align, unsigned int flags,
				   void (*ctor)(void *), u64 fp);
/* Copy/zero helpers kept inside the allocators (kasan-vmm exempts their RIPs). */
void mm_copy(void *dst, const void *src, size_t n);
void mm_zero(void *dst, size_t n);

/* kmalloc.c: kmalloc without the event's stack frame of its own. */
void *__kmalloc(size_t size, gfp_t gfp, u64 fp);
void __kfree(const void *p, u64 fp);
void *__kmalloc_large(size_t size, gfp_t gfp, u64 fp);
/* Usable size of an allocated object or large kmalloc starting at p; 0 if none. */
size_t kmalloc_alloc_size(const void *p);

/* rcu.c and workqueue.c: the aux stack of the object holding p. */
void mm_record_aux_stack(const void *p, u64 fp);
/* CPUs that must not be sent work (busy with the garbage exerciser). */
extern volatile u32 mm_cpu_busy[MAX_CPUS];

#endif
