// SPDX-License-Identifier: MIT
/*
 * Port I/O: COM1, kasan-vmm's own ports (exit, doorbell), and the legacy
 * reset paths guests use (keyboard controller, port 0x92, 0xcf9).
 * Unknown ports read as a floating bus and ignore writes, as on a PC.
 */
#include <string.h>

#include "paravirt/kasan_vmm_abi.h"
#include "vmm/log.h"
#include "vmm/sanitize.h"
#include "vmm/uart.h"
#include "vmm/vm.h"

static uint32_t io_value(const uint8_t *data, uint32_t size)
{
	uint32_t v = 0;

	memcpy(&v, data, size > 4 ? 4 : size);
	return v;
}

static void guest_exit(struct vcpu *vcpu, uint32_t code)
{
	if (code > KV_GUEST_EXIT_MAX) {
		pr_warn("guest exit code %u is above %d (reserved for kasan-vmm); using %d", code,
			KV_GUEST_EXIT_MAX, KV_GUEST_EXIT_MAX);
		code = KV_GUEST_EXIT_MAX;
	}
	vm_stop(vcpu->vm, (int)code, "the guest powered off with exit code %u", code);
}

static bool reset_port(struct vcpu *vcpu, uint16_t port, bool is_write, uint8_t *data)
{
	switch (port) {
	case 0x64: /* i8042: status reads "input buffer empty"; 0xfe pulses reset */
		if (!is_write)
			*data = 0;
		else if (*data == 0xfe)
			vm_stop(vcpu->vm, VMM_EXIT_REBOOT,
				"the guest rebooted (keyboard controller)");
		return true;
	case 0x92: /* fast A20 / reset */
		if (!is_write)
			*data = 0x02;
		else if (*data & 1)
			vm_stop(vcpu->vm, VMM_EXIT_REBOOT, "the guest rebooted (port 0x92)");
		return true;
	case 0xcf9: /* reset control register */
		if (!is_write)
			*data = 0;
		else if (*data & 0x04)
			vm_stop(vcpu->vm, VMM_EXIT_REBOOT, "the guest rebooted (port 0xcf9)");
		return true;
	default:
		return false;
	}
}

bool ioport_handle(struct vcpu *vcpu, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
	struct vm *vm = vcpu->vm;

	if (port >= UART_COM1_BASE && port < UART_COM1_BASE + 8) {
		uart_io(vm->uart, port - UART_COM1_BASE, is_write, data);
		return true;
	}
	if (port == KV_PORT_EXIT) {
		if (is_write)
			guest_exit(vcpu, io_value(data, size));
		else
			memset(data, 0, size);
		return true;
	}
	if (port == KV_PORT_DOORBELL && vm->san) {
		if (is_write && size == 4)
			san_doorbell(vcpu, io_value(data, size));
		else if (!is_write)
			memset(data, 0, size);
		return true;
	}
	if (size == 1 && reset_port(vcpu, port, is_write, data))
		return true;
	if (port == 0x80 || port == 0xed)
		return true; /* POST codes and I/O delays */
	pr_debug("vCPU %d: unhandled port %s 0x%x size %u", vcpu->index, is_write ? "out" : "in",
		 port, size);
	return false;
}
