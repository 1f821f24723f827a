/* SPDX-License-Identifier: MIT */
/*
 * UART output and printf: %c %s %d %i %u %x %p with - 0 width .precision
 * and .* (strings) and l/ll/z sizes -- what the guest prints, nothing more.
 */
#include "console.h"
#include "string.h"

#define UART_16550_THR	0
#define UART_16550_LSR	5
#define UART_16550_THRE 0x20
#define UART_PL011_DR	0x00
#define UART_PL011_FR	0x18
#define UART_PL011_TXFF 0x20

static enum uart_kind uart_kind;
static u64 uart_base;
static u32 uart_shift;

void console_init(enum uart_kind kind, u64 base, u32 reg_shift)
{
	uart_kind = kind;
	uart_base = base;
	uart_shift = reg_shift < 4 ? reg_shift : 0;
}

static void uart_putc(char c)
{
	u32 spins = 100000; /* a missing or stuck UART must not hang the guest */

	if (uart_kind == UART_16550) {
		while (
		    !(mmio_read8(uart_base + (UART_16550_LSR << uart_shift)) & UART_16550_THRE) &&
		    --spins)
			;
		mmio_write8(uart_base + (UART_16550_THR << uart_shift), (u8)c);
	} else if (uart_kind == UART_PL011) {
		while ((mmio_read32(uart_base + UART_PL011_FR) & UART_PL011_TXFF) && --spins)
			;
		mmio_write32(uart_base + UART_PL011_DR, (u8)c);
	}
}

struct sink {
	char *buf; /* NULL: the console */
	size_t cap, len;
};

static void put(struct sink *s, char c)
{
	if (!s->buf) {
		if (c == '\n')
			uart_putc('\r');
		uart_putc(c);
	} else if (s->len + 1 < s->cap) {
		s->buf[s->len] = c;
	}
	s->len++;
}

static void put_padded(struct sink *s, const char *str, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left && pad == '0' && n && (*str == '-')) { /* sign before zero padding */
		put(s, *str++);
		n--;
	}
	for (; !left && fill; fill--)
		put(s, pad);
	while (n--)
		put(s, *str++);
	for (; left && fill; fill--)
		put(s, ' ');
}

static size_t utoa(char *out, unsigned long long v, unsigned int base)
{
	char tmp[24];
	size_t n = 0, i = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		out[i++] = tmp[--n];
	return i;
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, zero = false;
		int width = 0, prec = -1, lng = 0;
		char num[24], *str = num;
		unsigned long long v;
		size_t n;

		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
			*fmt == '-' ? (left = true) : (zero = true);
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (*fmt == '.' && fmt[1] == '*') {
			prec = va_arg(ap, int);
			fmt += 2;
		} else if (*fmt == '.') {
			for (prec = 0, fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng++;
		switch (*fmt) {
		case 'c':
			num[0] = (char)va_arg(ap, int);
			n = 1;
			break;
		case 's':
			str = va_arg(ap, char *);
			str = str ? str : "(null)";
			n = prec >= 0 ? strnlen(str, (size_t)prec) : strlen(str);
			zero = false;
			break;
		case 'd':
		case 'i': {
			long long sv = lng ? va_arg(ap, long long) : va_arg(ap, int);

			v = sv < 0 ? 0 - (unsigned long long)sv : (unsigned long long)sv;
			num[0] = '-';
			n = utoa(num + (sv < 0), v, 10) + (sv < 0);
			break;
		}
		case 'u':
		case 'x':
		case 'p':
			if (*fmt == 'p') {
				v = (u64)va_arg(ap, void *);
				put(s, '0');
				put(s, 'x');
			} else {
				v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			}
			n = utoa(num, v, *fmt == 'u' ? 10 : 16);
			break;
		case '%':
			num[0] = '%';
			n = 1;
			break;
		default: /* unknown conversion: print it as is */
			put(s, '%');
			if (!*fmt)
				return;
			num[0] = *fmt;
			n = 1;
		}
		put_padded(s, str, n, width, left, zero ? '0' : ' ');
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = {0};
	u64 flags = irq_save();

	format(&s, fmt, ap);
	irq_restore(flags);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	struct sink s = {buf, cap, 0};
	va_list ap;

	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	if (cap)
		buf[s.len < cap ? s.len : cap - 1] = '\0';
	return (int)s.len;
}
