/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes become a guest's command blocks, ring
 * headers and ring data (tests/fuzz/fuzz_input.h), then a script of
 * doorbells runs against the consumer. Besides the sanitizers, the apply
 * callback checks the promises shadow/event.h makes for every event.
 * Input bits choose the architecture's address rules and whether events
 * arrive one by one (apply) or in batches (apply_batch, as vmm/sanitize.c).
 *
 * KV_FUZZ_STATS=1 prints per-input counts (the corpus test uses it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "paravirt/consumer.h"
#include "tests/fuzz/fuzz_input.h"

struct run {
	struct fg g;
	uint64_t now;
	uint64_t applied;
	enum kv_arch arch;
};

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

/* x86-64: bits 63:47 equal; arm64 (untagged): bits 63:48 equal. */
static int canonical(const struct run *r, uint64_t va)
{
	unsigned int shift = r->arch == KV_ARCH_ARM64 ? 48 : 47;

	return (va >> shift) == 0 || (va >> shift) == (~0ull >> shift);
}

/* shadow/ may assume all of this (see shadow/event.h). */
static void apply(void *ctx, const struct shadow_event *ev)
{
	struct run *r = ctx;

	check(ev->kind >= SHADOW_EV_CACHE_CREATE && ev->kind <= SHADOW_EV_MODULE_UNLOAD);
	check(ev->nr_frames <= SHADOW_MAX_FRAMES);
	check(memchr(ev->name, 0, SHADOW_NAME_LEN) != NULL);
	check(ev->comm[SHADOW_COMM_LEN - 1] == 0);
	check(canonical(r, ev->addr) && canonical(r, ev->old_addr));
	check(r->arch == KV_ARCH_ARM64 || !ev->ptr_tagged);
	check(ev->addr + ev->size_alloc >= ev->addr);
	check(ev->size_req <= ev->size_alloc && ev->size_alloc <= FZ_RAM_SIZE);
	check(ev->order <= KV_ORDER_MAX);
	for (uint32_t i = 0; i < ev->nr_frames; i++)
		check(canonical(r, ev->frames[i]));
	r->applied++;
}

static void apply_batch(void *ctx, const struct shadow_event *evs, uint32_t n)
{
	check(n >= 1 && n <= KV_APPLY_BATCH);
	for (uint32_t i = 0; i < n; i++)
		apply(ctx, &evs[i]);
}

static void log_nothing(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

static uint64_t clock_ns(void *ctx)
{
	struct run *r = ctx;

	return r->now += 1000000; /* 1 ms per look: gaps time out within a run */
}

static void run_script(struct kv_consumer *c, struct run *r, const struct fz_input *in)
{
	for (uint32_t i = 0; i < FZ_STEPS && in->script[i] != FZ_END; i++) {
		uint32_t v = in->script[i];

		if (v == FZ_FLUSH)
			kv_consumer_flush(c);
		else if (v == FZ_TICK)
			r->now += 1000000000ull;
		else if (v == FZ_RESET)
			kv_consumer_reset(c);
		else if (v == FZ_PUBLISH)
			for (int k = 0; k < 2; k++)
				memcpy(r->g.ram + FG_RING_HDRS + k * KV_RING_HDR_SIZE +
					   offsetof(struct kv_ring_hdr, head),
				       &in->publish_head[k], 8);
		else
			kv_consumer_doorbell(c, i & 1, v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct fz_input in;
	struct run r = {.now = 1};
	struct kv_consumer_config cfg = {
	    .mem = {.ptr = fg_ptr, .ctx = &r.g, .ram_size = FZ_RAM_SIZE},
	    .apply = apply,
	    .apply_ctx = &r,
	    .log = log_nothing,
	    .now_ns = clock_ns,
	    .clock_ctx = &r,
	    .gap_timeout_ns = 5000000,
	};
	struct kv_consumer *c;

	if (!ram)
		ram = malloc(FZ_RAM_SIZE);
	memset(ram, 0, FZ_RAM_SIZE);
	memset(&in, 0, sizeof(in));
	memcpy(&in, data, size < sizeof(in) ? size : sizeof(in));
	fz_place(&in, ram, 1);
	r.g.ram = ram;
	r.g.ram_size = FZ_RAM_SIZE;
	cfg.mode = (in.config & 0xff) % 3;
	cfg.max_cpus = 1 + ((in.config >> 8) & 0xff) % 4;
	if (in.config & FZ_CFG_BATCHED) {
		cfg.apply = NULL;
		cfg.apply_batch = apply_batch;
	}
	r.arch = cfg.arch = (in.config & FZ_CFG_ARM64) ? KV_ARCH_ARM64 : KV_ARCH_X86_64;

	c = kv_consumer_new(&cfg);
	check(c != NULL);
	run_script(c, &r, &in);
	kv_consumer_flush(c);
	if (getenv("KV_FUZZ_STATS")) {
		struct kv_consumer_stats s;
		uint64_t rejects = 0;

		kv_consumer_get_stats(c, &s);
		for (int k = 0; k < KV_REJ_COUNT; k++)
			rejects += s.rejects[k];
		fprintf(stderr, "kv_fuzz_stats applied=%llu rejects=%llu\n",
			(unsigned long long)r.applied, (unsigned long long)rejects);
	}
	kv_consumer_free(c);
	return 0;
}
