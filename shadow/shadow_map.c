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

/* A page poisoned before (old != 0) got freed memory: see shadow_freed_fn. */
static void note_freed(struct shadow_map *m, uint64_t page, unsigned int old, uint8_t val)
{
	if (m->freed && old && shadow_val_freed(val))
		m->freed(m->notify_ctx, page_gpa(m, page), val);
}

typedef uint8_t v16 __attribute__((vector_size(16)));

static v16 load16(const uint8_t *p)
{
	v16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * How many of the n bytes at p are zero. [p, p + n) lies in one guest
 * page's 512 shadow bytes, a 512-byte aligned block, so the 16-byte aligned
 * chunks covering it can be read whole: all are compared (GCC vector
 * extensions: SSE2 on x86-64, NEON on arm64; -1 per zero byte), then the
 * lanes outside the range are taken back. No loop over single bytes, whose
 * varying length would mispredict.
 */
static unsigned int zero_bytes(const uint8_t *p, uint64_t n)
{
	static const v16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	const uint8_t *a = (const uint8_t *)((uintptr_t)p & ~(uintptr_t)15), *end = p + n;
	const uint8_t *last = a + ((uint64_t)(end - a - 1) & ~15ull);
	v16 acc = {0}, zero = {0};
	uint64_t lo, hi;

	if (n == 0)
		return 0;
	for (const uint8_t *q = a; q < end; q += 16) /* at most 32 per lane: no overflow */
		acc -= (v16)(load16(q) == zero);
	acc += (v16)(load16(a) == zero) & (v16)(lane < (uint8_t)(p - a));
	acc += (v16)(load16(last) == zero) & (v16)(lane >= (uint8_t)(end - last));
	memcpy(&lo, &acc, 8);
	memcpy(&hi, (const uint8_t *)&acc + 8, 8);
	lo += hi; /* bytes <= 64 */
	lo = (lo & 0x00FF00FF00FF00FFull) + ((lo >> 8) & 0x00FF00FF00FF00FFull);
	return (unsigned int)((lo * 0x0001000100010001ull) >> 48);
}

/* The page's exact count of non-zero shadow bytes, recounted if only "some" was kept. */
static unsigned int page_count(struct shadow_map *m, uint64_t page)
{
	if (m->page_dirty[page] == SHADOW_COUNT_SOME)
		m->page_dirty[page] =
		    (uint16_t)(SHADOW_PER_PAGE -
			       zero_bytes(m->bytes + page * SHADOW_PER_PAGE, SHADOW_PER_PAGE));
	return m->page_dirty[page];
}

/* Write shadow[s, e) (dense shadow indices inside one guest page) = val. */
static void set_in_page(struct shadow_map *m, uint64_t s, uint64_t e, uint8_t val)
{
	uint64_t page = s / SHADOW_PER_PAGE;
	unsigned int count = m->page_dirty[page];

	note_freed(m, page, count, val);
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
	count = page_count(m, page) + zero_bytes(m->bytes + s, e - s);
	if (!val)
		count -= (unsigned int)(e - s);
	memset(m->bytes + s, val, e - s);
	page_count_update(m, page, count, val);
}

/*
 * Exactly n bytes of v at p, in stores of 16, 8, 4 bytes that may overlap
 * each other: a memset of a size GCC can bound becomes rep stos, slow for
 * the few dozen bytes of a slot's shadow.
 */
static void fill(uint8_t *p, uint8_t v, uint32_t n)
{
	v16 w = (v16){0} + v;
	uint64_t w8 = 0x0101010101010101ull * v;
	uint32_t w4 = (uint32_t)w8;

	if (n >= 16) {
		for (uint32_t i = 0; i + 16 < n; i += 16)
			memcpy(p + i, &w, 16);
		memcpy(p + n - 16, &w, 16);
	} else if (n >= 8) {
		memcpy(p, &w8, 8);
		memcpy(p + n - 8, &w8, 8);
	} else if (n >= 4) {
		memcpy(p, &w4, 4);
		memcpy(p + n - 4, &w4, 4);
	} else if (n) {
		p[0] = v;
		p[n / 2] = v;
		p[n - 1] = v;
	}
}

bool shadow_write(struct shadow_map *m, uint64_t gpa, const struct shadow_run *runs, uint32_t nr)
{
	uint64_t idx, s, page;
	uint32_t n = 0, zeros = 0;
	unsigned int count;
	uint8_t first = 0, freed = 0, *p;

	for (uint32_t i = 0; i < nr; i++) {
		n += runs[i].n;
		zeros += runs[i].val ? 0 : runs[i].n;
		if (!first && runs[i].n) /* the value that poisons a clean page, should it */
			first = runs[i].val;
		if (!freed && runs[i].n && shadow_val_freed(runs[i].val))
			freed = runs[i].val; /* said instead: a freed slot starts at its red zone */
	}
	if (n == 0 || n > SHADOW_PER_PAGE || (gpa & SHADOW_GRANULE_MASK) ||
	    (gpa & (SHADOW_PAGE_SIZE - 1)) / SHADOW_GRANULE + n > SHADOW_PER_PAGE ||
	    !shadow_layout_index(&m->layout, gpa, &idx))
		return false;
	s = idx / SHADOW_GRANULE;
	page = s / SHADOW_PER_PAGE;
	p = m->bytes + s;
	note_freed(m, page, m->page_dirty[page], freed);
	if (zeros < n && m->page_dirty[page]) {
		/* poisoned before and after (an object's usual slot): no count needed */
		m->page_dirty[page] = SHADOW_COUNT_SOME;
	} else {
		/* count = non-zero bytes: + old zeros overwritten, - new zeros written (mod 2^32)
		 */
		count = page_count(m, page) + zero_bytes(p, n) - zeros;
		page_count_update(m, page, count, freed ? freed : first);
	}
	for (uint32_t i = 0; i < nr; i++) {
		fill(p, runs[i].val, runs[i].n);
		p += runs[i].n;
	}
	return true;
}

bool shadow_replace(struct shadow_map *m, uint64_t gpa, uint8_t old, uint8_t val)
{
	uint64_t idx;

	if ((gpa & SHADOW_GRANULE_MASK) || !shadow_layout_index(&m->layout, gpa, &idx) ||
	    m->bytes[idx / SHADOW_GRANULE] != old)
		return false;
	if ((old == 0) == (val == 0)) /* the page's count of non-zero bytes stays */
		m->bytes[idx / SHADOW_GRANULE] = val;
	else
		set_in_page(m, idx / SHADOW_GRANULE, idx / SHADOW_GRANULE + 1, val);
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
