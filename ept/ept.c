// SPDX-License-Identifier: MIT
/* ept: creation (probe, mechanism choice, memslots), logging, statistics. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "ept/ept_internal.h"

static const char *const mech_names[EPT_MECH_NR] = {
    [EPT_MECH_AUTO] = "auto",
    [EPT_MECH_MPROTECT] = "mprotect",
    [EPT_MECH_HOLE] = "hole",
    [EPT_MECH_READONLY] = "readonly",
};

const char *ept_mechanism_name(enum ept_mechanism m)
{
	return (unsigned int)m < EPT_MECH_NR ? mech_names[m] : "?";
}

void ept_log(struct ept *ept, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ept->cfg.log)
		ept->cfg.log(ept->cfg.log_ctx, level, msg);
	else if (level <= 1)
		fprintf(stderr, "kasan-vmm: %s\n", msg);
}

uint64_t ept_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ept_gpa_to_page(const struct ept *ept, uint64_t gpa)
{
	for (unsigned int i = 0; i < ept->cfg.nr_ranges; i++) {
		const struct ept_ram_range *r = &ept->cfg.ranges[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return (r->offset + (gpa - r->gpa)) >> EPT_PAGE_SHIFT;
	}
	return UINT64_MAX;
}

static int check_config(const struct ept_config *cfg)
{
	if (!cfg->kvm_map || !cfg->alias || !cfg->nr_ranges || cfg->nr_ranges > EPT_MAX_RANGES ||
	    !cfg->nr_vcpus || cfg->mechanism >= EPT_MECH_NR)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_ranges; i++) {
		const struct ept_ram_range *r = &cfg->ranges[i];

		if ((r->gpa | r->size | r->offset) & (EPT_PAGE_SIZE - 1) || !r->size)
			return -EINVAL;
		if (i && r->offset < cfg->ranges[i - 1].offset + cfg->ranges[i - 1].size)
			return -EINVAL; /* sorted by offset, no overlap */
	}
	return 0;
}

static int alloc_state(struct ept *ept)
{
	const struct ept_ram_range *last = &ept->cfg.ranges[ept->cfg.nr_ranges - 1];
	size_t words;

	ept->nr_pages = (last->offset + last->size) >> EPT_PAGE_SHIFT;
	words = (ept->nr_pages + 63) / 64;
	ept->armed = calloc(words, sizeof(*ept->armed));
	ept->prot = calloc(words, sizeof(uint64_t));
	ept->poisoned = calloc(words, sizeof(uint64_t));
	ept->vcpus = calloc(ept->cfg.nr_vcpus, sizeof(*ept->vcpus));
	if (!ept->armed || !ept->prot || !ept->poisoned || !ept->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < ept->cfg.nr_vcpus; i++)
		ept->vcpus[i].code_gpa = UINT64_MAX;
	return 0;
}

/* Single steps keep interrupts out when KVM can, so the step runs the trapped instruction. */
static void choose_debug_flags(struct ept *ept)
{
	int dbg2 = ioctl(ept->cfg.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);

	ept->debug_flags = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if (dbg2 > 0 && (dbg2 & KVM_GUESTDBG_BLOCKIRQ))
		ept->debug_flags |= KVM_GUESTDBG_BLOCKIRQ;
}

/*
 * Without this cap KVM answers an emulation failure in guest user mode with
 * a #UD into the guest (hardware-virtualization hosts), so an unemulatable
 * user access to an armed page would kill the guest program instead of
 * reaching ept. kvm_pvm exits to userspace either way.
 */
bool ept_exit_on_emulation_failure(int kvm_fd, int vm_fd)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = {1}};

	return ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0 &&
	       ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
}

int ept_create(const struct ept_config *cfg, struct ept **out)
{
	struct ept *ept;
	int ret = check_config(cfg);

	*out = NULL;
	if (ret)
		return ret;
	ept = calloc(1, sizeof(*ept));
	if (!ept)
		return -ENOMEM;
	ept->cfg = *cfg;
	if (!ept->cfg.sample_n)
		ept->cfg.sample_n = 8;
	if (!ept->cfg.budget_permille)
		ept->cfg.budget_permille = 50;
	pthread_mutex_init(&ept->lock, NULL);
	pthread_mutex_init(&ept->heat_lock, NULL);
	pthread_mutex_init(&ept->native_lock, NULL);
	ret = ept_gate_init(ept);
	if (!ret)
		ret = alloc_state(ept);
	if (!ret)
		ret = ept_choose_mechanism(ept);
	if (!ret)
		ret = ept_slots_init(ept);
	if (ret) {
		ept_log(ept, 0, "ept: set-up failed: %s", strerror(-ret));
		ept_destroy(ept);
		return ret;
	}
	choose_debug_flags(ept);
	ept_log(ept, 2,
		"ept: %s mechanism, %u memslots of %llu KiB for guest RAM (cap %d), "
		"registers %s with exits",
		ept_mechanism_name(ept->mech), ept->nr_regions,
		(unsigned long long)(ept->slot_size >> 10), ept->slot_cap,
		ept->sync_regs ? "synced" : "fetched");
	*out = ept;
	return 0;
}

