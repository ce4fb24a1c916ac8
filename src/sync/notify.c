/*
 * sync/notify.c: Notify (Tokio's algorithm, sync/notify.rs).
 *
 * Protocol. `state` = calls << 2 | {EMPTY, WAITING, NOTIFIED}, where
 * `calls` counts kr_notify_waiters calls.
 *   - EMPTY <-> NOTIFIED change by CAS without the lock (the notify_one fast
 *     path stores the permit; a notified future takes it). Anything that
 *     involves WAITING, and every change of `calls`, happens under the wait
 *     list's lock (also by CAS or fetch_add, since the fast paths race).
 *     WAITING <=> the list is not empty.
 *   - A future snapshots `calls` when it is made. It is notified when
 *     `calls` differs from the snapshot (a notify_waiters ran since) or when
 *     notify_one picked it (`w.state` = ONE_FIFO / ONE_LIFO, set under the
 *     lock with the node unlinked) or when it took the stored permit.
 *   - notify_waiters, under the lock, bumps `calls`, moves every waiter to a
 *     list on its own stack (still guarded by the lock: a waiter dropped
 *     meanwhile unlinks itself from there), and wakes them in batches
 *     outside the lock. Waiters that arrive meanwhile see the new `calls`
 *     in their snapshot and are not woken by this call.
 *   - A dropped future that notify_one had picked passes the notification
 *     on with the same strategy (Tokio's behaviour).
 * Orders: the permit CAS are acq_rel, so what precedes a notify_one is
 * visible to the future that takes its permit, including a notify_one that
 * found the permit already stored (it writes it again rather than only
 * loading it; notify_one_with_permit_stored_publishes_its_writes in
 * tests/test-notify.c); the lock orders the rest.
 */
#include "kairo.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/wait_list.h"

#define EMPTY    ((size_t)0)
#define WAITING  ((size_t)1)
#define NOTIFIED ((size_t)2)
#define MASK     ((size_t)3)
#define CALL     ((size_t)4)

/* Waiter states (w.state). */
#define W_NONE     0
#define W_ONE_FIFO 1
#define W_ONE_LIFO 2
#define W_ALL      3

/* Phases of a kr_notified: FIRED is notified but not yet returned READY by
 * a poll (kr_notified_enable found the notification), DONE is returned. */
enum { INIT, QUEUED, FIRED, DONE };

struct kr_notify {
    _Atomic size_t state;
    kr__wait_list wl;
};

int kr_notify_new(kr_notify **out) {
    if (out == NULL)
        return KR_EINVAL;
    kr_notify *n = kr__malloc(sizeof(*n));
    if (n == NULL)
        return KR_ENOMEM;
    atomic_init(&n->state, EMPTY);
    kr__wait_list_init(&n->wl);
    *out = n;
    return 0;
}

void kr_notify_free(kr_notify *n) {
    if (n == NULL)
        return;
    kr__wait_list_destroy(&n->wl, "kr_notify");
    kr__free(n);
}

/* Sets the low bits to `to` (keeping `calls`). Under the lock for any
 * transition involving WAITING; the CAS loop absorbs fast-path races. */
static void set_bits(kr_notify *n, size_t to) {
    size_t cur = kr__load_relaxed(&n->state); /* the CAS re-reads */
    while (!kr__cas_weak_acqrel(&n->state, &cur, (cur & ~MASK) | to))
        ;
}

/* Under the lock: notify_one's slow path. Hands the notification to the
 * oldest (or newest) waiter, or stores the permit. */
static void notify_locked(kr_notify *n, bool lifo, kr__wake_batch *b) {
    size_t cur = kr__load_relaxed(&n->state); /* WAITING is ours to read */
    if ((cur & MASK) != WAITING) {
        set_bits(n, NOTIFIED); /* EMPTY or NOTIFIED: store (at most) one */
        return;
    }
    kr__list *node =
        lifo ? kr__list_back(&n->wl.waiters) : kr__list_front(&n->wl.waiters);
    kr__waiter *w = KR__CONTAINER_OF(node, kr__waiter, node);
    w->state = lifo ? W_ONE_LIFO : W_ONE_FIFO;
    kr__wake_batch_take(b, w);
    if (kr__wait_list_empty(&n->wl))
        set_bits(n, EMPTY);
}

