/* SPDX-License-Identifier: MIT */
/*
 * Copies to and from "user" memory, and a kernel copy that cannot fault, for
 * the usercopy scenarios (Linux's uaccess.h / maccess.c names and returns).
 * The test guest has no user space: user memory is one static page that
 * kasan-vmm does not track, so the only bad access of a copy is the one to
 * the kernel object. User copies are one rep movsb each (the guest's
 * memcpy): kasan-vmm judges and reports a copy once, over its whole range,
 * as KASAN's checked copies do.
 */
#ifndef GUEST_UACCESS_H
#define GUEST_UACCESS_H

#include "kernel.h"

#define __user
#define EFAULT 14

/* The user page: PAGE_SIZE bytes. */
char __user *user_page(void);

/* Bytes not copied (0: all), as Linux: n if the user range is not the user page's. */
unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
unsigned long __copy_from_user(void *to, const void __user *from, unsigned long n);
unsigned long __copy_to_user(void __user *to, const void *from, unsigned long n);
unsigned long __copy_from_user_inatomic(void *to, const void __user *from, unsigned long n);
unsigned long __copy_to_user_inatomic(void __user *to, const void *from, unsigned long n);
/*
 * Copies the string at src, at most count bytes with its terminator: the
 * length, count when no terminator came within count, or -EFAULT.
 */
long strncpy_from_user(char *dst, const char __user *src, long count);

/*
 * Copies size bytes in 8-byte elements while both are 8-byte aligned, then
 * bytes; 0, or -EFAULT (nothing copied) if a page of either range is not
 * mapped. The guest never unmaps kernel pages under a running copy, so
 * checking the page tables first stands in for Linux's exception fixup.
 */
long copy_to_kernel_nofault(void *dst, const void *src, size_t size);

#endif
