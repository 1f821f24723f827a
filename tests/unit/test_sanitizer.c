/* SPDX-License-Identifier: MIT */
/*
 * The sanitizer over a fake guest: 1 MiB of RAM behind a direct map at
 * DMAP, plus a two-page "vmalloc" mapping whose pages are not contiguous.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "shadow/page_owner.h"
#include "shadow/sanitizer.h"

#define RAM    (1u << 20)
#define DMAP   0xffff888000000000ull
#define VMAP   0xffffc90000000000ull
#define VPAGE0 0x80000ull /* GPAs backing the two vmalloc pages */
#define VPAGE1 0x20000ull
#define CACHE  7 /* "kmalloc-32", freelist word at 16 */

struct fake {
	uint8_t ram[RAM];
	unsigned int nreports, notes;
	struct report_info last; /* pointers inside are dead after the sink */
	uint64_t last_frame0, last_alloc_frame0;
	char cache_name[SHADOW_NAME_LEN];
	char text[16384]; /* the last report, formatted */
};

static struct fake *g;

static bool v2p(void *ctx, uint64_t gva, uint64_t *gpa)
{
	(void)ctx;
	if (gva >= DMAP && gva - DMAP < RAM) {
		*gpa = gva - DMAP;
		return true;
	}
	if (gva >= VMAP && gva - VMAP < 2 * 4096) {
		*gpa = (gva - VMAP < 4096 ? VPAGE0 : VPAGE1) + (gva & 4095);
		return true;
	}
	return false;
}

static bool rd(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct fake *f = ctx;

	if (gpa >= RAM || len > RAM - gpa)
		return false;
	memcpy(buf, f->ram + gpa, len);
	return true;
}

static bool wr(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct fake *f = ctx;

	if (gpa >= RAM || len > RAM - gpa)
		return false;
	memcpy(f->ram + gpa, buf, len);
	return true;
}

static void note(void *ctx, uint64_t gpa_page, bool poisoned, uint8_t val)
{
	(void)gpa_page;
	(void)poisoned;
	(void)val;
	((struct fake *)ctx)->notes++;
}

static void sink(void *ctx, const struct report_info *r)
{
	struct fake *f = ctx;

	f->nreports++;
	f->last = *r;
	f->last_frame0 = r->nr_frames ? r->frames[0] : 0;
	f->last_alloc_frame0 = r->alloc.nr_frames ? r->alloc.frames[0] : 0;
	snprintf(f->cache_name, sizeof(f->cache_name), "%s", r->cache_name ? r->cache_name : "");
	report_format(r, NULL, NULL, f->text, sizeof(f->text));
}

static struct sanitizer *make(uint64_t quarantine, bool multi_shot, enum sanitizer_mode mode)
{
	static const struct shadow_ram_range ram = {0, RAM};
	struct sanitizer_config cfg = {
	    .ram = &ram,
	    .nr_ram = 1,
	    .mode = mode,
	    .quarantine_bytes = quarantine,
	    .max_objects = 1024,
	    .multi_shot = multi_shot,
	    .write_patterns = true,
	    .vmemmap_base = 0xffffea0000000000ull,
	    .vmalloc_start = VMAP,
	    .vmalloc_end = VMAP + (1ull << 30),
	    .kernel_release = "testguest",
	    .hardware_name = "kasan-vmm",
	};
	struct sanitizer_ops ops = {
	    .virt_to_phys = v2p, .read_phys = rd, .write_phys = wr, .notify = note, .report = sink};
	struct sanitizer *s;

	memset(g, 0, sizeof(*g));
	ops.ctx = g;
	assert_int_equal(sanitizer_create(&s, &cfg, &ops), 0);
	return s;
}

static int ev(struct sanitizer *s, enum shadow_event_kind kind, uint64_t addr, uint64_t req,
	      uint64_t alloc, uint32_t cache, uint64_t caller)
{
	struct shadow_event e = {.kind = kind,
				 .pid = 42,
				 .cpu = 1,
				 .time = 1000,
				 .addr = addr,
				 .size_req = req,
				 .size_alloc = alloc,
				 .cache_id = cache,
				 .freeptr_offset = 16,
				 .nr_frames = 2};

	strcpy(e.comm, "insmod");
	strcpy(e.name, "kmalloc-32");
	e.frames[0] = caller;
	e.frames[1] = 0xffffffff81000000ull;
	return sanitizer_apply_event(s, &e);
}

static int ev_ex(struct sanitizer *s, struct shadow_event *e)
{
	e->pid = 42;
	e->nr_frames = 1;
	e->frames[0] = 0xffffffff81999999ull;
	return sanitizer_apply_event(s, e);
}

static uint8_t sb(struct sanitizer *s, uint64_t gva)
{
	uint64_t gpa;
	uint8_t v = 0xAA;

	assert_true(v2p(NULL, gva, &gpa));
	assert_true(sanitizer_shadow_byte(s, gpa, &v));
	return v;
}

static bool access_at(struct sanitizer *s, uint64_t gva, uint64_t size, bool is_write)
{
	static const uint64_t frames[] = {0xffffffffc0001234ull, 0xffffffff81000010ull};
	struct sanitizer_access a = {
	    .cpu = 0, .pid = 7, .comm = "kunit", .ip = frames[0], .nr_frames = 2, .frames = frames};
	uint64_t gpa;

	assert_true(v2p(NULL, gva, &gpa));
	return sanitizer_check_access(s, gpa, gva, size, is_write, &a);
}

static struct sanitizer *with_cache(uint64_t quarantine, bool multi_shot)
{
	struct sanitizer *s = make(quarantine, multi_shot, SANITIZER_GENERIC);

	ev(s, SHADOW_EV_CACHE_CREATE, 0, 32, 0, CACHE, 0);
	return s;
}

#define OBJ (DMAP + 0x10000)

