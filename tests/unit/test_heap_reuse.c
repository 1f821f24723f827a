/* SPDX-License-Identifier: MIT */
/*
 * Memory changing hands between allocators: a destroyed cache's quarantined
 * objects, and pages the page allocator hands out over stale slab objects.
 * The new owner's accesses must not be reported; real bugs still are.
 * Fake guest: 1 MiB of RAM behind a direct map at DMAP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/sanitizer.h"

#define DMAP	 0xffff888000000000ull
#define CACHE	 9  /* "test_cache": 200-byte objects in 208-byte slots */
#define OTHER	 10 /* "kmalloc-64" */
#define SLAB_PFN 0x40ull
#define SLAB	 (DMAP + (SLAB_PFN << 12)) /* the cache's slab page */

#define FAKE_VBASE DMAP
#include "tests/unit/sanitizer_fake.h"

static struct sanitizer *make(enum sanitizer_mode mode)
{
	static const struct shadow_ram_range ram = {0, RAM};
	struct sanitizer_config cfg = {
	    .ram = &ram,
	    .nr_ram = 1,
	    .mode = mode,
	    .quarantine_bytes = 64 << 10,
	    .max_objects = 1024,
	    .multi_shot = true,
	    .write_patterns = true,
	    .kernel_release = "testguest",
	    .hardware_name = "kasan-vmm",
	};
	struct sanitizer_ops ops = {
	    .virt_to_phys = v2p, .read_phys = rd, .write_phys = wr, .report = sink};
	struct sanitizer *s;

	memset(&f, 0, sizeof(f));
	assert_int_equal(sanitizer_create(&s, &cfg, &ops), 0);
	return s;
}

static int event(struct sanitizer *s, enum shadow_event_kind kind, uint64_t addr, uint64_t size,
		 uint32_t cache)
{
	struct shadow_event e = {.kind = kind,
				 .pid = 1,
				 .addr = addr,
				 .size_req = size,
				 .size_alloc = size,
				 .cache_id = cache,
				 .freeptr_offset = UINT32_MAX,
				 .nr_frames = 1};

	e.frames[0] = 0xffffffff81000000ull + kind;
	if (kind == SHADOW_EV_CACHE_CREATE) {
		strcpy(e.name, cache == CACHE ? "test_cache" : "kmalloc-64");
		e.size_alloc = cache == CACHE ? 208 : size;
	}
	return sanitizer_apply_event(s, &e);
}

static int pages(struct sanitizer *s, enum shadow_event_kind kind, uint64_t pfn, uint32_t order)
{
	struct shadow_event e = {
	    .kind = kind, .pfn = pfn, .order = order, .addr = DMAP + (pfn << 12), .nr_frames = 1};

	e.frames[0] = 0xffffffff81100000ull;
	return sanitizer_apply_event(s, &e);
}

static bool access_at(struct sanitizer *s, uint64_t gva, uint64_t size, bool is_write)
{
	static const uint64_t frames[] = {0xffffffff81234567ull};
	struct sanitizer_access a = {
	    .pid = 2, .comm = "kthreadd", .ip = frames[0], .nr_frames = 1, .frames = frames};

	return sanitizer_check_access(s, gva - DMAP, gva, size, is_write, &a);
}

static uint8_t shadow(struct sanitizer *s, uint64_t gva)
{
	uint8_t v = 0xAA;

	assert_true(sanitizer_shadow_byte(s, gva - DMAP, &v));
	return v;
}

/* Page allocated, three objects, two of them freed (quarantined), cache destroyed. */
static struct sanitizer *destroyed_cache(enum sanitizer_mode mode)
{
	struct sanitizer *s = make(mode);

