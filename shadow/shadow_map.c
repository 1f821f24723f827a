/* SPDX-License-Identifier: MIT */
#include "shadow/shadow_map.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define SHADOW_PER_PAGE (SHADOW_PAGE_SIZE / SHADOW_GRANULE) /* 512 */

int shadow_layout_init(struct shadow_ram_layout *l, const struct shadow_ram_range *ranges,
		       unsigned int nr)
{
	uint64_t total = 0, prev_end = 0;

	if (!ranges || nr == 0 || nr > SHADOW_MAX_RANGES)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	for (unsigned int i = 0; i < nr; i++) {
		const struct shadow_ram_range *r = &ranges[i];

		if (r->size == 0 || (r->gpa | r->size) & (SHADOW_PAGE_SIZE - 1))
			return -EINVAL;
		if (r->gpa + r->size < r->gpa || (i && r->gpa < prev_end))
			return -EINVAL;
		l->r[i] = *r;
		l->base[i] = total;
		total += r->size;
		prev_end = r->gpa + r->size;
	}
	l->nr = nr;
	l->total = total;
	return 0;
}

bool shadow_layout_index(const struct shadow_ram_layout *l, uint64_t gpa, uint64_t *index)
{
	for (unsigned int i = 0; i < l->nr; i++) {
		if (gpa >= l->r[i].gpa && gpa - l->r[i].gpa < l->r[i].size) {
			*index = l->base[i] + (gpa - l->r[i].gpa);
			return true;
		}
	}
	return false;
}

/* Index of [gpa, gpa + len) if it lies inside one RAM range. */
static bool layout_span(const struct shadow_ram_layout *l, uint64_t gpa, uint64_t len,
			uint64_t *index)
{
	for (unsigned int i = 0; i < l->nr; i++) {
		const struct shadow_ram_range *r = &l->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa)) {
			*index = l->base[i] + (gpa - r->gpa);
			return true;
		}
	}
	return false;
}

void *shadow_lazy_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void shadow_lazy_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

int shadow_map_init(struct shadow_map *m, const struct shadow_ram_range *ranges, unsigned int nr,
		    shadow_notify_fn notify, void *notify_ctx)
{
	int err;

	memset(m, 0, sizeof(*m));
	err = shadow_layout_init(&m->layout, ranges, nr);
	if (err)
		return err;
	m->bytes_len = m->layout.total / SHADOW_GRANULE;
	m->dirty_len = (m->layout.total / SHADOW_PAGE_SIZE) * sizeof(uint16_t);
	m->bytes = shadow_lazy_alloc(m->bytes_len);
	m->page_dirty = shadow_lazy_alloc(m->dirty_len);
	if (!m->bytes || !m->page_dirty) {
		shadow_map_destroy(m);
		return -ENOMEM;
	}
	m->notify = notify;
	m->notify_ctx = notify_ctx;
	return 0;
}

void shadow_map_destroy(struct shadow_map *m)
{
	shadow_lazy_free(m->bytes, m->bytes_len);
	shadow_lazy_free(m->page_dirty, m->dirty_len);
	m->bytes = NULL;
	m->page_dirty = NULL;
}

bool shadow_map_get(const struct shadow_map *m, uint64_t gpa, uint8_t *val)
{
	uint64_t idx;

	if (!shadow_layout_index(&m->layout, gpa, &idx))
		return false;
	*val = m->bytes[idx / SHADOW_GRANULE];
	return true;
}

void shadow_map_prefetch(const struct shadow_map *m, uint64_t gpa)
{
	uint64_t idx;

	if (shadow_layout_index(&m->layout, gpa, &idx)) {
		__builtin_prefetch(&m->bytes[idx / SHADOW_GRANULE], 1);
		__builtin_prefetch(&m->page_dirty[idx / SHADOW_PAGE_SIZE], 1);
	}
}

