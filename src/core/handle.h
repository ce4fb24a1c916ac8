/*
 * core/handle.h: a runtime's handle (kr_handle, kairo/runtime.h), the one
 * part of a runtime that may outlive it.
 *
 * A handle is made with its runtime and refcounted: the runtime holds one
 * reference, every kr_handle the user holds one, a thread that entered the
 * runtime one (its kr_enter_guard's), a blocking pool one (its threads run
 * "inside" the runtime, kr__ctx.entered). kr_runtime_free closes it before
 * it frees the runtime; from then on the handle answers KR_ESHUTDOWN and
 * its memory goes with the last reference.
 *
 * Protocol of `users` and `closed` (a Dekker pair, every access seq_cst):
 *   - A call through the handle (kr__handle_use) increments `users`, then
 *     reads `closed`; if set it decrements and fails. Otherwise `rt` is
 *     valid until its kr__handle_unuse.
 *   - kr__handle_close stores `closed`, then waits until `users` reads 0.
 *   Either the user's load sees the close, or the closer's load sees the
 *   user's increment and waits for its decrement (seq_cst forbids both
 *   loads missing the other side's store). A call that got in may run
 *   long (a block_on): the closer shuts the runtime down first, which ends
 *   it.
 */
#ifndef KR_CORE_HANDLE_H
#define KR_CORE_HANDLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "kairo.h"
#include "core/context.h"
#include "util/atomic.h"

typedef struct kr__handle {
    _Atomic uint32_t refs;
    _Atomic uint32_t users; /* calls in flight on `rt` through the handle */
    _Atomic int closed;     /* the runtime is (being) freed */
    kr_runtime *rt;         /* valid while a use is held */
    uint64_t id;            /* the runtime's id (kr_runtime_id) */
} kr__handle;

/* Takes a use: true and `rt` valid until kr__handle_unuse, or false (the
 * runtime is freed or being freed). */
static inline bool kr__handle_use(kr__handle *h) {
    kr__fetch_add_seqcst(&h->users, 1);
    if (kr__load_seqcst(&h->closed)) {
        kr__fetch_sub_seqcst(&h->users, 1);
        return false;
    }
    return true;
}

static inline void kr__handle_unuse(kr__handle *h) {
    kr__fetch_sub_seqcst(&h->users, 1);
}

/*
 * The runtime the calling thread runs (kr__ctx.rt), or else the one it
 * entered (kr_runtime_enter, a blocking-pool thread) unless that one was
 * freed. The second is a borrowed pointer that a concurrent
 * kr_runtime_free may invalidate: callers that keep it (a socket binding
 * to its reactor) rely on the documented rule that a runtime is not freed
 * while threads inside it still use it; spawns go through
 * kr__handle_use instead.
 */
static inline kr_runtime *kr__current_runtime(void) {
    if (kr__ctx.rt != NULL)
        return kr__ctx.rt;
    kr__handle *h = kr__ctx.entered;
    if (h == NULL || kr__load_seqcst(&h->closed))
        return NULL;
    return h->rt;
}

/* A reference more. */
static inline void kr__handle_ref(kr__handle *h) {
    kr__fetch_add_relaxed(&h->refs, 1);
}
/* A reference less; frees at zero (rt/handle.c). */
void kr__handle_unref(kr__handle *h);

#endif
