// SPDX-License-Identifier: MIT
/* CPUID filtering: features of failed instruction classes vanish, nothing else changes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "vmm/cpuid.h"

#define CAP 16

static struct kvm_cpuid2 *make_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CAP * sizeof(struct kvm_cpuid_entry2));
	struct kvm_cpuid_entry2 e1 = {
	    .function = 1, .ebx = 0x00010800, .ecx = 0xfffa3203, .edx = 0x178bfbff};
	struct kvm_cpuid_entry2 e7 = {.function = 7,
				      .index = 0,
				      .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
				      .ebx = 0xffffffff,
				      .ecx = 0xffffffff,
				      .edx = 0xffffffff};
	struct kvm_cpuid_entry2 e71 = {
	    .function = 7, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x30};
	struct kvm_cpuid_entry2 ed = {.function = 0xd,
				      .index = 0,
				      .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
				      .eax = 7,
				      .ebx = 0x340};
	struct kvm_cpuid_entry2 eb = {.function = 0xb, .edx = 0};

	assert_int_equal(cpuid_set(c, CAP, &e1), 0);
	assert_int_equal(cpuid_set(c, CAP, &e7), 0);
	assert_int_equal(cpuid_set(c, CAP, &e71), 0);
	assert_int_equal(cpuid_set(c, CAP, &ed), 0);
	assert_int_equal(cpuid_set(c, CAP, &eb), 0);
	return c;
}

static void test_nothing_failed_changes_nothing(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid(), *orig = make_cpuid();

	(void)state;
	assert_int_equal(cpuid_filter(c, 0), 0);
	assert_memory_equal(c->entries, orig->entries, c->nent * sizeof(c->entries[0]));
	free(c);
	free(orig);
}

static void test_vex_hides_avx_family_only(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();
	struct kvm_cpuid_entry2 *l1, *l7, *l71;

	(void)state;
	assert_true(cpuid_filter(c, 1ull << PROBE_VEX) > 0);
	l1 = cpuid_find(c, 1, 0);
	l7 = cpuid_find(c, 7, 0);
	l71 = cpuid_find(c, 7, 1);
	assert_false(l1->ecx & (1u << 28)); /* AVX */
	assert_false(l1->ecx & (1u << 12)); /* FMA */
	assert_false(l7->ebx & (1u << 5));  /* AVX2 */
	assert_false(l7->ebx & (1u << 16)); /* AVX512F */
	assert_false(l7->ebx & (1u << 8));  /* BMI2 is VEX-encoded */
	assert_false(l71->eax & (1u << 4)); /* AVX-VNNI */
	assert_true(l1->ecx & (1u << 13));  /* CX16 untouched */
	assert_true(l1->ecx & (1u << 26));  /* XSAVE untouched */
	assert_true(l7->ebx & (1u << 0));   /* FSGSBASE untouched */
	free(c);
}

static void test_cx16_xsave_popcnt(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();
	struct kvm_cpuid_entry2 *l1;

	(void)state;
	cpuid_filter(c, (1ull << PROBE_CX16) | (1ull << PROBE_XSAVE) | (1ull << PROBE_POPCNT));
	cpuid_finish(c);
	l1 = cpuid_find(c, 1, 0);
	assert_false(l1->ecx & (1u << 13)); /* CX16 */
	assert_false(l1->ecx & (1u << 26)); /* XSAVE */
	assert_false(l1->ecx & (1u << 27)); /* OSXSAVE */
	assert_false(l1->ecx & (1u << 28)); /* AVX cannot be enabled without XSAVE */
	assert_false(l1->ecx & (1u << 23)); /* POPCNT */
	assert_true(l1->ecx & (1u << 31));  /* hypervisor bit set by cpuid_finish */
	/* leaf 0xD must not describe state components once XSAVE is gone */
	assert_int_equal(cpuid_find(c, 0xd, 0)->eax, 0);
	assert_int_equal(cpuid_find(c, 0xd, 0)->ebx, 0);
	free(c);
}

/* The words line names each word with its value; absent leaves read as 0. */
static void test_describe(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();
	char buf[256], small[12];

	(void)state;
	cpuid_describe(c, buf, sizeof(buf));
	assert_string_equal(buf, "1.ecx=0xfffa3203 1.edx=0x178bfbff 7.ebx=0xffffffff "
				 "7.ecx=0xffffffff 7.edx=0xffffffff d.eax=0x7 d1.eax=0x0 "
				 "80000001.ecx=0x0 80000001.edx=0x0");
	cpuid_describe(c, small, sizeof(small));
	assert_string_equal(small, "1.ecx=0xfff");
	free(c);
}

static void test_apic_id(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();

	(void)state;
	cpuid_set_apic_id(c, 3);
	assert_int_equal(cpuid_find(c, 1, 0)->ebx >> 24, 3);
	assert_int_equal(cpuid_find(c, 1, 0)->ebx & 0xffffff, 0x010800);
	assert_int_equal(cpuid_find(c, 0xb, 0)->edx, 3);
	free(c);
}

static void test_set_replaces_and_caps(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();
	struct kvm_cpuid_entry2 e = {.function = 0x40000100, .eax = 1};
	uint32_t n = c->nent;

	(void)state;
	assert_int_equal(cpuid_set(c, CAP, &e), 0);
	e.eax = 2;
	assert_int_equal(cpuid_set(c, CAP, &e), 0);
	assert_int_equal(c->nent, n + 1);
	assert_int_equal(cpuid_find(c, 0x40000100, 0)->eax, 2);
	for (uint32_t f = 0x80000000; c->nent < CAP; f++) {
		e.function = f;
		assert_int_equal(cpuid_set(c, CAP, &e), 0);
	}
	e.function = 0x90000000;
	assert_int_equal(cpuid_set(c, CAP, &e), -ENOSPC);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_failed_changes_nothing),
	    cmocka_unit_test(test_vex_hides_avx_family_only),
	    cmocka_unit_test(test_cx16_xsave_popcnt),
	    cmocka_unit_test(test_apic_id),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_set_replaces_and_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
