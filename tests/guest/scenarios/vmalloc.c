/* SPDX-License-Identifier: MIT */
/*
 * vmalloc out-of-bounds: accesses past the requested size but inside the
 * mapped first page of a live area (a vfree'd area or the guard page is
 * unmapped, and the guest would fault). The tag-only vmalloc cases need
 * pointer tags, vmap and vm_map_ram: see README.md.
 */
#include "scenario.h"

TESTCASE(vmalloc_oob)
{
	size_t size = PAGE_SIZE / 2 - KASAN_GRANULE_SIZE - 5;
	char *v_ptr = vmalloc(size), *p_ptr;
	struct page *page;

	TEST_ASSERT(v_ptr);
	OPTIMIZER_HIDE_VAR(v_ptr);
	write8(v_ptr, 0);
	write8(v_ptr + size - 1, 0);
	/* Unaligned, just past the size; then the first bad granule. */
	if (!scenario_tag_mode()) { /* only generic mode is byte-precise */
		expect_read(VMALLOC_OOB, 1, v_ptr, size);
		read8(v_ptr + size);
	}
	expect_read(VMALLOC_OOB, 1, v_ptr, size);
	read8(v_ptr + size + 5);
	/* The same page through the direct map is valid. */
	page = vmalloc_to_page(v_ptr);
	TEST_ASSERT(page);
	p_ptr = page_address(page);
	TEST_ASSERT(p_ptr);
	write8(p_ptr, 0);
	vfree(v_ptr);
	return 0;
}
