// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Allocator hooks: the 6.1 kmem tracepoints and the module notifier, turned
 * into kasan-vmm events. What the tracepoints cannot show is listed in
 * README.md ("Tracepoint coverage").
 *
 * Caches have no create/destroy tracepoint in 6.1. A cache is announced
 * (CACHE_CREATE) the first time an object of it is seen, and destroyed
 * (CACHE_DESTROY) when its struct kmem_cache is itself freed, which shows up
 * as a kmem_cache_free of that pointer. The struct is read through
 * <linux/slub_def.h> (SLUB only, the same layout as the kernel it is built
 * for); other allocators get anonymous caches without a free pointer.
 */
#define pr_fmt(fmt) "kasan_vmm: " fmt

#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/version.h>
#ifdef CONFIG_SLUB
/*
 * slub_def.h's inline helpers want mm/slab.h's struct slab, which is not in
 * include/: these stand-ins only let them compile. They are never called;
 * what is used is struct kmem_cache, laid out by the config built against.
 */
struct slab {
	unsigned int objects;
};

static inline void *slab_address(const struct slab *slab)
{
	return NULL;
}

#include <linux/slub_def.h>
#endif
/* No CREATE_TRACE_POINTS: this only declares register_trace_*(). */
#include <trace/events/kmem.h>

#include "kasan_vmm.h"

/* ---- cache identity ---------------------------------------------------------- */

/*
 * cache_id: the struct kmem_cache's physical address >> 6. Those structs are
 * cache-line aligned slab objects of a few hundred bytes in the direct map,
 * so the id is unique below 256 GiB of RAM and never 0 (0 means kfree).
 * Anything else falls back to a 32-bit pointer hash.
 */
static u32 kv_cache_id(const void *s)
{
	u32 id;

	if (virt_addr_valid(s) && (virt_to_phys((void *)s) >> 6) <= U32_MAX)
		id = (u32)(virt_to_phys((void *)s) >> 6);
	else
		id = hash_ptr((void *)s, 32);
	return id ? id : 1;
}

/*
 * Caches already announced: open addressing over pointers, lock-free because
 * probes run in any context. A destroyed cache leaves a tombstone so that
 * chains stay intact; a full table only means caches stay anonymous.
 */
#define KV_CACHES_BITS 12
#define KV_CACHE_TOMB  ((const void *)1)
static const void *kv_caches[1 << KV_CACHES_BITS];
static atomic_t kv_caches_full = ATOMIC_INIT(0);

/* true when s is newly inserted (the caller announces it). */
static bool kv_cache_insert(const void *s)
{
	u32 i = hash_ptr((void *)s, KV_CACHES_BITS), n;

	for (n = 0; n < ARRAY_SIZE(kv_caches); n++, i = (i + 1) & (ARRAY_SIZE(kv_caches) - 1)) {
		const void *cur = READ_ONCE(kv_caches[i]);

		if (cur == s)
			return false;
		if (!cur) {
			cur = cmpxchg(&kv_caches[i], NULL, s);
			if (!cur)
				return true;
			if (cur == s)
				return false;
		}
	}
	atomic_inc(&kv_caches_full);
	return false;
}

/* true when s was announced (and is now forgotten). */
static bool kv_cache_remove(const void *s)
{
	u32 i = hash_ptr((void *)s, KV_CACHES_BITS), n;

	for (n = 0; n < ARRAY_SIZE(kv_caches); n++, i = (i + 1) & (ARRAY_SIZE(kv_caches) - 1)) {
		const void *cur = READ_ONCE(kv_caches[i]);

		if (!cur)
			return false;
		if (cur == s)
			return cmpxchg(&kv_caches[i], s, KV_CACHE_TOMB) == s;
	}
	return false;
}

static void kv_cache_announce(const struct kmem_cache *s)
{
	struct kv_ev ev = {.cache_id = kv_cache_id(s), .freeptr_offset = KV_FREEPTR_NONE};

	if (!kv_cache_insert(s))
		return;
#ifdef CONFIG_SLUB
	ev.name = s->name;
	ev.size_req = s->object_size;
	ev.size_alloc = s->size != s->object_size ? s->size : 0; /* slot stride: red zone */
	/* slub_debug red zones put a pad before the object: the slot starts there */
	ev.red_left = ev.size_alloc ? s->red_left_pad : 0;
	/*
	 * Only a free pointer inside the object is reported: with a ctor or
	 * SLAB_TYPESAFE_BY_RCU, SLUB keeps it after the object, whose contents
	 * must then survive the free (the host leaves such objects alone).
	 */
	if (!s->ctor && !(s->flags & SLAB_TYPESAFE_BY_RCU) && s->offset + 8 <= s->object_size)
		ev.freeptr_offset = s->offset;
#else
	ev.name = "unknown";
	ev.size_req = kmem_cache_size((struct kmem_cache *)s);
#endif
	kv_emit(KV_EV_CACHE_CREATE, &ev);
}

/*
 * kmalloc picks its cache from the size and gfp flags exactly like this. The
 * tracepoint's bytes_alloc is the cache's s->size: the slot stride, which
 * with slub_debug red zones is more than the object (left pad, red zone).
 */
