// SPDX-License-Identifier: MIT
/*
 * Sanitizer wiring. Ownership of the work: paravirt/ validates and orders
 * guest events, shadow/ judges them and accesses, this file only connects
 * them to the VM (guest memory, vCPU state, symbols, the report log) and
 * decides what a report does to the run (fault=report|panic|panic_on_write).
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "paravirt/consumer.h"
#include "shadow/report.h"
#include "shadow/sanitizer.h"
#include "vmm/config.h"
#include "vmm/cpuid.h"
#include "vmm/exempt.h"
#include "vmm/guest_mmu.h"
#include "vmm/hostlog.h"
#include "vmm/log.h"
#include "vmm/sanitize.h"
#include "vmm/sanitize_internal.h"
#include "vmm/symbols.h"
#include "vmm/unwind.h"
#include "vmm/vm.h"

static void *san_mem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct san *san = ctx;

	return guest_ram_ptr(&san->vm->ram, gpa, len);
}

/* Runs under the consumer's lock; a failed write ends the recording, not the run. */
static void san_record(void *ctx, const uint8_t *rec, uint32_t len)
{
	struct san *san = ctx;

	if (san->record && fwrite(rec, 1, len, san->record) != len) {
		pr_warn("sanitizer: KASAN_VMM_RECORD_EVENTS: write failed, recording stopped");
		fclose(san->record);
		san->record = NULL;
	}
}

