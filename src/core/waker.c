/* core/waker.c: the noop waker. */
#include "kairo.h"

static kr_waker noop_clone(const void *data);
static void noop(const void *data) { (void)data; }

static const kr_waker_vtable noop_vtable = {noop_clone, noop, noop, noop};

static kr_waker noop_clone(const void *data) {
    kr_waker w = {data, &noop_vtable};
    return w;
}

kr_waker kr_waker_noop(void) {
    kr_waker w = {NULL, &noop_vtable};
    return w;
}
