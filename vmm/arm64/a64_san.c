// SPDX-License-Identifier: MIT
/*
 * arm64 sanitizer wiring. As on x86 (vmm/sanitize.c) paravirt/ validates and
 * orders events, shadow/ judges them and accesses; this file connects them to
 * the arm64 guest: RAM at an IPA base, stage-1 walks with a64_mmu, frame
 * records for stacks, and the run's fault= policy.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paravirt/consumer.h"
#include "shadow/report.h"
#include "shadow/sanitizer.h"
#include "shadow/tags.h"
#include "vmm/arm64/a64_insn.h"
#include "vmm/arm64/a64_san.h"
#include "vmm/config.h"
#include "vmm/exempt.h"
#include "vmm/hostlog.h"
#include "vmm/log.h"
#include "vmm/symbols.h"

#define REPORT_BUF     (64 * 1024)
#define JSON_BUF       (32 * 1024)
#define MAX_FRAMES     64
#define REPORT_RATE    1000		     /* reports per second, as x86's default */
#define KERNEL_VA_MASK 0xffff000000000000ull /* 48-bit VAs: bits a PAC may occupy */

struct a64_san {
	struct a64_san_config cfg;
	struct sanitizer *shadow;
	struct kv_consumer *consumer;
	struct symbols *syms;
	struct exempt *exempt;
	struct hostlog *log;
	bool async;
	pthread_mutex_t lock; /* layout and mmu, written at doorbells */
	bool have_layout;
	struct kv_guest_layout layout;
	struct a64_mmu_regs mmu; /* last known stage-1 state, for event addresses */
	pthread_mutex_t mte_lock;
	struct tag_map mte; /* the guest's own MTE tags, when imported */
	bool mte_ready;
	char text[REPORT_BUF], json[JSON_BUF], title[256];
};

/* ---- guest memory ---- */

static void *ram_ptr(struct a64_san *s, uint64_t ipa, uint64_t len)
{
	if (ipa < s->cfg.ram_ipa || ipa - s->cfg.ram_ipa > s->cfg.ram_size ||
	    len > s->cfg.ram_size - (ipa - s->cfg.ram_ipa))
		return NULL;
	return s->cfg.ram + (ipa - s->cfg.ram_ipa);
}

static int read_phys8(void *ctx, uint64_t ipa, uint64_t *val)
{
	void *p = ram_ptr(ctx, ipa, 8);

	if (!p)
		return -EFAULT;
	memcpy(val, p, 8);
	return 0;
}

static bool translate(struct a64_san *s, const struct a64_mmu_regs *mmu, uint64_t va, uint64_t *ipa)
{
	return a64_mmu_translate(mmu, va, read_phys8, s, ipa) == 0;
}

/* Guest memory by VA, page by page through the guest's stage-1 tables. */
static bool read_va(struct a64_san *s, const struct a64_mmu_regs *mmu, uint64_t va, void *buf,
		    size_t len)
{
	uint8_t *out = buf;

	while (len) {
		size_t part = 4096 - (va & 4095);
		uint64_t ipa;
		void *p;

		part = part < len ? part : len;
		if (!translate(s, mmu, va, &ipa) || !(p = ram_ptr(s, ipa, part)))
			return false;
		memcpy(out, p, part);
		va += part;
		out += part;
		len -= part;
	}
	return true;
}

/* Return addresses may carry a pointer-authentication code in their top bits. */
static uint64_t strip_pac(uint64_t lr)
{
	return (lr >> 55) & 1 ? lr | KERNEL_VA_MASK : lr & ~KERNEL_VA_MASK;
}

/* AAPCS64 frame records: [x29] = caller's x29, [x29 + 8] = return address. */
static uint32_t unwind(struct a64_san *s, const struct a64_san_cpu *c, uint64_t *frames)
{
	uint64_t fp = c->fp;
	uint32_t n = 0;

	frames[n++] = c->pc;
	while (n < MAX_FRAMES && fp) {
		uint64_t next, ret;

		if (!read_va(s, &c->mmu, fp, &next, 8) || !read_va(s, &c->mmu, fp + 8, &ret, 8) ||
		    !ret)
			break;
		frames[n++] = strip_pac(ret);
		if (next <= fp)
			break; /* stacks grow down: a caller's record is above */
		fp = next;
	}
	return n;
}

/* ---- shadow/ callbacks ---- */

