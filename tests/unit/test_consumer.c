/* SPDX-License-Identifier: MIT */
/*
 * paravirt consumer on a fake guest RAM buffer: registration, ring draining,
 * global-order merge, gaps, every reject reason, bounded memory and log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
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
	int log_lines;
	char last_log[256];
};

static void record(void *ctx, const struct shadow_event *ev)
{
	struct fix *f = ctx;

	if (f->n < MAX_SEEN)
		f->seqs[f->n] = ev->seq;
	f->n++;
	f->last = *ev;
}

static void log_line(void *ctx, const char *line)
{
	struct fix *f = ctx;

	f->log_lines++;
	snprintf(f->last_log, sizeof(f->last_log), "%s", line);
}

static uint64_t clock_ns(void *ctx)
{
	return ((struct fix *)ctx)->now;
}

static struct fix *fix_new(uint32_t mode, uint32_t max_cpus)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct kv_consumer_config cfg = {
	    .mem = {.ptr = fg_ptr, .ctx = &f->g, .ram_size = RAM_SIZE},
	    .apply = record,
	    .apply_ctx = f,
	    .log = log_line,
	    .log_ctx = f,
	    .now_ns = clock_ns,
	    .clock_ctx = f,
	    .mode = mode,
	    .max_cpus = max_cpus,
	    .gap_timeout_ns = 1000,
	};

	f->g.ram = calloc(1, RAM_SIZE);
	f->g.ram_size = RAM_SIZE;
	f->now = 1;
	f->c = kv_consumer_new(&cfg);
	assert_non_null(f->c);
	return f;
}

static void fix_free(struct fix *f)
{
	kv_consumer_free(f->c);
	free(f->g.ram);
	free(f);
}

static int32_t ring(struct fix *f, uint32_t pfn)
{
	kv_consumer_doorbell(f->c, 0, pfn);
	return ((struct kv_cmd_hdr *)(f->g.ram + ((uint64_t)pfn << KV_PAGE_SHIFT)))->status;
}

/* Registered guest with `nrings` rings of 1 << shift bytes. */
static struct fix *fix_ready(uint32_t mode, uint32_t nrings, uint32_t shift)
{
	struct fix *f = fix_new(mode, 4);

	fg_register_block(&f->g, 4);
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_OK);
	for (uint32_t i = 0; i < nrings; i++) {
		fg_setup_block(&f->g, i, shift, DATA_GPA + i * DATA_STEP);
		assert_int_equal(ring(f, FG_SETUP_PFN(i)), KV_ST_OK);
	}
	return f;
}

static uint64_t rejects(struct fix *f, enum kv_reject r)
{
	struct kv_consumer_stats s;

	kv_consumer_get_stats(f->c, &s);
	return s.rejects[r];
}

static struct kv_rec slab(uint32_t cpu, uint64_t seq)
{
	struct kv_rec r = fg_rec(KV_EV_SLAB_ALLOC, cpu, seq);

	r.addr = FG_DIRECT_MAP + 0x100000 + seq * 64;
	r.size_req = 24;
	r.size_alloc = 32;
	r.cache_id = 3;
	return r;
}

static void emit(struct fix *f, struct kv_rec r)
{
	assert_true(fg_emit(&f->g.rings[r.cpu], r, NULL, NULL));
}

static void drain(struct fix *f)
{
	kv_consumer_doorbell(f->c, 0, KV_DB_DRAIN);
}

