/* SPDX-License-Identifier: MIT */
/*
 * KASAN bug scenarios: the Linux kasan_test_c.c cases the slab allocator can
 * reproduce, plus arm64 accesses whose data abort has no valid syndrome
 * (load/store pair, writeback, SIMD), which kasan-vmm must decode from the
 * instruction itself.
 */
#include "scenario.h"

TESTCASE(kmalloc_oob_right)
{
	size_t size = 128 - KASAN_GRANULE_SIZE - 5;
	char *ptr = kmalloc(size);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	/* Unaligned, just past the requested size: only generic mode is byte-precise. */
	if (!kv_tag_mode()) {
		expect_write(SLAB_OOB, 1, ptr, size);
		write8(ptr + size, 'x');
	}
	/* Aligned, the first out-of-bounds granule inside the 128-byte object. */
	expect_write(SLAB_OOB, 1, ptr, size);
	write8(ptr + size + 5, 'y');
	/* Past the object, in its red zone: only the read is bad. */
	expect_read(SLAB_OOB, 1, ptr, size);
	write8(ptr, read8(ptr + size + KASAN_GRANULE_SIZE + 5));
	kfree(ptr);
	return 0;
}

TESTCASE(kmalloc_uaf)
{
	size_t size = 10;
	char *ptr = kmalloc(size);

	TEST_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_read(SLAB_UAF, 1, ptr, size);
	(void)read8(ptr + 8);
	return 0;
}

TESTCASE(kmalloc_double_free)
{
	size_t size = 16;
	char *ptr = kmalloc(size);

	TEST_ASSERT(ptr);
	kfree(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_free(DOUBLE_FREE, ptr, size);
	kfree(ptr);
	return 0;
}

/*
 * 16-byte accesses that start in the last 8 bytes of a 32-byte object and end
 * in its red zone. None of them has an ESR syndrome (ISV=0): pairs, SIMD and
 * writeback forms are what a64_insn_decode() is for.
 */
TESTCASE(kmalloc_oob_ldp_stp)
{
	size_t size = 32;
	char *ptr = kmalloc(size), *p;
	u64 a = 0x1111, b = 0x2222;

	TEST_ASSERT(ptr);
	TEST_ASSERT(kmalloc_object_size(size) == size); /* the red zone starts at ptr + 32 */
	p = ptr + size - 8;
	OPTIMIZER_HIDE_VAR(p);
	expect_read(SLAB_OOB, 16, ptr, size);
	asm volatile("ldp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(p) : "memory");
	expect_write(SLAB_OOB, 16, ptr, size);
	asm volatile("stp %0, %1, [%2]" ::"r"(a), "r"(b), "r"(p) : "memory");
	expect_read(SLAB_OOB, 8, ptr, size);
	asm volatile("ldr %0, [%1, #8]!" : "=r"(a), "+r"(p)::"memory"); /* pre-index writeback */
	TEST_ASSERT(p == ptr + size); /* the base register was written back */
	p = ptr + size - 8;
	OPTIMIZER_HIDE_VAR(p);
	expect_read(SLAB_OOB, 16, ptr, size);
	asm volatile("ldr q0, [%0]" ::"r"(p) : "v0", "memory");
	kfree(ptr);
	return 0;
}

/* Valid atomics on a live object whose page is trapped (its red zone is poisoned). */
TESTCASE(atomics_on_trapped_page)
{
	u32 *w = kmalloc(32);

	TEST_ASSERT(w);
	OPTIMIZER_HIDE_VAR(w);
	expect_none();
	*(volatile u32 *)w = 1;
	TEST_ASSERT(llsc_add(w, 2) == 1);
	if (have_lse())
		TEST_ASSERT(lse_add(w, 3) == 3);
	TEST_ASSERT(*(volatile u32 *)w == (have_lse() ? 6u : 3u));
	kfree(w);
	return 0;
}

/*
 * Atomics on the red zone right after a 32-byte object (Linux's
 * kasan_atomics: each atomic_add is a 4-byte write). kasan-vmm judges the
 * LL/SC loop at its LDXR, as the read-modify-write it begins: one write.
 */
TESTCASE(kasan_atomics_oob)
{
	char *ptr = kmalloc(32);
	u32 *bad;

	TEST_ASSERT(ptr);
	TEST_ASSERT(kmalloc_object_size(32) == 32);
	bad = (u32 *)(ptr + 32);
	OPTIMIZER_HIDE_VAR(bad);
	expect_write(SLAB_OOB, 4, ptr, 32);
	(void)llsc_add(bad, 1);
	if (have_lse()) {
		expect_write(SLAB_OOB, 4, ptr, 32);
		(void)lse_add(bad, 1);
	}
	kfree(ptr);
	return 0;
}

/* A pointer with the match-all tag 0xff accesses any memory: no report (Linux's match_all_ptr_tag).
 */
TESTCASE_TAGS_ONLY(match_all_ptr_tag)
{
	char *ptr = kmalloc(128);
	u8 tag;

	TEST_ASSERT(ptr);
	tag = get_tag(ptr);
	TEST_ASSERT(tag != 0xff);
	expect_none();
	write8(set_tag(ptr, 0xff), 0);
	kfree(set_tag(ptr, tag));
	return 0;
}

/*
 * In-bounds accesses through a pointer whose tag is not the object's: each is
 * a tag mismatch, and no stack-ring entry has that tag (invalid-access). The
 * host knows the object's tag from the event (ABI 1.2); a 1.1 host does not,
 * so to it these accesses are in bounds: listed, not expected.
 */
TESTCASE_TAGS_ONLY(kmalloc_wrong_ptr_tag)
{
	char *ptr = kmalloc(128);
	u8 tag, wrong;

	TEST_ASSERT(ptr);
	tag = get_tag(ptr);
	TEST_ASSERT(tag >= 0xf0 && tag <= 0xfd);
	for (u32 i = 1; i <= 3; i++) {
		wrong = (u8)(0xf0 + (tag - 0xf0 + i) % 14);
		if (kv_pointer_tags())
			expect_write(TAG_MISMATCH, 1, ptr, 128);
		else
			expect_needs_pointer_tags(TAG_MISMATCH, "Write", 1,
						  "ABI 1.1 events carry no pointer tags");
		write8(set_tag(ptr, wrong), 0);
	}
	kfree(ptr);
	return 0;
}
