/* SPDX-License-Identifier: MIT */
/*
 * Guest stack unwinding by frame pointers: [rbp] holds the caller's rbp and
 * [rbp + 8] the return address. The guest's stack is untrusted: every read
 * goes through the page-table walk and guest_ram_ptr(), frames must move up
 * the stack, and the walk stops at UNWIND_MAX_FRAMES.
 */
#ifndef VMM_UNWIND_H
#define VMM_UNWIND_H

#include <stdint.h>
#include "vmm/guest_mmu.h"

#define UNWIND_MAX_FRAMES 64

/* frames[0] = rip, then return addresses; returns how many were stored. */
unsigned int unwind_frame_pointers(const struct guest_ram *ram, const struct mmu_state *st,
				   uint64_t rip, uint64_t rbp, uint64_t *frames, unsigned int max);

#endif /* VMM_UNWIND_H */
