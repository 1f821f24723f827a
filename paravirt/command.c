/* SPDX-License-Identifier: MIT */
/*
 * Doorbells and command blocks. A doorbell is one 32-bit value; everything
 * else is read from the guest's page-aligned command block, copied to host
 * memory first, then validated. The answer is the block's status word.
 */
#include <string.h>

#include "paravirt/consumer_internal.h"

/* Largest task_struct the offsets may point into (Linux's is ~10 KiB). */
#define KV_TASK_STRUCT_MAX (64u * 1024)

static bool opt_canonical(const struct kv_consumer *c, uint64_t va)
{
	return va == 0 || kv_canonical(c, va);
}

static bool opt_range(const struct kv_consumer *c, uint64_t lo, uint64_t hi)
{
	if (lo == 0 && hi == 0)
		return true;
	return lo < hi && kv_canonical_range(c, lo, hi - lo);
}

static bool task_offsets_ok(const struct kv_cmd_register *b)
{
	if (b->task_struct_size == 0)
		return b->task_pid_off == 0 && b->task_comm_off == 0;
	return b->task_struct_size <= KV_TASK_STRUCT_MAX &&
	       (uint64_t)b->task_pid_off + 4 <= b->task_struct_size &&
	       (uint64_t)b->task_comm_off + KV_COMM_LEN <= b->task_struct_size;
}

/* Largest struct page accepted (Linux's is 64 bytes; debug options add a few words). */
#define KV_PAGE_STRUCT_MAX 256u

static bool page_struct_ok(const struct kv_cmd_register *b)
{
	if (b->page_struct_size == 0)
		return b->page_refcount_off == 0;
	return b->vmemmap_base && b->page_struct_size <= KV_PAGE_STRUCT_MAX &&
	       b->page_refcount_off % 4 == 0 && b->page_refcount_off + 4 <= b->page_struct_size;
}

static enum kv_reject check_register(struct kv_consumer *c, const struct kv_cmd_register *b)
{
	if (b->guest_kind != KV_GUEST_TESTGUEST && b->guest_kind != KV_GUEST_LINUX)
		return KV_REJ_REG_FIELD;
	if (b->nr_cpus == 0 || b->nr_cpus > KV_CPUS_MAX)
		return KV_REJ_REG_FIELD;
	/* arm64: an offset (see enum kv_arch); page events check what it yields */
	if ((c->cfg.arch != KV_ARCH_ARM64 && !opt_canonical(c, b->direct_map_base)) ||
	    b->direct_map_base % KV_PAGE_SIZE || !opt_canonical(c, b->vmemmap_base) ||
	    !opt_canonical(c, b->percpu_offsets_va) ||
	    !opt_range(c, b->vmalloc_start, b->vmalloc_end) ||
	    !opt_range(c, b->text_start, b->text_end))
		return KV_REJ_REG_FIELD;
	if (b->current_task_pcpu > (1ull << 32) || !task_offsets_ok(b) || !page_struct_ok(b))
		return KV_REJ_REG_FIELD;
	if (b->seq_counter_gpa &&
	    (b->seq_counter_gpa % 8 || !c->cfg.mem.ptr(c->cfg.mem.ctx, b->seq_counter_gpa, 8)))
		return KV_REJ_REG_FIELD;
	if (b->release_len > KV_RELEASE_MAX)
		return KV_REJ_REG_STRING;
	for (uint32_t i = 0; i < b->release_len; i++)
		if (b->release[i] < 0x20 || b->release[i] > 0x7e)
			return KV_REJ_REG_STRING;
	return KV_REJ_COUNT;
}

