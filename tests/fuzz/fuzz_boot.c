// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the kernel loaders on an image in memory. The input is
 * the kernel file; it is identified, checked, and loaded into 64 MiB of
 * guest RAM (bzImage or PVH ELF) with a fixed initrd and command line. A
 * successful load must give an entry point inside guest RAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/boot.h"

#define RAM_SIZE (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_ram ram;
	static const uint8_t initrd_bytes[64] = {0x30, 0x37, 0x30, 0x37};
	struct boot_image img = {.name = "fuzz", .data = data, .len = size};
	struct boot_image initrd = {"initrd", initrd_bytes, sizeof(initrd_bytes)};
	struct boot_entry entry = {0};
	const char *why = NULL;
	uint32_t pvh_entry;
	int ret = -1;

	if (!ram.alias) {
		ram.alias = calloc(1, RAM_SIZE);
		ram.size = RAM_SIZE;
		if (!ram.alias)
			abort();
	}
	bzimage_check(&img, &why);
	pvh_find_entry(&img, &pvh_entry, &why);
	switch (boot_identify(&img)) {
	case BOOT_KIND_BZIMAGE:
		ret = bzimage_load(&ram, &img, &initrd, "console=ttyS0", &entry);
		break;
	case BOOT_KIND_PVH:
		ret = pvh_load(&ram, &img, size & 1 ? &initrd : NULL, "console=ttyS0", &entry);
		break;
	default:
		break;
	}
	if (ret == 0)
		check(entry.rip < RAM_SIZE);
	if (getenv("KV_FUZZ_STATS")) /* the seed test: every seed must load */
		printf("kv_fuzz_stats kind=%d load=%d\n", (int)boot_identify(&img), ret);
	return 0;
}
