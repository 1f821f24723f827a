/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the report writer's tests: a fake symbol table in the
 * kernel's %pS form, sample stacks, and a generic-mode access report to
 * build golden texts from.
 */
#ifndef TESTS_UNIT_REPORT_FIXTURE_H
#define TESTS_UNIT_REPORT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/report.h"

#define EQ "==================================================================\n"

static const struct {
	uint64_t addr;
	const char *name;
} syms[] = {
    {0xffffffffa0000010, "kmalloc_oob_right+0x1a/0x40 [kasan_test]"},
    {0xffffffffa0000008, "kmalloc_oob_right+0x10/0x40 [kasan_test]"},
    {0xffffffffa0000100, "kmalloc_uaf+0x30/0x60 [kasan_test]"},
    {0xffffffff81100050, "do_one_initcall+0x50/0x200"},
    {0xffffffff81300030, "__kmalloc+0x30/0x80"},
    {0xffffffff81300100, "kfree+0x60/0x120"},
    {0xffffffff81400000, "call_rcu+0x20/0x300"},
    {0xffffffff81500000, "__alloc_pages+0x1b0/0x300"},
    {0xffffffff81500100, "__free_pages+0x40/0x90"},
    {0xffffffff81600000, "vmalloc_oob+0x44/0x90"},
};

static bool sym(void *ctx, uint64_t addr, char *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if (syms[i].addr == addr) {
			snprintf(buf, len, "%s", syms[i].name);
			return true;
		}
	}
	return false;
}

static const uint64_t access_stack[] = {0xffffffffa0000010, 0xffffffff81100050, 0xffffffffa0001234};
static const uint64_t alloc_stack[] = {0xffffffff81300030, 0xffffffffa0000008};
static const uint64_t free_stack[] = {0xffffffff81300100, 0xffffffffa0000100};
static const uint64_t aux_stack[] = {0xffffffff81400000};
static const uint64_t page_alloc_stack[] = {0xffffffff81500000};
static const uint64_t page_free_stack[] = {0xffffffff81500100};

static struct report_track track(uint32_t pid, const uint64_t *f, uint32_t n)
{
	return (struct report_track){
	    .valid = true, .present = true, .pid = pid, .frames = f, .nr_frames = n};
}

/* A generic-mode access report; rows start 2 rows (256 bytes) above first_bad's row. */
static void base(struct report_info *r, uint64_t addr, uint64_t size, uint64_t first_bad)
{
	memset(r, 0, sizeof(*r));
	r->kind = REPORT_ACCESS;
	r->addr = addr;
	r->access_size = size;
	r->first_bad_addr = first_bad;
	r->cpu = 1;
	r->pid = 123;
	strcpy(r->comm, "insmod");
	r->kernel_release = "6.6.0";
	r->hardware_name = "kasan-vmm";
	r->frames = access_stack;
	r->nr_frames = 3;
	r->row_addr = (first_bad & ~127ull) - 256;
	memset(r->rows, 0xfc, sizeof(r->rows));
}

static char *fmt(const struct report_info *r)
{
	int n = report_format(r, sym, NULL, NULL, 0);
	char *buf;

	assert_true(n > 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(report_format(r, sym, NULL, buf, (size_t)n + 1), n);
	assert_int_equal(strlen(buf), n);
	return buf;
}

#endif /* TESTS_UNIT_REPORT_FIXTURE_H */