static void test_cpuid(void **state)
{
	struct fix *f = fix_new(KV_MODE_ASYMM, 4);
	uint32_t r[4];

	(void)state;
	assert_true(kv_consumer_cpuid(f->c, KV_CPUID_LEAF, r));
	assert_int_equal(r[0], KV_ABI_VERSION);
	assert_memory_equal(&r[1], "KasanVMM", 8);
	assert_true(kv_consumer_cpuid(f->c, KV_CPUID_LEAF_CONFIG, r));
	assert_int_equal(r[1], KV_PORT_DOORBELL);
	assert_int_equal(kv_cfg_mode(r[2]), KV_MODE_ASYMM);
	assert_int_equal(1u << kv_cfg_batch_shift(r[2]), KV_ASYNC_BATCH);
	assert_int_equal(kv_cfg_ring_slots(r[3]), 4);
	assert_int_equal(kv_cfg_ring_shift_min(r[3]), KV_RING_SHIFT_MIN_ASYNC);
	assert_int_equal(kv_cfg_ring_shift_max(r[3]), KV_RING_SHIFT_MAX);
	assert_true(r[0] & KV_FEAT_EVENTS);
	assert_false(kv_consumer_cpuid(f->c, 0x40000000u, r));
	fix_free(f);
}

static void test_register_layout(void **state)
{
	struct fix *f = fix_new(KV_MODE_SYNC, 4);
	struct kv_guest_layout l;
	struct kv_cmd_register *b;

	(void)state;
	assert_false(kv_consumer_layout(f->c, &l));
	fg_register_block(&f->g, 2);
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_OK);
	assert_true(kv_consumer_layout(f->c, &l));
	assert_int_equal(l.nr_cpus, 2);
	assert_int_equal(l.direct_map_base, FG_DIRECT_MAP);
	assert_int_equal(l.task_comm_off, 0x738);
	assert_string_equal(l.release, "6.1.0");

	b = fg_register_block(&f->g, 2);
	b->vmalloc_start = 0x0000900000000000ull; /* non-canonical */
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EINVAL);
	b = fg_register_block(&f->g, 2);
	b->task_comm_off = 0x1ff8; /* comm would run past task_struct_size */
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EINVAL);
	b = fg_register_block(&f->g, 0);
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EINVAL);
	assert_int_equal(rejects(f, KV_REJ_REG_FIELD), 3);
	b = fg_register_block(&f->g, 2);
	b->release_len = 65;
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EINVAL);
	b = fg_register_block(&f->g, 2);
	b->release[1] = '\n';
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EINVAL);
	assert_int_equal(rejects(f, KV_REJ_REG_STRING), 2);
	fix_free(f);
}

static void test_single_ring_in_order(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	uint64_t frames[3] = {0xffffffff81234567ull, 0xffffffff81000010ull, 0xffffffffa0001000ull};
	struct kv_rec r;

	(void)state;
	r = fg_rec(KV_EV_CACHE_CREATE, 0, 1);
	r.name_len = 9;
	r.size_req = 120;
	r.size_alloc = 128;
	r.freeptr_offset = 64;
	r.cache_id = 7;
	assert_true(fg_emit(&f->g.rings[0], r, NULL, "my_cache1"));
	r = slab(0, 2);
	r.nr_frames = 3;
	memcpy(r.comm, "a\001b", 4); /* unprintable comm is repaired, not refused */
	assert_true(fg_emit(&f->g.rings[0], r, frames, NULL));
	drain(f);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->seqs[0], 1);
	assert_int_equal(f->last.kind, SHADOW_EV_SLAB_ALLOC);
	assert_int_equal(f->last.seq, 2);
	assert_int_equal(f->last.nr_frames, 3);
	assert_int_equal(f->last.frames[2], frames[2]);
	assert_int_equal(f->last.size_req, 24);
	assert_int_equal(f->last.cache_id, 3);
	assert_string_equal(f->last.comm, "a?b");

	r = fg_rec(KV_EV_PAGE_ALLOC, 0, 3);
	r.pfn = 0x300;
	r.order = 2;
	r.addr = FG_DIRECT_MAP + 0x300000;
	emit(f, r);
	drain(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->last.pfn, 0x300);
	assert_int_equal(f->last.size_alloc, 4 * KV_PAGE_SIZE);
	/* The host publishes its progress to the guest. */
	assert_int_equal(f->g.rings[0].hdr->tail, f->g.rings[0].hdr->head);
	assert_int_equal(f->g.rings[0].hdr->applied, 3);
	fix_free(f);
}

