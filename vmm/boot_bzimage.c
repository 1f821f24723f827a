// SPDX-License-Identifier: MIT
/*
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 32-bit entry:
 * the protected-mode kernel goes to 1 MiB, a zero page carries the setup
 * header, command line, initrd and e820 map, and the vCPU starts at
 * code32_start with ESI pointing at the zero page. No real-mode setup code
 * runs, so no BIOS is needed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <asm/bootparam.h>

#include "vmm/boot.h"
#include "vmm/log.h"

#define SETUP_HDR_OFF	 0x1f1
#define SETUP_MAGIC_OFF	 0x202
#define SETUP_JUMP_OFF	 0x201 /* the jump's displacement gives the header's end */
#define PROTOCOL_MIN	 0x206 /* cmdline_size exists from 2.06 */
#define PROTOCOL_2_10	 0x20a /* pref_address and init_size */
#define HEAP_END	 0xfe00
#define LOADER_UNDEFINED 0xff
#define OLD_INITRD_MAX	 0x37ffffffu

_Static_assert(offsetof(struct boot_params, hdr) == SETUP_HDR_OFF, "setup header offset");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820 table offset");
_Static_assert(sizeof(struct boot_params) == 4096, "zero page size");

struct bzimage {
	struct setup_header hdr; /* what the file has; fields past its end read as 0 */
	size_t hdr_len;		 /* bytes of it present in the file */
	size_t setup_size;	 /* real-mode part we skip */
	size_t pm_size;		 /* protected-mode part we load */
};

static int bzimage_parse(const struct boot_image *img, struct bzimage *bz, const char **why)
{
	size_t hdr_end, sects;

	memset(bz, 0, sizeof(*bz));
	if (img->len < SETUP_MAGIC_OFF + 4 + 2 ||
	    memcmp(img->data + SETUP_MAGIC_OFF, "HdrS", 4) != 0) {
		*why = "no \"HdrS\" setup header: not a bzImage";
		return -ENOEXEC;
	}
	hdr_end = SETUP_MAGIC_OFF + (size_t)img->data[SETUP_JUMP_OFF];
	if (hdr_end > img->len) {
		*why = "truncated setup header";
		return -ENOEXEC;
	}
	bz->hdr_len = hdr_end - SETUP_HDR_OFF;
	if (bz->hdr_len > sizeof(bz->hdr))
		bz->hdr_len = sizeof(bz->hdr);
	memcpy(&bz->hdr, img->data + SETUP_HDR_OFF, bz->hdr_len);
	if (bz->hdr_len < offsetof(struct setup_header, cmdline_size) + 4 ||
	    bz->hdr.version < PROTOCOL_MIN) {
		*why = "boot protocol older than 2.06";
		return -ENOEXEC;
	}
	if (!(bz->hdr.loadflags & LOADED_HIGH)) {
		*why = "zImage (not loaded high) is not supported";
		return -ENOEXEC;
	}
	sects = bz->hdr.setup_sects ? bz->hdr.setup_sects : 4;
	bz->setup_size = (sects + 1) * 512;
	/* syssize counts the protected-mode part in 16-byte paragraphs. */
	if (img->len <= bz->setup_size ||
	    img->len - bz->setup_size < (size_t)bz->hdr.syssize * 16) {
		*why = "truncated: the file is shorter than its header says";
		return -ENOEXEC;
	}
	bz->pm_size = img->len - bz->setup_size;
	return 0;
}

int bzimage_check(const struct boot_image *img, const char **why)
{
	struct bzimage bz;

	return bzimage_parse(img, &bz, why);
}

/* First byte past everything the kernel needs: its file, and where it decompresses. */
static uint64_t bzimage_kernel_end(const struct bzimage *bz)
{
	uint64_t end = BOOT_KERNEL_GPA + (uint64_t)bz->pm_size;
	uint64_t base, run_end;

	if (bz->hdr.version >= PROTOCOL_2_10) {
		base =
		    bz->hdr.pref_address > BOOT_KERNEL_GPA ? bz->hdr.pref_address : BOOT_KERNEL_GPA;
		run_end = base + bz->hdr.init_size;
		if (run_end < base)
			run_end = UINT64_MAX;
		if (run_end > end)
			end = run_end;
	}
	return end;
}

