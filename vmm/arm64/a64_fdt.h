/* SPDX-License-Identifier: MIT */
/*
 * The arm64 guest's device tree, built with libfdt from a plain description
 * of the machine: memory, cpus (PSCI), psci, the architected timer, the GIC
 * v3, the 16550A UART, /chosen, and the kasan-vmm paravirtual node that
 * replaces x86's CPUID discovery (paravirt/ABI.md, "Discovery on arm64").
 *
 * Portable C (no KVM headers): unit-tested on x86 by parsing the blob back
 * with libfdt and with dtc.
 */
#ifndef VMM_ARM64_A64_FDT_H
#define VMM_ARM64_A64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define A64_BOOTARGS_MAX 2048 /* Linux arm64 COMMAND_LINE_SIZE, NUL included */

struct a64_fdt_region {
	uint64_t base, size;
};

/* The kasan-vmm node: the values x86 guests read from CPUID 0x40000100/0x40000101. */
struct a64_fdt_kvmm {
	bool present;
	struct a64_fdt_region doorbell; /* the doorbell page */
	uint32_t abi_version;		/* 0x40000100 EAX */
	uint32_t features;		/* 0x40000101 EAX */
	uint32_t mode;			/* 0x40000101 ECX */
	uint32_t rings;			/* 0x40000101 EDX */
};

struct a64_fdt_config {
	struct a64_fdt_region ram;
	unsigned int nr_cpus;
	const uint64_t *mpidr; /* MPIDR_EL1 of each vCPU (Aff3 must be 0) */
	struct a64_fdt_region gic_dist;
	struct a64_fdt_region gic_redist; /* all redistributors, one region */
	struct a64_fdt_region uart;
	uint32_t uart_spi; /* GIC SPI number (INTID - 32) */
	uint32_t uart_clock;
	bool psci_1_0;			   /* also claim "arm,psci-1.0" */
	const char *bootargs;		   /* NULL: none */
	uint64_t initrd_start, initrd_end; /* [start, end) in RAM; equal: no initrd */
	struct a64_fdt_kvmm kvmm;
};

/* MPIDR_EL1 that KVM gives vCPU `index` by default (Aff0 0..15, then Aff1, Aff2). */
uint64_t a64_default_mpidr(unsigned int index);

/*
 * Fill cfg with this machine's layout (vmm/arm64/a64_platform.h) for
 * nr_cpus vCPUs and ram_size bytes of RAM; mpidr, bootargs, initrd and
 * kvmm are left for the caller.
 */
void a64_fdt_config_platform(struct a64_fdt_config *cfg, unsigned int nr_cpus, uint64_t ram_size);

/*
 * Writes the flattened device tree into buf (at most cap bytes, cap <=
 * A64_FDT_MAX_SIZE) and its size into *len. -EINVAL for a bad config (a
 * message names the field), -ENOSPC if the tree does not fit in cap.
 */
int a64_fdt_build(const struct a64_fdt_config *cfg, void *buf, size_t cap, size_t *len);

#endif /* VMM_ARM64_A64_FDT_H */
