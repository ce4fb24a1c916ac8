/*
 * kairo/broadcast.h: a multi-producer, multi-consumer channel where every
 * receiver sees every message (Tokio's tokio::sync::broadcast). Included by
 * kairo/sync.h.
 *
 * The channel keeps the last `capacity` messages (rounded up to a power of
 * two, as Tokio does) in a ring. Each receiver has its own cursor: it
 * receives, in order, every message sent after it subscribed. A receiver
 * that falls more than the capacity behind has lost the oldest of them: its
 * next receive returns KR_ELAGGED with the number it missed, and the one
 * after that resumes at the oldest message still retained. Messages are
 * bytes of a size fixed at creation (copied in on send, out on receive).
 *
 * Handles: senders are counted like kr_mpsc's (kr_broadcast_tx_clone
 * returns the same pointer, each reference is released once). Receivers
 * are separate objects, each made by subscribe (or resubscribe) and
 * released by kr_broadcast_rx_drop. The channel closes when the last
 * sender goes or kr_broadcast_tx_close is called: receivers then drain
 * what is retained for them and get KR_ECLOSED.
 *
 * Threads: any handle from any thread; send, try_recv, subscribe, close
 * and the queries never block and work from plain threads. One receive at
 * a time per receiver.
 *
 * Cancellation: a dropped recv loses nothing (the cursor moves only when a
 * message is taken); a dropped closed() loses nothing.
 *
 * Contract: a receiver must outlive its recv futures; dropping one while a
 * receive waits on it is reported by a debug build ("kr_broadcast").
 *
 * Structure (src/sync/broadcast.c): one spinlock over the ring, the tail
 * position and the wait list; receivers copy under it. Differences from
 * Tokio: no weak senders; messages are bytes (no Clone, so no
 * panic_in_clone); send with no receiver returns KR_ECLOSED and stores
 * nothing, as Tokio's send returns Err.
 */
#ifndef KAIRO_BROADCAST_H
#define KAIRO_BROADCAST_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_broadcast_tx kr_broadcast_tx;
typedef struct kr_broadcast_rx kr_broadcast_rx;

#define KR_BROADCAST_MAX_CAPACITY ((size_t)1 << 30)

/*
 * Makes a channel retaining `capacity` messages (rounded up to a power of
 * two) of `msg_size` bytes, and its first receiver in *rx (rx may be NULL:
 * no receiver yet, as Tokio's Sender::new). The ring is allocated now.
 * Returns 0; KR_EINVAL (NULL tx, capacity 0 or over
 * KR_BROADCAST_MAX_CAPACITY, msg_size over 1 MiB); KR_ENOMEM.
 */
KR_API int kr_broadcast_new(size_t msg_size, size_t capacity,
                            kr_broadcast_tx **tx, kr_broadcast_rx **rx);

/* Another sender reference (the same pointer). NULL for NULL. */
KR_API kr_broadcast_tx *kr_broadcast_tx_clone(kr_broadcast_tx *tx);
/* Releases one sender reference; the last one closes the channel. */
KR_API void kr_broadcast_tx_drop(kr_broadcast_tx *tx);
/* Closes the channel now, for every sender: sends fail, receivers drain
 * and then get KR_ECLOSED. Idempotent. */
KR_API void kr_broadcast_tx_close(kr_broadcast_tx *tx);

/*
 * Sends a copy of `msg` to every current receiver, overwriting the oldest
 * retained message when the ring is full. Never waits. Returns the number
 * of receivers it was sent to (>= 1); KR_ECLOSED (no receiver: nothing is
 * stored; or the channel is closed); KR_EINVAL (NULL tx, or NULL msg with
 * a non-zero size).
 */
KR_API int kr_broadcast_send(kr_broadcast_tx *tx, const void *msg);

/*
 * A new receiver that will see every message sent from now on. Works on a
 * closed channel too (the receiver then reads KR_ECLOSED). Returns 0;
 * KR_EINVAL; KR_ENOMEM.
 */
KR_API int kr_broadcast_subscribe(kr_broadcast_tx *tx, kr_broadcast_rx **out);

/* Receivers alive. */
KR_API size_t kr_broadcast_receiver_count(const kr_broadcast_tx *tx);
/* Messages retained that some receiver has not yet taken (at most the
 * capacity; Tokio's Sender::len). */
KR_API size_t kr_broadcast_tx_len(const kr_broadcast_tx *tx);
/* True when no receiver exists (a send would fail). */
KR_API bool kr_broadcast_tx_is_closed(const kr_broadcast_tx *tx);

/* A future completing when the receiver count is 0 (Tokio's
 * Sender::closed). No output. */
typedef struct kr_broadcast_closed {
    kr_future base;
    kr_broadcast_tx *tx_;
    kr__waiter w_;
    int phase_;
} kr_broadcast_closed;
KR_API kr_broadcast_closed kr_broadcast_tx_closed(kr_broadcast_tx *tx);

/* ---- receivers --------------------------------------------------------- */

/*
 * Takes this receiver's next message into `dst` (NULL discards). Returns 0;
 * KR_EEMPTY (none yet); KR_ELAGGED (the receiver missed messages: their
 * number goes to *lagged if not NULL, and the cursor moves to the oldest
 * retained one, which the next call returns); KR_ECLOSED (closed, and
 * nothing left for this receiver); KR_EINVAL.
 */
KR_API int kr_broadcast_try_recv(kr_broadcast_rx *rx, void *dst,
                                 uint64_t *lagged);

/* A future receiving as try_recv, waiting while there is nothing. Output:
 * an int, 0, KR_ELAGGED (count in *lagged) or KR_ECLOSED, KR_EINVAL.
 * Consumes one unit of cooperative budget per completing poll. */
typedef struct kr_broadcast_recv {
    kr_future base;
    kr_broadcast_rx *rx_;
    void *dst_;
    uint64_t *lagged_;
    kr__waiter w_;
    int phase_;
} kr_broadcast_recv;
KR_API extern const kr_future_vtable kr__broadcast_recv_vtable;
static inline kr_broadcast_recv
kr_broadcast_recv_future(kr_broadcast_rx *rx, void *dst, uint64_t *lagged) {
    kr_broadcast_recv r = {
        {&kr__broadcast_recv_vtable}, rx, dst, lagged, KR__WAITER_INIT, 0};
    return r;
}

/* A new receiver of the same channel starting at the tail (it sees only
 * messages sent from now on). Returns 0; KR_EINVAL; KR_ENOMEM. */
KR_API int kr_broadcast_rx_resubscribe(kr_broadcast_rx *rx,
                                       kr_broadcast_rx **out);
/* Releases the receiver. NULL is ignored. */
KR_API void kr_broadcast_rx_drop(kr_broadcast_rx *rx);
/* Messages sent since this receiver's cursor, lost ones included (Tokio's
 * Receiver::len). */
KR_API size_t kr_broadcast_rx_len(const kr_broadcast_rx *rx);
/* True once the channel is closed (messages may remain to drain). */
KR_API bool kr_broadcast_rx_is_closed(const kr_broadcast_rx *rx);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_BROADCAST_H */
