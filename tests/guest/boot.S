/* SPDX-License-Identifier: MIT */
/*
 * PVH entry: the loader enters pvh_start32 in 32-bit protected mode, paging
 * off, EBX = physical address of hvm_start_info. We switch to long mode with
 * static page tables (built by the assembler, so boot costs no loop: guest
 * kernel code is emulated and slow here) and call kmain(start_info).
 *
 * Static tables identity-map the low 4 GiB: the first 2 MiB with 4 KiB pages
 * (so mmu.c can unmap the NULL page), the rest with 2 MiB pages; the LAPIC
 * and IOAPIC 2 MiB pages are uncached. mmu.c adds the direct map at runtime.
 */

#define GDT_CODE64 0x08
#define GDT_DATA   0x10
#define MSR_EFER   0xc0000080
#define BOOT_STACK_SIZE 16384

/* ELF note for PVH: XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen". */
	.section .note.Xen, "a"
	.balign 4
	.long 4
	.long 4
	.long 18
	.asciz "Xen"
	.balign 4
	.long pvh_start32
	.balign 4

	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, pvh_start_info
	xorl %esi, %esi			/* ESI = 0: boot CPU; the AP trampoline sets 1 */

	/* Common 32-bit path (no stack needed): GDT, PAE, CR3, EFER.LME, paging. */
	.globl common32
common32:
	lgdt gdt_desc
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax		/* PG | WP | PE */
	movl %eax, %cr0
	ljmp $GDT_CODE64, $long_entry

	.code64
long_entry:
	movw $GDT_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	testl %esi, %esi
	jnz ap_entry64
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	movl pvh_start_info(%rip), %edi
	call kmain
1:	cli
	hlt
	jmp 1b

	.section .data
	.balign 8
	.globl pvh_start_info
pvh_start_info:
	.long 0
	.long 0

	.balign 16
	.globl gdt
gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00af9a000000ffff	/* 0x08 code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 data, flat */
	.quad 0x00cf9a000000ffff	/* 0x18 code, 32-bit flat (AP trampoline) */
gdt_end:
	/* 2-byte limit + 8-byte base: valid for lgdt in 16/32-bit (low 4 base bytes) and 64-bit */
	.balign 8
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .data.pagetables, "aw"
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad boot_pdpt_low + 0x3
	.fill 511, 8, 0
boot_pdpt_low:
	.quad boot_pd + 0x3
	.quad boot_pd + 0x1003
	.quad boot_pd + 0x2003
	.quad boot_pd + 0x3003
	.fill 508, 8, 0
boot_pd:
	.quad boot_pt0 + 0x3
	.set i, 1
	.rept 2047
	/* 0xfec00000 (IOAPIC) and 0xfee00000 (LAPIC) 2 MiB pages: PCD | PWT */
	.if (i == 0x7f6) || (i == 0x7f7)
	.quad (i << 21) | 0x9b
	.else
	.quad (i << 21) | 0x83
	.endif
	.set i, i + 1
	.endr
	.globl boot_pt0
boot_pt0:
	.set i, 0
	.rept 512
	.quad (i << 12) | 0x3
	.set i, i + 1
	.endr

	.section .bss
	.balign 4096
boot_stack:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:
