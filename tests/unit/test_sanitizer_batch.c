/* SPDX-License-Identifier: MIT */
/*
 * sanitizer_apply_events() must leave exactly the state that applying the
 * same events one at a time leaves: the batch only fetches ahead. Two
 * sanitizers, each over its own copy of a fake guest, take one stream: one
 * event by event, one in batches of changing sizes. The stream has every
 * kind of event and the guest's mistakes (double, invalid and unknown frees,
 * writes after free, overlapping allocations), a quarantine and an object
 * table small enough to evict, and a depot small enough to evict and fail.
 * Compared: bugs returned, stats (depot included), every report's text,
 * every shadow byte, the objects, and guest memory (fills and canaries).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/sanitizer.h"

#define RAM	 (4u << 20)
#define DMAP	 0xffff888000000000ull
#define VMALLOC	 0xffffc90000000000ull
#define SLAB	 (1u << 20) /* slab objects in [SLAB, SLAB + SLAB_LEN) of RAM */
#define SLAB_LEN (1u << 20)
#define LARGE	 (2u << 20) /* page-backed kmalloc and pages */
#define NCACHES	 6
#define NADDRS	 1024
#define NSTACKS	 24

struct side {
	uint8_t *ram;
	struct sanitizer *san;
	uint64_t reports, text_hash;
	int bugs;
};

static const uint32_t sizes[NCACHES] = {8, 24, 60, 128, 200, 1000};
static uint64_t addrs[NADDRS];
static uint32_t addr_cache[NADDRS];
static uint64_t stacks[NSTACKS][10];
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static bool v2p(void *ctx, uint64_t gva, uint64_t *gpa)
{
	(void)ctx;
	if (gva >= DMAP && gva - DMAP < RAM) {
		*gpa = gva - DMAP;
		return true;
	}
	if (gva >= VMALLOC && gva - VMALLOC < (1u << 20)) { /* scattered over the large area */
		*gpa = LARGE + (((gva - VMALLOC) >> 12) * 37 % 256 << 12) + (gva & 4095);
		return true;
	}
	return false;
}

static bool rd(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct side *sd = ctx;

	if (gpa >= RAM || len > RAM - gpa)
		return false;
	memcpy(buf, sd->ram + gpa, len);
	return true;
}

static bool wr(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct side *sd = ctx;

	if (gpa >= RAM || len > RAM - gpa)
		return false;
	memcpy(sd->ram + gpa, buf, len);
	return true;
}

/* Reports are compared by their text, in order. */
static void sink(void *ctx, const struct report_info *r)
{
	struct side *sd = ctx;
	static char text[1 << 16];
	int n = report_format(r, NULL, NULL, text, sizeof(text));

	sd->reports++;
	for (int i = 0; i < n; i++)
		sd->text_hash = (sd->text_hash ^ (uint8_t)text[i]) * 1099511628211ull;
}

static void side_init(struct side *sd, enum sanitizer_mode mode)
{
	static const struct shadow_ram_range ram = {0, RAM};
	struct sanitizer_config cfg = {
	    .ram = &ram,
	    .nr_ram = 1,
	    .mode = mode,
	    .quarantine_bytes = 48 << 10,
	    .max_objects = 600,
	    .depot_bytes = 8192,
	    .multi_shot = true,
	    .write_patterns = true,
	    .vmemmap_base = 0xffffea0000000000ull,
	    .vmalloc_start = VMALLOC,
	    .vmalloc_end = VMALLOC + (1u << 20),
	    .untagged_pointers = true,
	    .kernel_release = "testguest",
	    .hardware_name = "kasan-vmm",
	};
	struct sanitizer_ops ops = {
	    .ctx = sd, .virt_to_phys = v2p, .read_phys = rd, .write_phys = wr, .report = sink};

	memset(sd, 0, sizeof(*sd));
	sd->ram = calloc(1, RAM);
	assert_non_null(sd->ram);
	assert_int_equal(sanitizer_create(&sd->san, &cfg, &ops), 0);
}

static void side_fini(struct side *sd)
{
	sanitizer_destroy(sd->san);
	free(sd->ram);
}

