// SPDX-License-Identifier: MIT
/*
 * The arm64 sanitizer wiring on x86: a fake guest with RAM at IPA 1 GiB
 * registers, sets up a ring and reports a large kmalloc and its free through
 * doorbells; trapped accesses are judged and reported (with the frame-record
 * stack) in the host log; fault=panic stops the run; MTE tags are imported.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kv_fake_guest.h"
#include "vmm/arm64/a64_san.h"
#include "vmm/config.h"

#define BASE	0x40000000ull
#define RAM	(16ull << 20)
#define OBJ	0x200000ull /* RAM offset of the object */
#define STACK	0x5000ull
#define LR1	0xffff800008001234ull
#define LR2_PAC 0x00ff800008005678ull /* a signed return address */
#define LR2	0xffff800008005678ull

struct hooks {
	unsigned int armed, cleaned, stops;
	int code;
	char reason[320];
};

static void hook_arm(void *ctx, uint64_t page, bool poisoned)
{
	struct hooks *h = ctx;

	assert_true(page >= BASE && page < BASE + RAM && !(page & 0xfff));
	if (poisoned)
		h->armed++;
	else
		h->cleaned++;
}

static void hook_stop(void *ctx, int code, const char *reason)
{
	struct hooks *h = ctx;

	h->stops++;
	h->code = code;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
}

struct fix {
	struct fg g;
	struct a64_cli cli;
	struct hooks h;
	struct a64_san *s;
	struct a64_san_cpu cpu;
	char log[64];
	uint64_t seq;
};

static struct fix *setup_mode(unsigned int fault, unsigned int mode)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct a64_san_config c;

	f->g.ram = calloc(1, RAM);
	f->g.ram_size = RAM;
	snprintf(f->log, sizeof(f->log), "/tmp/test_a64_san.%d.log", getpid());
	unlink(f->log);
	f->cli.log = f->log;
	f->cli.fault = fault;
	f->cli.mode = mode;
	f->cli.multi_shot = true;
	c = (struct a64_san_config){.cli = &f->cli,
				    .ram = f->g.ram,
				    .ram_ipa = BASE,
				    .ram_size = RAM,
				    .nr_cpus = 1,
				    .arm = hook_arm,
				    .stop = hook_stop,
				    .ctx = &f->h};
	assert_int_equal(a64_san_create(&c, &f->s), 0);
	f->cpu = (struct a64_san_cpu){.cpu = 0, .pc = 0xffff800008000100ull, .fp = BASE + STACK};
	return f;
}

static struct fix *setup(unsigned int fault)
{
	return setup_mode(fault, SAN_GENERIC);
}

static void teardown(struct fix *f)
{
	a64_san_destroy(f->s);
	unlink(f->log);
	snprintf(f->log + strlen(f->log), 8, ".jsonl");
	unlink(f->log);
	free(f->g.ram);
	free(f);
}

/* The fake guest's blocks sit at RAM offsets: rebase their addresses to IPAs. */
static void guest_registers(struct fix *f)
{
	struct kv_cmd_register *b = fg_register_block(&f->g, 1);
	struct kv_cmd_ring_setup *r;

	b->direct_map_base = FG_DIRECT_MAP - BASE; /* direct_map_base + IPA = linear VA */
	b->seq_counter_gpa += BASE;
	a64_san_doorbell(f->s, &f->cpu, (uint32_t)(BASE >> 12) + FG_REG_PFN);
	assert_int_equal(b->hdr.status, KV_ST_OK);
	r = fg_setup_block(&f->g, 0, 16, 0x100000);
	r->hdr_gpa += BASE;
	r->data_gpa += BASE;
	a64_san_doorbell(f->s, &f->cpu, (uint32_t)(BASE >> 12) + FG_SETUP_PFN(0));
	assert_int_equal(r->hdr.status, KV_ST_OK);
}

/* An event about the object at OBJ, through a pointer with TBI tag `tag` (0xff: none). */
static void guest_event_tagged(struct fix *f, uint16_t kind, uint64_t size, uint8_t tag)
{
	struct kv_rec r = fg_rec(kind, 0, ++f->seq);

	r.addr = ((FG_DIRECT_MAP + OBJ) & ~(0xffull << 56)) | (uint64_t)tag << 56;
	r.size_req = size;
	r.size_alloc = size ? 8192 : 0;
	assert_true(fg_emit(&f->g.rings[0], r, NULL, NULL));
	a64_san_doorbell(f->s, &f->cpu, KV_DB_DRAIN);
}

