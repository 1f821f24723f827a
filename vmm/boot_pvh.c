// SPDX-License-Identifier: MIT
/*
 * PVH boot of an ELF kernel (xen/include/public/arch-x86/hvm/start_info.h):
 * PT_LOAD segments go to their physical addresses, an hvm_start_info block
 * describes command line, modules (the initrd) and the memory map, and the
 * vCPU starts at the XEN_ELFNOTE_PHYS32_ENTRY address with EBX pointing at it.
 * The ELF is untrusted: headers are copied out with bounds checks, never
 * dereferenced in place (offsets in the file need not be aligned).
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/log.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_START_MAGIC		 0x336ec578u
#define PVH_PHDRS_MAX		 128

/* Layout fixed by the PVH ABI. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

/* The start_info page: the block itself, then the memory map, then the module list. */
#define PVH_MEMMAP_GPA	(BOOT_START_INFO_GPA + 64)
#define PVH_MODLIST_GPA (PVH_MEMMAP_GPA + BOOT_E820_MAX * sizeof(struct hvm_memmap_table_entry))
_Static_assert(PVH_MODLIST_GPA + sizeof(struct hvm_modlist_entry) <= BOOT_ZERO_PAGE_GPA,
	       "PVH tables overlap the zero page");

/* What we need of an ELF32 or ELF64 file, widened to 64 bits. */
struct elf_info {
	bool is64;
	uint64_t phoff;
	uint16_t phnum;
};

struct elf_seg {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

/* True if [off, off + len) lies inside the image. */
static bool in_image(const struct boot_image *img, uint64_t off, uint64_t len)
{
	return off <= img->len && len <= img->len - off;
}

static int elf_parse_header(const struct boot_image *img, struct elf_info *info, const char **why)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	uint16_t machine, type, phentsize;

	if (!in_image(img, 0, EI_NIDENT) || memcmp(img->data, ELFMAG, SELFMAG) != 0) {
		*why = "not an ELF file";
		return -ENOEXEC;
	}
	info->is64 = img->data[EI_CLASS] == ELFCLASS64;
	if ((!info->is64 && img->data[EI_CLASS] != ELFCLASS32) ||
	    img->data[EI_DATA] != ELFDATA2LSB || img->data[EI_VERSION] != EV_CURRENT) {
		*why = "unsupported ELF class, byte order or version";
		return -ENOEXEC;
	}
	if (info->is64) {
		if (!in_image(img, 0, sizeof(e64)))
			goto truncated;
		memcpy(&e64, img->data, sizeof(e64));
		machine = e64.e_machine, type = e64.e_type, phentsize = e64.e_phentsize;
		info->phoff = e64.e_phoff, info->phnum = e64.e_phnum;
	} else {
		if (!in_image(img, 0, sizeof(e32)))
			goto truncated;
		memcpy(&e32, img->data, sizeof(e32));
		machine = e32.e_machine, type = e32.e_type, phentsize = e32.e_phentsize;
		info->phoff = e32.e_phoff, info->phnum = e32.e_phnum;
	}
	if (type != ET_EXEC || (machine != EM_X86_64 && machine != EM_386)) {
		*why = "not an x86 executable ELF";
		return -ENOEXEC;
	}
	if (phentsize != (info->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) ||
	    info->phnum == 0 || info->phnum > PVH_PHDRS_MAX) {
		*why = "bad ELF program header table";
		return -ENOEXEC;
	}
	if (!in_image(img, info->phoff, (uint64_t)info->phnum * phentsize))
		goto truncated;
	return 0;
truncated:
	*why = "truncated ELF headers";
	return -ENOEXEC;
}

/* Program header i (checked by elf_parse_header to be inside the image). */
static void elf_segment(const struct boot_image *img, const struct elf_info *info, unsigned int i,
			struct elf_seg *seg)
{
	Elf64_Phdr p64;
	Elf32_Phdr p32;

