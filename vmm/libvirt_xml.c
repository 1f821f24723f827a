// SPDX-License-Identifier: MIT
/*
 * libvirt domain XML -> struct vm_config. The XML is untrusted input (a
 * domain anyone with write access to libvirt defined): size-capped, parsed
 * without network, DTDs or entity substitution, and every value lands in
 * the config through the option table, so ranges are those of --config.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "vmm/libvirt_xml.h"
#include "vmm/log.h"

#define LIST_MAX 400 /* the unsupported list stays one readable line */

struct lx {
	const char *name; /* domain name, for messages */
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
	char list[LIST_MAX]; /* what cannot be honoured, ", "-separated */
	bool list_full;
};

/* Adds one item to the unsupported list; a list too long ends in "...". */
static void lx_note(struct lx *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lx_note(struct lx *lx, const char *fmt, ...)
{
	size_t len = strlen(lx->list);
	char item[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (lx->list_full)
		return;
	if (len + strlen(item) + 8 >= sizeof(lx->list)) {
		snprintf(lx->list + len, sizeof(lx->list) - len, "%s...", len ? ", " : "");
		lx->list_full = true;
		return;
	}
	snprintf(lx->list + len, sizeof(lx->list) - len, "%s%s", len ? ", " : "", item);
}

static xmlNodePtr xp_first(struct lx *lx, const char *expr)
{
	xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST expr, lx->xp);
	xmlNodePtr n = NULL;

	if (r && r->type == XPATH_NODESET && r->nodesetval && r->nodesetval->nodeNr > 0)
		n = r->nodesetval->nodeTab[0];
	xmlXPathFreeObject(r);
	return n;
}

/* Text of a node with surrounding blanks removed, malloc'd; NULL if absent or empty. */
static char *node_text(xmlNodePtr n)
{
	xmlChar *c = n ? xmlNodeGetContent(n) : NULL;
	const char *s = (const char *)c;
	char *out = NULL;
	size_t len;

	if (!c)
		return NULL;
	s += strspn(s, " \t\r\n");
	len = strlen(s);
	while (len && strchr(" \t\r\n", s[len - 1]))
		len--;
	if (len)
		out = strndup(s, len);
	xmlFree(c);
	return out;
}

static char *xp_text(struct lx *lx, const char *expr)
{
	return node_text(xp_first(lx, expr));
}

/* An attribute value (no namespace) copied into buf, or "" when absent. */
static const char *attr(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlChar *v = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;

	snprintf(buf, len, "%s", v ? (const char *)v : "");
	xmlFree(v);
	return buf;
}

struct first_error {
	int line;
	char msg[160];
};

/* The first error says what is wrong; later ones are mostly its echoes. */
static void on_xml_error(void *data, xmlErrorPtr e)
{
	struct first_error *fe = ((xmlParserCtxtPtr)data)->_private;
	const char *m = e->message ? e->message : "unknown error";

	if (fe->msg[0] || e->level < XML_ERR_ERROR)
		return;
	fe->line = e->line;
	snprintf(fe->msg, sizeof(fe->msg), "%.*s", (int)strcspn(m, "\n"), m);
}

/* Parse errors become one line: the first error libxml2 found, with its line. */
static int lx_parse(struct lx *lx, const char *xml)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	struct first_error fe = {0};
	size_t len = strlen(xml);

	if (!ctxt) {
		pr_err("domain '%s': out of memory parsing its XML", lx->name);
		return -EINVAL;
	}
	if (len > LIBVIRT_XML_MAX) {
		pr_err("domain '%s': XML larger than %d bytes", lx->name, LIBVIRT_XML_MAX);
		xmlFreeParserCtxt(ctxt);
		return -EINVAL;
	}
	ctxt->_private = &fe;
	ctxt->sax->serror = on_xml_error;
	lx->doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!lx->doc)
		pr_err("domain '%s': malformed XML, line %d: %s", lx->name, fe.line,
		       fe.msg[0] ? fe.msg : "unknown error");
	xmlFreeParserCtxt(ctxt);
	return lx->doc ? 0 : -EINVAL;
}

static int lx_open(struct lx *lx, const char *xml)
{
	xmlNodePtr root;

	if (lx_parse(lx, xml))
		return -EINVAL;
	/* libvirt never writes a DOCTYPE; one here could only bring entities. */
	root = xmlDocGetRootElement(lx->doc);
	if (lx->doc->intSubset || !root || xmlStrcmp(root->name, BAD_CAST "domain") || root->ns) {
		pr_err("domain '%s': XML is not a libvirt <domain> document", lx->name);
		return -EINVAL;
	}
	lx->xp = xmlXPathNewContext(lx->doc);
	if (!lx->xp ||
	    xmlXPathRegisterNs(lx->xp, BAD_CAST LIBVIRT_XML_PREFIX, BAD_CAST LIBVIRT_XML_NS)) {
		pr_err("domain '%s': out of memory reading its XML", lx->name);
		return -EINVAL;
	}
	return 0;
}

