// SPDX-License-Identifier: MIT
/*
 * VM lifecycle: /dev/kvm, the VM, guest RAM, irqchip/PIT, vCPUs, and how a
 * run ends.
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

#include "ept/ept.h"
#include "vmm/boot.h"
#include "vmm/cpl0.h"
#include "vmm/cpuid.h"
#include "vmm/kvm_compat.h"
#include "vmm/lockdown.h"
#include "vmm/log.h"
#include "vmm/sanitize.h"
#include "vmm/uart.h"
#include "vmm/vm.h"

#define CPUID_CAPACITY 256
#define TSS_GPA	       0xfffbd000ul
#define IDENTITY_GPA   0xfffbc000ul

static int kvm_open_checked(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int version;

	if (fd < 0) {
		int err = errno;

		pr_err("cannot open /dev/kvm: %s", strerror(err));
		return -err;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("/dev/kvm: API version %d, expected %d", version, KVM_API_VERSION);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int vm_check_caps(struct vm *vm)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
	    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
	    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
	    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
	    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
	};

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			pr_err("/dev/kvm lacks %s", needed[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static void ept_log_line(void *ctx, int level, const char *msg)
{
	(void)ctx;
	log_msg((enum log_level)level, "%s", msg);
}

static enum ept_mechanism ept_mechanism_of(unsigned int cfg_mech)
{
	switch (cfg_mech) {
	case SAN_EPT_MPROTECT:
		return EPT_MECH_MPROTECT;
	case SAN_EPT_HOLE:
		return EPT_MECH_HOLE;
	default:
		return EPT_MECH_AUTO;
	}
}

/* ept pauses the other vCPUs while it replaces memslots: this pulls one out of KVM_RUN. */
static void ept_kick_vcpu(void *ctx, unsigned int index)
{
	struct vm *vm = ctx;

	if (vm->vcpus && index < vm->nr_vcpus)
		vcpu_kick(&vm->vcpus[index]);
}

/* ept registers guest RAM with KVM (fixed-size memslots) and owns page arming. */
static int vm_setup_ept(struct vm *vm, uint64_t low)
{
	struct ept_config ec = {
	    .kvm_fd = vm->kvm_fd,
	    .vm_fd = vm->vm_fd,
	    .kvm_map = vm->kvm_map,
	    .alias = vm->ram.alias,
	    .ranges = {{.gpa = 0, .size = low, .offset = 0}},
	    .nr_ranges = 1,
	    .nr_vcpus = vm->cfg->cpus,
	    .nr_memslots = vm->probe.nr_memslots,
	    .log = ept_log_line,
	    .kick_vcpu = ept_kick_vcpu,
	    .kick_ctx = vm,
	    .policy = (enum ept_policy)vm->cfg->arm,
	    .mechanism = ept_mechanism_of(vm->cfg->ept_mechanism),
	    .probe_forced = true,
	    .judge = vm->cfg->san_mode == SAN_OFF ? NULL : san_judge,
	    .judge_ctx = vm,
	};

	if (vm->ram.size > low) {
		ec.ranges[1] = (struct ept_ram_range){GUEST_RAM_HIGH_GPA, vm->ram.size - low, low};
		ec.nr_ranges = 2;
	}
	return ept_create(&ec, &vm->ept);
}

