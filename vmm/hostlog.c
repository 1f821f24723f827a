// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vmm/hostlog.h"
#include "vmm/log.h"

struct hostlog {
	int text_fd;
	int json_fd;
	pthread_mutex_t lock;
	/* rate cap: at most `rate` reports in each one-second window; 0: no cap */
	unsigned int rate, in_window;
	uint64_t window_start_ns;
	uint64_t dropped;
};

/*
 * A run killed mid-record may leave a file without its final newline:
 * end it so the next run's first record starts on a line of its own.
 */
static int end_last_line(int fd, const char *path)
{
	struct stat st;
	char last;

	/* a pipe or terminal (--log /dev/stderr) has no last byte to read */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return 0;
	if (pread(fd, &last, 1, st.st_size - 1) != 1) {
		pr_err("report log %s: reading its last byte: %s", path, strerror(errno));
		return -EIO;
	}
	if (last != '\n' && write(fd, "\n", 1) != 1) {
		pr_err("report log %s: ending its last line: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

static int open_append(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int err;

	if (fd < 0) {
		err = -errno;
		pr_err("report log %s: %s", path, strerror(errno));
		return err;
	}
	err = end_last_line(fd, path);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int hostlog_open(struct hostlog **out, const char *path)
{
	struct hostlog *log = calloc(1, sizeof(*log));
	char *json_path = NULL;
	int err;

	if (!log)
		return -ENOMEM;
	log->text_fd = log->json_fd = -1;
	pthread_mutex_init(&log->lock, NULL);
	if (path) {
		if (asprintf(&json_path, "%s.jsonl", path) < 0) {
			hostlog_close(log);
			return -ENOMEM;
		}
		log->text_fd = open_append(path);
		log->json_fd = log->text_fd >= 0 ? open_append(json_path) : log->text_fd;
		free(json_path);
		if (log->json_fd < 0) {
			err = log->json_fd;
			hostlog_close(log);
			return err;
		}
	}
	*out = log;
	return 0;
}

void hostlog_set_rate(struct hostlog *log, unsigned int per_second)
{
	log->rate = per_second;
}

uint64_t hostlog_dropped(struct hostlog *log)
{
	uint64_t n;

	pthread_mutex_lock(&log->lock);
	n = log->dropped;
	pthread_mutex_unlock(&log->lock);
	return n;
}

static void write_drop_summary(struct hostlog *log)
{
	char line[160];
	int n;

	if (!log->dropped)
		return;
	n = snprintf(line, sizeof(line),
		     "kasan-vmm: %llu report(s) not written: over the rate cap of %u per second\n",
		     (unsigned long long)log->dropped, log->rate);
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
	if (log->text_fd >= 0 && write(log->text_fd, line, (size_t)n) == n)
		fsync(log->text_fd);
}

void hostlog_close(struct hostlog *log)
{
	if (!log)
		return;
	write_drop_summary(log);
	if (log->text_fd >= 0)
		close(log->text_fd);
	if (log->json_fd >= 0)
		close(log->json_fd);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

/* One record, newline included, in one writev: a kill never splits a line from its end. */
static int write_record(int fd, const char *buf, size_t len)
{
	struct iovec iov[2] = {{(void *)buf, len}, {"\n", 1}};
	int iovcnt = len && buf[len - 1] == '\n' ? 1 : 2;
	size_t left = len + (iovcnt == 2);

	while (left) {
		ssize_t n = writev(fd, iov, iovcnt);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		left -= (size_t)n;
		/* a short write (full disk, signal): go on after what was written */
		for (int i = 0; i < iovcnt && n; i++) {
			size_t step = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;

			iov[i].iov_base = (char *)iov[i].iov_base + step;
			iov[i].iov_len -= step;
			n -= (ssize_t)step;
		}
	}
	return 0;
}

static int write_synced(int fd, const char *buf)
{
	int err = write_record(fd, buf, strlen(buf));

	if (!err && fsync(fd) < 0)
		err = -errno;
	return err;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A guest that triggers reports in a loop must not turn the host disk into its log. */
static bool over_rate(struct hostlog *log)
{
	uint64_t now;

	if (!log->rate)
		return false;
	now = now_ns();
	if (now - log->window_start_ns >= 1000000000ull) {
		log->window_start_ns = now;
		log->in_window = 0;
	}
	if (log->in_window >= log->rate) {
		log->dropped++;
		return true;
	}
	log->in_window++;
	return false;
}

/*
 * JSON, then fsync, then text, then fsync, all before the vCPU that
 * reported runs on: once the text log shows a report's closing line, its
 * JSON line is on disk too. A kill between the two leaves the report in
 * the sidecar only, never in neither.
 */
int hostlog_write_report(struct hostlog *log, const char *text, const char *json)
{
	int err = 0;

	pthread_mutex_lock(&log->lock);
	if (over_rate(log)) {
		pthread_mutex_unlock(&log->lock);
		return 1;
	}
	write_record(STDERR_FILENO, text, strlen(text));
	if (log->json_fd >= 0 && json)
		err = write_synced(log->json_fd, json);
	if (!err && log->text_fd >= 0)
		err = write_synced(log->text_fd, text);
	pthread_mutex_unlock(&log->lock);
	if (err)
		pr_err("report log: write failed: %s", strerror(-err));
	return err;
}