static bool san_virt_to_phys(void *ctx, uint64_t gva, uint64_t *gpa)
{
	struct a64_san *s = ctx;
	uint64_t base = s->layout.direct_map_base, va = a64_untag(gva);

	if (s->have_layout && base && va >= base && va - base < (1ull << 46)) {
		*gpa = va - base;
		return ram_ptr(s, *gpa, 1) != NULL;
	}
	return translate(s, &s->mmu, gva, gpa) && ram_ptr(s, *gpa, 1);
}

static bool san_read_phys(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	void *p = ram_ptr(ctx, gpa, len);

	if (p)
		memcpy(buf, p, len);
	return p != NULL;
}

static bool san_write_phys(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	void *p = ram_ptr(ctx, gpa, len);

	if (p)
		memcpy(p, buf, len);
	return p != NULL;
}

static bool san_symbolize(void *ctx, uint64_t addr, char *buf, size_t len)
{
	struct a64_san *s = ctx;

	return symbols_lookup(s->syms, addr, buf, len);
}

/* The report sink: text + title + JSON, durable before the guest runs on. */
static void san_report(void *ctx, const struct report_info *r)
{
	struct a64_san *s = ctx;
	unsigned int fault = s->cfg.cli->fault;
	char reason[320];

	if (report_format(r, san_symbolize, s, s->text, sizeof(s->text)) < 0)
		return;
	if (report_title(s->text, s->title, sizeof(s->title)) < 0)
		snprintf(s->title, sizeof(s->title), "KASAN: unknown");
	if (report_json(r, s->title, san_symbolize, s, s->json, sizeof(s->json)) < 0)
		s->json[0] = '\0';
	hostlog_write_report(s->log, s->text, s->json[0] ? s->json : NULL);
	if (fault == SAN_FAULT_PANIC ||
	    (fault == SAN_FAULT_PANIC_ON_WRITE && r->kind == REPORT_ACCESS && r->is_write)) {
		snprintf(reason, sizeof(reason), "kasan: fault=%s stopped the guest after: %s",
			 fault == SAN_FAULT_PANIC ? "panic" : "panic_on_write", s->title);
		s->cfg.stop(s->cfg.ctx, VMM_EXIT_KASAN_PANIC, reason);
	}
}

static void san_notify(void *ctx, uint64_t gpa_page, bool poisoned, uint8_t val)
{
	struct a64_san *s = ctx;

	(void)val; /* arm64 arms every poisoned page (x86's policy "all") */
	s->cfg.arm(s->cfg.ctx, gpa_page, poisoned);
}

/* In the consumer's batches, so the sanitizer prefetches for the events ahead. */
static void san_apply_batch(void *ctx, const struct shadow_event *evs, uint32_t n)
{
	struct a64_san *s = ctx;

	sanitizer_apply_events(s->shadow, evs, n);
}

static void san_log_line(void *ctx, const char *line)
{
	(void)ctx;
	pr_warn("%s", line);
}

static void *san_mem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	return ram_ptr(ctx, gpa, len);
}

/* ---- set-up ---- */

static int create_shadow(struct a64_san *s)
{
	const struct a64_cli *cli = s->cfg.cli;
	struct shadow_ram_range ram = {s->cfg.ram_ipa, s->cfg.ram_size};
	struct sanitizer_config sc = {
	    .ram = &ram,
	    .nr_ram = 1,
	    .mode = cli->mode == SAN_TAGS ? SANITIZER_TAGS : SANITIZER_GENERIC,
	    /*
	     * ABI 1.2: events carry the guest's TBI pointer tags, which become
	     * the memory tags, and an access is judged with the tag of the
	     * pointer in its base register.
	     */
	    .untagged_pointers = false,
	    .multi_shot = cli->multi_shot,
	    .write_patterns = !s->async, /* only safe when events apply at the doorbell */
	    .hardware_name = "kasan-vmm (arm64)",
	};
	struct sanitizer_ops ops = {
	    .ctx = s,
	    .virt_to_phys = san_virt_to_phys,
	    .read_phys = san_read_phys,
	    .write_phys = san_write_phys,
	    .notify = san_notify,
	    .report = san_report,
	};

	return sanitizer_create(&s->shadow, &sc, &ops);
}

static int create_consumer(struct a64_san *s)
{
	static const uint32_t modes[] = {KV_MODE_SYNC, KV_MODE_ASYNC, KV_MODE_ASYMM};
	const struct a64_cli *cli = s->cfg.cli;
	struct kv_consumer_config cc = {
	    .mem = {.ptr = san_mem_ptr, .ctx = s, .ram_size = s->cfg.ram_size},
	    .apply_batch = san_apply_batch,
	    .apply_ctx = s,
	    .log = san_log_line,
	    .mode = modes[cli->events % 3],
	    .max_cpus = s->cfg.nr_cpus,
	    .arch = KV_ARCH_ARM64,
	    .features =
		KV_FEAT_EVENTS | KV_FEAT_STACKS | (cli->mode == SAN_TAGS ? KV_FEAT_TAGS : 0),
	};

	s->consumer = kv_consumer_new(&cc);
	return s->consumer ? 0 : -ENOMEM;
}