static void test_alloc_free_shadow(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	struct shadow_object o;
	uint8_t word[8];

	(void)state;
	assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 13, 32, CACHE, 0x1), 0);
	assert_int_equal(sb(s, OBJ), 0x00);
	assert_int_equal(sb(s, OBJ + 8), 0x05);
	assert_int_equal(sb(s, OBJ + 16), 0xFC);
	assert_int_equal(sb(s, OBJ + 24), 0xFC);
	assert_int_equal(sb(s, OBJ + 32), 0x00);
	assert_true(g->notes >= 1);
	/* the slack holds the canary, the object itself is untouched */
	assert_int_equal(g->ram[0x10000 + 12], 0);
	assert_int_not_equal(g->ram[0x10000 + 13], 0);
	assert_true(sanitizer_object_at(s, OBJ + 31, &o));
	assert_int_equal(o.start, OBJ);
	assert_int_equal(o.state, OBJ_LIVE);

	memcpy(word, g->ram + 0x10000 + 16, 8);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2), 0);
	assert_int_equal(sb(s, OBJ), 0xFA);
	assert_int_equal(sb(s, OBJ + 8), 0xFB);
	assert_int_equal(sb(s, OBJ + 24), 0xFB);
	assert_true(sanitizer_object_at(s, OBJ, &o));
	assert_int_equal(o.state, OBJ_FREED);
	/* freed body filled, except the freelist word at 16 */
	assert_int_not_equal(g->ram[0x10000], 0);
	assert_int_not_equal(g->ram[0x10000 + 15], g->ram[0x10000 + 16]); /* fill != canary */
	assert_memory_equal(g->ram + 0x10000 + 16, word, 8);
	assert_int_not_equal(g->ram[0x10000 + 24], word[0]);
	assert_int_equal(g->nreports, 0);
	sanitizer_destroy(s);
}

static void test_double_free(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 16, 32, CACHE, 0x1);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, 0, 0x3), 1);
	assert_int_equal(g->nreports, 1);
	assert_int_equal(g->last.kind, REPORT_DOUBLE_FREE);
	assert_int_equal(g->last.addr, OBJ);
	assert_int_equal(g->last.pid, 42);
	assert_string_equal(g->last.comm, "insmod");
	assert_int_equal(g->last_frame0, 0x3);
	assert_true(g->last.has_object);
	assert_int_equal(g->last.obj_start, OBJ);
	assert_int_equal(g->last.obj_size, 16);
	assert_string_equal(g->cache_name, "kmalloc-32");
	assert_int_equal(g->last.cache_object_size, 32);
	assert_true(g->last.obj_freed);
	assert_true(g->last.alloc.present && g->last.alloc.valid);
	assert_int_equal(g->last_alloc_frame0, 0x1);
	assert_true(g->last.free.present && g->last.free.valid);
	assert_int_equal(g->last.free.nr_frames, 2);
	assert_true(g->last.has_page);
	assert_int_equal(g->last.pfn, 0x10);
	assert_int_equal(g->last.page_struct_addr, 0xffffea0000000000ull + 0x10 * 64);
	sanitizer_destroy(s);
}

static void test_invalid_frees(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_CACHE_CREATE, 0, 64, 0, CACHE + 1, 0);
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 16, 32, CACHE, 0x1);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ + 1, 0, 0, CACHE, 0x3), 1);
	assert_int_equal(g->last.kind, REPORT_INVALID_FREE);
	assert_int_equal(g->last.addr, OBJ + 1);
	assert_int_equal(g->last.obj_start, OBJ);
	assert_false(g->last.obj_freed);
	assert_false(g->last.free.present); /* a live object has no current free */
	/* wrong cache, and a slab object freed as a large kmalloc */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE + 1, 0x3), 1);
	assert_int_equal(g->last.kind, REPORT_INVALID_FREE);
	assert_int_equal(ev(s, SHADOW_EV_KFREE_LARGE, OBJ, 0, 0, 0, 0x3), 1);
	assert_int_equal(g->last.kind, REPORT_INVALID_FREE);
	assert_int_equal(g->nreports, 3);
	/* none of that freed it */
	assert_int_equal(sb(s, OBJ), 0);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, 0, 0x2), 0);
	sanitizer_destroy(s);
}

static void test_slack_corruption_at_free(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 13, 32, CACHE, 0x1);
	g->ram[0x10000 + 14] = 0x41; /* guest writes 2 bytes past the end */
	g->ram[0x10000 + 15] = 0x42;
	/* the allocator's freelist word (offset 16) is its own: never a bug */
	memset(&g->ram[0x10000 + 16], 0x77, 8);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2), 1);
	assert_int_equal(g->last.kind, REPORT_ACCESS);
	assert_string_equal(g->last.bug_type, "slab-out-of-bounds");
	assert_true(g->last.is_write);
	assert_int_equal(g->last.addr, OBJ + 14);
	assert_int_equal(g->last.access_size, 2);
	assert_int_equal(g->last.obj_start, OBJ);
	assert_false(g->last.obj_freed);
	assert_int_equal(g->last_frame0, 0x2); /* found in the free path */
	/* the free went ahead */
	assert_int_equal(sb(s, OBJ), 0xFA);
	sanitizer_destroy(s);
}

/* Only the freelist word changed in the slack: nothing to report. */
static void test_slack_freelist_word_is_not_a_bug(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 13, 32, CACHE, 0x1);
	memset(&g->ram[0x10000 + 16], 0x77, 8);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2), 0);
	sanitizer_destroy(s);
}

/* A trapped write into the slack was reported: the free does not report it again. */
static void test_slack_reported_by_trap_once(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 13, 32, CACHE, 0x1);
	assert_true(access_at(s, OBJ + 14, 1, true));
	g->ram[0x10000 + 14] = 0x41; /* the trapped write then completes */
	assert_int_equal(g->nreports, 1);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2), 0);
	assert_int_equal(g->nreports, 1);
	sanitizer_destroy(s);
}

