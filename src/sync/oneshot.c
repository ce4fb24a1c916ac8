/*
 * sync/oneshot.c: a channel for one value.
 *
 * One allocation shared by both ends, freed when both are gone (`refs`).
 *
 * State bits:
 *   RX_TASK_SET  1   rx_waker holds the receiver's waker
 *   COMPLETE     2   the sender is done: it sent, or went without sending
 *   CLOSED       4   the receiver closed (or dropped) before the sender
 *                    completed: sends fail. Never set once COMPLETE is.
 *   TX_TASK_SET  8   tx_waker holds the waker of a closed() future
 *   VALUE       16   a value is in the slot (set with COMPLETE; cleared by
 *                    the receiver when it takes the value)
 *   RX_DONE     32   the receiver has had its answer (a value, or
 *                    KR_ECLOSED): Tokio's is_terminated. Written and read
 *                    by the receiver only (set once, by an RMW that keeps
 *                    the other bits; nothing is published with it).
 *
 * Protocol (Tokio's, sync/oneshot.rs, with the value bit made explicit):
 *   - The sender writes the value, then sets COMPLETE|VALUE with an acq_rel
 *     CAS that fails if CLOSED is set. Release publishes the value to the
 *     receiver, whose acquire load of COMPLETE pairs with it. If its CAS
 *     saw RX_TASK_SET without CLOSED it wakes rx_waker by value: the
 *     waker's reference goes with the wake (a task's becomes its queued
 *     reference), and nobody uses the slot after (below).
 *   - The receiver owns rx_waker while RX_TASK_SET is clear. To store a
 *     waker it writes the slot then sets RX_TASK_SET (fetch_or); if COMPLETE
 *     was already set it takes the bit back and drops the waker. To replace
 *     a stored waker it clears RX_TASK_SET with a CAS that fails once
 *     COMPLETE is set (then the sender may be reading the slot, so it is
 *     left alone).
 *   - Symmetrically for tx_waker with TX_TASK_SET and CLOSED (a closed()
 *     future's waker is woken by reference).
 *   - The receiver sets CLOSED only while COMPLETE is clear (a CAS), so
 *     whoever frees the channel can tell from the final state whether the
 *     sender consumed rx_waker. Requires: COMPLETE is set at the free (the
 *     sender completes before it lets go of its end, and the channel goes
 *     only when both ends have). Then RX_TASK_SET set at the free was set
 *     at the sender's completing CAS (a receiver that sets it after
 *     COMPLETE takes it back), and CLOSED with it means the sender saw
 *     CLOSED and did not wake: the freer drops rx_waker exactly when both
 *     are set (ct/ping_pong: no clone-and-drop of the parent's reference,
 *     ~40 instructions a pair less).
 *   - A tx_waker left in its slot is dropped by whoever frees the channel.
 *
 * Why not util/wait_list.h: each end has at most one waiter (the receive,
 * or the sender's closed() future), so a list would always hold zero or
 * one node, and its lock would put a lock on a channel that is lock-free
 * today (one CAS to send, one to receive). The waiter contract still
 * holds: a waiter is the waker slot; a dropped receive leaves the value in
 * the channel (nothing is handed to a receive that it could lose), and a
 * dropped closed() future leaves only a stored waker, which a later poll
 * replaces and the channel's free drops.
 */
#include <string.h>

#include "kairo.h"
#include "core/context.h"
#include "core/coop.h"
#include "task/cache.h"
#include "util/abort.h"
#include "util/atomic.h"
#include "util/debug.h"

#define RX_TASK_SET 1u
#define COMPLETE    2u
#define CLOSED      4u
#define TX_TASK_SET 8u
#define VALUE       16u
#define RX_DONE     32u

#define MAX_VALUE_SIZE ((size_t)1 << 20)

typedef struct oneshot {
    _Atomic uint32_t state;
    _Atomic uint32_t refs;
    kr_waker rx_waker;
    kr_waker tx_waker;
    size_t size;
    kr__cache *cache; /* where the cell returns (task/cache.h) */
    uint32_t cls;
    _Alignas(16) unsigned char value[];
} oneshot;

/* The ends are the shared struct under two types. */
static oneshot *of_tx(const kr_oneshot_tx *tx) { return (oneshot *)tx; }
static oneshot *of_rx(const kr_oneshot_rx *rx) { return (oneshot *)rx; }