static int cmd_register(struct kv_consumer *c, struct kv_cmd_register *b)
{
	struct kv_guest_layout *l = &c->layout;
	enum kv_reject why;

	/* Before 1.3 the block ended at release[]: what follows is not ours. */
	if ((b->hdr.abi_version & 0xffff) < 3)
		b->page_struct_size = b->page_refcount_off = 0;
	why = check_register(c, b);

	if (why != KV_REJ_COUNT) {
		kv_reject(c, why, 0, b->guest_kind);
		return KV_ST_EINVAL;
	}
	/* A second REGISTER means the guest started over (reboot, module reload). */
	if (c->registered)
		kv_drain_locked(c, true);
	kv_forget_rings_locked(c);
	*l = (struct kv_guest_layout){
	    .guest_kind = b->guest_kind,
	    .nr_cpus = b->nr_cpus,
	    .direct_map_base = b->direct_map_base,
	    .vmemmap_base = b->vmemmap_base,
	    .vmalloc_start = b->vmalloc_start,
	    .vmalloc_end = b->vmalloc_end,
	    .kaslr_offset = b->kaslr_offset,
	    .text_start = b->text_start,
	    .text_end = b->text_end,
	    .seq_counter_gpa = b->seq_counter_gpa,
	    .percpu_offsets_va = b->percpu_offsets_va,
	    .current_task_pcpu = b->current_task_pcpu,
	    .task_pid_off = b->task_pid_off,
	    .task_comm_off = b->task_comm_off,
	    .task_struct_size = b->task_struct_size,
	    .page_struct_size = b->page_struct_size,
	    .page_refcount_off = b->page_refcount_off,
	};
	memcpy(l->release, b->release, b->release_len);
	l->release[b->release_len] = '\0';
	c->registered = true;
	kv_log(c, "guest registered: kind %u, %u cpus, release \"%s\"", l->guest_kind, l->nr_cpus,
	       l->release);
	return KV_ST_OK;
}

static uint32_t min_ring_shift(const struct kv_consumer *c)
{
	return c->cfg.mode == KV_MODE_SYNC ? KV_RING_SHIFT_MIN : KV_RING_SHIFT_MIN_ASYNC;
}

static int ring_reject(struct kv_consumer *c, enum kv_reject why, uint32_t cpu, uint64_t detail,
		       int status)
{
	kv_reject(c, why, cpu, detail);
	return status;
}

static int cmd_ring_setup(struct kv_consumer *c, const struct kv_cmd_ring_setup *b)
{
	struct kv_ring *r;
	void *hdr, *data;
	uint64_t size;

	if (!c->registered)
		return ring_reject(c, KV_REJ_CMD_STATE, b->cpu, KV_CMD_RING_SETUP, KV_ST_ESTATE);
	if (b->cpu >= c->cfg.max_cpus || b->cpu >= c->layout.nr_cpus)
		return ring_reject(c, KV_REJ_RING_CPU, b->cpu, b->cpu, KV_ST_EINVAL);
	if (b->size_shift < min_ring_shift(c) || b->size_shift > KV_RING_SHIFT_MAX)
		return ring_reject(c, KV_REJ_RING_SIZE, b->cpu, b->size_shift, KV_ST_EINVAL);
	if (b->hdr_gpa % 64 || b->data_gpa % KV_PAGE_SIZE)
		return ring_reject(c, KV_REJ_RING_ALIGN, b->cpu, b->hdr_gpa | b->data_gpa,
				   KV_ST_EINVAL);
	size = 1ull << b->size_shift;
	hdr = c->cfg.mem.ptr(c->cfg.mem.ctx, b->hdr_gpa, KV_RING_HDR_SIZE);
	data = c->cfg.mem.ptr(c->cfg.mem.ctx, b->data_gpa, size);
	if (!hdr || !data)
		return ring_reject(c, KV_REJ_RING_ADDR, b->cpu, hdr ? b->data_gpa : b->hdr_gpa,
				   KV_ST_EADDR);

	r = &c->rings[b->cpu];
	if (r->active)
		kv_drain_locked(c, false); /* what the old ring holds is applied first */
	/* last_seq, counters and a held-back event survive a replacement. */
	r->active = true;
	r->cpu = b->cpu;
	r->size = size;
	r->hdr = hdr;
	r->data = data;
	/* Consumption starts at the head found now; earlier bytes are not events. */
	r->tail = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE) & ~(uint64_t)(KV_REC_ALIGN - 1);
	r->seen_head = r->limit = r->tail;
	__atomic_store_n(&r->hdr->tail, r->tail, __ATOMIC_RELEASE);
	return KV_ST_OK;
}

