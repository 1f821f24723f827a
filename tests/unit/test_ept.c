/* SPDX-License-Identifier: MIT */
/*
 * ept trap handling on the real /dev/kvm with tiny 64-bit guests at CPL0:
 * for every mechanism the host probe finds exact, reads and writes on an
 * armed page are judged once each and completed through the alias; locked
 * RMWs (decoded and fallback), rep stosq, instruction fetch, stale exits,
 * atomicity of lock inc from two vCPUs at once, and a vCPU running code and
 * page walks beside memslots another vCPU's traps keep replacing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ept/ept_internal.h"
#include "ept/tiny_vm.h"

#define RAM	   (8u << 20)
#define MAX_CALLS  64
#define PAT_MEM	   0x1122334455667788ull
#define PAT_REG	   0xaabbccdd00112233ull
#define SMP_ROUNDS 300
/* In the 2 MiB region of the code and page tables: relayouts pause the other vCPU. */
#define SMP_DATA   0x40000
#define SPIN_CODE  0x11000 /* same 2 MiB region as code, page tables, TINY_VM_DATA */
#define SPIN_FLAG  0x21000
#define SPIN_COUNT 0x21008
#define SPIN_RMWS  300
#define FLIP_PAGE  0x30000 /* armed and disarmed by the test's own thread meanwhile */
#define FLIPS	   100

struct fix {
	struct tiny_vm t;
	struct ept *ept;
	pthread_mutex_t lock;
	unsigned int calls;
	struct ept_access acc[MAX_CALLS];
};

static int kvm_fd = -1;
static struct ept_probe_result probe;

static enum ept_verdict record(void *ctx, const struct ept_access *a)
{
	struct fix *f = ctx;

	pthread_mutex_lock(&f->lock);
	if (f->calls < MAX_CALLS)
		f->acc[f->calls] = *a;
	f->calls++;
	pthread_mutex_unlock(&f->lock);
	return EPT_ALLOW;
}

static struct fix *fix_new(enum ept_mechanism m, unsigned int vcpus, bool no_decode)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct ept_config cfg;

	assert_non_null(f);
	pthread_mutex_init(&f->lock, NULL);
	assert_int_equal(tiny_vm_create(&f->t, kvm_fd, RAM, vcpus), 0);
	tiny_vm_ept_config(&f->t, &cfg);
	cfg.mechanism = m;
	cfg.judge = record;
	cfg.judge_ctx = f;
	cfg.no_rmw_decode = no_decode;
	assert_int_equal(ept_create(&cfg, &f->ept), 0);
	return f;
}

static void fix_free(struct fix *f)
{
	ept_destroy(f->ept);
	tiny_vm_destroy(&f->t);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static uint64_t mem64(struct fix *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, f->t.alias + gpa, 8);
	return v;
}

static void put64(struct fix *f, uint64_t gpa, uint64_t v)
{
	tiny_vm_put(&f->t, gpa, &v, 8);
}

/* Runs code at TINY_VM_CODE on vCPU 0 to its hlt; returns the final registers. */
static struct kvm_regs run_code(struct fix *f, const uint8_t *code, size_t len, struct kvm_regs r)
{
	tiny_vm_put(&f->t, TINY_VM_CODE, code, len);
	if (!r.rip)
		r.rip = TINY_VM_CODE;
	r.rsp = TINY_VM_STACK;
	assert_int_equal(tiny_vm_set_regs(&f->t, 0, &r), 0);
	assert_int_equal(tiny_vm_run(&f->t, 0, f->ept), KVM_EXIT_HLT);
	assert_int_equal(ioctl(f->t.vcpu_fd[0], KVM_GET_REGS, &r), 0);
	return r;
}

static bool exact(enum ept_mechanism m)
{
	return m == EPT_MECH_READONLY ? probe.exact_write[m]
				      : probe.exact_read[m] && probe.exact_write[m];
}

