// SPDX-License-Identifier: MIT
/*
 * Exit classification (vmm/vcpu_exit.h) on made-up kvm_run contents: every
 * exit reason kasan-vmm handles, the ones it does not (including numbers no
 * KVM defines yet), their exit codes, and that each ending message names the
 * reason, the vCPU, the RIP and the instruction bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/config.h"
#include "vmm/vcpu_exit.h"

static const struct vcpu_exit_site site = {
    .vcpu = 3,
    .rip_known = true,
    .rip = 0xffffffff81001234ull,
    .insn = {0x0f, 0x01, 0xd9, 0x90, 0x90, 0x90, 0x90, 0x90},
    .insn_len = 8,
};
#define SITE_WHERE                                                                                 \
	"on vCPU 3 at rip 0xffffffff81001234 (instruction bytes: 0f 01 d9 90 90 90 90 90)"

static struct kvm_run run_for(uint32_t reason)
{
	struct kvm_run run;

	memset(&run, 0, sizeof(run));
	run.exit_reason = reason;
	return run;
}

/* The outcome's code, and its message equal to `expect` (NULL: empty). */
static void expect_outcome(const struct kvm_run *run, const struct vcpu_exit_site *s, int code,
			   const char *expect)
{
	char msg[320];

	memset(msg, 'x', sizeof(msg));
	assert_int_equal(vcpu_exit_outcome(run, s, msg, sizeof(msg)), code);
	assert_string_equal(msg, expect ? expect : "");
}

