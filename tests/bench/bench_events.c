// SPDX-License-Identifier: MIT
/*
 * Host-side event cost (issue 3), one invocation, one core:
 *  - paravirt consumer throughput: a deterministic event stream written into
 *    a fake guest's ring (tests/unit/kv_fake_guest.h) and drained by
 *    kv_consumer with a no-op apply; only the drains are timed;
 *  - sanitizer apply cost: the same stream, the events the consumer decoded
 *    replayed into sanitizer_apply_events (shadow + objects + depot +
 *    quarantine), a drain's worth per call, as the VMM's consumer hands them
 *    over in batches; only the apply calls are timed; and consumer +
 *    sanitizer end to end (the consumer's apply_batch, as in the VMM);
 *  - peak RSS of a child process feeding many distinct stacks with the depot
 *    capped vs uncapped;
 *  - with BENCH_EVENTS_RECORDING=FILE (records a real guest run made with
 *    kasan-vmm's KASAN_VMM_RECORD_EVENTS=FILE): that stream replayed many
 *    times, a fresh consumer and sanitizer per pass, consumer alone and end
 *    to end.
 *
 * The stream: cache creates, a working set of live slab objects filled
 * first, then free/alloc pairs over random live objects, 10-frame stacks
 * drawn (skewed) from a few hundred distinct stacks, and some page
 * alloc/free pairs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "paravirt/consumer.h"
#include "shadow/sanitizer.h"
#include "tests/unit/kv_fake_guest.h"

#define RAM_SIZE   (256ull << 20)
#define RING_SHIFT KV_RING_SHIFT_MAX /* 4 MiB ring: ~22k events per drain */
#define RING_GPA   (4ull << 20)
#define SLAB_GPA   (16ull << 20)
#define PAGE_GPA   (128ull << 20)
#define PAGE_SLOTS 8192u /* 16 KiB blocks (order 0..2) from PAGE_GPA */
#define LIVE_PAGES 256u

#define NR_CACHES     40u
#define SLOTS_PER_C   4096u
#define LIVE_OBJECTS  50000u
#define NR_STACKS     300u
#define STACK_FRAMES  10u
#define STREAM_EVENTS 1000000ull
#define ROUNDS	      3 /* each pass is run this many times; the median is reported */
#define CHUNK_MAX     32768u

/* ---- the stream ------------------------------------------------------------ */

struct cache {
	uint32_t size, slot, freeptr;
	uint64_t base; /* GPA of slot 0 */
	uint32_t fifo[SLOTS_PER_C];
	uint32_t fhead, ftail; /* free slots, FIFO (reuse late, like a quarantine-friendly SLUB) */
	char name[32];
};

struct live {
	uint32_t cache, slot;
};

struct stream {
	uint64_t rnd, seq, emitted;
	uint32_t phase_cache, phase_fill;
	struct cache caches[NR_CACHES];
	struct live objs[LIVE_OBJECTS];
	uint32_t page_fifo[PAGE_SLOTS], pf_head, pf_tail;
	uint32_t live_pages[LIVE_PAGES], live_page_order[LIVE_PAGES];
	uint32_t pages_filled;
	bool pending_page;
	uint32_t pending_page_i;
	bool pending_alloc; /* the second half of a free/alloc pair */
	uint32_t pending_obj;
	uint64_t stacks[NR_STACKS][STACK_FRAMES];
	uint64_t frames[KV_REC_MAX_FRAMES];
	char name[32];
};

static uint64_t rnd(struct stream *s)
{
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 7;
	s->rnd ^= s->rnd << 17;
	return s->rnd;
}

static const uint32_t cache_sizes[] = {8,   16,	 24,  32,  40,	48,  64,  80,  96,  104,
				       112, 128, 136, 152, 168, 176, 192, 200, 208, 216,
				       224, 232, 240, 256, 264, 296, 320, 352, 384, 416,
				       448, 480, 512, 576, 640, 704, 768, 832, 896, 1024};
_Static_assert(sizeof(cache_sizes) / sizeof(cache_sizes[0]) == NR_CACHES, "cache table");

