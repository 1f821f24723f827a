// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kasan_vmm: tell the kasan-vmm hypervisor about every allocation and free
 * of this Linux guest (paravirt/ABI.md). This file finds the host (CPUID),
 * sends the kernel layout (REGISTER), owns the command page and the module's
 * life: rings first, then hooks, so that no event is produced without a ring.
 */
#define pr_fmt(fmt) "kasan_vmm: " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <linux/version.h>
#include <asm/current.h>
#include <asm/io.h>
#include <asm/page.h>
#include <asm/pgtable.h>
#include <asm/processor.h>
#include <asm/sections.h>
#include <asm/setup.h>

#include "kasan_vmm.h"

u32 kv_features;
u32 kv_mode;
u16 kv_port;
u32 kv_nr_cpus;
u32 kv_ring_shift_min, kv_ring_shift_max;
u64 *kv_seq;

static void *kv_cmd_page; /* page-aligned in the direct map: doorbell = its PFN */
static DEFINE_MUTEX(kv_cmd_lock);

static const char *const kv_mode_names[] = {"sync", "async", "asymm"};

/* Caller holds kv_cmd_lock; blk is on kv_cmd_page. Returns the host's status. */
static int kv_command(void *blk, u16 cmd)
{
	struct kv_cmd_hdr *h = blk;

	h->magic = KV_CMD_MAGIC;
	h->abi_version = KV_ABI_VERSION;
	h->cmd = cmd;
	h->reserved = 0;
	h->status = KV_ST_PENDING;
	/* The host handles the block before the outl retires. */
	kv_outl((u32)(virt_to_phys(blk) >> KV_PAGE_SHIFT));
	return READ_ONCE(h->status);
}

int kv_command_ring_setup(u32 cpu, u32 shift, u64 hdr_gpa, u64 data_gpa)
{
	struct kv_cmd_ring_setup *rs = kv_cmd_page;
	int st;

	mutex_lock(&kv_cmd_lock);
	memset(rs, 0, sizeof(*rs));
	rs->cpu = cpu;
	rs->size_shift = shift;
	rs->hdr_gpa = hdr_gpa;
	rs->data_gpa = data_gpa;
	st = kv_command(rs, KV_CMD_RING_SETUP);
	mutex_unlock(&kv_cmd_lock);
	return st;
}

static bool kv_discover(void)
{
	u32 a, b, c, d, slots;

	cpuid(KV_CPUID_LEAF, &a, &b, &c, &d);
	if (b != KV_CPUID_SIG_EBX || c != KV_CPUID_SIG_ECX || d != KV_CPUID_SIG_EDX)
		return false;
	if ((a >> 16) != KV_ABI_MAJOR) {
		pr_err("host ABI %u.%u, driver ABI %u.%u: refusing\n", a >> 16, a & 0xffff,
		       KV_ABI_MAJOR, KV_ABI_MINOR);
		return false;
	}
	cpuid(KV_CPUID_LEAF_CONFIG, &a, &b, &c, &d);
	kv_features = a;
	kv_port = (u16)b;
	kv_mode = kv_cfg_mode(c);
	slots = kv_cfg_ring_slots(d);
	kv_ring_shift_min = kv_cfg_ring_shift_min(d);
	kv_ring_shift_max = kv_cfg_ring_shift_max(d);
	kv_nr_cpus = min3((u32)nr_cpu_ids, slots, 256u);
	if (!(kv_features & KV_FEAT_EVENTS) || !kv_nr_cpus || kv_mode > KV_MODE_ASYMM) {
		pr_err("host does not consume events (features 0x%x, slots %u, mode %u)\n",
		       kv_features, slots, kv_mode);
		return false;
	}
	return true;
}