static void test_ksize_disables_canary(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 13, 32, CACHE, 0x1);
	assert_int_equal(ev(s, SHADOW_EV_KSIZE, OBJ, 0, 0, 0, 0x5), 0);
	assert_int_equal(sb(s, OBJ + 8), 0);
	assert_int_equal(sb(s, OBJ + 24), 0);
	g->ram[0x10000 + 20] = 1; /* legal now */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2), 0);
	/* ksize of a freed object reads it */
	assert_int_equal(ev(s, SHADOW_EV_KSIZE, OBJ, 0, 0, 0, 0x5), 1);
	assert_int_equal(g->last.kind, REPORT_ACCESS);
	assert_null(g->last.bug_type); /* classified from shadow 0xFA */
	assert_int_equal(g->last.access_size, 1);
	assert_false(g->last.is_write);
	assert_int_equal(g->last.rows[2][0], 0xFA);
	sanitizer_destroy(s);
}

static void test_write_after_free_found_at_realloc(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x1);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	memset(g->ram + 0x10000 + 16, 0x77, 8); /* allocator's freelist word: fine */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x1), 0);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	memset(g->ram + 0x10000 + 4, 0, 4); /* use after free: a 4-byte write */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x9), 1);
	assert_int_equal(g->last.kind, REPORT_ACCESS);
	assert_string_equal(g->last.bug_type, "slab-use-after-free");
	assert_true(g->last.is_write);
	assert_int_equal(g->last.addr, OBJ + 4);
	assert_int_equal(g->last.access_size, 4);
	assert_true(g->last.obj_freed);
	assert_true(g->last.free.valid);
	assert_int_equal(g->last_frame0, 0x9);
	/* the new object is live and accessible */
	assert_int_equal(sb(s, OBJ), 0);
	/* kzalloc-style zeroing of a freed object is not a bug */
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	memset(g->ram + 0x10000, 0, 32);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x1), 0);
	assert_int_equal(g->nreports, 1);
	sanitizer_destroy(s);
}

/* A trapped write to a freed object was reported: its reuse does not report it again. */
static void test_freed_write_reported_by_trap_once(void **state)
{
	struct sanitizer *s = with_cache(0, true);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x1);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	assert_true(access_at(s, OBJ + 4, 4, true));
	assert_true(g->last.obj_freed);
	memset(g->ram + 0x10000 + 4, 0x41, 4); /* the trapped write then completes */
	assert_int_equal(g->nreports, 1);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x9), 0);
	assert_int_equal(g->nreports, 1);
	/* the next life of the slot is checked again */
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	memset(g->ram + 0x10000 + 4, 0x42, 4);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x9), 1);
	sanitizer_destroy(s);
}

static void test_check_access(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	uint64_t col;

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 13, 32, CACHE, 0x1);
	assert_false(access_at(s, OBJ, 8, false));
	assert_false(access_at(s, OBJ + 8, 5, false));
	assert_true(access_at(s, OBJ + 8, 8, true));
	assert_int_equal(g->last.kind, REPORT_ACCESS);
	assert_null(g->last.bug_type);
	assert_int_equal(g->last.addr, OBJ + 8);
	assert_int_equal(g->last.first_bad_addr, OBJ + 13);
	assert_int_equal(g->last.access_size, 8);
	assert_true(g->last.is_write);
	assert_int_equal(g->last.pid, 7);
	assert_int_equal(g->last_frame0, 0xffffffffc0001234ull);
	assert_int_equal(g->last.obj_start, OBJ);
	assert_false(g->last.free.present);
	assert_string_equal(g->last.kernel_release, "testguest");
	/* rows: 128-byte aligned, buggy row in the middle */
	assert_int_equal(g->last.row_addr, (OBJ & ~127ull) - 256);
	col = ((OBJ + 13) - (OBJ & ~127ull)) / 8;
	assert_int_equal(g->last.rows[2][col], 0x05);
	assert_int_equal(g->last.rows[2][col + 1], 0xFC);
	assert_int_equal(g->last.rows[2][col - 1], 0x00);
	/* use after free */
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	assert_true(access_at(s, OBJ + 4, 1, false));
	assert_true(g->last.obj_freed);
	assert_true(g->last.free.valid);
	assert_int_equal(g->last.first_bad_addr, OBJ + 4);
	assert_int_equal(g->nreports, 2);
	sanitizer_destroy(s);
}

/* A 32-byte cache with KASAN's 16-byte red zone: slots 48 bytes apart. */
#define RZ_CACHE  9
#define RZ_STRIDE 48
#define RZ_SLAB	  (DMAP + 0x40000)		 /* page-aligned slab: pad, then slots */
#define RZ_OBJ(i) (RZ_SLAB + 16 + (i)*RZ_STRIDE) /* the pad is one red zone */

static struct sanitizer *with_redzone_cache(void)
{
	struct sanitizer *s = make(0, true, SANITIZER_GENERIC);
	struct shadow_event e = {.kind = SHADOW_EV_PAGE_ALLOC, .pfn = 0x40, .addr = RZ_SLAB};

	ev_ex(s, &e); /* the slab's page: all accessible until objects are handed out */
	ev(s, SHADOW_EV_CACHE_CREATE, 0, 32, RZ_STRIDE, RZ_CACHE, 0);
	return s;
}

