// SPDX-License-Identifier: MIT
/*
 * The libvirt connection side: open, look up, read a domain's inactive XML
 * and its kasan-vmm metadata, write and remove that metadata. The XML
 * mapping itself is in libvirt_xml.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "vmm/libvirt.h"
#include "vmm/libvirt_xml.h"
#include "vmm/log.h"

/* libvirt prints every error on stderr unless told otherwise; ours say it in one line. */
static void quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

static int last_error_code(void)
{
	virErrorPtr e = virGetLastError();

	return e ? e->code : VIR_ERR_OK;
}

int libvirt_open(const char *uri, bool read_only, virConnectPtr *conn)
{
	if (!uri)
		uri = LIBVIRT_DEFAULT_URI;
	virSetErrorFunc(NULL, quiet);
	libvirt_xml_quiet();
	*conn = read_only ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
	if (!*conn) {
		pr_err("libvirt %s: %s", uri, last_error());
		return -ECONNREFUSED;
	}
	return 0;
}

int libvirt_lookup(virConnectPtr conn, const char *name, virDomainPtr *dom)
{
	*dom = virDomainLookupByName(conn, name);
	if (*dom)
		return 0;
	if (last_error_code() == VIR_ERR_NO_DOMAIN) {
		pr_err("libvirt: no domain '%s'", name);
		return -EINVAL;
	}
	pr_err("libvirt: looking up domain '%s': %s", name, last_error());
	return -EIO;
}

/* Two runners on one guest's disks and identity would corrupt both. */
static int refuse_active(virDomainPtr dom, const char *name)
{
	int active = virDomainIsActive(dom);

	if (active < 0) {
		pr_err("libvirt: domain '%s': %s", name, last_error());
		return -EIO;
	}
	if (active) {
		pr_err("libvirt runs domain '%s': shut it down before running it under kasan-vmm",
		       name);
		return -EINVAL;
	}
	return 0;
}

int libvirt_load_domain(virConnectPtr conn, const char *name, bool ignore_unsupported,
			struct vm_config *cfg)
{
	virDomainPtr dom;
	char *xml = NULL;
	int err;

	err = libvirt_lookup(conn, name, &dom);
	if (err)
		return err;
	err = refuse_active(dom, name);
	if (!err) {
		xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
		if (!xml) {
			pr_err("libvirt: XML of domain '%s': %s", name, last_error());
			err = -EIO;
		}
	}
	if (!err)
		err = libvirt_xml_to_config(xml, name, ignore_unsupported, cfg);
	free(xml);
	virDomainFree(dom);
	return err;
}

int libvirt_config_from_domain(struct vm_config *cfg)
{
	virConnectPtr conn;
	int err;

	err = libvirt_open(cfg->lv_connect, true, &conn);
	if (err)
		return err;
	err = libvirt_load_domain(conn, cfg->lv_domain, cfg->lv_ignore_unsupported, cfg);
	virConnectClose(conn);
	return err;
}

/* Running domains get the change live too; transient ones have no config to change. */
static int affect_flags(virDomainPtr dom, const char *name, unsigned int *flags)
{
	int active = virDomainIsActive(dom), persistent = virDomainIsPersistent(dom);

	if (active < 0 || persistent < 0) {
		pr_err("libvirt: domain '%s': %s", name, last_error());
		return -EIO;
	}
	*flags =
	    (persistent ? VIR_DOMAIN_AFFECT_CONFIG : 0) | (active ? VIR_DOMAIN_AFFECT_LIVE : 0);
	return 0;
}

int libvirt_set_tag(virConnectPtr conn, const char *name, const char *element_xml)
{
	unsigned int flags = 0;
	virDomainPtr dom;
	int err;

	err = libvirt_lookup(conn, name, &dom);
	if (err)
		return err;
	err = affect_flags(dom, name, &flags);
	if (!err && virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, element_xml,
					 element_xml ? LIBVIRT_XML_PREFIX : NULL, LIBVIRT_XML_NS,
					 flags) < 0) {
		pr_err("libvirt: %s metadata of domain '%s': %s",
		       element_xml ? "setting" : "removing", name, last_error());
		err = -EIO;
	}
	virDomainFree(dom);
	return err;
}

int libvirt_get_tag(virConnectPtr conn, const char *name, char **xml)
{
	virDomainPtr dom;
	int err;

	err = libvirt_lookup(conn, name, &dom);
	if (err)
		return err;
	/* The persistent definition is what `run` reads. */
	*xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, LIBVIRT_XML_NS,
				    virDomainIsPersistent(dom) == 1 ? VIR_DOMAIN_AFFECT_CONFIG
								    : VIR_DOMAIN_AFFECT_LIVE);
	if (!*xml && last_error_code() != VIR_ERR_NO_DOMAIN_METADATA) {
		pr_err("libvirt: metadata of domain '%s': %s", name, last_error());
		err = -EIO;
	}
	virDomainFree(dom);
	return err;
}
