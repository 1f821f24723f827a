// SPDX-License-Identifier: MIT
/* arm64 command line: one table of options, range checks, one-line errors. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/arm64/a64_cli.h"
#include "vmm/arm64/a64_fdt.h"
#include "vmm/arm64/a64_platform.h"
#include "vmm/config.h"
#include "vmm/log.h"

enum kind { K_FILE, K_OUT, K_STR, K_UINT, K_CHOICE };

struct opt {
	const char *name;
	enum kind kind;
	size_t off;	     /* into struct a64_cli */
	uint64_t min, max;   /* K_UINT */
	const char *choices; /* K_CHOICE: "a|b|c", the index is the value */
	const char *help;
};

#define OFF(f) offsetof(struct a64_cli, f)

static const struct opt opts[] = {
    {"kernel", K_FILE, OFF(kernel), 0, 0, NULL, "arm64 Linux Image (or test guest image)"},
    {"initrd", K_FILE, OFF(initrd), 0, 0, NULL, "initramfs"},
    {"append", K_STR, OFF(append), 0, 0, NULL, "kernel command line"},
    {"cpus", K_UINT, OFF(cpus), 1, A64_CPUS_MAX, NULL, "vCPUs"},
    {"memory", K_UINT, OFF(memory_mib), CONFIG_MEMORY_MIN_MIB, CONFIG_MEMORY_MAX_MIB, NULL,
     "RAM in MiB"},
    {"log", K_OUT, OFF(log), 0, 0, NULL, "report log (appended) and <log>.jsonl"},
    {"console", K_OUT, OFF(console), 0, 0, NULL, "copy of the serial console (appended)"},
    {"timeout", K_UINT, OFF(timeout_s), 0, CONFIG_TIMEOUT_MAX_S, NULL, "seconds; 0: none"},
    {"mode", K_CHOICE, OFF(mode), 0, 0, "generic|tags|off", "sanitizer mode"},
    {"events", K_CHOICE, OFF(events), 0, 0, "sync|async|asymm", "doorbell mode"},
    {"fault", K_CHOICE, OFF(fault), 0, 0, "report|panic|panic_on_write", "after a report"},
    {"multi_shot", K_CHOICE, OFF(multi_shot), 0, 0, "off|on", "report every bug"},
    {"system_map", K_FILE, OFF(system_map), 0, 0, NULL, "guest System.map for symbols"},
    {"o", K_OUT, OFF(dtb_out), 0, 0, NULL, "dump-dtb: where to write the blob"},
};

void a64_cli_usage(FILE *out)
{
	fprintf(out, "usage: kasan-vmm run --kernel Image [options]   boot an arm64 guest\n"
		     "       kasan-vmm dump-dtb -o FILE [options]      write the device tree\n"
		     "options:\n");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char flag[24];

		snprintf(flag, sizeof(flag), "%s%s", opts[i].name[1] ? "--" : "-", opts[i].name);
		fprintf(out, "  %-14s %s%s%s\n", flag, opts[i].help, opts[i].choices ? ": " : "",
			opts[i].choices ? opts[i].choices : "");
	}
}

static int choice_index(const char *choices, const char *v)
{
	size_t len = strlen(v);
	int i = 0;

	for (const char *p = choices; *p; i++) {
		const char *end = strchr(p, '|');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !strncmp(p, v, n))
			return i;
		p += n + (end ? 1 : 0);
	}
	return -1;
}

static int set_uint(const struct opt *o, void *field, const char *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!*v || *end || errno || *v == '-' || n < o->min || n > o->max) {
		pr_err("--%s: '%s' is not a number in %llu..%llu", o->name, v,
		       (unsigned long long)o->min, (unsigned long long)o->max);
		return -EINVAL;
	}
	if (o->off == OFF(memory_mib))
		*(uint64_t *)field = n;
	else
		*(unsigned int *)field = (unsigned int)n;
	return 0;
}

static int set_opt(struct a64_cli *c, const struct opt *o, const char *v)
{
	void *field = (char *)c + o->off;
	int i;

	switch (o->kind) {
	case K_FILE:
		if (access(v, R_OK)) {
			pr_err("--%s: cannot read %s: %s", o->name, v, strerror(errno));
			return -EINVAL;
		}
		/* fall through */
	case K_OUT:
	case K_STR:
		if (!*v && o->kind != K_STR) {
			pr_err("--%s: empty file name", o->name);
			return -EINVAL;
		}
		*(const char **)field = v;
		return 0;
	case K_UINT:
		return set_uint(o, field, v);
	case K_CHOICE:
		i = choice_index(o->choices, v);
		if (i < 0) {
			pr_err("--%s: '%s' is not one of %s", o->name, v, o->choices);
			return -EINVAL;
		}
		if (o->off == OFF(multi_shot))
			c->multi_shot = i;
		else
			*(unsigned int *)field = (unsigned int)i;
		return 0;
	}
	return -EINVAL;
}

static const struct opt *find_opt(const char *arg, const char **value)
{
	const char *name = arg + (arg[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);

	*value = eq ? eq + 1 : NULL;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i].name) == n && !strncmp(opts[i].name, name, n))
			return &opts[i];
	return NULL;
}

static int check(const struct a64_cli *c, bool dump)
{
	if (dump && !c->dtb_out) {
		pr_err("dump-dtb: -o FILE is required");
		return -EINVAL;
	}
	if (!dump && !c->kernel) {
		pr_err("run: --kernel is required (try --help)");
		return -EINVAL;
	}
	if (c->append && strlen(c->append) >= A64_BOOTARGS_MAX) {
		pr_err("--append: longer than %d bytes", A64_BOOTARGS_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

int a64_cli_parse(struct a64_cli *c, int argc, char **argv)
{
	bool dump = argc > 0 && !strcmp(argv[0], "dump-dtb");

	memset(c, 0, sizeof(*c));
	c->cpus = 1;
	c->memory_mib = 256;
	for (int i = 1; i < argc; i++) {
		const struct opt *o;
		const char *v;
		int ret;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			a64_cli_usage(stdout);
			return 1;
		}
		o = argv[i][0] == '-' ? find_opt(argv[i], &v) : NULL;
		if (!o) {
			pr_err("%s: unknown option '%s' (try --help)", dump ? "dump-dtb" : "run",
			       argv[i]);
			return -EINVAL;
		}
		if (!v && i + 1 >= argc) {
			pr_err("--%s: needs a value", o->name);
			return -EINVAL;
		}
		ret = set_opt(c, o, v ? v : argv[++i]);
		if (ret)
			return ret;
	}
	return check(c, dump);
}
