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
	    cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
