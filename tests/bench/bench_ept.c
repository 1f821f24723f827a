// SPDX-License-Identifier: MIT
/*
 * ept benchmark on the real /dev/kvm, tiny guests at CPL0, one invocation:
 *  - bare MMIO exit round trip (read of an unbacked GPA) vs a trapped valid
 *    read of an armed page checked by shadow/'s sanitizer and completed
 *    through the alias, and vs the same trap unjudged (what KVM's mechanism
 *    and ept's completion cost alone), per exact mechanism, interleaved
 *    rounds, medians, as ratios;
 *  - locked RMW on an armed page (single-step path), rep stosq per element;
 *  - arm + disarm cost per mechanism, the VM idle and while another vCPU
 *    runs (hole and read-only then pause it: memslots are replaced).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ept/ept.h"
#include "ept/tiny_vm.h"
#include "shadow/sanitizer.h"
#include "vmm/vm.h"

#define ROUNDS	   9
#define LOOP_N	   1000
#define ARM_N	   500
#define UNBACKED   0x800000
#define ARMED_PAGE 0x100000
#define OBJECT	   (ARMED_PAGE + 0x100) /* the real judge's object: 24 bytes, then red zone */
#define SPIN_CODE  0x400000		/* another memslot region than ARMED_PAGE's */
#define SPIN_FLAG  0x401000

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

/*
 * The real check: shadow/'s sanitizer over the tiny VM's RAM (identity-mapped,
 * so a GPA is also the guest address), holding one kmalloc-32 object on the
 * armed page whose red zone shares the page with the bytes the loop reads.
 */
struct real_judge {
	struct sanitizer *s;
	uint8_t *ram;
	uint64_t size;
	uint64_t judged, reported;
};

static bool rj_v2p(void *ctx, uint64_t gva, uint64_t *gpa)
{
	struct real_judge *j = ctx;

	*gpa = gva;
	return gva < j->size;
}

static bool rj_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct real_judge *j = ctx;

	if (gpa >= j->size || len > j->size - gpa)
		return false;
	memcpy(buf, j->ram + gpa, len);
	return true;
}

static bool rj_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct real_judge *j = ctx;

	if (gpa >= j->size || len > j->size - gpa)
		return false;
	memcpy(j->ram + gpa, buf, len);
	return true;
}

static void rj_report(void *ctx, const struct report_info *r)
{
	(void)r;
	((struct real_judge *)ctx)->reported++;
}

static enum ept_verdict sanitizer_judge(void *ctx, const struct ept_access *a)
{
	struct real_judge *j = ctx;
	struct sanitizer_access sa = {.cpu = a->vcpu, .ip = a->rip};

	j->judged++;
	return sanitizer_check_access(j->s, a->gpa, a->gpa, a->len, a->is_write, &sa)
		   ? EPT_REPORT_AND_COMPLETE
		   : EPT_ALLOW;
}

static int real_judge_init(struct real_judge *j, struct tiny_vm *t)
{
	struct shadow_ram_range ram = {0, t->size};
	struct sanitizer_config cfg = {.ram = &ram, .nr_ram = 1, .multi_shot = true};
	struct sanitizer_ops ops = {.ctx = j,
				    .virt_to_phys = rj_v2p,
				    .read_phys = rj_read,
				    .write_phys = rj_write,
				    .report = rj_report};
	struct shadow_event ev = {.kind = SHADOW_EV_CACHE_CREATE,
				  .cache_id = 1,
				  .size_req = 32,
				  .size_alloc = 64,
				  .freeptr_offset = UINT32_MAX,
				  .name = "kmalloc-32"};
	uint8_t v;

	*j = (struct real_judge){.ram = t->alias, .size = t->size};
	if (sanitizer_create(&j->s, &cfg, &ops))
		return -1;
	if (sanitizer_apply_event(j->s, &ev))
		return -1;
	ev = (struct shadow_event){.kind = SHADOW_EV_SLAB_ALLOC,
				   .cache_id = 1,
				   .addr = OBJECT,
				   .size_req = 24,
				   .size_alloc = 32};
	if (sanitizer_apply_event(j->s, &ev))
		return -1;
	/* checked and allowed: the read is valid, the page has poison past the object */
	if (!sanitizer_shadow_byte(j->s, OBJECT + 24, &v) || !v ||
	    !sanitizer_shadow_byte(j->s, OBJECT, &v) || v)
		return -1;
	return 0;
}

