// SPDX-License-Identifier: MIT
/*
 * Device tree generator (libfdt sequential-write API). The tree is small and
 * fixed in shape; everything variable comes from struct a64_fdt_config and
 * is validated first, so a bad config never produces a half-written tree.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "vmm/arm64/a64_fdt.h"
#include "vmm/arm64/a64_platform.h"
#include "vmm/log.h"

#define PHANDLE_GIC    1
#define GIC_SPI	       0
#define GIC_PPI	       1
#define IRQ_LEVEL_HIGH 4

uint64_t a64_default_mpidr(unsigned int index)
{
	return (1ull << 31) | ((uint64_t)((index >> 12) & 0xff) << 16) |
	       ((uint64_t)((index >> 4) & 0xff) << 8) | (index & 0xf);
}

void a64_fdt_config_platform(struct a64_fdt_config *cfg, unsigned int nr_cpus, uint64_t ram_size)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram = (struct a64_fdt_region){A64_RAM_BASE, ram_size};
	cfg->nr_cpus = nr_cpus;
	cfg->gic_dist = (struct a64_fdt_region){A64_GIC_DIST_BASE, A64_GIC_DIST_SIZE};
	cfg->gic_redist =
	    (struct a64_fdt_region){A64_GIC_REDIST_BASE, nr_cpus * A64_GIC_REDIST_PER_CPU};
	cfg->uart = (struct a64_fdt_region){A64_UART_BASE, A64_UART_SIZE};
	cfg->uart_spi = A64_UART_SPI;
	cfg->uart_clock = A64_UART_CLOCK;
	cfg->psci_1_0 = true;
}

/* ---- validation ---- */

static bool region_ok(const struct a64_fdt_region *r)
{
	return r->size && r->base + r->size > r->base && !(r->base & 0xfff);
}

static bool regions_overlap(const struct a64_fdt_region *a, const struct a64_fdt_region *b)
{
	return a->base < b->base + b->size && b->base < a->base + a->size;
}

static int check_regions(const struct a64_fdt_config *cfg)
{
	const struct a64_fdt_region *r[5] = {&cfg->ram, &cfg->gic_dist, &cfg->gic_redist,
					     &cfg->uart, &cfg->kvmm.doorbell};
	static const char *const name[5] = {"RAM", "GIC distributor", "GIC redistributors", "UART",
					    "kasan-vmm doorbell page"};
	unsigned int n = cfg->kvmm.present ? 5 : 4;

	for (unsigned int i = 0; i < n; i++) {
		if (!region_ok(r[i])) {
			pr_err("device tree: %s region [0x%llx, +0x%llx) is empty, wraps or is "
			       "not page-aligned",
			       name[i], (unsigned long long)r[i]->base,
			       (unsigned long long)r[i]->size);
			return -EINVAL;
		}
		for (unsigned int j = 0; j < i; j++) {
			if (regions_overlap(r[i], r[j])) {
				pr_err("device tree: %s overlaps %s", name[i], name[j]);
				return -EINVAL;
			}
		}
	}
	if (cfg->gic_redist.size < cfg->nr_cpus * A64_GIC_REDIST_PER_CPU) {
		pr_err("device tree: GIC redistributor region too small for %u vCPUs",
		       cfg->nr_cpus);
		return -EINVAL;
	}
	return 0;
}

