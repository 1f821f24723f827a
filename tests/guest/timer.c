/* SPDX-License-Identifier: MIT */
#include "timer.h"
#include "printf.h"

#define PIT_HZ	       1193182u
#define PIT_CAL_TICKS  (PIT_HZ / 100) /* 10 ms */
#define PIT_DEAD_POLLS 1000	      /* ~30 ms of port reads without a tick: no PIT */
#define TSC_KHZ_GUESS  2000000u

static u64 khz;

/* Channel 0 count, latched (counts down at PIT_HZ, wraps mod 65536). */
static u16 pit_read0(void)
{
	u8 lo, hi;

	outb(0x43, 0x00);
	lo = inb(0x40);
	hi = inb(0x40);
	return (u16)(lo | (hi << 8));
}

/*
 * Poll channel 0 in rate-generator mode while ~10 ms of PIT ticks elapse.
 * Channel 0 needs no speaker-port gate (QEMU microvm has no port 0x61); its
 * IRQ stays masked at the PIC and IOAPIC.
 */
static u64 pit_calibrate(void)
{
	u32 elapsed = 0, polls = 0;
	u16 prev, now;
	u64 t0, t1;

	outb(0x43, 0x34); /* channel 0, lo/hi byte, mode 2, binary */
	outb(0x40, 0);
	outb(0x40, 0); /* reload value 65536 */
	prev = pit_read0();
	t0 = rdtsc();
	while (elapsed < PIT_CAL_TICKS) {
		now = pit_read0();
		elapsed += (u16)(prev - now);
		prev = now;
		if (++polls > PIT_DEAD_POLLS && elapsed == 0)
			return 0;
	}
	t1 = rdtsc();
	return (t1 - t0) * PIT_HZ / elapsed / 1000;
}

static u64 cpuid_khz(void)
{
	u32 max, a, b, c, d;

	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c)
			return (u64)c * b / a / 1000;
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a)
			return (u64)a * 1000;
	}
	return 0;
}

void tsc_calibrate(void)
{
	const char *src = "PIT";

	khz = pit_calibrate();
	if (!khz) {
		src = "CPUID";
		khz = cpuid_khz();
	}
	if (!khz) {
		src = "a guess";
		khz = TSC_KHZ_GUESS;
	}
	printf("testguest: TSC %lu kHz (from %s)\n", khz, src);
}

u64 tsc_khz(void)
{
	return khz;
}

u64 tsc_deadline_us(u64 us)
{
	return rdtsc() + us * khz / 1000;
}

bool tsc_passed(u64 deadline)
{
	return (s64)(rdtsc() - deadline) >= 0;
}

void udelay(u64 us)
{
	u64 end = tsc_deadline_us(us);

	while (!tsc_passed(end))
		cpu_relax();
}