static void stream_init(struct stream *s)
{
	uint64_t base = SLAB_GPA;

	memset(s, 0, sizeof(*s));
	s->rnd = 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < NR_CACHES; i++) {
		struct cache *c = &s->caches[i];

		c->size = cache_sizes[i];
		c->slot = (c->size + 15) & ~15u;
		c->freeptr = c->slot >= 16 ? (c->slot / 2) & ~7u : KV_FREEPTR_NONE;
		c->base = base;
		base += ((uint64_t)c->slot * SLOTS_PER_C + 4095) & ~4095ull;
		for (uint32_t k = 0; k < SLOTS_PER_C; k++)
			c->fifo[k] = k;
		c->fhead = 0;
		c->ftail = SLOTS_PER_C;
		if (i % 4 == 3)
			snprintf(c->name, sizeof(c->name), "bench_cache_%u", i);
		else
			snprintf(c->name, sizeof(c->name), "kmalloc-%u", c->size);
	}
	for (uint32_t k = 0; k < PAGE_SLOTS; k++)
		s->page_fifo[k] = k;
	s->pf_tail = PAGE_SLOTS;
	for (uint32_t i = 0; i < NR_STACKS; i++)
		for (uint32_t f = 0; f < STACK_FRAMES; f++)
			s->stacks[i][f] = 0xffffffff81000000ull + (rnd(s) & 0xffff0ull);
}

/* Skewed: a few hot stacks, a long tail (min of two uniform draws). */
static const uint64_t *pick_stack(struct stream *s)
{
	uint32_t a = (uint32_t)(rnd(s) % NR_STACKS), b = (uint32_t)(rnd(s) % NR_STACKS);

	return s->stacks[a < b ? a : b];
}

static uint32_t pick_cache(struct stream *s)
{
	/* small caches more often: min of two draws */
	uint32_t a = (uint32_t)(rnd(s) % NR_CACHES), b = (uint32_t)(rnd(s) % NR_CACHES);

	return a < b ? a : b;
}

static uint64_t obj_addr(const struct stream *s, uint32_t cache, uint32_t slot)
{
	const struct cache *c = &s->caches[cache];

	return FG_DIRECT_MAP + c->base + (uint64_t)slot * c->slot;
}

static void slab_alloc(struct stream *s, struct kv_rec *r, uint32_t obj)
{
	uint32_t ci = pick_cache(s);
	struct cache *c = &s->caches[ci];

	while (c->fhead == c->ftail) { /* cache exhausted: next one */
		ci = (ci + 1) % NR_CACHES;
		c = &s->caches[ci];
	}
	s->objs[obj].cache = ci;
	s->objs[obj].slot = c->fifo[c->fhead++ % SLOTS_PER_C];
	r->kind = KV_EV_SLAB_ALLOC;
	r->addr = obj_addr(s, ci, s->objs[obj].slot);
	r->size_req = c->size - (uint32_t)(rnd(s) % (c->size < 8 ? c->size : 8));
	r->size_alloc = c->size;
	r->cache_id = ci + 1;
}

static void slab_free(struct stream *s, struct kv_rec *r, uint32_t obj)
{
	struct cache *c = &s->caches[s->objs[obj].cache];

	r->kind = KV_EV_SLAB_FREE;
	r->addr = obj_addr(s, s->objs[obj].cache, s->objs[obj].slot);
	r->cache_id = s->objs[obj].cache + 1;
	c->fifo[c->ftail++ % SLOTS_PER_C] = s->objs[obj].slot;
}

static void page_event(struct stream *s, struct kv_rec *r, bool alloc, uint32_t i)
{
	uint32_t slot;

	if (alloc) {
		slot = s->page_fifo[s->pf_head++ % PAGE_SLOTS];
		s->live_pages[i] = slot;
		s->live_page_order[i] = (uint32_t)(rnd(s) % 3);
	} else {
		slot = s->live_pages[i];
		s->page_fifo[s->pf_tail++ % PAGE_SLOTS] = slot;
	}
	r->kind = alloc ? KV_EV_PAGE_ALLOC : KV_EV_PAGE_FREE;
	r->pfn = (PAGE_GPA >> KV_PAGE_SHIFT) + (uint64_t)slot * 4u;
	r->order = s->live_page_order[i];
	r->addr = FG_DIRECT_MAP + (r->pfn << KV_PAGE_SHIFT);
}

/* The next record of the stream (frames in s->frames, name in s->name). */
static struct kv_rec stream_next(struct stream *s)
{
	struct kv_rec r = fg_rec(0, 0, ++s->seq);
	const uint64_t *st = pick_stack(s);

