/*
 * sync/waitq.h: the wait list of a channel, and a batch of wakers to wake
 * once its lock is released.
 *
 * Every function here runs under the lock of the channel that owns the
 * list; that lock is what orders a waiter's fields between the future (its
 * poll and drop) and whoever hands it something (a freed slot, a new
 * message, a close). A waiter moves through these states, each change made
 * under the lock:
 *
 *   IDLE     on no list, holds nothing (a new future, or one done)
 *   WAITING  linked, owns waker_
 *   GRANTED  unlinked by a releaser that handed it what it waited for (a
 *            slot, a message); waker_ was taken and woken. A future dropped
 *            in this state gives the grant back (passes it on).
 *   CLOSED   unlinked by close; woken. The future completes with KR_ECLOSED.
 *
 * Wakers are never woken under the lock (a wake may unpark a thread): they
 * are moved into a kr__wake_batch and woken after the unlock. A waiter's
 * waker is taken out while the lock is held, so a future that is dropped
 * right after the unlock does not race with the wake.
 *
 * (This is the channel layer's own wait list; util/list.h is the list.)
 */
#ifndef KR_SYNC_WAITQ_H
#define KR_SYNC_WAITQ_H

#include "kairo.h"
#include "util/list.h"

enum {
    KR__W_IDLE = 0,
    KR__W_WAITING = 1,
    KR__W_GRANTED = 2,
    KR__W_CLOSED = 3,
};

/* The node is the first member of kr__chan_waiter, laid out as a kr__list
 * (two pointers): the public header cannot name the internal type. */
_Static_assert(sizeof(((kr__chan_waiter *)0)->link_) == sizeof(kr__list),
               "waiter link must hold a kr__list");

static inline kr__list *kr__waiter_node(kr__chan_waiter *w) {
    return (kr__list *)(void *)w->link_;
}

static inline kr__chan_waiter *kr__waiter_of(kr__list *n) {
    return (kr__chan_waiter *)(void *)n;
}

/* Links `w` at the tail (FIFO) with a clone of `waker`. */
static inline void kr__waiter_push(kr__list *q, kr__chan_waiter *w,
                                   const kr_waker *waker) {
    w->waker_ = kr_waker_clone(waker);
    w->state_ = KR__W_WAITING;
    kr__list_push_back(q, kr__waiter_node(w));
}

/* A WAITING waiter polled again: keeps the waker current. */
static inline void kr__waiter_update(kr__chan_waiter *w,
                                     const kr_waker *waker) {
    kr_waker_set(&w->waker_, waker);
}

/* Unlinks a WAITING waiter (its future is dropped, or it completes by
 * itself) and drops its waker. */
static inline void kr__waiter_cancel(kr__chan_waiter *w) {
    kr__list_remove(kr__waiter_node(w));
    kr_waker_reset(&w->waker_);
    w->state_ = KR__W_IDLE;
}

/* Wakers collected under a lock, woken after it. */
#define KR__WAKE_BATCH 32
typedef struct kr__wake_batch {
    int n;
    kr_waker w[KR__WAKE_BATCH];
} kr__wake_batch;

static inline bool kr__batch_full(const kr__wake_batch *b) {
    return b->n == KR__WAKE_BATCH;
}

/* Moves the waker out of `slot` into the batch (nothing if none).
 * Requires: the batch is not full. */
static inline void kr__batch_take(kr__wake_batch *b, kr_waker *slot) {
    KR__REQUIRE(b->n < KR__WAKE_BATCH, "wake batch overflow");
    if (slot->vtable != NULL) {
        b->w[b->n++] = *slot;
        slot->vtable = NULL;
        slot->data = NULL;
    }
}

/* Wakes and empties the batch. Call with no lock held. */
static inline void kr__batch_wake(kr__wake_batch *b) {
    for (int i = 0; i < b->n; i++)
        kr_waker_wake(b->w[i]);
    b->n = 0;
}

/* Pops the first waiter, marks it `state` and takes its waker into the
 * batch. Returns it, or NULL when the list is empty. */
static inline kr__chan_waiter *kr__waiter_pop(kr__list *q, int state,
                                              kr__wake_batch *b) {
    kr__list *n = kr__list_pop_front(q);
    if (n == NULL)
        return NULL;
    kr__chan_waiter *w = kr__waiter_of(n);
    w->state_ = state;
    kr__batch_take(b, &w->waker_);
    return w;
}

#endif /* KR_SYNC_WAITQ_H */
