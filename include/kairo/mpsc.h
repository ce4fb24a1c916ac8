/*
 * kairo/mpsc.h: multi-producer, single-consumer channels, bounded and
 * unbounded (Tokio's tokio::sync::mpsc). Included by kairo/sync.h.
 *
 * A channel carries messages of one size, fixed when it is made (any size,
 * 0 allowed); sending copies the message in, receiving copies it out, as
 * spawning copies a future into its task. A message is plain bytes: a
 * message that owns memory must be received (or drained with try_recv)
 * before the receiver is dropped, since a dropped receiver discards what is
 * still queued without looking at it.
 *
 * Handles: a channel has one receiver and any number of senders. A sender
 * handle is counted: kr_mpsc_tx_clone returns another reference (the same
 * pointer), and each reference is released by one kr_mpsc_tx_drop. The
 * receiver sees the end of the stream (KR_ECLOSED after the queue drains)
 * when the last sender and the last permit are gone, or after it closed the
 * channel itself. The channel's memory goes with its last handle.
 *
 * Bounded channels hold at most `capacity` messages, counting reserved
 * permits; a send waits for room in FIFO order (a freed slot is handed to
 * the longest-waiting sender, so try_send cannot overtake a waiting send).
 * Unbounded channels never wait to send.
 *
 * Threads: every handle may be used from any thread, inside or outside a
 * runtime. The non-waiting calls (try_send, try_reserve, permit_send,
 * try_recv, close, the queries, clone and drop) never block and may be
 * called from plain threads; the futures are awaited by tasks (or
 * block_on) of either runtime, on any worker. One receive (recv, recv_many
 * or try_recv) at a time per receiver.
 *
 * Cancellation (what a dropped future loses):
 *   - send: nothing is sent and nothing is lost; the message stays the
 *     caller's. A send that was waiting loses its place in the queue; a
 *     slot it had been handed passes on to the next waiting sender.
 *   - reserve: the same; no permit is made.
 *   - recv, recv_many: nothing; messages stay queued for the next receive.
 *
 * Contract: a handle must outlive the futures made from it. Freeing the
 * receiver while a receive waits on it, or dropping the last sender while
 * one of its sends waits, is a contract violation that a debug build
 * (KR_DEBUG) reports naming the channel ("kr_mpsc").
 *
 * Structure (src/sync/mpsc.c): one lock (a spinlock; every critical section
 * is a few dozen instructions plus one message copy) over a ring of
 * message slots that grows by doubling, the sender wait list and the
 * receiver's waker. Differences from Tokio: no
 * reserve_many, blocking_send/blocking_recv are not provided (block_on the
 * futures instead); messages are bytes, not values with destructors.
 */
#ifndef KAIRO_MPSC_H
#define KAIRO_MPSC_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_mpsc_tx kr_mpsc_tx;
typedef struct kr_mpsc_rx kr_mpsc_rx;

/* The largest message, and the largest bounded capacity. */
#define KR_MPSC_MAX_MSG      ((size_t)1 << 24)
#define KR_MPSC_MAX_CAPACITY ((size_t)1 << 40)

/*
 * Makes a bounded channel holding up to `capacity` messages of `msg_size`
 * bytes. Memory grows with the backlog, not with the capacity: a channel
 * of capacity 10^6 costs a few hundred bytes until messages queue up.
 * Returns 0; KR_EINVAL (NULL out-pointers, capacity 0 or over
 * KR_MPSC_MAX_CAPACITY, msg_size over KR_MPSC_MAX_MSG); KR_ENOMEM.
 */
KR_API int kr_mpsc_new(size_t msg_size, size_t capacity, kr_mpsc_tx **tx,
                       kr_mpsc_rx **rx);

/* Makes an unbounded channel. Returns as kr_mpsc_new (no capacity check). */
KR_API int kr_mpsc_unbounded_new(size_t msg_size, kr_mpsc_tx **tx,
                                 kr_mpsc_rx **rx);

/* ---- senders ----------------------------------------------------------- */

/* Another reference to the sending side (the same pointer, counted).
 * Returns `tx`; NULL for NULL. Works on a closed channel too. */
KR_API kr_mpsc_tx *kr_mpsc_tx_clone(kr_mpsc_tx *tx);

/* Releases one sender reference. The last one ends the stream for the
 * receiver (after the queued messages). NULL is ignored. */
KR_API void kr_mpsc_tx_drop(kr_mpsc_tx *tx);

/*
 * Sends `msg` (msg_size bytes; NULL only when msg_size is 0) without
 * waiting. Returns 0; KR_EFULL (bounded and full: no free slot, or every
 * freed slot is promised to a waiting sender); KR_ECLOSED (the receiver
 * closed or was dropped); KR_ENOMEM (the queue could not grow); KR_EINVAL
 * (NULL tx, or NULL msg with a non-zero size). On any error the message is
 * not sent. Consumes no cooperative budget.
 */
