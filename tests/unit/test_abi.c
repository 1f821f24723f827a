/* SPDX-License-Identifier: MIT */
/*
 * The guest/host ABI header: its layout is pinned (offsets cannot drift
 * without failing here), it compiles freestanding and as Linux kernel code,
 * and its producer helpers do the ring and watermark arithmetic ABI.md states.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "paravirt/kasan_vmm_abi.h"

#define OFF(t, f, v) _Static_assert(offsetof(struct t, f) == (v), #t "." #f)

OFF(kv_cmd_hdr, magic, 0);
OFF(kv_cmd_hdr, abi_version, 4);
OFF(kv_cmd_hdr, cmd, 8);
OFF(kv_cmd_hdr, status, 12);
OFF(kv_cmd_register, guest_kind, 16);
OFF(kv_cmd_register, nr_cpus, 20);
OFF(kv_cmd_register, direct_map_base, 24);
OFF(kv_cmd_register, vmemmap_base, 32);
OFF(kv_cmd_register, vmalloc_start, 40);
OFF(kv_cmd_register, vmalloc_end, 48);
OFF(kv_cmd_register, kaslr_offset, 56);
OFF(kv_cmd_register, text_start, 64);
OFF(kv_cmd_register, text_end, 72);
OFF(kv_cmd_register, seq_counter_gpa, 80);
OFF(kv_cmd_register, percpu_offsets_va, 88);
OFF(kv_cmd_register, current_task_pcpu, 96);
OFF(kv_cmd_register, task_pid_off, 104);
OFF(kv_cmd_register, task_comm_off, 108);
OFF(kv_cmd_register, task_struct_size, 112);
OFF(kv_cmd_register, release_len, 116);
OFF(kv_cmd_register, release, 120);
OFF(kv_cmd_register, page_struct_size, 184);
OFF(kv_cmd_register, page_refcount_off, 188);
OFF(kv_cmd_ring_setup, cpu, 16);
OFF(kv_cmd_ring_setup, size_shift, 20);
OFF(kv_cmd_ring_setup, hdr_gpa, 24);
OFF(kv_cmd_ring_setup, data_gpa, 32);
OFF(kv_ring_hdr, head, 8);
OFF(kv_ring_hdr, emitted, 16);
OFF(kv_ring_hdr, dropped, 24);
OFF(kv_ring_hdr, kicks, 32);
OFF(kv_ring_hdr, since_kick, 40);
OFF(kv_ring_hdr, tail, 128);
OFF(kv_ring_hdr, applied, 136);
OFF(kv_ring_hdr, rejected, 144);
OFF(kv_rec, kind, 0);
OFF(kv_rec, len, 2);
OFF(kv_rec, nr_frames, 4);
OFF(kv_rec, name_len, 5);
OFF(kv_rec, flags, 6);
OFF(kv_rec, pid, 8);
OFF(kv_rec, cpu, 12);
OFF(kv_rec, seq, 16);
OFF(kv_rec, tsc, 24);
OFF(kv_rec, addr, 32);
OFF(kv_rec, old_addr, 40);
OFF(kv_rec, size_req, 48);
OFF(kv_rec, size_alloc, 56);
OFF(kv_rec, pfn, 64);
OFF(kv_rec, order, 72);
OFF(kv_rec, cache_id, 76);
OFF(kv_rec, freeptr_offset, 80);
OFF(kv_rec, comm, 88);
_Static_assert(KV_REC_MAX_SIZE == 680, "largest record");
_Static_assert(KV_REC_MAX_SIZE <= 0xffff, "len is 16 bits");

/* The existing port/leaf contract the VMM and test guest were built against. */
static void test_constants(void **state)
{
	(void)state;
	assert_int_equal(KV_CPUID_LEAF, 0x40000100u);
	assert_int_equal(KV_CPUID_LEAF_CONFIG, 0x40000101u);
	assert_int_equal(KV_PORT_EXIT, 0x501);
	assert_int_equal(KV_PORT_DOORBELL, 0x504);
	{
		const uint32_t sig[2] = {KV_CPUID_SIG_EBX, KV_CPUID_SIG_ECX};

		assert_memory_equal(sig, "KasanVMM", 8);
	}
	assert_int_equal(KV_ABI_VERSION >> 16, KV_ABI_MAJOR);
	assert_int_equal(KV_EV_KIND_MAX, 15);
}

static int compile(const char *flags, const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "printf '#include \"paravirt/kasan_vmm_abi.h\"\\nint kv_use(void){return "
		 "(int)kv_rec_len(1,1);}\\n' | gcc -x c -fsyntax-only -Wall -Wextra -Werror "
		 "%s -I. -I%s -",
		 flags, dir);
	return system(cmd);
}