/*
 * Kernel text and KASLR slide. Built in, the linker symbols are at hand. A
 * module cannot link against _text/_stext/_etext (not exported), so it reads
 * them from kallsyms; kallsyms_lookup_name is not exported either, but a
 * kprobe registered *disabled* resolves its address without patching any
 * text (no int3, which matters on emulating hosts). The indirect call needs
 * a kernel without IBT sealing (Debian 6.1: X86_KERNEL_IBT off). 0: unknown.
 */
#ifdef MODULE
static unsigned long kv_lookup(const char *name)
{
	static unsigned long (*lookup)(const char *name);

	if (!lookup) {
		struct kprobe kp = {.symbol_name = "kallsyms_lookup_name",
				    .flags = KPROBE_FLAG_DISABLED};

		if (register_kprobe(&kp))
			return 0;
		lookup = (void *)kp.addr;
		unregister_kprobe(&kp);
	}
	return lookup ? lookup(name) : 0;
}

static void kv_text_layout(struct kv_cmd_register *r)
{
	unsigned long text = kv_lookup("_text");

	r->text_start = kv_lookup("_stext");
	r->text_end = kv_lookup("_etext");
	r->kaslr_offset = text ? text - __START_KERNEL : 0;
	if (!text || !r->text_start || r->text_end <= r->text_start)
		pr_warn("kernel text range unknown (no kallsyms via kprobes): sending 0\n");
}
#else
static void kv_text_layout(struct kv_cmd_register *r)
{
	r->text_start = (unsigned long)_stext;
	r->text_end = (unsigned long)_etext;
	r->kaslr_offset = kaslr_offset();
}
#endif

/*
 * Where the current task pointer lives per CPU: 6.1 has the per-CPU variable
 * current_task (exported); 6.2 moved it into pcpu_hot.
 */
static u64 kv_current_task_pcpu(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return (unsigned long)&pcpu_hot.current_task;
#else
	return (unsigned long)&current_task;
#endif
}

static int kv_register(void)
{
	struct kv_cmd_register *r = kv_cmd_page;
	const char *rel = utsname()->release;
	int st;

	mutex_lock(&kv_cmd_lock);
	memset(r, 0, sizeof(*r));
	r->guest_kind = KV_GUEST_LINUX;
	r->nr_cpus = kv_nr_cpus;
	r->direct_map_base = PAGE_OFFSET;
	r->vmemmap_base = (unsigned long)VMEMMAP_START;
	r->vmalloc_start = VMALLOC_START;
	r->vmalloc_end = VMALLOC_END;
	kv_text_layout(r);
	r->seq_counter_gpa = virt_to_phys(kv_seq);
	r->percpu_offsets_va = (unsigned long)__per_cpu_offset;
	r->current_task_pcpu = kv_current_task_pcpu();
	r->task_pid_off = offsetof(struct task_struct, pid);
	r->task_comm_off = offsetof(struct task_struct, comm);
	r->task_struct_size = min_t(size_t, sizeof(struct task_struct), 65536);
	/* The host reads a trapped freed page's count: bulk allocations send no event. */
	BUILD_BUG_ON(sizeof_field(struct page, _refcount) != 4);
	r->page_struct_size = sizeof(struct page);
	r->page_refcount_off = offsetof(struct page, _refcount);
	r->release_len = strnlen(rel, KV_RELEASE_MAX);
	memcpy(r->release, rel, r->release_len);
	st = kv_command(r, KV_CMD_REGISTER);
	pr_info("ABI %u.%u, mode %s, port 0x%x, features 0x%x, %u ring slots, kaslr 0x%llx: "
		"register %d\n",
		KV_ABI_MAJOR, KV_ABI_MINOR, kv_mode_names[kv_mode], kv_port, kv_features,
		kv_nr_cpus, r->kaslr_offset, st);
	mutex_unlock(&kv_cmd_lock);
	return st;
}

static int kv_goodbye(void)
{
	int st;

	mutex_lock(&kv_cmd_lock);
	memset(kv_cmd_page, 0, sizeof(struct kv_cmd_hdr));
	st = kv_command(kv_cmd_page, KV_CMD_GOODBYE);
	mutex_unlock(&kv_cmd_lock);
	return st;
}

