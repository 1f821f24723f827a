/* SPDX-License-Identifier: MIT */
/* Console on the device tree's UART (16550 or PL011) and a small printf. */
#ifndef A64G_CONSOLE_H
#define A64G_CONSOLE_H

#include "fdt.h"

/* Until this is called (or without a UART) output is dropped. */
void console_init(enum uart_kind kind, u64 base, u32 reg_shift);
__attribute__((format(printf, 1, 2))) int printf(const char *fmt, ...);
int vprintf(const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int snprintf(char *buf, size_t cap, const char *fmt, ...);

#endif
