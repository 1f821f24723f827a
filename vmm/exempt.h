/* SPDX-License-Identifier: MIT */
/*
 * Allocator exemption: guest code ranges whose accesses to poisoned memory
 * are completed without judgement (the allocator writes freelist pointers
 * into free objects). Function lists live in configs/exempt/; names resolve
 * through the guest's symbols.
 */
#ifndef VMM_EXEMPT_H
#define VMM_EXEMPT_H

#include <stdbool.h>
#include <stdint.h>

struct symbols;
struct exempt;

/* Resolve the list in `path` against syms; -errno (message) if unreadable. */
int exempt_load(struct exempt **out, const char *path, const struct symbols *syms);
void exempt_free(struct exempt *e);
/* Is rip inside an exempted function? */
bool exempt_contains(const struct exempt *e, uint64_t rip);
/*
 * Is rip inside a "word" function: a word-at-a-time string reader that may
 * read past the string's end (Linux checks one byte of such a read)?
 */
bool exempt_first_byte(const struct exempt *e, uint64_t rip);
unsigned int exempt_count(const struct exempt *e);

#endif /* VMM_EXEMPT_H */