static void test_redzones_poisoned_at_alloc_kept_at_free(void **state)
{
	struct sanitizer *s = with_redzone_cache();

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_OBJ(1), 20, 32, RZ_CACHE, 0x1);
	/* the object, its slack, then the right red zone up to the next slot */
	assert_int_equal(sb(s, RZ_OBJ(1)), 0x00);
	assert_int_equal(sb(s, RZ_OBJ(1) + 16), 0x04);
	assert_int_equal(sb(s, RZ_OBJ(1) + 24), 0xFC);
	assert_int_equal(sb(s, RZ_OBJ(1) + 32), 0xFC);
	assert_int_equal(sb(s, RZ_OBJ(1) + 40), 0xFC);
	assert_int_equal(sb(s, RZ_OBJ(2)), 0x00); /* the next slot is not touched */
	/* the left one: the tail of slot 0, never allocated */
	assert_int_equal(sb(s, RZ_OBJ(1) - 16), 0xFC);
	assert_int_equal(sb(s, RZ_OBJ(1) - 8), 0xFC);
	assert_int_equal(sb(s, RZ_OBJ(1) - 24), 0x00); /* slot 0's object */
	/* the first object's left red zone is the slab's pad, never the page before */
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_OBJ(0), 32, 32, RZ_CACHE, 0x1);
	assert_int_equal(sb(s, RZ_SLAB), 0xFC);
	assert_int_equal(sb(s, RZ_SLAB + 8), 0xFC);
	assert_int_equal(sb(s, RZ_OBJ(0)), 0x00);
	assert_int_equal(sb(s, RZ_SLAB - 8), 0x00);
	/* a free poisons the object only: the red zones stay slab redzone */
	ev(s, SHADOW_EV_SLAB_FREE, RZ_OBJ(1), 0, 0, RZ_CACHE, 0x2);
	assert_int_equal(sb(s, RZ_OBJ(1)), 0xFA);
	assert_int_equal(sb(s, RZ_OBJ(1) + 24), 0xFB);
	assert_int_equal(sb(s, RZ_OBJ(1) + 32), 0xFC);
	assert_int_equal(sb(s, RZ_OBJ(1) - 8), 0xFC);
	assert_int_equal(g->nreports, 0);
	sanitizer_destroy(s);
}

/* A slab without a leading pad (Linux SLUB) starts on a page: nothing before it is poisoned. */
static void test_redzone_left_stays_in_page(void **state)
{
	struct sanitizer *s = with_redzone_cache();

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_SLAB, 32, 32, RZ_CACHE, 0x1);
	assert_int_equal(sb(s, RZ_SLAB - 8), 0x00);
	assert_int_equal(sb(s, RZ_SLAB - 16), 0x00);
	assert_int_equal(sb(s, RZ_SLAB + 32), 0xFC);
	sanitizer_destroy(s);
}

static void test_redzone_reports(void **state)
{
	struct sanitizer *s = with_redzone_cache();

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_OBJ(0), 15, 32, RZ_CACHE, 0x1);
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_OBJ(1), 15, 32, RZ_CACHE, 0x2);
	/* past the object's slot end: its own red zone, "to the right of" it */
	assert_true(access_at(s, RZ_OBJ(0) + 40, 1, false));
	assert_string_equal(report_info_bug_type(&g->last), "slab-out-of-bounds");
	assert_int_equal(g->last.obj_start, RZ_OBJ(0));
	assert_non_null(strstr(g->text, "The buggy address is located 25 bytes to the right of\n"
					" allocated 15-byte region"));
	/*
	 * ptr[-1] of object 1 is in slot 0's red zone: Linux's nearest_obj()
	 * describes object 0, "to the right of" it, not object 1.
	 */
	assert_true(access_at(s, RZ_OBJ(1) - 1, 1, false));
	assert_string_equal(report_info_bug_type(&g->last), "slab-out-of-bounds");
	assert_int_equal(g->last.obj_start, RZ_OBJ(0));
	assert_non_null(strstr(g->text, "32 bytes to the right of\n allocated 15-byte region"));
	/* the slab's pad belongs to no slot: "to the left of" the first object */
	assert_true(access_at(s, RZ_OBJ(0) - 1, 1, false));
	assert_string_equal(report_info_bug_type(&g->last), "slab-out-of-bounds");
	assert_int_equal(g->last.obj_start, RZ_OBJ(0));
	assert_non_null(strstr(g->text, "1 bytes to the left of\n allocated 15-byte region"));
	/*
	 * Still about object 0 once it is freed, still slab-out-of-bounds (the
	 * red zone's 0xFC), and so "allocated" region as Linux words that type.
	 */
	ev(s, SHADOW_EV_SLAB_FREE, RZ_OBJ(0), 0, 0, RZ_CACHE, 0x3);
	assert_true(access_at(s, RZ_OBJ(0) + 32, 8, true));
	assert_string_equal(report_info_bug_type(&g->last), "slab-out-of-bounds");
	assert_true(g->last.obj_freed);
	assert_non_null(strstr(g->text, "17 bytes to the right of\n allocated 15-byte region"));
	sanitizer_destroy(s);
}

/*
 * A slab page at RZ_SLAB of a 16-byte cache whose slot is `stride` bytes with
 * `red_left` of them before the object, and two objects in the first slots:
 * a (16 bytes) and b (b_size bytes). Returns b; a is RZ_SLAB + red_left.
 */
static struct sanitizer *left_pad_slab(uint32_t stride, uint32_t red_left, uint64_t b_size,
				       uint64_t *b)
{
	struct sanitizer *s = make(0, true, SANITIZER_GENERIC);
	struct shadow_event e = {.kind = SHADOW_EV_PAGE_ALLOC, .pfn = 0x40, .addr = RZ_SLAB};
	struct shadow_event c = {.kind = SHADOW_EV_CACHE_CREATE,
				 .cache_id = RZ_CACHE,
				 .size_req = 16,
				 .size_alloc = stride,
				 .red_left = red_left,
				 .freeptr_offset = UINT32_MAX,
				 .name = "kmalloc-16"};

	ev_ex(s, &e);
	ev_ex(s, &c);
	*b = RZ_SLAB + stride + red_left;
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_SLAB + red_left, 16, 16, RZ_CACHE, 0x1);
	ev(s, SHADOW_EV_SLAB_ALLOC, *b, b_size, 16, RZ_CACHE, 0x2);
	return s;
}

