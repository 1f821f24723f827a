/* SPDX-License-Identifier: MIT */
/*
 * Fixture shared by the consumer's unit tests: a fake guest (kv_fake_guest.h)
 * with a consumer whose apply callback records what it was given, a log that
 * counts lines and a clock the test moves.
 */
#ifndef KV_CONSUMER_FIXTURE_H
#define KV_CONSUMER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "paravirt/consumer.h"
#include "tests/unit/kv_fake_guest.h"

#define RAM_SIZE  (4u << 20)
#define DATA_GPA  0x40000u /* ring data of CPU i at DATA_GPA + i * DATA_STEP */
#define DATA_STEP 0x40000u
#define MAX_SEEN  16384

struct fix {
	struct fg g;
	struct kv_consumer *c;
	uint64_t now;
	uint64_t seqs[MAX_SEEN];
	size_t n;
	struct shadow_event last;
	uint32_t batches; /* apply_batch calls (fix_ready_batched) */
	int log_lines;
	char last_log[256];
	uint32_t raw_records; /* the consumer's record callback */
	struct kv_rec last_raw;
};

static inline void record(void *ctx, const struct shadow_event *ev)
{
	struct fix *f = ctx;

	if (f->n < MAX_SEEN)
		f->seqs[f->n] = ev->seq;
	f->n++;
	f->last = *ev;
}

static inline void record_batch(void *ctx, const struct shadow_event *evs, uint32_t n)
{
	struct fix *f = ctx;

	assert_true(n > 0 && n <= KV_APPLY_BATCH);
	f->batches++;
	for (uint32_t i = 0; i < n; i++)
		record(ctx, &evs[i]);
}

static inline void record_raw(void *ctx, const uint8_t *rec, uint32_t len)
{
	struct fix *f = ctx;

	assert_true(len >= sizeof(f->last_raw));
	f->raw_records++;
	memcpy(&f->last_raw, rec, sizeof(f->last_raw));
}

static inline void log_line(void *ctx, const char *line)
{
	struct fix *f = ctx;

	f->log_lines++;
	snprintf(f->last_log, sizeof(f->last_log), "%s", line);
}

static inline uint64_t clock_ns(void *ctx)
{
	return ((struct fix *)ctx)->now;
}

/*
 * The consumer of fixture f. mem: guest RAM as the consumer sees it (the fake
 * guest's flat buffer unless a test models another layout). batched: the
 * consumer hands events over through apply_batch instead of apply.
 */
static inline void fix_consumer_new(struct fix *f, struct kv_guest_mem mem, uint32_t mode,
				    uint32_t max_cpus, enum kv_arch arch, bool batched)
{
	struct kv_consumer_config cfg = {
	    .mem = mem,
	    .apply = batched ? NULL : record,
	    .apply_batch = batched ? record_batch : NULL,
	    .apply_ctx = f,
	    .record = record_raw,
	    .record_ctx = f,
	    .log = log_line,
	    .log_ctx = f,
	    .now_ns = clock_ns,
	    .clock_ctx = f,
	    .mode = mode,
	    .max_cpus = max_cpus,
	    .gap_timeout_ns = 1000,
	    .arch = arch,
	};

	f->now = 1;
	f->c = kv_consumer_new(&cfg);
	assert_non_null(f->c);
}

static inline struct fix *fix_new_opts(uint32_t mode, uint32_t max_cpus, enum kv_arch arch,
				       bool batched)
{
	struct fix *f = calloc(1, sizeof(*f));

	f->g.ram = calloc(1, RAM_SIZE);
	f->g.ram_size = RAM_SIZE;
	fix_consumer_new(f,
			 (struct kv_guest_mem){.ptr = fg_ptr, .ctx = &f->g, .ram_size = RAM_SIZE},
			 mode, max_cpus, arch, batched);
	return f;
}

static inline struct fix *fix_new_arch(uint32_t mode, uint32_t max_cpus, enum kv_arch arch)
{
	return fix_new_opts(mode, max_cpus, arch, false);
}

static inline struct fix *fix_new(uint32_t mode, uint32_t max_cpus)
{
	return fix_new_arch(mode, max_cpus, KV_ARCH_X86_64);
}

static inline void fix_free(struct fix *f)
{
	kv_consumer_free(f->c);
	free(f->g.ram);
	free(f);
}

static inline int32_t ring(struct fix *f, uint32_t pfn)
{
	kv_consumer_doorbell(f->c, 0, pfn);
	return ((struct kv_cmd_hdr *)(f->g.ram + ((uint64_t)pfn << KV_PAGE_SHIFT)))->status;
}

/* Registered guest with `nrings` rings of 1 << shift bytes. */
static inline struct fix *fix_ready_opts(uint32_t mode, uint32_t nrings, uint32_t shift,
					 enum kv_arch arch, bool batched)
{
	struct fix *f = fix_new_opts(mode, 4, arch, batched);

	fg_register_block(&f->g, 4);
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_OK);
	for (uint32_t i = 0; i < nrings; i++) {
		fg_setup_block(&f->g, i, shift, DATA_GPA + i * DATA_STEP);
		assert_int_equal(ring(f, FG_SETUP_PFN(i)), KV_ST_OK);
	}
	return f;
}

static inline struct fix *fix_ready_arch(uint32_t mode, uint32_t nrings, uint32_t shift,
					 enum kv_arch arch)
{
	return fix_ready_opts(mode, nrings, shift, arch, false);
}

static inline struct fix *fix_ready(uint32_t mode, uint32_t nrings, uint32_t shift)
{
	return fix_ready_arch(mode, nrings, shift, KV_ARCH_X86_64);
}

static inline uint64_t rejects(struct fix *f, enum kv_reject r)
{
	struct kv_consumer_stats s;

	kv_consumer_get_stats(f->c, &s);
	return s.rejects[r];
}

static inline struct kv_rec slab(uint32_t cpu, uint64_t seq)
{
	struct kv_rec r = fg_rec(KV_EV_SLAB_ALLOC, cpu, seq);

	/* distinct for 32768 seqs, and always the direct map of RAM (even for huge seqs) */
	r.addr = FG_DIRECT_MAP + 0x100000 + (seq % 0x8000) * 64;
	r.size_req = 24;
	r.size_alloc = 32;
	r.cache_id = 3;
	return r;
}

static inline void emit(struct fix *f, struct kv_rec r)
{
	assert_true(fg_emit(&f->g.rings[r.cpu], r, NULL, NULL));
}

static inline void drain(struct fix *f)
{
	kv_consumer_doorbell(f->c, 0, KV_DB_DRAIN);
}

#endif /* KV_CONSUMER_FIXTURE_H */
