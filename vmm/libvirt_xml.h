/* SPDX-License-Identifier: MIT */
/*
 * libvirt domain XML -> struct vm_config, and the kasan-vmm metadata element.
 * Pure functions of strings (libxml2 only, no connection), so that every
 * mapping rule is unit-tested on XML text.
 */
#ifndef VMM_LIBVIRT_XML_H
#define VMM_LIBVIRT_XML_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/config.h"

/*
 * The metadata namespace: <kasan:sanitizer xmlns:kasan=LIBVIRT_XML_NS .../>
 * in /domain/metadata, its attributes being the [sanitizer] option names.
 * The version is in the URI: a future incompatible format gets a new one.
 */
#define LIBVIRT_XML_NS	   "https://kasan-vmm.invalid/xmlns/1"
#define LIBVIRT_XML_PREFIX "kasan"
#define LIBVIRT_XML_MAX	   (4 << 20) /* larger documents are refused */

/*
 * Map a domain's XML onto cfg: <os><kernel>, <initrd>, <cmdline>,
 * <memory unit=...>, <vcpu> (its current= if given), a file <serial> or
 * <console> as the console copy, and the metadata sanitizer settings; each
 * value goes through the option table (config_set_option). A domain without
 * <kernel> is refused unless cfg already has a kernel. Everything kasan-vmm
 * cannot honour is named in one line: an error, or with ignore_unsupported a
 * warning. `name` labels messages. Returns 0 or -EINVAL after one line.
 */
int libvirt_xml_to_config(const char *xml, const char *name, bool ignore_unsupported,
			  struct vm_config *cfg);

/*
 * A libvirt memory value in MiB, rounded up. unit as libvirt defines it
 * (case-insensitive): b/byte/bytes; KB, MB, GB, TB, PB, EB (powers of 1000);
 * k/KiB, M/MiB, G/GiB, T/TiB, P/PiB, E/EiB (powers of 1024); NULL or "": KiB.
 * Returns 0, or -EINVAL (bad number or unit) / -ERANGE (overflow) silently.
 */
int libvirt_xml_memory_mib(const char *value, const char *unit, uint64_t *mib);

/*
 * The metadata element for virDomainSetMetadata, e.g. <sanitizer mode="tags"/>,
 * attribute values escaped. Returns a malloc'd string or NULL (out of memory).
 */
char *libvirt_xml_sanitizer_element(const char *const *keys, const char *const *values, int n);

/* Keep libxml2 from printing on stderr (libvirt parses with it too, e.g. test:/// files). */
void libvirt_xml_quiet(void);

#endif /* VMM_LIBVIRT_XML_H */
