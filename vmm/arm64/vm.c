// SPDX-License-Identifier: MIT
/*
 * arm64 VM lifecycle: /dev/kvm, the VM with an IPA size that covers RAM,
 * NISV exits to user space, MTE, guest RAM (one anonymous mapping, registered
 * as stage-2 regions so pages can be trapped), the sanitizer, the UART, the
 * vGIC and the vCPUs; then how a run ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/a64_san.h"
#include "vmm/arm64/a64_stage2.h"
#include "vmm/arm64/vm.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/uart.h"

#define TICK_NS	       10000000ull /* 10 ms: async drains */
#define RESERVED_SLOTS 16	   /* memslot ids left unused, as on x86 */

static int kvm_open(struct arm64_vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = errno;

		pr_err("cannot open /dev/kvm: %s", strerror(err));
		return -err;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		pr_err("/dev/kvm: unexpected API version");
		return -EINVAL;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ONE_REG) <= 0) {
		pr_err(
		    "/dev/kvm lacks KVM_CAP_ARM_PSCI_0_2 or KVM_CAP_ONE_REG (not an arm64 KVM?)");
		return -ENOTSUP;
	}
	return 0;
}

/* The smallest IPA size (>= 32 bits) that covers RAM, if KVM lets us choose. */
static int create_vm(struct arm64_vm *vm)
{
	uint64_t top = A64_RAM_BASE + vm->ram_size - 1;
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);
	unsigned int bits = 32;

	while (bits < 64 && top >> bits)
		bits++;
	if (max <= 0) /* no choice: KVM's default is 40 bits */
		max = 40;
	if (bits > (unsigned int)max) {
		pr_err("guest RAM up to IPA 0x%llx needs %u-bit IPAs; KVM offers %d",
		       (unsigned long long)top, bits, max);
		return -ENOTSUP;
	}
	vm->ipa_bits = bits;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM,
			  ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE) > 0
			      ? KVM_VM_TYPE_ARM_IPA_SIZE(bits)
			      : 0);
	if (vm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM (%u-bit IPA): %s", bits, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Accesses to trapped pages without a syndrome come to us instead of killing the guest. */
static void enable_nisv(struct arm64_vm *vm)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_NISV_TO_USER};

	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0 &&
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0)
		vm->nisv_to_user = true;
	else
		pr_warn("KVM_CAP_ARM_NISV_TO_USER unavailable: load/store pairs to trapped pages "
			"will stop the guest");
}

static int set_slot(void *ctx, uint32_t slot, uint64_t ipa, uint64_t size, uint64_t offset)
{
	struct arm64_vm *vm = ctx;
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .guest_phys_addr = ipa,
	    .memory_size = size,
	    .userspace_addr = size ? (uintptr_t)(vm->kvm_map + offset) : 0,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/*
 * Guest RAM is one private anonymous mapping, used by KVM and by the VMM
 * alike: traps are memslot holes, so the VMM's view never loses access and
 * needs no second mapping. Private and anonymous because a KVM with MTE
 * (Linux before 6.2) refuses memslots backed by shared mappings (EINVAL).
 */
static int setup_ram(struct arm64_vm *vm)
{
	int slots = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	struct a64_stage2_config sc = {A64_RAM_BASE, vm->ram_size, 0, 0, set_slot, vm};

	vm->kvm_map = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE | arm64_mte_ram_prot(vm),
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->kvm_map == MAP_FAILED) {
		int err = errno;

		pr_err("guest RAM: mmap of %llu MiB: %s", (unsigned long long)(vm->ram_size >> 20),
		       strerror(err));
		return -err;
	}
	vm->alias = vm->kvm_map;
	/* 4 KiB pages: a hole is one page of a region, never a split huge page */
	madvise(vm->kvm_map, vm->ram_size, MADV_NOHUGEPAGE);
	if (slots <= RESERVED_SLOTS + 2) {
		pr_err("KVM offers %d memslots, too few", slots);
		return -ENOSPC;
	}
	sc.nr_slots = (uint32_t)(slots - RESERVED_SLOTS);
	return a64_stage2_create(&sc, &vm->stage2);
}

/* ---- the gate around KVM_RUN ---- */

