/*
 * sync/mpsc_chan.h: the mpsc channel's state and the steps under its lock,
 * shared by the files of the channel: mpsc.c (the channel, senders, the
 * receiver; its head comment has the protocol), mpsc_permit.c (permits and
 * the reserve future), mpsc_weak.c (weak senders).
 */
#ifndef KR_SYNC_MPSC_CHAN_H
#define KR_SYNC_MPSC_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kairo.h"
#include "sync/waitq.h"
#include "util/atomic.h"

/*
 * The receiver's head: the state a receive from the unbounded receiver's
 * batch reads and writes, together in 48 bytes laid out just before the
 * channel (chan_block), so that such a receive touches one cache line of
 * the channel (two where malloc's 16-byte alignment puts the head across a
 * line) and no line a sender writes. Before, not inside: the lock stays at
 * the channel's address, which every locked path addresses without an
 * offset (the lock 48 bytes in cost 4 instructions a send and a receive
 * drop; callgrind, uncontented_unbounded).
 *
 * Unbounded only: the receiver's batch, a ring it took whole from the
 * senders (mpsc.c's head comment). buf, mask and head are the receiver's
 * alone; len is written by the receiver and read by kr_mpsc_rx_len under
 * the lock; in_inline (the batch is the inline ring) is written by the
 * receiver under the lock and read by senders under it. msg_size and
 * bounded are copies of the channel's, which never change (the senders
 * read those in the channel).
 */
typedef struct kr__mpsc_rx_head {
    unsigned char *buf;
    size_t mask;
    size_t head;
    _Atomic size_t len;
    size_t msg_size;
    bool bounded;
    bool in_inline;
} kr__mpsc_rx_head;

typedef struct chan {
    kr__wait_list wl; /* its lock guards the whole channel */
    bool bounded;
    bool closed;   /* the receiver closed (or dropped) */
    bool rx_alive; /* the receiver handle exists */
    size_t msg_size;
    size_t cap; /* bounded capacity; SIZE_MAX when unbounded */
    size_t permits;
    size_t reserved;
    size_t senders;
    size_t weak;
    size_t refs; /* senders + weak senders + permits + the receiver */
    unsigned char *buf;
    size_t mask; /* slots - 1 */
    size_t head;
    size_t len;
    size_t inline_slots;
    size_t max_slots; /* the ring never grows beyond this */
    kr_waker rx_waker;
} chan;

/* The channel's one allocation: the receiver's head, the channel (the
 * handles point here), the inline ring. */
typedef struct chan_block {
    kr__mpsc_rx_head rx;
    chan c;
    _Alignas(16) unsigned char inline_buf[];
} chan_block;

static inline chan_block *block_of(const chan *c) {
    return (chan_block *)((uintptr_t)c - offsetof(chan_block, c));
}
static inline kr__mpsc_rx_head *rx_of(const chan *c) {
    return &block_of(c)->rx;
}
static inline unsigned char *inline_of(const chan *c) {
    return block_of(c)->inline_buf;
}

static inline chan *of_tx(const kr_mpsc_tx *tx) { return (chan *)tx; }

/* Copies one message. Word-sized ones (ints, pointers, the benchmarks'
 * usize) by a fixed-size copy the compiler inlines: the memcpy calls of a
 * size known only at run time were 12-17% of the mpsc rows' instructions
 * (callgrind, uncontented_bounded, contention_unbounded). */
static inline void kr__mpsc_copy_msg(void *dst, const void *src, size_t ms) {
    if (ms == 8)
        memcpy(dst, src, 8);
    else if (ms == 4)
        memcpy(dst, src, 4);
    else
        memcpy(dst, src, ms);
}

/* Under the lock. The stream has ended: nothing queued or reserved, and
 * the receiver closed or every sender went. It ignores the receiver's
 * batch (unbounded): senders ask it only to wake the receiver, whose waker
 * is set only while its batch is empty, and the receiver asks it only with
 * its batch empty. */
bool kr__mpsc_ended(const chan *c);
/* Under the lock: takes the receiver's waker into the batch. */
void kr__mpsc_rx_wake(chan *c, kr__wake_batch *b);
/* Under the lock: a slot came free (a message received, a permit
 * released): the first waiting sender gets it, else it returns to
 * `permits`. */
void kr__mpsc_release_slot(chan *c, kr__wake_batch *b);
/* Under the lock: appends a message (the caller holds a slot for it) and
 * readies the receiver. 0 or KR_ENOMEM. */
int kr__mpsc_enqueue(chan *c, const void *msg, kr__wake_batch *b);
/* Under the lock: one step of a waiting acquisition (send or reserve).
 * Returns 1 when the caller holds a slot (counted in `reserved`), 0 when
 * it must wait (its waiter is linked), or KR_ECLOSED. */
int kr__mpsc_acquire(chan *c, kr__waiter *w, int *phase, kr_context *cx,
                     kr__wake_batch *b);
/* kr__mpsc_acquire with its common case inline (a first poll that finds
 * the channel open and a slot free, or the channel unbounded): the call was
 * 30 of about 300 instructions per message of a bounded send (callgrind,
 * uncontented_bounded). Under the lock. */
static inline int kr__mpsc_acquire_fast(chan *c, kr__waiter *w, int *phase,
                                        kr_context *cx, kr__wake_batch *b) {
    if (__builtin_expect(
            *phase == 0 && !c->closed && (!c->bounded || c->permits > 0), 1)) {
        if (c->bounded)
            c->permits--;
        c->reserved++;
        return 1;
    }
    return kr__mpsc_acquire(c, w, phase, cx, b);
}
/* A send or reserve future dropped while waiting (phase 1): unlinks it, or
 * passes on the slot it was granted. Takes the lock. */
void kr__mpsc_acquire_drop(chan *c, kr__waiter *w);
/* Under the lock: drops one reference, unlocks, wakes the batch, and frees
 * the channel after the last reference. */
void kr__mpsc_unref_unlock(chan *c, kr__wake_batch *b);

/* The queries take the lock: the fields are plain, and a consistent
 * snapshot of several of them is what the caller asks for. */
#define QUERY(c, expr)                                                         \
    do {                                                                       \
        chan *c_ = (chan *)(c);                                                \
        kr__wait_lock(&c_->wl);                                                \
        __typeof__(expr) v_ = (expr);                                          \
        kr__wait_unlock(&c_->wl);                                              \
        return v_;                                                             \
    } while (0)

#endif