static void notify_one(kr_notify *n, bool lifo) {
    if (n == NULL)
        return;
    size_t cur = kr__load_relaxed(&n->state); /* the CAS re-reads */
    while ((cur & MASK) != WAITING) {
        /* Nobody waits: store the permit, one CAS. A permit already stored
         * is written again (NOTIFIED to NOTIFIED), as Tokio does: the
         * future that takes it then reads from this CAS and sees what our
         * caller wrote before the call. A load alone would leave this call
         * unordered with the take, and a consumer could miss what it
         * publishes and wait with no permit left (store buffering). */
        if (kr__cas_weak_acqrel(&n->state, &cur, (cur & ~MASK) | NOTIFIED))
            return;
    }
    kr__wake_batch b;
    kr__wake_batch_init(&b);
    kr__wait_lock(&n->wl);
    notify_locked(n, lifo, &b);
    kr__wait_unlock(&n->wl);
    kr__wake_batch_wake(&b);
}

void kr_notify_one(kr_notify *n) { notify_one(n, false); }
void kr_notify_last(kr_notify *n) { notify_one(n, true); }

void kr_notify_waiters(kr_notify *n) {
    if (n == NULL)
        return;
    kr__wait_lock(&n->wl);
    size_t cur = kr__load_relaxed(&n->state); /* the CAS re-reads */
    if ((cur & MASK) != WAITING) {
        /* Nobody queued: only futures made earlier and not yet polled can
         * be waiting, and they compare `calls`. Keep the permit bit. */
        kr__fetch_add_acqrel(&n->state, CALL);
        kr__wait_unlock(&n->wl);
        return;
    }
    kr__list pending;
    kr__list_init(&pending);
    kr__list_splice_back(&pending, &n->wl.waiters);
    while (!kr__cas_weak_acqrel(&n->state, &cur, (cur & ~MASK) + CALL))
        ; /* WAITING -> EMPTY, calls + 1 */
    kr__wake_batch b;
    kr__wake_batch_init(&b);
    kr__list *node;
    while ((node = kr__list_front(&pending)) != NULL) {
        kr__waiter *w = KR__CONTAINER_OF(node, kr__waiter, node);
        w->state = W_ALL;
        kr__wake_batch_take(&b, w);
        if (kr__wake_batch_full(&b)) {
            kr__wait_unlock(&n->wl);
            kr__wake_batch_wake(&b);
            kr__wait_lock(&n->wl);
        }
    }
    kr__wait_unlock(&n->wl);
    kr__wake_batch_wake(&b);
}

/* The snapshot kr_notify_notified (kairo/notify.h, inline; phase INIT is
 * its 0) takes when a future is made. Acquire: pairs with notify_waiters'
 * bump, so a future made after a call does not count that call. */
size_t kr__notify_calls(const kr_notify *n) {
    return n == NULL ? 0 : kr__load_acquire(&n->state) / CALL;
}

/* One step: true once notified. `wk` (NULL for enable) is stored when the
 * future queues or stays queued. */
