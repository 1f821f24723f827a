/* SPDX-License-Identifier: MIT */
/*
 * The arm64 kasan-vmm client. Differences from x86 (tests/guest/kasan_vmm.c):
 * the device tree replaces CPUID, a 32-bit store to the doorbell page
 * replaces `outl`, virtual = physical (identity map), and the counter is
 * CNTVCT. The ring protocol itself is the ABI header's helpers.
 */
#include "kasan_vmm.h"
#include "console.h"
#include "string.h"

#define RING_SHIFT_SYNC 14
#define EXIT_CODE_OFF	0x8 /* doorbell page: the exit code for SYSTEM_OFF */
#define PSCI_SYSTEM_OFF 0x84000008u

/* What records carry as pid and comm (the current task of CPU 0). */
struct kv_task {
	u32 pid;
	u32 pad;
	char comm[KV_COMM_LEN];
};

struct cpu_area {
	struct kv_task *current_task;
};

bool kv_present;
static u64 kv_base;
static u32 kv_features, kv_mode, kv_shift_min, kv_shift_max, kv_host_minor;
static u64 kv_seq __attribute__((aligned(8))) = KV_SEQ_FIRST;
static struct kv_task test_task = {.pid = 1, .comm = "kasan_test"};
static struct cpu_area cpu0 = {.current_task = &test_task};
static u64 percpu_base[1] = {(u64)&cpu0};
static u8 cmd_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct kv_ring_hdr ring_hdr __attribute__((aligned(64)));
static u8 ring_data[1u << KV_RING_SHIFT_MIN_ASYNC] __attribute__((aligned(PAGE_SIZE)));
static u64 ring_size, ring_head, since_kick;

/* The store is the doorbell: everything written before it must be visible to the host. */
static void kv_doorbell(u32 v)
{
	asm volatile("dsb sy" ::: "memory");
	mmio_write32(kv_base, v);
}

static int kv_command(void *blk, u16 cmd)
{
	struct kv_cmd_hdr *h = blk;

	h->magic = KV_CMD_MAGIC;
	h->abi_version = KV_ABI_VERSION;
	h->cmd = cmd;
	h->reserved = 0;
	h->status = KV_ST_PENDING;
	kv_doorbell((u32)((u64)blk >> KV_PAGE_SHIFT));
	return __atomic_load_n(&h->status, __ATOMIC_ACQUIRE);
}

static int kv_register(void)
{
	extern char __text_start[], __text_end[];
	struct kv_cmd_register *r = (void *)cmd_page;
	static const char release[] = "testguest-arm64";

	memset(r, 0, sizeof(*r));
	r->guest_kind = KV_GUEST_TESTGUEST;
	r->nr_cpus = 1;
	r->text_start = (u64)__text_start;
	r->text_end = (u64)__text_end;
	r->seq_counter_gpa = (u64)&kv_seq;
	r->percpu_offsets_va = (u64)percpu_base;
	r->current_task_pcpu = offsetof(struct cpu_area, current_task);
	r->task_pid_off = offsetof(struct kv_task, pid);
	r->task_comm_off = offsetof(struct kv_task, comm);
	r->task_struct_size = sizeof(struct kv_task);
	r->release_len = sizeof(release) - 1;
	memcpy(r->release, release, sizeof(release) - 1);
	return kv_command(r, KV_CMD_REGISTER);
}

/* Sync mode takes a small ring; async and asymm need KV_RING_SHIFT_MIN_ASYNC. */
static u32 ring_shift(void)
{
	u32 want = kv_mode == KV_MODE_SYNC ? RING_SHIFT_SYNC : KV_RING_SHIFT_MIN_ASYNC;

	want = MAX(want, kv_shift_min);
	return MIN(want, MIN(kv_shift_max, KV_RING_SHIFT_MIN_ASYNC));
}

