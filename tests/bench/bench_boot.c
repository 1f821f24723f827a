// SPDX-License-Identifier: MIT
/*
 * Boot time (issue 2): the test guest under kasan-vmm (sanitizer on, and
 * --mode off) and under QEMU (microvm, same guest, same command line), runs
 * alternating, median of RUNS each. For every run: wall time from just
 * before fork() to the guest's "testguest: cpus online: 2" line (read from
 * the child's stdout through a pipe, timestamped with CLOCK_MONOTONIC) and
 * to the child's exit. Prints the medians and kasan-vmm/QEMU ratios.
 *
 * usage: bench_boot [runs]   (run from the repository root)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS_DEFAULT 5
#define RUNS_MAX     15
#define MARKER	     "testguest: cpus online: 2"
#define DEADLINE_MS  90000

struct config {
	const char *name;
	const char *const *argv;
	int want_status; /* exit status of a clean run */
	bool available;
	double marker_ms[RUNS_MAX], exit_ms[RUNS_MAX];
	int ok;
	int failures;
};

static const char *const vmm_on[] = {"build/kasan-vmm", "run", "--kernel", "build/testguest.elf",
				     "--cpus",		"2",   "--append", "kasan_test=none",
				     "--timeout",	"60",  NULL};
static const char *const vmm_off[] = {"build/kasan-vmm",
				      "run",
				      "--kernel",
				      "build/testguest.elf",
				      "--cpus",
				      "2",
				      "--append",
				      "kasan_test=none",
				      "--timeout",
				      "60",
				      "--mode",
				      "off",
				      NULL};
static const char *const qemu[] = {"qemu-system-x86_64",
				   "-enable-kvm",
				   "-M",
				   "microvm,acpi=on",
				   "-cpu",
				   "host",
				   "-m",
				   "256",
				   "-smp",
				   "2",
				   "-nographic",
				   "-no-reboot",
				   "-kernel",
				   "build/testguest.elf",
				   "-append",
				   "kasan_test=none",
				   "-device",
				   "isa-debug-exit,iobase=0x501,iosize=1",
				   NULL};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One run: 0 and the two times, or -1 (message printed). */
static int run_once(const struct config *c, double *marker_ms, double *exit_ms)
{
	char buf[4096], line[512];
	size_t ll = 0;
	int pfd[2], status;
	double t0, marker = -1;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return perror("pipe"), -1;
	t0 = now_ms();
	pid = fork();
	if (pid < 0)
		return perror("fork"), -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(null, 2);
		execvp(c->argv[0], (char *const *)c->argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int left = DEADLINE_MS - (int)(now_ms() - t0);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) == 0) {
			fprintf(stderr, "bench_boot: %s: no exit after %d ms, killed\n", c->name,
				DEADLINE_MS);
			kill(pid, SIGKILL);
			break;
		}
		n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || ll == sizeof(line) - 1) {
				line[ll] = '\0';
				if (marker < 0 && strstr(line, MARKER))
					marker = now_ms() - t0;
				ll = 0;
			} else if (buf[i] != '\r') {
				line[ll++] = buf[i];
			}
		}
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return perror("waitpid"), -1;
	*exit_ms = now_ms() - t0;
	*marker_ms = marker;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != c->want_status) {
		fprintf(stderr, "bench_boot: %s: exit status %d (want %d)%s\n", c->name,
			WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), c->want_status,
			marker < 0 ? ", no marker line" : "");
		return -1;
	}
	if (marker < 0) {
		fprintf(stderr, "bench_boot: %s: no \"%s\" line\n", c->name, MARKER);
		return -1;
	}
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, prog);
		if (access(buf, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

int main(int argc, char **argv)
{
	struct config cfg[] = {
	    {.name = "kasan-vmm (generic)", .argv = vmm_on, .want_status = 0},
	    {.name = "qemu microvm", .argv = qemu, .want_status = 1}, /* (0 << 1) | 1 */
	    {.name = "kasan-vmm --mode off", .argv = vmm_off, .want_status = 0},
	};
	const int nc = (int)(sizeof(cfg) / sizeof(cfg[0]));
	int runs = argc > 1 ? atoi(argv[1]) : RUNS_DEFAULT;
	double qm = 0, qe = 0;
	int rc = 0;

	if (runs < 1 || runs > RUNS_MAX)
		runs = RUNS_DEFAULT;
	for (int i = 0; i < nc; i++)
		cfg[i].available = in_path(cfg[i].argv[0]);
	printf("== bench_boot: test guest, 2 vCPUs, kasan_test=none; %d runs each, alternating; "
	       "times from fork()\n",
	       runs);
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < nc; i++) {
			struct config *c = &cfg[i];

			if (!c->available)
				continue;
			if (run_once(c, &c->marker_ms[c->ok], &c->exit_ms[c->ok]) == 0)
				c->ok++;
			else
				c->failures++;
		}
	}
	printf("%-22s %5s %16s %16s %13s %13s\n", "", "runs", "cpus online (ms)", "exit (ms)",
	       "online/QEMU", "exit/QEMU");
	if (cfg[1].ok) {
		qm = median(cfg[1].marker_ms, cfg[1].ok);
		qe = median(cfg[1].exit_ms, cfg[1].ok);
	}
	for (int i = 0; i < nc; i++) {
		struct config *c = &cfg[i];
		double m, e;

		if (!c->available) {
			printf("%-22s %s not found: skipped\n", c->name, c->argv[0]);
			rc = i == 1 ? rc : 1;
			continue;
		}
		if (!c->ok) {
			printf("%-22s %5d every run failed\n", c->name, c->failures);
			rc = 1;
			continue;
		}
		if (c->failures)
			rc = 1;
		m = median(c->marker_ms, c->ok);
		e = median(c->exit_ms, c->ok);
		printf("%-22s %2d/%-2d %16.1f %16.1f", c->name, c->ok, c->ok + c->failures, m, e);
		if (qm > 0 && i != 1)
			printf(" %13.3f %13.3f", m / qm, e / qe);
		else if (i != 1)
			printf(" %13s %13s", "n/a", "n/a");
		printf("\n");
	}
	if (cfg[0].ok && qm > 0)
		printf("bench_boot: kasan-vmm/QEMU boot-to-online %.3f, to exit %.3f (goal <= 1.0: "
		       "%s)\n",
		       median(cfg[0].marker_ms, cfg[0].ok) / qm,
		       median(cfg[0].exit_ms, cfg[0].ok) / qe,
		       median(cfg[0].exit_ms, cfg[0].ok) / qe <= 1.0 ? "met" : "not met");
	return rc;
}
