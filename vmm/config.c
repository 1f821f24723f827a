// SPDX-License-Identifier: MIT
/*
 * `kasan-vmm run` options. One table drives the command line, the INI file,
 * defaults, range checks and --help, so a new setting is one table line.
 * Precedence: defaults < config file < command line (whatever the order on
 * the command line), then everything is validated before any VM exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ini.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/libvirt.h"
#include "vmm/log.h"

#define CONFIG_FILE_MAX (1 << 20)

enum opt_type {
	OPT_KERNEL,   /* input file that must be a bootable kernel */
	OPT_FILE_IN,  /* input file that must be readable */
	OPT_FILE_OUT, /* output file: its directory must exist */
	OPT_STRING,   /* max: length limit */
	OPT_U64,
	OPT_UINT,
	OPT_BOOL,
	OPT_ENUM, /* stored as unsigned int: index into choices */
	OPT_FLAG, /* a bool that takes no value on the command line */
};

struct opt {
	const char *section; /* INI section */
	const char *name;    /* INI key and long option */
	enum opt_type type;
	size_t offset;		    /* field in struct vm_config */
	uint64_t min, max;	    /* numbers: range; strings: max length */
	uint64_t def;		    /* numbers: default */
	const char *const *choices; /* OPT_ENUM: NULL-terminated */
	const char *arg;	    /* --help: what the value is */
	const char *help;
};

#define FIELD(f) offsetof(struct vm_config, f)

static const char *const mode_names[] = {"generic", "tags", "off", NULL};
static const char *const events_names[] = {"sync", "async", "asymm", NULL};
static const char *const fault_names[] = {"report", "panic", "panic_on_write", NULL};
static const char *const arm_names[] = {"all", "freed", "sampled", "adaptive", NULL};
static const char *const ept_mech_names[] = {"auto", "mprotect", "hole", NULL};
static const char *const tag_fault_names[] = {"sync", "async", "asymm", NULL};

