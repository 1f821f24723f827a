/* SPDX-License-Identifier: MIT */
/*
 * kasan-vmm as a libvirt client: libvirt cannot launch a non-QEMU emulator,
 * so kasan-vmm reads a defined (inactive) domain and runs it itself, and
 * keeps its per-domain sanitizer settings in the domain's metadata
 * (vmm/libvirt_xml.h has the format). libvirt's own error printing is
 * silenced; its errors become our one-line messages.
 */
#ifndef VMM_LIBVIRT_H
#define VMM_LIBVIRT_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "vmm/config.h"

#define LIBVIRT_DEFAULT_URI "qemu:///system"

/* Open uri (NULL: the default); -ECONNREFUSED and one line on failure. */
int libvirt_open(const char *uri, bool read_only, virConnectPtr *conn);

/* Look a domain up by name; -EINVAL and one line when there is none. */
int libvirt_lookup(virConnectPtr conn, const char *name, virDomainPtr *dom);

/*
 * Map domain `name` onto cfg (libvirt_xml_to_config on its inactive XML).
 * Refuses a domain libvirt runs. -EINVAL: bad domain (one line printed),
 * -EIO: libvirt failed.
 */
int libvirt_load_domain(virConnectPtr conn, const char *name, bool ignore_unsupported,
			struct vm_config *cfg);

/* What `run --domain` does: open cfg->lv_connect read-only, load cfg->lv_domain, close. */
int libvirt_config_from_domain(struct vm_config *cfg);

/* Write (element_xml) or remove (NULL) the metadata; config, and live if running. */
int libvirt_set_tag(virConnectPtr conn, const char *name, const char *element_xml);

/* The metadata element as libvirt stores it in *xml (malloc'd), or NULL when untagged. */
int libvirt_get_tag(virConnectPtr conn, const char *name, char **xml);

/* `kasan-vmm libvirt tag|untag|show ...` (argv[0] is "libvirt"): an exit code. */
int libvirt_main(int argc, char **argv);

#endif /* VMM_LIBVIRT_H */
