// SPDX-License-Identifier: MIT
/* `kasan-vmm run` options: defaults, INI file, precedence, paths, --help, rejections. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/config.h"
#include "tests/fixtures/tiny_pvh_elf.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char kernel[PATH_MAX]; /* a valid (tiny PVH) kernel */

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Writes text to tmpdir/name and returns the full path (static buffer). */
static const char *write_ini(const char *name, const char *text)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(path, text, strlen(text));
	return path;
}

/* Captures what fd `fd` gets while parsing; returns the parse result. */
static int parse_capture(struct vm_config *cfg, int argc, char **argv, int fd, char *out,
			 size_t outlen)
{
	FILE *tmp = tmpfile();
	int saved, err;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	fflush(stderr);
	saved = dup(fd);
	dup2(fileno(tmp), fd);
	err = config_parse_run_args(cfg, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, outlen - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return err;
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

/* Parses argv (NULL-terminated) and asserts -EINVAL with exactly one prefixed line on stderr. */
static void expect_reject(char **argv, int argc, const char *needle)
{
	struct vm_config cfg;
	char err[4096];

	config_init(&cfg);
	assert_int_equal(parse_capture(&cfg, argc, argv, 2, err, sizeof(err)), -EINVAL);
	config_free(&cfg);
	if (count_lines(err) != 1 || strncmp(err, "kasan-vmm: ", 11) != 0 || !strstr(err, needle))
		fail_msg("argv[1]=%s: expected one line with '%s', got: %s", argv[1], needle, err);
}

static int setup(void **state)
{
	uint8_t elf[TINY_SIZE];

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/k.elf", tmpdir);
	write_file(kernel, elf, tiny_pvh_elf(elf));
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_defaults(void **state)
{
	char *argv[] = {"run", "--kernel", kernel, NULL};
	struct vm_config cfg;

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_parse_run_args(&cfg, ARGC(argv), argv), 0);
	assert_string_equal(cfg.kernel, kernel);
	assert_int_equal(cfg.memory_mib, 256);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.timeout_s, 0);
	assert_null(cfg.initrd);
	assert_null(cfg.append);
	assert_null(cfg.console);
	assert_null(cfg.log);
	assert_null(cfg.config_file);
	config_free(&cfg);
}

static void test_all_options(void **state)
{
	char console[PATH_MAX], log[PATH_MAX];
	char *argv[] = {"run",		 "--kernel", kernel, "--initrd",  kernel, "--append",
			"console=ttyS0", "--memory", "1024", "--cpus",	  "4",	  "--console",
			console,	 "--log",    log,    "--timeout", "30",	  NULL};
	struct vm_config cfg;

	(void)state;
	snprintf(console, sizeof(console), "%s/console.txt", tmpdir);
	snprintf(log, sizeof(log), "%s/kasan.log", tmpdir);
	config_init(&cfg);
	assert_int_equal(config_parse_run_args(&cfg, ARGC(argv), argv), 0);
	assert_string_equal(cfg.initrd, kernel);
	assert_string_equal(cfg.append, "console=ttyS0");
	assert_int_equal(cfg.memory_mib, 1024);
	assert_int_equal(cfg.cpus, 4);
	assert_string_equal(cfg.console, console);
	assert_string_equal(cfg.log, log);
	assert_int_equal(cfg.timeout_s, 30);
	config_free(&cfg);
}

static void test_file_and_override_order(void **state)
{
	const char *ini = write_ini("vm.ini", "; comment\n[vm]\nkernel = k.elf\nmemory = 512\n"
					      "cpus = 2\nappend = quiet loglevel=3\ntimeout = 7\n");
	char path[PATH_MAX], expect_kernel[PATH_MAX];
	char *before[] = {"run", "--memory", "1024", "--config", path, NULL};
	char *after[] = {"run", "--config", path, "--memory", "1024", NULL};
	char **orders[] = {before, after};
	struct vm_config cfg;

	(void)state;
	snprintf(path, sizeof(path), "%s", ini);
	snprintf(expect_kernel, sizeof(expect_kernel), "%s/k.elf", tmpdir);
	for (int i = 0; i < 2; i++) {
		config_init(&cfg);
		assert_int_equal(config_parse_run_args(&cfg, 5, orders[i]), 0);
		assert_int_equal(cfg.memory_mib, 1024); /* command line wins either way */
		assert_int_equal(cfg.cpus, 2);
		assert_int_equal(cfg.timeout_s, 7);
		assert_string_equal(cfg.append, "quiet loglevel=3");
		assert_string_equal(cfg.kernel, expect_kernel);
		assert_string_equal(cfg.config_file, path);
		config_free(&cfg);
	}
}

static void test_relative_paths(void **state)
{
	char sub[PATH_MAX], ini[PATH_MAX], expect[PATH_MAX];
	char *argv[] = {"run", "--config", ini, NULL};
	struct vm_config cfg;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(ini, sizeof(ini), "%s/sub/rel.ini", tmpdir);
	snprintf(expect, sizeof(expect),
		 "[vm]\nkernel = ../k.elf\ninitrd = /etc/hostname\nlog = out.log\n");
	write_file(ini, expect, strlen(expect));
	config_init(&cfg);
	assert_int_equal(config_parse_run_args(&cfg, ARGC(argv), argv), 0);
	snprintf(expect, sizeof(expect), "%s/sub/../k.elf", tmpdir);
	assert_string_equal(cfg.kernel, expect);
	assert_string_equal(cfg.initrd, "/etc/hostname"); /* absolute stays as is */
	snprintf(expect, sizeof(expect), "%s/sub/out.log", tmpdir);
	assert_string_equal(cfg.log, expect);
	config_free(&cfg);
}

/* The shipped example config: paths relative to configs/, 2 vCPUs. */
static void test_shipped_testguest_ini(void **state)
{
	char src[] = __FILE__, path[PATH_MAX];
	struct vm_config cfg;

	(void)state;
	snprintf(path, sizeof(path), "%s/../../configs/testguest.ini", dirname(src));
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path), 0);
	assert_int_equal(cfg.cpus, 2);
	assert_non_null(strstr(cfg.kernel, "configs/../build/testguest.elf"));
	config_free(&cfg);
}

