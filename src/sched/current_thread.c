/*
 * sched/current_thread.c: the current-thread runtime. Every task runs on the
 * thread inside kr_runtime_block_on.
 *
 * The state is in sched/ct.h (with the helpers it shares with the spawns),
 * the spawns in ct_spawn.c; this file has the core, the task hooks,
 * block_on, shutdown and the metrics.
 *
 * The "core" (local run queue, list of live tasks, task cache, tick) belongs
 * to whichever thread holds `busy`: a block_on, or a shutdown or free run
 * while no block_on is active. It needs no synchronisation beyond the
 * acquire/release on `busy` that hands it over. The holder also holds the
 * cache pool's slot 0 when it is free (its own try-lock, taken after
 * `busy` and let go after it): the core's frees of that cache's cells are
 * then the owner's (core/context.h's held_cache).
 *
 * Other threads reach the runtime through:
 *   - the inject queue (sched/inject.h): remote spawns and remote wakes;
 *   - the block_on future's waker (sched/block_on.h), whose signal is
 *     embedded here;
 *   - the parker: every remote push or wake unparks the loop, except a
 *     remote spawn that finds nobody holding the core (ct_spawn.c's
 *     remote_wake: its RMW of `busy`, after the push, is read by the next
 *     holder's CAS, so that holder's first look at the inject queue sees
 *     the spawn);
 *   - `gate`: bit 0 is CLOSED, the rest counts remote pushers in flight
 *     (units of 2). A pusher adds 2 and backs out if CLOSED was set; a
 *     shutdown sets CLOSED and waits for the count to drain, after which no
 *     push can land in the inject queue, so draining it loses nothing. Both
 *     are RMWs on one word, so their order is total: either the pusher sees
 *     CLOSED or the closer sees the pusher.
 *   - `refs`: the memory's lifetime. One for the handle, one for each task
 *     cache (the core's and the remote spawners' pool) until destroyed, one
 *     per task cell allocated outside any cache (a remote spawn that found
 *     every pool slot busy), one per clone of the block_on waker. Whoever
 *     drops the last frees the struct.
 *
 * Live tasks: one list (sched/owned.h), the core's.
 *
 * Several block_on calls at once (from different threads) take turns, as
 * Tokio's do: the one that holds the core drives the runtime; the others
 * wait on `waiters`, each polling its own future on its own thread
 * whenever that future's waker fires (spawns from there are remote
 * spawns; sleeps go on the core's wheel, and each such poll unparks the
 * core so that it sees them), and each tries to take the core whenever it
 * is let go. A waiter whose future completes returns without ever having
 * had the core. The waiters list is locked; core_give looks at
 * `n_waiters` (seq_cst, as the waiter's increment before its core_take,
 * so either the waiter's CAS sees the core free or the giver sees the
 * waiter) and only then takes the lock.
 *
 * Scheduling order: local FIFO; the inject queue is checked first every
 * `global_queue_interval` ticks (31, Tokio's) and whenever the local queue
 * is empty. Yielded tasks wait off the queue until the next look at I/O
 * (defer_push). The block_on future is polled when woken, between batches of at
 * most KR__EVENT_INTERVAL task polls.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "sched/sched.h"
#include "core/rt_thread.h"
#include "sched/ct.h"
#include "task/state.h"
#include "util/alloc.h"

#define CT_OF_SCHED(s) ((ct_rt *)((char *)(s)-offsetof(ct_rt, sched)))

/* ---- lifetime ------------------------------------------------------- */

static void ct_unref(ct_rt *ct) {
    if (kr__fetch_sub_acqrel(&ct->refs, 1) == 1)
        kr__free_aligned(ct);
}

/* The last reference went with a clone of the block_on waker. */
static void signal_release(kr__bo_signal *s) {
    kr__free_aligned(KR__CONTAINER_OF(s, ct_rt, signal));
}

static void cache_destroyed(void *arg) { ct_unref(arg); }

/* ---- the core's queues ---------------------------------------------- */

/* Yielded tasks (kr_yield_now, an exhausted budget, any self-wake) wait
 * here, off the run queue, until the loop has looked at I/O, as Tokio
 * defers them until its driver's next poll: a task yielding in a loop
 * would otherwise run again and again before another task's readiness is
 * seen. Core-private like the run queue: a yield stays atomic-free. With
 * no I/O source registered the list is released after every batch without
 * a reactor turn: the order is the plain FIFO's, at the cost of one check
 * per batch. */