static const struct opt opts[] = {
    {"vm", "kernel", OPT_KERNEL, FIELD(kernel), 0, 0, 0, NULL, "FILE",
     "kernel: Linux bzImage or ELF with a PVH note (required)"},
    {"vm", "initrd", OPT_FILE_IN, FIELD(initrd), 0, 0, 0, NULL, "FILE", "initial ramdisk"},
    {"vm", "append", OPT_STRING, FIELD(append), 0, BOOT_CMDLINE_MAX - 1, 0, NULL, "STRING",
     "kernel command line"},
    {"vm", "memory", OPT_U64, FIELD(memory_mib), CONFIG_MEMORY_MIN_MIB, CONFIG_MEMORY_MAX_MIB, 256,
     NULL, "MiB", "guest RAM"},
    {"vm", "cpus", OPT_UINT, FIELD(cpus), 1, CONFIG_CPUS_MAX, 1, NULL, "N", "vCPUs"},
    {"vm", "console", OPT_FILE_OUT, FIELD(console), 0, 0, 0, NULL, "FILE",
     "also copy the serial console to FILE"},
    {"vm", "log", OPT_FILE_OUT, FIELD(log), 0, 0, 0, NULL, "FILE", "KASAN report log"},
    {"vm", "timeout", OPT_UINT, FIELD(timeout_s), 0, CONFIG_TIMEOUT_MAX_S, 0, NULL, "S",
     "stop the guest after S seconds (0: never), exit 124"},
    {"sanitizer", "mode", OPT_ENUM, FIELD(san_mode), 0, 0, SAN_GENERIC, mode_names, "MODE",
     "generic (shadow, quarantine), tags (memory tags, stack ring) or off"},
    {"sanitizer", "events", OPT_ENUM, FIELD(events), 0, 0, SAN_EVENTS_SYNC, events_names, "HOW",
     "guest doorbell: sync (every event), async (batched), asymm (frees sync)"},
    {"sanitizer", "fault", OPT_ENUM, FIELD(fault), 0, 0, SAN_FAULT_REPORT, fault_names, "WHAT",
     "after a report: report (run on), panic, panic_on_write (stop, exit 125)"},
    {"sanitizer", "multi_shot", OPT_BOOL, FIELD(multi_shot), 0, 1, 0, NULL, "BOOL",
     "report every bug, not only the first (as KASAN)"},
    {"sanitizer", "stacktrace", OPT_BOOL, FIELD(stacktrace), 0, 1, 1, NULL, "BOOL",
     "keep allocation and free stacks"},
    {"sanitizer", "stack_ring_size", OPT_UINT, FIELD(stack_ring_size), 16, 1u << 20, 32768, NULL,
     "N", "tag mode stack ring entries"},
    {"sanitizer", "tag_fault", OPT_ENUM, FIELD(tag_fault), 0, 0, SAN_TAG_FAULT_SYNC,
     tag_fault_names, "WHEN",
     "tag mode faults: sync (at the access), async (at the next drain), asymm (writes async)"},
    {"sanitizer", "quarantine", OPT_U64, FIELD(quarantine_mib), 0, CONFIG_MEMORY_MAX_MIB, 0, NULL,
     "MiB", "quarantine of freed objects (0: RAM/32)"},
    {"sanitizer", "page_alloc_sample", OPT_UINT, FIELD(page_alloc_sample), 1, 1u << 20, 1, NULL,
     "N", "track 1 in N page allocations"},
    /*
     * Default all, measured (tests/bench/bench_policy.sh, kvm_pvm, 3 rounds, off =
     * 1.00): all 1.43x, 61 reports; freed 1.38x, 61; sampled 1.24x, 2; adaptive
     * 1.50x, 32. freed costs about the same yet misses red-zone bugs on pages with
     * no freed memory (2 of kasan_test=all's 57); only all detects all 57.
     */
    {"sanitizer", "arm", OPT_ENUM, FIELD(arm), 0, 0, SAN_ARM_ALL, arm_names, "POLICY",
     "trapped pages: all, freed, sampled or adaptive"},
    {"sanitizer", "ept_mechanism", OPT_ENUM, FIELD(ept_mechanism), 0, 0, SAN_EPT_AUTO,
     ept_mech_names, "HOW",
     "how pages trap: auto (probe the host), mprotect or hole (memslot holes); a forced "
     "one must be exact here"},
    {"sanitizer", "system_map", OPT_FILE_IN, FIELD(system_map), 0, 0, 0, NULL, "FILE",
     "System.map of a Linux guest, for symbols"},
    {"sanitizer", "exempt", OPT_FILE_IN, FIELD(exempt), 0, 0, 0, NULL, "FILE",
     "allocator functions whose accesses are not judged (default: configs/exempt/)"},
    {"sanitizer", "report_rate", OPT_UINT, FIELD(report_rate), 1, 1000000, 1000, NULL, "N",
     "write at most N reports per second to the log; count the rest"},
    {"security", "seccomp", OPT_BOOL, FIELD(seccomp), 0, 1, 1, NULL, "BOOL",
     "after set-up, allow only the system calls the run loop needs"},
    {"security", "user", OPT_STRING, FIELD(user), 0, 64, 0, NULL, "NAME",
     "after set-up, drop root to this user (and its groups)"},
    {"libvirt", "connect", OPT_STRING, FIELD(lv_connect), 0, 4096, 0, NULL, "URI",
     "libvirt connection for --domain (default " LIBVIRT_DEFAULT_URI ")"},
    {"libvirt", "domain", OPT_STRING, FIELD(lv_domain), 0, 1024, 0, NULL, "NAME",
     "take kernel, memory, vCPUs, console, sanitizer from this libvirt domain"},
    {"libvirt", "ignore-unsupported", OPT_FLAG, FIELD(lv_ignore_unsupported), 0, 1, 0, NULL, "",
     "run a domain without the devices kasan-vmm cannot honour"},
};

#define NR_OPTS	     (sizeof(opts) / sizeof(opts[0]))
#define OPT_CONFIG   (int)NR_OPTS
#define OPT_HELP     (int)(NR_OPTS + 1)
#define OPT_VAL_BASE 256 /* getopt values above any short option */

static bool opt_is_string(const struct opt *o)
{
	return o->type <= OPT_STRING;
}

static char **opt_str(struct vm_config *cfg, const struct opt *o)
{
	return (char **)((char *)cfg + o->offset);
}

static const char *opt_get_str(const struct vm_config *cfg, const struct opt *o)
{
	const char *const *p = (const void *)((const char *)cfg + o->offset);

	return *p;
}

/* Numbers are read through the table so that range checks are generic. */
static uint64_t opt_get_num(const struct vm_config *cfg, const struct opt *o)
{
	const char *p = (const char *)cfg + o->offset;
	unsigned int u;
	uint64_t v;

	if (o->type == OPT_U64) {
		memcpy(&v, p, sizeof(v));
		return v;
	}
	memcpy(&u, p, sizeof(u));
	return u;
}

