/*
 * util/alloc.c: the replaceable allocator. It is a plain global read on every
 * allocation; kr_set_allocator documents that it may only be called while no
 * runtime exists, which is what makes the unsynchronised read safe.
 */
#include <stdint.h>
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
    if (n > (size_t)-1 / 2 - align)
        return NULL;
    /* A 128-byte task cell at a 16-byte offset spans three cache lines
     * instead of two. */
    if (kr__allocator.malloc == malloc)
        return aligned_alloc(align, (n + align - 1) & ~(align - 1));
    /* The replaced allocator's block is at least pointer-aligned (as
     * malloc's): the aligned address leaves a word for it below. */
    char *raw = kr__malloc(n + align);
    if (raw == NULL)
        return NULL;
    uintptr_t at =
        ((uintptr_t)raw + sizeof(void *) + align - 1) & ~(uintptr_t)(align - 1);
    void **p = (void **)at;
    p[-1] = raw;
    return p;
}

void kr__free_aligned(void *p) {
    if (p == NULL)
        return;
    if (kr__allocator.malloc == malloc)
        free(p);
    else
        kr__free(((void **)p)[-1]);
}

static void *calloc_aligned(size_t n, size_t size, size_t align) {
    if (size != 0 && n > (size_t)-1 / size)
        return NULL;
    void *p = kr__malloc_aligned(n * size, align);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *kr__calloc_cacheline(size_t n, size_t size) {
    return calloc_aligned(n, size, 64);
}

void *kr__calloc_page(size_t n) { return calloc_aligned(n, 1, 4096); }

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
