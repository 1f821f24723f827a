// SPDX-License-Identifier: MIT
/*
 * `kasan-vmm libvirt tag|untag|show NAME [--connect URI]`: the per-domain
 * sanitizer settings kept in libvirt metadata. Every change is read back
 * from libvirt on the same connection and printed, so the output is what
 * libvirt stored, not what we meant to store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/libvirt.h"
#include "vmm/libvirt_xml.h"
#include "vmm/log.h"

#define MAX_SETTINGS 32

struct lv_args {
	const char *cmd, *name, *uri;
	const char *keys[MAX_SETTINGS], *values[MAX_SETTINGS];
	char *owned[MAX_SETTINGS]; /* key copies cut from --key=value */
	int n;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kasan-vmm libvirt tag NAME [--connect URI] [--SANITIZER-OPTION VALUE]...\n"
		"       kasan-vmm libvirt untag NAME [--connect URI]\n"
		"       kasan-vmm libvirt show NAME [--connect URI]\n"
		"Sanitizer options are the [sanitizer] options of `kasan-vmm run --help`;\n"
		"the default URI is " LIBVIRT_DEFAULT_URI ".\n");
}

/* --key VALUE or --key=VALUE; the key is checked against the option table at once. */
static int take_option(struct lv_args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *value;
	char *key = eq ? strndup(arg, (size_t)(eq - arg)) : strdup(arg);
	struct vm_config scratch;
	char where[64];
	int err;

	if (!key)
		return -ENOMEM;
	value = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
	if (!value) {
		pr_err("option '--%s' needs a value", key);
		free(key);
		return -EINVAL;
	}
	if (!strcmp(key, "connect")) {
		a->uri = value;
		free(key);
		return 0;
	}
	if (strcmp(a->cmd, "tag") || a->n == MAX_SETTINGS) {
		pr_err("%s: %s '--%s'", a->cmd,
		       a->n == MAX_SETTINGS ? "too many settings at" : "unexpected option", key);
		free(key);
		return -EINVAL;
	}
	snprintf(where, sizeof(where), "--%.60s", key);
	config_init(&scratch);
	err = config_set_option(&scratch, "sanitizer", key, value, where);
	config_free(&scratch);
	a->owned[a->n] = key;
	a->keys[a->n] = key;
	a->values[a->n++] = value;
	return err;
}

static int parse_args(struct lv_args *a, int argc, char **argv)
{
	int err = 0;

	for (int i = 2; !err && i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 1;
		} else if (!strncmp(argv[i], "--", 2) && argv[i][2]) {
			err = take_option(a, argc, argv, &i);
		} else if (!a->name) {
			a->name = argv[i];
		} else {
			pr_err("%s: unexpected argument '%s'", a->cmd, argv[i]);
			err = -EINVAL;
		}
	}
	if (!err && !a->name) {
		pr_err("%s: which domain? (kasan-vmm libvirt %s NAME)", a->cmd, a->cmd);
		err = -EINVAL;
	}
	return err;
}

static int show(virConnectPtr conn, const char *name, const char *what)
{
	char *xml = NULL;
	int err = libvirt_get_tag(conn, name, &xml);

	if (err)
		return err;
	if (xml)
		printf("domain '%s'%s: %s\n", name, what, xml);
	else
		printf("domain '%s'%s: not tagged\n", name, what);
	free(xml);
	return 0;
}

static int run(struct lv_args *a)
{
	bool read_only = !strcmp(a->cmd, "show");
	char *element = NULL;
	virConnectPtr conn;
	int err;

	err = libvirt_open(a->uri, read_only, &conn);
	if (err)
		return err;
	if (!strcmp(a->cmd, "tag")) {
		element = libvirt_xml_sanitizer_element(a->keys, a->values, a->n);
		err = element ? libvirt_set_tag(conn, a->name, element) : -ENOMEM;
	} else if (!strcmp(a->cmd, "untag")) {
		err = libvirt_set_tag(conn, a->name, NULL);
	}
	if (!err)
		err = show(conn, a->name, read_only ? "" : " now");
	free(element);
	virConnectClose(conn);
	return err;
}

int libvirt_main(int argc, char **argv)
{
	struct lv_args a = {.cmd = argc > 1 ? argv[1] : ""};
	int err;

	if (strcmp(a.cmd, "tag") && strcmp(a.cmd, "untag") && strcmp(a.cmd, "show")) {
		if (!strcmp(a.cmd, "--help") || !strcmp(a.cmd, "-h")) {
			usage(stdout);
			return VMM_EXIT_OK;
		}
		usage(stderr);
		return VMM_EXIT_USAGE;
	}
	err = parse_args(&a, argc, argv);
	if (!err)
		err = run(&a);
	for (int i = 0; i < a.n; i++)
		free(a.owned[i]);
	if (err == -ENOMEM)
		pr_err("libvirt %s: out of memory", a.cmd);
	return err > 0 ? VMM_EXIT_OK : err == -EINVAL ? VMM_EXIT_USAGE : err ? VMM_EXIT_ERROR : 0;
}
