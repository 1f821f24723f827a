// SPDX-License-Identifier: MIT
/*
 * The KASAN report text, section by section in Linux's order (mm/kasan/report.c
 * print_report, lib/dump_stack.c, mm/debug.c dump_page, mm/page_owner.c).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "shadow/report.h"
#include "shadow/tags.h"

#define FRAME_LEN 512 /* KSYM_SYMBOL_LEN-sized */
#define EQ_LINE	  "==================================================================\n"

/* snprintf-style sink: counts what it needs even when buf is full. */
struct out {
	char *buf;
	size_t len;
	size_t pos;
};

__attribute__((format(printf, 2, 3))) static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *dst = o->pos < o->len ? o->buf + o->pos : NULL;
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

/* Guest strings must not break lines in the host log. */
static void clean_copy(char *dst, size_t dlen, const char *src, size_t max)
{
	size_t i;

	if (dlen == 0)
		return;
	for (i = 0; i + 1 < dlen && i < max && src && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[i] = '\0';
}

void report_frame_str(report_symbolize_fn sym, void *sym_ctx, uint64_t addr, char *buf, size_t len)
{
	char raw[FRAME_LEN] = "";

	if (len == 0)
		return;
	if (!sym || !sym(sym_ctx, addr, raw, sizeof(raw)))
		snprintf(raw, sizeof(raw), "0x%" PRIx64, addr); /* %pS of an unknown address */
	raw[sizeof(raw) - 1] = '\0';
	clean_copy(buf, len, raw, sizeof(raw));
}

static uint64_t untag(const struct report_info *r, uint64_t addr)
{
	/* kasan_reset_tag: 0xff on kernel pointers; bit 55's sign in general (TBI) */
	return r->tags ? tag_reset(addr) : addr;
}

static bool printable(const struct report_track *t)
{
	return t->present && t->valid;
}

struct ctx {
	struct out o;
	const struct report_info *r;
	report_symbolize_fn sym;
	void *sym_ctx;
	char comm[SHADOW_COMM_LEN + 1];
};

static void put_frames(struct ctx *c, uint32_t n, const uint64_t *frames)
{
	char f[FRAME_LEN];

	for (uint32_t i = 0; i < n; i++) {
		report_frame_str(c->sym, c->sym_ctx, frames[i], f, sizeof(f));
		outf(&c->o, " %s\n", f);
	}
}

static void put_header(struct ctx *c, const char *type)
{
	const struct report_info *r = c->r;
	const char *rw = r->is_write ? "Write" : "Read";
	char f[FRAME_LEN];

	report_frame_str(c->sym, c->sym_ctx, r->nr_frames ? r->frames[0] : r->ip, f, sizeof(f));
	outf(&c->o, "BUG: KASAN: %s in %s\n", type, f);
	if (r->kind != REPORT_ACCESS)
		outf(&c->o, "Free of addr %016" PRIx64 " by task %s/%" PRIu32 "\n", r->addr,
		     c->comm, r->pid);
	else if (r->access_size)
		outf(&c->o,
		     "%s of size %" PRIu64 " at addr %016" PRIx64 " by task %s/%" PRIu32 "\n", rw,
		     r->access_size, r->addr, c->comm, r->pid);
	else
		outf(&c->o, "%s at addr %016" PRIx64 " by task %s/%" PRIu32 "\n", rw, r->addr,
		     c->comm, r->pid);
	if (r->tags && !r->no_shadow)
		outf(&c->o, "Pointer tag: [%02x], memory tag: [%02x]\n", r->ptr_tag, r->mem_tag);
	outf(&c->o, "\n");
}

/* dump_stack_print_info + x86 show_trace_log_lvl */
static void put_dump_stack(struct ctx *c)
{
	const struct report_info *r = c->r;
	char rel[128], ver[64], taint[64], hw[256];

	clean_copy(rel, sizeof(rel), r->kernel_release ? r->kernel_release : "unknown", 127);
	clean_copy(ver, sizeof(ver), r->kernel_version ? r->kernel_version : "#1", 63);
	clean_copy(taint, sizeof(taint), r->taint ? r->taint : "", 63);
	outf(&c->o, "CPU: %" PRIu32 " PID: %" PRIu32 " Comm: %s %s%s %s %s\n", r->cpu, r->pid,
	     c->comm, r->taint ? "Tainted: " : "Not tainted", taint, rel, ver);
	if (r->hardware_name) {
		clean_copy(hw, sizeof(hw), r->hardware_name, 255);
		outf(&c->o, "Hardware name: %s\n", hw);
	}
	outf(&c->o, "Call Trace:\n <TASK>\n");
	put_frames(c, r->nr_frames, r->frames);
	outf(&c->o, " </TASK>\n");
}

/* print_track + the blank line describe_object_stacks adds */
static void put_track(struct ctx *c, const struct report_track *t, const char *prefix)
{
	outf(&c->o, "%s by task %" PRIu32 ":\n", prefix, t->pid);
	if (t->nr_frames)
		put_frames(c, t->nr_frames, t->frames);
	else
		outf(&c->o, "(stack is not available)\n");
	outf(&c->o, "\n");
}

static void put_aux(struct ctx *c, const struct report_track *t, const char *what)
{
	if (!printable(t) || !t->nr_frames)
		return;
	outf(&c->o, "%s potentially related work creation:\n", what);
	put_frames(c, t->nr_frames, t->frames);
	outf(&c->o, "\n");
}

/* describe_object_addr: where the address lies relative to the requested region */
static void put_object_addr(struct ctx *c, const char *type)
{
	const struct report_info *r = c->r;
	uint64_t a = untag(r, r->addr), start = r->obj_start, end = start + r->obj_size;
	const char *rel, *state = "";
	char cache[SHADOW_NAME_LEN + 1];
	uint64_t bytes;

	clean_copy(cache, sizeof(cache), r->cache_name, SHADOW_NAME_LEN);
	outf(&c->o, "The buggy address belongs to the object at %016" PRIx64 "\n", start);
	outf(&c->o, " which belongs to the cache %s of size %" PRIu64 "\n", cache,
	     r->cache_object_size);
	if (a < start) {
		rel = "to the left";
		bytes = start - a;
	} else if (a >= end) {
		rel = "to the right";
		bytes = a - end;
	} else {
		rel = "inside";
		bytes = a - start;
	}
	/* tag modes infer the type from the ring, so Linux states the region only in generic */
	if (!r->tags && strcmp(type, "slab-out-of-bounds") == 0)
		state = "allocated ";
	else if (!r->tags && strcmp(type, "slab-use-after-free") == 0)
		state = "freed ";
	/* Linux prints rel_bytes as an int */
	outf(&c->o, "The buggy address is located %d bytes %s of\n", (int)bytes, rel);
	outf(&c->o, " %s%" PRIu64 "-byte region [%016" PRIx64 ", %016" PRIx64 ")\n", state,
	     r->obj_size, start, end);
	outf(&c->o, "\n");
}

static void put_object(struct ctx *c, const char *type)
{
	const struct report_info *r = c->r;

	if (!r->has_object || !r->cache_name)
		return;
	if (printable(&r->alloc))
		put_track(c, &r->alloc, "Allocated");
	/* generic: a live object has no current free, whatever the caller passed */
	if (printable(&r->free) && (r->tags || r->obj_freed))
		put_track(c, &r->free, "Freed");
	if (!r->tags) {
		put_aux(c, &r->aux1, "Last");
		put_aux(c, &r->aux2, "Second to last");
	}
	put_object_addr(c, type);
}

/*
 * page_owner's dump, reduced to what the sanitizer records: migratetype,
 * gfp_mask, tgid and comm are not known, so the allocation line omits them.
 */
static void put_page_owner(struct ctx *c)
{
	const struct report_track *a = &c->r->page_alloc, *f = &c->r->page_free;

	if (!a->present && !f->present)
		return;
	outf(&c->o, "page_owner tracks the page as %s\n", c->r->page_freed ? "freed" : "allocated");
	outf(&c->o,
	     "page last allocated via order %" PRIu32 ", pid %" PRIu32 ", ts %" PRIu64
	     ", free_ts %" PRIu64 "\n",
	     c->r->page_order, printable(a) ? a->pid : 0, printable(a) ? a->time : 0,
	     printable(f) ? f->time : 0);
	if (printable(a) && a->nr_frames)
		put_frames(c, a->nr_frames, a->frames);
	else
		outf(&c->o, "page_owner allocation stack trace missing\n");
	if (printable(f) && f->nr_frames) {
		outf(&c->o, "page last free stack trace:\n");
		put_frames(c, f->nr_frames, f->frames);
	} else {
		outf(&c->o, "page_owner free stack trace missing\n");
	}
}

/* vmalloc line, then dump_page (mapping and index are not tracked: printed as 0) */
static void put_page(struct ctx *c)
{
	const struct report_info *r = c->r;
	char desc[256];

	if (r->is_vmalloc)
		outf(&c->o,
		     "The buggy address %016" PRIx64 " belongs to a vmalloc virtual mapping\n",
		     untag(r, r->addr));
	if (!r->has_page)
		return;
	clean_copy(desc, sizeof(desc), r->page_flags_desc ? r->page_flags_desc : "", 255);
	outf(&c->o, "The buggy address belongs to the physical page:\n");
	outf(&c->o,
	     "page:%016" PRIx64 " refcount:%" PRId32 " mapcount:%" PRId32
	     " mapping:0000000000000000 index:0x0 pfn:0x%" PRIx64 "\n",
	     r->page_struct_addr, r->page_refcount, r->page_mapcount, r->pfn);
	outf(&c->o, "flags: 0x%" PRIx64 "(%s)\n", r->page_flags, desc);
	outf(&c->o, "page dumped because: kasan: bad access detected\n");
	put_page_owner(c);
	outf(&c->o, "\n");
}

/* print_memory_metadata: ">" marks the middle row, "^" the first bad granule */
static void put_memory(struct ctx *c)
{
	const struct report_info *r = c->r;
	uint64_t gran = r->tags ? 16 : 8, span = gran * REPORT_ROW_BYTES;
	uint64_t bad = untag(r, r->first_bad_addr);

	outf(&c->o, "Memory state around the buggy address:\n");
	for (int i = 0; i < REPORT_SHADOW_ROWS; i++) {
		uint64_t row = r->row_addr + (uint64_t)i * span;

		outf(&c->o, "%c%016" PRIx64 ":", i == REPORT_SHADOW_ROWS / 2 ? '>' : ' ', row);
		for (int j = 0; j < REPORT_ROW_BYTES; j++)
			outf(&c->o, " %02x", r->rows[i][j]);
		outf(&c->o, "\n");
		if (row <= bad && bad - row < span) {
			/* width 3 + 16 + 3 * granule + 1, as "%*c": the caret is the last char */
			int width = 3 + 16 + (int)((bad - row) / gran) * 3 + 1;
			outf(&c->o, "%*c\n", width, '^');
		}
	}
}

static bool track_ok(const struct report_track *t)
{
	return t->nr_frames <= SHADOW_MAX_FRAMES && (t->nr_frames == 0 || t->frames);
}

static bool info_ok(const struct report_info *r, const char *buf, size_t len)
{
	if (!r || (!buf && len) || r->kind < REPORT_ACCESS || r->kind > REPORT_ASYNC)
		return false;
	if (r->nr_frames > SHADOW_MAX_FRAMES || (r->nr_frames && !r->frames))
		return false;
	return track_ok(&r->alloc) && track_ok(&r->free) && track_ok(&r->aux1) &&
	       track_ok(&r->aux2) && track_ok(&r->page_alloc) && track_ok(&r->page_free);
}

int report_format(const struct report_info *r, report_symbolize_fn sym, void *sym_ctx, char *buf,
		  size_t len)
{
	struct ctx c = {.o = {buf, len, 0}, .r = r, .sym = sym, .sym_ctx = sym_ctx};

	if (!info_ok(r, buf, len))
		return -1;
	if (len)
		buf[0] = '\0';
	clean_copy(c.comm, sizeof(c.comm), r->comm, SHADOW_COMM_LEN);
	outf(&c.o, EQ_LINE);
	if (r->kind == REPORT_ASYNC) {
		outf(&c.o, "BUG: KASAN: invalid-access\n"
			   "Asynchronous fault: no details available\n\n");
		put_dump_stack(&c);
	} else {
		const char *type = report_info_bug_type(r);

		put_header(&c, type);
		put_dump_stack(&c);
		if (!r->no_shadow) {
			outf(&c.o, "\n");
			put_object(&c, type);
			put_page(&c);
			put_memory(&c);
		}
	}
	outf(&c.o, EQ_LINE);
	return c.o.pos > INT_MAX ? -1 : (int)c.o.pos;
}
