/* SPDX-License-Identifier: MIT */
#include "shadow/sanitizer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow/heap_internal.h"

static void fill_patterns(struct sanitizer *s)
{
	for (unsigned int i = 0; i < PATTERN_LEN; i++) {
		s->slack_pat[i] = slack_byte(i);
		s->free_pat[i] = free_byte(i);
	}
}

static int init_parts(struct sanitizer *s)
{
	const struct sanitizer_config *c = &s->cfg;
	uint64_t qbytes = c->quarantine_bytes ? c->quarantine_bytes : s->shadow.layout.total / 32;
	uint32_t max_obj = c->max_objects ? c->max_objects : OBJECTS_DEFAULT_CAP;
	int err;

	err = depot_init(&s->depot, c->depot_bytes ? c->depot_bytes : DEPOT_DEFAULT_BYTES);
	if (!err)
		err = objects_init(&s->objects, max_obj);
	if (!err)
		err = caches_init(&s->caches);
	if (!err)
		err = quarantine_init(&s->quarantine, max_obj, qbytes, &s->objects.pool[0].qmark,
				      sizeof(s->objects.pool[0])); /* marks live in the records */
	if (!err)
		err = page_owner_init(&s->page_owner, c->ram, c->nr_ram);
	if (!err && c->mode == SANITIZER_TAGS)
		err = tag_map_init(&s->tags, c->ram, c->nr_ram, c->tag_seed);
	if (!err && c->mode == SANITIZER_TAGS)
		err = stack_ring_init(&s->ring, c->stack_ring_size);
	return err;
}

