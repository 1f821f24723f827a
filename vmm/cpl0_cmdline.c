// SPDX-License-Identifier: MIT
/*
 * The guest command line on hosts that emulate guest CPL0: the user's, plus
 * the options that switch off what KVM cannot emulate when the guest is
 * Linux (vmm/cpl0.h says why CPUID alone is not enough there).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/cpl0.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static bool file_is_linux(const char *path)
{
	struct stat st;
	bool linux_image = false;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			linux_image = cpl0_image_is_linux(p, (size_t)st.st_size);
			munmap(p, (size_t)st.st_size);
		}
	}
	close(fd);
	return linux_image;
}

char *cpl0_guest_cmdline(const struct host_probe *probe, const char *kernel, const char *append)
{
	char extra[512];
	const char *user = append ? append : "";
	char *out;
	int n;

	if (!probe->cpl0_emulated || !kernel || !file_is_linux(kernel))
		return strdup(user);
	n = cpl0_linux_cmdline(probe->cannot_run, extra, sizeof(extra));
	if (n < 0) {
		pr_warn("cpl0: the options for what KVM cannot emulate do not fit clearcpuid=; "
			"booting with the command line as given");
		return strdup(user);
	}
	if (!n)
		return strdup(user);
	if (strstr(user, "clearcpuid=")) {
		/* Linux reads one clearcpuid=: the user's wins, ours is not added. */
		pr_warn("cpl0: the command line has clearcpuid= already; not adding \"%s\"", extra);
		return strdup(user);
	}
	out = malloc(strlen(user) + 1 + (size_t)n + 1);
	if (!out)
		return NULL;
	sprintf(out, "%s%s%s", user, *user ? " " : "", extra);
	pr_info("cpl0: guest CPL0 is emulated and the guest is Linux: appending \"%s\"", extra);
	return out;
}
