// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: `kasan-vmm run` arguments. The input is split at
 * newlines into argv (argv[0] "run"), parsed, validated and freed. Inputs
 * naming /dev or /proc paths are skipped: a FIFO or a terminal would block
 * (the parser reads --config and probes --kernel files, as it should).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[MAX_ARGS + 2], *p;
	struct vm_config cfg;
	int argc = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (strlen(text) != size || strstr(text, "/dev") || strstr(text, "/proc")) {
		free(text);
		return 0;
	}
	argv[argc++] = "run";
	for (p = text; p && argc <= MAX_ARGS; argc++) {
		argv[argc] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	argv[argc] = NULL;
	config_init(&cfg);
	config_parse_run_args(&cfg, argc, argv);
	config_free(&cfg);
	free(text);
	return 0;
}
