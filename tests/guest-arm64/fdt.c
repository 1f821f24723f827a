/* SPDX-License-Identifier: MIT */
/*
 * Device tree reader (devicetree specification v0.4, chapter 5: header,
 * structure block tokens, strings block). Every offset and length comes
 * from the blob, so each is checked against the block it points into.
 */
#include "fdt.h"
#include "string.h"

#define FDT_MAGIC      0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_NOP	       4u
#define FDT_END	       9u
#define FDT_MAX_SIZE   (2u << 20)
#define MAX_DEPTH      16
#define PATH_MAX       256
#define MAX_UARTS      8

struct blob {
	const u8 *base;
	u32 struct_off, struct_size, strings_off, strings_size;
};

/* What one node said about itself; evaluated at its END_NODE. */
struct node {
	u32 addr_cells, size_cells; /* for its children */
	const char *compat;
	u32 compat_len;
	const u8 *reg;
	u32 reg_len;
	u32 reg_shift;
	bool memory, cpu, kv;
	u32 kv_abi, kv_features, kv_mode, kv_rings;
};

struct uart {
	char path[PATH_MAX];
	enum uart_kind kind;
	u64 base;
	u32 shift;
};

struct walk {
	struct blob b;
	struct node nodes[MAX_DEPTH];
	char path[PATH_MAX];
	u32 path_len[MAX_DEPTH];
	struct uart uarts[MAX_UARTS];
	u32 nr_uarts;
	const char *stdout_path;
	const char *aliases[MAX_UARTS][2]; /* name, path */
	u32 nr_aliases;
	struct fdt_info *out;
};

static u32 be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/* A string property: non-empty and NUL-terminated within its length. */
static const char *prop_str(const u8 *v, u32 len)
{
	return len && v[len - 1] == '\0' ? (const char *)v : NULL;
}

/* Whether the string list (compatible) holds want. */
static bool strlist_has(const char *list, u32 len, const char *want)
{
	u32 i = 0;

	while (list && i < len) {
		if (!strcmp(list + i, want))
			return true;
		i += (u32)strnlen(list + i, len - i) + 1;
	}
	return false;
}

/* First (address, size) of reg with the parent's cell counts (1 or 2 each). */
static bool reg_first(const struct node *parent, const struct node *n, u64 *addr, u64 *size)
{
	u32 ac = parent->addr_cells, sc = parent->size_cells;

	if (!n->reg || ac < 1 || ac > 2 || sc > 2 || n->reg_len < 4 * (ac + sc))
		return false;
	*addr = ac == 2 ? (u64)be32(n->reg) << 32 | be32(n->reg + 4) : be32(n->reg);
	*size = sc == 2	  ? (u64)be32(n->reg + 4 * ac) << 32 | be32(n->reg + 4 * ac + 4)
		: sc == 1 ? be32(n->reg + 4 * ac)
			  : 0;
	return true;
}

static void node_prop(struct walk *w, int depth, const char *name, const u8 *v, u32 len)
{
	struct node *n = &w->nodes[depth];
	bool is_chosen = !strcmp(w->path, "/chosen"), is_aliases = !strcmp(w->path, "/aliases");
	u32 val = len == 4 ? be32(v) : 0;

	if (!strcmp(name, "#address-cells") && len == 4)
		n->addr_cells = val;
	else if (!strcmp(name, "#size-cells") && len == 4)
		n->size_cells = val;
	else if (!strcmp(name, "compatible")) {
		n->compat = prop_str(v, len);
		n->compat_len = len;
	} else if (!strcmp(name, "reg")) {
		n->reg = v;
		n->reg_len = len;
	} else if (!strcmp(name, "reg-shift") && len == 4)
		n->reg_shift = val;
	else if (!strcmp(name, "device_type") && prop_str(v, len)) {
		n->memory = !strcmp((const char *)v, "memory");
		n->cpu = !strcmp((const char *)v, "cpu");
	} else if (!strcmp(name, "kasan-vmm,abi-version") && len == 4)
		n->kv_abi = val;
	else if (!strcmp(name, "kasan-vmm,features") && len == 4)
		n->kv_features = val;
	else if (!strcmp(name, "kasan-vmm,mode") && len == 4)
		n->kv_mode = val;
	else if (!strcmp(name, "kasan-vmm,rings") && len == 4)
		n->kv_rings = val;
	else if (!strcmp(name, "method") && prop_str(v, len) && !strncmp(w->path, "/psci", 5))
		w->out->psci_smc = !strcmp((const char *)v, "smc");
	else if (is_chosen && !strcmp(name, "bootargs") && prop_str(v, len))
		w->out->bootargs = (const char *)v;
	else if (is_chosen && !strcmp(name, "stdout-path") && prop_str(v, len))
		w->stdout_path = (const char *)v;
	else if (is_aliases && prop_str(v, len) && w->nr_aliases < MAX_UARTS) {
		w->aliases[w->nr_aliases][0] = name;
		w->aliases[w->nr_aliases++][1] = (const char *)v;
	}
}