/* A waker left in rx_waker: the sender saw CLOSED and did not consume it
 * (see the file top). */
#define RX_WAKER_LEFT (RX_TASK_SET | CLOSED)

/* unref_last with a waker left in a slot: dropped, then the cell freed. */
static __attribute__((noinline)) void free_wakers(oneshot *o, uint32_t s) {
    if ((s & RX_WAKER_LEFT) == RX_WAKER_LEFT)
        kr_waker_drop(o->rx_waker);
    if (s & TX_TASK_SET)
        kr_waker_drop(o->tx_waker);
    kr__cell_free(o, o->cache, o->cls);
}

/* unref's end, for the last user: the wakers dropped, the cell freed.
 * With no waker left (a receive that never waited) it calls nothing but
 * in tail calls, so that it saves no register. */
static __attribute__((noinline)) void unref_last(oneshot *o) {
    uint32_t s = kr__load_relaxed(&o->state); /* last user: no race left */
    KR__REQUIRE(s & COMPLETE,
                "oneshot %p: freed before the sender completed "
                "(state %#x)",
                (void *)o, (unsigned)s);
    if ((s & RX_WAKER_LEFT) == RX_WAKER_LEFT || (s & TX_TASK_SET)) {
        free_wakers(o, s);
        return;
    }
    kr__cell_free(o, o->cache, o->cls);
}

static void unref(oneshot *o) {
    if (kr__fetch_sub_acqrel(&o->refs, 1) == 1)
        unref_last(o);
}

static void init_channel(oneshot *o, size_t value_size, kr__cache *cache,
                         uint32_t cls, kr_oneshot_tx **tx, kr_oneshot_rx **rx) {
    o->cache = cache;
    o->cls = cls;
    atomic_init(&o->state, 0);
    atomic_init(&o->refs, 2);
    o->size = value_size;
    *tx = (kr_oneshot_tx *)o;
    *rx = (kr_oneshot_rx *)o;
}

/* kr_oneshot_new without a recycled cell at hand: the cache's slow path,
 * or the allocator outside a runtime. */
static __attribute__((noinline)) int
new_slow(size_t value_size, kr_oneshot_tx **tx, kr_oneshot_rx **rx) {
    kr__cache *cache;
    uint32_t cls;
    oneshot *o = kr__cell_alloc(sizeof(*o) + value_size, &cache, &cls);
    if (o == NULL)
        return KR_ENOMEM;
    init_channel(o, value_size, cache, cls, tx, rx);
    return 0;
}

/* The fast path, a recycled cell of the thread's cache, calls nothing but
 * new_slow in a tail call: a leaf that saves no registers (callgrind: 60
 * -> ~25 instructions per ct/ping_pong channel). */
int kr_oneshot_new(size_t value_size, kr_oneshot_tx **tx, kr_oneshot_rx **rx) {
    if (tx == NULL || rx == NULL || value_size > MAX_VALUE_SIZE)
        return KR_EINVAL;
    kr__cache *cache = kr__ctx.cache;
    uint32_t cls;
    oneshot *o;
    if (cache == NULL ||
        (o = kr__cell_alloc_fast(cache, sizeof(*o) + value_size, &cls)) == NULL)
        return new_slow(value_size, tx, rx);
    init_channel(o, value_size, cache, cls, tx, rx);
    return 0;
}

/* Sets COMPLETE (and VALUE if `value`); wakes the receiver. Returns false
 * if the receiver had closed. */
static bool complete(oneshot *o, bool value) {
    uint32_t cur = kr__load_relaxed(&o->state); /* the CAS re-reads */
    uint32_t add = COMPLETE | (value ? VALUE : 0);
    for (;;) {
        if (value && (cur & CLOSED))
            return false;
        /* Release publishes the value (pairs with the receiver's acquire);
         * acquire lets us read a waker the receiver stored. */
        if (kr__cas_weak_acqrel(&o->state, &cur, cur | add))
            break;
    }
    if ((cur & (RX_TASK_SET | CLOSED)) == RX_TASK_SET)
        kr_waker_wake(o->rx_waker); /* consumed: see the file top */
    return true;
}

/* kr_oneshot_send in general: a value to copy, no value, or a receiver
 * that closed. */
