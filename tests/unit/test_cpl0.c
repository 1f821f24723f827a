/* SPDX-License-Identifier: MIT */
/*
 * What kasan-vmm does about instructions an emulating KVM cannot run at guest
 * CPL0 (vmm/cpl0.h): the int3/fwait decisions and the Linux command-line
 * options as pure functions, then the decisions carried out on the real
 * /dev/kvm with a tiny 64-bit guest that has an IDT: its #BP handler must see
 * rip past the int3, fwait must fall through or raise #MF as hardware would,
 * lsl must load a GDT entry's limit or clear ZF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "ept/tiny_vm.h"
#include "vmm/cpl0.h"
#include "vmm/cpuid.h"

#define CR0_NE	   0x20u
#define GDT	   0x4000
#define IDT	   0x5000
#define BP_HANDLER 0x12000
#define MF_HANDLER 0x12100
#define FSW_IE_ES  0x81 /* invalid operation, error summary */
#define BIT(p)	   (1ull << (p))
#define RAM	   (4u << 20)
#define MAX_FIXUPS 8

static int kvm_fd = -1;

/* ---- decisions ------------------------------------------------------------ */

static void test_int3_is_a_trap(void **state)
{
	struct cpl0_action a;

	(void)state;
	assert_true(cpl0_fixup_decide((uint8_t[]){0xcc, 0x90}, 2, 0x1000, 0, 0, &a));
	assert_int_equal(a.kind, CPL0_FIXUP_INT3);
	assert_true(a.inject);
	assert_int_equal(a.vector, CPL0_VEC_BP);
	assert_int_equal(a.new_rip, 0x1001);
}

static void test_fwait(void **state)
{
	struct cpl0_action a;

	(void)state;
	/* Nothing pending: a no-op, rip moves past its single byte. */
	assert_true(cpl0_fixup_decide((uint8_t[]){0x9b}, 1, 0x2000, 0x0001, CR0_NE, &a));
	assert_int_equal(a.kind, CPL0_FIXUP_FWAIT);
	assert_false(a.inject);
	assert_int_equal(a.new_rip, 0x2001);
	/* An unmasked exception pending (ES): #MF, a fault at the fwait. */
	assert_true(cpl0_fixup_decide((uint8_t[]){0x9b}, 1, 0x2000, FSW_IE_ES, CR0_NE, &a));
	assert_true(a.inject);
	assert_int_equal(a.vector, CPL0_VEC_MF);
	assert_int_equal(a.new_rip, 0x2000);
	/* CR0.NE clear would mean FERR#: not something we can do right. */
	assert_false(cpl0_fixup_decide((uint8_t[]){0x9b}, 1, 0x2000, FSW_IE_ES, 0, &a));
}

static void test_other_instructions_are_not_ours(void **state)
{
	struct cpl0_action a;

	(void)state;
	assert_false(
	    cpl0_fixup_decide((uint8_t[]){0x0f, 0xae, 0x2f}, 3, 0x1000, 0, 0, &a));    /* xrstor */
	assert_false(cpl0_fixup_decide((uint8_t[]){0xcd, 0x03}, 2, 0x1000, 0, 0, &a)); /* int 3 */
	assert_false(cpl0_fixup_decide((uint8_t[]){0x66, 0xcc}, 2, 0x1000, 0, 0, &a));
	assert_false(cpl0_fixup_decide(NULL, 0, 0x1000, 0, 0, &a));
	assert_int_equal(a.new_rip, 0x1000);
}

