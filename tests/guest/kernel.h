/* SPDX-License-Identifier: MIT */
/*
 * Common definitions for the freestanding test guest: fixed-width types,
 * port and MMIO accessors, a few privileged instructions, exit codes.
 * Only gcc's freestanding headers and the kasan-vmm ABI header are used.
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

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
#define barrier()	 asm volatile("" ::: "memory")
/*
 * gcc gives frameless leaf functions no rbp frame even with
 * -fno-omit-frame-pointer; asking for the frame address forces one, so that
 * an rbp unwind from inside them (e.g. a trapped memset) shows their caller.
 */
#define FORCE_FRAME() asm volatile("" ::"r"(__builtin_frame_address(0)))

#define PAGE_SIZE 4096ul
#define MAX_CPUS  64

/* Exit codes written to KV_PORT_EXIT; all within KV_GUEST_EXIT_MAX. */
enum guest_exit_code {
	EXIT_OK = 0,
	EXIT_TESTS_MAX = 100, /* 1..100: that many test cases failed (capped) */
	EXIT_PANIC = 110,     /* panic(): an internal check failed */
	EXIT_EXCEPTION = 111, /* unexpected CPU exception or interrupt */
	EXIT_BOOT = 112,      /* unusable boot information */
};

noreturn void guest_exit(int code);
noreturn __attribute__((format(printf, 1, 2))) void panic(const char *fmt, ...);

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(u16 port, u32 v)
{
	asm volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

static inline u32 mmio_read32(u64 addr)
{
	return *(volatile u32 *)addr;
}

static inline void mmio_write32(u64 addr, u32 v)
{
	*(volatile u32 *)addr = v;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline u64 read_cr2(void)
{
	u64 v;
	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline void invlpg(u64 va)
{
	asm volatile("invlpg (%0)" ::"r"(va) : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline void cli(void)
{
	asm volatile("cli" ::: "memory");
}

#define MSR_APIC_BASE 0x1b
#define MSR_GS_BASE   0xc0000101

#endif /* GUEST_KERNEL_H */
