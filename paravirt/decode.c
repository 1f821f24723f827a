/* SPDX-License-Identifier: MIT */
/*
 * Record validation: turns one untrusted ring record (already copied into
 * host memory) into a struct shadow_event that satisfies shadow/event.h's
 * promises, or names the reason it is refused.
 */
#include <string.h>

#include "paravirt/consumer_internal.h"
#include "shadow/tags.h"

/* The ABI's kind numbers are shadow's: decoding copies them unchanged. */
_Static_assert(KV_EV_CACHE_CREATE == (int)SHADOW_EV_CACHE_CREATE, "kind numbering");
_Static_assert(KV_EV_SLAB_ALLOC == (int)SHADOW_EV_SLAB_ALLOC, "kind numbering");
_Static_assert(KV_EV_PAGE_FREE == (int)SHADOW_EV_PAGE_FREE, "kind numbering");
_Static_assert(KV_EV_KREALLOC == (int)SHADOW_EV_KREALLOC, "kind numbering");
_Static_assert(KV_EV_MODULE_UNLOAD == (int)SHADOW_EV_MODULE_UNLOAD, "kind numbering");
_Static_assert(KV_REC_MAX_FRAMES == SHADOW_MAX_FRAMES, "frame limit");
_Static_assert(KV_REC_NAME_MAX < SHADOW_NAME_LEN, "name limit");
_Static_assert(KV_COMM_LEN == SHADOW_COMM_LEN, "comm length");

/* What each kind carries (and so what is checked and copied). */
enum {
	N_ADDR = 1 << 0,    /* addr: a live object */
	N_SIZES = 1 << 1,   /* size_req <= size_alloc, [addr, addr + size_alloc) */
	N_OLD = 1 << 2,	    /* old_addr */
	N_PAGE = 1 << 3,    /* pfn, order, addr = direct map of pfn */
	N_NAME = 1 << 4,    /* a name is required (otherwise forbidden) */
	N_CACHE = 1 << 5,   /* cache geometry: object size, slot size, freeptr */
	N_MODSIZE = 1 << 6, /* size_req = module size */
	N_CACHEID = 1 << 7, /* cache_id */
	N_VMALLOC = 1 << 8, /* addr inside the registered vmalloc area */
	N_DIRECT = 1 << 9,  /* addr (and old_addr) in the direct map of guest RAM */
};

static const uint16_t kind_needs[KV_EV_KIND_MAX + 1] = {
    [KV_EV_CACHE_CREATE] = N_NAME | N_CACHE | N_CACHEID,
    [KV_EV_CACHE_DESTROY] = N_CACHEID,
    [KV_EV_SLAB_ALLOC] = N_ADDR | N_SIZES | N_CACHEID | N_DIRECT,
    [KV_EV_SLAB_FREE] = N_ADDR | N_CACHEID | N_DIRECT,
    [KV_EV_KMALLOC_LARGE] = N_ADDR | N_SIZES | N_DIRECT,
    [KV_EV_KFREE_LARGE] = N_ADDR | N_DIRECT,
    [KV_EV_PAGE_ALLOC] = N_PAGE,
    [KV_EV_PAGE_FREE] = N_PAGE,
    [KV_EV_VMALLOC] = N_ADDR | N_SIZES | N_VMALLOC,
    [KV_EV_VFREE] = N_ADDR | N_VMALLOC,
    [KV_EV_KREALLOC] = N_ADDR | N_SIZES | N_OLD | N_DIRECT,
    [KV_EV_KSIZE] = N_ADDR | N_DIRECT,
    [KV_EV_AUX_STACK] = N_ADDR,
    [KV_EV_MODULE_LOAD] = N_ADDR | N_NAME | N_MODSIZE,
    [KV_EV_MODULE_UNLOAD] = N_ADDR | N_NAME,
};

/* Object pointers: canonical and never in page 0 (NULL, ZERO_SIZE_PTR). */
static bool object_addr_ok(const struct kv_consumer *c, uint64_t va, uint64_t len)
{
	return va >= KV_PAGE_SIZE && kv_canonical_range(c, va, len);
}

/*
 * Slab and kmalloc memory comes from the guest's pages, so it lies in the
 * direct map: [va, va + len) minus direct_map_base must be guest RAM (which
 * also refuses a range across the VMM's hole below 4 GiB). The subtraction
 * wraps on purpose: on arm64 the base is an offset (ABI 1.2). Records are
 * only read once REGISTER has set the layout.
 */
