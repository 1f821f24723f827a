/* SPDX-License-Identifier: MIT */
/*
 * Page owner: per guest physical page, the last allocation and the last free
 * (task, time, depot handle), as page_owner does in Linux. Stored in a flat
 * array over guest RAM that is lazily backed, so only pages the guest ever
 * allocated or freed cost host memory (40 bytes each). Handles are held
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

struct page_owner_entry {
	struct object_track alloc;
	struct object_track free;
	uint8_t has_alloc, has_free;
};

struct page_owner {
	struct shadow_ram_layout layout;
	struct page_owner_entry *e;
	size_t len;
};

int page_owner_init(struct page_owner *po, const struct shadow_ram_range *ranges, unsigned int nr);
void page_owner_destroy(struct page_owner *po);

/* Record an allocation (is_free false) or a free of npages pages from gpa. */
void page_owner_set(struct page_owner *po, uint64_t gpa, uint64_t npages, bool is_free,
		    const struct object_track *t);

/* The entry for the page holding gpa, or NULL if gpa is not RAM. */
const struct page_owner_entry *page_owner_get(const struct page_owner *po, uint64_t gpa);

#endif /* SHADOW_PAGE_OWNER_H */
