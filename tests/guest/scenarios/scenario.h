/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the KASAN bug scenarios (the cases of Linux's
 * mm/kasan/kasan_test_c.c, reproduced access for access on the guest's
 * allocators).
 *
 * Before every bad access kasan-vmm should report, a scenario prints
 *   # kasan-vmm expects: <bug-type> <Read|Write|Free> <size>
 *   # kasan-vmm object: 0x<addr> size <n>
 * and a must-not-report case prints "# kasan-vmm expects: none". The host
 * test pairs reports with these lines in order; the guest only runs the
 * accesses (kasan-vmm reports and completes them, so the guest goes on).
 *
 * Accessors are always_inline so that the faulting instruction sits in the
 * scenario's own function (test_<name> or a noinline <name>_helper).
 */
#ifndef GUEST_SCENARIO_H
#define GUEST_SCENARIO_H

#include "kernel.h"
#include "mm/mm.h"
#include "printf.h"
#include "string.h"
#include "testcase.h"

/*
 * As in Linux's tests, offsets follow the mode: 8-byte granules in generic
 * mode, 16 in tag modes, and OOB_TAG_OFF moves an access one granule further
 * where only generic mode is byte-precise.
 */
#define KASAN_GRANULE_SIZE scenario_granule()
#define OOB_TAG_OFF	   (scenario_tag_mode() ? KASAN_GRANULE_SIZE : 0)
#define __always_inline	   inline __attribute__((always_inline))
#define round_up(x, a)	   ALIGN_UP(x, a)
#define round_down(x, a)   ALIGN_DOWN(x, a)

/* Hide a value from the optimizer (like Linux's OPTIMIZER_HIDE_VAR). */
#define OPTIMIZER_HIDE_VAR(v) asm volatile("" : "+r"(v))

/*
 * Bug types, spelled as Linux KASAN prints them in the current mode. Tag
 * modes name slab bugs from the stack ring; memory without ring entries
 * (page allocations, large kmalloc, vmalloc) is an invalid-access there.
 */
#define TAG_MISMATCH "invalid-access" /* tag modes, no stack-ring match */
#define SLAB_OOB     "slab-out-of-bounds"
#define SLAB_UAF     "slab-use-after-free"
#define PAGE_UAF     (scenario_tag_mode() ? TAG_MISMATCH : "use-after-free")
#define LARGE_OOB    (scenario_tag_mode() ? TAG_MISMATCH : SLAB_OOB) /* page redzone */
#define DOUBLE_FREE  "double-free"
#define INVALID_FREE "invalid-free"
#define VMALLOC_OOB  (scenario_tag_mode() ? TAG_MISMATCH : "vmalloc-out-of-bounds")
#define PLAIN_OOB    "out-of-bounds"

enum kv_access { KV_READ, KV_WRITE, KV_FREE };

/* One expected report about object [obj, obj + obj_size). */
void expect_report(const char *bug, enum kv_access acc, size_t size, const void *obj,
		   size_t obj_size);
#define expect_read(bug, size, obj, osz)  expect_report(bug, KV_READ, size, obj, osz)
#define expect_write(bug, size, obj, osz) expect_report(bug, KV_WRITE, size, obj, osz)
#define expect_free(bug, obj, osz)	  expect_report(bug, KV_FREE, 0, obj, osz)
/* The case must produce no report at all. */
void expect_none(void);
/*
 * Tag mode on x86: Linux's tag modes report this access through the
 * pointer's tag, which x86 pointers do not carry (the memory there has a
 * valid tag of another allocation). Printed instead of an expectation:
 *   # kasan-vmm needs pointer tags: <bug-type> <Read|Write> <size>: <why>
 */
void expect_needs_pointer_tags(const char *bug, enum kv_access acc, size_t size, const char *why);

/* Whether kasan-vmm announced a tag-based mode (CPUID config leaf). */
bool scenario_tag_mode(void);
/* The KASAN granule of the mode: 8 (generic) or 16 (tags). */
size_t scenario_granule(void);

/* Like KASAN_TEST_NEEDS_CONFIG_ON(CONFIG_KASAN_GENERIC): skip in tag mode. */
#define SKIP_UNLESS_GENERIC()                                                                      \
	do {                                                                                       \
		if (scenario_tag_mode()) {                                                         \
			printf("# SKIP generic mode only (as in Linux)\n");                        \
			return 0;                                                                  \
		}                                                                                  \
	} while (0)

/*
 * A case that exists only for tag-based modes (scenario_tags_only): in
 * generic mode it is reported as skipped, like KUnit's kunit_skip().
 */
#define TESTCASE_TAGS_ONLY(nm)                                                                     \
	static int tags_##nm(void);                                                                \
	TESTCASE(nm)                                                                               \
	{                                                                                          \
		if (!scenario_tag_mode()) {                                                        \
			printf("# SKIP tag mode only\n");                                          \
			return 0;                                                                  \
		}                                                                                  \
		return tags_##nm();                                                                \
	}                                                                                          \
	static int tags_##nm(void)

/* A case kasan-vmm cannot run faithfully: registered, reported as skipped. */
#define TESTCASE_SKIP(nm, why)                                                                     \
	TESTCASE(nm)                                                                               \
	{                                                                                          \
		printf("# SKIP %s\n", why);                                                        \
		return 0;                                                                          \
	}

/* Plain single loads and stores of the given width. */
static __always_inline u8 read8(const void *p)
{
	return *(const volatile u8 *)p;
}
static __always_inline void write8(void *p, u8 v)
{
	*(volatile u8 *)p = v;
}
static __always_inline u32 read32(const void *p)
{
	return *(const volatile u32 *)p;
}
static __always_inline u64 read64(const void *p)
{
	return *(const volatile u64 *)p;
}
static __always_inline void write64(void *p, u64 v)
{
	*(volatile u64 *)p = v;
}

/*
 * Length of a UAF write of `len` bytes at `off` into a freed slab object of
 * `s` that stays clear of the allocator's free pointer (8 bytes at the
 * cache's freeptr offset): the bad write must not break the freelist.
 */
size_t uaf_write_len_avoiding_freeptr(struct kmem_cache *s, size_t off, size_t len);

#endif
