/*
 * util/wait_list.h: the wait list every waiting primitive is built on.
 *
 * THE WAITER CONTRACT (every primitive that waits follows it):
 *
 *   1. A waiter is a node inside the waiting future (kr__waiter, from
 *      include/kairo/waiter.h), never a separate allocation. The future is
 *      pinned from the poll that links it (core.h's moving rule).
 *   2. The node, its waker and its `state` word belong to whoever holds the
 *      list's lock. A waker or notifier that hands the waiter something
 *      (permits, a notification, "closed") records it in `state` and unlinks
 *      the node under the lock, then wakes the waker it took out of the node
 *      after releasing the lock (kr__wake_batch), never while holding it.
 *   3. The future's drop takes the lock and unlinks the node if it is still
 *      linked. A waiter that was handed a notification or permits and is
 *      dropped before it consumed them passes them on: to the next waiter,
 *      or back to the primitive (a semaphore's permits are released, a
 *      Notify's notify_one goes to the next waiter or is stored). So no
 *      permit and no wakeup is ever lost to a cancelled future.
 *   4. A primitive may only be freed with no waiter linked; the debug build
 *      checks it in kr__wait_list_destroy and names the primitive.
 *
 * The lock spins briefly, then sleeps on a futex (util/parklock.h): every
 * critical section is a few list links and word writes, but tasks on every
 * worker and outside threads take it, and a holder preempted inside must
 * not leave the others spinning for its time slice. Waking, which may run
 * arbitrary waker code, happens outside it in batches of KR__WAKE_BATCH so
 * a notify_all over many waiters never holds the lock for long. Order: the list's front is the
 * oldest waiter (push_back, pop_front), which is what FIFO fairness means.
 *
 * Callable from any thread, inside a runtime or not.
 */
#ifndef KR_UTIL_WAIT_LIST_H
#define KR_UTIL_WAIT_LIST_H

#include "kairo/waiter.h"
#include "util/list.h"
#include "util/parklock.h"

typedef struct kr__wait_list {
    kr__parklock lock;
    kr__list waiters; /* oldest first */
} kr__wait_list;

void kr__wait_list_init(kr__wait_list *wl);
/* Requires (debug): no waiter is linked; `what` names the primitive in the
 * message ("kr_semaphore freed while futures wait on it (...)"). */
void kr__wait_list_destroy(kr__wait_list *wl, const char *what);

static inline void kr__wait_lock(kr__wait_list *wl) {
    kr__parklock_lock(&wl->lock);
}
static inline void kr__wait_unlock(kr__wait_list *wl) {
    kr__parklock_unlock(&wl->lock);
}

/* A waiter before its first poll: unlinked, no waker, state 0. */
static inline void kr__waiter_init(kr__waiter *w) {
    kr__list_node_init(&w->node);
    w->waker.data = NULL;
    w->waker.vtable = NULL;
    w->state = 0;
}

static inline bool kr__waiter_linked(const kr__waiter *w) {
    return kr__list_linked(&w->node);
}

/* Under the lock: stores (a clone of) `wk`, NULL for none, and links `w` at
 * the back. */
static inline void kr__waiter_push(kr__wait_list *wl, kr__waiter *w,
                                   const kr_waker *wk) {
    if (wk != NULL)
        kr_waker_set(&w->waker, wk);
    kr__list_push_back(&wl->waiters, &w->node);
}

/* Under the lock: the oldest waiter, or NULL. */
static inline kr__waiter *kr__wait_list_front(kr__wait_list *wl) {
    kr__list *n = kr__list_front(&wl->waiters);
    return n == NULL ? NULL : KR__CONTAINER_OF(n, kr__waiter, node);
}

static inline bool kr__wait_list_empty(kr__wait_list *wl) {
    return kr__list_empty(&wl->waiters);
}

/* Wakers collected under the lock, woken after it is released. */
#define KR__WAKE_BATCH 32 /* Tokio's WakeList size: a stack array, no alloc */
typedef struct kr__wake_batch {
    unsigned n;
    kr_waker w[KR__WAKE_BATCH];
} kr__wake_batch;

static inline void kr__wake_batch_init(kr__wake_batch *b) { b->n = 0; }
static inline bool kr__wake_batch_full(const kr__wake_batch *b) {
    return b->n == KR__WAKE_BATCH;
}

/* Under the lock: unlinks `w` (if linked) and moves its waker, if any, into
 * the batch. Requires: the batch is not full. After this the notifier must
 * not touch `w` once it drops the lock (its future may be freed). */
static inline void kr__wake_batch_take(kr__wake_batch *b, kr__waiter *w) {
    KR__REQUIRE(b->n < KR__WAKE_BATCH, "wake batch overflow (%u)", b->n);
    if (kr__waiter_linked(w))
        kr__list_remove(&w->node);
    if (w->waker.vtable != NULL) {
        b->w[b->n++] = w->waker;
        w->waker.vtable = NULL;
        w->waker.data = NULL;
    }
}

/* Outside the lock: wakes (consuming) every collected waker. */
static inline void kr__wake_batch_wake(kr__wake_batch *b) {
    for (unsigned i = 0; i < b->n; i++)
        kr_waker_wake(b->w[i]);
    b->n = 0;
}

/* Drops the waiter's stored waker, if any (its future's drop, after the
 * node was unlinked; outside the lock is fine then). */
static inline void kr__waiter_drop_waker(kr__waiter *w) {
    kr_waker_reset(&w->waker);
}

#endif /* KR_UTIL_WAIT_LIST_H */
