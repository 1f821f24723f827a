// SPDX-License-Identifier: MIT
/*
 * Intel MultiProcessor Specification 1.4 table: how Linux finds the vCPUs
 * and the IOAPIC without ACPI. The floating pointer and the configuration
 * table both live in the last KiB below 640 KiB, which Linux scans and the
 * e820 map reserves.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/log.h"

#define MP_SPEC_REV	 4 /* 1.4 */
#define MP_LAPIC_ADDR	 0xfee00000u
#define MP_IOAPIC_ADDR	 0xfec00000u
#define MP_APIC_VERSION	 0x14
#define MP_IOAPIC_VER	 0x11
#define MP_CPU_SIGNATURE 0x600 /* family 6 */
#define MP_CPU_FEATURES	 0x201 /* FPU, APIC */
#define MP_ISA_IRQS	 16
#define MP_IRQ_CASCADE	 2 /* the PIC cascade: no IOAPIC route of its own */

enum mp_entry_type { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum mp_irq_type { MP_IRQ_INT = 0, MP_IRQ_NMI = 1, MP_IRQ_EXTINT = 3 };

#define MP_CPU_ENABLED 1
#define MP_CPU_BSP     2
#define MP_IOAPIC_EN   1

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t table_addr;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* all 0: a configuration table is present */
} __attribute__((packed));

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type;
	uint8_t apic_id;
	uint8_t version;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));

/* Both I/O and local interrupt assignment entries have this shape. */
struct mp_irq {
	uint8_t type;
	uint8_t irq_type;
	uint16_t flags; /* 0: polarity and trigger conform to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer size");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header size");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry size");
_Static_assert(sizeof(struct mp_irq) == 8 && sizeof(struct mp_bus) == 8, "MP entry size");

#define MP_FIXED_SIZE                                                                              \
	(sizeof(struct mp_floating) + sizeof(struct mp_config) + sizeof(struct mp_bus) +           \
	 sizeof(struct mp_ioapic) + (MP_ISA_IRQS - 1 + 2) * sizeof(struct mp_irq))
_Static_assert(MP_FIXED_SIZE + BOOT_MPTABLE_CPUS_MAX * sizeof(struct mp_processor) <=
		   BOOT_MPTABLE_SIZE,
	       "BOOT_MPTABLE_CPUS_MAX vCPUs do not fit in the MP table region");
_Static_assert(CONFIG_CPUS_MAX <= BOOT_MPTABLE_CPUS_MAX, "--cpus allows more than the MP table");

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)(0 - sum);
}

/* Appends one entry at *pos and counts it. */
static void mp_put(uint8_t **pos, const void *entry, size_t len, uint16_t *count)
{
	memcpy(*pos, entry, len);
	*pos += len;
	(*count)++;
}

static void mp_put_irqs(uint8_t **pos, uint8_t ioapic_id, uint16_t *count)
{
	struct mp_irq irq = {.type = MP_INTSRC, .irq_type = MP_IRQ_INT, .dst_apic = ioapic_id};

	for (unsigned int i = 0; i < MP_ISA_IRQS; i++) {
		if (i == MP_IRQ_CASCADE)
			continue;
		irq.src_irq = (uint8_t)i;
		/* The PIT's IRQ 0 arrives on IOAPIC pin 2, as on PC chipsets (and QEMU, kvmtool).
		 */
		irq.dst_pin = (uint8_t)(i == 0 ? 2 : i);
		mp_put(pos, &irq, sizeof(irq), count);
	}
	irq = (struct mp_irq){.type = MP_LINTSRC, .irq_type = MP_IRQ_EXTINT, .dst_apic = 0xff};
	mp_put(pos, &irq, sizeof(irq), count);
	irq.irq_type = MP_IRQ_NMI;
	irq.dst_pin = 1;
	mp_put(pos, &irq, sizeof(irq), count);
}

int mptable_write(const struct guest_ram *ram, unsigned int cpus)
{
	uint8_t *base = guest_ram_ptr(ram, BOOT_MPTABLE_GPA, BOOT_MPTABLE_SIZE);
	struct mp_floating *mpf = (struct mp_floating *)base;
	struct mp_config cfg = {.signature = {'P', 'C', 'M', 'P'}, .spec_rev = MP_SPEC_REV};
	struct mp_processor cpu = {.type = MP_PROCESSOR,
				   .apic_version = MP_APIC_VERSION,
				   .signature = MP_CPU_SIGNATURE,
				   .features = MP_CPU_FEATURES};
	struct mp_bus bus = {.type = MP_BUS, .bus_type = {'I', 'S', 'A', ' ', ' ', ' '}};
	struct mp_ioapic ioapic = {.type = MP_IOAPIC,
				   .apic_id = (uint8_t)cpus,
				   .version = MP_IOAPIC_VER,
				   .flags = MP_IOAPIC_EN,
				   .addr = MP_IOAPIC_ADDR};
	uint8_t *table, *pos;
	uint16_t count = 0;

	if (!base || cpus == 0 || cpus > BOOT_MPTABLE_CPUS_MAX) {
		pr_err("MP table: %u vCPUs do not fit (1..%d, RAM must cover 0x%x)", cpus,
		       BOOT_MPTABLE_CPUS_MAX, BOOT_MPTABLE_GPA + BOOT_MPTABLE_SIZE);
		return -EINVAL;
	}
	memset(base, 0, BOOT_MPTABLE_SIZE);
	table = base + sizeof(*mpf);
	pos = table + sizeof(cfg);
	for (unsigned int i = 0; i < cpus; i++) {
		cpu.apic_id = (uint8_t)i;
		cpu.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		mp_put(&pos, &cpu, sizeof(cpu), &count);
	}
	mp_put(&pos, &bus, sizeof(bus), &count);
	mp_put(&pos, &ioapic, sizeof(ioapic), &count);
	mp_put_irqs(&pos, ioapic.apic_id, &count);

	memcpy(cfg.oem, "KASANVMM", 8);
	memcpy(cfg.product, "kasan-vmm   ", 12);
	cfg.lapic_addr = MP_LAPIC_ADDR;
	cfg.entry_count = count;
	cfg.length = (uint16_t)(pos - table);
	memcpy(table, &cfg, sizeof(cfg));
	table[offsetof(struct mp_config, checksum)] = mp_checksum(table, cfg.length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->table_addr = BOOT_MPTABLE_GPA + sizeof(*mpf);
	mpf->length = 1;
	mpf->spec_rev = MP_SPEC_REV;
	mpf->checksum = mp_checksum(base, sizeof(*mpf));
	return 0;
}
