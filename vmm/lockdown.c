// SPDX-License-Identifier: MIT
/*
 * --user and --seccomp (vmm/lockdown.h). The allow-list was found with
 * `strace -f` of full runs (kasan_test=all, multi_shot, reports to a log,
 * async events, the garbage flood) of the release and the ASan build.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/lockdown.h"
#include "vmm/log.h"

/* What the run loop does: KVM_RUN and friends, guest RAM, logs, threads, signals, time. */
static const int allowed[] = {
    SCMP_SYS(ioctl),
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(writev),
    SCMP_SYS(lseek),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(futex),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mprotect), /* ept/ arms guest pages with host mprotect */
    SCMP_SYS(madvise),
    SCMP_SYS(mremap),
    SCMP_SYS(brk),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(sched_yield),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(tgkill), /* vcpu_kick: pthread_kill */
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq), /* new threads */
    SCMP_SYS(getrandom),
    SCMP_SYS(readlink),
    SCMP_SYS(access),
    SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2),
};

#ifdef __SANITIZE_ADDRESS__
/*
 * The ASan runtime: reports (sigaltstack, rlimits, /proc/self/maps),
 * LeakSanitizer at exit (a ptrace'd stop-the-world helper sharing our VM).
 */
static const int allowed_asan[] = {
    SCMP_SYS(sigaltstack), SCMP_SYS(prctl),
    SCMP_SYS(getrlimit),   SCMP_SYS(prlimit64),
    SCMP_SYS(setrlimit),   SCMP_SYS(ptrace),
    SCMP_SYS(wait4),	   SCMP_SYS(waitid),
    SCMP_SYS(getppid),	   SCMP_SYS(sched_getaffinity),
    SCMP_SYS(getdents64),  SCMP_SYS(getdents),
    SCMP_SYS(kill),	   SCMP_SYS(tkill),
    SCMP_SYS(clone),	   SCMP_SYS(uname),
    SCMP_SYS(sysinfo),	   SCMP_SYS(pipe2),
    SCMP_SYS(dup2),
};
#endif

static int add_rules(scmp_filter_ctx f, const int *nrs, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++) {
		err = seccomp_rule_add(f, SCMP_ACT_ALLOW, nrs[i], 0);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Calls allowed only with some arguments: opening files read-only (the
 * allocator exemption list is read when the guest registers), and clone
 * only for threads. clone3 says ENOSYS so that glibc falls back to clone,
 * whose flags a filter can see.
 */
static int add_arg_rules(scmp_filter_ctx f)
{
	const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_TRUNC;
	int err;

	err = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, mask, O_RDONLY));
	if (!err) /* the ASan runtime opens with the raw open() */
		err = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, mask, O_RDONLY));
	if (!err)
		err = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (!err)
		err = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return err;
}

static int seccomp_install(void)
{
	/* KASAN_VMM_SECCOMP_AUDIT=1: log forbidden calls to the kernel log instead (finding the
	 * list) */
	scmp_filter_ctx f =
	    seccomp_init(getenv("KASAN_VMM_SECCOMP_AUDIT") ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	int err;

	if (!f) {
		pr_err("seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* every thread (the console input thread exists already), and foreign ABIs die too */
	err = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (!err)
		err = add_rules(f, allowed, sizeof(allowed) / sizeof(allowed[0]));
#ifdef __SANITIZE_ADDRESS__
	if (!err)
		err = add_rules(f, allowed_asan, sizeof(allowed_asan) / sizeof(allowed_asan[0]));
#endif
	if (!err)
		err = add_arg_rules(f);
	if (!err)
		err = seccomp_load(f);
	seccomp_release(f);
	if (err)
		pr_err("seccomp: installing the filter failed: %s", strerror(-err));
	return err;
}

/* initgroups needs /etc/group: done before the filter, like every file access but logs. */
static int drop_user(const char *name)
{
	struct passwd *pw = getpwnam(name);

	if (!pw) {
		pr_err("--user %s: no such user", name);
		return -EINVAL;
	}
	if (geteuid() != 0 && pw->pw_uid == geteuid())
		return 0; /* already that user */
	if (initgroups(name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		int err = errno;

		pr_err("--user %s: dropping privileges: %s", name, strerror(err));
		return -err;
	}
#ifdef __SANITIZE_ADDRESS__
	/* LeakSanitizer ptraces us at exit; setuid made us non-dumpable (release builds stay so).
	 */
	prctl(PR_SET_DUMPABLE, 1);
#endif
	/* If root could be regained, the drop did not happen. */
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		pr_err("--user %s: root could be regained", name);
		return -EPERM;
	}
	pr_info("running as user %s (uid %u, gid %u)", name, (unsigned)pw->pw_uid,
		(unsigned)pw->pw_gid);
	return 0;
}

int lockdown_apply(const struct vm_config *cfg)
{
	int err = 0;

	if (cfg->user && cfg->user[0])
		err = drop_user(cfg->user);
	if (err || !cfg->seccomp)
		return err;
	err = seccomp_install();
	if (err)
		return err;
	pr_info("seccomp: filter installed");
	if (getenv("KASAN_VMM_SECCOMP_SELFTEST")) {
		int fd;

		/* a warning, so a test tells "killed by the filter" from "never got here" */
		pr_warn("seccomp selftest: calling socket(), which the filter must kill");
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		pr_err("seccomp selftest: socket() returned %d: the filter does not work", fd);
		return -EPERM;
	}
	return 0;
}
