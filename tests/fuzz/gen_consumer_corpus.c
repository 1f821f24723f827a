/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of fuzz_consumer: valid guest streams (every event
 * kind, two interleaved rings, a ring that wraps with a pad record, a gap
 * that times out, async mode) in tests/fuzz/fuzz_input.h's format.
 *   gen_consumer_corpus OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_input.h"

static uint8_t ram[FZ_RAM_SIZE];
static struct fg g = {.ram = ram, .ram_size = FZ_RAM_SIZE};

/* A valid record of `kind` (1..15). */
static void emit_kind(uint32_t cpu, uint64_t seq, uint16_t kind)
{
	static const uint64_t frames[4] = {0xffffffff81100000ull, 0xffffffff81200000ull,
					   0xffffffff81300000ull, 0xffffffffc0001000ull};
	struct kv_rec r = fg_rec(kind, cpu, seq);
	const char *name = NULL;

	r.addr = FG_DIRECT_MAP + 0x80000 + seq * 0x100;
	r.nr_frames = (uint8_t)(seq % 5);
	switch (kind) {
	case KV_EV_CACHE_CREATE:
		name = "kmalloc-128", r.size_req = 120, r.size_alloc = 128, r.freeptr_offset = 64;
		break;
	case KV_EV_SLAB_ALLOC:
	case KV_EV_KMALLOC_LARGE:
	case KV_EV_KREALLOC:
		r.size_req = 120, r.size_alloc = 128, r.old_addr = r.addr - 0x100;
		break;
	case KV_EV_PAGE_ALLOC:
	case KV_EV_PAGE_FREE:
		r.pfn = 0x90, r.order = 1, r.addr = FG_DIRECT_MAP + 0x90000;
		break;
	case KV_EV_VMALLOC:
	case KV_EV_VFREE:
		r.addr = FG_VMALLOC_LO + seq * 0x2000, r.size_req = 5000, r.size_alloc = 8192;
		break;
	case KV_EV_MODULE_LOAD:
	case KV_EV_MODULE_UNLOAD:
		name = "test_mod", r.addr = 0xffffffffc0000000ull, r.size_req = 0x4000;
		break;
	}
	if (name)
		r.name_len = (uint8_t)strlen(name);
	r.cache_id = kind == KV_EV_CACHE_CREATE || kind == KV_EV_SLAB_ALLOC ? 5 : 0;
	if (!fg_emit(&g.rings[cpu], r, frames, name))
		abort();
}

/* Guest with `n` rings of 1 << shift bytes; ring i starts at byte counter start[i]. */
static void setup(uint32_t n, uint32_t shift, const uint64_t *start)
{
	memset(ram, 0, sizeof(ram));
	fg_register_block(&g, 2);
	for (uint32_t i = 0; i < n; i++) {
		fg_setup_block(&g, i, shift, FZ_DATA_GPA(i));
		g.rings[i].hdr->head = g.rings[i].hdr->tail = start ? start[i] : 0;
	}
	fg_cmd_hdr((void *)(ram + ((uint64_t)FG_BYE_PFN << KV_PAGE_SHIFT)), KV_CMD_GOODBYE);
}

/* Move the published heads aside (the script publishes them after RING_SETUP) and write. */
static void save(const char *dir, const char *name, uint32_t config, const uint32_t *script,
		 uint32_t n, const uint64_t *start)
{
	struct fz_input in;
	char path[512];
	FILE *f;

	memset(&in, 0, sizeof(in));
	for (uint32_t i = 0; i < 2; i++) {
		if (!g.rings[i].hdr)
			continue;
		in.publish_head[i] = g.rings[i].hdr->head;
		g.rings[i].hdr->head = g.rings[i].hdr->tail = start ? start[i] : 0;
		g.rings[i].hdr->emitted = 0;
	}
	fz_place(&in, ram, 0);
	in.config = config;
	memcpy(in.script, script, n * sizeof(*script));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&in, sizeof(in), 1, f) != 1 || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const uint32_t two[] = {FG_REG_PFN, FG_SETUP_PFN(0), FG_SETUP_PFN(1),
				FZ_PUBLISH, KV_DB_DRAIN,     FG_BYE_PFN};
	const uint32_t gap[] = {FG_REG_PFN,  FG_SETUP_PFN(0), FZ_PUBLISH,
				KV_DB_DRAIN, FZ_TICK,	      KV_DB_DRAIN};
	const uint64_t near_end[2] = {4096 - 40, 0};
	uint64_t seq = 1;

	if (argc != 2)
		return 2;
	/* every kind, interleaved over two rings, sync; then through apply_batch and
	 * under arm64's address rules */
	for (uint32_t v = 0; v < 3; v++) {
		static const char *const names[] = {"sync_all_kinds", "sync_all_kinds_batched",
						    "sync_all_kinds_arm64"};
		static const uint32_t extra[] = {0, FZ_CFG_BATCHED, FZ_CFG_ARM64};

		setup(2, 12, NULL);
		for (seq = 1; seq <= KV_EV_KIND_MAX; seq++)
			emit_kind(seq % 2, seq, (uint16_t)seq);
		save(argv[1], names[v], KV_MODE_SYNC | 1u << 8 | extra[v], two, 6, NULL);
	}

	/* ring 0 starts 40 bytes before its end: a pad record, then a wrap */
	setup(2, 12, near_end);
	for (seq = 1; seq <= 12; seq++)
		emit_kind(seq % 3 == 0, seq, KV_EV_SLAB_ALLOC);
	save(argv[1], "sync_wrap_pad", KV_MODE_SYNC | 1u << 8, two, 6, near_end);

	/* seq 2 never arrives: the drain waits, then skips it after the timeout */
	setup(1, 12, NULL);
	emit_kind(0, 1, KV_EV_SLAB_ALLOC);
	emit_kind(0, 3, KV_EV_SLAB_FREE);
	emit_kind(0, 4, KV_EV_KSIZE);
	save(argv[1], "sync_gap_timeout", KV_MODE_SYNC, gap, 6, NULL);

	/* async and asymm need 256 KiB rings */
	for (uint32_t mode = KV_MODE_ASYNC; mode <= KV_MODE_ASYMM; mode++) {
		setup(2, 18, NULL);
		for (seq = 1; seq <= 20; seq++)
			emit_kind(seq % 2, seq, (uint16_t)(1 + seq % KV_EV_KIND_MAX));
		save(argv[1], mode == KV_MODE_ASYNC ? "async_mixed" : "asymm_mixed", mode | 1u << 8,
		     two, 6, NULL);
	}
	return 0;
}
