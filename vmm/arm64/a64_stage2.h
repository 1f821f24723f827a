/* SPDX-License-Identifier: MIT */
/*
 * Stage-2 trapping of guest RAM pages through memslot holes (arm64).
 *
 * RAM is registered with KVM as fixed-size regions, one memslot each. Arming
 * a page punches a 4 KiB hole in its region: the region becomes the runs of
 * unarmed pages around the holes, one memslot per run, and every guest
 * access to a hole exits to the VMM (as MMIO with ISV, or KVM_EXIT_ARM_NISV).
 * Only the runs that change are replaced, so arming touches one small region.
 *
 * Portable: KVM is reached only through the set_slot callback, so the
 * bookkeeping is unit-tested on x86. Thread-safe (one mutex).
 */
#ifndef VMM_ARM64_A64_STAGE2_H
#define VMM_ARM64_A64_STAGE2_H

#include <stdbool.h>
#include <stdint.h>

#define A64_STAGE2_PAGE 4096ull

/*
 * Create (size > 0) or delete (size 0) memslot `slot`: IPA [ipa, ipa + size)
 * backed by RAM bytes [offset, offset + size). 0 or -errno.
 */
typedef int (*a64_set_slot_fn)(void *ctx, uint32_t slot, uint64_t ipa, uint64_t size,
			       uint64_t offset);

struct a64_stage2_config {
	uint64_t ram_ipa, ram_size; /* page-aligned */
	uint32_t nr_slots;	    /* memslot ids 0..nr_slots-1 are ours */
	uint64_t region_size;	    /* 0: 2 MiB, doubled until regions use <= half the slots */
	a64_set_slot_fn set_slot;
	void *ctx;
};

struct a64_stage2;

/* Registers all of RAM (one memslot per region). -errno with a message on failure. */
int a64_stage2_create(const struct a64_stage2_config *cfg, struct a64_stage2 **out);
void a64_stage2_destroy(struct a64_stage2 *s);

/*
 * Arm (trap) or disarm one page (ipa rounded down). Idempotent. -EINVAL if
 * not RAM, -ENOSPC when out of memslots (nothing changed).
 */
int a64_stage2_arm(struct a64_stage2 *s, uint64_t ipa);
int a64_stage2_disarm(struct a64_stage2 *s, uint64_t ipa);
bool a64_stage2_armed(struct a64_stage2 *s, uint64_t ipa);

uint64_t a64_stage2_region_size(const struct a64_stage2 *s);
uint32_t a64_stage2_slots_in_use(struct a64_stage2 *s);
uint64_t a64_stage2_pages_armed(struct a64_stage2 *s);

#endif /* VMM_ARM64_A64_STAGE2_H */
