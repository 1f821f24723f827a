/* SPDX-License-Identifier: MIT */
/*
 * kmalloc scenarios (slab-backed sizes): out-of-bounds to the right and left,
 * use-after-free, double kfree_sensitive. Offsets and sizes are those of
 * Linux's kasan_test_c.c.
 */
#include "scenario.h"

/* Local shim: mm.h has no kmalloc_node_track_caller (asked for). */
#ifndef kmalloc_node_track_caller
#define kmalloc_node_track_caller(size, gfp, node) kmalloc_track_caller(size, gfp)
#endif

struct two_words {
	u64 words[2];
};

TESTCASE(kmalloc_oob_right)
{
	size_t size = 128 - KASAN_GRANULE_SIZE - 5;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	/* Unaligned, just past the requested size: only generic mode is byte-precise. */
	if (!scenario_tag_mode()) {
		expect_write(SLAB_OOB, 1, ptr, size);
		write8(ptr + size, 'x');
	}
	/* Aligned, first out-of-bounds granule inside the 128-byte slot. */
	expect_write(SLAB_OOB, 1, ptr, size);
	write8(ptr + size + 5, 'y');
	/* Past the object, in its red zone: ptr[0] = ptr[size + 13]; only the read is bad. */
	expect_read(SLAB_OOB, 1, ptr, size);
	write8(ptr, read8(ptr + size + KASAN_GRANULE_SIZE + 5));
	kfree(ptr);
	return 0;
}

/*
 * ptr[-1] is in the red zone of the slot before ptr's, and Linux
 * (nearest_obj) describes the object of that slot: "to the right of" it.
 * So that the report is about an allocation of this case, ptr is taken
 * right after another kmalloc(15) of this case (the first pair of
 * neighbouring slots among up to OOB_LEFT_TRIES allocations).
 */
#define OOB_LEFT_TRIES 128

TESTCASE(kmalloc_oob_left)
{
	size_t size = 15, stride = kmem_cache_slot_size(kmalloc_slab(size));
	char *p[OOB_LEFT_TRIES], *left = NULL, *ptr = NULL;
	u32 n = 0;

	while (n < OOB_LEFT_TRIES && !ptr) {
		p[n] = kmalloc(size, GFP_KERNEL);
		if (!p[n])
			break;
		for (u32 i = 0; i < n && !ptr; i++) {
			if (p[n] == p[i] + stride)
				left = p[i], ptr = p[n];
			else if (p[i] == p[n] + stride)
				left = p[n], ptr = p[i];
		}
		n++;
	}
	if (ptr) {
		OPTIMIZER_HIDE_VAR(ptr);
		expect_read(SLAB_OOB, 1, left, size);
		write8(ptr, read8(ptr - 1));
	}
	while (n-- > 0)
		kfree(p[n]);
	TEST_ASSERT(ptr);
	return 0;
}

TESTCASE(kmalloc_node_oob_right)
{
	size_t size = 4096;
	char *ptr = kmalloc_node(size, GFP_KERNEL, 0);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(SLAB_OOB, 1, ptr, size);
	write8(ptr, read8(ptr + size));
	kfree(ptr);
	return 0;
}

TESTCASE(kmalloc_track_caller_oob_right)
{
	size_t size = 128 - KASAN_GRANULE_SIZE;
	char *ptr = kmalloc_track_caller(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	write8(ptr + size, 'y');
	kfree(ptr);

	ptr = kmalloc_node_track_caller(size, GFP_KERNEL, 0);
	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	write8(ptr + size, 'y');
	kfree(ptr);
	return 0;
}

/* Big, but still from the largest kmalloc cache (not the page fallback). */
TESTCASE(kmalloc_big_oob_right)
{
	size_t size = KMALLOC_MAX_CACHE_SIZE - 256;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_OOB, 1, ptr, size);
	write8(ptr + size, 0);
	kfree(ptr);
	return 0;
}

/*
 * *ptr1 = *ptr2 for a 16-byte struct into a 13-byte object. Without SSE the
 * copy is two 8-byte moves; only the second store (bytes 8..15) is bad, so
 * kasan-vmm sees one Write of size 8 where instrumented KASAN checks 16.
 */
