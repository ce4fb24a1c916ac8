/*
 * kairo/sync.h: channels and synchronisation between tasks.
 *
 * Convention for fallible futures that also produce a value: the future's
 * output is an int (0 or a negative code) and the value is written to a
 * destination given when the future is made, as read(2) does with its
 * buffer.
 */
#ifndef KAIRO_SYNC_H
#define KAIRO_SYNC_H

#include "core.h"
#include "broadcast.h"
#include "mpsc.h"
#include "semaphore.h"
#include "notify.h"
#include "mutex.h"
#include "rwlock.h"
#include "barrier.h"
#include "once_cell.h"
#include "cancel.h"
#include "watch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* oneshot: one value, from one sender to one receiver                      */
/* ------------------------------------------------------------------------ */

/* The two ends of one channel; each is owned by one party and released by
 * send/drop (sender) or drop (receiver). Any thread may hold either end. */
typedef struct kr_oneshot_tx kr_oneshot_tx;
typedef struct kr_oneshot_rx kr_oneshot_rx;

/*
 * Makes a channel carrying one value of `value_size` bytes (0 allowed: a pure
 * signal). Returns 0, KR_EINVAL (NULL out-pointers, size over 1 MiB),
 * KR_ENOMEM.
 */
KR_API int kr_oneshot_new(size_t value_size, kr_oneshot_tx **tx,
                          kr_oneshot_rx **rx);

/*
 * Sends `value` (value_size bytes; may be NULL when value_size is 0) and
 * releases the sender, whatever the result. Returns 0 when the value was
 * stored for the receiver; KR_ECLOSED when the receiver was dropped or
 * closed first (the value is not delivered); KR_EINVAL (NULL tx, or NULL
 * value with a non-zero size; the sender is still released if tx is not NULL).
 * Never blocks; callable from any thread.
 */
KR_API int kr_oneshot_send(kr_oneshot_tx *tx, const void *value);

/* Releases the sender without sending: the receiver then gets KR_ECLOSED.
 * NULL is ignored. */
KR_API void kr_oneshot_tx_drop(kr_oneshot_tx *tx);

/* True if the receiver has been dropped or closed (a send would fail). */
KR_API bool kr_oneshot_tx_is_closed(const kr_oneshot_tx *tx);

/*
 * A future that completes when the receiver is dropped or closed (Tokio's
 * Sender::closed). Output: none. Dropping it is always safe.
 */
typedef struct kr_oneshot_closed {
    kr_future base;
    kr_oneshot_tx *tx_;
} kr_oneshot_closed;
KR_API kr_oneshot_closed kr_oneshot_tx_closed(kr_oneshot_tx *tx);

/*
 * Closes the receiving side: later sends fail with KR_ECLOSED; a value
 * already sent can still be received. Idempotent.
 */
KR_API void kr_oneshot_rx_close(kr_oneshot_rx *rx);

/* Releases the receiver (closing it). NULL is ignored. */
KR_API void kr_oneshot_rx_drop(kr_oneshot_rx *rx);

/*
 * Takes the value if it has been sent, into `dst` (value_size bytes; NULL
 * discards). Returns 0; KR_EEMPTY (nothing yet; the sender is alive);
 * KR_ECLOSED (the sender went without sending, or the value was already
 * taken); KR_EINVAL (NULL rx).
 */
KR_API int kr_oneshot_try_recv(kr_oneshot_rx *rx, void *dst);

/*
 * True once the receiver has had its answer: a receive (try_recv or the
 * future) returned the value or KR_ECLOSED (Tokio's
 * Receiver::is_terminated). A value sent, the sender dropped or the
 * receiver closed do not terminate it by themselves: the receive that
 * reports them does. Receiver's thread only (the one that receives); true
 * for NULL.
 */
KR_API bool kr_oneshot_rx_is_terminated(const kr_oneshot_rx *rx);

/*
 * True unless a value is waiting to be received (Tokio's
 * Receiver::is_empty): before the send, after the value was taken, and
 * when the sender went without sending or the receiver closed. True for
 * NULL.
 */
KR_API bool kr_oneshot_rx_is_empty(const kr_oneshot_rx *rx);

/*
 * A future receiving the value into `dst` (NULL discards). Output: an int,
 * 0 or KR_ECLOSED (the sender was dropped without sending, or the value was
 * already taken). Cancel-safe: dropping the future before it completes
 * loses nothing; the value stays in the channel for a later receive. The
 * receiver must outlive the future.
 */
typedef struct kr_oneshot_recv {
    kr_future base;
    kr_oneshot_rx *rx_;
    void *dst_;
    int done_;
} kr_oneshot_recv;
/* Inline, as every future's constructor (kairo/waiter.h says why). */
KR_API extern const kr_future_vtable kr__oneshot_recv_vtable;
static inline kr_oneshot_recv kr_oneshot_recv_future(kr_oneshot_rx *rx,
                                                     void *dst) {
    kr_oneshot_recv r = {{&kr__oneshot_recv_vtable}, rx, dst, 0};
    return r;
}

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_SYNC_H */
