// SPDX-License-Identifier: MIT
/*
 * arm64 vCPU registers through KVM_GET/SET_ONE_REG, and the vCPU side of
 * NISV emulation (struct a64_nisv_ops): X/SP/PC/V registers, the stage-1
 * system registers, and guest memory through the always-RW alias.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/a64_san.h"
#include "vmm/arm64/a64_trap.h"
#include "vmm/arm64/vm.h"

#define CORE64(field)                                                                              \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(field))
#define PSTATE_MODE_MASK 0xfull
#define PSTATE_EL1H	 0x5ull

uint64_t arm64_reg_x(unsigned int n)
{
	return CORE64(regs.regs[0]) + 2 * n; /* ids count 32-bit words */
}

uint64_t arm64_reg_pc(void)
{
	return CORE64(regs.pc);
}

uint64_t arm64_reg_pstate(void)
{
	return CORE64(regs.pstate);
}

uint64_t arm64_reg_sp_el0(void)
{
	return CORE64(regs.sp);
}

uint64_t arm64_reg_sp_el1(void)
{
	return CORE64(sp_el1);
}

uint64_t arm64_reg_mpidr(void)
{
	return ARM64_SYS_REG(3, 0, 0, 0, 5);
}

int arm64_reg_get(int vcpu_fd, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)val};

	return ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

int arm64_reg_set(int vcpu_fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)&val};

	return ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

/* SP as the running code sees it: SP_EL1 in EL1h, else SP_EL0. */
static uint64_t current_sp_id(int fd)
{
	uint64_t pstate = 0;

	arm64_reg_get(fd, arm64_reg_pstate(), &pstate);
	return (pstate & PSTATE_MODE_MASK) == PSTATE_EL1H ? arm64_reg_sp_el1() : arm64_reg_sp_el0();
}

static uint64_t gpr_id(int fd, unsigned int n)
{
	return n == A64_REG_PC	 ? arm64_reg_pc()
	       : n == A64_REG_SP ? current_sp_id(fd)
				 : arm64_reg_x(n);
}

static int nisv_read_gpr(void *ctx, unsigned int n, uint64_t *val)
{
	struct arm64_vcpu *v = ctx;

	return n > A64_REG_PC ? -EINVAL : arm64_reg_get(v->fd, gpr_id(v->fd, n), val);
}

static int nisv_write_gpr(void *ctx, unsigned int n, uint64_t val)
{
	struct arm64_vcpu *v = ctx;

	return n > A64_REG_PC ? -EINVAL : arm64_reg_set(v->fd, gpr_id(v->fd, n), val);
}

static uint64_t vreg_id(unsigned int n)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U128 | KVM_REG_ARM_CORE |
	       (KVM_REG_ARM_CORE_REG(fp_regs.vregs[0]) + 4 * n);
}

static int nisv_read_vreg(void *ctx, unsigned int n, uint8_t val[16])
{
	struct arm64_vcpu *v = ctx;
	struct kvm_one_reg r = {.id = vreg_id(n), .addr = (uintptr_t)val};

	return n > 31 ? -EINVAL : ioctl(v->fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int nisv_write_vreg(void *ctx, unsigned int n, const uint8_t val[16])
{
	struct arm64_vcpu *v = ctx;
	struct kvm_one_reg r = {.id = vreg_id(n), .addr = (uintptr_t)val};

	return n > 31 ? -EINVAL : ioctl(v->fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int mmu_regs(void *ctx, struct a64_mmu_regs *m)
{
	struct arm64_vcpu *v = ctx;
	int err = arm64_reg_get(v->fd, ARM64_SYS_REG(3, 0, 1, 0, 0), &m->sctlr);

	if (!err)
		err = arm64_reg_get(v->fd, ARM64_SYS_REG(3, 0, 2, 0, 0), &m->ttbr0);
	if (!err)
		err = arm64_reg_get(v->fd, ARM64_SYS_REG(3, 0, 2, 0, 1), &m->ttbr1);
	if (!err)
		err = arm64_reg_get(v->fd, ARM64_SYS_REG(3, 0, 2, 0, 2), &m->tcr);
	return err;
}

static int read_ram(void *ctx, uint64_t ipa, void *buf, unsigned int len)
{
	struct arm64_vcpu *v = ctx;
	uint64_t off;

	if (a64_dev_at(ipa, len, v->vm->ram_size, &off) != A64_DEV_RAM)
		return -EFAULT;
	memcpy(buf, v->vm->alias + off, len);
	return 0;
}

const struct a64_nisv_ops arm64_nisv_ops = {
    .read_gpr = nisv_read_gpr,
    .write_gpr = nisv_write_gpr,
    .read_vreg = nisv_read_vreg,
    .write_vreg = nisv_write_vreg,
    .mmu_regs = mmu_regs,
    .read_ram = read_ram,
    .access = arm64_trap_access,
};

int arm64_san_cpu(struct arm64_vcpu *vcpu, struct a64_san_cpu *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->cpu = vcpu->index;
	err = arm64_reg_get(vcpu->fd, arm64_reg_pc(), &out->pc);
	if (!err)
		err = arm64_reg_get(vcpu->fd, arm64_reg_x(29), &out->fp);
	if (!err)
		err = arm64_reg_get(vcpu->fd, arm64_reg_x(30), &out->lr);
	if (!err)
		err = mmu_regs(vcpu, &out->mmu);
	return err;
}
