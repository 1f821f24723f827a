/* SPDX-License-Identifier: MIT */
/*
 * Interrupt descriptor table: every vector has a stub (isr.S). CPU
 * exceptions and unexpected vectors print a report (vector, error code, RIP,
 * CR2, registers, frame-pointer backtrace) and power off with EXIT_EXCEPTION;
 * vectors with a registered handler return normally.
 */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#include "kernel.h"

/* Saved by isr.S; field order is the reverse of the pushes. */
struct isr_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

typedef void (*isr_handler_t)(struct isr_frame *f);

/* Fill the IDT (BSP, once) and load it. */
void idt_init(void);
/* Load the IDT on this CPU (APs). */
void idt_load(void);
void idt_set_handler(u8 vector, isr_handler_t h);

/* Print a frame-pointer backtrace starting at frame pointer rbp. */
void dump_backtrace(u64 rbp);

#endif