/* Guest RAM: one memfd, mapped once for KVM and once as the VMM's read-write alias. */
static int vm_setup_ram(struct vm *vm)
{
	uint64_t size = vm->cfg->memory_mib << 20;
	uint64_t low = size < GUEST_RAM_LOW_MAX ? size : GUEST_RAM_LOW_MAX;

	vm->mem_fd = memfd_create("kasan-vmm-ram", MFD_CLOEXEC);
	if (vm->mem_fd < 0 || ftruncate(vm->mem_fd, size) < 0) {
		pr_err("guest RAM: memfd of %llu MiB: %s", (unsigned long long)vm->cfg->memory_mib,
		       strerror(errno));
		return -errno;
	}
	vm->kvm_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->mem_fd, 0);
	vm->ram.alias = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->mem_fd, 0);
	if (vm->kvm_map == MAP_FAILED || vm->ram.alias == MAP_FAILED) {
		pr_err("guest RAM: mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	vm->ram.size = size;
	/* 4 KiB pages only: per-page protection splits huge pages or fails on hugetlbfs. */
	madvise(vm->kvm_map, size, MADV_NOHUGEPAGE);
	madvise(vm->ram.alias, size, MADV_NOHUGEPAGE);

	return vm_setup_ept(vm, low);
}

/*
 * GSI routing: ISA IRQs reach both PICs and the IOAPIC; the PIT's IRQ0 is
 * IOAPIC pin 2, matching the MP table's interrupt-source override.
 */
static int vm_setup_irq_routing(struct vm *vm)
{
	struct kvm_irq_routing *r;
	unsigned int n = 0;
	int ret = 0;

	r = calloc(1, sizeof(*r) + 48 * sizeof(struct kvm_irq_routing_entry));
	if (!r)
		return -ENOMEM;
	for (unsigned int gsi = 0; gsi < 24; gsi++) {
		if (gsi < 16 && gsi != 2) {
			r->entries[n].gsi = gsi;
			r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			r->entries[n].u.irqchip.irqchip =
			    gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			r->entries[n].u.irqchip.pin = gsi % 8;
			n++;
		}
		if (gsi == 2)
			continue;
		r->entries[n].gsi = gsi;
		r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->entries[n].u.irqchip.pin = gsi == 0 ? 2 : gsi;
		n++;
	}
	r->nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0) {
		ret = -errno;
		pr_err("KVM_SET_GSI_ROUTING: %s", strerror(errno));
	}
	free(r);
	return ret;
}

static int vm_setup_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = {.flags = 0};

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_GPA) < 0) {
		pr_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){IDENTITY_GPA}) < 0)
		pr_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return vm_setup_irq_routing(vm);
}

static int vm_setup_cpuid(struct vm *vm)
{
	char words[256];
	int cleared;

	vm->cpuid =
	    calloc(1, sizeof(*vm->cpuid) + CPUID_CAPACITY * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid)
		return -ENOMEM;
	vm->cpuid->nent = CPUID_CAPACITY;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -errno;
	}
	cleared = cpuid_filter(vm->cpuid, vm->probe.cannot_run);
	cpuid_finish(vm->cpuid);
	if (vm->probe.cpl0_emulated && cpuid_hide_pv_hypercalls(vm->cpuid))
		pr_info("cpuid: guest CPL0 is emulated: KVM PV IPI and PV sched yield hidden");
	if (vm->san) {
		int ret = san_add_cpuid(vm->san, vm->cpuid, CPUID_CAPACITY);

		if (ret) {
			pr_err("cpuid: adding the kasan-vmm leaves: %s", strerror(-ret));
			return ret;
		}
	}
	pr_info("cpuid: %d feature bits hidden from the guest", cleared);
	cpuid_describe(vm->cpuid, words, sizeof(words));
	pr_debug("cpuid: the guest is given %s", words);
	return 0;
}

static void vm_log_probe(const struct vm *vm)
{
	char list[512] = "";
	size_t off = 0;

	for (int i = 0; i < PROBE_NR; i++) {
		if (vm->probe.cannot_run & (1ull << i))
			off += snprintf(list + off, sizeof(list) - off, " %s", probe_insn_name(i));
		if (off >= sizeof(list))
			break;
	}
	pr_info("host: %s, guest CPL0 %s, %d memslots; cannot run at CPL0:%s", vm->probe.kind,
		vm->probe.cpl0_emulated ? "emulated" : "native", vm->probe.nr_memslots,
		list[0] ? list : " (nothing)");
}

/*
 * Memslot holes delete and re-create memslots; with this quirk (the default
 * since 6.12) each deletion zaps every shadow page table entry of the VM,
 * not just the slot's, on hardware-virtualization hosts.
 */