static int kv_ring_setup(void)
{
	struct kv_cmd_ring_setup *rs = (void *)cmd_page;
	u32 shift = ring_shift();

	ring_size = 1ull << shift;
	ring_hdr.magic = KV_RING_MAGIC;
	ring_hdr.cpu = 0;
	memset(rs, 0, sizeof(*rs));
	rs->cpu = 0;
	rs->size_shift = shift;
	rs->hdr_gpa = (u64)&ring_hdr;
	rs->data_gpa = (u64)ring_data;
	return kv_command(rs, KV_CMD_RING_SETUP);
}

static const char *mode_name(u32 mode)
{
	return mode == KV_MODE_SYNC ? "sync" : mode == KV_MODE_ASYNC ? "async" : "asymm";
}

void kv_init(const struct fdt_info *fdt)
{
	int st;

	if (!fdt->kv_present) {
		printf("testguest: kasan-vmm not present (no kasan-vmm,paravirt node): running "
		       "without it\n");
		return;
	}
	kv_base = fdt->kv_base; /* the exit code goes there even if registering fails */
	if ((fdt->kv_abi >> 16) != KV_ABI_MAJOR || !(fdt->kv_features & KV_FEAT_EVENTS) ||
	    !kv_cfg_ring_slots(fdt->kv_rings)) {
		printf(
		    "testguest: kasan-vmm node: ABI 0x%x, features 0x%x, rings 0x%x: not usable\n",
		    fdt->kv_abi, fdt->kv_features, fdt->kv_rings);
		return;
	}
	kv_features = fdt->kv_features;
	kv_host_minor = fdt->kv_abi & 0xffff;
	kv_mode = kv_cfg_mode(fdt->kv_mode);
	kv_shift_min = kv_cfg_ring_shift_min(fdt->kv_rings);
	kv_shift_max = kv_cfg_ring_shift_max(fdt->kv_rings);
	st = kv_register();
	/* the host's version, from its node */
	printf("testguest: kasan-vmm ABI %u.%u, mode %s, doorbell 0x%lx, features 0x%x, register "
	       "%d\n",
	       fdt->kv_abi >> 16, kv_host_minor, mode_name(kv_mode), kv_base, kv_features, st);
	if (st != KV_ST_OK)
		return;
	if (ring_shift() < KV_RING_SHIFT_MIN || ring_shift() < kv_shift_min) {
		printf("testguest: kasan-vmm: no ring size fits [%u, %u]\n", kv_shift_min,
		       kv_shift_max);
		return;
	}
	st = kv_ring_setup();
	if (st != KV_ST_OK) {
		printf("testguest: kasan-vmm: ring setup failed: %d\n", st);
		return;
	}
	kv_present = true;
	printf("testguest: kasan-vmm rings: 1, %lu KiB each\n", ring_size >> 10);
}

bool kv_tag_mode(void)
{
	return kv_present && (kv_features & KV_FEAT_TAGS);
}

/* ABI 1.2 hosts take tagged record addresses (TBI): the tag becomes the memory's. */
bool kv_pointer_tags(void)
{
	return kv_tag_mode() && kv_host_minor >= 2;
}

/* Return addresses by frame records {x29, x30}, innermost first, within the stack. */
static u32 kv_walk(u64 fp, u64 *out)
{
	extern char __stack_bottom[], __stack_top[];
	u64 lo = (u64)__stack_bottom, hi = (u64)__stack_top;
	u32 n = 0;

	while (n < KV_REC_MAX_FRAMES && fp >= lo && fp + 16 <= hi && !(fp & 7)) {
		const u64 *f = (const u64 *)fp;

		if (!f[1])
			break;
		out[n++] = f[1];
		if (f[0] <= fp)
			break;
		fp = f[0];
	}
	return n;
}

static void kv_kick(void)
{
	kv_doorbell(KV_DB_DRAIN);
	ring_hdr.kicks++;
	since_kick = 0;
	ring_hdr.since_kick = 0;
}