static void stream_init(uint64_t seed)
{
	rng = seed;
	for (uint32_t i = 0; i < NSTACKS; i++)
		for (uint32_t f = 0; f < 10; f++)
			stacks[i][f] = 0xffffffff81000000ull + (rnd() & 0xffff0);
	for (uint32_t i = 0; i < NADDRS; i++) {
		uint32_t c = (uint32_t)(rnd() % NCACHES), slot = (sizes[c] + 15) & ~15u;

		addr_cache[i] = c + 1;
		addrs[i] = DMAP + SLAB + rnd() % (SLAB_LEN - 2048) / slot * slot;
	}
}

static void cache_event(struct shadow_event *e, uint32_t c)
{
	e->cache_id = c;
	e->size_req = sizes[c - 1];
	e->size_alloc = c % 2 ? (sizes[c - 1] + 15) & ~15u : sizes[c - 1]; /* red zones or none */
	e->freeptr_offset = c % 3 ? (sizes[c - 1] / 2) & ~7u : UINT32_MAX;
	snprintf(e->name, sizeof(e->name), "cache-%u", c);
}

/* Slab events mostly; the rest of the kinds, and some nonsense, now and then. */
static void slab_or_other(struct shadow_event *e, uint32_t k, uint32_t i)
{
	uint64_t a = addrs[i];
	uint32_t c = addr_cache[i], j = (uint32_t)(rnd() % NADDRS);

	if (k < 45) {
		e->kind = SHADOW_EV_SLAB_ALLOC;
		e->addr = a;
		e->cache_id = c;
		e->size_alloc = sizes[c - 1];
		e->size_req = e->size_alloc - rnd() % (e->size_alloc < 8 ? e->size_alloc : 8);
	} else if (k < 85) {
		e->kind = SHADOW_EV_SLAB_FREE;
		e->addr = a + (rnd() % 64 == 0 ? 8 : 0);
		e->cache_id = rnd() % 16 == 0 ? 0 : c;
	} else if (k < 88) {
		e->kind = rnd() % 2 ? SHADOW_EV_KMALLOC_LARGE : SHADOW_EV_KFREE_LARGE;
		e->addr = DMAP + LARGE + (rnd() % 128 << 12);
		e->size_req = 8193 + rnd() % 12000;
		e->size_alloc = (e->size_req + 4095) & ~4095ull;
	} else if (k < 91) {
		e->kind = rnd() % 2 ? SHADOW_EV_PAGE_ALLOC : SHADOW_EV_PAGE_FREE;
		e->order = (uint32_t)(rnd() % 3);
		e->pfn = ((rnd() % 2 ? SLAB : LARGE) >> 12) + rnd() % 200;
		e->addr = DMAP + (e->pfn << 12);
	} else if (k < 93) {
		e->kind = rnd() % 2 ? SHADOW_EV_VMALLOC : SHADOW_EV_VFREE;
		e->addr = VMALLOC + (rnd() % 32 << 15);
		e->size_req = 1 + rnd() % 20000;
		e->size_alloc = (e->size_req + 4095) & ~4095ull;
	} else if (k < 95) {
		e->kind = SHADOW_EV_KREALLOC;
		e->old_addr = a;
		e->addr = rnd() % 3 ? addrs[j] : a;
		e->cache_id = addr_cache[j];
		e->size_alloc = sizes[e->cache_id - 1];
		e->size_req = e->size_alloc - rnd() % 4;
	} else if (k < 97) {
		e->kind = rnd() % 2 ? SHADOW_EV_KSIZE : SHADOW_EV_AUX_STACK;
		e->addr = a + rnd() % 8;
	} else {
		e->kind = rnd() % 2 ? SHADOW_EV_CACHE_DESTROY : SHADOW_EV_CACHE_CREATE;
		e->addr = a;
		cache_event(e, c);
	}
}

static void next_event(struct shadow_event *e, uint64_t seq)
{
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->time = seq * 7;
	e->pid = 1 + (uint32_t)(rnd() % 4);
	e->cpu = (uint32_t)(rnd() % 2);
	strcpy(e->comm, "batch");
	e->nr_frames = rnd() % 16 ? 1 + (uint32_t)(rnd() % 10) : 0;
	memcpy(e->frames, stacks[rnd() % NSTACKS], sizeof(stacks[0]));
	if (rnd() % 32 == 0)
		e->frames[0] += (rnd() % 4096) << 4; /* a new stack: the depot fills up */
	slab_or_other(e, (uint32_t)(rnd() % 100), (uint32_t)(rnd() % NADDRS));
}