/* GPA of the guest page with dense index `page` (for the notify callback). */
static uint64_t page_gpa(const struct shadow_map *m, uint64_t page)
{
	uint64_t idx = page * SHADOW_PAGE_SIZE;

	for (unsigned int i = 0; i < m->layout.nr; i++)
		if (idx >= m->layout.base[i] && idx - m->layout.base[i] < m->layout.r[i].size)
			return m->layout.r[i].gpa + (idx - m->layout.base[i]);
	return 0;
}

static void page_count_update(struct shadow_map *m, uint64_t page, unsigned int count, uint8_t val)
{
	unsigned int old = m->page_dirty[page];

	if (old == count)
		return;
	m->page_dirty[page] = (uint16_t)count;
	if (m->notify && (old == 0) != (count == 0))
		m->notify(m->notify_ctx, page_gpa(m, page), count != 0, count ? val : 0);
}

/* How many of the n bytes at p are zero; a word at a time (objects span 1..512). */
static unsigned int zero_bytes(const uint8_t *p, uint64_t n)
{
	const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full, ones = 0x0101010101010101ull;
	unsigned int zeros = 0;
	uint64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, z;

		memcpy(&w, p + i, 8);
		/* a byte's top bit ends up set iff the byte is zero: no carry crosses bytes */
		z = ~(((w & low7) + low7) | w | low7) >> 7;
		/* one per zero byte; the multiply sums them into the top byte (no popcnt call) */
		zeros += (unsigned int)((z * ones) >> 56);
	}
	for (; i < n; i++)
		zeros += p[i] == 0;
	return zeros;
}

/* Write shadow[s, e) (dense shadow indices inside one guest page) = val. */
static void set_in_page(struct shadow_map *m, uint64_t s, uint64_t e, uint8_t val)
{
	uint64_t page = s / SHADOW_PER_PAGE;
	unsigned int count = m->page_dirty[page];

	if (e - s == SHADOW_PER_PAGE) {
		/* a clean page needs no write to stay clean: keeps the zero page */
		if (val || count)
			memset(m->bytes + s, val, SHADOW_PER_PAGE);
		page_count_update(m, page, val ? SHADOW_PER_PAGE : 0, val);
		return;
	}
	if (!val && !count)
		return;
	/* count = non-zero bytes: + old zeros overwritten, - new zeros written (mod 2^32) */
	count += zero_bytes(m->bytes + s, e - s);
	if (!val)
		count -= (unsigned int)(e - s);
	memset(m->bytes + s, val, e - s);
	page_count_update(m, page, count, val);
}

bool shadow_write(struct shadow_map *m, uint64_t gpa, const uint8_t *vals, uint32_t n,
		  uint32_t zeros)
{
	uint64_t idx, s, page;
	unsigned int count;
	uint8_t first = 0;

	if (n == 0 || n > SHADOW_PER_PAGE || (gpa & SHADOW_GRANULE_MASK) ||
	    (gpa & (SHADOW_PAGE_SIZE - 1)) / SHADOW_GRANULE + n > SHADOW_PER_PAGE ||
	    !shadow_layout_index(&m->layout, gpa, &idx))
		return false;
	s = idx / SHADOW_GRANULE;
	page = s / SHADOW_PER_PAGE;
	/* count = non-zero bytes: + old zeros overwritten, - new zeros written (mod 2^32) */
	count = m->page_dirty[page] + zero_bytes(m->bytes + s, n) - zeros;
	/* the value that poisons a clean page is only wanted when it does */
	for (uint32_t i = 0; i < n && !first && !m->page_dirty[page] && count; i++)
		first = vals[i];
	memcpy(m->bytes + s, vals, n);
	page_count_update(m, page, count, first);
	return true;
}

/* Give whole shadow pages that are all zero back to the kernel. */
static void release_zero_pages(struct shadow_map *m, uint64_t s, uint64_t e)
{
	uint64_t a = (s + SHADOW_PAGE_SIZE - 1) & ~(SHADOW_PAGE_SIZE - 1);
	uint64_t b = e & ~(SHADOW_PAGE_SIZE - 1);

	if (b > a)
		madvise(m->bytes + a, b - a, MADV_DONTNEED);
}

