/*
 * util/alloc.h: every allocation in kairo goes through these, so a user can
 * replace the allocator (kr_set_allocator) and a test can count or fail
 * allocations.
 */
#ifndef KR_UTIL_ALLOC_H
#define KR_UTIL_ALLOC_H

#include <stddef.h>

#include "kairo.h"

extern kr_allocator kr__allocator;

static inline void *kr__malloc(size_t n) { return kr__allocator.malloc(n); }
static inline void *kr__realloc(void *p, size_t n) {
    return kr__allocator.realloc(p, n);
}
static inline void kr__free(void *p) { kr__allocator.free(p); }
void *kr__calloc(size_t n, size_t size);

/* A block aligned to `align` (a power of two) when the allocator is the C
 * library's (aligned_alloc, freed by free); with a replaced allocator,
 * whatever its malloc gives. Freed with kr__free either way. */
void *kr__malloc_aligned(size_t n, size_t align);
static inline void *kr__malloc_cacheline(size_t n) {
    return kr__malloc_aligned(n, 64);
}
/* Zeroed and page-aligned: for a runtime's own structures, so the low
 * address bits of their hot fields are the same in every run (with ASLR,
 * 4 KiB aliasing against the stack or heap otherwise makes timings
 * bimodal: ct/spawn_many_local measured 47 vs 79 us per iteration). */
void *kr__calloc_page(size_t n);

#endif /* KR_UTIL_ALLOC_H */
