/*
 * sync/broadcast.c: every receiver sees every message.
 *
 * Structure. One allocation for the channel: a header and a ring of `cap`
 * slots (a power of two); the message sent at position p lives in slot
 * p & mask until position p + cap overwrites it. Receivers are small
 * objects holding a cursor `next` (the position of the next message they
 * will take). Everything is guarded by one spinlock:
 *
 *   tail       the position of the next message to send (64 bits: it
 *              never wraps in practice).
 *   retained   positions [max(0, tail - cap), tail) are in the ring.
 *   waiters    receives waiting for tail to move (sync/waitq.h).
 *   closed_waiters  kr_broadcast_closed futures waiting for receivers == 0.
 *   senders, receivers, refs (senders + receivers), closed.
 *
 * A receive, under the lock: next < oldest retained → KR_ELAGGED with
 * oldest - next, next = oldest; next < tail → copy the slot, next++;
 * closed → KR_ECLOSED; else wait. A send writes slot tail & mask, bumps
 * tail, and wakes every waiting receive in batches (marking them GRANTED,
 * i.e. "something was sent": a receive is not handed a message, it reads
 * its own cursor, so a dropped receive has nothing to pass on).
 *
 * Why one lock rather than Tokio's per-slot RwLocks plus a tail Mutex: a
 * receive here is one lock round trip and a copy, where Tokio's takes the
 * tail mutex on the slow path and a slot read lock on every receive; with
 * values as bytes there is no per-slot reference count to keep.
 */
#include <string.h>

#include "kairo.h"
#include "core/coop.h"
#include "sync/waitq.h"
#include "util/abort.h"
#include "util/alloc.h"

#define MAX_MSG ((size_t)1 << 20)

typedef struct bchan {
    kr__wait_list wl; /* its lock guards the whole channel */
    bool closed;
    size_t msg_size;
    size_t cap; /* a power of two */
    uint64_t tail;
    size_t senders;
    size_t receivers;
    size_t refs;
    kr__list closed_waiters;
    kr__list rxs; /* every receiver, for Sender::len */
    _Alignas(16) unsigned char ring[];
} bchan;

struct kr_broadcast_rx {
    bchan *c;
    uint64_t next;
    kr__list link; /* on c->rxs */
    bool waiting;  /* a recv future of this receiver is linked */
};

static bchan *of_tx(const kr_broadcast_tx *tx) { return (bchan *)tx; }

static void bchan_free(bchan *c) {
    KR__REQUIRE(kr__list_empty(&c->closed_waiters),
                "kr_broadcast channel freed while a closed() waits on it");
    kr__wait_list_destroy(&c->wl, "kr_broadcast channel");
    kr__free(c);
}

/* Drops one reference under the lock; frees after the unlock if last. */
static void unref_unlock(bchan *c, kr__wake_batch *b) {
    bool last = --c->refs == 0;
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(b);
    if (last)
        bchan_free(c);
}

/* Wakes every waiter of `q` with `state`, in batches, dropping the lock
 * between them. Returns with the lock held and the last batch in b. */
static void wake_all(bchan *c, kr__list *q, int state, kr__wake_batch *b) {
    for (;;) {
        while (!kr__wake_batch_full(b) && kr__chan_pop(q, state, b) != NULL) {
        }
        if (kr__list_empty(q))
            return;
        kr__wait_unlock(&c->wl);
        kr__wake_batch_wake(b);
        kr__wait_lock(&c->wl);
    }
}

/* A receiver at the tail; the caller holds the lock. */
static int new_rx(bchan *c, kr_broadcast_rx **out) {
    kr_broadcast_rx *rx = kr__malloc(sizeof(*rx));
    if (rx == NULL)
        return KR_ENOMEM;
    rx->c = c;
    rx->next = c->tail;
    rx->waiting = false;
    kr__list_node_init(&rx->link);
    kr__list_push_back(&c->rxs, &rx->link);
    c->receivers++;
    c->refs++;
    *out = rx;
    return 0;
}

int kr_broadcast_new(size_t msg_size, size_t capacity, kr_broadcast_tx **tx,
                     kr_broadcast_rx **rx) {
    if (tx == NULL || capacity == 0 || capacity > KR_BROADCAST_MAX_CAPACITY ||
        msg_size > MAX_MSG)
        return KR_EINVAL;
    size_t cap = 1;
    while (cap < capacity)
        cap *= 2;
    bchan *c = kr__malloc(sizeof(*c) + cap * msg_size);
    if (c == NULL)
        return KR_ENOMEM;
    kr__wait_list_init(&c->wl);
    c->closed = false;
    c->msg_size = msg_size;
    c->cap = cap;
    c->tail = 0;
    c->senders = 1;
    c->receivers = 0;
    c->refs = 1;
    kr__list_init(&c->closed_waiters);
    kr__list_init(&c->rxs);
    if (rx != NULL && new_rx(c, rx) < 0) {
        kr__free(c);
        return KR_ENOMEM;
    }
    *tx = (kr_broadcast_tx *)c;
    return 0;
}

