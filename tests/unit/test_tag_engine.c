/* SPDX-License-Identifier: MIT */
/*
 * Tag mode as kasan-vmm runs it on x86 (untagged_pointers): tags per
 * allocation, TAG_INVALID for freed memory and red zones, the match-all
 * pointer, the stack ring choosing the bug type and tracks, and async /
 * asymm faults reported at the next drain point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shadow/sanitizer.h"
#include "shadow/tags.h"

#define DMAP  0xffff888000000000ull
#define CACHE 3
#define OBJ   (DMAP + 0x10000) /* 16-byte aligned, as tag-mode slabs are */

#define FAKE_VBASE DMAP
#include "tests/unit/sanitizer_fake.h"

static struct sanitizer *make(enum sanitizer_tag_fault fault)
{
	static const struct shadow_ram_range ram = {0, RAM};
	struct sanitizer_config cfg = {
	    .ram = &ram,
	    .nr_ram = 1,
	    .mode = SANITIZER_TAGS,
	    .max_objects = 256,
	    .multi_shot = true,
	    .write_patterns = true, /* ignored in tag mode */
	    .tag_seed = 7,
	    .tag_fault = fault,
	    .untagged_pointers = true,
	    .kernel_release = "testguest",
	};
	struct sanitizer_ops ops = {
	    .virt_to_phys = v2p, .read_phys = rd, .write_phys = wr, .report = sink};
	struct sanitizer *s;

	memset(&f, 0, sizeof(f));
	assert_int_equal(sanitizer_create(&s, &cfg, &ops), 0);
	return s;
}

/* One event; pid tells the tracks apart in the reports. */
static int ev(struct sanitizer *s, enum shadow_event_kind kind, uint64_t addr, uint64_t req,
	      uint64_t alloc, uint32_t pid)
{
	struct shadow_event e = {.kind = kind,
				 .pid = pid,
				 .addr = addr,
				 .size_req = req,
				 .size_alloc = alloc,
				 .cache_id = CACHE,
				 .freeptr_offset = CACHE_NO_FREEPTR,
				 .nr_frames = 1};

	e.frames[0] = 0xffffffff81000000ull + pid;
	if (kind == SHADOW_EV_CACHE_CREATE)
		strcpy(e.name, "kmalloc-64");
	return sanitizer_apply_event(s, &e);
}

static bool access(struct sanitizer *s, uint64_t gva, uint64_t size, bool is_write)
{
	struct sanitizer_access a = {.pid = 9, .cpu = 0, .comm = "t"};

	return sanitizer_check_access(s, gva - DMAP, gva, size, is_write, &a);
}

static struct sanitizer *with_cache(enum sanitizer_tag_fault fault)
{
	struct sanitizer *s = make(fault);

	/* kmalloc-64 with a 16-byte red zone after each 64-byte object */
	ev(s, SHADOW_EV_CACHE_CREATE, 0, 64, 80, 1);
	return s;
}

static void test_alloc_tags_and_redzones(void **state)
{
	struct sanitizer *s = with_cache(SANITIZER_TAG_SYNC);
	struct shadow_object o;

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 40, 64, 11);
	assert_true(sanitizer_object_at(s, OBJ, &o));
	assert_true(o.tag < TAG_INVALID); /* a real tag, never 0xFE/0xFF */
	/* x86: the untagged pointer matches every assigned granule... */
	assert_false(access(s, OBJ, 48, false)); /* 40 rounded up to the granule */
	/* ...and faults on the slack past it and on the red zone, tagged 0xFE */
	assert_true(access(s, OBJ + 48, 1, true));
	assert_int_equal(f.last.ptr_tag, TAG_MATCH_ALL);
	assert_int_equal(f.last.mem_tag, TAG_INVALID);
	assert_string_equal(f.last.bug_type, "slab-out-of-bounds"); /* alloc entry first */
	assert_int_equal(f.last_alloc_pid, 11);
	assert_non_null(strstr(f.text, "Pointer tag: [ff], memory tag: [fe]\n"));
	assert_true(access(s, OBJ + 64, 1, false));
	assert_int_equal(f.last.mem_tag, TAG_INVALID);
	/* memory never tagged reads 0xff (KASAN_TAG_KERNEL) and never faults */
	assert_false(access(s, DMAP + 0x80000, 64, true));
	/* tag-mode rows: 16 granules of 16 bytes per row */
	assert_int_equal(f.last.row_addr % 256, 0);
	sanitizer_destroy(s);
}

static void test_random_tag_per_allocation(void **state)
{
	struct sanitizer *s = with_cache(SANITIZER_TAG_SYNC);
	struct shadow_object o;
	unsigned int seen[256] = {0}, distinct = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		ev(s, SHADOW_EV_SLAB_ALLOC, OBJ + 80 * (uint64_t)(i % 8), 64, 64, 2);
		assert_true(sanitizer_object_at(s, OBJ + 80 * (uint64_t)(i % 8), &o));
		assert_true(o.tag < TAG_INVALID);
		distinct += seen[o.tag]++ == 0;
		ev(s, SHADOW_EV_SLAB_FREE, OBJ + 80 * (uint64_t)(i % 8), 0, 0, 2);
	}
	assert_true(distinct > 50);
	sanitizer_destroy(s);
}