	pages(s, SHADOW_EV_PAGE_ALLOC, SLAB_PFN, 0);
	event(s, SHADOW_EV_CACHE_CREATE, 0, 200, CACHE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(event(s, SHADOW_EV_SLAB_ALLOC, SLAB + 208 * i, 200, CACHE), 0);
	assert_int_equal(event(s, SHADOW_EV_SLAB_FREE, SLAB, 0, CACHE), 0);
	assert_int_equal(event(s, SHADOW_EV_SLAB_FREE, SLAB + 208, 0, CACHE), 0);
	assert_true(access_at(s, SLAB + 8, 8, true)); /* a use-after-free while it is quarantined */
	assert_int_equal(f.nreports, 1);
	assert_int_equal(event(s, SHADOW_EV_CACHE_DESTROY, 0, 0, CACHE), 0);
	return s;
}

/* KASAN's cache shutdown empties the cache's quarantine: so does CACHE_DESTROY. */
static void test_cache_destroy_drops_quarantine(void **state)
{
	struct sanitizer *s = destroyed_cache(SANITIZER_GENERIC);
	struct sanitizer_stats st;
	struct shadow_object o;

	(void)state;
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.quarantine_count, 0);
	assert_int_equal(st.quarantine_bytes, 0);
	assert_false(sanitizer_object_at(s, SLAB, &o));
	assert_false(sanitizer_object_at(s, SLAB + 208, &o));
	/* the freed objects' memory is no longer the quarantine's: not poisoned as such */
	assert_int_equal(shadow(s, SLAB), 0);
	assert_int_equal(shadow(s, SLAB + 216), 0);
	assert_false(access_at(s, SLAB + 8, 8, true));
	/* the live object (a leak, counted) stays tracked */
	assert_true(sanitizer_object_at(s, SLAB + 416, &o));
	assert_int_equal(o.state, OBJ_LIVE);
	assert_int_equal(st.cache_destroy_live, 1);
	sanitizer_destroy(s);
}

/*
 * The reported false positive: the destroyed cache's slab page goes back to
 * the page allocator and comes out again as a kernel stack (order 2, the
 * slab page in its middle); the new owner's writes are fine, and the live
 * object the cache leaked there is forgotten.
 */
static void test_slab_page_reused_as_stack(void **state)
{
	struct sanitizer *s = destroyed_cache(SANITIZER_GENERIC);
	struct sanitizer_stats st;
	struct shadow_object o;

	(void)state;
	assert_int_equal(pages(s, SHADOW_EV_PAGE_FREE, SLAB_PFN, 0), 0);
	assert_int_equal(pages(s, SHADOW_EV_PAGE_ALLOC, SLAB_PFN - 1, 2), 0);
	for (uint64_t off = 0; off < 4096; off += 8)
		assert_false(access_at(s, SLAB + off, 8, true));
	assert_false(access_at(s, SLAB - 4096, 8, true));
	assert_false(sanitizer_object_at(s, SLAB + 416, &o));
	assert_int_equal(f.nreports, 1); /* only the real use-after-free before */
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.stale_dropped, 1);
	sanitizer_destroy(s);
}

/* Without a page free in between (the free went unseen), the allocation wins all the same. */
static void test_page_alloc_over_quarantined_object(void **state)
{
	struct sanitizer *s = make(SANITIZER_GENERIC);
	struct sanitizer_stats st;

	(void)state;
	event(s, SHADOW_EV_CACHE_CREATE, 0, 64, OTHER);
	event(s, SHADOW_EV_SLAB_ALLOC, SLAB + 4064, 64, OTHER); /* crosses into the next page */
	event(s, SHADOW_EV_SLAB_FREE, SLAB + 4064, 0, OTHER);
	assert_int_equal(shadow(s, SLAB + 4064), 0xFA);
	assert_int_equal(shadow(s, SLAB + 4096), 0xFB);
	assert_int_equal(pages(s, SHADOW_EV_PAGE_ALLOC, SLAB_PFN + 1, 0), 0);
	assert_false(access_at(s, SLAB + 4096, 8, true));
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.quarantine_count, 0);
	/* the part outside the new pages stays free memory, no longer with free meta */
	assert_int_equal(shadow(s, SLAB + 4064), 0xFB);
	assert_true(access_at(s, SLAB + 4064, 8, false));
	assert_false(f.last.has_object);
	assert_int_equal(f.nreports, 1);
	sanitizer_destroy(s);
}