static void test_cache_name_decoded(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	struct kv_rec r = fg_rec(KV_EV_CACHE_CREATE, 0, 1);

	(void)state;
	r.name_len = 9;
	r.size_req = 120;
	r.freeptr_offset = KV_FREEPTR_NONE;
	assert_true(fg_emit(&f->g.rings[0], r, NULL, "my_cache1"));
	drain(f);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->last.name, "my_cache1");
	assert_int_equal(f->last.size_alloc, 120); /* slot size 0 means the object size */
	fix_free(f);
}

static void test_two_rings_global_order(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 2, 12);
	static const uint64_t a[] = {1, 3, 5, 6}, b[] = {2, 4, 7};

	(void)state;
	for (size_t i = 0; i < 4; i++)
		emit(f, slab(0, a[i]));
	for (size_t i = 0; i < 3; i++)
		emit(f, slab(1, b[i]));
	drain(f);
	assert_int_equal(f->n, 7);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(f->seqs[i], i + 1);
	fix_free(f);
}

static void test_gap_waits_then_skips(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 2, 12);
	struct kv_consumer_stats s;

	(void)state;
	emit(f, slab(0, 1));
	emit(f, slab(0, 3));
	drain(f); /* 2 is taken but not yet published: 3 must wait */
	assert_int_equal(f->n, 1);
	emit(f, slab(1, 2));
	drain(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->seqs[1], 2);
	assert_int_equal(f->seqs[2], 3);

	emit(f, slab(0, 5)); /* 4 never shows up in time */
	drain(f);
	assert_int_equal(f->n, 3);
	f->now += 2000; /* past the gap timeout */
	drain(f);
	assert_int_equal(f->n, 4);
	assert_int_equal(f->seqs[3], 5);
	emit(f, slab(1, 4)); /* late, inside the skipped gap: applied */
	drain(f);
	assert_int_equal(f->n, 5);
	emit(f, slab(1, 5)); /* already applied from ring 0: duplicate */
	drain(f);
	assert_int_equal(f->n, 5);
	kv_consumer_get_stats(f->c, &s);
	assert_true(s.gap_waits >= 2);
	assert_int_equal(s.gaps_skipped, 1);
	assert_int_equal(s.late_applied, 1);
	assert_int_equal(s.rejects[KV_REJ_SEQ_DUP], 1);
	fix_free(f);
}

static void test_flush_skips_gaps(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);

	(void)state;
	emit(f, slab(0, 4));
	drain(f);
	assert_int_equal(f->n, 0);
	kv_consumer_flush(f->c);
	assert_int_equal(f->n, 1);
	fix_free(f);
}

/* Emit `bad` then a valid record; expect one reject of `why` and the valid one applied. */
static void expect_reject(struct kv_rec bad, const uint64_t *frames, const char *name,
			  enum kv_reject why)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 2, 12);
	struct kv_rec good = slab(0, bad.seq + 1);

	assert_true(fg_emit(&f->g.rings[0], bad, frames, name));
	emit(f, good);
	drain(f);
	if (rejects(f, why) != 1)
		fail_msg("reason %s: %llu rejects", kv_reject_name(why),
			 (unsigned long long)rejects(f, why));
	assert_int_equal(f->n, 1);
	assert_int_equal(f->last.seq, good.seq);
	assert_int_equal(f->g.rings[0].hdr->rejected, 1);
	fix_free(f);
}

