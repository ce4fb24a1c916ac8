/*
 * sync/mpsc.c: bounded and unbounded multi-producer single-consumer
 * channels.
 *
 * Structure. One allocation per channel: a header and a small inline ring
 * of message slots. Everything in the header is guarded by one lock:
 *
 *   ring      buf/mask/head/len: a power-of-two ring of msg_size-byte
 *             slots. It starts inline (up to INLINE_BYTES) and grows on
 *             the heap when a send finds it full (by 4 while an unbounded
 *             ring is small, else by doubling; for a bounded channel never
 *             beyond the capacity rounded up to a power of two); a large
 *             ring that drains empty is freed (a bounded one goes back to
 *             the inline ring).
 *   permits   bounded only: free slots promised to nobody.
 *   reserved  slots held by permits and by GRANTED send/reserve futures.
 *             Bounded invariant: permits + len + reserved == cap.
 *   waiters   senders waiting for a slot, FIFO (sync/waitq.h).
 *   rx_waker  the receiver's waker while a receive waits (NULL vtable
 *             otherwise): taken by the send that makes it ready.
 *   rx head   (kr__mpsc_rx_head, laid out before the channel; mpsc_chan.h)
 *             unbounded only: the receiver's batch, the receiver's alone
 *             (not under the lock; its len is atomic for kr_mpsc_rx_len).
 *             A receive that finds its batch empty
 *             takes, under the lock, the whole queue as its new batch and
 *             hands its drained ring to the senders (take_batch); every
 *             other receive copies from the batch without the lock. The
 *             batch is older than the queue, so order is kept; a receiver
 *             waits only with its batch empty, so kr__mpsc_ended (which
 *             ignores the batch) is exact whenever the receiver asks it or
 *             a sender wakes it. One receive at a time per receiver is the
 *             API's contract, so one thread at a time touches the batch.
 *   senders, refs, closed, rx_alive: the handles' bookkeeping.
 *
 * Protocol. Every operation is: lock, a few field updates and at most one
 * message copy (or, for recv_many, one copy per message), unlock, then wake
 * what it collected (never a wake under the lock: a wake can unpark a
 * thread). A receive that frees a slot of a bounded channel hands it to the
 * first waiting sender (GRANTED, counted in `reserved`) rather than to
 * `permits`, so the queue is FIFO and a try_send never overtakes a waiting
 * send; a GRANTED future that is dropped gives its slot to the next one.
 * The stream has ended when the queue is empty, no slot is reserved, and
 * the receiver closed or every sender went.
 *
 * Why a lock and not Tokio's lock-free block list: on the 2-core machines
 * this runs on, a producer and the consumer meet at the lock at most once
 * per message each, the critical section is shorter than Tokio's send path
 * (semaphore CAS, slot claim, ready-bit RMW, AtomicWaker handshake), and
 * one lock makes the waiting senders, the close and the permit accounting
 * exact by construction. The lock is the wait list's (util/parklock.h): it
 * spins briefly, then sleeps, so a preempted holder does not stall a peer.
 *
 * Files: the state and the steps under the lock are in sync/mpsc_chan.h;
 * permits and the reserve future in sync/mpsc_permit.c; weak senders in
 * sync/mpsc_weak.c.
 */
#include <limits.h>
#include <string.h>

#include "kairo.h"
#include "core/coop.h"
#include "sync/mpsc_chan.h"
#include "util/abort.h"
#include "util/alloc.h"

/* The inline ring: a send into a fresh channel needs no second allocation
 * for messages up to this size. 768 keeps header + ring under 1032 bytes,
 * glibc's largest per-thread-cache size, so making and freeing a channel
 * stays on malloc's fastest path (64 word-sized or one 512-byte message). */
#define INLINE_BYTES 768
/* A heap ring larger than this is freed when it drains, so a burst does
 * not pin its memory for the channel's life. */
#define SHRINK_BYTES (256 * 1024)
/* An unbounded ring smaller than this grows by 4 (see grow). */
#define GROW4_BYTES  (64 * 1024)

_Static_assert(sizeof(chan_block) + INLINE_BYTES <= 1032,
               "a fresh channel fits malloc's thread cache");

static chan *of_rx(const kr_mpsc_rx *rx) { return (chan *)rx; }

/* Powers of two by counting leading zeros, not by a doubling loop: the loop
 * ran once per bit of the capacity (seven times for 100) on every channel
 * made (callgrind, create_medium). Both take n >= 1: make passes a
 * capacity (at least 1) and INLINE_BYTES / msg_size (msg_size at most
 * INLINE_BYTES there). */
#define SIZE_BITS ((int)(sizeof(unsigned long long) * CHAR_BIT))
_Static_assert(sizeof(size_t) <= sizeof(unsigned long long),
               "size_t fits __builtin_clzll's argument");

static size_t pow2_floor(size_t n) {
    return (size_t)1 << (SIZE_BITS - 1 - __builtin_clzll(n));
}

static size_t pow2_ceil(size_t n) {
    /* n - 1 == 0 has no leading one (clzll(0) is undefined): n is 1. */
    return n <= 1 ? 1 : (size_t)1 << (SIZE_BITS - __builtin_clzll(n - 1));
}

