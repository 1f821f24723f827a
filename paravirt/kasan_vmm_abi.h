/* SPDX-License-Identifier: MIT */
/*
 * kasan-vmm guest/host ABI. Shared, unchanged, by the host (kasan-vmm), the
 * freestanding test guest and the Linux driver: it must compile in all three,
 * so it uses only fixed-width integer types, compiler builtins and no libc.
 *
 * See paravirt/ABI.md for the protocol. Everything here is little-endian
 * x86-64 layout; every structure has explicit padding so that the layout is
 * the same under every compiler (tests/unit/test_abi.c pins it).
 */
#ifndef KASAN_VMM_ABI_H
#define KASAN_VMM_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef u8 kv_u8;
typedef u16 kv_u16;
typedef u32 kv_u32;
typedef s32 kv_s32;
typedef u64 kv_u64;
#else
#include <stdint.h>
typedef uint8_t kv_u8;
typedef uint16_t kv_u16;
typedef uint32_t kv_u32;
typedef int32_t kv_s32;
typedef uint64_t kv_u64;
#endif

/* ABI version: major << 16 | minor. The host accepts blocks of its major only. */
#define KV_ABI_MAJOR   1u
#define KV_ABI_MINOR   3u
#define KV_ABI_VERSION ((KV_ABI_MAJOR << 16) | KV_ABI_MINOR)

/* ---- discovery ---------------------------------------------------------- */

/* Leaf KV_CPUID_LEAF: EAX = KV_ABI_VERSION; EBX, ECX, EDX spell "KasanVMM\0\0\0\0". */
#define KV_CPUID_LEAF	 0x40000100u
#define KV_CPUID_SIG_EBX 0x6173614bu /* "Kasa" */
#define KV_CPUID_SIG_ECX 0x4d4d566eu /* "nVMM" */
#define KV_CPUID_SIG_EDX 0x00000000u

/*
 * Leaf KV_CPUID_LEAF_CONFIG:
 *   EAX  feature bits (KV_FEAT_*)
 *   EBX  doorbell port
 *   ECX  [7:0] mode (KV_MODE_*), [15:8] log2 of the async batch (events per doorbell)
 *   EDX  [15:0] ring slots (largest guest CPU id + 1), [23:16] smallest ring shift
 *        accepted in this mode, [31:24] largest ring shift
 */
#define KV_CPUID_LEAF_CONFIG 0x40000101u

#define KV_FEAT_EVENTS (1u << 0) /* event rings are consumed */
#define KV_FEAT_STACKS (1u << 1) /* the host keeps stack frames: send them */
/*
 * Tag-based mode: the host keeps memory tags (16-byte granules) and a stack
 * ring instead of a shadow with quarantine. Nothing changes in the events;
 * a guest uses it to know which bugs can be found (bug types and granule as
 * Linux's tag modes) and, where its pointers carry tags (arm64 TBI, from
 * ABI 1.2), to send them in record addresses: they become the memory tags.
 */
#define KV_FEAT_TAGS (1u << 2)

#define KV_MODE_SYNC  0u /* doorbell after every event */
#define KV_MODE_ASYNC 1u /* doorbell once per batch or past the watermark */
#define KV_MODE_ASYMM 2u /* frees (and other invalidating events) sync, the rest async */

static inline kv_u32 kv_cfg_mode(kv_u32 ecx)
{
	return ecx & 0xffu;
}
static inline kv_u32 kv_cfg_batch_shift(kv_u32 ecx)
{
	return (ecx >> 8) & 0xffu;
}
static inline kv_u32 kv_cfg_ring_slots(kv_u32 edx)
{
	return edx & 0xffffu;
}
static inline kv_u32 kv_cfg_ring_shift_min(kv_u32 edx)
{
	return (edx >> 16) & 0xffu;
}
static inline kv_u32 kv_cfg_ring_shift_max(kv_u32 edx)
{
	return edx >> 24;
}

/* ---- ports and doorbell --------------------------------------------------- */

