/*
 * sched/ct.h: the current-thread runtime's state, shared by
 * current_thread.c (the core, the task hooks, block_on, shutdown, metrics)
 * and ct_spawn.c (the spawn paths), with the small helpers both use
 * inline. The protocols (the core's hand-over, the gate, the refs) are
 * described at the top of current_thread.c.
 */
#ifndef KR_SCHED_CT_H
#define KR_SCHED_CT_H

#include <pthread.h>

#include "core/context.h"
#include "core/driver.h"
#include "core/park.h"
#include "core/runtime.h"
#include "core/vclock.h"
#include "sched/block_on.h"
#include "sched/inject.h"
#include "sched/owned.h"
#include "sched/stats.h"
#include "sched/watchdog.h"
#include "task/cache.h"
#include "task/cache_pool.h"
#include "util/list.h"

/* `gate`: bit 0 is CLOSED, the rest counts remote pushers in flight. */
#define KR__CT_GATE_CLOSED 1u
#define KR__CT_GATE_ONE    2u

typedef struct ct_rt {
    struct kr_runtime base;
    kr__sched sched;

    /* Core: owned by the holder of `busy`. */
    kr__task *q_head, *q_tail;
    kr__task *y_head, *y_tail; /* yielded: run after the next I/O look */
    kr__owned owned;           /* the live tasks */
    kr__cache *cache;
    kr__cache_pool pool;   /* caches for remote spawners (task/cache_pool.h) */
    kr__timers wheel;      /* timers of this runtime (core/driver.h) */
    kr__vclock clock;      /* its clock, pausable (core/vclock.h) */
    uint32_t gq_countdown; /* ticks until the inject queue goes first */
    uint32_t gqi;
    uint32_t evi;      /* event_interval: task polls per batch */
    uint32_t since_io; /* task polls since I/O was last looked at */
    int drained;
    /* Observability, fixed at creation (sched/stats.h): which spawns get
     * a tracking record (kr__cfg_track_every: 0 none, 1 all, N one in N;
     * tracked tasks' wakes are stamped). Read by any thread (spawns). */
    unsigned track_every;
    /* An on_task_spawn hook: a local spawn takes the observed path
     * (ct_spawn.c); one test on the common path. (A tracked spawn goes
     * there from the slow path that made its cell.) */
    int spawn_observed;

    /* Shared. */
    kr__inject inject;
    _Atomic uint64_t gate KR__ALIGNED_CL;
    kr__bo_signal signal; /* the block_on future's waker's */
    _Atomic int busy;
    _Atomic long refs;
    kr__parker park;
    /* block_on calls waiting for the core (current_thread.c). */
    _Atomic unsigned n_waiters;
    pthread_mutex_t waiters_lock;
    kr__list waiters;

    /* Metrics: single-writer counters (the core holder) read by anyone, so
     * relaxed loads and stores (sched/stats.h); the remote ones are RMWs,
     * on the remote paths that take one anyway. */
    kr__wstats stats;
    _Atomic uint64_t n_completed, n_queued, n_remote, n_remote_schedules;
    /* Blocked-worker reports (blocked_worker_ns): the thread that watches
     * stats' poll-in-progress record (sched/watchdog.h). */
    kr__watchdog watchdog;
} ct_rt;

static inline void kr__ct_bump(_Atomic uint64_t *c) {
    /* Single writer (the core holder): relaxed load+store suffices. */
    kr__store_relaxed(c, kr__load_relaxed(c) + 1);
}

static inline void kr__ct_local_push(ct_rt *ct, kr__task *t) {
    kr__ct_bump(&ct->n_queued);
    /* Relaxed: `next` is core-private while the task is in this queue. */
    kr__store_relaxed(&t->next, NULL);
    if (ct->q_tail != NULL)
        kr__store_relaxed(&ct->q_tail->next, t);
    else
        ct->q_head = t;
    ct->q_tail = t;
}

/* Puts a task on the list of live tasks. Its `owner` (KR__NO_OWNER from
 * kr__task_new) becomes 0 for good: the shutdown drain tells a task it
 * took off the list from a remote spawn that never reached the list. */
static inline void kr__ct_bind(ct_rt *ct, kr__task *t) {
    kr__owned_bind(&ct->owned, 0, t);
}

static inline bool kr__ct_gate_enter(ct_rt *ct) {
    if (kr__fetch_add_acqrel(&ct->gate, KR__CT_GATE_ONE) & KR__CT_GATE_CLOSED) {
        kr__fetch_sub_release(&ct->gate, KR__CT_GATE_ONE);
        return false;
    }
    return true;
}

static inline void kr__ct_gate_exit(ct_rt *ct) {
    /* Release pairs with the closer's acquire wait: our push is visible
     * to its drain. */
    kr__fetch_sub_release(&ct->gate, KR__CT_GATE_ONE);
}

static inline bool kr__ct_is_closed(ct_rt *ct) {
    return (kr__load_seqcst(&ct->gate) & KR__CT_GATE_CLOSED) != 0;
}

/* kr__rt_ops.spawn (ct_spawn.c). */
int kr__ct_spawn(kr_runtime *rt, const kr_future *f, kr_join_handle *jh,
                 bool local);

#endif
