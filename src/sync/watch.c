/*
 * sync/watch.c: one value, a version, many receivers.
 *
 * Structure. One allocation: a header and the value. Everything is guarded
 * by one spinlock:
 *
 *   value, version   a send stores the value and bumps the version; a
 *                    receiver's `seen` is the version it last took.
 *   waiters          changed / wait_for futures (sync/waitq.h), woken all
 *                    at once on every send and on close.
 *   closed_waiters   Sender::closed futures, woken when receivers hits 0.
 *   senders, receivers, refs, closed (the last sender went).
 *
 * A waiting future re-checks its condition under the lock on every poll,
 * so being woken is only a hint: nothing is handed to it, and a dropped
 * one has nothing to pass on. Borrows copy under the lock, which is what
 * makes them consistent (Tokio's RwLock read guard, as a copy). Tokio
 * spreads receivers over 8 Notify shards to cut contention on the waiter
 * list; here the list is one, and the wake happens outside the lock in
 * batches of KR__WAKE_BATCH.
 */
#include <string.h>

#include "kairo.h"
#include "core/coop.h"
#include "sync/waitq.h"
#include "util/abort.h"
#include "util/alloc.h"

#define MAX_VALUE ((size_t)1 << 20)

typedef struct wchan {
    kr__wait_list wl; /* its lock guards the whole channel */
    bool closed;
    size_t size;
    uint64_t version;
    size_t senders;
    size_t receivers;
    size_t refs;
    kr__list closed_waiters;
    _Alignas(16) unsigned char value[];
} wchan;

struct kr_watch_rx {
    wchan *c;
    uint64_t seen;
    int waiting; /* futures of this receiver on c->wl.waiters */
};

static wchan *of_tx(const kr_watch_tx *tx) { return (wchan *)tx; }

static void unref_unlock(wchan *c, kr__wake_batch *b) {
    bool last = --c->refs == 0;
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(b);
    if (last) {
        KR__REQUIRE(kr__list_empty(&c->closed_waiters),
                    "kr_watch channel freed while a closed() waits on it");
        kr__wait_list_destroy(&c->wl, "kr_watch channel");
        kr__free(c);
    }
}

/* Wakes every waiter of `q`, in batches, dropping the lock between them.
 * Returns with the lock held and the last batch in b. */
static void wake_all(wchan *c, kr__list *q, kr__wake_batch *b) {
    for (;;) {
        while (!kr__wake_batch_full(b) &&
               kr__chan_pop(q, KR__W_GRANTED, b) != NULL) {
        }
        if (kr__list_empty(q))
            return;
        kr__wait_unlock(&c->wl);
        kr__wake_batch_wake(b);
        kr__wait_lock(&c->wl);
    }
}

static int new_rx(wchan *c, uint64_t seen, kr_watch_rx **out) {
    kr_watch_rx *rx = kr__malloc(sizeof(*rx));
    if (rx == NULL)
        return KR_ENOMEM;
    rx->c = c;
    rx->seen = seen;
    rx->waiting = 0;
    c->receivers++;
    c->refs++;
    *out = rx;
    return 0;
}

int kr_watch_new(size_t value_size, const void *init, kr_watch_tx **tx,
                 kr_watch_rx **rx) {
    if (tx == NULL || value_size > MAX_VALUE)
        return KR_EINVAL;
    wchan *c = kr__malloc(sizeof(*c) + value_size);
    if (c == NULL)
        return KR_ENOMEM;
    kr__wait_list_init(&c->wl);
    c->closed = false;
    c->size = value_size;
    c->version = 0;
    c->senders = 1;
    c->receivers = 0;
    c->refs = 1;
    kr__list_init(&c->closed_waiters);
    if (init != NULL)
        memcpy(c->value, init, value_size);
    else
        memset(c->value, 0, value_size);
    if (rx != NULL && new_rx(c, 0, rx) < 0) {
        kr__free(c);
        return KR_ENOMEM;
    }
    *tx = (kr_watch_tx *)c;
    return 0;
}

