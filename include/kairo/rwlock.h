/*
 * kairo/rwlock.h: an async reader-writer lock (Tokio's RwLock): many
 * readers or one writer, futures that wait without blocking the thread,
 * guards that may be held across awaits and released from any thread.
 *
 * Write-preferring by FIFO order, as Tokio's: it is a semaphore of
 * max_readers permits (sync/sem.h); a read takes one, a write takes them
 * all, and requests are served strictly in the order they first waited, so
 * a queued writer holds back every later reader and is never starved. The
 * lock may carry the data it protects (data_size bytes, zeroed, 16-byte
 * aligned), reached through the guard. A read guard must only read it.
 *
 * What a dropped read or write future loses: only its place in the queue.
 * Whatever had been assigned to it (for a write, the read permits it had
 * gathered so far; or the whole lock if it was woken and not polled again)
 * passes to the next waiters.
 *
 * Threads: every call from any thread; the futures from tasks of either
 * runtime, block_on, or by hand. An rwlock has no close.
 */
#ifndef KAIRO_RWLOCK_H
#define KAIRO_RWLOCK_H

#include <stdint.h>

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_rwlock kr_rwlock;

/* Tokio's MAX_READS: the default (and largest) number of readers. */
#define KR_RWLOCK_MAX_READS (UINT32_MAX >> 3)

/* Proof of holding the lock to read (permits_ 1) or write (permits_ all).
 * An empty guard has lock == NULL. */
typedef struct kr_rwlock_guard {
    kr_rwlock *lock;
    void *data;
    size_t permits_;
} kr_rwlock_guard;

/* Makes an unlocked rwlock carrying data_size zeroed bytes, for up to
 * KR_RWLOCK_MAX_READS readers at once. Returns 0, KR_EINVAL (NULL out,
 * data_size over 1 MiB) or KR_ENOMEM. */
KR_API int kr_rwlock_new(size_t data_size, kr_rwlock **out);
/* The same with at most max_readers readers at once. KR_EINVAL also for
 * max_readers 0 or over KR_RWLOCK_MAX_READS (Tokio panics there). */
KR_API int kr_rwlock_new_with_max_readers(size_t data_size,
                                          uint32_t max_readers,
                                          kr_rwlock **out);

/* Frees it. Requires: no future is queued on it (the debug build aborts
 * naming kr_rwlock otherwise). NULL is ignored. */
KR_API void kr_rwlock_free(kr_rwlock *rw);

/* Take the lock now if possible (and nobody is queued first). Return 0,
 * KR_EBUSY, or KR_EINVAL (NULL argument). */
KR_API int kr_rwlock_try_read(kr_rwlock *rw, kr_rwlock_guard *out);
KR_API int kr_rwlock_try_write(kr_rwlock *rw, kr_rwlock_guard *out);

/* Releases a read or write guard and empties it. NULL or an empty guard is
 * ignored. Any thread. */
KR_API void kr_rwlock_unlock(kr_rwlock_guard *g);

/* Turns a write guard into a read guard without letting a writer in
 * between (Tokio's downgrade); queued readers may then enter. Returns 0 or
 * KR_EINVAL (not a write guard). */
KR_API int kr_rwlock_downgrade(kr_rwlock_guard *g);

/* Futures taking the lock to read or write. Output: a kr_rwlock_guard
 * (empty only for a NULL lock). Spend coop budget. The lock must outlive
 * them. */
typedef struct kr_rwlock_acquire {
    kr_future base;
    kr_rwlock *lock_;
    kr__acquire a_;
} kr_rwlock_acquire;
/* Inline, as every future's constructor (kairo/waiter.h says why). A
 * write future takes the lock's reader limit, its permit count, at its
 * first poll: the header cannot read it. */
KR_API extern const kr_future_vtable kr__rwlock_read_vtable;
KR_API extern const kr_future_vtable kr__rwlock_write_vtable;
static inline kr_rwlock_acquire kr_rwlock_read_future(kr_rwlock *rw) {
    kr_rwlock_acquire a = {{&kr__rwlock_read_vtable}, rw, KR__ACQUIRE_INIT(1)};
    return a;
}
static inline kr_rwlock_acquire kr_rwlock_write_future(kr_rwlock *rw) {
    kr_rwlock_acquire a = {{&kr__rwlock_write_vtable}, rw, KR__ACQUIRE_INIT(0)};
    return a;
}

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_RWLOCK_H */