/* Other caches' quarantined objects stay, and their bugs are still found. */
static void test_real_bugs_still_reported(void **state)
{
	struct sanitizer *s = make(SANITIZER_GENERIC);
	const uint64_t other = DMAP + 0x80000;

	(void)state;
	event(s, SHADOW_EV_CACHE_CREATE, 0, 64, OTHER);
	event(s, SHADOW_EV_SLAB_ALLOC, other, 64, OTHER);
	event(s, SHADOW_EV_SLAB_FREE, other, 0, OTHER);
	event(s, SHADOW_EV_CACHE_CREATE, 0, 200, CACHE);
	event(s, SHADOW_EV_SLAB_ALLOC, SLAB, 200, CACHE);
	event(s, SHADOW_EV_SLAB_FREE, SLAB, 0, CACHE);
	event(s, SHADOW_EV_CACHE_DESTROY, 0, 0, CACHE);
	/* use-after-free in the surviving cache */
	assert_true(access_at(s, other + 16, 8, true));
	assert_int_equal(f.last.kind, REPORT_ACCESS);
	assert_true(f.last.has_object && f.last.obj_freed);
	/* double free there */
	assert_int_equal(event(s, SHADOW_EV_SLAB_FREE, other, 0, OTHER), 1);
	assert_int_equal(f.last.kind, REPORT_DOUBLE_FREE);
	/* an invalid free inside a live object */
	event(s, SHADOW_EV_SLAB_ALLOC, other + 64, 64, OTHER);
	assert_int_equal(event(s, SHADOW_EV_SLAB_FREE, other + 72, 0, OTHER), 1);
	assert_int_equal(f.last.kind, REPORT_INVALID_FREE);
	/* pages: a double free after reuse is still one */
	pages(s, SHADOW_EV_PAGE_ALLOC, SLAB_PFN, 0);
	pages(s, SHADOW_EV_PAGE_FREE, SLAB_PFN, 0);
	assert_int_equal(pages(s, SHADOW_EV_PAGE_FREE, SLAB_PFN, 0), 1);
	assert_int_equal(f.last.kind, REPORT_DOUBLE_FREE);
	assert_int_equal(f.nreports, 4);
	sanitizer_destroy(s);
}

/*
 * Only what is still quarantined is dropped, however it got there and
 * whatever else the quarantine holds: frees of two caches interleaved, the
 * oldest evicted over the cap, some reallocated, then one cache destroyed.
 */
static void test_destroy_drops_exactly_its_own(void **state)
{
	struct sanitizer *s = make(SANITIZER_GENERIC);
	struct sanitizer_stats st;
	struct shadow_object o;
	const uint64_t a = DMAP + 0x20000, b = DMAP + 0x60000;

	(void)state;
	event(s, SHADOW_EV_CACHE_CREATE, 0, 200, CACHE);
	event(s, SHADOW_EV_CACHE_CREATE, 0, 64, OTHER);
	for (int i = 0; i < 400; i++) { /* 400 * (208 + 64) bytes: over the 64 KiB cap */
		event(s, SHADOW_EV_SLAB_ALLOC, a + 208ull * i, 200, CACHE);
		event(s, SHADOW_EV_SLAB_ALLOC, b + 64ull * i, 64, OTHER);
	}
	for (int i = 0; i < 400; i++) {
		event(s, SHADOW_EV_SLAB_FREE, a + 208ull * i, 0, CACHE);
		event(s, SHADOW_EV_SLAB_FREE, b + 64ull * i, 0, OTHER);
	}
	for (int i = 390; i < 400; i++) /* the newest ten of the cache come back */
		event(s, SHADOW_EV_SLAB_ALLOC, a + 208ull * i, 200, CACHE);
	sanitizer_get_stats(s, &st);
	assert_true(st.quarantine_evicted > 0);
	/* what of the cache is still quarantined: freed, tracked, not reallocated */
	uint64_t left = 0;
	for (int i = 0; i < 390; i++)
		left += sanitizer_object_at(s, a + 208ull * i, &o) && o.state == OBJ_FREED;
	assert_true(left > 0 && left < 390);
	event(s, SHADOW_EV_CACHE_DESTROY, 0, 0, CACHE);
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.quarantine_dropped, left);
	for (int i = 0; i < 390; i++)
		assert_false(sanitizer_object_at(s, a + 208ull * i, &o));
	assert_true(sanitizer_object_at(s, a + 208ull * 395, &o)); /* live ones stay */
	assert_true(sanitizer_object_at(s, b + 64ull * 399, &o));  /* the other cache's stay */
	assert_int_equal(o.state, OBJ_FREED);
	assert_int_equal(f.nreports, 0);
	sanitizer_destroy(s);
}

