/* SPDX-License-Identifier: MIT */
/*
 * The host-side sanitizer state: generic shadow (by GPA), object and cache
 * tables, stack depot, quarantine, page owner, and in tag mode the tag map
 * and stack ring. paravirt/ feeds it validated events
 * (sanitizer_apply_event), ept/ asks it about trapped accesses
 * (sanitizer_check_access). Bugs become filled struct report_info values
 * handed to the report sink; formatting is the sink's business.
 *
 * Locking: struct sanitizer has one mutex; every public function takes it,
 * so apply and check may be called from several vCPU threads. The ops
 * callbacks (and the report sink) run with the lock held: they must not call
 * back into the sanitizer. Pointers inside a report_info (frames, cache name)
 * are valid only during the sink call.
 *
 * Bounds (a guest flood degrades detection, never the host): objects
 * (max_objects, default 1M), caches (CACHES_MAX), modules
 * (SANITIZER_MAX_MODULES), depot memory (depot_bytes, default 32 MiB),
 * quarantine bytes (default RAM/32), stack ring entries (default 32768).
 *
 * Guest memory writes (write_patterns, generic mode only: tag mode finds
 * bugs by tags alone, as Linux's tag modes do): the slack canary at alloc and
 * the free fill at free are written into guest memory when the event is applied.
 * That is only safe if the guest cannot use the object between the event and
 * its application (events applied synchronously at the doorbell, or all
 * vCPUs stopped while rings drain). Leave write_patterns off otherwise.
 */
#ifndef SHADOW_SANITIZER_H
#define SHADOW_SANITIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shadow/depot.h"
#include "shadow/event.h"
#include "shadow/objects.h"
#include "shadow/report.h"
#include "shadow/shadow_map.h"

#define SANITIZER_MAX_MODULES 512

enum sanitizer_mode {
	SANITIZER_GENERIC = 0,
	SANITIZER_TAGS, /* also keeps the tag map and the stack ring */
};

/*
 * Tag mode: when a tag fault is reported, as HW_TAGS's kasan.mode. sync:
 * at the access, with its details. async: the fault is only recorded; the
 * next drain point (sanitizer_tag_drain) reports it as REPORT_ASYNC, the
 * access long gone. asymm: reads sync, writes async.
 */
enum sanitizer_tag_fault {
	SANITIZER_TAG_SYNC = 0,
	SANITIZER_TAG_ASYNC,
	SANITIZER_TAG_ASYMM,
};

struct sanitizer_config {
	const struct shadow_ram_range *ram; /* guest RAM ranges, sorted */
	unsigned int nr_ram;
	enum sanitizer_mode mode;
	uint64_t quarantine_bytes;  /* 0: RAM / 32 */
	uint64_t depot_bytes;	    /* 0: DEPOT_DEFAULT_BYTES */
	uint32_t max_objects;	    /* 0: OBJECTS_DEFAULT_CAP */
	uint32_t stack_ring_size;   /* 0: 32768 */
	bool multi_shot;	    /* false: only the first report reaches the sink */
	bool write_patterns;	    /* slack canary + free fill in guest memory (see above) */
	uint64_t vmemmap_base;	    /* struct page array; 0: unknown */
	uint32_t page_struct_size;  /* its entries' size; 0: unknown (reports assume 64) */
	uint32_t page_refcount_off; /* where an entry keeps its 4-byte reference count */
	uint64_t direct_map_base;   /* kernel address of GPA 0 (page events' addr) */
	uint64_t vmalloc_start;	    /* [start, end): reports say "vmalloc virtual mapping" */
	uint64_t vmalloc_end;
	uint64_t tag_seed; /* tag mode RNG seed; 0: fixed default */
	enum sanitizer_tag_fault tag_fault;
	/*
	 * Tag mode on an architecture whose pointers carry no tag (x86): the
	 * pointer tag is match-all, so only TAG_INVALID memory (freed, red
	 * zones, slack past the object's last granule, free pages) faults. False:
	 * the pointer's top byte is its tag (arm64 TBI).
	 */
	bool untagged_pointers;
	const char *kernel_release; /* copied into every report; may be NULL */
	const char *hardware_name;
};

/* What the VMM provides. All but report/notify are required. */
struct sanitizer_ops {
	void *ctx;
	/* GVA -> GPA through the guest page tables or the direct map. */
	bool (*virt_to_phys)(void *ctx, uint64_t gva, uint64_t *gpa);
	/* Guest RAM through the always-RW alias; false if not RAM. */
	bool (*read_phys)(void *ctx, uint64_t gpa, void *buf, size_t len);
	bool (*write_phys)(void *ctx, uint64_t gpa, const void *buf, size_t len);
	/* A guest page became poisoned / clean (per page, only on change). */
	shadow_notify_fn notify;
	/* Optional: freed memory on a page that was poisoned already (shadow_freed_fn). */
	shadow_freed_fn page_freed;
	/* The report sink. */
	void (*report)(void *ctx, const struct report_info *r);
};

