/* SPDX-License-Identifier: MIT */
/*
 * A minimal slab allocator: kmalloc caches of 16..2048 bytes, each object
 * followed by a red zone (announced in CACHE_CREATE, so kasan-vmm poisons
 * it), freelists kept in the red zone, a FIFO quarantine of freed objects,
 * and ALLOC/FREE events with the caller's stack. In tag mode (KV_FEAT_TAGS)
 * kmalloc returns pointers with a random tag in the top byte, as Linux's
 * HW_TAGS mode does, and the events carry it.
 */
#ifndef A64G_SLAB_H
#define A64G_SLAB_H

#include "kernel.h"

#define KMALLOC_MAX  2048u
#define SLAB_REDZONE 64u

void kmalloc_init(void);
void *kmalloc(size_t size);
/* Frees p; a pointer that is not a live object is announced (kasan-vmm judges) and refused. */
void kfree(const void *p);
/* Object size of the cache kmalloc(size) uses; 0 above KMALLOC_MAX. */
size_t kmalloc_object_size(size_t size);

#endif
