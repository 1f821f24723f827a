// SPDX-License-Identifier: MIT
/*
 * A second CPU: started with PSCI CPU_ON at boot.S's secondary_entry (own
 * stack, same identity map), it counts in a loop, running code and writing
 * .bss in the same 2 MiB stage-2 region as the slabs, until asked to stop;
 * then it turns itself off (PSCI CPU_OFF). The SMP scenario below makes
 * kasan-vmm change that region's memslots meanwhile.
 */
#include "smp.h"
#include "scenario.h"

#define PSCI_CPU_OFF   0x84000002u
#define PSCI_CPU_ON_64 0xc4000003u
#define START_WAIT_MS  5000

enum { CPU1_OFF, CPU1_RUNNING, CPU1_STOP };

static const struct fdt_info *smp_fdt;
static u8 secondary_stack[16384] __attribute__((aligned(16)));
static u64 secondary_count;
static u32 secondary_state;

void secondary_entry(void);

void smp_init(const struct fdt_info *fdt)
{
	smp_fdt = fdt;
}

static u64 psci(u64 fn, u64 a1, u64 a2, u64 a3)
{
	register u64 x0 asm("x0") = fn;
	register u64 x1 asm("x1") = a1;
	register u64 x2 asm("x2") = a2;
	register u64 x3 asm("x3") = a3;

	if (smp_fdt->psci_smc)
		asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"memory");
	else
		asm volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"memory");
	return x0;
}

void delay_ms(u32 ms)
{
	u64 end = read_counter() + read_sysreg(cntfrq_el0) * ms / 1000;

	while (read_counter() < end)
		;
}

/* Waits up to ms for secondary_state to become want. */
static bool wait_state(u32 want, u32 ms)
{
	u64 end = read_counter() + read_sysreg(cntfrq_el0) * ms / 1000;

	while (__atomic_load_n(&secondary_state, __ATOMIC_ACQUIRE) != want)
		if (read_counter() >= end)
			return false;
	return true;
}

/* Whether the count gets past `from` within ms. */
static bool count_moves(u64 from, u32 ms)
{
	u64 end = read_counter() + read_sysreg(cntfrq_el0) * ms / 1000;

	while (__atomic_load_n(&secondary_count, __ATOMIC_RELAXED) == from)
		if (read_counter() >= end)
			return false;
	return true;
}

noreturn void secondary_main(void);
noreturn void secondary_main(void)
{
	__atomic_store_n(&secondary_state, CPU1_RUNNING, __ATOMIC_RELEASE);
	while (__atomic_load_n(&secondary_state, __ATOMIC_ACQUIRE) == CPU1_RUNNING)
		__atomic_store_n(&secondary_count, secondary_count + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&secondary_state, CPU1_OFF, __ATOMIC_RELEASE);
	psci(PSCI_CPU_OFF, 0, 0, 0);
	for (;;)
		asm volatile("wfi");
}

int smp_start(void)
{
	u64 ret;

	if (!smp_fdt || smp_fdt->nr_cpus < 2)
		return -1;
	ret = psci(PSCI_CPU_ON_64, smp_fdt->cpu_mpidr[1], (u64)secondary_entry,
		   (u64)(secondary_stack + sizeof(secondary_stack)));
	if (ret) {
		printf("# PSCI CPU_ON of MPIDR 0x%lx: %ld\n", smp_fdt->cpu_mpidr[1], (long)ret);
		return -1;
	}
	return wait_state(CPU1_RUNNING, START_WAIT_MS) ? 0 : -1;
}

u64 smp_count(void)
{
	return __atomic_load_n(&secondary_count, __ATOMIC_RELAXED);
}

int smp_stop(void)
{
	__atomic_store_n(&secondary_state, CPU1_STOP, __ATOMIC_RELEASE);
	return wait_state(CPU1_OFF, START_WAIT_MS) ? 0 : -1;
}

/*
 * Memslot changes while another vCPU runs. CPU 1 counts while CPU 0 makes
 * kasan-vmm replace the memslots of the region both run in, again and
 * again: an LL/SC add on a trapped page opens it (the vCPU thread), the
 * host's tick closes it 20 ms later (the main thread), and allocations from
 * four caches bring events and new slab pages. Replacing a region's
 * memslots unmaps it for a moment: a vCPU fetching code there would get an
 * abort injected by KVM (here: an unexpected exception, exit 111), unless
 * kasan-vmm holds every vCPU out of KVM_RUN meanwhile. CPU 1 must keep
 * counting and stop cleanly.
 */
TESTCASE(smp_trap_churn)
{
	u32 *w;
	u64 before;

	if (smp_start()) {
		printf("# SKIP needs a second CPU (kasan-vmm --cpus 2)\n");
		return 0;
	}
	expect_none();
	w = kmalloc(32);
	TEST_ASSERT(w);
	OPTIMIZER_HIDE_VAR(w);
	*(volatile u32 *)w = 0;
	for (u32 i = 0; i < 20; i++) {
		void *p = kmalloc(16u << (i % 4));

		TEST_ASSERT(p);
		kfree(p);
		llsc_add(w, 1);
		delay_ms(25);
	}
	before = smp_count();
	TEST_ASSERT(count_moves(before, START_WAIT_MS)); /* CPU 1 may wait for a host CPU */
	TEST_ASSERT(smp_stop() == 0);
	TEST_ASSERT(*(volatile u32 *)w == 20);
	kfree(w);
	return 0;
}