/*
 * SLUB's debug red zones (slub_debug=Z): a 16-byte object in a 48-byte slot
 * with 16 bytes of pad before it. Linux's nearest_obj() puts an address in
 * that pad in the object's own slot: ptr[-1] is "1 bytes to the left of" it
 * even when the object before is tracked (the bench's kmalloc_oob_left).
 */
static void test_redzone_left_pad_reports(void **state)
{
	uint64_t b;
	struct sanitizer *s = left_pad_slab(48, 16, 15, &b); /* slots [0, 48) and [48, 96) */
	const uint64_t a = RZ_SLAB + 16;

	(void)state;
	assert_true(access_at(s, b - 1, 1, false));
	assert_int_equal(g->last.obj_start, b);
	assert_non_null(strstr(g->text, "1 bytes to the left of\n allocated 15-byte region"));
	assert_true(access_at(s, b - 16, 1, false)); /* the first byte of b's slot */
	assert_int_equal(g->last.obj_start, b);
	/* the rest of the gap is a's: its right red zone */
	assert_true(access_at(s, a + 31, 1, false));
	assert_int_equal(g->last.obj_start, a);
	assert_non_null(strstr(g->text, "15 bytes to the right of\n allocated 16-byte region"));
	sanitizer_destroy(s);
}

/* All of the red zone before the object (no right red zone): the gap is the next object's. */
static void test_redzone_all_left(void **state)
{
	uint64_t b;
	struct sanitizer *s = left_pad_slab(32, 16, 16, &b); /* slots [0, 32) and [32, 64) */

	(void)state;
	assert_true(access_at(s, RZ_SLAB + 32, 1, false)); /* right after a: b's slot already */
	assert_int_equal(g->last.obj_start, b);
	assert_non_null(strstr(g->text, "16 bytes to the left of\n allocated 16-byte region"));
	sanitizer_destroy(s);
}

/*
 * The last slot of a page ends at the page end when the pad is before the
 * object: its red zones must not reach into the next page, whose memory may
 * be anybody's.
 */
static void test_redzone_left_pad_last_slot(void **state)
{
	uint64_t b;
	struct sanitizer *s = left_pad_slab(48, 16, 16, &b);
	const uint64_t last = RZ_SLAB + 4096 - 48 + 16; /* the object of the page's last slot */

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, last, 16, 16, RZ_CACHE, 0x3);
	assert_int_equal(sb(s, last + 16), 0xFC); /* its right red zone */
	assert_int_equal(sb(s, RZ_SLAB + 4096 - 8), 0xFC);
	assert_int_equal(sb(s, RZ_SLAB + 4096), 0); /* the next page is untouched */
	assert_int_equal(sb(s, RZ_SLAB + 4096 + 8), 0);
	sanitizer_destroy(s);
}

/* The slack canary covers [size_req, object size) only: red zones are never scanned. */
static void test_redzone_not_in_canary_check(void **state)
{
	struct sanitizer *s = with_redzone_cache();
	static const uint8_t junk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_OBJ(1), 20, 32, RZ_CACHE, 0x1);
	/* the allocator writes its metadata into the red zones (freelist, SLUB tracks) */
	memcpy(g->ram + (RZ_OBJ(1) - DMAP) + 32, junk, sizeof(junk));
	memcpy(g->ram + (RZ_OBJ(1) - DMAP) - 16, junk, sizeof(junk));
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, RZ_OBJ(1), 0, 0, RZ_CACHE, 0x2), 0);
	assert_int_equal(g->nreports, 0);
	/* a write into the slack is still found at free */
	ev(s, SHADOW_EV_SLAB_ALLOC, RZ_OBJ(2), 20, 32, RZ_CACHE, 0x1);
	g->ram[RZ_OBJ(2) - DMAP + 30] = 0x77;
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, RZ_OBJ(2), 0, 0, RZ_CACHE, 0x2), 1);
	assert_int_equal(g->last.first_bad_addr, RZ_OBJ(2) + 30);
	sanitizer_destroy(s);
}

/*
 * mempool_page_alloc_double_free: a second page free of the same pages is a
 * double-free at the page address; the page free that follows a large
 * kmalloc's or vmalloc's own free is not.
 */
static void test_page_double_free(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	struct shadow_event e = {
	    .kind = SHADOW_EV_PAGE_ALLOC, .pfn = 0x50, .order = 2, .addr = DMAP + 0x50000};

	(void)state;
	/* pages never seen before (they may predate the driver): no report */
	e.kind = SHADOW_EV_PAGE_FREE;
	assert_int_equal(ev_ex(s, &e), 0);
	e.kind = SHADOW_EV_PAGE_ALLOC;
	assert_int_equal(ev_ex(s, &e), 0);
	e.kind = SHADOW_EV_PAGE_FREE;
	assert_int_equal(ev_ex(s, &e), 0);
	assert_int_equal(g->nreports, 0);
	assert_int_equal(ev_ex(s, &e), 1);
	assert_int_equal(g->last.kind, REPORT_DOUBLE_FREE);
	assert_int_equal(g->last.addr, DMAP + 0x50000);
	assert_non_null(strstr(g->text, "BUG: KASAN: double-free in "));
	assert_non_null(strstr(g->text, "Free of addr ffff888000050000 by task"));

	/* kfree of a large kmalloc, then the free of its pages: one free, no report */
	e.kind = SHADOW_EV_PAGE_ALLOC;
	ev_ex(s, &e);
	ev(s, SHADOW_EV_KMALLOC_LARGE, DMAP + 0x50000, 9000, 16384, 0, 0x1);
	ev(s, SHADOW_EV_KFREE_LARGE, DMAP + 0x50000, 0, 0, 0, 0x2);
	e.kind = SHADOW_EV_PAGE_FREE;
	assert_int_equal(ev_ex(s, &e), 0);
	/* ... but a second page free of them is a double free */
	assert_int_equal(ev_ex(s, &e), 1);
	assert_int_equal(g->nreports, 2);

	/* vfree, then each backing page's free */
	e = (struct shadow_event){
	    .kind = SHADOW_EV_PAGE_ALLOC, .pfn = VPAGE0 >> 12, .addr = DMAP + VPAGE0};
	ev_ex(s, &e);
	ev(s, SHADOW_EV_VMALLOC, VMAP, 4096, 4096, 0, 0x1);
	e = (struct shadow_event){.kind = SHADOW_EV_VFREE, .addr = VMAP};
	ev_ex(s, &e);
	e = (struct shadow_event){
	    .kind = SHADOW_EV_PAGE_FREE, .pfn = VPAGE0 >> 12, .addr = DMAP + VPAGE0};
	assert_int_equal(ev_ex(s, &e), 0);
	assert_int_equal(g->nreports, 2);
	sanitizer_destroy(s);
}