/* Counts judge calls, allows every access. */
static enum ept_verdict count_judge(void *ctx, const struct ept_access *a)
{
	(void)a;
	(*(uint64_t *)ctx)++;
	return EPT_ALLOW;
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

/* A tiny VM with ARMED_PAGE armed; judge NULL: every trap is allowed unjudged. */
static struct ept *make_ept(struct tiny_vm *t, enum ept_mechanism m,
			    enum ept_verdict (*judge)(void *, const struct ept_access *), void *ctx,
			    unsigned int vcpus)
{
	struct ept_config cfg;
	struct ept *ept = NULL;

	if (tiny_vm_create(t, kvm_fd, 8u << 20, vcpus))
		return NULL;
	tiny_vm_ept_config(t, &cfg);
	cfg.mechanism = m;
	cfg.judge = judge;
	cfg.judge_ctx = ctx;
	if (ept_create(&cfg, &ept) || ept_arm_page(ept, ARMED_PAGE)) {
		ept_destroy(ept);
		tiny_vm_destroy(t);
		return NULL;
	}
	return ept;
}

/*
 * The check alone, outside KVM: ns per sanitizer_judge() call on the same
 * valid access (a median of rounds; ept's mean per trap also counts host
 * preemptions, which on a loaded machine swamp a ~100 ns check).
 */
static uint64_t judge_alone_ns(struct real_judge *rj)
{
	struct kvm_regs regs = {.rip = TINY_VM_CODE};
	struct ept_access a = {.gpa = OBJECT, .len = 8, .rip = TINY_VM_CODE, .regs = &regs};
	uint64_t v[ROUNDS], judged = rj->judged;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < 10000; k++)
			sanitizer_judge(rj, &a);
		v[i] = (now_ns() - t0) / 10000;
	}
	rj->judged = judged; /* the count printed is the traps' */
	return median(v, ROUNDS);
}

/* ns in ept per allowed trap over one loop, from ept's own statistics */
static uint64_t loop_in_ept(struct tiny_vm *t, struct ept *ept, uint64_t *ns, uint64_t *traps)
{
	struct ept_stats s0, s1;
	uint64_t loop;

	ept_get_stats(ept, &s0);
	loop = run_loop(t, ept, read_loop, sizeof(read_loop), OBJECT, LOOP_N);
	ept_get_stats(ept, &s1);
	*ns += s1.trap_ns - s0.trap_ns;
	*traps += s1.traps_allowed - s0.traps_allowed;
	return loop;
}

/*
 * Per mechanism, interleaved so that all see the same host noise: the bare
 * MMIO exit; the same trap completed without a judge (KVM's cost of the
 * mechanism plus ept's completion); and with the real sanitizer's check, the
 * number the goal is about.
 */
static void bench_round_trip(enum ept_mechanism m)
{
	uint64_t base[ROUNDS], bare[ROUNDS], trap[ROUNDS], rmw[ROUNDS];
	uint64_t ns_bare = 0, n_bare = 0, ns_real = 0, n_real = 0;
	struct tiny_vm bt, nt, tt;
	struct real_judge rj;
	struct ept *unjudged, *ept;

	if (tiny_vm_create(&bt, kvm_fd, 8u << 20, 1) || tiny_vm_register_plain(&bt))
		return;
	unjudged = make_ept(&nt, m, NULL, NULL, 1);
	ept = make_ept(&tt, m, sanitizer_judge, &rj, 1);
	if (!unjudged || !ept || real_judge_init(&rj, &tt)) {
		fprintf(stderr, "bench_ept: %s: set-up failed\n", ept_mechanism_name(m));
		exit(1);
	}
	for (int i = 0; i < ROUNDS; i++) {
		base[i] = run_loop(&bt, NULL, read_loop, sizeof(read_loop), UNBACKED, LOOP_N);
		bare[i] = loop_in_ept(&nt, unjudged, &ns_bare, &n_bare);
		trap[i] = loop_in_ept(&tt, ept, &ns_real, &n_real);
		rmw[i] = run_loop(&tt, ept, lock_loop, sizeof(lock_loop), OBJECT, LOOP_N / 10);
	}
	if (rj.reported || !rj.judged || !median(base, ROUNDS)) {
		fprintf(stderr, "bench_ept: %s: %llu judged, %llu reported: not a valid access\n",
			ept_mechanism_name(m), (unsigned long long)rj.judged,
			(unsigned long long)rj.reported);
		exit(1);
	}
	printf("%-9s bare MMIO exit loop %6.2f us; trapped valid read: unjudged %6.2f us (ratio "
	       "%.3f), checked by the sanitizer %6.2f us: ratio %.3f (goal <= 1.15); in ept per "
	       "trap %llu ns unjudged, %llu ns checked\n",
	       ept_mechanism_name(m), median(base, ROUNDS) / 1e3, median(bare, ROUNDS) / 1e3,
	       (double)median(bare, ROUNDS) / (double)median(base, ROUNDS),
	       median(trap, ROUNDS) / 1e3,
	       (double)median(trap, ROUNDS) / (double)median(base, ROUNDS),
	       (unsigned long long)(n_bare ? ns_bare / n_bare : 0),
	       (unsigned long long)(n_real ? ns_real / n_real : 0));
	printf("%-9s locked RMW (single step) %6.2f us; %llu accesses checked, 0 reported; the "
	       "check alone %llu ns\n",
	       ept_mechanism_name(m), median(rmw, ROUNDS) / 1e3, (unsigned long long)rj.judged,
	       (unsigned long long)judge_alone_ns(&rj));
	sanitizer_destroy(rj.s);
	ept_destroy(ept);
	ept_destroy(unjudged);
	tiny_vm_destroy(&tt);
	tiny_vm_destroy(&nt);
	tiny_vm_destroy(&bt);
}

