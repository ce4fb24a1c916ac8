/*
 * sched/mt.h: the multi-thread runtime's state, and nothing else: the
 * structures that multi_thread.c (the runtime's operations), worker.c (the
 * worker loop), idle.c (searching and parking) and monitor.c (the monitor
 * thread) share. Each file's functions are declared in its own header
 * (worker.h, idle.h, monitor.h); the protocols live in the files that
 * implement them: the inject queue in mt_inject.h, the lists of live tasks
 * in owned.h, block_on in block_on.h, idle accounting in idle.c.
 * Calls go one way: multi_thread.c -> worker.c -> idle.c, and each of them
 * to the units below.
 */
#ifndef KR_SCHED_MT_H
#define KR_SCHED_MT_H

#include <pthread.h>

#include "core/context.h"
#include "core/driver.h"
#include "core/park.h"
#include "core/runtime.h"
#include "sched/local_queue.h"
#include "sched/mt_inject.h"
#include "sched/owned.h"
#include "sched/stats.h"
#include "task/cache.h"
#include "task/cache_pool.h"
#include "util/list.h"
#include "util/spinlock.h"

typedef struct mt_rt mt_rt;

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
    int in_park; /* in park_loop: wakes from the driver do not notify */
    unsigned lifo_polls;
    kr__cache *cache;
    /* The driver this worker turns and parks in alone (core/driver.h:
     * per_worker, io_uring's ring per worker), or NULL: it shares the
     * runtime's, under driver_busy. */
    kr__driver *drv;
    pthread_t thread; /* the thread it started on (block_in_place.c) */
    kr__timers wheel; /* timers first polled on this worker */
    /* Yielded tasks, waiting for the next look at I/O (worker.c). Not
     * stealable: released into the queue within a maintenance interval. */
    kr__task *defer_head, *defer_tail;

    /* Counters and histograms (sched/stats.h): single writer, relaxed;
     * stats.polls is the monitor's sign of progress too. */
    kr__wstats stats;
    _Atomic uint64_t n_completed; /* completions on this worker (owner) */

    /* block_in_place (block_in_place.c): 1 while the worker is offered to
     * a new thread; whoever turns it back to 0 owns the worker. */
    _Atomic int handoff KR__ALIGNED_CL;
} mt_worker;

/* A thread started by block_in_place to take a worker over, on
 * mt_rt.threads until mt_shutdown joins it. */
typedef struct mt_thread {
    pthread_t th;
    struct mt_thread *next;
} mt_thread;

struct mt_rt {
    struct kr_runtime base;
    kr__sched sched;
    unsigned n;
    mt_worker **workers;
    kr__owned_set owned; /* the live tasks: one list per worker */

    /* Remote spawns and wakes (protocol in mt_inject.h). `closed` is set
     * first at shutdown: new spawns are refused. */
    kr__mt_inject inject;
    _Atomic int closed KR__ALIGNED_CL;

    /* Idle accounting (idle.c). */
    _Atomic uint32_t idle KR__ALIGNED_CL; /* searching | unparked << 16 */
    pthread_mutex_t idle_lock;
    unsigned *sleepers;
    unsigned n_sleepers;

    _Atomic int shutdown;
    _Atomic int drained;
    /* The I/O driver's try-lock: the worker holding it may turn the reactor
     * (parked in it, or a non-blocking look during maintenance). Unused
     * where each worker has a driver of its own (mt_worker.drv). */
    _Atomic int driver_busy KR__ALIGNED_CL;
    pthread_mutex_t shutdown_lock;

    /* Caches for remote spawners (task/cache_pool.h). */
    kr__cache_pool pool;
    /* block_on: its cache (one block_on at a time may own it). */
    kr__cache *bo_cache;
    _Atomic int bo_cache_busy;
    pthread_mutex_t signals_lock;
    kr__list signals; /* the running block_on calls' signals (multi_thread.c) */
    /* One block_on signal kept for the next block_on, so that a short
     * block_on neither allocates one nor initialises its timer wheel
     * (which a finished block_on leaves empty). Taken and given back with
     * an exchange; freed by mt_free. */
    _Atomic(struct mt_signal *) spare_signal;

    int lifo_steal; /* stealers may take a busy worker's LIFO task */
    /* Observability, fixed at creation (sched/stats.h): which spawns get
     * a tracking record (kr__cfg_track_every; tracked tasks' wakes are
     * stamped). */
    unsigned track_every;
    int lifo_off; /* no LIFO slot at all (KR_DISABLE_LIFO=1, tests) */
    /* A parking worker yields its CPU once and looks again before it
     * blocks (worker.c, park_loop); KR_PARK_YIELD=0 turns it off. */
    int park_yield;

    /* Threads block_in_place started (block_in_place.c). */
    pthread_mutex_t threads_lock;
    mt_thread *threads;

    /* The monitor thread (monitor.c). */
    pthread_t monitor;
    kr__parker monitor_park;
    /* Monitor-private, one a worker: its polls at the last look, and how
     * long (ns) they have stood still. */
    struct mt_seen {
        uint64_t polls;
        int64_t still_ns;
    } * monitor_seen;
    int monitor_started;
    _Atomic long refs; /* memory lifetime, as in current_thread.c */
    /* Counters of work arriving from outside the workers: RMWs, on paths
     * that already take one (the inject queue's push). */
    _Atomic uint64_t n_remote;
    _Atomic uint64_t n_remote_schedules;
    /* Completions off the workers (a shutdown's cancellations). */
    _Atomic uint64_t n_completed KR__ALIGNED_CL;
};

#endif