	s->emitted++;
	r.nr_frames = STACK_FRAMES;
	memcpy(s->frames, st, STACK_FRAMES * 8u);
	if (s->phase_cache < NR_CACHES) {
		struct cache *c = &s->caches[s->phase_cache++];

		r.kind = KV_EV_CACHE_CREATE;
		r.cache_id = s->phase_cache;
		r.size_req = c->size;
		r.size_alloc = c->slot;
		r.freeptr_offset = c->freeptr;
		r.name_len = (uint8_t)strlen(c->name);
		memcpy(s->name, c->name, r.name_len);
		return r;
	}
	if (s->phase_fill < LIVE_OBJECTS) {
		slab_alloc(s, &r, s->phase_fill++);
		return r;
	}
	if (s->pending_alloc) {
		s->pending_alloc = false;
		slab_alloc(s, &r, s->pending_obj);
		return r;
	}
	if (s->pending_page) { /* the alloc half of a page free/alloc pair */
		s->pending_page = false;
		page_event(s, &r, true, s->pending_page_i);
		return r;
	}
	if (rnd(s) % 32 == 0) { /* ~3% page events: fill a live set, then free/alloc pairs */
		uint32_t i = (uint32_t)(rnd(s) % LIVE_PAGES);

		if (s->pages_filled < LIVE_PAGES) {
			page_event(s, &r, true, s->pages_filled++);
			return r;
		}
		page_event(s, &r, false, i);
		s->pending_page = true;
		s->pending_page_i = i;
		return r;
	}
	s->pending_obj = (uint32_t)(rnd(s) % LIVE_OBJECTS);
	s->pending_alloc = true;
	slab_free(s, &r, s->pending_obj);
	return r;
}

/* ---- fake guest + consumer -------------------------------------------------- */

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

struct bench {
	struct fg g;
	struct kv_consumer *c;
	struct stream st;
	/* pass 2: decoded events of one drain, replayed into the sanitizer */
	struct shadow_event *chunk;
	uint32_t nchunk;
	struct sanitizer *san;
	uint64_t noop_count;
	uint64_t
	    replay_cpu_ns; /* the replay's thread CPU time: not the time others held the core */
};

static void apply_noop(void *ctx, const struct shadow_event *ev)
{
	struct bench *b = ctx;

	b->noop_count += ev->seq & 1; /* keep the call from being optimized into nothing */
}

static void apply_capture(void *ctx, const struct shadow_event *ev)
{
	struct bench *b = ctx;

	if (b->nchunk < CHUNK_MAX)
		b->chunk[b->nchunk++] = *ev;
}

static void apply_sanitizer(void *ctx, const struct shadow_event *evs, uint32_t n)
{
	sanitizer_apply_events(((struct bench *)ctx)->san, evs, n);
}

static void quiet_log(void *ctx, const char *line)
{
	(void)ctx;
	if (!strstr(line, "guest registered"))
		fprintf(stderr, "bench_events: consumer: %s\n", line);
}

static bool v2p(void *ctx, uint64_t gva, uint64_t *gpa)
{
	struct fg *g = ctx;

	if (gva < FG_DIRECT_MAP || gva - FG_DIRECT_MAP >= g->ram_size)
		return false;
	*gpa = gva - FG_DIRECT_MAP;
	return true;
}

static bool rd(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct fg *g = ctx;

	if (gpa >= g->ram_size || len > g->ram_size - gpa)
		return false;
	memcpy(buf, g->ram + gpa, len);
	return true;
}

static bool wr(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct fg *g = ctx;

	if (gpa >= g->ram_size || len > g->ram_size - gpa)
		return false;
	memcpy(g->ram + gpa, buf, len);
	return true;
}

static void sink(void *ctx, const struct report_info *r)
{
	(void)ctx;
	(void)r;
}

static int make_sanitizer(struct sanitizer **out, struct fg *g, uint64_t depot_bytes)
{
	static struct shadow_ram_range ram;
	struct sanitizer_config cfg = {
	    .ram = &ram,
	    .nr_ram = 1,
	    .mode = SANITIZER_GENERIC,
	    .depot_bytes = depot_bytes,
	    .multi_shot = true,
	    .write_patterns = false,
	    .vmemmap_base = 0xffffea0000000000ull,
	    .vmalloc_start = FG_VMALLOC_LO,
	    .vmalloc_end = FG_VMALLOC_HI,
	    .kernel_release = "bench",
	    .hardware_name = "bench",
	};
	struct sanitizer_ops ops = {
	    .ctx = g, .virt_to_phys = v2p, .read_phys = rd, .write_phys = wr, .report = sink};

	ram.gpa = 0;
	ram.size = g->ram_size;
	return sanitizer_create(out, &cfg, &ops);
}

