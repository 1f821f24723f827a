/* SPDX-License-Identifier: MIT */
/*
 * Linux-style atomic_t / atomic_long_t operations, x86 flavour: one
 * lock-prefixed instruction (or xchg, or a plain mov for read/set) per
 * operation; the conditional ones are Linux's generic read + try_cmpxchg
 * loops. Never cmpxchg16b (the CPL0 emulator here cannot run it).
 */
#ifndef GUEST_SCENARIO_ATOMICS_H
#define GUEST_SCENARIO_ATOMICS_H

#include "kernel.h"

typedef struct {
	int counter;
} atomic_t;
typedef struct {
	long counter;
} atomic_long_t;

#define ATOMIC_INLINE static inline __attribute__((always_inline))

/* Unary and binary RMW operations without a result. */
#define ATOMIC_RMW(pfx, T, op, insn)                                                               \
	ATOMIC_INLINE void pfx##_##op(T i, pfx##_t *v)                                             \
	{                                                                                          \
		asm volatile("lock " insn " %1, %0"                                                \
			     : "+m"(v->counter)                                                    \
			     : "er"(i)                                                             \
			     : "memory", "cc");                                                    \
	}

#define ATOMIC_OPS(pfx, T, sfx)                                                                    \
	ATOMIC_INLINE T pfx##_read(const pfx##_t *v)                                               \
	{                                                                                          \
		return *(const volatile T *)&v->counter;                                           \
	}                                                                                          \
	ATOMIC_INLINE void pfx##_set(pfx##_t *v, T i)                                              \
	{                                                                                          \
		*(volatile T *)&v->counter = i;                                                    \
	}                                                                                          \
	ATOMIC_RMW(pfx, T, add, "add" sfx)                                                         \
	ATOMIC_RMW(pfx, T, sub, "sub" sfx)                                                         \
	ATOMIC_RMW(pfx, T, and, "and" sfx)                                                         \
	ATOMIC_RMW(pfx, T, or, "or" sfx)                                                           \
	ATOMIC_RMW(pfx, T, xor, "xor" sfx)                                                         \
	ATOMIC_INLINE void pfx##_andnot(T i, pfx##_t *v)                                           \
	{                                                                                          \
		pfx##_and(~i, v);                                                                  \
	}                                                                                          \
	ATOMIC_INLINE void pfx##_inc(pfx##_t *v)                                                   \
	{                                                                                          \
		asm volatile("lock inc" sfx " %0" : "+m"(v->counter) : : "memory", "cc");          \
	}                                                                                          \
	ATOMIC_INLINE void pfx##_dec(pfx##_t *v)                                                   \
	{                                                                                          \
		asm volatile("lock dec" sfx " %0" : "+m"(v->counter) : : "memory", "cc");          \
	}                                                                                          \
	ATOMIC_INLINE T pfx##_xchg(pfx##_t *v, T n)                                                \
	{                                                                                          \
		asm volatile("xchg" sfx " %0, %1" : "+r"(n), "+m"(v->counter) : : "memory");       \
		return n;                                                                          \
	}                                                                                          \
	ATOMIC_INLINE T pfx##_cmpxchg(pfx##_t *v, T old, T n)                                      \
	{                                                                                          \
		asm volatile("lock cmpxchg" sfx " %2, %1"                                          \
			     : "+a"(old), "+m"(v->counter)                                         \
			     : "r"(n)                                                              \
			     : "memory", "cc");                                                    \
		return old;                                                                        \
	}                                                                                          \
	/* *old is read once, and written only when the exchange fails. */                         \
	ATOMIC_INLINE bool pfx##_try_cmpxchg(pfx##_t *v, T *old, T n)                              \
	{                                                                                          \
		T o = *(volatile T *)old, r = pfx##_cmpxchg(v, o, n);                              \
		if (r != o)                                                                        \
			*(volatile T *)old = r;                                                    \
		return r == o;                                                                     \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_sub_and_test(T i, pfx##_t *v)                                     \
	{                                                                                          \
		bool z;                                                                            \
		asm volatile("lock sub" sfx " %2, %0; setz %1"                                     \
			     : "+m"(v->counter), "=qm"(z)                                          \
			     : "er"(i)                                                             \
			     : "memory", "cc");                                                    \
		return z;                                                                          \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_dec_and_test(pfx##_t *v)                                          \
	{                                                                                          \
		bool z;                                                                            \
		asm volatile("lock dec" sfx " %0; setz %1"                                         \
			     : "+m"(v->counter), "=qm"(z)                                          \
			     :                                                                     \
			     : "memory", "cc");                                                    \
		return z;                                                                          \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_inc_and_test(pfx##_t *v)                                          \
	{                                                                                          \
		bool z;                                                                            \
		asm volatile("lock inc" sfx " %0; setz %1"                                         \
			     : "+m"(v->counter), "=qm"(z)                                          \
			     :                                                                     \
			     : "memory", "cc");                                                    \
		return z;                                                                          \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_add_negative(T i, pfx##_t *v)                                     \
	{                                                                                          \
		bool s;                                                                            \
		asm volatile("lock add" sfx " %2, %0; sets %1"                                     \
			     : "+m"(v->counter), "=qm"(s)                                          \
			     : "er"(i)                                                             \
			     : "memory", "cc");                                                    \
		return s;                                                                          \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_add_unless(pfx##_t *v, T a, T u)                                  \
	{                                                                                          \
		T c = pfx##_read(v);                                                               \
		do {                                                                               \
			if (c == u)                                                                \
				return false;                                                      \
		} while (!pfx##_try_cmpxchg(v, &c, c + a));                                        \
		return true;                                                                       \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_inc_not_zero(pfx##_t *v)                                          \
	{                                                                                          \
		return pfx##_add_unless(v, 1, 0);                                                  \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_inc_unless_negative(pfx##_t *v)                                   \
	{                                                                                          \
		T c = pfx##_read(v);                                                               \
		do {                                                                               \
			if (c < 0)                                                                 \
				return false;                                                      \
		} while (!pfx##_try_cmpxchg(v, &c, c + 1));                                        \
		return true;                                                                       \
	}                                                                                          \
	ATOMIC_INLINE bool pfx##_dec_unless_positive(pfx##_t *v)                                   \
	{                                                                                          \
		T c = pfx##_read(v);                                                               \
		do {                                                                               \
			if (c > 0)                                                                 \
				return false;                                                      \
		} while (!pfx##_try_cmpxchg(v, &c, c - 1));                                        \
		return true;                                                                       \
	}                                                                                          \
	ATOMIC_INLINE T pfx##_dec_if_positive(pfx##_t *v)                                          \
	{                                                                                          \
		T c = pfx##_read(v), dec;                                                          \
		do {                                                                               \
			dec = c - 1;                                                               \
			if (dec < 0)                                                               \
				break;                                                             \
		} while (!pfx##_try_cmpxchg(v, &c, dec));                                          \
		return dec;                                                                        \
	}

ATOMIC_OPS(atomic, int, "l")
ATOMIC_OPS(atomic_long, long, "q")

#define READ_ONCE(x)	   (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val) (*(volatile __typeof__(x) *)&(x) = (val))
#define smp_load_acquire(p)                                                                        \
	({                                                                                         \
		__typeof__(*(p)) v_ = READ_ONCE(*(p));                                             \
		barrier();                                                                         \
		v_;                                                                                \
	})
#define smp_store_release(p, v)                                                                    \
	do {                                                                                       \
		barrier();                                                                         \
		WRITE_ONCE(*(p), v);                                                               \
	} while (0)

#endif