kr_watch_tx *kr_watch_tx_clone(kr_watch_tx *tx) {
    if (tx == NULL)
        return NULL;
    wchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    c->senders++;
    c->refs++;
    kr__wait_unlock(&c->wl);
    return tx;
}

void kr_watch_tx_drop(kr_watch_tx *tx) {
    if (tx == NULL)
        return;
    wchan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    KR__REQUIRE(c->senders > 0, "kr_watch sender dropped once too often");
    if (--c->senders == 0) {
        c->closed = true;
        wake_all(c, &c->wl.waiters, &b);
    }
    unref_unlock(c, &b);
}

/* Under the lock: a new version is stored; wake the waiters. */
static void publish(wchan *c, kr__wake_batch *b) {
    c->version++;
    wake_all(c, &c->wl.waiters, b);
}

int kr_watch_send(kr_watch_tx *tx, const void *value) {
    if (tx == NULL || (value == NULL && of_tx(tx)->size != 0))
        return KR_EINVAL;
    wchan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    if (c->receivers == 0) {
        kr__wait_unlock(&c->wl);
        return KR_ECLOSED;
    }
    memcpy(c->value, value, c->size);
    publish(c, &b);
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return 0;
}

int kr_watch_send_replace(kr_watch_tx *tx, const void *value, void *old) {
    if (tx == NULL || (value == NULL && of_tx(tx)->size != 0))
        return KR_EINVAL;
    wchan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    if (old != NULL)
        memcpy(old, c->value, c->size);
    memcpy(c->value, value, c->size);
    publish(c, &b);
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return 0;
}

int kr_watch_send_modify(kr_watch_tx *tx, void (*fn)(void *, void *),
                         void *arg) {
    if (tx == NULL || fn == NULL)
        return KR_EINVAL;
    wchan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    fn(c->value, arg);
    publish(c, &b);
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return 0;
}

int kr_watch_send_if_modified(kr_watch_tx *tx, bool (*fn)(void *, void *),
                              void *arg) {
    if (tx == NULL || fn == NULL)
        return KR_EINVAL;
    wchan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    bool modified = fn(c->value, arg);
    if (modified)
        publish(c, &b);
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return modified ? 1 : 0;
}

int kr_watch_tx_borrow(const kr_watch_tx *tx, void *dst) {
    if (tx == NULL || (dst == NULL && of_tx(tx)->size != 0))
        return KR_EINVAL;
    wchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    memcpy(dst, c->value, c->size);
    kr__wait_unlock(&c->wl);
    return 0;
}

int kr_watch_subscribe(kr_watch_tx *tx, kr_watch_rx **out) {
    if (tx == NULL || out == NULL)
        return KR_EINVAL;
    wchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    int rc = new_rx(c, c->version, out);
    kr__wait_unlock(&c->wl);
    return rc;
}

size_t kr_watch_receiver_count(const kr_watch_tx *tx) {
    if (tx == NULL)
        return 0;
    wchan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    size_t n = c->receivers;
    kr__wait_unlock(&c->wl);
    return n;
}

bool kr_watch_tx_is_closed(const kr_watch_tx *tx) {
    return kr_watch_receiver_count(tx) == 0;
}

/* ---- waiting futures ---------------------------------------------------- */

/* Under the lock, at the start of a poll: takes the waiter off the list
 * (if a wake did not already), so the poll starts from IDLE. */
static void waiter_reset(kr__waiter *w, int *phase, int *rx_waiting) {
    if (*phase != 1)
        return;
    if (w->state == KR__W_WAITING)
        kr__chan_cancel(w);
    w->state = KR__W_IDLE;
    *phase = 0;
    if (rx_waiting != NULL)
        (*rx_waiting)--;
}

static void waiter_wait(kr__list *q, kr__waiter *w, int *phase, int *rx_waiting,
                        kr_context *cx) {
    kr__chan_wait(q, w, cx->waker);
    *phase = 1;
    if (rx_waiting != NULL)
        (*rx_waiting)++;
}

static void waiter_drop(wchan *c, kr__waiter *w, int *phase, int *rx_waiting) {
    if (*phase != 1)
        return;
    kr__wait_lock(&c->wl);
    waiter_reset(w, phase, rx_waiting);
    kr__wait_unlock(&c->wl);
}

