/*
 * sched/mt.h: the multi-thread runtime's structures, shared by
 * multi_thread.c (runtime ops), worker.c (the worker loop) and idle.c
 * (searching and parking accounting).
 */
#ifndef KR_SCHED_MT_H
#define KR_SCHED_MT_H

#include <pthread.h>

#include "sched/sched.h"
#include "core/context.h"
#include "core/driver.h"
#include "sched/local_queue.h"
#include "sched/inject.h"
#include "core/park.h"
#include "task/cache.h"
#include "task/cache_pool.h"
#include "util/list.h"
#include "util/spinlock.h"

/* Tokio's constants (reference/tokio.md §2): */
#define KR__MT_MAX_LIFO_POLLS 3 /* LIFO polls in a row before a real tick */

typedef struct mt_rt mt_rt;

/* A list of live tasks with its own lock (one per worker; a task goes on
 * the list of the worker that spawned or first ran it). */
typedef struct mt_owned {
    kr__spinlock lock;
    kr__task head; /* sentinel */
    uint64_t count;
} KR__ALIGNED_CL mt_owned;

typedef struct mt_worker {
    /* Stealable state first: read by other workers. */
    kr__lq queue;
    _Atomic(kr__task *) lifo KR__ALIGNED_CL;
    kr__parker park;
    _Atomic int in_sleepers; /* written under idle lock, read anywhere */

    /* Owner-only. */
    mt_rt *rt KR__ALIGNED_CL;
    unsigned index;
    uint32_t gq_countdown;    /* ticks until the inject queue goes first */
    uint32_t maint_countdown; /* ticks until timers are looked at */
    uint32_t rand;
    int is_searching;
    int lifo_enabled;
    unsigned lifo_polls;
    kr__cache *cache;
    pthread_t thread;
    kr__timers wheel; /* timers first polled on this worker */
    /* Yielded tasks, waiting for the next look at I/O (worker.c). Not
     * stealable: released into the queue within a maintenance interval. */
    kr__task *defer_head, *defer_tail;

    /* Counters: single writer, relaxed (metrics). */
    _Atomic uint64_t n_polls, n_spawned, n_steals;
} mt_worker;

/* The block_on waker's target: one per block_on call, refcounted because a
 * clone of the waker may outlive the call. */
typedef struct mt_signal {
    _Atomic long refs;
    _Atomic int woken;
    kr__parker park;
    kr__timers wheel; /* timers first polled by this block_on's future */
    kr__list link;    /* on rt->signals, under signals_lock */
} mt_signal;

struct mt_rt {
    struct kr_runtime base;
    kr__sched sched;
    unsigned n;
    mt_worker **workers;
    mt_owned *owned; /* n lists */

    /* Global injection queue: lock-free pushes, consumers serialised by
     * inject_lock. Shutdown protocol (see kr__mt_push_remote):
     *   closed         set first: new spawns are refused (a hint: a spawn
     *                  that misses it is still handled below);
     *   inject_closed  set under inject_lock before the final drain. A
     *                  pusher pushes (seq_cst swap), then loads it
     *                  (seq_cst); if set, it takes inject_lock and drains
     *                  what is there itself. In the single order of seq_cst
     *                  operations either its push precedes the store, and
     *                  so the drain that follows it under the lock, or its
     *                  load sees the flag: no task is left in the queue. */
    kr__inject inject;
    kr__spinlock inject_lock;
    _Atomic int closed KR__ALIGNED_CL;
    _Atomic int inject_closed;

    /* Idle accounting (idle.c). */
    _Atomic uint32_t idle KR__ALIGNED_CL; /* searching | unparked << 16 */
    pthread_mutex_t idle_lock;
    unsigned *sleepers;
    unsigned n_sleepers;

    _Atomic int shutdown;
    _Atomic int drained;
    /* The I/O driver's try-lock: the worker holding it may turn the reactor
     * (parked in it, or a non-blocking look during maintenance). */
    _Atomic int driver_busy KR__ALIGNED_CL;
    pthread_mutex_t shutdown_lock;

    /* Caches for remote spawners (task/cache_pool.h). */
    kr__cache_pool pool;
    /* block_on: its cache (one block_on at a time may own it). */
    kr__cache *bo_cache;
    _Atomic int bo_cache_busy;
    pthread_mutex_t signals_lock;
    kr__list signals; /* the running block_on calls' mt_signal.link */
    /* One block_on signal kept for the next block_on, so that a short
     * block_on neither allocates one nor initialises its timer wheel
     * (which a finished block_on leaves empty). Taken and given back with
     * an exchange; freed by mt_free. */
    _Atomic(mt_signal *) spare_signal;

    int lifo_steal; /* stealers may take a busy worker's LIFO task */
    int lifo_off;   /* no LIFO slot at all (KR_DISABLE_LIFO=1, tests) */

    /* The monitor thread (monitor.c). */
    pthread_t monitor;
    kr__parker monitor_park;
    uint64_t *monitor_last; /* monitor-private: n_polls at the last look */
    int monitor_started;
    _Atomic long refs; /* memory lifetime, as in current_thread.c */
    _Atomic uint64_t n_remote, n_completed_remote;
    _Atomic uint64_t n_completed KR__ALIGNED_CL;
};

#define MT_OF_SCHED(s) ((mt_rt *)((char *)(s)-offsetof(mt_rt, sched)))

/* multi_thread.c */
void kr__mt_unref(mt_rt *rt);
void kr__mt_bind(mt_rt *rt, unsigned list, kr__task *t);
bool kr__mt_drain_inject(mt_rt *rt);

/* worker.c */
void *kr__mt_worker_main(void *arg);
void kr__mt_schedule_local(mt_worker *w, kr__task *t, bool is_yield);
void kr__mt_push_remote(mt_rt *rt, kr__task *first, kr__task *last);
void kr__mt_drain_begin(mt_rt *rt);
void kr__mt_drain_end(void);
static inline mt_worker *kr__mt_current(mt_rt *rt) {
#ifdef KR_TORTURE
    (void)rt;
    return NULL; /* every wake takes the remote path */
#else
    return kr__ctx.rt == &rt->base ? (mt_worker *)kr__ctx.worker : NULL;
#endif
}

/* monitor.c */
void *kr__mt_monitor_main(void *arg);

/* idle.c */
void kr__mt_idle_init(mt_rt *rt);
bool kr__mt_to_searching(mt_worker *w);
void kr__mt_from_searching(mt_worker *w);
void kr__mt_notify_parked(mt_rt *rt);
bool kr__mt_to_parked(mt_worker *w);
bool kr__mt_still_sleeping(mt_worker *w);
void kr__mt_unpark_self(mt_worker *w);
void kr__mt_notify_if_work_pending(mt_rt *rt);
void kr__mt_unpark_all(mt_rt *rt);

#endif
