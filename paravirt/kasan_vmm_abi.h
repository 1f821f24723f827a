/* SPDX-License-Identifier: MIT */
/*
 * kasan-vmm guest/host ABI. Shared, unchanged, by the host (kasan-vmm), the
 * freestanding test guest and the Linux driver: it must compile in all three,
 * so it uses only fixed-width integer types and no libc.
 *
 * See paravirt/ABI.md for the protocol.
 */
#ifndef KASAN_VMM_ABI_H
#define KASAN_VMM_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef u8 kv_u8;
typedef u16 kv_u16;
typedef u32 kv_u32;
typedef u64 kv_u64;
#else
#include <stdint.h>
typedef uint8_t kv_u8;
typedef uint16_t kv_u16;
typedef uint32_t kv_u32;
typedef uint64_t kv_u64;
#endif

/* Discovery: CPUID leaf in the hypervisor range, after KVM's own leaves. */
#define KV_CPUID_LEAF      0x40000100u
/* EBX, ECX, EDX of KV_CPUID_LEAF spell "KasanVMM\0\0\0\0". */
#define KV_CPUID_SIG_EBX   0x6173614bu /* "Kasa" */
#define KV_CPUID_SIG_ECX   0x4d4d566eu /* "nVMM" */
#define KV_CPUID_SIG_EDX   0x00000000u

/* I/O ports owned by kasan-vmm (0x500-0x50f). */
#define KV_PORT_EXIT       0x501 /* outb code: the guest powers off with exit code `code` */
#define KV_PORT_DOORBELL   0x504 /* outl: see ABI.md */

/* Largest exit code a guest may pass through KV_PORT_EXIT unchanged. */
#define KV_GUEST_EXIT_MAX  119

#endif /* KASAN_VMM_ABI_H */