/* [sanitizer] keys from a file, overridden from the command line. */
static void test_sanitizer_keys(void **state)
{
	char path[PATH_MAX];
	char *argv[] = {"run", "--config", path, "--fault", "panic", "--multi_shot", "off", NULL};
	struct vm_config cfg;
	char out[1024];

	(void)state;
	snprintf(path, sizeof(path), "%s",
		 write_ini("san.ini", "[vm]\nkernel = k.elf\n[sanitizer]\nmode = tags\n"
				      "events = asymm\nfault = report\nmulti_shot = on\n"
				      "stack_ring_size = 1024\narm = adaptive\n"));
	config_init(&cfg);
	assert_int_equal(parse_capture(&cfg, ARGC(argv), argv, 2, out, sizeof(out)), 0);
	assert_int_equal(cfg.san_mode, SAN_TAGS);
	assert_int_equal(cfg.events, SAN_EVENTS_ASYMM);
	assert_int_equal(cfg.fault, SAN_FAULT_PANIC);
	assert_int_equal(cfg.multi_shot, 0);
	assert_int_equal(cfg.stack_ring_size, 1024);
	assert_int_equal(cfg.arm, SAN_ARM_ADAPTIVE);
	assert_int_equal(cfg.stacktrace, 1); /* default */
	config_free(&cfg);
}

/* --ept_mechanism: auto by default, from the INI file, the command line wins, bad values refused.
 */
static void test_ept_mechanism(void **state)
{
	char path[PATH_MAX];
	char *plain[] = {"run", "--kernel", kernel, NULL};
	char *file_only[] = {"run", "--config", path, NULL};
	char *both[] = {"run", "--ept_mechanism", "hole", "--config", path, NULL};
	char *bad[] = {"run", "--kernel", kernel, "--ept_mechanism", "readonly", NULL};
	char *help[] = {"run", "--help", NULL};
	struct vm_config cfg;
	char out[8192];

	(void)state;
	snprintf(
	    path, sizeof(path), "%s",
	    write_ini("mech.ini", "[vm]\nkernel = k.elf\n[sanitizer]\nept_mechanism = mprotect\n"));
	config_init(&cfg);
	assert_int_equal(config_parse_run_args(&cfg, ARGC(plain), plain), 0);
	assert_int_equal(cfg.ept_mechanism, SAN_EPT_AUTO);
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(parse_capture(&cfg, ARGC(file_only), file_only, 2, out, sizeof(out)), 0);
	assert_int_equal(cfg.ept_mechanism, SAN_EPT_MPROTECT);
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(parse_capture(&cfg, ARGC(both), both, 2, out, sizeof(out)), 0);
	assert_int_equal(cfg.ept_mechanism, SAN_EPT_HOLE);
	config_free(&cfg);
	/* read-only slots do not trap reads: not a choice for a run */
	expect_reject(bad, ARGC(bad), "--ept_mechanism 'readonly': not a valid choice");
	config_init(&cfg);
	assert_int_equal(parse_capture(&cfg, ARGC(help), help, 1, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "--ept_mechanism HOW"));
	config_free(&cfg);
}

