/* SPDX-License-Identifier: MIT */
/*
 * paravirt consumer on a fake guest RAM buffer: discovery, registration,
 * ring draining, the global-order merge and its gaps, concurrency.
 * Reject paths are in test_consumer_rejects.c.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include "tests/unit/kv_consumer_fixture.h"
#include "vmm/guest_ram.h"

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

/* REGISTER with a struct page geometry; returns the status, *l the layout then. */
static int register_pages(struct fix *f, uint32_t minor, bool vmemmap, uint32_t size, uint32_t off,
			  struct kv_guest_layout *l)
{
	struct kv_cmd_register *b = fg_register_block(&f->g, 2);
	int st;

	b->hdr.abi_version = (KV_ABI_MAJOR << 16) | minor;
	if (!vmemmap)
		b->vmemmap_base = 0;
	b->page_struct_size = size;
	b->page_refcount_off = off;
	st = ring(f, FG_REG_PFN);
	assert_true(kv_consumer_layout(f->c, l));
	return st;
}

/* ABI 1.3's struct page geometry: checked from 1.3 on, ignored (zeroed) before. */
static void test_register_page_struct(void **state)
{
	static const uint32_t bad[][3] = {
	    {64, 62, 1}, {512, 52, 1}, {64, 50, 1}, {0, 52, 1}, {64, 52, 0} /* no vmemmap */};
	struct fix *f = fix_new(KV_MODE_SYNC, 4);
	struct kv_guest_layout l;

	(void)state;
	assert_int_equal(register_pages(f, KV_ABI_MINOR, true, 64, 52, &l), KV_ST_OK);
	assert_int_equal(l.page_struct_size, 64);
	assert_int_equal(l.page_refcount_off, 52);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    register_pages(f, KV_ABI_MINOR, bad[i][2], bad[i][0], bad[i][1], &l),
		    KV_ST_EINVAL);
	assert_int_equal(rejects(f, KV_REJ_REG_FIELD), 5);
	/* a 1.2 block ends at release[]: whatever lies after it is not read */
	assert_int_equal(register_pages(f, 2, true, 0xdeadbeef, 7, &l), KV_ST_OK);
	assert_int_equal(l.page_struct_size, 0);
	assert_int_equal(l.page_refcount_off, 0);
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
	assert_int_equal(f->last.size_alloc, 120); /* stride 0: the object size, no red zone */
	fix_free(f);
}

/* ABI 1.1: the stride carries the red zone; the largest one allowed still decodes. */
static void test_cache_stride_decoded(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	struct kv_rec r = fg_rec(KV_EV_CACHE_CREATE, 0, 1);

	(void)state;
	r.name_len = 9;
	r.size_req = 120;
	r.size_alloc = 120 + 64;
	r.freeptr_offset = 176; /* outside the object, inside the stride */
	assert_true(fg_emit(&f->g.rings[0], r, NULL, "my_cache1"));
	r = fg_rec(KV_EV_CACHE_CREATE, 0, 2);
	r.name_len = 9;
	r.size_req = 8192;
	r.size_alloc = 8192 + KV_CACHE_REDZONE_MAX;
	r.freeptr_offset = KV_FREEPTR_NONE;
	r.red_left = 64; /* slub_debug's pad before the object (1.3) */
	assert_true(fg_emit(&f->g.rings[0], r, NULL, "my_cache2"));
	drain(f);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->last.size_req, 8192);
	assert_int_equal(f->last.size_alloc, 8192 + KV_CACHE_REDZONE_MAX);
	assert_int_equal(f->last.red_left, 64);
	assert_int_equal(f->seqs[0], 1);
	r = fg_rec(KV_EV_CACHE_CREATE, 0, 3);
	r.name_len = 9;
	r.size_req = 32;
	r.size_alloc = 96;
	r.freeptr_offset = KV_FREEPTR_NONE;
	r.red_left = 64; /* the whole red zone before the object: red_left + object == stride */
	assert_true(fg_emit(&f->g.rings[0], r, NULL, "my_cache3"));
	drain(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->last.red_left, 64);
	assert_int_equal(f->last.size_alloc, 96);
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

/*
 * apply_batch: the same events in the same order, at most KV_APPLY_BATCH a
 * call, and every drain hands over all it took (a gap holds back the rest).
 */