int a64_san_create(const struct a64_san_config *cfg, struct a64_san **out)
{
	struct a64_san *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->async = cfg->cli->events != SAN_EVENTS_SYNC;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->mte_lock, NULL);
	ret = hostlog_open(&s->log, cfg->cli->log);
	if (!ret) {
		hostlog_set_rate(s->log, REPORT_RATE);
		if (cfg->cli->system_map && symbols_load_system_map(&s->syms, cfg->cli->system_map))
			pr_warn("no guest symbols from %s: reports show raw addresses",
				cfg->cli->system_map);
		ret = create_shadow(s);
	}
	if (!ret)
		ret = create_consumer(s);
	if (ret) {
		pr_err("sanitizer: set-up failed: %s", strerror(-ret));
		a64_san_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

void a64_san_destroy(struct a64_san *s)
{
	if (!s)
		return;
	kv_consumer_free(s->consumer);
	sanitizer_destroy(s->shadow);
	exempt_free(s->exempt);
	symbols_free(s->syms);
	hostlog_close(s->log);
	if (s->mte_ready)
		tag_map_destroy(&s->mte);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->mte_lock);
	free(s);
}

void a64_san_fdt_node(struct a64_san *s, uint64_t doorbell_base, struct a64_fdt_kvmm *out)
{
	uint32_t id[4] = {0}, cfg[4] = {0};

	kv_consumer_cpuid(s->consumer, KV_CPUID_LEAF, id);
	kv_consumer_cpuid(s->consumer, KV_CPUID_LEAF_CONFIG, cfg);
	*out = (struct a64_fdt_kvmm){.present = true,
				     .doorbell = {doorbell_base, 0x1000},
				     .abi_version = id[0],
				     .features = cfg[0],
				     .mode = cfg[2],
				     .rings = cfg[3]};
}

/* configs/exempt/<kind>.txt of the source tree (up from build/arm64/). */
static void load_exempt(struct a64_san *s)
{
	const char *kind = s->layout.guest_kind == KV_GUEST_LINUX ? "linux" : "testguest";
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0 || !s->syms)
		return;
	exe[n] = '\0';
	if (strrchr(exe, '/'))
		*strrchr(exe, '/') = '\0';
	for (int up = 0; up <= 2; up++) {
		snprintf(path, sizeof(path), "%s%s/configs/exempt/%s.txt", exe,
			 up == 0   ? ""
			 : up == 1 ? "/.."
				   : "/../..",
			 kind);
		if (access(path, R_OK) == 0 && exempt_load(&s->exempt, path, s->syms) == 0) {
			pr_info("allocator exemption: %u function ranges from %s",
				exempt_count(s->exempt), path);
			return;
		}
	}
}

