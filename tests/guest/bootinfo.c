/* SPDX-License-Identifier: MIT */
#include "bootinfo.h"
#include "printf.h"
#include "string.h"

#define HVM_START_MAGIC 0x336ec578u

/* Xen's public hvm_start_info layout (arch-x86/hvm/start_info.h). */
struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;   /* version >= 1 */
	u32 memmap_entries; /* version >= 1 */
	u32 reserved;
};

struct hvm_memmap_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

struct bootinfo bootinfo;

/* Runs before mmu_init: only the identity map of the low 4 GiB is there. */
static const void *early_ptr(u64 pa)
{
	return pa && pa < (1ull << 32) ? (const void *)pa : NULL;
}

static void add_range(u64 start, u64 size, u32 type)
{
	if (size && bootinfo.nr_mem < BOOT_MEMMAP_MAX)
		bootinfo.mem[bootinfo.nr_mem++] = (struct mem_range){start, size, type};
}

static void copy_memmap(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *e = NULL;

	if (si->version >= 1)
		e = early_ptr(si->memmap_paddr);
	if (e) {
		for (u32 i = 0; i < si->memmap_entries; i++)
			add_range(e[i].addr, e[i].size, e[i].type);
	}
	if (bootinfo.nr_mem)
		return;
	/* No map: base memory and 15 MiB above 1 MiB exist on any PC we boot on. */
	bootinfo.memmap_guessed = true;
	add_range(0, 0x9fc00, MEM_TYPE_RAM);
	add_range(0x100000, 15ull << 20, MEM_TYPE_RAM);
}

int bootinfo_parse(u32 start_info_pa)
{
	const struct hvm_start_info *si = early_ptr(start_info_pa);
	const char *cmd;

	if (!si || si->magic != HVM_START_MAGIC)
		return -1;
	bootinfo.version = si->version;
	bootinfo.rsdp_paddr = si->rsdp_paddr;
	cmd = early_ptr(si->cmdline_paddr);
	if (cmd)
		strscpy(bootinfo.cmdline, cmd, sizeof(bootinfo.cmdline));
	copy_memmap(si);
	return 0;
}

void bootinfo_print(void)
{
	printf("testguest: cmdline: %s\n", bootinfo.cmdline);
	for (u32 i = 0; i < bootinfo.nr_mem; i++) {
		const struct mem_range *m = &bootinfo.mem[i];

		printf("testguest: mem [0x%016lx-0x%016lx] type %u%s\n", m->start,
		       m->start + m->size - 1, m->type,
		       bootinfo.memmap_guessed ? " (guessed)" : "");
	}
}

void bootinfo_print_cpuid(void)
{
	u32 max, ext_max, a, b, c, d, l1c, l1d, l7b = 0, l7c = 0, l7d = 0, xd0 = 0, xd1 = 0;
	u32 e1c = 0, e1d = 0;
	char on[4];

	if (cmdline_get("testguest.cpuid", on, sizeof(on)) < 0 || strcmp(on, "1"))
		return;
	/* Leaves past the maximum would return another leaf's data: read them as absent. */
	cpuid(0, 0, &max, &b, &c, &d);
	cpuid(1, 0, &a, &b, &l1c, &l1d);
	if (max >= 7)
		cpuid(7, 0, &a, &l7b, &l7c, &l7d);
	if (max >= 0xd) {
		cpuid(0xd, 0, &xd0, &b, &c, &d);
		cpuid(0xd, 1, &xd1, &b, &c, &d);
	}
	cpuid(0x80000000, 0, &ext_max, &b, &c, &d);
	if (ext_max >= 0x80000001)
		cpuid(0x80000001, 0, &a, &b, &e1c, &e1d);
	printf("testguest: cpuid 1.ecx=0x%x 1.edx=0x%x 7.ebx=0x%x 7.ecx=0x%x 7.edx=0x%x "
	       "d.eax=0x%x d1.eax=0x%x 80000001.ecx=0x%x 80000001.edx=0x%x\n",
	       l1c, l1d, l7b, l7c, l7d, xd0, xd1, e1c, e1d);
}

int cmdline_get(const char *key, char *out, size_t out_size)
{
	size_t klen = strlen(key);
	const char *p = bootinfo.cmdline;
	int found = -1;

	while (*p) {
		const char *end;

		while (*p == ' ')
			p++;
		end = p;
		while (*end && *end != ' ')
			end++;
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = MIN((size_t)(end - p) - klen - 1, out_size - 1);

			memcpy(out, p + klen + 1, n);
			out[n] = '\0';
			found = (int)n;
		}
		p = end;
	}
	return found;
}
