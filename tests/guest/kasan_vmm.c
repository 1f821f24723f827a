/* SPDX-License-Identifier: MIT */
/*
 * Guest side of the kasan-vmm ABI (paravirt/ABI.md). Rings are allocated
 * before any allocator event exists (kmain calls kv_init before
 * kmem_cache_init), so no event is ever emitted without a ring.
 */
#include "kasan_vmm.h"
#include "mm/mm_internal.h"
#include "printf.h"
#include "smp.h"
#include "string.h"

struct kv_ring {
	struct kv_ring_hdr *hdr;
	u8 *data;
	u64 size;
	u64 head;
	u64 since_kick;
	u32 ready;
};

bool kv_present;
u32 kv_mode;
static u32 kv_features, kv_port, kv_slots, kv_shift_min, kv_shift_max, kv_nr_cpus;
static u64 kv_seq __attribute__((aligned(8))) = KV_SEQ_FIRST;
static u64 kv_lost; /* events on a CPU without a ring */
/* kv_drain() calls: doorbells no mode asked for, so the host tests can subtract them */
static u64 kv_explicit_drains;
static struct kv_ring rings[MAX_CPUS];
static struct kv_ring_hdr ring_hdrs[MAX_CPUS] __attribute__((aligned(64)));
static u64 percpu_base[MAX_CPUS];
static u8 cmd_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static spinlock_t cmd_lock;

static struct kv_task swapper_task[MAX_CPUS];
static struct kv_task worker_task[MAX_CPUS];
struct kv_task kv_test_task = {.pid = 1, .comm = "kasan_test"};

/* outl with a memory clobber: the host reads what we wrote before it. */
static inline void kv_outl(u32 v)
{
	asm volatile("outl %0, %w1" ::"a"(v), "Nd"((u16)kv_port) : "memory");
}

static inline u64 irq_save(void)
{
	u64 f;

	asm volatile("pushfq; popq %0; cli" : "=r"(f)::"memory");
	return f;
}

static inline void irq_restore(u64 f)
{
	asm volatile("pushq %0; popfq" ::"r"(f) : "memory", "cc");
}

struct kv_task *kv_task_switch(struct kv_task *t)
{
	struct cpu *c = this_cpu();
	struct kv_task *old = c->current_task;

	c->current_task = t;
	return old;
}

struct kv_task *kv_worker_task(u32 cpu)
{
	return &worker_task[cpu < MAX_CPUS ? cpu : 0];
}

static void tasks_init(void)
{
	for (u32 i = 0; i < MAX_CPUS; i++) {
		snprintf(swapper_task[i].comm, KV_COMM_LEN, "swapper/%u", i);
		snprintf(worker_task[i].comm, KV_COMM_LEN, "kworker/%u:1", i);
		worker_task[i].pid = 100 + i;
		cpus[i].current_task = &swapper_task[i];
		percpu_base[i] = (u64)&cpus[i];
	}
}

/* A command block on the shared page; returns the host's status. */
static int kv_command(void *blk, u16 cmd)
{
	struct kv_cmd_hdr *h = blk;

	h->magic = KV_CMD_MAGIC;
	h->abi_version = KV_ABI_VERSION;
	h->cmd = cmd;
	h->reserved = 0;
	h->status = KV_ST_PENDING;
	kv_outl((u32)(virt_to_phys(blk) >> KV_PAGE_SHIFT));
	return __atomic_load_n(&h->status, __ATOMIC_ACQUIRE);
}

static bool kv_discover(void)
{
	u32 a, b, c, d;

	cpuid(KV_CPUID_LEAF, 0, &a, &b, &c, &d);
	if (b != KV_CPUID_SIG_EBX || c != KV_CPUID_SIG_ECX || d != KV_CPUID_SIG_EDX ||
	    (a >> 16) != KV_ABI_MAJOR)
		return false;
	cpuid(KV_CPUID_LEAF_CONFIG, 0, &a, &b, &c, &d);
	kv_features = a;
	kv_port = b & 0xffff;
	kv_mode = kv_cfg_mode(c);
	kv_slots = kv_cfg_ring_slots(d);
	kv_shift_min = kv_cfg_ring_shift_min(d);
	kv_shift_max = kv_cfg_ring_shift_max(d);
	return (kv_features & KV_FEAT_EVENTS) && kv_slots;
}

static int kv_register(u64 vmemmap_base)
{
	extern char __text_start[], __text_end[];
	struct kv_cmd_register *r = (void *)cmd_page;
	static const char release[] = "testguest";

	memset(r, 0, sizeof(*r));
	r->guest_kind = KV_GUEST_TESTGUEST;
	r->nr_cpus = kv_nr_cpus;
	r->direct_map_base = DIRECT_MAP_BASE;
	r->vmemmap_base = vmemmap_base;
	r->vmalloc_start = VMALLOC_START;
	r->vmalloc_end = VMALLOC_END;
	r->text_start = (u64)__text_start;
	r->text_end = (u64)__text_end;
	r->seq_counter_gpa = virt_to_phys(&kv_seq);
	r->percpu_offsets_va = (u64)percpu_base;
	r->current_task_pcpu = offsetof(struct cpu, current_task);
	r->task_pid_off = offsetof(struct kv_task, pid);
	r->task_comm_off = offsetof(struct kv_task, comm);
	r->task_struct_size = sizeof(struct kv_task);
	r->release_len = sizeof(release) - 1;
	memcpy(r->release, release, sizeof(release) - 1);
	return kv_command(r, KV_CMD_REGISTER);
}

