// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kasan_strings, kasan_bitops_generic and kasan_atomics: the kernel's own
 * str*(), bit operations and atomics on heap objects (the names, accesses
 * and expectation lines of tests/guest/scenarios/{strings,bitops,atomics}.c).
 * Nothing here is compiler-instrumented: every bad access is a real load,
 * store or locked read-modify-write that kasan-vmm traps. The bad words lie
 * in the slot's slack (kmalloc-16 for kzalloc(9), kmalloc-64 for
 * kzalloc(48)), so the writes corrupt nothing of SLUB's.
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kasan_vmm_test.h"

static void *volatile kvt_ops_ptr;
static volatile long kvt_ops_int;

/* kasan_strings reads str*() from here: not the free pointer (the middle of the slot). */
#define KVT_STR_FREED_OFF 8

static noinline void kvt_strings_freed(char *ptr, size_t size, char *at)
{
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_ops_ptr = strchr(at, '1');
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_ops_ptr = strrchr(at, '1');
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_ops_int = strcmp(at, "2");
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_ops_int = strncmp(at, "2", 1);
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_ops_int = strlen(at);
	expect_read(SLAB_UAF, 1, ptr, size);
	kvt_ops_int = strnlen(at, 1);
}

/*
 * 6.1's strscpy() reads word-at-a-time (KASAN checks one byte of such a
 * read), so its first, legal call also loads src[8] from the red zone:
 * strscpy is a `word` line in configs/exempt/linux.txt, and the host judges
 * only the first byte of its reads, as KASAN does.
 */
static int kasan_strings(void)
{
	size_t size = 24;
	char *ptr = kzalloc(size, GFP_KERNEL);
	char *src = kzalloc(KASAN_GRANULE_SIZE, GFP_KERNEL);
	ssize_t copied;

	if (!ptr || !src) {
		kfree(ptr);
		kfree(src);
		return -ENOMEM;
	}
	strscpy(src, "f0cacc1a0000000", KASAN_GRANULE_SIZE);
	copied = strscpy(ptr, src + 1, KASAN_GRANULE_SIZE);
	OPTIMIZER_HIDE_VAR(src);
	expect_read(SLAB_OOB, 1, src, KASAN_GRANULE_SIZE);
	strscpy(ptr, src + KASAN_GRANULE_SIZE, 1); /* one byte: no word read */
	kfree(src);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	kvt_strings_freed(ptr, size, ptr + KVT_STR_FREED_OFF);
	KVT_ASSERT(copied == KASAN_GRANULE_SIZE - 2);
	return 0;
}