/* The trapped access's context, from the vCPU and the unwinder. */
struct sanitizer_access {
	uint32_t cpu;
	uint32_t pid;
	char comm[SHADOW_COMM_LEN];
	uint64_t ip;
	uint32_t nr_frames;
	const uint64_t *frames; /* innermost first */
};

struct sanitizer_stats {
	uint64_t events;
	uint64_t reports;	     /* handed to the sink */
	uint64_t reports_suppressed; /* found while !multi_shot after the first */
	uint64_t objects;	     /* tracked now, live + quarantined */
	uint64_t untracked;	     /* allocations not tracked: object table full */
	uint64_t stale_dropped;	     /* live objects overlapped by a new allocation */
	uint64_t unknown_frees;	     /* frees of untracked addresses */
	uint64_t bad_ranges;	     /* events whose memory was not (mapped) RAM */
	uint64_t cache_destroy_live; /* caches destroyed with live objects */
	uint64_t caches_full;
	uint64_t modules_full;
	uint64_t quarantine_count, quarantine_bytes, quarantine_evicted;
	uint64_t quarantine_dropped; /* quarantined objects of caches destroyed since */
	uint64_t async_faults;	     /* tag faults recorded for the next drain point */
	uint64_t pages_reused;	     /* freed pages found in use by their struct page */
	struct depot_stats depot;
};

struct shadow_module {
	char name[SHADOW_NAME_LEN];
	uint64_t base;
	uint64_t size;
};

struct sanitizer;

/* 0 and *out set, or -EINVAL (bad config/ops) / -ENOMEM. */
int sanitizer_create(struct sanitizer **out, const struct sanitizer_config *cfg,
		     const struct sanitizer_ops *ops);
void sanitizer_destroy(struct sanitizer *s);

/* Apply one event; returns the number of bugs it revealed (reported or not). */
int sanitizer_apply_event(struct sanitizer *s, const struct shadow_event *ev);
/*
 * Apply evs[0 .. n) in order, exactly as n sanitizer_apply_event() calls
 * would, but faster: what each event will touch (object index, record,
 * shadow) is fetched while the events before it are applied. Returns the
 * bugs revealed by all of them.
 */
int sanitizer_apply_events(struct sanitizer *s, const struct shadow_event *evs, size_t n);

/*
 * Judge a trapped access of `size` bytes at gva (gpa: its translation). Returns
 * true if any byte is poisoned; then a report was built for the first bad
 * byte and handed to the sink (unless suppressed by multi_shot).
 */
bool sanitizer_check_access(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t size,
			    bool is_write, const struct sanitizer_access *ctx);

/*
 * Tag mode drain point (async / asymm): if tag faults were recorded since the
 * last drain, report them as one REPORT_ASYNC ("Asynchronous fault: no
 * details available"; HW_TAGS's TFSR is one sticky bit too) with ctx's task
 * and stack, the code running at the drain. Returns whether it reported.
 */
bool sanitizer_tag_drain(struct sanitizer *s, const struct sanitizer_access *ctx);
/* Tag faults recorded and not yet drained (cheap: the VMM polls it on exits). */
uint32_t sanitizer_tag_pending(struct sanitizer *s);

/* Current shadow byte of a GPA (tests, ept); false if not RAM. */
bool sanitizer_shadow_byte(struct sanitizer *s, uint64_t gpa, uint8_t *val);
/* Copy of the tracked object whose extent holds gva; false if none. */
bool sanitizer_object_at(struct sanitizer *s, uint64_t gva, struct shadow_object *out);

/* The loaded module containing addr (for symbolization); false if none. */
bool sanitizer_module_find(struct sanitizer *s, uint64_t addr, struct shadow_module *out);
/* Copy up to max loaded modules; returns how many are loaded. */
size_t sanitizer_modules(struct sanitizer *s, struct shadow_module *out, size_t max);

void sanitizer_get_stats(struct sanitizer *s, struct sanitizer_stats *out);
/*
 * The host memory guest events can make the sanitizer use, each part at its
 * cap (README "Caps"); *_max_bytes of the parts, fixed at creation.
 */
struct sanitizer_caps {
	uint64_t depot, objects, page_owner, shadow, tags, stack_ring;
	uint32_t max_objects, stack_ring_entries;
	uint64_t quarantine; /* guest bytes held back; its marks live in the object records */
	uint64_t total;	     /* host bytes: all the above but quarantine, plus its ring */
};

void sanitizer_get_caps(struct sanitizer *s, struct sanitizer_caps *out);
/* Summary lines of the stats and the caps, for the end of a run. */
void sanitizer_print_stats(struct sanitizer *s, FILE *f);

/* What the guest told at registration (the sanitizer_config fields of the same names). */
struct sanitizer_layout {
	uint64_t vmemmap_base;
	uint32_t page_struct_size, page_refcount_off;
	uint64_t direct_map_base;
	uint64_t vmalloc_start, vmalloc_end; /* ignored unless start < end */
	const char *release;		     /* must outlive s; NULL keeps the current one */
};

void sanitizer_set_layout(struct sanitizer *s, const struct sanitizer_layout *l);

#endif /* SHADOW_SANITIZER_H */