/* I/O ports owned by kasan-vmm (0x500-0x50f). */
#define KV_PORT_EXIT	 0x501 /* outb code: the guest powers off with exit code `code` */
#define KV_PORT_DOORBELL 0x504 /* outl value: see below and ABI.md */

/* Largest exit code a guest may pass through KV_PORT_EXIT unchanged. */
#define KV_GUEST_EXIT_MAX 119

/*
 * A doorbell is one 32-bit `outl` to KV_PORT_DOORBELL. Values below
 * KV_DB_FIRST_PFN are short commands with no memory operand; any other value
 * is the page frame number of a command block (GPA = value << 12), so the
 * block is page-aligned, lies in the first 16 TiB and never in the first
 * 64 KiB. The host handles the doorbell before the `outl` retires.
 */
#define KV_DB_DRAIN	1u /* apply every pending event of every ring now */
#define KV_DB_FIRST_PFN 16u
#define KV_PAGE_SHIFT	12u
#define KV_PAGE_SIZE	(1u << KV_PAGE_SHIFT)

/* ---- command blocks --------------------------------------------------------- */

#define KV_CMD_MAGIC 0x6d63564bu /* "KVcm" */

enum kv_cmd_code {
	KV_CMD_REGISTER = 1,   /* struct kv_cmd_register */
	KV_CMD_RING_SETUP = 2, /* struct kv_cmd_ring_setup */
	KV_CMD_GOODBYE = 3,    /* struct kv_cmd_hdr only: flush, forget rings and layout */
};

/* Written by the host into kv_cmd_hdr.status; the guest writes KV_ST_PENDING. */
enum kv_status {
	KV_ST_PENDING = 0,
	KV_ST_OK = 1,
	KV_ST_EMAGIC = -1,   /* bad magic */
	KV_ST_EVERSION = -2, /* ABI major differs */
	KV_ST_ECMD = -3,     /* unknown command */
	KV_ST_ESTATE = -4,   /* not valid now (e.g. RING_SETUP before REGISTER) */
	KV_ST_EINVAL = -5,   /* a field is out of range */
	KV_ST_EADDR = -6,    /* an address is not (contiguous) guest RAM */
};

struct kv_cmd_hdr {
	kv_u32 magic;	    /* KV_CMD_MAGIC */
	kv_u32 abi_version; /* KV_ABI_VERSION the guest was built with */
	kv_u16 cmd;	    /* enum kv_cmd_code */
	kv_u16 reserved;    /* 0 */
	kv_s32 status;	    /* host-written: enum kv_status */
};

#define KV_GUEST_TESTGUEST 1u
#define KV_GUEST_LINUX	   2u

#define KV_RELEASE_MAX 64 /* release string bytes (no NUL needed) */

/*
 * Guest layout, sent once. Virtual addresses are guest-virtual; 0 means
 * "unknown / not applicable". The current task on CPU c is the 8-byte word at
 * per-CPU base(c) + current_task_pcpu, where base(c) is
 * ((u64 *)percpu_offsets_va)[c] or, in kernel mode, the GS base.
 */
struct kv_cmd_register {
	struct kv_cmd_hdr hdr;
	kv_u32 guest_kind;	/* KV_GUEST_* */
	kv_u32 nr_cpus;		/* possible CPUs; ring CPU ids are below it */
	kv_u64 direct_map_base; /* page_offset_base: VA of physical address 0 */
	kv_u64 vmemmap_base;
	kv_u64 vmalloc_start; /* [start, end) holds every KV_EV_VMALLOC */
	kv_u64 vmalloc_end;
	kv_u64 kaslr_offset; /* kernel text slide */
	kv_u64 text_start;   /* [_stext, _etext) */
	kv_u64 text_end;
	kv_u64 seq_counter_gpa;	      /* GPA of the global sequence counter (u64, 8-aligned) */
	kv_u64 percpu_offsets_va;     /* __per_cpu_offset[nr_cpus] */
	kv_u64 current_task_pcpu;     /* per-CPU offset of the current task pointer */
	kv_u32 task_pid_off;	      /* offsetof(struct task_struct, pid) */
	kv_u32 task_comm_off;	      /* offsetof(struct task_struct, comm) */
	kv_u32 task_struct_size;      /* bound for the two offsets above */
	kv_u32 release_len;	      /* bytes used in release[] */
	char release[KV_RELEASE_MAX]; /* utsname()->release, printable ASCII */
	/* 1.3: a page's reference count, at vmemmap_base + pfn * page_struct_size */
	kv_u32 page_struct_size;  /* sizeof(struct page); 0 if unknown */
	kv_u32 page_refcount_off; /* offsetof(struct page, _refcount), a 4-byte count */
};