static int make(size_t msg_size, size_t cap, bool bounded, kr_mpsc_tx **tx,
                kr_mpsc_rx **rx) {
    if (tx == NULL || rx == NULL || msg_size > KR_MPSC_MAX_MSG)
        return KR_EINVAL;
    size_t max_slots = bounded ? pow2_ceil(cap) : (size_t)1 << 40;
    size_t inl = 0;
    if (msg_size == 0) {
        inl = 1; /* zero-sized messages need no storage: only len counts */
    } else if (msg_size <= INLINE_BYTES) {
        inl = pow2_floor(INLINE_BYTES / msg_size);
        if (inl > max_slots)
            inl = max_slots;
    }
    chan_block *blk = kr__malloc(sizeof(*blk) + inl * msg_size);
    if (blk == NULL)
        return KR_ENOMEM;
    chan *c = &blk->c;
    kr__wait_list_init(&c->wl);
    c->bounded = bounded;
    c->closed = false;
    c->rx_alive = true;
    c->msg_size = msg_size;
    c->cap = bounded ? cap : SIZE_MAX;
    c->permits = bounded ? cap : 0;
    c->reserved = 0;
    c->senders = 1;
    c->weak = 0;
    c->refs = 2;
    c->inline_slots = inl;
    c->buf = inl ? inline_of(c) : NULL;
    c->mask = inl ? inl - 1 : 0;
    c->head = 0;
    c->len = 0;
    c->max_slots = max_slots;
    c->rx_waker.data = NULL;
    c->rx_waker.vtable = NULL;
    blk->rx.buf = NULL;
    blk->rx.mask = 0;
    blk->rx.head = 0;
    kr__store_relaxed(&blk->rx.len, 0);
    blk->rx.msg_size = msg_size;
    blk->rx.bounded = bounded;
    blk->rx.in_inline = false;
    *tx = (kr_mpsc_tx *)c;
    *rx = (kr_mpsc_rx *)c;
    return 0;
}

int kr_mpsc_new(size_t msg_size, size_t capacity, kr_mpsc_tx **tx,
                kr_mpsc_rx **rx) {
    if (capacity == 0 || capacity > KR_MPSC_MAX_CAPACITY)
        return KR_EINVAL;
    return make(msg_size, capacity, true, tx, rx);
}

int kr_mpsc_unbounded_new(size_t msg_size, kr_mpsc_tx **tx, kr_mpsc_rx **rx) {
    return make(msg_size, 0, false, tx, rx);
}

static void chan_free(chan *c) {
    kr__wait_list_destroy(&c->wl, "kr_mpsc channel");
    if (c->buf != inline_of(c))
        kr__free(c->buf);
    if (!rx_of(c)->in_inline)
        kr__free(rx_of(c)->buf);
    kr_waker_reset(&c->rx_waker);
    kr__free(block_of(c));
}

/* ---- under the lock ----------------------------------------------------- */

bool kr__mpsc_ended(const chan *c) {
    return c->len == 0 && c->reserved == 0 && (c->closed || c->senders == 0);
}

void kr__mpsc_rx_wake(chan *c, kr__wake_batch *b) {
    kr__chan_take_waker(b, &c->rx_waker);
}

/* A slot came free (a message received, a permit released): the first
 * waiting sender gets it, else it returns to `permits`. */
void kr__mpsc_release_slot(chan *c, kr__wake_batch *b) {
    if (!c->bounded)
        return;
    if (kr__chan_pop(&c->wl.waiters, KR__W_GRANTED, b) != NULL)
        c->reserved++;
    else
        c->permits++;
}

/* Hands free slots to waiting senders, FIFO. Wakes in batches of
 * KR__WAKE_BATCH, dropping the lock between them (a send that arrives in
 * such a gap may take a free slot ahead of a waiter: FIFO is exact for up
 * to KR__WAKE_BATCH waiters granted at once). */
static __attribute__((noinline)) void grant_waiters(chan *c,
                                                    kr__wake_batch *b) {
    while (c->permits > 0 && !kr__list_empty(&c->wl.waiters)) {
        if (kr__wake_batch_full(b)) {
            kr__wait_unlock(&c->wl);
            kr__wake_batch_wake(b);
            kr__wait_lock(&c->wl);
            continue;
        }
        kr__chan_pop(&c->wl.waiters, KR__W_GRANTED, b);
        c->permits--;
        c->reserved++;
    }
}

/* Grows the full ring: by 4 while an unbounded ring is under GROW4_BYTES
 * (a fresh channel that queues thousands copies a quarter as much as by
 * doubling), else by doubling. With no ring (the receiver holds the last
 * one as its batch), takes the inline ring if free, else a heap ring of as
 * many slots. Out of line, as the other rare steps below: inlined, their
 * calls made the common send and receive save and restore five registers
 * each (callgrind, contention_unbounded). */