static void test_probe_finds_an_exact_mechanism(void **state)
{
	(void)state;
	assert_true(exact(EPT_MECH_MPROTECT) || exact(EPT_MECH_HOLE));
	if (access("/sys/module/kvm_pvm", F_OK) == 0) /* measured: reference/kvm-here.md */
		assert_true(exact(EPT_MECH_MPROTECT) && exact(EPT_MECH_HOLE));
	printf("# probe: mprotect %d/%d hole %d/%d readonly %d/%d sync_regs %d\n",
	       probe.exact_read[1], probe.exact_write[1], probe.exact_read[2], probe.exact_write[2],
	       probe.exact_read[3], probe.exact_write[3], probe.sync_regs);
}

/* Keeps the first error: the one naming the cause, before "set-up failed". */
static void keep_first_error(void *ctx, int level, const char *msg)
{
	if (level == 0 && !*(char *)ctx)
		snprintf(ctx, 512, "%s", msg);
}

/* A forced mechanism goes through the start-up probe too: refused when not exact here. */
static void test_forced_mechanism_must_be_exact(void **state)
{
	struct tiny_vm t;
	struct ept_config cfg;
	struct ept *ept = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(tiny_vm_create(&t, kvm_fd, RAM, 1), 0);
	tiny_vm_ept_config(&t, &cfg);
	cfg.probe_forced = true;
	cfg.log = keep_first_error;
	cfg.log_ctx = err;
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++) {
		cfg.mechanism = (enum ept_mechanism)m;
		/* as a hardware-virtualization host answers the probe for mprotect */
		cfg.probe_fail_mask = 1u << m;
		err[0] = '\0';
		assert_int_equal(ept_create(&cfg, &ept), -ENOTSUP);
		assert_null(ept);
		assert_non_null(strstr(err, ept_mechanism_name(m)));
		assert_non_null(strstr(err, "not exact on this host"));
		/* the real probe: accepted exactly when the host's probe says exact */
		cfg.probe_fail_mask = 0;
		err[0] = '\0';
		assert_int_equal(ept_create(&cfg, &ept), exact(m) ? 0 : -ENOTSUP);
		if (ept)
			assert_int_equal(ept_mechanism(ept), m);
		ept_destroy(ept);
		ept = NULL;
	}
	tiny_vm_destroy(&t);
}

static void read_write_one(enum ept_mechanism m)
{
	static const uint8_t code[] = {0x48, 0x8b, 0x06, 0x48, 0x89, 0x1e, 0xf4};
	struct kvm_regs r = {.rsi = TINY_VM_DATA + 8, .rbx = PAT_REG};
	struct fix *f = fix_new(m, 1, false);
	bool ro = m == EPT_MECH_READONLY;
	struct ept_stats st;

	put64(f, TINY_VM_DATA + 8, PAT_MEM);
	assert_int_equal(ept_arm_page(f->ept, TINY_VM_DATA + 100), 0);
	assert_int_equal(ept_arm_page(f->ept, TINY_VM_DATA), 0); /* idempotent */
	r = run_code(f, code, sizeof(code), r);
	assert_int_equal(r.rax, PAT_MEM);
	assert_int_equal(mem64(f, TINY_VM_DATA + 8), PAT_REG);
	assert_int_equal(f->calls, ro ? 1 : 2);
	for (unsigned int i = 0; i < f->calls; i++) {
		assert_int_equal(f->acc[i].gpa, TINY_VM_DATA + 8);
		assert_int_equal(f->acc[i].len, 8);
		assert_int_equal(f->acc[i].is_write, ro || i == 1);
		assert_int_equal(f->acc[i].rip, TINY_VM_CODE + (ro || i == 1 ? 6 : 0));
	}
	/* Disarmed: the same code runs without a single exit. */
	assert_int_equal(ept_disarm_page(f->ept, TINY_VM_DATA), 0);
	assert_int_equal(ept_disarm_page(f->ept, TINY_VM_DATA), 0);
	put64(f, TINY_VM_DATA + 8, PAT_MEM);
	f->calls = 0;
	r = (struct kvm_regs){.rsi = TINY_VM_DATA + 8, .rbx = PAT_REG};
	r = run_code(f, code, sizeof(code), r);
	assert_int_equal(r.rax, PAT_MEM);
	assert_int_equal(mem64(f, TINY_VM_DATA + 8), PAT_REG);
	assert_int_equal(f->calls, 0);
	ept_get_stats(f->ept, &st);
	assert_int_equal(st.traps_stale, 0);
	assert_int_equal(st.pages_armed, 0);
	fix_free(f);
}

