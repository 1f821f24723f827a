/* SPDX-License-Identifier: MIT */
#include "smp.h"
#include "apic.h"
#include "idt.h"
#include "mmu.h"
#include "printf.h"
#include "smp_defs.h"
#include "string.h"
#include "timer.h"

#define INIT_DELAY_US  10000   /* INIT to first SIPI (MP spec) */
#define SIPI_DELAY_US  200     /* between the two SIPIs */
#define ONLINE_WAIT_US 2000000 /* give up on late APs after this long */

extern const char ap_trampoline_start[], ap_trampoline_end[];

struct cpu cpus[MAX_CPUS];
u32 nr_cpus = 1;
static u32 cpus_online = 1;

void smp_early_init(void)
{
	cpus[0].self = &cpus[0];
	cpus[0].id = 0;
	cpus[0].online = 1;
	wrmsr(MSR_GS_BASE, (u64)&cpus[0]);
}

u32 smp_cpus_online(void)
{
	return __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
}

static void wake_handler(struct isr_frame *f)
{
	(void)f;
	lapic_eoi();
}

static void spurious_handler(struct isr_frame *f)
{
	(void)f; /* spurious vectors take no EOI */
}

/* Fill cpus[] from the firmware tables, boot CPU first. */
static void discover(void)
{
	u32 ids[MAX_CPUS], n, bsp = lapic_id();
	const char *src = "none";

	n = cpus_discover(ids, MAX_CPUS, &src);
	cpus[0].apic_id = bsp;
	nr_cpus = 1;
	for (u32 i = 0; i < n; i++) {
		if (ids[i] == bsp)
			continue;
		cpus[nr_cpus] =
		    (struct cpu){.self = &cpus[nr_cpus], .id = nr_cpus, .apic_id = ids[i]};
		nr_cpus++;
	}
	printf("testguest: %u cpus found (%s), boot cpu apic id %u\n", nr_cpus, src, bsp);
}

static void sipi_all(void)
{
	for (u32 i = 1; i < nr_cpus; i++) {
		if (!__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
			lapic_send_ipi(cpus[i].apic_id,
				       ICR_STARTUP | ICR_LEVEL_ASSERT | (AP_TRAMPOLINE_PA >> 12));
	}
}

/* All APs at once: one INIT wait for everybody keeps boot short. */
static void start_aps(void)
{
	u64 deadline;

	if (!mmu_is_ram(AP_TRAMPOLINE_PA, PAGE_SIZE))
		printf("testguest: warning: 0x%x is not RAM in the memmap\n", AP_TRAMPOLINE_PA);
	memcpy((void *)(u64)AP_TRAMPOLINE_PA, ap_trampoline_start,
	       ap_trampoline_end - ap_trampoline_start);
	for (u32 i = 1; i < nr_cpus; i++)
		lapic_send_ipi(cpus[i].apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
	udelay(INIT_DELAY_US);
	sipi_all();
	udelay(SIPI_DELAY_US);
	sipi_all(); /* ignored by APs already running */
	deadline = tsc_deadline_us(ONLINE_WAIT_US);
	while (smp_cpus_online() < nr_cpus && !tsc_passed(deadline))
		cpu_relax();
}

void smp_init(void)
{
	idt_set_handler(APIC_VEC_WAKE, wake_handler);
	idt_set_handler(APIC_VEC_SPURIOUS, spurious_handler);
	lapic_init();
	discover();
	if (nr_cpus > 1)
		start_aps();
	printf("testguest: cpus online: %u\n", smp_cpus_online());
}

/* Idle with interrupts off; sti;hlt wakes on the wake IPI (a pending one included). */
static noreturn void ap_idle(struct cpu *c)
{
	for (;;) {
		void (*fn)(void *) = __atomic_load_n(&c->work_fn, __ATOMIC_ACQUIRE);

		if (fn) {
			c->work_fn = NULL;
			fn(c->work_arg);
			__atomic_store_n(&c->work_done, 1, __ATOMIC_RELEASE);
			continue;
		}
		asm volatile("sti; hlt; cli" ::: "memory");
	}
}

void ap_main(u32 ticket);
void ap_main(u32 ticket)
{
	u32 apic = lapic_id();
	struct cpu *c = NULL;

	(void)ticket;
	for (u32 i = 1; i < nr_cpus && !c; i++) {
		if (cpus[i].apic_id == apic)
			c = &cpus[i];
	}
	if (!c)
		for (;;)
			asm volatile("cli; hlt"); /* not in the tables: stay parked */
	wrmsr(MSR_GS_BASE, (u64)c);
	idt_load();
	lapic_init();
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
	ap_idle(c);
}

int smp_call_on(u32 cpu, void (*fn)(void *), void *arg, u64 timeout_us)
{
	struct cpu *c = &cpus[cpu];
	u64 deadline;

	if (cpu >= nr_cpus || !__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
		return -1;
	if (cpu == smp_processor_id()) {
		fn(arg);
		return 0;
	}
	c->work_done = 0;
	c->work_arg = arg;
	__atomic_store_n(&c->work_fn, fn, __ATOMIC_RELEASE);
	lapic_send_ipi(c->apic_id, ICR_FIXED | ICR_LEVEL_ASSERT | APIC_VEC_WAKE);
	deadline = tsc_deadline_us(timeout_us);
	while (!__atomic_load_n(&c->work_done, __ATOMIC_ACQUIRE)) {
		if (tsc_passed(deadline))
			return -1;
		cpu_relax();
	}
	return 0;
}
