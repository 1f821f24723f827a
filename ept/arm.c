// SPDX-License-Identifier: MIT
/*
 * Which pages are armed. `armed` is what the policy wants (read lock-free by
 * the trap path); a page is protected through KVM when it is armed and not
 * suspended (briefly opened for a single step). One mutex orders all changes.
 */
#include <errno.h>

#include "ept/ept_internal.h"

static bool suspended(const struct ept *ept, uint64_t page)
{
	for (unsigned int i = 0; i < EPT_SUSPEND_MAX; i++) {
		if (ept->suspended[i].count && ept->suspended[i].page == page)
			return true;
	}
	return false;
}

static int apply(struct ept *ept, uint64_t page)
{
	bool want = ept_armed_bit(ept, page) && !suspended(ept, page);

	return ept_slots_protect(ept, page, want);
}

static void set_armed_bit(struct ept *ept, uint64_t page, bool on)
{
	uint64_t bit = 1ull << (page % 64);

	if (on)
		atomic_fetch_or_explicit(&ept->armed[page / 64], bit, memory_order_release);
	else
		atomic_fetch_and_explicit(&ept->armed[page / 64], ~bit, memory_order_release);
}

/* Caller holds ept->lock. */
int ept_arm_locked(struct ept *ept, uint64_t page, bool arm)
{
	int ret;

	if (ept_armed_bit(ept, page) == arm)
		return 0;
	set_armed_bit(ept, page, arm);
	ret = apply(ept, page);
	if (ret && arm) {
		set_armed_bit(ept, page, false);
		atomic_fetch_add(&ept->st.arm_failures, 1);
		return ret;
	}
	atomic_fetch_add(arm ? &ept->st.arms : &ept->st.disarms, 1);
	if (arm)
		atomic_fetch_add(&ept->st.pages_armed, 1);
	else
		atomic_fetch_sub(&ept->st.pages_armed, 1);
	return ret;
}

static int arm_gpa(struct ept *ept, uint64_t gpa, bool arm)
{
	uint64_t page = ept_gpa_to_page(ept, gpa);
	int ret;

	if (page == UINT64_MAX)
		return -EINVAL;
	pthread_mutex_lock(&ept->lock);
	ret = ept_arm_locked(ept, page, arm);
	pthread_mutex_unlock(&ept->lock);
	return ret;
}

int ept_arm_page(struct ept *ept, uint64_t gpa)
{
	return arm_gpa(ept, gpa, true);
}

int ept_disarm_page(struct ept *ept, uint64_t gpa)
{
	return arm_gpa(ept, gpa, false);
}

bool ept_page_armed(const struct ept *ept, uint64_t gpa)
{
	uint64_t page = ept_gpa_to_page(ept, gpa);

	return page != UINT64_MAX && ept_armed_bit(ept, page);
}

/* Open an armed page for a single step; nests. */
void ept_suspend_page(struct ept *ept, uint64_t page)
{
	unsigned int free_slot = EPT_SUSPEND_MAX;

	pthread_mutex_lock(&ept->lock);
	for (unsigned int i = 0; i < EPT_SUSPEND_MAX; i++) {
		if (ept->suspended[i].count && ept->suspended[i].page == page) {
			ept->suspended[i].count++;
			pthread_mutex_unlock(&ept->lock);
			return;
		}
		if (!ept->suspended[i].count && free_slot == EPT_SUSPEND_MAX)
			free_slot = i;
	}
	if (free_slot < EPT_SUSPEND_MAX) {
		ept->suspended[free_slot].page = page;
		ept->suspended[free_slot].count = 1;
		apply(ept, page);
	}
	pthread_mutex_unlock(&ept->lock);
}

void ept_resume_page(struct ept *ept, uint64_t page)
{
	pthread_mutex_lock(&ept->lock);
	for (unsigned int i = 0; i < EPT_SUSPEND_MAX; i++) {
		if (ept->suspended[i].count && ept->suspended[i].page == page) {
			if (--ept->suspended[i].count == 0)
				apply(ept, page);
			break;
		}
	}
	pthread_mutex_unlock(&ept->lock);
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Whether the policy arms a page that just became poisoned for `why`. */
static bool policy_arms(struct ept *ept, uint64_t page, enum ept_poison_reason why)
{
	switch (ept->cfg.policy) {
	case EPT_POLICY_FREED:
		return why == EPT_POISON_FREED;
	case EPT_POLICY_SAMPLED:
		/* Stable per page: a sampled page stays covered for the whole run. */
		return mix64(page ^ ept->cfg.sample_seed) % ept->cfg.sample_n == 0;
	case EPT_POLICY_ADAPTIVE:
		return !ept_heat_backing_off(ept, page, ept_now_ns());
	case EPT_POLICY_ALL:
	default:
		return true;
	}
}

/*
 * `why` is the page's state now: FREED if it holds any freed granule, else
 * REDZONE. Under FREED a page that drops to redzones only is disarmed.
 */
void ept_page_poisoned(struct ept *ept, uint64_t gpa, enum ept_poison_reason why)
{
	uint64_t page = ept_gpa_to_page(ept, gpa);
	bool arm;

	if (page == UINT64_MAX)
		return;
	/* every slab free on a poisoned page comes here: an armed page stays as it is */
	if (why == EPT_POISON_FREED && ept_armed_bit(ept, page))
		return;
	arm = policy_arms(ept, page, why); /* before ept->lock: heat_lock comes first */
	pthread_mutex_lock(&ept->lock);
	ept->poisoned[page / 64] |= 1ull << (page % 64);
	ept_arm_locked(ept, page, arm);
	pthread_mutex_unlock(&ept->lock);
}

void ept_page_clean(struct ept *ept, uint64_t gpa)
{
	uint64_t page = ept_gpa_to_page(ept, gpa);

	if (page == UINT64_MAX)
		return;
	pthread_mutex_lock(&ept->lock);
	ept->poisoned[page / 64] &= ~(1ull << (page % 64));
	ept_arm_locked(ept, page, false);
	pthread_mutex_unlock(&ept->lock);
}
