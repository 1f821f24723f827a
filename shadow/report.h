/* SPDX-License-Identifier: MIT */
/*
 * KASAN report writer: turns what the sanitizer knows about one bug into the
 * exact Linux KASAN text (../shared/reference/kasan-report-format.md, Linux
 * 6.6-era wording), the syzkaller-style title, one JSON line for the sidecar
 * log, and a deduplicated summary of a whole log.
 *
 * The caller (shadow's checks, ept's trap handler) fills struct report_info;
 * this module only formats and classifies. Guest symbols come through the
 * symbolize callback so that shadow/ never depends on vmm/.
 *
 * Guest-controlled strings (comm, cache names, symbols) are printed with
 * control characters replaced by '?', so a hostile guest cannot forge report
 * boundaries in the host log; the JSON line escapes them instead.
 */
#ifndef SHADOW_REPORT_H
#define SHADOW_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shadow/event.h"

#define REPORT_SHADOW_ROWS 5
#define REPORT_ROW_BYTES   16 /* shadow bytes per printed row */

/* x86-64 values used by the generic classifier for addresses without shadow. */
#define REPORT_PAGE_SIZE 4096ull
#define REPORT_TASK_SIZE 0x00007ffffffff000ull

enum report_kind {
	REPORT_ACCESS = 1,  /* bad read/write: "Read of size N at addr ..." */
	REPORT_DOUBLE_FREE, /* "Free of addr ..." */
	REPORT_INVALID_FREE,
	REPORT_ASYNC, /* tag async fault: "Asynchronous fault: no details available" */
};

/*
 * An allocation/free/aux stack as recorded: who, and the frames.
 *
 * A section is printed iff present && valid:
 *   present: the sanitizer has a record for this slot at all;
 *   valid:   the record describes the object's current state. A free track
 *            of a live (reallocated) object is present but not valid: Linux
 *            prints the free stack only while the shadow says the free
 *            metadata is current (KASAN_SLAB_FREETRACK), never stale data.
 *            In generic mode the Freed section additionally requires
 *            obj_freed (a live object has no current free).
 * A printed track with nr_frames == 0 reads "(stack is not available)".
 * Aux stacks print only with frames (Linux has no empty form for them).
 */
struct report_track {
	bool valid;
	bool present;
	uint32_t pid;
	uint32_t cpu;
	uint64_t time;
	uint32_t nr_frames; /* <= SHADOW_MAX_FRAMES */
	const uint64_t *frames;
};

/*
 * Turns a guest address into "func+0xoff/0xsize" or "func+0xoff/0xsize [mod]";
 * returns false if unknown (the writer then prints "0x<addr>", as Linux's %pS).
 */
typedef bool (*report_symbolize_fn)(void *ctx, uint64_t addr, char *buf, size_t len);

struct report_info {
	enum report_kind kind;
	const char *bug_type; /* NULL: classify (report_info_bug_type()) */
	bool is_write;
	uint64_t access_size;	 /* 0 prints "Read at addr" */
	uint64_t addr;		 /* guest virtual address of the access / the freed pointer */
	uint64_t first_bad_addr; /* first poisoned byte (generic) or granule start (tags) */
	uint64_t ip;		 /* the access's RIP, for the header when there is no stack */

	/* the task that did it, read from the guest where it registered how */
	uint32_t cpu;
	uint32_t pid;
	char comm[SHADOW_COMM_LEN];
	const char *kernel_release; /* "6.1.0" or "testguest"; the dump_stack line */
	const char *hardware_name;  /* "kasan-vmm"; NULL omits the line, as Linux does */

	/* the access (or free) stack, innermost first; frames[0] names the header */
	uint32_t nr_frames;
	const uint64_t *frames;

	/*
	 * Slab object containing or next to the address. Like Linux, the
	 * object section and the Allocated/Freed/aux stacks print only for
	 * slab objects (cache_name != NULL); for page-backed objects
	 * (kmalloc_large) pass their stacks as page_alloc/page_free.
	 */
	bool has_object;
	uint64_t obj_start;
	uint64_t obj_size;	/* requested size: the printed region */
	const char *cache_name; /* NULL for page-backed (kmalloc_large) objects */
	uint64_t cache_object_size;
	bool obj_freed;
	struct report_track alloc, free, aux1, aux2;