kr_broadcast_tx *kr_broadcast_tx_clone(kr_broadcast_tx *tx) {
    if (tx == NULL)
        return NULL;
    bchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    c->senders++;
    c->refs++;
    kr__wait_unlock(&c->wl);
    return tx;
}

/* Under the lock: closes and wakes every waiting receive. */
static void close_locked(bchan *c, kr__wake_batch *b) {
    c->closed = true;
    wake_all(c, &c->wl.waiters, KR__W_CLOSED, b);
}

void kr_broadcast_tx_drop(kr_broadcast_tx *tx) {
    if (tx == NULL)
        return;
    bchan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    KR__REQUIRE(c->senders > 0, "kr_broadcast sender dropped once too often");
    if (--c->senders == 0)
        close_locked(c, &b);
    unref_unlock(c, &b);
}

void kr_broadcast_tx_close(kr_broadcast_tx *tx) {
    if (tx == NULL)
        return;
    bchan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    close_locked(c, &b);
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
}

int kr_broadcast_send(kr_broadcast_tx *tx, const void *msg) {
    if (tx == NULL)
        return KR_EINVAL;
    bchan *c = of_tx(tx);
    if (msg == NULL && c->msg_size != 0)
        return KR_EINVAL;
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    if (c->closed || c->receivers == 0) {
        kr__wait_unlock(&c->wl);
        return KR_ECLOSED;
    }
    int n = c->receivers > INT32_MAX ? INT32_MAX : (int)c->receivers;
    if (c->msg_size != 0)
        memcpy(c->ring + (c->tail & (c->cap - 1)) * c->msg_size, msg,
               c->msg_size);
    c->tail++;
    wake_all(c, &c->wl.waiters, KR__W_GRANTED, &b);
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return n;
}

int kr_broadcast_subscribe(kr_broadcast_tx *tx, kr_broadcast_rx **out) {
    if (tx == NULL || out == NULL)
        return KR_EINVAL;
    bchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    int rc = new_rx(c, out);
    kr__wait_unlock(&c->wl);
    return rc;
}

int kr_broadcast_rx_resubscribe(kr_broadcast_rx *rx, kr_broadcast_rx **out) {
    if (rx == NULL || out == NULL)
        return KR_EINVAL;
    return kr_broadcast_subscribe((kr_broadcast_tx *)rx->c, out);
}

void kr_broadcast_rx_drop(kr_broadcast_rx *rx) {
    if (rx == NULL)
        return;
    bchan *c = rx->c;
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    KR__REQUIRE(!rx->waiting,
                "kr_broadcast receiver dropped while a receive waits on it");
    kr__list_remove(&rx->link);
    if (--c->receivers == 0)
        wake_all(c, &c->closed_waiters, KR__W_GRANTED, &b);
    kr__free(rx);
    unref_unlock(c, &b);
}

size_t kr_broadcast_receiver_count(const kr_broadcast_tx *tx) {
    if (tx == NULL)
        return 0;
    bchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    size_t n = c->receivers;
    kr__wait_unlock(&c->wl);
    return n;
}

bool kr_broadcast_tx_is_closed(const kr_broadcast_tx *tx) {
    return kr_broadcast_receiver_count(tx) == 0;
}

size_t kr_broadcast_tx_len(const kr_broadcast_tx *tx) {
    if (tx == NULL)
        return 0;
    bchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    uint64_t most = 0;
    KR__LIST_FOR_EACH(it, tmp, &c->rxs) {
        kr_broadcast_rx *rx = KR__CONTAINER_OF(it, kr_broadcast_rx, link);
        if (c->tail - rx->next > most)
            most = c->tail - rx->next;
    }
    kr__wait_unlock(&c->wl);
    return most > c->cap ? c->cap : (size_t)most;
}

size_t kr_broadcast_rx_len(const kr_broadcast_rx *rx) {
    if (rx == NULL)
        return 0;
    bchan *c = rx->c;
    kr__wait_lock(&c->wl);
    uint64_t n = c->tail - rx->next;
    kr__wait_unlock(&c->wl);
    return (size_t)n;
}

bool kr_broadcast_rx_is_closed(const kr_broadcast_rx *rx) {
    if (rx == NULL)
        return true;
    bchan *c = rx->c;
    kr__wait_lock(&c->wl);
    bool closed = c->closed;
    kr__wait_unlock(&c->wl);
    return closed;
}

/* ---- receiving ---------------------------------------------------------- */