static void test_record_rejects(void **state)
{
	uint64_t frames[65] = {0}, bad_frame[1] = {0x0000800000000000ull};
	char long_name[64];
	struct kv_rec r;

	memset(long_name, 'n', sizeof(long_name));

	(void)state;
	r = fg_rec(KV_EV_PAGE_ALLOC, 0, 1), r.pfn = RAM_SIZE >> 12, r.order = 0;
	r.addr = FG_DIRECT_MAP + RAM_SIZE;
	expect_reject(r, NULL, NULL, KV_REJ_PFN); /* page outside RAM */
	r.pfn = 0x3ff, r.order = 1, r.addr = FG_DIRECT_MAP + 0x3ff000;
	expect_reject(r, NULL, NULL, KV_REJ_PFN); /* runs past the end of RAM */
	r.pfn = 0x300, r.order = 11, r.addr = FG_DIRECT_MAP + 0x300000;
	expect_reject(r, NULL, NULL, KV_REJ_ORDER);
	r.order = 0, r.addr += 0x1000;
	expect_reject(r, NULL, NULL, KV_REJ_PAGE_ADDR);
	r = slab(0, 1), r.addr = 0x10;
	expect_reject(r, NULL, NULL, KV_REJ_ADDR); /* ZERO_SIZE_PTR */
	r = slab(0, 1), r.addr = 0x0000800000001000ull;
	expect_reject(r, NULL, NULL, KV_REJ_ADDR); /* non-canonical */
	r = slab(0, 1), r.addr = 0xfffffffffffffff0ull;
	expect_reject(r, NULL, NULL, KV_REJ_ADDR); /* wraps */
	r = slab(0, 1), r.size_alloc = r.size_req = RAM_SIZE + 1ull;
	expect_reject(r, NULL, NULL, KV_REJ_SIZE);
	r = slab(0, 1), r.size_req = 33;
	expect_reject(r, NULL, NULL, KV_REJ_SIZE);
	r = slab(0, 1), r.size_req = 0;
	expect_reject(r, NULL, NULL, KV_REJ_SIZE);
	r = fg_rec(KV_EV_VMALLOC, 0, 1), r.addr = FG_DIRECT_MAP + 0x1000, r.size_req = 4096;
	r.size_alloc = 4096;
	expect_reject(r, NULL, NULL, KV_REJ_ADDR); /* outside the registered vmalloc area */
	r = slab(0, 1), r.nr_frames = 65;
	expect_reject(r, frames, NULL, KV_REJ_FRAMES);
	r = slab(0, 1), r.nr_frames = 1;
	expect_reject(r, bad_frame, NULL, KV_REJ_FRAMES);
	r = slab(0, 1), r.kind = 0;
	expect_reject(r, NULL, NULL, KV_REJ_KIND);
	r = slab(0, 1), r.kind = 99;
	expect_reject(r, NULL, NULL, KV_REJ_KIND);
	r = slab(0, 1), r.cpu = 1; /* written to ring 0 */
	expect_reject(r, NULL, NULL, KV_REJ_CPU);
	r = fg_rec(KV_EV_MODULE_LOAD, 0, 1), r.addr = 0xffffffffa0000000ull, r.size_req = 8192;
	r.name_len = 64;
	expect_reject(r, NULL, long_name, KV_REJ_NAME); /* longer than KV_REC_NAME_MAX */
	r.name_len = 3;
	expect_reject(r, NULL, "a\nb", KV_REJ_NAME); /* log injection */
	r.name_len = 0;
	expect_reject(r, NULL, NULL, KV_REJ_NAME); /* missing */
	r = slab(0, 1), r.name_len = 2;
	expect_reject(r, NULL, "ab", KV_REJ_NAME); /* unexpected */
	r = fg_rec(KV_EV_CACHE_CREATE, 0, 1), r.name_len = 1, r.size_req = 64,
	r.freeptr_offset = 60;
	expect_reject(r, NULL, "c", KV_REJ_FREEPTR);
	r = slab(0, 1), r.len = (uint16_t)(kv_rec_len(0, 0) + 8);
	expect_reject(r, NULL, NULL, KV_REJ_REC_LEN); /* framed, but not the formula */
	r = slab(0, 0);
	expect_reject(r, NULL, NULL, KV_REJ_SEQ_REWIND); /* seq 0 is never valid */
	{
		/* implausibly far ahead: refused, and it does not raise the ring's floor */
		struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);

		emit(f, slab(0, 1ull << 30));
		emit(f, slab(0, 1));
		drain(f);
		assert_int_equal(rejects(f, KV_REJ_SEQ_FAR), 1);
		assert_int_equal(f->n, 1);
		assert_int_equal(f->last.seq, 1);
		fix_free(f);
	}
}