static void node_end(struct walk *w, int depth)
{
	const struct node *n = &w->nodes[depth], *parent = &w->nodes[depth ? depth - 1 : 0];
	enum uart_kind kind = UART_NONE;
	u64 addr, size;

	if (depth == 0 || !reg_first(parent, n, &addr, &size))
		return;
	if (n->memory && !w->out->ram_size) {
		w->out->ram_base = addr;
		w->out->ram_size = size;
	}
	if (n->cpu && w->out->nr_cpus < FDT_MAX_CPUS) /* reg: the MPIDR affinity */
		w->out->cpu_mpidr[w->out->nr_cpus++] = addr;
	if (strlist_has(n->compat, n->compat_len, "kasan-vmm,paravirt") && !w->out->kv_present) {
		w->out->kv_present = true;
		w->out->kv_base = addr;
		w->out->kv_abi = n->kv_abi;
		w->out->kv_features = n->kv_features;
		w->out->kv_mode = n->kv_mode;
		w->out->kv_rings = n->kv_rings;
	}
	if (strlist_has(n->compat, n->compat_len, "arm,pl011"))
		kind = UART_PL011;
	else if (strlist_has(n->compat, n->compat_len, "ns16550a") ||
		 strlist_has(n->compat, n->compat_len, "ns16550"))
		kind = UART_16550;
	if (kind != UART_NONE && w->nr_uarts < MAX_UARTS) {
		struct uart *u = &w->uarts[w->nr_uarts++];

		memcpy(u->path, w->path, PATH_MAX);
		u->kind = kind;
		u->base = addr;
		u->shift = n->reg_shift;
	}
}

/* Appends "/name" to the path (the root's name is empty). */
static bool path_push(struct walk *w, int depth, const char *name)
{
	size_t len = strlen(w->path), nl = strlen(name);

	w->path_len[depth] = (u32)len;
	if (depth == 0) {
		memcpy(w->path, "/", 2);
		return true;
	}
	if (len + 1 + nl + 1 > PATH_MAX)
		return false;
	if (len > 1)
		w->path[len++] = '/';
	memcpy(w->path + len, name, nl + 1);
	return true;
}

static int walk_struct(struct walk *w)
{
	const u8 *s = w->b.base + w->b.struct_off;
	u32 off = 0, end = w->b.struct_size & ~3u;
	int depth = -1;

	while (off + 4 <= end) {
		u32 tok = be32(s + off);

		off += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)s + off;
			u32 nl = (u32)strnlen(name, end - off);

			if (off + nl >= end || ++depth >= MAX_DEPTH || !path_push(w, depth, name))
				return -1;
			memset(&w->nodes[depth], 0, sizeof(w->nodes[depth]));
			w->nodes[depth].addr_cells = 2; /* defaults (spec 2.3.5) */
			w->nodes[depth].size_cells = 1;
			off = (u32)ALIGN_UP(off + nl + 1, 4);
		} else if (tok == FDT_END_NODE) {
			if (depth < 0)
				return -1;
			node_end(w, depth);
			w->path[depth ? w->path_len[depth] : 0] = '\0';
			if (depth-- == 0)
				return 0;
		} else if (tok == FDT_PROP) {
			u32 len, nameoff;

			if (depth < 0 || off + 8 > end)
				return -1;
			len = be32(s + off);
			nameoff = be32(s + off + 4);
			off += 8;
			if (len > end - off || nameoff >= w->b.strings_size)
				return -1;
			const char *pname = (const char *)w->b.base + w->b.strings_off + nameoff;
			if (strnlen(pname, w->b.strings_size - nameoff) ==
			    w->b.strings_size - nameoff)
				return -1; /* name not terminated inside the strings block */
			node_prop(w, depth, pname, s + off, len);
			off = (u32)ALIGN_UP(off + len, 4);
		} else if (tok == FDT_END) {
			return depth < 0 ? 0 : -1;
		} else if (tok != FDT_NOP) {
			return -1;
		}
	}
	return -1;
}

/* stdout-path "path[:options]" or "alias[:options]" -> the UART it names. */
static const struct uart *pick_uart(const struct walk *w)
{
	char want[PATH_MAX] = "";
	const char *sp = w->stdout_path;

	if (sp) {
		size_t n = strcspn(sp, ":");

		if (n < PATH_MAX) {
			memcpy(want, sp, n);
			want[n] = '\0';
		}
		for (u32 i = 0; want[0] != '/' && i < w->nr_aliases; i++)
			if (!strcmp(w->aliases[i][0], want) && strlen(w->aliases[i][1]) < PATH_MAX)
				strcpy(want, w->aliases[i][1]);
		for (u32 i = 0; i < w->nr_uarts; i++)
			if (!strcmp(w->uarts[i].path, want))
				return &w->uarts[i];
	}
	return w->nr_uarts ? &w->uarts[0] : NULL;
}

int fdt_parse(const void *blob, struct fdt_info *out)
{
	static struct walk w; /* large: keep it off the 64 KiB stack */
	const u8 *h = blob;
	u32 total;
	const struct uart *u;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	if (!h || ((u64)h & 7) || be32(h) != FDT_MAGIC)
		return -1;
	total = be32(h + 4);
	w.b = (struct blob){h, be32(h + 8), be32(h + 36), be32(h + 12), be32(h + 32)};
	if (total > FDT_MAX_SIZE || be32(h + 20) < 16 || w.b.struct_off > total ||
	    w.b.struct_size > total - w.b.struct_off || w.b.strings_off > total ||
	    w.b.strings_size > total - w.b.strings_off)
		return -1;
	w.out = out;
	out->bootargs = "";
	if (walk_struct(&w))
		return -1;
	u = pick_uart(&w);
	if (u) {
		out->uart_kind = u->kind;
		out->uart_base = u->base;
		out->uart_shift = u->shift;
	}
	return 0;
}
