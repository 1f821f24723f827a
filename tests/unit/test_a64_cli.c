// SPDX-License-Identifier: MIT
/* The arm64 command line: values, defaults, ranges, and one-line refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/arm64/a64_cli.h"
#include "vmm/config.h"

/* parse(&c, "run", "--opt", "value", ..., NULL) */
static int parse(struct a64_cli *c, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	va_start(ap, c);
	while (argc < 63 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return a64_cli_parse(c, argc, argv);
}

#define PARSE(c, ...) parse(c, __VA_ARGS__, (char *)NULL)

/* A readable file for --kernel/--initrd/--system_map. */
static char F[] = "/tmp/test_a64_cli.XXXXXX";

static void test_run_options(void **state)
{
	struct a64_cli c;
	char initrd[64];

	(void)state;
	snprintf(initrd, sizeof(initrd), "--initrd=%s", F); /* the '=' form */
	assert_int_equal(PARSE(&c, "run", "--kernel", F, initrd, "--append",
			       "console=ttyS0 earlycon", "--cpus", "4", "--memory=512", "--log",
			       "/tmp/k.log", "--console", "/tmp/c.txt", "--timeout", "30", "--mode",
			       "tags", "--events", "asymm", "--fault", "panic_on_write",
			       "--multi_shot", "on", "--system_map", F),
			 0);
	assert_string_equal(c.kernel, F);
	assert_string_equal(c.initrd, F);
	assert_string_equal(c.append, "console=ttyS0 earlycon");
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.memory_mib, 512);
	assert_string_equal(c.log, "/tmp/k.log");
	assert_string_equal(c.console, "/tmp/c.txt");
	assert_int_equal(c.timeout_s, 30);
	assert_int_equal(c.mode, SAN_TAGS);
	assert_int_equal(c.events, SAN_EVENTS_ASYMM);
	assert_int_equal(c.fault, SAN_FAULT_PANIC_ON_WRITE);
	assert_true(c.multi_shot);
	assert_string_equal(c.system_map, F);
}

static void test_defaults_and_dump(void **state)
{
	struct a64_cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--kernel", F), 0);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.memory_mib, 256);
	assert_int_equal(c.mode, SAN_GENERIC);
	assert_int_equal(c.events, SAN_EVENTS_SYNC);
	assert_int_equal(c.fault, SAN_FAULT_REPORT);
	assert_false(c.multi_shot);
	assert_null(c.initrd);
	assert_int_equal(PARSE(&c, "dump-dtb", "-o", "/tmp/x.dtb", "--cpus", "64"), 0);
	assert_string_equal(c.dtb_out, "/tmp/x.dtb");
	assert_int_equal(c.cpus, 64);
	assert_int_equal(PARSE(&c, "run", "--help"), 1);
}

static void test_bad_input(void **state)
{
	static char long_append[4096];
	struct a64_cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run"), -EINVAL);	  /* no kernel */
	assert_int_equal(PARSE(&c, "dump-dtb"), -EINVAL); /* no -o */
	assert_int_equal(PARSE(&c, "run", "--kernel", "/nonexistent/Image"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--cpus", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--cpus", "65"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--cpus", "2x"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--cpus", "-1"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--memory", "8"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--memory", "99999999999999999999999"),
			 -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--mode", "hw"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--mode="), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--log", ""), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--bogus", "1"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "stray"), -EINVAL);
	memset(long_append, 'a', sizeof(long_append) - 1);
	assert_int_equal(PARSE(&c, "run", "--kernel", F, "--append", long_append), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_options),
	    cmocka_unit_test(test_defaults_and_dump),
	    cmocka_unit_test(test_bad_input),
	};

	int fd = mkstemp(F), ret;

	if (fd < 0)
		return 1;
	close(fd);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(F);
	return ret;
}
