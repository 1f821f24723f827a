/* SPDX-License-Identifier: MIT */
/*
 * Judging trapped accesses and filling struct report_info: which byte is
 * bad, which object and page it belongs to, the tracks, and the shadow rows.
 * Wording and classification are report.c's; this file only gathers facts.
 */
#include <string.h>

#include "shadow/sanitizer_internal.h"

void report_task(struct report_info *r, uint32_t pid, uint32_t cpu, const char *comm)
{
	r->pid = pid;
	r->cpu = cpu;
	memcpy(r->comm, comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = 0;
}

static void fill_track(struct sanitizer *s, struct report_track *t, const struct object_track *ot,
		       bool present)
{
	memset(t, 0, sizeof(*t));
	t->present = present;
	t->valid = present;
	if (!present)
		return;
	t->pid = ot->pid;
	t->cpu = ot->cpu;
	t->time = ot->time;
	t->nr_frames = depot_fetch(&s->depot, ot->handle, &t->frames);
}

/* A slab object's slot around it: red zone bytes before and after; both 0 if none. */
static void slab_slot(struct sanitizer *s, const struct shadow_object *o, uint64_t *before,
		      uint64_t *after)
{
	const struct shadow_cache *c = caches_find(&s->caches, o->cache_id);

	*before = *after = 0;
	if (!c || c->stride <= o->size_alloc)
		return;
	*before = c->red_left <= c->stride - o->size_alloc ? c->red_left : 0;
	*after = c->stride - o->size_alloc - *before;
}

/*
 * The object an address is about: the one whose extent holds it, else a
 * slab neighbour. Linux's nearest_obj() names the object whose slot holds
 * the address: [object - left red zone, + stride). Without a left red zone
 * (KASAN's own layout) the red zone after an object is its slot's, "to the
 * right of" it; SLUB's debug red zones also put a pad before each object,
 * which is the next object's ("to the left of"). We follow that when the
 * slot's object is tracked. The slab's leading pad, or the tail of a slot
 * never allocated, falls to the next object. Caches without a red zone: a
 * neighbour at most one object size away.
 */
static const struct shadow_object *nearby_object(struct sanitizer *s, uint64_t gva)
{
	const struct shadow_object *o =
	    objects_get(&s->objects, objects_containing(&s->objects, gva));
	uint64_t before, after;

	if (o)
		return o;
	o = objects_get(&s->objects, objects_floor(&s->objects, gva));
	if (o && o->kind == OBJ_SLAB) {
		slab_slot(s, o, &before, &after);
		if (gva - (o->start + o->size_alloc) < (before || after ? after : o->size_alloc))
			return o;
	}
	o = objects_get(&s->objects, objects_ceil(&s->objects, gva));
	if (o && o->kind == OBJ_SLAB) {
		slab_slot(s, o, &before, &after);
		if (o->start - gva <= (before || after ? before + after : o->size_alloc))
			return o;
	}
	return NULL;
}

static void describe_object(struct sanitizer *s, struct report_info *r,
			    const struct shadow_object *o)
{
	struct shadow_cache *c = caches_find(&s->caches, o->cache_id);
	bool freed = o->state == OBJ_FREED;
	const struct object_track *aux;

	if (o->kind == OBJ_VMALLOC) {
		r->is_vmalloc = true;
		return;
	}
	r->has_object = true;
	r->obj_start = o->start;
	r->obj_size = o->size_req;
	if (o->kind == OBJ_SLAB) {
		r->cache_name = c ? c->name : "unknown";
		r->cache_object_size = c && c->object_size ? c->object_size : o->size_alloc;
	}
	if (r->tags)
		return; /* tag mode took the tracks from the stack ring */
	r->obj_freed = freed;
	fill_track(s, &r->alloc, &o->alloc, true);
	/* the free track exists only while the object sits freed in quarantine */
	fill_track(s, &r->free, &o->free, freed);
	/* work-creation stacks: only records in the pool have them (not copies) */
	aux = o->flags & OBJ_F_AUX ? objects_aux(&s->objects, objects_id_of(&s->objects, o)) : NULL;
	fill_track(s, &r->aux1, aux, aux && aux[0].handle != 0);
	fill_track(s, &r->aux2, aux ? &aux[1] : NULL, aux && aux[1].handle != 0);
}

static void describe_page(struct sanitizer *s, struct report_info *r, uint64_t gpa)
{
	const struct page_owner_entry *e = page_owner_get(&s->page_owner, gpa);
	uint8_t v = 0;

	if (!e) {
		r->no_shadow = true;
		return;
	}
	r->has_page = true;
	r->pfn = gpa >> SHADOW_PAGE_SHIFT;
	if (s->cfg.vmemmap_base)
		r->page_struct_addr =
		    s->cfg.vmemmap_base +
		    r->pfn * (s->cfg.page_struct_size ? s->cfg.page_struct_size : 64);
	fill_track(s, &r->page_alloc, &e->alloc, e->has_alloc);
	fill_track(s, &r->page_free, &e->free, e->has_free);
	shadow_map_get(&s->shadow, gpa & ~(SHADOW_PAGE_SIZE - 1), &v);
	r->page_freed = v == SHADOW_PAGE_FREE;
}

/* 5 rows x 16 shadow (or tag) bytes, the buggy row in the middle. */
static void describe_rows(struct sanitizer *s, struct report_info *r, uint64_t bad)
{
	uint64_t gran = r->tags ? TAG_GRANULE : SHADOW_GRANULE, span = gran * REPORT_ROW_BYTES;
	uint8_t unknown =
	    r->tags ? TAG_INVALID : (r->is_vmalloc ? SHADOW_VMALLOC_INVALID : SHADOW_PAGE_FREE);

	r->row_addr = (bad & ~(span - 1)) - 2 * span;
	for (unsigned int i = 0; i < REPORT_SHADOW_ROWS; i++) {
		uint64_t gpa;
		bool mapped = s->ops.virt_to_phys(s->ops.ctx, r->row_addr + i * span, &gpa);

		for (unsigned int j = 0; j < REPORT_ROW_BYTES; j++) {
			uint8_t v = unknown;

			if (mapped && r->tags)
				tag_map_get(&s->tags, gpa + j * gran, &v);
			else if (mapped)
				shadow_map_get(&s->shadow, gpa + j * gran, &v);
			r->rows[i][j] = v;
		}
	}
}

static bool in_vmalloc(const struct sanitizer *s, uint64_t gva)
{
	return gva >= s->cfg.vmalloc_start && gva < s->cfg.vmalloc_end;
}

void report_describe(struct sanitizer *s, struct report_info *r, uint64_t gva,
		     const struct shadow_object *obj)
{
	uint64_t gpa;

	r->kernel_release = s->cfg.kernel_release;
	r->hardware_name = s->cfg.hardware_name;
	/* a free describes only the object it names; an access also its neighbours */
	if (!obj && r->kind == REPORT_ACCESS)
		obj = nearby_object(s, gva);
	if (obj)
		describe_object(s, r, obj);
	r->is_vmalloc |= in_vmalloc(s, gva);
	if (s->ops.virt_to_phys(s->ops.ctx, gva, &gpa))
		describe_page(s, r, gpa);
	else
		r->no_shadow = true;
	describe_rows(s, r, r->first_bad_addr);
}

void report_emit(struct sanitizer *s, struct report_info *r)
{
	if (!s->cfg.multi_shot && s->reported) {
		s->st.reports_suppressed++;
		return;
	}
	s->reported = true;
	s->st.reports++;
	if (s->ops.report)
		s->ops.report(s->ops.ctx, r);
}

static void describe_tags(struct sanitizer *s, struct report_info *r, uint64_t bad_gpa,
			  const struct shadow_object *o);

void report_event_bug(struct sanitizer *s, const struct shadow_event *ev, enum report_kind kind,
		      const char *bug_type, uint64_t gva, uint64_t size, bool is_write,
		      const struct shadow_object *obj)
{
	struct report_info r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.bug_type = bug_type;
	r.is_write = is_write;
	r.access_size = size;
	r.addr = gva;
	r.first_bad_addr = gva;
	r.nr_frames = ev->nr_frames;
	r.frames = ev->frames;
	r.ip = ev->nr_frames ? ev->frames[0] : 0;
	report_task(&r, ev->pid, ev->cpu, ev->comm);
	if (s->cfg.mode == SANITIZER_TAGS) {
		uint64_t gpa = 0;

		if (ev->ptr_tagged && gva == ev->addr) /* the pointer as the guest passed it */
			r.addr = tag_set(gva, ev->ptr_tag);
		s->ops.virt_to_phys(s->ops.ctx, tag_reset(gva), &gpa);
		r.first_bad_addr = tag_reset(gva) & ~(uint64_t)(TAG_GRANULE - 1);
		describe_tags(s, &r, gpa, obj);
		gva = tag_reset(gva);
	}
	report_describe(s, &r, gva, obj);
	report_emit(s, &r);
}

/* First bad byte of the access, page by page (a GVA range need not be GPA-contiguous). */
static bool find_bad(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t len,
		     uint64_t *bad_gva, uint64_t *bad_gpa)
{
	/*
	 * Tag mode: a pointer with a tag must match the memory's. One without
	 * (x86; an arm64 pointer that is match-all or whose register was not
	 * decoded) is judged as x86 judges every pointer: only unassigned
	 * (TAG_INVALID) memory faults. Live objects never do, as with Linux's
	 * match-all tag; freed ones do, which Linux cannot see.
	 */
	uint8_t ptr_tag = tag_of_pointer(gva);
	bool untagged = s->cfg.untagged_pointers || ptr_tag == TAG_MATCH_ALL;

	for (uint64_t off = 0; off < len;) {
		uint64_t va = gva + off, n = SHADOW_PAGE_SIZE - (va & (SHADOW_PAGE_SIZE - 1)), b;

		if (n > len - off)
			n = len - off;
		uint64_t xva = s->cfg.mode == SANITIZER_TAGS ? tag_reset(va) : va;

		if (off && !s->ops.virt_to_phys(s->ops.ctx, xva, &gpa))
			return false; /* unmapped: the guest faults by itself */
		if (s->cfg.mode != SANITIZER_TAGS ? shadow_first_bad(&s->shadow, gpa, n, &b)
		    : untagged			  ? tag_map_first_invalid(&s->tags, gpa, n, &b)
			       : tag_map_first_mismatch(&s->tags, gpa, n, ptr_tag, &b)) {
			*bad_gva = va + (b - gpa);
			*bad_gpa = b;
			return true;
		}
		off += n;
	}
	return false;
}

/*
 * Tag mode: the stack ring, not the object table, names the tracks and the
 * bug (report_tags.c). The object is the one whose slot holds the address,
 * as nearest_obj() finds it; only slab objects have ring entries, so page
 * and vmalloc memory is an invalid-access (Linux's common bug type). A
 * pointer without a tag (x86) matches the newest life of the slot. o: the
 * object an event-time report is about, NULL to look it up by r->addr. A
 * bug type already set (double-free, invalid-free) is kept.
 */
static void describe_tags(struct sanitizer *s, struct report_info *r, uint64_t bad_gpa,
			  const struct shadow_object *o)
{
	struct ring_result res;
	struct object_track t;

	r->tags = true;
	r->ptr_tag = s->cfg.untagged_pointers ? TAG_MATCH_ALL : tag_of_pointer(r->addr);
	if (!tag_map_get(&s->tags, bad_gpa, &r->mem_tag))
		r->mem_tag = TAG_INVALID;
	if (!o)
		o = nearby_object(s, tag_reset(r->addr));
	if (!o || o->kind != OBJ_SLAB) {
		if (!r->bug_type)
			r->bug_type =
			    report_bug_type_tags(REPORT_RING_NONE, r->addr, r->access_size);
		return;
	}
	stack_ring_search(&s->ring, o->start, r->ptr_tag, ring_size(s, o), &res);
	if (!r->bug_type)
		r->bug_type = res.first == RING_HIT_NONE
				  ? report_bug_type_tags(REPORT_RING_NONE, r->addr, r->access_size)
				  : ring_bug_type(res.first);
	t = (struct object_track){0, res.alloc.pid, res.alloc.cpu, res.alloc.handle};
	fill_track(s, &r->alloc, &t, res.has_alloc);
	t = (struct object_track){0, res.free.pid, res.free.cpu, res.free.handle};
	fill_track(s, &r->free, &t, res.has_free);
	r->obj_freed = res.first == RING_HIT_FREE;
}

/*
 * A trapped write was just reported. Into a live object's slack: the canary
 * check at free would report the same bug again without the precise stack.
 * Into a freed object: so would the fill check when the slot is reused.
 */
static void note_reported_write(struct sanitizer *s, uint64_t bad_gva)
{
	struct shadow_object *o =
	    objects_get(&s->objects, objects_containing(&s->objects, bad_gva));

	if (!o)
		return;
	if (o->state == OBJ_FREED)
		o->flags &= ~OBJ_F_PATTERN;
	else if (bad_gva >= o->start + o->size_req)
		o->flags |= OBJ_F_SLACK_REPORTED;
}

/* Tag mode async/asymm: this fault is only recorded, for the next drain point. */
static bool tag_fault_deferred(const struct sanitizer *s, bool is_write)
{
	if (s->cfg.mode != SANITIZER_TAGS)
		return false;
	return s->cfg.tag_fault == SANITIZER_TAG_ASYNC ||
	       (s->cfg.tag_fault == SANITIZER_TAG_ASYMM && is_write);
}

bool check_access_locked(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t size,
			 bool is_write, const struct sanitizer_access *ctx)
{
	struct report_info r;
	uint64_t bad_gva, bad_gpa;

	if (!find_bad(s, gpa, gva, size ? size : 1, &bad_gva, &bad_gpa))
		return false;
	/* each round turns one freed page allocated: at most the pages the access spans */
	while (page_reused_locked(s, bad_gpa))
		if (!find_bad(s, gpa, gva, size ? size : 1, &bad_gva, &bad_gpa))
			return false;
	if (tag_fault_deferred(s, is_write)) {
		s->async_pending++;
		s->st.async_faults++;
		return true;
	}
	memset(&r, 0, sizeof(r));
	r.kind = REPORT_ACCESS;
	r.is_write = is_write;
	r.access_size = size;
	r.addr = gva;
	r.first_bad_addr = bad_gva;
	if (ctx) {
		r.ip = ctx->ip;
		r.nr_frames = ctx->nr_frames;
		r.frames = ctx->frames;
		report_task(&r, ctx->pid, ctx->cpu, ctx->comm);
	}
	if (s->cfg.mode == SANITIZER_TAGS) {
		r.first_bad_addr = tag_reset(bad_gva) & ~(uint64_t)(TAG_GRANULE - 1);
		describe_tags(s, &r, bad_gpa, NULL);
	}
	report_describe(s, &r, s->cfg.mode == SANITIZER_TAGS ? tag_reset(gva) : gva, NULL);
	report_emit(s, &r);
	if (is_write)
		note_reported_write(s, bad_gva);
	return true;
}

/*
 * HW_TAGS async: the CPU only sets a sticky fault bit, which the kernel
 * finds at its next check and reports without the access's details. All
 * faults recorded since the last drain make one report, with the drain
 * point's task and stack (what Linux's dump_stack would show).
 */
bool tag_drain_locked(struct sanitizer *s, const struct sanitizer_access *ctx)
{
	struct report_info r;

	if (!s->async_pending)
		return false;
	s->async_pending = 0;
	memset(&r, 0, sizeof(r));
	r.kind = REPORT_ASYNC;
	r.tags = true;
	r.kernel_release = s->cfg.kernel_release;
	r.hardware_name = s->cfg.hardware_name;
	if (ctx) {
		r.ip = ctx->ip;
		r.nr_frames = ctx->nr_frames;
		r.frames = ctx->frames;
		report_task(&r, ctx->pid, ctx->cpu, ctx->comm);
	}
	report_emit(s, &r);
	return true;
}
