// SPDX-License-Identifier: MIT
/* MP 1.4 table, read back byte by byte with the spec's offsets as Linux's parser would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/boot.h"
#include "vmm/config.h"

#define RAM_SIZE (16u << 20)

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint32_t le(const uint8_t *p, unsigned int bytes)
{
	uint32_t v = 0;

	memcpy(&v, p, bytes);
	return v;
}

/* Scans [0x9fc00, 0xa0000) for "_MP_" on 16-byte boundaries, as Linux does. */
static const uint8_t *find_mpf(const struct guest_ram *ram)
{
	for (uint64_t a = 0x9fc00; a < 0xa0000; a += 16) {
		const uint8_t *p = guest_ram_ptr(ram, a, 16);

		if (memcmp(p, "_MP_", 4) == 0 && sum(p, 16) == 0)
			return p;
	}
	return NULL;
}

static void check_table(unsigned int cpus)
{
	struct guest_ram ram = {.alias = calloc(1, RAM_SIZE), .size = RAM_SIZE};
	const uint8_t *mpf, *t, *e, *end;
	unsigned int count[5] = {0}, entries, isa_bus = 0xff, ioapic_id = 0xff;
	uint8_t pin_of_irq[16], extint = 0, nmi = 0;

	assert_non_null(ram.alias);
	memset(pin_of_irq, 0xff, sizeof(pin_of_irq));
	assert_int_equal(mptable_write(&ram, cpus), 0);
	mpf = find_mpf(&ram);
	assert_non_null(mpf);
	assert_int_equal(mpf[8], 1);  /* length in paragraphs */
	assert_int_equal(mpf[9], 4);  /* spec 1.4 */
	assert_int_equal(mpf[11], 0); /* feature byte 1: a config table follows, no default */
	t = guest_ram_ptr(&ram, le(mpf + 4, 4), 44);
	assert_non_null(t);
	assert_memory_equal(t, "PCMP", 4);
	assert_int_equal(t[6], 4);
	assert_true(le(t + 4, 2) >= 44);
	assert_true(le(mpf + 4, 4) + le(t + 4, 2) <= 0xa0000); /* stays in its KiB */
	assert_int_equal(sum(t, le(t + 4, 2)), 0);
	assert_int_equal(le(t + 36, 4), 0xfee00000);
	entries = le(t + 34, 2);
	end = t + le(t + 4, 2);

	e = t + 44;
	for (unsigned int i = 0; i < entries; i++) {
		assert_true(e[0] <= 4);
		count[e[0]]++;
		switch (e[0]) {
		case 0:						       /* processor */
			assert_int_equal(e[1], count[0] - 1);	       /* APIC id = index */
			assert_int_equal(e[3], count[0] == 1 ? 3 : 1); /* enabled, BSP on 0 */
			e += 20;
			continue;
		case 1:
			assert_memory_equal(e + 2, "ISA   ", 6);
			isa_bus = e[1];
			break;
		case 2:
			ioapic_id = e[1];
			assert_int_equal(e[2], 0x11);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(le(e + 4, 4), 0xfec00000);
			break;
		case 3: /* I/O interrupt: INT from the ISA bus to our IOAPIC */
			assert_int_equal(e[1], 0);
			assert_int_equal(e[4], isa_bus);
			assert_true(e[5] < 16);
			assert_int_equal(e[6], ioapic_id);
			pin_of_irq[e[5]] = e[7];
			break;
		case 4: /* local interrupt: to all LAPICs */
			assert_int_equal(e[6], 0xff);
			if (e[1] == 3 && e[7] == 0)
				extint++;
			if (e[1] == 1 && e[7] == 1)
				nmi++;
			break;
		}
		e += 8;
	}
	assert_ptr_equal(e, end); /* length matches the entries */
	assert_int_equal(count[0], cpus);
	assert_int_equal(count[1], 1);
	assert_int_equal(count[2], 1);
	assert_int_equal(ioapic_id, cpus); /* after the LAPIC ids */
	assert_int_equal(count[3], 15);	   /* ISA IRQs 0-15 but the cascade */
	assert_int_equal(count[4], 2);
	assert_int_equal(extint, 1);
	assert_int_equal(nmi, 1);
	assert_int_equal(entries, cpus + 19);
	assert_int_equal(pin_of_irq[0], 2);
	assert_int_equal(pin_of_irq[2], 0xff);
	for (unsigned int irq = 1; irq < 16; irq++)
		if (irq != 2)
			assert_int_equal(pin_of_irq[irq], irq);
	free(ram.alias);
}

static void test_one_cpu(void **state)
{
	(void)state;
	check_table(1);
}

static void test_two_cpus(void **state)
{
	(void)state;
	check_table(2);
}

static void test_eight_cpus(void **state)
{
	(void)state;
	check_table(8);
}

static void test_max_cpus(void **state)
{
	(void)state;
	check_table(CONFIG_CPUS_MAX);
	check_table(BOOT_MPTABLE_CPUS_MAX);
}

static void test_rejects(void **state)
{
	struct guest_ram ram = {.alias = calloc(1, RAM_SIZE), .size = RAM_SIZE};
	struct guest_ram tiny = {.alias = ram.alias, .size = 0x9fc00};

	(void)state;
	assert_int_equal(mptable_write(&ram, 0), -EINVAL);
	assert_int_equal(mptable_write(&ram, BOOT_MPTABLE_CPUS_MAX + 1), -EINVAL);
	assert_int_equal(mptable_write(&tiny, 1), -EINVAL); /* region not in RAM */
	free(ram.alias);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_cpu),    cmocka_unit_test(test_two_cpus),
	    cmocka_unit_test(test_eight_cpus), cmocka_unit_test(test_max_cpus),
	    cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
