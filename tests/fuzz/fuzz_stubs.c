// SPDX-License-Identifier: MIT
/*
 * Linked into the config fuzz targets instead of vmm/libvirt.c: a libvirt
 * connection from fuzzed input would be slow and reach outside the process.
 */
#include <errno.h>

#include "vmm/config.h"
#include "vmm/libvirt.h"

int libvirt_config_from_domain(struct vm_config *cfg)
{
	(void)cfg;
	return -EINVAL; /* --domain is refused: no libvirt in the fuzzer */
}
