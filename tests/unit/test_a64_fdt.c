// SPDX-License-Identifier: MIT
/*
 * The arm64 device tree: every node and property read back with libfdt, the
 * blob accepted by dtc without warnings, and bad configurations refused.
 */
#include <errno.h>
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "paravirt/kasan_vmm_abi.h"
#include "vmm/arm64/a64_fdt.h"
#include "vmm/arm64/a64_platform.h"

#define CAP (64 * 1024)
#define RAM (256ull << 20)

static uint64_t mpidr[A64_CPUS_MAX];
static uint8_t blob[CAP];

static void sample(struct a64_fdt_config *c, unsigned int cpus)
{
	for (unsigned int i = 0; i < A64_CPUS_MAX; i++)
		mpidr[i] = a64_default_mpidr(i);
	a64_fdt_config_platform(c, cpus, RAM);
	c->mpidr = mpidr;
	c->bootargs = "console=ttyS0 earlycon kasan_vmm=on";
	c->initrd_start = A64_RAM_BASE + 0x8000000;
	c->initrd_end = A64_RAM_BASE + 0x8123000;
	c->kvmm = (struct a64_fdt_kvmm){.present = true,
					.doorbell = {A64_KVMM_BASE, A64_KVMM_SIZE},
					.abi_version = KV_ABI_VERSION,
					.features = KV_FEAT_EVENTS | KV_FEAT_STACKS,
					.mode = KV_MODE_ASYNC | 8 << 8,
					.rings = 2 | 12 << 16 | 22 << 24};
}

static size_t build(const struct a64_fdt_config *c)
{
	size_t len = 0;

	assert_int_equal(a64_fdt_build(c, blob, sizeof(blob), &len), 0);
	assert_int_equal(fdt_check_header(blob), 0);
	assert_int_equal(fdt_totalsize(blob), len);
	return len;
}

static int node(const char *path)
{
	int off = fdt_path_offset(blob, path);

	if (off < 0)
		fail_msg("no node %s", path);
	return off;
}

static uint32_t u32_at(const char *path, const char *prop, int index)
{
	int len;
	const fdt32_t *p = fdt_getprop(blob, node(path), prop, &len);

	if (!p || len < (int)((index + 1) * sizeof(*p)))
		fail_msg("%s: no %s[%d]", path, prop, index);
	return fdt32_to_cpu(p[index]);
}

static uint64_t u64_at(const char *path, const char *prop, int index)
{
	int len;
	const uint8_t *p = fdt_getprop(blob, node(path), prop, &len);
	fdt64_t v;

	if (!p || len < (int)((index + 1) * sizeof(v)))
		fail_msg("%s: no %s[%d]", path, prop, index);
	memcpy(&v, p + index * sizeof(v), sizeof(v)); /* properties are only 4-byte aligned */
	return fdt64_to_cpu(v);
}

static void assert_str(const char *path, const char *prop, const char *want)
{
	const char *s = fdt_getprop(blob, node(path), prop, NULL);

	assert_non_null(s);
	assert_string_equal(s, want);
}

static void assert_prop_len(const char *path, const char *prop, int want)
{
	int len = -1;

	fdt_getprop(blob, node(path), prop, &len);
	assert_int_equal(len, want);
}

static void test_root_memory_chosen(void **state)
{
	struct a64_fdt_config c;

	(void)state;
	sample(&c, 2);
	build(&c);
	assert_str("/", "compatible", "linux,dummy-virt");
	assert_int_equal(u32_at("/", "#address-cells", 0), 2);
	assert_int_equal(u32_at("/", "#size-cells", 0), 2);
	assert_int_equal(u32_at("/", "interrupt-parent", 0),
			 fdt_get_phandle(blob, node("/intc@8000000")));
	assert_str("/memory@40000000", "device_type", "memory");
	assert_int_equal(u64_at("/memory@40000000", "reg", 0), A64_RAM_BASE);
	assert_int_equal(u64_at("/memory@40000000", "reg", 1), RAM);
	assert_str("/chosen", "bootargs", "console=ttyS0 earlycon kasan_vmm=on");
	assert_str("/chosen", "stdout-path", "/serial@9001000");
	assert_int_equal(u64_at("/chosen", "linux,initrd-start", 0), A64_RAM_BASE + 0x8000000);
	assert_int_equal(u64_at("/chosen", "linux,initrd-end", 0), A64_RAM_BASE + 0x8123000);
}

