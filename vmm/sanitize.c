// SPDX-License-Identifier: MIT
/*
 * Sanitizer wiring. Ownership of the work: paravirt/ validates and orders
 * guest events, shadow/ judges them and accesses, this file only connects
 * them to the VM (guest memory, vCPU state, symbols, the report log) and
 * decides what a report does to the run (fault=report|panic|panic_on_write).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "paravirt/consumer.h"
#include "shadow/report.h"
#include "shadow/sanitizer.h"
#include "vmm/config.h"
#include "vmm/cpuid.h"
#include "vmm/guest_mmu.h"
#include "vmm/hostlog.h"
#include "vmm/log.h"
#include "vmm/sanitize.h"
#include "vmm/symbols.h"
#include "vmm/unwind.h"
#include "vmm/vm.h"

#define REPORT_BUF (64 * 1024)
#define JSON_BUF   (32 * 1024)

struct san {
	struct vm *vm;
	struct sanitizer *shadow;
	struct kv_consumer *consumer;
	struct symbols *syms;
	struct hostlog *log;
	bool async;
	/* guest layout from REGISTER, cached outside the consumer's lock */
	bool have_layout;
	struct kv_guest_layout layout;
	/* last known paging state, captured on the vCPU thread at doorbells and traps */
	struct mmu_state mmu;
	/* report buffers: the sink runs under the sanitizer's lock, one report at a time */
	char text[REPORT_BUF];
	char json[JSON_BUF];
	char title[256];
};

static void *san_mem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct san *san = ctx;

	return guest_ram_ptr(&san->vm->ram, gpa, len);
}

static bool san_virt_to_phys(void *ctx, uint64_t gva, uint64_t *gpa)
{
	struct san *san = ctx;
	uint64_t base = san->layout.direct_map_base;

	/* The direct map is arithmetic; anything else (vmalloc) walks the page tables. */
	if (san->have_layout && base && gva >= base && gva - base < (1ull << 46)) {
		*gpa = gva - base;
		return guest_ram_ptr(&san->vm->ram, *gpa, 1) != NULL;
	}
	return mmu_translate(&san->vm->ram, &san->mmu, gva, gpa) == 0;
}

static bool san_read_phys(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct san *san = ctx;
	void *p = guest_ram_ptr(&san->vm->ram, gpa, len);

	if (p)
		memcpy(buf, p, len);
	return p != NULL;
}

static bool san_write_phys(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct san *san = ctx;
	void *p = guest_ram_ptr(&san->vm->ram, gpa, len);

	if (p)
		memcpy(p, buf, len);
	return p != NULL;
}

static bool san_symbolize(void *ctx, uint64_t addr, char *buf, size_t len)
{
	struct san *san = ctx;

	return symbols_lookup(san->syms, addr, buf, len);
}

/* The report sink: text + title + JSON, durable before the guest runs on. */
static void san_report(void *ctx, const struct report_info *r)
{
	struct san *san = ctx;
	const struct vm_config *cfg = san->vm->cfg;

	if (report_format(r, san_symbolize, san, san->text, sizeof(san->text)) < 0)
		return;
	if (report_title(san->text, san->title, sizeof(san->title)) < 0)
		snprintf(san->title, sizeof(san->title), "KASAN: unknown");
	if (report_json(r, san->title, san_symbolize, san, san->json, sizeof(san->json)) < 0)
		san->json[0] = '\0';
	hostlog_write_report(san->log, san->text, san->json[0] ? san->json : NULL);
	if (cfg->fault == SAN_FAULT_PANIC ||
	    (cfg->fault == SAN_FAULT_PANIC_ON_WRITE && r->kind == REPORT_ACCESS && r->is_write))
		vm_stop(san->vm, VMM_EXIT_KASAN_PANIC,
			"kasan: fault=%s stopped the guest after: %s",
			cfg->fault == SAN_FAULT_PANIC ? "panic" : "panic_on_write", san->title);
}

static void san_apply(void *ctx, const struct shadow_event *ev)
{
	struct san *san = ctx;

	sanitizer_apply_event(san->shadow, ev);
}

static void san_log_line(void *ctx, const char *line)
{
	(void)ctx;
	pr_warn("%s", line);
}

static int san_load_symbols(struct san *san)
{
	const struct vm_config *cfg = san->vm->cfg;
	int ret;

	if (cfg->system_map)
		ret = symbols_load_system_map(&san->syms, cfg->system_map);
	else
		ret = symbols_load_elf(&san->syms, cfg->kernel);
	if (ret)
		pr_warn("no guest symbols (%s): reports will show raw addresses", strerror(-ret));
	return 0;
}

static int san_create_shadow(struct san *san)
{
	const struct vm_config *cfg = san->vm->cfg;
	struct guest_ram *ram = &san->vm->ram;
	struct shadow_ram_range ranges[2] = {{0, guest_ram_low_size(ram)}};
	struct sanitizer_config sc = {
	    .ram = ranges,
	    .nr_ram = 1,
	    .mode = cfg->san_mode == SAN_TAGS ? SANITIZER_TAGS : SANITIZER_GENERIC,
	    .quarantine_bytes = cfg->quarantine_mib << 20,
	    .stack_ring_size = cfg->stack_ring_size,
	    .multi_shot = cfg->multi_shot,
	    .write_patterns = !san->async, /* only safe when events apply at the doorbell */
	    .kernel_release = NULL,
	    .hardware_name = "kasan-vmm",
	};
	struct sanitizer_ops ops = {
	    .ctx = san,
	    .virt_to_phys = san_virt_to_phys,
	    .read_phys = san_read_phys,
	    .write_phys = san_write_phys,
	    .report = san_report,
	};

	if (ram->size > guest_ram_low_size(ram)) {
		ranges[1].gpa = GUEST_RAM_HIGH_GPA;
		ranges[1].size = ram->size - guest_ram_low_size(ram);
		sc.nr_ram = 2;
	}
	return sanitizer_create(&san->shadow, &sc, &ops);
}

