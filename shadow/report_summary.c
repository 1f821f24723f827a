// SPDX-License-Identifier: MIT
/* `kasan-vmm report LOG`: titles of every report in a log, deduplicated and counted. */
#include <stdlib.h>
#include <string.h>

#include "shadow/report.h"

#define TITLE_LEN 256
#define EQ_LEN	  66

struct entry {
	char title[TITLE_LEN];
	unsigned count;
	size_t first; /* order of first appearance */
};

struct table {
	struct entry *e;
	size_t n, cap;
};

/* A line of exactly 66 '=' (a console prefix before it is allowed). */
static bool is_eq_line(const char *line)
{
	size_t n = strcspn(line, "\r\n"), i = n;

	while (i > 0 && line[i - 1] == '=')
		i--;
	return n - i == EQ_LEN && (i == 0 || line[i - 1] == ' ');
}

static int table_add(struct table *t, const char *title)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->e[i].title, title) == 0) {
			t->e[i].count++;
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct entry *e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	snprintf(t->e[t->n].title, TITLE_LEN, "%s", title);
	t->e[t->n].count = 1;
	t->e[t->n].first = t->n;
	t->n++;
	return 0;
}

/* Titles one collected report; text without a KASAN header is not a report. */
static int flush(struct table *t, char *text, int *reports)
{
	char title[TITLE_LEN];

	if (!text || report_title(text, title, sizeof(title)) < 0)
		return 0;
	(*reports)++;
	return table_add(t, title);
}

static int by_count(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Appends line to the growing report text. */
static int append(char **text, size_t *len, const char *line, size_t n)
{
	char *p = realloc(*text, *len + n + 1);

	if (!p)
		return -1;
	memcpy(p + *len, line, n);
	*len += n;
	p[*len] = '\0';
	*text = p;
	return 0;
}

/*
 * Reports sit between '=' lines. A log cut mid-report (guest killed, console
 * lost) is recovered from: a second KASAN header inside a report starts a new
 * one, and a header outside any report opens one.
 */
static int feed(struct table *t, int *reports, char **text, size_t *len, bool *inside,
		const char *line, size_t n)
{
	bool bug = strstr(line, "BUG: KASAN: ") != NULL;
	int err = 0;

	if (is_eq_line(line)) {
		if (*inside)
			err = flush(t, *text, reports);
		*inside = !*inside;
		*len = 0;
		return err;
	}
	if (bug && *inside && *len && strstr(*text, "BUG: KASAN: ")) {
		err = flush(t, *text, reports);
		*len = 0;
	}
	if (bug)
		*inside = true;
	return err ? err : (*inside ? append(text, len, line, n) : 0);
}

static int collect(FILE *in, struct table *t, int *reports)
{
	char *line = NULL, *text = NULL;
	size_t cap = 0, len = 0;
	bool inside = false;
	ssize_t n;
	int err = 0;

	while (!err && (n = getline(&line, &cap, in)) > 0)
		err = feed(t, reports, &text, &len, &inside, line, (size_t)n);
	if (!err && inside && len) /* a report cut short by the end of the log */
		err = flush(t, text, reports);
	if (ferror(in))
		err = -1;
	free(line);
	free(text);
	return err;
}

int report_summarize(FILE *in, FILE *out)
{
	struct table t = {0};
	int reports = 0, err;

	if (!in || !out)
		return -1;
	err = collect(in, &t, &reports);
	if (!err && t.n)
		qsort(t.e, t.n, sizeof(*t.e), by_count);
	for (size_t i = 0; !err && i < t.n; i++)
		if (fprintf(out, "%u %s\n", t.e[i].count, t.e[i].title) < 0)
			err = -1;
	free(t.e);
	return err ? -1 : reports;
}