static void test_help(void **state)
{
	char *argv[] = {"run", "--help", NULL};
	char *argv_h[] = {"run", "-h", NULL};
	struct vm_config cfg;
	char out[8192];

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_capture(&cfg, ARGC(argv), argv, 1, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "usage: kasan-vmm run"));
	/* Every table option is documented. */
	assert_non_null(strstr(out, "--kernel FILE"));
	assert_non_null(strstr(out, "--memory MiB"));
	assert_non_null(strstr(out, "--timeout S"));
	assert_non_null(strstr(out, "--config FILE"));
	assert_int_equal(parse_capture(&cfg, ARGC(argv_h), argv_h, 1, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "usage: kasan-vmm run"));
	config_free(&cfg);
}

static void test_reject_cli_values(void **state)
{
	char longstr[5000];
	struct {
		const char *opt, *value, *needle;
	} cases[] = {
	    {"--kernel", "/nonexistent/vmlinuz", "--kernel /nonexistent/vmlinuz"},
	    {"--kernel", "/etc/passwd", "kernel /etc/passwd: not a Linux bzImage"},
	    {"--kernel", "/tmp", "--kernel /tmp: not a regular file"},
	    {"--initrd", "/nonexistent/initrd", "--initrd /nonexistent/initrd"},
	    {"--memory", "1", "--memory '1': must be between 16 and"},
	    {"--memory", "16385", "--memory '16385'"},
	    {"--memory", "abc", "--memory 'abc': not a valid number"},
	    {"--memory", "12x", "--memory '12x'"},
	    {"--memory", "-5", "--memory '-5'"},
	    {"--memory", " 64", "--memory ' 64'"},
	    {"--memory", "", "--memory ''"},
	    {"--memory", "99999999999999999999999", "--memory '9999"},
	    {"--cpus", "0", "--cpus '0'"},
	    {"--cpus", "41", "--cpus '41'"},
	    {"--cpus", "4294967297", "--cpus '4294967297'"},
	    {"--timeout", "-1", "--timeout '-1'"},
	    {"--timeout", "99999999", "--timeout '99999999'"},
	    {"--console", "/nonexistent/dir/console.txt", "--console /nonexistent/dir"},
	    {"--log", "/nonexistent/dir/k.log", "--log /nonexistent/dir"},
	    {"--config", "/nonexistent/vm.ini", "--config /nonexistent/vm.ini"},
	    {"--append", longstr, "--append: value longer than 4095"},
	};

	(void)state;
	memset(longstr, 'a', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The case's option goes last so that --kernel is valid unless it is the case. */
		char *argv[] = {
		    "run", "--kernel", kernel, (char *)cases[i].opt, (char *)cases[i].value, NULL};

		expect_reject(argv, ARGC(argv), cases[i].needle);
	}
}

static void test_reject_cli_syntax(void **state)
{
	char *no_kernel[] = {"run", "--memory", "64", NULL};
	char *unknown[] = {"run", "--kernel", kernel, "--bogus", "1", NULL};
	char *unknown_short[] = {"run", "-x", "--kernel", kernel, NULL};
	char *positional[] = {"run", "--kernel", kernel, "extra", NULL};
	char *missing_value[] = {"run", "--kernel", kernel, "--memory", NULL};
	char *help_with_arg[] = {"run", "--help=yes", NULL};

	(void)state;
	expect_reject(no_kernel, ARGC(no_kernel), "--kernel is required");
	expect_reject(unknown, ARGC(unknown), "unknown option '--bogus'");
	expect_reject(unknown_short, ARGC(unknown_short), "unknown option '-x'");
	expect_reject(positional, ARGC(positional), "unexpected argument 'extra'");
	expect_reject(missing_value, ARGC(missing_value), "'--memory' needs a value");
	expect_reject(help_with_arg, ARGC(help_with_arg), "'--help=yes' takes no value");
}