/* KASAN_VMM_RECORD_EVENTS=FILE: keep the records the consumer accepts (bench replays). */
static int san_open_recording(struct san *san, struct kv_consumer_config *cc)
{
	const char *path = getenv("KASAN_VMM_RECORD_EVENTS");

	if (!path || !*path)
		return 0;
	san->record = fopen(path, "wb");
	if (!san->record) {
		int err = errno;

		pr_err("sanitizer: KASAN_VMM_RECORD_EVENTS %s: %s", path, strerror(err));
		return -err;
	}
	cc->record = san_record;
	cc->record_ctx = san;
	return 0;
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

/* Shadow says a page became poisoned or clean: ept decides whether it traps. */
static void san_notify(void *ctx, uint64_t gpa_page, bool poisoned, uint8_t val)
{
	struct san *san = ctx;
	struct ept *ept = san->vm->ept;

	if (!ept)
		return;
	if (poisoned)
		ept_page_poisoned(ept, gpa_page,
				  shadow_val_freed(val) ? EPT_POISON_FREED : EPT_POISON_REDZONE);
	else
		ept_page_clean(ept, gpa_page);
}

/* A slab free on a page its red zones poisoned before: the freed policy arms it now. */
static void san_page_freed(void *ctx, uint64_t gpa_page, uint8_t val)
{
	struct san *san = ctx;

	(void)val;
	if (san->vm->ept)
		ept_page_poisoned(san->vm->ept, gpa_page, EPT_POISON_FREED);
}

/*
 * page_alloc_sample=N: like KASAN's kasan.page_alloc.sample, only some page
 * allocations are tracked. The choice hashes the pfn so that a page's free
 * is treated like its allocation was.
 */
static bool san_page_sampled(const struct san *san, const struct shadow_event *ev)
{
	unsigned int n = san->vm->cfg->page_alloc_sample;
	uint64_t h = ev->pfn * 0x9e3779b97f4a7c15ull;

	if (n <= 1 || (ev->kind != SHADOW_EV_PAGE_ALLOC && ev->kind != SHADOW_EV_PAGE_FREE))
		return true;
	return (h >> 32) % n == 0;
}

static void san_apply(void *ctx, const struct shadow_event *ev)
{
	struct san *san = ctx;

	if (!san_page_sampled(san, ev))
		return;
	if (!san->vm->cfg->stacktrace && ev->nr_frames) {
		/* stacktrace=off: KASAN keeps no alloc/free stacks; neither do we */
		struct shadow_event copy = *ev;

		copy.nr_frames = 0;
		sanitizer_apply_event(san->shadow, &copy);
		return;
	}
	sanitizer_apply_event(san->shadow, ev);
}

/*
 * The consumer's batches: applied together, so the sanitizer fetches what
 * the next events touch while it applies the current one. Page sampling and
 * stacktrace=off change events on the way: those go one at a time.
 */
static void san_apply_batch(void *ctx, const struct shadow_event *evs, uint32_t n)
{
	struct san *san = ctx;

	if (san->vm->cfg->page_alloc_sample > 1 || !san->vm->cfg->stacktrace) {
		for (uint32_t i = 0; i < n; i++)
			san_apply(san, &evs[i]);
		return;
	}
	sanitizer_apply_events(san->shadow, evs, n);
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
	    .tag_fault = (enum sanitizer_tag_fault)cfg->tag_fault,
	    .untagged_pointers = true, /* x86: no TBI/LAM in use, pointers carry no tag */
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
	    .notify = san_notify,
	    .page_freed = san_page_freed,
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
	if (!ret) {
		hostlog_set_rate(san->log, cfg->report_rate);
		ret = san_load_symbols(san);
	}
	if (!ret)
		ret = san_create_shadow(san);
	if (ret) {
		pr_err("sanitizer: set-up failed: %s", strerror(-ret));
		san_destroy(san);
		return ret;
	}
	cc.mem = (struct kv_guest_mem){.ptr = san_mem_ptr, .ctx = san, .ram_size = vm->ram.size};
	cc.apply_batch = san_apply_batch;
	cc.apply_ctx = san;
	cc.log = san_log_line;
	cc.mode = modes[cfg->events];
	cc.max_cpus = cfg->cpus;
	cc.features =
	    KV_FEAT_EVENTS | KV_FEAT_STACKS | (cfg->san_mode == SAN_TAGS ? KV_FEAT_TAGS : 0);
	ret = san_open_recording(san, &cc);
	if (ret) {
		san_destroy(san);
		return ret;
	}
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
	if (san->record)
		fclose(san->record);
	sanitizer_destroy(san->shadow);
	exempt_free(san->exempt);
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

/* configs/exempt/<kind>.txt next to the binary's tree, unless --exempt names a file. */
static void san_load_exempt(struct san *san)
{
	const char *kind = san->layout.guest_kind == KV_GUEST_LINUX ? "linux" : "testguest";
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;

	if (san->vm->cfg->exempt) {
		snprintf(path, sizeof(path), "%s", san->vm->cfg->exempt);
	} else {
		/* the source tree's configs/, up from build/ or build/san/ */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return;
		exe[n] = '\0';
		if (strrchr(exe, '/'))
			*strrchr(exe, '/') = '\0';
		for (int up = 1; up <= 3; up++) {
			size_t len = strlen(exe);

			snprintf(exe + len, sizeof(exe) - len, "/..");
			snprintf(path, sizeof(path), "%s/configs/exempt/%s.txt", exe, kind);
			if (access(path, R_OK) == 0)
				break;
		}
	}
	if (exempt_load(&san->exempt, path, san->syms) == 0)
		pr_info("allocator exemption: %u function ranges from %s",
			exempt_count(san->exempt), path);
}

/*
 * Tag mode async/asymm drain point: faults recorded since the last one are
 * reported now, with the stack of what the vCPU runs at this point (the
 * faulting access is gone, as with HW_TAGS's TFSR). vcpu NULL: the timer
 * tick or the end of the run, which have no guest context.
 */
static void san_tag_drain(struct san *san, struct vcpu *vcpu)
{
	uint64_t frames[UNWIND_MAX_FRAMES];
	struct sanitizer_access sa = {0};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct mmu_state st;

	if (san->vm->cfg->san_mode != SAN_TAGS || san->vm->cfg->tag_fault == SAN_TAG_FAULT_SYNC ||
	    !sanitizer_tag_pending(san->shadow))
		return;
	snprintf(sa.comm, sizeof(sa.comm), "kasan-vmm");
	if (vcpu && ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0 &&
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) == 0) {
		san_mmu_from_sregs(&sregs, &st);
		sa.cpu = (uint32_t)vcpu->index;
		sa.ip = regs.rip;
		sa.frames = frames;
		sa.nr_frames = unwind_frame_pointers(&san->vm->ram, &st, regs.rip, regs.rbp, frames,
						     UNWIND_MAX_FRAMES);
		san_current_task(san, sa.cpu, &st, &sa);
	}
	sanitizer_tag_drain(san->shadow, &sa);
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
		san_load_exempt(san);
		kv_layout_to_sanitizer(&san->layout, san->shadow);
	}
}

void san_on_exit(struct vcpu *vcpu)
{
	struct san *san = vcpu->vm->san;

	if (san && san->async)
		kv_consumer_drain(san->consumer);
	if (san) /* the doorbell is an I/O exit: it drains here too */
		san_tag_drain(san, vcpu);
}

void san_finish(struct san *san)
{
	if (san) {
		kv_consumer_flush(san->consumer);
		san_tag_drain(san, NULL);
		if (san->record) /* complete on disk even if the exit path ends abruptly */
			fflush(san->record);
	}
}

void san_tick(struct san *san)
{
	if (san && san->async)
		kv_consumer_drain(san->consumer);
	if (san)
		san_tag_drain(san, NULL);
}

void san_print_stats(struct san *san)
{
	if (!san)
		return;
	kv_consumer_print_stats(san->consumer, stderr);
	sanitizer_print_stats(san->shadow, stderr);
	if (hostlog_dropped(san->log))
		fprintf(stderr, "kasan-vmm: report log: %llu report(s) over the rate cap of %u/s\n",
			(unsigned long long)hostlog_dropped(san->log), san->vm->cfg->report_rate);
}