static void defer_push(ct_rt *ct, kr__task *t) {
    kr__ct_bump(&ct->n_queued);
    kr__store_relaxed(&t->next, NULL);
    if (ct->y_tail != NULL)
        kr__store_relaxed(&ct->y_tail->next, t);
    else
        ct->y_head = t;
    ct->y_tail = t;
}

/* Moves the yielded tasks to the back of the run queue, in order. */
static void defer_release(ct_rt *ct) {
    if (ct->q_tail != NULL)
        kr__store_relaxed(&ct->q_tail->next, ct->y_head);
    else
        ct->q_head = ct->y_head;
    ct->q_tail = ct->y_tail;
    ct->y_head = ct->y_tail = NULL;
}

static kr__task *local_pop(ct_rt *ct) {
    kr__task *t = ct->q_head;
    if (t != NULL) {
        kr__store_relaxed(&ct->n_queued, kr__load_relaxed(&ct->n_queued) - 1);
        ct->q_head = kr__load_relaxed(&t->next);
        if (ct->q_head == NULL)
            ct->q_tail = NULL;
    }
    return t;
}

static kr__task *inject_pop(ct_rt *ct) {
    kr__task *t = kr__inject_pop(&ct->inject);
    if (t != NULL)
        kr__stat_inc(&ct->stats.inject_pops);
    /* A remote spawn reaching the core for the first time. */
    if (t != NULL && t->owner == KR__NO_OWNER)
        kr__ct_bind(ct, t);
    return t;
}

static kr__task *next_task(ct_rt *ct) {
    kr__task *t;
    if (--ct->gq_countdown == 0) {
        ct->gq_countdown = ct->gqi;
        t = inject_pop(ct);
        return t != NULL ? t : local_pop(ct);
    }
    t = local_pop(ct);
    return t != NULL ? t : inject_pop(ct);
}

/* ---- remote entry --------------------------------------------------- */

static bool on_core(ct_rt *ct) {
#ifdef KR_TORTURE
    (void)ct;
    return false; /* every wake takes the remote path */
#else
    return kr__ctx.worker == ct;
#endif
}

/* ---- task hooks ----------------------------------------------------- */

/* ct_schedule from another thread (or from outside the core's block_on):
 * through the gate and the inject queue. Out of line, so that a wake on
 * the core is a leaf that saves no register. */
static __attribute__((noinline)) void schedule_remote(ct_rt *ct, kr__task *t) {
    if (!kr__ct_gate_enter(ct)) {
        /* Shut down: the task is (or will be) cancelled by the drain; the
         * NOTIFIED reference we were handed just goes. */
        kr__task_drop_ref(t);
        return;
    }
    kr__fetch_add_relaxed(&ct->n_remote_schedules, 1); /* a counter only */
    kr__inject_push(&ct->inject, t);
    kr__ct_gate_exit(ct);
    kr__unpark(&ct->park);
}

/* ct_schedule of a tracked task with wake stamps on: out of line, as
 * schedule_remote. */
static __attribute__((noinline)) void schedule_stamped(ct_rt *ct, kr__task *t) {
    kr__wstats_stamp(t);
    if (on_core(ct))
        kr__ct_local_push(ct, t);
    else
        schedule_remote(ct, t);
}

static void ct_schedule(kr__sched *s, kr__task *t) {
    ct_rt *ct = CT_OF_SCHED(s);
    if (__builtin_expect(kr__task_tracked(t), 0))
        schedule_stamped(ct, t);
    else if (on_core(ct))
        kr__ct_local_push(ct, t);
    else
        schedule_remote(ct, t);
}

/* ct_release with on_task_terminate set: apart, so that the common case
 * ends in a tail call with no stack frame. */
__attribute__((noinline)) static bool release_hooked(ct_rt *ct, kr__task *t) {
    kr__rt_task_hook_call(&ct->base.cfg, ct->base.cfg.on_task_terminate,
                          kr__task_id(t));
    return kr__owned_release(t);
}

static bool ct_release(kr__sched *s, kr__task *t) {
    ct_rt *ct = CT_OF_SCHED(s);
    kr__ct_bump(&ct->n_completed);
    if (__builtin_expect(ct->base.cfg.on_task_terminate != NULL, 0))
        return release_hooked(ct, t);
    return kr__owned_release(t);
}