static void kv_cpu_init_cb(void *arg)
{
	(void)arg;
	kv_cpu_init();
}

void kv_init(u64 vmemmap_base)
{
	int st;

	tasks_init();
	if (!kv_discover()) {
		printf("testguest: kasan-vmm not present\n");
		return;
	}
	kv_nr_cpus = MIN(MIN(nr_cpus, kv_slots), MAX_CPUS);
	st = kv_register(vmemmap_base);
	printf("testguest: kasan-vmm ABI %u.%u, mode %s, port 0x%x, features 0x%x, register %d\n",
	       KV_ABI_MAJOR, KV_ABI_MINOR,
	       kv_mode == KV_MODE_SYNC	  ? "sync"
	       : kv_mode == KV_MODE_ASYNC ? "async"
					  : "asymm",
	       kv_port, kv_features, st);
	if (st != KV_ST_OK)
		return;
	kv_present = true;
	kv_cpu_init();
	for (u32 c = 1; c < nr_cpus; c++) /* each CPU sets up its own ring */
		if (cpus[c].online && smp_call_on(c, kv_cpu_init_cb, NULL, 2000000))
			printf("testguest: kasan-vmm: cpu %u did not set up its ring\n", c);
	printf("testguest: kasan-vmm rings: %u, %llu KiB each\n", kv_rings_ready(),
	       (unsigned long long)(rings[0].size >> 10));
}

static u32 ring_shift(void)
{
	u32 want = kv_mode == KV_MODE_SYNC ? 14 : KV_RING_SHIFT_MIN_ASYNC;

	want = MAX(want, kv_shift_min);
	return MIN(want, MIN(kv_shift_max, KV_RING_SHIFT_MAX));
}

void kv_cpu_init(void)
{
	u32 cpu = smp_processor_id(), shift = ring_shift();
	struct kv_ring *r = &rings[cpu];
	struct kv_cmd_ring_setup *rs = (void *)cmd_page;
	struct page *pg;
	int st;

	if (!kv_present || cpu >= kv_nr_cpus || r->ready)
		return;
	pg = __alloc_pages_silent(0, shift - PAGE_SHIFT);
	if (!pg) {
		printf("testguest: kasan-vmm: no memory for cpu %u's ring\n", cpu);
		return;
	}
	r->hdr = &ring_hdrs[cpu];
	r->data = page_address(pg);
	r->size = 1ull << shift;
	r->hdr->magic = KV_RING_MAGIC;
	r->hdr->cpu = cpu;
	spin_lock(&cmd_lock);
	memset(rs, 0, sizeof(*rs));
	rs->cpu = cpu;
	rs->size_shift = shift;
	rs->hdr_gpa = virt_to_phys(r->hdr);
	rs->data_gpa = virt_to_phys(r->data);
	st = kv_command(rs, KV_CMD_RING_SETUP);
	spin_unlock(&cmd_lock);
	if (st != KV_ST_OK) {
		printf("testguest: kasan-vmm: ring setup for cpu %u failed: %d\n", cpu, st);
		__free_pages_silent(pg, shift - PAGE_SHIFT);
		return;
	}
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
}

u32 kv_rings_ready(void)
{
	u32 n = 0;

	for (u32 i = 0; i < MAX_CPUS; i++)
		n += __atomic_load_n(&rings[i].ready, __ATOMIC_ACQUIRE);
	return n;
}

/* Return addresses by rbp, innermost first; stops at a frame that does not go up the stack. */
static u32 kv_walk(u64 fp, u64 *out)
{
	u32 n = 0;

	while (n < KV_REC_MAX_FRAMES && fp && !(fp & 7)) {
		const u64 *f = (const u64 *)fp;

		if (!f[1])
			break;
		out[n++] = f[1];
		if (f[0] <= fp || f[0] - fp > 65536)
			break;
		fp = f[0];
	}
	return n;
}

static void kv_kick(struct kv_ring *r)
{
	kv_outl(KV_DB_DRAIN);
	r->hdr->kicks++;
	r->since_kick = 0;
	r->hdr->since_kick = 0;
}

/* Claim room for len bytes (draining once if full); the record's offset or -1. */
static s64 kv_claim(struct kv_ring *r, u32 len, u64 *tail)
{
	u64 need, pos;

	*tail = kv_ring_tail(r->hdr);
	need = kv_ring_claim(r->head, *tail, r->size, len);
	if (!need) {
		kv_kick(r);
		*tail = kv_ring_tail(r->hdr);
		need = kv_ring_claim(r->head, *tail, r->size, len);
		if (!need)
			return -1;
	}
	pos = kv_ring_place(r->data, r->head, r->size, need, len);
	r->head += need;
	return (s64)pos;
}