static void kv_free_shared(void)
{
	kfree(kv_seq);
	kv_seq = NULL;
	free_page((unsigned long)kv_cmd_page);
	kv_cmd_page = NULL;
}

static int __init kasan_vmm_init(void)
{
	int ret;

	if (!kv_discover()) {
		pr_err(
		    "kasan-vmm hypervisor not found (CPUID 0x%x signature \"KasanVMM\" missing)\n",
		    KV_CPUID_LEAF);
		return -ENODEV;
	}
	kv_cmd_page = (void *)get_zeroed_page(GFP_KERNEL);
	kv_seq = kzalloc(sizeof(*kv_seq), GFP_KERNEL); /* kmalloc: 8-aligned, direct map */
	if (!kv_cmd_page || !kv_seq) {
		kv_free_shared();
		return -ENOMEM;
	}
	*kv_seq = KV_SEQ_FIRST;
	ret = kv_register();
	if (ret != KV_ST_OK) {
		pr_err("REGISTER refused: status %d\n", ret);
		kv_free_shared();
		return -EIO;
	}
	ret = kv_rings_init();
	if (ret)
		goto err_goodbye;
	ret = kv_hooks_init();
	if (ret)
		goto err_rings;
	kv_kprobes_init(); /* optional: failures only warn */
	pr_info("loaded: events flow from now on; earlier allocations are unknown to the host\n");
	return 0;
err_rings:
	kv_rings_stop();
err_goodbye:
	if (kv_goodbye() == KV_ST_OK)
		kv_rings_free();
	kv_free_shared();
	return ret;
}

static void __exit kasan_vmm_exit(void)
{
	u64 emitted, dropped, lost;
	int st;

	kv_kprobes_exit();
	kv_hooks_exit(); /* returns once no probe runs any more */
	kv_rings_stop();
	kv_drain();
	kv_rings_stats(&emitted, &dropped, &lost);
	st = kv_goodbye();
	pr_info("unloaded: %llu events, %llu dropped, %llu lost, seq %llu, goodbye %d\n", emitted,
		dropped, lost, *kv_seq - KV_SEQ_FIRST, st);
	if (st != KV_ST_OK) {
		/* The host may still read the rings: leaking them is the safe choice. */
		pr_warn("GOODBYE not acknowledged: ring memory is leaked\n");
		return;
	}
	kv_rings_free();
	kv_free_shared();
}

#ifdef MODULE
module_init(kasan_vmm_init);
#else
/*
 * Built in, start as soon as SMP and the page allocator are up, or with
 * kasan_vmm_start=late on the command line only at late_initcall_sync
 * (before the built-in scenario runner and workload, which link after this
 * file): boot-time allocations stay unknown to the host, which saves an
 * emulating host minutes of traps on objects that 6.1 grows in place
 * without any event (krealloc), and so do those of the boot's background
 * tracefs work, which trace_eval_sync() (late_initcall_sync, linked
 * earlier) has drained by then.
 */
static bool kv_start_late;

static int __init kv_start_setup(char *arg)
{
	kv_start_late = arg && !strcmp(arg, "late");
	return 1;
}
__setup("kasan_vmm_start=", kv_start_setup);

static int __init kasan_vmm_init_early(void)
{
	return kv_start_late ? 0 : kasan_vmm_init();
}
core_initcall(kasan_vmm_init_early);

static int __init kasan_vmm_init_late(void)
{
	return kv_start_late ? kasan_vmm_init() : 0;
}
late_initcall_sync(kasan_vmm_init_late);
#endif
module_exit(kasan_vmm_exit);

MODULE_DESCRIPTION("kasan-vmm guest driver: allocator events for a hypervisor-side KASAN");
MODULE_AUTHOR("kasan-vmm");
MODULE_LICENSE("Dual MIT/GPL");
