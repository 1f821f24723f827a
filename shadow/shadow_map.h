/* SPDX-License-Identifier: MIT */
/*
 * Generic KASAN shadow, indexed by guest PHYSICAL address: one shadow byte
 * per 8 bytes of guest RAM, with the kasan.h encoding (0 accessible, 1..7 the
 * first N bytes accessible, >= 0x80 poisoned with a reason code).
 *
 * Guest RAM may be discontiguous (x86: below 3 GiB and above 4 GiB), so the
 * map takes a list of RAM ranges and packs them into one index space. The
 * shadow is one MAP_NORESERVE anonymous mapping: untouched shadow reads as 0
 * (accessible) and costs no host memory; whole shadow pages set back to 0
 * are given back with MADV_DONTNEED.
 *
 * Per guest page the map counts non-zero shadow bytes, so it can tell the
 * notify callback exactly when a page becomes poisoned (count 0 -> >0) or
 * clean (>0 -> 0). ept/ arms and disarms pages from that; the callback runs
 * only on a change. An object's slot written over a poisoned page with some
 * poison of its own (shadow_write, the usual allocation and free) leaves the
 * page poisoned whatever the count was: the count then only says "some"
 * (SHADOW_COUNT_SOME) and is taken again when a write could clean the page.
 *
 * Not thread-safe: the owner (struct sanitizer) serializes.
 */
#ifndef SHADOW_SHADOW_MAP_H
#define SHADOW_SHADOW_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHADOW_GRANULE	    8
#define SHADOW_GRANULE_MASK 7ull
#define SHADOW_PAGE_SIZE    4096ull
#define SHADOW_PAGE_SHIFT   12
#define SHADOW_MAX_RANGES   8

/* kasan.h shadow values (generic mode) */
#define SHADOW_ACCESSIBLE      0x00
#define SHADOW_PAGE_FREE       0xFF
#define SHADOW_PAGE_REDZONE    0xFE
#define SHADOW_SLAB_REDZONE    0xFC
#define SHADOW_SLAB_FREE       0xFB
#define SHADOW_SLAB_FREE_META  0xFA
#define SHADOW_VMALLOC_INVALID 0xF8

/* One block of guest RAM: [gpa, gpa + size), both page-aligned. */
struct shadow_ram_range {
	uint64_t gpa;
	uint64_t size;
};

/*
 * Guest RAM layout: maps a GPA to a dense byte index (0 .. total) over all
 * ranges. Shared by the shadow, the tag map and the page-owner table.
 */
struct shadow_ram_layout {
	unsigned int nr;
	struct shadow_ram_range r[SHADOW_MAX_RANGES];
	uint64_t base[SHADOW_MAX_RANGES]; /* dense index of r[i].gpa */
	uint64_t total;			  /* bytes of RAM */
};

/* Validate and copy ranges (sorted, non-overlapping, page-aligned): 0 or -EINVAL. */
int shadow_layout_init(struct shadow_ram_layout *l, const struct shadow_ram_range *ranges,
		       unsigned int nr);

/* Dense index of gpa; false if gpa is not RAM. */
bool shadow_layout_index(const struct shadow_ram_layout *l, uint64_t gpa, uint64_t *index);

/*
 * Reserve `bytes` of lazily backed, zero-filled host memory (MAP_NORESERVE).
 * Returns NULL on failure. Release with shadow_lazy_free().
 */
void *shadow_lazy_alloc(size_t bytes);
void shadow_lazy_free(void *p, size_t bytes);

/* Called when a guest page's shadow changes between all-zero and not. */
/* val: the shadow value whose write made the page poisoned (0 when it became clean). */
typedef void (*shadow_notify_fn)(void *ctx, uint64_t gpa_page, bool poisoned, uint8_t val);

/*
 * Freed memory (val: a freed shadow value) written on a page that was poisoned
 * already, so no notify: the `freed` arming policy must still learn of it.
 */
typedef void (*shadow_freed_fn)(void *ctx, uint64_t gpa_page, uint8_t val);

/* Shadow values of freed memory (as opposed to red zones). */
static inline bool shadow_val_freed(uint8_t v)
{
	return v == SHADOW_PAGE_FREE || v == SHADOW_SLAB_FREE || v == SHADOW_SLAB_FREE_META ||
	       v == SHADOW_VMALLOC_INVALID;
}

#define SHADOW_COUNT_SOME 0xFFFF /* page_dirty: non-zero bytes, how many not kept */

struct shadow_map {
	struct shadow_ram_layout layout;
	uint8_t *bytes;	      /* layout.total / 8 shadow bytes */
	uint16_t *page_dirty; /* per guest page: count of non-zero shadow bytes, or SOME */
	size_t bytes_len, dirty_len;
	shadow_notify_fn notify;
	shadow_freed_fn freed; /* optional, set after init; called with notify_ctx */
	void *notify_ctx;
};

int shadow_map_init(struct shadow_map *m, const struct shadow_ram_range *ranges, unsigned int nr,
		    shadow_notify_fn notify, void *notify_ctx);
void shadow_map_destroy(struct shadow_map *m);

/* Shadow byte for gpa; false if gpa is not RAM. */
bool shadow_map_get(const struct shadow_map *m, uint64_t gpa, uint8_t *val);
/* Start fetching the shadow of gpa and its page's count (a hint; any gpa is accepted). */
void shadow_map_prefetch(const struct shadow_map *m, uint64_t gpa);

/*
 * Set every granule touching [gpa, gpa + len) to `val` (len is rounded up to
 * whole granules; gpa should be granule-aligned). The range must lie in one
 * RAM range; returns false (and changes nothing) otherwise.
 */
bool shadow_poison(struct shadow_map *m, uint64_t gpa, uint64_t len, uint8_t val);

/*
 * Make [gpa, gpa + len) accessible; a partial last granule gets len % 8.
 * Same range rules as shadow_poison().
 */
bool shadow_unpoison(struct shadow_map *m, uint64_t gpa, uint64_t len);

/* n granules whose shadow is val: a piece of an object's slot. */
struct shadow_run {
	uint32_t n;
	uint8_t val;
};

/*
 * Set the shadow of the granules from gpa (granule-aligned) to runs[0 ..
 * nr), one after the other: a whole object slot in one call. All granules
 * must lie in one guest page of RAM; returns false (and changes nothing)
 * otherwise.
 */
bool shadow_write(struct shadow_map *m, uint64_t gpa, const struct shadow_run *runs, uint32_t nr);

/*
 * If the shadow byte of the granule at gpa (granule-aligned, RAM) is `old`,
 * set it to `val`, as shadow_poison() of that granule would; else change
 * nothing. Returns whether it was `old`.
 */
bool shadow_replace(struct shadow_map *m, uint64_t gpa, uint8_t old, uint8_t val);

/*
 * First inaccessible byte in [gpa, gpa + len), exact to the byte (a partial
 * granule's accessible prefix is skipped). Addresses that are not RAM count
 * as bad. Returns false if the whole range is accessible.
 */
bool shadow_first_bad(const struct shadow_map *m, uint64_t gpa, uint64_t len, uint64_t *bad);

/* Whether any shadow byte of the guest page holding gpa is non-zero. */
bool shadow_page_poisoned(const struct shadow_map *m, uint64_t gpa);

#endif /* SHADOW_SHADOW_MAP_H */
