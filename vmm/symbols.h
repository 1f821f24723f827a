/* SPDX-License-Identifier: MIT */
/*
 * Guest kernel symbols for reports: function symbols from the kernel's ELF
 * symbol table (libelf) or a Linux System.map, shifted by the KASLR offset,
 * looked up as "func+0xoff/0xsize" like the kernel's %pS.
 */
#ifndef VMM_SYMBOLS_H
#define VMM_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbols;

/* Function symbols of an ELF file; -ENOENT if it has none. */
int symbols_load_elf(struct symbols **out, const char *path);
/* "address type name" lines; sizes are the distance to the next text symbol. */
int symbols_load_system_map(struct symbols **out, const char *path);
void symbols_free(struct symbols *s);

/* Added to every address looked up (Linux KASLR: the offset the guest registered). */
void symbols_set_offset(struct symbols *s, uint64_t offset);
size_t symbols_count(const struct symbols *s);

/* "name+0xoff/0xsize" into buf; false when addr is in no known function. */
bool symbols_lookup(const struct symbols *s, uint64_t addr, char *buf, size_t len);
/* Start address of a function by name (for allocator exemption lists); 0 if unknown. */
uint64_t symbols_find(const struct symbols *s, const char *name, uint64_t *size);

/*
 * Call fn for every function named `name` (or, with prefix, starting with
 * it), with its runtime address and size; returns how many matched.
 */
unsigned int symbols_match(const struct symbols *s, const char *name, bool prefix,
			   void (*fn)(void *ctx, uint64_t addr, uint64_t size), void *ctx);

#endif /* VMM_SYMBOLS_H */