static s64 kv_claim(u32 len, u64 *tail)
{
	u64 need;

	*tail = kv_ring_tail(&ring_hdr);
	need = kv_ring_claim(ring_head, *tail, ring_size, len);
	if (!need) {
		kv_kick();
		*tail = kv_ring_tail(&ring_hdr);
		need = kv_ring_claim(ring_head, *tail, ring_size, len);
		if (!need)
			return -1;
	}
	u64 pos = kv_ring_place(ring_data, ring_head, ring_size, need, len);
	ring_head += need;
	return (s64)pos;
}

static void kv_fill(struct kv_rec *rec, u32 kind, const struct kv_ev *ev)
{
	const struct kv_task *t = cpu0.current_task;

	rec->kind = (u16)kind;
	rec->flags = 0;
	rec->pid = t->pid;
	rec->cpu = 0;
	rec->tsc = read_counter();
	/* a 1.1 host refuses tagged addresses (addr) and picks memory tags itself */
	rec->addr = kv_pointer_tags() ? ev->addr : (u64)reset_tag((const void *)ev->addr);
	rec->old_addr = 0;
	rec->size_req = ev->size_req;
	rec->size_alloc = ev->size_alloc;
	rec->pfn = 0;
	rec->order = 0;
	rec->cache_id = ev->cache_id;
	rec->freeptr_offset = ev->freeptr_offset;
	rec->red_left = 0; /* its caches have no left red zone */
	memcpy(rec->comm, t->comm, KV_COMM_LEN);
}

void kv_emit(u32 kind, u64 fp, const struct kv_ev *ev)
{
	u64 frames[KV_REC_MAX_FRAMES], flags, tail;
	u32 nf = 0, name_len = 0, len;
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
	pos = kv_claim(len, &tail);
	if (pos < 0) {
		ring_hdr.dropped++;
		irq_restore(flags);
		return;
	}
	rec = (void *)(ring_data + pos);
	rec->len = (u16)len;
	rec->nr_frames = (u8)nf;
	rec->name_len = (u8)name_len;
	kv_fill(rec, kind, ev);
	memcpy(rec + 1, frames, nf * 8);
	if (name_len) {
		u8 *nm = (u8 *)(rec + 1) + nf * 8;

		memset(nm + ALIGN_DOWN(name_len, 8), 0, 8); /* zero padding up to 8 */
		memcpy(nm, ev->name, name_len);
	}
	rec->seq = kv_seq_next(&kv_seq); /* last: the seq order is the publish order */
	ring_hdr.emitted++;
	kv_ring_publish(&ring_hdr, ring_head);
	ring_hdr.since_kick = ++since_kick;
	if (kv_should_kick(kv_mode, kind, since_kick, ring_head - tail, ring_size))
		kv_kick();
	irq_restore(flags);
}

void kv_finish(void)
{
	if (!kv_present) {
		printf("testguest: kasan-vmm events emitted: 0\n");
		return;
	}
	kv_kick();
	printf("testguest: kasan-vmm events emitted: %lu\n", ring_hdr.emitted);
	printf("testguest: kasan-vmm events applied: %lu, rejected: %lu, dropped: %lu, "
	       "doorbells: %lu, seq: %lu\n",
	       __atomic_load_n(&ring_hdr.applied, __ATOMIC_ACQUIRE),
	       __atomic_load_n(&ring_hdr.rejected, __ATOMIC_ACQUIRE), ring_hdr.dropped,
	       ring_hdr.kicks, kv_seq - KV_SEQ_FIRST);
}

noreturn void kv_system_off(int code, bool psci_smc)
{
	register u64 x0 asm("x0") = PSCI_SYSTEM_OFF;

	if (kv_base && code)
		mmio_write32(kv_base + EXIT_CODE_OFF, (u32)code);
	if (psci_smc)
		asm volatile("smc #0" : "+r"(x0)::"memory");
	else
		asm volatile("hvc #0" : "+r"(x0)::"memory");
	for (;;)
		asm volatile("wfi");
}
