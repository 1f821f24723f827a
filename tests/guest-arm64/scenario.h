/* SPDX-License-Identifier: MIT */
/*
 * Test cases and the expectation lines the host-side checker pairs with
 * kasan-vmm's reports (same format as the x86 guest, tests/integration/
 * kasan_matrix.py):
 *   # kasan-vmm expects: <bug-type> <Read|Write|Free> <size>   (or: none)
 *   # kasan-vmm object: 0x<addr> size <n>
 * TESTCASE(name) { ...; return 0; } registers test_<name> in section
 * "testcases"; `kasan_test=` on the command line picks them.
 */
#ifndef A64G_SCENARIO_H
#define A64G_SCENARIO_H

#include "console.h"
#include "kasan_vmm.h"
#include "slab.h"

struct testcase {
	const char *name;
	int (*fn)(void);
};

#define TESTCASE(nm)                                                                               \
	static int test_##nm(void);                                                                \
	static const struct testcase testcase_##nm                                                 \
	    __attribute__((used, section("testcases"), aligned(16))) = {#nm, test_##nm};           \
	static noinline int test_##nm(void)

/* Exists only in tag-based modes (as in Linux): skipped in generic mode. */
#define TESTCASE_TAGS_ONLY(nm)                                                                     \
	static int tags_##nm(void);                                                                \
	TESTCASE(nm)                                                                               \
	{                                                                                          \
		if (!kv_tag_mode()) {                                                              \
			printf("# SKIP tag mode only\n");                                          \
			return 0;                                                                  \
		}                                                                                  \
		return tags_##nm();                                                                \
	}                                                                                          \
	static noinline int tags_##nm(void)

#define TEST_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);      \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define TAG_MISMATCH "invalid-access"
#define SLAB_OOB     "slab-out-of-bounds"
#define SLAB_UAF     "slab-use-after-free"
#define DOUBLE_FREE  "double-free"

#define KASAN_GRANULE_SIZE (kv_tag_mode() ? 16u : 8u)

static inline void expect_report(const char *bug, const char *acc, size_t size, const void *obj,
				 size_t obj_size)
{
	printf("# kasan-vmm expects: %s %s %zu\n", bug, acc, size);
	printf("# kasan-vmm object: 0x%lx size %zu\n", (u64)reset_tag(obj), obj_size);
}
#define expect_read(bug, size, obj, osz)  expect_report(bug, "Read", size, obj, osz)
#define expect_write(bug, size, obj, osz) expect_report(bug, "Write", size, obj, osz)
#define expect_free(bug, obj, osz)	  expect_report(bug, "Free", 0, obj, osz)
#define expect_none()			  printf("# kasan-vmm expects: none\n")
/*
 * A bug only the pointer's tag shows: ABI 1.1 events carry no tags, so the
 * host picks the memory tags itself and treats pointer tags as match-all
 * (as on x86). Printed instead of an expectation; the checker lists it.
 */
#define expect_needs_pointer_tags(bug, acc, size, why)                                             \
	printf("# kasan-vmm needs pointer tags: %s %s %zu: %s\n", bug, acc, (size_t)(size), why)

/* Single accesses, inlined so the faulting instruction is in the test function. */
static inline __attribute__((always_inline)) u8 read8(const void *p)
{
	return *(const volatile u8 *)p;
}

static inline __attribute__((always_inline)) void write8(void *p, u8 v)
{
	*(volatile u8 *)p = v;
}

/*
 * Atomics as arm64 kernels run them: an LL/SC loop (LDXR, STXR until it
 * succeeds: armv8.0, what -mno-outline-atomics compiles to) and, where the
 * CPU has LSE, one LDADD. Neither has an ESR syndrome on a trapped page:
 * kasan-vmm judges them and lets the CPU run them, LDADD single-stepped with
 * the page open; an LL/SC loop cannot be stepped (an exit clears the
 * exclusive monitor), so its page stays open for a while and the loop must
 * still make progress.
 */
static inline __attribute__((always_inline)) u32 llsc_add(u32 *p, u32 v)
{
	u32 old, sum, fail;

	asm volatile("1:	ldxr	%w0, [%3]\n"
		     "	add	%w1, %w0, %w4\n"
		     "	stxr	%w2, %w1, [%3]\n"
		     "	cbnz	%w2, 1b"
		     : "=&r"(old), "=&r"(sum), "=&r"(fail)
		     : "r"(p), "r"(v)
		     : "memory");
	return old;
}

static inline bool have_lse(void)
{
	return ((read_sysreg(id_aa64isar0_el1) >> 20) & 0xf) >= 2; /* ID_AA64ISAR0_EL1.Atomic */
}

/* LDADD w1, w0, [x2], spelled as its encoding: the guest is built for armv8.0. */
static inline __attribute__((always_inline)) u32 lse_add(u32 *p, u32 v)
{
	register u64 x0 asm("x0");
	register u64 x1 asm("x1") = v;
	register u64 x2 asm("x2") = (u64)p;

	asm volatile(".inst 0xb8210040" : "=r"(x0) : "r"(x1), "r"(x2) : "memory");
	return (u32)x0;
}

#endif
