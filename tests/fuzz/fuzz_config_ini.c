// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the INI config file. The input is written to a memfd
 * and loaded by path (/proc/self/fd/N), as --config does, then validated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct vm_config cfg;

	if (fd < 0) {
		fd = memfd_create("fuzz-ini", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	config_init(&cfg);
	if (config_load_file(&cfg, path) == 0)
		config_validate(&cfg);
	config_free(&cfg);
	return 0;
}