static void test_lsl_decode(void **state)
{
	struct cpl0_lsl l;

	(void)state;
	assert_true(cpl0_lsl_decode((uint8_t[]){0x48, 0x0f, 0x03, 0xc0, 0x48}, 5, &l));
	assert_int_equal(l.dst, 0); /* Linux's GET_PERCPU_BASE: lsl %rax, %rax */
	assert_int_equal(l.src, 0);
	assert_int_equal(l.opsize, 8);
	assert_int_equal(l.len, 4);
	assert_true(cpl0_lsl_decode((uint8_t[]){0x0f, 0x03, 0xd1}, 3, &l));
	assert_true(l.dst == 2 && l.src == 1 && l.opsize == 4 && l.len == 3);
	assert_true(cpl0_lsl_decode((uint8_t[]){0x66, 0x0f, 0x03, 0xca}, 4, &l));
	assert_true(l.dst == 1 && l.src == 2 && l.opsize == 2 && l.len == 4);
	assert_true(cpl0_lsl_decode((uint8_t[]){0x4d, 0x0f, 0x03, 0xc8}, 4, &l)); /* REX.WRB */
	assert_true(l.dst == 9 && l.src == 8 && l.opsize == 8);
	assert_false(cpl0_lsl_decode((uint8_t[]){0x0f, 0x03, 0x00}, 3, &l)); /* memory source */
	assert_false(cpl0_lsl_decode((uint8_t[]){0x48, 0x0f, 0x03}, 3, &l)); /* cut short */
	assert_false(cpl0_lsl_decode((uint8_t[]){0x0f, 0x02, 0xc0}, 3, &l)); /* lar */
}

/* Descriptors: limit 0x12345, access byte `access`, flags nibble `flags` (G is 8). */
static uint64_t desc(unsigned int access, unsigned int flags)
{
	return 0x2345 | 0x1ull << 48 | (uint64_t)access << 40 | (uint64_t)flags << 52;
}

static void test_lsl_rules(void **state)
{
	const struct cpl0_table gdt = {0x4000, 0x7f, true}, ldt = {0x9000, 0xf, true},
				no_ldt = {0, 0, false};
	uint32_t limit = 0;
	uint64_t addr = 0;

	(void)state;
	/* Linux's CPUNODE entry: a DPL 3 data segment, selector RPL 3, read at CPL 0 */
	assert_true(cpl0_lsl_limit(desc(0xf3, 0), 0x7b, 0, &limit));
	assert_int_equal(limit, 0x12345);
	assert_true(cpl0_lsl_limit(desc(0xf3, 8), 0x7b, 0, &limit)); /* G: 4 KiB units */
	assert_int_equal(limit, 0x12345fff);
	assert_false(cpl0_lsl_limit(desc(0x93, 0), 0x7b, 0, &limit)); /* DPL 0 < RPL 3 */
	assert_false(cpl0_lsl_limit(desc(0x93, 0), 0x10, 3, &limit)); /* DPL 0 < CPL 3 */
	assert_true(cpl0_lsl_limit(desc(0x9f, 0), 0x13, 3, &limit));  /* conforming code */
	assert_true(cpl0_lsl_limit(desc(0x89, 0), 0x40, 0, &limit));  /* 64-bit TSS */
	assert_true(cpl0_lsl_limit(desc(0x82, 0), 0x40, 0, &limit));  /* LDT */
	assert_false(cpl0_lsl_limit(desc(0x8e, 0), 0x40, 0, &limit)); /* interrupt gate */
	/* where the descriptor is */
	assert_false(cpl0_lsl_desc_addr(0x3, &gdt, &ldt, &addr));  /* null selector */
	assert_false(cpl0_lsl_desc_addr(0x80, &gdt, &ldt, &addr)); /* past the GDT */
	assert_true(cpl0_lsl_desc_addr(0x7b, &gdt, &ldt, &addr));
	assert_int_equal(addr, 0x4078);
	assert_true(cpl0_lsl_desc_addr(0xc, &gdt, &ldt, &addr)); /* LDT entry 1 */
	assert_int_equal(addr, 0x9008);
	assert_false(cpl0_lsl_desc_addr(0x14, &gdt, &ldt, &addr)); /* past the LDT */
	assert_false(cpl0_lsl_desc_addr(0xc, &gdt, &no_ldt, &addr));
	/* the destination */
	assert_int_equal(cpl0_lsl_result(0xaaaabbbbccccddddull, 0x12345, 2), 0xaaaabbbbcccc2345ull);
	assert_int_equal(cpl0_lsl_result(0xaaaabbbbccccddddull, 0x12345, 4), 0x12345);
	assert_int_equal(cpl0_lsl_result(0xaaaabbbbccccddddull, 0x12345fff, 8), 0x12345fff);
}