	if (info->is64) {
		memcpy(&p64, img->data + info->phoff + i * sizeof(p64), sizeof(p64));
		*seg = (struct elf_seg){p64.p_type, p64.p_offset, p64.p_paddr, p64.p_filesz,
					p64.p_memsz};
	} else {
		memcpy(&p32, img->data + info->phoff + i * sizeof(p32), sizeof(p32));
		*seg = (struct elf_seg){p32.p_type, p32.p_offset, p32.p_paddr, p32.p_filesz,
					p32.p_memsz};
	}
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~3ull;
}

/* Searches one PT_NOTE segment for the Xen PHYS32_ENTRY note: 1 found, 0 not, <0 malformed. */
static int note_find_entry(const struct boot_image *img, const struct elf_seg *seg, uint32_t *entry)
{
	uint64_t pos = seg->offset, end = seg->offset + seg->filesz;
	Elf64_Nhdr nh; /* identical to Elf32_Nhdr */
	uint64_t desc, val;

	if (!in_image(img, seg->offset, seg->filesz))
		return -ENOEXEC;
	while (end - pos >= sizeof(nh)) {
		memcpy(&nh, img->data + pos, sizeof(nh));
		desc = pos + sizeof(nh) + align4(nh.n_namesz);
		if (desc > end || align4(nh.n_descsz) > end - desc)
			return -ENOEXEC;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(img->data + pos + sizeof(nh), "Xen", 4) == 0) {
			/* Linux emits 4 bytes on older and 8 bytes on newer kernels. */
			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return -ENOEXEC;
			val = 0;
			memcpy(&val, img->data + desc, nh.n_descsz);
			if (val > UINT32_MAX)
				return -ENOEXEC;
			*entry = (uint32_t)val;
			return 1;
		}
		pos = desc + align4(nh.n_descsz);
	}
	return 0;
}

int pvh_find_entry(const struct boot_image *img, uint32_t *entry, const char **why)
{
	struct elf_info info;
	struct elf_seg seg;
	int err, found;

	err = elf_parse_header(img, &info, why);
	if (err)
		return err;
	for (unsigned int i = 0; i < info.phnum; i++) {
		elf_segment(img, &info, i, &seg);
		if (seg.type != PT_NOTE)
			continue;
		found = note_find_entry(img, &seg, entry);
		if (found < 0) {
			*why = "malformed ELF note segment";
			return -ENOEXEC;
		}
		if (found)
			return 0;
	}
	*why = "no PVH entry note (Xen note type 18): kernel built without CONFIG_PVH?";
	return -ENOEXEC;
}

