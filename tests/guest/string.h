/* SPDX-License-Identifier: MIT */
/*
 * Memory and string helpers. Real out-of-line functions (the guest builds
 * with -fno-builtin) so that bug scenarios calling memset/memcpy on heap
 * objects show those calls in the stacks kasan-vmm unwinds.
 */
#ifndef GUEST_STRING_H
#define GUEST_STRING_H

#include <stddef.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
/* Copies at most size-1 chars, always terminates; returns the length or -1 if truncated. */
long strscpy(char *dst, const char *src, size_t size);

#endif