static __attribute__((noinline)) int grow(chan *c) {
    if (c->buf == NULL && c->inline_slots != 0 && !rx_of(c)->in_inline) {
        c->buf = inline_of(c); /* len == 0: the receiver took the queue */
        c->mask = c->inline_slots - 1;
        c->head = 0;
        return 0;
    }
    size_t slots = c->buf != NULL ? c->mask + 1 : 0;
    size_t n = slots ? slots * 2 : c->inline_slots ? c->inline_slots : 1;
    if (!c->bounded && slots != 0 && slots * c->msg_size < GROW4_BYTES)
        n = slots * 4;
    if (n < 4 && c->max_slots >= 4)
        n = 4; /* skip the first doublings of large messages */
    if (n > c->max_slots)
        n = c->max_slots;
    unsigned char *nb = kr__malloc(n * c->msg_size);
    if (nb == NULL)
        return KR_ENOMEM;
    /* The ring is full when this runs: slots [head, end) then [0, head). */
    size_t first = slots - c->head;
    if (c->len) {
        memcpy(nb, c->buf + c->head * c->msg_size, first * c->msg_size);
        memcpy(nb + first * c->msg_size, c->buf, c->head * c->msg_size);
    }
    if (c->buf != inline_of(c))
        kr__free(c->buf);
    c->buf = nb;
    c->mask = n - 1;
    c->head = 0;
    return 0;
}

/* Appends a message (the caller holds a slot for it) and readies the
 * receiver. Inlined into the sends here (as dequeue, below); the permits'
 * send (mpsc_permit.c) calls kr__mpsc_enqueue. */
static inline __attribute__((always_inline)) int
enqueue(chan *c, const void *msg, kr__wake_batch *b) {
    if (c->msg_size != 0) {
        if (__builtin_expect(c->buf == NULL || c->len == c->mask + 1, 0)) {
            int rc = grow(c);
            if (rc < 0)
                return rc;
        }
        size_t i = (c->head + c->len) & c->mask;
        kr__mpsc_copy_msg(c->buf + i * c->msg_size, msg, c->msg_size);
    }
    c->len++;
    kr__mpsc_rx_wake(c, b);
    return 0;
}

int kr__mpsc_enqueue(chan *c, const void *msg, kr__wake_batch *b) {
    return enqueue(c, msg, b);
}

/* A drained heap ring larger than SHRINK_BYTES goes back to the inline one. */
static __attribute__((noinline)) void shrink(chan *c) {
    kr__free(c->buf);
    c->buf = c->inline_slots ? inline_of(c) : NULL;
    c->mask = c->inline_slots ? c->inline_slots - 1 : 0;
    c->head = 0;
}

/* The receiver's drained batch was larger than SHRINK_BYTES: freed. */
static __attribute__((noinline)) void shrink_private(kr__mpsc_rx_head *h) {
    kr__free(h->buf);
    h->buf = NULL;
    h->mask = 0;
    h->head = 0;
}

/* Bounded only (the unbounded receiver takes the queue whole, take_batch):
 * takes up to `n` messages (n <= len) into dst and frees their slots.
 * Inlined into its two callers (try_recv and the receive futures' step),
 * whose frames already save what its calls need. */
static inline __attribute__((always_inline)) void
dequeue(chan *c, void *dst, size_t n, kr__wake_batch *b) {
    size_t ms = c->msg_size;
    if (ms != 0) {
        if (dst != NULL && n == 1) {
            kr__mpsc_copy_msg(dst, c->buf + c->head * ms, ms);
        } else if (dst != NULL) {
            size_t slots = c->mask + 1;
            size_t first = slots - c->head < n ? slots - c->head : n;
            memcpy(dst, c->buf + c->head * ms, first * ms);
            memcpy((unsigned char *)dst + first * ms, c->buf, (n - first) * ms);
        }
        c->head = (c->head + n) & c->mask;
    }
    c->len -= n;
    c->permits += n;
    if (!kr__list_empty(&c->wl.waiters))
        grant_waiters(c, b);
    if (__builtin_expect(c->len == 0 && c->buf != inline_of(c) &&
                             (c->mask + 1) * ms > SHRINK_BYTES,
                         0))
        shrink(c);
}

/* Unbounded, under the lock, the receiver's batch empty and a message
 * queued: the receiver takes the whole queue as its batch, and the senders
 * get the batch's drained ring (or none: grow finds them one). No message
 * is copied. */
static inline __attribute__((always_inline)) void take_batch(chan *c) {
    kr__mpsc_rx_head *h = rx_of(c);
    unsigned char *drained = h->buf;
    size_t drained_mask = h->mask;
    h->buf = c->buf;
    h->mask = c->mask;
    h->head = c->head;
    h->in_inline = c->buf == inline_of(c);
    kr__store_relaxed(&h->len, c->len);
    c->buf = drained;
    c->mask = drained_mask;
    c->head = 0;
    c->len = 0;
}

/* The receiver, with or without the lock: takes `n` messages (n <= its
 * len) from its batch into dst. A drained heap batch larger than
 * SHRINK_BYTES is freed (the senders never read the batch's ring). It
 * reads and writes the receiver's head alone. */
static inline __attribute__((always_inline)) void
take_private(kr__mpsc_rx_head *h, void *dst, size_t n) {
    size_t ms = h->msg_size;
    if (ms != 0) {
        if (dst != NULL && n == 1) {
            kr__mpsc_copy_msg(dst, h->buf + h->head * ms, ms);
        } else if (dst != NULL) {
            size_t slots = h->mask + 1;
            size_t first = slots - h->head < n ? slots - h->head : n;
            memcpy(dst, h->buf + h->head * ms, first * ms);
            memcpy((unsigned char *)dst + first * ms, h->buf, (n - first) * ms);
        }
        h->head = (h->head + n) & h->mask;
    }
    size_t left = kr__load_relaxed(&h->len) - n;
    kr__store_relaxed(&h->len, left);
    if (__builtin_expect(
            left == 0 && !h->in_inline && (h->mask + 1) * ms > SHRINK_BYTES, 0))
        shrink_private(h);
}

