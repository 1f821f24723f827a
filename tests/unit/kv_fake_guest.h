/* SPDX-License-Identifier: MIT */
/*
 * A fake guest for the paravirt consumer's tests, fuzz target and corpus
 * generator: a flat RAM buffer (GPA 0 up, no hole) plus a producer that
 * writes command blocks and ring records the way the ABI says a guest must.
 */
#ifndef KV_FAKE_GUEST_H
#define KV_FAKE_GUEST_H

#include <stdint.h>
#include <string.h>

#include "paravirt/kasan_vmm_abi.h"

/* Fixed layout of the fake guest's RAM. */
#define FG_REG_PFN	0x10u	      /* REGISTER block */
#define FG_SETUP_PFN(c) (0x11u + (c)) /* RING_SETUP block of CPU c */
#define FG_BYE_PFN	0x1fu	      /* GOODBYE block */
#define FG_RING_HDRS	0x20000u      /* ring headers, 256 bytes apart */
#define FG_SEQ_GPA	0x30000u      /* the global sequence counter */
#define FG_DIRECT_MAP	0xffff888000000000ull
#define FG_VMALLOC_LO	0xffffc90000000000ull
#define FG_VMALLOC_HI	0xffffe90000000000ull

struct fg_ring {
	struct kv_ring_hdr *hdr;
	uint8_t *data;
	uint64_t size;
	uint32_t cpu;
};

struct fg {
	uint8_t *ram;
	uint64_t ram_size;
	struct fg_ring rings[4];
};

static inline void *fg_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct fg *g = ctx;

	if (gpa > g->ram_size || len > g->ram_size - gpa)
		return NULL;
	return g->ram + gpa;
}

static inline void fg_cmd_hdr(struct kv_cmd_hdr *h, uint16_t cmd)
{
	h->magic = KV_CMD_MAGIC;
	h->abi_version = KV_ABI_VERSION;
	h->cmd = cmd;
	h->reserved = 0;
	h->status = KV_ST_PENDING;
}

static inline struct kv_cmd_register *fg_register_block(struct fg *g, uint32_t nr_cpus)
{
	struct kv_cmd_register *b = (void *)(g->ram + ((uint64_t)FG_REG_PFN << KV_PAGE_SHIFT));

	memset(b, 0, sizeof(*b));
	fg_cmd_hdr(&b->hdr, KV_CMD_REGISTER);
	b->guest_kind = KV_GUEST_LINUX;
	b->nr_cpus = nr_cpus;
	b->direct_map_base = FG_DIRECT_MAP;
	b->vmemmap_base = 0xffffea0000000000ull;
	b->vmalloc_start = FG_VMALLOC_LO;
	b->vmalloc_end = FG_VMALLOC_HI;
	b->text_start = 0xffffffff81000000ull;
	b->text_end = 0xffffffff82000000ull;
	b->seq_counter_gpa = FG_SEQ_GPA;
	b->task_pid_off = 0x560;
	b->task_comm_off = 0x738;
	b->task_struct_size = 0x2000;
	b->release_len = 5;
	memcpy(b->release, "6.1.0", 5);
	return b;
}

/* RING_SETUP block for CPU `cpu`, data area 1 << shift bytes at data_gpa. */
static inline struct kv_cmd_ring_setup *fg_setup_block(struct fg *g, uint32_t cpu, uint32_t shift,
						       uint64_t data_gpa)
{
	struct kv_cmd_ring_setup *b =
	    (void *)(g->ram + ((uint64_t)FG_SETUP_PFN(cpu) << KV_PAGE_SHIFT));
	struct fg_ring *r = &g->rings[cpu];

	memset(b, 0, sizeof(*b));
	fg_cmd_hdr(&b->hdr, KV_CMD_RING_SETUP);
	b->cpu = cpu;
	b->size_shift = shift;
	b->hdr_gpa = FG_RING_HDRS + cpu * KV_RING_HDR_SIZE;
	b->data_gpa = data_gpa;
	r->hdr = (void *)(g->ram + b->hdr_gpa);
	r->data = g->ram + data_gpa;
	r->size = 1ull << shift;
	r->cpu = cpu;
	memset(r->hdr, 0, sizeof(*r->hdr));
	r->hdr->magic = KV_RING_MAGIC;
	r->hdr->cpu = cpu;
	return b;
}

/* A record of `kind` with the fields every kind may use zeroed. */
static inline struct kv_rec fg_rec(uint16_t kind, uint32_t cpu, uint64_t seq)
{
	struct kv_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.cpu = cpu;
	r.seq = seq;
	r.pid = 42;
	r.tsc = seq * 1000;
	memcpy(r.comm, "fake", 5);
	return r;
}

/*
 * Write a record (frames and name appended, len filled in) at the ring's
 * head, padding to the end first when it would straddle it, and publish it.
 * Returns 0 when the ring is full.
 */
static inline int fg_emit(struct fg_ring *r, struct kv_rec rec, const uint64_t *frames,
			  const char *name)
{
	uint64_t head = r->hdr->head, pos;
	/* A preset len (tests of bad lengths) frames the record instead of the formula. */
	uint32_t len = rec.len ? rec.len : kv_rec_len(rec.nr_frames, rec.name_len);
	uint64_t claim = kv_ring_claim(head, kv_ring_tail(r->hdr), r->size, len);

	if (!claim)
		return 0;
	if (claim > len) {
		struct kv_rec pad = {.kind = KV_REC_PAD, .len = (uint16_t)(claim - len)};

		memcpy(r->data + (head & (r->size - 1)), &pad, KV_PAD_MIN_SIZE);
		head += claim - len;
	}
	pos = head & (r->size - 1);
	rec.len = (uint16_t)len;
	memset(r->data + pos, 0, len);
	memcpy(r->data + pos, &rec, sizeof(rec));
	if (len < kv_rec_len(rec.nr_frames, rec.name_len))
		frames = NULL, name = NULL;
	if (rec.nr_frames && frames)
		memcpy(r->data + pos + KV_REC_HDR_SIZE, frames, rec.nr_frames * 8u);
	if (rec.name_len && name)
		memcpy(r->data + pos + KV_REC_HDR_SIZE + rec.nr_frames * 8u, name, rec.name_len);
	r->hdr->emitted++;
	kv_ring_publish(r->hdr, head + len);
	return 1;
}

#endif /* KV_FAKE_GUEST_H */