static void test_single_shot(void **state)
{
	struct sanitizer *s = with_cache(0, false);
	struct sanitizer_stats st;

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 13, 32, CACHE, 0x1);
	assert_true(access_at(s, OBJ + 13, 1, false));
	assert_true(access_at(s, OBJ + 14, 1, false)); /* still bad, not reported */
	assert_int_equal(g->nreports, 1);
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.reports, 1);
	assert_int_equal(st.reports_suppressed, 1);
	sanitizer_destroy(s);
}

/*
 * At the object-table cap (README "Caps"): with every record live, new
 * allocations go untracked and are counted; their frees are unknown, never
 * reported; a quarantined record is recycled before anything goes untracked.
 */
static void test_object_table_cap(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	struct sanitizer_stats st;
	struct sanitizer_caps caps;
	uint64_t base = DMAP + 0x20000;
	uint32_t cap;

	(void)state;
	sanitizer_get_caps(s, &caps);
	cap = caps.max_objects;
	assert_int_equal(cap, 1024);
	for (uint32_t i = 0; i < cap + 10; i++)
		assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, base + i * 32, 32, 32, CACHE, 0x1), 0);
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.objects, cap);
	assert_int_equal(st.untracked, 10);
	/* an untracked object's free: counted as unknown, no report */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, base + cap * 32, 0, 0, CACHE, 0x2), 0);
	/* a tracked one goes to quarantine; the next allocation evicts it instead */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, base, 0, 0, CACHE, 0x2), 0);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_ALLOC, base + (cap + 10) * 32, 32, 32, CACHE, 0x1),
			 0);
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.unknown_frees, 1);
	assert_int_equal(st.untracked, 10);
	assert_int_equal(st.objects, cap);
	assert_int_equal(g->nreports, 0);
	sanitizer_destroy(s);
}

/*
 * The caps line's parts (README "Caps"): the page-owner table is 56 bytes per
 * guest page whatever the guest does, and the total is the sum of the parts
 * plus the quarantine's ring of ids.
 */
static void test_caps_sum(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	struct sanitizer_caps c, after;

	(void)state;
	sanitizer_get_caps(s, &c);
	assert_int_equal(sizeof(struct page_owner_entry), 56); /* as README "Caps" says */
	assert_int_equal(c.page_owner, RAM / 4096 * sizeof(struct page_owner_entry));
	assert_int_equal(c.shadow >= RAM / 8, 1);
	assert_int_equal(c.objects >= 1024ull * sizeof(struct shadow_object), 1);
	assert_int_equal(c.depot >= DEPOT_DEFAULT_BYTES, 1);
	assert_int_equal(c.tags + c.stack_ring, 0); /* generic mode has neither */
	assert_int_equal(c.quarantine, RAM / 32);
	assert_int_equal(c.total > c.depot + c.objects + c.page_owner + c.shadow, 1);
	assert_int_equal(c.total - (c.depot + c.objects + c.page_owner + c.shadow) < 1u << 20, 1);
	for (int i = 0; i < 100; i++)
		ev(s, SHADOW_EV_SLAB_ALLOC, DMAP + 0x20000 + i * 32, 32, 32, CACHE, 0x1);
	sanitizer_get_caps(s, &after);
	assert_memory_equal(&c, &after, sizeof(c)); /* fixed at creation */
	sanitizer_destroy(s);
}

static void test_quarantine_eviction(void **state)
{
	struct sanitizer *s = with_cache(64, true);
	struct sanitizer_stats st;
	struct shadow_object o;

	(void)state;
	for (int i = 0; i < 3; i++)
		ev(s, SHADOW_EV_SLAB_ALLOC, OBJ + i * 32, 32, 32, CACHE, 0x1);
	for (int i = 0; i < 3; i++)
		ev(s, SHADOW_EV_SLAB_FREE, OBJ + i * 32, 0, 0, CACHE, 0x2);
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.quarantine_bytes, 64);
	assert_int_equal(st.quarantine_count, 2);
	assert_int_equal(st.quarantine_evicted, 1);
	assert_int_equal(st.objects, 2);
	/* the oldest is forgotten: plain "free" shadow, no free meta */
	assert_false(sanitizer_object_at(s, OBJ, &o));
	assert_int_equal(sb(s, OBJ), 0xFB);
	assert_int_equal(sb(s, OBJ + 32), 0xFA);
	/* the shadow alone still proves a double free */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x3), 1);
	assert_int_equal(g->last.kind, REPORT_DOUBLE_FREE);
	assert_false(g->last.has_object);
	sanitizer_destroy(s);
}

