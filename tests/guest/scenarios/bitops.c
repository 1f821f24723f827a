/* SPDX-License-Identifier: MIT */
/*
 * Bit operations on the word just past a small object. A bit op works on the
 * whole unsigned long holding the bit, so even bit 64 of a 9-byte object is
 * an out-of-bounds 8-byte access (bytes 9..15 of the word are not valid).
 * xor_unlock_is_negative_byte is only used by Linux for nr < 7: not here.
 */
#include "bitops.h"
#include "scenario.h"

/* 8 modifying operations on bit nr: one 8-byte Write each. */
static noinline void kasan_bitops_modify(long nr, void *addr, const void *obj, size_t osz)
{
	FORCE_FRAME();
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

static volatile int kasan_int_result;

/* 7 test-and-modify operations (Write 8) and test_bit (Read 8). */
static noinline void kasan_bitops_test_and_modify(long nr, void *addr, const void *obj, size_t osz)
{
	FORCE_FRAME();
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
	kasan_int_result = test_bit(nr, addr);
}

/*
 * kzalloc(9) from kmalloc-16: the word at bits + 8 has its first bad byte at
 * bits[9], a partial granule, so the bug type comes from the next one, the
 * red zone: slab-out-of-bounds.
 */
TESTCASE(kasan_bitops_generic)
{
	size_t size = sizeof(long) + 1;
	long *bits;

	SKIP_UNLESS_GENERIC(); /* bits + 8 shares the object's 16-byte granule */
	bits = kzalloc(size, GFP_KERNEL);
	TEST_ASSERT(bits);
	kasan_bitops_modify(BITS_PER_LONG, bits, bits, size);
	kasan_bitops_test_and_modify(BITS_PER_LONG + BITS_PER_BYTE, bits, bits, size);
	kfree(bits);
	return 0;
}

/* Tag modes: kzalloc(48) from kmalloc-64, accesses in the last 16 bytes. */
TESTCASE_TAGS_ONLY(kasan_bitops_tags)
{
	size_t size = 48;
	long *bits = kzalloc(size, GFP_KERNEL);

	TEST_ASSERT(bits);
	kasan_bitops_modify(BITS_PER_LONG, (char *)bits + size, bits, size);
	kasan_bitops_test_and_modify(BITS_PER_LONG + BITS_PER_BYTE, (char *)bits + size, bits,
				     size);
	kfree(bits);
	return 0;
}
