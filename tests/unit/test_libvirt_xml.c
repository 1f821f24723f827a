// SPDX-License-Identifier: MIT
/*
 * libvirt domain XML -> vm_config on XML strings: units, kernel, devices that
 * cannot be honoured, malformed and hostile documents, the metadata element.
 * Every rejection must be -EINVAL with exactly one line on stderr.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/libvirt_xml.h"

#define NS "https://kasan-vmm.invalid/xmlns/1"

static char err_text[8192];

/* Maps xml onto cfg with stderr captured in err_text. */
static int map(const char *xml, bool ignore, struct vm_config *cfg)
{
	FILE *tmp = tmpfile();
	int saved, ret;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	ret = libvirt_xml_to_config(xml, "dom", ignore, cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(err_text, 1, sizeof(err_text) - 1, tmp);
	err_text[n] = '\0';
	fclose(tmp);
	return ret;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* xml must be refused with one line on stderr that contains `want`. */
static void refused(const char *xml, const char *want)
{
	struct vm_config cfg;

	config_init(&cfg);
	assert_int_equal(map(xml, false, &cfg), -EINVAL);
	if (!strstr(err_text, want) || lines(err_text) != 1)
		fail_msg("wanted one line with \"%s\", got: %s", want, err_text);
	config_free(&cfg);
}

/* A domain around the given <os> extras, top-level elements and devices. */
static char *domain(const char *os, const char *top, const char *devices)
{
	char *xml;

	assert_true(asprintf(&xml,
			     "<domain type='kvm'><name>dom</name>"
			     "<os><type arch='x86_64'>hvm</type><kernel>/k</kernel>%s</os>"
			     "%s<devices>%s</devices></domain>",
			     os, top, devices) > 0);
	return xml;
}

static void test_memory_units(void **state)
{
	static const struct {
		const char *value, *unit;
		uint64_t mib;
	} ok[] = {
	    {"262144", NULL, 256},   {"262144", "", 256},
	    {"262144", "KiB", 256},  {"262144", "k", 256},
	    {"268435456", "b", 256}, {"268435456", "bytes", 256},
	    {"1048577", "byte", 2},  /* up */ {"256", "MiB", 256},
	    {"256", "m", 256},	     {"256", "mib", 256},
	    {"1000", "KB", 1},	     {"1", "MB", 1},
	    {"1", "GB", 954},	     {"1", "G", 1024},
	    {"2", "GiB", 2048},	     {"1", "TB", 953675},
	    {"1", "T", 1048576},     {"1", "TiB", 1048576},
	    {"0", "KiB", 0},
	};
	uint64_t mib;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(libvirt_xml_memory_mib(ok[i].value, ok[i].unit, &mib), 0);
		assert_int_equal(mib, ok[i].mib);
	}
	assert_int_equal(libvirt_xml_memory_mib("1", "furlong", &mib), -EINVAL);
	assert_int_equal(libvirt_xml_memory_mib("1", "KiBB", &mib), -EINVAL);
	assert_int_equal(libvirt_xml_memory_mib("-1", "KiB", &mib), -EINVAL);
	assert_int_equal(libvirt_xml_memory_mib("", "KiB", &mib), -EINVAL);
	assert_int_equal(libvirt_xml_memory_mib("12abc", "KiB", &mib), -EINVAL);
	assert_int_equal(libvirt_xml_memory_mib("16", "EiB", &mib), -ERANGE);
	assert_int_equal(libvirt_xml_memory_mib("99999999999999999999999", "b", &mib), -ERANGE);
}

static void test_full_mapping(void **state)
{
	struct vm_config cfg;
	char *xml =
	    domain("<initrd>/i</initrd><cmdline>console=ttyS0 quiet</cmdline>",
		   "<memory unit='GiB'>1</memory><currentMemory unit='KiB'>4</currentMemory>"
		   "<vcpu placement='static' current='3'>3</vcpu>"
		   /* the allow-listed top-level elements virt-install writes */
		   "<features><acpi/><apic/><pae/></features><cpu mode='host-passthrough'/>"
		   "<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>"
		   "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>"
		   "<on_crash>destroy</on_crash><pm><suspend-to-mem enabled='no'/></pm>",
		   "<emulator>/usr/bin/qemu</emulator>"
		   "<controller type='pci' model='pci-root'/><controller type='usb'/>"
		   "<serial type='file'><source path='/tmp/c.txt'/><target port='0'/></serial>"
		   "<console type='file'><source path='/tmp/other.txt'/>"
		   "<target type='serial' port='0'/></console>"
		   "<input type='mouse' bus='ps2'/><input type='keyboard'/>"
		   "<memballoon model='virtio'/>");

	(void)state;
	config_init(&cfg);
	assert_int_equal(map(xml, false, &cfg), 0);
	assert_string_equal(err_text, "");
	assert_string_equal(cfg.kernel, "/k");
	assert_string_equal(cfg.initrd, "/i");
	assert_string_equal(cfg.append, "console=ttyS0 quiet");
	assert_int_equal(cfg.memory_mib, 1024);
	assert_int_equal(cfg.cpus, 3);
	assert_string_equal(cfg.console, "/tmp/c.txt"); /* the first file one */
	assert_int_equal(cfg.san_mode, SAN_GENERIC);	/* untagged: defaults */
	config_free(&cfg);
	free(xml);
}

static void test_missing_kernel(void **state)
{
	const char *xml = "<domain type='kvm'><name>dom</name><memory>131072</memory>"
			  "<os><type>hvm</type><boot dev='hd'/></os></domain>";
	struct vm_config cfg;

	(void)state;
	refused(xml, "domain 'dom' has no <os><kernel>");
	/* --kernel on the command line (applied first) stands in for it */
	config_init(&cfg);
	assert_int_equal(config_set_option(&cfg, "vm", "kernel", "/cli", "--kernel"), 0);
	assert_int_equal(map(xml, false, &cfg), 0);
	assert_string_equal(cfg.kernel, "/cli");
	assert_int_equal(cfg.memory_mib, 128);
	config_free(&cfg);
}

static void test_unsupported_named(void **state)
{
	char *xml = domain("<loader>/ovmf.fd</loader>", "",
			   "<disk type='file' device='disk'><target dev='vda'/></disk>"
			   "<interface type='bridge'/><graphics type='spice'/><video/>"
			   "<sound model='ich9'/><hostdev mode='subsystem' type='pci'/>"
			   "<controller type='scsi'/><controller type='xenbus'/>"
			   "<input type='tablet' bus='usb'/><serial type='tcp'/>"
			   "<serial type='pty'><target port='1'/></serial>");
	struct vm_config cfg;

	(void)state;
	refused(xml, "kasan-vmm cannot honour: disk type='file' vda, interface type='bridge', "
		     "graphics type='spice', video, sound, hostdev type='pci', "
		     "controller type='xenbus', input type='tablet', serial type='tcp', "
		     "serial port 1, os loader (firmware) (--ignore-unsupported");
	config_init(&cfg);
	assert_int_equal(map(xml, true, &cfg), 0);
	assert_non_null(strstr(err_text, "domain 'dom': running without: disk"));
	assert_int_equal(lines(err_text), 1);
	config_free(&cfg);
	free(xml);
	/* other hypervisors and architectures */
	refused("<domain type='xen'><os><type arch='aarch64'>xen</type><kernel>/k</kernel></os>"
		"</domain>",
		"cannot honour: domain type='xen', os arch='aarch64'");
}

/*
 * Top-level elements outside the allow-list are named like devices, and a
 * vCPU maximum above current= (room for hotplug kasan-vmm lacks) is named too.
 */
static void test_unknown_top_level_named(void **state)
{
	char *xml =
	    domain("",
		   "<vcpu current='2'>4</vcpu><maxMemory slots='16'>8388608</maxMemory>"
		   "<numatune><memory nodeset='0'/></numatune><cputune/>"
		   "<iothreads>2</iothreads><sysinfo type='smbios'/>"
		   "<features><acpi/><hyperv/></features>"
		   "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>",
		   "");
	struct vm_config cfg;

	(void)state;
	refused(xml, "cannot honour: vcpu maximum 4 (current='2'), maxMemory, numatune, cputune, "
		     "iothreads, sysinfo, qemu:commandline, features hyperv (--ignore-unsupported");
	config_init(&cfg);
	assert_int_equal(map(xml, true, &cfg), 0);
	assert_non_null(strstr(err_text, "running without: vcpu maximum 4"));
	assert_int_equal(lines(err_text), 1);
	assert_int_equal(cfg.cpus, 2);
	config_free(&cfg);
	free(xml);
	refused("<domain type='kvm'><name>dom</name><os firmware='efi'><type>hvm</type>"
		"<kernel>/k</kernel></os></domain>",
		"cannot honour: os firmware='efi' (--ignore-unsupported");
}

static void test_long_list_stays_one_line(void **state)
{
	char *devs = calloc(200, 64), *xml;

	(void)state;
	assert_non_null(devs);
	for (int i = 0; i < 200; i++)
		sprintf(devs + strlen(devs), "<disk type='file'><target dev='vd%d'/></disk>", i);
	xml = domain("", "", devs);
	refused(xml, ", ... (--ignore-unsupported");
	assert_true(strlen(err_text) < 600);
	free(xml);
	free(devs);
}

static void test_malformed(void **state)
{
	static const char laughs[] =
	    "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaaaaaaaa'>"
	    "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
	    "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
	    "<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>"
	    "<!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>"
	    "<!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>]>"
	    "<domain><os><kernel>&f;</kernel></os></domain>";
	char *huge;

	(void)state;
	refused("<domain><os><kernel>/k</os></domain>", "domain 'dom': malformed XML, line 1: ");
	refused("", "malformed XML");
	refused("<domain", "malformed XML");
	refused("\xff\xfe<domain/>", "malformed XML");
	refused("<node><domain/></node>", "not a libvirt <domain> document");
	refused("<x:domain xmlns:x='urn:x'><os><kernel>/k</kernel></os></x:domain>",
		"not a libvirt <domain> document");
	refused(laughs, "domain 'dom'");
	huge = malloc(LIBVIRT_XML_MAX + 64);
	assert_non_null(huge);
	strcpy(huge, "<domain><description>");
	memset(huge + strlen(huge), 'a', LIBVIRT_XML_MAX);
	strcpy(huge + 21 + LIBVIRT_XML_MAX, "</description></domain>");
	refused(huge, "XML larger than");
	free(huge);
}

static void test_hostile_values(void **state)
{
	char *cmdline = malloc(5000), *xml;

	(void)state;
	refused("<domain type='kvm'><memory unit='EiB'>1</memory><os><kernel>/k</kernel></os>"
		"</domain>",
		"<memory> in MiB '1099511627776': must be between 16 and 16384");
	refused("<domain type='kvm'><memory unit='EiB'>17</memory><os><kernel>/k</kernel></os>"
		"</domain>",
		"<memory unit='EiB'>17</memory>: too large");
	refused("<domain type='kvm'><memory>18446744073709551616</memory><os><kernel>/k</kernel>"
		"</os></domain>",
		"too large");
	refused("<domain type='kvm'><memory unit='parsec'>1</memory><os><kernel>/k</kernel></os>"
		"</domain>",
		"not a number with a libvirt unit");
	refused("<domain type='kvm'><memory>-262144</memory><os><kernel>/k</kernel></os></domain>",
		"not a number");
	refused("<domain type='kvm'><memory unit='MiB'>8</memory><os><kernel>/k</kernel></os>"
		"</domain>",
		"must be between 16 and 16384");
	refused("<domain type='kvm'><vcpu>-1</vcpu><os><kernel>/k</kernel></os></domain>",
		"domain 'dom': <vcpu> '-1': not a valid number");
	refused("<domain type='kvm'><vcpu>4096</vcpu><os><kernel>/k</kernel></os></domain>",
		"<vcpu> '4096': must be between 1 and 40");
	refused("<domain type='kvm'><vcpu current='0'>2</vcpu><os><kernel>/k</kernel></os>"
		"</domain>",
		"<vcpu current> '0': must be between");
	refused("<domain type='kvm'><vcpu></vcpu><os><kernel>/k</kernel></os></domain>",
		"<vcpu> '': not a valid number");
	assert_non_null(cmdline);
	memset(cmdline, 'x', 4999);
	cmdline[4999] = '\0';
	assert_true(asprintf(&xml,
			     "<domain type='kvm'><os><kernel>/k</kernel><cmdline>%s</cmdline></os>"
			     "</domain>",
			     cmdline) > 0);
	refused(xml, "domain 'dom': <cmdline>: value longer than");
	free(xml);
	free(cmdline);
}

static void test_metadata(void **state)
{
	struct vm_config cfg;
	char *xml = domain("",
			   "<metadata><other:sanitizer xmlns:other='urn:other' mode='off'/>"
			   "<k:sanitizer xmlns:k='" NS "' mode='tags' fault='panic_on_write' "
			   "multi_shot='on' stack_ring_size='64' quarantine='8' arm='freed'/>"
			   "</metadata>",
			   "");

	(void)state;
	config_init(&cfg);
	assert_int_equal(map(xml, false, &cfg), 0);
	assert_int_equal(cfg.san_mode, SAN_TAGS);
	assert_int_equal(cfg.fault, SAN_FAULT_PANIC_ON_WRITE);
	assert_int_equal(cfg.multi_shot, 1);
	assert_int_equal(cfg.stack_ring_size, 64);
	assert_int_equal(cfg.quarantine_mib, 8);
	assert_int_equal(cfg.arm, SAN_ARM_FREED);
	config_free(&cfg);
	free(xml);

	/* only our namespace counts, whatever its prefix */
	config_init(&cfg);
	assert_int_equal(map("<domain type='kvm'><os><kernel>/k</kernel></os><metadata>"
			     "<sanitizer xmlns='urn:v2' mode='off'/></metadata></domain>",
			     false, &cfg),
			 0);
	assert_int_equal(cfg.san_mode, SAN_GENERIC);
	assert_int_equal(map("<domain type='kvm'><os><kernel>/k</kernel></os><metadata>"
			     "<sanitizer xmlns='" NS "' mode='off'/></metadata></domain>",
			     false, &cfg),
			 0);
	assert_int_equal(cfg.san_mode, SAN_OFF);
	config_free(&cfg);

#define META(attrs)                                                                                \
	"<domain type='kvm'><os><kernel>/k</kernel></os><metadata><kasan:sanitizer "               \
	"xmlns:kasan='" NS "' " attrs "/></metadata></domain>"
	refused(META("frob='1'"), "metadata <sanitizer frob=>: unknown option");
	refused(META("memory='64'"), "metadata <sanitizer memory=>: unknown option");
	refused(META("mode='fast'"), "<sanitizer mode=> 'fast': not a valid choice");
	refused(META("stack_ring_size='1'"), "must be between 16 and");
	refused(META("multi_shot='maybe'"), "not a valid boolean");
	refused(META("xmlns:z='urn:z' z:mode='tags'"), "attribute in a foreign namespace");
#undef META
}

static void test_sanitizer_element(void **state)
{
	const char *keys[] = {"mode", "system_map"}, *values[] = {"tags", "/a b\"<&>'"};
	char *s;

	(void)state;
	s = libvirt_xml_sanitizer_element(keys, values, 2);
	assert_non_null(s);
	assert_string_equal(s,
			    "<sanitizer mode=\"tags\" system_map=\"/a b&quot;&lt;&amp;&gt;'\"/>");
	free(s);
	s = libvirt_xml_sanitizer_element(keys, values, 0);
	assert_string_equal(s, "<sanitizer/>");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memory_units),
	    cmocka_unit_test(test_full_mapping),
	    cmocka_unit_test(test_missing_kernel),
	    cmocka_unit_test(test_unsupported_named),
	    cmocka_unit_test(test_unknown_top_level_named),
	    cmocka_unit_test(test_long_list_stays_one_line),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_hostile_values),
	    cmocka_unit_test(test_metadata),
	    cmocka_unit_test(test_sanitizer_element),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
