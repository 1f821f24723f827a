/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART on COM1 (ports 0x3f8-0x3ff, IRQ 4) with 64-byte FIFOs and
 * interrupts. Output goes to stdout and the console file; input comes from
 * stdin when it is a terminal.
 */
#ifndef VMM_UART_H
#define VMM_UART_H

#include <stdbool.h>
#include <stdint.h>

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ  4

struct vm;
struct uart;

/* Hooks so the UART is testable without KVM: raise/lower the IRQ line, emit bytes. */
struct uart_ops {
	void (*set_irq)(void *ctx, int level);
	void (*output)(void *ctx, const uint8_t *buf, unsigned int len);
	void *ctx;
};

int uart_create(struct vm *vm, struct uart **out);
struct uart *uart_new(const struct uart_ops *ops);
int uart_start(struct uart *u);
void uart_stop(struct uart *u);
void uart_destroy(struct uart *u);

/* Register access at offset 0..7 from the base port. */
void uart_io(struct uart *u, unsigned int offset, bool is_write, uint8_t *val);

/* Queue received bytes (from stdin or a test); returns how many fitted in the FIFO. */
unsigned int uart_receive(struct uart *u, const uint8_t *buf, unsigned int len);

#endif /* VMM_UART_H */