static void ct_unpin(kr__sched *s) { ct_unref(CT_OF_SCHED(s)); }

static const kr__sched_ops ct_sched_ops = {ct_schedule, ct_release, ct_unpin};

/* ---- core hand-over --------------------------------------------------- */

/* With the core: the pool's first slot too, when free (task/cache_pool.h),
 * named in the context. Out of line, as let_go_first_slot: core_take and
 * core_give stay small where block_on inlines them. */
static __attribute__((noinline)) void hold_first_slot(ct_rt *ct) {
    kr__cache_pool_slot *first = kr__cache_pool_take_first(&ct->pool);
    kr__ctx.held_cache = first != NULL ? first->cache : NULL;
}

static __attribute__((noinline)) void let_go_first_slot(ct_rt *ct) {
    kr__cache_pool_give(&ct->pool.slot[0]);
}

static bool core_take(ct_rt *ct, kr__ctx_t *saved) {
    int expected = 0;
    /* Acquire pairs with core_give's release: the core is as left; and
     * with a remote spawn's RMW of `busy` (ct_spawn.c's remote_wake): a
     * spawn that saw the core free and did not unpark is then seen by
     * our first look at the inject queue. */
    if (!kr__cas_seqcst(&ct->busy, &expected, 1))
        return false;
    *saved = kr__ctx;
    kr__ctx.rt = &ct->base;
    kr__ctx.cache = ct->cache;
    kr__ctx.worker = ct;
    kr__ctx.wheel = &ct->wheel;
    kr__ctx.clock = &ct->clock;
    kr__ctx.budget = KR__BUDGET_UNLIMITED;
    hold_first_slot(ct);
    return true;
}

static void wake_waiters(ct_rt *ct);

static void core_give(ct_rt *ct, const kr__ctx_t *saved) {
    bool held = kr__ctx.held_cache != NULL; /* core_take set it */
    kr__ctx = *saved;
    /* Released after the context stopped naming its cache: no free here
     * takes it for ours once the next holder may own it. */
    if (held)
        let_go_first_slot(ct);
    /* Seq_cst: ordered against the shutdown's store of CLOSED (see
     * try_drain), and against a waiter's increment of n_waiters (see the
     * file top). */
    kr__store_seqcst(&ct->busy, 0);
    if (kr__load_seqcst(&ct->n_waiters) != 0)
        wake_waiters(ct);
}

/* With the core: cancels every task and empties every queue. */
static void drain(ct_rt *ct) {
    /* Wait out remote pushers that got through the gate before CLOSED. */
    while (kr__load_acquire(&ct->gate) >= KR__CT_GATE_ONE)
        sched_yield();
    for (;;) {
        bool any = false;
        kr__task *t;
        if (kr__owned_shutdown_all(&ct->owned))
            any = true;
        if (ct->y_head != NULL)
            defer_release(ct);
        while ((t = local_pop(ct)) != NULL) {
            kr__task_drop_queued(t); /* NOTIFIED reference (or held) */
            any = true;
        }
        while ((t = kr__inject_pop(&ct->inject)) != NULL) {
            if (t->owner == KR__NO_OWNER) {
                /* A remote spawn that never reached the list: its OWNED
                 * reference is ours. (Being off the list cannot tell: the
                 * loop above took off the tasks it shut down, and a task
                 * woken from another thread may wait here all the same.) */
                kr__task_shutdown(t);
            }
            kr__task_drop_queued(t); /* NOTIFIED reference (or held) */
            any = true;
        }
        if (!any)
            break;
    }
    /* Sleeps outside tasks: nothing left. */
    ct->base.driver->ops->timers_clear(&ct->wheel);
    ct->drained = 1;
}

/* Drains if the runtime is closed and nobody has. If another thread holds
 * the core it will drain when it lets go (it re-checks after release). */
static void try_drain(ct_rt *ct) {
    kr__ctx_t saved;
    while (kr__ct_is_closed(ct) && core_take(ct, &saved)) {
        if (!ct->drained)
            drain(ct);
        core_give(ct, &saved);
        return;
    }
}

/* ---- runtime ops ---------------------------------------------------- */

/* block_on's hooks (sched/block_on.h). */
static bool bo_closed(void *arg) { return kr__ct_is_closed(arg); }

/* Between polls of the block_on future: a batch of at most
 * event_interval (KR__EVENT_INTERVAL) task polls, the timers, and the yielded tasks after a
 * look at I/O. Returns 0 while busy, else how long to park. */
