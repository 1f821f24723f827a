/* SPDX-License-Identifier: MIT */
/*
 * AP start-up. smp.c copies ap_trampoline_start..ap_trampoline_end to
 * AP_TRAMPOLINE_PA (a page below 1 MiB) and sends INIT-SIPI-SIPI with that
 * page as the vector. The AP starts in real mode at CS = 0x0800, IP = 0, so
 * the copied code addresses its own data through DS = CS, and far jumps use
 * AP_TRAMPOLINE_PA + offset. In 32-bit mode it joins boot.S's common32
 * (ESI = 1), which enables long mode and comes back to ap_entry64.
 */

#include "smp_defs.h"

	.section .text
	.code16
	.globl ap_trampoline_start
ap_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl tramp_gdt_desc - ap_trampoline_start
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x18, $(AP_TRAMPOLINE_PA + tramp32 - ap_trampoline_start)

	.code32
tramp32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $1, %esi
	movl $common32, %eax
	jmp *%eax			/* absolute: this copy does not run where it was linked */

	.balign 8
tramp_gdt_desc:
	.word 4 * 8 - 1			/* boot.S gdt: null, code64, data, code32 */
	.long gdt
	.globl ap_trampoline_end
ap_trampoline_end:

	/* Long mode, no stack yet: take a ticket, use stack slot `ticket`. */
	.code64
	.globl ap_entry64
ap_entry64:
	movl $1, %eax
	lock xaddl %eax, ap_ticket(%rip)
	cmpl $(MAX_CPUS - 1), %eax
	jae 2f
	movl %eax, %edi
	leal 1(%rax), %ecx
	shlq $AP_STACK_SHIFT, %rcx
	leaq ap_stacks(%rip), %rsp
	addq %rcx, %rsp
	xorl %ebp, %ebp
	call ap_main
2:	cli
	hlt
	jmp 2b

	.section .data
	.balign 4
ap_ticket:
	.long 0

	.section .bss
	.balign 4096
	.globl ap_stacks
ap_stacks:
	.skip (MAX_CPUS - 1) << AP_STACK_SHIFT