bool arm64_vm_enter_run(struct arm64_vcpu *v)
{
	struct arm64_vm *vm = v->vm;
	bool go;

	pthread_mutex_lock(&vm->gate_lock);
	while (vm->gate_closed && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->gate_cond, &vm->gate_lock);
	go = !atomic_load(&vm->stopping);
	if (go) {
		v->in_run = true;
		vm->nr_in_run++;
	}
	pthread_mutex_unlock(&vm->gate_lock);
	return go;
}

void arm64_vm_leave_run(struct arm64_vcpu *v)
{
	struct arm64_vm *vm = v->vm;

	pthread_mutex_lock(&vm->gate_lock);
	v->in_run = false;
	vm->nr_in_run--;
	if (vm->gate_closed)
		pthread_cond_broadcast(&vm->gate_cond);
	pthread_mutex_unlock(&vm->gate_lock);
}

/*
 * Close the gate and wait until no vCPU is inside KVM_RUN. The caller (a
 * vCPU thread between runs, or the main thread) is never counted, and one
 * waiting for another's closed gate is not inside KVM_RUN either, so two
 * callers cannot wait for each other. Holders only change memslots.
 */
static void close_gate(struct arm64_vm *vm)
{
	pthread_mutex_lock(&vm->gate_lock);
	while (vm->gate_closed)
		pthread_cond_wait(&vm->gate_cond, &vm->gate_lock);
	vm->gate_closed = true;
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].in_run)
			arm64_vcpu_kick(&vm->vcpus[i]);
	while (vm->nr_in_run)
		pthread_cond_wait(&vm->gate_cond, &vm->gate_lock);
	pthread_mutex_unlock(&vm->gate_lock);
}

static void open_gate(struct arm64_vm *vm)
{
	pthread_mutex_lock(&vm->gate_lock);
	vm->gate_closed = false;
	pthread_cond_broadcast(&vm->gate_cond);
	pthread_mutex_unlock(&vm->gate_lock);
}

int arm64_vm_set_trap(struct arm64_vm *vm, uint64_t ipa_page, bool armed)
{
	int ret;

	if (!vm->stage2)
		return -EINVAL;
	if (armed == a64_stage2_armed(vm->stage2, ipa_page))
		return 0; /* nothing to change: no need to stop anyone */
	close_gate(vm);
	ret =
	    armed ? a64_stage2_arm(vm->stage2, ipa_page) : a64_stage2_disarm(vm->stage2, ipa_page);
	open_gate(vm);
	return ret;
}

/* ---- sanitizer and UART hooks ---- */

static void san_arm(void *ctx, uint64_t ipa_page, bool poisoned)
{
	struct arm64_vm *vm = ctx;
	int ret = arm64_vm_set_trap(vm, ipa_page, poisoned);

	if (ret && ret != -ENOSPC)
		pr_warn("stage-2: %s page 0x%llx: %s", poisoned ? "arming" : "disarming",
			(unsigned long long)ipa_page, strerror(-ret));
}

static void san_stop(void *ctx, int code, const char *reason)
{
	arm64_vm_stop(ctx, code, "%s", reason);
}

static void uart_set_irq(void *ctx, int level)
{
	arm64_gic_set_spi(ctx, A64_UART_SPI, level);
}

static void write_all(int fd, const uint8_t *buf, unsigned int len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return; /* a closed console must not stop the guest */
		buf += n;
		len -= (unsigned int)n;
	}
}

static void uart_output(void *ctx, const uint8_t *buf, unsigned int len)
{
	struct arm64_vm *vm = ctx;

	write_all(STDOUT_FILENO, buf, len);
	if (vm->console_fd >= 0)
		write_all(vm->console_fd, buf, len);
}