static void test_read_write_each_mechanism(void **state)
{
	(void)state;
	for (int m = EPT_MECH_MPROTECT; m < EPT_MECH_NR; m++) {
		if (!exact((enum ept_mechanism)m))
			continue;
		printf("# read/write through %s\n", ept_mechanism_name(m));
		read_write_one((enum ept_mechanism)m);
	}
}

/* One locked RMW on an armed page, then a plain read that must still trap. */
static void rmw_one(enum ept_mechanism m, bool no_decode, const uint8_t *insn, size_t n,
		    uint64_t rax, uint64_t want_mem, uint64_t want_rbx, uint64_t want_rax)
{
	uint8_t code[32];
	struct kvm_regs r = {.rsi = TINY_VM_DATA, .rbx = 5, .rax = rax};
	struct fix *f = fix_new(m, 1, no_decode);
	struct ept_stats st;

	memcpy(code, insn, n);
	memcpy(code + n, (uint8_t[]){0x48, 0x8b, 0x0e, 0xf4}, 4); /* mov rcx,[rsi]; hlt */
	put64(f, TINY_VM_DATA, 7);
	assert_int_equal(ept_arm_page(f->ept, TINY_VM_DATA), 0);
	r = run_code(f, code, n + 4, r);
	assert_int_equal(mem64(f, TINY_VM_DATA), want_mem);
	assert_int_equal(r.rbx, want_rbx);
	assert_int_equal(r.rax, want_rax);
	assert_int_equal(r.rcx, want_mem);
	assert_int_equal(f->calls, 2); /* the RMW once, the read once */
	assert_int_equal(f->acc[0].is_write, !no_decode);
	assert_int_equal(f->acc[0].is_rmw, !no_decode);
	assert_int_equal(f->acc[0].len, 8);
	assert_false(f->acc[1].is_write);
	assert_true(ept_page_armed(f->ept, TINY_VM_DATA));
	ept_get_stats(f->ept, &st);
	/*
	 * Not decoded: under mprotect the RMW is stepped at its failed write;
	 * under holes every read exit is stepped (the RMW's and the plain read's).
	 */
	assert_int_equal(st.undecoded_steps, no_decode && m == EPT_MECH_HOLE ? 2 : 0);
	assert_int_equal(st.rmw_traps, !(no_decode && m == EPT_MECH_HOLE));
	assert_int_equal(st.traps_stepped, no_decode && m == EPT_MECH_HOLE ? 2 : 1);
	fix_free(f);
}

static void test_locked_rmw(void **state)
{
	static const uint8_t xadd[] = {0xf0, 0x48, 0x0f, 0xc1, 0x1e};
	static const uint8_t cmpxchg[] = {0xf0, 0x48, 0x0f, 0xb1, 0x1e};
	static const uint8_t xchg[] = {0x48, 0x87, 0x1e};

	(void)state;
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++) {
		for (int nd = 0; nd < 2; nd++) {
			if (!exact((enum ept_mechanism)m))
				continue;
			printf("# locked rmw through %s%s\n", ept_mechanism_name(m),
			       nd ? " (not decoded: fallback)" : "");
			rmw_one(m, nd, xadd, sizeof(xadd), 0, 12, 7, 0);
			rmw_one(m, nd, cmpxchg, sizeof(cmpxchg), 7, 5, 5, 7);
			rmw_one(m, nd, cmpxchg, sizeof(cmpxchg), 9, 7, 5, 7); /* compare fails */
			rmw_one(m, nd, xchg, sizeof(xchg), 0, 5, 7, 0);
		}
	}
}

