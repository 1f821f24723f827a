/* SPDX-License-Identifier: MIT */
/*
 * ept memslots and policies on the real /dev/kvm: a 16 GiB guest layout stays
 * far below KVM_CAP_NR_MEMSLOTS, a small cap grows the slot size, hole splits
 * are bounded and refused (not overflowed) at the cap, arming is idempotent
 * and thread-safe, the policies arm what they should, and ADAPTIVE disarms a
 * hot page and re-arms it after its backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "ept/ept_internal.h"
#include "ept/tiny_vm.h"

#define GIB (1ull << 30)

static int kvm_fd = -1;

struct big_vm {
	int vm_fd, mem_fd;
	uint8_t *map;
	uint64_t size;
};

/* A sparse 16 GiB guest laid out like vmm/: 3 GiB low, the rest at 4 GiB. */
static void big_vm_config(struct big_vm *b, uint64_t size, struct ept_config *cfg)
{
	b->size = size;
	b->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	assert_true(b->vm_fd >= 0);
	b->mem_fd = memfd_create("big", MFD_CLOEXEC);
	assert_int_equal(ftruncate(b->mem_fd, (off_t)size), 0);
	b->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, b->mem_fd, 0);
	assert_true(b->map != MAP_FAILED);
	memset(cfg, 0, sizeof(*cfg));
	cfg->kvm_fd = kvm_fd;
	cfg->vm_fd = b->vm_fd;
	cfg->kvm_map = cfg->alias = b->map;
	cfg->ranges[0] = (struct ept_ram_range){0, 3 * GIB, 0};
	cfg->ranges[1] = (struct ept_ram_range){4 * GIB, size - 3 * GIB, 3 * GIB};
	cfg->nr_ranges = 2;
	cfg->nr_vcpus = 1;
}

static void big_vm_free(struct big_vm *b)
{
	munmap(b->map, b->size);
	close(b->mem_fd);
	close(b->vm_fd);
}

static void test_16gib_slots_under_cap(void **state)
{
	int cap = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	struct ept_config cfg;
	struct ept_stats st;
	struct big_vm b;
	struct ept *ept;

	(void)state;
	big_vm_config(&b, 16 * GIB, &cfg);
	cfg.mechanism = EPT_MECH_HOLE;
	assert_int_equal(ept_create(&cfg, &ept), 0);
	ept_get_stats(ept, &st);
	printf("# 16 GiB: %llu memslots of %llu KiB, cap %d\n", (unsigned long long)st.memslots,
	       (unsigned long long)(ept_slot_size(ept) >> 10), cap);
	assert_true(st.memslots <= (uint64_t)cap / 2);
	/* Scattered holes: each splits one small slot, never past the cap. */
	for (uint64_t gpa = 4 * GIB; gpa < 4 * GIB + 64 * (2u << 20); gpa += 2u << 20)
		assert_int_equal(ept_arm_page(ept, gpa + 0x5000), 0);
	ept_get_stats(ept, &st);
	assert_true(st.memslots <= (uint64_t)cap);
	assert_int_equal(st.pages_armed, 64);
	ept_destroy(ept);
	big_vm_free(&b);
}

static void test_small_cap_grows_slots_and_refuses(void **state)
{
	struct ept_config cfg;
	struct ept_stats st;
	struct big_vm b;
	struct ept *ept;
	int refused = 0;

	(void)state;
	big_vm_config(&b, 16 * GIB, &cfg);
	cfg.mechanism = EPT_MECH_HOLE;
	cfg.nr_memslots = 509; /* older kernels */
	assert_int_equal(ept_create(&cfg, &ept), 0);
	/* 16 GiB in at most (509 - 16) / 2 slots: 128 MiB each */
	assert_int_equal(ept_slot_size(ept), 128ull << 20);
	/* Every other page of one slot: more splits than the cap allows. */
	for (uint64_t gpa = 0; gpa < 2 * 509 * EPT_PAGE_SIZE; gpa += 2 * EPT_PAGE_SIZE) {
		int ret = ept_arm_page(ept, gpa);

		assert_true(ret == 0 || ret == -ENOSPC);
		refused += ret == -ENOSPC;
	}
	ept_get_stats(ept, &st);
	printf("# cap 509: slots of 128 MiB, %llu memslots, %d arms refused\n",
	       (unsigned long long)st.memslots, refused);
	assert_true(refused > 0);
	assert_true(st.memslots <= 509 - 16);
	assert_int_equal(st.arm_failures, (uint64_t)refused);
	ept_destroy(ept);
	big_vm_free(&b);
}

