/* SPDX-License-Identifier: MIT */
/*
 * Tag mode with tagged pointers, as kasan-vmm runs it on arm64 (ABI 1.2):
 * the tag the guest's allocator put in the pointer (sent in the event)
 * becomes the memory tag, an access is judged with its pointer's tag, and a
 * pointer whose top byte is only bit 55's sign is match-all. The guest here
 * maps RAM at a low-half VA, as kasan-vmm's arm64 test guest does.
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

#define VBASE 0x40000000ull /* VA of GPA 0 */
#define CACHE 3
#define OBJ   (VBASE + 0x10000)

#define FAKE_VBASE VBASE
#include "tests/unit/sanitizer_fake.h"

static struct sanitizer *make(void)
{
	static const struct shadow_ram_range ram = {0, RAM};
	struct sanitizer_config cfg = {
	    .ram = &ram,
	    .nr_ram = 1,
	    .mode = SANITIZER_TAGS,
	    .max_objects = 256,
	    .multi_shot = true,
	    .tag_seed = 7,
	    .tag_fault = SANITIZER_TAG_SYNC,
	    .untagged_pointers = false,
	    .kernel_release = "testguest",
	};
	struct sanitizer_ops ops = {
	    .virt_to_phys = v2p, .read_phys = rd, .write_phys = wr, .report = sink};
	struct shadow_event cache = {.kind = SHADOW_EV_CACHE_CREATE,
				     .cache_id = CACHE,
				     .size_req = 64,
				     .size_alloc = 80,
				     .freeptr_offset = CACHE_NO_FREEPTR,
				     .name = "kmalloc-64"};
	struct sanitizer *s;

	memset(&f, 0, sizeof(f));
	assert_int_equal(sanitizer_create(&s, &cfg, &ops), 0);
	assert_int_equal(sanitizer_apply_event(s, &cache), 0);
	return s;
}

/* An allocation or free through a pointer with `tag` (-1: an untagged pointer). */
static int ev(struct sanitizer *s, enum shadow_event_kind kind, uint64_t addr, int tag,
	      uint32_t pid)
{
	struct shadow_event e = {.kind = kind,
				 .pid = pid,
				 .addr = addr,
				 .ptr_tagged = tag >= 0,
				 .ptr_tag = (uint8_t)tag,
				 .size_req = 40,
				 .size_alloc = 64,
				 .cache_id = CACHE,
				 .nr_frames = 1};

	e.frames[0] = 0xffffffff81000000ull + pid;
	return sanitizer_apply_event(s, &e);
}

static bool access(struct sanitizer *s, uint64_t gva, uint64_t size, bool is_write)
{
	struct sanitizer_access a = {.pid = 9, .cpu = 0, .comm = "t"};

	return sanitizer_check_access(s, tag_reset(gva) - VBASE, gva, size, is_write, &a);
}

static void test_pointer_helpers(void **state)
{
	(void)state;
	/* the untagged form copies bit 55: low half stays low, kernel half gets 0xff */
	assert_int_equal(tag_reset(tag_set(OBJ, 0xf3)), OBJ);
	assert_int_equal(tag_reset(0x3cff888000001000ull), 0xffff888000001000ull);
	assert_int_equal(tag_of_pointer(tag_set(OBJ, 0xf3)), 0xf3);
	assert_int_equal(tag_of_pointer(OBJ), TAG_MATCH_ALL);
	assert_int_equal(tag_of_pointer(0xffff888000001000ull), TAG_MATCH_ALL);
	assert_int_equal(tag_of_pointer(tag_set(OBJ, 0xff)), TAG_MATCH_ALL);
}

static void test_guest_tag_is_memory_tag(void **state)
{
	struct sanitizer *s = make();
	struct shadow_object o;

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 0xf3, 11);
	assert_true(sanitizer_object_at(s, OBJ, &o));
	assert_int_equal(o.tag, 0xf3);
	assert_false(access(s, tag_set(OBJ, 0xf3), 48, true));
	assert_false(access(s, OBJ, 48, true));		       /* untagged: match-all */
	assert_false(access(s, tag_set(OBJ, 0xff), 48, true)); /* match_all_ptr_tag */
	/* the right tag past the object's granules: its slack is 0xfe */
	assert_true(access(s, tag_set(OBJ, 0xf3) + 48, 1, false));
	assert_int_equal(f.last.ptr_tag, 0xf3);
	assert_int_equal(f.last.mem_tag, TAG_INVALID);
	assert_string_equal(f.last.bug_type, "slab-out-of-bounds");
	assert_int_equal(f.nreports, 1);
	sanitizer_destroy(s);
}

