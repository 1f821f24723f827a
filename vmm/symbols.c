// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/symbols.h"

struct sym {
	uint64_t addr;
	uint64_t size;
	char *name;
};

struct symbols {
	struct sym *v;
	size_t n, cap;
	uint64_t offset;
};

static int sym_add(struct symbols *s, uint64_t addr, uint64_t size, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct sym *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].name = strdup(name);
	if (!s->v[s->n].name)
		return -ENOMEM;
	s->v[s->n].addr = addr;
	s->v[s->n].size = size;
	s->n++;
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sort; give size-less symbols the distance to the next one. */
static void symbols_finish(struct symbols *s)
{
	qsort(s->v, s->n, sizeof(*s->v), sym_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].size)
			continue;
		for (size_t j = i + 1; j < s->n; j++) {
			if (s->v[j].addr > s->v[i].addr) {
				s->v[i].size = s->v[j].addr - s->v[i].addr;
				break;
			}
		}
	}
}

static int elf_read_symtab(struct symbols *s, Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && *name && sym_add(s, sym.st_value, sym.st_size, name))
				return -ENOMEM;
		}
	}
	return 0;
}

int symbols_load_elf(struct symbols **out, const char *path)
{
	struct symbols *s;
	Elf *elf;
	int fd, ret;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("symbols: %s: %s", path, strerror(errno));
		return ret;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	s = calloc(1, sizeof(*s));
	if (!elf || !s) {
		ret = !s ? -ENOMEM : -ENOEXEC;
		goto out;
	}
	ret = elf_read_symtab(s, elf);
	if (!ret && !s->n)
		ret = -ENOENT;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (ret) {
		symbols_free(s);
		return ret;
	}
	symbols_finish(s);
	*out = s;
	return 0;
}

int symbols_load_system_map(struct symbols **out, const char *path)
{
	struct symbols *s = calloc(1, sizeof(*s));
	FILE *f = fopen(path, "r");
	char line[512], name[256], type;
	uint64_t addr;
	int ret = 0;

	if (!s || !f) {
		ret = !s ? -ENOMEM : -errno;
		pr_err("symbols: %s: %s", path, strerror(-ret));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T' && type != 'W' && type != 'w')
			continue;
		ret = sym_add(s, addr, 0, name);
		if (ret)
			goto out;
	}
	if (!s->n)
		ret = -ENOENT;
out:
	if (f)
		fclose(f);
	if (ret) {
		symbols_free(s);
		return ret;
	}
	symbols_finish(s);
	*out = s;
	return 0;
}

void symbols_free(struct symbols *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	free(s);
}

void symbols_set_offset(struct symbols *s, uint64_t offset)
{
	s->offset = offset;
}

size_t symbols_count(const struct symbols *s)
{
	return s ? s->n : 0;
}

bool symbols_lookup(const struct symbols *s, uint64_t addr, char *buf, size_t len)
{
	size_t lo = 0, hi;

	if (!s || !s->n)
		return false;
	addr -= s->offset;
	hi = s->n;
	while (hi - lo > 1) { /* last symbol starting at or below addr */
		size_t mid = (lo + hi) / 2;

		if (s->v[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (addr < s->v[lo].addr || addr - s->v[lo].addr >= s->v[lo].size)
		return false;
	snprintf(buf, len, "%s+0x%" PRIx64 "/0x%" PRIx64, s->v[lo].name, addr - s->v[lo].addr,
		 s->v[lo].size);
	return true;
}

unsigned int symbols_match(const struct symbols *s, const char *name, bool prefix,
			   void (*fn)(void *ctx, uint64_t addr, uint64_t size), void *ctx)
{
	size_t len = strlen(name);
	unsigned int n = 0;

	for (size_t i = 0; s && i < s->n; i++) {
		if (prefix ? strncmp(s->v[i].name, name, len) : strcmp(s->v[i].name, name))
			continue;
		fn(ctx, s->v[i].addr + s->offset, s->v[i].size);
		n++;
	}
	return n;
}

uint64_t symbols_find(const struct symbols *s, const char *name, uint64_t *size)
{
	for (size_t i = 0; s && i < s->n; i++) {
		if (!strcmp(s->v[i].name, name)) {
			if (size)
				*size = s->v[i].size;
			return s->v[i].addr + s->offset;
		}
	}
	return 0;
}