/* Unbounded, under the lock: takes up to `limit` messages, from the batch
 * and then from the queue (taken as the next batch). Returns the count. */
static inline __attribute__((always_inline)) size_t
take_unbounded(chan *c, void *dst, size_t limit) {
    kr__mpsc_rx_head *h = rx_of(c);
    size_t n = 0;
    while (n < limit) {
        size_t have = kr__load_relaxed(&h->len);
        if (have == 0) {
            if (c->len == 0)
                break;
            take_batch(c);
            have = kr__load_relaxed(&h->len);
        }
        size_t k = have < limit - n ? have : limit - n;
        take_private(
            h, dst != NULL ? (unsigned char *)dst + n * h->msg_size : NULL, k);
        n += k;
    }
    return n;
}

/*
 * One step of a waiting acquisition (send or reserve). Returns 1 when the
 * caller holds a slot (counted in `reserved`), 0 when it must wait (its
 * waiter is linked), or KR_ECLOSED.
 */
int kr__mpsc_acquire(chan *c, kr__waiter *w, int *phase, kr_context *cx,
                     kr__wake_batch *b) {
    if (*phase == 1) {
        switch (w->state) {
        case KR__W_WAITING:
            kr__chan_update(w, cx->waker);
            return 0;
        case KR__W_GRANTED:
            w->state = KR__W_IDLE;
            *phase = 0;
            if (c->closed) {
                c->reserved--;
                kr__mpsc_release_slot(c, b);
                if (kr__mpsc_ended(c))
                    kr__mpsc_rx_wake(c, b);
                return KR_ECLOSED;
            }
            return 1;
        default: /* CLOSED */
            w->state = KR__W_IDLE;
            *phase = 0;
            return KR_ECLOSED;
        }
    }
    if (c->closed)
        return KR_ECLOSED;
    if (c->bounded) {
        if (c->permits == 0) {
            kr__chan_wait(&c->wl.waiters, w, cx->waker);
            *phase = 1;
            return 0;
        }
        c->permits--;
    }
    c->reserved++;
    return 1;
}

/* A send or reserve future dropped while phase 1: unlink, or pass on the
 * slot it was granted. */
void kr__mpsc_acquire_drop(chan *c, kr__waiter *w) {
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    if (w->state == KR__W_WAITING) {
        kr__chan_cancel(w);
    } else if (w->state == KR__W_GRANTED) {
        w->state = KR__W_IDLE;
        c->reserved--;
        kr__mpsc_release_slot(c, &b);
        if (kr__mpsc_ended(c))
            kr__mpsc_rx_wake(c, &b);
    } else {
        w->state = KR__W_IDLE;
    }
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
}

/* ---- senders ------------------------------------------------------------ */

kr_mpsc_tx *kr_mpsc_tx_clone(kr_mpsc_tx *tx) {
    if (tx == NULL)
        return NULL;
    chan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    c->senders++;
    c->refs++;
    kr__wait_unlock(&c->wl);
    return tx;
}

/* Drops one reference; frees the channel after the last. */
void kr__mpsc_unref_unlock(chan *c, kr__wake_batch *b) {
    bool last = --c->refs == 0;
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(b);
    if (last)
        chan_free(c);
}