static void test_freed_is_invalid_uaf_from_ring(void **state)
{
	struct sanitizer *s = with_cache(SANITIZER_TAG_SYNC);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 64, 64, 21);
	assert_false(access(s, OBJ + 8, 8, false));
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, 22);
	assert_true(access(s, OBJ + 8, 8, false));
	assert_int_equal(f.last.mem_tag, TAG_INVALID);
	assert_string_equal(f.last.bug_type, "slab-use-after-free"); /* free entry first */
	assert_int_equal(f.last_alloc_pid, 21);
	assert_int_equal(f.last_free_pid, 22);
	assert_true(f.last.tags);
	/* the slot reused: a pointer without a tag describes its newest life */
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 64, 64, 23);
	assert_false(access(s, OBJ + 8, 8, false)); /* kmalloc_uaf3-style reuse: live again */
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, 24);
	assert_true(access(s, OBJ + 8, 1, false));
	assert_int_equal(f.last_alloc_pid, 23);
	assert_int_equal(f.last_free_pid, 24);
	/* a double free: mem tag 0xfe, tracks from the ring, the pointer tag line too */
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, 25), 1);
	assert_non_null(strstr(f.text, "BUG: KASAN: double-free"));
	assert_int_equal(f.last_free_pid, 24);
	assert_non_null(strstr(f.text, "Pointer tag: [ff], memory tag: [fe]\n"));
	sanitizer_destroy(s);
}

/* Page-backed memory has no ring entries: Linux's common type, invalid-access. */
static void test_pages_invalid_access(void **state)
{
	struct sanitizer *s = make(SANITIZER_TAG_SYNC);
	struct shadow_event e = {.kind = SHADOW_EV_PAGE_ALLOC, .pfn = 0x40, .order = 1};

	(void)state;
	sanitizer_apply_event(s, &e);
	assert_false(access(s, DMAP + 0x40000, 8192, true));
	e.kind = SHADOW_EV_PAGE_FREE;
	sanitizer_apply_event(s, &e);
	assert_true(access(s, DMAP + 0x41000, 1, false));
	assert_string_equal(f.last.bug_type, "invalid-access");
	assert_int_equal(f.last.mem_tag, TAG_INVALID);
	sanitizer_destroy(s);
}

static void test_async_reported_at_drain(void **state)
{
	struct sanitizer *s = with_cache(SANITIZER_TAG_ASYNC);
	struct sanitizer_access drain = {.pid = 5, .cpu = 1, .comm = "drain"};
	struct sanitizer_stats st;

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 64, 64, 31);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, 32);
	assert_false(sanitizer_tag_drain(s, &drain)); /* nothing recorded yet */
	assert_true(access(s, OBJ, 1, false));	      /* a fault, but... */
	assert_true(access(s, OBJ + 16, 8, true));
	assert_int_equal(f.nreports, 0); /* ...only recorded */
	assert_int_equal(sanitizer_tag_pending(s), 2);
	assert_true(sanitizer_tag_drain(s, &drain));
	assert_int_equal(f.nreports, 1); /* one sticky fault bit, one report */
	assert_int_equal(f.last.kind, REPORT_ASYNC);
	assert_int_equal(f.last.pid, 5);
	assert_non_null(strstr(f.text, "BUG: KASAN: invalid-access\n"
				       "Asynchronous fault: no details available\n"));
	assert_false(sanitizer_tag_drain(s, &drain));
	sanitizer_get_stats(s, &st);
	assert_int_equal(st.async_faults, 2);
	sanitizer_destroy(s);
}

static void test_asymm_reads_sync_writes_async(void **state)
{
	struct sanitizer *s = with_cache(SANITIZER_TAG_ASYMM);

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 64, 64, 41);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0, 0, 42);
	assert_true(access(s, OBJ, 1, false));
	assert_int_equal(f.nreports, 1);
	assert_int_equal(f.last.kind, REPORT_ACCESS);
	assert_string_equal(f.last.bug_type, "slab-use-after-free");
	assert_true(access(s, OBJ, 1, true));
	assert_int_equal(f.nreports, 1);
	assert_true(sanitizer_tag_drain(s, NULL));
	assert_int_equal(f.last.kind, REPORT_ASYNC);
	sanitizer_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_tags_and_redzones),
	    cmocka_unit_test(test_random_tag_per_allocation),
	    cmocka_unit_test(test_freed_is_invalid_uaf_from_ring),
	    cmocka_unit_test(test_pages_invalid_access),
	    cmocka_unit_test(test_async_reported_at_drain),
	    cmocka_unit_test(test_asymm_reads_sync_writes_async),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