static bool step(kr_notified *f, const kr_waker *wk) {
    kr_notify *n = f->notify_;
    if (f->phase_ == DONE || f->phase_ == FIRED)
        return true;
    if (f->phase_ == INIT) {
        /* First the CAS that takes a permit stored since the snapshot, with
         * no load before it: the state a notifier keeps writing is fetched
         * once, by the CAS, which reads it back into `cur` when it fails.
         * Acquire (acq_rel): pairs with the notifier's CAS or fetch_add. */
        size_t cur = f->calls_ * CALL | NOTIFIED;
        if (kr__cas_acqrel(&n->state, &cur, cur & ~MASK))
            goto done; /* took the permit */
        for (;;) {
            if (cur / CALL != f->calls_)
                goto done;
            if ((cur & MASK) != NOTIFIED)
                break;
            if (kr__cas_weak_acqrel(&n->state, &cur, cur & ~MASK))
                goto done; /* took the permit */
        }
        kr__wait_lock(&n->wl);
        cur = kr__load_relaxed(&n->state); /* the CAS re-reads */
        for (;;) {
            if (cur / CALL != f->calls_) {
                kr__wait_unlock(&n->wl);
                goto done;
            }
            size_t bits = cur & MASK;
            if (bits == WAITING)
                break;
            size_t to = bits == NOTIFIED ? EMPTY : WAITING;
            if (kr__cas_weak_acqrel(&n->state, &cur, (cur & ~MASK) | to)) {
                if (bits == NOTIFIED) {
                    kr__wait_unlock(&n->wl);
                    goto done;
                }
                break;
            }
        }
        f->w_.state = W_NONE;
        kr__waiter_push(&n->wl, &f->w_, wk);
        f->phase_ = QUEUED;
        kr__wait_unlock(&n->wl);
        return false;
    }
    /* QUEUED. */
    kr__wait_lock(&n->wl);
    bool notified = f->w_.state != W_NONE ||
                    kr__load_relaxed(&n->state) / CALL != f->calls_;
    if (notified) {
        /* A notify_waiters in progress may still hold us on its list. */
        if (kr__waiter_linked(&f->w_))
            kr__list_remove(&f->w_.node);
    } else if (wk != NULL) {
        kr_waker_set(&f->w_.waker, wk);
    }
    kr__wait_unlock(&n->wl);
    if (!notified)
        return false;
    kr__waiter_drop_waker(&f->w_);
done:
    f->phase_ = FIRED; /* the poll that returns READY makes it DONE */
    return true;
}

static kr_poll notified_poll(kr_future *fut, kr_context *cx, void *out) {
    kr_notified *f = (kr_notified *)fut;
    (void)out;
    if (f->phase_ == DONE)
        kr__die("kr_notified polled after it returned READY");
    if (f->notify_ == NULL) {
        f->phase_ = DONE;
        return KR_READY;
    }
    if (!step(f, cx->waker))
        return KR_PENDING;
    f->phase_ = DONE;
    return KR_READY;
}

bool kr_notified_enable(kr_notified *f) {
    if (f == NULL || f->notify_ == NULL)
        return true;
    return step(f, NULL); /* a NULL waker leaves a stored one alone */
}

static void notified_drop(kr_future *fut) {
    kr_notified *f = (kr_notified *)fut;
    if (f->phase_ != QUEUED)
        return;
    kr_notify *n = f->notify_;
    kr__wake_batch b;
    kr__wake_batch_init(&b);
    kr__wait_lock(&n->wl);
    if (kr__waiter_linked(&f->w_)) {
        kr__list_remove(&f->w_.node);
        /* Only the main list's last waiter turns WAITING off: one on a
         * notify_waiters list has a stale `calls` and is not counted. */
        if (kr__wait_list_empty(&n->wl) &&
            (kr__load_relaxed(&n->state) & MASK) == WAITING)
            set_bits(n, EMPTY);
    }
    size_t ws = f->w_.state;
    if (ws == W_ONE_FIFO || ws == W_ONE_LIFO)
        notify_locked(n, ws == W_ONE_LIFO, &b); /* pass it on */
    kr__wait_unlock(&n->wl);
    kr__wake_batch_wake(&b);
    kr__waiter_drop_waker(&f->w_);
    f->phase_ = DONE;
}

const kr_future_vtable kr__notified_vtable = {
    notified_poll, notified_drop, sizeof(kr_notified), 0, "kr_notified"};
