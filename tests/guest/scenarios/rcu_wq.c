/* SPDX-License-Identifier: MIT */
/*
 * Use-after-free in deferred work: an RCU callback and a work item free
 * their object; the report should carry call_rcu / queue_work as aux stacks
 * ("Last potentially related work creation").
 */
#include "scenario.h"

struct kasan_rcu_info {
	int i;
	struct rcu_head rcu;
};

static struct kasan_rcu_info *global_rcu_ptr;

/* Runs after the grace period: frees the object, then reads it. */
static void rcu_uaf_reclaim(struct rcu_head *rp)
{
	struct kasan_rcu_info *fp = container_of(rp, struct kasan_rcu_info, rcu);

	kfree(fp);
	OPTIMIZER_HIDE_VAR(fp);
	read32(&fp->i);
}

TESTCASE(rcu_uaf)
{
	struct kasan_rcu_info *ptr = kmalloc(sizeof(*ptr), GFP_KERNEL);

	TEST_ASSERT(ptr);
	global_rcu_ptr = ptr;
	/* The bad read happens in the callback, inside rcu_barrier(). */
	expect_read(SLAB_UAF, 4, ptr, sizeof(*ptr));
	call_rcu(&global_rcu_ptr->rcu, rcu_uaf_reclaim);
	rcu_barrier();
	return 0;
}

static void workqueue_uaf_work(struct work_struct *work)
{
	kfree(work);
}

/* Linux reads work->data, the first word; here the first word is ->next. */
TESTCASE(workqueue_uaf)
{
	struct workqueue_struct *workqueue = create_workqueue("kasan_workqueue_test");
	struct work_struct *work;

	TEST_ASSERT(workqueue);
	work = kmalloc(sizeof(*work), GFP_KERNEL);
	TEST_ASSERT(work);
	INIT_WORK(work, workqueue_uaf_work);
	queue_work(workqueue, work);
	destroy_workqueue(workqueue);
	OPTIMIZER_HIDE_VAR(work);
	expect_read(SLAB_UAF, 8, work, sizeof(*work));
	read64(&work->next);
	return 0;
}