static void test_rep_stosq_across_armed_page(void **state)
{
	static const uint8_t code[] = {0xf3, 0x48, 0xab, 0xf4}; /* rep stosq; hlt */
	const uint64_t page = TINY_VM_DATA + 0x1000;

	(void)state;
	for (int m = EPT_MECH_MPROTECT; m < EPT_MECH_NR; m++) {
		struct kvm_regs r = {.rdi = page - 32, .rcx = 8, .rax = PAT_REG};
		struct fix *f;
		uint64_t t0;

		if (!exact((enum ept_mechanism)m))
			continue;
		f = fix_new((enum ept_mechanism)m, 1, false);
		assert_int_equal(ept_arm_page(f->ept, page), 0);
		t0 = ept_now_ns();
		r = run_code(f, code, sizeof(code), r);
		printf("# rep stosq, 4 of 8 qwords on an armed page (%s): %.1f us\n",
		       ept_mechanism_name(m), (ept_now_ns() - t0) / 1e3);
		assert_int_equal(r.rcx, 0);
		for (int i = 0; i < 8; i++)
			assert_int_equal(mem64(f, page - 32 + 8 * i), PAT_REG);
		/* judged once, for the whole rest of the instruction (4 qwords from page) */
		assert_int_equal(f->calls, 1);
		assert_int_equal(f->acc[0].gpa, page);
		assert_true(f->acc[0].is_write);
		assert_int_equal(f->acc[0].str.op, EPT_STR_STOS);
		assert_int_equal(f->acc[0].str.elem, 8);
		assert_int_equal(f->acc[0].str.count, 4);
		assert_int_equal(f->acc[0].str.dst, page);
		fix_free(f);
	}
}

static void test_fetch_from_armed_page(void **state)
{
	/* mov eax,42; jmp 0x11000 (hlt there: a stepped hlt without an in-kernel LAPIC is lost) */
	static const uint8_t code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xe9, 0xf6, 0x0f, 0x00, 0x00};

	(void)state;
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++) {
		struct kvm_regs r = {0};
		struct ept_stats st;
		struct fix *f;

		if (!exact((enum ept_mechanism)m))
			continue;
		f = fix_new((enum ept_mechanism)m, 1, false);
		tiny_vm_put(&f->t, TINY_VM_CODE + 0x1000, (uint8_t[]){0xf4}, 1);
		assert_int_equal(ept_arm_page(f->ept, TINY_VM_CODE), 0);
		r = run_code(f, code, sizeof(code), r);
		assert_int_equal(r.rip, TINY_VM_CODE + 0x1001);
		assert_int_equal(r.rax, 42);
		assert_int_equal(f->calls, 0); /* a fetch is not judged */
		ept_get_stats(f->ept, &st);
		assert_int_equal(st.traps_fetch, 2);
		assert_int_equal(st.traps_stepped, 2);
		assert_true(ept_page_armed(f->ept, TINY_VM_CODE));
		printf("# fetch (%s): %llu fetch traps, %llu steps\n", ept_mechanism_name(m),
		       (unsigned long long)st.traps_fetch, (unsigned long long)st.traps_stepped);
		fix_free(f);
	}
}

/* Guest user mode (CPL3, native even on kvm_pvm) with AVX state enabled; ends with out 0x80. */
static void enter_user_mode_avx(struct fix *f, uint64_t rsi, uint64_t rdi)
{
	uint64_t *pml4 = (uint64_t *)(f->t.alias + TINY_VM_PML4);
	uint64_t *pdpt = (uint64_t *)(f->t.alias + (pml4[0] & ~0xfffull));
	uint64_t *pd = (uint64_t *)(f->t.alias + (pdpt[0] & ~0xfffull));
	struct kvm_regs r = {.rip = TINY_VM_CODE,
			     .rsi = rsi,
			     .rdi = rdi,
			     .rsp = TINY_VM_STACK,
			     .rflags = 2 | 0x3000}; /* IOPL 3: out is allowed */
	struct kvm_xcrs xcrs = {.nr_xcrs = 1, .xcrs = {{.xcr = 0, .value = 7}}}; /* x87 SSE AVX */
	struct kvm_sregs s;
	int fd = f->t.vcpu_fd[0];

	pml4[0] |= 4; /* user-accessible */
	pdpt[0] |= 4;
	for (int i = 0; i < 512; i++)
		pd[i] |= 4;
	assert_int_equal(tiny_vm_set_regs(&f->t, 0, &r), 0);
	assert_int_equal(ioctl(fd, KVM_GET_SREGS, &s), 0);
	s.cs.dpl = s.ss.dpl = s.ds.dpl = s.es.dpl = 3;
	s.cs.selector |= 3;
	s.ss.selector |= 3;
	s.cr4 |= 1u << 18; /* OSXSAVE */
	assert_int_equal(ioctl(fd, KVM_SET_SREGS, &s), 0);
	assert_int_equal(ioctl(fd, KVM_SET_XCRS, &xcrs), 0);
}

