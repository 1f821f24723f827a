/* SPDX-License-Identifier: MIT */
/*
 * paravirt consumer: every reject reason is triggered and counted, the ring
 * recovers afterwards, the log is rate-limited and a flood of garbage keeps
 * host memory fixed.
 */
#include <sys/resource.h>

#include "tests/unit/kv_consumer_fixture.h"

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
	r.freeptr_offset = KV_FREEPTR_NONE, r.size_alloc = 56;
	expect_reject(r, NULL, "c", KV_REJ_SIZE); /* stride below the object size */
	r.size_alloc = 64 + KV_CACHE_REDZONE_MAX + 8;
	expect_reject(r, NULL, "c", KV_REJ_SIZE); /* red zone too large to poison per alloc */
	r.size_alloc = 64 + 16, r.freeptr_offset = 76;
	expect_reject(r, NULL, "c", KV_REJ_FREEPTR); /* past the stride */
	r.freeptr_offset = KV_FREEPTR_NONE, r.red_left = 24;
	expect_reject(r, NULL, "c", KV_REJ_SIZE); /* left red zone + object past the stride */
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

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* One record of the million flood: every fifth valid, the rest rotate through four reasons. */
static struct kv_rec flood_record(uint64_t seq, enum kv_reject *why)
{
	struct kv_rec r = slab(0, seq);

	r.addr = FG_DIRECT_MAP + 0x100000 + (seq % 4096) * 64;
	switch (seq % 5) {
	case 0:
		*why = KV_REJ_COUNT; /* valid */
		break;
	case 1:
		r.addr = 0x0000800000001000ull, *why = KV_REJ_ADDR;
		break;
	case 2:
		r.size_req = 0, *why = KV_REJ_SIZE;
		break;
	case 3:
		r = fg_rec(KV_EV_PAGE_ALLOC, 0, seq), r.pfn = RAM_SIZE >> 12;
		r.addr = FG_DIRECT_MAP + RAM_SIZE, *why = KV_REJ_PFN;
		break;
	default:
		r = fg_rec(KV_EV_PAGE_ALLOC, 0, seq), r.pfn = 0x300, r.order = 11;
		r.addr = FG_DIRECT_MAP + 0x300000, *why = KV_REJ_ORDER;
		break;
	}
	return r;
}

/*
 * "Millions of events" (issue 8) without a VM: 2.5 M records, four fifths
 * garbage, and a bad doorbell every 1000 records. Every one is counted under
 * its reason, every valid one applied, and neither the consumer nor the
 * process grows with the count.
 */
static void test_million_record_flood(void **state)
{
	enum { RECORDS = 2500000 };
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 16);
	size_t footprint = kv_consumer_footprint(f->c);
	uint64_t want[KV_REJ_COUNT + 1] = {0};
	long rss_before;
	enum kv_reject why;

	(void)state;
	for (uint64_t seq = 1; seq <= 1000; seq++) /* warm up: the first drains' allocations */
		emit(f, slab(0, seq)), drain(f);
	want[KV_REJ_COUNT] = 1000;
	rss_before = peak_rss_kib();
	for (uint64_t seq = 1001; seq < 1001 + RECORDS; seq++) {
		struct kv_rec r = flood_record(seq, &why);

		if (!fg_emit(&f->g.rings[0], r, NULL, NULL)) {
			drain(f);
			assert_true(fg_emit(&f->g.rings[0], r, NULL, NULL));
		}
		want[why]++;
		if (seq % 1000 == 0)
			kv_consumer_doorbell(f->c, 0, 7), want[KV_REJ_DB_VALUE]++;
	}
	drain(f);
	for (int k = 0; k < KV_REJ_COUNT; k++)
		if (rejects(f, (enum kv_reject)k) != want[k])
			fail_msg("%s: %llu rejects, %llu expected",
				 kv_reject_name((enum kv_reject)k),
				 (unsigned long long)rejects(f, (enum kv_reject)k),
				 (unsigned long long)want[k]);
	assert_int_equal(f->n, want[KV_REJ_COUNT]);
	assert_int_equal(f->g.rings[0].hdr->rejected, RECORDS - (want[KV_REJ_COUNT] - 1000));
	assert_int_equal(kv_consumer_footprint(f->c), footprint);
	/* 2.5 M records are ~300 MiB of ring traffic: a leak of a byte a record shows */
	assert_true(peak_rss_kib() - rss_before < 2048);
	assert_true(f->log_lines <= 12); /* the clock never moved: one window's burst */
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_rejects),
	    cmocka_unit_test(test_framing_rejects),
	    cmocka_unit_test(test_command_rejects),
	    cmocka_unit_test(test_log_rate_limited),
	    cmocka_unit_test(test_garbage_flood_bounded),
	    cmocka_unit_test(test_million_record_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
