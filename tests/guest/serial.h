/* SPDX-License-Identifier: MIT */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include "kernel.h"

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

/* Serialises console output between CPUs; recursive on one CPU (a fault inside printf). */
void console_lock(void);
void console_unlock(void);

#endif