static void test_cpus_psci_timer(void **state)
{
	static const char psci[] = "arm,psci-1.0\0arm,psci-0.2";
	static const uint32_t ppis[4] = {13, 14, 11, 10};
	struct a64_fdt_config c;
	const void *p;
	int len;

	(void)state;
	sample(&c, 18); /* vCPU 16 and 17 have Aff1 = 1 */
	build(&c);
	assert_int_equal(u32_at("/cpus", "#address-cells", 0), 1);
	assert_int_equal(u32_at("/cpus", "#size-cells", 0), 0);
	assert_int_equal(u32_at("/cpus/cpu@0", "reg", 0), 0);
	assert_int_equal(u32_at("/cpus/cpu@f", "reg", 0), 15);
	assert_int_equal(u32_at("/cpus/cpu@101", "reg", 0), 0x101);
	assert_str("/cpus/cpu@101", "device_type", "cpu");
	assert_str("/cpus/cpu@101", "enable-method", "psci");
	assert_str("/cpus/cpu@101", "compatible", "arm,arm-v8");
	assert_true(fdt_path_offset(blob, "/cpus/cpu@102") < 0);
	p = fdt_getprop(blob, node("/psci"), "compatible", &len);
	assert_int_equal(len, sizeof(psci));
	assert_memory_equal(p, psci, sizeof(psci));
	assert_str("/psci", "method", "hvc");
	assert_str("/timer", "compatible", "arm,armv8-timer");
	assert_prop_len("/timer", "interrupts", 12 * 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(u32_at("/timer", "interrupts", 3 * i), 1); /* PPI */
		assert_int_equal(u32_at("/timer", "interrupts", 3 * i + 1), ppis[i]);
		assert_int_equal(u32_at("/timer", "interrupts", 3 * i + 2), 4);
	}
	assert_prop_len("/timer", "always-on", 0);
}

static void test_gic_uart_kvmm(void **state)
{
	struct a64_fdt_config c;

	(void)state;
	sample(&c, 3);
	build(&c);
	assert_str("/intc@8000000", "compatible", "arm,gic-v3");
	assert_int_equal(u32_at("/intc@8000000", "#interrupt-cells", 0), 3);
	assert_prop_len("/intc@8000000", "interrupt-controller", 0);
	assert_int_equal(u32_at("/intc@8000000", "#address-cells", 0), 0);
	assert_int_equal(u64_at("/intc@8000000", "reg", 0), A64_GIC_DIST_BASE);
	assert_int_equal(u64_at("/intc@8000000", "reg", 1), A64_GIC_DIST_SIZE);
	assert_int_equal(u64_at("/intc@8000000", "reg", 2), A64_GIC_REDIST_BASE);
	assert_int_equal(u64_at("/intc@8000000", "reg", 3), 3 * A64_GIC_REDIST_PER_CPU);
	assert_int_not_equal(fdt_get_phandle(blob, node("/intc@8000000")), 0);

	assert_str("/serial@9001000", "compatible", "ns16550a");
	assert_int_equal(u64_at("/serial@9001000", "reg", 0), A64_UART_BASE);
	assert_int_equal(u64_at("/serial@9001000", "reg", 1), A64_UART_SIZE);
	assert_int_equal(u32_at("/serial@9001000", "clock-frequency", 0), A64_UART_CLOCK);
	assert_prop_len("/serial@9001000", "interrupts", 3 * 4);
	assert_int_equal(u32_at("/serial@9001000", "interrupts", 0), 0); /* SPI */
	assert_int_equal(u32_at("/serial@9001000", "interrupts", 1), A64_UART_SPI);
	assert_int_equal(u32_at("/serial@9001000", "interrupts", 2), 4);

	assert_str("/kasan-vmm@9000000", "compatible", "kasan-vmm,paravirt");
	assert_int_equal(u64_at("/kasan-vmm@9000000", "reg", 0), A64_KVMM_BASE);
	assert_int_equal(u64_at("/kasan-vmm@9000000", "reg", 1), A64_KVMM_SIZE);
	assert_int_equal(u32_at("/kasan-vmm@9000000", "kasan-vmm,abi-version", 0), KV_ABI_VERSION);
	assert_int_equal(u32_at("/kasan-vmm@9000000", "kasan-vmm,features", 0),
			 KV_FEAT_EVENTS | KV_FEAT_STACKS);
	assert_int_equal(u32_at("/kasan-vmm@9000000", "kasan-vmm,mode", 0), KV_MODE_ASYNC | 8 << 8);
	assert_int_equal(u32_at("/kasan-vmm@9000000", "kasan-vmm,rings", 0),
			 2 | 12 << 16 | 22 << 24);
	assert_int_equal(fdt_node_offset_by_compatible(blob, -1, "kasan-vmm,paravirt"),
			 node("/kasan-vmm@9000000"));
}