static void test_cmdline_tokens(void **state)
{
	char buf[512];

	(void)state;
	/* Always: a tick that cannot fall behind an emulated guest. */
	assert_true(cpl0_linux_cmdline(0, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "lapic=notscdeadline rcupdate.rcu_cpu_stall_suppress=1");
	assert_true(cpl0_linux_cmdline(BIT(PROBE_XSAVE), buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "lapic=notscdeadline rcupdate.rcu_cpu_stall_suppress=1 noxsave");
	cpl0_linux_cmdline(BIT(PROBE_XSAVE) | BIT(PROBE_CX16) | BIT(PROBE_POPCNT) |
			       BIT(PROBE_SMAP) | BIT(PROBE_FSGSBASE) | BIT(PROBE_PKU),
			   buf, sizeof(buf));
	/* Dedicated options first, then one clearcpuid= with X86_FEATURE numbers. */
	assert_string_equal(
	    buf, "lapic=notscdeadline rcupdate.rcu_cpu_stall_suppress=1 noxsave nofsgsbase nopku "
		 "clearcpuid=141,308,151");
	/* Too small a buffer is an error, not a silently cut list. */
	assert_int_equal(cpl0_linux_cmdline(BIT(PROBE_XSAVE), buf, 4), -1);
}

/* Every class at once must still fit Linux's 128-byte clearcpuid= buffer. */
static void test_cmdline_all_classes_fit(void **state)
{
	char buf[1024];
	const char *c;

	(void)state;
	assert_true(cpl0_linux_cmdline(BIT(PROBE_NR) - 1, buf, sizeof(buf)) > 0);
	c = strstr(buf, "clearcpuid=");
	assert_non_null(c);
	assert_true(strcspn(c + strlen("clearcpuid="), " ") <= 127);
	assert_non_null(strstr(buf, "noxsave"));
	assert_non_null(strstr(buf, "noxsaves"));
}

static void test_linux_detection(void **state)
{
	uint8_t bz[0x300] = {0};
	static const char elf[] = "\x7f"
				  "ELF....Linux version 6.1.192 (gcc) #1 SMP";
	static const char other[] = "\x7f"
				    "ELF....testguest";

	(void)state;
	memcpy(bz + 0x202, "HdrS", 4);
	assert_true(cpl0_image_is_linux(bz, sizeof(bz)));
	assert_true(cpl0_image_is_linux((const uint8_t *)elf, sizeof(elf)));
	assert_false(cpl0_image_is_linux((const uint8_t *)other, sizeof(other)));
}

static void test_pv_hypercalls_hidden(void **state)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[1];
	} k = {.c.nent = 1, .e = {{.function = 0x40000001, .eax = 0xffffffffu}}};

	(void)state;
	assert_int_equal(cpuid_hide_pv_hypercalls(&k.c), 2);
	assert_int_equal(k.e[0].eax, 0xffffffffu & ~(1u << 11) & ~(1u << 13));
	assert_int_equal(cpuid_hide_pv_hypercalls(&k.c), 0);
	k.c.nent = 0; /* no KVM leaf: nothing to do */
	assert_int_equal(cpuid_hide_pv_hypercalls(&k.c), 0);
}

/* ---- on the real /dev/kvm -------------------------------------------------- */

static void put_gate(struct tiny_vm *t, int vector, uint64_t handler)
{
	uint64_t gate[2];

	gate[0] =
	    (handler & 0xffff) | (8ull << 16) | (0x8eull << 40) | ((handler >> 16 & 0xffff) << 48);
	gate[1] = handler >> 32;
	tiny_vm_put(t, IDT + 16 * vector, gate, sizeof(gate));
}

