/* SPDX-License-Identifier: MIT */
#include "shadow/page_owner.h"

#include <errno.h>
#include <string.h>

int page_owner_init(struct page_owner *po, const struct shadow_ram_range *ranges, unsigned int nr)
{
	int err;

	memset(po, 0, sizeof(*po));
	err = shadow_layout_init(&po->layout, ranges, nr);
	if (err)
		return err;
	po->len = po->layout.total / SHADOW_PAGE_SIZE * sizeof(*po->e);
	po->e = shadow_lazy_alloc(po->len);
	return po->e ? 0 : -ENOMEM;
}

void page_owner_destroy(struct page_owner *po)
{
	shadow_lazy_free(po->e, po->len);
	po->e = NULL;
}

static void set_pages(struct page_owner *po, uint64_t gpa, uint64_t npages, bool is_free,
		      const struct object_track *t, enum page_owner_state state)
{
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t idx;
		struct page_owner_entry *e;

		if (!shadow_layout_index(&po->layout, gpa + i * SHADOW_PAGE_SIZE, &idx))
			return;
		e = &po->e[idx / SHADOW_PAGE_SIZE];
		if (is_free) {
			e->free = *t;
			e->has_free = 1;
		} else {
			e->alloc = *t;
			e->has_alloc = 1;
		}
		e->state = (uint8_t)state;
	}
}

void page_owner_set(struct page_owner *po, uint64_t gpa, uint64_t npages, bool is_free,
		    const struct object_track *t)
{
	set_pages(po, gpa, npages, is_free, t, is_free ? PAGE_STATE_FREED : PAGE_STATE_ALLOCATED);
}

void page_owner_set_object_free(struct page_owner *po, uint64_t gpa, uint64_t npages,
				const struct object_track *t)
{
	set_pages(po, gpa, npages, true, t, PAGE_STATE_OBJECT_FREED);
}

const struct page_owner_entry *page_owner_get(const struct page_owner *po, uint64_t gpa)
{
	uint64_t idx;

	if (!shadow_layout_index(&po->layout, gpa, &idx))
		return NULL;
	return &po->e[idx / SHADOW_PAGE_SIZE];
}