static void test_kmalloc_large(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	const uint64_t big = DMAP + 0x40000;

	(void)state;
	ev(s, SHADOW_EV_KMALLOC_LARGE, big, 5001, 8192, 0, 0x1);
	assert_int_equal(sb(s, big + 4992), 0x00);
	assert_int_equal(sb(s, big + 5000), 0x01);
	assert_int_equal(sb(s, big + 5008), 0xFE);
	assert_int_equal(sb(s, big + 8184), 0xFE);
	assert_true(access_at(s, big + 5001, 1, false));
	assert_null(g->last.cache_name); /* page-backed */
	assert_true(g->last.page_alloc.present);
	assert_int_equal(ev(s, SHADOW_EV_KFREE_LARGE, big + 1, 0, 0, 0, 0x3), 1);
	assert_int_equal(g->last.kind, REPORT_INVALID_FREE);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, big, 0, 0, 0, 0x2), 0); /* kfree() */
	assert_int_equal(sb(s, big), 0xFF);
	assert_int_equal(sb(s, big + 8184), 0xFF);
	assert_int_equal(ev(s, SHADOW_EV_KFREE_LARGE, big, 0, 0, 0, 0x3), 1);
	assert_int_equal(g->last.kind, REPORT_DOUBLE_FREE);
	assert_true(g->last.page_free.present);
	sanitizer_destroy(s);
}

static void test_pages_and_vmalloc(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	struct shadow_event e = {
	    .kind = SHADOW_EV_PAGE_FREE, .pfn = 0x30, .order = 1, .addr = DMAP + 0x30000};

	(void)state;
	ev_ex(s, &e);
	assert_int_equal(sb(s, DMAP + 0x31FF8), 0xFF);
	assert_true(access_at(s, DMAP + 0x30100, 8, false));
	assert_true(g->last.page_free.present);
	assert_true(g->last.page_freed);
	e.kind = SHADOW_EV_PAGE_ALLOC;
	ev_ex(s, &e);
	assert_int_equal(sb(s, DMAP + 0x31FF8), 0x00);
	assert_false(access_at(s, DMAP + 0x30100, 8, false));

	/* vmalloc: two pages, not contiguous in GPA */
	ev(s, SHADOW_EV_VMALLOC, VMAP, 5000, 8192, 0, 0x1);
	assert_int_equal(sb(s, VMAP + 4096), 0x00);
	assert_int_equal(sb(s, VMAP + 5000), 0xF8);
	assert_false(access_at(s, VMAP + 4090, 16, false)); /* crosses the page */
	assert_true(access_at(s, VMAP + 4996, 8, true));
	assert_int_equal(g->last.first_bad_addr, VMAP + 5000);
	assert_true(g->last.is_vmalloc);
	assert_false(g->last.has_object);
	e = (struct shadow_event){.kind = SHADOW_EV_VFREE, .addr = VMAP};
	ev_ex(s, &e);
	assert_int_equal(sb(s, VMAP), 0xF8);
	sanitizer_destroy(s);
}

static void test_krealloc(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	struct shadow_event e = {.kind = SHADOW_EV_KREALLOC,
				 .old_addr = OBJ,
				 .addr = OBJ,
				 .size_req = 8,
				 .size_alloc = 32,
				 .cache_id = CACHE};

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 24, 32, CACHE, 0x1);
	assert_int_equal(ev_ex(s, &e), 0); /* shrink in place */
	assert_int_equal(sb(s, OBJ + 8), 0xFC);
	assert_true(access_at(s, OBJ + 8, 1, false));
	e.addr = OBJ + 0x100; /* move */
	e.size_req = 30;
	assert_int_equal(ev_ex(s, &e), 0);
	assert_int_equal(sb(s, OBJ), 0xFA);
	assert_int_equal(sb(s, OBJ + 0x100 + 24), 0x06);
	e.old_addr = OBJ; /* krealloc of the freed object */
	e.addr = 0;
	assert_int_equal(ev_ex(s, &e), 1);
	assert_int_equal(g->last.addr, OBJ);
	assert_int_equal(g->last.access_size, 1);
	assert_true(g->last.obj_freed);
	e.addr = OBJ; /* "in place" on the freed object: reported, still freed */
	assert_int_equal(ev_ex(s, &e), 1);
	assert_true(access_at(s, OBJ, 1, false));
	assert_true(g->last.obj_freed);
	sanitizer_destroy(s);
}

static void test_caches_aux_modules(void **state)
{
	struct sanitizer *s = with_cache(0, true);
	struct shadow_event e = {.kind = SHADOW_EV_MODULE_LOAD,
				 .addr = 0xffffffffc0000000ull,
				 .size_req = 0x5000,
				 .name = "kasan_test"};
	struct shadow_module m;
	struct sanitizer_stats st;

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 32, 32, CACHE, 0x1);
	ev(s, SHADOW_EV_AUX_STACK, OBJ + 3, 0, 0, 0, 0xAA);
	ev(s, SHADOW_EV_AUX_STACK, OBJ, 0, 0, 0, 0xBB);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	assert_true(access_at(s, OBJ, 8, false));
	assert_true(g->last.aux1.present);
	assert_true(g->last.aux2.present);
	assert_int_equal(g->last.aux1.frames == NULL, 0);
	/* destroy with live objects: counted, not reported; twice: reported */
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ + 64, 32, 32, CACHE, 0x1);
	assert_int_equal(ev(s, SHADOW_EV_CACHE_DESTROY, 0, 0, 0, CACHE, 0x4), 0);
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.cache_destroy_live, 1);
	assert_int_equal(ev(s, SHADOW_EV_CACHE_DESTROY, 0, 0, 0, CACHE, 0x4), 1);
	assert_string_equal(g->last.bug_type, "slab-use-after-free");
	assert_int_equal(g->last_frame0, 0x4);

	ev_ex(s, &e);
	assert_true(sanitizer_module_find(s, 0xffffffffc0001234ull, &m));
	assert_string_equal(m.name, "kasan_test");
	assert_int_equal(sanitizer_modules(s, NULL, 0), 1);
	e.kind = SHADOW_EV_MODULE_UNLOAD;
	ev_ex(s, &e);
	assert_false(sanitizer_module_find(s, 0xffffffffc0001234ull, &m));
	sanitizer_destroy(s);
}

