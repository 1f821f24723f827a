/* SPDX-License-Identifier: MIT */
/*
 * One stub per vector: push a zero error code where the CPU pushes none,
 * push the vector, save the general registers and call isr_dispatch with a
 * pointer to the resulting struct isr_frame (idt.h).
 */

	/* The stub addresses in vector order; each stub below appends its own. */
	.section .rodata.isr_stubs, "a"
	.balign 8
	.globl isr_stub_table
isr_stub_table:

	.section .text
	.balign 16
	.set vec, 0
	.rept 256
	.balign 16
1:
	/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX push an error code */
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.pushsection .rodata.isr_stubs, "a"
	.quad 1b
	.popsection
	.set vec, vec + 1
	.endr

isr_common:
	cld
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	call isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq
