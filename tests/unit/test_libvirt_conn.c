// SPDX-License-Identifier: MIT
/*
 * The libvirt side against libvirt's built-in test driver (test:///default,
 * no daemon). Its state lives per connection, so each test defines its
 * domain, tags it, reads it back and maps it within one connection: the
 * round trip `kasan-vmm libvirt tag` + `kasan-vmm run --domain` make.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "vmm/libvirt.h"
#include "vmm/libvirt_xml.h"

static const char domain_xml[] =
    "<domain type='kvm'><name>kv-unit</name><memory unit='MiB'>64</memory>"
    "<vcpu>2</vcpu><os><type arch='x86_64'>hvm</type><kernel>/boot/k</kernel>"
    "<cmdline>quiet</cmdline></os></domain>";

static int setup(void **state)
{
	virConnectPtr conn;
	virDomainPtr dom;

	if (libvirt_open("test:///default", false, &conn))
		return -1;
	dom = virDomainDefineXML(conn, domain_xml);
	if (!dom)
		return -1;
	virDomainFree(dom);
	*state = conn;
	return 0;
}

static int teardown(void **state)
{
	virConnectClose(*state);
	return 0;
}

static void test_tag_round_trip(void **state)
{
	const char *keys[] = {"mode", "fault", "multi_shot"};
	const char *values[] = {"tags", "panic", "on"};
	virConnectPtr conn = *state;
	struct vm_config cfg;
	char *el, *xml = NULL;

	assert_int_equal(libvirt_get_tag(conn, "kv-unit", &xml), 0);
	assert_null(xml); /* defined untagged */

	el = libvirt_xml_sanitizer_element(keys, values, 3);
	assert_non_null(el);
	assert_int_equal(libvirt_set_tag(conn, "kv-unit", el), 0);
	free(el);
	assert_int_equal(libvirt_get_tag(conn, "kv-unit", &xml), 0);
	assert_non_null(xml);
	assert_string_equal(xml, "<sanitizer mode=\"tags\" fault=\"panic\" multi_shot=\"on\"/>");
	free(xml);

	/* what run reads: the inactive XML, metadata included */
	config_init(&cfg);
	assert_int_equal(libvirt_load_domain(conn, "kv-unit", false, &cfg), 0);
	assert_string_equal(cfg.kernel, "/boot/k");
	assert_string_equal(cfg.append, "quiet");
	assert_int_equal(cfg.memory_mib, 64);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.san_mode, SAN_TAGS);
	assert_int_equal(cfg.fault, SAN_FAULT_PANIC);
	assert_int_equal(cfg.multi_shot, 1);
	config_free(&cfg);

	/* retagging replaces, untagging removes */
	assert_int_equal(libvirt_set_tag(conn, "kv-unit", "<sanitizer arm='freed'/>"), 0);
	config_init(&cfg);
	assert_int_equal(libvirt_load_domain(conn, "kv-unit", false, &cfg), 0);
	assert_int_equal(cfg.san_mode, SAN_GENERIC);
	assert_int_equal(cfg.arm, SAN_ARM_FREED);
	config_free(&cfg);
	assert_int_equal(libvirt_set_tag(conn, "kv-unit", NULL), 0);
	assert_int_equal(libvirt_get_tag(conn, "kv-unit", &xml), 0);
	assert_null(xml);
	config_init(&cfg);
	assert_int_equal(libvirt_load_domain(conn, "kv-unit", false, &cfg), 0);
	assert_int_equal(cfg.arm, SAN_ARM_ALL);
	config_free(&cfg);
}

static void test_refusals(void **state)
{
	virConnectPtr conn = *state;
	struct vm_config cfg;
	virDomainPtr dom;

	config_init(&cfg);
	/* test:///default's own domain "test" is running */
	assert_int_equal(libvirt_load_domain(conn, "test", false, &cfg), -EINVAL);
	assert_int_equal(libvirt_load_domain(conn, "no-such-domain", false, &cfg), -EINVAL);
	assert_int_equal(libvirt_lookup(conn, "no-such-domain", &dom), -EINVAL);
	assert_int_equal(libvirt_set_tag(conn, "no-such-domain", "<sanitizer/>"), -EINVAL);
	config_free(&cfg);
	/* a running domain can be tagged: live and config */
	assert_int_equal(libvirt_set_tag(conn, "test", "<sanitizer mode='off'/>"), 0);
}

/* The element libvirt holds for dom in the live (or persistent) definition; NULL: none. */
static char *metadata(virConnectPtr conn, const char *name, unsigned int which)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	char *xml;

	assert_non_null(dom);
	xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, LIBVIRT_XML_NS, which);
	if (!xml)
		assert_int_equal(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN_METADATA);
	virDomainFree(dom);
	return xml;
}

static void assert_metadata(virConnectPtr conn, const char *name, unsigned int which,
			    const char *want)
{
	char *xml = metadata(conn, name, which);

	if (want)
		assert_string_equal(xml ? xml : "(none)", want);
	else
		assert_null(xml);
	free(xml);
}

/* tag/untag on a running domain change the live definition as well as the persistent one. */
static void test_tag_live_and_persistent(void **state)
{
	virConnectPtr conn = *state;
	virDomainPtr dom = virDomainLookupByName(conn, "kv-unit");
	const char *want = "<sanitizer mode=\"tags\" fault=\"panic\"/>";

	assert_non_null(dom);
	assert_int_equal(virDomainCreate(dom), 0); /* the test driver "runs" it */
	assert_int_equal(virDomainIsActive(dom), 1);
	virDomainFree(dom);
	assert_int_equal(libvirt_set_tag(conn, "kv-unit", "<sanitizer mode='tags' fault='panic'/>"),
			 0);
	assert_metadata(conn, "kv-unit", VIR_DOMAIN_AFFECT_LIVE, want);
	assert_metadata(conn, "kv-unit", VIR_DOMAIN_AFFECT_CONFIG, want);
	assert_int_equal(libvirt_set_tag(conn, "kv-unit", NULL), 0);
	assert_metadata(conn, "kv-unit", VIR_DOMAIN_AFFECT_LIVE, NULL);
	assert_metadata(conn, "kv-unit", VIR_DOMAIN_AFFECT_CONFIG, NULL);
	/* a shut-off domain has no live definition to change: persistent only */
	dom = virDomainLookupByName(conn, "kv-unit");
	assert_int_equal(virDomainDestroy(dom), 0);
	virDomainFree(dom);
	assert_int_equal(libvirt_set_tag(conn, "kv-unit", "<sanitizer mode='tags' fault='panic'/>"),
			 0);
	assert_metadata(conn, "kv-unit", VIR_DOMAIN_AFFECT_CONFIG, want);
}

static void test_unreachable(void **state)
{
	virConnectPtr conn;

	(void)state;
	assert_int_equal(libvirt_open("test:///nonexistent/node.xml", true, &conn), -ECONNREFUSED);
	assert_int_equal(libvirt_open("bogus+scheme:///x", true, &conn), -ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tag_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tag_live_and_persistent, setup, teardown),
	    cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
