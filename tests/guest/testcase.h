/* SPDX-License-Identifier: MIT */
/*
 * Test cases register themselves with TESTCASE(name) { ...; return 0; } in
 * any file of the guest (tests/guest/scenarios/ for KASAN bug scenarios):
 * the linker collects them in section "testcases", in link order. A case
 * returns 0 for pass; nonzero (or TEST_FAIL) for fail. `kasan_test=` on the
 * command line picks them: all (default), none, or NAME,NAME,...
 */
#ifndef GUEST_TESTCASE_H
#define GUEST_TESTCASE_H

#include "printf.h"

struct testcase {
	const char *name;
	int (*fn)(void);
};

#define TESTCASE(nm)                                                                               \
	static int test_##nm(void);                                                                \
	static const struct testcase testcase_##nm                                                 \
	    __attribute__((used, section("testcases"), aligned(16))) = {#nm, test_##nm};           \
	static int test_##nm(void)

/* In a test: print a TAP diagnostic ("# ...") and fail when cond is false. */
#define TEST_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);      \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#endif