static void test_seq_rewind_in_ring(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);

	(void)state;
	emit(f, slab(0, 1));
	emit(f, slab(0, 2));
	emit(f, slab(0, 2));
	emit(f, slab(0, 3));
	drain(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(rejects(f, KV_REJ_SEQ_REWIND), 1);
	fix_free(f);
}

/* Framing faults resync the ring; what is published afterwards flows again. */
static void test_framing_rejects(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	struct fg_ring *r = &f->g.rings[0];
	uint64_t seq = 1;

	(void)state;
	r->hdr->head = 12; /* misaligned */
	drain(f);
	assert_int_equal(rejects(f, KV_REJ_HEAD_ALIGN), 1);
	r->hdr->head = 0;
	emit(f, slab(0, seq++));
	drain(f);
	assert_int_equal(f->n, 1);

	r->hdr->head = 8; /* behind the 104 bytes already seen */
	drain(f);
	assert_int_equal(rejects(f, KV_REJ_HEAD_BACKWARD), 1);
	emit(f, slab(0, seq++));
	drain(f);
	assert_int_equal(f->n, 2);

	r->hdr->head += r->size + 8; /* more than a ring's worth unread */
	drain(f);
	assert_int_equal(rejects(f, KV_REJ_HEAD_OVERRUN), 1);
	r->hdr->head = kv_ring_tail(r->hdr);
	emit(f, slab(0, seq++));
	drain(f);
	assert_int_equal(f->n, 3);

	emit(f, slab(0, seq));
	r->hdr->head -= 64; /* publishes only part of the record */
	drain(f);
	assert_int_equal(rejects(f, KV_REJ_REC_TRUNCATED), 1);
	r->hdr->head = kv_ring_tail(r->hdr);
	emit(f, slab(0, seq++));
	drain(f);
	assert_int_equal(f->n, 4);

	{
		struct kv_rec junk = slab(0, seq);

		junk.len = 12; /* not a multiple of 8 */
		memcpy(r->data + (r->hdr->head & (r->size - 1)), &junk, 4);
		kv_ring_publish(r->hdr, r->hdr->head + 104);
		drain(f);
		assert_int_equal(rejects(f, KV_REJ_REC_LEN), 1);
		junk.kind = KV_REC_PAD;
		junk.len = 16; /* a pad that does not reach the ring's end */
		memcpy(r->data + (r->hdr->head & (r->size - 1)), &junk, 4);
		kv_ring_publish(r->hdr, r->hdr->head + 16);
		drain(f);
		assert_int_equal(rejects(f, KV_REJ_REC_PAD), 1);
	}
	emit(f, slab(0, seq++));
	drain(f);
	assert_int_equal(f->n, 5);
	fix_free(f);
}

/* Many wraps of a small ring with pad records, in-order and lossless. */
static void test_wraparound(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	uint64_t frames[64];
	struct kv_consumer_stats s;

	(void)state;
	for (int i = 0; i < 64; i++)
		frames[i] = 0xffffffff81000000ull + (uint64_t)i;
	for (uint64_t seq = 1; seq <= 500; seq++) {
		struct kv_rec r = slab(0, seq);

		r.nr_frames = (uint8_t)(seq % 65);
		assert_true(fg_emit(&f->g.rings[0], r, frames, NULL));
		if (seq % 3 == 0)
			drain(f);
	}
	drain(f);
	kv_consumer_get_stats(f->c, &s);
	assert_int_equal(f->n, 500);
	assert_int_equal(f->seqs[499], 500);
	assert_int_equal(s.applied[KV_EV_SLAB_ALLOC], 500);
	assert_true(f->g.rings[0].hdr->tail > 4 * f->g.rings[0].size);
	assert_int_equal(s.guest_emitted, 500);
	fix_free(f);
}

