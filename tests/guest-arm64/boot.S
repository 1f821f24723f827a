/* SPDX-License-Identifier: MIT */
/*
 * Entry of the arm64 test guest, as a Linux Image (Documentation/arch/arm64/
 * booting.rst): x0 = device tree, EL1, MMU off, interrupts masked.
 *
 * The MMU is turned on before the first store: with it off, data accesses
 * are Device memory (no exclusives, no unaligned accesses, and what they
 * write could later be hidden by stale cache lines). The page table is a
 * constant in the image, so nothing has to be written to build it.
 */
#define TCR_T0SZ_39	25		/* 39-bit VAs: walks start at level 1 */
#define TCR_IRGN0_WBWA	(1 << 8)
#define TCR_ORGN0_WBWA	(1 << 10)
#define TCR_SH0_INNER	(3 << 12)
#define TCR_EPD1	(1 << 23)	/* no TTBR1 walks */
#define TCR_TG1_4K	(2 << 30)
#define TCR_IPS_SHIFT	32
#define TCR_TBI0_BIT	37		/* tagged pointers: the top byte is ignored */

#define MAIR_VALUE	0xff04		/* attr0 Device-nGnRE, attr1 Normal write-back */
#define SCTLR_MMU_ON	((1 << 0) | (1 << 2) | (1 << 12))	/* M, C, I */
#define SCTLR_CLEAR	((1 << 1) | (1 << 19) | (1 << 24) | (1 << 25))	/* A, WXN, E0E, EE */
#define CPACR_FPEN	(3 << 20)

/* Level-1 block descriptors: 1 GiB each, AF set, EL1 read/write. */
#define BLOCK_DEVICE	0x0060000000000401	/* attr0, PXN, UXN */
#define BLOCK_NORMAL	0x0000000000000705	/* attr1, inner shareable */

	.section .text.boot, "ax"
	.globl _start
_start:
	/* Image header (64 bytes) */
	b	entry				/* code0 */
	.long	0				/* code1 */
	.quad	0x80000				/* text_offset: loaded at RAM base + 512 KiB */
	.quad	__image_size			/* image_size, .bss included */
	.quad	0x2				/* flags: little-endian, 4 KiB pages, base near RAM start */
	.quad	0, 0, 0				/* res2..res4 */
	.ascii	"ARM\x64"			/* magic */
	.long	0				/* res5 */

entry:
	mov	x19, x0				/* the device tree */
	adr	x1, _start
	ldr	x2, =_start
	cmp	x1, x2
	b.ne	wrong_place			/* linked for RAM base + text_offset */
	mrs	x1, CurrentEL
	cmp	x1, #(1 << 2)
	b.ne	wrong_place			/* EL1 only */

	bl	mmu_on

	adrp	x1, __stack_top
	mov	sp, x1
	mov	x29, #0				/* the unwinder stops here */
	mov	x30, #0
	adrp	x1, __bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	mov	x0, x19
	bl	kmain
	b	halt

/*
 * A secondary CPU started by PSCI CPU_ON (smp.c): EL1, MMU off, x0 = the
 * context id, here its stack top. Same MMU set-up, then secondary_main().
 */
	.globl	secondary_entry
secondary_entry:
	mov	x19, x0
	mrs	x1, CurrentEL
	cmp	x1, #(1 << 2)
	b.ne	halt
	bl	mmu_on
	mov	sp, x19
	mov	x29, #0
	mov	x30, #0
	bl	secondary_main
	b	halt

/* MMU (identity map, TBI0), caches, FP/SIMD and the vectors of this CPU. Uses x1-x3. */
mmu_on:
	ldr	x1, =MAIR_VALUE
	msr	mair_el1, x1
	mrs	x2, id_aa64mmfr0_el1
	and	x2, x2, #0xf			/* PARange */
	cmp	x2, #5
	mov	x3, #5
	csel	x2, x2, x3, ls			/* at most 48 bits with 4 KiB pages */
	ldr	x1, =(TCR_T0SZ_39 | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_EPD1 | TCR_TG1_4K)
	orr	x1, x1, x2, lsl #TCR_IPS_SHIFT
	orr	x1, x1, #(1 << TCR_TBI0_BIT)
	msr	tcr_el1, x1
	adrp	x1, idmap_l1
	msr	ttbr0_el1, x1
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	mrs	x1, sctlr_el1
	ldr	x2, =SCTLR_CLEAR
	bic	x1, x1, x2
	ldr	x2, =SCTLR_MMU_ON
	orr	x1, x1, x2
	msr	sctlr_el1, x1
	isb
	ic	iallu
	dsb	nsh
	isb

	mov	x1, #CPACR_FPEN			/* FP/SIMD: the SIMD scenarios use q registers */
	msr	cpacr_el1, x1
	adr	x1, vectors
	msr	vbar_el1, x1
	isb
	ret

/* Not where it was linked for, or not at EL1: nothing can be printed yet. */
wrong_place:
	ldr	x0, =0x84000008			/* PSCI SYSTEM_OFF */
	hvc	#0
halt:
	wfi
	b	halt

/* Exception vectors: every entry reports and stops (DAIF stays masked). */
	.macro	vector idx
	.balign	0x80
	mov	x0, #\idx
	b	vector_common
	.endm

	.balign	0x800
vectors:
	.irp	i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vector	\i
	.endr

vector_common:
	mrs	x1, esr_el1
	mrs	x2, elr_el1
	mrs	x3, far_el1
	mov	x4, sp
	bl	unexpected_exception
	b	halt

	.ltorg

/* Identity map: 0-1 GiB devices (GIC, UART, doorbell), 1-4 GiB RAM. */
	.section .rodata.idmap, "a"
	.balign	4096
idmap_l1:
	.quad	BLOCK_DEVICE
	.quad	0x40000000 | BLOCK_NORMAL
	.quad	0x80000000 | BLOCK_NORMAL
	.quad	0xc0000000 | BLOCK_NORMAL
	.fill	508, 8, 0