static int64_t bo_work(void *arg) {
    ct_rt *ct = arg;
    kr__driver *drv = ct->base.driver;
    int n;
    uint32_t budget = ct->base.cfg.budget;
    uint32_t evi = ct->evi;
    for (n = 0; n < (int)evi; n++) {
        kr__task *t = next_task(ct);
        if (t == NULL)
            break;
        kr__ctx.budget = budget;
        if (kr__wstats_run_pinned(&ct->stats, t, ct)) {
            if (kr__ctx.budget == 0) /* the budget forced it */
                kr__ct_bump(&ct->stats.budget_yields);
            kr__wstats_stamp_if(t);
            defer_push(ct, t); /* a yield */
        }
    }
    kr__ctx.budget = KR__BUDGET_UNLIMITED;
    kr__wstats_chain_break(&ct->stats); /* the block_on future, timers */
    /* Timers: an empty wheel costs no clock read. */
    int64_t timeout_ns = drv->ops->timers_fire(&ct->wheel);
    /* Yielded tasks run again only after a look at I/O (without
     * blocking, when anything is registered): at most a batch later,
     * at once when they are all there is. */
    if (ct->y_head != NULL) {
        if (drv->ops->has_sources(drv)) {
            drv->ops->turn(drv, 0);
            ct->since_io = 0;
        }
        defer_release(ct);
    }
    if (n == (int)evi || ct->q_head != NULL ||
        !kr__inject_is_empty(&ct->inject) || timeout_ns == 0) {
        /* Busy: still look at I/O every event_interval polls, without
         * blocking, when anything is registered. */
        ct->since_io += (uint32_t)n + 1;
        if (ct->since_io >= evi && drv->ops->has_sources(drv)) {
            ct->since_io = 0;
            drv->ops->turn(drv, 0);
        }
        return 0;
    }
    return timeout_ns;
}

/* Nothing to do: sleep in the driver until I/O, a wake, a remote push, a
 * shutdown or the next timer. Relaxed peeks in bo_work; the park's acquire
 * is the synchronisation. */
static void bo_park(void *arg, int64_t timeout_ns) {
    ct_rt *ct = arg;
    ct->since_io = 0;
    const kr_runtime_config *cfg = &ct->base.cfg;
    if (__builtin_expect(cfg->on_thread_park != NULL, 0)) {
        kr__rt_before_park(cfg);
        /* The hook may have made work (Tokio's before_park_yields): a task
         * or the block_on future woken from this thread sets no unpark,
         * so look before sleeping. */
        if (ct->q_head != NULL || ct->y_head != NULL ||
            !kr__inject_is_empty(&ct->inject) ||
            kr__load_relaxed(&ct->signal.woken)) {
            kr__rt_after_unpark(cfg);
            return;
        }
    }
    if (timeout_ns > 0 && ct->clock.frozen) {
        /* Paused clock, a timer registered (timeout_ns is its distance on
         * the paused clock, from the last whole ms): auto-advance, as
         * Tokio's time driver does. First a look at I/O that does not
         * block (it also consumes a pending unpark); if nothing became
         * runnable, jump to the timer's tick, which the next bo_work
         * fires. The real clock is never waited on, so this cannot spin
         * on a timeout computed from a clock that stands still. The
         * peeks are the core's own fields, plus the inject queue and the
         * block_on signal, whose pushers unpark us after pushing (so a
         * push missed here wakes the next park). */
        kr__park_driver(&ct->park, ct->base.driver, 0);
        if (ct->q_head == NULL && ct->y_head == NULL &&
            kr__inject_is_empty(&ct->inject) &&
            !kr__load_relaxed(&ct->signal.woken)) {
            uint64_t now = kr__vclock_now(&ct->clock);
            uint64_t tick = now - now % 1000000 + (uint64_t)timeout_ns;
            kr__vclock_advance_to(&ct->clock, tick);
        }
        kr__rt_after_unpark(cfg);
        return;
    }
    kr__wstats_park(&ct->stats);
    kr__park_driver(&ct->park, ct->base.driver, timeout_ns);
    kr__wstats_unpark(&ct->stats);
    kr__rt_after_unpark(cfg);
}

/* ---- block_on calls waiting for the core ------------------------------ */

/* One waiting block_on: its future's waker's signal (refcounted: a clone
 * of the waker may outlive the call) and its place on `waiters`. */
