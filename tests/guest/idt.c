/* SPDX-License-Identifier: MIT */
#include "idt.h"
#include "printf.h"
#include "serial.h"
#include "smp.h"

#define GDT_CODE64    0x08
#define BACKTRACE_MAX 32

struct idt_gate {
	u16 off0;
	u16 sel;
	u8 ist;
	u8 type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
	u16 off1;
	u32 off2;
	u32 zero;
} __attribute__((packed));

extern const u64 isr_stub_table[256];
extern const char __text_start[], __text_end[];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static isr_handler_t handlers[256];

static const char *const exc_names[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD error",
    "#VE virtualization",
    "#CP control protection",
};

void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) desc = {sizeof(idt) - 1, (u64)idt};

	asm volatile("lidt %0" ::"m"(desc));
}

void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		u64 a = isr_stub_table[v];

		idt[v] = (struct idt_gate){.off0 = (u16)a,
					   .sel = GDT_CODE64,
					   .type = 0x8e,
					   .off1 = (u16)(a >> 16),
					   .off2 = (u32)(a >> 32)};
	}
	idt_load();
}

void idt_set_handler(u8 vector, isr_handler_t h)
{
	handlers[vector] = h;
}

/* A frame pointer we may follow: 8-aligned and in the identity map above page 0. */
static bool fp_plausible(u64 fp)
{
	return fp >= PAGE_SIZE && fp < (4ull << 30) - 16 && !(fp & 7);
}

static bool is_text(u64 a)
{
	return a >= (u64)__text_start && a < (u64)__text_end;
}

void dump_backtrace(u64 rbp)
{
	printf("Call Trace:\n");
	for (int i = 0; i < BACKTRACE_MAX && fp_plausible(rbp); i++) {
		const u64 *frame = (const u64 *)rbp;

		if (!frame[1])
			break;
		printf(" [<%016lx>]\n", frame[1]);
		if (frame[0] <= rbp) /* stacks grow down: callers' frames are higher */
			break;
		rbp = frame[0];
	}
}

static void report(const struct isr_frame *f)
{
	const char *name = f->vector < 32 ? exc_names[f->vector] : "unexpected interrupt";

	printf("testguest: EXCEPTION vector %lu (%s) error 0x%lx on cpu %u\n", f->vector,
	       name ? name : "reserved", f->error, smp_processor_id());
	printf("RIP: %04lx:%016lx RFLAGS: %08lx CR2: %016lx\n", f->cs, f->rip, f->rflags,
	       read_cr2());
	printf("RSP: %04lx:%016lx RBP: %016lx\n", f->ss, f->rsp, f->rbp);
	printf("RAX: %016lx RBX: %016lx RCX: %016lx RDX: %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	printf("RSI: %016lx RDI: %016lx R8:  %016lx R9:  %016lx\n", f->rsi, f->rdi, f->r8, f->r9);
	printf("R10: %016lx R11: %016lx R12: %016lx R13: %016lx\n", f->r10, f->r11, f->r12, f->r13);
	printf("R14: %016lx R15: %016lx\n", f->r14, f->r15);
	printf(" [<%016lx>] (faulting RIP)\n", f->rip);
	/* A frameless leaf (gcc makes those) leaves its return address only at [RSP]. */
	if (fp_plausible(f->rsp) && is_text(*(const u64 *)f->rsp))
		printf(" ? [<%016lx>] (at RSP: the caller, if the function had no frame)\n",
		       *(const u64 *)f->rsp);
	dump_backtrace(f->rbp);
}

void isr_dispatch(struct isr_frame *f);
void isr_dispatch(struct isr_frame *f)
{
	isr_handler_t h = handlers[f->vector & 255];

	if (h) {
		h(f);
		return;
	}
	console_lock(); /* keep the report in one piece */
	report(f);
	guest_exit(EXIT_EXCEPTION);
}
