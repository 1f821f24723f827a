// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What 6.1 has no tracepoint for, seen through kretprobes when the kernel
 * has them (CONFIG_KRETPROBES): an in-place krealloc() (same pointer back:
 * KREALLOC with the new size; a moving one already shows as kmalloc + kfree)
 * and ksize() (KSIZE: the whole slot becomes the object's, as KASAN's ksize
 * does). Without kretprobes these stay the documented gaps.
 */
#define pr_fmt(fmt) "kasan_vmm: " fmt

#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/slab.h>

#include "kasan_vmm.h"

#ifdef CONFIG_KRETPROBES

struct kv_call_args {
	unsigned long p;
	unsigned long size;
};

/* Entry of krealloc(p, new_size, flags) and ksize(p): keep the arguments. */
static int kv_save_args(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kv_call_args *a = (struct kv_call_args *)ri->data;

	a->p = regs->di;
	a->size = regs->si;
	return 0;
}

static int kv_krealloc_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	const struct kv_call_args *a = (const struct kv_call_args *)ri->data;
	struct kv_ev ev = {.old_addr = a->p, .addr = regs_return_value(regs)};

	if (ZERO_OR_NULL_PTR((void *)a->p) || ev.addr != ev.old_addr)
		return 0;
	ev.size_req = a->size;
	ev.size_alloc = ksize((void *)a->p); /* nested in a probe: ours does not fire */
	kv_emit(KV_EV_KREALLOC, &ev);
	return 0;
}

static int kv_ksize_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	const struct kv_call_args *a = (const struct kv_call_args *)ri->data;
	struct kv_ev ev = {.addr = a->p};

	if (ZERO_OR_NULL_PTR((void *)a->p) || !regs_return_value(regs))
		return 0;
	kv_emit(KV_EV_KSIZE, &ev);
	return 0;
}

static struct kretprobe kv_kretprobes[] = {
    {.kp.symbol_name = "krealloc",
     .entry_handler = kv_save_args,
     .handler = kv_krealloc_ret,
     .data_size = sizeof(struct kv_call_args),
     .maxactive = 64},
    {.kp.symbol_name = "ksize",
     .entry_handler = kv_save_args,
     .handler = kv_ksize_ret,
     .data_size = sizeof(struct kv_call_args),
     .maxactive = 64},
};
static bool kv_kretprobed[ARRAY_SIZE(kv_kretprobes)];

void kv_kprobes_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kv_kretprobes); i++) {
		int ret = register_kretprobe(&kv_kretprobes[i]);

		kv_kretprobed[i] = !ret;
		if (ret)
			pr_warn("kretprobe %s: %d (its events are missing)\n",
				kv_kretprobes[i].kp.symbol_name, ret);
	}
}

void kv_kprobes_exit(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kv_kretprobes); i++) {
		if (kv_kretprobed[i])
			unregister_kretprobe(&kv_kretprobes[i]);
		kv_kretprobed[i] = false;
	}
}

#else /* !CONFIG_KRETPROBES */

void kv_kprobes_init(void)
{
	pr_info("no kretprobes: in-place krealloc and ksize stay unknown to the host\n");
}

void kv_kprobes_exit(void)
{
}

#endif
