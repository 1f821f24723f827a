/* SPDX-License-Identifier: MIT */
/*
 * Consumer lifecycle, discovery leaves, statistics and the rate-limited log.
 * Doorbells and commands are in command.c, rings and ordering in drain.c,
 * record validation in decode.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paravirt/consumer_internal.h"

#define DEFAULT_GAP_TIMEOUT_NS (20ull * 1000 * 1000)
#define DEFAULT_LOG_BURST      10u
#define LOG_WINDOW_NS	       (1000ull * 1000 * 1000)

static const char *const reject_names[KV_REJ_COUNT] = {
    [KV_REJ_DB_VALUE] = "doorbell_value",
    [KV_REJ_CMD_ADDR] = "cmd_addr",
    [KV_REJ_CMD_MAGIC] = "cmd_magic",
    [KV_REJ_CMD_VERSION] = "cmd_version",
    [KV_REJ_CMD_UNKNOWN] = "cmd_unknown",
    [KV_REJ_CMD_STATE] = "cmd_state",
    [KV_REJ_REG_FIELD] = "register_field",
    [KV_REJ_REG_STRING] = "register_string",
    [KV_REJ_RING_CPU] = "ring_cpu",
    [KV_REJ_RING_SIZE] = "ring_size",
    [KV_REJ_RING_ADDR] = "ring_addr",
    [KV_REJ_RING_ALIGN] = "ring_align",
    [KV_REJ_HEAD_ALIGN] = "head_align",
    [KV_REJ_HEAD_BACKWARD] = "head_backward",
    [KV_REJ_HEAD_OVERRUN] = "head_overrun",
    [KV_REJ_REC_LEN] = "record_len",
    [KV_REJ_REC_TRUNCATED] = "record_truncated",
    [KV_REJ_REC_PAD] = "record_pad",
    [KV_REJ_REC_TORN] = "record_torn",
    [KV_REJ_KIND] = "kind",
    [KV_REJ_CPU] = "cpu",
    [KV_REJ_SEQ_REWIND] = "seq_rewind",
    [KV_REJ_SEQ_DUP] = "seq_duplicate",
    [KV_REJ_SEQ_FAR] = "seq_far",
    [KV_REJ_ADDR] = "addr",
    [KV_REJ_SIZE] = "size",
    [KV_REJ_ORDER] = "order",
    [KV_REJ_PFN] = "pfn",
    [KV_REJ_PAGE_ADDR] = "page_addr",
    [KV_REJ_FRAMES] = "frames",
    [KV_REJ_NAME] = "name",
    [KV_REJ_FREEPTR] = "freeptr",
};

static const char *const kind_names[KV_EV_KIND_MAX + 1] = {
    [KV_EV_CACHE_CREATE] = "cache_create",
    [KV_EV_CACHE_DESTROY] = "cache_destroy",
    [KV_EV_SLAB_ALLOC] = "slab_alloc",
    [KV_EV_SLAB_FREE] = "slab_free",
    [KV_EV_KMALLOC_LARGE] = "kmalloc_large",
    [KV_EV_KFREE_LARGE] = "kfree_large",
    [KV_EV_PAGE_ALLOC] = "page_alloc",
    [KV_EV_PAGE_FREE] = "page_free",
    [KV_EV_VMALLOC] = "vmalloc",
    [KV_EV_VFREE] = "vfree",
    [KV_EV_KREALLOC] = "krealloc",
    [KV_EV_KSIZE] = "ksize",
    [KV_EV_AUX_STACK] = "aux_stack",
    [KV_EV_MODULE_LOAD] = "module_load",
    [KV_EV_MODULE_UNLOAD] = "module_unload",
};

const char *kv_reject_name(enum kv_reject r)
{
	return (unsigned)r < KV_REJ_COUNT ? reject_names[r] : "?";
}

const char *kv_event_kind_name(uint32_t kind)
{
	return kind >= 1 && kind <= KV_EV_KIND_MAX ? kind_names[kind] : "?";
}

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void stderr_log(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

uint64_t kv_now(struct kv_consumer *c)
{
	return c->cfg.now_ns(c->cfg.clock_ctx);
}

/* At most log_burst lines per second; the next window first says how many were dropped. */
void kv_log(struct kv_consumer *c, const char *fmt, ...)
{
	char line[256];
	uint64_t now = kv_now(c);
	va_list ap;

	if (now - c->log_window_ns >= LOG_WINDOW_NS) {
		if (c->log_dropped) {
			snprintf(line, sizeof(line), "paravirt: suppressed %llu messages",
				 (unsigned long long)c->log_dropped);
			c->cfg.log(c->cfg.log_ctx, line);
		}
		c->log_window_ns = now;
		c->log_lines = 0;
		c->log_dropped = 0;
	}
	if (c->log_lines >= c->cfg.log_burst) {
		c->log_dropped++;
		c->stats.log_suppressed++;
		return;
	}
	c->log_lines++;
	memcpy(line, "paravirt: ", 10);
	va_start(ap, fmt);
	vsnprintf(line + 10, sizeof(line) - 10, fmt, ap);
	va_end(ap);
	c->cfg.log(c->cfg.log_ctx, line);
}

void kv_reject(struct kv_consumer *c, enum kv_reject r, uint32_t cpu, uint64_t detail)
{
	c->stats.rejects[r]++;
	kv_log(c, "rejected (%s) cpu %u detail 0x%llx", kv_reject_name(r), cpu,
	       (unsigned long long)detail);
}