TESTCASE(kmalloc_oob_16)
{
	struct two_words *ptr1, *ptr2;

	SKIP_UNLESS_GENERIC(); /* the 13-byte object's granule covers all 16 bytes */
	ptr1 = kmalloc(sizeof(*ptr1) - 3, GFP_KERNEL);
	ptr2 = kmalloc(sizeof(*ptr2), GFP_KERNEL);
	TEST_ASSERT(ptr1 && ptr2);
	OPTIMIZER_HIDE_VAR(ptr1);
	OPTIMIZER_HIDE_VAR(ptr2);
	write64(&ptr1->words[0], read64(&ptr2->words[0]));
	expect_write(SLAB_OOB, 8, ptr1, sizeof(*ptr1) - 3);
	write64(&ptr1->words[1], read64(&ptr2->words[1]));
	kfree(ptr1);
	kfree(ptr2);
	return 0;
}

/* *ptr1 = *ptr2 from a freed object: both 8-byte loads are bad. */
TESTCASE(kmalloc_uaf_16)
{
	struct two_words *ptr1 = kmalloc(sizeof(*ptr1), GFP_KERNEL);
	struct two_words *ptr2 = kmalloc(sizeof(*ptr2), GFP_KERNEL);
	u64 w0, w1;

	TEST_ASSERT(ptr1 && ptr2);
	kfree(ptr2);
	OPTIMIZER_HIDE_VAR(ptr2);
	expect_read(SLAB_UAF, 8, ptr2, sizeof(*ptr2));
	w0 = read64(&ptr2->words[0]);
	expect_read(SLAB_UAF, 8, ptr2, sizeof(*ptr2));
	w1 = read64(&ptr2->words[1]);
	write64(&ptr1->words[0], w0);
	write64(&ptr1->words[1], w1);
	kfree(ptr1);
	return 0;
}

TESTCASE(kmalloc_uaf)
{
	size_t size = 10;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	read8(ptr + 8);
	return 0;
}

/*
 * memset(ptr, 0, 33) on a freed kmalloc-64 object. Linux relies on its
 * quarantine; here the freed object is on the freelist, so the write is cut
 * short of the free pointer (offset ~32): Write of size min(33, freeptr).
 */
TESTCASE(kmalloc_uaf_memset)
{
	size_t size = 33, len;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	len = uaf_write_len_avoiding_freeptr(kmalloc_slab(size), 0, size);
	TEST_ASSERT(len > 0);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_write(SLAB_UAF, len, ptr, size);
	memset(ptr, 0, len);
	return 0;
}

TESTCASE(kmalloc_uaf2)
{
	size_t size = 43;
	char *ptr1, *ptr2;

	ptr1 = kmalloc(size, GFP_KERNEL);
	TEST_ASSERT(ptr1);
	kfree(ptr1);
	ptr2 = kmalloc(size, GFP_KERNEL);
	TEST_ASSERT(ptr2);
	/* Linux expects ptr1 != ptr2 (quarantine); a reused slot makes ptr1 valid. */
	if (ptr1 == ptr2) {
		printf("# kmalloc_uaf2: freed slot reused at once (no quarantine)\n");
		kfree(ptr2);
		return 1;
	}
	OPTIMIZER_HIDE_VAR(ptr1);
	expect_read(SLAB_UAF, 1, ptr1, size);
	read8(ptr1 + 40);
	kfree(ptr2);
	return 0;
}

/* Tag modes: the freed slot is reused and freed again before the access. */
TESTCASE_TAGS_ONLY(kmalloc_uaf3)
{
	size_t size = 100;
	char *ptr1, *ptr2;

	ptr1 = kmalloc(size, GFP_KERNEL);
	TEST_ASSERT(ptr1);
	kfree(ptr1);
	ptr2 = kmalloc(size, GFP_KERNEL);
	TEST_ASSERT(ptr2);
	kfree(ptr2);
	OPTIMIZER_HIDE_VAR(ptr1);
	expect_read(SLAB_UAF, 1, ptr1, size);
	read8(ptr1 + 8);
	return 0;
}

TESTCASE(kmalloc_double_kzfree)
{
	size_t size = 16;
	char *ptr = kmalloc(size, GFP_KERNEL);

	TEST_ASSERT(ptr);
	kfree_sensitive(ptr);
	expect_free(DOUBLE_FREE, ptr, size);
	kfree_sensitive(ptr);
	return 0;
}
