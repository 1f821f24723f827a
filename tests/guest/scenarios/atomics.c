/* SPDX-License-Identifier: MIT */
/*
 * Atomic operations on a redzone word (kzalloc(48) from kmalloc-64: bytes
 * 48..63 are the redzone). Every instruction touching the bad word is one
 * report: a plain load is a Read, a store or a locked read-modify-write a
 * Write. The conditional operations (add_unless, inc_not_zero, ...) are a
 * read plus, when the condition allows it, a cmpxchg: the values below are
 * known after the first set, so the number of bad accesses is too (checked).
 * Where Linux's instrumentation checks an operand as read-write but the code
 * only reads it (try_cmpxchg's old, add_unless when it does not add), the
 * expectation is the Read that really happens.
 */
#include "atomics.h"
#include "scenario.h"

struct atomics_ctx {
	const void *obj; /* the kzalloc(48) object */
	int mismatches;	 /* model values not met */
};

#define EXP_R(n) expect_read(SLAB_OOB, n, ctx->obj, 48)
#define EXP_W(n) expect_write(SLAB_OOB, n, ctx->obj, 48)
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: unexpected: %s\n", __FILE__, __LINE__, #cond);            \
			ctx->mismatches++;                                                         \
		}                                                                                  \
	} while (0)

/*
 * The atomic_<pfx> sequence of Linux's kasan_atomics_helper on u (bad word,
 * N bytes) and s (valid word, 0 at the int pass, 42 after it). Values of *u
 * after each step are in the comments.
 */
#define ATOMICS_SEQUENCE(pfx, T, N, u, s)                                                          \
	do {                                                                                       \
		EXP_R(N);                                                                          \
		pfx##_read(u);                                                                     \
		EXP_W(N);                                                                          \
		pfx##_set(u, 42); /* 42 */                                                         \
		EXP_W(N);                                                                          \
		pfx##_add(42, u); /* 84 */                                                         \
		EXP_W(N);                                                                          \
		pfx##_sub(42, u); /* 42 */                                                         \
		EXP_W(N);                                                                          \
		pfx##_inc(u); /* 43 */                                                             \
		EXP_W(N);                                                                          \
		pfx##_dec(u); /* 42 */                                                             \
		EXP_W(N);                                                                          \
		pfx##_and(42, u); /* 42 */                                                         \
		EXP_W(N);                                                                          \
		pfx##_andnot(42, u); /* 0 */                                                       \
		EXP_W(N);                                                                          \
		pfx##_or(42, u); /* 42 */                                                          \
		EXP_W(N);                                                                          \
		pfx##_xor(42, u); /* 0 */                                                          \
		EXP_W(N);                                                                          \
		CHECK(pfx##_xchg(u, 42) == 0); /* 42 */                                            \
		EXP_W(N);                                                                          \
		CHECK(pfx##_cmpxchg(u, 21, 42) == 42); /* fails: 42 */                             \
		EXP_W(N); /* one cmpxchg on u; a failure writes 42 to s */                         \
		pfx##_try_cmpxchg(u, &(s)->counter, 42); /* 42; s == 42 */                         \
		EXP_R(N); /* *old read once; s == 42 == *u: no write-back */                       \
		CHECK(pfx##_try_cmpxchg(s, &(u)->counter, 42));                                    \
		EXP_W(N);                                                                          \
		CHECK(pfx##_sub_and_test(42, u)); /* 0 */                                          \
		EXP_W(N);                                                                          \
		CHECK(!pfx##_dec_and_test(u)); /* -1 */                                            \
		EXP_W(N);                                                                          \
		CHECK(pfx##_inc_and_test(u)); /* 0 */                                              \
		EXP_W(N);                                                                          \
		CHECK(!pfx##_add_negative(42, u)); /* 42 */                                        \
		EXP_R(N);			   /* 42 == u: read only */                        \
		CHECK(!pfx##_add_unless(u, 21, 42));                                               \
		EXP_R(N);                                                                          \
		EXP_W(N);                                                                          \
		CHECK(pfx##_inc_not_zero(u)); /* 43 */                                             \
		EXP_R(N);                                                                          \
		EXP_W(N);                                                                          \
		CHECK(pfx##_inc_unless_negative(u)); /* 44 */                                      \
		EXP_R(N);			     /* positive: read only */                     \
		CHECK(!pfx##_dec_unless_positive(u));                                              \
		EXP_R(N);                                                                          \
		EXP_W(N);                                                                          \
		CHECK(pfx##_dec_if_positive(u) == 43); /* 43 */                                    \
	} while (0)

static noinline void kasan_atomics_helper(struct atomics_ctx *ctx, void *unsafe, void *safe)
{
	int *i_unsafe = unsafe;

	EXP_R(4);
	(void)READ_ONCE(*i_unsafe);
	EXP_W(4);
	WRITE_ONCE(*i_unsafe, 42);
	EXP_R(4);
	(void)smp_load_acquire(i_unsafe);
	EXP_W(4);
	smp_store_release(i_unsafe, 42);

	ATOMICS_SEQUENCE(atomic, int, 4, (atomic_t *)unsafe, (atomic_t *)safe);
	ATOMICS_SEQUENCE(atomic_long, long, 8, (atomic_long_t *)unsafe, (atomic_long_t *)safe);
}

TESTCASE(kasan_atomics)
{
	struct atomics_ctx ctx = {0};
	char *a1 = kzalloc(48, GFP_KERNEL);
	atomic_long_t *a2 = kzalloc(sizeof(*a2), GFP_KERNEL);

	TEST_ASSERT(a1 && a2);
	ctx.obj = a1;
	kasan_atomics_helper(&ctx, a1 + 48, a2);
	kfree(a1);
	kfree(a2);
	return ctx.mismatches ? 1 : 0;
}