/*
 * An AVX load from an armed page in guest user mode: KVM cannot emulate it
 * (no MMIO exit, an emulation failure), so ept opens the page, the CPU runs
 * it, and the page closes again at the vCPU's next exit.
 */
static void test_unemulatable_access_to_armed_page(void **state)
{
	/* vmovdqu ymm0,[rsi]; vmovdqu [rdi],ymm0; out 0x80,al */
	static const uint8_t code[] = {0xc5, 0xfe, 0x6f, 0x06, 0xc5, 0xfe, 0x7f, 0x07, 0xe6, 0x80};
	const uint64_t armed = 0x400000, out = 0x500000;

	(void)state;
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++) {
		struct fix *f;
		struct ept_stats st;
		int exit;

		if (!exact((enum ept_mechanism)m))
			continue;
		f = fix_new((enum ept_mechanism)m, 1, false);
		tiny_vm_put(&f->t, TINY_VM_CODE, code, sizeof(code));
		for (uint64_t i = 0; i < 4; i++)
			put64(f, armed + 0xfe0 + 8 * i, PAT_MEM + i);
		assert_int_equal(ept_arm_page(f->ept, armed), 0);
		enter_user_mode_avx(f, armed + 0xfe0, out);
		exit = tiny_vm_run(&f->t, 0, f->ept);
		ept_get_stats(f->ept, &st);
		printf("# AVX load from an armed page at CPL3 (%s): exit %d, %llu not emulatable\n",
		       ept_mechanism_name(m), exit, (unsigned long long)st.traps_native);
		if (m == EPT_MECH_MPROTECT && exit == -EFAULT) {
			/* kvm_pvm: a CPL3 fault on a PROT_NONE page fails KVM_RUN, no gpa
			 * (kvm-here.md) */
			fix_free(f);
			continue;
		}
		assert_int_equal(exit, KVM_EXIT_IO);
		for (uint64_t i = 0; i < 4; i++)
			assert_int_equal(mem64(f, out + 8 * i), PAT_MEM + i);
		assert_int_equal(st.traps_native, 1);
		assert_int_equal(f->calls, 0); /* not judged */
		assert_true(ept_page_armed(f->ept, armed));
		/* closed again at the out exit: the same load traps once more */
		enter_user_mode_avx(f, armed + 0xfe0, out);
		assert_int_equal(tiny_vm_run(&f->t, 0, f->ept), KVM_EXIT_IO);
		ept_get_stats(f->ept, &st);
		assert_int_equal(st.traps_native, 2);
		fix_free(f);
	}
}

/*
 * lock cmpxchg16b on an armed page in guest user mode: KVM exits for the
 * reads (judged as a locked RMW), cannot emulate the rest, and the CPU runs
 * it with the page open: atomic, and no single step (whose #DB kvm_pvm would
 * deliver into guest user mode).
 */