static void test_tag_mode(void **state)
{
	struct sanitizer *s = make(0, true, SANITIZER_TAGS);
	const uint64_t tagged = (OBJ & ~(0xFFull << 56)) | (0x2Bull << 56);
	uint64_t gpa = OBJ - DMAP;
	struct sanitizer_access a = {.pid = 1};

	(void)state;
	/* the event carries the address untagged and the pointer's tag beside it (ABI 1.2) */
	struct shadow_event e = {.kind = SHADOW_EV_SLAB_ALLOC,
				 .addr = OBJ,
				 .ptr_tagged = true,
				 .ptr_tag = 0x2B,
				 .size_req = 16,
				 .size_alloc = 32,
				 .cache_id = CACHE,
				 .freeptr_offset = 16};

	ev(s, SHADOW_EV_CACHE_CREATE, 0, 32, 0, CACHE, 0);
	ev_ex(s, &e);
	assert_false(sanitizer_check_access(s, gpa, tagged, 16, false, &a));
	/* past the end: the ring finds the allocation first */
	assert_true(sanitizer_check_access(s, gpa + 16, tagged + 16, 1, false, &a));
	assert_string_equal(g->last.bug_type, "slab-out-of-bounds");
	assert_true(g->last.tags);
	assert_int_equal(g->last.ptr_tag, 0x2B);
	assert_int_equal(g->last.mem_tag, 0xFE);
	assert_int_equal(g->last.first_bad_addr, OBJ + 16);
	assert_true(g->last.alloc.present);
	/* a pointer with another tag matches nothing in the ring */
	assert_true(sanitizer_check_access(s, gpa, tagged ^ (1ull << 56), 8, false, &a));
	assert_string_equal(g->last.bug_type, "invalid-access");
	assert_int_equal(g->last.mem_tag, 0x2B);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, CACHE, 0x2);
	assert_true(sanitizer_check_access(s, gpa, tagged, 8, false, &a));
	assert_string_equal(g->last.bug_type, "slab-use-after-free");
	assert_true(g->last.free.present);
	assert_true(g->last.alloc.present);
	assert_int_equal(g->last.mem_tag, 0xFE); /* freed */
	sanitizer_destroy(s);
}

static void test_bad_config(void **state)
{
	struct sanitizer_config cfg = {0};
	struct sanitizer_ops ops = {0};
	struct sanitizer *s;

	(void)state;
	assert_int_equal(sanitizer_create(&s, &cfg, &ops), -EINVAL);
	assert_null(s);
}

/* Replay of alloc/free pairs: the number the bench will measure (ASan build here). */
static void test_replay_throughput(void **state)
{
	enum { N = 400000, LIVE = 4096 };
	struct sanitizer *s = make(RAM / 32, true, SANITIZER_GENERIC);
	struct shadow_event e = {
	    .cache_id = CACHE, .size_req = 24, .size_alloc = 32, .nr_frames = 8};
	struct sanitizer_stats st;
	struct timespec t0, t1;
	double secs;

	(void)state;
	e.kind = SHADOW_EV_CACHE_CREATE;
	sanitizer_apply_event(s, &e);
	for (int i = 0; i < 8; i++)
		e.frames[i] = 0xffffffff81000000ull + (uint64_t)i * 64;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < N; i++) {
		e.kind = (i / LIVE) % 2 ? SHADOW_EV_SLAB_FREE : SHADOW_EV_SLAB_ALLOC;
		e.addr = DMAP + 0x20000 + (uint64_t)(i % LIVE) * 32;
		e.frames[0] = 0xffffffff82000000ull + (i % 64); /* 64 distinct stacks */
		assert_int_equal(sanitizer_apply_event(s, &e), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	sanitizer_get_stats(s, &st);
	printf("# replay: %.0f events/s (sanitized build), depot %lu records\n", N / secs,
	       (unsigned long)st.depot.records);
	assert_int_equal(g->nreports, 0);
	assert_true(st.depot.records <= 64 + 1);
	sanitizer_destroy(s);
}

static int setup(void **state)
{
	static struct fake f;

	(void)state;
	g = &f;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_free_shadow),
	    cmocka_unit_test(test_double_free),
	    cmocka_unit_test(test_invalid_frees),
	    cmocka_unit_test(test_slack_corruption_at_free),
	    cmocka_unit_test(test_slack_freelist_word_is_not_a_bug),
	    cmocka_unit_test(test_slack_reported_by_trap_once),
	    cmocka_unit_test(test_freed_write_reported_by_trap_once),
	    cmocka_unit_test(test_ksize_disables_canary),
	    cmocka_unit_test(test_write_after_free_found_at_realloc),
	    cmocka_unit_test(test_check_access),
	    cmocka_unit_test(test_redzones_poisoned_at_alloc_kept_at_free),
	    cmocka_unit_test(test_redzone_left_stays_in_page),
	    cmocka_unit_test(test_redzone_reports),
	    cmocka_unit_test(test_redzone_left_pad_reports),
	    cmocka_unit_test(test_redzone_all_left),
	    cmocka_unit_test(test_redzone_left_pad_last_slot),
	    cmocka_unit_test(test_redzone_not_in_canary_check),
	    cmocka_unit_test(test_page_double_free),
	    cmocka_unit_test(test_single_shot),
	    cmocka_unit_test(test_quarantine_eviction),
	    cmocka_unit_test(test_object_table_cap),
	    cmocka_unit_test(test_caps_sum),
	    cmocka_unit_test(test_kmalloc_large),
	    cmocka_unit_test(test_pages_and_vmalloc),
	    cmocka_unit_test(test_krealloc),
	    cmocka_unit_test(test_caches_aux_modules),
	    cmocka_unit_test(test_tag_mode),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_replay_throughput),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
