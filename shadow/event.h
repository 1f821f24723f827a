/* SPDX-License-Identifier: MIT */
/*
 * A decoded, validated allocator event: the contract between paravirt/
 * (which reads untrusted guest rings, validates and decodes) and shadow/
 * (which applies events to the sanitizer state). shadow/ may assume every
 * field was range-checked by paravirt/: addresses are canonical, untagged
 * guest virtual addresses whose [addr, addr + size) does not wrap (an arm64
 * pointer's TBI tag is in ptr_tag), sizes and
 * orders are within the ABI's limits, names are NUL-terminated, and
 * nr_frames <= SHADOW_MAX_FRAMES. It must still not trust that the guest's
 * story is consistent (double frees, frees of unknown objects, overlaps):
 * that is what it is there to judge.
 */
#ifndef SHADOW_EVENT_H
#define SHADOW_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#define SHADOW_MAX_FRAMES 64
#define SHADOW_NAME_LEN	  64 /* cache and module names, NUL included */
#define SHADOW_COMM_LEN	  16 /* TASK_COMM_LEN */

enum shadow_event_kind {
	/* CACHE_CREATE: size_alloc = slot stride, object + red zone (= size_req: none) */
	SHADOW_EV_CACHE_CREATE = 1, /* cache_id, name, size_req = object size, freeptr_offset */
	SHADOW_EV_CACHE_DESTROY,    /* cache_id */
	SHADOW_EV_SLAB_ALLOC,	    /* addr, size_req, size_alloc, cache_id */
	SHADOW_EV_SLAB_FREE,	    /* addr, cache_id (0: kfree, unknown cache) */
	SHADOW_EV_KMALLOC_LARGE,    /* addr, size_req, size_alloc (page-backed kmalloc) */
	SHADOW_EV_KFREE_LARGE,	    /* addr */
	SHADOW_EV_PAGE_ALLOC,	    /* pfn, order, addr = direct-map address of the first page */
	SHADOW_EV_PAGE_FREE,	    /* pfn, order, addr */
	SHADOW_EV_VMALLOC,	    /* addr, size_req, size_alloc (mapped, page-aligned) */
	SHADOW_EV_VFREE,	    /* addr */
	SHADOW_EV_KREALLOC,	 /* old_addr -> addr, size_req, size_alloc (in place when equal) */
	SHADOW_EV_KSIZE,	 /* addr: the whole allocated size becomes valid */
	SHADOW_EV_AUX_STACK,	 /* addr: object the work was queued for; frames = queueing stack */
	SHADOW_EV_MODULE_LOAD,	 /* name, addr = base, size_req = size */
	SHADOW_EV_MODULE_UNLOAD, /* name, addr = base */
};

struct shadow_event {
	enum shadow_event_kind kind;
	uint64_t seq;  /* global sequence number: events arrive in this order */
	uint64_t time; /* guest TSC at the event */
	uint32_t pid;
	uint32_t cpu;
	char comm[SHADOW_COMM_LEN];

	uint64_t addr;	     /* guest virtual address of the object/first page */
	bool ptr_tagged;     /* the guest's pointer to addr carried a tag (arm64 TBI) ... */
	uint8_t ptr_tag;     /* ... this one (any value; tag mode keeps 0x00..0xFD) */
	uint64_t old_addr;   /* krealloc: the previous object */
	uint64_t size_req;   /* requested size */
	uint64_t size_alloc; /* allocated size (>= size_req) */
	uint64_t pfn;
	uint32_t order;
	uint32_t cache_id;
	uint32_t freeptr_offset; /* cache create: offset of the freelist word, or UINT32_MAX */
	uint32_t red_left;	 /* cache create: slot bytes before the object (left red zone) */
	char name[SHADOW_NAME_LEN];

	uint32_t nr_frames;
	uint64_t frames[SHADOW_MAX_FRAMES]; /* return addresses, innermost first */
};

#endif /* SHADOW_EVENT_H */