static bool in_direct_map(const struct kv_consumer *c, uint64_t va, uint64_t len)
{
	return c->cfg.mem.ptr(c->cfg.mem.ctx, va - c->layout.direct_map_base, len) != NULL;
}

static bool printable(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* comm is informational: repair rather than refuse (Linux allows any bytes). */
static void copy_comm(char *dst, const char *src)
{
	uint32_t i;

	for (i = 0; i < KV_COMM_LEN - 1 && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] <= 0x7e) ? src[i] : '?';
	memset(dst + i, 0, KV_COMM_LEN - i);
}

static enum kv_reject check_sizes(const struct kv_consumer *c, const struct kv_rec *r,
				  struct shadow_event *out)
{
	if (r->size_req == 0 || r->size_req > r->size_alloc || r->size_alloc > c->cfg.mem.ram_size)
		return KV_REJ_SIZE;
	if (!object_addr_ok(c, r->addr, r->size_alloc))
		return KV_REJ_ADDR;
	out->size_req = r->size_req;
	out->size_alloc = r->size_alloc;
	return KV_REJ_COUNT;
}

static enum kv_reject check_page(const struct kv_consumer *c, const struct kv_rec *r,
				 struct shadow_event *out)
{
	uint64_t gpa, bytes;

	if (r->order > KV_ORDER_MAX)
		return KV_REJ_ORDER;
	bytes = (uint64_t)KV_PAGE_SIZE << r->order;
	if (r->pfn > (c->cfg.mem.ram_size >> KV_PAGE_SHIFT) + (1ull << 20))
		return KV_REJ_PFN; /* far beyond RAM: also keeps the shift below from overflowing */
	gpa = r->pfn << KV_PAGE_SHIFT;
	if (!c->cfg.mem.ptr(c->cfg.mem.ctx, gpa, bytes))
		return KV_REJ_PFN;
	if (r->addr != c->layout.direct_map_base + gpa || !object_addr_ok(c, r->addr, bytes))
		return KV_REJ_PAGE_ADDR;
	out->pfn = r->pfn;
	out->order = r->order;
	out->size_req = out->size_alloc = bytes;
	return KV_REJ_COUNT;
}

static enum kv_reject check_cache(const struct kv_consumer *c, const struct kv_rec *r,
				  struct shadow_event *out)
{
	/* the stride (object + red zone); 0 (no red zone) decodes as the object size */
	uint64_t slot = r->size_alloc ? r->size_alloc : r->size_req;

	/* the host poisons the red zone at every allocation: keep that bounded */
	if (r->size_req == 0 || slot > c->cfg.mem.ram_size || slot < r->size_req ||
	    slot - r->size_req > KV_CACHE_REDZONE_MAX)
		return KV_REJ_SIZE;
	if (r->freeptr_offset != KV_FREEPTR_NONE && (uint64_t)r->freeptr_offset + 8 > slot)
		return KV_REJ_FREEPTR;
	/* the left red zone is part of the slot, before the object */
	if ((uint64_t)r->red_left + r->size_req > slot)
		return KV_REJ_SIZE;
	out->red_left = r->red_left;
	out->size_req = r->size_req;
	out->size_alloc = slot;
	out->freeptr_offset = r->freeptr_offset;
	return KV_REJ_COUNT;
}

static bool in_vmalloc(const struct kv_consumer *c, uint64_t va, uint64_t len)
{
	const struct kv_guest_layout *l = &c->layout;

	if (l->vmalloc_end == 0)
		return true; /* not registered: the guest has no separate area */
	return va >= l->vmalloc_start && va < l->vmalloc_end && len <= l->vmalloc_end - va;
}