/* Under the lock. Returns 0, KR_ELAGGED, KR_ECLOSED, or KR_EEMPTY. */
static int take(kr_broadcast_rx *rx, void *dst, uint64_t *lagged) {
    bchan *c = rx->c;
    if (rx->next < c->tail) {
        uint64_t oldest = c->tail > c->cap ? c->tail - c->cap : 0;
        if (rx->next < oldest) {
            if (lagged != NULL)
                *lagged = oldest - rx->next;
            rx->next = oldest;
            return KR_ELAGGED;
        }
        if (dst != NULL && c->msg_size != 0)
            memcpy(dst, c->ring + (rx->next & (c->cap - 1)) * c->msg_size,
                   c->msg_size);
        rx->next++;
        return 0;
    }
    return c->closed ? KR_ECLOSED : KR_EEMPTY;
}

int kr_broadcast_try_recv(kr_broadcast_rx *rx, void *dst, uint64_t *lagged) {
    if (rx == NULL)
        return KR_EINVAL;
    bchan *c = rx->c;
    kr__wait_lock(&c->wl);
    int rc = take(rx, dst, lagged);
    kr__wait_unlock(&c->wl);
    return rc;
}

static kr_poll recv_poll(kr_future *f, kr_context *cx, void *out) {
    kr_broadcast_recv *r = (kr_broadcast_recv *)f;
    if (r->phase_ == 2)
        kr__die("kr_broadcast_recv polled after it returned READY");
    int rc;
    kr_broadcast_rx *rx = r->rx_;
    if (rx == NULL) {
        rc = KR_EINVAL;
    } else {
        if (!kr__coop_proceed(cx))
            return KR_PENDING;
        bchan *c = rx->c;
        kr__wait_lock(&c->wl);
        rc = take(rx, r->dst_, r->lagged_);
        if (r->phase_ == 1) {
            if (r->w_.state == KR__W_WAITING) {
                if (rc == KR_EEMPTY) {
                    kr__chan_update(&r->w_, cx->waker);
                    kr__wait_unlock(&c->wl);
                    kr__coop_refund();
                    return KR_PENDING;
                }
                kr__chan_cancel(&r->w_);
            }
            r->w_.state = KR__W_IDLE;
            r->phase_ = 0;
            rx->waiting = false;
        }
        if (rc == KR_EEMPTY) {
            kr__chan_wait(&c->wl.waiters, &r->w_, cx->waker);
            r->phase_ = 1;
            rx->waiting = true;
            kr__wait_unlock(&c->wl);
            kr__coop_refund();
            return KR_PENDING;
        }
        kr__wait_unlock(&c->wl);
    }
    r->phase_ = 2;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void recv_drop(kr_future *f) {
    kr_broadcast_recv *r = (kr_broadcast_recv *)f;
    if (r->phase_ != 1)
        return;
    bchan *c = r->rx_->c;
    kr__wait_lock(&c->wl);
    if (r->w_.state == KR__W_WAITING)
        kr__chan_cancel(&r->w_);
    r->w_.state = KR__W_IDLE;
    r->rx_->waiting = false;
    kr__wait_unlock(&c->wl);
}

const kr_future_vtable kr__broadcast_recv_vtable = {
    recv_poll, recv_drop, sizeof(kr_broadcast_recv), sizeof(int),
    "kr_broadcast_recv"};

/* ---- Sender::closed ----------------------------------------------------- */

static kr_poll closed_poll(kr_future *f, kr_context *cx, void *out) {
    kr_broadcast_closed *w = (kr_broadcast_closed *)f;
    bchan *c = of_tx(w->tx_);
    if (c == NULL)
        return KR_READY;
    kr__wait_lock(&c->wl);
    if (w->phase_ == 1 && w->w_.state == KR__W_WAITING)
        kr__chan_cancel(&w->w_);
    w->w_.state = KR__W_IDLE;
    w->phase_ = 0;
    if (c->receivers == 0) {
        kr__wait_unlock(&c->wl);
        return KR_READY;
    }
    kr__chan_wait(&c->closed_waiters, &w->w_, cx->waker);
    w->phase_ = 1;
    kr__wait_unlock(&c->wl);
    return KR_PENDING;
}

static void closed_drop(kr_future *f) {
    kr_broadcast_closed *w = (kr_broadcast_closed *)f;
    if (w->phase_ != 1)
        return;
    bchan *c = of_tx(w->tx_);
    kr__wait_lock(&c->wl);
    if (w->w_.state == KR__W_WAITING)
        kr__chan_cancel(&w->w_);
    w->w_.state = KR__W_IDLE;
    kr__wait_unlock(&c->wl);
}

static const kr_future_vtable closed_vtable = {closed_poll, closed_drop,
                                               sizeof(kr_broadcast_closed), 0,
                                               "kr_broadcast_closed"};

kr_broadcast_closed kr_broadcast_tx_closed(kr_broadcast_tx *tx) {
    kr_broadcast_closed w = {{&closed_vtable}, tx, KR__WAITER_INIT, 0};
    return w;
}