static void test_batched_apply(void **state)
{
	struct fix *f = fix_ready_opts(KV_MODE_SYNC, 2, 16, KV_ARCH_X86_64, true);
	uint64_t seq = 0;

	(void)state;
	emit(f, slab(0, ++seq));
	emit(f, slab(1, ++seq));
	emit(f, slab(0, ++seq));
	drain(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->batches, 1);
	for (uint32_t i = 0; i < 70; i++, seq++)
		emit(f, slab((uint32_t)(seq % 2), seq + 1));
	emit(f, slab(0, seq + 2)); /* seq + 1 is missing: this one waits */
	drain(f);
	assert_int_equal(f->n, 73);
	assert_int_equal(f->batches, 1 + 3); /* 32 + 32 + 6 */
	for (size_t i = 0; i < f->n; i++)
		assert_int_equal(f->seqs[i], i + 1);
	emit(f, slab(1, seq + 1));
	drain(f);
	assert_int_equal(f->n, 75);
	assert_int_equal(f->seqs[73], seq + 1);
	assert_int_equal(f->seqs[74], seq + 2);
	assert_int_equal(f->batches, 5);
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
		int tries = 0;

		while (
		    !kv_ring_claim(r->hdr->head, kv_ring_tail(r->hdr), r->size, KV_REC_HDR_SIZE)) {
			if (++tries > 1000000)
				return "ring stayed full"; /* the host stopped consuming */
			kv_consumer_doorbell(p->f->c, p->cpu, KV_DB_DRAIN);
		}
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

static uint64_t applied_after(struct fix *f, struct kv_rec r)
{
	size_t before = f->n;

	emit(f, r);
	drain(f);
	return f->n - before;
}

/* Slab and kmalloc addresses must be the direct map of RAM, not just canonical. */
static void test_direct_map_bounds(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 16);
	uint64_t seq = 1;
	struct kv_rec r;

	(void)state;
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP + RAM_SIZE - 32; /* the last object of RAM */
	assert_int_equal(applied_after(f, r), 1);
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP + RAM_SIZE - 16; /* runs 16 bytes past RAM */
	assert_int_equal(applied_after(f, r), 0);
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP + (1ull << 40); /* the test guest's garbage: 1 TiB past RAM */
	assert_int_equal(applied_after(f, r), 0);
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP - 4096; /* below the direct map */
	assert_int_equal(applied_after(f, r), 0);
	r = fg_rec(KV_EV_SLAB_FREE, 0, seq++);
	r.addr = FG_DIRECT_MAP + RAM_SIZE;
	assert_int_equal(applied_after(f, r), 0);
	r = fg_rec(KV_EV_KMALLOC_LARGE, 0, seq++);
	r.addr = FG_DIRECT_MAP + RAM_SIZE - 8192;
	r.size_req = r.size_alloc = 12288;
	assert_int_equal(applied_after(f, r), 0);
	r.seq = seq++, r.size_req = r.size_alloc = 8192;
	assert_int_equal(applied_after(f, r), 1);
	r = fg_rec(KV_EV_KFREE_LARGE, 0, seq++);
	r.addr = 0xffffffff81000000ull; /* kernel text is no heap */
	assert_int_equal(applied_after(f, r), 0);
	r = fg_rec(KV_EV_KREALLOC, 0, seq++);
	r.addr = FG_DIRECT_MAP + 0x200000, r.size_req = r.size_alloc = 64;
	r.old_addr = FG_DIRECT_MAP + (2ull << 30); /* the old object was never RAM */
	assert_int_equal(applied_after(f, r), 0);
	r.seq = seq++, r.old_addr = FG_DIRECT_MAP + 0x100000;
	assert_int_equal(applied_after(f, r), 1);
	r = fg_rec(KV_EV_KSIZE, 0, seq++);
	r.addr = FG_DIRECT_MAP + RAM_SIZE + 64;
	assert_int_equal(applied_after(f, r), 0);
	assert_int_equal(rejects(f, KV_REJ_ADDR), 8);
	assert_int_equal(f->g.rings[0].hdr->rejected, 8);
	fix_free(f);
}

/* The VMM's RAM: 3 GiB below the hole, the rest from 4 GiB (vmm/guest_ram.h). */
static void *split_ram_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	return guest_ram_ptr(ctx, gpa, len);
}