static __attribute__((noinline)) int send_slow(oneshot *o, const void *value) {
    int rc = 0;
    if (value == NULL && o->size != 0) {
        complete(o, false); /* released without a value, as documented */
        rc = KR_EINVAL;
    } else {
        if (o->size != 0)
            memcpy(o->value, value, o->size);
        if (!complete(o, true)) {
            rc = KR_ECLOSED;
            complete(o, false);
        }
    }
    unref(o);
    return rc;
}

/* kr_oneshot_send's end when the receiver waits: wake it (by value: the
 * slot is not used again, see the file top), let go. */
static __attribute__((noinline)) int send_wake(oneshot *o) {
    kr_waker_wake(o->rx_waker);
    unref(o);
    return 0;
}

/* kr_oneshot_send's end for the last user. */
static __attribute__((noinline)) int send_last(oneshot *o) {
    unref_last(o);
    return 0;
}

/* The common send, of a zero-size value to a receiver that has not
 * closed, inline: complete(o, true) and unref(o) with their calls in
 * tail calls, so that it saves no register. Anything else is send_slow,
 * which starts from the same state (nothing is changed before it). */
int kr_oneshot_send(kr_oneshot_tx *tx, const void *value) {
    if (tx == NULL)
        return KR_EINVAL;
    oneshot *o = of_tx(tx);
    if (__builtin_expect(o->size != 0, 0))
        return send_slow(o, value);
    uint32_t cur = kr__load_relaxed(&o->state); /* the CAS re-reads */
    for (;;) {
        if (__builtin_expect(cur & CLOSED, 0))
            return send_slow(o, value);
        /* As complete(): release publishes, acquire reads the waker. */
        if (kr__cas_weak_acqrel(&o->state, &cur, cur | COMPLETE | VALUE))
            break;
    }
    if ((cur & (RX_TASK_SET | CLOSED)) == RX_TASK_SET)
        return send_wake(o);
    if (kr__fetch_sub_acqrel(&o->refs, 1) == 1)
        return send_last(o);
    return 0;
}

void kr_oneshot_tx_drop(kr_oneshot_tx *tx) {
    if (tx == NULL)
        return;
    oneshot *o = of_tx(tx);
    complete(o, false);
    unref(o);
}

bool kr_oneshot_tx_is_closed(const kr_oneshot_tx *tx) {
    if (tx == NULL)
        return true;
    /* Acquire: pairs with the receiver's close so what it did before is
     * visible to a sender that acts on "closed". */
    return (kr__load_acquire(&of_tx(tx)->state) & CLOSED) != 0;
}

void kr_oneshot_rx_close(kr_oneshot_rx *rx) {
    if (rx == NULL)
        return;
    oneshot *o = of_rx(rx);
    /* CLOSED only while COMPLETE is clear (see the file top): after it,
     * nobody reads CLOSED but the freer, which must not see it. */
    uint32_t prev = kr__load_relaxed(&o->state); /* the CAS re-reads */
    do {
        if (prev & (COMPLETE | CLOSED))
            return;
    } while (!kr__cas_weak_acqrel(&o->state, &prev, prev | CLOSED));
    if (prev & TX_TASK_SET)
        kr_waker_wake_by_ref(&o->tx_waker);
}

/* The receiver's drop closes the channel only while the sender may still
 * look at CLOSED. Once COMPLETE is set the sender has let go of its end
 * (kr_oneshot_send and kr_oneshot_tx_drop set it and release the end) and
 * the close would do nothing (rx_close sets CLOSED only before COMPLETE,
 * and wakes nobody after it), so it is left out. COMPLETE is never
 * cleared, so a relaxed load that sees it is enough; unref's acq_rel
 * orders the rest (ct/ping_pong: one RMW less a channel). */
void kr_oneshot_rx_drop(kr_oneshot_rx *rx) {
    if (rx == NULL)
        return;
    oneshot *o = of_rx(rx);
    if (!(kr__load_relaxed(&o->state) & COMPLETE))
        kr_oneshot_rx_close(rx);
    unref(o);
}

/* The receiver had its answer: from now on it is terminated. */
static int finish(oneshot *o, int rc) {
    if (!(kr__load_relaxed(&o->state) & RX_DONE))
        kr__fetch_or_acqrel(&o->state, RX_DONE);
    return rc;
}

/* The receiver, VALUE seen set: clears VALUE and sets RX_DONE in one
 * RMW. With VALUE set, RX_DONE is clear (it is set only once VALUE is
 * gone, or when none will come), and only the receiver changes either, so
 * adding RX_DONE - VALUE does both and keeps the other bits. Acq_rel as
 * finish()'s; relaxed would do for VALUE alone (nobody reads the slot
 * after). */
