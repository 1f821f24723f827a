/* SPDX-License-Identifier: MIT */
/* A second CPU for the SMP scenario (smp.c). */
#ifndef A64G_SMP_H
#define A64G_SMP_H

#include "fdt.h"
#include "kernel.h"

/* The device tree's CPUs and PSCI conduit (kmain, once). */
void smp_init(const struct fdt_info *fdt);
/* Start the second CPU counting (PSCI CPU_ON): 0, or -1 if there is none or it did not start. */
int smp_start(void);
/* How far it has counted. */
u64 smp_count(void);
/* Ask it to stop and wait until it turned itself off: 0, or -1 if it did not. */
int smp_stop(void);
/* Busy-wait on the virtual counter. */
void delay_ms(u32 ms);

#endif