void kr_mpsc_tx_drop(kr_mpsc_tx *tx) {
    if (tx == NULL)
        return;
    chan *c = of_tx(tx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    KR__REQUIRE(c->senders > 0, "kr_mpsc sender dropped once too often");
    if (--c->senders == 0) {
        KR__REQUIRE(kr__list_empty(&c->wl.waiters),
                    "kr_mpsc: last sender dropped while one of its sends "
                    "waits on it");
        if (kr__mpsc_ended(c))
            kr__mpsc_rx_wake(c, &b);
    }
    kr__mpsc_unref_unlock(c, &b);
}

/* try_send with the lock held: the whole of it, every case. */
static __attribute__((noinline)) int try_send_locked(chan *c, const void *msg) {
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    int rc;
    if (c->closed) {
        rc = KR_ECLOSED;
    } else if (c->bounded && c->permits == 0) {
        rc = KR_EFULL;
    } else {
        rc = enqueue(c, msg, &b);
        if (rc == 0 && c->bounded)
            c->permits--;
    }
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return rc;
}

static __attribute__((noinline)) int try_send_slow(kr_mpsc_tx *tx,
                                                   const void *msg) {
    if (tx == NULL)
        return KR_EINVAL;
    chan *c = of_tx(tx);
    if (msg == NULL && c->msg_size != 0)
        return KR_EINVAL;
    kr__wait_lock(&c->wl);
    return try_send_locked(c, msg);
}

/* The lock's sleeper, woken after the common case's unlock: it returns
 * that case's 0, so the common case tail-calls it. */
static __attribute__((noinline)) int wake_lock_sleeper(chan *c) {
    kr__parklock_wake(&c->wl.lock);
    return 0;
}

/*
 * The common state of the frameless send paths below, tested with the lock
 * held: the channel open with a slot (bounded: a permit), its ring present
 * with room, and no receiver waiting (so no waker to take and no wake batch).
 */
static inline bool common_room(const chan *c) {
    return !c->closed && !(c->bounded && c->permits == 0) && c->buf != NULL &&
           c->len != c->mask + 1 && c->rx_waker.vtable == NULL;
}

/* The common state's enqueue of a 4- or 8-byte message, lock held. */
static inline void common_enqueue(chan *c, const void *msg, size_t ms) {
    size_t i = (c->head + c->len) & c->mask;
    kr__mpsc_copy_msg(c->buf + i * ms, msg, ms);
    c->len++;
    if (c->bounded)
        c->permits--;
}

/*
 * The common case inline, with no stack frame: a word-sized message, the
 * lock free at the first try, the channel open with a slot and room in its
 * ring, and no receiver waiting (no waker to take, so no wake batch). It
 * calls nothing, so it saves no registers: the frame, the five registers
 * and the empty batch's init and wake were about 20 of 65 instructions a
 * message (callgrind, uncontented_unbounded). Everything else (bad
 * arguments, a busy lock, a full or absent ring, a waker to take) goes to
 * try_send_slow or, once the lock is held, try_send_locked, by tail calls.
 */
int kr_mpsc_try_send(kr_mpsc_tx *tx, const void *msg) {
    chan *c = of_tx(tx);
    if (__builtin_expect(tx == NULL || msg == NULL, 0))
        return try_send_slow(tx, msg);
    size_t ms = c->msg_size;
    if (__builtin_expect(ms != 8 && ms != 4, 0))
        return try_send_slow(tx, msg);
    if (__builtin_expect(!kr__parklock_try_once(&c->wl.lock), 0))
        return try_send_slow(tx, msg);
    if (__builtin_expect(!common_room(c), 0))
        return try_send_locked(c, msg);
    common_enqueue(c, msg, ms);
    if (__builtin_expect(kr__parklock_release(&c->wl.lock), 0))
        return wake_lock_sleeper(c);
    return 0;
}

/* A send's poll, every case (send_poll below has the common one). */
static __attribute__((noinline)) kr_poll
send_poll_slow(kr_mpsc_send *s, kr_context *cx, void *out) {
    if (s->phase_ == 2)
        kr__die("kr_mpsc_send polled after it returned READY");
    int rc;
    chan *c = of_tx(s->tx_);
    if (c == NULL || (s->msg_ == NULL && c->msg_size != 0)) {
        rc = KR_EINVAL;
    } else {
        if (!kr__coop_proceed(cx))
            return KR_PENDING;
        kr__wake_batch b;
        kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
        kr__wait_lock(&c->wl);
        rc = kr__mpsc_acquire_fast(c, &s->w_, &s->phase_, cx, &b);
        if (rc == 0) {
            kr__wait_unlock(&c->wl);
            kr__coop_refund();
            return KR_PENDING;
        }
        if (rc == 1) {
            rc = enqueue(c, s->msg_, &b);
            c->reserved--;
            if (rc < 0)
                kr__mpsc_release_slot(c, &b);
        }
        kr__wait_unlock(&c->wl);
        kr__wake_batch_wake(&b);
    }
    s->phase_ = 2;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

/* send_poll's common case found the lock held by itself but the channel
 * not in its common state: gives both back and takes the whole poll. */
static __attribute__((noinline)) kr_poll
send_poll_unlock_slow(kr_mpsc_send *s, kr_context *cx, void *out) {
    kr__wait_unlock(&of_tx(s->tx_)->wl);
    kr__coop_refund();
    return send_poll_slow(s, cx, out);
}

/* The lock's sleeper, woken after send_poll's unlock: returns its READY. */
static __attribute__((noinline)) kr_poll send_wake_sleeper(chan *c) {
    kr__parklock_wake(&c->wl.lock);
    return KR_READY;
}

/*
 * The vtable's poll, with kr_mpsc_try_send's common case inline and no
 * stack frame: a first poll, a word-sized message, a budget unit, the lock
 * free at the first try, the channel open with a slot (bounded: a permit)
 * and room in its ring, no receiver waiting. No slot goes through
 * `reserved`: the acquisition and the enqueue are one hold of the lock.
 * The frame, its saved registers and the empty wake batch were about 25 of
 * 80 instructions a message (callgrind, uncontented_bounded). The rest
 * goes to send_poll_slow by tail calls.
 */
static kr_poll send_poll(kr_future *f, kr_context *cx, void *out) {
    kr_mpsc_send *s = (kr_mpsc_send *)f;
    chan *c = of_tx(s->tx_);
    const void *msg = s->msg_;
    if (__builtin_expect(c == NULL || msg == NULL || s->phase_ != 0, 0))
        return send_poll_slow(s, cx, out);
    size_t ms = c->msg_size;
    if (__builtin_expect(ms != 8 && ms != 4, 0) || !kr__coop_spend())
        return send_poll_slow(s, cx, out);
    if (__builtin_expect(!kr__parklock_try_once(&c->wl.lock), 0)) {
        kr__coop_refund();
        return send_poll_slow(s, cx, out);
    }
    if (__builtin_expect(!common_room(c), 0))
        return send_poll_unlock_slow(s, cx, out);
    common_enqueue(c, msg, ms);
    s->phase_ = 2;
    if (out != NULL)
        *(int *)out = 0;
    if (__builtin_expect(kr__parklock_release(&c->wl.lock), 0))
        return send_wake_sleeper(c);
    return KR_READY;
}

static void send_drop(kr_future *f) {
    kr_mpsc_send *s = (kr_mpsc_send *)f;
    if (s->phase_ == 1)
        kr__mpsc_acquire_drop(of_tx(s->tx_), &s->w_);
}

const kr_future_vtable kr__mpsc_send_vtable = {
    send_poll, send_drop, sizeof(kr_mpsc_send), sizeof(int), "kr_mpsc_send"};

/* ---- queries ------------------------------------------------------------ */

static size_t free_slots(const chan *c) {
    return c->bounded ? c->permits : SIZE_MAX;
}

bool kr_mpsc_tx_is_closed(const kr_mpsc_tx *tx) {
    if (tx == NULL)
        return true;
    QUERY(tx, c_->closed);
}
size_t kr_mpsc_tx_capacity(const kr_mpsc_tx *tx) {
    if (tx == NULL)
        return 0;
    QUERY(tx, free_slots(c_));
}
size_t kr_mpsc_tx_max_capacity(const kr_mpsc_tx *tx) {
    return tx == NULL ? 0 : of_tx(tx)->cap; /* immutable */
}
size_t kr_mpsc_tx_count(const kr_mpsc_tx *tx) {
    if (tx == NULL)
        return 0;
    QUERY(tx, c_->senders);
}
bool kr_mpsc_tx_same_channel(const kr_mpsc_tx *a, const kr_mpsc_tx *b) {
    return a != NULL && a == b;
}
size_t kr_mpsc_rx_len(const kr_mpsc_rx *rx) {
    if (rx == NULL)
        return 0;
    QUERY(rx, c_->len + kr__load_relaxed(&rx_of(c_)->len));
}
bool kr_mpsc_rx_is_empty(const kr_mpsc_rx *rx) {
    return kr_mpsc_rx_len(rx) == 0;
}
bool kr_mpsc_rx_is_closed(const kr_mpsc_rx *rx) {
    if (rx == NULL)
        return true;
    QUERY(rx, c_->closed || (c_->senders == 0 && c_->reserved == 0));
}
size_t kr_mpsc_rx_capacity(const kr_mpsc_rx *rx) {
    return kr_mpsc_tx_capacity((const kr_mpsc_tx *)rx);
}
size_t kr_mpsc_rx_max_capacity(const kr_mpsc_rx *rx) {
    return kr_mpsc_tx_max_capacity((const kr_mpsc_tx *)rx);
}
size_t kr_mpsc_rx_sender_count(const kr_mpsc_rx *rx) {
    return kr_mpsc_tx_count((const kr_mpsc_tx *)rx);
}

/* ---- the receiver ------------------------------------------------------- */

/* Closes under the lock: every waiting sender completes with KR_ECLOSED.
 * Wakes in batches, dropping the lock between them. */
static void close_locked(chan *c, kr__wake_batch *b) {
    c->closed = true;
    kr__mpsc_rx_wake(c, b);
    for (;;) {
        while (!kr__wake_batch_full(b) &&
               kr__chan_pop(&c->wl.waiters, KR__W_CLOSED, b) != NULL) {
        }
        if (kr__list_empty(&c->wl.waiters))
            return;
        kr__wait_unlock(&c->wl);
        kr__wake_batch_wake(b);
        kr__wait_lock(&c->wl);
    }
}

void kr_mpsc_rx_close(kr_mpsc_rx *rx) {
    if (rx == NULL)
        return;
    chan *c = of_rx(rx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    close_locked(c, &b);
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
}

void kr_mpsc_rx_drop(kr_mpsc_rx *rx) {
    if (rx == NULL)
        return;
    chan *c = of_rx(rx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    KR__REQUIRE(c->rx_waker.vtable == NULL,
                "kr_mpsc receiver dropped while a receive waits on it");
    close_locked(c, &b);
    c->rx_alive = false;
    /* Queued messages are discarded; their slots return to the pool so
     * the capacity queries stay consistent. */
    if (c->bounded)
        c->permits += c->len;
    c->len = 0;
    c->head = 0;
    kr__store_relaxed(&rx_of(c)->len, 0);
    kr__mpsc_unref_unlock(c, &b);
}

int kr_mpsc_try_recv(kr_mpsc_rx *rx, void *dst) {
    if (rx == NULL)
        return KR_EINVAL;
    chan *c = of_rx(rx);
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    int rc = 0;
    if (kr__load_relaxed(&rx_of(c)->len) != 0) {
        take_private(rx_of(c), dst, 1); /* the receiver's own batch: no lock */
        return 0;
    }
    kr__wait_lock(&c->wl);
    if (c->bounded && c->len > 0)
        dequeue(c, dst, 1, &b);
    else if (c->bounded || take_unbounded(c, dst, 1) == 0)
        rc = kr__mpsc_ended(c) ? KR_ECLOSED : KR_EEMPTY;
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return rc;
}

/* The common poll of recv and recv_many, for one kind of channel:
 * `bounded` is a constant in each caller, so that each kind's code has
 * none of the other's branches (the unbounded receiver's checks cost the
 * bounded receive 8 instructions a message; callgrind, uncontented_bounded).
 * Takes up to `limit` messages. Returns the count, KR_ECLOSED, or 0 with
 * *pending set. */
static inline __attribute__((always_inline)) int
recv_step(chan *c, bool bounded, void *dst, size_t limit, int *waiting,
          kr_context *cx, bool *pending) {
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    int rc;
    size_t n;
    kr__wait_lock(&c->wl);
    if (bounded) {
        n = c->len < limit ? c->len : limit;
        if (n > 0)
            dequeue(c, dst, n, &b);
    } else {
        n = take_unbounded(c, dst, limit);
    }
    if (n > 0) {
        rc = (int)n;
    } else if (kr__mpsc_ended(c)) {
        rc = KR_ECLOSED;
    } else {
        kr_waker_set(&c->rx_waker, cx->waker);
        *waiting = 1;
        kr__wait_unlock(&c->wl);
        *pending = true;
        return 0;
    }
    if (*waiting) {
        /* Ready without being woken (a spurious poll found the message):
         * the waker left from the last pending poll is stale. */
        kr_waker_reset(&c->rx_waker);
        *waiting = 0;
    }
    kr__wait_unlock(&c->wl);
    kr__wake_batch_wake(&b);
    return rc;
}

static void recv_cancel(chan *c, int *waiting) {
    if (!*waiting)
        return;
    *waiting = 0;
    kr__wait_lock(&c->wl);
    kr_waker_reset(&c->rx_waker);
    kr__wait_unlock(&c->wl);
}

/* A recv's poll for one kind of channel (see recv_step), `r` neither done
 * nor without a receiver. */
static inline __attribute__((always_inline)) kr_poll
recv_poll_kind(kr_mpsc_recv *r, chan *c, bool bounded, kr_context *cx,
               void *out) {
    if (!kr__coop_proceed(cx))
        return KR_PENDING;
    int rc;
    if (!bounded && kr__load_relaxed(&rx_of(c)->len) != 0 && !r->waiting_) {
        take_private(rx_of(c), r->dst_, 1); /* the batch: no lock */
        rc = 0;
    } else {
        bool pending = false;
        rc = recv_step(c, bounded, r->dst_, 1, &r->waiting_, cx, &pending);
        if (pending) {
            kr__coop_refund();
            return KR_PENDING;
        }
        if (rc > 0)
            rc = 0;
    }
    r->done_ = 1;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static __attribute__((noinline)) kr_poll
recv_poll_bounded(kr_mpsc_recv *r, chan *c, kr_context *cx, void *out) {
    return recv_poll_kind(r, c, true, cx, out);
}

static __attribute__((noinline)) kr_poll
recv_poll_unbounded(kr_mpsc_recv *r, chan *c, kr_context *cx, void *out) {
    return recv_poll_kind(r, c, false, cx, out);
}

/* A recv polled after READY, or without a receiver. */
static __attribute__((noinline)) kr_poll recv_poll_misuse(kr_mpsc_recv *r,
                                                          void *out) {
    if (r->done_)
        kr__die("kr_mpsc_recv polled after it returned READY");
    r->done_ = 1;
    if (out != NULL)
        *(int *)out = KR_EINVAL;
    return KR_READY;
}

/* An unbounded recv that spent its budget unit and has a message in its
 * batch, in the cases recv_poll leaves out of line. */
static __attribute__((noinline)) kr_poll
recv_from_batch(kr_mpsc_recv *r, kr__mpsc_rx_head *h, void *out) {
    take_private(h, r->dst_, 1); /* the receiver's batch: no lock */
    r->done_ = 1;
    if (out != NULL)
        *(int *)out = 0;
    return KR_READY;
}

/* recv_poll_bounded_fast found the lock free but the channel not in its
 * common state: gives the lock and the budget unit back. */
static __attribute__((noinline)) kr_poll
recv_poll_unlock_bounded(kr_mpsc_recv *r, chan *c, kr_context *cx, void *out) {
    kr__wait_unlock(&c->wl);
    kr__coop_refund();
    return recv_poll_bounded(r, c, cx, out);
}

/* The lock's sleeper, woken after a receive's unlock: returns its READY. */
static __attribute__((noinline)) kr_poll recv_wake_sleeper(chan *c) {
    kr__parklock_wake(&c->wl.lock);
    return KR_READY;
}

/*
 * A bounded receive's common case, with no stack frame: no stale waker, a
 * word-sized message, a budget unit, the lock free at the first try, a
 * message queued, no sender waiting for the slot it frees (so no grant and
 * no wake batch), and a ring that cannot need shrinking (more messages
 * after this one, or the inline ring). The frame, its saved registers and
 * the empty batch were about 25 of 80 instructions a message (callgrind,
 * uncontented_bounded). The rest goes to recv_poll_bounded. Out of line,
 * reached by recv_poll's tail call: inlined, its register pressure gave
 * the unbounded common case a saved register too.
 */
static __attribute__((noinline)) kr_poll
recv_poll_bounded_fast(kr_mpsc_recv *r, chan *c, kr_context *cx, void *out) {
    size_t ms = c->msg_size;
    void *dst = r->dst_;
    if (__builtin_expect(r->waiting_ || dst == NULL || (ms != 8 && ms != 4),
                         0) ||
        !kr__coop_spend())
        return recv_poll_bounded(r, c, cx, out);
    if (__builtin_expect(!kr__parklock_try_once(&c->wl.lock), 0)) {
        kr__coop_refund();
        return recv_poll_bounded(r, c, cx, out);
    }
    size_t len = c->len;
    if (__builtin_expect(len == 0 || !kr__list_empty(&c->wl.waiters) ||
                             (len == 1 && c->buf != inline_of(c)),
                         0))
        return recv_poll_unlock_bounded(r, c, cx, out);
    kr__mpsc_copy_msg(dst, c->buf + c->head * ms, ms); /* ms is 4 or 8 */
    c->head = (c->head + 1) & c->mask;
    c->len = len - 1;
    c->permits++;
    r->done_ = 1;
    if (out != NULL)
        *(int *)out = 0;
    if (__builtin_expect(kr__parklock_release(&c->wl.lock), 0))
        return recv_wake_sleeper(c);
    return KR_READY;
}

/*
 * The vtable's poll. The unbounded receive's common case is here, inline:
 * a message in the receiver's batch and more after it (so the batch does
 * not drain and nothing is freed), no stale waker, a budget unit to spend
 * (kr__coop_spend, which does nothing when it fails), a word-sized message
 * to copy. It reads the future and the receiver's head, writes the head,
 * and calls nothing, so it needs no stack frame: the call into the kind's
 * poll and that poll's frame and saved registers were about 15 of 65
 * instructions a message (callgrind, uncontented_unbounded). The rest goes
 * to the poll of the channel's kind, or to recv_from_batch, by tail calls.
 */
static kr_poll recv_poll(kr_future *f, kr_context *cx, void *out) {
    kr_mpsc_recv *r = (kr_mpsc_recv *)f;
    chan *c = of_rx(r->rx_);
    if (__builtin_expect(c == NULL || r->done_, 0))
        return recv_poll_misuse(r, out);
    kr__mpsc_rx_head *h = rx_of(c);
    if (h->bounded)
        return recv_poll_bounded_fast(r, c, cx, out);
    size_t len = kr__load_relaxed(&h->len);
    if (__builtin_expect(len == 0 || r->waiting_, 0) || !kr__coop_spend())
        return recv_poll_unbounded(r, c, cx, out);
    size_t ms = h->msg_size;
    void *dst = r->dst_;
    if (__builtin_expect(len == 1 || dst == NULL || (ms != 8 && ms != 4), 0))
        return recv_from_batch(r, h, out);
    kr__mpsc_copy_msg(dst, h->buf + h->head * ms, ms); /* ms is 4 or 8 */
    h->head = (h->head + 1) & h->mask;
    kr__store_relaxed(&h->len, len - 1);
    r->done_ = 1;
    if (out != NULL)
        *(int *)out = 0;
    return KR_READY;
}

static void recv_drop(kr_future *f) {
    kr_mpsc_recv *r = (kr_mpsc_recv *)f;
    if (r->rx_ != NULL)
        recv_cancel(of_rx(r->rx_), &r->waiting_);
}

const kr_future_vtable kr__mpsc_recv_vtable = {
    recv_poll, recv_drop, sizeof(kr_mpsc_recv), sizeof(int), "kr_mpsc_recv"};

/* A recv_many's poll for one kind of channel (see recv_step). */
static inline __attribute__((always_inline)) kr_poll
recv_many_poll_kind(kr_mpsc_recv_many *r, chan *c, bool bounded, kr_context *cx,
                    void *out) {
    if (!kr__coop_proceed(cx))
        return KR_PENDING;
    bool pending = false;
    size_t limit = r->limit_ > INT_MAX ? INT_MAX : r->limit_;
    int rc = recv_step(c, bounded, r->dst_, limit, &r->waiting_, cx, &pending);
    if (pending) {
        kr__coop_refund();
        return KR_PENDING;
    }
    r->done_ = 1;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static __attribute__((noinline)) kr_poll
recv_many_poll_bounded(kr_mpsc_recv_many *r, chan *c, kr_context *cx,
                       void *out) {
    return recv_many_poll_kind(r, c, true, cx, out);
}

static __attribute__((noinline)) kr_poll
recv_many_poll_unbounded(kr_mpsc_recv_many *r, chan *c, kr_context *cx,
                         void *out) {
    return recv_many_poll_kind(r, c, false, cx, out);
}

static kr_poll recv_many_poll(kr_future *f, kr_context *cx, void *out) {
    kr_mpsc_recv_many *r = (kr_mpsc_recv_many *)f;
    if (r->done_)
        kr__die("kr_mpsc_recv_many polled after it returned READY");
    chan *c = of_rx(r->rx_);
    if (c == NULL || r->limit_ == 0) {
        r->done_ = 1;
        if (out != NULL)
            *(int *)out = c == NULL ? KR_EINVAL : 0;
        return KR_READY;
    }
    if (rx_of(c)->bounded)
        return recv_many_poll_bounded(r, c, cx, out);
    return recv_many_poll_unbounded(r, c, cx, out);
}

static void recv_many_drop(kr_future *f) {
    kr_mpsc_recv_many *r = (kr_mpsc_recv_many *)f;
    if (r->rx_ != NULL)
        recv_cancel(of_rx(r->rx_), &r->waiting_);
}

const kr_future_vtable kr__mpsc_recv_many_vtable = {
    recv_many_poll, recv_many_drop, sizeof(kr_mpsc_recv_many), sizeof(int),
    "kr_mpsc_recv_many"};
