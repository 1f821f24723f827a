/* SPDX-License-Identifier: MIT */
/*
 * The arm64 kasan-vmm command line:
 *   kasan-vmm run --kernel Image [--initrd F] [--append S] [--cpus N]
 *                 [--memory MiB] [--log F] [--console F] [--timeout S]
 *                 [--mode generic|tags|off] [--events sync|async|asymm]
 *                 [--fault report|panic|panic_on_write] [--multi_shot on|off]
 *                 [--system_map F]
 *   kasan-vmm dump-dtb -o FILE [--cpus N] [--memory MiB] [--append S] [--mode M]
 * Values may follow as the next argument or after '='. Portable (unit-tested
 * on x86); a subset of the x86 options, with the same names, checks and
 * exit codes (vmm/config.h).
 */
#ifndef VMM_ARM64_A64_CLI_H
#define VMM_ARM64_A64_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct a64_cli {
	const char *kernel, *initrd, *append, *log, *console, *system_map;
	const char *dtb_out; /* dump-dtb -o */
	unsigned int cpus;   /* default 1 */
	uint64_t memory_mib; /* default 256 */
	unsigned int timeout_s;
	unsigned int mode;   /* enum san_mode */
	unsigned int events; /* enum san_events */
	unsigned int fault;  /* enum san_fault */
	bool multi_shot;
};

/*
 * argv[0] is the command ("run" or "dump-dtb"). 0 on success, 1 if --help
 * was printed, -EINVAL after one line on stderr for bad input. Strings point
 * into argv.
 */
int a64_cli_parse(struct a64_cli *c, int argc, char **argv);

void a64_cli_usage(FILE *out);

#endif /* VMM_ARM64_A64_CLI_H */