KR_API int kr_mpsc_try_send(kr_mpsc_tx *tx, const void *msg);

/* A future sending *msg, waiting for room. Output: an int, 0 or KR_ECLOSED,
 * KR_ENOMEM, KR_EINVAL (as try_send). `msg` is read when the message is
 * sent (at the poll that completes), so it must stay valid until then.
 * Consumes one unit of cooperative budget per completing poll. */
typedef struct kr_mpsc_send {
    kr_future base;
    kr_mpsc_tx *tx_;
    const void *msg_;
    kr__waiter w_;
    int phase_;
} kr_mpsc_send;
/* The constructors are inline: a future built by an out-of-line call is
 * returned through memory and read back at once, a store-forwarding stall
 * that measured as much as the send itself (uncontended 5000 sends and
 * receives: 250 us with the calls, 130 us inline). */
KR_API extern const kr_future_vtable kr__mpsc_send_vtable;
static inline kr_mpsc_send kr_mpsc_send_future(kr_mpsc_tx *tx,
                                               const void *msg) {
    kr_mpsc_send s = {{&kr__mpsc_send_vtable}, tx, msg, KR__WAITER_INIT, 0};
    return s;
}

/*
 * A permit: one reserved slot of a channel, sent into without waiting
 * (Tokio's Permit / OwnedPermit). It holds its own reference to the
 * channel, and counts as a sender for the end of the stream. Use it exactly
 * once: kr_mpsc_permit_send or kr_mpsc_permit_drop. Any thread.
 */
typedef struct kr_mpsc_permit {
    void *chan_;
} kr_mpsc_permit;

/* Reserves a slot without waiting. Returns 0 (and fills *permit) or
 * KR_EFULL, KR_ECLOSED, KR_EINVAL (NULL argument), as try_send. */
KR_API int kr_mpsc_try_reserve(kr_mpsc_tx *tx, kr_mpsc_permit *permit);

/* A future reserving a slot, waiting for room. Output: an int, 0 (and
 * *permit is filled) or KR_ECLOSED, KR_EINVAL. */
typedef struct kr_mpsc_reserve {
    kr_future base;
    kr_mpsc_tx *tx_;
    kr_mpsc_permit *permit_;
    kr__waiter w_;
    int phase_;
} kr_mpsc_reserve;
KR_API extern const kr_future_vtable kr__mpsc_reserve_vtable;
static inline kr_mpsc_reserve kr_mpsc_reserve_future(kr_mpsc_tx *tx,
                                                     kr_mpsc_permit *permit) {
    kr_mpsc_reserve r = {
        {&kr__mpsc_reserve_vtable}, tx, permit, KR__WAITER_INIT, 0};
    return r;
}

/*
 * Sends `msg` into the reserved slot and releases the permit. Never waits;
 * a permit sends even after the receiver closed the channel (the receiver
 * drains it). Returns 0; KR_ECLOSED (the receiver was dropped: the message
 * is discarded); KR_ENOMEM (the queue could not grow; the slot is
 * released); KR_EINVAL (an empty permit, or NULL msg with a non-zero
 * size; a non-empty permit is released all the same).
 */
KR_API int kr_mpsc_permit_send(kr_mpsc_permit *permit, const void *msg);

/* Releases the permit's slot unused (to the next waiting sender). An empty
 * permit (or NULL) is ignored. The permit is empty afterwards. */
KR_API void kr_mpsc_permit_drop(kr_mpsc_permit *permit);

/* True once the receiver has closed or been dropped (sends fail). */
KR_API bool kr_mpsc_tx_is_closed(const kr_mpsc_tx *tx);

/* Free slots now (Tokio's Sender::capacity): max capacity minus queued
 * messages and outstanding permits. SIZE_MAX for unbounded. */
KR_API size_t kr_mpsc_tx_capacity(const kr_mpsc_tx *tx);
/* The capacity the channel was made with; SIZE_MAX for unbounded. */
KR_API size_t kr_mpsc_tx_max_capacity(const kr_mpsc_tx *tx);
/* Sender references alive (Tokio's strong_count), counting clones. */
KR_API size_t kr_mpsc_tx_count(const kr_mpsc_tx *tx);
/* True if both are senders of one channel. */
KR_API bool kr_mpsc_tx_same_channel(const kr_mpsc_tx *a, const kr_mpsc_tx *b);

/*
 * Weak senders (Tokio's WeakSender / WeakUnboundedSender): a reference to
 * the channel that does not keep the stream open. The receiver sees the
 * end when the last (strong) sender and permit go, whatever weak ones
 * remain; a weak sender is upgraded to a sender to send. Like senders, a
 * weak reference is the same pointer, counted: each downgrade or clone is
 * released by one kr_mpsc_weak_drop. Any thread.
 */
