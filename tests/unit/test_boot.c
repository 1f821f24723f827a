// SPDX-License-Identifier: MIT
/*
 * Boot loaders on a plain RAM buffer: the Linux zero page checked byte by
 * byte (offsets from the boot protocol, not from our structs) against the
 * real Debian bzImage, and PVH start_info on a tiny ELF and the Debian vmlinux.
 * The Debian files come from `make test` (KASAN_VMM_BZIMAGE/KASAN_VMM_VMLINUX):
 * without them these tests fail, they are never skipped.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/boot.h"
#include "tests/fixtures/tiny_pvh_elf.h"

#define MiB	(1ull << 20)
#define ZP(off) (BOOT_ZERO_PAGE_GPA + (off))

struct file {
	uint8_t *data;
	size_t len;
	char path[PATH_MAX];
};

static struct file bz, vmlinux;

/* Reads the file named by env once; fails the calling test if it is missing. */
static void read_whole(const char *env, struct file *f)
{
	const char *path = getenv(env);
	FILE *fp;
	long n;

	if (f->data)
		return;
	if (!path)
		fail_msg("%s is not set: run the tests with `make test` (it fetches the kernel)",
			 env);
	snprintf(f->path, sizeof(f->path), "%s", path);
	fp = fopen(path, "rb");
	if (!fp)
		fail_msg("%s=%s cannot be opened", env, path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	f->data = malloc((size_t)n);
	assert_non_null(f->data);
	assert_int_equal(fread(f->data, 1, (size_t)n, fp), (size_t)n);
	f->len = (size_t)n;
	fclose(fp);
}

static void need_bzimage(void)
{
	read_whole("KASAN_VMM_BZIMAGE", &bz);
}

static struct guest_ram ram_new(uint64_t size)
{
	struct guest_ram ram = {.alias = malloc(size), .size = size};

	assert_non_null(ram.alias);
	memset(ram.alias, 0xcc, size); /* so that zeroing (bss, zero page) is visible */
	return ram;
}

static uint64_t rd(const struct guest_ram *ram, uint64_t gpa, unsigned int bytes)
{
	uint64_t v = 0;

	memcpy(&v, guest_ram_ptr(ram, gpa, bytes), bytes);
	return v;
}

static uint64_t le(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;

	memcpy(&v, p, bytes);
	return v;
}

static void check_e820(const struct guest_ram *ram, uint64_t table, unsigned int stride,
		       unsigned int n)
{
	const uint64_t expect[][3] = {{0, 0x9fc00, 1},
				      {0x9fc00, 0x400, 2},
				      {0xf0000, 0x10000, 2},
				      {0x100000, ram->size - 0x100000, 1}};

	assert_int_equal(n, 4);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(rd(ram, table + i * stride, 8), expect[i][0]);
		assert_int_equal(rd(ram, table + i * stride + 8, 8), expect[i][1]);
		assert_int_equal(rd(ram, table + i * stride + 16, 4), expect[i][2]);
	}
}

