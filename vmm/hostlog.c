// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		pr_err("report log %s: %s", path, strerror(errno));
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
		log->json_fd = log->text_fd >= 0 ? open_append(json_path) : -1;
		free(json_path);
		if (log->json_fd < 0) {
			err = -errno;
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

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
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

/* Text, then fsync, then JSON, then fsync: the sidecar never names a report the log lacks. */
int hostlog_write_report(struct hostlog *log, const char *text, const char *json)
{
	size_t len = strlen(text);
	int err = 0;

	pthread_mutex_lock(&log->lock);
	if (over_rate(log)) {
		pthread_mutex_unlock(&log->lock);
		return 1;
	}
	write_all(STDERR_FILENO, text, len);
	if (log->text_fd >= 0) {
		err = write_all(log->text_fd, text, len);
		if (!err && (len == 0 || text[len - 1] != '\n'))
			err = write_all(log->text_fd, "\n", 1);
		if (!err && fsync(log->text_fd) < 0)
			err = -errno;
	}
	if (!err && log->json_fd >= 0 && json) {
		err = write_all(log->json_fd, json, strlen(json));
		if (!err)
			err = write_all(log->json_fd, "\n", 1);
		if (!err && fsync(log->json_fd) < 0)
			err = -errno;
	}
	pthread_mutex_unlock(&log->lock);
	if (err)
		pr_err("report log: write failed: %s", strerror(-err));
	return err;
}
