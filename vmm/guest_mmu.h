/* SPDX-License-Identifier: MIT */
/*
 * Guest page-table walks (x86): translate a guest virtual address with the
 * guest's own CR0/CR3/CR4/EFER. Reads page tables only through
 * guest_ram_ptr(), so a hostile table cannot point the VMM outside RAM.
 */
#ifndef VMM_GUEST_MMU_H
#define VMM_GUEST_MMU_H

#include <stdint.h>
#include "vmm/guest_ram.h"

struct mmu_state {
	uint64_t cr0, cr3, cr4, efer;
};

/* 0 and *gpa on success; -EFAULT if not mapped or a table lies outside RAM. */
int mmu_translate(const struct guest_ram *ram, const struct mmu_state *st, uint64_t gva,
		  uint64_t *gpa);

/* Copy len bytes at gva (may cross pages); -EFAULT if any byte is unmapped. */
int mmu_read(const struct guest_ram *ram, const struct mmu_state *st, uint64_t gva, void *buf,
	     uint64_t len);

/*
 * Reverse lookup: the first virtual address in [va_start, va_end) that maps
 * gpa (4-level long mode only). Walks present entries only, so it costs what
 * the mapped part of the range costs; used once per report, not per access.
 */
int mmu_find_va(const struct guest_ram *ram, const struct mmu_state *st, uint64_t va_start,
		uint64_t va_end, uint64_t gpa, uint64_t *va);

#endif /* VMM_GUEST_MMU_H */
