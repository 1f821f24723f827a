// SPDX-License-Identifier: MIT
/*
 * Guest RAM as KVM memslots, and the three ways of protecting one page.
 *
 * RAM is cut into fixed-size regions (2 MiB unless the memslot cap forces
 * larger ones: the base layout may use at most half of the usable slots, the
 * rest is for splits). An unprotected region is one memslot. With the hole or
 * read-only mechanism, a region holding protected pages is a list of runs of
 * equally protected pages, one memslot per run (none for a hole); changing one
 * page replaces only the runs that differ. mprotect leaves the memslots alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "ept/ept_internal.h"

#define BASE_SLOT_SIZE	       (2ull << 20)
#define DEFAULT_RESERVED_SLOTS 16
#define VMAS_KEPT_FOR_PROCESS  4096

static int kvm_set_slot(struct ept *ept, int slot, uint64_t gpa, uint64_t size, uint64_t offset,
			uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
	    .slot = (uint32_t)slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = size ? (uintptr_t)(ept->cfg.kvm_map + offset) : 0,
	};

	if (ioctl(ept->cfg.vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return 0;
}

static int run_set(struct ept *ept, struct ept_region *rg, const struct ept_run *run)
{
	uint64_t off = (uint64_t)run->first << EPT_PAGE_SHIFT;
	uint32_t flags = run->prot ? KVM_MEM_READONLY : 0;

	return kvm_set_slot(ept, run->slot, rg->gpa + off, (uint64_t)run->count << EPT_PAGE_SHIFT,
			    rg->offset + off, flags);
}

static long read_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long n = 65530;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = 65530;
		fclose(f);
	}
	return n;
}

static uint32_t regions_for(const struct ept *ept, uint64_t slot_size)
{
	uint32_t n = 0;

	for (unsigned int i = 0; i < ept->cfg.nr_ranges; i++)
		n += (ept->cfg.ranges[i].size + slot_size - 1) / slot_size;
	return n;
}

static int choose_slot_size(struct ept *ept)
{
	int cap = ept->cfg.nr_memslots;
	unsigned int reserved =
	    ept->cfg.reserved_memslots ? ept->cfg.reserved_memslots : DEFAULT_RESERVED_SLOTS;

	if (cap <= 0)
		cap = ioctl(ept->cfg.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (cap <= 0)
		cap = ioctl(ept->cfg.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (cap <= (int)reserved + 2) {
		ept_log(ept, 0, "ept: KVM offers %d memslots, too few", cap);
		return -ENOSPC;
	}
	ept->slot_cap = cap - (int)reserved;
	ept->slot_size = BASE_SLOT_SIZE;
	while (regions_for(ept, ept->slot_size) > (uint32_t)ept->slot_cap / 2)
		ept->slot_size *= 2;
	return 0;
}

static int build_regions(struct ept *ept)
{
	uint32_t n = 0;

	ept->nr_regions = regions_for(ept, ept->slot_size);
	ept->regions = calloc(ept->nr_regions, sizeof(*ept->regions));
	ept->free_slots = calloc(ept->slot_cap, sizeof(int));
	if (!ept->regions || !ept->free_slots)
		return -ENOMEM;
	for (unsigned int i = 0; i < ept->cfg.nr_ranges; i++) {
		const struct ept_ram_range *r = &ept->cfg.ranges[i];

		ept->range_first_region[i] = n;
		for (uint64_t off = 0; off < r->size; off += ept->slot_size, n++) {
			struct ept_region *rg = &ept->regions[n];
			uint64_t size =
			    r->size - off < ept->slot_size ? r->size - off : ept->slot_size;

			rg->gpa = r->gpa + off;
			rg->offset = r->offset + off;
			rg->size = size;
			rg->one =
			    (struct ept_run){0, (uint32_t)(size >> EPT_PAGE_SHIFT), false, (int)n};
			rg->runs = &rg->one;
			rg->nr_runs = 1;
		}
	}
	/* Free ids, lowest on top of the stack. */
	for (int id = ept->slot_cap - 1; id >= (int)n; id--)
		ept->free_slots[ept->nr_free_slots++] = id;
	return 0;
}

int ept_slots_init(struct ept *ept)
{
	int ret = choose_slot_size(ept);

	if (!ret)
		ret = build_regions(ept);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < ept->nr_regions; i++) {
		ret = run_set(ept, &ept->regions[i], &ept->regions[i].one);
		if (ret) {
			ept_log(ept, 0, "ept: guest RAM memslot %u at gpa 0x%llx: %s", i,
				(unsigned long long)ept->regions[i].gpa, strerror(-ret));
			return ret;
		}
	}
	ept->vma_budget = (read_max_map_count() - VMAS_KEPT_FOR_PROCESS) / 2;
	return 0;
}

void ept_slots_destroy(struct ept *ept)
{
	for (uint32_t i = 0; ept->regions && i < ept->nr_regions; i++) {
		if (ept->regions[i].runs != &ept->regions[i].one)
			free(ept->regions[i].runs);
	}
	free(ept->regions);
	free(ept->free_slots);
}

uint64_t ept_slots_in_use(const struct ept *ept)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < ept->nr_regions; i++) {
		for (uint32_t j = 0; j < ept->regions[i].nr_runs; j++)
			n += ept->regions[i].runs[j].slot >= 0;
	}
	return n;
}

static struct ept_region *region_of(struct ept *ept, uint64_t page, uint32_t *first)
{
	uint64_t off = page << EPT_PAGE_SHIFT;

