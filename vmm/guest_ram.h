/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM as the VMM sees it: the always read-write host alias of guest
 * physical memory. Pure data plus bounds-checked translation, so loaders and
 * table writers can be unit-tested on a plain buffer without KVM.
 *
 * Layout (x86): RAM is one contiguous block from GPA 0 up to
 * min(size, GUEST_RAM_LOW_MAX); anything beyond lives at 4 GiB and up, which
 * leaves the usual MMIO hole below 4 GiB (LAPIC, IOAPIC).
 */
#ifndef VMM_GUEST_RAM_H
#define VMM_GUEST_RAM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_RAM_LOW_MAX  0xC0000000ull /* 3 GiB */
#define GUEST_RAM_HIGH_GPA 0x100000000ull

struct guest_ram {
	uint8_t *alias; /* host alias, read-write, covers `size` bytes */
	uint64_t size;	/* total RAM bytes */
};

/* Bytes of RAM below the hole. */
static inline uint64_t guest_ram_low_size(const struct guest_ram *ram)
{
	return ram->size < GUEST_RAM_LOW_MAX ? ram->size : GUEST_RAM_LOW_MAX;
}

/*
 * Host pointer for [gpa, gpa + len) if the whole range is RAM (and does not
 * cross the hole), else NULL. Every access to guest memory on behalf of the
 * guest goes through this check.
 */
static inline void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	uint64_t low = guest_ram_low_size(ram);

	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= low)
		return ram->alias + gpa;
	if (gpa >= GUEST_RAM_HIGH_GPA && gpa + len <= GUEST_RAM_HIGH_GPA + (ram->size - low))
		return ram->alias + low + (gpa - GUEST_RAM_HIGH_GPA);
	return NULL;
}

#endif /* VMM_GUEST_RAM_H */
