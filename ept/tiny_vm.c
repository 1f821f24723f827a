// SPDX-License-Identifier: MIT
/* A tiny long-mode VM for ept's probe, tests and benchmark (see tiny_vm.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ept/tiny_vm.h"

#define PDPT	 0x2000
#define PD	 0x3000
#define MAX_SIZE (1ull << 30)
#define KICK_SIG SIGUSR2 /* not the VMM's kick signal: the VMM runs the probe's tiny VM */

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

/*
 * Only with several vCPUs (tests, bench). KVM_RUN returns -EINTR on a signal
 * even with SA_RESTART; other calls are restarted.
 */
static void install_kick_handler(void)
{
	struct sigaction sa = {.sa_handler = kick_handler, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIG, &sa, NULL);
}

static void kick_vcpu(void *ctx, unsigned int vcpu)
{
	struct tiny_vm *t = ctx;

	if (vcpu >= t->nr_vcpus)
		return;
	t->run[vcpu]->immediate_exit = 1;
	if (atomic_load(&t->has_thread[vcpu]))
		pthread_kill(t->thread[vcpu], KICK_SIG);
}

static void write_page_tables(struct tiny_vm *t)
{
	uint64_t *pml4 = (uint64_t *)(t->alias + TINY_VM_PML4);
	uint64_t *pdpt = (uint64_t *)(t->alias + PDPT);
	uint64_t *pd = (uint64_t *)(t->alias + PD);

	pml4[0] = PDPT | 3;
	pdpt[0] = PD | 3;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
}

static int map_ram(struct tiny_vm *t)
{
	t->mem_fd = memfd_create("tiny-vm-ram", MFD_CLOEXEC);
	if (t->mem_fd < 0 || ftruncate(t->mem_fd, (off_t)t->size) < 0)
		return -errno;
	t->kvm_map = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, t->mem_fd, 0);
	if (t->kvm_map == MAP_FAILED) {
		t->kvm_map = NULL;
		return -errno;
	}
	t->alias = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, t->mem_fd, 0);
	if (t->alias == MAP_FAILED) {
		t->alias = NULL;
		return -errno;
	}
	madvise(t->kvm_map, t->size, MADV_NOHUGEPAGE);
	return 0;
}

static int create_vcpu(struct tiny_vm *t, unsigned int i)
{
	t->vcpu_fd[i] = ioctl(t->vm_fd, KVM_CREATE_VCPU, i);
	if (t->vcpu_fd[i] < 0)
		return -errno;
	t->run[i] = mmap(NULL, t->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, t->vcpu_fd[i], 0);
	if (t->run[i] == MAP_FAILED) {
		t->run[i] = NULL;
		return -errno;
	}
	/* Long mode needs CPUID.LM in the guest's CPUID. */
	if (ioctl(t->vcpu_fd[i], KVM_SET_CPUID2, t->cpuid) < 0)
		return -errno;
	return 0;
}

static int get_cpuid(struct tiny_vm *t)
{
	int n = 256;

	t->cpuid = calloc(1, sizeof(*t->cpuid) + n * sizeof(struct kvm_cpuid_entry2));
	if (!t->cpuid)
		return -ENOMEM;
	t->cpuid->nent = n;
	if (ioctl(t->kvm_fd, KVM_GET_SUPPORTED_CPUID, t->cpuid) < 0)
		return -errno;
	return 0;
}

int tiny_vm_create(struct tiny_vm *t, int kvm_fd, uint64_t size, unsigned int nr_vcpus)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->kvm_fd = kvm_fd;
	t->vm_fd = t->mem_fd = -1;
	for (unsigned int i = 0; i < TINY_VM_MAX_VCPUS; i++)
		t->vcpu_fd[i] = -1;
	if (!size || size > MAX_SIZE || size % (2u << 20) || !nr_vcpus ||
	    nr_vcpus > TINY_VM_MAX_VCPUS)
		return -EINVAL;
	t->size = size;
	t->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (t->vm_fd < 0)
		return -errno;
	ioctl(t->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	ept_exit_on_emulation_failure(kvm_fd, t->vm_fd); /* user-mode AVX tests need the exit */
	t->run_size = (size_t)ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ret = map_ram(t);
	if (!ret)
		ret = get_cpuid(t);
	for (unsigned int i = 0; !ret && i < nr_vcpus; i++, t->nr_vcpus++)
		ret = create_vcpu(t, i);
	if (ret) {
		tiny_vm_destroy(t);
		return ret;
	}
	write_page_tables(t);
	if (nr_vcpus > 1)
		install_kick_handler();
	return 0;
}