static void lx_close(struct lx *lx)
{
	xmlXPathFreeContext(lx->xp);
	xmlFreeDoc(lx->doc);
}

/* Sets a [vm] option from a domain value; messages name the element. */
static int lx_set(struct lx *lx, struct vm_config *cfg, const char *key, const char *label,
		  const char *value)
{
	char where[1200];

	snprintf(where, sizeof(where), "domain '%s': %s", lx->name, label);
	return config_set_option(cfg, "vm", key, value, where);
}

static int lx_os(struct lx *lx, struct vm_config *cfg)
{
	static const char *const keys[][2] = {
	    {"kernel", "kernel"}, {"initrd", "initrd"}, {"append", "cmdline"}};
	char expr[32], label[32], *v;
	int err = 0;

	v = xp_text(lx, "/domain/os/kernel");
	if (!v && !cfg->kernel) {
		pr_err("domain '%s' has no <os><kernel>: kasan-vmm boots kernels directly "
		       "(add <kernel> to the domain or pass --kernel)",
		       lx->name);
		return -EINVAL;
	}
	free(v);
	for (size_t i = 0; !err && i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(expr, sizeof(expr), "/domain/os/%s", keys[i][1]);
		snprintf(label, sizeof(label), "<%s>", keys[i][1]);
		v = xp_text(lx, expr);
		if (v)
			err = lx_set(lx, cfg, keys[i][0], label, v);
		free(v);
	}
	return err;
}

static int lx_memory(struct lx *lx, struct vm_config *cfg)
{
	xmlNodePtr n = xp_first(lx, "/domain/memory");
	char unit[32], num[32], *v = node_text(n);
	uint64_t mib = 0;
	int err = 0;

	if (!n)
		return 0;
	attr(n, "unit", unit, sizeof(unit));
	err = v ? libvirt_xml_memory_mib(v, unit, &mib) : -EINVAL;
	if (err) {
		pr_err("domain '%s': <memory unit='%s'>%.40s</memory>: %s", lx->name, unit,
		       v ? v : "",
		       err == -ERANGE ? "too large" : "not a number with a libvirt unit");
	} else {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)mib);
		err = lx_set(lx, cfg, "memory", "<memory> in MiB", num);
	}
	free(v);
	return err ? -EINVAL : 0;
}

/* <vcpu current='N'>MAX</vcpu>: the guest boots with the current ones online. */
static int lx_vcpu(struct lx *lx, struct vm_config *cfg)
{
	xmlNodePtr n = xp_first(lx, "/domain/vcpu");
	char cur[32], *v;
	int err;

	if (!n)
		return 0;
	v = node_text(n);
	if (attr(n, "current", cur, sizeof(cur))[0]) {
		err = lx_set(lx, cfg, "cpus", "<vcpu current>", cur);
		/* kasan-vmm has no CPU hotplug: the maximum is not there to grow into */
		if (!err && (!v || strcmp(v, cur)))
			lx_note(lx, "vcpu maximum %.20s (current='%s')", v ? v : "", cur);
	} else {
		err = lx_set(lx, cfg, "cpus", "<vcpu>", v ? v : "");
	}
	free(v);
	return err;
}

/* Attributes of <kasan:sanitizer> are [sanitizer] options, checked as in --config. */
static int lx_sanitizer(struct lx *lx, struct vm_config *cfg)
{
	xmlNodePtr n = xp_first(lx, "/domain/metadata/" LIBVIRT_XML_PREFIX ":sanitizer");
	char where[1200];
	int err = 0;

	for (xmlAttrPtr a = n ? n->properties : NULL; a && !err; a = a->next) {
		xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);

		snprintf(where, sizeof(where), "domain '%s': metadata <sanitizer %.64s=>", lx->name,
			 (const char *)a->name);
		if (a->ns) {
			pr_err("%s: attribute in a foreign namespace", where);
			err = -EINVAL;
		} else {
			err = config_set_option(cfg, "sanitizer", (const char *)a->name,
						v ? (const char *)v : "", where);
		}
		xmlFree(v);
	}
	return err;
}

static void xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void libvirt_xml_quiet(void)
{
	xmlSetGenericErrorFunc(NULL, xml_quiet);
}

