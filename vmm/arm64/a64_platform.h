/* SPDX-License-Identifier: MIT */
/*
 * The arm64 guest's physical memory map (IPAs) and the boot constants that
 * the device tree, the loader and the VMM agree on. Portable: no KVM headers.
 *
 *   0x08000000  GIC v3 distributor, 64 KiB
 *   0x080A0000  GIC v3 redistributors, 128 KiB per vCPU (up to the doorbell)
 *   0x09000000  kasan-vmm doorbell page (paravirt/ABI.md, "Discovery on arm64")
 *   0x09001000  16550A UART, 8-bit registers (reg-shift 0), GIC SPI 1
 *   0x40000000  RAM
 */
#ifndef VMM_ARM64_A64_PLATFORM_H
#define VMM_ARM64_A64_PLATFORM_H

#define A64_GIC_DIST_BASE	 0x08000000ull
#define A64_GIC_DIST_SIZE	 0x10000ull
#define A64_GIC_REDIST_BASE	 0x080A0000ull
#define A64_GIC_REDIST_PER_CPU	 0x20000ull /* RD_base + SGI_base frames */
#define A64_KVMM_BASE		 0x09000000ull
#define A64_KVMM_SIZE		 0x1000ull
#define A64_KVMM_DOORBELL_OFFSET 0x0 /* 32-bit store: the doorbell value */
#define A64_KVMM_EXIT_OFFSET	 0x8 /* 32-bit store: the exit code for SYSTEM_OFF */
#define A64_UART_BASE		 0x09001000ull
#define A64_UART_SIZE		 0x1000ull
#define A64_UART_SPI		 1u
#define A64_UART_CLOCK		 1843200u
#define A64_RAM_BASE		 0x40000000ull

/* The redistributors must end below the doorbell page: 123 vCPUs fit, we allow 64. */
#define A64_CPUS_MAX 64u

/* Architected timer PPIs (secure phys, non-secure phys, virtual, hypervisor). */
#define A64_PPI_TIMER_SEC  13u
#define A64_PPI_TIMER_PHYS 14u
#define A64_PPI_TIMER_VIRT 11u
#define A64_PPI_TIMER_HYP  10u

/* Boot placement (Linux Documentation/arch/arm64/booting.rst). */
#define A64_KERNEL_ALIGN    0x200000ull /* Image base: 2 MiB aligned */
#define A64_FDT_MAX_SIZE    0x200000ull /* the DTB may not exceed 2 MiB */
#define A64_TEXT_OFFSET_OLD 0x80000ull	/* kernels before 3.17 (image_size 0) */
#define A64_NR_IRQS	    128u	/* SPIs + 32 private interrupts, multiple of 32 */
#define A64_INTID_SPI_BASE  32u
#define A64_INTID_PPI_BASE  16u
#define A64_MPIDR_AFF_MASK  0xff00ffffffull /* Aff3..Aff0 */

#endif /* VMM_ARM64_A64_PLATFORM_H */