static int setup_devices(struct arm64_vm *vm)
{
	struct uart_ops ops = {.set_irq = uart_set_irq, .output = uart_output, .ctx = vm};
	struct a64_san_config sc = {.cli = vm->cli,
				    .ram = vm->alias,
				    .ram_ipa = A64_RAM_BASE,
				    .ram_size = vm->ram_size,
				    .nr_cpus = vm->nr_vcpus,
				    .arm = san_arm,
				    .stop = san_stop,
				    .ctx = vm};
	int ret;

	if (vm->cli->console) {
		vm->console_fd =
		    open(vm->cli->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (vm->console_fd < 0) {
			int err = errno;

			pr_err("console file %s: %s", vm->cli->console, strerror(err));
			return -err;
		}
	}
	vm->uart = uart_new(&ops);
	if (!vm->uart)
		return -ENOMEM;
	if (vm->cli->mode != SAN_OFF) {
		ret = a64_san_create(&sc, &vm->san);
		if (ret)
			return ret;
	}
	return 0;
}

int arm64_vm_create(struct arm64_vm *vm, const struct a64_cli *cli)
{
	pthread_condattr_t attr;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cli = cli;
	vm->kvm_fd = vm->vm_fd = vm->gic_fd = vm->console_fd = -1;
	vm->ram_size = cli->memory_mib << 20;
	vm->nr_vcpus = cli->cpus;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->open_lock, NULL);
	pthread_mutex_init(&vm->gate_lock, NULL);
	pthread_cond_init(&vm->gate_cond, NULL);
	pthread_cond_init(&vm->stop_cond, &attr);
	pthread_condattr_destroy(&attr);
	ret = kvm_open(vm);
	if (!ret)
		ret = create_vm(vm);
	if (ret)
		return ret;
	enable_nisv(vm);
	ret = arm64_mte_enable(vm); /* before any vCPU: KVM refuses MTE later */
	if (!ret)
		ret = setup_ram(vm);
	if (!ret)
		ret = setup_devices(vm);
	if (!ret)
		ret = arm64_gic_create(vm);
	if (ret)
		return ret;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = arm64_vcpu_create(vm, i);
		if (ret)
			return ret;
	}
	return arm64_gic_finalize(vm);
}

int arm64_vm_load_and_start(struct arm64_vm *vm)
{
	int ret = arm64_boot_load(vm);

	if (!ret)
		ret = uart_start(vm->uart);
	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = arm64_vcpu_start(&vm->vcpus[i]);
	return ret;
}

void arm64_vm_stop(struct arm64_vm *vm, int code, const char *fmt, ...)
{
	bool expected = false;
	va_list ap;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, true))
		return;
	pthread_mutex_lock(&vm->stop_lock);
	vm->exit_code = code;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	pthread_mutex_lock(&vm->gate_lock); /* vCPUs waiting at a closed gate end too */
	pthread_cond_broadcast(&vm->gate_cond);
	pthread_mutex_unlock(&vm->gate_lock);
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		arm64_vcpu_kick(&vm->vcpus[i]);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int arm64_vm_wait(struct arm64_vm *vm)
{
	unsigned int timeout = vm->cli->timeout_s;
	uint64_t deadline = now_ns() + (uint64_t)timeout * 1000000000ull;

	pthread_mutex_lock(&vm->stop_lock);
	while (!atomic_load(&vm->stopping)) {
		uint64_t t = now_ns() + TICK_NS;
		struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
				      .tv_nsec = (long)(t % 1000000000ull)};

		if (pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&vm->stop_lock);
		a64_san_tick(vm->san);
		arm64_trap_tick(vm, now_ns());
		if (timeout && now_ns() >= deadline)
			arm64_vm_stop(vm, VMM_EXIT_TIMEOUT,
				      "timeout: the guest was still running after %u s", timeout);
		pthread_mutex_lock(&vm->stop_lock);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
	uart_stop(vm->uart);
	a64_san_flush(vm->san);
	a64_san_print_stats(vm->san);
	if (vm->stage2)
		fprintf(stderr, "kasan-vmm: stage-2: %llu pages armed at the end, %u memslots\n",
			(unsigned long long)a64_stage2_pages_armed(vm->stage2),
			a64_stage2_slots_in_use(vm->stage2));
	return vm->exit_code;
}

void arm64_vm_destroy(struct arm64_vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		arm64_vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	uart_destroy(vm->uart);
	a64_san_destroy(vm->san);
	a64_stage2_destroy(vm->stage2);
	if (vm->console_fd >= 0)
		close(vm->console_fd);
	if (vm->kvm_map && vm->kvm_map != MAP_FAILED)
		munmap(vm->kvm_map, vm->ram_size);
	if (vm->gic_fd >= 0)
		close(vm->gic_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_mutex_destroy(&vm->open_lock);
	pthread_mutex_destroy(&vm->gate_lock);
	pthread_cond_destroy(&vm->gate_cond);
	pthread_cond_destroy(&vm->stop_cond);
}
