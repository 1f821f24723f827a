// SPDX-License-Identifier: MIT
/*
 * ept benchmark on the real /dev/kvm, tiny guests at CPL0, one invocation:
 *  - bare MMIO exit round trip (read of an unbacked GPA) vs a trapped valid
 *    read of an armed page completed through the alias with a trivial judge,
 *    per exact mechanism, interleaved rounds, medians, as a ratio;
 *  - locked RMW on an armed page (single-step path), rep stosq per element;
 *  - arm + disarm cost per mechanism (vCPU not running).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ept/ept.h"
#include "ept/tiny_vm.h"
#include "vmm/vm.h"

#define ROUNDS	   9
#define LOOP_N	   1000
#define ARM_N	   500
#define UNBACKED   0x800000
#define ARMED_PAGE 0x100000

/* loop: <4-byte access at [rsi]>; dec rcx; jnz loop; hlt */
static const uint8_t read_loop[] = {0x48, 0x8b, 0x06, 0x90, 0x48, 0xff, 0xc9, 0x75, 0xf7, 0xf4};
static const uint8_t lock_loop[] = {0xf0, 0x48, 0xff, 0x06, 0x48, 0xff, 0xc9, 0x75, 0xf7, 0xf4};
static const uint8_t stos_code[] = {0xf3, 0x48, 0xab, 0xf4};

