// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/uart.h"
#include "vmm/vm.h"

#define FIFO_SIZE 64

/* Register bits used here (names as in the 16550A data sheet). */
#define IER_ERBFI  0x01 /* received data available */
#define IER_ETBEI  0x02 /* transmitter holding register empty */
#define IER_EDSSI  0x08 /* modem status */
#define IIR_NONE   0x01
#define IIR_MSI	   0x00
#define IIR_THRI   0x02
#define IIR_RDI	   0x04
#define IIR_FIFO   0xc0
#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02
#define LCR_DLAB   0x80
#define MCR_DTR	   0x01
#define MCR_RTS	   0x02
#define MCR_OUT1   0x04
#define MCR_OUT2   0x08
#define MCR_LOOP   0x10
#define LSR_DR	   0x01
#define LSR_THRE   0x20
#define LSR_TEMT   0x40

struct uart {
	struct uart_ops ops;
	pthread_mutex_t lock;
	uint8_t rx[FIFO_SIZE];
	unsigned int rx_head, rx_count;
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm, msr_delta;
	bool thr_pending; /* THRE interrupt pending until IIR is read or THR written */
	int irq_level;

	/* stdin reader (only when stdin is a terminal) */
	struct vm *vm;
	pthread_t input_thread;
	bool input_running;
	int stop_pipe[2];
};

static uint8_t uart_msr(const struct uart *u)
{
	uint8_t m;

	if (!(u->mcr & MCR_LOOP))
		return 0xb0 | u->msr_delta; /* DCD, DSR, CTS asserted: a cable is attached */
	/* Loopback: outputs feed the modem inputs (the kernel's 8250 probe checks this). */
	m = 0;
	if (u->mcr & MCR_RTS)
		m |= 0x10;
	if (u->mcr & MCR_DTR)
		m |= 0x20;
	if (u->mcr & MCR_OUT1)
		m |= 0x40;
	if (u->mcr & MCR_OUT2)
		m |= 0x80;
	return m;
}

static uint8_t uart_iir(const struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((u->ier & IER_ERBFI) && u->rx_count)
		return IIR_RDI | fifo;
	if ((u->ier & IER_ETBEI) && u->thr_pending)
		return IIR_THRI | fifo;
	if ((u->ier & IER_EDSSI) && u->msr_delta)
		return IIR_MSI | fifo;
	return IIR_NONE | fifo;
}

/* Called with the lock held: the line only toggles on a change of level. */
static void uart_update_irq(struct uart *u)
{
	int level = !(uart_iir(u) & IIR_NONE);

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->ops.set_irq)
			u->ops.set_irq(u->ops.ctx, level);
	}
}

/* Called with the lock held. */
static unsigned int uart_rx_push(struct uart *u, const uint8_t *buf, unsigned int len)
{
	unsigned int n = 0;

	while (n < len && u->rx_count < FIFO_SIZE) {
		u->rx[(u->rx_head + u->rx_count) % FIFO_SIZE] = buf[n++];
		u->rx_count++;
	}
	return n;
}

static uint8_t uart_read(struct uart *u, unsigned int off)
{
	uint8_t v = 0;

	switch (off) {
	case 0:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
			u->rx_count--;
		}
		return v;
	case 1:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case 2:
		v = uart_iir(u);
		if ((v & 0x0f) == IIR_THRI)
			u->thr_pending = false;
		return v;
	case 3:
		return u->lcr;
	case 4:
		return u->mcr;
	case 5:
		return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
	case 6:
		v = uart_msr(u);
		u->msr_delta = 0;
		return v;
	default:
		return u->scr;
	}
}

static void uart_write(struct uart *u, unsigned int off, uint8_t v)
{
	switch (off) {
	case 0:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			break;
		}
		if (u->mcr & MCR_LOOP)
			uart_rx_push(u, &v, 1);
		else if (u->ops.output)
			u->ops.output(u->ops.ctx, &v, 1);
		u->thr_pending = true; /* sent at once: the holding register is empty again */
		break;
	case 1:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		if ((v & IER_ETBEI) && !(u->ier & IER_ETBEI))
			u->thr_pending = true;
		u->ier = v & 0x0f;
		break;
	case 2:
		u->fcr = v & 0xc9;
		if (v & FCR_CLR_RX)
			u->rx_count = 0;
		break;
	case 3:
		u->lcr = v;
		break;
	case 4:
		u->mcr = v & 0x1f;
		break;
	case 7:
		u->scr = v;
		break;
	default:
		break; /* LSR/MSR writes are ignored, as on hardware */
	}
}

