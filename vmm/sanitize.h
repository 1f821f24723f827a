/* SPDX-License-Identifier: MIT */
/*
 * The sanitizer as the VM sees it: wires the paravirt consumer (events from
 * the guest), shadow/'s sanitizer state, symbols, the unwinder and the
 * durable report log together, and gives the vCPU loop a few hooks.
 */
#ifndef VMM_SANITIZE_H
#define VMM_SANITIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "ept/ept.h"

struct vm;
struct vcpu;
struct san;

/* After guest RAM exists and before vCPUs are created. -errno on failure. */
int san_create(struct vm *vm, struct san **out);
void san_destroy(struct san *san);

/* Add the discovery leaves to the guest CPUID. */
int san_add_cpuid(struct san *san, struct kvm_cpuid2 *cpuid, uint32_t capacity);

/* KV_PORT_DOORBELL from a vCPU. */
void san_doorbell(struct vcpu *vcpu, uint32_t value);
/* Every exit of a vCPU (async mode drains here too) and the end of the run. */
void san_on_exit(struct vcpu *vcpu);
void san_finish(struct san *san);

/* ept's judge (ctx: the struct vm): drain the rings, check the access, report it. */
enum ept_verdict san_judge(void *ctx, const struct ept_access *a);

/* Periodic: drains the rings in async modes. NULL-safe. */
void san_tick(struct san *san);

void san_print_stats(struct san *san);

#endif /* VMM_SANITIZE_H */
