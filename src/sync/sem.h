/*
 * sync/sem.h: the batch semaphore every permit-based primitive embeds (the
 * public kr_semaphore, kr_mutex, kr_rwlock, kr_once_cell, bounded channels).
 * Tokio's batch_semaphore with a WAITERS bit, so that an uncontended
 * acquire and an uncontended release are each one CAS and never lock.
 *
 * Protocol. `state` = permits << 2 | WAITERS | CLOSED.
 *   - Every change of `state` is one CAS (or fetch_or) on the whole word, so
 *     permits, WAITERS and CLOSED change together, linearisably.
 *   - WAITERS is set and cleared only under the wait list's lock.
 *     Invariants: WAITERS clear => the list is empty; WAITERS set => no
 *     permits are available (every released permit went to the waiters).
 *     The list may be empty with WAITERS set for a moment (a waiter was
 *     dropped); the next release under the lock clears it.
 *   - acquire fast path: CAS permits down when WAITERS and CLOSED are clear
 *     and enough permits are there. Slow path, under the lock: take what is
 *     there (partial assignment, Tokio's), set WAITERS, link the waiter at the
 *     back with `state` = permits still needed. Strict FIFO: a newcomer never
 *     takes permits while someone older waits, so a large request is not
 *     starved by small ones.
 *   - release fast path: CAS permits up while WAITERS is clear. Slow path,
 *     under the lock: assign to the front waiter(s) in order; a waiter whose
 *     need reaches 0 is unlinked and its waker woken after the lock; what is
 *     left when the list empties goes to `state`, clearing WAITERS.
 *   - close: under the lock, set CLOSED, clear WAITERS, unlink every waiter
 *     (its `state` stays > 0: that is how its poll tells "closed" from
 *     "granted") and wake them all.
 *   - A dropped waiter gives back what it was assigned: n - state (all n if
 *     it was granted and never polled again), via release.
 * Acquire/release orders: the CAS are acq_rel, so a release happens-before
 * the acquire that takes its permits (what a mutex guard needs); the lock
 * orders the slow paths.
 */
#ifndef KR_SYNC_SEM_H
#define KR_SYNC_SEM_H

#include <stdint.h>

#include "kairo.h"
#include "util/wait_list.h"

#define KR__SEM_CLOSED      ((size_t)1)
#define KR__SEM_WAITERS     ((size_t)2)
#define KR__SEM_SHIFT       2
#define KR__SEM_MAX_PERMITS (SIZE_MAX >> 3) /* Tokio's MAX_PERMITS */

typedef struct kr__sem {
    _Atomic size_t state;
    kr__wait_list wl;
} kr__sem;

/* Requires: permits <= KR__SEM_MAX_PERMITS. */
void kr__sem_init(kr__sem *s, size_t permits);
/* Requires (debug): no waiter. `what` names the primitive. */
void kr__sem_destroy(kr__sem *s, const char *what);

/* 0, KR_EAGAIN (not enough permits now, or older waiters queued), or
 * KR_ECLOSED. Requires: n <= KR__SEM_MAX_PERMITS. */
int kr__sem_try_acquire(kr__sem *s, size_t n);
/* Returns permits (to the waiters first). 0 or KR_EINVAL if the total would
 * exceed KR__SEM_MAX_PERMITS (nothing is added then). */
int kr__sem_release(kr__sem *s, size_t n);
void kr__sem_close(kr__sem *s);
size_t kr__sem_available(const kr__sem *s);
bool kr__sem_is_closed(const kr__sem *s);
/* Removes up to n available permits; returns how many. */
size_t kr__sem_forget(kr__sem *s, size_t n);

/* The acquire state machine of every semaphore-based future. */
static inline void kr__acquire_init(kr__acquire *a, size_t n) {
    kr__waiter_init(&a->w);
    a->n = n;
    a->phase = 0;
}
/* READY with *rc = 0 (the n permits are the caller's) or KR_ECLOSED; or
 * PENDING with the waker registered. Spends one unit of coop budget per
 * poll that completes, as Tokio's Acquire does. */
kr_poll kr__acquire_poll(kr__sem *s, kr__acquire *a, kr_context *cx, int *rc);
/* The future's drop: unlinks, gives back whatever it was assigned. */
void kr__acquire_drop(kr__sem *s, kr__acquire *a);

#endif /* KR_SYNC_SEM_H */
