/* SPDX-License-Identifier: MIT */
/* Wall-clock delays from the TSC, calibrated once at boot. */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include "kernel.h"

/* Find the TSC rate: hypervisor CPUID leaf, else the PIT, else CPUID 0x15/0x16. */
void tsc_calibrate(void);
u64 tsc_khz(void);
/* TSC value `us` microseconds from now. */
u64 tsc_deadline_us(u64 us);
bool tsc_passed(u64 deadline);
void udelay(u64 us);

#endif