static void test_bzimage_zero_page(void **state)
{
	struct guest_ram ram = ram_new(256 * MiB);
	uint8_t initrd_data[3 * 4096 + 123];
	struct boot_image k, rd_img = {"initrd", initrd_data, sizeof(initrd_data)};
	struct boot_entry e;
	uint64_t img, size, kernel_end;
	size_t setup;

	(void)state;
	need_bzimage();
	k = (struct boot_image){"vmlinuz", bz.data, bz.len};
	setup = ((bz.data[0x1f1] ? bz.data[0x1f1] : 4) + 1) * 512u;
	for (size_t i = 0; i < sizeof(initrd_data); i++)
		initrd_data[i] = (uint8_t)(i * 7);
	assert_int_equal(boot_identify(&k), BOOT_KIND_BZIMAGE);
	assert_int_equal(bzimage_load(&ram, &k, &rd_img, "console=ttyS0 quiet", &e), 0);
	assert_int_equal(e.kind, BOOT_KIND_BZIMAGE);
	assert_int_equal(e.rip, 0x100000);
	assert_int_equal(e.rsi, BOOT_ZERO_PAGE_GPA);

	/* Setup header copied from the file. */
	assert_int_equal(rd(&ram, ZP(0x1f1), 1), bz.data[0x1f1]);
	assert_int_equal(rd(&ram, ZP(0x206), 2), le(bz.data + 0x206, 2));
	assert_true(rd(&ram, ZP(0x206), 2) >= 0x206);
	assert_memory_equal(guest_ram_ptr(&ram, ZP(0x202), 4), "HdrS", 4);
	assert_int_equal(rd(&ram, ZP(0x1fe), 2), 0xaa55);
	assert_int_equal(rd(&ram, ZP(0x22c), 4), le(bz.data + 0x22c, 4)); /* initrd_addr_max */
	/* Loader fields. */
	assert_int_equal(rd(&ram, ZP(0x210), 1), 0xff);		    /* type_of_loader */
	assert_int_equal(rd(&ram, ZP(0x211), 1) & 0x81, 0x81);	    /* LOADED_HIGH|CAN_USE_HEAP */
	assert_int_equal(rd(&ram, ZP(0x214), 4), 0x100000);	    /* code32_start */
	assert_int_equal(rd(&ram, ZP(0x224), 2), 0xfe00);	    /* heap_end_ptr */
	assert_int_equal(rd(&ram, ZP(0x228), 4), BOOT_CMDLINE_GPA); /* cmd_line_ptr */
	assert_string_equal((char *)guest_ram_ptr(&ram, BOOT_CMDLINE_GPA, 1),
			    "console=ttyS0 quiet");
	/* Zero page outside the header is cleared (0xcc fill gone). */
	assert_int_equal(rd(&ram, ZP(0), 8), 0);
	assert_int_equal(rd(&ram, ZP(0xff8), 8), 0);

	/* Initrd: page aligned, highest possible, above the decompressed kernel. */
	img = rd(&ram, ZP(0x218), 4);
	size = rd(&ram, ZP(0x21c), 4);
	kernel_end = le(bz.data + 0x258, 8) + le(bz.data + 0x260, 4);
	assert_int_equal(size, sizeof(initrd_data));
	assert_int_equal(img % 4096, 0);
	assert_true(img >= kernel_end);
	assert_true(img + size <= ram.size);
	assert_true(img + size + 4096 > ram.size);
	assert_memory_equal(guest_ram_ptr(&ram, img, size), initrd_data, size);

	/* Kernel: the protected-mode part at 1 MiB. */
	assert_memory_equal(guest_ram_ptr(&ram, 0x100000, bz.len - setup), bz.data + setup,
			    bz.len - setup);
	/* e820: count at 0x1e8, 20-byte entries at 0x2d0. */
	check_e820(&ram, ZP(0x2d0), 20, (unsigned int)rd(&ram, ZP(0x1e8), 1));
	free(ram.alias);
}

/* initrd_addr_max bounds the initrd's last byte even when RAM goes higher. */
static void test_bzimage_initrd_limit(void **state)
{
	struct guest_ram ram = ram_new(256 * MiB);
	uint8_t *copy, initrd_data[5000];
	struct boot_image k, r = {"initrd", initrd_data, 5000};
	uint32_t limit = 0x8000000 - 1;
	struct boot_entry e;
	uint64_t img;

	(void)state;
	need_bzimage();
	copy = malloc(bz.len);
	assert_non_null(copy);
	k = (struct boot_image){"vmlinuz", copy, bz.len};
	memcpy(copy, bz.data, bz.len);
	memcpy(copy + 0x22c, &limit, 4);
	memset(initrd_data, 0x5a, sizeof(initrd_data));
	assert_int_equal(bzimage_load(&ram, &k, &r, NULL, &e), 0);
	img = rd(&ram, ZP(0x218), 4);
	assert_int_equal(img % 4096, 0);
	assert_true(img + sizeof(initrd_data) <= (uint64_t)limit + 1);
	assert_true(img + sizeof(initrd_data) + 4096 > (uint64_t)limit + 1);
	assert_int_equal(rd(&ram, BOOT_CMDLINE_GPA, 1), 0); /* NULL command line: empty */
	free(copy);
	free(ram.alias);
}