static struct kmem_cache *kv_kmalloc_cache(size_t req, size_t alloc, gfp_t gfp)
{
	struct kmem_cache *s;
	unsigned int idx;

	if (!req || req > KMALLOC_MAX_CACHE_SIZE)
		return NULL;
	idx = kmalloc_index(req);
	if (!idx || idx > KMALLOC_SHIFT_HIGH)
		return NULL;
	s = READ_ONCE(kmalloc_caches[kmalloc_type(gfp)][idx]);
#ifdef CONFIG_SLUB
	if (!s || (s->size != alloc && kmem_cache_size(s) != alloc))
#else
	if (!s || kmem_cache_size(s) != alloc)
#endif
		return NULL; /* not the cache we think: stay anonymous */
	return s;
}

/* ---- slab probes ----------------------------------------------------------- */

static void kv_probe_kmalloc(void *data, unsigned long call_site, const void *ptr, size_t bytes_req,
			     size_t bytes_alloc, gfp_t gfp, int node)
{
	struct kv_ev ev = {
	    .addr = (unsigned long)ptr, .size_req = bytes_req, .size_alloc = bytes_alloc};
	struct kmem_cache *s;

	if (ZERO_OR_NULL_PTR(ptr))
		return;
	/* 6.1 large kmalloc: pages underneath (their mm_page_alloc came first). */
	if (bytes_alloc > KMALLOC_MAX_CACHE_SIZE) {
		kv_emit(KV_EV_KMALLOC_LARGE, &ev);
		return;
	}
	s = kv_kmalloc_cache(bytes_req, bytes_alloc, gfp);
	if (s) {
		kv_cache_announce(s);
		ev.cache_id = kv_cache_id(s);
		/*
		 * The object's usable size: the cache's red zones, which the
		 * stride in its CACHE_CREATE describes, are not the object's
		 * slack (a stride here would run into the next slot's left pad).
		 */
		ev.size_alloc = kmem_cache_size(s);
	}
	kv_emit(KV_EV_SLAB_ALLOC, &ev);
}

static void kv_probe_kmem_cache_alloc(void *data, unsigned long call_site, const void *ptr,
				      struct kmem_cache *s, gfp_t gfp, int node)
{
	struct kv_ev ev = {.addr = (unsigned long)ptr};

	if (!ptr || !s)
		return;
	kv_cache_announce(s);
	ev.cache_id = kv_cache_id(s);
	/* No slack: SLUB may keep its free pointer right after the object. */
	ev.size_req = kmem_cache_size(s);
	ev.size_alloc = ev.size_req;
	kv_emit(KV_EV_SLAB_ALLOC, &ev);
}

/* Fires before kfree's own NULL check; large objects are not slab folios. */
static void kv_probe_kfree(void *data, unsigned long call_site, const void *ptr)
{
	struct kv_ev ev = {.addr = (unsigned long)ptr};

	if (ZERO_OR_NULL_PTR(ptr))
		return;
	if (virt_addr_valid(ptr) && !folio_test_slab(virt_to_folio(ptr)))
		kv_emit(KV_EV_KFREE_LARGE, &ev);
	else
		kv_emit(KV_EV_SLAB_FREE, &ev);
}

static void kv_probe_kmem_cache_free(void *data, unsigned long call_site, const void *ptr,
				     const struct kmem_cache *s)
{
	struct kv_ev ev = {.addr = (unsigned long)ptr};

	if (!ptr)
		return;
	/* Freeing a struct kmem_cache we announced: that cache is gone. */
	if (kv_cache_remove(ptr)) {
		struct kv_ev d = {.addr = (unsigned long)ptr, .cache_id = kv_cache_id(ptr)};

		kv_emit(KV_EV_CACHE_DESTROY, &d);
	}
	ev.cache_id = s ? kv_cache_id(s) : 0;
	kv_emit(KV_EV_SLAB_FREE, &ev);
}

/* ---- page probes (not exported as register_trace_*) --------------------------- */

static __always_inline void kv_page_ev(u32 kind, struct page *page, unsigned int order)
{
	struct kv_ev ev = {.order = order};

	if (!page || order > KV_ORDER_MAX)
		return;
	ev.pfn = page_to_pfn(page);
	ev.addr = (unsigned long)page_address(page);
	kv_emit(kind, &ev);
}

static void kv_probe_page_alloc(void *data, struct page *page, unsigned int order, gfp_t gfp,
				int migratetype)
{
	kv_page_ev(KV_EV_PAGE_ALLOC, page, order);
}

static void kv_probe_page_free(void *data, struct page *page, unsigned int order)
{
	kv_page_ev(KV_EV_PAGE_FREE, page, order);
}

/*
 * In 6.1 free_unref_page_list() runs free_pages_prepare() (mm_page_free)
 * before mm_page_free_batched for the same page: sending it again would be a
 * double free. It is hooked only to count, which tells batched frees happen.
 */
static atomic64_t kv_batched = ATOMIC64_INIT(0);

static void kv_probe_page_free_batched(void *data, struct page *page)
{
	atomic64_inc(&kv_batched);
}

