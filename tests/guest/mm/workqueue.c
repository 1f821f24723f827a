/* SPDX-License-Identifier: MIT */
/*
 * A work queue: queued work runs when flushed (flush_work, flush_workqueue,
 * destroy_workqueue), on the next online CPU after the flushing one, as that
 * CPU's "kworker/N:1" task; on the same CPU when it is alone. All queues
 * share one pending list: a flush runs everything queued so far.
 */
#include "mm_internal.h"
#include "printf.h"
#include "smp.h"
#include "string.h"

#define WORK_TIMEOUT_US 5000000

struct workqueue_struct {
	char name[32];
};

static struct workqueue_struct system_wq_s = {.name = "events"};
struct workqueue_struct *system_wq = &system_wq_s;
volatile u32 mm_cpu_busy[MAX_CPUS];
static struct work_struct *work_list, **work_tail = &work_list;
static spinlock_t work_lock;

struct workqueue_struct *alloc_workqueue(const char *name, unsigned int flags, int max_active)
{
	struct workqueue_struct *wq = __kmalloc(sizeof(*wq), GFP_KERNEL | __GFP_ZERO, THIS_FRAME());

	(void)flags;
	(void)max_active;
	if (wq)
		strscpy(wq->name, name, sizeof(wq->name));
	return wq;
}

bool queue_work(struct workqueue_struct *wq, struct work_struct *work)
{
	(void)wq;
	if (__atomic_exchange_n(&work->pending, 1, __ATOMIC_ACQ_REL))
		return false;
	mm_record_aux_stack(work, THIS_FRAME());
	work->next = NULL;
	spin_lock(&work_lock);
	*work_tail = work;
	work_tail = &work->next;
	spin_unlock(&work_lock);
	return true;
}

bool schedule_work(struct work_struct *work)
{
	return queue_work(system_wq, work);
}

/* On the worker CPU: the work may free itself, so nothing touches it after func. */
static void run_work(void *arg)
{
	struct work_struct *work = arg;
	work_func_t fn = work->func;
	struct kv_task *prev = kv_task_switch(kv_worker_task(smp_processor_id()));

	work->cpu = smp_processor_id();
	__atomic_store_n(&work->pending, 0, __ATOMIC_RELEASE);
	fn(work);
	kv_task_switch(prev);
}

static u32 worker_cpu(void)
{
	u32 self = smp_processor_id();

	for (u32 i = 1; i < nr_cpus; i++) {
		u32 c = (self + i) % nr_cpus;

		if (cpus[c].online && !mm_cpu_busy[c])
			return c;
	}
	return self;
}

static bool run_pending(void)
{
	struct work_struct *list;
	u32 cpu = worker_cpu();

	spin_lock(&work_lock);
	list = work_list;
	work_list = NULL;
	work_tail = &work_list;
	spin_unlock(&work_lock);
	if (!list)
		return false;
	while (list) {
		struct work_struct *next = list->next;

		if (smp_call_on(cpu, run_work, list, WORK_TIMEOUT_US))
			printf("testguest: work %p: cpu %u did not finish it\n", (void *)list, cpu);
		list = next;
	}
	return true;
}

bool flush_work(struct work_struct *work)
{
	if (!__atomic_load_n(&work->pending, __ATOMIC_ACQUIRE))
		return false;
	return run_pending();
}

void flush_workqueue(struct workqueue_struct *wq)
{
	(void)wq;
	run_pending();
}

void destroy_workqueue(struct workqueue_struct *wq)
{
	run_pending();
	if (wq && wq != system_wq)
		__kfree(wq, THIS_FRAME());
}
