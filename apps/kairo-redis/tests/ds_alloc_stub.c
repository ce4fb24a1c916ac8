/* ds_alloc_stub.c: zmalloc and friends over malloc, for the unit tests of
 * kairo-redis's data structures (the server's counting versions live in
 * object.c). Out of memory aborts, as the server's does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *zmalloc(size_t size);
void *zcalloc(size_t size);
void *zrealloc(void *ptr, size_t size);
void zfree(void *ptr);

void *zmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        abort();
    return p;
}
void *zcalloc(size_t size) {
    void *p = calloc(1, size ? size : 1);
    if (p == NULL)
        abort();
    return p;
}
void *zrealloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        abort();
    return p;
}
void zfree(void *ptr) { free(ptr); }