struct churn {
	struct ept *ept;
	unsigned int seed;
};

static void *churn_thread(void *p)
{
	struct churn *c = p;

	for (int i = 0; i < 4000; i++) {
		uint64_t gpa = (uint64_t)(rand_r(&c->seed) % 64) * EPT_PAGE_SIZE + 0x100000;

		if (rand_r(&c->seed) & 1)
			ept_arm_page(c->ept, gpa);
		else
			ept_disarm_page(c->ept, gpa);
	}
	return NULL;
}

static void test_concurrent_arm_disarm_consistent(void **state)
{
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++) {
		struct churn c[3];
		pthread_t th[3];
		struct ept_config cfg;
		struct tiny_vm t;
		struct ept *ept;
		uint64_t armed = 0;

		(void)state;
		assert_int_equal(tiny_vm_create(&t, kvm_fd, 4u << 20, 1), 0);
		tiny_vm_ept_config(&t, &cfg);
		cfg.mechanism = (enum ept_mechanism)m;
		assert_int_equal(ept_create(&cfg, &ept), 0);
		for (unsigned int i = 0; i < 3; i++) {
			c[i] = (struct churn){ept, i + 1};
			pthread_create(&th[i], NULL, churn_thread, &c[i]);
		}
		for (unsigned int i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		for (uint64_t p = 0; p < ept->nr_pages; p++) {
			assert_int_equal(ept_armed_bit(ept, p), ept_bit(ept->prot, p));
			armed += ept_armed_bit(ept, p);
		}
		assert_int_equal(atomic_load(&ept->st.pages_armed), armed);
		ept_destroy(ept);
		tiny_vm_destroy(&t);
	}
}

static struct ept *policy_ept(struct tiny_vm *t, enum ept_policy pol)
{
	struct ept_config cfg;
	struct ept *ept;

	assert_int_equal(tiny_vm_create(t, kvm_fd, 8u << 20, 1), 0);
	tiny_vm_ept_config(t, &cfg);
	cfg.mechanism = EPT_MECH_MPROTECT;
	cfg.policy = pol;
	cfg.sample_n = 4;
	cfg.sample_seed = 7;
	assert_int_equal(ept_create(&cfg, &ept), 0);
	return ept;
}

static void test_policies(void **state)
{
	struct tiny_vm t;
	struct ept *ept;
	unsigned int sampled = 0;

	(void)state;
	ept = policy_ept(&t, EPT_POLICY_FREED);
	ept_page_poisoned(ept, 0x100000, EPT_POISON_REDZONE);
	assert_false(ept_page_armed(ept, 0x100000));
	ept_page_poisoned(ept, 0x100000, EPT_POISON_FREED);
	assert_true(ept_page_armed(ept, 0x100000));
	ept_page_clean(ept, 0x100000);
	assert_false(ept_page_armed(ept, 0x100000));
	ept_destroy(ept);
	tiny_vm_destroy(&t);

	ept = policy_ept(&t, EPT_POLICY_ALL);
	ept_page_poisoned(ept, 0x100000, EPT_POISON_REDZONE);
	assert_true(ept_page_armed(ept, 0x100000));
	ept_destroy(ept);
	tiny_vm_destroy(&t);

	ept = policy_ept(&t, EPT_POLICY_SAMPLED);
	for (uint64_t p = 0; p < 1024; p++) {
		ept_page_poisoned(ept, 0x100000 + p * EPT_PAGE_SIZE, EPT_POISON_FREED);
		sampled += ept_page_armed(ept, 0x100000 + p * EPT_PAGE_SIZE);
	}
	printf("# sampled 1 in 4: %u of 1024 pages armed\n", sampled);
	assert_true(sampled > 1024 / 4 - 64 && sampled < 1024 / 4 + 64);
	ept_destroy(ept);
	tiny_vm_destroy(&t);
}

static struct ept_heat *heat_entry(struct ept *ept, uint64_t gpa)
{
	for (unsigned int i = 0; i < EPT_HEAT_SLOTS; i++) {
		if (ept->heat[i].page == (gpa >> 12) + 1)
			return &ept->heat[i];
	}
	return NULL;
}

