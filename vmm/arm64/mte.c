// SPDX-License-Identifier: MIT
/*
 * Memory Tagging where the host has it: KVM_CAP_ARM_MTE is enabled before any
 * vCPU exists (KVM refuses it later), so the guest sees MTE and its RAM keeps
 * allocation tags. They are read back one byte per 16-byte granule into the
 * sanitizer's host tag map (a64_san_mte_import) for the pages kasan-vmm
 * traps. Those pages are memslot holes, and KVM_ARM_MTE_COPY_TAGS only
 * reaches memory in a memslot (EFAULT for a hole), so when the VMM itself may
 * use MTE (HWCAP2_MTE) guest RAM is mapped PROT_MTE and the tags are read
 * with LDG through that mapping; KVM_ARM_MTE_COPY_TAGS is the fallback.
 * Tag checking stays off for the VMM (no PR_SET_TAGGED_ADDR_CTRL), so its
 * untagged accesses to that mapping never fault.
 */
#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/a64_san.h"
#include "vmm/arm64/vm.h"
#include "vmm/config.h"
#include "vmm/log.h"

#define PAGE	4096ull
#define GRANULE 16ull

int arm64_mte_enable(struct arm64_vm *vm)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_MTE};

	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_MTE) <= 0) {
		if (vm->cli->mode == SAN_TAGS)
			pr_warn("MTE: the host has none; tag mode keeps its tags in software only");
		else
			pr_info("MTE: the host has none");
		return 0;
	}
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		pr_warn("MTE: the host has it, but KVM_ENABLE_CAP failed: %s", strerror(errno));
		return 0;
	}
	vm->mte = true;
	vm->mte_ldg = (getauxval(AT_HWCAP2) & HWCAP2_MTE) != 0;
	pr_info("MTE: the host has it; enabled for the guest, tags read %s",
		vm->mte_ldg ? "with LDG" : "with KVM_ARM_MTE_COPY_TAGS (no HWCAP2_MTE)");
	return 0;
}

int arm64_mte_ram_prot(const struct arm64_vm *vm)
{
	return vm->mte_ldg ? PROT_MTE : 0;
}

/*
 * The allocation tag of the granule at p (a PROT_MTE mapping): LDG puts it in
 * bits 59:56 of its register. Spelled as its encoding (ldg x0, [x0]) so the
 * file builds for plain armv8-a; it only runs where HWCAP2_MTE is set.
 */
static uint8_t ldg(const uint8_t *p)
{
	register uint64_t x0 __asm__("x0") = (uint64_t)(uintptr_t)p;

	__asm__ __volatile__(".inst 0xd9600000" : "+r"(x0) : : "memory");
	return (uint8_t)((x0 >> 56) & 0xf);
}

int arm64_mte_sync_page(struct arm64_vm *vm, uint64_t ipa)
{
	uint8_t tags[PAGE / GRANULE];
	struct kvm_arm_copy_mte_tags copy = {
	    .guest_ipa = ipa & ~(PAGE - 1),
	    .length = PAGE,
	    .addr = tags,
	    .flags = KVM_ARM_TAGS_FROM_GUEST,
	};
	uint64_t off = copy.guest_ipa - A64_RAM_BASE;
	long n;

	if (!vm->mte || !vm->san)
		return -ENOTSUP;
	if (copy.guest_ipa < A64_RAM_BASE || off >= vm->ram_size)
		return -EINVAL;
	if (vm->mte_ldg) {
		for (size_t i = 0; i < sizeof(tags); i++)
			tags[i] = ldg(vm->alias + off + i * GRANULE);
		n = (long)PAGE;
	} else {
		n = ioctl(vm->vm_fd, KVM_ARM_MTE_COPY_TAGS, &copy);
		if (n < 0)
			return -errno;
	}
	/* KVM returns the bytes of guest memory whose tags it copied */
	if (!a64_san_mte_import(vm->san, copy.guest_ipa, tags, (size_t)n / GRANULE))
		return -EINVAL;
	return 0;
}
