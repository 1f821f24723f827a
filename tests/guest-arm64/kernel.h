/* SPDX-License-Identifier: MIT */
/*
 * Common definitions of the arm64 freestanding test guest: types, MMIO
 * accessors, system registers, exit codes. Only gcc's freestanding headers
 * and the kasan-vmm ABI header are used.
 */
#ifndef A64G_KERNEL_H
#define A64G_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "paravirt/kasan_vmm_abi.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	 (((x) + (a)-1) & ~((u64)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define noreturn	 __attribute__((noreturn))
#define noinline	 __attribute__((noinline))
#define PAGE_SIZE	 4096ul

/* Leaf functions get no frame record by default; this forces one (unwinds show the caller). */
#define FORCE_FRAME() asm volatile("" ::"r"(__builtin_frame_address(0)))
/* Hide a value from the optimizer (Linux's OPTIMIZER_HIDE_VAR). */
#define OPTIMIZER_HIDE_VAR(v) asm volatile("" : "+r"(v))

/* Exit codes, as the x86 test guest's. */
enum guest_exit_code {
	EXIT_OK = 0,
	EXIT_TESTS_MAX = 100, /* 1..100: that many test cases failed (capped) */
	EXIT_PANIC = 110,
	EXIT_EXCEPTION = 111, /* unexpected exception: ESR/ELR/FAR on the console */
	EXIT_BOOT = 112,      /* unusable boot information (device tree) */
};

noreturn void guest_exit(int code);
noreturn __attribute__((format(printf, 1, 2))) void panic(const char *fmt, ...);

/*
 * MMIO through single-register loads/stores without writeback, so that a
 * trapped access always has a valid syndrome (ESR ISV=1) for the VMM.
 */
static inline void mmio_write8(u64 addr, u8 v)
{
	asm volatile("strb %w0, [%1]" ::"r"(v), "r"(addr) : "memory");
}

static inline u8 mmio_read8(u64 addr)
{
	u32 v;

	asm volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return (u8)v;
}

static inline void mmio_write32(u64 addr, u32 v)
{
	asm volatile("str %w0, [%1]" ::"r"(v), "r"(addr) : "memory");
}

static inline u32 mmio_read32(u64 addr)
{
	u32 v;

	asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

#define read_sysreg(r)                                                                             \
	({                                                                                         \
		u64 __v;                                                                           \
		asm volatile("mrs %0, " #r : "=r"(__v));                                           \
		__v;                                                                               \
	})

static inline u64 read_counter(void)
{
	u64 v;

	asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}

static inline u64 irq_save(void)
{
	u64 f;

	asm volatile("mrs %0, daif; msr daifset, #0xf" : "=r"(f)::"memory");
	return f;
}

static inline void irq_restore(u64 f)
{
	asm volatile("msr daif, %0" ::"r"(f) : "memory");
}

/* Pointer tags (TCR_EL1.TBI0 is on: the top byte of a lower-half VA is ignored). */
static inline void *set_tag(const void *p, u8 tag)
{
	return (void *)(((u64)p & 0x00ffffffffffffffull) | ((u64)tag << 56));
}

static inline u8 get_tag(const void *p)
{
	return (u8)((u64)p >> 56);
}

static inline void *reset_tag(const void *p)
{
	return set_tag(p, 0);
}

#endif
