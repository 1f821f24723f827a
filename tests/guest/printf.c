/* SPDX-License-Identifier: MIT */
#include "printf.h"
#include "serial.h"
#include "string.h"

/* Where formatted characters go: the console, or a bounded buffer. */
struct sink {
	char *buf;
	size_t cap;
	size_t len; /* characters produced, even past cap (snprintf semantics) */
};

struct spec {
	bool left;
	bool zero;
	int width;
	int prec; /* -1: none; for %s, the most characters printed */
	int lng;  /* 0 int, 1 long, 2 long long */
};

static void put(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->cap)
		s->buf[s->len] = c;
	s->len++;
}

static void pad(struct sink *s, int n, char c)
{
	while (n-- > 0)
		put(s, c);
}

static void put_str(struct sink *s, const char *str, const struct spec *sp)
{
	int n;

	if (!str)
		str = "(null)";
	n = (int)strnlen(str, sp->prec < 0 ? ~(size_t)0 >> 1 : (size_t)sp->prec);
	if (!sp->left)
		pad(s, sp->width - n, ' ');
	for (int i = 0; i < n; i++)
		put(s, str[i]);
	if (sp->left)
		pad(s, sp->width - n, ' ');
}

static void put_num(struct sink *s, u64 v, bool neg, unsigned base, bool upper,
		    const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, w;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	w = n + (neg ? 1 : 0);
	if (!sp->left && !sp->zero)
		pad(s, sp->width - w, ' ');
	if (neg)
		put(s, '-');
	if (!sp->left && sp->zero)
		pad(s, sp->width - w, '0');
	while (n)
		put(s, tmp[--n]);
	if (sp->left)
		pad(s, sp->width - w, ' ');
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	memset(sp, 0, sizeof(*sp));
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	sp->prec = -1;
	if (*f == '.') {
		sp->prec = 0;
		if (*++f == '*') {
			sp->prec = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
	}
	for (; *f == 'l' || *f == 'z' || *f == 'h'; f++) {
		if (*f != 'h')
			sp->lng++;
	}
	return f;
}

static u64 arg_unsigned(const struct spec *sp, va_list *ap)
{
	return sp->lng ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

static void format_one(struct sink *s, char conv, struct spec *sp, va_list *ap)
{
	char ch[2] = {0, 0};
	s64 sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = sp->lng ? va_arg(*ap, long) : va_arg(*ap, int);
		put_num(s, sv < 0 ? -(u64)sv : (u64)sv, sv < 0, 10, false, sp);
		break;
	case 'u':
		put_num(s, arg_unsigned(sp, ap), false, 10, false, sp);
		break;
	case 'x':
	case 'X':
		put_num(s, arg_unsigned(sp, ap), false, 16, conv == 'X', sp);
		break;
	case 'p':
		put(s, '0');
		put(s, 'x');
		put_num(s, (u64)va_arg(*ap, void *), false, 16, false, sp);
		break;
	case 's':
		put_str(s, va_arg(*ap, const char *), sp);
		break;
	case 'c':
		ch[0] = (char)va_arg(*ap, int);
		put_str(s, ch, sp); /* a NUL char prints nothing */
		break;
	default: /* '%' and unknown conversions print themselves */
		put(s, conv);
		break;
	}
}

static void format(struct sink *s, const char *f, va_list ap)
{
	struct spec sp;
	va_list aq;

	va_copy(aq, ap);
	while (*f) {
		if (*f != '%') {
			put(s, *f++);
			continue;
		}
		f = parse_spec(f + 1, &sp, &aq);
		if (!*f)
			break;
		format_one(s, *f++, &sp, &aq);
	}
	va_end(aq);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	static char dummy;
	struct sink s = {.buf = size ? buf : &dummy, .cap = size, .len = 0};

	format(&s, fmt, ap);
	if (size)
		buf[MIN(s.len, size - 1)] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = {.buf = NULL, .cap = 0, .len = 0};

	console_lock();
	format(&s, fmt, ap);
	console_unlock();
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
