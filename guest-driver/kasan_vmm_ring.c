// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Per-CPU event rings (paravirt/ABI.md section 3). Each online CPU gets its
 * own ring from a CPU hotplug callback; the producer runs on that CPU with
 * local interrupts off, so tracepoints firing in IRQ context cannot interleave
 * with a half-written record. NMIs are not masked by that, so events in NMI
 * context are counted as lost instead.
 */
#define pr_fmt(fmt) "kasan_vmm: " fmt

#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stacktrace.h>
#include <linux/string.h>
#include <asm/io.h>
#include <asm/msr.h>

#include "kasan_vmm.h"

/*
 * Frames to drop from stack_trace_save(): kv_emit and the probe that called
 * it. Probes pass a pointer to their own struct kv_ev, which keeps the
 * compiler from turning that call into a tail call (the probe frame stays).
 */
#define KV_SKIP_FRAMES 2

struct kv_ring {
	struct kv_ring_hdr *hdr;
	struct page *pages;
	u8 *data;
	u64 size;
	u64 head;
	u64 since_kick;
	u32 shift;
	bool ready; /* store-release once the host accepted RING_SETUP */
};

static struct kv_ring *kv_rings; /* kv_nr_cpus entries */
static enum cpuhp_state kv_hp_state;
static bool kv_producing;
static atomic64_t kv_lost = ATOMIC64_INIT(0);

static u32 kv_pick_shift(void)
{
	/* 16 KiB rings in sync mode; async needs room for a whole batch. */
	u32 want = kv_mode == KV_MODE_SYNC ? 14 : KV_RING_SHIFT_MIN_ASYNC;

	want = max3(want, kv_ring_shift_min, (u32)KV_RING_SHIFT_MIN);
	return min3(want, kv_ring_shift_max, (u32)KV_RING_SHIFT_MAX);
}

/* Hotplug callback: runs for each CPU that is or comes online; sleeping is fine. */
static int kv_cpu_online(unsigned int cpu)
{
	struct kv_ring *r;
	u32 shift = kv_pick_shift();
	int st;

	if (cpu >= kv_nr_cpus) {
		pr_warn_once("cpu %u is beyond the host's %u ring slots: its events are lost\n",
			     cpu, kv_nr_cpus);
		return 0;
	}
	r = &kv_rings[cpu];
	if (smp_load_acquire(&r->ready))
		return 0; /* re-onlined: the host still has this ring */
	r->hdr = kzalloc(sizeof(*r->hdr), GFP_KERNEL);
	r->pages = alloc_pages(GFP_KERNEL | __GFP_ZERO, shift - PAGE_SHIFT);
	if (!r->hdr || !r->pages || !IS_ALIGNED((unsigned long)r->hdr, 64)) {
		pr_err("no memory for cpu %u's ring\n", cpu);
		goto fail;
	}
	r->data = page_address(r->pages);
	r->shift = shift;
	r->size = 1ull << shift;
	r->head = 0;
	r->hdr->magic = KV_RING_MAGIC;
	r->hdr->cpu = cpu;
	st = kv_command_ring_setup(cpu, shift, virt_to_phys(r->hdr), page_to_phys(r->pages));
	if (st != KV_ST_OK) {
		pr_err("RING_SETUP for cpu %u failed: status %d\n", cpu, st);
		goto fail;
	}
	smp_store_release(&r->ready, true);
	return 0;
fail:
	/* A missing ring only loses this CPU's events: do not block hotplug. */
	if (r->pages)
		__free_pages(r->pages, shift - PAGE_SHIFT);
	kfree(r->hdr);
	r->pages = NULL;
	r->hdr = NULL;
	return 0;
}

int kv_rings_init(void)
{
	int ret;

	kv_rings = kcalloc(kv_nr_cpus, sizeof(*kv_rings), GFP_KERNEL);
	if (!kv_rings)
		return -ENOMEM;
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kasan_vmm:online", kv_cpu_online, NULL);
	if (ret < 0) {
		kfree(kv_rings);
		kv_rings = NULL;
		return ret;
	}
	kv_hp_state = ret;
	WRITE_ONCE(kv_producing, true);
	return 0;
}

void kv_rings_stop(void)
{
	WRITE_ONCE(kv_producing, false);
	if (kv_hp_state > 0)
		cpuhp_remove_state_nocalls(kv_hp_state);
	kv_hp_state = 0;
}

void kv_rings_free(void)
{
	u32 cpu;

	if (!kv_rings)
		return;
	for (cpu = 0; cpu < kv_nr_cpus; cpu++) {
		struct kv_ring *r = &kv_rings[cpu];

		if (r->pages)
			__free_pages(r->pages, r->shift - PAGE_SHIFT);
		kfree(r->hdr);
	}
	kfree(kv_rings);
	kv_rings = NULL;
}

static void kv_kick(struct kv_ring *r)
{
	kv_outl(KV_DB_DRAIN);
	r->hdr->kicks++;
	r->since_kick = 0;
	r->hdr->since_kick = 0;
}

