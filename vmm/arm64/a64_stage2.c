// SPDX-License-Identifier: MIT
/*
 * Memslot-hole bookkeeping. Each region keeps a bitmap of its armed pages and
 * its current runs (maximal stretches of unarmed pages, each one memslot).
 * A change recomputes the region's runs, keeps the slots of runs that did
 * not change, deletes the old ones that did (first: KVM refuses overlapping
 * slots) and creates the new ones.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/arm64/a64_stage2.h"
#include "vmm/log.h"

#define BASE_REGION (2ull << 20)

struct run {
	uint32_t first, count; /* pages within the region */
	uint32_t slot;
};

struct region {
	uint64_t ipa, offset;
	uint32_t pages;
	uint32_t nr_runs;
	struct run *runs; /* at most pages / 2 + 1 */
	uint64_t *armed;  /* bitmap, pages bits */
};

struct a64_stage2 {
	struct a64_stage2_config cfg;
	pthread_mutex_t lock;
	uint64_t region_size;
	uint32_t nr_regions;
	struct region *regions;
	uint32_t *free_slots; /* stack of unused ids, lowest on top */
	uint32_t nr_free;
	uint64_t pages_armed;
};

static bool bit(const uint64_t *map, uint32_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static uint32_t compute_runs(const struct region *rg, struct run *out)
{
	uint32_t n = 0;

	for (uint32_t p = 0; p < rg->pages;) {
		uint32_t q = p;

		while (q < rg->pages && !bit(rg->armed, q))
			q++;
		if (q > p)
			out[n++] = (struct run){p, q - p, UINT32_MAX};
		while (q < rg->pages && bit(rg->armed, q))
			q++;
		p = q;
	}
	return n;
}

static int set_run(struct a64_stage2 *s, const struct region *rg, const struct run *r)
{
	uint64_t off = (uint64_t)r->first * A64_STAGE2_PAGE;

	return s->cfg.set_slot(s->cfg.ctx, r->slot, rg->ipa + off,
			       (uint64_t)r->count * A64_STAGE2_PAGE, rg->offset + off);
}

/* Replace the region's memslots by those its bitmap needs. */
static int relayout(struct a64_stage2 *s, struct region *rg)
{
	struct run *nw = malloc((rg->pages / 2 + 1) * sizeof(*nw));
	bool *kept = calloc(rg->nr_runs + 1, sizeof(*kept));
	uint32_t n, need = 0, freed = 0;
	int ret = 0;

	if (!nw || !kept) {
		free(nw);
		free(kept);
		return -ENOSPC; /* as "nothing changed": the caller undoes its bit */
	}
	n = compute_runs(rg, nw);
	for (uint32_t j = 0; j < n; j++) {
		for (uint32_t i = 0; i < rg->nr_runs && nw[j].slot == UINT32_MAX; i++) {
			if (rg->runs[i].first == nw[j].first && rg->runs[i].count == nw[j].count) {
				nw[j].slot = rg->runs[i].slot;
				kept[i] = true;
			}
		}
		need += nw[j].slot == UINT32_MAX;
	}
	for (uint32_t i = 0; i < rg->nr_runs; i++)
		freed += !kept[i];
	if (need > s->nr_free + freed) {
		free(nw);
		free(kept);
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < rg->nr_runs; i++) {
		int err;

		if (kept[i])
			continue;
		err = s->cfg.set_slot(s->cfg.ctx, rg->runs[i].slot, 0, 0, 0);
		if (err && !ret) {
			pr_err("stage-2: deleting memslot %u: %s", rg->runs[i].slot,
			       strerror(-err));
			ret = err == -ENOSPC ? -EIO : err; /* -ENOSPC: "nothing changed" */
		}
		s->free_slots[s->nr_free++] = rg->runs[i].slot;
	}
	for (uint32_t j = 0; j < n; j++) {
		int err;

		if (nw[j].slot != UINT32_MAX)
			continue;
		nw[j].slot = s->free_slots[--s->nr_free];
		err = set_run(s, rg, &nw[j]);
		if (err && !ret) {
			pr_err(
			    "stage-2: memslot %u for IPA 0x%llx (%u pages): %s", nw[j].slot,
			    (unsigned long long)(rg->ipa + (uint64_t)nw[j].first * A64_STAGE2_PAGE),
			    nw[j].count, strerror(-err));
			ret = err == -ENOSPC ? -EIO : err;
		}
	}
	memcpy(rg->runs, nw, n * sizeof(nw[0]));
	rg->nr_runs = n;
	free(nw);
	free(kept);
	return ret;
}

static int build_regions(struct a64_stage2 *s)
{
	uint32_t id = 0;
	int ret;

	s->regions = calloc(s->nr_regions, sizeof(*s->regions));
	s->free_slots = calloc(s->cfg.nr_slots, sizeof(*s->free_slots));
	if (!s->regions || !s->free_slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nr_regions; i++) {
		struct region *rg = &s->regions[i];
		uint64_t off = (uint64_t)i * s->region_size;
		uint64_t size = s->cfg.ram_size - off;

		rg->ipa = s->cfg.ram_ipa + off;
		rg->offset = off;
		rg->pages =
		    (uint32_t)((size < s->region_size ? size : s->region_size) / A64_STAGE2_PAGE);
		rg->runs = calloc(rg->pages / 2 + 1, sizeof(*rg->runs));
		rg->armed = calloc((rg->pages + 63) / 64, sizeof(uint64_t));
		if (!rg->runs || !rg->armed)
			return -ENOMEM;
		rg->runs[0] = (struct run){0, rg->pages, id++};
		rg->nr_runs = 1;
		ret = set_run(s, rg, &rg->runs[0]);
		if (ret) {
			pr_err("stage-2: memslot %u for RAM at IPA 0x%llx (%u pages): %s",
			       rg->runs[0].slot, (unsigned long long)rg->ipa, rg->pages,
			       strerror(-ret));
			return ret;
		}
	}
	for (uint32_t slot = s->cfg.nr_slots; slot-- > id;)
		s->free_slots[s->nr_free++] = slot;
	return 0;
}

int a64_stage2_create(const struct a64_stage2_config *cfg, struct a64_stage2 **out)
{
	struct a64_stage2 *s;
	int ret;

	*out = NULL;
	if (!cfg->set_slot || !cfg->ram_size || (cfg->ram_ipa | cfg->ram_size) % A64_STAGE2_PAGE ||
	    cfg->nr_slots < 2 || (cfg->region_size && cfg->region_size % A64_STAGE2_PAGE)) {
		pr_err("stage-2: bad RAM layout or slot count");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	/* Half the slots are left for the runs that holes create. */
	s->region_size = cfg->region_size ? cfg->region_size : BASE_REGION;
	while ((cfg->ram_size + s->region_size - 1) / s->region_size > cfg->nr_slots / 2)
		s->region_size *= 2;
	s->nr_regions = (uint32_t)((cfg->ram_size + s->region_size - 1) / s->region_size);
	ret = build_regions(s);
	if (ret) {
		a64_stage2_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

void a64_stage2_destroy(struct a64_stage2 *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->regions && i < s->nr_regions; i++) {
		free(s->regions[i].runs);
		free(s->regions[i].armed);
	}
	free(s->regions);
	free(s->free_slots);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct region *region_of(struct a64_stage2 *s, uint64_t ipa, uint32_t *page)
{
	uint64_t off = ipa - s->cfg.ram_ipa;
	struct region *rg;

	if (ipa < s->cfg.ram_ipa || off >= s->cfg.ram_size)
		return NULL;
	rg = &s->regions[off / s->region_size];
	*page = (uint32_t)((off % s->region_size) / A64_STAGE2_PAGE);
	return rg;
}

static int set_armed(struct a64_stage2 *s, uint64_t ipa, bool on)
{
	struct region *rg;
	uint32_t page;
	int ret;

	pthread_mutex_lock(&s->lock);
	rg = region_of(s, ipa, &page);
	if (!rg || bit(rg->armed, page) == on) {
		pthread_mutex_unlock(&s->lock);
		return rg ? 0 : -EINVAL;
	}
	rg->armed[page / 64] ^= 1ull << (page % 64);
	ret = relayout(s, rg);
	if (ret == -ENOSPC)
		rg->armed[page / 64] ^= 1ull << (page % 64); /* nothing was changed */
	else
		s->pages_armed += on ? 1 : -1;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int a64_stage2_arm(struct a64_stage2 *s, uint64_t ipa)
{
	return set_armed(s, ipa, true);
}

int a64_stage2_disarm(struct a64_stage2 *s, uint64_t ipa)
{
	return set_armed(s, ipa, false);
}

bool a64_stage2_armed(struct a64_stage2 *s, uint64_t ipa)
{
	struct region *rg;
	uint32_t page;
	bool on;

	pthread_mutex_lock(&s->lock);
	rg = region_of(s, ipa, &page);
	on = rg && bit(rg->armed, page);
	pthread_mutex_unlock(&s->lock);
	return on;
}

uint64_t a64_stage2_region_size(const struct a64_stage2 *s)
{
	return s->region_size;
}

uint32_t a64_stage2_slots_in_use(struct a64_stage2 *s)
{
	uint32_t n;

	pthread_mutex_lock(&s->lock);
	n = s->cfg.nr_slots - s->nr_free;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t a64_stage2_pages_armed(struct a64_stage2 *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->pages_armed;
	pthread_mutex_unlock(&s->lock);
	return n;
}
