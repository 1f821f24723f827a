/* SPDX-License-Identifier: MIT */
/*
 * Guest ranges by GVA, one page piece at a time: the shadow and the tag map
 * are indexed by guest physical address, so every page of a range is
 * translated on its own (vmalloc areas are not contiguous in GPA).
 */
#include <string.h>

#include "shadow/heap_internal.h"

enum piece_op { PIECE_POISON, PIECE_UNPOISON, PIECE_WRITE, PIECE_SCAN, PIECE_TAG, PIECE_OWNER };

struct piece_arg {
	enum piece_op op;
	uint8_t val;
	const uint8_t *pat;		  /* PIECE_WRITE: periodic pattern by gva & 7 */
	struct heap_scan *scan;		  /* PIECE_SCAN */
	const struct object_track *track; /* PIECE_OWNER */
	bool object_free;		  /* PIECE_OWNER */
};

static void scan_piece(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t len,
		       struct heap_scan *sc)
{
	if (!s->ops.read_phys(s->ops.ctx, gpa, s->scratch, len))
		return;
	for (uint64_t i = 0; i < len; i++) {
		uint8_t b = s->scratch[i];

		sc->nonzero |= b != 0;
		if (b == sc->pat[(gva + i) & 7])
			continue;
		if (!sc->bad)
			sc->first = gva + i - sc->base;
		sc->last = gva + i - sc->base;
		sc->bad = true;
	}
}

static bool do_piece(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t len,
		     const struct piece_arg *a)
{
	uint64_t page = gpa & ~(SHADOW_PAGE_SIZE - 1);

	switch (a->op) {
	case PIECE_POISON:
		return shadow_poison(&s->shadow, gpa, len, a->val);
	case PIECE_UNPOISON:
		return shadow_unpoison(&s->shadow, gpa, len);
	case PIECE_WRITE:
		return s->ops.write_phys(s->ops.ctx, gpa, a->pat + (gva & 7), len);
	case PIECE_SCAN:
		scan_piece(s, gpa, gva, len, a->scan);
		return true;
	case PIECE_TAG:
		return tag_map_set(&s->tags, gpa, len, a->val);
	case PIECE_OWNER:
		if (a->object_free) /* the object's free: its pages' own free is still to come */
			page_owner_set_object_free(&s->page_owner, page, 1, a->track);
		else
			page_owner_set(&s->page_owner, page, 1, false, a->track);
		return true;
	}
	return false;
}

/* Run a over [gva, gva + len) page by page; unmapped pieces are skipped and counted. */
static void each_piece(struct sanitizer *s, uint64_t gva, uint64_t len, const struct piece_arg *a)
{
	bool ok = true;

	while (len) {
		uint64_t n = SHADOW_PAGE_SIZE - (gva & (SHADOW_PAGE_SIZE - 1));
		uint64_t gpa;

		if (n > len)
			n = len;
		if (!s->ops.virt_to_phys(s->ops.ctx, gva, &gpa) || !do_piece(s, gpa, gva, n, a))
			ok = false;
		gva += n;
		len -= n;
	}
	if (!ok)
		s->st.bad_ranges++;
}

void heap_poison(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t val)
{
	struct piece_arg a = {.op = PIECE_POISON, .val = val};

	each_piece(s, gva, len, &a);
}

void heap_unpoison(struct sanitizer *s, uint64_t gva, uint64_t len)
{
	struct piece_arg a = {.op = PIECE_UNPOISON};

	each_piece(s, gva, len, &a);
}

bool heap_write_shadow(struct sanitizer *s, uint64_t gva, const struct shadow_run *runs,
		       uint32_t nr)
{
	uint64_t gpa;

	return s->ops.virt_to_phys(s->ops.ctx, gva, &gpa) &&
	       shadow_write(&s->shadow, gpa, runs, nr);
}

void heap_poison_head(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t head, uint8_t val)
{
	uint64_t n = len > SHADOW_GRANULE ? 1 + (len - 1) / SHADOW_GRANULE : 1;
	const struct shadow_run runs[] = {{1, head}, {(uint32_t)(n - 1), val}};

	/* one write when it stays in one page, as a slab object mostly does */
	if (!(gva & SHADOW_GRANULE_MASK) && n <= SHADOW_PAGE_SIZE / SHADOW_GRANULE &&
	    heap_write_shadow(s, gva, runs, 2))
		return;
	heap_poison(s, gva, SHADOW_GRANULE, head);
	if (len > SHADOW_GRANULE)
		heap_poison(s, gva + SHADOW_GRANULE, len - SHADOW_GRANULE, val);
}

void heap_shadow_live(struct sanitizer *s, uint64_t start, uint64_t req, uint64_t alloc,
		      uint8_t redzone)
{
	uint64_t rz = round8(start + req);

	heap_unpoison(s, start, req);
	if (start + alloc > rz)
		heap_poison(s, rz, start + alloc - rz, redzone);
}

uint8_t heap_shadow_at(struct sanitizer *s, uint64_t gva)
{
	uint64_t gpa;
	uint8_t v = 0;

	if (s->ops.virt_to_phys(s->ops.ctx, gva, &gpa))
		shadow_map_get(&s->shadow, gpa, &v);
	return v;
}

void heap_shadow_replace(struct sanitizer *s, uint64_t gva, uint8_t old, uint8_t val)
{
	uint64_t gpa;

	if (!s->ops.virt_to_phys(s->ops.ctx, gva, &gpa))
		return;
	/* an unaligned start's granule write would touch two: the general way */
	if (!(gva & SHADOW_GRANULE_MASK))
		shadow_replace(&s->shadow, gpa, old, val);
	else if (heap_shadow_at(s, gva) == old)
		heap_poison(s, gva, SHADOW_GRANULE, val);
}

void heap_prefetch_shadow(struct sanitizer *s, uint64_t gva)
{
	uint64_t gpa;

	if (s->ops.virt_to_phys(s->ops.ctx, gva, &gpa))
		shadow_map_prefetch(&s->shadow, gpa);
}

void heap_fill(struct sanitizer *s, uint64_t gva, uint64_t len, const uint8_t *pat)
{
	struct piece_arg a = {.op = PIECE_WRITE, .pat = pat};

	each_piece(s, gva, len, &a);
}

void heap_scan_range(struct sanitizer *s, uint64_t gva, uint64_t len, struct heap_scan *sc)
{
	struct piece_arg a = {.op = PIECE_SCAN, .scan = sc};

	each_piece(s, gva, len, &a);
}

void heap_tag_range(struct sanitizer *s, uint64_t gva, uint64_t len, uint8_t tag)
{
	struct piece_arg a = {.op = PIECE_TAG, .val = tag};

	if (s->cfg.mode == SANITIZER_TAGS && len)
		each_piece(s, gva, len, &a);
}

/* As Linux's kasan_poison_kmalloc_redzone starts at round_up(object + size). */
void heap_tag_invalid_inside(struct sanitizer *s, uint64_t gva, uint64_t len)
{
	uint64_t lo = (gva + TAG_GRANULE - 1) & ~(uint64_t)(TAG_GRANULE - 1);
	uint64_t hi = (gva + len) & ~(uint64_t)(TAG_GRANULE - 1);

	if (hi > lo)
		heap_tag_range(s, lo, hi - lo, TAG_INVALID);
}

void heap_set_page_owner(struct sanitizer *s, uint64_t gva, uint64_t len,
			 const struct object_track *t, bool object_free)
{
	struct piece_arg a = {.op = PIECE_OWNER, .track = t, .object_free = object_free};

	each_piece(s, gva, len, &a);
}