/* A long-mode guest with a GDT and an IDT: #BP and #MF handlers pop the
 * pushed rip into rax, put the vector in ebx and halt. */
static void guest_setup(struct tiny_vm *t, const uint8_t *code, size_t len, uint16_t fsw)
{
	/* code, data, and a DPL 3 data segment with limit 0x12345 (selector 0x1b) */
	static const uint64_t gdt[] = {0, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
				       0x0001f30000002345ull};
	static const uint8_t bp[] = {0x58, 0xbb, 3, 0, 0, 0, 0xf4};
	static const uint8_t mf[] = {0x58, 0xbb, 16, 0, 0, 0, 0xf4};
	struct kvm_regs r = {.rip = TINY_VM_CODE, .rsp = TINY_VM_STACK, .rbx = 0x55};
	struct kvm_sregs s;
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};

	assert_int_equal(tiny_vm_create(t, kvm_fd, RAM, 1), 0);
	assert_int_equal(tiny_vm_register_plain(t), 0);
	tiny_vm_put(t, GDT, gdt, sizeof(gdt));
	put_gate(t, CPL0_VEC_BP, BP_HANDLER);
	put_gate(t, CPL0_VEC_MF, MF_HANDLER);
	tiny_vm_put(t, BP_HANDLER, bp, sizeof(bp));
	tiny_vm_put(t, MF_HANDLER, mf, sizeof(mf));
	tiny_vm_put(t, TINY_VM_CODE, code, len);
	assert_int_equal(tiny_vm_set_regs(t, 0, &r), 0);
	assert_int_equal(ioctl(t->vcpu_fd[0], KVM_GET_SREGS, &s), 0);
	s.gdt.base = GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = IDT;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 |= CR0_NE;
	assert_int_equal(ioctl(t->vcpu_fd[0], KVM_SET_SREGS, &s), 0);
	fpu.fsw = fsw;
	assert_int_equal(ioctl(t->vcpu_fd[0], KVM_SET_FPU, &fpu), 0);
}

static int alias_read(void *ctx, uint64_t gva, void *buf, size_t len)
{
	struct tiny_vm *t = ctx;

	if (gva >= RAM || len > RAM - gva)
		return -EFAULT;
	memcpy(buf, t->alias + gva, len); /* identity-mapped */
	return 0;
}

