/*
 * kairo/waiter.h: the node a waiting future embeds.
 *
 * Every future that waits on a kairo primitive (a semaphore acquire, a
 * mutex lock, a notified future, ...) carries its own wait-list node, so
 * waiting allocates nothing and a dropped future can unlink itself. The
 * layout is public only so that those futures can be plain values; the
 * fields are private to kairo (src/util/wait_list.h states the protocol).
 */
#ifndef KAIRO_WAITER_H
#define KAIRO_WAITER_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The intrusive list node of src/util/list.h, which shares this guard. */
#ifndef KR__LIST_DEFINED
#define KR__LIST_DEFINED
typedef struct kr__list {
    struct kr__list *next;
    struct kr__list *prev;
} kr__list;
#endif

/* Private. A waiter: linked on its primitive's wait list while it waits;
 * `waker` and `state` belong to whoever holds that list's lock. */
typedef struct kr__waiter {
    kr__list node;
    kr_waker waker;
    size_t state; /* primitive-specific: permits still needed, notified... */
} kr__waiter;

/* Private. The state of a future acquiring `n` permits of a semaphore
 * (shared by the semaphore, mutex, rwlock and once-cell futures). */
typedef struct kr__acquire {
    kr__waiter w;
    size_t n;
    int phase; /* 0 not started, 1 queued, 2 done */
} kr__acquire;

/* Private. Initializers for the two, as kr__waiter_init and
 * kr__acquire_init (src/util/wait_list.h, src/sync/sem.h) leave them: for
 * the futures' inline constructors, which return them by value. The
 * constructors are inline because a future returned by an out-of-line call
 * comes back through memory and is read back at once, a store-forwarding
 * stall (rwlock/uncontended_read: 1.00 of Tokio's time with the call, 0.55
 * inline). */
#define KR__WAITER_INIT                                                        \
    { {NULL, NULL}, {NULL, NULL}, 0 }
#define KR__ACQUIRE_INIT(n_)                                                   \
    { KR__WAITER_INIT, (n_), 0 }

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_WAITER_H */