/* A guest loop that does nothing but read an armed page is far over any budget. */
static void test_adaptive_disarms_hot_page_then_rearms(void **state)
{
	/* loop: mov rax,[rsi]; dec rcx; jnz loop; hlt */
	static const uint8_t code[] = {0x48, 0x8b, 0x06, 0x48, 0xff, 0xc9, 0x75, 0xf8, 0xf4};
	struct kvm_regs r = {
	    .rip = TINY_VM_CODE, .rsi = TINY_VM_DATA, .rcx = 20000, .rsp = TINY_VM_STACK};
	struct ept_stats st;
	struct tiny_vm t;
	struct ept *ept = policy_ept(&t, EPT_POLICY_ADAPTIVE);
	struct ept_heat *e;
	uint64_t t0;

	(void)state;
	tiny_vm_put(&t, TINY_VM_CODE, code, sizeof(code));
	ept_page_poisoned(ept, TINY_VM_DATA, EPT_POISON_FREED);
	assert_true(ept_page_armed(ept, TINY_VM_DATA));
	assert_int_equal(tiny_vm_set_regs(&t, 0, &r), 0);
	t0 = ept_now_ns();
	assert_int_equal(tiny_vm_run(&t, 0, ept), KVM_EXIT_HLT);
	ept_get_stats(ept, &st);
	printf("# adaptive: %llu traps of 20000 reads in %.1f ms, %llu heat disarms\n",
	       (unsigned long long)st.traps_allowed, (ept_now_ns() - t0) / 1e6,
	       (unsigned long long)st.heat_disarms);
	assert_true(st.heat_disarms >= 1);
	assert_true(st.traps_allowed < 20000);
	e = heat_entry(ept, TINY_VM_DATA);
	assert_non_null(e);
	printf("# heat: level %u, re-arm at %+.1f ms, armed %d\n", e->level,
	       e->rearm_ns ? ((double)e->rearm_ns - (double)ept_now_ns()) / 1e6 : 0.0,
	       ept_page_armed(ept, TINY_VM_DATA));
	assert_true(e->level >= 1);
	if (!ept_page_armed(ept, TINY_VM_DATA)) {
		/* Backing off: a poison notification before the deadline does not arm it... */
		assert_true(e->rearm_ns > 0);
		assert_true(ept_heat_backing_off(ept, TINY_VM_DATA >> 12, e->rearm_ns - 1));
		assert_false(ept_heat_backing_off(ept, TINY_VM_DATA >> 12, e->rearm_ns));
	}
	/* ...the tick after the backoff does. */
	ept_tick(ept, ept_now_ns() + 60ull * 1000 * 1000 * 1000);
	assert_true(ept_page_armed(ept, TINY_VM_DATA));
	ept_get_stats(ept, &st);
	assert_true(st.heat_rearms >= 1);
	ept_print_coverage(ept, stdout);
	ept_destroy(ept);
	tiny_vm_destroy(&t);
}

static void test_decode_locked_rmw(void **state)
{
	(void)state;
	assert_true(ept_insn_is_locked_rmw((uint8_t[]){0xf0, 0x48, 0x0f, 0xc1, 0x1e}, 5));
	assert_true(ept_insn_is_locked_rmw((uint8_t[]){0x66, 0xf0, 0x0f, 0xb1, 0x1e}, 5));
	assert_true(ept_insn_is_locked_rmw((uint8_t[]){0x48, 0x87, 0x1e}, 3)); /* xchg [rsi] */
	assert_true(ept_insn_is_locked_rmw((uint8_t[]){0x86, 0x06}, 2));
	assert_false(ept_insn_is_locked_rmw((uint8_t[]){0x48, 0x87, 0xd8}, 3)); /* xchg rax,rbx */
	assert_false(ept_insn_is_locked_rmw((uint8_t[]){0x48, 0x8b, 0x06}, 3));
	assert_false(ept_insn_is_locked_rmw((uint8_t[]){0x48}, 1));
	assert_false(ept_insn_is_locked_rmw(NULL, 0));
}

static int setup(void **state)
{
	(void)state;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	return kvm_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	close(kvm_fd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_16gib_slots_under_cap),
	    cmocka_unit_test(test_small_cap_grows_slots_and_refuses),
	    cmocka_unit_test(test_concurrent_arm_disarm_consistent),
	    cmocka_unit_test(test_policies),
	    cmocka_unit_test(test_adaptive_disarms_hot_page_then_rearms),
	    cmocka_unit_test(test_decode_locked_rmw),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