/* nr hidden from the compiler: a constant bit would be a 1-byte orb/andb. */
static noinline void kvt_bitops_modify(long nr, unsigned long *addr, const void *obj, size_t osz)
{
	OPTIMIZER_HIDE_VAR(nr);
	expect_write(SLAB_OOB, 8, obj, osz);
	set_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	__set_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	clear_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	__clear_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	clear_bit_unlock(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	__clear_bit_unlock(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	change_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	__change_bit(nr, addr);
}

static noinline void kvt_bitops_test_and_modify(long nr, unsigned long *addr, const void *obj,
						size_t osz)
{
	OPTIMIZER_HIDE_VAR(nr);
	expect_write(SLAB_OOB, 8, obj, osz);
	test_and_set_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	__test_and_set_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	test_and_set_bit_lock(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	test_and_clear_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	__test_and_clear_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	test_and_change_bit(nr, addr);
	expect_write(SLAB_OOB, 8, obj, osz);
	__test_and_change_bit(nr, addr);
	expect_read(SLAB_OOB, 8, obj, osz);
	kvt_ops_int = test_bit(nr, addr);
}

/* Bit ops act on the whole long: bits 64 and 72 of kzalloc(9) touch bytes 8..15. */
static int kasan_bitops_generic(void)
{
	size_t size = sizeof(long) + 1;
	unsigned long *bits = kzalloc(size, GFP_KERNEL);

	KVT_ASSERT(bits);
	kvt_bitops_modify(BITS_PER_LONG, bits, bits, size);
	kvt_bitops_test_and_modify(BITS_PER_LONG + BITS_PER_BYTE, bits, bits, size);
	kfree(bits);
	return 0;
}

struct kvt_atomics {
	const void *obj; /* the kzalloc(48) object */
	int mismatches;	 /* values the sequence's model did not meet */
};

#define KVT_AR(n) expect_read(SLAB_OOB, n, ctx->obj, 48)
#define KVT_AW(n) expect_write(SLAB_OOB, n, ctx->obj, 48)
#define KVT_AMODEL(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			pr_info("    # kasan_atomics: line %d: unexpected: %s\n", __LINE__,        \
				#cond);                                                            \
			ctx->mismatches++;                                                         \
		}                                                                                  \
	} while (0)

/*
 * One width of Linux's kasan_atomics_helper on u (the bad word, N bytes)
 * and s (a valid one). A conditional operation reads, and writes only when
 * its condition holds; *u after each step is in the comment, so the number
 * of bad accesses is known and checked.
 */
#define KVT_ATOMICS(pfx, T, N, u, s)                                                               \
	do {                                                                                       \
		KVT_AR(N);                                                                         \
		pfx##_read(u);                                                                     \
		KVT_AW(N);                                                                         \
		pfx##_set(u, 42); /* 42 */                                                         \
		KVT_AW(N);                                                                         \
		pfx##_add(42, u); /* 84 */                                                         \
		KVT_AW(N);                                                                         \
		pfx##_sub(42, u); /* 42 */                                                         \
		KVT_AW(N);                                                                         \
		pfx##_inc(u); /* 43 */                                                             \
		KVT_AW(N);                                                                         \
		pfx##_dec(u); /* 42 */                                                             \
		KVT_AW(N);                                                                         \
		pfx##_and(42, u); /* 42 */                                                         \
		KVT_AW(N);                                                                         \
		pfx##_andnot(42, u); /* 0 */                                                       \
		KVT_AW(N);                                                                         \
		pfx##_or(42, u); /* 42 */                                                          \
		KVT_AW(N);                                                                         \
		pfx##_xor(42, u); /* 0 */                                                          \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(pfx##_xchg(u, 42) == 0); /* 42 */                                       \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(pfx##_cmpxchg(u, 21, 42) == 42); /* fails: 42 */                        \
		KVT_AW(N); /* one cmpxchg on u; on failure s gets 42 */                            \
		pfx##_try_cmpxchg(u, (T *)&(s)->counter, 42);                                      \
		KVT_AR(N); /* *old read once; equal to s: no write-back */                         \
		KVT_AMODEL(pfx##_try_cmpxchg(s, (T *)&(u)->counter, 42));                          \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(pfx##_sub_and_test(42, u)); /* 0 */                                     \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(!pfx##_dec_and_test(u)); /* -1 */                                       \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(pfx##_inc_and_test(u)); /* 0 */                                         \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(!pfx##_add_negative(42, u)); /* 42 */                                   \
		KVT_AR(N); /* equal to the "unless" value: read only */                            \
		KVT_AMODEL(!pfx##_add_unless(u, 21, 42));                                          \
		KVT_AR(N);                                                                         \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(pfx##_inc_not_zero(u)); /* 43 */                                        \
		KVT_AR(N);                                                                         \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(pfx##_inc_unless_negative(u)); /* 44 */                                 \
		KVT_AR(N);				  /* positive: read only */                \
		KVT_AMODEL(!pfx##_dec_unless_positive(u));                                         \
		KVT_AR(N);                                                                         \
		KVT_AW(N);                                                                         \
		KVT_AMODEL(pfx##_dec_if_positive(u) == 43); /* 43 */                               \
	} while (0)

static noinline void kvt_atomics_helper(struct kvt_atomics *ctx, void *unsafe, void *safe)
{
	int *i_unsafe = unsafe;

	KVT_AR(4);
	kvt_ops_int = READ_ONCE(*i_unsafe);
	KVT_AW(4);
	WRITE_ONCE(*i_unsafe, 42);
	KVT_AR(4);
	kvt_ops_int = smp_load_acquire(i_unsafe);
	KVT_AW(4);
	smp_store_release(i_unsafe, 42);

	KVT_ATOMICS(atomic, int, 4, (atomic_t *)unsafe, (atomic_t *)safe);
	KVT_ATOMICS(atomic_long, long, 8, (atomic_long_t *)unsafe, (atomic_long_t *)safe);
}

static int kasan_atomics(void)
{
	struct kvt_atomics ctx = {0};
	char *a1 = kzalloc(48, GFP_KERNEL);
	atomic_long_t *a2 = kzalloc(sizeof(*a2), GFP_KERNEL);

	if (!a1 || !a2) {
		kfree(a1);
		kfree(a2);
		return -ENOMEM;
	}
	ctx.obj = a1;
	kvt_atomics_helper(&ctx, a1 + 48, a2);
	kfree(a1);
	kfree(a2);
	return ctx.mismatches ? -EINVAL : 0;
}

const struct kvt_case kvt_ops_cases[] = {
    KVT_CASE(kasan_strings),
    KVT_CASE(kasan_bitops_generic),
    KVT_SKIP(kasan_bitops_tags, "tag mode only"),
    KVT_CASE(kasan_atomics),
};
const unsigned int kvt_ops_count = ARRAY_SIZE(kvt_ops_cases);
