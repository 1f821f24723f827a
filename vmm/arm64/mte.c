// SPDX-License-Identifier: MIT
/*
 * Memory Tagging where the host has it: KVM_CAP_ARM_MTE is enabled before any
 * vCPU exists (KVM refuses it later), so the guest sees MTE and its RAM keeps
 * allocation tags; KVM_ARM_MTE_COPY_TAGS reads them back, one byte per
 * 16-byte granule, into the sanitizer's host tag map (a64_san_mte_import).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

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
	pr_info("MTE: the host has it; enabled for the guest");
	return 0;
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
	long n;

	if (!vm->mte || !vm->san)
		return -ENOTSUP;
	n = ioctl(vm->vm_fd, KVM_ARM_MTE_COPY_TAGS, &copy);
	if (n < 0)
		return -errno;
	/* KVM returns the bytes of guest memory whose tags it copied */
	if (!a64_san_mte_import(vm->san, copy.guest_ipa, tags, (size_t)n / GRANULE))
		return -EINVAL;
	return 0;
}