/* Both guests misbehave alike: a write into some slab memory, freed or not. */
static void guest_write(struct side *a, struct side *b)
{
	uint64_t off = addrs[rnd() % NADDRS] - DMAP + rnd() % 64;
	uint8_t v = (uint8_t)(1 + rnd() % 255);

	a->ram[off] ^= v;
	b->ram[off] ^= v;
}

static void compare(struct side *a, struct side *b)
{
	struct sanitizer_stats sa, sb;
	struct shadow_object oa, ob;

	assert_int_equal(a->bugs, b->bugs);
	assert_int_equal(a->reports, b->reports);
	assert_true(a->text_hash == b->text_hash);
	sanitizer_get_stats(a->san, &sa);
	sanitizer_get_stats(b->san, &sb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	assert_memory_equal(a->ram, b->ram, RAM);
	for (uint64_t gpa = 0; gpa < RAM; gpa += 8) {
		uint8_t va = 0, vb = 0;

		assert_true(sanitizer_shadow_byte(a->san, gpa, &va));
		assert_true(sanitizer_shadow_byte(b->san, gpa, &vb));
		assert_int_equal(va, vb);
	}
	for (uint64_t gva = DMAP + SLAB; gva < DMAP + LARGE + (1u << 20); gva += 8) {
		bool ha = sanitizer_object_at(a->san, gva, &oa),
		     hb = sanitizer_object_at(b->san, gva, &ob);

		assert_int_equal(ha, hb);
		if (!ha)
			continue;
		assert_true(oa.start == ob.start && oa.size_req == ob.size_req &&
			    oa.size_alloc == ob.size_alloc && oa.cache_id == ob.cache_id);
		assert_true(oa.kind == ob.kind && oa.state == ob.state && oa.flags == ob.flags &&
			    oa.tag == ob.tag);
		assert_true(oa.alloc.handle == ob.alloc.handle && oa.alloc.time == ob.alloc.time &&
			    oa.free.handle == ob.free.handle && oa.free.time == ob.free.time);
	}
}

/* The same stream into both; b gets it in batches of sizes cycling through `sizes_b`. */
static void run(enum sanitizer_mode mode, uint64_t seed, uint32_t events)
{
	static const uint32_t batch_sizes[] = {1, 7, 32, 100, 3, 257, 16};
	struct shadow_event *evs = calloc(300, sizeof(*evs));
	struct side a, b;
	uint64_t seq = 0;
	uint32_t done = 0, round = 0;

	assert_non_null(evs);
	stream_init(seed);
	side_init(&a, mode);
	side_init(&b, mode);
	for (uint32_t c = 1; c <= NCACHES; c++) {
		memset(&evs[0], 0, sizeof(evs[0]));
		evs[0].kind = SHADOW_EV_CACHE_CREATE;
		evs[0].seq = ++seq;
		cache_event(&evs[0], c);
		a.bugs += sanitizer_apply_event(a.san, &evs[0]);
		b.bugs += sanitizer_apply_events(b.san, &evs[0], 1);
	}
	while (done < events) {
		uint32_t n = batch_sizes[round++ % (sizeof(batch_sizes) / sizeof(batch_sizes[0]))];

		for (uint32_t i = 0; i < n; i++)
			next_event(&evs[i], ++seq);
		for (uint32_t i = 0; i < n; i++)
			a.bugs += sanitizer_apply_event(a.san, &evs[i]);
		b.bugs += sanitizer_apply_events(b.san, evs, n);
		guest_write(&a, &b);
		done += n;
		if (round % 400 == 0)
			compare(&a, &b);
	}
	compare(&a, &b);
	assert_true(a.reports > 0); /* the stream did find bugs */
	side_fini(&a);
	side_fini(&b);
	free(evs);
}

static void test_generic_batched_equals_one_by_one(void **state)
{
	(void)state;
	run(SANITIZER_GENERIC, 0x9e3779b97f4a7c15ull, 60000);
}

static void test_tags_batched_equals_one_by_one(void **state)
{
	(void)state;
	run(SANITIZER_TAGS, 0x2545f4914f6cdd1dull, 30000);
}

static void test_empty_batch(void **state)
{
	struct side a;

	(void)state;
	side_init(&a, SANITIZER_GENERIC);
	assert_int_equal(sanitizer_apply_events(a.san, NULL, 0), 0);
	side_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generic_batched_equals_one_by_one),
	    cmocka_unit_test(test_tags_batched_equals_one_by_one),
	    cmocka_unit_test(test_empty_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