struct kv_consumer *kv_consumer_new(const struct kv_consumer_config *cfg)
{
	struct kv_consumer *c;

	if ((!cfg->apply && !cfg->apply_batch) || !cfg->mem.ptr || cfg->max_cpus == 0 ||
	    cfg->max_cpus > KV_CPUS_MAX || cfg->mode > KV_MODE_ASYMM)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	if (!c->cfg.log)
		c->cfg.log = stderr_log;
	if (!c->cfg.now_ns)
		c->cfg.now_ns = monotonic_ns;
	if (!c->cfg.features)
		c->cfg.features = KV_FEAT_EVENTS | KV_FEAT_STACKS;
	if (!c->cfg.gap_timeout_ns)
		c->cfg.gap_timeout_ns = DEFAULT_GAP_TIMEOUT_NS;
	if (!c->cfg.log_burst)
		c->cfg.log_burst = DEFAULT_LOG_BURST;
	c->rings = calloc(cfg->max_cpus, sizeof(*c->rings));
	if (!c->rings) {
		free(c);
		return NULL;
	}
	c->footprint = sizeof(*c) + cfg->max_cpus * sizeof(*c->rings);
	c->next_seq = KV_SEQ_FIRST;
	c->log_window_ns = kv_now(c);
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void kv_consumer_free(struct kv_consumer *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->rings);
	free(c);
}

bool kv_consumer_cpuid(const struct kv_consumer *c, uint32_t leaf, uint32_t out[4])
{
	uint32_t shift_min =
	    c->cfg.mode == KV_MODE_SYNC ? KV_RING_SHIFT_MIN : KV_RING_SHIFT_MIN_ASYNC;

	if (leaf == KV_CPUID_LEAF) {
		out[0] = KV_ABI_VERSION;
		out[1] = KV_CPUID_SIG_EBX;
		out[2] = KV_CPUID_SIG_ECX;
		out[3] = KV_CPUID_SIG_EDX;
		return true;
	}
	if (leaf == KV_CPUID_LEAF_CONFIG) {
		out[0] = c->cfg.features;
		out[1] = KV_PORT_DOORBELL;
		out[2] = c->cfg.mode | KV_ASYNC_BATCH_SHIFT << 8;
		out[3] = c->cfg.max_cpus | shift_min << 16 | KV_RING_SHIFT_MAX << 24;
		return true;
	}
	return false;
}

void kv_consumer_drain(struct kv_consumer *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->registered)
		kv_drain_locked(c, false);
	pthread_mutex_unlock(&c->lock);
}

void kv_consumer_flush(struct kv_consumer *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->registered)
		kv_drain_locked(c, true);
	pthread_mutex_unlock(&c->lock);
}

void kv_consumer_reset(struct kv_consumer *c)
{
	pthread_mutex_lock(&c->lock);
	kv_forget_rings_locked(c);
	c->registered = false;
	memset(&c->layout, 0, sizeof(c->layout));
	pthread_mutex_unlock(&c->lock);
}

bool kv_consumer_layout(struct kv_consumer *c, struct kv_guest_layout *out)
{
	bool ok;

	pthread_mutex_lock(&c->lock);
	ok = c->registered;
	if (ok)
		*out = c->layout;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

void kv_consumer_get_stats(struct kv_consumer *c, struct kv_consumer_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->guest_emitted = out->guest_dropped = 0;
	for (uint32_t i = 0; i < c->cfg.max_cpus; i++) {
		const struct kv_ring *r = &c->rings[i];

		if (!r->active)
			continue;
		/* Guest-written: for display and comparison only. */
		out->guest_emitted += __atomic_load_n(&r->hdr->emitted, __ATOMIC_RELAXED);
		out->guest_dropped += __atomic_load_n(&r->hdr->dropped, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&c->lock);
}

void kv_consumer_print_stats(struct kv_consumer *c, FILE *f)
{
	struct kv_consumer_stats s;

	kv_consumer_get_stats(c, &s);
	fprintf(f, "paravirt: %llu doorbells, %llu drains, %llu commands, %llu events applied\n",
		(unsigned long long)s.doorbells, (unsigned long long)s.drains,
		(unsigned long long)s.commands, (unsigned long long)s.applied_total);
	for (uint32_t k = 1; k <= KV_EV_KIND_MAX; k++)
		if (s.applied[k])
			fprintf(f, "paravirt:   applied %-14s %llu\n", kv_event_kind_name(k),
				(unsigned long long)s.applied[k]);
	for (uint32_t r = 0; r < KV_REJ_COUNT; r++)
		if (s.rejects[r])
			fprintf(f, "paravirt:   rejected %-16s %llu\n", kv_reject_name(r),
				(unsigned long long)s.rejects[r]);
	fprintf(f,
		"paravirt: gaps waited %llu, skipped %llu, late %llu; resyncs %llu; "
		"log suppressed %llu; guest emitted %llu, dropped %llu\n",
		(unsigned long long)s.gap_waits, (unsigned long long)s.gaps_skipped,
		(unsigned long long)s.late_applied, (unsigned long long)s.resyncs,
		(unsigned long long)s.log_suppressed, (unsigned long long)s.guest_emitted,
		(unsigned long long)s.guest_dropped);
}

size_t kv_consumer_footprint(const struct kv_consumer *c)
{
	return c->footprint;
}
