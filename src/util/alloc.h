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

#endif /* KR_UTIL_ALLOC_H */
