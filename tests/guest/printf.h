/* SPDX-License-Identifier: MIT */
/*
 * A small printf: %s %c %d %i %u %x %X %p %%, length l/ll/z, flags '-' '0',
 * width and, for %s, precision (digits or *). printf() writes to the serial console, whole calls
 * atomically with respect to other CPUs.
 */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include "kernel.h"

#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

int printf(const char *fmt, ...) PRINTF_FMT(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