void a64_san_doorbell(struct a64_san *s, const struct a64_san_cpu *c, uint32_t value)
{
	bool registered;

	pthread_mutex_lock(&s->lock);
	s->mmu = c->mmu;
	pthread_mutex_unlock(&s->lock);
	kv_consumer_doorbell(s->consumer, c->cpu, value);
	pthread_mutex_lock(&s->lock);
	registered = !s->have_layout && kv_consumer_layout(s->consumer, &s->layout);
	if (registered) {
		s->have_layout = true;
		if (s->syms && s->layout.kaslr_offset)
			symbols_set_offset(s->syms, s->layout.kaslr_offset);
		load_exempt(s);
		kv_layout_to_sanitizer(&s->layout, s->shadow);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- judging ---- */

static bool range_poisoned(struct a64_san *s, uint64_t ipa, uint32_t len)
{
	for (uint64_t g = ipa & ~7ull; g < ipa + (len ? len : 1); g += 8) {
		uint8_t v;

		if (sanitizer_shadow_byte(s->shadow, g, &v) && v)
			return true;
	}
	return false;
}

/*
 * Tag mode: an access through a tagged pointer is checked on every trapped
 * page, poisoned or not, as its tag may not be the memory's (a live
 * neighbour, a stale pointer to a reused slot).
 */
static bool tag_checked(struct a64_san *s, uint64_t va)
{
	return s->cfg.cli->mode == SAN_TAGS && va && tag_of_pointer(va) != TAG_MATCH_ALL;
}

bool a64_san_checks_tags(struct a64_san *s)
{
	return s->cfg.cli->mode == SAN_TAGS;
}

bool a64_san_poisoned(struct a64_san *s, uint64_t ipa, uint32_t len)
{
	return range_poisoned(s, ipa, len);
}

/* Who runs on the vCPU: the per-CPU current task the guest registered, else "vcpuN". */
static void current_task(struct a64_san *s, const struct a64_san_cpu *c,
			 struct sanitizer_access *sa)
{
	const struct kv_guest_layout *l = &s->layout;
	uint64_t base, task;
	uint32_t pid;
	char comm[SHADOW_COMM_LEN];

	snprintf(sa->comm, sizeof(sa->comm), "vcpu%u", c->cpu);
	if (!s->have_layout || !l->percpu_offsets_va || c->cpu >= l->nr_cpus)
		return;
	if (!read_va(s, &c->mmu, l->percpu_offsets_va + 8ull * c->cpu, &base, 8) ||
	    !read_va(s, &c->mmu, base + l->current_task_pcpu, &task, 8) || !task ||
	    !read_va(s, &c->mmu, task + l->task_pid_off, &pid, 4) ||
	    !read_va(s, &c->mmu, task + l->task_comm_off, comm, sizeof(comm)))
		return;
	comm[sizeof(comm) - 1] = '\0';
	sa->pid = pid;
	memcpy(sa->comm, comm, sizeof(comm));
}

bool a64_san_judge(struct a64_san *s, const struct a64_san_cpu *c, uint64_t ipa, uint64_t va,
		   uint32_t len, bool write)
{
	uint64_t frames[MAX_FRAMES];
	struct sanitizer_access sa = {.cpu = c->cpu, .ip = c->pc, .frames = frames};

	/* The allocator's own accesses to free objects are not bugs. */
	if (exempt_contains(s->exempt, c->pc))
		return false;
	/* Drain before judging: the shadow must include every event the guest made. */
	kv_consumer_flush(s->consumer);
	if (!range_poisoned(s, ipa, len) && !tag_checked(s, va))
		return false;
	sa.nr_frames = unwind(s, c, frames);
	if (sa.nr_frames > 1 && exempt_contains(s->exempt, frames[1]))
		return false;
	current_task(s, c, &sa);
	if (!va) /* unknown: name it by the direct map */
		va = s->have_layout ? s->layout.direct_map_base + ipa : ipa;
	/* A pointer without a tag (top byte = bit 55's sign) is match-all: say so. */
	if (s->cfg.cli->mode == SAN_TAGS && tag_of_pointer(va) == TAG_MATCH_ALL)
		va = tag_set(va, TAG_MATCH_ALL);
	return sanitizer_check_access(s->shadow, ipa, va, len, write, &sa);
}

void a64_san_on_exit(struct a64_san *s)
{
	if (s && s->async)
		kv_consumer_drain(s->consumer);
}

void a64_san_tick(struct a64_san *s)
{
	a64_san_on_exit(s);
}

void a64_san_flush(struct a64_san *s)
{
	if (s)
		kv_consumer_flush(s->consumer);
}

void a64_san_print_stats(struct a64_san *s)
{
	if (!s)
		return;
	kv_consumer_print_stats(s->consumer, stderr);
	sanitizer_print_stats(s->shadow, stderr);
}

/* ---- MTE ---- */

bool a64_san_mte_import(struct a64_san *s, uint64_t ipa, const uint8_t *tags, size_t n)
{
	struct shadow_ram_range ram = {s->cfg.ram_ipa, s->cfg.ram_size};
	bool ok = n <= s->cfg.ram_size / TAG_GRANULE && ram_ptr(s, ipa, n * TAG_GRANULE);

	pthread_mutex_lock(&s->mte_lock);
	if (ok && !s->mte_ready)
		ok = s->mte_ready = tag_map_init(&s->mte, &ram, 1, 1) == 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = tag_map_set(&s->mte, ipa + i * TAG_GRANULE, TAG_GRANULE,
				 0xF0 | (tags[i] & 0xF));
	pthread_mutex_unlock(&s->mte_lock);
	return ok;
}

bool a64_san_mte_tag(struct a64_san *s, uint64_t ipa, uint8_t *tag)
{
	bool ok;

	pthread_mutex_lock(&s->mte_lock);
	*tag = TAG_MATCH_ALL;
	ok = ram_ptr(s, ipa, 1) && (!s->mte_ready || tag_map_get(&s->mte, ipa, tag));
	pthread_mutex_unlock(&s->mte_lock);
	return ok;
}
