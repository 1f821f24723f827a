// SPDX-License-Identifier: MIT
/*
 * Booting an arm64 Image: the header decides where the kernel goes
 * (a64_image.h), the initrd goes below the device tree at the top of RAM,
 * and vCPU 0 starts at the kernel with x0 = the device tree (booting.rst:
 * x1..x3 zero, EL1h, DAIF masked, MMU off). Other vCPUs stay off until the
 * guest's PSCI CPU_ON.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/arm64/a64_fdt.h"
#include "vmm/arm64/a64_image.h"
#include "vmm/arm64/a64_platform.h"
#include "vmm/arm64/a64_san.h"
#include "vmm/arm64/vm.h"
#include "vmm/log.h"

#define PSTATE_EL1H_DAIF 0x3c5ull /* EL1h, D, A, I, F masked */

static int read_at(const char *path, uint8_t *dst, uint64_t len, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint64_t done = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;

		pr_err("%s: %s", path, strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	*size = (uint64_t)st.st_size;
	while (dst && done < len) {
		ssize_t n = pread(fd, dst + done, len - done, (off_t)done);

		if (n <= 0) {
			pr_err("%s: short read at %llu", path, (unsigned long long)done);
			close(fd);
			return n < 0 ? -errno : -EIO;
		}
		done += (uint64_t)n;
	}
	close(fd);
	return 0;
}

/* The header and the layout, without touching RAM: bad input fails before any VM exists. */
static int plan(const struct a64_cli *cli, uint64_t ram_size, struct a64_boot_layout *l,
		uint64_t *kernel_size)
{
	uint8_t hdr[A64_IMAGE_HEADER_SIZE] = {0};
	struct a64_image img;
	uint64_t initrd_size = 0, ignored;
	int ret = read_at(cli->kernel, NULL, 0, kernel_size);

	if (!ret && *kernel_size >= sizeof(hdr))
		ret = read_at(cli->kernel, hdr, sizeof(hdr), &ignored);
	if (!ret)
		ret = a64_image_parse(hdr, sizeof(hdr), *kernel_size, &img);
	if (!ret && cli->initrd)
		ret = read_at(cli->initrd, NULL, 0, &initrd_size);
	if (!ret)
		ret = a64_boot_layout(&img, A64_RAM_BASE, ram_size, initrd_size, l);
	if (!ret && img.page_size && img.page_size != 4096)
		pr_warn("kernel: %u-byte pages; emulating accesses without syndrome needs 4 KiB",
			img.page_size);
	return ret;
}

int arm64_boot_check(const struct a64_cli *cli)
{
	struct a64_boot_layout l;
	uint64_t size;

	return plan(cli, cli->memory_mib << 20, &l, &size);
}

static int write_fdt(struct arm64_vm *vm, const struct a64_boot_layout *l)
{
	uint64_t mpidr[A64_CPUS_MAX];
	struct a64_fdt_config c;
	size_t len;

	a64_fdt_config_platform(&c, vm->nr_vcpus, vm->ram_size);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		mpidr[i] = vm->vcpus[i].mpidr;
	c.mpidr = mpidr;
	c.bootargs = vm->cli->append;
	c.initrd_start = l->initrd_ipa;
	c.initrd_end = l->initrd_ipa + l->initrd_size;
	if (vm->san)
		a64_san_fdt_node(vm->san, A64_KVMM_BASE, &c.kvmm);
	return a64_fdt_build(&c, vm->alias + (l->fdt_ipa - A64_RAM_BASE), A64_FDT_MAX_SIZE, &len);
}

static int set_entry(struct arm64_vcpu *v, uint64_t pc, uint64_t fdt)
{
	int ret = arm64_reg_set(v->fd, arm64_reg_x(0), fdt);

	for (unsigned int i = 1; i < 4 && !ret; i++)
		ret = arm64_reg_set(v->fd, arm64_reg_x(i), 0);
	if (!ret)
		ret = arm64_reg_set(v->fd, arm64_reg_pstate(), PSTATE_EL1H_DAIF);
	if (!ret)
		ret = arm64_reg_set(v->fd, arm64_reg_pc(), pc);
	if (ret)
		pr_err("vCPU 0: entry registers: %s", strerror(-ret));
	return ret;
}

int arm64_boot_load(struct arm64_vm *vm)
{
	struct a64_boot_layout l;
	uint64_t size, ignored;
	int ret = plan(vm->cli, vm->ram_size, &l, &size);

	if (!ret)
		ret = read_at(vm->cli->kernel, vm->alias + (l.kernel_ipa - A64_RAM_BASE), size,
			      &ignored);
	if (!ret && l.initrd_size)
		ret = read_at(vm->cli->initrd, vm->alias + (l.initrd_ipa - A64_RAM_BASE),
			      l.initrd_size, &ignored);
	if (!ret)
		ret = write_fdt(vm, &l);
	if (!ret)
		ret = set_entry(&vm->vcpus[0], l.kernel_ipa, l.fdt_ipa);
	if (!ret)
		pr_info("boot: kernel at 0x%llx, initrd at 0x%llx (%llu bytes), device tree at "
			"0x%llx",
			(unsigned long long)l.kernel_ipa, (unsigned long long)l.initrd_ipa,
			(unsigned long long)l.initrd_size, (unsigned long long)l.fdt_ipa);
	return ret;
}