static void test_handled_in_place(void **state)
{
	const struct {
		uint32_t reason;
		enum vcpu_exit_class cls;
	} cases[] = {
	    {KVM_EXIT_IO, VCPU_EXIT_CLASS_IO},
	    {KVM_EXIT_MMIO, VCPU_EXIT_CLASS_MMIO},
	    {KVM_EXIT_INTR, VCPU_EXIT_CLASS_RESUME},
	    {KVM_EXIT_HLT, VCPU_EXIT_CLASS_RESUME},
	    {KVM_EXIT_IRQ_WINDOW_OPEN, VCPU_EXIT_CLASS_RESUME},
	    {KVM_EXIT_INTERNAL_ERROR, VCPU_EXIT_CLASS_INTERNAL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvm_run run = run_for(cases[i].reason);

		assert_int_equal(vcpu_exit_classify(&run), cases[i].cls);
		if (cases[i].cls != VCPU_EXIT_CLASS_INTERNAL)
			expect_outcome(&run, &site, -1, NULL); /* does not end the run */
	}
}

static void test_guest_requests(void **state)
{
	struct kvm_run run = run_for(KVM_EXIT_SYSTEM_EVENT);

	(void)state;
	assert_int_equal(vcpu_exit_classify(&run), VCPU_EXIT_CLASS_END);
	run.system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	expect_outcome(&run, &site, VMM_EXIT_OK, "the guest powered off");
	run.system_event.type = KVM_SYSTEM_EVENT_RESET;
	expect_outcome(&run, &site, VMM_EXIT_REBOOT, "the guest asked for a reboot");
	run.system_event.type = KVM_SYSTEM_EVENT_CRASH;
	expect_outcome(&run, &site, VMM_EXIT_UNHANDLED,
		       "unhandled system event 3 (crash) " SITE_WHERE);
	run.system_event.type = 99;
	expect_outcome(&run, &site, VMM_EXIT_UNHANDLED,
		       "unhandled system event 99 (unknown type) " SITE_WHERE);
}

static void test_triple_fault_and_entry_failure(void **state)
{
	struct kvm_run run = run_for(KVM_EXIT_SHUTDOWN);

	(void)state;
	expect_outcome(&run, &site, VMM_EXIT_TRIPLE_FAULT, "triple fault " SITE_WHERE);
	run = run_for(KVM_EXIT_FAIL_ENTRY);
	run.fail_entry.hardware_entry_failure_reason = 0x80000021;
	run.fail_entry.cpu = 1;
	expect_outcome(&run, &site, VMM_EXIT_UNHANDLED,
		       "KVM_EXIT_FAIL_ENTRY " SITE_WHERE
		       ": hardware entry failure reason 0x80000021 on host cpu 1");
}

static void test_internal_errors(void **state)
{
	struct kvm_run run = run_for(KVM_EXIT_INTERNAL_ERROR);

	(void)state;
	/* Emulation failure without KVM's bytes: the bytes the VMM read at RIP. */
	run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	expect_outcome(&run, &site, VMM_EXIT_EMULATION,
		       "KVM could not emulate an instruction " SITE_WHERE);
	/* With KVM's bytes (they win: they are what KVM fetched). */
	run.emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run.emulation_failure.insn_size = 3;
	memcpy(run.emulation_failure.insn_bytes, "\xc5\xf8\x77", 3);
	expect_outcome(&run, &site, VMM_EXIT_EMULATION,
		       "KVM could not emulate an instruction on vCPU 3 at rip 0xffffffff81001234 "
		       "(instruction bytes: c5 f8 77)");
	/* An insn_size past the array (15 bytes, an x86 instruction's maximum) is cut to it. */
	run.emulation_failure.insn_size = 200;
	memset(run.emulation_failure.insn_bytes, 0xab, sizeof(run.emulation_failure.insn_bytes));
	expect_outcome(&run, &site, VMM_EXIT_EMULATION,
		       "KVM could not emulate an instruction on vCPU 3 at rip 0xffffffff81001234 "
		       "(instruction bytes: ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab)");

	/* The other suberrors are not emulation failures: 123, naming the suberror. */
	run = run_for(KVM_EXIT_INTERNAL_ERROR);
	run.internal.suberror = KVM_INTERNAL_ERROR_SIMUL_EX;
	expect_outcome(
	    &run, &site, VMM_EXIT_UNHANDLED,
	    "KVM internal error: suberror 2 (exception while delivering an exception) " SITE_WHERE);
	run.internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
	expect_outcome(
	    &run, &site, VMM_EXIT_UNHANDLED,
	    "KVM internal error: suberror 3 (exit while delivering an event) " SITE_WHERE);
	run.internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	expect_outcome(
	    &run, &site, VMM_EXIT_UNHANDLED,
	    "KVM internal error: suberror 4 (unexpected hardware exit reason) " SITE_WHERE);
	run.internal.suberror = 77;
	expect_outcome(&run, &site, VMM_EXIT_UNHANDLED,
		       "KVM internal error: suberror 77 (unknown suberror) " SITE_WHERE);
}

static void test_unhandled_reasons(void **state)
{
	const struct {
		uint32_t reason;
		const char *name;
	} cases[] = {
	    {KVM_EXIT_UNKNOWN, "KVM_EXIT_UNKNOWN"},
	    {KVM_EXIT_EXCEPTION, "KVM_EXIT_EXCEPTION"},
	    {KVM_EXIT_HYPERCALL, "KVM_EXIT_HYPERCALL"},
	    {KVM_EXIT_DEBUG, "KVM_EXIT_DEBUG"},
	    {KVM_EXIT_NMI, "KVM_EXIT_NMI"},
	    {KVM_EXIT_X86_RDMSR, "KVM_EXIT_X86_RDMSR"},
	    {KVM_EXIT_X86_BUS_LOCK, "KVM_EXIT_X86_BUS_LOCK"},
	    {KVM_EXIT_MEMORY_FAULT, "KVM_EXIT_MEMORY_FAULT"},
	    {KVM_EXIT_S390_SIEIC, "unknown exit reason"}, /* not x86: no name kept */
	    {1000, "unknown exit reason"},
	    {UINT32_MAX, "unknown exit reason"},
	};
	char expect[320];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvm_run run = run_for(cases[i].reason);

		assert_int_equal(vcpu_exit_classify(&run), VCPU_EXIT_CLASS_END);
		snprintf(expect, sizeof(expect), "unhandled exit %s (%u) " SITE_WHERE,
			 cases[i].name, cases[i].reason);
		expect_outcome(&run, &site, VMM_EXIT_UNHANDLED, expect);
	}
}

/* Without registers or readable code the message still names what it knows. */
static void test_unknown_site(void **state)
{
	struct vcpu_exit_site none = {.vcpu = 0};
	struct vcpu_exit_site no_bytes = {.vcpu = 1, .rip_known = true, .rip = 0x1000};
	struct kvm_run run = run_for(KVM_EXIT_SHUTDOWN);
	char small[16];

	(void)state;
	expect_outcome(&run, &none, VMM_EXIT_TRIPLE_FAULT,
		       "triple fault on vCPU 0 at an unknown rip");
	expect_outcome(&run, &no_bytes, VMM_EXIT_TRIPLE_FAULT,
		       "triple fault on vCPU 1 at rip 0x1000");
	/* A short buffer is cut, never overrun. */
	assert_int_equal(vcpu_exit_outcome(&run, &site, small, sizeof(small)),
			 VMM_EXIT_TRIPLE_FAULT);
	assert_string_equal(small, "triple fault on");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handled_in_place),
	    cmocka_unit_test(test_guest_requests),
	    cmocka_unit_test(test_triple_fault_and_entry_failure),
	    cmocka_unit_test(test_internal_errors),
	    cmocka_unit_test(test_unhandled_reasons),
	    cmocka_unit_test(test_unknown_site),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