/* Run to hlt, doing what vcpu.c does at emulation failures; returns how many it fixed. */
static int guest_run(struct tiny_vm *t, struct kvm_regs *r)
{
	const struct cpl0_mem mem = {alias_read, t};
	int fixed = 0, exit;

	for (;;) {
		struct kvm_run *run = t->run[0];
		struct cpl0_action a;
		struct kvm_regs cur;
		uint8_t insn[8];

		exit = tiny_vm_run(t, 0, NULL);
		if (exit == KVM_EXIT_HLT)
			break;
		assert_int_equal(exit, KVM_EXIT_INTERNAL_ERROR);
		assert_int_equal(run->internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
		assert_int_equal(ioctl(t->vcpu_fd[0], KVM_GET_REGS, &cur), 0);
		assert_int_equal(alias_read(t, cur.rip, insn, sizeof(insn)), 0);
		assert_int_equal(cpl0_fixup_apply(t->vcpu_fd[0], insn, sizeof(insn), &mem, &a), 1);
		assert_true(++fixed <= MAX_FIXUPS);
	}
	assert_int_equal(ioctl(t->vcpu_fd[0], KVM_GET_REGS, r), 0);
	return fixed;
}

/* Set up and run `code`; say whether KVM ran `what` itself or kasan-vmm did (`how`). */
static void guest_run_code(struct tiny_vm *t, const uint8_t *code, size_t len, uint16_t fsw,
			   const char *what, const char *how, struct kvm_regs *r)
{
	int fixed;

	guest_setup(t, code, len, fsw);
	fixed = guest_run(t, r);
	printf("# %s at CPL0: %s\n", what, fixed ? how : "ran natively");
}

static void test_int3_delivers_bp_on_kvm(void **state)
{
	static const uint8_t code[] = {0x90, 0xcc, 0xf4}; /* nop; int3; hlt */
	struct tiny_vm t;
	struct kvm_regs r;

	(void)state;
	guest_run_code(&t, code, sizeof(code), 0, "int3",
		       "emulation failure, #BP injected by kasan-vmm", &r);
	assert_int_equal(r.rbx, CPL0_VEC_BP);
	assert_int_equal(r.rax, TINY_VM_CODE + 2); /* the trap frame's rip: past the int3 */
	tiny_vm_destroy(&t);
}

static void test_fwait_on_kvm(void **state)
{
	static const uint8_t code[] = {0x9b, 0xf4}; /* fwait; hlt */
	struct tiny_vm t;
	struct kvm_regs r;

	(void)state;
	guest_run_code(&t, code, sizeof(code), 0, "fwait", "emulation failure, done by kasan-vmm",
		       &r);
	assert_int_equal(r.rbx, 0x55); /* no exception */
	assert_int_equal(r.rip, TINY_VM_CODE + 2);
	tiny_vm_destroy(&t);

	/* With an x87 error pending, fwait faults: #MF at the fwait itself. */
	guest_setup(&t, code, sizeof(code), FSW_IE_ES);
	guest_run(&t, &r);
	assert_int_equal(r.rbx, CPL0_VEC_MF);
	assert_int_equal(r.rax, TINY_VM_CODE);
	tiny_vm_destroy(&t);
}

static void test_lsl_on_kvm(void **state)
{
	static const uint8_t code[] = {
	    0xbe, 0x55, 0,    0,    0, /* mov $0x55, %esi */
	    0xb8, 0x1b, 0,    0,    0, /* mov $0x1b, %eax */
	    0x48, 0x0f, 0x03, 0xc0,    /* lsl %rax, %rax: the segment's limit, ZF=1 */
	    0x0f, 0x94, 0xc3,	       /* setz %bl */
	    0xb9, 0x00, 0x04, 0,    0, /* mov $0x400, %ecx: past the GDT */
	    0xba, 0x77, 0,    0,    0, /* mov $0x77, %edx */
	    0x0f, 0x03, 0xd1,	       /* lsl %ecx, %edx: ZF=0, edx kept */
	    0x40, 0x0f, 0x94, 0xc6,    /* setz %sil */
	    0xf4};		       /* hlt */
	struct tiny_vm t;
	struct kvm_regs r;

	(void)state;
	guest_run_code(&t, code, sizeof(code), 0, "lsl", "emulation failure, done by kasan-vmm",
		       &r);
	assert_int_equal(r.rax, 0x12345);
	assert_int_equal(r.rbx & 0xff, 1);
	assert_int_equal(r.rdx, 0x77);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(r.rip, TINY_VM_CODE + sizeof(code));
	tiny_vm_destroy(&t);
}

static int setup(void **state)
{
	(void)state;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	return kvm_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	close(kvm_fd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_int3_is_a_trap),
	    cmocka_unit_test(test_fwait),
	    cmocka_unit_test(test_other_instructions_are_not_ours),
	    cmocka_unit_test(test_lsl_decode),
	    cmocka_unit_test(test_lsl_rules),
	    cmocka_unit_test(test_cmdline_tokens),
	    cmocka_unit_test(test_cmdline_all_classes_fit),
	    cmocka_unit_test(test_linux_detection),
	    cmocka_unit_test(test_pv_hypercalls_hidden),
	    cmocka_unit_test(test_int3_delivers_bp_on_kvm),
	    cmocka_unit_test(test_fwait_on_kvm),
	    cmocka_unit_test(test_lsl_on_kvm),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