/* kmalloc_wrong_ptr_tag: in bounds, wrong tag, no ring entry with that tag. */
static void test_wrong_pointer_tag(void **state)
{
	struct sanitizer *s = make();

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 0xf3, 11);
	assert_true(access(s, tag_set(OBJ, 0xf4) + 8, 1, true));
	assert_int_equal(f.last.ptr_tag, 0xf4);
	assert_int_equal(f.last.mem_tag, 0xf3);
	assert_string_equal(f.last.bug_type, "invalid-access");
	assert_non_null(strstr(f.text, "Pointer tag: [f4], memory tag: [f3]\n"));
	assert_non_null(strstr(f.text, "Write of size 1 at addr f400000040010008"));
	/* the object is described by the untagged address */
	assert_non_null(strstr(f.text, "The buggy address is located 8 bytes inside of\n"
				       " 40-byte region [0000000040010000, 0000000040010028)\n"));
	sanitizer_destroy(s);
}

/* A stale pointer into a reused slot: the ring finds the life with its tag. */
static void test_stale_pointer_after_reuse(void **state)
{
	struct sanitizer *s = make();

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 0xf3, 21);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0xf3, 22);
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 0xf8, 23);
	assert_false(access(s, tag_set(OBJ, 0xf8), 8, false));
	assert_true(access(s, tag_set(OBJ, 0xf3), 8, false)); /* kmalloc_uaf3 */
	assert_string_equal(f.last.bug_type, "slab-use-after-free");
	assert_int_equal(f.last.mem_tag, 0xf8);
	assert_int_equal(f.last_alloc_pid, 21);
	assert_int_equal(f.last_free_pid, 22);
	/* freed again: a pointer without a tag faults on unassigned memory, as on x86 */
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0xf8, 24);
	assert_true(access(s, OBJ, 8, false));
	assert_int_equal(f.last.ptr_tag, TAG_MATCH_ALL);
	assert_int_equal(f.last.mem_tag, TAG_INVALID);
	assert_int_equal(f.last_free_pid, 24);
	sanitizer_destroy(s);
}

/* Events without a tag (a guest that sends none) still get a host tag. */
static void test_untagged_event_random_tag(void **state)
{
	struct sanitizer *s = make();
	struct shadow_object o;

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, -1, 31);
	assert_true(sanitizer_object_at(s, OBJ, &o));
	assert_true(o.tag < TAG_INVALID);
	assert_false(access(s, tag_set(OBJ, o.tag), 40, false));
	assert_false(access(s, OBJ, 40, false));
	/* tags 0xfe/0xff in an event are not memory tags either */
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ + 80, 0xfe, 32);
	assert_true(sanitizer_object_at(s, OBJ + 80, &o));
	assert_true(o.tag < TAG_INVALID);
	sanitizer_destroy(s);
}

/* An event-time report names the pointer the guest passed, with its tag. */
static void test_double_free_names_pointer_tag(void **state)
{
	struct sanitizer *s = make();

	(void)state;
	ev(s, SHADOW_EV_SLAB_ALLOC, OBJ, 0xf3, 41);
	ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0xf3, 42);
	assert_int_equal(ev(s, SHADOW_EV_SLAB_FREE, OBJ, 0xf3, 43), 1);
	assert_non_null(strstr(f.text, "BUG: KASAN: double-free"));
	assert_non_null(strstr(f.text, "Pointer tag: [f3], memory tag: [fe]\n"));
	sanitizer_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pointer_helpers),
	    cmocka_unit_test(test_guest_tag_is_memory_tag),
	    cmocka_unit_test(test_wrong_pointer_tag),
	    cmocka_unit_test(test_stale_pointer_after_reuse),
	    cmocka_unit_test(test_untagged_event_random_tag),
	    cmocka_unit_test(test_double_free_names_pointer_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
