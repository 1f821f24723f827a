// SPDX-License-Identifier: MIT
/* kasan-vmm: command dispatch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shadow/report.h"
#include "shadow/report.h"
#include "vmm/config.h"
#include "vmm/libvirt.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: kasan-vmm run --kernel FILE [options]   boot a guest (see run --help)\n"
	    "       kasan-vmm run --domain NAME [--connect URI] [options]\n"
	    "                                               boot a libvirt domain's kernel\n"
	    "       kasan-vmm libvirt tag|untag|show NAME   kasan-vmm metadata of a domain\n"
	    "       kasan-vmm report LOG                    reports in LOG by title, with counts\n"
	    "       kasan-vmm --help\n");
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	int ret, code;

	config_init(&cfg);
	ret = config_parse_run_args(&cfg, argc, argv);
	if (ret) {
		config_free(&cfg);
		/* -EINVAL: bad input, told in one line; others: the host (e.g. libvirt) failed */
		return ret > 0 ? VMM_EXIT_OK : ret == -EINVAL ? VMM_EXIT_USAGE : VMM_EXIT_ERROR;
	}
	if (getenv("KASAN_VMM_VERBOSE"))
		log_set_level(LOG_DEBUG);
	ret = vm_create(&vm, &cfg);
	if (!ret)
		ret = vm_load_and_start(&vm);
	if (ret) {
		/* Bad images are usage errors: the message was printed where it was found. */
		code = (ret == -ENOEXEC || ret == -EFBIG || ret == -ENOSPC) ? VMM_EXIT_USAGE
									    : VMM_EXIT_ERROR;
		vm_stop(&vm, code, "set-up failed: %s", strerror(-ret));
	}
	code = vm_wait(&vm);
	if (code != VMM_EXIT_OK || getenv("KASAN_VMM_VERBOSE"))
		pr_err("%s (exit code %d)", vm.stop_reason, code);
	else
		pr_info("%s", vm.stop_reason);
	vm_destroy(&vm);
	config_free(&cfg);
	return code;
}

/* Summarize a report log: one line per distinct title, most frequent first. */
static int cmd_report(int argc, char **argv)
{
	FILE *in;
	int n;

	if (argc != 2) {
		fprintf(stderr, "kasan-vmm: usage: kasan-vmm report LOG\n");
		return VMM_EXIT_USAGE;
	}
	in = fopen(argv[1], "r");
	if (!in) {
		fprintf(stderr, "kasan-vmm: report log %s: %s\n", argv[1], strerror(errno));
		return VMM_EXIT_USAGE;
	}
	n = report_summarize(in, stdout);
	fclose(in);
	printf("%d report(s)\n", n < 0 ? 0 : n);
	return n < 0 ? VMM_EXIT_ERROR : VMM_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return VMM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return VMM_EXIT_OK;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "libvirt"))
		return libvirt_main(argc - 1, argv + 1);
	fprintf(stderr, "kasan-vmm: unknown command '%s' (try --help)\n", argv[1]);
	return VMM_EXIT_USAGE;
}
