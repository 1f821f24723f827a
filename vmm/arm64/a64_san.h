/* SPDX-License-Identifier: MIT */
/*
 * The sanitizer as the arm64 VMM sees it: the paravirt consumer (events from
 * the doorbell page), shadow/'s state, symbols and the durable report log,
 * wired as vmm/sanitize.c does for x86, with arm64's guest state: the
 * stage-1 registers for address translation and x29/x30 frame records for
 * stacks.
 *
 * Portable (guest RAM is a plain alias; the VMM provides hooks), so the
 * doorbell -> events -> judge -> report path is unit-tested on x86.
 */
#ifndef VMM_ARM64_A64_SAN_H
#define VMM_ARM64_A64_SAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/arm64/a64_cli.h"
#include "vmm/arm64/a64_fdt.h"
#include "vmm/arm64/a64_mmu.h"

struct a64_san_config {
	const struct a64_cli *cli; /* mode, events, fault, multi_shot, log, symbols */
	uint8_t *ram;		   /* always read-write alias of guest RAM */
	uint64_t ram_ipa, ram_size;
	unsigned int nr_cpus;
	/* A page became poisoned (arm it: accesses must trap) or clean. */
	void (*arm)(void *ctx, uint64_t ipa_page, bool poisoned);
	/* fault=panic*: end the run with this exit code. */
	void (*stop)(void *ctx, int code, const char *reason);
	void *ctx;
};

/* One vCPU's state at an exit, as the judge and the doorbell need it. */
struct a64_san_cpu {
	unsigned int cpu;
	uint64_t pc, fp, lr; /* PC, x29, x30 */
	struct a64_mmu_regs mmu;
};

struct a64_san;

int a64_san_create(const struct a64_san_config *cfg, struct a64_san **out);
void a64_san_destroy(struct a64_san *s);

/* The device tree's kasan-vmm node: what x86 guests read from CPUID. */
void a64_san_fdt_node(struct a64_san *s, uint64_t doorbell_base, struct a64_fdt_kvmm *out);

/* A 32-bit store to the doorbell register. */
void a64_san_doorbell(struct a64_san *s, const struct a64_san_cpu *c, uint32_t value);

/*
 * A trapped access to guest RAM: drain the rings, judge [ipa, ipa + len)
 * (va: the address the guest used, tag included; 0 if unknown), report it.
 * True if it was reported; the access is completed by the caller either way.
 */
bool a64_san_judge(struct a64_san *s, const struct a64_san_cpu *c, uint64_t ipa, uint64_t va,
		   uint32_t len, bool write);

/* Tag mode: tagged accesses are judged on every trapped page, poisoned or not. */
bool a64_san_checks_tags(struct a64_san *s);
/* Any shadow byte of [ipa, ipa + len) poisoned (the page should stay armed)? */
bool a64_san_poisoned(struct a64_san *s, uint64_t ipa, uint32_t len);

/* Every exit (async drains) and the periodic tick. NULL-safe. */
void a64_san_on_exit(struct a64_san *s);
void a64_san_tick(struct a64_san *s);
/* Apply everything the guest published (before judging, at the end of the run). NULL-safe. */
void a64_san_flush(struct a64_san *s);
void a64_san_print_stats(struct a64_san *s);

/*
 * MTE hosts: the guest's allocation tags of [ipa, ipa + 16 * n) as
 * KVM_ARM_MTE_COPY_TAGS returns them (one byte per granule, tag in bits
 * 3:0), recorded in a host tag map (shadow/tags.h) in Linux's HW_TAGS
 * encoding (0xF0 | tag). False if the range is not RAM.
 */
bool a64_san_mte_import(struct a64_san *s, uint64_t ipa, const uint8_t *tags, size_t n);
/* The recorded guest MTE tag of a granule (0xFF: never imported). */
bool a64_san_mte_tag(struct a64_san *s, uint64_t ipa, uint8_t *tag);

#endif /* VMM_ARM64_A64_SAN_H */