int sanitizer_create(struct sanitizer **out, const struct sanitizer_config *cfg,
		     const struct sanitizer_ops *ops)
{
	struct sanitizer *s;
	int err;

	*out = NULL;
	if (!cfg || !ops || !ops->virt_to_phys || !ops->read_phys || !ops->write_phys)
		return -EINVAL;
	if (!cfg->ram || cfg->nr_ram == 0 || cfg->nr_ram > SHADOW_MAX_RANGES)
		return -EINVAL;
	if (cfg->mode != SANITIZER_GENERIC && cfg->mode != SANITIZER_TAGS)
		return -EINVAL;
	if (cfg->tag_fault > SANITIZER_TAG_ASYMM)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	memcpy(s->ram_copy, cfg->ram, cfg->nr_ram * sizeof(*cfg->ram));
	s->cfg.ram = s->ram_copy;
	/* canaries and fills are generic-mode checks; tag mode judges by tags only */
	if (s->cfg.mode == SANITIZER_TAGS)
		s->cfg.write_patterns = false;
	s->ops = *ops;
	fill_patterns(s);
	err = shadow_map_init(&s->shadow, s->cfg.ram, s->cfg.nr_ram, ops->notify, ops->ctx);
	s->shadow.freed = ops->page_freed;
	if (!err)
		err = init_parts(s);
	if (!err)
		err = -pthread_mutex_init(&s->lock, NULL);
	if (err) {
		sanitizer_destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

void sanitizer_set_layout(struct sanitizer *s, const struct sanitizer_layout *l)
{
	pthread_mutex_lock(&s->lock);
	if (l->release)
		s->cfg.kernel_release = l->release;
	s->cfg.vmemmap_base = l->vmemmap_base;
	s->cfg.page_struct_size = l->page_struct_size;
	s->cfg.page_refcount_off = l->page_refcount_off;
	s->cfg.direct_map_base = l->direct_map_base;
	if (l->vmalloc_start < l->vmalloc_end) {
		s->cfg.vmalloc_start = l->vmalloc_start;
		s->cfg.vmalloc_end = l->vmalloc_end;
	}
	pthread_mutex_unlock(&s->lock);
}

void sanitizer_destroy(struct sanitizer *s)
{
	if (!s)
		return;
	stack_ring_destroy(&s->ring);
	tag_map_destroy(&s->tags);
	page_owner_destroy(&s->page_owner);
	quarantine_destroy(&s->quarantine);
	caches_destroy(&s->caches);
	objects_destroy(&s->objects);
	depot_destroy(&s->depot);
	shadow_map_destroy(&s->shadow);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void cache_create(struct sanitizer *s, const struct shadow_event *ev)
{
	struct shadow_cache *c = caches_add(&s->caches, ev->cache_id);

	if (!c) {
		s->st.caches_full++;
		return;
	}
	/* an id may be reused after destroy: start afresh */
	memcpy(c->name, ev->name, sizeof(c->name));
	c->name[sizeof(c->name) - 1] = 0;
	c->object_size = ev->size_req > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->size_req;
	/* paravirt/ bounds the red zone; a stride that does not fit means none */
	c->stride = ev->size_alloc > UINT32_MAX ? c->object_size : (uint32_t)ev->size_alloc;
	c->freeptr_offset = ev->freeptr_offset;
	c->red_left = c->stride - c->object_size >= ev->red_left ? ev->red_left : 0;
	c->destroyed = false;
	c->live = 0;
}

/*
 * Destroying a cache twice is a use of the freed struct kmem_cache: Linux
 * reports slab-use-after-free (Read) in kmem_cache_destroy, so we do too, at
 * ev->addr (the kmem_cache pointer when the driver sends it). Destroying a
 * cache with live objects is a SLUB error in Linux, not a KASAN report: it is
 * only counted, and the objects stay tracked. Its quarantined objects leave
 * the quarantine, as at Linux's cache shutdown.
 */
static int cache_destroy(struct sanitizer *s, const struct shadow_event *ev)
{
	struct shadow_cache *c = caches_find(&s->caches, ev->cache_id);
	uint32_t id;

	if (!c)
		return 0;
	if (c->destroyed) {
		id = ev->addr ? objects_containing(&s->objects, ev->addr) : 0;
		report_event_bug(s, ev, REPORT_ACCESS, "slab-use-after-free", ev->addr, 1, false,
				 id ? objects_get(&s->objects, id) : NULL);
		return 1;
	}
	if (c->live)
		s->st.cache_destroy_live++;
	c->destroyed = true;
	heap_drop_cache(s, c->id);
	return 0;
}

static void module_load(struct sanitizer *s, const struct shadow_event *ev)
{
	struct shadow_module *m;

	if (s->nr_modules >= SANITIZER_MAX_MODULES) {
		s->st.modules_full++;
		return;
	}
	m = &s->modules[s->nr_modules++];
	memcpy(m->name, ev->name, sizeof(m->name));
	m->name[sizeof(m->name) - 1] = 0;
	m->base = ev->addr;
	m->size = ev->size_req;
}

static void module_unload(struct sanitizer *s, const struct shadow_event *ev)
{
	for (unsigned int i = 0; i < s->nr_modules; i++) {
		if (s->modules[i].base == ev->addr) {
			s->modules[i] = s->modules[--s->nr_modules];
			return;
		}
	}
}

/* call_rcu / queue_work: shift the aux stacks, newest first. */
static void aux_stack(struct sanitizer *s, const struct shadow_event *ev)
{
	uint32_t id = objects_containing(&s->objects, ev->addr);
	struct shadow_object *o = objects_get(&s->objects, id);
	struct object_track *aux = objects_aux(&s->objects, id);

	if (!o || !aux)
		return;
	if (!(o->flags & OBJ_F_AUX))
		memset(aux, 0, 2 * sizeof(*aux));
	o->flags |= OBJ_F_AUX;
	depot_put(&s->depot, aux[1].handle);
	aux[1] = aux[0];
	aux[0] = (struct object_track){
	    .time = ev->time,
	    .pid = ev->pid,
	    .cpu = ev->cpu,
	    .handle = depot_save(&s->depot, ev->frames, ev->nr_frames, true),
	};
}

static int apply_locked(struct sanitizer *s, const struct shadow_event *ev)
{
	int bugs = 0;

	s->st.events++;
	switch (ev->kind) {
	case SHADOW_EV_CACHE_CREATE:
		cache_create(s, ev);
		break;
	case SHADOW_EV_CACHE_DESTROY:
		bugs = cache_destroy(s, ev);
		break;
	case SHADOW_EV_AUX_STACK:
		aux_stack(s, ev);
		break;
	case SHADOW_EV_MODULE_LOAD:
		module_load(s, ev);
		break;
	case SHADOW_EV_MODULE_UNLOAD:
		module_unload(s, ev);
		break;
	default:
		bugs = heap_apply(s, ev);
		break;
	}
	return bugs;
}

int sanitizer_apply_event(struct sanitizer *s, const struct shadow_event *ev)
{
	int bugs;

	pthread_mutex_lock(&s->lock);
	bugs = apply_locked(s, ev);
	pthread_mutex_unlock(&s->lock);
	return bugs;
}

/* The lock is let go now and then, so that access checks do not wait for a whole batch. */
#define LOCK_EVENTS 256

int sanitizer_apply_events(struct sanitizer *s, const struct shadow_event *evs, size_t n)
{
	struct heap_ahead ring[HEAP_AHEAD_RING];
	int bugs = 0;

	pthread_mutex_lock(&s->lock);
	heap_ahead_start(s, evs, n, ring);
	for (size_t i = 0; i < n; i++) {
		heap_ahead(s, evs, n, i, ring);
		s->ahead = true; /* what the event touches is on its way: no prefetch of its own */
		bugs += apply_locked(s, &evs[i]);
		s->ahead = false;
		if (i % LOCK_EVENTS == LOCK_EVENTS - 1) {
			pthread_mutex_unlock(&s->lock);
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return bugs;
}

bool sanitizer_check_access(struct sanitizer *s, uint64_t gpa, uint64_t gva, uint64_t size,
			    bool is_write, const struct sanitizer_access *ctx)
{
	bool bad;

	pthread_mutex_lock(&s->lock);
	bad = check_access_locked(s, gpa, gva, size, is_write, ctx);
	pthread_mutex_unlock(&s->lock);
	return bad;
}

bool sanitizer_tag_drain(struct sanitizer *s, const struct sanitizer_access *ctx)
{
	bool reported;

	pthread_mutex_lock(&s->lock);
	reported = tag_drain_locked(s, ctx);
	pthread_mutex_unlock(&s->lock);
	return reported;
}

uint32_t sanitizer_tag_pending(struct sanitizer *s)
{
	uint32_t n;

	pthread_mutex_lock(&s->lock);
	n = s->async_pending;
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool sanitizer_shadow_byte(struct sanitizer *s, uint64_t gpa, uint8_t *val)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = shadow_map_get(&s->shadow, gpa, val);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

bool sanitizer_object_at(struct sanitizer *s, uint64_t gva, struct shadow_object *out)
{
	struct shadow_object *o;

	pthread_mutex_lock(&s->lock);
	o = objects_get(&s->objects, objects_containing(&s->objects, gva));
	if (o)
		*out = *o;
	pthread_mutex_unlock(&s->lock);
	return o != NULL;
}

bool sanitizer_module_find(struct sanitizer *s, uint64_t addr, struct shadow_module *out)
{
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nr_modules && !found; i++) {
		if (addr >= s->modules[i].base && addr - s->modules[i].base < s->modules[i].size) {
			*out = s->modules[i];
			found = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

size_t sanitizer_modules(struct sanitizer *s, struct shadow_module *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->nr_modules;
	if (out && max)
		memcpy(out, s->modules, (n < max ? n : max) * sizeof(*out));
	pthread_mutex_unlock(&s->lock);
	return n;
}

void sanitizer_get_stats(struct sanitizer *s, struct sanitizer_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->objects = s->objects.count;
	out->quarantine_count = s->quarantine.count;
	out->quarantine_bytes = s->quarantine.total;
	depot_get_stats(&s->depot, &out->depot);
	pthread_mutex_unlock(&s->lock);
}

void sanitizer_get_caps(struct sanitizer *s, struct sanitizer_caps *out)
{
	bool tags = s->cfg.mode == SANITIZER_TAGS;

	memset(out, 0, sizeof(*out));
	out->depot = depot_max_bytes(&s->depot);
	out->objects = objects_max_bytes(&s->objects);
	out->max_objects = s->objects.cap;
	out->page_owner = s->page_owner.len;
	out->shadow = s->shadow.bytes_len + s->shadow.dirty_len;
	out->tags = tags ? s->tags.len : 0;
	out->stack_ring = tags ? (uint64_t)s->ring.size * sizeof(*s->ring.e) : 0;
	out->stack_ring_entries = tags ? s->ring.size : 0;
	out->quarantine = s->quarantine.cap_bytes;
	/* the quarantine's own ring of ids is host memory too */
	out->total = out->depot + out->objects + out->page_owner + out->shadow + out->tags +
		     out->stack_ring + (uint64_t)s->quarantine.size * sizeof(*s->quarantine.ring);
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)((bytes + (1u << 20) - 1) >> 20);
}

void sanitizer_print_stats(struct sanitizer *s, FILE *f)
{
	struct sanitizer_stats st;
	struct sanitizer_caps c;

	sanitizer_get_stats(s, &st);
	sanitizer_get_caps(s, &c);
	fprintf(f,
		"kasan-vmm: sanitizer: %llu events, %llu reports (%llu suppressed), %llu objects "
		"tracked, %llu untracked, %llu freed pages found reused\n",
		(unsigned long long)st.events, (unsigned long long)st.reports,
		(unsigned long long)st.reports_suppressed, (unsigned long long)st.objects,
		(unsigned long long)st.untracked, (unsigned long long)st.pages_reused);
	fprintf(f,
		"kasan-vmm: sanitizer caps: depot %llu MiB, object table %u entries %llu MiB, page "
		"owner %llu MiB, shadow %llu MiB, tags %llu MiB, stack ring %u entries %llu MiB, "
		"quarantine %llu MiB of guest memory: host memory at most %llu MiB\n",
		mib(c.depot), c.max_objects, mib(c.objects), mib(c.page_owner), mib(c.shadow),
		mib(c.tags), c.stack_ring_entries, mib(c.stack_ring), mib(c.quarantine),
		mib(c.total));
}
