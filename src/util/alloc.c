/*
 * util/alloc.c: the replaceable allocator. It is a plain global read on every
 * allocation; kr_set_allocator documents that it may only be called while no
 * runtime exists, which is what makes the unsynchronised read safe.
 */
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

kr_allocator kr__allocator = {malloc, realloc, free};

void *kr__calloc(size_t n, size_t size) {
    if (size != 0 && n > (size_t)-1 / size)
        return NULL;
    void *p = kr__malloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *kr__malloc_aligned(size_t n, size_t align) {
    /* A 128-byte task cell at a 16-byte offset spans three cache lines
     * instead of two. */
    if (kr__allocator.malloc == malloc)
        return aligned_alloc(align, (n + align - 1) & ~(align - 1));
    return kr__malloc(n);
}

void *kr__calloc_page(size_t n) {
    void *p = kr__malloc_aligned(n, 4096);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

int kr_set_allocator(const kr_allocator *a) {
    if (a == NULL) {
        kr_allocator def = {malloc, realloc, free};
        kr__allocator = def;
        return 0;
    }
    if (a->malloc == NULL || a->realloc == NULL || a->free == NULL)
        return KR_EINVAL;
    kr__allocator = *a;
    return 0;
}