/* Freestanding (test guest) and __KERNEL__ (Linux driver, with a stand-in linux/types.h). */
static void test_header_compiles_everywhere(void **state)
{
	char dir[] = "/tmp/kv_abi_XXXXXX";
	char path[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/linux", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/linux/types.h", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("typedef unsigned char u8; typedef unsigned short u16; typedef unsigned int u32;\n"
	      "typedef int s32; typedef unsigned long long u64;\n",
	      f);
	fclose(f);
	assert_int_equal(compile("-std=c11 -ffreestanding -nostdlib", dir), 0);
	assert_int_equal(compile("-std=gnu11 -ffreestanding -D__KERNEL__ -nostdinc", dir), 0);
	/* The check can fail: a header needing libc would not compile with -nostdinc. */
	assert_int_not_equal(compile("-std=gnu11 -D__KERNEL__ -nostdinc -include stdio.h", dir), 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/linux", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_rec_len(void **state)
{
	(void)state;
	assert_int_equal(kv_rec_len(0, 0), KV_REC_HDR_SIZE);
	assert_int_equal(kv_rec_len(2, 1), KV_REC_HDR_SIZE + 16 + 8);
	assert_int_equal(kv_rec_len(0, 8), KV_REC_HDR_SIZE + 8);
	assert_int_equal(kv_rec_len(64, 63), KV_REC_MAX_SIZE);
	for (uint32_t n = 0; n <= 64; n++)
		assert_int_equal(kv_rec_len(n, n % 64) % KV_REC_ALIGN, 0);
}

static void test_ring_claim(void **state)
{
	(void)state;
	assert_int_equal(kv_ring_claim(0, 0, 4096, 104), 104);
	/* 96 bytes left before the end: a 96-byte pad, then the record at 0. */
	assert_int_equal(kv_ring_claim(4000, 3000, 4096, 104), 96 + 104);
	/* free-running counters: the same position one lap later */
	assert_int_equal(kv_ring_claim(4096 + 4000, 4096 + 3000, 4096, 104), 200);
	assert_int_equal(kv_ring_claim(4000, 0, 4096, 104), 0);	   /* full */
	assert_int_equal(kv_ring_claim(104, 104 + 8, 4096, 8), 0); /* tail ahead of head */
	/* 152 bytes free: the record would fit, the pad in front of it does not */
	assert_int_equal(kv_ring_claim(4000, 56, 4096, 104), 0);
	assert_int_equal(kv_ring_claim(3992, 200, 4096, 104), 104); /* ends exactly at the end */
}

/* A record that fits goes in place; one that would cross the end goes to 0 after a pad. */
static void test_ring_place(void **state)
{
	uint64_t data[512] = {0}; /* a 4 KiB ring */
	struct kv_rec *pad = (struct kv_rec *)((char *)data + 4096 - 128);

	(void)state;
	assert_int_equal(kv_ring_place(data, 128, 4096, 200, 200), 128);
	assert_int_equal(data[16], 0); /* nothing written for an in-place record */
	assert_int_equal(kv_ring_place(data, 8192 + 4096 - 128, 4096, 128 + 200, 200), 0);
	assert_int_equal(pad->kind, KV_REC_PAD);
	assert_int_equal(pad->len, 128);
}

static void test_kick_policy(void **state)
{
	uint64_t size = 1u << KV_RING_SHIFT_MIN_ASYNC;

	(void)state;
	assert_true(kv_should_kick(KV_MODE_SYNC, KV_EV_SLAB_ALLOC, 1, 104, size));
	assert_false(kv_should_kick(KV_MODE_ASYNC, KV_EV_SLAB_FREE, 1, 104, size));
	assert_true(kv_should_kick(KV_MODE_ASYNC, KV_EV_SLAB_ALLOC, 256, 104, size));
	assert_true(kv_should_kick(KV_MODE_ASYNC, KV_EV_SLAB_ALLOC, 2, size - size / 8 + 8, size));
	assert_false(kv_should_kick(KV_MODE_ASYNC, KV_EV_SLAB_ALLOC, 255, size - size / 8, size));
	assert_true(kv_should_kick(KV_MODE_ASYMM, KV_EV_PAGE_FREE, 1, 104, size));
	assert_true(kv_should_kick(KV_MODE_ASYMM, KV_EV_KREALLOC, 1, 104, size));
	assert_false(kv_should_kick(KV_MODE_ASYMM, KV_EV_PAGE_ALLOC, 1, 104, size));
}

/*
 * A producer of the largest records in async mode with a host that drains
 * at each doorbell: one exit per KV_ASYNC_BATCH events, never more.
 */
static void test_async_one_exit_per_batch(void **state)
{
	uint64_t size = 1u << KV_RING_SHIFT_MIN_ASYNC, head = 0, tail = 0, since = 0, kicks = 0;
	const uint64_t events = 100000;

	(void)state;
	for (uint64_t i = 0; i < events; i++) {
		uint64_t claim = kv_ring_claim(head, tail, size, KV_REC_MAX_SIZE);

		assert_int_not_equal(claim, 0); /* never full while the host keeps up */
		head += claim;
		since++;
		if (kv_should_kick(KV_MODE_ASYNC, KV_EV_SLAB_ALLOC, since, head - tail, size)) {
			kicks++;
			since = 0;
			tail = head; /* the host drains everything at the doorbell */
		}
	}
	assert_int_equal(kicks, events / KV_ASYNC_BATCH);
}

static void test_seq_counter(void **state)
{
	uint64_t counter = KV_SEQ_FIRST;

	(void)state;
	assert_int_equal(kv_seq_next(&counter), 1);
	assert_int_equal(kv_seq_next(&counter), 2);
	assert_int_equal(counter, 3);
}

static void test_cfg_accessors(void **state)
{
	uint32_t ecx = KV_MODE_ASYMM | KV_ASYNC_BATCH_SHIFT << 8;
	uint32_t edx = 8u | 18u << 16 | 22u << 24;

	(void)state;
	assert_int_equal(kv_cfg_mode(ecx), KV_MODE_ASYMM);
	assert_int_equal(kv_cfg_batch_shift(ecx), 8);
	assert_int_equal(kv_cfg_ring_slots(edx), 8);
	assert_int_equal(kv_cfg_ring_shift_min(edx), 18);
	assert_int_equal(kv_cfg_ring_shift_max(edx), 22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_constants),	cmocka_unit_test(test_header_compiles_everywhere),
	    cmocka_unit_test(test_rec_len),	cmocka_unit_test(test_ring_claim),
	    cmocka_unit_test(test_kick_policy), cmocka_unit_test(test_async_one_exit_per_batch),
	    cmocka_unit_test(test_seq_counter), cmocka_unit_test(test_cfg_accessors),
	    cmocka_unit_test(test_ring_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
