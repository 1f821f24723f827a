// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/exempt.h"
#include "vmm/log.h"
#include "vmm/symbols.h"

#define EXEMPT_MAX 4096 /* ranges: a prefix may match many functions */

struct range {
	uint64_t start, end;
	bool first_byte; /* a "word" line: only the first byte of a read is judged */
};

struct exempt {
	struct range r[EXEMPT_MAX];
	unsigned int n;
	bool first_byte; /* the kind of the line being added */
};

static void add_range(void *ctx, uint64_t addr, uint64_t size)
{
	struct exempt *e = ctx;

	if (e->n < EXEMPT_MAX && size)
		e->r[e->n++] = (struct range){addr, addr + size, e->first_byte};
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* One list line: blank, "# comment", "[word ]name" or "[word ]prefix*". */
static void exempt_line(struct exempt *e, char *line, const struct symbols *syms, const char *path,
			unsigned int lineno)
{
	char *p = line + strspn(line, " \t");
	size_t len = strcspn(p, " \t\r\n#");
	bool prefix;

	e->first_byte = len == 4 && !strncmp(p, "word", 4) && (p[4] == ' ' || p[4] == '\t');
	if (e->first_byte) {
		p += 5 + strspn(p + 5, " \t");
		len = strcspn(p, " \t\r\n#");
	}
	if (!len)
		return;
	p[len] = '\0';
	prefix = p[len - 1] == '*';
	if (prefix)
		p[len - 1] = '\0';
	if (!symbols_match(syms, p, prefix, add_range, e))
		pr_debug("%s:%u: no guest function %s%s", path, lineno, p, prefix ? "*" : "");
}

int exempt_load(struct exempt **out, const char *path, const struct symbols *syms)
{
	struct exempt *e;
	FILE *f = fopen(path, "r");
	char line[256];
	unsigned int lineno = 0;

	if (!f) {
		int err = errno;

		pr_err("allocator exemption list %s: %s", path, strerror(err));
		return -err;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f))
		exempt_line(e, line, syms, path, ++lineno);
	fclose(f);
	qsort(e->r, e->n, sizeof(e->r[0]), range_cmp);
	*out = e;
	return 0;
}

void exempt_free(struct exempt *e)
{
	free(e);
}

static const struct range *range_of(const struct exempt *e, uint64_t rip)
{
	unsigned int lo = 0, hi;

	if (!e || !e->n)
		return NULL;
	hi = e->n;
	while (hi - lo > 1) {
		unsigned int mid = (lo + hi) / 2;

		if (e->r[mid].start <= rip)
			lo = mid;
		else
			hi = mid;
	}
	return rip >= e->r[lo].start && rip < e->r[lo].end ? &e->r[lo] : NULL;
}

bool exempt_contains(const struct exempt *e, uint64_t rip)
{
	const struct range *r = range_of(e, rip);

	return r && !r->first_byte;
}

bool exempt_first_byte(const struct exempt *e, uint64_t rip)
{
	const struct range *r = range_of(e, rip);

	return r && r->first_byte;
}

unsigned int exempt_count(const struct exempt *e)
{
	return e ? e->n : 0;
}
