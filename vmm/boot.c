// SPDX-License-Identifier: MIT
/*
 * What both boot protocols share: reading the image files, telling the
 * protocols apart, the e820 memory map, high placement (initrd) and the
 * command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/log.h"

#define PAGE_SIZE 4096ull

/* Maps a regular file read-only; an empty file gives data NULL, len 0. */
static int image_map(const char *what, const char *path, struct boot_image *img)
{
	struct stat st;
	void *p;
	int fd, err;

	img->name = path;
	img->data = NULL;
	img->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("%s %s: %s", what, path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("%s %s: not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			err = -errno;
			pr_err("%s %s: mmap: %s", what, path, strerror(errno));
			close(fd);
			return err;
		}
		img->data = p;
		img->len = (size_t)st.st_size;
	}
	close(fd);
	return 0;
}

static void image_unmap(struct boot_image *img)
{
	if (img->data)
		munmap((void *)img->data, img->len);
	img->data = NULL;
	img->len = 0;
}

enum boot_kind boot_identify(const struct boot_image *img)
{
	static const uint8_t elf_magic[4] = {0x7f, 'E', 'L', 'F'};

	if (img->len >= 0x206 && memcmp(img->data + 0x202, "HdrS", 4) == 0)
		return BOOT_KIND_BZIMAGE;
	if (img->len >= 4 && memcmp(img->data, elf_magic, 4) == 0)
		return BOOT_KIND_PVH;
	return BOOT_KIND_NONE;
}

/* Checks the headers of the protocol the image claims; 0 or -ENOEXEC with *why. */
static int image_check(const struct boot_image *img, enum boot_kind *kind, const char **why)
{
	uint32_t entry;

	*kind = boot_identify(img);
	switch (*kind) {
	case BOOT_KIND_BZIMAGE:
		return bzimage_check(img, why);
	case BOOT_KIND_PVH:
		return pvh_find_entry(img, &entry, why);
	default:
		*why = "not a Linux bzImage nor an ELF kernel with a PVH entry note";
		return -ENOEXEC;
	}
}

int boot_probe_kernel(const char *path, enum boot_kind *kind)
{
	struct boot_image img;
	const char *why = "";
	int err;

	*kind = BOOT_KIND_NONE;
	err = image_map("kernel", path, &img);
	if (err)
		return err;
	err = image_check(&img, kind, &why);
	if (err) {
		pr_err("kernel %s: %s", path, why);
		*kind = BOOT_KIND_NONE;
	}
	image_unmap(&img);
	return err;
}

/* Maps the files and plans (entry NULL: no RAM is touched) or loads them. */
static int boot_files(const struct guest_ram *ram, const char *kernel, const char *initrd,
		      const char *cmdline, struct boot_entry *entry)
{
	struct boot_image k, rd = {.name = NULL}, *rdp = initrd ? &rd : NULL;
	struct boot_plan plan;
	enum boot_kind kind;
	const char *why = "";
	int err;

	err = image_map("kernel", kernel, &k);
	if (err)
		return err;
	err = initrd ? image_map("initrd", initrd, &rd) : 0;
	if (err)
		goto out;
	err = image_check(&k, &kind, &why);
	if (err)
		pr_err("kernel %s: %s", kernel, why);
	else if (kind == BOOT_KIND_BZIMAGE)
		err = entry ? bzimage_load(ram, &k, rdp, cmdline, entry)
			    : bzimage_plan(ram, &k, rdp, &plan);
	else
		err =
		    entry ? pvh_load(ram, &k, rdp, cmdline, entry) : pvh_plan(ram, &k, rdp, &plan);
out:
	image_unmap(&rd);
	image_unmap(&k);
	return err;
}

int boot_check_fit(const char *kernel, const char *initrd, uint64_t ram_size)
{
	const struct guest_ram ram = {.alias = NULL, .size = ram_size};

	return boot_files(&ram, kernel, initrd, NULL, NULL);
}

int boot_load(const struct guest_ram *ram, const char *kernel, const char *initrd,
	      const char *cmdline, struct boot_entry *entry)
{
	return boot_files(ram, kernel, initrd, cmdline, entry);
}

int boot_e820_map(const struct guest_ram *ram, struct boot_memmap_entry *map)
{
	uint64_t low = guest_ram_low_size(ram);
	int n = 0;

	if (low < 2 * BOOT_KERNEL_GPA)
		return -EINVAL;
	/* The last KiB below 640 KiB holds the MP table; 0xf0000 is where a BIOS would be. */
	map[n++] = (struct boot_memmap_entry){0, BOOT_MPTABLE_GPA, BOOT_E820_RAM};
	map[n++] = (struct boot_memmap_entry){BOOT_MPTABLE_GPA, 0xa0000 - BOOT_MPTABLE_GPA,
					      BOOT_E820_RESERVED};
	map[n++] = (struct boot_memmap_entry){0xf0000, 0x10000, BOOT_E820_RESERVED};
	map[n++] =
	    (struct boot_memmap_entry){BOOT_KERNEL_GPA, low - BOOT_KERNEL_GPA, BOOT_E820_RAM};
	if (ram->size > low)
		map[n++] =
		    (struct boot_memmap_entry){GUEST_RAM_HIGH_GPA, ram->size - low, BOOT_E820_RAM};
	return n;
}

int boot_place_high(const struct guest_ram *ram, uint64_t size, uint64_t floor, uint64_t limit,
		    uint64_t *gpa)
{
	uint64_t low = guest_ram_low_size(ram);
	uint64_t top = limit < low ? limit : low;
	uint64_t start;

	if (size > top)
		return -ENOSPC;
	/* start + size <= top <= low: in RAM, computed without touching ram->alias. */
	start = (top - size) & ~(PAGE_SIZE - 1);
	if (start < floor)
		return -ENOSPC;
	*gpa = start;
	return 0;
}

int boot_place_initrd(const struct guest_ram *ram, const struct boot_image *initrd,
		      uint64_t kernel_end, uint64_t limit, uint64_t *gpa)
{
	if (initrd->len == 0) {
		pr_err("initrd %s: empty file", initrd->name);
		return -EINVAL;
	}
	/* Both protocols pass the size on in 32 bits at most (bzImage's ramdisk_size). */
	if (initrd->len > UINT32_MAX ||
	    boot_place_high(ram, initrd->len, kernel_end, limit, gpa) < 0) {
		pr_err("initrd %s: %zu bytes do not fit in guest RAM between the kernel's end "
		       "0x%llx and 0x%llx (raise --memory)",
		       initrd->name, initrd->len, (unsigned long long)kernel_end,
		       (unsigned long long)(limit < guest_ram_low_size(ram)
						? limit
						: guest_ram_low_size(ram)));
		return -ENOSPC;
	}
	return 0;
}

size_t boot_write_cmdline(const struct guest_ram *ram, const char *cmdline, size_t max_len)
{
	uint8_t *dst = guest_ram_ptr(ram, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX);
	size_t len = cmdline ? strlen(cmdline) : 0;

	if (!dst)
		return 0;
	if (max_len > BOOT_CMDLINE_MAX - 1)
		max_len = BOOT_CMDLINE_MAX - 1;
	if (len > max_len) {
		pr_warn("command line cut from %zu to %zu bytes", len, max_len);
		len = max_len;
	}
	memset(dst, 0, BOOT_CMDLINE_MAX);
	if (len)
		memcpy(dst, cmdline, len);
	return len;
}
