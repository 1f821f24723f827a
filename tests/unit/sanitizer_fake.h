/* SPDX-License-Identifier: MIT */
/*
 * A fake guest for the sanitizer's unit tests: 1 MiB of RAM at GPA 0, mapped
 * at FAKE_VBASE (which the including test defines; tagged pointers are
 * translated untagged), and a report sink that keeps the last report, its
 * tracks' pids and its text.
 */
#ifndef TESTS_UNIT_SANITIZER_FAKE_H
#define TESTS_UNIT_SANITIZER_FAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shadow/sanitizer.h"
#include "shadow/tags.h"

#define RAM (1u << 20)

static struct fake {
	uint8_t ram[RAM];
	unsigned int nreports;
	struct report_info last;
	uint32_t last_alloc_pid, last_free_pid;
	char text[16384];
} f;

static bool v2p(void *ctx, uint64_t gva, uint64_t *gpa)
{
	(void)ctx;
	gva = tag_reset(gva);
	if (gva < FAKE_VBASE || gva - FAKE_VBASE >= RAM)
		return false;
	*gpa = gva - FAKE_VBASE;
	return true;
}

static bool rd(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	(void)ctx;
	if (gpa >= RAM || len > RAM - gpa)
		return false;
	memcpy(buf, f.ram + gpa, len);
	return true;
}

static bool wr(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	(void)ctx;
	if (gpa >= RAM || len > RAM - gpa)
		return false;
	memcpy(f.ram + gpa, buf, len);
	return true;
}

static void sink(void *ctx, const struct report_info *r)
{
	(void)ctx;
	f.nreports++;
	f.last = *r;
	f.last_alloc_pid = r->alloc.present ? r->alloc.pid : 0;
	f.last_free_pid = r->free.present ? r->free.pid : 0;
	report_format(r, NULL, NULL, f.text, sizeof(f.text));
}

#endif /* TESTS_UNIT_SANITIZER_FAKE_H */