static void guest_event(struct fix *f, uint16_t kind, uint64_t size)
{
	guest_event_tagged(f, kind, size, 0xff);
}

static char *read_log(const char *path)
{
	static char buf[65536];
	FILE *in = fopen(path, "r");
	size_t n = 0;

	if (in) {
		n = fread(buf, 1, sizeof(buf) - 1, in);
		fclose(in);
	}
	buf[n] = '\0';
	return buf;
}

static void test_fdt_node_values(void **state)
{
	struct fix *f = setup(SAN_FAULT_REPORT);
	struct a64_fdt_kvmm k;

	(void)state;
	a64_san_fdt_node(f->s, 0x09000000, &k);
	assert_true(k.present);
	assert_int_equal(k.doorbell.base, 0x09000000);
	assert_int_equal(k.doorbell.size, 0x1000);
	assert_int_equal(k.abi_version, KV_ABI_VERSION);
	assert_int_equal(k.features, KV_FEAT_EVENTS | KV_FEAT_STACKS);
	assert_int_equal(kv_cfg_mode(k.mode), KV_MODE_SYNC);
	assert_int_equal(kv_cfg_ring_slots(k.rings), 1);
	teardown(f);

	f = setup(SAN_FAULT_REPORT);
	a64_san_destroy(f->s);
	f->cli.mode = SAN_TAGS;
	f->cli.events = SAN_EVENTS_ASYNC;
	{
		struct a64_san_config c = {.cli = &f->cli,
					   .ram = f->g.ram,
					   .ram_ipa = BASE,
					   .ram_size = RAM,
					   .nr_cpus = 3,
					   .arm = hook_arm,
					   .stop = hook_stop,
					   .ctx = &f->h};

		assert_int_equal(a64_san_create(&c, &f->s), 0);
	}
	a64_san_fdt_node(f->s, 0x09000000, &k);
	assert_int_equal(k.features, KV_FEAT_EVENTS | KV_FEAT_STACKS | KV_FEAT_TAGS);
	assert_int_equal(kv_cfg_mode(k.mode), KV_MODE_ASYNC);
	assert_int_equal(kv_cfg_ring_slots(k.rings), 3);
	teardown(f);
}

static void test_events_judge_report(void **state)
{
	struct fix *f = setup(SAN_FAULT_REPORT);
	uint64_t rec[2];
	const char *log;

	(void)state;
	guest_registers(f);
	guest_event(f, KV_EV_KMALLOC_LARGE, 100);
	assert_true(f->h.armed > 0); /* the redzone's page is to be trapped */
	assert_false(a64_san_judge(f->s, &f->cpu, BASE + OBJ + 8, 0, 8, false));
	assert_int_equal(read_log(f->log)[0], '\0');

	/* a frame record chain at STACK: two callers, the second PAC-signed */
	rec[0] = BASE + STACK + 0x100;
	rec[1] = LR1;
	memcpy(f->g.ram + STACK, rec, 16);
	rec[0] = 0;
	rec[1] = LR2_PAC;
	memcpy(f->g.ram + STACK + 0x100, rec, 16);

	guest_event(f, KV_EV_KFREE_LARGE, 0);
	assert_true(a64_san_judge(f->s, &f->cpu, BASE + OBJ + 16, 0, 8, true));
	log = read_log(f->log);
	assert_non_null(strstr(log, "BUG: KASAN: use-after-free"));
	assert_non_null(strstr(log, "Write of size 8 at addr ffff888000200010 by task vcpu0"));
	assert_non_null(strstr(log, "0xffff800008001234"));
	assert_non_null(strstr(log, "0xffff800008005678"));
	assert_int_equal(f->h.stops, 0);
	(void)LR2;
	teardown(f);
}

/*
 * Tag mode (ABI 1.2): the tag in the guest's pointer at allocation becomes
 * the memory tag; an access is judged with the tag of the pointer it used,
 * even where the shadow is not poisoned (a live object); an unknown or
 * untagged pointer is match-all, and the report says so.
 */
