/* SPDX-License-Identifier: MIT */
/*
 * Exercise modes for the VMM's own tests (command line):
 *   testguest.exit=N       power off with exit code N right after boot
 *   testguest.crash=MODE   triplefault | emulation | hang | reboot
 *   kasan_vmm.garbage=1    CPU 1 floods its ring with malformed records and
 *                          doorbells while the test cases run on CPU 0
 */
#include "bootinfo.h"
#include "kasan_vmm.h"
#include "mm/mm_internal.h"
#include "printf.h"
#include "smp.h"
#include "string.h"
#include "timer.h"

#define GARBAGE_RECORDS	    100000 /* kasan_vmm.garbage=1 */
#define GARBAGE_RECORDS_MAX 100000000u
#define GARBAGE_CPU	    1

static u64 rnd_state;
static volatile u32 garbage_running, garbage_done;
static u64 garbage_written, garbage_doorbells;
static u32 garbage_records = GARBAGE_RECORDS;
static u8 garbage_cmd[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static u32 parse_u32(const char *s)
{
	u32 v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u32)(*s++ - '0');
	return v;
}

static noreturn void crash(const char *mode)
{
	static u64 cx16_word[2] __attribute__((aligned(16)));
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) zero_idt = {0, 0};

	printf("testguest: crash mode %s\n", mode);
	kv_drain();
	if (!strcmp(mode, "triplefault")) {
		asm volatile("lidt %0; ud2" ::"m"(zero_idt));
	} else if (!strcmp(mode, "emulation")) {
		asm volatile("lock cmpxchg16b %0"
			     : "+m"(*cx16_word)
			     : "a"(0), "d"(0), "b"(1), "c"(1)
			     : "memory", "cc");
	} else if (!strcmp(mode, "reboot")) {
		outb(0x64, 0xfe);
	}
	cli(); /* hang, and what is left when a mode above returned */
	for (;;)
		barrier();
}

void exercise_boot(void)
{
	char v[32];

	if (cmdline_get("testguest.exit", v, sizeof(v)) >= 0) {
		printf("testguest: exit %u requested\n", parse_u32(v));
		kv_finish();
		guest_exit((int)MIN(parse_u32(v), (u32)KV_GUEST_EXIT_MAX));
	}
	if (cmdline_get("testguest.crash", v, sizeof(v)) >= 0)
		crash(v);
}

/* One command block with wrong fields: outside RAM, bad cpu, misaligned. */
static void garbage_command(void)
{
	struct kv_cmd_ring_setup *rs = (void *)garbage_cmd;
	static const u64 gpas[] = {1ull << 45, 0xfee00000, 0x1003, 0};

	memset(rs, 0, sizeof(*rs));
	rs->hdr.magic = rnd() % 4 ? KV_CMD_MAGIC : (u32)rnd();
	rs->hdr.abi_version = rnd() % 8 ? KV_ABI_VERSION : (u32)rnd();
	rs->hdr.cmd = (u16)(rnd() % 6);
	rs->cpu = rnd() % 2 ? 200 : GARBAGE_CPU + 64;
	rs->size_shift = (u32)(rnd() % 40);
	rs->hdr_gpa = gpas[rnd() % ARRAY_SIZE(gpas)];
	rs->data_gpa = gpas[rnd() % ARRAY_SIZE(gpas)];
	asm volatile("outl %0, %w1" ::"a"((u32)(virt_to_phys(rs) >> 12)), "Nd"(kv_doorbell_port())
		     : "memory");
}

static void doorbells(u32 n)
{
	static const u32 vals[] = {KV_DB_DRAIN, 0, 2, 15, 0xffffffff, 0x7ffffff0};

	for (u32 i = 0; i < n; i++)
		asm volatile("outl %0, %w1" ::"a"(vals[rnd() % ARRAY_SIZE(vals)]),
			     "Nd"(kv_doorbell_port())
			     : "memory");
	garbage_doorbells += n;
}