void ept_destroy(struct ept *ept)
{
	if (!ept)
		return;
	ept_slots_destroy(ept);
	free(ept->armed);
	free(ept->prot);
	free(ept->poisoned);
	free(ept->vcpus);
	pthread_mutex_destroy(&ept->lock);
	pthread_mutex_destroy(&ept->heat_lock);
	pthread_mutex_destroy(&ept->native_lock);
	ept_gate_destroy(ept);
	free(ept);
}

enum ept_mechanism ept_mechanism(const struct ept *ept)
{
	return ept->mech;
}

uint64_t ept_slot_size(const struct ept *ept)
{
	return ept->slot_size;
}

void ept_vcpu_init(struct ept *ept, unsigned int vcpu, struct kvm_run *run)
{
	if (vcpu >= ept->cfg.nr_vcpus)
		return;
	ept->vcpus[vcpu].run = run;
	if (ept->sync_regs)
		run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
}

void ept_get_stats(struct ept *ept, struct ept_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->pages_armed = atomic_load(&ept->st.pages_armed);
	s->arms = atomic_load(&ept->st.arms);
	s->disarms = atomic_load(&ept->st.disarms);
	s->arm_failures = atomic_load(&ept->st.arm_failures);
	s->heat_disarms = atomic_load(&ept->st.heat_disarms);
	s->heat_rearms = atomic_load(&ept->st.heat_rearms);
	s->traps_allowed = atomic_load(&ept->st.allowed);
	s->traps_reported = atomic_load(&ept->st.reported);
	s->traps_stopped = atomic_load(&ept->st.stopped);
	s->traps_stale = atomic_load(&ept->st.stale);
	s->traps_stepped = atomic_load(&ept->st.stepped);
	s->traps_fetch = atomic_load(&ept->st.fetch);
	s->rmw_traps = atomic_load(&ept->st.rmw);
	s->undecoded_steps = atomic_load(&ept->st.undecoded);
	s->traps_native = atomic_load(&ept->st.native);
	s->trap_ns = atomic_load(&ept->st.trap_ns);
	s->pauses = atomic_load(&ept->st.pauses);
	s->pauses_held = atomic_load(&ept->st.pauses_held);
	s->pause_ns = atomic_load(&ept->st.pause_ns);
	pthread_mutex_lock(&ept->lock);
	s->memslots = ept_slots_in_use(ept);
	pthread_mutex_unlock(&ept->lock);
}

void ept_print_coverage(struct ept *ept, FILE *out)
{
	static const char *const policy[] = {"all", "freed", "sampled", "adaptive"};
	struct ept_stats s;

	ept_get_stats(ept, &s);
	fprintf(out,
		"ept coverage (%s, arm=%s): pages armed now %llu, arms %llu, disarms %llu, "
		"arm failures %llu, disarmed for heat %llu (re-armed %llu); traps: allowed %llu, "
		"reported %llu, stopped %llu, stale %llu, single-stepped %llu (locked rmw %llu, "
		"undecoded %llu), fetch %llu, not emulatable (unjudged) %llu; %.3f ms in traps; "
		"other vCPUs paused for %llu relayouts (%.3f ms)\n",
		ept_mechanism_name(ept->mech), policy[ept->cfg.policy & 3],
		(unsigned long long)s.pages_armed, (unsigned long long)s.arms,
		(unsigned long long)s.disarms, (unsigned long long)s.arm_failures,
		(unsigned long long)s.heat_disarms, (unsigned long long)s.heat_rearms,
		(unsigned long long)s.traps_allowed, (unsigned long long)s.traps_reported,
		(unsigned long long)s.traps_stopped, (unsigned long long)s.traps_stale,
		(unsigned long long)s.traps_stepped, (unsigned long long)s.rmw_traps,
		(unsigned long long)s.undecoded_steps, (unsigned long long)s.traps_fetch,
		(unsigned long long)s.traps_native, s.trap_ns / 1e6, (unsigned long long)s.pauses,
		s.pause_ns / 1e6);
}