static void kv_fill(struct kv_rec *rec, u32 kind, u32 cpu, const struct kv_ev *ev)
{
	const struct kv_task *t = this_cpu()->current_task;

	rec->kind = (u16)kind;
	rec->flags = 0;
	rec->pid = t->pid;
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
	rec->red_left = 0; /* its caches have no left red zone */
	((u64 *)rec->comm)[0] = ((const u64 *)t->comm)[0];
	((u64 *)rec->comm)[1] = ((const u64 *)t->comm)[1];
}

void kv_emit(u32 kind, u64 fp, const struct kv_ev *ev)
{
	u64 frames[KV_REC_MAX_FRAMES], flags, tail;
	u32 nf = 0, name_len = 0, len, cpu;
	struct kv_ring *r;
	struct kv_rec *rec;
	s64 pos;

	if (!kv_present)
		return;
	if (kv_features & KV_FEAT_STACKS)
		nf = kv_walk(fp, frames);
	if (ev->name)
		name_len = (u32)strnlen(ev->name, KV_REC_NAME_MAX);
	len = kv_rec_len(nf, name_len);
	flags = irq_save();
	cpu = smp_processor_id();
	r = &rings[cpu];
	if (!r->ready) {
		__atomic_fetch_add(&kv_lost, 1, __ATOMIC_RELAXED);
		irq_restore(flags);
		return;
	}
	pos = kv_claim(r, len, &tail);
	if (pos < 0) {
		r->hdr->dropped++;
		irq_restore(flags);
		return;
	}
	rec = (void *)(r->data + pos);
	rec->len = (u16)len;
	rec->nr_frames = (u8)nf;
	rec->name_len = (u8)name_len;
	kv_fill(rec, kind, cpu, ev);
	memcpy(rec + 1, frames, nf * 8);
	if (name_len) {
		u8 *nm = (u8 *)(rec + 1) + nf * 8;

		if (name_len & 7) /* zero the padding up to 8 */
			memset(nm + ALIGN_DOWN(name_len, 8), 0, 8);
		memcpy(nm, ev->name, name_len);
	}
	rec->seq = kv_seq_next(&kv_seq); /* last: the seq order is the publish order */
	r->hdr->emitted++;
	kv_ring_publish(r->hdr, r->head);
	r->hdr->since_kick = ++r->since_kick;
	if (kv_should_kick(kv_mode, kind, r->since_kick, r->head - tail, r->size))
		kv_kick(r);
	irq_restore(flags);
}

void kv_drain(void)
{
	struct kv_ring *r;

	if (!kv_present)
		return;
	__atomic_fetch_add(&kv_explicit_drains, 1, __ATOMIC_RELAXED);
	r = &rings[smp_processor_id()];
	if (r->ready)
		kv_kick(r);
	else
		kv_outl(KV_DB_DRAIN);
}

void kv_get_stats(struct kv_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (u32 i = 0; i < MAX_CPUS; i++) {
		struct kv_ring_hdr *h = &ring_hdrs[i];

		if (!rings[i].ready)
			continue;
		st->emitted += h->emitted;
		st->dropped += h->dropped;
		st->kicks += h->kicks;
		st->applied += __atomic_load_n(&h->applied, __ATOMIC_ACQUIRE);
		st->rejected += __atomic_load_n(&h->rejected, __ATOMIC_ACQUIRE);
	}
}

void kv_finish(void)
{
	struct kv_stats st;

	kv_drain();
	kv_get_stats(&st);
	printf("testguest: kasan-vmm events emitted: %llu\n", (unsigned long long)st.emitted);
	if (kv_present)
		printf("testguest: kasan-vmm events applied: %llu, rejected: %llu, dropped: %llu, "
		       "lost: %llu, doorbells: %llu, seq: %llu, drains: %llu\n",
		       (unsigned long long)st.applied, (unsigned long long)st.rejected,
		       (unsigned long long)st.dropped, (unsigned long long)kv_lost,
		       (unsigned long long)st.kicks, (unsigned long long)(kv_seq - KV_SEQ_FIRST),
		       (unsigned long long)__atomic_load_n(&kv_explicit_drains, __ATOMIC_RELAXED));
}

void kasan_check_byte(const void *p)
{
	FORCE_FRAME();
	(void)*(const volatile u8 *)p;
}

struct kv_ring_hdr *kv_this_ring(u64 *size, u8 **data)
{
	struct kv_ring *r = &rings[smp_processor_id()];

	if (!r->ready)
		return NULL;
	*size = r->size;
	*data = r->data;
	return r->hdr;
}

void kv_ring_resync(u64 head)
{
	struct kv_ring *r = &rings[smp_processor_id()];

	if (!r->ready)
		return;
	r->head = ALIGN_UP(head, KV_REC_ALIGN);
	kv_ring_publish(r->hdr, r->head);
	kv_kick(r);
}

u16 kv_doorbell_port(void)
{
	return (u16)kv_port;
}

u64 kv_seq_take(void)
{
	return kv_seq_next(&kv_seq);
}

u64 kv_seq_gpa(void)
{
	return virt_to_phys(&kv_seq);
}