static int bench_setup(struct bench *b, kv_apply_fn apply, kv_apply_batch_fn apply_batch)
{
	struct kv_consumer_config cfg = {
	    .mem = {.ptr = fg_ptr, .ctx = &b->g, .ram_size = RAM_SIZE},
	    .apply = apply,
	    .apply_batch = apply_batch,
	    .apply_ctx = b,
	    .log = quiet_log,
	    .mode = KV_MODE_ASYNC,
	    .max_cpus = 1,
	};
	struct kv_cmd_hdr *h;

	memset(b->g.ram, 0, 1u << 20);
	b->c = kv_consumer_new(&cfg);
	if (!b->c)
		return -1;
	fg_register_block(&b->g, 1);
	kv_consumer_doorbell(b->c, 0, FG_REG_PFN);
	h = (void *)(b->g.ram + ((uint64_t)FG_REG_PFN << KV_PAGE_SHIFT));
	if (h->status != KV_ST_OK)
		return -1;
	fg_setup_block(&b->g, 0, RING_SHIFT, RING_GPA);
	kv_consumer_doorbell(b->c, 0, FG_SETUP_PFN(0));
	h = (void *)(b->g.ram + ((uint64_t)FG_SETUP_PFN(0) << KV_PAGE_SHIFT));
	if (h->status != KV_ST_OK)
		return -1;
	stream_init(&b->st);
	return 0;
}

/* After each drain: nothing, or replay the captured chunk into the sanitizer (timed). */
typedef uint64_t (*after_drain_fn)(struct bench *b);

static uint64_t replay_chunk(struct bench *b)
{
	uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = now_ns();

	sanitizer_apply_events(b->san, b->chunk, b->nchunk);
	t0 = now_ns() - t0;
	b->replay_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	b->nchunk = 0;
	return t0;
}

/*
 * Produce the stream into the ring until it is full, drain (timed), repeat.
 * Returns the ns spent in drains; *extra_ns gets what after() spent.
 */
static uint64_t run_stream(struct bench *b, uint64_t events, after_drain_fn after,
			   uint64_t *extra_ns)
{
	struct fg_ring *r = &b->g.rings[0];
	uint64_t drain_ns = 0, t0, n = 0;
	struct kv_rec rec;

	*extra_ns = 0;
	while (n < events) {
		rec = stream_next(&b->st);
		while (!fg_emit(r, rec, b->st.frames, rec.name_len ? b->st.name : NULL)) {
			t0 = now_ns();
			kv_consumer_doorbell(b->c, 0, KV_DB_DRAIN);
			drain_ns += now_ns() - t0;
			if (after)
				*extra_ns += after(b);
		}
		n++;
	}
	t0 = now_ns();
	kv_consumer_doorbell(b->c, 0, KV_DB_DRAIN);
	drain_ns += now_ns() - t0;
	if (after)
		*extra_ns += after(b);
	return drain_ns;
}