static void set_range(struct shadow_map *m, uint64_t s, uint64_t e, uint8_t val)
{
	uint64_t start = s;

	while (s < e) {
		uint64_t page_end = (s / SHADOW_PER_PAGE + 1) * SHADOW_PER_PAGE;
		uint64_t stop = page_end < e ? page_end : e;

		set_in_page(m, s, stop, val);
		s = stop;
	}
	if (!val && e - start >= 2 * SHADOW_PAGE_SIZE)
		release_zero_pages(m, start, e);
}

bool shadow_poison(struct shadow_map *m, uint64_t gpa, uint64_t len, uint8_t val)
{
	uint64_t idx;

	if (len == 0)
		return true;
	if (!layout_span(&m->layout, gpa, len, &idx))
		return false;
	set_range(m, idx / SHADOW_GRANULE, (idx + len + SHADOW_GRANULE_MASK) / SHADOW_GRANULE, val);
	return true;
}

bool shadow_unpoison(struct shadow_map *m, uint64_t gpa, uint64_t len)
{
	uint64_t idx, s, e;

	if (len == 0)
		return true;
	if (!layout_span(&m->layout, gpa, len, &idx))
		return false;
	s = idx / SHADOW_GRANULE;
	e = (idx + len) / SHADOW_GRANULE;
	set_range(m, s, e, 0);
	if ((idx + len) & SHADOW_GRANULE_MASK)
		set_in_page(m, e, e + 1, (uint8_t)((idx + len) & SHADOW_GRANULE_MASK));
	return true;
}

/* First bad byte of [idx, idx + len), all inside one RAM range; UINT64_MAX if none. */
static uint64_t first_bad_dense(const struct shadow_map *m, uint64_t idx, uint64_t len)
{
	uint64_t end = idx + len;

	for (uint64_t g = idx & ~SHADOW_GRANULE_MASK; g < end; g += SHADOW_GRANULE) {
		uint8_t v = m->bytes[g / SHADOW_GRANULE];
		uint64_t bad;

		if (v == 0)
			continue;
		bad = v < SHADOW_GRANULE ? g + v : g; /* partial: prefix of v bytes is fine */
		if (bad < idx)
			bad = idx;
		if (bad < end && bad < g + SHADOW_GRANULE)
			return bad;
	}
	return UINT64_MAX;
}

bool shadow_first_bad(const struct shadow_map *m, uint64_t gpa, uint64_t len, uint64_t *bad)
{
	uint64_t end = gpa + len;

	if (end < gpa)
		end = UINT64_MAX;
	while (gpa < end) {
		const struct shadow_ram_range *r = NULL;
		uint64_t base = 0, chunk, hit;

		for (unsigned int i = 0; i < m->layout.nr && !r; i++) {
			if (gpa >= m->layout.r[i].gpa &&
			    gpa - m->layout.r[i].gpa < m->layout.r[i].size) {
				r = &m->layout.r[i];
				base = m->layout.base[i];
			}
		}
		if (!r) {
			*bad = gpa; /* not RAM */
			return true;
		}
		chunk = r->gpa + r->size - gpa;
		if (chunk > end - gpa)
			chunk = end - gpa;
		hit = first_bad_dense(m, base + (gpa - r->gpa), chunk);
		if (hit != UINT64_MAX) {
			*bad = gpa + (hit - (base + (gpa - r->gpa)));
			return true;
		}
		gpa += chunk;
	}
	return false;
}

bool shadow_page_poisoned(const struct shadow_map *m, uint64_t gpa)
{
	uint64_t idx;

	if (!shadow_layout_index(&m->layout, gpa, &idx))
		return false;
	return m->page_dirty[idx / SHADOW_PAGE_SIZE] != 0;
}