/* Destroying twice is still a use of the freed descriptor; the second finds nothing to drop. */
static void test_destroy_twice(void **state)
{
	struct sanitizer *s = destroyed_cache(SANITIZER_GENERIC);

	(void)state;
	assert_int_equal(event(s, SHADOW_EV_CACHE_DESTROY, 0, 0, CACHE), 1);
	assert_int_equal(f.nreports, 2);
	sanitizer_destroy(s);
}

/* Tag mode: the page allocator's pointers may carry a tag; objects are keyed untagged. */
static void test_tag_mode_page_alloc_forgets(void **state)
{
	struct sanitizer *s = make(SANITIZER_TAGS);
	struct shadow_event e = {.kind = SHADOW_EV_PAGE_ALLOC,
				 .pfn = SLAB_PFN,
				 .addr = (SLAB & ~(0xFFull << 56)) | (0xA5ull << 56), /* tag 0xA5 */
				 .nr_frames = 1};
	struct shadow_object o;

	(void)state;
	event(s, SHADOW_EV_CACHE_CREATE, 0, 64, OTHER);
	event(s, SHADOW_EV_SLAB_ALLOC, SLAB + 128, 64, OTHER);
	event(s, SHADOW_EV_SLAB_FREE, SLAB + 128, 0, OTHER);
	assert_true(sanitizer_object_at(s, SLAB + 128, &o));
	e.frames[0] = 0xffffffff81100000ull;
	assert_int_equal(sanitizer_apply_event(s, &e), 0);
	assert_false(sanitizer_object_at(s, SLAB + 128, &o));
	sanitizer_destroy(s);
}

/*
 * Pages handed out again by an allocation that sends no event (Linux 6.1's
 * alloc_pages_bulk): the guest's struct page says whether a freed page is in
 * use. The fake's struct page array lives in its RAM at VMEMMAP.
 */
#define VMEMMAP	   (DMAP + 0xC0000)
#define REUSED_PFN 0x50ull
#define REUSED	   (DMAP + (REUSED_PFN << 12))

static void set_refcount(uint64_t pfn, int32_t refs)
{
	memcpy(f.ram + (VMEMMAP - DMAP) + pfn * 64 + 52, &refs, 4);
}

static struct sanitizer *with_struct_pages(enum sanitizer_mode mode, uint32_t page_struct_size)
{
	struct sanitizer *s = make(mode);
	const struct sanitizer_layout l = {.vmemmap_base = VMEMMAP,
					   .page_struct_size = page_struct_size,
					   .page_refcount_off = page_struct_size ? 52 : 0,
					   .direct_map_base = DMAP};

	sanitizer_set_layout(s, &l);
	pages(s, SHADOW_EV_PAGE_ALLOC, REUSED_PFN, 1);
	pages(s, SHADOW_EV_PAGE_FREE, REUSED_PFN, 1);
	return s;
}

static uint64_t pages_reused(struct sanitizer *s)
{
	struct sanitizer_stats st;

	sanitizer_get_stats(s, &st);
	return st.pages_reused;
}

