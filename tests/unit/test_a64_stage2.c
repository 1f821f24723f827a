// SPDX-License-Identifier: MIT
/*
 * arm64 stage-2 holes: after every change the memslots cover exactly the RAM
 * pages that are not armed, each slot maps its IPAs to the right RAM offset,
 * and only the runs that changed were touched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/arm64/a64_stage2.h"

#define BASE  0x40000000ull
#define PAGE  4096ull
#define MAXS  64
#define MiB   (1ull << 20)
#define PAGES (64 * MiB / PAGE)

struct fake_kvm {
	struct {
		uint64_t ipa, size, offset;
	} slot[MAXS];
	unsigned int calls;
	bool fail;
};

static int fake_set_slot(void *ctx, uint32_t slot, uint64_t ipa, uint64_t size, uint64_t offset)
{
	struct fake_kvm *k = ctx;

	assert_true(slot < MAXS);
	k->calls++;
	if (k->fail)
		return -EINVAL; /* e.g. KVM with MTE before 6.2 and a shared mapping */
	if (size) {
		assert_int_equal(k->slot[slot].size, 0); /* never re-created without a delete */
		for (unsigned int i = 0; i < MAXS; i++)	 /* KVM refuses overlapping slots */
			assert_true(!k->slot[i].size || k->slot[i].ipa + k->slot[i].size <= ipa ||
				    ipa + size <= k->slot[i].ipa);
	}
	k->slot[slot].ipa = ipa;
	k->slot[slot].size = size;
	k->slot[slot].offset = offset;
	return 0;
}

/* The slots cover exactly the pages of RAM not armed, with offset == ipa - BASE. */
static void check_cover(struct fake_kvm *k, struct a64_stage2 *s, uint64_t ram)
{
	static uint8_t covered[PAGES];
	unsigned int used = 0;

	memset(covered, 0, sizeof(covered));
	for (unsigned int i = 0; i < MAXS; i++) {
		if (!k->slot[i].size)
			continue;
		used++;
		assert_int_equal(k->slot[i].offset, k->slot[i].ipa - BASE);
		for (uint64_t a = k->slot[i].ipa; a < k->slot[i].ipa + k->slot[i].size; a += PAGE)
			covered[(a - BASE) / PAGE]++;
	}
	for (uint64_t p = 0; p < ram / PAGE; p++)
		assert_int_equal(covered[p], !a64_stage2_armed(s, BASE + p * PAGE));
	assert_int_equal(used, a64_stage2_slots_in_use(s));
}

static struct a64_stage2 *make(struct fake_kvm *k, uint64_t ram, uint32_t slots)
{
	struct a64_stage2_config c = {BASE, ram, slots, 0, fake_set_slot, k};
	struct a64_stage2 *s;

	memset(k, 0, sizeof(*k));
	assert_int_equal(a64_stage2_create(&c, &s), 0);
	return s;
}

static void test_hole_and_merge(void **state)
{
	struct fake_kvm k;
	struct a64_stage2 *s = make(&k, 8 * MiB, MAXS);
	unsigned int calls;

	(void)state;
	assert_int_equal(a64_stage2_region_size(s), 2 * MiB);
	assert_int_equal(a64_stage2_slots_in_use(s), 4);
	check_cover(&k, s, 8 * MiB);

	assert_int_equal(a64_stage2_arm(s, BASE + 0x3abc), 0); /* rounded down */
	assert_true(a64_stage2_armed(s, BASE + 0x3000));
	assert_false(a64_stage2_armed(s, BASE + 0x4000));
	assert_int_equal(a64_stage2_slots_in_use(s), 5);
	assert_int_equal(a64_stage2_pages_armed(s), 1);
	check_cover(&k, s, 8 * MiB);

	calls = k.calls;
	assert_int_equal(a64_stage2_arm(s, BASE + 0x3000), 0); /* idempotent */
	assert_int_equal(k.calls, calls);
	/* the neighbour: the run before the holes is kept, the one after replaced */
	assert_int_equal(a64_stage2_arm(s, BASE + 0x4000), 0);
	assert_int_equal(k.calls, calls + 2);
	assert_int_equal(a64_stage2_slots_in_use(s), 5);
	check_cover(&k, s, 8 * MiB);

	assert_int_equal(a64_stage2_disarm(s, BASE + 0x3000), 0);
	assert_int_equal(a64_stage2_disarm(s, BASE + 0x4000), 0);
	assert_int_equal(a64_stage2_pages_armed(s), 0);
	assert_int_equal(a64_stage2_slots_in_use(s), 4);
	check_cover(&k, s, 8 * MiB);
	a64_stage2_destroy(s);
}