static void test_reject_file(void **state)
{
	struct {
		const char *text, *needle;
	} cases[] = {
	    {"[vm]\nkernel = k.elf\nbogus = 1\n", "[vm] bogus: unknown key"},
	    {"[vm]\nkernel = k.elf\n[other]\n", "unknown section '[other]'"},
	    {"[sanitizer]\nmode = purple\n[vm]\nkernel = k.elf\n",
	     "[sanitizer] mode 'purple': not a valid choice"},
	    {"[vm]\nkernel = k.elf\n[sanitizer]\nmulti_shot = maybe\n",
	     "[sanitizer] multi_shot 'maybe': not a valid boolean"},
	    {"[vm]\nkernel = k.elf\n[sanitizer]\nstack_ring_size = 1\n",
	     "[sanitizer] stack_ring_size '1': must be between"},
	    {"kernel = k.elf\n", "unknown key outside any section"},
	    {"[vm]\nkernel = k.elf\nthis line has no equals sign\n", ":3: syntax error"},
	    {"[vm]\nkernel = k.elf\nmemory = 1\n", "[vm] memory '1': must be between"},
	    {"[vm]\nkernel = k.elf\ncpus = two\n", "[vm] cpus 'two': not a valid number"},
	    {"[vm]\nkernel = missing.elf\n", "missing.elf: No such file"},
	    {"[vm]\nmemory = 64\n", "--kernel is required"},
	    /* Several bad lines still give one message. */
	    {"[vm]\nkernel = k.elf\nfoo = 1\nbar = 2\nmemory = x\n", "[vm] foo: unknown key"},
	};
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"run", "--config", path, NULL};

		snprintf(path, sizeof(path), "%s", write_ini("bad.ini", cases[i].text));
		expect_reject(argv, ARGC(argv), cases[i].needle);
	}
}

/* The Debian kernel named by env (exported by `make unit`/`make test`); fails if unset. */
static char *debian_kernel(const char *env)
{
	char *path = getenv(env);

	if (!path)
		fail_msg("%s is not set: run the tests with `make unit`", env);
	return path;
}

/* What only shows when the kernel is laid out in RAM is still rejected before any VM. */
static void test_reject_kernel_fit(void **state)
{
	char *bz = debian_kernel("KASAN_VMM_BZIMAGE"), *elf = debian_kernel("KASAN_VMM_VMLINUX");
	char empty[PATH_MAX], huge[PATH_MAX], ini[PATH_MAX + 64];
	char *small_bz[] = {"run", "--kernel", bz, "--memory", "32", NULL};
	char *small_elf[] = {"run", "--kernel", elf, "--memory", "16", NULL};
	char *empty_rd[] = {"run", "--kernel", bz, "--initrd", empty, NULL};
	char *huge_rd[] = {"run", "--kernel", kernel, "--initrd", huge, "--memory", "64", NULL};
	char *from_file[] = {"run", "--config", ini, NULL};
	char *fits[] = {"run", "--kernel", bz, "--initrd", huge, "--memory", "512", NULL};
	struct vm_config cfg;

	(void)state;
	snprintf(empty, sizeof(empty), "%s/empty.img", tmpdir);
	snprintf(huge, sizeof(huge), "%s/huge.img", tmpdir);
	write_file(empty, "", 0);
	assert_int_equal(truncate(write_ini("huge.img", ""), 100 << 20), 0);
	expect_reject(small_bz, ARGC(small_bz), "RAM below 3 GiB, the guest has 32 MiB");
	expect_reject(small_elf, ARGC(small_elf),
		      "is not in guest RAM between 1 MiB and 0x1000000");
	expect_reject(empty_rd, ARGC(empty_rd), "empty.img: empty file");
	expect_reject(huge_rd, ARGC(huge_rd), "huge.img: 104857600 bytes do not fit");
	snprintf(ini, sizeof(ini), "[vm]\nkernel = %s\nmemory = 32\n", bz);
	snprintf(ini, sizeof(ini), "%s", write_ini("small.ini", ini));
	expect_reject(from_file, ARGC(from_file), "the guest has 32 MiB");
	/* Enough RAM: the same files pass. */
	config_init(&cfg);
	assert_int_equal(config_parse_run_args(&cfg, ARGC(fits), fits), 0);
	config_free(&cfg);
}

/* config_validate also guards configs built in code, not only parsed ones. */
static void test_validate_direct(void **state)
{
	struct vm_config cfg;
	char err[1024];
	int saved;
	FILE *tmp;

	(void)state;
	config_init(&cfg);
	cfg.kernel = strdup(kernel);
	assert_int_equal(config_validate(&cfg), 0);
	cfg.cpus = 0;
	tmp = tmpfile();
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	assert_int_equal(config_validate(&cfg), -EINVAL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	err[fread(err, 1, sizeof(err) - 1, tmp)] = '\0';
	fclose(tmp);
	assert_non_null(strstr(err, "--cpus 0: must be between 1 and 40"));
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_options),
	    cmocka_unit_test(test_file_and_override_order),
	    cmocka_unit_test(test_relative_paths),
	    cmocka_unit_test(test_shipped_testguest_ini),
	    cmocka_unit_test(test_sanitizer_keys),
	    cmocka_unit_test(test_ept_mechanism),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_reject_cli_values),
	    cmocka_unit_test(test_reject_cli_syntax),
	    cmocka_unit_test(test_reject_file),
	    cmocka_unit_test(test_validate_direct),
	    cmocka_unit_test(test_reject_kernel_fit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
