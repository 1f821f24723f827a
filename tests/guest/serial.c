/* SPDX-License-Identifier: MIT */
/* 16550 UART on COM1, polled output only. */
#include "serial.h"
#include "smp.h"

#define COM1	 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20

/* Bounded so that a machine without a UART still runs (silently). */
#define THRE_SPINS 100000

static volatile u32 console_owner = ~0u;
static u32 console_depth;

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80); /* DLAB: divisor 1 = 115200 baud */
	outb(COM1 + UART_THR, 0x01);
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x03); /* 8N1 */
	outb(COM1 + UART_FCR, 0x07); /* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x03); /* DTR | RTS */
}

void serial_putc(char c)
{
	for (int i = 0; i < THRE_SPINS && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + UART_THR, (u8)c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
}

void console_lock(void)
{
	u32 me = smp_processor_id();
	u32 expected;

	if (console_owner == me) {
		console_depth++;
		return;
	}
	for (;;) {
		expected = ~0u;
		if (__atomic_compare_exchange_n(&console_owner, &expected, me, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		cpu_relax();
	}
	console_depth = 1;
}

void console_unlock(void)
{
	if (--console_depth == 0)
		__atomic_store_n(&console_owner, ~0u, __ATOMIC_RELEASE);
}