static void test_freed_page_in_use_becomes_allocated(void **state)
{
	struct sanitizer *s = with_struct_pages(SANITIZER_GENERIC, 64);

	(void)state;
	/* really free: no references, so a page use-after-free is reported */
	assert_true(access_at(s, REUSED + 16, 8, false));
	assert_int_equal(f.nreports, 1);
	assert_true(f.last.page_freed);
	/* handed out again without an event: its owner's accesses are fine */
	set_refcount(REUSED_PFN, 1);
	assert_false(access_at(s, REUSED + 16, 8, true));
	assert_int_equal(pages_reused(s), 1);
	assert_int_equal(shadow(s, REUSED), 0);
	assert_false(access_at(s, REUSED + 4088, 8, true));
	assert_int_equal(pages_reused(s), 1); /* once per page */
	/* only that page: its freed neighbour (same order-1 free) is still reported */
	set_refcount(REUSED_PFN + 1, 0);
	assert_true(access_at(s, REUSED + 4096, 8, false));
	/* freed again with an event: reported again */
	set_refcount(REUSED_PFN, 0);
	pages(s, SHADOW_EV_PAGE_FREE, REUSED_PFN, 0);
	assert_true(access_at(s, REUSED + 16, 8, false));
	assert_int_equal(f.nreports, 3);
	sanitizer_destroy(s);
}

/* An access across two such pages turns both; a hostile count (negative) is no reference. */
static void test_reuse_spans_pages_and_distrusts_counts(void **state)
{
	struct sanitizer *s = with_struct_pages(SANITIZER_GENERIC, 64);

	(void)state;
	set_refcount(REUSED_PFN, 1);
	set_refcount(REUSED_PFN + 1, 3);
	assert_false(access_at(s, REUSED + 4092, 8, true));
	assert_int_equal(pages_reused(s), 2);
	pages(s, SHADOW_EV_PAGE_FREE, REUSED_PFN, 1);
	set_refcount(REUSED_PFN, -5);
	set_refcount(REUSED_PFN + 1, 0);
	assert_true(access_at(s, REUSED + 8, 8, false));
	assert_int_equal(pages_reused(s), 2);
	assert_int_equal(f.nreports, 1);
	sanitizer_destroy(s);
}

/* A guest that gave no struct page layout (before ABI 1.3): nothing is read, all is reported. */
static void test_no_struct_page_layout_reports(void **state)
{
	struct sanitizer *s = with_struct_pages(SANITIZER_GENERIC, 0);

	(void)state;
	set_refcount(REUSED_PFN, 1);
	assert_true(access_at(s, REUSED + 16, 8, false));
	assert_int_equal(pages_reused(s), 0);
	sanitizer_destroy(s);
}

/* Tag mode: a freed page (TAG_INVALID) in use gets a tag like any allocated page. */
static void test_tag_mode_freed_page_in_use(void **state)
{
	struct sanitizer *s = with_struct_pages(SANITIZER_TAGS, 64);

	(void)state;
	assert_true(access_at(s, REUSED + 32, 8, false));
	set_refcount(REUSED_PFN, 2);
	assert_false(access_at(s, REUSED + 32, 8, true));
	assert_int_equal(pages_reused(s), 1);
	assert_int_equal(f.nreports, 1);
	sanitizer_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cache_destroy_drops_quarantine),
	    cmocka_unit_test(test_slab_page_reused_as_stack),
	    cmocka_unit_test(test_page_alloc_over_quarantined_object),
	    cmocka_unit_test(test_real_bugs_still_reported),
	    cmocka_unit_test(test_destroy_drops_exactly_its_own),
	    cmocka_unit_test(test_destroy_twice),
	    cmocka_unit_test(test_tag_mode_page_alloc_forgets),
	    cmocka_unit_test(test_freed_page_in_use_becomes_allocated),
	    cmocka_unit_test(test_reuse_spans_pages_and_distrusts_counts),
	    cmocka_unit_test(test_no_struct_page_layout_reports),
	    cmocka_unit_test(test_tag_mode_freed_page_in_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
