// SPDX-License-Identifier: MIT
/*
 * The in-kernel vGIC v3: created with KVM_CREATE_DEVICE and placed before the
 * vCPUs exist; the number of interrupts and CTRL_INIT once all vCPUs are
 * created. The UART's SPI is driven with KVM_IRQ_LINE.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/vm.h"
#include "vmm/log.h"

static int gic_attr(struct arm64_vm *vm, uint32_t group, uint64_t attr, void *val, const char *what)
{
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uintptr_t)val};

	if (ioctl(vm->gic_fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		int err = errno;

		pr_err("vGIC v3: %s: %s", what, strerror(err));
		return -err;
	}
	return 0;
}

int arm64_gic_create(struct arm64_vm *vm)
{
	struct kvm_create_device dev = {.type = KVM_DEV_TYPE_ARM_VGIC_V3};
	uint64_t dist = A64_GIC_DIST_BASE, redist = A64_GIC_REDIST_BASE;
	int ret;

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &dev) < 0) {
		int err = errno;

		pr_err("vGIC v3: KVM_CREATE_DEVICE: %s (the host needs a GICv3)", strerror(err));
		return -err;
	}
	vm->gic_fd = (int)dev.fd;
	ret = gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist,
		       "distributor address");
	if (!ret)
		ret = gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
			       "redistributor address");
	return ret;
}

int arm64_gic_finalize(struct arm64_vm *vm)
{
	uint32_t nr_irqs = A64_NR_IRQS;
	int ret = gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs, "number of IRQs");

	if (!ret)
		ret = gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
			       "CTRL_INIT");
	return ret;
}

void arm64_gic_set_spi(struct arm64_vm *vm, unsigned int spi, int level)
{
	struct kvm_irq_level irq = {
	    .irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (A64_INTID_SPI_BASE + spi),
	    .level = (uint32_t)level,
	};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		pr_warn("vGIC v3: KVM_IRQ_LINE SPI %u: %s", spi, strerror(errno));
}