static void test_tag_mode_pointer_tags(void **state)
{
	struct fix *f = setup_mode(SAN_FAULT_REPORT, SAN_TAGS);
	uint64_t va = (FG_DIRECT_MAP + OBJ + 16) & ~(0xffull << 56);
	const char *log;

	(void)state;
	guest_registers(f);
	guest_event_tagged(f, KV_EV_KMALLOC_LARGE, 100, 0xf3);
	assert_false(a64_san_judge(f->s, &f->cpu, BASE + OBJ + 16, va | 0xf3ull << 56, 8, false));
	assert_false(a64_san_judge(f->s, &f->cpu, BASE + OBJ + 16, va | 0xffull << 56, 8, true));
	assert_int_equal(read_log(f->log)[0], '\0');
	assert_true(a64_san_judge(f->s, &f->cpu, BASE + OBJ + 16, va | 0xf4ull << 56, 8, true));
	log = read_log(f->log);
	assert_non_null(strstr(log, "BUG: KASAN: invalid-access"));
	assert_non_null(strstr(log, "Write of size 8 at addr f4ff888000200010 by task vcpu0"));
	assert_non_null(strstr(log, "Pointer tag: [f4], memory tag: [f3]"));

	guest_event_tagged(f, KV_EV_KFREE_LARGE, 0, 0xf3);
	assert_true(a64_san_judge(f->s, &f->cpu, BASE + OBJ + 16, va | 0xf3ull << 56, 8, false));
	log = read_log(f->log);
	assert_non_null(strstr(log, "Read of size 8 at addr f3ff888000200010 by task vcpu0"));
	assert_non_null(strstr(log, "Pointer tag: [f3], memory tag: [fe]"));
	/* the address unknown (not decoded): named by the linear map, match-all */
	assert_true(a64_san_judge(f->s, &f->cpu, BASE + OBJ + 32, 0, 8, false));
	log = read_log(f->log);
	assert_non_null(strstr(log, "Read of size 8 at addr ffff888000200020 by task vcpu0"));
	assert_non_null(strstr(log, "Pointer tag: [ff], memory tag: [fe]"));
	teardown(f);
}

static void test_fault_panic_stops(void **state)
{
	struct fix *f = setup(SAN_FAULT_PANIC);

	(void)state;
	guest_registers(f);
	guest_event(f, KV_EV_KMALLOC_LARGE, 100);
	guest_event(f, KV_EV_KFREE_LARGE, 0);
	assert_true(a64_san_judge(f->s, &f->cpu, BASE + OBJ, 0, 4, false));
	assert_int_equal(f->h.stops, 1);
	assert_int_equal(f->h.code, VMM_EXIT_KASAN_PANIC);
	assert_non_null(strstr(f->h.reason, "use-after-free"));
	teardown(f);
}

static void test_mte_import(void **state)
{
	struct fix *f = setup(SAN_FAULT_REPORT);
	static const uint8_t tags[3] = {0x3, 0xe, 0xf3};
	uint8_t t;

	(void)state;
	assert_true(a64_san_mte_tag(f->s, BASE, &t));
	assert_int_equal(t, 0xff); /* nothing imported yet */
	assert_true(a64_san_mte_import(f->s, BASE + 0x1000, tags, 3));
	assert_true(a64_san_mte_tag(f->s, BASE + 0x1000, &t));
	assert_int_equal(t, 0xf3);
	assert_true(a64_san_mte_tag(f->s, BASE + 0x101f, &t));
	assert_int_equal(t, 0xfe); /* MTE 0xE is KASAN's TAG_INVALID */
	assert_true(a64_san_mte_tag(f->s, BASE + 0x1020, &t));
	assert_int_equal(t, 0xf3); /* only bits 3:0 are a tag */
	assert_true(a64_san_mte_tag(f->s, BASE + 0x1030, &t));
	assert_int_equal(t, 0xff);
	assert_false(a64_san_mte_import(f->s, BASE + RAM - 16, tags, 2));
	assert_false(a64_san_mte_import(f->s, BASE - 16, tags, 1));
	assert_false(a64_san_mte_tag(f->s, BASE - 16, &t));
	teardown(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fdt_node_values),
	    cmocka_unit_test(test_events_judge_report),
	    cmocka_unit_test(test_tag_mode_pointer_tags),
	    cmocka_unit_test(test_fault_panic_stops),
	    cmocka_unit_test(test_mte_import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
