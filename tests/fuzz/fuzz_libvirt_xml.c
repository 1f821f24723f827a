// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a libvirt domain's XML mapped onto the VM config, with
 * and without ignore_unsupported (the last input byte chooses), then the
 * memory-unit parser on the input's first line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"
#include "vmm/libvirt_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	char *xml = malloc(size + 1), *nl;
	struct vm_config cfg;
	uint64_t mib;

	if (!xml)
		return 0;
	if (!quiet++)
		libvirt_xml_quiet();
	memcpy(xml, data, size);
	xml[size] = '\0';
	config_init(&cfg);
	libvirt_xml_to_config(xml, "fuzz", size && (data[size - 1] & 1), &cfg);
	config_free(&cfg);
	nl = strchr(xml, '\n');
	if (nl) {
		*nl = '\0';
		libvirt_xml_memory_mib(xml, nl + 1 < xml + size ? nl + 1 : NULL, &mib);
	}
	free(xml);
	return 0;
}
