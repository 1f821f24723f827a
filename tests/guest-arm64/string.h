/* SPDX-License-Identifier: MIT */
/* The libc string functions the guest uses (gcc may also call mem* itself). */
#ifndef A64G_STRING_H
#define A64G_STRING_H

#include <stddef.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
size_t strcspn(const char *s, const char *reject);
char *strcpy(char *d, const char *s);

#endif
