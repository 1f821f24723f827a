/* SPDX-License-Identifier: MIT */
/*
 * Shadow of slab slots: the one-write path (slot inside a page) and the
 * piecewise path (slot across a page boundary) must leave the same bytes,
 * for every mix of requested size, slack and red zone; frees likewise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/sanitizer.h"

#define RAM  (1u << 20)
#define DMAP 0xffff888000000000ull

static bool v2p(void *ctx, uint64_t gva, uint64_t *gpa)
{
	(void)ctx;
	if (gva < DMAP || gva - DMAP >= RAM)
		return false;
	*gpa = gva - DMAP;
	return true;
}

static bool rd(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	(void)ctx;
	(void)gpa;
	memset(buf, 0, len);
	return true;
}

static bool wr(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	(void)ctx;
	(void)gpa;
	(void)buf;
	(void)len;
	return true;
}

static void sink(void *ctx, const struct report_info *r)
{
	(void)ctx;
	(void)r;
}

static unsigned int notes;
static bool page_poisoned[RAM >> 12]; /* as the notifications tell it */

static void note(void *ctx, uint64_t gpa_page, bool poisoned, uint8_t val)
{
	(void)ctx;
	assert_true(gpa_page < RAM && !(gpa_page & 4095));
	assert_int_equal(poisoned, val != 0);
	page_poisoned[gpa_page >> 12] = poisoned;
	notes++;
}

static struct sanitizer *make(void)
{
	static const struct shadow_ram_range ram = {0, RAM};
	struct sanitizer_config cfg = {
	    .ram = &ram, .nr_ram = 1, .mode = SANITIZER_GENERIC, .max_objects = 4096};
	struct sanitizer_ops ops = {
	    .virt_to_phys = v2p, .read_phys = rd, .write_phys = wr, .notify = note, .report = sink};
	struct sanitizer *s;

	assert_int_equal(sanitizer_create(&s, &cfg, &ops), 0);
	return s;
}

static void event(struct sanitizer *s, enum shadow_event_kind kind, uint64_t addr, uint64_t req,
		  uint64_t alloc, uint32_t cache)
{
	struct shadow_event e = {.kind = kind,
				 .addr = addr,
				 .size_req = req,
				 .size_alloc = alloc,
				 .cache_id = cache,
				 .freeptr_offset = UINT32_MAX,
				 .nr_frames = 1};

	e.frames[0] = 0xffffffff81000000ull;
	if (kind == SHADOW_EV_CACHE_CREATE)
		strcpy(e.name, "test");
	assert_int_equal(sanitizer_apply_event(s, &e), 0);
}

static void pages_alloc(struct sanitizer *s, uint64_t pfn)
{
	struct shadow_event e = {
	    .kind = SHADOW_EV_PAGE_ALLOC, .pfn = pfn, .addr = DMAP + (pfn << 12), .nr_frames = 1};

	e.frames[0] = 0xffffffff81000000ull;
	assert_int_equal(sanitizer_apply_event(s, &e), 0);
}

static void shadow_of(struct sanitizer *s, uint64_t gva, uint8_t *out, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		assert_true(sanitizer_shadow_byte(s, gva - DMAP + 8ull * i, &out[i]));
}

/* object size, requested size, slot stride: slack, partial granules, red zones or none */
static const struct {
	uint32_t size, req, stride;
} cases[] = {
    {32, 13, 32},	{32, 32, 32}, {32, 1, 64},   {200, 200, 208},
    {200, 197, 256},	{24, 20, 40}, {100, 3, 100}, {96, 96, 192},
    {1024, 1000, 1200}, {8, 8, 8},    {8, 5, 16},    {640, 0, 640},
};

static void test_slot_fast_equals_slow(void **state)
{
	struct sanitizer *s = make();
	uint8_t a[400], b[400];

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cache = 10 + i, rz = cases[i].stride - cases[i].size;
		uint64_t page = DMAP + 0x10000 + 0x4000ull * i;
		/* inside a page, its left red zone not clipped; and across the next page's start */
		uint64_t inside = page + 0x800, across = page + 0x2000 - 8;
		unsigned int n = (rz + cases[i].stride + 7) / 8 + 1;

		event(s, SHADOW_EV_CACHE_CREATE, 0, cases[i].size, cases[i].stride, cache);
		memset(a, 0xAA, sizeof(a));
		memset(b, 0x55, sizeof(b));
		event(s, SHADOW_EV_SLAB_ALLOC, inside, cases[i].req, cases[i].size, cache);
		event(s, SHADOW_EV_SLAB_ALLOC, across, cases[i].req, cases[i].size, cache);
		shadow_of(s, inside - rz, a, n);
		shadow_of(s, across - rz, b, n);
		assert_memory_equal(a, b, n);
		/* the object's own granules: zero up to the request, then its count, then red zone
		 */
		assert_int_equal(a[rz / 8],
				 cases[i].req ? (cases[i].req < 8 ? cases[i].req : 0) : 0xFC);
		event(s, SHADOW_EV_SLAB_FREE, inside, 0, 0, cache);
		event(s, SHADOW_EV_SLAB_FREE, across, 0, 0, cache);
		shadow_of(s, inside - rz, a, n);
		shadow_of(s, across - rz, b, n);
		assert_memory_equal(a, b, n);
		assert_int_equal(a[rz / 8], 0xFA);
		/* the page counts kept by one-write updates must let the page become clean */
		assert_true(page_poisoned[(inside - DMAP) >> 12]);
		pages_alloc(s, (inside - DMAP) >> 12);
		assert_false(page_poisoned[(inside - DMAP) >> 12]);
	}
	assert_true(notes > 0);
	sanitizer_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slot_fast_equals_slow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