/* Checks every PT_LOAD against the file and low RAM above 1 MiB; *end: highest byte + 1. */
static int pvh_check_segments(const struct guest_ram *ram, const struct boot_image *img,
			      const struct elf_info *info, uint32_t entry, uint64_t *end)
{
	uint64_t low = guest_ram_low_size(ram);
	bool entry_loaded = false;
	struct elf_seg s;

	*end = BOOT_KERNEL_GPA;
	for (unsigned int i = 0; i < info->phnum; i++) {
		elf_segment(img, info, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		if (s.filesz > s.memsz || !in_image(img, s.offset, s.filesz)) {
			pr_err("kernel %s: segment %u lies outside the file", img->name, i);
			return -ENOEXEC;
		}
		if (s.paddr < BOOT_KERNEL_GPA || s.paddr > low || s.memsz > low - s.paddr) {
			pr_err(
			    "kernel %s: segment %u [0x%llx, +0x%llx) is not in guest RAM between "
			    "1 MiB and 0x%llx%s",
			    img->name, i, (unsigned long long)s.paddr, (unsigned long long)s.memsz,
			    (unsigned long long)low,
			    s.paddr < BOOT_KERNEL_GPA ? "" : " (raise --memory)");
			return -EFBIG;
		}
		if (entry >= s.paddr && entry - s.paddr < s.memsz)
			entry_loaded = true;
		if (s.paddr + s.memsz > *end)
			*end = s.paddr + s.memsz;
	}
	if (!entry_loaded) {
		pr_err("kernel %s: PVH entry 0x%x is outside the loaded segments", img->name,
		       entry);
		return -ENOEXEC;
	}
	return 0;
}

static void pvh_copy_segments(const struct guest_ram *ram, const struct boot_image *img,
			      const struct elf_info *info)
{
	struct elf_seg s;
	uint8_t *dst;

	for (unsigned int i = 0; i < info->phnum; i++) {
		elf_segment(img, info, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		dst = guest_ram_ptr(ram, s.paddr, s.memsz);
		memcpy(dst, img->data + s.offset, s.filesz);
		memset(dst + s.filesz, 0, s.memsz - s.filesz); /* bss */
	}
}

static void pvh_write_start_info(const struct guest_ram *ram, const struct boot_image *initrd,
				 const struct boot_plan *plan)
{
	struct hvm_start_info si = {.magic = PVH_START_MAGIC, .version = 1};
	struct boot_memmap_entry map[BOOT_E820_MAX];
	struct hvm_memmap_table_entry *mm = guest_ram_ptr(
	    ram, PVH_MEMMAP_GPA, BOOT_E820_MAX * sizeof(struct hvm_memmap_table_entry));
	struct hvm_modlist_entry mod = {0};
	int n = boot_e820_map(ram, map);

	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){map[i].addr, map[i].size, map[i].type, 0};
	si.memmap_paddr = PVH_MEMMAP_GPA;
	si.memmap_entries = (uint32_t)n;
	si.cmdline_paddr = BOOT_CMDLINE_GPA;
	if (initrd) {
		mod.paddr = plan->initrd_gpa;
		memcpy(guest_ram_ptr(ram, mod.paddr, initrd->len), initrd->data, initrd->len);
		mod.size = initrd->len;
		memcpy(guest_ram_ptr(ram, PVH_MODLIST_GPA, sizeof(mod)), &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_GPA;
	}
	memcpy(guest_ram_ptr(ram, BOOT_START_INFO_GPA, sizeof(si)), &si, sizeof(si));
}

int pvh_plan(const struct guest_ram *ram, const struct boot_image *kernel,
	     const struct boot_image *initrd, struct boot_plan *plan)
{
	struct elf_info info;
	const char *why = "";
	int err;

	memset(plan, 0, sizeof(*plan));
	err = pvh_find_entry(kernel, &plan->entry, &why);
	if (err) {
		pr_err("kernel %s: %s", kernel->name, why);
		return err;
	}
	elf_parse_header(kernel, &info, &why); /* cannot fail: pvh_find_entry passed */
	if (guest_ram_low_size(ram) < 2 * BOOT_KERNEL_GPA) {
		pr_err("kernel %s: guest RAM below 2 MiB", kernel->name);
		return -EFBIG;
	}
	err = pvh_check_segments(ram, kernel, &info, plan->entry, &plan->kernel_end);
	if (err || !initrd)
		return err;
	return boot_place_initrd(ram, initrd, plan->kernel_end, UINT64_MAX, &plan->initrd_gpa);
}

int pvh_load(const struct guest_ram *ram, const struct boot_image *kernel,
	     const struct boot_image *initrd, const char *cmdline, struct boot_entry *entry)
{
	struct boot_plan plan;
	struct elf_info info;
	const char *why = "";
	int err;

	err = pvh_plan(ram, kernel, initrd, &plan);
	if (err)
		return err;
	elf_parse_header(kernel, &info, &why); /* cannot fail: pvh_plan passed */
	pvh_copy_segments(ram, kernel, &info);
	pvh_write_start_info(ram, initrd, &plan);
	boot_write_cmdline(ram, cmdline, BOOT_CMDLINE_MAX - 1);

	memset(entry, 0, sizeof(*entry));
	entry->kind = BOOT_KIND_PVH;
	entry->rip = plan.entry;
	entry->rbx = BOOT_START_INFO_GPA;
	return 0;
}