static void vm_disable_slot_zap_all(struct vm *vm)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_DISABLE_QUIRKS2,
				     .args = {KVM_X86_QUIRK_SLOT_ZAP_ALL}};
	int quirks = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2);

	if (quirks <= 0 || !(quirks & KVM_X86_QUIRK_SLOT_ZAP_ALL)) {
		pr_debug("KVM_X86_QUIRK_SLOT_ZAP_ALL: not offered by this host");
		return;
	}
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		pr_warn("disabling KVM_X86_QUIRK_SLOT_ZAP_ALL: %s (memslot holes cost more)",
			strerror(errno));
	else
		pr_info("KVM_X86_QUIRK_SLOT_ZAP_ALL disabled: deleting a memslot zaps only its "
			"own entries");
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	pthread_condattr_t attr;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->mem_fd = vm->vm_fd = vm->console_fd = -1;
	pthread_condattr_init(&attr);
	/* The timeout must not follow wall-clock jumps. */
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, &attr);
	pthread_condattr_destroy(&attr);
	vm->kvm_fd = kvm_open_checked();
	if (vm->kvm_fd < 0)
		return vm->kvm_fd;
	ret = vm_check_caps(vm);
	if (ret)
		return ret;
	ret = host_probe_run(vm->kvm_fd, &vm->probe);
	if (ret)
		return ret;
	vm_log_probe(vm);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	vm->probe.insn_bytes_on_emulation_failure =
	    ept_exit_on_emulation_failure(vm->kvm_fd, vm->vm_fd);
	vm_disable_slot_zap_all(vm);
	ret = vm_setup_irqchip(vm);
	if (!ret)
		ret = vm_setup_ram(vm);
	if (!ret && cfg->san_mode != SAN_OFF)
		ret = san_create(vm, &vm->san);
	if (!ret)
		ret = vm_setup_cpuid(vm);
	if (ret)
		return ret;
	ret = uart_create(vm, &vm->uart);
	if (ret)
		return ret;
	vm->nr_vcpus = cfg->cpus;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(vm, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* Flat 32-bit code (0x10) and data (0x18) descriptors, as the boot protocols expect. */
static void vm_write_gdt(struct vm *vm)
{
	uint64_t *gdt = guest_ram_ptr(&vm->ram, BOOT_GDT_GPA, 4 * sizeof(uint64_t));

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00cf9b000000ffffull;
	gdt[3] = 0x00cf93000000ffffull;
}

int vm_load_and_start(struct vm *vm)
{
	struct boot_entry entry;
	char *cmdline;
	int ret;

	cmdline = cpl0_guest_cmdline(&vm->probe, vm->cfg->kernel, vm->cfg->append);
	if (!cmdline)
		return -ENOMEM;
	ret = boot_load(&vm->ram, vm->cfg->kernel, vm->cfg->initrd, cmdline, &entry);
	free(cmdline);
	if (ret)
		return ret;
	ret = mptable_write(&vm->ram, vm->nr_vcpus);
	if (ret)
		return ret;
	vm_write_gdt(vm);
	ret = vcpu_setup_boot(&vm->vcpus[0], entry.rip, entry.rsi, entry.rbx);
	if (ret)
		return ret;
	ret = uart_start(vm->uart);
	if (ret)
		return ret;
	/* Everything is open and loaded: drop root and lock the syscalls down before the guest
	 * runs. */
	ret = lockdown_apply(vm->cfg);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_start(&vm->vcpus[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void vm_stop(struct vm *vm, int code, const char *fmt, ...)
{
	va_list ap;
	bool expected = false;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, true))
		return;
	pthread_mutex_lock(&vm->stop_lock);
	vm->exit_code = code;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Periodic work while the guest runs: async event drains, adaptive re-arming. */
static void vm_housekeeping(struct vm *vm)
{
	san_tick(vm->san);
	if (vm->ept)
		ept_tick(vm->ept, now_ns());
}

#define VM_TICK_NS 10000000ull /* 10 ms */

int vm_wait(struct vm *vm)
{
	unsigned int timeout = vm->cfg->timeout_s;
	uint64_t deadline = now_ns() + (uint64_t)timeout * 1000000000ull;

	pthread_mutex_lock(&vm->stop_lock);
	while (!atomic_load(&vm->stopping)) {
		uint64_t t = now_ns() + VM_TICK_NS;
		struct timespec ts = {.tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull};

		if (pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&vm->stop_lock);
		vm_housekeeping(vm);
		if (timeout && now_ns() >= deadline)
			vm_stop(vm, VMM_EXIT_TIMEOUT,
				"timeout: the guest was still running after %u s", timeout);
		pthread_mutex_lock(&vm->stop_lock);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
		if (vm->exit_code == VMM_EXIT_TIMEOUT)
			vcpu_log_where(&vm->vcpus[i]);
	}
	uart_stop(vm->uart);
	if (vm->san) {
		san_finish(vm->san);
		san_print_stats(vm->san);
	}
	if (vm->ept && vm->san)
		ept_print_coverage(vm->ept, stderr);
	return vm->exit_code;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	uart_destroy(vm->uart);
	san_destroy(vm->san);
	free(vm->cpuid);
	ept_destroy(vm->ept);
	if (vm->ram.alias && vm->ram.alias != MAP_FAILED)
		munmap(vm->ram.alias, vm->ram.size);
	if (vm->kvm_map && vm->kvm_map != MAP_FAILED)
		munmap(vm->kvm_map, vm->ram.size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
}