static int cmd_goodbye(struct kv_consumer *c)
{
	if (!c->registered)
		return ring_reject(c, KV_REJ_CMD_STATE, 0, KV_CMD_GOODBYE, KV_ST_ESTATE);
	kv_drain_locked(c, true);
	kv_forget_rings_locked(c);
	c->registered = false;
	kv_log(c, "guest said goodbye");
	return KV_ST_OK;
}

/* Copy `size` bytes of the block at gpa; its header was already checked. */
static int run_command(struct kv_consumer *c, uint64_t gpa, const struct kv_cmd_hdr *h)
{
	union {
		struct kv_cmd_register reg;
		struct kv_cmd_ring_setup ring;
	} b;
	size_t size = h->cmd == KV_CMD_REGISTER ? sizeof(b.reg) : sizeof(b.ring);
	const void *src;

	if (h->cmd == KV_CMD_GOODBYE)
		return cmd_goodbye(c);
	if (h->cmd != KV_CMD_REGISTER && h->cmd != KV_CMD_RING_SETUP)
		return ring_reject(c, KV_REJ_CMD_UNKNOWN, 0, h->cmd, KV_ST_ECMD);
	/* Blocks are page-aligned and smaller than a page: this range is one page. */
	src = c->cfg.mem.ptr(c->cfg.mem.ctx, gpa, size);
	if (!src)
		return ring_reject(c, KV_REJ_CMD_ADDR, 0, gpa, KV_ST_EADDR);
	memcpy(&b, src, size);
	if (h->cmd == KV_CMD_REGISTER)
		return cmd_register(c, &b.reg);
	return cmd_ring_setup(c, &b.ring);
}

static void command(struct kv_consumer *c, uint32_t vcpu, uint64_t pfn)
{
	uint64_t gpa = pfn << KV_PAGE_SHIFT;
	struct kv_cmd_hdr *gh = c->cfg.mem.ptr(c->cfg.mem.ctx, gpa, sizeof(*gh));
	struct kv_cmd_hdr h;
	int status;

	if (!gh) {
		kv_reject(c, KV_REJ_CMD_ADDR, vcpu, gpa);
		return; /* nowhere to answer */
	}
	memcpy(&h, gh, sizeof(h));
	c->stats.commands++;
	if (h.magic != KV_CMD_MAGIC)
		status = ring_reject(c, KV_REJ_CMD_MAGIC, vcpu, h.magic, KV_ST_EMAGIC);
	else if (h.abi_version >> 16 != KV_ABI_MAJOR)
		status = ring_reject(c, KV_REJ_CMD_VERSION, vcpu, h.abi_version, KV_ST_EVERSION);
	else
		status = run_command(c, gpa, &h);
	__atomic_store_n(&gh->status, status, __ATOMIC_RELEASE);
}

void kv_consumer_doorbell(struct kv_consumer *c, uint32_t vcpu, uint32_t value)
{
	pthread_mutex_lock(&c->lock);
	c->stats.doorbells++;
	if (value >= KV_DB_FIRST_PFN)
		command(c, vcpu, value);
	else if (value == KV_DB_DRAIN && c->registered)
		kv_drain_locked(c, false);
	else
		kv_reject(c, value == KV_DB_DRAIN ? KV_REJ_CMD_STATE : KV_REJ_DB_VALUE, vcpu,
			  value);
	pthread_mutex_unlock(&c->lock);
}
