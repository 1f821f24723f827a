/* SPDX-License-Identifier: MIT */
/* Expectation lines and mode detection shared by the KASAN bug scenarios. */
#include "scenario.h"

static const char *const access_names[] = {
    [KV_READ] = "Read",
    [KV_WRITE] = "Write",
    [KV_FREE] = "Free",
};

void expect_report(const char *bug, enum kv_access acc, size_t size, const void *obj,
		   size_t obj_size)
{
	printf("# kasan-vmm expects: %s %s %zu\n", bug, access_names[acc], size);
	printf("# kasan-vmm object: 0x%lx size %zu\n", (unsigned long)obj, obj_size);
}

void expect_none(void)
{
	printf("# kasan-vmm expects: none\n");
}

void expect_needs_pointer_tags(const char *bug, enum kv_access acc, size_t size, const char *why)
{
	printf("# kasan-vmm needs pointer tags: %s %s %zu: %s\n", bug, access_names[acc], size,
	       why);
}

/*
 * KV_FEAT_TAGS in the config leaf: kasan-vmm runs tag-based mode. Asked
 * once (a CPUID exits to the host) and cached: the mode cannot change.
 */
bool scenario_tag_mode(void)
{
	static int cached = -1;
	u32 a, b, c, d;

	if (cached >= 0)
		return cached;
	cached = 0;
	cpuid(KV_CPUID_LEAF, 0, &a, &b, &c, &d);
	if (b != KV_CPUID_SIG_EBX || c != KV_CPUID_SIG_ECX)
		return false;
	cpuid(KV_CPUID_LEAF_CONFIG, 0, &a, &b, &c, &d);
	cached = (a & KV_FEAT_TAGS) != 0;
	return cached;
}

size_t scenario_granule(void)
{
	return scenario_tag_mode() ? 16 : 8;
}

size_t uaf_write_len_avoiding_freeptr(struct kmem_cache *s, size_t off, size_t len)
{
	size_t fp = kmem_cache_freeptr_offset(s);

	if (fp == KV_FREEPTR_NONE || off + len <= fp || off >= fp + sizeof(void *))
		return len;
	return fp > off ? fp - off : 0;
}