static void bzimage_fill_e820(struct boot_params *bp, const struct boot_memmap_entry *map, int n)
{
	for (int i = 0; i < n; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
	bp->e820_entries = (uint8_t)n;
}

/* The checks of bzimage_load, on top of a parsed header. */
static int bzimage_plan_parsed(const struct guest_ram *ram, const struct boot_image *kernel,
			       const struct boot_image *initrd, struct bzimage *bz,
			       struct boot_plan *plan)
{
	struct boot_memmap_entry map[BOOT_E820_MAX];
	uint64_t low = guest_ram_low_size(ram), limit;
	const char *why = "";
	int err;

	memset(plan, 0, sizeof(*plan));
	err = bzimage_parse(kernel, bz, &why);
	if (err) {
		pr_err("kernel %s: %s", kernel->name, why);
		return err;
	}
	plan->kernel_end = bzimage_kernel_end(bz);
	if (boot_e820_map(ram, map) < 0 || plan->kernel_end > low) {
		pr_err("kernel %s: needs %llu MiB of RAM below 3 GiB, the guest has %llu MiB "
		       "(raise --memory)",
		       kernel->name, (unsigned long long)((plan->kernel_end + (1 << 20) - 1) >> 20),
		       (unsigned long long)(low >> 20));
		return -EFBIG;
	}
	if (!initrd)
		return 0;
	/* initrd_addr_max is the highest byte it may occupy, so the end limit is one past. */
	limit = (uint64_t)(bz->hdr.initrd_addr_max ? bz->hdr.initrd_addr_max : OLD_INITRD_MAX) + 1;
	return boot_place_initrd(ram, initrd, plan->kernel_end, limit, &plan->initrd_gpa);
}

int bzimage_plan(const struct guest_ram *ram, const struct boot_image *kernel,
		 const struct boot_image *initrd, struct boot_plan *plan)
{
	struct bzimage bz;

	return bzimage_plan_parsed(ram, kernel, initrd, &bz, plan);
}

int bzimage_load(const struct guest_ram *ram, const struct boot_image *kernel,
		 const struct boot_image *initrd, const char *cmdline, struct boot_entry *entry)
{
	static struct boot_params zero_bp;
	struct boot_memmap_entry map[BOOT_E820_MAX];
	struct boot_params bp = zero_bp;
	struct boot_plan plan;
	struct bzimage bz;
	int err;

	err = bzimage_plan_parsed(ram, kernel, initrd, &bz, &plan);
	if (err)
		return err;
	memcpy(guest_ram_ptr(ram, BOOT_KERNEL_GPA, bz.pm_size), kernel->data + bz.setup_size,
	       bz.pm_size);

	/* The zero page starts as the file's setup header; then the loader's fields. */
	memcpy(&bp.hdr, kernel->data + SETUP_HDR_OFF, bz.hdr_len);
	bp.hdr.type_of_loader = LOADER_UNDEFINED;
	bp.hdr.loadflags |= CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = HEAP_END;
	bp.hdr.code32_start = BOOT_KERNEL_GPA;
	bp.hdr.cmd_line_ptr = BOOT_CMDLINE_GPA;
	bp.hdr.ramdisk_image = 0;
	bp.hdr.ramdisk_size = 0;
	if (initrd) {
		memcpy(guest_ram_ptr(ram, plan.initrd_gpa, initrd->len), initrd->data, initrd->len);
		bp.hdr.ramdisk_image = (uint32_t)plan.initrd_gpa;
		bp.hdr.ramdisk_size = (uint32_t)initrd->len;
	}
	boot_write_cmdline(ram, cmdline, bz.hdr.cmdline_size);
	bzimage_fill_e820(&bp, map, boot_e820_map(ram, map));
	memcpy(guest_ram_ptr(ram, BOOT_ZERO_PAGE_GPA, sizeof(bp)), &bp, sizeof(bp));

	memset(entry, 0, sizeof(*entry));
	entry->kind = BOOT_KIND_BZIMAGE;
	entry->rip = BOOT_KERNEL_GPA;
	entry->rsi = BOOT_ZERO_PAGE_GPA;
	return 0;
}
