/* SPDX-License-Identifier: MIT */
/*
 * A registered guest layout handed on to the sanitizer. Apart from the
 * consumer (which needs only shadow/event.h, and is fuzzed alone) because
 * this is the one place paravirt/ calls into shadow/'s sanitizer.
 */
#include "paravirt/consumer.h"
#include "shadow/sanitizer.h"

void kv_layout_to_sanitizer(const struct kv_guest_layout *l, struct sanitizer *s)
{
	const struct sanitizer_layout sl = {
	    .vmemmap_base = l->vmemmap_base,
	    .page_struct_size = l->page_struct_size,
	    .page_refcount_off = l->page_refcount_off,
	    .direct_map_base = l->direct_map_base,
	    .vmalloc_start = l->vmalloc_start,
	    .vmalloc_end = l->vmalloc_end,
	    .release = l->release[0] ? l->release : NULL,
	};

	sanitizer_set_layout(s, &sl);
}
