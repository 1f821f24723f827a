// SPDX-License-Identifier: MIT
/*
 * Exit classification and the messages that end a run (vmm/vcpu_exit.h).
 * Exit codes: 122 only when KVM could not emulate an instruction; anything
 * else KVM could not handle and kasan-vmm does not handle is 123.
 */
#include <stdio.h>
#include <string.h>

#include "vmm/config.h"
#include "vmm/vcpu_exit.h"

static const char *const exit_names[] = {
    [KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
    [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
    [KVM_EXIT_IO] = "KVM_EXIT_IO",
    [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
    [KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
    [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
    [KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
    [KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
    [KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
    [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
    [KVM_EXIT_INTR] = "KVM_EXIT_INTR",
    [KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
    [KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
    [KVM_EXIT_NMI] = "KVM_EXIT_NMI",
    [KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
    [KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
    [KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
    [KVM_EXIT_HYPERV] = "KVM_EXIT_HYPERV",
    [KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
    [KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
    [KVM_EXIT_DIRTY_RING_FULL] = "KVM_EXIT_DIRTY_RING_FULL",
    [KVM_EXIT_AP_RESET_HOLD] = "KVM_EXIT_AP_RESET_HOLD",
    [KVM_EXIT_X86_BUS_LOCK] = "KVM_EXIT_X86_BUS_LOCK",
    [KVM_EXIT_XEN] = "KVM_EXIT_XEN",
    [KVM_EXIT_NOTIFY] = "KVM_EXIT_NOTIFY",
    [KVM_EXIT_MEMORY_FAULT] = "KVM_EXIT_MEMORY_FAULT",
};

static const char *const suberror_names[] = {
    [KVM_INTERNAL_ERROR_EMULATION] = "emulation failure",
    [KVM_INTERNAL_ERROR_SIMUL_EX] = "exception while delivering an exception",
    [KVM_INTERNAL_ERROR_DELIVERY_EV] = "exit while delivering an event",
    [KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected hardware exit reason",
};

static const char *const system_event_names[] = {
    [KVM_SYSTEM_EVENT_SHUTDOWN] = "shutdown", [KVM_SYSTEM_EVENT_RESET] = "reset",
    [KVM_SYSTEM_EVENT_CRASH] = "crash",	      [KVM_SYSTEM_EVENT_WAKEUP] = "wakeup",
    [KVM_SYSTEM_EVENT_SUSPEND] = "suspend",   [KVM_SYSTEM_EVENT_SEV_TERM] = "SEV termination",
};

#define NAME_OR(table, i, dflt)                                                                    \
	((i) < sizeof(table) / sizeof((table)[0]) && (table)[i] ? (table)[i] : (dflt))

enum vcpu_exit_class vcpu_exit_classify(const struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return VCPU_EXIT_CLASS_IO;
	case KVM_EXIT_MMIO:
		return VCPU_EXIT_CLASS_MMIO;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* only without an in-kernel LAPIC; resume and wait there */
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return VCPU_EXIT_CLASS_RESUME;
	case KVM_EXIT_INTERNAL_ERROR:
		return VCPU_EXIT_CLASS_INTERNAL;
	default:
		return VCPU_EXIT_CLASS_END;
	}
}

/* "at rip 0x... (instruction bytes: ...)": KVM's bytes when it gives them, else the site's. */
static void format_where(const struct kvm_run *run, const struct vcpu_exit_site *site, char *buf,
			 size_t len)
{
	const uint8_t *insn = site->insn;
	unsigned int n = site->insn_len < sizeof(site->insn) ? site->insn_len : sizeof(site->insn);
	size_t off;

	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		insn = run->emulation_failure.insn_bytes;
		n = run->emulation_failure.insn_size;
		if (n > sizeof(run->emulation_failure.insn_bytes))
			n = sizeof(run->emulation_failure.insn_bytes);
	}
	if (!site->rip_known) {
		snprintf(buf, len, "at an unknown rip");
		return;
	}
	off = (size_t)snprintf(buf, len, "at rip 0x%llx", (unsigned long long)site->rip);
	if (n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " (instruction bytes:");
	for (unsigned int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %02x", insn[i]);
	if (n && off < len)
		snprintf(buf + off, len - off, ")");
}

static int internal_error_outcome(const struct kvm_run *run, const struct vcpu_exit_site *site,
				  const char *where, char *msg, size_t len)
{
	uint32_t sub = run->internal.suberror;

	if (sub == KVM_INTERNAL_ERROR_EMULATION) {
		snprintf(msg, len, "KVM could not emulate an instruction on vCPU %u %s", site->vcpu,
			 where);
		return VMM_EXIT_EMULATION;
	}
	snprintf(msg, len, "KVM internal error: suberror %u (%s) on vCPU %u %s", sub,
		 NAME_OR(suberror_names, sub, "unknown suberror"), site->vcpu, where);
	return VMM_EXIT_UNHANDLED;
}

static int system_event_outcome(const struct kvm_run *run, const struct vcpu_exit_site *site,
				const char *where, char *msg, size_t len)
{
	uint32_t type = run->system_event.type;

	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		snprintf(msg, len, "the guest powered off");
		return VMM_EXIT_OK;
	case KVM_SYSTEM_EVENT_RESET:
		snprintf(msg, len, "the guest asked for a reboot");
		return VMM_EXIT_REBOOT;
	default:
		snprintf(msg, len, "unhandled system event %u (%s) on vCPU %u %s", type,
			 NAME_OR(system_event_names, type, "unknown type"), site->vcpu, where);
		return VMM_EXIT_UNHANDLED;
	}
}

int vcpu_exit_outcome(const struct kvm_run *run, const struct vcpu_exit_site *site, char *msg,
		      size_t len)
{
	char where[160];

	msg[0] = '\0';
	format_where(run, site, where, sizeof(where));
	switch (vcpu_exit_classify(run)) {
	case VCPU_EXIT_CLASS_INTERNAL:
		return internal_error_outcome(run, site, where, msg, len);
	case VCPU_EXIT_CLASS_END:
		break;
	default:
		return -1;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_SYSTEM_EVENT:
		return system_event_outcome(run, site, where, msg, len);
	case KVM_EXIT_SHUTDOWN:
		snprintf(msg, len, "triple fault on vCPU %u %s", site->vcpu, where);
		return VMM_EXIT_TRIPLE_FAULT;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, len,
			 "KVM_EXIT_FAIL_ENTRY on vCPU %u %s: hardware entry failure reason 0x%llx "
			 "on host cpu %u",
			 site->vcpu, where,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		return VMM_EXIT_UNHANDLED;
	default:
		snprintf(msg, len, "unhandled exit %s (%u) on vCPU %u %s",
			 NAME_OR(exit_names, run->exit_reason, "unknown exit reason"),
			 run->exit_reason, site->vcpu, where);
		return VMM_EXIT_UNHANDLED;
	}
}
