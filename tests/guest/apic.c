/* SPDX-License-Identifier: MIT */
#include "apic.h"

#define APIC_BASE_DEFAULT 0xfee00000ull
#define APIC_ID		  0x020
#define APIC_TPR	  0x080
#define APIC_EOI	  0x0b0
#define APIC_SVR	  0x0f0
#define APIC_ICR	  0x300
#define APIC_ICR2	  0x310
#define ICR_BUSY	  0x1000u
#define ICR_SPINS	  100000

static u64 apic_base = APIC_BASE_DEFAULT;

static u32 apic_read(u32 reg)
{
	return mmio_read32(apic_base + reg);
}

static void apic_write(u32 reg, u32 v)
{
	mmio_write32(apic_base + reg, v);
}

void lapic_init(void)
{
	/* The MSR tells where the APIC really is (identity-mapped, uncached, below 4 GiB). */
	u64 base = rdmsr(MSR_APIC_BASE) & 0xfffff000ull;

	if (base && base < (4ull << 30))
		apic_base = base;
	apic_write(APIC_TPR, 0);
	apic_write(APIC_SVR, 0x100 | APIC_VEC_SPURIOUS);
}

u32 lapic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

void lapic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

int lapic_send_ipi(u32 apic_id, u32 cmd)
{
	apic_write(APIC_ICR2, apic_id << 24);
	apic_write(APIC_ICR, cmd);
	for (int i = 0; i < ICR_SPINS; i++) {
		if (!(apic_read(APIC_ICR) & ICR_BUSY))
			return 0;
		cpu_relax();
	}
	return -1;
}

void pic_disable(void)
{
	outb(0xa1, 0xff);
	outb(0x21, 0xff);
}