/* A record at byte counter head, plausible or not; returns the bytes it claims. */
static u32 garbage_record(u8 *data, u64 size, u64 head)
{
	u64 pos = head & (size - 1), room = size - pos;
	struct kv_rec *r = (void *)(data + pos);
	u32 len = (u32)ALIGN_UP(KV_REC_HDR_SIZE + rnd() % 600, 8);

	if (room < KV_REC_HDR_SIZE)
		return (u32)room; /* leave the tail: the host sees a short record */
	len = (u32)MIN(len, room);
	for (u32 i = 0; i < len / 8; i++)
		((u64 *)r)[i] = rnd();
	switch (rnd() % 8) {
	case 0: /* random bytes */
		break;
	case 1: /* well framed, address outside RAM or non-canonical */
		r->kind = KV_EV_SLAB_ALLOC;
		r->nr_frames = 0;
		r->name_len = 0;
		r->len = (u16)(len = KV_REC_HDR_SIZE);
		r->cpu = GARBAGE_CPU;
		r->seq = kv_seq_take();
		r->addr = rnd() % 2 ? 0xdead000000000000ull : DIRECT_MAP_BASE + (1ull << 40);
		r->size_req = r->size_alloc = 64; /* sane: only the address is wrong */
		r->cache_id = 1;
		break;
	case 2: /* 65 or a huge number of frames */
		r->kind = KV_EV_PAGE_ALLOC;
		r->nr_frames = rnd() % 2 ? 65 : 255;
		r->len = (u16)kv_rec_len(r->nr_frames, 0);
		break;
	case 3: /* bad kinds */
		r->kind = (u16)(rnd() % 2 ? 0 : 16 + rnd() % 0xffe0);
		r->len = (u16)len;
		break;
	case 4: /* huge sizes */
		r->kind = KV_EV_KMALLOC_LARGE;
		r->len = (u16)(len = KV_REC_HDR_SIZE);
		r->nr_frames = r->name_len = 0;
		r->size_req = ~0ull - rnd() % 4096;
		r->size_alloc = 1ull << 62;
		break;
	case 5: /* overlong, unprintable name */
		r->kind = KV_EV_CACHE_CREATE;
		r->name_len = 255;
		r->nr_frames = 0;
		r->len = (u16)len;
		break;
	case 6: /* pad in the middle of the ring */
		r->kind = KV_REC_PAD;
		r->len = (u16)len;
		break;
	default: /* plausible record, wrong cpu or rewound seq */
		r->kind = (u16)(1 + rnd() % KV_EV_KIND_MAX);
		r->nr_frames = r->name_len = 0;
		r->len = (u16)(len = KV_REC_HDR_SIZE);
		r->cpu = (u32)rnd() % 4;
		r->seq = rnd() % 2 ? 1 : 0;
		break;
	}
	return len;
}

/* Head values to publish: mostly forward, sometimes backward, misaligned or past the tail. */
static u64 garbage_head(u64 head, u64 size, u32 claimed)
{
	switch (rnd() % 16) {
	case 0:
		return head - 64 * (1 + rnd() % 8);
	case 1:
		return head + claimed + 3;
	case 2:
		return head + size * 2;
	default:
		return head + claimed;
	}
}

static void garbage_run(void *arg)
{
	u64 size, head, max_head;
	u8 *data;
	struct kv_ring_hdr *h = kv_this_ring(&size, &data);

	(void)arg;
	if (!h)
		goto out;
	head = max_head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
	for (u32 i = 0; i < garbage_records; i++) {
		u32 claimed = garbage_record(data, size, head);
		u64 pub = garbage_head(head, size, claimed);

		__atomic_store_n(&h->head, pub, __ATOMIC_RELEASE);
		if (pub <= head + claimed) /* not the overrun kind */
			max_head = MAX(max_head, pub);
		head += claimed;
		garbage_written++;
		if (rnd() % 16 == 0)
			doorbells(1 + (rnd() % 64 == 0 ? 200 : 0));
		if (rnd() % 4096 == 0)
			garbage_command();
	}
	kv_ring_resync(max_head); /* at or ahead of every plausible head published */
out:
	mm_cpu_busy[GARBAGE_CPU] = 0;
	__atomic_store_n(&garbage_done, 1, __ATOMIC_RELEASE);
}

/* kasan_vmm.garbage=N: 1 means the default flood, N > 1 that many records (the bench). */
static u32 garbage_parse(const char *v)
{
	u64 n = 0;

	for (; *v >= '0' && *v <= '9' && n <= GARBAGE_RECORDS_MAX; v++)
		n = n * 10 + (u64)(*v - '0');
	if (*v || n == 0)
		return 0;
	if (n == 1)
		return GARBAGE_RECORDS;
	return n > GARBAGE_RECORDS_MAX ? GARBAGE_RECORDS_MAX : (u32)n;
}

void garbage_start(void)
{
	char v[16];

	if (cmdline_get("kasan_vmm.garbage", v, sizeof(v)) < 0)
		return;
	garbage_records = garbage_parse(v);
	if (!garbage_records)
		return;
	rnd_state = rdtsc() | 1;
	garbage_running = 1;
	if (!kv_present || nr_cpus <= GARBAGE_CPU || !cpus[GARBAGE_CPU].online) {
		printf("testguest: kasan_vmm.garbage needs kasan-vmm and cpu %u\n", GARBAGE_CPU);
		garbage_running = 0;
		return;
	}
	mm_cpu_busy[GARBAGE_CPU] = 1;
	/* Returns at once (timeout): CPU 1 goes on alone while CPU 0 runs the tests. */
	smp_call_on(GARBAGE_CPU, garbage_run, NULL, 1);
	printf("testguest: garbage: cpu %u floods its ring\n", GARBAGE_CPU);
}

void garbage_finish(void)
{
	if (!garbage_running)
		return;
	while (!__atomic_load_n(&garbage_done, __ATOMIC_ACQUIRE))
		cpu_relax();
	printf("testguest: garbage records written: %llu, doorbells: %llu\n",
	       (unsigned long long)garbage_written, (unsigned long long)garbage_doorbells);
}