static void test_command_rejects(void **state)
{
	struct fix *f = fix_new(KV_MODE_ASYNC, 2);
	struct kv_cmd_ring_setup *b;
	struct kv_cmd_register *reg;

	(void)state;
	fg_setup_block(&f->g, 0, 18, DATA_GPA);
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_ESTATE); /* before REGISTER */
	drain(f);
	assert_int_equal(rejects(f, KV_REJ_CMD_STATE), 2);
	reg = fg_register_block(&f->g, 2);
	reg->hdr.magic = 1;
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EMAGIC);
	reg = fg_register_block(&f->g, 2);
	reg->hdr.abi_version = 2u << 16;
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_EVERSION);
	reg = fg_register_block(&f->g, 2);
	reg->hdr.cmd = 77;
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_ECMD);
	fg_register_block(&f->g, 2);
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_OK);

	b = fg_setup_block(&f->g, 0, 12, DATA_GPA); /* async needs >= 256 KiB */
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_EINVAL);
	b = fg_setup_block(&f->g, 0, 23, DATA_GPA);
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_EINVAL);
	assert_int_equal(rejects(f, KV_REJ_RING_SIZE), 2);
	b = fg_setup_block(&f->g, 0, 18, RAM_SIZE - 0x20000); /* runs past RAM */
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_EADDR);
	b = fg_setup_block(&f->g, 0, 18, DATA_GPA);
	b->hdr_gpa = 1ull << 40;
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_EADDR);
	assert_int_equal(rejects(f, KV_REJ_RING_ADDR), 2);
	b = fg_setup_block(&f->g, 0, 18, DATA_GPA + 8);
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_EINVAL);
	b = fg_setup_block(&f->g, 0, 18, DATA_GPA);
	b->hdr_gpa += 4;
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_EINVAL);
	assert_int_equal(rejects(f, KV_REJ_RING_ALIGN), 2);
	b = fg_setup_block(&f->g, 0, 18, DATA_GPA);
	b->cpu = 2;
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_EINVAL);
	assert_int_equal(rejects(f, KV_REJ_RING_CPU), 1);

	kv_consumer_doorbell(f->c, 0, 5); /* reserved short command */
	assert_int_equal(rejects(f, KV_REJ_DB_VALUE), 1);
	kv_consumer_doorbell(f->c, 0, RAM_SIZE >> 12); /* block outside RAM */
	assert_int_equal(rejects(f, KV_REJ_CMD_ADDR), 1);
	kv_consumer_doorbell(f->c, 0, 0xffffffffu);
	assert_int_equal(rejects(f, KV_REJ_CMD_ADDR), 2);
	fix_free(f);
}

static void test_goodbye(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	struct kv_cmd_hdr *h = (void *)(f->g.ram + ((uint64_t)FG_BYE_PFN << KV_PAGE_SHIFT));
	struct kv_guest_layout l;

	(void)state;
	emit(f, slab(0, 2)); /* behind a gap: GOODBYE flushes it anyway */
	fg_cmd_hdr(h, KV_CMD_GOODBYE);
	assert_int_equal(ring(f, FG_BYE_PFN), KV_ST_OK);
	assert_int_equal(f->n, 1);
	assert_false(kv_consumer_layout(f->c, &l));
	emit(f, slab(0, 3)); /* rings are forgotten: nothing is read any more */
	drain(f);
	assert_int_equal(f->n, 1);
	fix_free(f);
}

static void test_log_rate_limited(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	int before = f->log_lines;
	struct kv_consumer_stats s;

	(void)state;
	f->now += 2000000000ull; /* fresh window */
	for (int i = 0; i < 100; i++)
		kv_consumer_doorbell(f->c, 0, 7);
	assert_int_equal(rejects(f, KV_REJ_DB_VALUE), 100);
	assert_int_equal(f->log_lines - before, 10);
	f->now += 1000000000ull;
	kv_consumer_doorbell(f->c, 0, 7);
	kv_consumer_get_stats(f->c, &s);
	assert_int_equal(s.log_suppressed, 90);
	assert_int_equal(f->log_lines - before, 12); /* "suppressed 90" + the new line */
	fix_free(f);
}

