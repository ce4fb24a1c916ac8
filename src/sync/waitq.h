/*
 * sync/waitq.h: the channels' use of the shared wait list
 * (util/wait_list.h, whose contract they follow).
 *
 * A channel keeps all its state under the lock of its kr__wait_list (one
 * lock per channel, not one for the list and another for the messages);
 * a channel with a second kind of waiter (Sender::closed) keeps a second
 * list head under the same lock. A waiter's `state` word says what it was
 * handed, each change made under the lock:
 *
 *   IDLE     on no list, holds nothing (a new future, or one done)
 *   WAITING  linked, owns its waker
 *   GRANTED  unlinked by a releaser that handed it what it waited for (an
 *            mpsc slot) or told it something happened (a broadcast send, a
 *            watch change); its waker was taken and woken. A future
 *            dropped in this state with a slot gives the slot back.
 *   CLOSED   unlinked by close; woken. The future completes KR_ECLOSED.
 *
 * Wakers are woken after the unlock, from a kr__wake_batch.
 */
#ifndef KR_SYNC_WAITQ_H
#define KR_SYNC_WAITQ_H

#include "kairo.h"
#include "util/wait_list.h"

enum {
    KR__W_IDLE = 0,
    KR__W_WAITING = 1,
    KR__W_GRANTED = 2,
    KR__W_CLOSED = 3,
};

/* Links `w` at the tail of `q` (FIFO) with a clone of `waker`. */
static inline void kr__chan_wait(kr__list *q, kr__waiter *w,
                                 const kr_waker *waker) {
    kr_waker_set(&w->waker, waker);
    w->state = KR__W_WAITING;
    kr__list_push_back(q, &w->node);
}

/* A WAITING waiter polled again: keeps the waker current. */
static inline void kr__chan_update(kr__waiter *w, const kr_waker *waker) {
    kr_waker_set(&w->waker, waker);
}

/* Unlinks a WAITING waiter and drops its waker. */
static inline void kr__chan_cancel(kr__waiter *w) {
    kr__list_remove(&w->node);
    kr_waker_reset(&w->waker);
    w->state = KR__W_IDLE;
}

/* Pops the first waiter of `q`, marks it `state` and takes its waker into
 * the batch. Returns it, or NULL when `q` is empty. Requires: the batch is
 * not full. */
static inline kr__waiter *kr__chan_pop(kr__list *q, size_t state,
                                       kr__wake_batch *b) {
    kr__list *n = kr__list_front(q);
    if (n == NULL)
        return NULL;
    kr__waiter *w = KR__CONTAINER_OF(n, kr__waiter, node);
    w->state = state;
    kr__wake_batch_take(b, w);
    return w;
}

/* Moves a waker kept outside any waiter (the mpsc receiver's) into the
 * batch, if there is one. Requires: the batch is not full. */
static inline void kr__chan_take_waker(kr__wake_batch *b, kr_waker *slot) {
    KR__REQUIRE(b->n < KR__WAKE_BATCH, "wake batch overflow (%u)", b->n);
    if (slot->vtable != NULL) {
        b->w[b->n++] = *slot;
        slot->vtable = NULL;
        slot->data = NULL;
    }
}

#endif /* KR_SYNC_WAITQ_H */