#define KV_RING_SHIFT_MIN	12u /* 4 KiB: sync mode */
#define KV_RING_SHIFT_MIN_ASYNC 18u /* 256 KiB: async and asymm (see the watermark) */
#define KV_RING_SHIFT_MAX	22u /* 4 MiB: the largest Linux buddy block */

/* One per guest CPU; repeating it for a CPU replaces that CPU's ring (after a drain). */
struct kv_cmd_ring_setup {
	struct kv_cmd_hdr hdr;
	kv_u32 cpu;	   /* producer CPU id, < nr_cpus and < the ring slots */
	kv_u32 size_shift; /* data area is 1 << size_shift bytes */
	kv_u64 hdr_gpa;	   /* struct kv_ring_hdr, 64-aligned */
	kv_u64 data_gpa;   /* physically contiguous data area, page-aligned */
};

/* ---- rings ------------------------------------------------------------------ */

#define KV_RING_MAGIC	 0x6e52564bu /* "KVRn" */
#define KV_RING_HDR_SIZE 256u

/*
 * Producer and consumer words live on separate cache lines. head and tail are
 * free-running byte counters (never reduced modulo the size); the position of
 * byte counter x in the data area is x & (size - 1).
 */
struct kv_ring_hdr {
	/* guest-written */
	kv_u32 magic; /* KV_RING_MAGIC */
	kv_u32 cpu;
	kv_u64 head;	   /* bytes published; store-release after the record is written */
	kv_u64 emitted;	   /* events written (pads not counted) */
	kv_u64 dropped;	   /* events lost because the ring stayed full after a drain */
	kv_u64 kicks;	   /* doorbells rung for this ring */
	kv_u64 since_kick; /* events since the last doorbell (async bookkeeping) */
	kv_u8 guest_pad[128 - 48];
	/* host-written */
	kv_u64 tail;	 /* bytes consumed; the guest may reuse space below it */
	kv_u64 applied;	 /* events applied from this ring */
	kv_u64 rejected; /* records rejected from this ring */
	kv_u8 host_pad[128 - 24];
};

/* ---- event records ------------------------------------------------------- */

/* Event kinds: the same numbers as shadow/event.h's enum shadow_event_kind. */
enum kv_event_kind {
	KV_EV_CACHE_CREATE = 1, /* name, cache_id, size_req = object size, size_alloc = slot
				   stride (object + red zone; 0: unknown, no red zone),
				   freeptr_offset (1.1) */
	KV_EV_CACHE_DESTROY,	/* cache_id */
	KV_EV_SLAB_ALLOC,	/* addr, size_req, size_alloc, cache_id */
	KV_EV_SLAB_FREE,	/* addr, cache_id (0: kfree) */
	KV_EV_KMALLOC_LARGE,	/* addr, size_req, size_alloc */
	KV_EV_KFREE_LARGE,	/* addr */
	KV_EV_PAGE_ALLOC,	/* pfn, order, addr = direct_map_base + (pfn << 12) */
	KV_EV_PAGE_FREE,	/* pfn, order, addr */
	KV_EV_VMALLOC,		/* addr, size_req, size_alloc */
	KV_EV_VFREE,		/* addr */
	KV_EV_KREALLOC,		/* old_addr, addr, size_req, size_alloc */
	KV_EV_KSIZE,		/* addr */
	KV_EV_AUX_STACK,	/* addr; frames = the queueing stack */
	KV_EV_MODULE_LOAD,	/* name, addr = base, size_req = size */
	KV_EV_MODULE_UNLOAD,	/* name, addr = base */
	KV_EV_KIND_MAX = KV_EV_MODULE_UNLOAD,
};
#define KV_REC_PAD 0xffffu /* filler up to the ring's end; only kind and len count */

