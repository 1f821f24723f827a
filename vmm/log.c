// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <pthread.h>

#include "vmm/log.h"

static enum log_level log_level = LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	/* One lock so lines from several vCPU threads never interleave. */
	pthread_mutex_lock(&log_lock);
	fputs("kasan-vmm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