static void test_user_cmpxchg16b_on_armed_page(void **state)
{
	static const uint8_t code[] = {0xf0, 0x48, 0x0f, 0xc7, 0x0e, 0xe6, 0x80};
	const uint64_t armed = 0x400000, slot = armed + 0xfe0;

	(void)state;
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++) {
		struct fix *f;
		struct ept_stats st;
		struct kvm_regs r;
		uint64_t native;
		unsigned int calls;
		int exit;

		if (!exact((enum ept_mechanism)m))
			continue;
		f = fix_new((enum ept_mechanism)m, 1, false);
		tiny_vm_put(&f->t, TINY_VM_CODE, code, sizeof(code));
		put64(f, slot, 1);
		put64(f, slot + 8, 2);
		assert_int_equal(ept_arm_page(f->ept, armed), 0);
		enter_user_mode_avx(f, slot, 0);
		assert_int_equal(ioctl(f->t.vcpu_fd[0], KVM_GET_REGS, &r), 0);
		r.rax = 1, r.rdx = 2, r.rbx = PAT_MEM, r.rcx = PAT_REG; /* expect 2:1, store */
		assert_int_equal(ioctl(f->t.vcpu_fd[0], KVM_SET_REGS, &r), 0);
		exit = tiny_vm_run(&f->t, 0, f->ept);
		ept_get_stats(f->ept, &st);
		printf("# lock cmpxchg16b at CPL3 (%s): exit %d, %u judged, %llu rmw, %llu steps, "
		       "%llu not emulatable\n",
		       ept_mechanism_name(m), exit, f->calls, (unsigned long long)st.rmw_traps,
		       (unsigned long long)st.traps_stepped, (unsigned long long)st.traps_native);
		if (m == EPT_MECH_MPROTECT && exit == -EFAULT) {
			fix_free(f); /* kvm_pvm at CPL3 under mprotect: see above */
			continue;
		}
		assert_int_equal(exit, KVM_EXIT_IO);
		assert_int_equal(mem64(f, slot), PAT_MEM);
		assert_int_equal(mem64(f, slot + 8), PAT_REG);
		assert_int_equal(ioctl(f->t.vcpu_fd[0], KVM_GET_REGS, &r), 0);
		assert_true(r.rflags & 0x40); /* ZF: the compare succeeded */
		assert_true(f->calls >= 1);
		assert_true(f->acc[0].is_rmw);
		assert_int_equal(st.traps_stepped, 0);
		assert_true(ept_page_armed(f->ept, armed));
		/* closed again at the out exit: the same cmpxchg16b is judged once more */
		calls = f->calls;
		native = st.traps_native;
		put64(f, slot, 1);
		put64(f, slot + 8, 2);
		enter_user_mode_avx(f, slot, 0);
		assert_int_equal(ioctl(f->t.vcpu_fd[0], KVM_GET_REGS, &r), 0);
		r.rax = 1, r.rdx = 2, r.rbx = PAT_REG, r.rcx = PAT_MEM;
		assert_int_equal(ioctl(f->t.vcpu_fd[0], KVM_SET_REGS, &r), 0);
		assert_int_equal(tiny_vm_run(&f->t, 0, f->ept), KVM_EXIT_IO);
		ept_get_stats(f->ept, &st);
		assert_true(f->calls > calls);
		assert_true(st.traps_native > native);
		assert_int_equal(mem64(f, slot), PAT_REG);
		assert_int_equal(mem64(f, slot + 8), PAT_MEM);
		fix_free(f);
	}
}

/* An exit on a page the bitmap no longer arms (disarmed while KVM was exiting). */
static void test_stale_exit_completes(void **state)
{
	static const uint8_t code[] = {0x48, 0x8b, 0x06, 0x48, 0x89, 0x1e, 0xf4};
	struct kvm_regs r = {.rsi = TINY_VM_DATA, .rbx = PAT_REG};
	struct fix *f = fix_new(EPT_MECH_AUTO, 1, false);
	uint64_t page = TINY_VM_DATA >> EPT_PAGE_SHIFT;
	struct ept_stats st;

	(void)state;
	put64(f, TINY_VM_DATA, PAT_MEM);
	assert_int_equal(ept_arm_page(f->ept, TINY_VM_DATA), 0);
	atomic_fetch_and(&f->ept->armed[page / 64], ~(1ull << (page % 64)));
	r = run_code(f, code, sizeof(code), r);
	assert_int_equal(r.rax, PAT_MEM);
	assert_int_equal(mem64(f, TINY_VM_DATA), PAT_REG);
	assert_int_equal(f->calls, 0);
	ept_get_stats(f->ept, &st);
	assert_int_equal(st.traps_stale, ept_mechanism(f->ept) == EPT_MECH_READONLY ? 1 : 2);
	fix_free(f);
}