#define KV_REC_ALIGN	  8u
#define KV_REC_MAX_FRAMES 64u
#define KV_REC_NAME_MAX	  63u /* name bytes, no NUL stored */
#define KV_COMM_LEN	  16u
#define KV_ORDER_MAX	  10u /* Linux 6.1 MAX_ORDER - 1: 4 MiB blocks */
#define KV_FREEPTR_NONE	  0xffffffffu
/*
 * CACHE_CREATE: largest red zone (stride - object size) accepted. Bounds the
 * poisoning one allocation costs the host; KASAN's largest red zone (2048),
 * SLUB debug metadata and page alignment all fit well below it.
 */
#define KV_CACHE_REDZONE_MAX (2u * 8192u + 4096u)
#define KV_SEQ_FIRST	     1u /* the guest's counter hands out 1 first; 0 is invalid */

/*
 * One record: this header, then u64 frames[nr_frames], then name[name_len]
 * zero-padded to a multiple of 8. len is the whole record and always equals
 * kv_rec_len(nr_frames, name_len). Records never wrap: a pad record fills the
 * rest of the data area first. Fields a kind does not use should be 0 (ignored).
 */
struct kv_rec {
	kv_u16 kind; /* enum kv_event_kind or KV_REC_PAD */
	kv_u16 len;
	kv_u8 nr_frames;
	kv_u8 name_len;
	kv_u16 flags; /* reserved, 0 */
	kv_u32 pid;
	kv_u32 cpu; /* must be the ring's CPU */
	kv_u64 seq; /* from the global counter, strictly increasing within a ring */
	kv_u64 tsc;
	kv_u64 addr;
	kv_u64 old_addr;
	kv_u64 size_req;
	kv_u64 size_alloc;
	kv_u64 pfn;
	kv_u32 order;
	kv_u32 cache_id;
	kv_u32 freeptr_offset;
	kv_u32 red_left; /* CACHE_CREATE (1.3): slot bytes before the object (SLUB red_left_pad);
			    else 0 */
	char comm[KV_COMM_LEN];
};

#define KV_REC_HDR_SIZE 104u
#define KV_REC_MAX_SIZE (KV_REC_HDR_SIZE + KV_REC_MAX_FRAMES * 8u + 64u)
#define KV_PAD_MIN_SIZE 8u

/* Async: one doorbell per KV_ASYNC_BATCH events, or past 7/8 of the ring. */
#define KV_ASYNC_BATCH_SHIFT 8u
#define KV_ASYNC_BATCH	     (1u << KV_ASYNC_BATCH_SHIFT)

static inline kv_u32 kv_rec_len(kv_u32 nr_frames, kv_u32 name_len)
{
	return KV_REC_HDR_SIZE + nr_frames * 8u + ((name_len + 7u) & ~7u);
}

static inline kv_u64 kv_ring_used(kv_u64 head, kv_u64 tail)
{
	return head - tail;
}

/*
 * Bytes to claim at `head` for a record of `len` bytes in a ring of `size`
 * bytes: len, or (bytes to the end) + len when a pad record must fill the end
 * first. 0 when it does not fit in the free space (the guest then drains and
 * retries once, and counts a drop if it still does not fit).
 */
