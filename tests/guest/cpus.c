/* SPDX-License-Identifier: MIT */
/*
 * CPU discovery from firmware tables: the ACPI MADT when the loader passed
 * an RSDP (QEMU microvm with ACPI), else an MP 1.4 table found by the
 * floating-pointer search (kasan-vmm writes one at 0x9fc00).
 */
#include "bootinfo.h"
#include "mmu.h"
#include "smp.h"
#include "string.h"

struct mp_fp {
	char sig[4]; /* "_MP_" */
	u32 config_pa;
	u8 length; /* in 16-byte units */
	u8 rev;
	u8 checksum;
	u8 features[5];
} __attribute__((packed));

struct mp_config {
	char sig[4]; /* "PCMP" */
	u16 length;
	u8 rev;
	u8 checksum;
	char oem[8];
	char product[12];
	u32 oem_table;
	u16 oem_size;
	u16 entries;
	u32 lapic_pa;
	u16 ext_length;
	u8 ext_checksum;
	u8 reserved;
} __attribute__((packed));

struct acpi_header {
	char sig[4];
	u32 length;
	u8 rev;
	u8 checksum;
	char oem[6];
	char oem_table[8];
	u32 oem_rev;
	u32 creator;
	u32 creator_rev;
} __attribute__((packed));

#define ACPI_TABLE_MAX (64u << 10) /* refuse absurd lengths */

/*
 * Firmware tables live below 4 GiB: read them through the identity map, but
 * only where the memmap says something is there (a hole would be an MMIO
 * exit the VMM may not expect). The NULL page is unmapped: go through the
 * direct map for it.
 */
static const u8 *fw_ptr(u64 pa, u64 len)
{
	for (u32 i = 0; i < bootinfo.nr_mem; i++) {
		const struct mem_range *m = &bootinfo.mem[i];

		if (pa < m->start || pa + len > m->start + m->size || pa + len > SIZE_4G)
			continue;
		if (pa >= PAGE_SIZE)
			return (const u8 *)pa;
		return m->type == MEM_TYPE_RAM ? phys_to_virt(pa) : NULL;
	}
	return NULL;
}

static u8 checksum(const u8 *p, u64 len)
{
	u8 sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

static const struct mp_fp *mp_scan(u64 pa, u64 len)
{
	const u8 *p = fw_ptr(pa, len);

	for (u64 off = 0; p && off + sizeof(struct mp_fp) <= len; off += 16) {
		const struct mp_fp *fp = (const void *)(p + off);

		if (!memcmp(fp->sig, "_MP_", 4) && fp->length == 1 && !checksum(p + off, 16))
			return fp;
	}
	return NULL;
}

static const struct mp_fp *mp_find(void)
{
	const u8 *bda = fw_ptr(0x40e, 2);
	const struct mp_fp *fp = NULL;
	u64 ebda = bda ? (u64)(bda[0] | (bda[1] << 8)) << 4 : 0;

	if (ebda)
		fp = mp_scan(ebda, 1024);
	if (!fp)
		fp = mp_scan(0x9fc00, 1024);
	if (!fp)
		fp = mp_scan(0xf0000, 0x10000);
	return fp;
}

static u32 mp_parse(u32 *ids, u32 max)
{
	const struct mp_fp *fp = mp_find();
	const struct mp_config *cfg;
	const u8 *e, *end;
	u32 n = 0;

	if (!fp || !fp->config_pa)
		return 0; /* no table, or an MP "default configuration": treat as none */
	cfg = (const void *)fw_ptr(fp->config_pa, sizeof(*cfg));
	if (!cfg || memcmp(cfg->sig, "PCMP", 4) || !fw_ptr(fp->config_pa, cfg->length) ||
	    checksum((const u8 *)cfg, cfg->length))
		return 0;
	e = (const u8 *)(cfg + 1);
	end = (const u8 *)cfg + cfg->length;
	/* Walk by length: qboot (QEMU microvm, acpi=off) leaves the entry count 0. */
	for (u32 i = 0; (!cfg->entries || i < cfg->entries) && e < end; i++) {
		if (e[0] == 0) { /* processor: 20 bytes; flags bit 0 = enabled */
			if (e + 20 > end)
				break;
			if ((e[3] & 1) && n < max)
				ids[n++] = e[1];
			e += 20;
		} else {
			e += 8; /* bus, IOAPIC, interrupt assignments */
		}
	}
	return n;
}

static const struct acpi_header *acpi_table(u64 pa)
{
	const struct acpi_header *h = (const void *)fw_ptr(pa, sizeof(*h));

	if (!h || h->length < sizeof(*h) || h->length > ACPI_TABLE_MAX || !fw_ptr(pa, h->length) ||
	    checksum((const u8 *)h, h->length))
		return NULL;
	return h;
}

/* The MADT through the XSDT (ACPI 2+) or the RSDT. */
static const struct acpi_header *acpi_find_madt(u64 rsdp_pa)
{
	const u8 *rsdp = fw_ptr(rsdp_pa, 36);
	const struct acpi_header *sdt;
	u32 width;

	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) || checksum(rsdp, 20))
		return NULL;
	if (rsdp[15] >= 2 && *(const u64 *)(rsdp + 24)) {
		sdt = acpi_table(*(const u64 *)(rsdp + 24));
		width = 8;
	} else {
		sdt = acpi_table(*(const u32 *)(rsdp + 16));
		width = 4;
	}
	if (!sdt)
		return NULL;
	for (u32 off = sizeof(*sdt); off + width <= sdt->length; off += width) {
		const u8 *p = (const u8 *)sdt + off;
		u64 pa = width == 8 ? *(const u64 *)p : *(const u32 *)p;
		const struct acpi_header *t = acpi_table(pa);

		if (t && !memcmp(t->sig, "APIC", 4))
			return t;
	}
	return NULL;
}

static u32 madt_parse(u64 rsdp_pa, u32 *ids, u32 max)
{
	const struct acpi_header *madt = acpi_find_madt(rsdp_pa);
	const u8 *e, *end;
	u32 n = 0;

	if (!madt)
		return 0;
	e = (const u8 *)madt + sizeof(*madt) + 8; /* LAPIC address, flags */
	end = (const u8 *)madt + madt->length;
	while (e + 2 <= end && e[1] >= 2 && e + e[1] <= end) {
		/* Processor Local APIC: [2] ACPI id, [3] APIC id, [4] flags bit 0 enabled */
		if (e[0] == 0 && e[1] >= 8 && (e[4] & 1) && n < max)
			ids[n++] = e[3];
		e += e[1];
	}
	return n;
}

u32 cpus_discover(u32 *ids, u32 max, const char **source)
{
	u32 n = 0;

	if (bootinfo.rsdp_paddr) {
		n = madt_parse(bootinfo.rsdp_paddr, ids, max);
		*source = "ACPI MADT";
	}
	if (!n) {
		n = mp_parse(ids, max);
		*source = "MP table";
	}
	if (!n)
		*source = "no table: boot cpu only";
	return n;
}
