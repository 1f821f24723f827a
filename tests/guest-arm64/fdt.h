/* SPDX-License-Identifier: MIT */
/*
 * A small flattened-device-tree reader: one bounded pass over the structure
 * block collects what the test guest needs (console UART, kasan-vmm node,
 * command line, PSCI conduit, RAM, CPUs). The blob is checked before use.
 */
#ifndef A64G_FDT_H
#define A64G_FDT_H

#include "kernel.h"

enum uart_kind { UART_NONE, UART_16550, UART_PL011 };

#define FDT_MAX_CPUS 8

struct fdt_info {
	const char *bootargs; /* NUL-terminated inside the blob, or "" */
	enum uart_kind uart_kind;
	u64 uart_base;
	u32 uart_shift;	 /* 16550 reg-shift */
	bool kv_present; /* a "kasan-vmm,paravirt" node */
	u64 kv_base;	 /* its doorbell page */
	u32 kv_abi, kv_features, kv_mode, kv_rings;
	bool psci_smc; /* PSCI method "smc" (default hvc) */
	u64 ram_base, ram_size;
	u32 nr_cpus;		     /* cpu nodes, in device-tree order */
	u64 cpu_mpidr[FDT_MAX_CPUS]; /* their reg: MPIDR affinity fields */
};

/* 0, or -1 if blob is not a usable device tree (then *out says nothing). */
int fdt_parse(const void *blob, struct fdt_info *out);

#endif