/*
 * libvirt's own rule (virScaleInteger): b/byte/bytes, or a prefix k m g t p e
 * alone or with "iB" (powers of 1024) or with "B" (powers of 1000), any case.
 * Returns 0 for anything else.
 */
static uint64_t unit_scale(const char *unit)
{
	static const char prefixes[] = "kmgtpe";
	const char *p = unit[0] ? strchr(prefixes, tolower((unsigned char)unit[0])) : NULL;
	uint64_t base, scale = 1;

	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes"))
		return 1;
	if (!p)
		return 0;
	if (!unit[1] || !strcasecmp(unit + 1, "iB"))
		base = 1024;
	else if (!strcasecmp(unit + 1, "B"))
		base = 1000;
	else
		return 0;
	for (long i = 0; i <= p - prefixes; i++)
		scale *= base;
	return scale;
}

int libvirt_xml_memory_mib(const char *value, const char *unit, uint64_t *mib)
{
	uint64_t v, scale;
	char *end;

	scale = unit_scale(unit && unit[0] ? unit : "KiB");
	if (!scale || value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > UINT64_MAX / scale)
		return -ERANGE;
	v *= scale;
	/* Up, so that the guest gets at least what the domain asks for. */
	*mib = v / (1 << 20) + (v % (1 << 20) != 0);
	return 0;
}

char *libvirt_xml_sanitizer_element(const char *const *keys, const char *const *values, int n)
{
	xmlNodePtr node = xmlNewNode(NULL, BAD_CAST "sanitizer");
	xmlBufferPtr buf = xmlBufferCreate();
	char *out = NULL;
	bool ok = node && buf;

	for (int i = 0; ok && i < n; i++)
		ok = xmlSetProp(node, BAD_CAST keys[i], BAD_CAST values[i]) != NULL;
	if (ok && xmlNodeDump(buf, NULL, node, 0, 0) >= 0)
		out = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	xmlFreeNode(node);
	return out;
}

static bool is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST name);
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* Top-level elements kasan-vmm maps or scans itself. */
static const char *const top_mapped[] = {
    "name", "uuid", "title",   "description", "metadata", "memory", "currentMemory",
    "vcpu", "os",   "devices", "features",    "cpu",	  NULL};
/*
 * Top-level elements that change nothing a kasan-vmm guest is given: its
 * clock runs from the host's TSC whatever the offset, it always exits when
 * the guest powers off, reboots or crashes, and it has no power management.
 * Any other element (numatune, cputune, iothreads, sysinfo, maxMemory,
 * memtune, seclabel, qemu:commandline, ...) cannot be honoured.
 */
static const char *const top_harmless[] = {"clock",	     "on_poweroff", "on_reboot", "on_crash",
					   "on_lockfailure", "pm",	    NULL};
/* <features> children that describe what kasan-vmm's guest always has. */
static const char *const features_harmless[] = {"acpi", "apic", "pae", NULL};

static bool in_list(xmlNodePtr n, const char *const *names)
{
	if (n->ns)
		return false;
	for (size_t i = 0; names[i]; i++)
		if (is_elem(n, names[i]))
			return true;
	return false;
}

/* Names an element, with the prefix of its namespace (qemu:commandline). */
static void lx_note_elem(struct lx *lx, const char *parent, xmlNodePtr n)
{
	const xmlChar *prefix = n->ns ? n->ns->prefix : NULL;

	lx_note(lx, "%s%.40s%s%.40s", parent, prefix ? (const char *)prefix : "", prefix ? ":" : "",
		(const char *)n->name);
}

static void lx_scan_top(struct lx *lx, xmlNodePtr root)
{
	xmlNodePtr features = child(root, "features");

	for (xmlNodePtr n = root->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !in_list(n, top_mapped) &&
		    !in_list(n, top_harmless))
			lx_note_elem(lx, "", n);
	for (xmlNodePtr n = features ? features->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !in_list(n, features_harmless))
			lx_note_elem(lx, "features ", n);
}

/* Parts outside <devices> that change what the guest is given. */
static void lx_scan_domain(struct lx *lx)
{
	xmlNodePtr root = xmlDocGetRootElement(lx->doc), os = child(root, "os");
	char buf[64];

	attr(root, "type", buf, sizeof(buf));
	if (strcmp(buf, "kvm") && strcmp(buf, "qemu"))
		lx_note(lx, "domain type='%s'", buf);
	if (os && child(os, "type")) {
		attr(child(os, "type"), "arch", buf, sizeof(buf));
		if (buf[0] && strcmp(buf, "x86_64"))
			lx_note(lx, "os arch='%s'", buf);
	}
	if (os && attr(os, "firmware", buf, sizeof(buf))[0])
		lx_note(lx, "os firmware='%s'", buf);
	if (os && child(os, "loader"))
		lx_note(lx, "os loader (firmware)");
	if (os && child(os, "dtb"))
		lx_note(lx, "os dtb");
	if (child(root, "cpu") && child(child(root, "cpu"), "numa"))
		lx_note(lx, "cpu numa");
	lx_scan_top(lx, root);
}

