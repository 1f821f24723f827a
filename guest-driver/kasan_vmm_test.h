/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Linux KASAN test cases (mm/kasan/kasan_test.c names and accesses) run on a
 * kernel without KASAN, for kasan-vmm to detect from the host. Before each
 * access the host should report, a case prints (tests/guest/scenarios/README.md)
 *   # kasan-vmm expects: <bug-type> <Read|Write|Free> <size>
 *   # kasan-vmm object: 0x<addr> size <n>
 * or "# kasan-vmm expects: none". The accesses really happen here, so each
 * case picks offsets that stay inside the slab slot or only read, and keeps
 * SLUB's free pointer intact.
 */
#ifndef GUEST_DRIVER_KASAN_VMM_TEST_H
#define GUEST_DRIVER_KASAN_VMM_TEST_H

#include <linux/compiler.h>
#include <linux/printk.h>
#include <linux/types.h>

#define KASAN_GRANULE_SIZE 8

#define SLAB_OOB     "slab-out-of-bounds"
#define SLAB_UAF     "slab-use-after-free"
#define PAGE_UAF     "use-after-free"
#define DOUBLE_FREE  "double-free"
#define INVALID_FREE "invalid-free"
#define PLAIN_OOB    "out-of-bounds"

enum kvt_access { KVT_READ, KVT_WRITE, KVT_FREE };

/* A case returns 0 once its accesses ran, -errno when it could not set up. */
struct kvt_case {
	const char *name;
	int (*run)(void);
	const char *skip; /* non-NULL: not run here, and why */
};

#define KVT_CASE(nm)                                                                               \
	{                                                                                          \
		.name = #nm, .run = nm                                                             \
	}
#define KVT_SKIP(nm, why)                                                                          \
	{                                                                                          \
		.name = #nm, .skip = why                                                           \
	}

void kvt_expect(const char *bug, enum kvt_access acc, size_t size, const void *obj,
		size_t obj_size);
void kvt_expect_none(void);
/* kfree()'s tracepoint for a free that must not happen (a double or invalid free). */
void kvt_announce_kfree(const void *p);
#define expect_read(bug, sz, obj, osz)	kvt_expect(bug, KVT_READ, sz, obj, osz)
#define expect_write(bug, sz, obj, osz) kvt_expect(bug, KVT_WRITE, sz, obj, osz)
#define expect_free(bug, obj, osz)	kvt_expect(bug, KVT_FREE, 0, obj, osz)

#define KVT_ASSERT(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			pr_info("    # %s: assertion failed: %s\n", __func__, #cond);              \
			return -EINVAL;                                                            \
		}                                                                                  \
	} while (0)

/* Single loads and stores the compiler must keep, of exactly this width. */
static __always_inline u8 kvt_read8(const void *p)
{
	return READ_ONCE(*(const u8 *)p);
}

static __always_inline void kvt_write8(void *p, u8 v)
{
	WRITE_ONCE(*(u8 *)p, v);
}

extern const struct kvt_case kvt_slab_cases[];
extern const unsigned int kvt_slab_count;
extern const struct kvt_case kvt_misc_cases[];
extern const unsigned int kvt_misc_count;
extern const struct kvt_case kvt_mempool_cases[];
extern const unsigned int kvt_mempool_count;
extern const struct kvt_case kvt_ops_cases[];
extern const unsigned int kvt_ops_count;

/* Runs the cases named in sel ("all", "none", "a,b"); returns failures. */
int kasan_vmm_run_tests(const char *sel);

#endif /* GUEST_DRIVER_KASAN_VMM_TEST_H */