static void test_edges_and_bounds(void **state)
{
	struct fake_kvm k;
	struct a64_stage2 *s = make(&k, 6 * MiB + 8 * PAGE, MAXS); /* last region is 8 pages */

	(void)state;
	assert_int_equal(a64_stage2_slots_in_use(s), 4);
	assert_int_equal(a64_stage2_arm(s, BASE), 0);
	assert_int_equal(a64_stage2_arm(s, BASE + 2 * MiB - PAGE), 0);	   /* region boundaries */
	assert_int_equal(a64_stage2_arm(s, BASE + 6 * MiB + 7 * PAGE), 0); /* last RAM page */
	check_cover(&k, s, 6 * MiB + 8 * PAGE);
	assert_int_equal(a64_stage2_arm(s, BASE + 6 * MiB + 8 * PAGE), -EINVAL);
	assert_int_equal(a64_stage2_arm(s, BASE - PAGE), -EINVAL);
	assert_int_equal(a64_stage2_arm(s, 0), -EINVAL);
	assert_int_equal(a64_stage2_arm(s, UINT64_MAX), -EINVAL);
	assert_false(a64_stage2_armed(s, UINT64_MAX));
	/* a whole region armed: no memslot at all for it */
	for (uint64_t a = 2 * MiB; a < 4 * MiB; a += PAGE)
		assert_int_equal(a64_stage2_arm(s, BASE + a), 0);
	check_cover(&k, s, 6 * MiB + 8 * PAGE);
	a64_stage2_destroy(s);
}

static void test_out_of_slots(void **state)
{
	struct fake_kvm k;
	struct a64_stage2 *s = make(&k, 4 * MiB, 6); /* 2 regions, 4 spare ids */
	int ret = 0;
	uint64_t a;

	(void)state;
	for (a = PAGE; a < 2 * MiB && ret == 0; a += 2 * PAGE)
		ret = a64_stage2_arm(s, BASE + a);
	assert_int_equal(ret, -ENOSPC);
	assert_false(a64_stage2_armed(s, BASE + a - 2 * PAGE)); /* the refused one */
	assert_int_equal(a64_stage2_slots_in_use(s), 6);
	check_cover(&k, s, 4 * MiB);
	/* merging still works when full */
	assert_int_equal(a64_stage2_disarm(s, BASE + PAGE), 0);
	check_cover(&k, s, 4 * MiB);
	a64_stage2_destroy(s);
}

static void test_region_size_grows_with_ram(void **state)
{
	struct fake_kvm k;
	struct a64_stage2 *s = make(&k, 64 * MiB, 8); /* at most 4 regions */

	(void)state;
	assert_int_equal(a64_stage2_region_size(s), 16 * MiB);
	assert_int_equal(a64_stage2_slots_in_use(s), 4);
	assert_int_equal(a64_stage2_arm(s, BASE + 40 * MiB), 0);
	check_cover(&k, s, 64 * MiB);
	a64_stage2_destroy(s);
}

static void test_bad_config_and_kvm_failure(void **state)
{
	struct fake_kvm k = {0};
	struct a64_stage2 *s = (void *)1;
	struct a64_stage2_config c = {BASE, 8 * MiB, MAXS, 0, fake_set_slot, &k};

	(void)state;
	c.ram_size = 0;
	assert_int_equal(a64_stage2_create(&c, &s), -EINVAL);
	assert_null(s);
	c.ram_size = 8 * MiB + 1;
	assert_int_equal(a64_stage2_create(&c, &s), -EINVAL);
	c.ram_size = 8 * MiB;
	c.set_slot = NULL;
	assert_int_equal(a64_stage2_create(&c, &s), -EINVAL);
	c.set_slot = fake_set_slot;
	k.fail = true;
	assert_int_equal(a64_stage2_create(&c, &s), -EINVAL); /* KVM's error, passed back */
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hole_and_merge),
	    cmocka_unit_test(test_edges_and_bounds),
	    cmocka_unit_test(test_out_of_slots),
	    cmocka_unit_test(test_region_size_grows_with_ram),
	    cmocka_unit_test(test_bad_config_and_kvm_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