/* ---- aux stacks: call_rcu and queue_work (KASAN's kasan_record_aux_stack) ---- */

struct rcu_head;
struct pool_workqueue;
struct work_struct;

/* The object holding head gets this stack as its newest aux stack. */
static __always_inline void kv_aux_stack(const void *head)
{
	struct kv_ev ev = {.addr = (unsigned long)head};

	kv_emit(KV_EV_AUX_STACK, &ev);
}

/* 6.1's __call_rcu_common(): needs CONFIG_RCU_TRACE (else a no-op tracepoint). */
static void kv_probe_rcu_callback(void *data, const char *rcuname, struct rcu_head *rhp, long qlen)
{
	kv_aux_stack(rhp);
}

static void kv_probe_queue_work(void *data, int req_cpu, struct pool_workqueue *pwq,
				struct work_struct *work)
{
	kv_aux_stack(work);
}

/* Tracepoints not exported as register_trace_*: found by name. */
struct kv_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
};

static struct kv_tp kv_named_tps[] = {
    {"mm_page_alloc", kv_probe_page_alloc},
    {"mm_page_free", kv_probe_page_free},
    {"mm_page_free_batched", kv_probe_page_free_batched},
    {"rcu_callback", kv_probe_rcu_callback},
    {"workqueue_queue_work", kv_probe_queue_work},
};

static void kv_find_tp(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kv_named_tps); i++)
		if (!strcmp(tp->name, kv_named_tps[i].name))
			kv_named_tps[i].tp = tp;
}

/* ---- modules ---------------------------------------------------------------- */

static int kv_module_event(struct notifier_block *nb, unsigned long state, void *data)
{
	struct module *mod = data;
	struct kv_ev ev = {.name = mod->name};

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	ev.addr = (unsigned long)mod->mem[MOD_TEXT].base;
	ev.size_req = mod->mem[MOD_TEXT].size;
#else
	ev.addr = (unsigned long)mod->core_layout.base;
	ev.size_req = mod->core_layout.size;
#endif
	ev.size_alloc = ev.size_req;
	if (state == MODULE_STATE_COMING && ev.size_req)
		kv_emit(KV_EV_MODULE_LOAD, &ev);
	else if (state == MODULE_STATE_GOING)
		kv_emit(KV_EV_MODULE_UNLOAD, &ev);
	return NOTIFY_DONE;
}

static struct notifier_block kv_module_nb = {.notifier_call = kv_module_event};

/* ---- registration ------------------------------------------------------------- */

static bool kv_slab_hooked, kv_module_hooked;

static void kv_unhook_slab(void)
{
	unregister_trace_kmalloc(kv_probe_kmalloc, NULL);
	unregister_trace_kmem_cache_alloc(kv_probe_kmem_cache_alloc, NULL);
	unregister_trace_kfree(kv_probe_kfree, NULL);
	unregister_trace_kmem_cache_free(kv_probe_kmem_cache_free, NULL);
}

int kv_hooks_init(void)
{
	unsigned int i;
	int ret;

	for_each_kernel_tracepoint(kv_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(kv_named_tps); i++) {
		struct kv_tp *t = &kv_named_tps[i];

		ret = t->tp ? tracepoint_probe_register(t->tp, t->probe, NULL) : -ENOENT;
		if (ret) {
			pr_warn("tracepoint %s: %d (its events are missing)\n", t->name, ret);
			t->tp = NULL;
		}
	}
	ret = register_trace_kmalloc(kv_probe_kmalloc, NULL);
	ret = ret ?: register_trace_kmem_cache_alloc(kv_probe_kmem_cache_alloc, NULL);
	ret = ret ?: register_trace_kfree(kv_probe_kfree, NULL);
	ret = ret ?: register_trace_kmem_cache_free(kv_probe_kmem_cache_free, NULL);
	kv_slab_hooked = true; /* unregistering a probe never registered is harmless */
	if (ret) {
		pr_err("cannot hook the kmem tracepoints: %d\n", ret);
		kv_hooks_exit();
		return ret;
	}
	ret = register_module_notifier(&kv_module_nb);
	if (ret)
		pr_warn("module notifier: %d (module load/unload events are missing)\n", ret);
	kv_module_hooked = !ret;
	return 0;
}

void kv_hooks_exit(void)
{
	unsigned int i;

	if (kv_module_hooked)
		unregister_module_notifier(&kv_module_nb);
	kv_module_hooked = false;
	if (kv_slab_hooked)
		kv_unhook_slab();
	kv_slab_hooked = false;
	for (i = 0; i < ARRAY_SIZE(kv_named_tps); i++) {
		if (kv_named_tps[i].tp)
			tracepoint_probe_unregister(kv_named_tps[i].tp, kv_named_tps[i].probe,
						    NULL);
		kv_named_tps[i].tp = NULL;
	}
	/* No probe is running, nor will run, once this returns. */
	tracepoint_synchronize_unregister();
	pr_info("hooks removed: %lld batched page frees seen, %d caches left anonymous\n",
		(long long)atomic64_read(&kv_batched), atomic_read(&kv_caches_full));
}