typedef struct ct_waiter {
    kr__bo_signal bo;
    _Atomic long refs; /* bo.refs points here */
    kr__parker park;
    kr__list link; /* on ct->waiters, under waiters_lock */
} ct_waiter;

static void waiter_release(kr__bo_signal *s) {
    kr__free(KR__CONTAINER_OF(s, ct_waiter, bo));
}

/* The core was let go, or the runtime shut down: every waiter looks. The
 * unparks happen under the lock, so no waiter leaves (and drops its
 * signal) meanwhile. */
static void wake_waiters(ct_rt *ct) {
    pthread_mutex_lock(&ct->waiters_lock);
    KR__LIST_FOR_EACH(it, tmp, &ct->waiters)
    kr__unpark(&KR__CONTAINER_OF(it, ct_waiter, link)->park);
    pthread_mutex_unlock(&ct->waiters_lock);
}

/* The calling thread in the runtime's context without the core: spawns
 * are remote, sleeps go on the core's wheel. */
static void waiter_context(ct_rt *ct) {
    kr__ctx.rt = &ct->base;
    kr__ctx.cache = NULL;
    kr__ctx.worker = NULL;
    kr__ctx.current = NULL;
    kr__ctx.wheel = &ct->wheel;
    kr__ctx.budget = KR__BUDGET_UNLIMITED;
}

/* A block_on that found the core taken: polls `f` here whenever its waker
 * fires, until it completes (returns true, *rc = 0), the runtime is shut
 * down (true, KR_ESHUTDOWN, the future dropped), or the core is free
 * (false: the core is ours, *saved holds the caller's context, and `f`
 * goes on in the core's loop). KR_ENOMEM: true, the future untouched. */
static bool wait_turn(ct_rt *ct, kr_future *f, void *out, kr__ctx_t *saved,
                      int *rc) {
    ct_waiter *w = kr__malloc(sizeof(*w));
    if (w == NULL) {
        *rc = KR_ENOMEM;
        return true;
    }
    atomic_init(&w->refs, 1);
    atomic_init(&w->bo.woken, 1); /* poll once to start */
    kr__parker_init(&w->park);
    w->bo.park = &w->park;
    w->bo.self = NULL; /* always unpark */
    w->bo.refs = &w->refs;
    w->bo.release = waiter_release;
    pthread_mutex_lock(&ct->waiters_lock);
    kr__list_node_init(&w->link);
    kr__list_push_back(&ct->waiters, &w->link);
    kr__fetch_add_seqcst(&ct->n_waiters, 1);
    pthread_mutex_unlock(&ct->waiters_lock);

    kr_waker wk = {&w->bo, &kr__bo_waker_vtable}; /* borrowed */
    kr_context cx = kr_context_from_waker(&wk);
    const kr__ctx_t mine = kr__ctx;
    bool done = true;
    *rc = 0;
    for (;;) {
        if (kr__ct_is_closed(ct)) {
            waiter_context(ct); /* drops run in the runtime's context */
            kr_future_drop(f);
            kr__ctx = mine;
            *rc = KR_ESHUTDOWN;
            break;
        }
        if (core_take(ct, saved)) {
            done = false;
            break;
        }
        /* Acquire pairs with the waker's release store. */
        if (kr__swap_acquire(&w->bo.woken, 0)) {
            waiter_context(ct);
            kr__ctx.budget = ct->base.cfg.budget;
            kr_poll p = kr_future_poll(f, &cx, out);
            if (p == KR_READY)
                kr_future_drop(f);
            kr__ctx = mine;
            if (p == KR_READY)
                break;
            /* The poll may have filed a sleep on the core's wheel: the
             * core's holder recomputes its park timeout. */
            kr__unpark(&ct->park);
            continue;
        }
        kr__park(&w->park, -1);
    }
    pthread_mutex_lock(&ct->waiters_lock);
    kr__list_remove(&w->link);
    kr__fetch_sub_seqcst(&ct->n_waiters, 1);
    pthread_mutex_unlock(&ct->waiters_lock);
    if (kr__fetch_sub_acqrel(&w->refs, 1) == 1)
        kr__free(w);
    return done;
}

