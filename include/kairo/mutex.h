/*
 * kairo/mutex.h: an async mutex (Tokio's Mutex): a lock future that waits
 * without blocking the thread, and a guard that may be held across awaits
 * and released from any thread.
 *
 * Fair: lockers get the mutex strictly in the order their lock futures were
 * first polled (it is a semaphore with one permit, sync/sem.h). The mutex
 * may carry the data it protects (data_size bytes, zeroed, 16-byte
 * aligned), reached through the guard, as Tokio's Mutex<T>.
 *
 * What a dropped lock future loses: only its place in the queue. If the
 * mutex had already been handed to it (it was woken but not polled again),
 * the mutex passes to the next waiter, or is unlocked.
 *
 * Threads: every call from any thread; the lock future from tasks of either
 * runtime, block_on, or by hand. A mutex has no close.
 */
#ifndef KAIRO_MUTEX_H
#define KAIRO_MUTEX_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_mutex kr_mutex;

/* Proof of holding the mutex. `data` is the mutex's data (NULL if it has
 * none). An empty guard has mutex == NULL. */
typedef struct kr_mutex_guard {
    kr_mutex *mutex;
    void *data;
} kr_mutex_guard;

/* Makes an unlocked mutex carrying data_size zeroed bytes (0 allowed).
 * Returns 0, KR_EINVAL (NULL out, data_size over 1 MiB) or KR_ENOMEM. */
KR_API int kr_mutex_new(size_t data_size, kr_mutex **out);

/* Frees it. Requires: no lock future is queued on it (the debug build
 * aborts naming kr_mutex otherwise). NULL is ignored. */
KR_API void kr_mutex_free(kr_mutex *m);

/* Locks it if it is free and nobody is queued. Returns 0 (*out holds it),
 * KR_EBUSY, or KR_EINVAL (NULL argument). */
KR_API int kr_mutex_try_lock(kr_mutex *m, kr_mutex_guard *out);

/* Unlocks (handing the mutex to the oldest waiter) and empties the guard.
 * NULL or an empty guard is ignored. Any thread. */
KR_API void kr_mutex_unlock(kr_mutex_guard *g);

/* The data, for a caller that knows it has exclusive access (Tokio's
 * get_mut); NULL if none. */
KR_API void *kr_mutex_data(kr_mutex *m);

/*
 * A future locking the mutex. Output: a kr_mutex_guard (empty only for a
 * NULL mutex). Spends coop budget (Tokio's does). The mutex must outlive
 * the future.
 */
typedef struct kr_mutex_lock {
    kr_future base;
    kr_mutex *mutex_;
    kr__acquire a_;
} kr_mutex_lock;
/* Inline, as every future's constructor (kairo/waiter.h says why). */
KR_API extern const kr_future_vtable kr__mutex_lock_vtable;
static inline kr_mutex_lock kr_mutex_lock_future(kr_mutex *m) {
    kr_mutex_lock l = {{&kr__mutex_lock_vtable}, m, KR__ACQUIRE_INIT(1)};
    return l;
}

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_MUTEX_H */