static void opt_set_num(struct vm_config *cfg, const struct opt *o, uint64_t v)
{
	char *p = (char *)cfg + o->offset;
	unsigned int u = (unsigned int)v;

	if (o->type == OPT_U64)
		memcpy(p, &v, sizeof(v));
	else
		memcpy(p, &u, sizeof(u));
}

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NR_OPTS; i++)
		if (!opt_is_string(&opts[i]))
			opt_set_num(cfg, &opts[i], opts[i].def);
}

void config_free(struct vm_config *cfg)
{
	for (size_t i = 0; i < NR_OPTS; i++) {
		if (opt_is_string(&opts[i])) {
			free(*opt_str(cfg, &opts[i]));
			*opt_str(cfg, &opts[i]) = NULL;
		}
	}
	free(cfg->config_file);
	cfg->config_file = NULL;
}

/* Decimal only: no sign, no spaces, no suffix, no overflow. */
static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_bool(const char *s, uint64_t *v)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*v = strcasecmp(s, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static bool parse_enum(const struct opt *o, const char *s, uint64_t *v)
{
	for (uint64_t i = 0; o->choices[i]; i++) {
		if (strcmp(s, o->choices[i]) == 0) {
			*v = i;
			return true;
		}
	}
	return false;
}

/*
 * Sets option o from text. `where` names the source in messages ("--memory"
 * or "file.ini: [vm] memory"); `dir` resolves relative paths (NULL: as is).
 */
static int opt_set(struct vm_config *cfg, const struct opt *o, const char *value, const char *where,
		   const char *dir)
{
	uint64_t v = 0;
	bool ok;
	char *s;

	if (opt_is_string(o)) {
		if (strlen(value) > (o->max ? o->max : SIZE_MAX)) {
			pr_err("%s: value longer than %llu bytes", where,
			       (unsigned long long)o->max);
			return -EINVAL;
		}
		if (o->type != OPT_STRING && dir && value[0] != '/' && value[0] != '\0')
			ok = asprintf(&s, "%s/%s", dir, value) >= 0;
		else
			ok = (s = strdup(value)) != NULL;
		if (!ok) {
			pr_err("%s: out of memory", where);
			return -EINVAL;
		}
		free(*opt_str(cfg, o));
		*opt_str(cfg, o) = s;
		return 0;
	}
	if (o->type == OPT_BOOL || o->type == OPT_FLAG)
		ok = parse_bool(value, &v);
	else if (o->type == OPT_ENUM)
		ok = parse_enum(o, value, &v);
	else
		ok = parse_u64(value, &v);
	if (!ok) {
		pr_err("%s '%s': not a valid %s", where, value,
		       o->type == OPT_BOOL   ? "boolean"
		       : o->type == OPT_ENUM ? "choice"
					     : "number");
		return -EINVAL;
	}
	if ((o->type == OPT_U64 || o->type == OPT_UINT) && (v < o->min || v > o->max)) {
		pr_err("%s '%s': must be between %llu and %llu", where, value,
		       (unsigned long long)o->min, (unsigned long long)o->max);
		return -EINVAL;
	}
	opt_set_num(cfg, o, v);
	return 0;
}

static const struct opt *opt_find(const char *section, const char *name)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

static bool section_known(const char *section, size_t len)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (strlen(opts[i].section) == len && strncmp(opts[i].section, section, len) == 0)
			return true;
	return false;
}

int config_set_option(struct vm_config *cfg, const char *section, const char *name,
		      const char *value, const char *where)
{
	const struct opt *o = opt_find(section, name);

	if (!o) {
		pr_err("%s: unknown option", where);
		return -EINVAL;
	}
	return opt_set(cfg, o, value, where, NULL);
}

struct ini_ctx {
	struct vm_config *cfg;
	const char *path;
	const char *dir;
	bool failed; /* a message was printed: stay silent after it */
};

static int ini_on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	const struct opt *o;
	char where[512];

	if (ctx->failed)
		return 0;
	o = opt_find(section, name);
	snprintf(where, sizeof(where), "%s: [%s] %s", ctx->path, section, name);
	if (!o) {
		pr_err("%s: unknown %s", where, section[0] ? "key" : "key outside any section");
		ctx->failed = true;
		return 0;
	}
	if (opt_set(ctx->cfg, o, value, where, ctx->dir) < 0) {
		ctx->failed = true;
		return 0;
	}
	return 1;
}