static int ct_block_on(kr_runtime *rt, kr_future *f, void *out) {
    ct_rt *ct = (ct_rt *)rt;
    kr__ctx_t saved;
    int rc;
    if (!core_take(ct, &saved) && wait_turn(ct, f, out, &saved, &rc))
        return rc;
    ct->since_io = 0;
    rc = kr__block_on_loop(&ct->signal, f, out, ct->base.cfg.budget, bo_closed,
                           bo_work, bo_park, ct);
    if (kr__ct_is_closed(ct) && !ct->drained)
        drain(ct);
    core_give(ct, &saved);
    try_drain(ct);
    return rc;
}

static int ct_shutdown(kr_runtime *rt) {
    ct_rt *ct = (ct_rt *)rt;
    kr__fetch_or_seqcst(&ct->gate, KR__CT_GATE_CLOSED);
    kr__unpark(&ct->park);
    if (kr__load_seqcst(&ct->n_waiters) != 0)
        wake_waiters(ct);
    try_drain(ct);
    return 0;
}

static void ct_free(kr_runtime *rt) {
    ct_rt *ct = (ct_rt *)rt;
    kr__ctx_t saved;
    ct_shutdown(rt);
    kr__watchdog_stop(&ct->watchdog);
    /* kr_runtime_free waited for every block_on to return, so the core is
     * free; a dump racing the free (misuse) would hold it: leak rather than
     * crash. */
    if (!core_take(ct, &saved))
        return;
    /* Cells still referenced keep the cache (and so us) alive. */
    kr__cache_orphan(ct->cache);
    ct->cache = NULL;
    core_give(ct, &saved);
    kr__cache_pool_orphan(&ct->pool);
    ct->base.driver->ops->shutdown(ct->base.driver);
    pthread_mutex_destroy(&ct->waiters_lock); /* no block_on is left */
    ct_unref(ct);
}

/* The inject queue's depth: pushes minus pops (each side counts its own). */
static uint64_t inject_depth(ct_rt *ct) {
    uint64_t in = kr__load_relaxed(&ct->n_remote) +
                  kr__load_relaxed(&ct->n_remote_schedules);
    uint64_t popped = kr__load_relaxed(&ct->stats.inject_pops);
    return in > popped ? in - popped : 0;
}

/* The watchdog's: tasks waiting behind the poll in progress. */
static unsigned queued_behind(void *arg) {
    ct_rt *ct = arg;
    return (unsigned)(kr__load_relaxed(&ct->n_queued) + inject_depth(ct));
}

static void ct_worker_read(ct_rt *ct, kr_worker_metrics *m) {
    kr__wstats_read(&ct->stats, m);
    m->local_queue_depth = (unsigned)kr__load_relaxed(&ct->n_queued);
}

static void ct_metrics(kr_runtime *rt, kr_runtime_metrics *m) {
    ct_rt *ct = (ct_rt *)rt;
    kr_worker_metrics wm;
    memset(&wm, 0, sizeof(wm));
    ct_worker_read(ct, &wm);
    kr__wstats_sum(m, &wm);
    uint64_t remote = kr__load_relaxed(&ct->n_remote);
    uint64_t rsched = kr__load_relaxed(&ct->n_remote_schedules);
    m->spawned = wm.spawned + remote;
    uint64_t done = kr__load_relaxed(&ct->n_completed);
    m->completed = done;
    m->alive = m->spawned > done ? m->spawned - done : 0;
    m->remote_spawns = remote;
    m->remote_schedules = rsched;
    m->inject_queue_depth = inject_depth(ct);
    m->timer_entries = rt->driver->ops->timers_count(&ct->wheel);
    m->workers = 1;
}

static int ct_worker_metrics(kr_runtime *rt, unsigned i, kr_worker_metrics *m) {
    if (i != 0)
        return KR_EINVAL;
    ct_worker_read((ct_rt *)rt, m);
    return 0;
}

static int ct_worker_of(void *arg, const kr__task *t) {
    ct_rt *ct = arg;
    return kr__load_relaxed(&ct->stats.running) == t ? 0 : -1;
}

static int ct_dump(kr_runtime *rt, kr__dump *d) {
    ct_rt *ct = (ct_rt *)rt;
    kr__ctx_t saved;
    bool took = false;
    if (kr__ctx.worker != ct) {
        if (!core_take(ct, &saved))
            return KR_EBUSY;
        took = true;
    }
    d->worker_of = ct_worker_of;
    d->arg = ct;
    d->track = ct->base.cfg.track_tasks;
    kr__owned_dump(&ct->owned, d);
    /* Remote spawns not yet bound wait in the inject queue; the core is
     * its consumer, so it may walk it. */
    for (kr__task *t = kr__inject_peek_first(&ct->inject); t != NULL;
         t = kr__inject_peek_next(&ct->inject, t)) {
        if (t->owner == KR__NO_OWNER)
            kr__task_dump(d, t);
    }
    if (took)
        core_give(ct, &saved);
    return 0;
}