static void test_optional_parts_absent(void **state)
{
	struct a64_fdt_config c;

	(void)state;
	sample(&c, 1);
	c.bootargs = NULL;
	c.initrd_start = c.initrd_end = 0;
	c.kvmm.present = false;
	c.psci_1_0 = false;
	build(&c);
	assert_prop_len("/chosen", "bootargs", -FDT_ERR_NOTFOUND);
	assert_prop_len("/chosen", "linux,initrd-start", -FDT_ERR_NOTFOUND);
	assert_prop_len("/chosen", "linux,initrd-end", -FDT_ERR_NOTFOUND);
	assert_str("/chosen", "stdout-path", "/serial@9001000");
	assert_true(fdt_path_offset(blob, "/kasan-vmm@9000000") < 0);
	assert_str("/psci", "compatible", "arm,psci-0.2");
	assert_prop_len("/psci", "compatible", sizeof("arm,psci-0.2"));
}

static int run_dtc(const char *dtb, const char *dts, const char *err)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o %s %s 2>%s", dts, dtb, err);
	return system(cmd);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[CAP * 4];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* dtc (device-tree-compiler) reads the blob back, checks it and prints nothing on stderr. */
static void test_dtc_accepts(void **state)
{
	static const char *const expect[] = {
	    "compatible = \"linux,dummy-virt\";",
	    "memory@40000000 {",
	    "cpu@1 {",
	    "enable-method = \"psci\";",
	    "compatible = \"arm,psci-1.0\\0arm,psci-0.2\";", /* dtc 1.6 prints lists so */
	    "method = \"hvc\";",
	    "compatible = \"arm,armv8-timer\";",
	    "intc@8000000 {",
	    "compatible = \"arm,gic-v3\";",
	    "serial@9001000 {",
	    "compatible = \"ns16550a\";",
	    "kasan-vmm@9000000 {",
	    "compatible = \"kasan-vmm,paravirt\";",
	    "bootargs = \"console=ttyS0 earlycon kasan_vmm=on\";",
	    "stdout-path = \"/serial@9001000\";",
	};
	char dir[] = "/tmp/test_a64_fdt.XXXXXX";
	char dtb[64], dts[64], err[64], abi[64];
	struct a64_fdt_config c;
	const char *text;
	size_t len;
	FILE *f;

	(void)state;
	sample(&c, 2);
	len = build(&c);
	assert_non_null(mkdtemp(dir));
	snprintf(dtb, sizeof(dtb), "%s/t.dtb", dir);
	snprintf(dts, sizeof(dts), "%s/t.dts", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	f = fopen(dtb, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(blob, 1, len, f), len);
	fclose(f);
	assert_int_equal(run_dtc(dtb, dts, err), 0);
	assert_string_equal(slurp(err), ""); /* no warnings either */
	text = slurp(dts);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		if (!strstr(text, expect[i]))
			fail_msg("dtc output lacks: %s\n%s", expect[i], text);
	snprintf(abi, sizeof(abi), "kasan-vmm,abi-version = <0x%x>;", KV_ABI_VERSION);
	if (!strstr(text, abi))
		fail_msg("dtc output lacks: %s\n%s", abi, text);
	unlink(dtb);
	unlink(dts);
	unlink(err);
	rmdir(dir);
}

static void expect_einval(struct a64_fdt_config *c)
{
	size_t len = 0;

	memset(blob, 0xAA, 64);
	assert_int_equal(a64_fdt_build(c, blob, sizeof(blob), &len), -EINVAL);
	assert_int_equal(len, 0);
	assert_int_not_equal(fdt_check_header(blob), 0); /* nothing was written */
}

static void test_bad_configs(void **state)
{
	static char long_args[A64_BOOTARGS_MAX + 1];
	struct a64_fdt_config c;

	(void)state;
	sample(&c, 0);
	expect_einval(&c);
	sample(&c, A64_CPUS_MAX + 1);
	expect_einval(&c);
	sample(&c, 2);
	c.mpidr = NULL;
	expect_einval(&c);
	sample(&c, 2);
	mpidr[1] = mpidr[0] | 0x80000000ull; /* same affinity, other non-affinity bits */
	expect_einval(&c);
	sample(&c, 2);
	mpidr[1] = 1ull << 32; /* Aff3 */
	expect_einval(&c);
	sample(&c, 2);
	c.kvmm.doorbell.base = A64_UART_BASE; /* overlaps the UART */
	expect_einval(&c);
	sample(&c, 2);
	c.ram.base = A64_GIC_DIST_BASE; /* RAM over the GIC */
	expect_einval(&c);
	sample(&c, 2);
	c.ram.size = 0;
	expect_einval(&c);
	sample(&c, 2);
	c.ram.base = ~0ull - 0xfff; /* wraps */
	expect_einval(&c);
	sample(&c, 4);
	c.gic_redist.size = A64_GIC_REDIST_PER_CPU; /* one frame for four vCPUs */
	expect_einval(&c);
	sample(&c, 2);
	c.initrd_end = A64_RAM_BASE + RAM + 1; /* past RAM */
	expect_einval(&c);
	sample(&c, 2);
	c.initrd_start = A64_RAM_BASE - 0x1000;
	expect_einval(&c);
	sample(&c, 2);
	c.initrd_end = c.initrd_start - 1;
	expect_einval(&c);
	sample(&c, 2);
	c.uart_spi = A64_NR_IRQS;
	expect_einval(&c);
	sample(&c, 2);
	memset(long_args, 'a', A64_BOOTARGS_MAX);
	c.bootargs = long_args;
	expect_einval(&c);
}

static void test_size_cap(void **state)
{
	struct a64_fdt_config c;
	size_t len = 0, full;

	(void)state;
	sample(&c, A64_CPUS_MAX);
	full = build(&c);
	assert_true(full < CAP);
	assert_int_equal(a64_fdt_build(&c, blob, full - 8, &len), -ENOSPC);
	assert_int_equal(a64_fdt_build(&c, blob, 16, &len), -EINVAL);
	assert_int_equal(a64_fdt_build(&c, blob, A64_FDT_MAX_SIZE + 1, &len), -EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(a64_fdt_build(&c, blob, full, &len), 0);
	assert_int_equal(len, full);
	assert_int_equal(u32_at("/cpus/cpu@303", "reg", 0), 0x303); /* vCPU 63 */
}

static void test_default_mpidr(void **state)
{
	(void)state;
	assert_int_equal(a64_default_mpidr(0), 0x80000000ull);
	assert_int_equal(a64_default_mpidr(15), 0x8000000full);
	assert_int_equal(a64_default_mpidr(16), 0x80000100ull);
	assert_int_equal(a64_default_mpidr(0x1234), 0x80012304ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_memory_chosen), cmocka_unit_test(test_cpus_psci_timer),
	    cmocka_unit_test(test_gic_uart_kvmm),      cmocka_unit_test(test_optional_parts_absent),
	    cmocka_unit_test(test_dtc_accepts),	       cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_size_cap),	       cmocka_unit_test(test_default_mpidr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
