// SPDX-License-Identifier: MIT
/*
 * Seeds for fuzz_boot: the tiny PVH ELF of tests/fixtures and a minimal
 * bzImage (boot protocol 2.15 setup header, one setup sector, 4 KiB of
 * protected-mode code) -- a real bzImage is megabytes, too big to commit.
 * Usage: gen_boot_corpus DIR
 */
#include <asm/bootparam.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tests/fixtures/tiny_pvh_elf.h"

#define SETUP_SECTS 1
#define PM_SIZE	    4096

static int write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len) {
		perror(path);
		return 1;
	}
	return fclose(f) != 0;
}

static size_t tiny_bzimage(uint8_t *buf)
{
	size_t setup = (SETUP_SECTS + 1) * 512;
	struct setup_header *h = (void *)(buf + 0x1f1);

	memset(buf, 0, setup + PM_SIZE);
	h->setup_sects = SETUP_SECTS;
	h->boot_flag = 0xaa55;
	h->jump = 0xeb | ((0x268 - 0x202) << 8); /* the header ends at 0x268 */
	h->header = 0x53726448;			 /* "HdrS" */
	h->version = 0x20f;
	h->loadflags = LOADED_HIGH;
	h->syssize = PM_SIZE / 16;
	h->code32_start = 0x100000;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->cmdline_size = 2047;
	h->initrd_addr_max = 0x7fffffff;
	h->pref_address = 0x1000000;
	h->init_size = 0x20000;
	memset(buf + setup, 0x90, PM_SIZE); /* nops */
	return setup + PM_SIZE;
}

int main(int argc, char **argv)
{
	static uint8_t buf[8192];
	size_t n;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	n = tiny_pvh_elf(buf);
	err |= write_file(argv[1], "tiny-pvh.seed", buf, n);
	n = tiny_bzimage(buf);
	err |= write_file(argv[1], "tiny-bzimage", buf, n);
	return err;
}
