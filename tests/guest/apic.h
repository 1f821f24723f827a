/* SPDX-License-Identifier: MIT */
/* Local APIC in xAPIC (MMIO) mode, and masking the legacy 8259 PICs. */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include "kernel.h"

#define APIC_VEC_WAKE	  0xf0 /* IPI that wakes an idle CPU to look for work */
#define APIC_VEC_SPURIOUS 0xff

#define ICR_INIT	 0x00000500u
#define ICR_STARTUP	 0x00000600u
#define ICR_FIXED	 0x00000000u
#define ICR_LEVEL_ASSERT 0x00004000u
#define ICR_LEVEL_TRIG	 0x00008000u

/* Software-enable this CPU's LAPIC (spurious vector 0xff), accept all priorities. */
void lapic_init(void);
u32 lapic_id(void);
void lapic_eoi(void);
/* Send an IPI (ICR low = cmd) to apic_id; -1 if it stays pending too long. */
int lapic_send_ipi(u32 apic_id, u32 cmd);
/* Mask both 8259s: nothing in the guest uses legacy interrupts. */
void pic_disable(void);

#endif
