/* SPDX-License-Identifier: MIT */
/*
 * Internals of the sanitizer module, shared by its files only: sanitizer.c
 * (life cycle, dispatch, caches, modules), the heap_*.c files (allocation
 * and free events and their checks, see heap_internal.h), and
 * sanitizer_report.c (access checks and report_info building). Not an
 * interface for other modules.
 */
#ifndef SHADOW_SANITIZER_INTERNAL_H
#define SHADOW_SANITIZER_INTERNAL_H

#include <pthread.h>

#include "shadow/depot.h"
#include "shadow/objects.h"
#include "shadow/page_owner.h"
#include "shadow/quarantine.h"
#include "shadow/sanitizer.h"
#include "shadow/shadow_map.h"
#include "shadow/tags.h"

#define PATTERN_LEN (SHADOW_PAGE_SIZE + 16)

struct sanitizer {
	pthread_mutex_t lock;
	struct sanitizer_config cfg; /* ram points at ram_copy */
	struct shadow_ram_range ram_copy[SHADOW_MAX_RANGES];
	struct sanitizer_ops ops;
	struct shadow_map shadow;
	struct depot depot;
	struct object_table objects;
	struct cache_table caches;
	struct quarantine quarantine;
	struct page_owner page_owner;
	struct tag_map tags;
	struct stack_ring ring;
	struct shadow_module modules[SANITIZER_MAX_MODULES];
	unsigned int nr_modules;
	struct sanitizer_stats st;
	bool reported;		/* a report reached the sink (single-shot gate) */
	bool ahead;		/* the event being applied was prefetched by a batch */
	uint32_t async_pending; /* tag faults recorded since the last drain point */
	/* periodic byte patterns, indexed by (gva & 7): no per-event malloc */
	uint8_t slack_pat[PATTERN_LEN], free_pat[PATTERN_LEN];
	uint8_t scratch[SHADOW_PAGE_SIZE];
};

/* Canary bytes for an object's slack / a freed object's body at gva. */
static inline uint8_t slack_byte(uint64_t gva)
{
	return (uint8_t)(0xE4 ^ (gva & 7));
}

static inline uint8_t free_byte(uint64_t gva)
{
	return (uint8_t)(0x9D ^ (gva & 7));
}

/*
 * The size a tag-mode stack ring entry carries: the cache's object size, as
 * Linux records (a krealloc in place changes the request, not the slot).
 */
static inline uint64_t ring_size(struct sanitizer *s, const struct shadow_object *o)
{
	const struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

	return c && c->object_size ? c->object_size : o->size_alloc;
}

/* sanitizer_report.c */
void report_task(struct report_info *r, uint32_t pid, uint32_t cpu, const char *comm);
/* Object, page and memory-state sections for an address. */
void report_describe(struct sanitizer *s, struct report_info *r, uint64_t gva,
		     const struct shadow_object *obj);
/* Hand r to the sink (or count it as suppressed). */
void report_emit(struct sanitizer *s, struct report_info *r);
/* Event-time report about gva, with the event's task and stack. */
void report_event_bug(struct sanitizer *s, const struct shadow_event *ev, enum report_kind kind,
		      const char *bug_type, uint64_t gva, uint64_t size, bool is_write,
		      const struct shadow_object *obj);
bool check_access_locked(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t size,
			 bool is_write, const struct sanitizer_access *ctx);
bool tag_drain_locked(struct sanitizer *s, const struct sanitizer_access *ctx);

/* heap_events.c: a freed page the guest's struct page shows in use becomes allocated. */
bool page_reused_locked(struct sanitizer *s, uint64_t gpa);

#endif /* SHADOW_SANITIZER_INTERNAL_H */
