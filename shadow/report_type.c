// SPDX-License-Identifier: MIT
/* Bug-type classification: Linux's get_bug_type (generic) and the tag-mode rule. */
#include "shadow/report.h"

#define GRANULE_GENERIC 8u

/* kasan.h generic shadow encodings */
enum {
	SH_PAGE_FREE = 0xFF,
	SH_PAGE_REDZONE = 0xFE,
	SH_SLAB_REDZONE = 0xFC,
	SH_SLAB_FREE = 0xFB,
	SH_SLAB_FREETRACK = 0xFA,
	SH_GLOBAL_REDZONE = 0xF9,
	SH_VMALLOC_INVALID = 0xF8,
	SH_STACK_LEFT = 0xF1,
	SH_STACK_MID = 0xF2,
	SH_STACK_RIGHT = 0xF3,
	SH_STACK_PARTIAL = 0xF4,
	SH_ALLOCA_LEFT = 0xCA,
	SH_ALLOCA_RIGHT = 0xCB,
};

static const char *shadow_bug_type(uint8_t s, uint8_t next)
{
	/* a partial granule says nothing about why: the next one does */
	if (s > 0 && s < GRANULE_GENERIC)
		s = next;
	if (s < GRANULE_GENERIC)
		return "out-of-bounds";
	switch (s) {
	case SH_PAGE_REDZONE:
	case SH_SLAB_REDZONE:
		return "slab-out-of-bounds";
	case SH_GLOBAL_REDZONE:
		return "global-out-of-bounds";
	case SH_STACK_LEFT:
	case SH_STACK_MID:
	case SH_STACK_RIGHT:
	case SH_STACK_PARTIAL:
		return "stack-out-of-bounds";
	case SH_PAGE_FREE:
		return "use-after-free";
	case SH_SLAB_FREE:
	case SH_SLAB_FREETRACK:
		return "slab-use-after-free";
	case SH_ALLOCA_LEFT:
	case SH_ALLOCA_RIGHT:
		return "alloca-out-of-bounds";
	case SH_VMALLOC_INVALID:
		return "vmalloc-out-of-bounds";
	default:
		return "unknown-crash";
	}
}

const char *report_bug_type(uint64_t addr, uint64_t size, bool has_shadow, uint8_t shadow_byte,
			    uint8_t next_shadow_byte)
{
	if (addr + size < addr)
		return "out-of-bounds";
	if (!has_shadow) {
		if (addr < REPORT_PAGE_SIZE)
			return "null-ptr-deref";
		if (addr < REPORT_TASK_SIZE)
			return "user-memory-access";
		return "wild-memory-access";
	}
	return shadow_bug_type(shadow_byte, next_shadow_byte);
}

const char *report_bug_type_tags(enum report_ring_hit first, uint64_t addr, uint64_t size)
{
	/* report_tags.c: the ring decides first, the common rule only without a hit */
	if (first == REPORT_RING_FREE)
		return "slab-use-after-free";
	if (first == REPORT_RING_ALLOC)
		return "slab-out-of-bounds";
	if (addr + size < addr)
		return "out-of-bounds";
	return "invalid-access";
}

/* Shadow byte i (0-based across all rows) of the memory-state dump. */
static uint8_t row_byte(const struct report_info *r, uint64_t i)
{
	return r->rows[i / REPORT_ROW_BYTES][i % REPORT_ROW_BYTES];
}

static const char *generic_type_from_rows(const struct report_info *r)
{
	const uint64_t n = (uint64_t)REPORT_SHADOW_ROWS * REPORT_ROW_BYTES;
	uint64_t i;

	if (r->no_shadow || r->addr + r->access_size < r->addr)
		return report_bug_type(r->addr, r->access_size, !r->no_shadow, 0, 0);
	if (r->first_bad_addr < r->row_addr)
		return "unknown-crash";
	i = (r->first_bad_addr - r->row_addr) / GRANULE_GENERIC;
	if (i >= n)
		return "unknown-crash";
	/* past the dump, a partial granule's neighbour is unknown: say so */
	return report_bug_type(r->addr, r->access_size, true, row_byte(r, i),
			       i + 1 < n ? row_byte(r, i + 1) : 0x80);
}

const char *report_info_bug_type(const struct report_info *r)
{
	switch (r->kind) {
	case REPORT_DOUBLE_FREE:
		return "double-free";
	case REPORT_INVALID_FREE:
		return "invalid-free";
	case REPORT_ASYNC:
		return "invalid-access";
	default:
		break;
	}
	if (r->bug_type)
		return r->bug_type;
	if (r->tags)
		return report_bug_type_tags(REPORT_RING_NONE, r->addr, r->access_size);
	return generic_type_from_rows(r);
}