/* Shutdown from the core's holder (a task): ct_shutdown leaves the drain
 * to the holder already (try_drain cannot take the core). */
static void ct_begin_shutdown(kr_runtime *rt) { (void)ct_shutdown(rt); }

/* A task or block_on future of this runtime (the core's holder, or a
 * block_on waiting for it: both poll with the core's wheel) cannot block
 * in place: no other thread could run the tasks meanwhile (Tokio panics).
 * Anywhere else (a thread merely entered in the runtime) fn runs in
 * place. */
static int ct_block_in_place(kr_runtime *rt, kr_blocking_fn fn, void *arg,
                             void **out) {
    ct_rt *ct = (ct_rt *)rt;
    if (kr__ctx.wheel == &ct->wheel)
        return KR_EINVAL;
    void *r = fn(arg);
    if (out != NULL)
        *out = r;
    return 0;
}

static const kr__rt_ops ct_ops = {
    kr__ct_spawn,      ct_block_on,       ct_shutdown,
    ct_free,           ct_metrics,        ct_dump,
    ct_worker_metrics, ct_begin_shutdown, ct_block_in_place};

int kr__current_thread_new(const kr_runtime_config *cfg, kr__driver *driver,
                           kr_runtime **out) {
    ct_rt *ct = kr__calloc_page(sizeof(*ct));
    if (ct == NULL)
        return KR_ENOMEM;
    ct->base.ops = &ct_ops;
    ct->base.cfg = *cfg;
    ct->base.driver = driver;
    ct->sched.ops = &ct_sched_ops;
    kr__wstats_init(&ct->stats, &ct->base.cfg, 0);
    ct->track_every = kr__cfg_track_every(cfg);
    ct->spawn_observed = cfg->on_task_spawn != NULL;
    kr__owned_init(&ct->owned);
    ct->gqi = cfg->global_queue_interval; /* resolved by kr_runtime_new */
    ct->evi = cfg->event_interval;
    ct->gq_countdown = ct->gqi;
    driver->ops->timers_init(&ct->wheel);
    kr__vclock_init(&ct->clock, cfg->start_paused);
    kr__inject_init(&ct->inject);
    atomic_init(&ct->gate, 0);
    atomic_init(&ct->signal.woken, 0);
    ct->signal.park = &ct->park;
    ct->signal.self = ct;
    ct->signal.refs = &ct->refs;
    ct->signal.release = signal_release;
    atomic_init(&ct->busy, 0);
    atomic_init(&ct->n_waiters, 0);
    pthread_mutex_init(&ct->waiters_lock, NULL);
    kr__list_init(&ct->waiters);
    /* The handle, the core's cache, the pool's caches. */
    atomic_init(&ct->refs, 2 + KR__CACHE_POOL_SLOTS);
    kr__parker_init(&ct->park);
    if (cfg->blocked_worker_ns != 0) {
        int rc = kr__watchdog_start(&ct->watchdog, &ct->stats,
                                    cfg->blocked_worker_ns, queued_behind, ct);
        if (rc != 0) {
            pthread_mutex_destroy(&ct->waiters_lock);
            kr__free_aligned(ct);
            return rc;
        }
    }
    unsigned pooled;
    if (!kr__cache_pool_init(&ct->pool, &ct->sched, cache_destroyed, ct,
                             &pooled)) {
        /* The made caches were destroyed (one unref each); drop the rest
         * but the handle's and the core cache's, then free by hand. */
        kr__watchdog_stop(&ct->watchdog);
        kr__fetch_sub_relaxed(&ct->refs, KR__CACHE_POOL_SLOTS - pooled);
        kr__free_aligned(ct);
        return KR_ENOMEM;
    }
    ct->cache = kr__cache_new(&ct->sched, cache_destroyed, ct);
    if (ct->cache == NULL) {
        kr__watchdog_stop(&ct->watchdog);
        kr__cache_pool_orphan(&ct->pool);
        kr__free_aligned(ct);
        return KR_ENOMEM;
    }
    *out = &ct->base;
    return 0;
}
