/* SPDX-License-Identifier: MIT */
/*
 * mem* and str* functions on heap objects. The guest's memset/memcpy/memmove
 * are one rep stos/movs instruction each: kasan-vmm is expected to report
 * such an instruction once, for its whole range, as Linux's checked
 * mem*() do (size = the call's length, address = the range start).
 * memchr/memcmp/str* are byte loops: one 1-byte report per bad byte read.
 */
#include "scenario.h"

#define MEMSET_OBJ_SIZE (128 - KASAN_GRANULE_SIZE)

/* memset of n bytes whose last byte is one past the object. */
static __always_inline int oob_memset(size_t n)
{
	size_t size = MEMSET_OBJ_SIZE, len = n;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(size);
	OPTIMIZER_HIDE_VAR(len);
	expect_write(SLAB_OOB, len, ptr, size);
	memset(ptr + size - (len - 1) + OOB_TAG_OFF, 0, len);
	kfree(ptr);
	return 0;
}

TESTCASE(kmalloc_oob_memset_2)
{
	return oob_memset(2);
}

TESTCASE(kmalloc_oob_memset_4)
{
	return oob_memset(4);
}

TESTCASE(kmalloc_oob_memset_8)
{
	return oob_memset(8);
}

TESTCASE(kmalloc_oob_memset_16)
{
	return oob_memset(16);
}

TESTCASE(kmalloc_oob_in_memset)
{
	size_t size = MEMSET_OBJ_SIZE, len = size + KASAN_GRANULE_SIZE;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(len);
	expect_write(SLAB_OOB, len, ptr, size);
	memset(ptr, 0, len);
	kfree(ptr);
	return 0;
}

/*
 * memmove(ptr, ptr + 4, (size_t)-2): Linux's checked memmove reports the
 * wrapping range before copying anything. An unchecked memmove really copies
 * 2^64-2 bytes, which no report-and-complete sanitizer can let finish.
 */
/*
 * Linux's memmove checks the range, reports the wrapped length and copies
 * nothing. A hypervisor sees only the accesses made, and a real copy of
 * (size_t)-2 bytes would overwrite all guest memory: not run.
 */
TESTCASE_SKIP(kmalloc_memmove_negative_size,
	      "needs a checked memmove: a real (size_t)-2 byte copy would wreck the guest")

TESTCASE(kmalloc_memmove_invalid_size)
{
	size_t size = 64, len = size;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	memset(ptr, 0, size);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(len);
	/* The source range [ptr + 4, ptr + 68) reads 4 bytes past the object. */
	expect_read(SLAB_OOB, len, ptr, size);
	memmove(ptr, ptr + 4, len);
	kfree(ptr);
	return 0;
}

static volatile const void *kasan_ptr_result;
static volatile int kasan_int_result;

TESTCASE(kasan_memchr)
{
	size_t size = round_up(24, KASAN_GRANULE_SIZE); /* Linux: round_up(size, OOB_TAG_OFF) */
	char *ptr = kzalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(size);
	expect_read(SLAB_OOB, 1, ptr, size);
	kasan_ptr_result = memchr(ptr, '1', size + 1);
	kfree(ptr);
	return 0;
}

TESTCASE(kasan_memcmp)
{
	size_t size = round_up(24, KASAN_GRANULE_SIZE); /* Linux: round_up(size, OOB_TAG_OFF) */
	char *ptr = kzalloc(size, GFP_KERNEL);
	int arr[9];

	TEST_ASSERT(ptr);
	memset(arr, 0, sizeof(arr));
	OPTIMIZER_HIDE_VAR(ptr);
	OPTIMIZER_HIDE_VAR(size);
	expect_read(SLAB_OOB, 1, ptr, size);
	kasan_int_result = memcmp(ptr, arr, size + 1);
	kfree(ptr);
	return 0;
}

/*
 * An offset into the freed object that still holds a zero byte: the free
 * pointer word. kasan-vmm's free fill (write_patterns) skips it, and the
 * guest writes the freelist pointer there only when the object leaves its
 * quarantine, after this case. Linux's 16 for kmalloc(24) lands there too.
 * KV_FREEPTR_NONE or a word outside the object: no such byte.
 */
static size_t zero_byte_offset(size_t size)
{
	size_t fp = kmem_cache_freeptr_offset(kmalloc_slab(size));

	return fp != KV_FREEPTR_NONE && fp + sizeof(void *) <= size ? fp : SIZE_MAX;
}

/* str* on a freed object: each reads one zero byte, one report each. */
static noinline void kasan_strings_freed(char *ptr, size_t size, char *at)
{
	expect_read(SLAB_UAF, 1, ptr, size);
	kasan_ptr_result = strchr(at, '1');
	expect_read(SLAB_UAF, 1, ptr, size);
	kasan_ptr_result = strrchr(at, '1');
	expect_read(SLAB_UAF, 1, ptr, size);
	kasan_int_result = strcmp(at, "2");
	expect_read(SLAB_UAF, 1, ptr, size);
	kasan_int_result = strncmp(at, "2", 1);
	expect_read(SLAB_UAF, 1, ptr, size);
	kasan_int_result = (int)strlen(at);
	expect_read(SLAB_UAF, 1, ptr, size);
	kasan_int_result = (int)strnlen(at, 1);
}

TESTCASE(kasan_strings)
{
	size_t size = 24, off = zero_byte_offset(24);
	char *ptr = kzalloc(size, GFP_KERNEL);
	char *src = kzalloc(KASAN_GRANULE_SIZE, GFP_KERNEL);

	TEST_ASSERT(ptr && src && off != SIZE_MAX);
	strscpy(src, "f0cacc1a0000000", KASAN_GRANULE_SIZE);
	/* Stops at src's terminator: no overread here. */
	TEST_ASSERT(strscpy(ptr, src + 1, KASAN_GRANULE_SIZE) == (long)KASAN_GRANULE_SIZE - 2);
	/*
	 * First source byte unreadable. Linux passes size 8 and checks only that
	 * byte; the guest's byte-wise strscpy would read on through whatever
	 * follows, so size 1 makes it read exactly that one byte.
	 */
	expect_read(SLAB_OOB, 1, src, KASAN_GRANULE_SIZE);
	strscpy(ptr, src + KASAN_GRANULE_SIZE, 1);
	kfree(src);
	kfree(ptr);
	/* Linux skips 16 bytes of in-object metadata; read the free pointer word. */
	kasan_strings_freed(ptr, size, ptr + off);
	return 0;
}
