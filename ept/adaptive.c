// SPDX-License-Identifier: MIT
/*
 * Trap-time accounting and the ADAPTIVE policy. Each vCPU measures the time
 * its traps take (handler time plus one bare exit round trip) against the
 * wall time of a window; when a window ends over budget, the pages that
 * trapped most are disarmed until the estimated excess is gone, each with an
 * exponential backoff before it is armed again (if still poisoned).
 *
 * Lock order: heat_lock, then ept->lock.
 */
#include <stdlib.h>

#include "ept/ept_internal.h"

#define WINDOW_NS     (20ull * 1000 * 1000)
#define BACKOFF_NS    (50ull * 1000 * 1000)
#define MAX_LEVEL     9 /* 50 ms << 9 = 25.6 s */
#define PROBES	      32
#define LOG_PERIOD_NS 1000000000ull

static struct ept_heat *heat_find(struct ept *ept, uint64_t page, bool insert)
{
	uint64_t key = page + 1;
	size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 54) % EPT_HEAT_SLOTS;
	struct ept_heat *reuse = NULL;

	for (unsigned int i = 0; i < PROBES; i++) {
		struct ept_heat *e = &ept->heat[(h + i) % EPT_HEAT_SLOTS];

		if (e->page == key)
			return e;
		if (!e->page || (!e->traps && !e->rearm_ns && !reuse))
			reuse = reuse ? reuse : e;
		if (!e->page)
			break;
	}
	if (!insert || !reuse)
		return NULL;
	*reuse = (struct ept_heat){.page = key};
	return reuse;
}

bool ept_heat_backing_off(struct ept *ept, uint64_t page, uint64_t now)
{
	struct ept_heat *e;
	bool off;

	pthread_mutex_lock(&ept->heat_lock);
	e = heat_find(ept, page, false);
	off = e && e->rearm_ns > now;
	pthread_mutex_unlock(&ept->heat_lock);
	return off;
}

static void rearm_due(struct ept *ept, uint64_t now)
{
	for (unsigned int i = 0; i < EPT_HEAT_SLOTS; i++) {
		struct ept_heat *e = &ept->heat[i];
		uint64_t page = e->page - 1;

		if (!e->page || !e->rearm_ns || e->rearm_ns > now)
			continue;
		e->rearm_ns = 0;
		pthread_mutex_lock(&ept->lock);
		if (ept_bit(ept->poisoned, page) && ept_arm_locked(ept, page, true) == 0)
			atomic_fetch_add(&ept->st.heat_rearms, 1);
		pthread_mutex_unlock(&ept->lock);
	}
}

static int hotter_first(const void *a, const void *b)
{
	const struct ept_heat *x = *(struct ept_heat *const *)a, *y = *(struct ept_heat *const *)b;

	return x->traps < y->traps ? 1 : x->traps > y->traps ? -1 : 0;
}

/* Disarm the hottest pages until about `excess_ns` of trap time per window is gone. */
static unsigned int cool_down(struct ept *ept, int64_t excess_ns, uint64_t per_trap_ns,
			      uint64_t now)
{
	struct ept_heat *hot[EPT_HEAT_SLOTS];
	unsigned int n = 0, done = 0;

	for (unsigned int i = 0; i < EPT_HEAT_SLOTS; i++) {
		if (ept->heat[i].page && ept->heat[i].traps)
			hot[n++] = &ept->heat[i];
	}
	qsort(hot, n, sizeof(hot[0]), hotter_first);
	for (unsigned int i = 0; i < n && excess_ns > 0; i++) {
		struct ept_heat *e = hot[i];
		uint64_t page = e->page - 1;

		pthread_mutex_lock(&ept->lock);
		if (ept_armed_bit(ept, page) && ept_arm_locked(ept, page, false) == 0) {
			e->rearm_ns = now + (BACKOFF_NS << e->level);
			if (e->level < MAX_LEVEL)
				e->level++;
			atomic_fetch_add(&ept->st.heat_disarms, 1);
			done++;
		}
		pthread_mutex_unlock(&ept->lock);
		excess_ns -= (int64_t)(e->traps * per_trap_ns);
	}
	return done;
}

static void window_end(struct ept *ept, struct ept_vcpu *v, unsigned int vcpu, uint64_t now)
{
	uint64_t elapsed = now - v->window_start_ns;
	uint64_t budget_ns = elapsed * ept->cfg.budget_permille / 1000;

	if (v->window_trap_ns > budget_ns && v->window_traps) {
		uint64_t pm = v->window_trap_ns * 1000 / elapsed;
		unsigned int n = cool_down(ept, (int64_t)(v->window_trap_ns - budget_ns),
					   v->window_trap_ns / v->window_traps, now);

		/* warn level: the user asked for coverage and is losing some (rate-limited) */
		if (n && now - ept->last_heat_log_ns >= LOG_PERIOD_NS) {
			ept->last_heat_log_ns = now;
			ept_log(ept, 1,
				"ept: adaptive: vCPU %u spent %llu.%llu%% of its time in traps "
				"(budget %u.%u%%): disarmed %u hot pages for a while",
				vcpu, (unsigned long long)(pm / 10), (unsigned long long)(pm % 10),
				ept->cfg.budget_permille / 10, ept->cfg.budget_permille % 10, n);
		}
	}
	for (unsigned int i = 0; i < EPT_HEAT_SLOTS; i++)
		ept->heat[i].traps = 0;
	v->window_start_ns = now;
	v->window_trap_ns = 0;
	v->window_traps = 0;
	rearm_due(ept, now);
}

void ept_heat_trap(struct ept *ept, struct ept_vcpu *v, uint64_t page, uint64_t t0, uint64_t t1)
{
	uint64_t dt = t1 - t0 + ept->exit_ns;
	struct ept_heat *e;

	atomic_fetch_add(&ept->st.trap_ns, t1 - t0);
	if (ept->cfg.policy != EPT_POLICY_ADAPTIVE)
		return;
	if (!v->window_start_ns)
		v->window_start_ns = t0;
	v->window_trap_ns += dt;
	v->window_traps++;
	pthread_mutex_lock(&ept->heat_lock);
	e = heat_find(ept, page, true);
	if (e)
		e->traps++;
	if (t1 - v->window_start_ns >= WINDOW_NS)
		window_end(ept, v, (unsigned int)(v - ept->vcpus), t1);
	pthread_mutex_unlock(&ept->heat_lock);
}

void ept_tick(struct ept *ept, uint64_t now_ns)
{
	if (!ept)
		return;
	ept_native_expire(ept, now_ns);
	if (ept->cfg.policy != EPT_POLICY_ADAPTIVE)
		return;
	pthread_mutex_lock(&ept->heat_lock);
	rearm_due(ept, now_ns);
	pthread_mutex_unlock(&ept->heat_lock);
}
