/*
 * sync/barrier.c: the barrier. Everything is under the wait list's lock:
 * `arrived` counts the current generation's parties; the n-th bumps
 * `generation`, moves every waiter to a list on its own stack (still
 * guarded by the lock, so a waiter dropped meanwhile can unlink itself
 * from it) and wakes them in batches outside the lock. A waiter is
 * released when `generation` differs from the one it arrived in.
 */
#include "kairo.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/wait_list.h"

enum { INIT, QUEUED, DONE };

struct kr_barrier {
    kr__wait_list wl;
    size_t n;
    size_t arrived;    /* under the lock */
    size_t generation; /* under the lock */
};

int kr_barrier_new(size_t n, kr_barrier **out) {
    if (out == NULL)
        return KR_EINVAL;
    kr_barrier *b = kr__malloc(sizeof(*b));
    if (b == NULL)
        return KR_ENOMEM;
    kr__wait_list_init(&b->wl);
    b->n = n == 0 ? 1 : n;
    b->arrived = 0;
    b->generation = 0;
    *out = b;
    return 0;
}

void kr_barrier_free(kr_barrier *b) {
    if (b == NULL)
        return;
    kr__wait_list_destroy(&b->wl, "kr_barrier");
    kr__free(b);
}

/* Under the lock (released and retaken while waking): releases the
 * generation. Returns with the lock held. */
static void release_locked(kr_barrier *b) {
    b->arrived = 0;
    b->generation++;
    kr__list pending;
    kr__list_init(&pending);
    kr__list_splice_back(&pending, &b->wl.waiters);
    kr__wake_batch wb;
    kr__wake_batch_init(&wb);
    kr__list *node;
    while ((node = kr__list_front(&pending)) != NULL) {
        kr__wake_batch_take(&wb, KR__CONTAINER_OF(node, kr__waiter, node));
        if (kr__wake_batch_full(&wb) || kr__list_empty(&pending)) {
            kr__wait_unlock(&b->wl);
            kr__wake_batch_wake(&wb);
            kr__wait_lock(&b->wl);
        }
    }
}

static kr_poll wait_poll(kr_future *f, kr_context *cx, void *out) {
    kr_barrier_wait *w = (kr_barrier_wait *)f;
    kr_barrier *b = w->barrier_;
    bool leader = false;
    if (w->phase_ == DONE)
        kr__die("kr_barrier_wait polled after it returned READY");
    if (b == NULL)
        goto ready;
    kr__wait_lock(&b->wl);
    if (w->phase_ == INIT) {
        if (++b->arrived == b->n) {
            release_locked(b);
            kr__wait_unlock(&b->wl);
            leader = true;
            goto ready;
        }
        w->generation_ = b->generation;
        kr__waiter_push(&b->wl, &w->w_, cx->waker);
        w->phase_ = QUEUED;
        kr__wait_unlock(&b->wl);
        return KR_PENDING;
    }
    if (b->generation == w->generation_) {
        kr_waker_set(&w->w_.waker, cx->waker);
        kr__wait_unlock(&b->wl);
        return KR_PENDING;
    }
    if (kr__waiter_linked(&w->w_)) /* still on a releaser's list */
        kr__list_remove(&w->w_.node);
    kr__wait_unlock(&b->wl);
    kr__waiter_drop_waker(&w->w_);
ready:
    w->phase_ = DONE;
    if (out != NULL)
        *(bool *)out = leader;
    return KR_READY;
}

static void wait_drop(kr_future *f) {
    kr_barrier_wait *w = (kr_barrier_wait *)f;
    if (w->phase_ != QUEUED)
        return;
    kr_barrier *b = w->barrier_;
    kr__wait_lock(&b->wl);
    if (kr__waiter_linked(&w->w_))
        kr__list_remove(&w->w_.node);
    if (b->generation == w->generation_)
        b->arrived--; /* not released yet: withdraw the arrival */
    kr__wait_unlock(&b->wl);
    kr__waiter_drop_waker(&w->w_);
    w->phase_ = DONE;
}

KR_FUTURE_VTABLE(wait_vtable, kr_barrier_wait, wait_poll, wait_drop,
                 sizeof(bool));

kr_barrier_wait kr_barrier_wait_future(kr_barrier *b) {
    kr_barrier_wait w;
    w.base.vtable = &wait_vtable;
    w.barrier_ = b;
    w.generation_ = 0;
    w.phase_ = INIT;
    kr__waiter_init(&w.w_);
    return w;
}