void tiny_vm_destroy(struct tiny_vm *t)
{
	for (unsigned int i = 0; i < TINY_VM_MAX_VCPUS; i++) {
		if (t->run[i])
			munmap(t->run[i], t->run_size);
		if (t->vcpu_fd[i] >= 0)
			close(t->vcpu_fd[i]);
		t->run[i] = NULL;
		t->vcpu_fd[i] = -1;
	}
	if (t->vm_fd >= 0)
		close(t->vm_fd);
	if (t->kvm_map)
		munmap(t->kvm_map, t->size);
	if (t->alias)
		munmap(t->alias, t->size);
	if (t->mem_fd >= 0)
		close(t->mem_fd);
	free(t->cpuid);
	t->vm_fd = t->mem_fd = -1;
	t->kvm_map = t->alias = NULL;
	t->cpuid = NULL;
}

int tiny_vm_register_plain(struct tiny_vm *t)
{
	struct kvm_userspace_memory_region r = {
	    .slot = 0, .memory_size = t->size, .userspace_addr = (uintptr_t)t->kvm_map};

	return ioctl(t->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

void tiny_vm_ept_config(struct tiny_vm *t, struct ept_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kvm_fd = t->kvm_fd;
	cfg->vm_fd = t->vm_fd;
	cfg->kvm_map = t->kvm_map;
	cfg->alias = t->alias;
	cfg->ranges[0] = (struct ept_ram_range){.gpa = 0, .size = t->size, .offset = 0};
	cfg->nr_ranges = 1;
	cfg->nr_vcpus = t->nr_vcpus;
	cfg->kick_vcpu = kick_vcpu;
	cfg->kick_ctx = t;
}

void tiny_vm_put(struct tiny_vm *t, uint64_t gpa, const void *bytes, size_t len)
{
	if (gpa < t->size && len <= t->size - gpa)
		memcpy(t->alias + gpa, bytes, len);
}

int tiny_vm_set_regs(struct tiny_vm *t, unsigned int vcpu, const struct kvm_regs *regs)
{
	struct kvm_segment code = {
	    .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1};
	struct kvm_segment data = code;
	struct kvm_regs r = *regs;
	struct kvm_sregs s;
	int fd = t->vcpu_fd[vcpu];

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	data.selector = 16;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr3 = TINY_VM_PML4;
	s.cr4 = 0x20 | 0x200 | 0x400; /* PAE OSFXSR OSXMMEXCPT */
	s.cr0 = 0x80050033;	      /* PG WP NE ET MP PE */
	s.efer = 0xd00;		      /* NXE LMA LME */
	if (!r.rflags)
		r.rflags = 2;
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0 || ioctl(fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

int tiny_vm_run(struct tiny_vm *t, unsigned int vcpu, struct ept *ept)
{
	struct ept_exit x = {.vcpu = vcpu, .vcpu_fd = t->vcpu_fd[vcpu], .run = t->run[vcpu]};

	int ret;

	if (ept)
		ept_vcpu_init(ept, vcpu, x.run);
	t->thread[vcpu] = pthread_self();
	atomic_store(&t->has_thread[vcpu], true);
	for (;;) {
		if (ept)
			ept_vcpu_enter(ept, vcpu);
		ret = ioctl(x.vcpu_fd, KVM_RUN, 0) < 0 ? -errno : 0;
		if (ept)
			ept_vcpu_leave(ept, vcpu);
		if (ret == -EINTR) {
			x.run->immediate_exit = 0;
			continue;
		}
		if (ret < 0)
			break;
		if (!ept || !ept_handle_exit(ept, &x)) {
			ret = (int)x.run->exit_reason;
			break;
		}
	}
	atomic_store(&t->has_thread[vcpu], false);
	return ret;
}
