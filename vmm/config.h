/* SPDX-License-Identifier: MIT */
/*
 * The VM configuration: what `kasan-vmm run` boots and how. Filled from
 * defaults, then a config file (--config, INI), then the command line, which
 * overrides the file. Every value is validated before any VM is created.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_MEMORY_MIN_MIB 16
#define CONFIG_MEMORY_MAX_MIB (16 * 1024)
#define CONFIG_CPUS_MAX	      40 /* what the 1 KiB MP table holds (BOOT_MPTABLE_CPUS_MAX) */
#define CONFIG_TIMEOUT_MAX_S  (7 * 24 * 3600)

struct vm_config {
	char *kernel;		/* path, required */
	char *initrd;		/* path or NULL */
	char *append;		/* kernel command line or NULL */
	uint64_t memory_mib;	/* default 256 */
	unsigned int cpus;	/* default 1 */
	char *console;		/* console copy file or NULL */
	char *log;		/* report log path or NULL */
	unsigned int timeout_s; /* 0: none */
	char *config_file;	/* the --config file it came from, or NULL */

	/* [libvirt]: take the settings above from a libvirt domain (vmm/libvirt.h) */
	char *lv_connect;		    /* URI; NULL: LIBVIRT_DEFAULT_URI */
	char *lv_domain;		    /* domain name or NULL */
	unsigned int lv_ignore_unsupported; /* bool: run without what cannot be honoured */

	/* [sanitizer]: KASAN's knobs, named as KASAN names them where it has them */
	unsigned int san_mode;		/* enum san_mode */
	unsigned int events;		/* enum san_events: how the guest rings the doorbell */
	unsigned int fault;		/* enum san_fault */
	unsigned int multi_shot;	/* bool: report every bug, not just the first */
	unsigned int stacktrace;	/* bool: collect alloc/free stacks */
	unsigned int stack_ring_size;	/* tag mode stack ring entries */
	unsigned int tag_fault;		/* enum san_tag_fault: tag mode, like kasan.mode */
	uint64_t quarantine_mib;	/* generic quarantine cap; 0: RAM/32 */
	unsigned int page_alloc_sample; /* track 1 in N page allocations (KASAN's sample) */
	unsigned int arm;		/* enum san_arm: which poisoned pages trap */
	unsigned int ept_mechanism;	/* enum san_ept_mechanism: how pages trap */
	char *system_map; /* Linux System.map for symbols (ELF kernels carry their own) */
	char *exempt;	  /* allocator exemption list; NULL: configs/exempt/<guest kind>.txt */
	unsigned int report_rate; /* reports written per second; the rest are counted */

	/* [security]: least privilege for the run loop (vmm/lockdown.h) */
	unsigned int seccomp; /* bool: system call allow-list after set-up */
	char *user;	      /* drop root to this user after set-up, or NULL */
};

enum san_mode { SAN_GENERIC, SAN_TAGS, SAN_OFF };
enum san_events { SAN_EVENTS_SYNC, SAN_EVENTS_ASYNC, SAN_EVENTS_ASYMM };
enum san_fault { SAN_FAULT_REPORT, SAN_FAULT_PANIC, SAN_FAULT_PANIC_ON_WRITE };
enum san_arm { SAN_ARM_ALL, SAN_ARM_FREED, SAN_ARM_SAMPLED, SAN_ARM_ADAPTIVE };
enum san_ept_mechanism { SAN_EPT_AUTO, SAN_EPT_MPROTECT, SAN_EPT_HOLE };
enum san_tag_fault { SAN_TAG_FAULT_SYNC, SAN_TAG_FAULT_ASYNC, SAN_TAG_FAULT_ASYMM };

/* Exit codes of `kasan-vmm run` (documented in README.md). */
enum vmm_exit_code {
	VMM_EXIT_OK = 0,       /* guest powered off; guest codes 0..119 pass through */
	VMM_EXIT_ERROR = 1,    /* set-up or host failure */
	VMM_EXIT_USAGE = 2,    /* bad command line, config or input file */
	VMM_EXIT_REBOOT = 120, /* the guest asked for a reboot */
	VMM_EXIT_TRIPLE_FAULT = 121,
	VMM_EXIT_EMULATION = 122,   /* KVM could not emulate an instruction */
	VMM_EXIT_UNHANDLED = 123,   /* an exit or KVM internal error kasan-vmm does not handle */
	VMM_EXIT_TIMEOUT = 124,	    /* --timeout elapsed (as timeout(1)) */
	VMM_EXIT_KASAN_PANIC = 125, /* fault=panic stopped the guest after a report */
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/*
 * Parse `kasan-vmm run` arguments (argv[0] is "run"). Reads --config first,
 * then a libvirt domain (--domain), then the other options over them, then
 * validates. On error prints one line to stderr and returns -EINVAL (bad
 * input) or another -errno (host failure, e.g. libvirt unreachable);
 * returns 1 when --help was printed.
 */
int config_parse_run_args(struct vm_config *cfg, int argc, char **argv);

/*
 * Set one table option from text, with the same checks as the command line
 * and INI files; `where` names the source in the one-line error message.
 * Returns 0 or -EINVAL (also for an unknown section/name).
 */
int config_set_option(struct vm_config *cfg, const char *section, const char *name,
		      const char *value, const char *where);

/* Load an INI file into cfg (keys as the long options, section [vm]). */
int config_load_file(struct vm_config *cfg, const char *path);

/*
 * Check every value (files exist and are readable, ranges, the kernel and
 * initrd fit --memory: boot_check_fit); -EINVAL + one line on error.
 */
int config_validate(const struct vm_config *cfg);

#endif /* VMM_CONFIG_H */
