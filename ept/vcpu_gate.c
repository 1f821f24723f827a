// SPDX-License-Identifier: MIT
/*
 * Keeping the other vCPUs out of KVM_RUN while memslots are replaced.
 *
 * KVM cannot change a memslot's extent in place: a relayout deletes slots and
 * creates new ones, and meanwhile the rest of the region has no memslot. A
 * vCPU running then faults on an instruction fetch or page walk there (data
 * accesses become MMIO exits, which ept completes). So the hole and read-only
 * mechanisms close a gate around each relayout: vCPU threads check it before
 * KVM_RUN, and running vCPUs are kicked out and waited for. Only "outside
 * KVM_RUN" is waited for, not "parked at the gate": a vCPU busy handling an
 * exit (perhaps blocked on ept->lock, held by the closer) is already safe.
 *
 * Ordering: a vCPU sets in_run then reads gate_closed; the closer sets
 * gate_closed then reads in_run (both seq_cst), so at least one sees the
 * other. mprotect needs none of this: a changed protection is atomic for the
 * other vCPUs' view.
 */
#include <errno.h>
#include <time.h>

#include "ept/ept_internal.h"

#define GATE_REKICK_NS 20000000ull /* a vCPU not out by then is kicked again */
#define GATE_WARN_NS   1000000000ull

static bool gate_used(const struct ept *ept)
{
	return ept->mech != EPT_MECH_MPROTECT && ept->cfg.nr_vcpus > 1 && ept->cfg.kick_vcpu;
}

int ept_gate_init(struct ept *ept)
{
	pthread_condattr_t attr;
	int err;

	pthread_mutex_init(&ept->gate_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	err = pthread_cond_init(&ept->gate_cond, &attr);
	pthread_condattr_destroy(&attr);
	return -err;
}

void ept_gate_destroy(struct ept *ept)
{
	pthread_cond_destroy(&ept->gate_cond);
	pthread_mutex_destroy(&ept->gate_lock);
}

/* Index of a vCPU still inside KVM_RUN, or nr_vcpus. */
static unsigned int running_vcpu(const struct ept *ept)
{
	for (unsigned int i = 0; i < ept->cfg.nr_vcpus; i++) {
		if (atomic_load(&ept->vcpus[i].in_run))
			return i;
	}
	return ept->cfg.nr_vcpus;
}

static void kick_running(struct ept *ept)
{
	for (unsigned int i = 0; i < ept->cfg.nr_vcpus; i++) {
		if (atomic_load(&ept->vcpus[i].in_run))
			ept->cfg.kick_vcpu(ept->cfg.kick_ctx, i);
	}
}

static struct timespec deadline_in(uint64_t ns)
{
	uint64_t t = ept_now_ns() + ns;

	return (struct timespec){.tv_sec = (time_t)(t / 1000000000ull),
				 .tv_nsec = (long)(t % 1000000000ull)};
}

/* Returns once no vCPU is in KVM_RUN; none enters until ept_gate_open(). Holds ept->lock. */
void ept_gate_close(struct ept *ept)
{
	uint64_t t0, waited = 0;
	bool warned = false, held;

	if (!gate_used(ept))
		return;
	t0 = ept_now_ns();
	atomic_store(&ept->gate_closed, true);
	held = running_vcpu(ept) < ept->cfg.nr_vcpus; /* else nothing to wait for: a cheap close */
	kick_running(ept);
	pthread_mutex_lock(&ept->gate_lock);
	while (running_vcpu(ept) < ept->cfg.nr_vcpus) {
		struct timespec until = deadline_in(GATE_REKICK_NS);

		if (pthread_cond_timedwait(&ept->gate_cond, &ept->gate_lock, &until) != ETIMEDOUT)
			continue;
		/* a kick is not lost (immediate_exit stays set), but a VMM may clear it early */
		kick_running(ept);
		waited = ept_now_ns() - t0;
		if (waited > GATE_WARN_NS && !warned) {
			ept_log(ept, 1, "ept: vCPU %u still in KVM_RUN after %llu ms of kicks",
				running_vcpu(ept), (unsigned long long)(waited / 1000000));
			warned = true;
		}
	}
	pthread_mutex_unlock(&ept->gate_lock);
	atomic_fetch_add(&ept->st.pauses, 1);
	if (held)
		atomic_fetch_add(&ept->st.pauses_held, 1);
	atomic_fetch_add(&ept->st.pause_ns, ept_now_ns() - t0);
}

void ept_gate_open(struct ept *ept)
{
	if (!gate_used(ept))
		return;
	pthread_mutex_lock(&ept->gate_lock);
	atomic_store(&ept->gate_closed, false);
	pthread_cond_broadcast(&ept->gate_cond);
	pthread_mutex_unlock(&ept->gate_lock);
}

void ept_vcpu_leave(struct ept *ept, unsigned int vcpu)
{
	if (vcpu >= ept->cfg.nr_vcpus)
		return;
	atomic_store(&ept->vcpus[vcpu].in_run, false);
	if (atomic_load(&ept->gate_closed)) {
		pthread_mutex_lock(&ept->gate_lock);
		pthread_cond_broadcast(&ept->gate_cond); /* the closer may wait for this one */
		pthread_mutex_unlock(&ept->gate_lock);
	}
}

void ept_vcpu_enter(struct ept *ept, unsigned int vcpu)
{
	if (vcpu >= ept->cfg.nr_vcpus)
		return;
	for (;;) {
		atomic_store(&ept->vcpus[vcpu].in_run, true);
		if (!atomic_load(&ept->gate_closed))
			return;
		ept_vcpu_leave(ept, vcpu);
		pthread_mutex_lock(&ept->gate_lock);
		while (atomic_load(&ept->gate_closed))
			pthread_cond_wait(&ept->gate_cond, &ept->gate_lock);
		pthread_mutex_unlock(&ept->gate_lock);
	}
}