static inline kv_u64 kv_ring_claim(kv_u64 head, kv_u64 tail, kv_u64 size, kv_u32 len)
{
	kv_u64 to_end = size - (head & (size - 1));
	kv_u64 need = len <= to_end ? len : to_end + len;
	kv_u64 used = head - tail;

	if (used > size || need > size - used)
		return 0;
	return need;
}

/*
 * Where a record of `len` bytes goes once kv_ring_claim() granted `need`
 * bytes at head: in place, or -- when it would cross the ring's end -- at
 * offset 0 after a pad record filling the tail. Writes the pad; returns the
 * record's offset in the data area.
 */
static inline kv_u64 kv_ring_place(void *data, kv_u64 head, kv_u64 size, kv_u64 need, kv_u32 len)
{
	kv_u64 pos = head & (size - 1);
	struct kv_rec *pad;

	if (need == len)
		return pos;
	pad = (struct kv_rec *)((char *)data + pos);
	pad->kind = KV_REC_PAD;
	pad->len = (kv_u16)(need - len);
	return 0;
}

/* Events that invalidate memory: in asymm mode they are reported synchronously. */
static inline int kv_event_is_free(kv_u32 kind)
{
	return kind == KV_EV_SLAB_FREE || kind == KV_EV_KFREE_LARGE || kind == KV_EV_PAGE_FREE ||
	       kind == KV_EV_VFREE || kind == KV_EV_KREALLOC || kind == KV_EV_CACHE_DESTROY ||
	       kind == KV_EV_MODULE_UNLOAD;
}

/*
 * Async watermark: ring the doorbell when `since_kick` events (this one
 * included) reach the batch, or when this record took the ring past 7/8 full.
 * With rings of at least 1 << KV_RING_SHIFT_MIN_ASYNC bytes, 7/8 of the ring
 * holds more than a batch of the largest records, so while the host keeps up
 * this makes at most one exit per KV_ASYNC_BATCH events.
 */
static inline int kv_async_should_kick(kv_u64 since_kick, kv_u64 used_after, kv_u64 size)
{
	return since_kick >= KV_ASYNC_BATCH || used_after > size - size / 8u;
}

/* Whether to ring after writing an event of `kind`, by mode. */
static inline int kv_should_kick(kv_u32 mode, kv_u32 kind, kv_u64 since_kick, kv_u64 used_after,
				 kv_u64 size)
{
	if (mode == KV_MODE_SYNC || (mode == KV_MODE_ASYMM && kv_event_is_free(kind)))
		return 1;
	return kv_async_should_kick(since_kick, used_after, size);
}

/* Next global sequence number: one `lock xadd` (never cmpxchg16b). */
static inline kv_u64 kv_seq_next(kv_u64 *counter)
{
	return __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
}

/* Publish records written below `head` (producer), read the host's tail. */
static inline void kv_ring_publish(struct kv_ring_hdr *h, kv_u64 head)
{
	__atomic_store_n(&h->head, head, __ATOMIC_RELEASE);
}
static inline kv_u64 kv_ring_tail(const struct kv_ring_hdr *h)
{
	return __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
}

/* The layout is part of the ABI: catch drift in every build that includes this. */
_Static_assert(sizeof(struct kv_cmd_hdr) == 16, "kv_cmd_hdr layout");
_Static_assert(sizeof(struct kv_cmd_register) == 192, "kv_cmd_register layout");
_Static_assert(sizeof(struct kv_cmd_ring_setup) == 40, "kv_cmd_ring_setup layout");
_Static_assert(sizeof(struct kv_ring_hdr) == KV_RING_HDR_SIZE, "kv_ring_hdr layout");
_Static_assert(sizeof(struct kv_rec) == KV_REC_HDR_SIZE, "kv_rec layout");
_Static_assert(KV_ASYNC_BATCH *KV_REC_MAX_SIZE <=
		   (1u << KV_RING_SHIFT_MIN_ASYNC) - (1u << KV_RING_SHIFT_MIN_ASYNC) / 8u,
	       "async rings must hold a batch of the largest records below the watermark");

#endif /* KASAN_VMM_ABI_H */