/*
 * Serial port 0 is kasan-vmm's 8250 (COM1), which prints on stdout: pty,
 * stdio and null backends lose nothing that matters, and a file backend
 * becomes the console copy. Other ports and backends are not available.
 */
static int lx_serial(struct lx *lx, xmlNodePtr n, struct vm_config *cfg, bool *console_set)
{
	xmlNodePtr target = child(n, "target"), source = child(n, "source");
	char type[32], port[16], ttype[32];
	xmlChar *path;
	int err;

	attr(n, "type", type, sizeof(type));
	attr(target, "port", port, sizeof(port));
	attr(target, "type", ttype, sizeof(ttype));
	if ((port[0] && strcmp(port, "0")) ||
	    (is_elem(n, "console") && ttype[0] && strcmp(ttype, "serial"))) {
		lx_note(lx, "%s port %s%s%s", (const char *)n->name, port[0] ? port : "0",
			ttype[0] ? " target type=" : "", ttype);
		return 0;
	}
	path = source ? xmlGetNoNsProp(source, BAD_CAST "path") : NULL;
	if (!strcmp(type, "file") && !*console_set && path && path[0]) {
		*console_set = true;
		err = lx_set(lx, cfg, "console", "<serial type='file'> path", (const char *)path);
		xmlFree(path);
		return err;
	}
	xmlFree(path);
	if (strcmp(type, "file") && strcmp(type, "pty") && strcmp(type, "stdio") &&
	    strcmp(type, "null"))
		lx_note(lx, "%s type='%s'", (const char *)n->name, type);
	return 0;
}

/* Empty buses change nothing for the guest; what would sit on them is reported itself. */
static bool harmless_device(xmlNodePtr n)
{
	static const char *const buses[] = {"pci", "usb",  "ide",	    "sata",
					    "fdc", "scsi", "virtio-serial", NULL};
	char type[32], bus[32];

	if (is_elem(n, "emulator") || is_elem(n, "memballoon"))
		return true;
	attr(n, "type", type, sizeof(type));
	if (is_elem(n, "input")) /* libvirt adds PS/2 mouse and keyboard to every x86 guest */
		return (!strcmp(type, "mouse") || !strcmp(type, "keyboard")) &&
		       (!attr(n, "bus", bus, sizeof(bus))[0] || !strcmp(bus, "ps2"));
	if (is_elem(n, "controller"))
		for (size_t i = 0; buses[i]; i++)
			if (!strcmp(type, buses[i]))
				return true;
	return false;
}

static int lx_devices(struct lx *lx, struct vm_config *cfg)
{
	xmlNodePtr devs = xp_first(lx, "/domain/devices");
	char type[32], dev[32];
	bool console_set = false;
	int err = 0;

	for (xmlNodePtr n = devs ? devs->children : NULL; n && !err; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || harmless_device(n))
			continue;
		if (is_elem(n, "serial") || is_elem(n, "console")) {
			err = lx_serial(lx, n, cfg, &console_set);
			continue;
		}
		attr(n, "type", type, sizeof(type));
		attr(child(n, "target"), "dev", dev, sizeof(dev));
		lx_note(lx, "%s%s%s%s%s%s", (const char *)n->name, type[0] ? " type='" : "", type,
			type[0] ? "'" : "", dev[0] ? " " : "", dev);
	}
	return err;
}

int libvirt_xml_to_config(const char *xml, const char *name, bool ignore_unsupported,
			  struct vm_config *cfg)
{
	struct lx lx = {.name = name};
	int err;

	err = lx_open(&lx, xml);
	if (!err)
		err = lx_os(&lx, cfg);
	if (!err)
		err = lx_memory(&lx, cfg);
	if (!err)
		err = lx_vcpu(&lx, cfg);
	if (!err)
		err = lx_sanitizer(&lx, cfg);
	if (!err)
		err = lx_devices(&lx, cfg);
	if (!err)
		lx_scan_domain(&lx);
	if (!err && lx.list[0] && !ignore_unsupported) {
		pr_err("domain '%s': kasan-vmm cannot honour: %s (--ignore-unsupported runs "
		       "without them)",
		       name, lx.list);
		err = -EINVAL;
	} else if (!err && lx.list[0]) {
		pr_warn("domain '%s': running without: %s", name, lx.list);
	}
	lx_close(&lx);
	return err;
}
