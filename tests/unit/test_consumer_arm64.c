/* SPDX-License-Identifier: MIT */
/*
 * ABI 1.2's arm64 address rules in the consumer: record addresses may carry
 * a TBI tag (passed on untagged, with the tag beside them), and the
 * registered direct_map_base is an offset whose page addresses must be
 * canonical. On x86 the same records and layouts are refused.
 */
#include "tests/unit/kv_consumer_fixture.h"

#define KADDR		(FG_DIRECT_MAP + 0x100040)
#define TAGGED(va, tag) (((va)&0x00ffffffffffffffull) | (uint64_t)(tag) << 56)

static struct kv_rec alloc_at(uint64_t seq, uint64_t addr)
{
	struct kv_rec r = slab(0, seq);

	r.addr = addr;
	return r;
}

static void test_tagged_addresses_decode(void **state)
{
	struct fix *f = fix_ready_arch(KV_MODE_SYNC, 1, 12, KV_ARCH_ARM64);
	struct kv_rec r;

	(void)state;
	emit(f, alloc_at(1, TAGGED(KADDR, 0x3c)));
	drain(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->last.addr, KADDR); /* untagged: bit 55 copied up */
	assert_true(f->last.ptr_tagged);
	assert_int_equal(f->last.ptr_tag, 0x3c);

	/* a kernel pointer with 0xff on top carries no tag */
	emit(f, alloc_at(2, KADDR + 64));
	drain(f);
	assert_int_equal(f->last.addr, KADDR + 64);
	assert_false(f->last.ptr_tagged);

	/* krealloc: both addresses untagged, the new one's tag kept */
	r = fg_rec(KV_EV_KREALLOC, 0, 3);
	r.old_addr = TAGGED(KADDR, 0x3c);
	r.addr = TAGGED(KADDR + 128, 0x41);
	r.size_req = r.size_alloc = 32;
	emit(f, r);
	drain(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->last.old_addr, KADDR);
	assert_int_equal(f->last.addr, KADDR + 128);
	assert_int_equal(f->last.ptr_tag, 0x41);

	/* the untagged address must still be canonical (arm64: bits 63:48 equal) and not in page 0
	 */
	emit(f, alloc_at(4, TAGGED(0x0001900000000000ull, 0x3c)));
	emit(f, alloc_at(5, TAGGED(0x10ull, 0x3c)));
	drain(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(rejects(f, KV_REJ_ADDR), 2);
	fix_free(f);
}

/* A guest whose MMU identity-maps RAM registers direct_map_base 0 (ABI 1.2). */
static void test_identity_mapped_low_half(void **state)
{
	struct fix *f = fix_new_arch(KV_MODE_SYNC, 4, KV_ARCH_ARM64);

	(void)state;
	fg_register_block(&f->g, 4)->direct_map_base = 0;
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_OK);
	fg_setup_block(&f->g, 0, 12, DATA_GPA);
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_OK);
	/* a tagged low-half pointer keeps its low half */
	emit(f, alloc_at(1, TAGGED(0x200040ull, 0xf5)));
	drain(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->last.addr, 0x200040);
	assert_true(f->last.ptr_tagged);
	assert_int_equal(f->last.ptr_tag, 0xf5);
	/* ... and must be RAM: here the direct map is RAM's own addresses */
	emit(f, alloc_at(2, TAGGED(RAM_SIZE + 0x40ull, 0xf5)));
	emit(f, alloc_at(3, KADDR));
	drain(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(rejects(f, KV_REJ_ADDR), 2);
	fix_free(f);
}

static void test_x86_refuses_tags(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);

	(void)state;
	emit(f, alloc_at(1, TAGGED(KADDR, 0x3c)));
	emit(f, alloc_at(2, KADDR));
	drain(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->last.seq, 2);
	assert_false(f->last.ptr_tagged);
	assert_int_equal(rejects(f, KV_REJ_ADDR), 1);
	fix_free(f);
}

/*
 * Linux arm64's linear map: VA = PA - PHYS_OFFSET + PAGE_OFFSET, registered
 * as the (wrapping, non-canonical) offset PAGE_OFFSET - PHYS_OFFSET. Here
 * PHYS_OFFSET is 2 MiB: pages below it have no canonical linear address.
 */
#define PAGE_OFFSET 0xffff000000000000ull
#define LINEAR_BASE (PAGE_OFFSET - 0x200000ull)

static struct kv_rec page_alloc(uint64_t seq, uint64_t pfn, uint64_t base)
{
	struct kv_rec r = fg_rec(KV_EV_PAGE_ALLOC, 0, seq);

	r.pfn = pfn;
	r.addr = base + (pfn << KV_PAGE_SHIFT);
	return r;
}

static void test_linear_map_offset(void **state)
{
	struct fix *x86 = fix_new(KV_MODE_SYNC, 4),
		   *f = fix_new_arch(KV_MODE_SYNC, 4, KV_ARCH_ARM64);
	struct kv_cmd_register *b;

	(void)state;
	fg_register_block(&x86->g, 4)->direct_map_base = LINEAR_BASE;
	assert_int_equal(ring(x86, FG_REG_PFN), KV_ST_EINVAL);
	/* an offset still names whole pages */
	fg_register_block(&f->g, 4)->direct_map_base = LINEAR_BASE + 0x800;
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EINVAL);
	assert_int_equal(rejects(f, KV_REJ_REG_FIELD), 1);

	b = fg_register_block(&f->g, 4);
	b->direct_map_base = LINEAR_BASE;
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_OK);
	fg_setup_block(&f->g, 0, 12, DATA_GPA);
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_OK);
	emit(f, page_alloc(1, 0x300, LINEAR_BASE));
	drain(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->last.addr, PAGE_OFFSET + 0x100000);
	/* the wrong linear address, and a page whose linear address is not canonical */
	emit(f, page_alloc(2, 0x301, LINEAR_BASE + 0x1000));
	emit(f, page_alloc(3, 0x100, LINEAR_BASE));
	drain(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(rejects(f, KV_REJ_PAGE_ADDR), 2);
	fix_free(x86);
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tagged_addresses_decode),
	    cmocka_unit_test(test_identity_mapped_low_half),
	    cmocka_unit_test(test_x86_refuses_tags),
	    cmocka_unit_test(test_linear_map_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
