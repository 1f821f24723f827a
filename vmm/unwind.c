// SPDX-License-Identifier: MIT
#include "vmm/unwind.h"

/* Kernel addresses only: user space return addresses end a kernel stack trace. */
static int is_kernel_text(uint64_t a)
{
	return a >= 0xffff800000000000ull || (a >= 0x1000 && a < 0x100000000ull);
}

unsigned int unwind_frame_pointers(const struct guest_ram *ram, const struct mmu_state *st,
				   uint64_t rip, uint64_t rbp, uint64_t *frames, unsigned int max)
{
	unsigned int n = 0;

	if (max > UNWIND_MAX_FRAMES)
		max = UNWIND_MAX_FRAMES;
	if (!max)
		return 0;
	frames[n++] = rip;
	while (n < max && rbp && !(rbp & 7)) {
		uint64_t pair[2]; /* saved rbp, return address */

		if (mmu_read(ram, st, rbp, pair, sizeof(pair)))
			break;
		if (!is_kernel_text(pair[1]))
			break;
		frames[n++] = pair[1];
		if (pair[0] <= rbp) /* a frame must be above its callee's: no loops */
			break;
		rbp = pair[0];
	}
	return n;
}
