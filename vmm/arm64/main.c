// SPDX-License-Identifier: MIT
/*
 * kasan-vmm for arm64 hosts: command dispatch. `run` boots an arm64 Image
 * under KVM; `dump-dtb` writes the device tree a run would give the guest
 * (KVM's default MPIDRs), so the generator can be checked without KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paravirt/kasan_vmm_abi.h"
#include "vmm/arm64/a64_cli.h"
#include "vmm/arm64/a64_fdt.h"
#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/vm.h"
#include "vmm/config.h"
#include "vmm/log.h"

static int cmd_run(const struct a64_cli *cli)
{
	struct arm64_vm vm;
	int ret, code;

	/* Bad images are usage errors, told before any VM exists. */
	ret = arm64_boot_check(cli);
	if (ret)
		return ret == -ENOEXEC || ret == -EFBIG ? VMM_EXIT_USAGE : VMM_EXIT_ERROR;
	ret = arm64_vm_create(&vm, cli);
	if (!ret)
		ret = arm64_vm_load_and_start(&vm);
	if (ret)
		arm64_vm_stop(&vm, VMM_EXIT_ERROR, "set-up failed: %s", strerror(-ret));
	code = arm64_vm_wait(&vm);
	if (code != VMM_EXIT_OK || getenv("KASAN_VMM_VERBOSE"))
		pr_err("%s (exit code %d)", vm.stop_reason, code);
	else
		pr_info("%s", vm.stop_reason);
	arm64_vm_destroy(&vm);
	return code;
}

/* The device tree of a run with these options, sanitizer node with default values. */
static int cmd_dump_dtb(const struct a64_cli *cli)
{
	static uint8_t blob[A64_FDT_MAX_SIZE];
	uint64_t mpidr[A64_CPUS_MAX];
	struct a64_fdt_config c;
	size_t len;
	FILE *out;

	a64_fdt_config_platform(&c, cli->cpus, cli->memory_mib << 20);
	for (unsigned int i = 0; i < cli->cpus; i++)
		mpidr[i] = a64_default_mpidr(i);
	c.mpidr = mpidr;
	c.bootargs = cli->append;
	if (cli->mode != SAN_OFF)
		c.kvmm = (struct a64_fdt_kvmm){
		    .present = true,
		    .doorbell = {A64_KVMM_BASE, A64_KVMM_SIZE},
		    .abi_version = KV_ABI_VERSION,
		    .features = KV_FEAT_EVENTS | KV_FEAT_STACKS |
				(cli->mode == SAN_TAGS ? KV_FEAT_TAGS : 0),
		    .mode = KV_MODE_SYNC,
		    .rings = cli->cpus,
		};
	if (a64_fdt_build(&c, blob, sizeof(blob), &len))
		return VMM_EXIT_USAGE;
	out = fopen(cli->dtb_out, "wb");
	if (!out || fwrite(blob, 1, len, out) != len || fclose(out)) {
		pr_err("dump-dtb: writing %s: %s", cli->dtb_out, strerror(errno));
		return VMM_EXIT_ERROR;
	}
	return VMM_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct a64_cli cli;
	int ret;

	if (argc < 2) {
		a64_cli_usage(stderr);
		return VMM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		a64_cli_usage(stdout);
		return VMM_EXIT_OK;
	}
	if (strcmp(argv[1], "run") && strcmp(argv[1], "dump-dtb")) {
		fprintf(stderr, "kasan-vmm: unknown command '%s' (try --help)\n", argv[1]);
		return VMM_EXIT_USAGE;
	}
	ret = a64_cli_parse(&cli, argc - 1, argv + 1);
	if (ret)
		return ret > 0 ? VMM_EXIT_OK : VMM_EXIT_USAGE;
	if (getenv("KASAN_VMM_VERBOSE"))
		log_set_level(LOG_DEBUG);
	return !strcmp(argv[1], "run") ? cmd_run(&cli) : cmd_dump_dtb(&cli);
}