typedef struct kr_mpsc_weak_tx kr_mpsc_weak_tx;

/* A weak reference from a sender (which stays valid). NULL for NULL. */
KR_API kr_mpsc_weak_tx *kr_mpsc_tx_downgrade(kr_mpsc_tx *tx);
/* A new sender reference, or NULL if no sender and no permit is left (the
 * stream has ended for the receiver, or will once it drains). */
KR_API kr_mpsc_tx *kr_mpsc_weak_upgrade(kr_mpsc_weak_tx *w);
KR_API kr_mpsc_weak_tx *kr_mpsc_weak_clone(kr_mpsc_weak_tx *w);
/* Releases one weak reference. NULL is ignored. */
KR_API void kr_mpsc_weak_drop(kr_mpsc_weak_tx *w);
/* Weak references alive; the strong count through a weak handle. */
KR_API size_t kr_mpsc_tx_weak_count(const kr_mpsc_tx *tx);
KR_API size_t kr_mpsc_weak_count(const kr_mpsc_weak_tx *w);
KR_API size_t kr_mpsc_weak_strong_count(const kr_mpsc_weak_tx *w);

/* ---- the receiver ------------------------------------------------------ */

/*
 * Takes the oldest message into `dst` (msg_size bytes; NULL discards).
 * Returns 0; KR_EEMPTY (nothing queued, the stream has not ended);
 * KR_ECLOSED (nothing queued and the stream has ended: every sender and
 * permit gone, or the channel closed with no permit out); KR_EINVAL.
 */
KR_API int kr_mpsc_try_recv(kr_mpsc_rx *rx, void *dst);

/* A future receiving the oldest message into `dst` (NULL discards).
 * Output: an int, 0 or KR_ECLOSED (the stream ended), KR_EINVAL.
 * Consumes one unit of cooperative budget per completing poll. */
typedef struct kr_mpsc_recv {
    kr_future base;
    kr_mpsc_rx *rx_;
    void *dst_;
    int waiting_;
    int done_;
} kr_mpsc_recv;
KR_API extern const kr_future_vtable kr__mpsc_recv_vtable;
static inline kr_mpsc_recv kr_mpsc_recv_future(kr_mpsc_rx *rx, void *dst) {
    kr_mpsc_recv r = {{&kr__mpsc_recv_vtable}, rx, dst, 0, 0};
    return r;
}

/*
 * A future receiving up to `limit` messages at once into `dst` (an array of
 * at least `limit` messages; NULL discards). It waits for the first one,
 * then takes what is queued, in one critical section. Output: an int, the
 * number received (1 to limit, limit capped at INT_MAX); 0 when `limit` is
 * 0 (at once, as Tokio's); KR_ECLOSED (the stream ended), KR_EINVAL.
 */
typedef struct kr_mpsc_recv_many {
    kr_future base;
    kr_mpsc_rx *rx_;
    void *dst_;
    size_t limit_;
    int waiting_;
    int done_;
} kr_mpsc_recv_many;
KR_API extern const kr_future_vtable kr__mpsc_recv_many_vtable;
static inline kr_mpsc_recv_many
kr_mpsc_recv_many_future(kr_mpsc_rx *rx, void *dst, size_t limit) {
    kr_mpsc_recv_many r = {{&kr__mpsc_recv_many_vtable}, rx, dst, limit, 0, 0};
    return r;
}

/*
 * Closes the channel from the receiving side: sends and reserves fail with
 * KR_ECLOSED from now on, waiting ones complete with KR_ECLOSED; queued
 * messages and outstanding permits can still be received. Idempotent.
 */
KR_API void kr_mpsc_rx_close(kr_mpsc_rx *rx);

/* Closes the channel and releases the receiver; queued messages are
 * discarded. NULL is ignored. */
KR_API void kr_mpsc_rx_drop(kr_mpsc_rx *rx);

/* Messages queued now. */
KR_API size_t kr_mpsc_rx_len(const kr_mpsc_rx *rx);
KR_API bool kr_mpsc_rx_is_empty(const kr_mpsc_rx *rx);
/* True once no message can be sent any more: closed by the receiver, or
 * every sender and permit dropped (Tokio's Receiver::is_closed; messages
 * may remain queued). */
KR_API bool kr_mpsc_rx_is_closed(const kr_mpsc_rx *rx);
/* As kr_mpsc_tx_capacity and kr_mpsc_tx_max_capacity. */
KR_API size_t kr_mpsc_rx_capacity(const kr_mpsc_rx *rx);
KR_API size_t kr_mpsc_rx_max_capacity(const kr_mpsc_rx *rx);
/* Sender references alive. */
KR_API size_t kr_mpsc_rx_sender_count(const kr_mpsc_rx *rx);
/* Weak sender references alive. */
KR_API size_t kr_mpsc_rx_weak_count(const kr_mpsc_rx *rx);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_MPSC_H */
