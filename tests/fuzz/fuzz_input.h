/* SPDX-License-Identifier: MIT */
/*
 * Input format of the consumer fuzz target, shared with its corpus generator.
 * The bytes are the interesting parts of a fake guest's RAM (command blocks,
 * ring headers, the start of each ring's data) plus a script of doorbells.
 * Missing bytes are zero. GPAs follow tests/unit/kv_fake_guest.h.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdint.h>
#include <string.h>

#include "tests/unit/kv_fake_guest.h"

#define FZ_RAM_SIZE    (1u << 20)
#define FZ_DATA_GPA(i) (0x40000u + (i)*0x40000u) /* room for a 256 KiB ring each */
#define FZ_DATA_BYTES  4096u			 /* of each ring's data in the input */
#define FZ_STEPS       15u

/* Script values that are not doorbells. */
#define FZ_END	   0u	       /* stop the script */
#define FZ_FLUSH   0xfffffff0u /* kv_consumer_flush */
#define FZ_TICK	   0xfffffff1u /* advance the clock by one second */
#define FZ_RESET   0xfffffff2u /* kv_consumer_reset */
#define FZ_PUBLISH 0xfffffff3u /* store publish_head[] into the ring headers */

/* fz_input.config bits */
#define FZ_CFG_BATCHED (1u << 16) /* events through apply_batch, as vmm/sanitize.c */
#define FZ_CFG_ARM64   (1u << 17) /* arm64 address rules (tags, linear-map offset) */

struct fz_input {
	uint32_t script[FZ_STEPS]; /* doorbell values (vCPU = step & 1) or FZ_* */
	uint32_t config;	   /* [7:0] mode % 3, [15:8] max_cpus - 1 (% 4), FZ_CFG_* */
	uint64_t publish_head[2];
	uint8_t reg[192];
	uint8_t setup[2][40];
	uint8_t bye[16];
	uint8_t ring_hdr[2][KV_RING_HDR_SIZE];
	uint8_t data[2][FZ_DATA_BYTES];
};

/* Where each section lives in guest RAM; `to_ram` copies input -> RAM, else RAM -> input. */
static inline void fz_place(struct fz_input *in, uint8_t *ram, int to_ram)
{
	struct {
		void *p;
		uint64_t gpa, len;
	} s[] = {
	    {in->reg, (uint64_t)FG_REG_PFN << KV_PAGE_SHIFT, sizeof(in->reg)},
	    {in->setup[0], (uint64_t)FG_SETUP_PFN(0) << KV_PAGE_SHIFT, sizeof(in->setup[0])},
	    {in->setup[1], (uint64_t)FG_SETUP_PFN(1) << KV_PAGE_SHIFT, sizeof(in->setup[1])},
	    {in->bye, (uint64_t)FG_BYE_PFN << KV_PAGE_SHIFT, sizeof(in->bye)},
	    {in->ring_hdr[0], FG_RING_HDRS, KV_RING_HDR_SIZE},
	    {in->ring_hdr[1], FG_RING_HDRS + KV_RING_HDR_SIZE, KV_RING_HDR_SIZE},
	    {in->data[0], FZ_DATA_GPA(0), FZ_DATA_BYTES},
	    {in->data[1], FZ_DATA_GPA(1), FZ_DATA_BYTES},
	};

	for (unsigned i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (to_ram)
			memcpy(ram + s[i].gpa, s[i].p, s[i].len);
		else
			memcpy(s[i].p, ram + s[i].gpa, s[i].len);
	}
}

#endif /* FUZZ_INPUT_H */
