/*
 * kairo/waiter.h: the private part of a waiting channel future.
 *
 * A future that waits on a channel (an mpsc send or reserve, a broadcast
 * receive, a watch change) carries its place in the channel's wait list
 * inside itself, as Tokio's intrusive waiters do: waiting allocates
 * nothing, and dropping the future unlinks it. The fields are private; the
 * struct is spelled out only so that those futures can be public structs,
 * embedded by value in a parent coroutine.
 */
#ifndef KAIRO_WAITER_H
#define KAIRO_WAITER_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr__chan_waiter {
    void *link_[2];  /* the wait-list node (src/util/list.h) */
    kr_waker waker_; /* owned while linked; taken by whoever wakes it */
    int state_;      /* src/sync/waitq.h */
} kr__chan_waiter;

#define KR__CHAN_WAITER_INIT                                                   \
    { {NULL, NULL}, {NULL, NULL}, 0 }

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_WAITER_H */
