/* SPDX-License-Identifier: MIT */
/*
 * What the loader told us (PVH hvm_start_info), copied into the kernel image
 * early so that low memory can be reused (e.g. by the AP trampoline).
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include "kernel.h"

#define BOOT_CMDLINE_MAX 1024
#define BOOT_MEMMAP_MAX	 64
#define MEM_TYPE_RAM	 1

struct mem_range {
	u64 start;
	u64 size;
	u32 type; /* E820 types: 1 RAM, 2 reserved, 3 ACPI, ... */
};

struct bootinfo {
	u32 version;
	u64 rsdp_paddr; /* 0: none */
	char cmdline[BOOT_CMDLINE_MAX];
	u32 nr_mem;
	struct mem_range mem[BOOT_MEMMAP_MAX];
	bool memmap_guessed; /* no memmap in start_info: a conservative guess */
};

extern struct bootinfo bootinfo;

/* Copies start_info; -1 if its magic is wrong. */
int bootinfo_parse(u32 start_info_pa);
void bootinfo_print(void);

/*
 * testguest.cpuid=1: print the CPUID feature words the VMM gives us on one
 * line, so that host tests can check them against what the host probe found.
 */
void bootinfo_print_cpuid(void);

/*
 * Value of `key=` on the command line (the last occurrence wins, like
 * Linux), copied into out; its length, or -1 if the key is absent.
 */
int cmdline_get(const char *key, char *out, size_t out_size);

#endif
