/* SPDX-License-Identifier: MIT */
/*
 * Copies between a heap object and user memory, or another kernel buffer,
 * one byte or one element past the object (Linux's copy_user_test_oob and
 * copy_to_kernel_nofault_oob, through ../uaccess.h).
 */
#include "scenario.h"
#include "uaccess.h"

static volatile long kasan_copy_result;

/* Linux's order: plain, __, __*_inatomic; each from, then to user memory. */
static unsigned long (*const from_user[])(void *, const void __user *, unsigned long) = {
    copy_from_user, __copy_from_user, __copy_from_user_inatomic};
static unsigned long (*const to_user[])(void __user *, const void *, unsigned long) = {
    copy_to_user, __copy_to_user, __copy_to_user_inatomic};

/*
 * kmalloc(128 - granule): size + 1 bytes reach the red zone. Each user copy
 * is one judged range (rep movsb), reported with its whole length at the
 * object, as Linux's checked copies report it. The user page holds a string
 * longer than size + 1, so that strncpy_from_user copies all of it.
 */
TESTCASE(copy_user_test_oob)
{
	size_t size = 128 - KASAN_GRANULE_SIZE;
	char *kmem = kmalloc(size, GFP_KERNEL);
	char __user *usermem = user_page();

	TEST_ASSERT(kmem);
	OPTIMIZER_HIDE_VAR(size);
	memset(usermem, 'a', size + 1);
	usermem[size + 1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(from_user); i++) {
		expect_write(SLAB_OOB, size + 1, kmem, size);
		kasan_copy_result = (long)from_user[i](kmem, usermem, size + 1);
		expect_read(SLAB_OOB, size + 1, kmem, size);
		kasan_copy_result = (long)to_user[i](usermem, kmem, size + 1);
	}
	expect_write(SLAB_OOB, size + 1, kmem, size);
	kasan_copy_result = strncpy_from_user(kmem, usermem, (long)size + 1);
	/* no terminator within count: all count bytes were copied */
	TEST_ASSERT(kasan_copy_result == (long)size + 1);
	kfree(kmem);
	return 0;
}

/* Expectations for the 8-byte elements of [obj + osz, obj + osz + granule). */
static void expect_bad_elements(enum kv_access acc, const char *obj, size_t osz)
{
	for (size_t off = 0; off < KASAN_GRANULE_SIZE; off += sizeof(u64))
		expect_report(SLAB_OOB, acc, sizeof(u64), obj, osz);
}

/*
 * kmalloc(128 - granule) and a 128-byte buffer: the copy reads (then
 * writes) the object's last granule's worth of elements past its end.
 */
TESTCASE(copy_to_kernel_nofault_oob)
{
	u64 buf[16];
	size_t size = sizeof(buf);
	char *ptr = kmalloc(size - KASAN_GRANULE_SIZE, GFP_KERNEL);

	TEST_ASSERT(ptr);
	OPTIMIZER_HIDE_VAR(ptr);
	expect_bad_elements(KV_READ, ptr, size - KASAN_GRANULE_SIZE);
	kasan_copy_result = copy_to_kernel_nofault(&buf[0], ptr, size);
	TEST_ASSERT(kasan_copy_result == 0);
	expect_bad_elements(KV_WRITE, ptr, size - KASAN_GRANULE_SIZE);
	kasan_copy_result = copy_to_kernel_nofault(ptr, &buf[0], size);
	TEST_ASSERT(kasan_copy_result == 0);
	kfree(ptr);
	return 0;
}