int san_create(struct vm *vm, struct san **out)
{
	const struct vm_config *cfg = vm->cfg;
	static const uint32_t modes[] = {KV_MODE_SYNC, KV_MODE_ASYNC, KV_MODE_ASYMM};
	struct san *san = calloc(1, sizeof(*san));
	struct kv_consumer_config cc = {0};
	int ret;

	if (!san)
		return -ENOMEM;
	san->vm = vm;
	san->async = cfg->events != SAN_EVENTS_SYNC;
	ret = hostlog_open(&san->log, cfg->log);
	if (!ret)
		ret = san_load_symbols(san);
	if (!ret)
		ret = san_create_shadow(san);
	if (ret) {
		pr_err("sanitizer: set-up failed: %s", strerror(-ret));
		san_destroy(san);
		return ret;
	}
	cc.mem = (struct kv_guest_mem){.ptr = san_mem_ptr, .ctx = san, .ram_size = vm->ram.size};
	cc.apply = san_apply;
	cc.apply_ctx = san;
	cc.log = san_log_line;
	cc.mode = modes[cfg->events];
	cc.max_cpus = cfg->cpus;
	san->consumer = kv_consumer_new(&cc);
	if (!san->consumer) {
		pr_err("sanitizer: event consumer set-up failed");
		san_destroy(san);
		return -ENOMEM;
	}
	*out = san;
	return 0;
}

void san_destroy(struct san *san)
{
	if (!san)
		return;
	kv_consumer_free(san->consumer);
	sanitizer_destroy(san->shadow);
	symbols_free(san->syms);
	hostlog_close(san->log);
	free(san);
}

int san_add_cpuid(struct san *san, struct kvm_cpuid2 *cpuid, uint32_t capacity)
{
	static const uint32_t leaves[] = {KV_CPUID_LEAF, KV_CPUID_LEAF_CONFIG};

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		struct kvm_cpuid_entry2 e = {.function = leaves[i]};
		uint32_t r[4];
		int ret;

		if (!kv_consumer_cpuid(san->consumer, leaves[i], r))
			return -EINVAL;
		e.eax = r[0];
		e.ebx = r[1];
		e.ecx = r[2];
		e.edx = r[3];
		ret = cpuid_set(cpuid, capacity, &e);
		if (ret)
			return ret;
	}
	return 0;
}

/* Paging state of this vCPU, for translating vmalloc addresses and unwinding. */
static void san_capture_mmu(struct vcpu *vcpu, struct mmu_state *st)
{
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return;
	st->cr0 = s.cr0;
	st->cr3 = s.cr3;
	st->cr4 = s.cr4;
	st->efer = s.efer;
}

void san_doorbell(struct vcpu *vcpu, uint32_t value)
{
	struct san *san = vcpu->vm->san;

	san_capture_mmu(vcpu, &san->mmu);
	if (!san->have_layout && kv_consumer_layout(san->consumer, &san->layout))
		san->have_layout = true;
	kv_consumer_doorbell(san->consumer, vcpu->index, value);
	if (!san->have_layout && kv_consumer_layout(san->consumer, &san->layout)) {
		san->have_layout = true;
		if (san->syms && san->layout.kaslr_offset)
			symbols_set_offset(san->syms, san->layout.kaslr_offset);
		sanitizer_set_layout(san->shadow, san->layout.vmemmap_base,
				     san->layout.vmalloc_start, san->layout.vmalloc_end,
				     san->layout.release[0] ? san->layout.release : NULL);
	}
}

void san_on_exit(struct vcpu *vcpu)
{
	struct san *san = vcpu->vm->san;

	if (san && san->async)
		kv_consumer_drain(san->consumer);
}

void san_finish(struct san *san)
{
	if (san)
		kv_consumer_flush(san->consumer);
}

bool san_check_access(struct vcpu *vcpu, uint64_t gpa, uint32_t len, bool is_write)
{
	struct san *san = vcpu->vm->san;
	uint64_t frames[UNWIND_MAX_FRAMES], gva;
	struct sanitizer_access a = {.cpu = (uint32_t)vcpu->index};
	struct mmu_state st = {0};
	struct kvm_regs regs;

	/* Drain before judging: the shadow must include every event the guest made. */
	kv_consumer_flush(san->consumer);
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	san_capture_mmu(vcpu, &st);
	a.ip = regs.rip;
	a.frames = frames;
	a.nr_frames = unwind_frame_pointers(&vcpu->vm->ram, &st, regs.rip, regs.rbp, frames,
					    UNWIND_MAX_FRAMES);
	snprintf(a.comm, sizeof(a.comm), "vcpu%d", vcpu->index);
	/* Report the access by its kernel address: the direct map when the guest has one. */
	gva = san->have_layout && san->layout.direct_map_base ? san->layout.direct_map_base + gpa
							      : gpa;
	return sanitizer_check_access(san->shadow, gpa, gva, len, is_write, &a);
}

void san_print_stats(struct san *san)
{
	struct sanitizer_stats s;

	if (!san)
		return;
	sanitizer_get_stats(san->shadow, &s);
	kv_consumer_print_stats(san->consumer, stderr);
	fprintf(stderr,
		"kasan-vmm: sanitizer: %llu events, %llu reports (%llu suppressed), %llu objects "
		"tracked\n",
		(unsigned long long)s.events, (unsigned long long)s.reports,
		(unsigned long long)s.reports_suppressed, (unsigned long long)s.objects);
}