static bool check_consumer(struct bench *b, uint64_t events, const char *what)
{
	struct kv_consumer_stats st;
	uint64_t rej = 0;

	kv_consumer_get_stats(b->c, &st);
	for (int i = 0; i < KV_REJ_COUNT; i++)
		rej += st.rejects[i];
	if (st.applied_total != events || rej) {
		printf("  ERROR (%s): consumer applied %llu of %llu events, %llu rejects\n", what,
		       (unsigned long long)st.applied_total, (unsigned long long)events,
		       (unsigned long long)rej);
		return false;
	}
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static double rate(uint64_t events, uint64_t ns)
{
	return ns ? (double)events * 1e9 / (double)ns : 0.0;
}

/* ---- RSS child: many distinct stacks into one sanitizer -------------------- */

#define RSS_PAIRS     300000u
#define RSS_RAM	      (64ull << 20)
#define RSS_OBJ_SLOTS 65536u

static int rss_child(uint64_t depot_bytes)
{
	struct fg g = {.ram = calloc(1, RSS_RAM), .ram_size = RSS_RAM};
	struct sanitizer *san;
	struct sanitizer_stats st;
	struct shadow_event ev;
	struct rusage ru;
	long base_kib;
	int err;

	if (!g.ram)
		return 1;
	err = make_sanitizer(&san, &g, depot_bytes);
	if (err) {
		printf("error %d\n", err);
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	base_kib = ru.ru_maxrss;
	memset(&ev, 0, sizeof(ev));
	ev.kind = SHADOW_EV_CACHE_CREATE;
	ev.cache_id = 1;
	ev.size_req = ev.size_alloc = 64;
	ev.freeptr_offset = 32;
	strcpy(ev.name, "kmalloc-64");
	sanitizer_apply_event(san, &ev);
	for (uint32_t i = 0; i < RSS_PAIRS; i++) {
		uint64_t addr = FG_DIRECT_MAP + (16ull << 20) + (uint64_t)(i % RSS_OBJ_SLOTS) * 64u;

		for (int half = 0; half < 2; half++) {
			uint64_t id = 2ull * i + (uint64_t)half;

			memset(&ev, 0, offsetof(struct shadow_event, frames));
			ev.kind = half ? SHADOW_EV_SLAB_FREE : SHADOW_EV_SLAB_ALLOC;
			ev.seq = id + 2;
			ev.cpu = 0;
			ev.pid = 1;
			ev.addr = addr;
			ev.size_req = 60;
			ev.size_alloc = 64;
			ev.cache_id = 1;
			ev.nr_frames = STACK_FRAMES;
			for (uint32_t f = 0; f < STACK_FRAMES; f++) /* every stack distinct */
				ev.frames[f] = 0xffffffff81000000ull + ((id * 0x10001ull + f) << 4);
			sanitizer_apply_event(san, &ev);
		}
	}
	sanitizer_get_stats(san, &st);
	getrusage(RUSAGE_SELF, &ru);
	printf("%ld %ld %llu %llu %llu %llu %llu\n", base_kib, ru.ru_maxrss,
	       (unsigned long long)st.depot.records, (unsigned long long)st.depot.bytes,
	       (unsigned long long)st.depot.evicted, (unsigned long long)st.depot.failed,
	       (unsigned long long)st.depot.saves);
	sanitizer_destroy(san);
	free(g.ram);
	return 0;
}

static bool rss_run(const char *self, uint64_t depot_bytes, long *base, long *peak,
		    unsigned long long d[5])
{
	char cmd[4200];
	FILE *p;
	bool ok;

	snprintf(cmd, sizeof(cmd), "'%s' --rss-child %llu", self, (unsigned long long)depot_bytes);
	p = popen(cmd, "r");
	if (!p)
		return false;
	ok = fscanf(p, "%ld %ld %llu %llu %llu %llu %llu", base, peak, &d[0], &d[1], &d[2], &d[3],
		    &d[4]) == 7;
	return pclose(p) == 0 && ok;
}

/* ---- a recorded stream ------------------------------------------------------ */

struct recording {
	uint8_t *bytes;
	uint32_t *off; /* record offsets in global (seq) order */
	uint32_t n;
};

static const uint8_t *sort_bytes;

static uint64_t rec_seq(const uint8_t *bytes, uint32_t off)
{
	uint64_t seq;

	memcpy(&seq, bytes + off + offsetof(struct kv_rec, seq), sizeof(seq));
	return seq;
}

static int cmp_rec_seq(const void *a, const void *b)
{
	uint64_t x = rec_seq(sort_bytes, *(const uint32_t *)a);
	uint64_t y = rec_seq(sort_bytes, *(const uint32_t *)b);

	return x < y ? -1 : x > y;
}

/* The file is the raw records kasan-vmm accepted, ring by ring: index and sort them by seq. */
static bool load_recording(const char *path, struct recording *rc)
{
	FILE *f = fopen(path, "rb");
	long size = -1;
	size_t pos = 0;

	if (f && !fseek(f, 0, SEEK_END))
		size = ftell(f);
	if (size <= 0 || size > (1l << 30) || fseek(f, 0, SEEK_SET)) {
		printf("  ERROR: recording %s: missing, empty or too large\n", path);
		goto fail;
	}
	rc->bytes = malloc((size_t)size);
	rc->off = malloc(((size_t)size / KV_REC_HDR_SIZE + 1) * sizeof(*rc->off));
	if (!rc->bytes || !rc->off || fread(rc->bytes, 1, (size_t)size, f) != (size_t)size)
		goto fail;
	for (rc->n = 0; pos < (size_t)size; rc->n++) {
		uint16_t len;

		if ((size_t)size - pos < KV_REC_HDR_SIZE) { /* a recording cut short */
			printf("  ERROR: recording %s: truncated record at byte %zu\n", path, pos);
			goto fail;
		}
		memcpy(&len, rc->bytes + pos + offsetof(struct kv_rec, len), sizeof(len));
		if (len < KV_REC_HDR_SIZE || len > KV_REC_MAX_SIZE || len % KV_REC_ALIGN ||
		    pos + len > (size_t)size) {
			printf("  ERROR: recording %s: bad record at byte %zu\n", path, pos);
			goto fail;
		}
		rc->off[rc->n] = (uint32_t)pos;
		pos += len;
	}
	fclose(f);
	sort_bytes = rc->bytes;
	qsort(rc->off, rc->n, sizeof(*rc->off), cmp_rec_seq);
	/* a seq recorded twice (the merge refused the second copy): replay it once */
	for (uint32_t i = 1, kept = 1; i <= rc->n; i++) {
		if (i == rc->n) {
			rc->n = kept;
			break;
		}
		if (rec_seq(rc->bytes, rc->off[i]) != rec_seq(rc->bytes, rc->off[kept - 1]))
			rc->off[kept++] = rc->off[i];
	}
	return rc->n > 0;
fail:
	if (f)
		fclose(f);
	return false;
}

/* One pass: the records into one ring, renumbered 1.. (refused seqs left gaps), drains timed. */
static uint64_t replay_pass(struct bench *b, const struct recording *rc)
{
	struct fg_ring *r = &b->g.rings[0];
	uint64_t drain_ns = 0, t0;

	for (uint32_t i = 0; i < rc->n; i++) {
		const uint8_t *raw = rc->bytes + rc->off[i];
		struct kv_rec rec;

		memcpy(&rec, raw, sizeof(rec));
		rec.cpu = 0;
		rec.seq = i + 1;
		while (!fg_emit(r, rec, (const uint64_t *)(raw + KV_REC_HDR_SIZE),
				(const char *)raw + KV_REC_HDR_SIZE + rec.nr_frames * 8u)) {
			t0 = now_ns();
			kv_consumer_doorbell(b->c, 0, KV_DB_DRAIN);
			drain_ns += now_ns() - t0;
		}
	}
	t0 = now_ns();
	kv_consumer_doorbell(b->c, 0, KV_DB_DRAIN);
	return drain_ns + now_ns() - t0;
}

/* Replays the recording; prints its rates and returns false on an error. */
static bool replay_recording(struct bench *b, const char *path, double *cons_rate, double *e2e_rate)
{
	struct recording rc = {0};
	uint64_t cons_ns = 0, e2e_ns = 0, events;
	uint32_t passes;
	bool ok = load_recording(path, &rc);

	passes = ok ? (uint32_t)(STREAM_EVENTS / rc.n) : 0;
	passes = passes < 5 ? 5 : passes > 1000 ? 1000 : passes;
	/* each step frees exactly what it made: an error stops the loop */
	for (uint32_t p = 0; ok && p < passes; p++) {
		if (bench_setup(b, apply_noop, NULL)) {
			ok = false;
			break;
		}
		cons_ns += replay_pass(b, &rc);
		ok = check_consumer(b, rc.n, "recorded, no-op");
		kv_consumer_free(b->c);
		if (!ok || bench_setup(b, NULL, apply_sanitizer)) {
			ok = false;
			break;
		}
		ok = !make_sanitizer(&b->san, &b->g, 0);
		if (ok) {
			e2e_ns += replay_pass(b, &rc);
			ok = check_consumer(b, rc.n, "recorded, end to end");
			sanitizer_destroy(b->san);
		}
		kv_consumer_free(b->c);
	}
	if (ok) {
		events = (uint64_t)rc.n * passes;
		*cons_rate = rate(events, cons_ns);
		*e2e_rate = rate(events, e2e_ns);
		printf(
		    "recorded stream: %u events of a real test-guest run (%s), %u passes, a fresh "
		    "consumer and sanitizer each\n",
		    rc.n, path, passes);
		printf("%-44s %14.0f %12.1f %8s %s\n", "recorded: consumer (no-op apply)",
		       *cons_rate, (double)cons_ns / events, ">=2M/s",
		       *cons_rate >= 2e6 ? "ok" : "MISSED");
		printf("%-44s %14.0f %12.1f\n", "recorded: consumer + sanitizer, end to end",
		       *e2e_rate, (double)e2e_ns / events);
	}
	free(rc.bytes);
	free(rc.off);
	return ok;
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static struct bench b;
	uint64_t t_cons[ROUNDS], t_san[ROUNDS], t_san_cpu[ROUNDS], t_e2e[ROUNDS], extra, tc, ts, te;
	double load[1] = {0};
	struct sanitizer_stats sst;
	char self[4096];
	ssize_t n;
	long base_c, peak_c, base_u, peak_u;
	unsigned long long dc[5], du[5];
	const uint64_t cap_small = 1ull << 20, cap_big = 4ull << 30;
	const char *recording = getenv("BENCH_EVENTS_RECORDING");
	double rec_cons = 0, rec_e2e = 0;
	int rc = 0;

	if (argc == 3 && !strcmp(argv[1], "--rss-child"))
		return rss_child(strtoull(argv[2], NULL, 0));

	printf("== bench_events: paravirt consumer and sanitizer apply, host side, one core\n");
	printf("stream: %u cache creates, fill %u live slab objects, then free/alloc pairs on "
	       "random live objects,\n        ~3%% page alloc/free (order 0-2), %u-frame stacks "
	       "from %u distinct; %llu events per pass, %d rounds (median)\n",
	       NR_CACHES, LIVE_OBJECTS, STACK_FRAMES, NR_STACKS, (unsigned long long)STREAM_EVENTS,
	       ROUNDS);
	b.g.ram = calloc(1, RAM_SIZE);
	b.g.ram_size = RAM_SIZE;
	b.chunk = calloc(CHUNK_MAX, sizeof(*b.chunk));
	if (!b.g.ram || !b.chunk)
		return 1;

	for (int round = 0; round < ROUNDS; round++) {
		/* A: consumer, no-op apply */
		if (bench_setup(&b, apply_noop, NULL))
			return fprintf(stderr, "bench_events: consumer setup failed\n"), 1;
		t_cons[round] = run_stream(&b, STREAM_EVENTS, NULL, &extra);
		if (!check_consumer(&b, STREAM_EVENTS, "no-op"))
			rc = 1;
		kv_consumer_free(b.c);

		/* B: consumer captures, sanitizer replay timed alone */
		if (bench_setup(&b, apply_capture, NULL) || make_sanitizer(&b.san, &b.g, 0))
			return fprintf(stderr, "bench_events: setup failed\n"), 1;
		b.replay_cpu_ns = 0;
		run_stream(&b, STREAM_EVENTS, replay_chunk, &t_san[round]);
		t_san_cpu[round] = b.replay_cpu_ns;
		if (!check_consumer(&b, STREAM_EVENTS, "capture"))
			rc = 1;
		sanitizer_get_stats(b.san, &sst);
		if (sst.events != STREAM_EVENTS) {
			printf("  ERROR: sanitizer applied %llu events\n",
			       (unsigned long long)sst.events);
			rc = 1;
		}
		sanitizer_destroy(b.san);
		kv_consumer_free(b.c);

		/* C: end to end, the sanitizer as the consumer's apply */
		if (bench_setup(&b, NULL, apply_sanitizer) || make_sanitizer(&b.san, &b.g, 0))
			return fprintf(stderr, "bench_events: setup failed\n"), 1;
		t_e2e[round] = run_stream(&b, STREAM_EVENTS, NULL, &extra);
		if (!check_consumer(&b, STREAM_EVENTS, "end to end"))
			rc = 1;
		if (round == ROUNDS - 1)
			sanitizer_get_stats(b.san, &sst);
		sanitizer_destroy(b.san);
		kv_consumer_free(b.c);
	}
	tc = median(t_cons, ROUNDS);
	ts = median(t_san, ROUNDS);
	te = median(t_e2e, ROUNDS);
	printf("%-44s %14s %12s %8s\n", "pass", "events/s", "ns/event", "goal");
	printf("%-44s %14.0f %12.1f %8s %s\n", "consumer (validate+decode+order, no-op apply)",
	       rate(STREAM_EVENTS, tc), (double)tc / STREAM_EVENTS, ">=2M/s",
	       rate(STREAM_EVENTS, tc) >= 2e6 ? "ok" : "MISSED");
	printf("%-44s %14.0f %12.1f %8s %s\n", "sanitizer_apply_events (shadow+objects+depot)",
	       rate(STREAM_EVENTS, ts), (double)ts / STREAM_EVENTS, ">=2M/s",
	       rate(STREAM_EVENTS, ts) >= 2e6 ? "ok" : "MISSED");
	printf("%-44s %14.0f %12.1f\n", "  the same, replay thread's CPU time",
	       rate(STREAM_EVENTS, median(t_san_cpu, ROUNDS)),
	       (double)median(t_san_cpu, ROUNDS) / STREAM_EVENTS);
	printf("%-44s %14.0f %12.1f\n", "consumer + sanitizer, end to end", rate(STREAM_EVENTS, te),
	       (double)te / STREAM_EVENTS);
	/* other work on the shared cores shows in wall time (and in the CPU time, via caches) */
	if (getloadavg(load, 1) == 1)
		printf("load average (1 min) after the passes: %.2f on %ld cores\n", load[0],
		       sysconf(_SC_NPROCESSORS_ONLN));
	printf("ratio apply cost / consumer cost: %.2f\n", tc ? (double)ts / (double)tc : 0.0);
	if (recording && !replay_recording(&b, recording, &rec_cons, &rec_e2e))
		rc = 1;
	printf(
	    "sanitizer after one pass: %llu objects tracked, %llu untracked, %llu stale dropped, "
	    "%llu unknown frees, %llu reports;\n  depot %llu records, %llu saves, %llu dedup "
	    "hits; quarantine %llu objects, %llu evicted\n",
	    (unsigned long long)sst.objects, (unsigned long long)sst.untracked,
	    (unsigned long long)sst.stale_dropped, (unsigned long long)sst.unknown_frees,
	    (unsigned long long)sst.reports, (unsigned long long)sst.depot.records,
	    (unsigned long long)sst.depot.saves, (unsigned long long)sst.depot.dedup_hits,
	    (unsigned long long)sst.quarantine_count, (unsigned long long)sst.quarantine_evicted);
	if (sst.reports)
		printf("  note: the stream produced reports (not expected from a consistent "
		       "stream)\n");

	/* RSS: separate processes so that each peak is its own. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	printf("peak RSS feeding %u alloc/free pairs, %u distinct %u-frame stacks (child "
	       "processes):\n",
	       RSS_PAIRS, 2 * RSS_PAIRS, STACK_FRAMES);
	if (!rss_run(self, cap_small, &base_c, &peak_c, dc) ||
	    !rss_run(self, cap_big, &base_u, &peak_u, du)) {
		printf("  ERROR: RSS child failed\n");
		return 1;
	}
	printf("  %-22s %10s %10s %10s %12s %10s %10s\n", "depot cap", "start KiB", "peak KiB",
	       "records", "depot bytes", "evicted", "failed");
	printf("  %-22s %10ld %10ld %10llu %12llu %10llu %10llu\n", "1 MiB (capped)", base_c,
	       peak_c, dc[0], dc[1], dc[2], dc[3]);
	printf("  %-22s %10ld %10ld %10llu %12llu %10llu %10llu\n", "4 GiB (uncapped)", base_u,
	       peak_u, du[0], du[1], du[2], du[3]);
	printf("  peak RSS growth capped / uncapped: %ld / %ld KiB\n", peak_c - base_c,
	       peak_u - base_u);
	printf("bench_events: consumer %.2f M events/s, sanitizer %.2f M events/s, apply/consumer "
	       "%.2f, RSS capped %ld KiB vs uncapped %ld KiB",
	       rate(STREAM_EVENTS, tc) / 1e6, rate(STREAM_EVENTS, ts) / 1e6,
	       tc ? (double)ts / (double)tc : 0.0, peak_c, peak_u);
	if (recording)
		printf("; recorded stream consumer %.2f M events/s, end to end %.2f M events/s",
		       rec_cons / 1e6, rec_e2e / 1e6);
	printf("\n");
	free(b.chunk);
	free(b.g.ram);
	return rc;
}