	for (unsigned int i = 0; i < ept->cfg.nr_ranges; i++) {
		const struct ept_ram_range *r = &ept->cfg.ranges[i];
		struct ept_region *rg;

		if (off < r->offset || off >= r->offset + r->size)
			continue;
		rg = &ept->regions[ept->range_first_region[i] + (off - r->offset) / ept->slot_size];
		*first = (uint32_t)((rg->offset) >> EPT_PAGE_SHIFT);
		return rg;
	}
	return NULL;
}

/* The runs a region needs for the current protection bitmap. */
static uint32_t compute_runs(struct ept *ept, struct ept_region *rg, uint32_t first_page,
			     struct ept_run *out)
{
	uint32_t pages = (uint32_t)(rg->size >> EPT_PAGE_SHIFT), n = 0;
	bool hole = ept->mech == EPT_MECH_HOLE;

	for (uint32_t p = 0; p < pages;) {
		bool prot = ept_bit(ept->prot, first_page + p);
		uint32_t q = p + 1;

		while (q < pages && ept_bit(ept->prot, first_page + q) == prot)
			q++;
		if (!(hole && prot))
			out[n++] = (struct ept_run){p, q - p, prot, -1};
		p = q;
	}
	return n;
}

static bool same_run(const struct ept_run *a, const struct ept_run *b)
{
	return a->first == b->first && a->count == b->count && a->prot == b->prot;
}

/* Marks runs present in both lists (keeping their slot ids); returns how many match. */
static uint32_t match_runs(struct ept_region *rg, struct ept_run *nw, uint32_t n, bool *kept_old)
{
	uint32_t i = 0, j = 0, kept = 0;

	while (i < rg->nr_runs && j < n) {
		if (same_run(&rg->runs[i], &nw[j])) {
			nw[j].slot = rg->runs[i].slot;
			kept_old[i] = true;
			kept++;
			i++;
			j++;
		} else if (rg->runs[i].first < nw[j].first) {
			i++;
		} else {
			j++;
		}
	}
	return kept;
}

static int store_runs(struct ept_region *rg, struct ept_run *nw, uint32_t n)
{
	if (n == 1) {
		if (rg->runs != &rg->one)
			free(rg->runs);
		rg->one = nw[0];
		rg->runs = &rg->one;
		free(nw);
	} else {
		if (rg->runs != &rg->one)
			free(rg->runs);
		rg->runs = nw;
	}
	rg->nr_runs = n;
	return 0;
}

/* Replace the memslots of one region that differ from what the bitmap needs. */
static int relayout(struct ept *ept, struct ept_region *rg, uint32_t first_page)
{
	uint32_t pages = (uint32_t)(rg->size >> EPT_PAGE_SHIFT);
	struct ept_run *nw = calloc(pages + 1, sizeof(*nw));
	bool *kept_old = calloc(rg->nr_runs + 1, sizeof(bool));
	uint32_t n, kept;
	int ret = 0;

	if (!nw || !kept_old) {
		free(nw);
		free(kept_old);
		return -ENOMEM;
	}
	n = compute_runs(ept, rg, first_page, nw);
	kept = match_runs(rg, nw, n, kept_old);
	if (n - kept > (uint32_t)ept->nr_free_slots + (rg->nr_runs - kept)) {
		free(nw);
		free(kept_old);
		return -ENOSPC;
	}
	/* Delete first: KVM refuses overlapping slots. Meanwhile no vCPU may run. */
	ept_gate_close(ept);
	for (uint32_t i = 0; i < rg->nr_runs; i++) {
		if (kept_old[i] || rg->runs[i].slot < 0)
			continue;
		if (kvm_set_slot(ept, rg->runs[i].slot, 0, 0, 0, 0) < 0 && !ret)
			ret = -errno;
		ept->free_slots[ept->nr_free_slots++] = rg->runs[i].slot;
	}
	for (uint32_t j = 0; j < n; j++) {
		if (nw[j].slot >= 0)
			continue;
		nw[j].slot = ept->free_slots[--ept->nr_free_slots];
		if (run_set(ept, rg, &nw[j]) < 0 && !ret)
			ret = -errno;
	}
	ept_gate_open(ept);
	free(kept_old);
	store_runs(rg, nw, n);
	return ret;
}

static int protect_mprotect(struct ept *ept, uint64_t page, bool on)
{
	uint8_t *addr = ept->cfg.kvm_map + (page << EPT_PAGE_SHIFT);

	if (on && ept->vma_budget <= 0)
		return -ENOSPC;
	if (mprotect(addr, EPT_PAGE_SIZE, on ? PROT_NONE : PROT_READ | PROT_WRITE) < 0)
		return errno == ENOMEM ? -ENOSPC : -errno;
	ept->vma_budget += on ? -1 : 1;
	return 0;
}

/* Apply `on` to one page and record it in ept->prot. Caller holds ept->lock. */
int ept_slots_protect(struct ept *ept, uint64_t page, bool on)
{
	struct ept_region *rg;
	uint32_t first;
	int ret;

	if (ept_bit(ept->prot, page) == on)
		return 0;
	if (ept->mech == EPT_MECH_MPROTECT) {
		ret = protect_mprotect(ept, page, on);
		if (!ret)
			ept->prot[page / 64] ^= 1ull << (page % 64);
		return ret;
	}
	rg = region_of(ept, page, &first);
	if (!rg)
		return -EINVAL;
	ept->prot[page / 64] ^= 1ull << (page % 64);
	ret = relayout(ept, rg, first);
	if (ret == -ENOSPC || ret == -ENOMEM)
		ept->prot[page / 64] ^= 1ull << (page % 64); /* nothing was changed */
	if (ret)
		ept_log(ept, ret == -ENOSPC ? 3 : 1, "ept: %s page 0x%llx: %s",
			on ? "protecting" : "unprotecting",
			(unsigned long long)(page << EPT_PAGE_SHIFT), strerror(-ret));
	return ret;
}
