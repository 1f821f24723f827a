/* SPDX-License-Identifier: MIT */
#include "uaccess.h"

#include "mmu.h"
#include "string.h"

static char user_area[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

char __user *user_page(void)
{
	return user_area;
}

/* Like Linux's access_ok(): the range lies in user memory (here, the user page). */
static bool access_ok(const void __user *p, unsigned long n)
{
	unsigned long a = (unsigned long)p, base = (unsigned long)user_area;

	return a >= base && n <= PAGE_SIZE && a - base <= PAGE_SIZE - n;
}

/* The unchecked copies: Linux's __ variants skip access_ok() too. */
unsigned long __copy_from_user(void *to, const void __user *from, unsigned long n)
{
	memcpy(to, from, n);
	return 0;
}

unsigned long __copy_to_user(void __user *to, const void *from, unsigned long n)
{
	memcpy(to, from, n);
	return 0;
}

unsigned long __copy_from_user_inatomic(void *to, const void __user *from, unsigned long n)
{
	return __copy_from_user(to, from, n);
}

unsigned long __copy_to_user_inatomic(void __user *to, const void *from, unsigned long n)
{
	return __copy_to_user(to, from, n);
}

unsigned long copy_from_user(void *to, const void __user *from, unsigned long n)
{
	return access_ok(from, n) ? __copy_from_user(to, from, n) : n;
}

unsigned long copy_to_user(void __user *to, const void *from, unsigned long n)
{
	return access_ok(to, n) ? __copy_to_user(to, from, n) : n;
}

long strncpy_from_user(char *dst, const char __user *src, long count)
{
	size_t len;

	if (count <= 0)
		return 0;
	if (!access_ok(src, 1))
		return -EFAULT;
	/* Only the user page is read: the string is cut at its end. */
	len = strnlen(src, MIN((size_t)count, PAGE_SIZE - ((unsigned long)src & (PAGE_SIZE - 1))));
	/* One copy of the string and its terminator (if it fits): one judged range. */
	memcpy(dst, src, len < (size_t)count ? len + 1 : len);
	return (long)len;
}

static bool mapped(const void *p, size_t size)
{
	unsigned long a = (unsigned long)p & ~(PAGE_SIZE - 1), end = (unsigned long)p + size;

	for (; a < end; a += PAGE_SIZE)
		if (mmu_translate(a) == ~0ull)
			return false;
	return true;
}

long copy_to_kernel_nofault(void *dst, const void *src, size_t size)
{
	u8 *d = dst;
	const u8 *s = src;

	if (!mapped(dst, size) || !mapped(src, size))
		return -EFAULT;
	/* 8-byte elements, as Linux's copy_to_kernel_nofault_loop: one access each. */
	if (!(((unsigned long)d | (unsigned long)s) & 7)) {
		for (; size >= 8; size -= 8, d += 8, s += 8)
			*(volatile u64 *)d = *(const volatile u64 *)s;
	}
	for (; size; size--)
		*(volatile u8 *)d++ = *(const volatile u8 *)s++;
	return 0;
}
