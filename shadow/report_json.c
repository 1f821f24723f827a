// SPDX-License-Identifier: MIT
/*
 * The JSON-lines sidecar: one object per report. Guest-controlled strings are
 * escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "shadow/report.h"

#define FRAME_LEN 512

struct jout {
	char *buf;
	size_t len;
	size_t pos;
};

__attribute__((format(printf, 2, 3))) static void jf(struct jout *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->pos < o->len ? o->buf + o->pos : NULL,
		      o->pos < o->len ? o->len - o->pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most max bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t max)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > max)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string of at most max bytes of s (NULL prints null). */
static void jstr(struct jout *o, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strnlen(s, max) : 0;

	if (!s) {
		jf(o, "null");
		return;
	}
	jf(o, "\"");
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(p + i, n - i);

		if (k == 0) {
			jf(o, "\\ufffd");
			i++;
		} else if (p[i] == '"' || p[i] == '\\') {
			jf(o, "\\%c", p[i++]);
		} else if (p[i] == '\n') {
			jf(o, "\\n"), i++;
		} else if (p[i] == '\t') {
			jf(o, "\\t"), i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			jf(o, "\\u%04x", p[i++]);
		} else {
			jf(o, "%.*s", (int)k, (const char *)p + i);
			i += k;
		}
	}
	jf(o, "\"");
}

static void jframes(struct jout *o, uint32_t n, const uint64_t *frames, report_symbolize_fn sym,
		    void *ctx)
{
	char f[FRAME_LEN];

	jf(o, "[");
	for (uint32_t i = 0; i < n; i++) {
		report_frame_str(sym, ctx, frames[i], f, sizeof(f));
		jf(o, "%s", i ? "," : "");
		jstr(o, f, sizeof(f));
	}
	jf(o, "]");
}

/* A track as printed in the text (same present/valid rule), or null. */
static void jtrack(struct jout *o, const char *key, const struct report_track *t, bool shown,
		   report_symbolize_fn sym, void *ctx)
{
	jf(o, ",\"%s\":", key);
	if (!shown || !t->present || !t->valid || t->nr_frames > SHADOW_MAX_FRAMES ||
	    (t->nr_frames && !t->frames)) {
		jf(o, "null");
		return;
	}
	jf(o, "{\"pid\":%" PRIu32 ",\"cpu\":%" PRIu32 ",\"time\":%" PRIu64 ",\"frames\":", t->pid,
	   t->cpu, t->time);
	jframes(o, t->nr_frames, t->frames, sym, ctx);
	jf(o, "}");
}

static const char *access_word(const struct report_info *r)
{
	if (r->kind == REPORT_DOUBLE_FREE || r->kind == REPORT_INVALID_FREE)
		return "free";
	if (r->kind == REPORT_ASYNC)
		return "async";
	return r->is_write ? "write" : "read";
}

int report_json(const struct report_info *r, const char *title, report_symbolize_fn sym,
		void *sym_ctx, char *buf, size_t len)
{
	struct jout o = {buf, len, 0};
	bool slab;

	if (!r || (!buf && len) || r->nr_frames > SHADOW_MAX_FRAMES || (r->nr_frames && !r->frames))
		return -1;
	if (len)
		buf[0] = '\0';
	slab = r->has_object && r->cache_name;
	jf(&o, "{\"title\":");
	jstr(&o, title, 4096);
	jf(&o, ",\"bug_type\":");
	jstr(&o, report_info_bug_type(r), 128);
	jf(&o, ",\"access\":\"%s\",\"size\":%" PRIu64 ",\"addr\":\"0x%016" PRIx64 "\"",
	   access_word(r), r->access_size, r->addr);
	jf(&o, ",\"task\":{\"pid\":%" PRIu32 ",\"comm\":", r->pid);
	jstr(&o, r->comm, SHADOW_COMM_LEN);
	jf(&o, "},\"cpu\":%" PRIu32 ",\"frames\":", r->cpu);
	jframes(&o, r->nr_frames, r->frames, sym, sym_ctx);
	jf(&o, ",\"cache\":");
	jstr(&o, slab ? r->cache_name : NULL, SHADOW_NAME_LEN);
	jtrack(&o, "alloc", &r->alloc, slab, sym, sym_ctx);
	jtrack(&o, "free", &r->free, slab && (r->tags || r->obj_freed), sym, sym_ctx);
	jf(&o, "}");
	return o.pos > INT_MAX ? -1 : (int)o.pos;
}