static inline void value_taken(oneshot *o) {
    kr__fetch_add_acqrel(&o->state, RX_DONE - VALUE);
}

/* Takes the value if COMPLETE is set in `s`. */
static int take(oneshot *o, uint32_t s, void *dst) {
    if (!(s & VALUE))
        return finish(o, KR_ECLOSED);
    if (dst != NULL && o->size != 0)
        memcpy(dst, o->value, o->size);
    value_taken(o);
    return 0;
}

bool kr_oneshot_rx_is_terminated(const kr_oneshot_rx *rx) {
    if (rx == NULL)
        return true;
    return (kr__load_relaxed(&of_rx(rx)->state) & RX_DONE) != 0;
}

bool kr_oneshot_rx_is_empty(const kr_oneshot_rx *rx) {
    if (rx == NULL)
        return true;
    /* Acquire: a receiver that sees VALUE and then receives reads it. */
    return (kr__load_acquire(&of_rx(rx)->state) & VALUE) == 0;
}

int kr_oneshot_try_recv(kr_oneshot_rx *rx, void *dst) {
    if (rx == NULL)
        return KR_EINVAL;
    oneshot *o = of_rx(rx);
    uint32_t s = kr__load_acquire(&o->state); /* pairs with complete() */
    if (s & COMPLETE)
        return take(o, s, dst);
    return (s & CLOSED) ? finish(o, KR_ECLOSED) : KR_EEMPTY;
}

/* Stores the waker in a slot guarded by `bit`, unless `done` is set first.
 * Returns false if `done` was set (the caller then reads the state again). */
static bool store_waker(oneshot *o, kr_waker *slot, uint32_t bit, uint32_t done,
                        const kr_waker *w) {
    uint32_t s = kr__load_acquire(&o->state);
    if (s & done)
        return false;
    if (s & bit) {
        if (kr_waker_will_wake(slot, w))
            return true;
        /* Take the slot back unless the other side completed. */
        for (;;) {
            if (s & done)
                return false;
            if (kr__cas_weak_acqrel(&o->state, &s, s & ~bit))
                break;
        }
        kr_waker_drop(*slot);
    }
    *slot = kr_waker_clone(w);
    /* `bit` is clear here (seen clear, or taken back above) and only this
     * side sets it, so adding it sets it as an OR would, with one RMW
     * instead of a CAS loop. */
    uint32_t prev = kr__fetch_add_acqrel(&o->state, bit);
    if (prev & done) {
        /* Completed meanwhile: the other side saw no bit and will not use
         * the slot; take it back. */
        kr__fetch_and_acqrel(&o->state, ~bit);
        kr_waker_drop(*slot);
        return false;
    }
    return true;
}

