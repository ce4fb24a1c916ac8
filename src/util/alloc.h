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
static inline void kr__free(void *p) { kr__allocator.free(p); }
void *kr__calloc(size_t n, size_t size);

/*
 * Aligned blocks. kr_allocator carries no alignment (its malloc is C's:
 * alignof(max_align_t)), so kairo aligns within what it gets: with the C
 * library's allocator a block comes from aligned_alloc; with a replaced
 * one, kairo asks for `n + align` bytes and keeps the block's address in
 * the word before the aligned one it returns. Either way such a block is
 * freed with kr__free_aligned, never kr__free. runtime.h documents this
 * for kr_set_allocator's users.
 *
 * kr__malloc_aligned: `align` a power of two, at most 4096. NULL on
 * failure or overflow.
 */
void *kr__malloc_aligned(size_t n, size_t align);
void kr__free_aligned(void *p);
static inline void *kr__malloc_cacheline(size_t n) {
    return kr__malloc_aligned(n, 64);
}
/* Zeroed, cache-line aligned: arrays of KR__ALIGNED_CL structs. */
void *kr__calloc_cacheline(size_t n, size_t size);
/* Zeroed and page-aligned: for a runtime's own structures, so the low
 * address bits of their hot fields are the same in every run (with ASLR,
 * 4 KiB aliasing against the stack or heap otherwise makes timings
 * bimodal: ct/spawn_many_local measured 47 vs 79 us per iteration). */
void *kr__calloc_page(size_t n);

#endif /* KR_UTIL_ALLOC_H */