static int check_cpus(const struct a64_fdt_config *cfg)
{
	if (!cfg->nr_cpus || cfg->nr_cpus > A64_CPUS_MAX || !cfg->mpidr) {
		pr_err("device tree: %u vCPUs (1..%u, with MPIDRs)", cfg->nr_cpus, A64_CPUS_MAX);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
		uint64_t id = cfg->mpidr[i] & A64_MPIDR_AFF_MASK;

		if (id >> 32) {
			pr_err("device tree: vCPU %u MPIDR 0x%llx has Aff3 set", i,
			       (unsigned long long)cfg->mpidr[i]);
			return -EINVAL;
		}
		for (unsigned int j = 0; j < i; j++) {
			if ((cfg->mpidr[j] & A64_MPIDR_AFF_MASK) == id) {
				pr_err("device tree: vCPUs %u and %u share MPIDR 0x%llx", j, i,
				       (unsigned long long)id);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_config(const struct a64_fdt_config *cfg)
{
	int ret = check_cpus(cfg);

	if (!ret)
		ret = check_regions(cfg);
	if (ret)
		return ret;
	if (cfg->bootargs && strlen(cfg->bootargs) >= A64_BOOTARGS_MAX) {
		pr_err("device tree: kernel command line longer than %d bytes",
		       A64_BOOTARGS_MAX - 1);
		return -EINVAL;
	}
	if (cfg->initrd_end < cfg->initrd_start ||
	    (cfg->initrd_end > cfg->initrd_start &&
	     (cfg->initrd_start < cfg->ram.base ||
	      cfg->initrd_end > cfg->ram.base + cfg->ram.size))) {
		pr_err("device tree: initrd [0x%llx, 0x%llx) is not inside RAM",
		       (unsigned long long)cfg->initrd_start, (unsigned long long)cfg->initrd_end);
		return -EINVAL;
	}
	if (cfg->uart_spi + A64_INTID_SPI_BASE >= A64_NR_IRQS) {
		pr_err("device tree: UART SPI %u is beyond the GIC's %u interrupts", cfg->uart_spi,
		       A64_NR_IRQS);
		return -EINVAL;
	}
	return 0;
}

/* ---- nodes ---- */

/* reg = <base size> with #address-cells = #size-cells = 2. */
static int prop_reg2(void *fdt, const struct a64_fdt_region *r, unsigned int n)
{
	fdt64_t cells[4];

	for (unsigned int i = 0; i < n; i++) {
		cells[2 * i] = cpu_to_fdt64(r[i].base);
		cells[2 * i + 1] = cpu_to_fdt64(r[i].size);
	}
	return fdt_property(fdt, "reg", cells, (int)(n * 2 * sizeof(fdt64_t)));
}

static int prop_irqs(void *fdt, const uint32_t (*irq)[3], unsigned int n)
{
	fdt32_t cells[12];

	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = 0; j < 3; j++)
			cells[3 * i + j] = cpu_to_fdt32(irq[i][j]);
	return fdt_property(fdt, "interrupts", cells, (int)(n * 3 * sizeof(fdt32_t)));
}

static int begin_node_at(void *fdt, const char *kind, uint64_t addr)
{
	char name[64];

	snprintf(name, sizeof(name), "%s@%llx", kind, (unsigned long long)addr);
	return fdt_begin_node(fdt, name);
}

static int node_cpus(void *fdt, const struct a64_fdt_config *cfg)
{
	int err = fdt_begin_node(fdt, "cpus");

	err |= fdt_property_u32(fdt, "#address-cells", 1);
	err |= fdt_property_u32(fdt, "#size-cells", 0);
	for (unsigned int i = 0; i < cfg->nr_cpus && !err; i++) {
		uint32_t id = (uint32_t)(cfg->mpidr[i] & A64_MPIDR_AFF_MASK);

		err |= begin_node_at(fdt, "cpu", id);
		err |= fdt_property_string(fdt, "device_type", "cpu");
		err |= fdt_property_string(fdt, "compatible", "arm,arm-v8");
		err |= fdt_property_string(fdt, "enable-method", "psci");
		err |= fdt_property_u32(fdt, "reg", id);
		err |= fdt_end_node(fdt);
	}
	return err | fdt_end_node(fdt);
}

static int node_psci_timer(void *fdt, const struct a64_fdt_config *cfg)
{
	static const char psci_both[] = "arm,psci-1.0\0arm,psci-0.2";
	static const uint32_t timer[4][3] = {{GIC_PPI, A64_PPI_TIMER_SEC, IRQ_LEVEL_HIGH},
					     {GIC_PPI, A64_PPI_TIMER_PHYS, IRQ_LEVEL_HIGH},
					     {GIC_PPI, A64_PPI_TIMER_VIRT, IRQ_LEVEL_HIGH},
					     {GIC_PPI, A64_PPI_TIMER_HYP, IRQ_LEVEL_HIGH}};
	int err = fdt_begin_node(fdt, "psci");

	if (cfg->psci_1_0)
		err |= fdt_property(fdt, "compatible", psci_both, sizeof(psci_both));
	else
		err |= fdt_property_string(fdt, "compatible", "arm,psci-0.2");
	err |= fdt_property_string(fdt, "method", "hvc");
	err |= fdt_end_node(fdt);

	err |= fdt_begin_node(fdt, "timer");
	err |= fdt_property_string(fdt, "compatible", "arm,armv8-timer");
	err |= prop_irqs(fdt, timer, 4);
	err |= fdt_property(fdt, "always-on", NULL, 0);
	return err | fdt_end_node(fdt);
}

static int node_gic(void *fdt, const struct a64_fdt_config *cfg)
{
	struct a64_fdt_region regs[2] = {cfg->gic_dist, cfg->gic_redist};
	int err = begin_node_at(fdt, "intc", cfg->gic_dist.base);

	err |= fdt_property_string(fdt, "compatible", "arm,gic-v3");
	err |= fdt_property_u32(fdt, "#interrupt-cells", 3);
	/* no children: interrupt-map parents expect #address-cells on the controller */
	err |= fdt_property_u32(fdt, "#address-cells", 0);
	err |= fdt_property(fdt, "interrupt-controller", NULL, 0);
	err |= prop_reg2(fdt, regs, 2);
	err |= fdt_property_u32(fdt, "phandle", PHANDLE_GIC);
	return err | fdt_end_node(fdt);
}

static int node_uart(void *fdt, const struct a64_fdt_config *cfg)
{
	const uint32_t irq[1][3] = {{GIC_SPI, cfg->uart_spi, IRQ_LEVEL_HIGH}};
	int err = begin_node_at(fdt, "serial", cfg->uart.base);

	err |= fdt_property_string(fdt, "compatible", "ns16550a");
	err |= prop_reg2(fdt, &cfg->uart, 1);
	err |= fdt_property_u32(fdt, "clock-frequency", cfg->uart_clock);
	err |= prop_irqs(fdt, irq, 1);
	return err | fdt_end_node(fdt);
}

static int node_kvmm(void *fdt, const struct a64_fdt_kvmm *k)
{
	int err = begin_node_at(fdt, "kasan-vmm", k->doorbell.base);

	err |= fdt_property_string(fdt, "compatible", "kasan-vmm,paravirt");
	err |= prop_reg2(fdt, &k->doorbell, 1);
	err |= fdt_property_u32(fdt, "kasan-vmm,abi-version", k->abi_version);
	err |= fdt_property_u32(fdt, "kasan-vmm,features", k->features);
	err |= fdt_property_u32(fdt, "kasan-vmm,mode", k->mode);
	err |= fdt_property_u32(fdt, "kasan-vmm,rings", k->rings);
	return err | fdt_end_node(fdt);
}

static int node_chosen(void *fdt, const struct a64_fdt_config *cfg)
{
	char stdout_path[64];
	int err = fdt_begin_node(fdt, "chosen");

	snprintf(stdout_path, sizeof(stdout_path), "/serial@%llx",
		 (unsigned long long)cfg->uart.base);
	if (cfg->bootargs)
		err |= fdt_property_string(fdt, "bootargs", cfg->bootargs);
	err |= fdt_property_string(fdt, "stdout-path", stdout_path);
	if (cfg->initrd_end > cfg->initrd_start) {
		err |= fdt_property_u64(fdt, "linux,initrd-start", cfg->initrd_start);
		err |= fdt_property_u64(fdt, "linux,initrd-end", cfg->initrd_end);
	}
	return err | fdt_end_node(fdt);
}

static int write_tree(void *fdt, size_t cap, const struct a64_fdt_config *cfg)
{
	int err = fdt_create(fdt, (int)cap);

	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", "linux,dummy-virt");
	err |= fdt_property_u32(fdt, "#address-cells", 2);
	err |= fdt_property_u32(fdt, "#size-cells", 2);
	err |= fdt_property_u32(fdt, "interrupt-parent", PHANDLE_GIC);
	err |= node_chosen(fdt, cfg);
	err |= begin_node_at(fdt, "memory", cfg->ram.base);
	err |= fdt_property_string(fdt, "device_type", "memory");
	err |= prop_reg2(fdt, &cfg->ram, 1);
	err |= fdt_end_node(fdt);
	err |= node_cpus(fdt, cfg);
	err |= node_psci_timer(fdt, cfg);
	err |= node_gic(fdt, cfg);
	err |= node_uart(fdt, cfg);
	if (cfg->kvmm.present)
		err |= node_kvmm(fdt, &cfg->kvmm);
	err |= fdt_end_node(fdt);
	return err | fdt_finish(fdt);
}

int a64_fdt_build(const struct a64_fdt_config *cfg, void *buf, size_t cap, size_t *len)
{
	int ret = check_config(cfg);

	if (ret)
		return ret;
	if (cap < sizeof(struct fdt_header) || cap > A64_FDT_MAX_SIZE) {
		pr_err("device tree: buffer of %zu bytes (at most %llu)", cap,
		       (unsigned long long)A64_FDT_MAX_SIZE);
		return -EINVAL;
	}
	/* libfdt errors are negative; OR-ing them keeps "some call failed", and
	 * with a validated config the only possible failure is running out of room. */
	if (write_tree(buf, cap, cfg) || fdt_check_header(buf)) {
		pr_err("device tree: does not fit in %zu bytes", cap);
		return -ENOSPC;
	}
	*len = fdt_totalsize(buf);
	return 0;
}