struct smp_arg {
	struct fix *f;
	unsigned int vcpu;
	int exit;
};

static void *smp_vcpu(void *p)
{
	struct smp_arg *a = p;

	a->exit = tiny_vm_run(&a->f->t, a->vcpu, a->f->ept);
	return NULL;
}

static void lock_inc_two_vcpus(enum ept_mechanism m, bool no_decode)
{
	/* loop: lock inc qword [rsi]; dec rcx; jnz loop; hlt */
	static const uint8_t code[] = {0xf0, 0x48, 0xff, 0x06, 0x48, 0xff, 0xc9, 0x75, 0xf7, 0xf4};
	struct fix *f = fix_new(m, 2, no_decode);
	struct smp_arg args[2];
	pthread_t th[2];

	tiny_vm_put(&f->t, TINY_VM_CODE, code, sizeof(code));
	put64(f, SMP_DATA, 0);
	assert_int_equal(ept_arm_page(f->ept, SMP_DATA), 0);
	for (unsigned int i = 0; i < 2; i++) {
		struct kvm_regs r = {.rip = TINY_VM_CODE,
				     .rsi = SMP_DATA,
				     .rcx = SMP_ROUNDS,
				     .rsp = TINY_VM_STACK - 0x1000 * i};

		assert_int_equal(tiny_vm_set_regs(&f->t, i, &r), 0);
		args[i] = (struct smp_arg){f, i, -1};
		pthread_create(&th[i], NULL, smp_vcpu, &args[i]);
	}
	for (unsigned int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].exit, KVM_EXIT_HLT);
	}
	assert_int_equal(mem64(f, SMP_DATA), 2 * SMP_ROUNDS);
	/*
	 * Fewer judge calls than increments: while one vCPU steps with the page
	 * open, the other's accesses go through untrapped (the detection window).
	 */
	assert_true(f->calls >= 1);
	printf("# 2 vCPUs x %d lock inc (%s%s): atomic; %u judged, %d in the step window\n",
	       SMP_ROUNDS, ept_mechanism_name(m), no_decode ? ", not decoded" : "", f->calls,
	       2 * SMP_ROUNDS - (int)f->calls);
	fix_free(f);
}

/* Every exact mechanism that traps reads, with and without decoding at the read exit. */
static void test_lock_inc_two_vcpus_is_atomic(void **state)
{
	(void)state;
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++)
		for (int nd = 0; nd < 2; nd++)
			if (exact((enum ept_mechanism)m))
				lock_inc_two_vcpus((enum ept_mechanism)m, nd);
}