static void bench_stos(enum ept_mechanism m)
{
	struct kvm_regs r = {
	    .rip = TINY_VM_CODE, .rdi = ARMED_PAGE, .rcx = 512, .rsp = TINY_VM_STACK};
	uint64_t judged = 0, t0, plain;
	struct tiny_vm t;
	struct ept *ept = make_ept(&t, m, count_judge, &judged, 1);

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

struct spinner {
	struct tiny_vm *t;
	struct ept *ept;
	int exit;
};

/* vCPU 1 spins in another memslot region until SPIN_FLAG is set. */
static void *spin_vcpu(void *p)
{
	struct spinner *s = p;

	s->exit = tiny_vm_run(s->t, 1, s->ept);
	return NULL;
}

static bool start_spinner(struct spinner *s, pthread_t *th)
{
	/* loop: cmp qword [rdi], 0; je loop; hlt */
	static const uint8_t spin[] = {0x48, 0x83, 0x3f, 0x00, 0x74, 0xfa, 0xf4};
	struct kvm_regs r = {.rip = SPIN_CODE, .rdi = SPIN_FLAG, .rsp = TINY_VM_STACK - 0x1000};

	tiny_vm_put(s->t, SPIN_CODE, spin, sizeof(spin));
	return tiny_vm_set_regs(s->t, 1, &r) == 0 && pthread_create(th, NULL, spin_vcpu, s) == 0;
}

/* Arm + disarm with the VM idle, or (vcpus 2) while another vCPU runs guest code. */
static void bench_arm(enum ept_mechanism m, unsigned int vcpus)
{
	uint64_t t0, arm = 0, disarm = 0, one = 1;
	struct tiny_vm t;
	struct ept *ept = make_ept(&t, m, NULL, NULL, vcpus);
	struct spinner s = {&t, ept, -1};
	pthread_t th;

	if (!ept)
		return;
	ept_disarm_page(ept, ARMED_PAGE);
	if (vcpus > 1 && !start_spinner(&s, &th)) {
		fprintf(stderr, "bench_ept: spinning vCPU: set-up failed\n");
		exit(1);
	}
	for (int i = 0; i < ARM_N; i++) {
		uint64_t gpa = ARMED_PAGE + (uint64_t)(i % 64) * 4096;

		t0 = now_ns();
		ept_arm_page(ept, gpa);
		arm += now_ns() - t0;
		t0 = now_ns();
		ept_disarm_page(ept, gpa);
		disarm += now_ns() - t0;
	}
	if (vcpus > 1) {
		tiny_vm_put(&t, SPIN_FLAG, &one, sizeof(one));
		pthread_join(th, NULL);
	}
	printf("%-9s arm %.2f us, disarm %.2f us (memslots of %llu KiB; %s)\n",
	       ept_mechanism_name(m), arm / (double)ARM_N / 1e3, disarm / (double)ARM_N / 1e3,
	       (unsigned long long)(ept_slot_size(ept) >> 10),
	       vcpus == 1		? "1 vCPU, not running"
	       : s.exit == KVM_EXIT_HLT ? "another vCPU running"
					: "another vCPU running: it FAILED");
	ept_destroy(ept);
	tiny_vm_destroy(&t);
}

int main(void)
{
	struct ept_probe_result p;
	struct host_probe hp = {0};

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
			bench_round_trip((enum ept_mechanism)m);
	}
	for (int m = EPT_MECH_MPROTECT; m < EPT_MECH_NR; m++) {
		if (p.exact_write[m]) {
			bench_stos((enum ept_mechanism)m);
			bench_arm((enum ept_mechanism)m, 1);
			bench_arm((enum ept_mechanism)m, 2);
		}
	}
	close(kvm_fd);
	return 0;
}