	bool is_vmalloc;

	/* the physical page */
	bool has_page;
	uint64_t pfn;
	uint64_t page_struct_addr; /* vmemmap address of struct page, 0 if unknown */
	struct report_track page_alloc, page_free;

	/* memory state: rows of shadow (or tag) bytes starting at row_addr */
	bool tags; /* tag mode: 16-byte granules, rows cover 256 bytes */
	uint8_t ptr_tag, mem_tag;
	uint64_t row_addr; /* address covered by the first byte of rows[0] */
	uint8_t rows[REPORT_SHADOW_ROWS][REPORT_ROW_BYTES];

	/* ---- added by the report owner; zero values give the common case ---- */
	/* no shadow for addr (null-ptr-deref & co): Linux prints only dump_stack */
	bool no_shadow;
	const char *taint;	    /* NULL: "Not tainted"; else "Tainted: <taint>" */
	const char *kernel_version; /* first word of uts version; NULL: "#1" */
	/* dump_page fields; mapping/index are not tracked and print as 0 */
	int32_t page_refcount;
	int32_t page_mapcount;
	uint64_t page_flags;
	const char *page_flags_desc; /* the %pGp names, e.g. "slab|node=0|zone=1"; NULL: "" */
	uint32_t page_order;	     /* page_owner line */
	bool page_freed;	     /* page_owner: "tracks the page as freed" */
};

/* Generic-mode bug type for an access, from the rules in the reference. */
const char *report_bug_type(uint64_t addr, uint64_t size, bool has_shadow, uint8_t shadow_byte,
			    uint8_t next_shadow_byte);

/* What the tag-mode stack ring search met first for the object. */
enum report_ring_hit {
	REPORT_RING_NONE = 0,
	REPORT_RING_FREE,  /* a free entry: slab-use-after-free */
	REPORT_RING_ALLOC, /* an alloc entry: slab-out-of-bounds */
};

/* Tag-mode bug type: ring result first, else out-of-bounds on wrap, else invalid-access. */
const char *report_bug_type_tags(enum report_ring_hit first, uint64_t addr, uint64_t size);

/*
 * The bug type the report prints: by kind for frees/async, r->bug_type if
 * set, else classified from the memory-state rows (generic) or as tag mode
 * without a ring hit.
 */
const char *report_info_bug_type(const struct report_info *r);

/* One frame as the report prints it (symbol or "0x<addr>", sanitized). */
void report_frame_str(report_symbolize_fn sym, void *sym_ctx, uint64_t addr, char *buf, size_t len);

/*
 * Format the full report text (both 66-'=' lines included, each line ending
 * in '\n') into buf. Returns the length it needed (as snprintf), or -1 on
 * bad input.
 */
int report_format(const struct report_info *r, report_symbolize_fn sym, void *sym_ctx, char *buf,
		  size_t len);

/*
 * syzkaller's title for one report's text, as pkg/report/linux.go derives it:
 * "KASAN: <type> <Read|Write> in <frame>" for accesses, "KASAN: invalid-free
 * in <frame>" for double and invalid frees (syzkaller titles both so),
 * "KASAN: <rest of header>" otherwise. Returns the length needed (as
 * snprintf), or -1 if the text holds no "BUG: KASAN:" header.
 */
int report_title(const char *text, char *title, size_t len);

/* One JSON object (no trailing newline) for the sidecar; same return convention. */
int report_json(const struct report_info *r, const char *title, report_symbolize_fn sym,
		void *sym_ctx, char *buf, size_t len);

/*
 * `kasan-vmm report LOG`: split the log into reports (between 66-'=' lines),
 * title each, and print "<count> <title>" lines, most frequent first, ties
 * in order of first appearance. Returns the number of reports, -1 on error.
 */
int report_summarize(FILE *in, FILE *out);

#endif /* SHADOW_REPORT_H */