static void relayout_beside_running_vcpu(enum ept_mechanism m)
{
	/* loop: lock inc qword [rsi]; dec rcx; jnz loop; hlt */
	static const uint8_t trapper[] = {0xf0, 0x48, 0xff, 0x06, 0x48,
					  0xff, 0xc9, 0x75, 0xf7, 0xf4};
	/* loop: mov rax, cr3; mov cr3, rax (TLB flush: walks again); inc qword [rbx];
	 * cmp qword [rdi], 0; je loop; hlt */
	static const uint8_t walker[] = {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0x48, 0xff,
					 0x03, 0x48, 0x83, 0x3f, 0x00, 0x74, 0xf1, 0xf4};
	struct fix *f = fix_new(m, 2, false);
	struct kvm_regs r[2] = {{.rip = TINY_VM_CODE, .rsi = TINY_VM_DATA, .rcx = SPIN_RMWS},
				{.rip = SPIN_CODE, .rbx = SPIN_COUNT, .rdi = SPIN_FLAG}};
	struct smp_arg args[2];
	struct ept_stats st;
	pthread_t th[2];

	tiny_vm_put(&f->t, TINY_VM_CODE, trapper, sizeof(trapper));
	tiny_vm_put(&f->t, SPIN_CODE, walker, sizeof(walker));
	assert_int_equal(ept_arm_page(f->ept, TINY_VM_DATA), 0);
	for (unsigned int i = 2; i-- > 0;) { /* the walker first: it runs all along */
		r[i].rsp = TINY_VM_STACK - 0x1000 * i;
		assert_int_equal(tiny_vm_set_regs(&f->t, i, &r[i]), 0);
		args[i] = (struct smp_arg){f, i, -1};
		pthread_create(&th[i], NULL, smp_vcpu, &args[i]);
	}
	/* the walker runs until SPIN_FLAG: flip once it is under way (60 s: a loaded host) */
	for (int ms = 0; ms < 60000 && !mem64(f, SPIN_COUNT) && args[1].exit < 0; ms++)
		usleep(1000);
	for (int i = 0; i < FLIPS; i++) { /* as the consumer or timer thread would */
		assert_int_equal(ept_arm_page(f->ept, FLIP_PAGE), 0);
		assert_int_equal(ept_disarm_page(f->ept, FLIP_PAGE), 0);
	}
	pthread_join(th[0], NULL);
	put64(f, SPIN_FLAG, 1); /* only now: it ran beside all the relayouts */
	pthread_join(th[1], NULL);
	ept_get_stats(f->ept, &st);
	printf("# %s: %llu walker loops beside %d trapped lock incs and %d arm/disarm pairs, "
	       "%llu pauses (%llu with a vCPU to kick, %.1f us each)\n",
	       ept_mechanism_name(m), (unsigned long long)mem64(f, SPIN_COUNT), SPIN_RMWS, FLIPS,
	       (unsigned long long)st.pauses, (unsigned long long)st.pauses_held,
	       st.pauses ? st.pause_ns / 1e3 / st.pauses : 0.0);
	assert_int_equal(args[1].exit, KVM_EXIT_HLT);
	assert_int_equal(args[0].exit, KVM_EXIT_HLT);
	assert_int_equal(mem64(f, TINY_VM_DATA), SPIN_RMWS);
	assert_true(mem64(f, SPIN_COUNT) > 0);
	assert_true(f->calls >= 1);
	/* under holes every single step opens and closes one too */
	assert_true(st.pauses >= 2 * FLIPS + (m == EPT_MECH_HOLE ? 2 * SPIN_RMWS : 0));
	/* the walker was in KVM_RUN for some of them: the gate kicked it out and waited */
	assert_true(st.pauses_held >= 1);
	fix_free(f);
}

/*
 * Hole and read-only replace memslots: vCPU 1 fetches code and walks page
 * tables in the region whose slots vCPU 0's traps (single steps with the
 * page opened) and a host thread's arm/disarm keep replacing, all at once.
 * Without the pause it faults there (KVM_EXIT_SHUTDOWN).
 */
static void test_relayout_beside_running_vcpu(void **state)
{
	(void)state;
	if (exact(EPT_MECH_HOLE))
		relayout_beside_running_vcpu(EPT_MECH_HOLE);
	if (exact(EPT_MECH_READONLY))
		relayout_beside_running_vcpu(EPT_MECH_READONLY);
}

static int setup(void **state)
{
	(void)state;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return -1;
	return ept_probe_mechanisms(kvm_fd, &probe);
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
	    cmocka_unit_test(test_probe_finds_an_exact_mechanism),
	    cmocka_unit_test(test_forced_mechanism_must_be_exact),
	    cmocka_unit_test(test_read_write_each_mechanism),
	    cmocka_unit_test(test_locked_rmw),
	    cmocka_unit_test(test_rep_stosq_across_armed_page),
	    cmocka_unit_test(test_fetch_from_armed_page),
	    cmocka_unit_test(test_stale_exit_completes),
	    cmocka_unit_test(test_unemulatable_access_to_armed_page),
	    cmocka_unit_test(test_user_cmpxchg16b_on_armed_page),
	    cmocka_unit_test(test_lock_inc_two_vcpus_is_atomic),
	    cmocka_unit_test(test_relayout_beside_running_vcpu),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