/* Garbage everywhere: no crash, no growth, only counted rejects. */
static void test_garbage_flood_bounded(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 2, 12);
	size_t before = kv_consumer_footprint(f->c);
	struct kv_consumer_stats s;
	uint64_t total = 0;

	(void)state;
	srand(1234);
	for (int i = 0; i < 20000; i++) {
		struct fg_ring *r = &f->g.rings[i & 1];
		uint32_t off = (uint32_t)rand() % (uint32_t)r->size;

		r->data[off] = (uint8_t)rand();
		if (i % 7 == 0)
			r->hdr->head += (uint64_t)(rand() % 64) * 8;
		if (i % 101 == 0)
			r->hdr->head = (uint64_t)rand() << 3;
		if (i % 13 == 0)
			kv_consumer_doorbell(f->c, (uint32_t)i, (uint32_t)rand() % 0x40);
		if (i % 5 == 0)
			drain(f);
	}
	kv_consumer_flush(f->c);
	kv_consumer_get_stats(f->c, &s);
	for (int k = 0; k < KV_REJ_COUNT; k++)
		total += s.rejects[k];
	assert_true(total > 100);
	assert_int_equal(kv_consumer_footprint(f->c), before);
	assert_true(f->log_lines <= 10); /* the clock never moved: one window's burst */
	kv_consumer_print_stats(f->c, stderr);
	fix_free(f);
}

struct producer {
	struct fix *f;
	uint32_t cpu;
	uint64_t *counter;
	int events;
};

/* A guest CPU as the ABI asks: reserve space, then take a seq, write, publish, ring. */
static void *produce(void *arg)
{
	struct producer *p = arg;
	struct fg_ring *r = &p->f->g.rings[p->cpu];

	for (int i = 0; i < p->events; i++) {
		while (!kv_ring_claim(r->hdr->head, kv_ring_tail(r->hdr), r->size, KV_REC_HDR_SIZE))
			kv_consumer_doorbell(p->f->c, p->cpu, KV_DB_DRAIN);
		if (!fg_emit(r, slab(p->cpu, kv_seq_next(p->counter)), NULL, NULL))
			return "claimed space vanished";
		kv_consumer_doorbell(p->f->c, p->cpu, KV_DB_DRAIN);
	}
	return NULL;
}

/* Two vCPU threads producing and ringing concurrently: lossless, in global order. */
static void test_concurrent_producers(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 2, 12);
	uint64_t counter = KV_SEQ_FIRST;
	struct producer p[2] = {{f, 0, &counter, 6000}, {f, 1, &counter, 6000}};
	pthread_t t[2];
	void *ret;

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	drain(f);
	assert_int_equal(f->n, 12000);
	for (size_t i = 0; i < 12000; i++)
		assert_int_equal(f->seqs[i], i + 1);
	assert_int_equal(f->g.rings[0].hdr->applied, f->g.rings[0].hdr->emitted);
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuid),
	    cmocka_unit_test(test_register_layout),
	    cmocka_unit_test(test_single_ring_in_order),
	    cmocka_unit_test(test_cache_name_decoded),
	    cmocka_unit_test(test_two_rings_global_order),
	    cmocka_unit_test(test_gap_waits_then_skips),
	    cmocka_unit_test(test_flush_skips_gaps),
	    cmocka_unit_test(test_record_rejects),
	    cmocka_unit_test(test_seq_rewind_in_ring),
	    cmocka_unit_test(test_framing_rejects),
	    cmocka_unit_test(test_wraparound),
	    cmocka_unit_test(test_command_rejects),
	    cmocka_unit_test(test_goodbye),
	    cmocka_unit_test(test_log_rate_limited),
	    cmocka_unit_test(test_garbage_flood_bounded),
	    cmocka_unit_test(test_concurrent_producers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