static kr_poll changed_poll(kr_future *f, kr_context *cx, void *out) {
    kr_watch_changed *w = (kr_watch_changed *)f;
    if (w->phase_ == 2)
        kr__die("kr_watch_changed polled after it returned READY");
    int rc;
    kr_watch_rx *rx = w->rx_;
    if (rx == NULL) {
        rc = KR_EINVAL;
    } else {
        if (!kr__coop_proceed(cx))
            return KR_PENDING;
        wchan *c = rx->c;
        kr__wait_lock(&c->wl);
        waiter_reset(&w->w_, &w->phase_, &rx->waiting);
        if (rx->seen != c->version) {
            rx->seen = c->version;
            rc = 0;
        } else if (c->closed) {
            rc = KR_ECLOSED;
        } else {
            waiter_wait(&c->wl.waiters, &w->w_, &w->phase_, &rx->waiting, cx);
            kr__wait_unlock(&c->wl);
            kr__coop_refund();
            return KR_PENDING;
        }
        kr__wait_unlock(&c->wl);
    }
    w->phase_ = 2;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void changed_drop(kr_future *f) {
    kr_watch_changed *w = (kr_watch_changed *)f;
    if (w->rx_ != NULL)
        waiter_drop(w->rx_->c, &w->w_, &w->phase_, &w->rx_->waiting);
}

const kr_future_vtable kr__watch_changed_vtable = {
    changed_poll, changed_drop, sizeof(kr_watch_changed), sizeof(int),
    "kr_watch_changed"};

static kr_poll wait_for_poll(kr_future *f, kr_context *cx, void *out) {
    kr_watch_wait_for *w = (kr_watch_wait_for *)f;
    if (w->phase_ == 2)
        kr__die("kr_watch_wait_for polled after it returned READY");
    int rc;
    kr_watch_rx *rx = w->rx_;
    if (rx == NULL || w->pred_ == NULL) {
        rc = KR_EINVAL;
    } else {
        if (!kr__coop_proceed(cx))
            return KR_PENDING;
        wchan *c = rx->c;
        kr__wait_lock(&c->wl);
        waiter_reset(&w->w_, &w->phase_, &rx->waiting);
        if (w->pred_(c->value, w->arg_)) {
            if (w->dst_ != NULL)
                memcpy(w->dst_, c->value, c->size);
            rx->seen = c->version;
            rc = 0;
        } else if (c->closed) {
            rx->seen = c->version;
            rc = KR_ECLOSED;
        } else {
            rx->seen = c->version;
            waiter_wait(&c->wl.waiters, &w->w_, &w->phase_, &rx->waiting, cx);
            kr__wait_unlock(&c->wl);
            kr__coop_refund();
            return KR_PENDING;
        }
        kr__wait_unlock(&c->wl);
    }
    w->phase_ = 2;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void wait_for_drop(kr_future *f) {
    kr_watch_wait_for *w = (kr_watch_wait_for *)f;
    if (w->rx_ != NULL)
        waiter_drop(w->rx_->c, &w->w_, &w->phase_, &w->rx_->waiting);
}

static const kr_future_vtable wait_for_vtable = {
    wait_for_poll, wait_for_drop, sizeof(kr_watch_wait_for), sizeof(int),
    "kr_watch_wait_for"};

kr_watch_wait_for kr_watch_wait_for_future(kr_watch_rx *rx,
                                           bool (*pred)(const void *, void *),
                                           void *arg, void *dst) {
    kr_watch_wait_for w = {{&wait_for_vtable}, rx, pred, arg, dst,
                           KR__WAITER_INIT,    0};
    return w;
}

static kr_poll closed_poll(kr_future *f, kr_context *cx, void *out) {
    kr_watch_closed *w = (kr_watch_closed *)f;
    wchan *c = of_tx(w->tx_);
    if (c == NULL)
        return KR_READY;
    if (!kr__coop_proceed(cx))
        return KR_PENDING;
    kr__wait_lock(&c->wl);
    waiter_reset(&w->w_, &w->phase_, NULL);
    if (c->receivers == 0) {
        kr__wait_unlock(&c->wl);
        return KR_READY;
    }
    waiter_wait(&c->closed_waiters, &w->w_, &w->phase_, NULL, cx);
    kr__wait_unlock(&c->wl);
    kr__coop_refund();
    return KR_PENDING;
}

static void closed_drop(kr_future *f) {
    kr_watch_closed *w = (kr_watch_closed *)f;
    if (w->tx_ != NULL)
        waiter_drop(of_tx(w->tx_), &w->w_, &w->phase_, NULL);
}

static const kr_future_vtable closed_vtable = {
    closed_poll, closed_drop, sizeof(kr_watch_closed), 0, "kr_watch_closed"};

kr_watch_closed kr_watch_tx_closed(kr_watch_tx *tx) {
    kr_watch_closed w = {{&closed_vtable}, tx, KR__WAITER_INIT, 0};
    return w;
}

/* ---- receivers ---------------------------------------------------------- */

int kr_watch_borrow(const kr_watch_rx *rx, void *dst) {
    if (rx == NULL || (dst == NULL && rx->c->size != 0))
        return KR_EINVAL;
    wchan *c = rx->c;
    kr__wait_lock(&c->wl);
    memcpy(dst, c->value, c->size);
    kr__wait_unlock(&c->wl);
    return 0;
}

int kr_watch_borrow_and_update(kr_watch_rx *rx, void *dst) {
    if (rx == NULL || (dst == NULL && rx->c->size != 0))
        return KR_EINVAL;
    wchan *c = rx->c;
    kr__wait_lock(&c->wl);
    memcpy(dst, c->value, c->size);
    rx->seen = c->version;
    kr__wait_unlock(&c->wl);
    return 0;
}

int kr_watch_borrow_with(const kr_watch_rx *rx,
                         void (*fn)(const void *, void *), void *arg) {
    if (rx == NULL || fn == NULL)
        return KR_EINVAL;
    wchan *c = rx->c;
    kr__wait_lock(&c->wl);
    fn(c->value, arg);
    kr__wait_unlock(&c->wl);
    return 0;
}

int kr_watch_has_changed(const kr_watch_rx *rx) {
    if (rx == NULL)
        return KR_EINVAL;
    wchan *c = rx->c;
    kr__wait_lock(&c->wl);
    int rc = c->closed ? KR_ECLOSED : (rx->seen != c->version ? 1 : 0);
    kr__wait_unlock(&c->wl);
    return rc;
}

void kr_watch_mark_changed(kr_watch_rx *rx) {
    if (rx == NULL)
        return;
    wchan *c = rx->c;
    kr__wait_lock(&c->wl);
    rx->seen = c->version - 1; /* any other value reads as unseen */
    kr__wait_unlock(&c->wl);
}

void kr_watch_mark_unchanged(kr_watch_rx *rx) {
    if (rx == NULL)
        return;
    wchan *c = rx->c;
    kr__wait_lock(&c->wl);
    rx->seen = c->version;
    kr__wait_unlock(&c->wl);
}

int kr_watch_rx_clone(const kr_watch_rx *rx, kr_watch_rx **out) {
    if (rx == NULL || out == NULL)
        return KR_EINVAL;
    wchan *c = rx->c;
    kr__wait_lock(&c->wl);
    int rc = new_rx(c, rx->seen, out);
    kr__wait_unlock(&c->wl);
    return rc;
}

void kr_watch_rx_drop(kr_watch_rx *rx) {
    if (rx == NULL)
        return;
    wchan *c = rx->c;
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    KR__REQUIRE(rx->waiting == 0,
                "kr_watch receiver dropped while a changed/wait_for waits "
                "on it");
    if (--c->receivers == 0)
        wake_all(c, &c->closed_waiters, &b);
    kr__free(rx);
    unref_unlock(c, &b);
}

bool kr_watch_rx_same_channel(const kr_watch_rx *a, const kr_watch_rx *b) {
    return a != NULL && b != NULL && a->c == b->c;
}
