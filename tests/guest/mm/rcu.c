/* SPDX-License-Identifier: MIT */
/*
 * Deferred frees. call_rcu queues; a grace period is every other online
 * CPU running a no-op through smp_call_on (it was idle, outside any read
 * section, so it passed a quiescent point); rcu_barrier and synchronize_rcu
 * wait for one and run what was queued before it.
 */
#include "mm_internal.h"
#include "smp.h"

#define RCU_QS_TIMEOUT_US 2000000

static struct rcu_head *rcu_head_list, **rcu_tail = &rcu_head_list;
static spinlock_t rcu_lock;

void mm_record_aux_stack(const void *p, u64 fp)
{
	struct page *pg = virt_addr_valid(p) ? mm_head_page(virt_to_page(p)) : NULL;
	u64 addr = (u64)p;

	if (pg && (pg->flags & PG_slab)) { /* the object holding p */
		u64 base = (u64)page_address(pg), slot = kmem_cache_slot_size(pg->slab_cache);

		addr = base + (addr - base) / slot * slot;
	} else if (pg && (pg->flags & PG_large)) {
		addr = (u64)page_address(pg);
	}
	kv_emit(KV_EV_AUX_STACK, fp, &(struct kv_ev){.addr = addr});
}

static void rcu_enqueue(struct rcu_head *head)
{
	head->next = NULL;
	spin_lock(&rcu_lock);
	*rcu_tail = head;
	rcu_tail = &head->next;
	spin_unlock(&rcu_lock);
}

void call_rcu(struct rcu_head *head, rcu_callback_t func)
{
	mm_record_aux_stack(head, THIS_FRAME());
	head->func = func;
	rcu_enqueue(head);
}

void __kfree_rcu(struct rcu_head *head, unsigned long offset)
{
	mm_record_aux_stack(head, THIS_FRAME());
	head->func = (rcu_callback_t)offset; /* < PAGE_SIZE: an offset, as in Linux */
	rcu_enqueue(head);
}

static void rcu_qs(void *arg)
{
	(void)arg;
}

static void grace_period(void)
{
	u32 self = smp_processor_id();

	for (u32 c = 0; c < nr_cpus; c++)
		if (c != self && cpus[c].online && !mm_cpu_busy[c])
			smp_call_on(c, rcu_qs, NULL, RCU_QS_TIMEOUT_US);
}

/* Run the callbacks queued before the grace period that just ended. */
static void run_callbacks(struct rcu_head *list)
{
	while (list) {
		struct rcu_head *next = list->next;
		unsigned long f = (unsigned long)list->func;

		if (f < PAGE_SIZE)
			__kfree((u8 *)list - f, THIS_FRAME());
		else
			list->func(list);
		list = next;
	}
}

void synchronize_rcu(void)
{
	struct rcu_head *list;

	spin_lock(&rcu_lock);
	list = rcu_head_list;
	rcu_head_list = NULL;
	rcu_tail = &rcu_head_list;
	spin_unlock(&rcu_lock);
	grace_period();
	run_callbacks(list);
}

void rcu_barrier(void)
{
	synchronize_rcu();
}