static void test_direct_map_respects_ram_hole(void **state)
{
	struct guest_ram ram = {.size = GUEST_RAM_LOW_MAX + (1u << 20)};
	struct fix *f = calloc(1, sizeof(*f));
	uint64_t high = FG_DIRECT_MAP + GUEST_RAM_HIGH_GPA, seq = 1;
	struct kv_rec r;

	(void)state;
	/* reserved, not committed: the host only ever touches the first MiBs */
	ram.alias = mmap(NULL, ram.size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(ram.alias != MAP_FAILED);
	f->g.ram = ram.alias;
	f->g.ram_size = RAM_SIZE;
	fix_consumer_new(f, (struct kv_guest_mem){split_ram_ptr, &ram, ram.size}, KV_MODE_SYNC, 1,
			 KV_ARCH_X86_64, false);
	fg_register_block(&f->g, 1);
	assert_int_equal(ring(f, FG_REG_PFN), KV_ST_OK);
	fg_setup_block(&f->g, 0, 12, DATA_GPA);
	assert_int_equal(ring(f, FG_SETUP_PFN(0)), KV_ST_OK);

	r = slab(0, seq++);
	r.addr = high + (1u << 20) - 32; /* the last object above the hole */
	assert_int_equal(applied_after(f, r), 1);
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP + GUEST_RAM_LOW_MAX - 32; /* the last one below it */
	assert_int_equal(applied_after(f, r), 1);
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP + GUEST_RAM_LOW_MAX - 16; /* runs into the hole */
	assert_int_equal(applied_after(f, r), 0);
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP + 0xfee00000; /* the LAPIC page: a hole, not RAM */
	assert_int_equal(applied_after(f, r), 0);
	r = slab(0, seq++);
	r.addr = FG_DIRECT_MAP + ram.size; /* RAM's size, but RAM ends at 4 GiB + 1 MiB */
	assert_int_equal(applied_after(f, r), 0);
	assert_int_equal(rejects(f, KV_REJ_ADDR), 3);
	kv_consumer_free(f->c);
	munmap(ram.alias, ram.size);
	free(f);
}

/* A misaligned head is refused and counted where the guest can see it. */
static void test_head_align_counted_in_ring(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	struct kv_ring_hdr *h = f->g.rings[0].hdr;

	(void)state;
	emit(f, slab(0, 1));
	h->head += 4;
	drain(f);
	assert_int_equal(rejects(f, KV_REJ_HEAD_ALIGN), 1);
	assert_int_equal(h->rejected, 1);
	assert_int_equal(f->n, 0);
	h->head -= 4; /* a sane head again: the record is read */
	drain(f);
	assert_int_equal(f->n, 1);
	fix_free(f);
}

/* The record callback (KASAN_VMM_RECORD_EVENTS) sees accepted records only, raw. */
static void test_record_callback(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	struct kv_rec bad = slab(0, 2);

	(void)state;
	emit(f, slab(0, 1));
	bad.addr = FG_DIRECT_MAP + (1ull << 40);
	emit(f, bad);
	emit(f, slab(0, 3));
	drain(f);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->raw_records, 2);
	assert_int_equal(f->last_raw.seq, 3);
	assert_int_equal(f->last_raw.addr, slab(0, 3).addr);
	assert_int_equal(f->last_raw.len, KV_REC_HDR_SIZE);
	fix_free(f);
}

struct toggler {
	uint16_t *kind; /* the current record's kind field in ring memory, or NULL */
	int stop;
};

/* The guest rewriting the current record's kind while the host copies it. */
static void *toggle_kind(void *arg)
{
	struct toggler *t = arg;

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		uint16_t *k = __atomic_load_n(&t->kind, __ATOMIC_ACQUIRE);

		if (!k)
			continue;
		__atomic_store_n(k, KV_EV_SLAB_FREE, __ATOMIC_RELAXED);
		__atomic_store_n(k, KV_EV_SLAB_ALLOC, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * A kind or len that differs between the host's first look and its copy is
 * record_torn. The race is real (a thread rewrites the ring), so it is
 * retried until it is hit: a host without the check never counts one.
 * Either kind is a valid record, so every record is applied or torn.
 */
static void test_record_torn(void **state)
{
	struct fix *f = fix_ready(KV_MODE_SYNC, 1, 12);
	struct fg_ring *ring0 = &f->g.rings[0];
	struct toggler t = {0};
	pthread_t th;
	uint64_t seq = 1, torn = 0;
	time_t until = time(NULL) + 120; /* generous: both threads need a core at once */

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, toggle_kind, &t), 0);
	while (torn == 0 && time(NULL) < until) {
		emit(f, slab(0, seq++));
		__atomic_store_n(&t.kind,
				 (uint16_t *)(ring0->data + ((ring0->hdr->head - KV_REC_HDR_SIZE) &
							     (ring0->size - 1))),
				 __ATOMIC_RELEASE);
		for (int spin = 0; spin < 200; spin++)
			__atomic_load_n(&t.stop, __ATOMIC_RELAXED); /* let the toggler see it */
		drain(f);
		__atomic_store_n(&t.kind, NULL, __ATOMIC_RELEASE);
		torn = rejects(f, KV_REJ_REC_TORN);
	}
	__atomic_store_n(&t.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	assert_true(torn >= 1);
	assert_int_equal(f->n + torn, seq - 1);
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuid),
	    cmocka_unit_test(test_register_layout),
	    cmocka_unit_test(test_register_page_struct),
	    cmocka_unit_test(test_single_ring_in_order),
	    cmocka_unit_test(test_cache_name_decoded),
	    cmocka_unit_test(test_cache_stride_decoded),
	    cmocka_unit_test(test_two_rings_global_order),
	    cmocka_unit_test(test_batched_apply),
	    cmocka_unit_test(test_gap_waits_then_skips),
	    cmocka_unit_test(test_flush_skips_gaps),
	    cmocka_unit_test(test_seq_rewind_in_ring),
	    cmocka_unit_test(test_wraparound),
	    cmocka_unit_test(test_goodbye),
	    cmocka_unit_test(test_concurrent_producers),
	    cmocka_unit_test(test_direct_map_bounds),
	    cmocka_unit_test(test_direct_map_respects_ram_hole),
	    cmocka_unit_test(test_head_align_counted_in_ring),
	    cmocka_unit_test(test_record_callback),
	    cmocka_unit_test(test_record_torn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