static void test_bzimage_cmdline_truncated(void **state)
{
	struct guest_ram ram = ram_new(256 * MiB);
	char cmdline[BOOT_CMDLINE_MAX + 100];
	struct boot_image k;
	struct boot_entry e;
	uint64_t max;

	(void)state;
	need_bzimage();
	k = (struct boot_image){"vmlinuz", bz.data, bz.len};
	max = le(bz.data + 0x238, 4);
	assert_true(max < sizeof(cmdline) - 1);
	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	assert_int_equal(bzimage_load(&ram, &k, NULL, cmdline, &e), 0);
	assert_int_equal(strlen((char *)guest_ram_ptr(&ram, BOOT_CMDLINE_GPA, 1)), max);
	assert_int_equal(rd(&ram, ZP(0x218), 4), 0); /* no initrd */
	assert_int_equal(rd(&ram, ZP(0x21c), 4), 0);
	free(ram.alias);
}

static void test_bzimage_rejects(void **state)
{
	struct guest_ram ram = ram_new(256 * MiB), small = ram_new(64 * MiB);
	uint8_t *copy, *big = calloc(1, 200 * MiB);
	struct boot_image k, huge = {"initrd", big, 200 * MiB};
	struct boot_entry e;

	(void)state;
	need_bzimage();
	copy = malloc(bz.len);
	assert_non_null(copy);
	k = (struct boot_image){"vmlinuz", copy, bz.len};
	memcpy(copy, bz.data, bz.len);
	/* Truncated: shorter than syssize says, or cut in the headers. */
	k.len = bz.len / 2;
	assert_int_equal(bzimage_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	k.len = 0x210;
	assert_int_equal(bzimage_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	k.len = bz.len;
	/* Protocol too old. */
	copy[0x206] = 0x05, copy[0x207] = 0x02;
	assert_int_equal(bzimage_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	memcpy(copy, bz.data, bz.len);
	/* Not loaded high (zImage). */
	copy[0x211] &= (uint8_t)~1;
	assert_int_equal(bzimage_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	memcpy(copy, bz.data, bz.len);
	/* No magic. */
	copy[0x202] = 'X';
	assert_int_equal(boot_identify(&k), BOOT_KIND_NONE);
	assert_int_equal(bzimage_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	memcpy(copy, bz.data, bz.len);
	/* Kernel needs ~80 MiB (pref_address + init_size): 64 MiB is too little. */
	assert_int_equal(bzimage_load(&small, &k, NULL, NULL, &e), -EFBIG);
	/* Initrd that cannot fit above the kernel. */
	assert_non_null(big);
	assert_int_equal(bzimage_load(&ram, &k, &huge, NULL, &e), -ENOSPC);
	free(big);
	free(copy);
	free(ram.alias);
	free(small.alias);
}

static void test_probe_and_load_files(void **state)
{
	char elf_path[] = "/tmp/test_boot_elf.XXXXXX", rd_path[] = "/tmp/test_boot_rd.XXXXXX";
	struct guest_ram ram = ram_new(256 * MiB);
	uint8_t elf[TINY_SIZE];
	enum boot_kind kind;
	struct boot_entry e;
	int fd;

	(void)state;
	need_bzimage();
	fd = mkstemp(elf_path);
	assert_int_equal(write(fd, elf, tiny_pvh_elf(elf)), TINY_SIZE);
	close(fd);
	fd = mkstemp(rd_path);
	assert_int_equal(write(fd, "initrd!", 7), 7);
	close(fd);

	assert_int_equal(boot_probe_kernel(bz.path, &kind), 0);
	assert_int_equal(kind, BOOT_KIND_BZIMAGE);
	assert_int_equal(boot_probe_kernel(elf_path, &kind), 0);
	assert_int_equal(kind, BOOT_KIND_PVH);
	assert_int_equal(boot_probe_kernel("/etc/passwd", &kind), -ENOEXEC);
	assert_int_equal(kind, BOOT_KIND_NONE);
	assert_int_equal(boot_probe_kernel("/nonexistent", &kind), -ENOENT);

	assert_int_equal(boot_load(&ram, bz.path, rd_path, "a=b", &e), 0);
	assert_int_equal(e.kind, BOOT_KIND_BZIMAGE);
	assert_int_equal(rd(&ram, ZP(0x21c), 4), 7);
	assert_int_equal(boot_load(&ram, elf_path, NULL, "a=b", &e), 0);
	assert_int_equal(e.kind, BOOT_KIND_PVH);
	assert_int_equal(boot_load(&ram, "/etc/passwd", NULL, NULL, &e), -ENOEXEC);
	unlink(elf_path);
	unlink(rd_path);
	free(ram.alias);
}

static void check_start_info(const struct guest_ram *ram, uint64_t si)
{
	assert_int_equal(rd(ram, si, 4), 0x336ec578);
	assert_int_equal(rd(ram, si + 4, 4), 1); /* version */
	assert_int_equal(rd(ram, si + 16 + 8, 8), BOOT_CMDLINE_GPA);
	assert_int_equal(rd(ram, si + 32, 8), 0); /* rsdp */
	/* memmap: 24-byte entries. */
	check_e820(ram, rd(ram, si + 40, 8), 24, (unsigned int)rd(ram, si + 48, 4));
}

static void test_pvh_tiny(void **state)
{
	struct guest_ram ram = ram_new(64 * MiB);
	uint8_t elf[TINY_SIZE], initrd_data[10000];
	struct boot_image k = {"tiny", elf, 0}, r = {"initrd", initrd_data, sizeof(initrd_data)};
	struct boot_entry e;
	uint64_t mod;
	uint32_t entry8[2] = {TINY_ENTRY, 0};

	(void)state;
	k.len = tiny_pvh_elf(elf);
	memset(initrd_data, 0x3c, sizeof(initrd_data));
	assert_int_equal(pvh_load(&ram, &k, &r, "console=hvc0", &e), 0);
	assert_int_equal(e.kind, BOOT_KIND_PVH);
	assert_int_equal(e.rip, TINY_ENTRY);
	assert_int_equal(e.rbx, BOOT_START_INFO_GPA);
	check_start_info(&ram, BOOT_START_INFO_GPA);
	assert_string_equal((char *)guest_ram_ptr(&ram, BOOT_CMDLINE_GPA, 1), "console=hvc0");
	/* Segment bytes then a zeroed bss. */
	assert_memory_equal(guest_ram_ptr(&ram, TINY_LOAD_PADDR, TINY_LOAD_FILESZ),
			    elf + TINY_LOAD_OFF, TINY_LOAD_FILESZ);
	for (uint64_t a = TINY_LOAD_PADDR + TINY_LOAD_FILESZ; a < TINY_LOAD_PADDR + TINY_LOAD_MEMSZ;
	     a++)
		assert_int_equal(rd(&ram, a, 1), 0);
	/* One module: the initrd, page aligned, as high as possible. */
	assert_int_equal(rd(&ram, BOOT_START_INFO_GPA + 12, 4), 1);
	mod = rd(&ram, BOOT_START_INFO_GPA + 16, 8);
	assert_int_equal(rd(&ram, mod + 8, 8), sizeof(initrd_data));
	assert_int_equal(rd(&ram, mod, 8) % 4096, 0);
	assert_true(rd(&ram, mod, 8) + sizeof(initrd_data) + 4096 > ram.size);
	assert_memory_equal(guest_ram_ptr(&ram, rd(&ram, mod, 8), sizeof(initrd_data)), initrd_data,
			    sizeof(initrd_data));

	/* An 8-byte entry note (newer kernels) gives the same entry; no initrd: no module. */
	{
		uint8_t elf8[TINY_SIZE];
		uint32_t descsz = 8;

		memcpy(elf8, elf, sizeof(elf8));
		memcpy(elf8 + TINY_NOTE_OFF + 4, &descsz, 4);
		memcpy(elf8 + TINY_NOTE_OFF + 16, entry8, 8);
		/* The note segment grows by 4 bytes (inside the zero padding). */
		elf8[TINY_PHDR_OFF + sizeof(Elf64_Phdr) + 32] = TINY_NOTE_SIZE + 4;
		k.data = elf8;
		assert_int_equal(pvh_load(&ram, &k, NULL, NULL, &e), 0);
		assert_int_equal(e.rip, TINY_ENTRY);
		assert_int_equal(rd(&ram, BOOT_START_INFO_GPA + 12, 4), 0);
	}
	free(ram.alias);
}

static void test_pvh_rejects(void **state)
{
	struct guest_ram ram = ram_new(64 * MiB);
	uint8_t elf[TINY_SIZE], bad[TINY_SIZE];
	struct boot_image k = {"bad", bad, TINY_SIZE};
	const size_t ph1 = TINY_PHDR_OFF, ph2 = TINY_PHDR_OFF + sizeof(Elf64_Phdr);
	uint64_t v;
	struct boot_entry e;
	char err[256];
	FILE *tmp = tmpfile();
	int saved;

	(void)state;
	tiny_pvh_elf(elf);
	/* Every truncation fails: the file ends with the segment's last byte. */
	memcpy(bad, elf, TINY_SIZE);
	for (size_t len = 0; len < TINY_SIZE; len++) {
		k.len = len;
		assert_int_not_equal(pvh_load(&ram, &k, NULL, NULL, &e), 0);
	}
	k.len = TINY_SIZE;
	/* No PVH note (type changed): the message says so. */
	bad[TINY_NOTE_OFF + 8] = 17;
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	assert_int_equal(pvh_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	err[fread(err, 1, sizeof(err) - 1, tmp)] = '\0';
	fclose(tmp);
	assert_non_null(strstr(err, "no PVH entry note"));
	/* Note sizes running past the segment. */
	memcpy(bad, elf, TINY_SIZE);
	v = 0xfffffff0;
	memcpy(bad + TINY_NOTE_OFF + 4, &v, 4);
	assert_int_equal(pvh_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	/* Segment beyond RAM, below 1 MiB, or reaching outside the file. */
	struct {
		size_t off, width;
		uint64_t val;
		int err;
	} patch[] = {
	    {ph1 + 24, 8, 64 * MiB - 0x1000, -EFBIG},	  /* p_paddr: memsz crosses RAM end */
	    {ph1 + 24, 8, 0x8000, -EFBIG},		  /* p_paddr below 1 MiB */
	    {ph1 + 24, 8, UINT64_MAX - 0x100, -EFBIG},	  /* p_paddr + memsz wraps */
	    {ph1 + 8, 8, TINY_SIZE - 8, -ENOEXEC},	  /* p_offset: filesz beyond the file */
	    {ph1 + 32, 8, TINY_LOAD_MEMSZ + 1, -ENOEXEC}, /* filesz > memsz */
	    {ph2 + 8, 8, UINT64_MAX - 4, -ENOEXEC},	  /* note p_offset wraps */
	    {0x38, 2, 0xffff, -ENOEXEC},		  /* e_phnum */
	    {0x20, 8, UINT64_MAX - 8, -ENOEXEC},	  /* e_phoff */
	    {0x36, 2, 40, -ENOEXEC},			  /* e_phentsize */
	    {0x10, 2, ET_DYN, -ENOEXEC},		  /* e_type */
	    {0x12, 2, EM_AARCH64, -ENOEXEC},		  /* e_machine */
	    {4, 1, 3, -ENOEXEC},			  /* EI_CLASS */
	    {5, 1, ELFDATA2MSB, -ENOEXEC},		  /* EI_DATA */
	};
	for (size_t i = 0; i < sizeof(patch) / sizeof(patch[0]); i++) {
		memcpy(bad, elf, TINY_SIZE);
		memcpy(bad + patch[i].off, &patch[i].val, patch[i].width);
		if (pvh_load(&ram, &k, NULL, NULL, &e) != patch[i].err)
			fail_msg("patch %zu (offset 0x%zx) not rejected with %d", i, patch[i].off,
				 patch[i].err);
	}
	/* Entry outside the loaded segments. */
	memcpy(bad, elf, TINY_SIZE);
	v = 0x10000000;
	memcpy(bad + TINY_NOTE_OFF + 16, &v, 4);
	assert_int_equal(pvh_load(&ram, &k, NULL, NULL, &e), -ENOEXEC);
	/* Garbage: deterministic pseudo-random bytes after a valid ELF ident never load. */
	srand(1);
	for (int round = 0; round < 2000; round++) {
		memcpy(bad, elf, 16);
		for (size_t i = 16; i < TINY_SIZE; i++)
			bad[i] = (uint8_t)rand();
		assert_int_not_equal(pvh_load(&ram, &k, NULL, NULL, &e), 0);
	}
	free(ram.alias);
}

static void test_pvh_debian_vmlinux(void **state)
{
	struct guest_ram ram = ram_new(256 * MiB);
	struct boot_image k;
	struct boot_entry e;
	enum boot_kind kind;
	uint32_t entry;
	const char *why;

	(void)state;
	read_whole("KASAN_VMM_VMLINUX", &vmlinux);
	k = (struct boot_image){"vmlinux", vmlinux.data, vmlinux.len};
	assert_int_equal(boot_probe_kernel(vmlinux.path, &kind), 0);
	assert_int_equal(kind, BOOT_KIND_PVH);
	assert_int_equal(pvh_find_entry(&k, &entry, &why), 0);
	assert_int_equal(pvh_load(&ram, &k, NULL, "console=ttyS0", &e), 0);
	assert_int_equal(e.rip, entry);
	/* Linux's PVH entry is in .text, which is loaded at 16 MiB. */
	assert_true(entry >= 0x1000000 && entry < 0x3000000);
	check_start_info(&ram, e.rbx);
	/* Not enough RAM for the segments. */
	free(ram.alias);
	ram = ram_new(32 * MiB);
	assert_int_equal(pvh_load(&ram, &k, NULL, NULL, &e), -EFBIG);
	free(ram.alias);
}

typedef int (*plan_fn)(const struct guest_ram *, const struct boot_image *,
		       const struct boot_image *, struct boot_plan *);
typedef int (*load_fn)(const struct guest_ram *, const struct boot_image *,
		       const struct boot_image *, const char *, struct boot_entry *);

/*
 * The smallest RAM (whole MiB) plan() accepts, with ram->alias NULL (plans
 * never touch it); load() must fail with one MiB less and succeed with it.
 */
static uint64_t min_ram_mib(plan_fn plan, load_fn load, const struct boot_image *k)
{
	struct guest_ram ram = {.alias = NULL};
	struct boot_entry e;
	struct boot_plan p;
	uint64_t mib;

	for (mib = 2; mib <= 512; mib++) {
		ram.size = mib * MiB;
		if (plan(&ram, k, NULL, &p) == 0)
			break;
		assert_int_equal(plan(&ram, k, NULL, &p), -EFBIG);
	}
	if (mib > 512)
		fail_msg("%s fits in no RAM size up to 512 MiB", k->name);
	ram = ram_new((mib - 1) * MiB);
	assert_int_equal(load(&ram, k, NULL, NULL, &e), -EFBIG);
	free(ram.alias);
	ram = ram_new(mib * MiB);
	assert_int_equal(load(&ram, k, NULL, NULL, &e), 0);
	free(ram.alias);
	return mib;
}

/* The plans (what config validation checks) accept exactly what the loaders load. */
static void test_plan_matches_load(void **state)
{
	uint8_t initrd_data[5000];
	struct boot_image k, r = {"initrd", initrd_data, sizeof(initrd_data)};
	struct guest_ram ram;
	struct boot_entry e;
	struct boot_plan p;
	uint64_t mib;

	(void)state;
	need_bzimage();
	read_whole("KASAN_VMM_VMLINUX", &vmlinux);
	k = (struct boot_image){"vmlinuz", bz.data, bz.len};
	mib = min_ram_mib(bzimage_plan, bzimage_load, &k);
	assert_true(mib > 32 && mib < 256); /* the Debian kernel decompresses in tens of MiB */
	/* An initrd needs a page more; the plan's place is where the loader puts it. */
	ram = ram_new((mib + 1) * MiB);
	assert_int_equal(bzimage_plan(&ram, &k, &r, &p), 0);
	assert_int_equal(bzimage_load(&ram, &k, &r, NULL, &e), 0);
	assert_int_equal(rd(&ram, ZP(0x218), 4), p.initrd_gpa);
	free(ram.alias);

	k = (struct boot_image){"vmlinux", vmlinux.data, vmlinux.len};
	mib = min_ram_mib(pvh_plan, pvh_load, &k);
	assert_true(mib > 16 && mib < 256);
	ram = ram_new((mib + 1) * MiB);
	assert_int_equal(pvh_plan(&ram, &k, &r, &p), 0);
	assert_int_equal(pvh_load(&ram, &k, &r, NULL, &e), 0);
	assert_int_equal(e.rip, p.entry);
	assert_int_equal(rd(&ram, rd(&ram, BOOT_START_INFO_GPA + 16, 8), 8), p.initrd_gpa);
	free(ram.alias);
}

/* Writes a file of len bytes (sparse: holes read as zeros) and returns its path in buf. */
static const char *temp_file(char *buf, size_t len)
{
	int fd;

	strcpy(buf, "/tmp/test_boot_fit.XXXXXX");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
	return buf;
}

static void test_check_fit_files(void **state)
{
	char empty[32], huge[32];

	(void)state;
	need_bzimage();
	read_whole("KASAN_VMM_VMLINUX", &vmlinux);
	temp_file(empty, 0);
	temp_file(huge, 300 * MiB);
	assert_int_equal(boot_check_fit(bz.path, NULL, 256 * MiB), 0);
	assert_int_equal(boot_check_fit(bz.path, NULL, 32 * MiB), -EFBIG);
	assert_int_equal(boot_check_fit(bz.path, empty, 256 * MiB), -EINVAL);
	assert_int_equal(boot_check_fit(bz.path, huge, 256 * MiB), -ENOSPC);
	assert_int_equal(boot_check_fit(bz.path, huge, 512 * MiB), 0);
	assert_int_equal(boot_check_fit(vmlinux.path, NULL, 256 * MiB), 0);
	assert_int_equal(boot_check_fit(vmlinux.path, NULL, 16 * MiB), -EFBIG);
	assert_int_equal(boot_check_fit(vmlinux.path, huge, 256 * MiB), -ENOSPC);
	assert_int_equal(boot_check_fit(vmlinux.path, empty, 256 * MiB), -EINVAL);
	assert_int_equal(boot_check_fit("/etc/passwd", NULL, 256 * MiB), -ENOEXEC);
	assert_int_equal(boot_check_fit(bz.path, "/nonexistent", 256 * MiB), -ENOENT);
	unlink(empty);
	unlink(huge);
}

static void test_e820_high_ram(void **state)
{
	struct guest_ram ram = {.alias = NULL, .size = GUEST_RAM_LOW_MAX + 512 * MiB};
	struct boot_memmap_entry map[BOOT_E820_MAX];

	(void)state;
	assert_int_equal(boot_e820_map(&ram, map), 5);
	assert_int_equal(map[3].addr + map[3].size, GUEST_RAM_LOW_MAX);
	assert_int_equal(map[4].addr, 0x100000000ull);
	assert_int_equal(map[4].size, 512 * MiB);
	assert_int_equal(map[4].type, BOOT_E820_RAM);
	ram.size = MiB;
	assert_int_equal(boot_e820_map(&ram, map), -EINVAL);
}

static int teardown(void **state)
{
	(void)state;
	free(bz.data);
	free(vmlinux.data);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bzimage_zero_page),
	    cmocka_unit_test(test_bzimage_initrd_limit),
	    cmocka_unit_test(test_bzimage_cmdline_truncated),
	    cmocka_unit_test(test_bzimage_rejects),
	    cmocka_unit_test(test_probe_and_load_files),
	    cmocka_unit_test(test_pvh_tiny),
	    cmocka_unit_test(test_pvh_rejects),
	    cmocka_unit_test(test_pvh_debian_vmlinux),
	    cmocka_unit_test(test_e820_high_ram),
	    cmocka_unit_test(test_plan_matches_load),
	    cmocka_unit_test(test_check_fit_files),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
