/* SPDX-License-Identifier: MIT */
/*
 * Page owner: per guest physical page, the last allocation and the last free
 * (task, time, depot handle), as page_owner does in Linux. Stored in a flat
 * array over guest RAM that is lazily backed, so only pages the guest ever
 * allocated or freed cost host memory (56 bytes each). Handles are held
 * without a depot reference: old page history may be evicted from the depot
 * and then prints as "not available".
 *
 * Not thread-safe: the owner (struct sanitizer) serializes.
 */
#ifndef SHADOW_PAGE_OWNER_H
#define SHADOW_PAGE_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shadow/objects.h"
#include "shadow/shadow_map.h"

/*
 * What the page is now. A large kmalloc or vmalloc free frees the object
 * first and its pages right after (Linux: kfree, then __free_pages): the
 * page free that follows an object free is expected, a second one is not.
 */
enum page_owner_state {
	PAGE_STATE_UNKNOWN = 0, /* no event yet (boot memory, before the driver) */
	PAGE_STATE_ALLOCATED,
	PAGE_STATE_FREED,	/* by a page free */
	PAGE_STATE_OBJECT_FREED /* by an object free; the page free is still to come */
};

struct page_owner_entry {
	struct object_track alloc;
	struct object_track free;
	uint8_t has_alloc, has_free;
	uint8_t state; /* enum page_owner_state */
};

struct page_owner {
	struct shadow_ram_layout layout;
	struct page_owner_entry *e;
	size_t len;
};

int page_owner_init(struct page_owner *po, const struct shadow_ram_range *ranges, unsigned int nr);
void page_owner_destroy(struct page_owner *po);

/*
 * Record an allocation (is_free false) or a free of npages pages from gpa
 * (state ALLOCATED or FREED); _object_free: freed with a large kmalloc or
 * vmalloc object, the page free is still to come (state OBJECT_FREED).
 */
void page_owner_set(struct page_owner *po, uint64_t gpa, uint64_t npages, bool is_free,
		    const struct object_track *t);
void page_owner_set_object_free(struct page_owner *po, uint64_t gpa, uint64_t npages,
				const struct object_track *t);

/* The entry for the page holding gpa, or NULL if gpa is not RAM. */
const struct page_owner_entry *page_owner_get(const struct page_owner *po, uint64_t gpa);

#endif /* SHADOW_PAGE_OWNER_H */