static enum kv_reject check_payload(const struct kv_consumer *c, const struct kv_rec *r,
				    uint16_t needs, struct shadow_event *out)
{
	enum kv_reject why = KV_REJ_COUNT;

	if ((needs & N_ADDR) && !object_addr_ok(c, r->addr, 1))
		return KV_REJ_ADDR;
	if ((needs & N_OLD) && !object_addr_ok(c, r->old_addr, 1))
		return KV_REJ_ADDR;
	if (needs & N_SIZES)
		why = check_sizes(c, r, out);
	else if (needs & N_PAGE)
		why = check_page(c, r, out);
	else if (needs & N_CACHE)
		why = check_cache(c, r, out);
	else if (needs & N_MODSIZE) {
		if (r->size_req == 0 || r->size_req > c->cfg.mem.ram_size)
			return KV_REJ_SIZE;
		if (!object_addr_ok(c, r->addr, r->size_req))
			return KV_REJ_ADDR;
		out->size_req = out->size_alloc = r->size_req;
	}
	if (why != KV_REJ_COUNT)
		return why;
	if ((needs & N_VMALLOC) && !in_vmalloc(c, r->addr, out->size_alloc ? out->size_alloc : 1))
		return KV_REJ_ADDR;
	if ((needs & N_DIRECT) &&
	    (!in_direct_map(c, r->addr, out->size_alloc ? out->size_alloc : 1) ||
	     ((needs & N_OLD) && !in_direct_map(c, r->old_addr, 1))))
		return KV_REJ_ADDR;
	if (needs & (N_ADDR | N_PAGE))
		out->addr = r->addr;
	if (needs & N_OLD)
		out->old_addr = r->old_addr;
	if (needs & N_CACHEID)
		out->cache_id = r->cache_id;
	return KV_REJ_COUNT;
}

static enum kv_reject check_tail(const struct kv_consumer *c, const struct kv_rec *r,
				 const uint8_t *rec, uint16_t needs, struct shadow_event *out)
{
	const uint8_t *frames = rec + KV_REC_HDR_SIZE;
	const char *name = (const char *)frames + r->nr_frames * 8u;

	for (uint32_t i = 0; i < r->nr_frames; i++) {
		uint64_t f;

		memcpy(&f, frames + i * 8u, sizeof(f));
		if (!kv_canonical(c, f))
			return KV_REJ_FRAMES;
		out->frames[i] = f;
	}
	out->nr_frames = r->nr_frames;
	if ((needs & N_NAME) ? r->name_len == 0 : r->name_len != 0)
		return KV_REJ_NAME;
	if (!printable(name, r->name_len))
		return KV_REJ_NAME;
	memcpy(out->name, name, r->name_len);
	out->name[r->name_len] = '\0';
	return KV_REJ_COUNT;
}

/*
 * arm64 (ABI 1.2): addresses may carry a TBI tag. The checks below see the
 * untagged address; *tag is addr's tag, or -1 when its top byte is just
 * bit 55's sign (no tag: a match-all pointer). x86 addresses stay as sent,
 * so a tagged one fails the canonical check.
 */
static void untag_addresses(const struct kv_consumer *c, struct kv_rec *r, int *tag)
{
	uint64_t addr = tag_reset(r->addr);

	*tag = -1;
	if (c->cfg.arch != KV_ARCH_ARM64)
		return;
	if (addr != r->addr)
		*tag = (int)(r->addr >> 56);
	r->addr = addr;
	r->old_addr = tag_reset(r->old_addr);
}

enum kv_reject kv_decode_record(const struct kv_consumer *c, const uint8_t *rec, uint32_t len,
				uint32_t ring_cpu, struct shadow_event *out)
{
	struct kv_rec r;
	enum kv_reject why;
	uint16_t needs;
	int tag;

	memcpy(&r, rec, sizeof(r));
	untag_addresses(c, &r, &tag);
	if (r.kind == 0 || r.kind > KV_EV_KIND_MAX)
		return KV_REJ_KIND;
	if (r.nr_frames > KV_REC_MAX_FRAMES)
		return KV_REJ_FRAMES;
	if (r.name_len > KV_REC_NAME_MAX)
		return KV_REJ_NAME;
	if (len != r.len || len != kv_rec_len(r.nr_frames, r.name_len))
		return KV_REJ_REC_LEN;
	if (r.cpu != ring_cpu)
		return KV_REJ_CPU;

	memset(out, 0, sizeof(*out));
	needs = kind_needs[r.kind];
	why = check_payload(c, &r, needs, out);
	if (why == KV_REJ_COUNT)
		why = check_tail(c, &r, rec, needs, out);
	if (why != KV_REJ_COUNT)
		return why;
	if (tag >= 0) {
		out->ptr_tagged = true;
		out->ptr_tag = (uint8_t)tag;
	}
	out->kind = (enum shadow_event_kind)r.kind;
	out->seq = r.seq;
	out->time = r.tsc;
	out->pid = r.pid;
	out->cpu = r.cpu;
	copy_comm(out->comm, r.comm);
	return KV_REJ_COUNT;
}