/*
 * Room for up to max_len bytes at r->head, draining once when full. Returns
 * the record's offset in the data area (0 after a pad) and the pad length,
 * or -1. The head only moves once the record's real length is known.
 */
static s64 kv_claim(struct kv_ring *r, u32 max_len, u64 *tail, u64 *pad)
{
	u64 need, pos;

	*tail = kv_ring_tail(r->hdr);
	need = kv_ring_claim(r->head, *tail, r->size, max_len);
	if (!need) {
		kv_kick(r);
		*tail = kv_ring_tail(r->hdr);
		need = kv_ring_claim(r->head, *tail, r->size, max_len);
		if (!need)
			return -1;
	}
	*pad = need - max_len;
	pos = kv_ring_place(r->data, r->head, r->size, need, max_len);
	return pos;
}

/* Names end up in the host log: printable ASCII only. */
static u32 kv_copy_name(char *dst, const char *src)
{
	u32 n = src ? strnlen(src, KV_REC_NAME_MAX) : 0, i;

	for (i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	return n;
}

static void kv_fill(struct kv_rec *rec, u32 kind, u32 cpu, const struct kv_ev *ev)
{
	struct task_struct *t = current;

	rec->kind = (u16)kind;
	rec->flags = 0;
	rec->pid = (u32)t->pid;
	rec->cpu = cpu;
	rec->tsc = rdtsc();
	rec->addr = ev->addr;
	rec->old_addr = ev->old_addr;
	rec->size_req = ev->size_req;
	rec->size_alloc = ev->size_alloc;
	rec->pfn = ev->pfn;
	rec->order = ev->order;
	rec->cache_id = ev->cache_id;
	rec->freeptr_offset = ev->freeptr_offset;
	rec->red_left = ev->red_left;
	BUILD_BUG_ON(sizeof(rec->comm) != sizeof(t->comm));
	memcpy(rec->comm, t->comm, sizeof(rec->comm));
}

/* Produce one event on this CPU's ring (any context but NMI). */
noinline void kv_emit(u32 kind, const struct kv_ev *ev)
{
	u32 max_frames = (kv_features & KV_FEAT_STACKS) ? KV_REC_MAX_FRAMES : 0;
	u32 nf = 0, name_len = 0, len, cpu;
	unsigned long flags;
	struct kv_ring *r;
	struct kv_rec *rec;
	u64 tail, pad;
	s64 pos;
	char *name;

	if (!READ_ONCE(kv_producing))
		return;
	if (unlikely(in_nmi())) {
		atomic64_inc(&kv_lost);
		return;
	}
	if (ev->name)
		name_len = min_t(u32, strnlen(ev->name, KV_REC_NAME_MAX), KV_REC_NAME_MAX);
	local_irq_save(flags);
	cpu = raw_smp_processor_id();
	r = cpu < kv_nr_cpus ? &kv_rings[cpu] : NULL;
	if (!r || !smp_load_acquire(&r->ready)) {
		atomic64_inc(&kv_lost);
		goto out;
	}
	pos = kv_claim(r, kv_rec_len(max_frames, name_len), &tail, &pad);
	if (pos < 0) {
		r->hdr->dropped++; /* no seq taken: drops leave no gap */
		goto out;
	}
	rec = (struct kv_rec *)(r->data + pos);
	/* Frames go straight into the ring; the record shrinks to what was found. */
	if (max_frames)
		nf = stack_trace_save((unsigned long *)(rec + 1), max_frames, KV_SKIP_FRAMES);
	len = kv_rec_len(nf, name_len);
	rec->len = (u16)len;
	rec->nr_frames = (u8)nf;
	rec->name_len = (u8)name_len;
	kv_fill(rec, kind, cpu, ev);
	if (name_len) {
		name = (char *)(rec + 1) + nf * 8;
		if (name_len & 7) /* zero the padding up to 8 */
			memset(name + round_down(name_len, 8), 0, 8);
		kv_copy_name(name, ev->name);
	}
	r->head += pad + len;
	rec->seq = kv_seq_next(kv_seq); /* last: seq order is publish order */
	r->hdr->emitted++;
	kv_ring_publish(r->hdr, r->head);
	r->hdr->since_kick = ++r->since_kick;
	if (kv_should_kick(kv_mode, kind, r->since_kick, r->head - tail, r->size))
		kv_kick(r);
out:
	local_irq_restore(flags);
}

void kv_drain(void)
{
	kv_outl(KV_DB_DRAIN);
}

void kv_rings_stats(u64 *emitted, u64 *dropped, u64 *lost)
{
	u32 cpu;

	*emitted = 0;
	*dropped = 0;
	*lost = atomic64_read(&kv_lost);
	for (cpu = 0; kv_rings && cpu < kv_nr_cpus; cpu++) {
		if (!smp_load_acquire(&kv_rings[cpu].ready))
			continue;
		*emitted += kv_rings[cpu].hdr->emitted;
		*dropped += kv_rings[cpu].hdr->dropped;
	}
}
