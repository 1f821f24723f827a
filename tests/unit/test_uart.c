// SPDX-License-Identifier: MIT
/* 16550A behaviour the Linux 8250 driver and polled guests rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/uart.h"

struct sink {
	uint8_t out[256];
	unsigned int n;
	int level;
	int edges;
};

static void sink_irq(void *ctx, int level)
{
	struct sink *s = ctx;

	s->level = level;
	s->edges++;
}

static void sink_out(void *ctx, const uint8_t *buf, unsigned int len)
{
	struct sink *s = ctx;

	memcpy(s->out + s->n, buf, len);
	s->n += len;
}

static uint8_t rd(struct uart *u, unsigned int off)
{
	uint8_t v = 0;

	uart_io(u, off, false, &v);
	return v;
}

static void wr(struct uart *u, unsigned int off, uint8_t v)
{
	uart_io(u, off, true, &v);
}

static struct uart *setup(struct sink *s)
{
	struct uart_ops ops = {.set_irq = sink_irq, .output = sink_out, .ctx = s};

	memset(s, 0, sizeof(*s));
	return uart_new(&ops);
}

static void test_polled_output(void **state)
{
	struct sink s;
	struct uart *u = setup(&s);

	(void)state;
	assert_true(rd(u, 5) & 0x20); /* THRE: a polled guest may send */
	wr(u, 0, 'h');
	wr(u, 0, 'i');
	assert_int_equal(s.n, 2);
	assert_memory_equal(s.out, "hi", 2);
	assert_int_equal(s.edges, 0); /* no interrupts enabled, line never moves */
	uart_destroy(u);
}

static void test_divisor_latch_does_not_transmit(void **state)
{
	struct sink s;
	struct uart *u = setup(&s);

	(void)state;
	wr(u, 3, 0x80); /* DLAB */
	wr(u, 0, 0x01);
	wr(u, 1, 0x00);
	assert_int_equal(rd(u, 0), 0x01);
	wr(u, 3, 0x03);
	assert_int_equal(s.n, 0);
	uart_destroy(u);
}

static void test_thre_interrupt(void **state)
{
	struct sink s;
	struct uart *u = setup(&s);

	(void)state;
	wr(u, 1, 0x02); /* ETBEI */
	assert_int_equal(s.level, 1);
	assert_int_equal(rd(u, 2) & 0x0f, 0x02); /* THRI, reading clears it */
	assert_int_equal(s.level, 0);
	assert_int_equal(rd(u, 2) & 0x0f, 0x01);
	wr(u, 0, 'x'); /* sent at once: THRE again */
	assert_int_equal(s.level, 1);
	uart_destroy(u);
}

static void test_receive_interrupt_and_fifo(void **state)
{
	struct sink s;
	struct uart *u = setup(&s);
	uint8_t big[100];

	(void)state;
	wr(u, 2, 0x07);				 /* enable + clear FIFOs */
	assert_int_equal(rd(u, 2) & 0xc0, 0xc0); /* the 8250 driver's 16550A test */
	wr(u, 1, 0x01);
	assert_int_equal(s.level, 0);
	assert_int_equal(uart_receive(u, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(s.level, 1);
	assert_int_equal(rd(u, 2) & 0x0f, 0x04);
	assert_true(rd(u, 5) & 0x01);
	assert_int_equal(rd(u, 0), 'a');
	assert_int_equal(rd(u, 0), 'b');
	assert_false(rd(u, 5) & 0x01);
	assert_int_equal(s.level, 0);
	memset(big, 'z', sizeof(big));
	assert_int_equal(uart_receive(u, big, sizeof(big)), 64); /* FIFO depth */
	uart_destroy(u);
}

static void test_loopback(void **state)
{
	struct sink s;
	struct uart *u = setup(&s);

	(void)state;
	wr(u, 4, 0x10 | 0x0a); /* LOOP | RTS | OUT2, as the 8250 probe writes */
	assert_int_equal(rd(u, 6) & 0xf0, 0x90);
	wr(u, 0, 'q');
	assert_int_equal(s.n, 0); /* looped back, not sent */
	assert_int_equal(rd(u, 0), 'q');
	wr(u, 7, 0x5a);
	assert_int_equal(rd(u, 7), 0x5a); /* scratch register */
	uart_destroy(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_polled_output),
	    cmocka_unit_test(test_divisor_latch_does_not_transmit),
	    cmocka_unit_test(test_thre_interrupt),
	    cmocka_unit_test(test_receive_interrupt_and_fifo),
	    cmocka_unit_test(test_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
