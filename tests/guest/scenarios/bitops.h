/* SPDX-License-Identifier: MIT */
/*
 * Linux-style bit operations on unsigned long bitmaps, x86 flavour. Every
 * operation touches exactly the 8-byte word holding bit nr (the memory
 * operand is that word, the bit index is nr % 64), so each is one 8-byte
 * access: a read for test_bit, a read-modify-write for the rest.
 * Atomic variants use lock bt[src]; the __ variants the unlocked forms.
 */
#ifndef GUEST_SCENARIO_BITOPS_H
#define GUEST_SCENARIO_BITOPS_H

#include "kernel.h"

#define BITS_PER_LONG 64
#define BITS_PER_BYTE 8
#define BIT_WORD(nr)  ((nr) / BITS_PER_LONG)

#define BITOP_WORD(addr, nr) (((volatile unsigned long *)(addr))[BIT_WORD(nr)])
#define BITOP_BIT(nr)	     ((unsigned long)(nr) % BITS_PER_LONG)

#define DEFINE_BITOP(name, insn)                                                                   \
	static inline __attribute__((always_inline)) void name(long nr, volatile void *addr)       \
	{                                                                                          \
		asm volatile(insn " %1, %0"                                                        \
			     : "+m"(BITOP_WORD(addr, nr))                                          \
			     : "r"(BITOP_BIT(nr))                                                  \
			     : "memory", "cc");                                                    \
	}

#define DEFINE_TEST_BITOP(name, insn)                                                              \
	static inline __attribute__((always_inline)) bool name(long nr, volatile void *addr)       \
	{                                                                                          \
		bool old;                                                                          \
		asm volatile(insn " %2, %0; setc %1"                                               \
			     : "+m"(BITOP_WORD(addr, nr)), "=qm"(old)                              \
			     : "r"(BITOP_BIT(nr))                                                  \
			     : "memory", "cc");                                                    \
		return old;                                                                        \
	}

DEFINE_BITOP(set_bit, "lock btsq")
DEFINE_BITOP(__set_bit, "btsq")
DEFINE_BITOP(clear_bit, "lock btrq")
DEFINE_BITOP(__clear_bit, "btrq")
DEFINE_BITOP(change_bit, "lock btcq")
DEFINE_BITOP(__change_bit, "btcq")
DEFINE_TEST_BITOP(test_and_set_bit, "lock btsq")
DEFINE_TEST_BITOP(__test_and_set_bit, "btsq")
DEFINE_TEST_BITOP(test_and_clear_bit, "lock btrq")
DEFINE_TEST_BITOP(__test_and_clear_bit, "btrq")
DEFINE_TEST_BITOP(test_and_change_bit, "lock btcq")
DEFINE_TEST_BITOP(__test_and_change_bit, "btcq")

/* x86: the locked RMW is already a full barrier; release/acquire need only the compiler's. */
static inline __attribute__((always_inline)) void clear_bit_unlock(long nr, volatile void *addr)
{
	barrier();
	clear_bit(nr, addr);
}

static inline __attribute__((always_inline)) void __clear_bit_unlock(long nr, volatile void *addr)
{
	barrier();
	__clear_bit(nr, addr);
}

static inline __attribute__((always_inline)) bool test_and_set_bit_lock(long nr,
									volatile void *addr)
{
	return test_and_set_bit(nr, addr);
}

static inline __attribute__((always_inline)) bool test_bit(long nr, const volatile void *addr)
{
	bool set;

	asm volatile("btq %2, %1; setc %0"
		     : "=qm"(set)
		     : "m"(BITOP_WORD(addr, nr)), "r"(BITOP_BIT(nr))
		     : "cc");
	return set;
}

#endif
