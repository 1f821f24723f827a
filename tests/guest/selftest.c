/* SPDX-License-Identifier: MIT */
/* Self-tests of the guest's own machinery; they run before any KASAN scenario. */
#include "mmu.h"
#include "smp.h"
#include "string.h"
#include "testcase.h"

#define CALL_TIMEOUT_US 1000000

struct whoami {
	u32 id;
	u32 apic_id;
};

static void report_cpu(void *arg)
{
	struct whoami *w = arg;

	w->id = smp_processor_id();
	w->apic_id = this_cpu()->apic_id;
}

/* Every CPU the tables list came online and runs work sent to it. */
TESTCASE(boot_smp)
{
	TEST_ASSERT(smp_cpus_online() == nr_cpus);
	for (u32 i = 0; i < nr_cpus; i++) {
		struct whoami w = {~0u, ~0u};

		TEST_ASSERT(smp_call_on(i, report_cpu, &w, CALL_TIMEOUT_US) == 0);
		TEST_ASSERT(w.id == i);
		TEST_ASSERT(w.apic_id == cpus[i].apic_id);
	}
	return 0;
}

static u8 scratch[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* The direct map and a vmalloc-area mapping alias the same physical page. */
TESTCASE(boot_mmu)
{
	u64 pa = virt_to_phys(scratch);
	volatile u64 *direct = phys_to_virt(pa);
	volatile u64 *vm = (volatile u64 *)(VMALLOC_START + 0x10000);

	TEST_ASSERT(mmu_translate((u64)direct) == pa);
	scratch[8] = 0x5a;
	TEST_ASSERT(((volatile u8 *)direct)[8] == 0x5a);
	TEST_ASSERT(mmu_translate((u64)vm) == ~0ull);
	TEST_ASSERT(mmu_map_4k((u64)vm, pa, PTE_W) == 0);
	TEST_ASSERT(mmu_translate((u64)vm + 8) == pa + 8);
	vm[2] = 0x1122334455667788ull;
	TEST_ASSERT(direct[2] == 0x1122334455667788ull);
	TEST_ASSERT(mmu_unmap_4k((u64)vm) == 0);
	TEST_ASSERT(mmu_translate((u64)vm) == ~0ull);
	TEST_ASSERT(mmu_translate(0) == ~0ull); /* NULL page unmapped */
	return 0;
}

/* printf formatting and the string helpers. */
TESTCASE(boot_libc)
{
	char buf[64];
	char ov[8] = "abcdefg";

	snprintf(buf, sizeof(buf), "%d|%u|%x|%lx|%5s|%-3c|%04d|%%|%.2s", -42, 42u, 0xbeefu,
		 0xffff888000000000ul, "ab", 'z', 7, "xyz");
	TEST_ASSERT(!strcmp(buf, "-42|42|beef|ffff888000000000|   ab|z  |0007|%|xy"));
	TEST_ASSERT(snprintf(buf, 4, "%s", "toolong") == 7 && !strcmp(buf, "too"));
	TEST_ASSERT(strscpy(buf, "hello", 3) == -1 && !strcmp(buf, "he"));
	TEST_ASSERT(strscpy(buf, "hi", sizeof(buf)) == 2);
	memmove(ov + 1, ov, 5);
	TEST_ASSERT(!memcmp(ov, "aabcdeg", 8));
	memset(buf, 'q', 10);
	TEST_ASSERT(memchr(buf, 'q', 10) == buf && !memchr(buf, 'x', 10));
	TEST_ASSERT(strlen("12345") == 5 && strcmp("a", "b") < 0 && strncmp("ab", "ac", 1) == 0);
	return 0;
}