/* The receive's answer, COMPLETE or CLOSED seen (or a NULL receiver). */
static inline kr_poll recv_done(kr_oneshot_recv *r, int rc, void *out) {
    r->done_ = 1;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static inline int recv_answer(oneshot *o, void *dst) {
    uint32_t s = kr__load_acquire(&o->state); /* pairs with complete() */
    return (s & COMPLETE) ? take(o, s, dst) : finish(o, KR_ECLOSED);
}

/* recv_poll's answer with a value to copy, or none to take. Out of line
 * (the memcpy): the common answer, inline there, then saves no register. */
static __attribute__((noinline)) kr_poll recv_answered(kr_oneshot_recv *r,
                                                       oneshot *o, void *out) {
    return recv_done(r, recv_answer(o, r->dst_), out);
}

/* Nothing sent yet: store the waker, or answer if the sender completed
 * meanwhile. Out of line: the poll that finds the value (most of them)
 * then saves few registers. */
static __attribute__((noinline)) kr_poll
recv_pending(kr_oneshot_recv *r, oneshot *o, kr_context *cx, void *out) {
    if (store_waker(o, &o->rx_waker, RX_TASK_SET, COMPLETE, cx->waker)) {
        kr__coop_refund();
        return KR_PENDING;
    }
    return recv_done(r, recv_answer(o, r->dst_), out);
}

/* recv_first_wait's sender completed between the load and the add: as
 * store_waker's, the bit taken back and the waker dropped; then the
 * answer. */
static __attribute__((noinline)) kr_poll recv_raced(kr_oneshot_recv *r,
                                                    oneshot *o, void *out) {
    kr__fetch_and_acqrel(&o->state, ~RX_TASK_SET);
    kr_waker_drop(o->rx_waker);
    return recv_done(r, recv_answer(o, r->dst_), out);
}

/* recv_pending's common case, the first wait (nothing sent, no waker
 * stored: RX_TASK_SET seen clear): store_waker's steps for it alone, so
 * that it saves fewer registers. */
static __attribute__((noinline)) kr_poll
recv_first_wait(kr_oneshot_recv *r, oneshot *o, kr_context *cx, void *out) {
    o->rx_waker = kr_waker_clone(cx->waker);
    /* RX_TASK_SET is clear and only the receiver sets it: the add sets it
     * (store_waker's fetch_add). */
    if (kr__fetch_add_acqrel(&o->state, RX_TASK_SET) & COMPLETE)
        return recv_raced(r, o, out);
    kr__coop_refund();
    return KR_PENDING;
}

/* recv_poll once the budget let it go on. */
static inline kr_poll recv_proceed(kr_oneshot_recv *r, oneshot *o,
                                   kr_context *cx, void *out) {
    uint32_t s = kr__load_acquire(&o->state); /* pairs with complete() */
    if (!(s & (COMPLETE | CLOSED | RX_TASK_SET)))
        return recv_first_wait(r, o, cx, out);
    if (!(s & (COMPLETE | CLOSED)))
        return recv_pending(r, o, cx, out);
    /* The common answer inline: a value sent with nothing to copy (no
     * destination, or a zero-size value), which take() ends with one
     * RMW. With COMPLETE and VALUE seen, take() would answer the same
     * from a fresh load (COMPLETE stays, and only we clear VALUE). */
    if (__builtin_expect((s & (COMPLETE | VALUE)) != (COMPLETE | VALUE) ||
                             (r->dst_ != NULL && o->size != 0),
                         0))
        return recv_answered(r, o, out);
    value_taken(o); /* as take() */
    return recv_done(r, 0, out);
}

/* recv_poll with the budget unlimited or spent: kr_coop_proceed decides.
 * Out of line, with the misuse report: recv_poll then makes no call but
 * tail calls, and needs no stack frame. */
static __attribute__((noinline)) kr_poll
recv_budget(kr_oneshot_recv *r, oneshot *o, kr_context *cx, void *out) {
    if (!kr_coop_proceed(cx))
        return KR_PENDING;
    return recv_proceed(r, o, cx, out);
}

static __attribute__((noinline, cold)) kr_poll recv_misused(void) {
    kr__die("kr_oneshot_recv polled after it returned READY");
}

static kr_poll recv_poll(kr_future *f, kr_context *cx, void *out) {
    kr_oneshot_recv *r = (kr_oneshot_recv *)f;
    if (__builtin_expect(r->done_, 0))
        return recv_misused();
    oneshot *o = of_rx(r->rx_);
    if (o == NULL)
        return recv_done(r, KR_EINVAL, out);
    if (!kr__coop_spend())
        return recv_budget(r, o, cx, out);
    return recv_proceed(r, o, cx, out);
}

/* kr_oneshot_recv_future (kairo/sync.h, inline) points here. */
const kr_future_vtable kr__oneshot_recv_vtable = {
    recv_poll, NULL, sizeof(kr_oneshot_recv), sizeof(int), "kr_oneshot_recv"};

static kr_poll closed_poll(kr_future *f, kr_context *cx, void *out) {
    kr_oneshot_closed *c = (kr_oneshot_closed *)f;
    oneshot *o = of_tx(c->tx_);
    if (o == NULL)
        return KR_READY;
    uint32_t s = kr__load_acquire(&o->state);
    if (s & CLOSED)
        return KR_READY;
    if (store_waker(o, &o->tx_waker, TX_TASK_SET, CLOSED, cx->waker))
        return KR_PENDING;
    return KR_READY;
}

static const kr_future_vtable closed_vtable = {
    closed_poll, NULL, sizeof(kr_oneshot_closed), 0, "kr_oneshot_closed"};

kr_oneshot_closed kr_oneshot_tx_closed(kr_oneshot_tx *tx) {
    kr_oneshot_closed c = {{&closed_vtable}, tx};
    return c;
}