void uart_io(struct uart *u, unsigned int offset, bool is_write, uint8_t *val)
{
	pthread_mutex_lock(&u->lock);
	if (is_write)
		uart_write(u, offset & 7, *val);
	else
		*val = uart_read(u, offset & 7);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

unsigned int uart_receive(struct uart *u, const uint8_t *buf, unsigned int len)
{
	unsigned int n;

	pthread_mutex_lock(&u->lock);
	n = uart_rx_push(u, buf, len);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

struct uart *uart_new(const struct uart_ops *ops)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->ops = *ops;
	u->stop_pipe[0] = u->stop_pipe[1] = -1;
	pthread_mutex_init(&u->lock, NULL);
	return u;
}

static void uart_vm_set_irq(void *ctx, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level irq = {.irq = UART_COM1_IRQ, .level = level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		pr_warn("uart: KVM_IRQ_LINE: %s", strerror(errno));
}

static void write_all(int fd, const uint8_t *buf, unsigned int len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return; /* a closed console must not stop the guest */
		buf += n;
		len -= n;
	}
}

static void uart_vm_output(void *ctx, const uint8_t *buf, unsigned int len)
{
	struct vm *vm = ctx;

	write_all(STDOUT_FILENO, buf, len);
	if (vm->console_fd >= 0)
		write_all(vm->console_fd, buf, len);
}

int uart_create(struct vm *vm, struct uart **out)
{
	struct uart_ops ops = {.set_irq = uart_vm_set_irq, .output = uart_vm_output, .ctx = vm};
	const char *console = vm->cfg->console;

	if (console) {
		/* Append: a new run never truncates an earlier run's console. */
		vm->console_fd = open(console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (vm->console_fd < 0) {
			int err = errno;

			pr_err("console file %s: %s", console, strerror(err));
			return -err;
		}
	}
	*out = uart_new(&ops);
	if (!*out)
		return -ENOMEM;
	(*out)->vm = vm;
	return 0;
}

static void *uart_input_main(void *arg)
{
	struct uart *u = arg;
	struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				{.fd = u->stop_pipe[0], .events = POLLIN}};
	uint8_t buf[FIFO_SIZE];

	for (;;) {
		unsigned int room;
		ssize_t n;

		if (poll(fds, 2, -1) < 0 || fds[1].revents)
			break;
		pthread_mutex_lock(&u->lock);
		room = FIFO_SIZE - u->rx_count;
		pthread_mutex_unlock(&u->lock);
		if (!room) {
			usleep(1000); /* the guest has not drained the FIFO yet */
			continue;
		}
		n = read(STDIN_FILENO, buf, room);
		if (n <= 0)
			break;
		uart_receive(u, buf, n);
	}
	return NULL;
}

int uart_start(struct uart *u)
{
	if (!isatty(STDIN_FILENO))
		return 0;
	if (pipe2(u->stop_pipe, O_CLOEXEC) < 0)
		return -errno;
	if (pthread_create(&u->input_thread, NULL, uart_input_main, u))
		return -EAGAIN;
	u->input_running = true;
	return 0;
}

void uart_stop(struct uart *u)
{
	if (!u || !u->input_running)
		return;
	if (write(u->stop_pipe[1], "x", 1) < 0)
		pr_debug("uart: stop pipe: %s", strerror(errno));
	pthread_join(u->input_thread, NULL);
	u->input_running = false;
}

void uart_destroy(struct uart *u)
{
	if (!u)
		return;
	uart_stop(u);
	if (u->stop_pipe[0] >= 0) {
		close(u->stop_pipe[0]);
		close(u->stop_pipe[1]);
	}
	if (u->vm && u->vm->console_fd >= 0) {
		close(u->vm->console_fd);
		u->vm->console_fd = -1;
	}
	pthread_mutex_destroy(&u->lock);
	free(u);
}