static int kvm_fd;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum ept_verdict trivial_judge(void *ctx, const struct ept_access *a)
{
	uint64_t *n = ctx;

	(*n)++;
	return a->len ? EPT_ALLOW : EPT_REPORT_AND_COMPLETE;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* ns per iteration of `code` (LOOP_N iterations) with rsi = data. */
static uint64_t run_loop(struct tiny_vm *t, struct ept *ept, const uint8_t *code, size_t len,
			 uint64_t data, uint64_t n)
{
	struct kvm_regs r = {
	    .rip = TINY_VM_CODE, .rsi = data, .rdi = data, .rcx = n, .rsp = TINY_VM_STACK};
	uint64_t t0;

	tiny_vm_put(t, TINY_VM_CODE, code, len);
	if (tiny_vm_set_regs(t, 0, &r))
		return 0;
	t0 = now_ns();
	if (ept) {
		if (tiny_vm_run(t, 0, ept) != KVM_EXIT_HLT)
			return 0;
		return (now_ns() - t0) / n;
	}
	/* The baseline: the VMM's own minimal MMIO handling (a floating read). */
	while (ioctl(t->vcpu_fd[0], KVM_RUN, 0) == 0 && t->run[0]->exit_reason == KVM_EXIT_MMIO)
		memset(t->run[0]->mmio.data, 0xff, sizeof(t->run[0]->mmio.data));
	if (t->run[0]->exit_reason != KVM_EXIT_HLT)
		return 0;
	return (now_ns() - t0) / n;
}

static struct ept *make_ept(struct tiny_vm *t, enum ept_mechanism m, uint64_t *judged)
{
	struct ept_config cfg;
	struct ept *ept = NULL;

	if (tiny_vm_create(t, kvm_fd, 8u << 20, 1))
		return NULL;
	tiny_vm_ept_config(t, &cfg);
	cfg.mechanism = m;
	cfg.judge = trivial_judge;
	cfg.judge_ctx = judged;
	if (ept_create(&cfg, &ept) || ept_arm_page(ept, ARMED_PAGE)) {
		ept_destroy(ept);
		tiny_vm_destroy(t);
		return NULL;
	}
	return ept;
}

static void bench_round_trip(enum ept_mechanism m, uint64_t *base_out)
{
	uint64_t base[ROUNDS], trap[ROUNDS], rmw[ROUNDS], judged = 0;
	struct ept_stats st, s0;
	uint64_t read_ns = 0, reads = 0;
	struct tiny_vm bt, tt;
	struct ept *ept;

	if (tiny_vm_create(&bt, kvm_fd, 8u << 20, 1) || tiny_vm_register_plain(&bt))
		return;
	ept = make_ept(&tt, m, &judged);
	if (!ept) {
		tiny_vm_destroy(&bt);
		return;
	}
	for (int i = 0; i < ROUNDS; i++) { /* interleaved: both see the same host noise */
		base[i] = run_loop(&bt, NULL, read_loop, sizeof(read_loop), UNBACKED, LOOP_N);
		ept_get_stats(ept, &s0);
		trap[i] = run_loop(&tt, ept, read_loop, sizeof(read_loop), ARMED_PAGE, LOOP_N);
		ept_get_stats(ept, &st);
		read_ns += st.trap_ns - s0.trap_ns;
		reads += st.traps_allowed - s0.traps_allowed;
		rmw[i] = run_loop(&tt, ept, lock_loop, sizeof(lock_loop), ARMED_PAGE, LOOP_N / 10);
	}
	*base_out = median(base, ROUNDS);
	printf("%-9s bare MMIO exit loop %6.2f us, trapped valid read loop %6.2f us: ratio %.3f "
	       "(goal <= 1.15); locked RMW (single step) %6.2f us; %llu judged, %llu ns in ept per "
	       "read trap\n",
	       ept_mechanism_name(m), *base_out / 1e3, median(trap, ROUNDS) / 1e3,
	       (double)median(trap, ROUNDS) / (double)*base_out, median(rmw, ROUNDS) / 1e3,
	       (unsigned long long)judged, (unsigned long long)(reads ? read_ns / reads : 0));
	ept_destroy(ept);
	tiny_vm_destroy(&tt);
	tiny_vm_destroy(&bt);
}

static void bench_stos(enum ept_mechanism m)
{
	struct kvm_regs r = {
	    .rip = TINY_VM_CODE, .rdi = ARMED_PAGE, .rcx = 512, .rsp = TINY_VM_STACK};
	uint64_t judged = 0, t0, plain;
	struct tiny_vm t;
	struct ept *ept = make_ept(&t, m, &judged);

	if (!ept)
		return;
	tiny_vm_put(&t, TINY_VM_CODE, stos_code, sizeof(stos_code));
	ept_disarm_page(ept, ARMED_PAGE);
	tiny_vm_set_regs(&t, 0, &r);
	t0 = now_ns();
	tiny_vm_run(&t, 0, ept);
	plain = now_ns() - t0;
	ept_arm_page(ept, ARMED_PAGE);
	tiny_vm_set_regs(&t, 0, &r);
	t0 = now_ns();
	tiny_vm_run(&t, 0, ept);
	printf("%-9s rep stosq over a whole page: %.2f us per element armed, %.2f us unarmed "
	       "(%llu exits)\n",
	       ept_mechanism_name(m), (now_ns() - t0) / 512.0 / 1e3, plain / 512.0 / 1e3,
	       (unsigned long long)judged);
	ept_destroy(ept);
	tiny_vm_destroy(&t);
}

static void bench_arm(enum ept_mechanism m)
{
	uint64_t judged = 0, t0, arm = 0, disarm = 0;
	struct tiny_vm t;
	struct ept *ept = make_ept(&t, m, &judged);

	if (!ept)
		return;
	ept_disarm_page(ept, ARMED_PAGE);
	for (int i = 0; i < ARM_N; i++) {
		uint64_t gpa = ARMED_PAGE + (uint64_t)(i % 64) * 4096;

		t0 = now_ns();
		ept_arm_page(ept, gpa);
		arm += now_ns() - t0;
		t0 = now_ns();
		ept_disarm_page(ept, gpa);
		disarm += now_ns() - t0;
	}
	printf("%-9s arm %.2f us, disarm %.2f us (memslots of %llu KiB)\n", ept_mechanism_name(m),
	       arm / (double)ARM_N / 1e3, disarm / (double)ARM_N / 1e3,
	       (unsigned long long)(ept_slot_size(ept) >> 10));
	ept_destroy(ept);
	tiny_vm_destroy(&t);
}

int main(void)
{
	struct ept_probe_result p;
	struct host_probe hp = {0};
	uint64_t base = 0;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0 || host_probe_run(kvm_fd, &hp) || ept_probe_mechanisms(kvm_fd, &p)) {
		perror("bench_ept: /dev/kvm");
		return 1;
	}
	printf("ept bench: host %s, guest CPL0 %s; exact: mprotect %d/%d hole %d/%d readonly "
	       "write %d\n",
	       hp.kind, hp.cpl0_emulated ? "emulated" : "native", p.exact_read[1], p.exact_write[1],
	       p.exact_read[2], p.exact_write[2], p.exact_write[3]);
	for (int m = EPT_MECH_MPROTECT; m <= EPT_MECH_HOLE; m++) {
		if (p.exact_read[m] && p.exact_write[m])
			bench_round_trip((enum ept_mechanism)m, &base);
	}
	for (int m = EPT_MECH_MPROTECT; m < EPT_MECH_NR; m++) {
		if (p.exact_write[m]) {
			bench_stos((enum ept_mechanism)m);
			bench_arm((enum ept_mechanism)m);
		}
	}
	close(kvm_fd);
	return 0;
}