/* inih does not report empty sections, so section names are checked here. */
static int ini_check_sections(const char *path, const char *text)
{
	unsigned int line = 1;
	const char *p, *end;

	for (p = text; *p; line++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[') {
			end = strpbrk(p, "]\n");
			if (end && *end == ']' && !section_known(p + 1, (size_t)(end - p - 1))) {
				pr_err("%s:%u: unknown section '%.*s'", path, line,
				       (int)(end - p + 1), p);
				return -EINVAL;
			}
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return 0;
}

static int read_text_file(const char *path, char **text)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		pr_err("--config %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	*text = malloc(CONFIG_FILE_MAX + 1);
	n = *text ? fread(*text, 1, CONFIG_FILE_MAX + 1, f) : 0;
	if (!*text || ferror(f) || n > CONFIG_FILE_MAX || memchr(*text, '\0', n)) {
		pr_err("--config %s: unreadable, binary or larger than %d bytes", path,
		       CONFIG_FILE_MAX);
		fclose(f);
		free(*text);
		*text = NULL;
		return -EINVAL;
	}
	(*text)[n] = '\0';
	fclose(f);
	return 0;
}

int config_load_file(struct vm_config *cfg, const char *path)
{
	struct ini_ctx ctx = {.cfg = cfg, .path = path};
	char *text, *pathcopy;
	int err;

	err = read_text_file(path, &text);
	if (err)
		return err;
	pathcopy = strdup(path);
	err = pathcopy ? ini_check_sections(path, text) : -EINVAL;
	if (!err) {
		ctx.dir = dirname(pathcopy);
		err = ini_parse_string(text, ini_on_key, &ctx);
		if (err && !ctx.failed)
			pr_err("%s:%d: syntax error", path, err);
		err = err ? -EINVAL : 0;
	}
	if (!err) {
		free(cfg->config_file);
		cfg->config_file = strdup(path);
	}
	free(pathcopy);
	free(text);
	return err;
}

/* Opens an input file the way the loaders will, so errors show up before the VM. */
static int check_input_file(const struct opt *o, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_err("--%s %s: %s", o->name, path, strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("--%s %s: not a regular file", o->name, path);
		close(fd);
		return -EINVAL;
	}
	close(fd);
	return 0;
}

static int check_output_file(const struct opt *o, const char *path)
{
	char *copy = strdup(path);
	struct stat st;
	int err = 0;

	if (!copy || stat(dirname(copy), &st) < 0 || !S_ISDIR(st.st_mode)) {
		pr_err("--%s %s: its directory does not exist", o->name, path);
		err = -EINVAL;
	}
	free(copy);
	return err;
}

static int check_option(const struct vm_config *cfg, const struct opt *o)
{
	const char *s = opt_is_string(o) ? opt_get_str(cfg, o) : NULL;
	enum boot_kind kind;
	uint64_t v;

	switch (o->type) {
	case OPT_KERNEL:
		if (!s || !s[0]) {
			pr_err("--%s is required", o->name);
			return -EINVAL;
		}
		if (check_input_file(o, s) < 0 || boot_probe_kernel(s, &kind) < 0)
			return -EINVAL;
		return 0;
	case OPT_FILE_IN:
		return s ? check_input_file(o, s) : 0;
	case OPT_FILE_OUT:
		return s ? check_output_file(o, s) : 0;
	case OPT_STRING:
		if (s && o->max && strlen(s) > o->max) {
			pr_err("--%s: value longer than %llu bytes", o->name,
			       (unsigned long long)o->max);
			return -EINVAL;
		}
		return 0;
	case OPT_U64:
	case OPT_UINT:
		v = opt_get_num(cfg, o);
		if (v < o->min || v > o->max) {
			pr_err("--%s %llu: must be between %llu and %llu", o->name,
			       (unsigned long long)v, (unsigned long long)o->min,
			       (unsigned long long)o->max);
			return -EINVAL;
		}
		return 0;
	default:
		return 0;
	}
}

int config_validate(const struct vm_config *cfg)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (check_option(cfg, &opts[i]) < 0)
			return -EINVAL;
	/* Only now is --memory known to be in range: does the kernel (and initrd) fit it? */
	if (boot_check_fit(cfg->kernel, cfg->initrd, cfg->memory_mib << 20) < 0)
		return -EINVAL;
	return 0;
}

static void print_help(FILE *out)
{
	char left[64];

	fprintf(out, "usage: kasan-vmm run --kernel FILE [options]\n"
		     "       kasan-vmm run --domain NAME [--connect URI] [options]\n\n"
		     "Boots a guest under the KASAN shadow. Options (also INI keys, section\n"
		     "shown; command-line values override the file):\n");
	for (size_t i = 0; i < NR_OPTS; i++) {
		snprintf(left, sizeof(left), "--%s %s", opts[i].name, opts[i].arg);
		fprintf(out, "  %-22s [%s] %s", left, opts[i].section, opts[i].help);
		if (opts[i].type == OPT_ENUM)
			fprintf(out, " (default %s)", opts[i].choices[opts[i].def]);
		else if (opts[i].type == OPT_BOOL || opts[i].type == OPT_FLAG)
			fprintf(out, " (default %s)", opts[i].def ? "on" : "off");
		else if (!opt_is_string(&opts[i]))
			fprintf(out, " (%llu..%llu, default %llu)", (unsigned long long)opts[i].min,
				(unsigned long long)opts[i].max, (unsigned long long)opts[i].def);
		fputc('\n', out);
	}
	fprintf(out,
		"  %-22s read settings from an INI file (relative paths in it are\n"
		"  %-22s relative to the file)\n"
		"  %-22s this text\n",
		"--config FILE", "", "--help");
}

struct cli_value {
	int opt;
	const char *value;
};

/* getopt_long's table, built from opts[]. */
static void build_longopts(struct option *lo)
{
	size_t i;

	for (i = 0; i < NR_OPTS; i++)
		lo[i] = (struct option){opts[i].name,
					opts[i].type == OPT_FLAG ? no_argument : required_argument,
					NULL, OPT_VAL_BASE + (int)i};
	lo[i++] = (struct option){"config", required_argument, NULL, OPT_VAL_BASE + OPT_CONFIG};
	lo[i++] = (struct option){"help", no_argument, NULL, OPT_VAL_BASE + OPT_HELP};
	lo[i] = (struct option){0};
}

/* First pass: collect values so that --config can be applied before them. */
static int collect_args(int argc, char **argv, struct cli_value *vals, int *nvals,
			const char **config)
{
	struct option lo[NR_OPTS + 3];
	int c;

	build_longopts(lo);
	optind = 0; /* full getopt reset: this may run more than once per process */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
		if (c == 'h' || c == OPT_VAL_BASE + OPT_HELP) {
			print_help(stdout);
			return 1;
		} else if (c == OPT_VAL_BASE + OPT_CONFIG) {
			*config = optarg;
		} else if (c == ':') {
			pr_err("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		} else if (c == '?') {
			if (optopt > 0 && optopt < OPT_VAL_BASE)
				pr_err("unknown option '-%c'", optopt);
			else if (optopt >= OPT_VAL_BASE)
				pr_err("option '%s' takes no value", argv[optind - 1]);
			else
				pr_err("unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		} else {
			vals[(*nvals)++] =
			    (struct cli_value){c - OPT_VAL_BASE, optarg ? optarg : "on"};
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int apply_cli(struct vm_config *cfg, const struct cli_value *vals, int n)
{
	char where[64];
	int err = 0;

	for (int i = 0; err == 0 && i < n; i++) {
		snprintf(where, sizeof(where), "--%s", opts[vals[i].opt].name);
		err = opt_set(cfg, &opts[vals[i].opt], vals[i].value, where, NULL);
	}
	return err;
}

/*
 * A libvirt domain ranks between the file and the command line. The command
 * line is applied first only to learn --domain/--connect, then again over
 * the domain's values.
 */
static int apply_domain(struct vm_config *cfg, const struct cli_value *vals, int n)
{
	int err;

	if (!cfg->lv_domain) {
		if (!cfg->lv_connect)
			return 0;
		pr_err("--connect needs --domain");
		return -EINVAL;
	}
	err = libvirt_config_from_domain(cfg);
	return err ? err : apply_cli(cfg, vals, n);
}

int config_parse_run_args(struct vm_config *cfg, int argc, char **argv)
{
	struct cli_value *vals = calloc((size_t)argc + 1, sizeof(*vals));
	const char *config = NULL;
	int n = 0, err;

	if (!vals) {
		pr_err("out of memory parsing arguments");
		return -EINVAL;
	}
	err = collect_args(argc, argv, vals, &n, &config);
	if (err == 0 && config)
		err = config_load_file(cfg, config);
	if (err == 0)
		err = apply_cli(cfg, vals, n);
	if (err == 0)
		err = apply_domain(cfg, vals, n);
	if (err == 0)
		err = config_validate(cfg);
	free(vals);
	return err;
}
