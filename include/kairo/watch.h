/*
 * kairo/watch.h: a single value that many receivers watch (Tokio's
 * tokio::sync::watch). Included by kairo/sync.h.
 *
 * The channel holds one value of a size fixed at creation, and a version
 * that every send bumps. Each receiver remembers the version it has seen;
 * receivers see only the latest value (intermediate ones are skipped), and
 * `changed` waits until the version moves past the one seen.
 *
 * Borrowing: kr_watch_borrow copies the value out under the channel's lock,
 * so the copy is always consistent (never half of one send and half of the
 * next). For large values, kr_watch_borrow_with calls a function with a
 * borrowed view of the value instead, still under the lock. Both the view
 * and a send_modify callback run under that lock (a spinlock): keep them
 * short, and do not call into the same channel from them.
 *
 * Handles: senders are counted like kr_mpsc's (clone returns the same
 * pointer; each reference is dropped once). Receivers are objects made by
 * kr_watch_new, subscribe and clone, each dropped once. When the last
 * sender goes, the channel is closed: `changed` returns KR_ECLOSED once the
 * receiver has seen the final value, and the value stays readable.
 *
 * Threads: every call from any thread; send, borrow and the queries never
 * wait. One changed/wait_for at a time per receiver.
 *
 * Cancellation: a dropped changed or wait_for loses nothing (the seen
 * version moves only when it completes); a dropped closed() loses nothing.
 *
 * Contract: dropping a receiver while one of its futures waits is reported
 * by a debug build ("kr_watch").
 *
 * Differences from Tokio: a send with no receiver returns KR_ECLOSED and
 * leaves the value unchanged, as Tokio's send does; send_replace and
 * send_modify always store. No panics, so no send_modify_panic.
 */
#ifndef KAIRO_WATCH_H
#define KAIRO_WATCH_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_watch_tx kr_watch_tx;
typedef struct kr_watch_rx kr_watch_rx;

/*
 * Makes a channel whose value (value_size bytes, up to 1 MiB) starts as a
 * copy of `init` (NULL: zeroes), and its first receiver in *rx (NULL: none
 * yet). Returns 0; KR_EINVAL (NULL tx, size too large); KR_ENOMEM.
 */
KR_API int kr_watch_new(size_t value_size, const void *init, kr_watch_tx **tx,
                        kr_watch_rx **rx);

KR_API kr_watch_tx *kr_watch_tx_clone(kr_watch_tx *tx);
/* Releases a sender reference; the last one closes the channel. */
KR_API void kr_watch_tx_drop(kr_watch_tx *tx);

/* Stores `value` and wakes every receiver waiting for a change. Returns 0;
 * KR_ECLOSED (no receiver: the value is left as it was); KR_EINVAL. */
KR_API int kr_watch_send(kr_watch_tx *tx, const void *value);
/* Stores `value` whether or not a receiver exists, copying the previous
 * value to `old` (NULL discards). Returns 0 or KR_EINVAL. */
KR_API int kr_watch_send_replace(kr_watch_tx *tx, const void *value, void *old);
/* Calls fn(value, arg) on the stored value in place, then bumps the
 * version and wakes receivers, whether or not a receiver exists.
 * Returns 0 or KR_EINVAL. */
KR_API int kr_watch_send_modify(kr_watch_tx *tx,
                                void (*fn)(void *value, void *arg), void *arg);
/* As send_modify, but receivers are told only if fn returns true.
 * Returns 1 (modified, receivers woken), 0 (not), or KR_EINVAL. */
KR_API int kr_watch_send_if_modified(kr_watch_tx *tx,
                                     bool (*fn)(void *value, void *arg),
                                     void *arg);
/* Copies the current value. Returns 0 or KR_EINVAL. */
KR_API int kr_watch_tx_borrow(const kr_watch_tx *tx, void *dst);
/* A new receiver that has seen the current value. Returns 0, KR_EINVAL,
 * KR_ENOMEM. */
KR_API int kr_watch_subscribe(kr_watch_tx *tx, kr_watch_rx **out);
KR_API size_t kr_watch_receiver_count(const kr_watch_tx *tx);
/* True when no receiver exists. */
KR_API bool kr_watch_tx_is_closed(const kr_watch_tx *tx);

/* A future completing when no receiver is left (Tokio's Sender::closed).
 * No output. Consumes cooperative budget when ready. */
typedef struct kr_watch_closed {
    kr_future base;
    kr_watch_tx *tx_;
    kr__waiter w_;
    int phase_;
} kr_watch_closed;
KR_API kr_watch_closed kr_watch_tx_closed(kr_watch_tx *tx);

/* ---- receivers --------------------------------------------------------- */

/* Copies the current value without marking it seen. 0 or KR_EINVAL. */
KR_API int kr_watch_borrow(const kr_watch_rx *rx, void *dst);
/* Copies the current value and marks it seen. 0 or KR_EINVAL. */
KR_API int kr_watch_borrow_and_update(kr_watch_rx *rx, void *dst);
/* Calls fn(value, arg) with a view of the current value, under the lock
 * (see the top of this file); does not mark it seen. 0 or KR_EINVAL. */
KR_API int kr_watch_borrow_with(const kr_watch_rx *rx,
                                void (*fn)(const void *value, void *arg),
                                void *arg);
/* 1 if a value not yet seen is stored, 0 if not; KR_ECLOSED once every
 * sender is gone (even with an unseen value, as Tokio's); KR_EINVAL. */
KR_API int kr_watch_has_changed(const kr_watch_rx *rx);
/* Marks the current value unseen / seen. */
KR_API void kr_watch_mark_changed(kr_watch_rx *rx);
KR_API void kr_watch_mark_unchanged(kr_watch_rx *rx);

/* A future waiting for a value not yet seen, then marking it seen.
 * Output: an int, 0; KR_ECLOSED (every sender gone and the final value
 * seen); KR_EINVAL. Consumes one unit of cooperative budget when ready. */
typedef struct kr_watch_changed {
    kr_future base;
    kr_watch_rx *rx_;
    kr__waiter w_;
    int phase_;
} kr_watch_changed;
KR_API extern const kr_future_vtable kr__watch_changed_vtable;
static inline kr_watch_changed kr_watch_changed_future(kr_watch_rx *rx) {
    kr_watch_changed w = {{&kr__watch_changed_vtable}, rx, KR__WAITER_INIT, 0};
    return w;
}

/*
 * A future waiting until pred(value, arg) is true of the stored value
 * (checked at once, then on every change; pred runs under the lock), then
 * copies that value to `dst` (NULL: none) and marks it seen. Output: an
 * int, 0; KR_ECLOSED (every sender gone and pred false of the final
 * value); KR_EINVAL.
 */
typedef struct kr_watch_wait_for {
    kr_future base;
    kr_watch_rx *rx_;
    bool (*pred_)(const void *value, void *arg);
    void *arg_;
    void *dst_;
    kr__waiter w_;
    int phase_;
} kr_watch_wait_for;
KR_API kr_watch_wait_for kr_watch_wait_for_future(
    kr_watch_rx *rx, bool (*pred)(const void *value, void *arg), void *arg,
    void *dst);

/* Another receiver with the same seen version. 0, KR_EINVAL, KR_ENOMEM. */
KR_API int kr_watch_rx_clone(const kr_watch_rx *rx, kr_watch_rx **out);
/* Releases the receiver. NULL is ignored. */
KR_API void kr_watch_rx_drop(kr_watch_rx *rx);
KR_API bool kr_watch_rx_same_channel(const kr_watch_rx *a,
                                     const kr_watch_rx *b);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_WATCH_H */
