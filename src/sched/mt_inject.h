/*
 * sched/mt_inject.h: the multi-thread runtime's inject queue: where remote
 * spawns, wakes from outside the workers and a worker's overflow go, and
 * how a shutdown empties it without losing a task.
 *
 * Protocol:
 *   - Pushes are lock-free (sched/inject.h, any thread). Consumers - the
 *     workers taking a batch, the shutdown drain, a dump walking it - are
 *     serialised by `lock`; a worker that finds it taken leaves the queue
 *     to the holder rather than wait (kr__mt_inject_pop_batch).
 *   - A remote spawn reaches a list of live tasks (sched/owned.h) when a
 *     worker pops it: bound under `lock`, so that while a dump holds it
 *     every live task is either on a list or, not yet bound (owner
 *     KR__NO_OWNER), in the queue, and none moves from one to the other.
 *   - Shutdown. The runtime refuses new spawns first (its own `closed`, a
 *     hint: a spawn that misses it is still handled here), stops the
 *     workers, then closes the queue (kr__mt_inject_close): `closed` is
 *     set under `lock`, before the final drain. A pusher pushes (seq_cst
 *     swap), then loads `closed` (seq_cst); if set, it takes `lock` and
 *     drains what is there itself. In the single order of seq_cst
 *     operations either its push precedes the store, and so the drain that
 *     follows it under the lock, or its load sees the flag: no task is
 *     left in the queue. The thread running the final drain is marked, so
 *     that a future's drop waking another task does not drain
 *     recursively (it would take `lock` twice).
 */
#ifndef KR_SCHED_MT_INJECT_H
#define KR_SCHED_MT_INJECT_H

#include "sched/inject.h"
#include "sched/local_queue.h"
#include "sched/owned.h"
#include "util/spinlock.h"

typedef struct kr__mt_inject {
    kr__inject q;
    kr__spinlock lock; /* the consumers' */
    _Atomic int closed;
} kr__mt_inject;

void kr__mt_inject_init(kr__mt_inject *in);

/* Any thread: queues the chain first..last (linked through next), each
 * with its NOTIFIED reference. Returns true if the caller should notify a
 * parked worker; false if the queue is closed (the tasks were dropped:
 * cancelled if they never ran). */
bool kr__mt_inject_push(kr__mt_inject *in, kr__task *first, kr__task *last);

/* Any thread: false only if the queue looked empty (seq_cst, for the idle
 * protocol: sched/idle.c). */
static inline bool kr__mt_inject_maybe_nonempty(kr__mt_inject *in) {
    return kr__inject_maybe_nonempty(&in->q);
}

/* A worker (number `worker`): pops one task and moves up to `max` more
 * into `into`, binding each remote spawn among them to the worker's list
 * of `owned`; *taken is how many it popped in all (for the depth metric:
 * `into`'s length cannot tell, stealers take from it meanwhile). NULL if
 * the queue is empty or another consumer holds it.
 * Requires: `into` has room for `max` more. */
kr__task *kr__mt_inject_pop_batch(kr__mt_inject *in, kr__owned_set *owned,
                                  unsigned worker, kr__lq *into, uint32_t max,
                                  uint32_t *taken);

/* Shutdown, every worker stopped: takes `lock`, sets `closed` and marks
 * this thread as the drainer; kr__mt_inject_drain empties the queue (any
 * number of times: a drop may wake a task into it);
 * kr__mt_inject_close_end lets go. */
void kr__mt_inject_close(kr__mt_inject *in);
bool kr__mt_inject_drain(kr__mt_inject *in);
void kr__mt_inject_close_end(kr__mt_inject *in);

/* Dumps: with `lock` held (kr__mt_inject_lock), the tasks in the queue not
 * yet bound to a list; adds their number to *n. Returns 0 or KR_EIO. */
static inline void kr__mt_inject_lock(kr__mt_inject *in) {
    kr__spin_lock(&in->lock);
}
static inline void kr__mt_inject_unlock(kr__mt_inject *in) {
    kr__spin_unlock(&in->lock);
}
void kr__mt_inject_dump_unbound(kr__mt_inject *in, kr__dump *d);

#endif
