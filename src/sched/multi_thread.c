/*
 * sched/multi_thread.c: the multi-thread runtime: creation, spawning,
 * block_on, shutdown, and the hooks tasks call (schedule, yield, release).
 *
 * Threads:
 *   - N workers (worker.c) run tasks. A wake or spawn on a worker goes to
 *     that worker's LIFO slot / queue; from anywhere else it goes to the
 *     inject queue and notifies a parked worker (idle.c).
 *   - kr_runtime_block_on runs its future on the calling thread, as Tokio
 *     does, so spawns made directly in it are remote spawns.
 *   - kr_runtime_shutdown may be called from any non-worker thread: it
 *     refuses new spawns, stops and joins the workers, then cancels every
 *     live task and empties every queue (late remote pushes:
 *     mt_inject.h).
 *
 * Memory lifetime (`refs`), as in current_thread.c: the handle, each task
 * cache until destroyed (N workers + block_on's), each cell allocated
 * outside a cache, each block_on signal is separate (its own refcount).
 *
 * Live-task lists (sched/owned.h): one per worker, each with its own
 * lock. A task goes on the list of the worker that spawned it, or of the
 * worker that first pops it from the inject queue (remote spawns).
 *
 * block_on (sched/block_on.h) polls its future on the calling thread; its
 * waker's signal is separate from the runtime (its own refcount), one per
 * running block_on, kept on `signals` so a shutdown can unpark them.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rt_thread.h"
#include "sched/block_in_place.h"
#include "sched/block_on.h"
#include "sched/idle.h"
#include "sched/monitor.h"
#include "sched/sched.h"
#include "sched/worker.h"
#include "task/state.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/clock.h"
#include "util/thread.h"

#define MAX_WORKERS 1024

/* The block_on waker's target: one per block_on call, refcounted because a
 * clone of the waker may outlive the call. */
typedef struct mt_signal {
    kr__bo_signal bo;
    _Atomic long refs; /* bo.refs points here */
    mt_rt *rt;
    kr__parker park;
    kr__timers wheel; /* timers first polled by this block_on's future */
    /* On rt->signals (under signals_lock) from its first block_on until
     * it is freed, also while it waits as rt->spare_signal: a block_on
     * that reuses the spare takes no lock (shutdown's unpark of an idle
     * spare leaves a notification the next call may wake once for). A
     * signal still referenced by a waker when its call ends leaves the
     * list then, since only its waker keeps it. */
    kr__list link;
} mt_signal;

#define MT_OF_SCHED(s) ((mt_rt *)((char *)(s)-offsetof(mt_rt, sched)))

static void mt_unref(mt_rt *rt) {
    if (kr__fetch_sub_acqrel(&rt->refs, 1) != 1)
        return;
    for (unsigned i = 0; i < rt->n; i++) {
        if (rt->workers != NULL)
            kr__free_aligned(rt->workers[i]);
    }
    kr__owned_set_free(&rt->owned);
    kr__free(rt->workers);
    kr__free(rt->sleepers);
    kr__free(rt->monitor_seen);
    pthread_mutex_destroy(&rt->idle_lock);
    pthread_mutex_destroy(&rt->shutdown_lock);
    pthread_mutex_destroy(&rt->signals_lock);
    pthread_mutex_destroy(&rt->threads_lock);
    kr__free_aligned(rt);
}

static void cache_destroyed(void *arg) { mt_unref(arg); }

static bool is_closed(mt_rt *rt) { return kr__load_acquire(&rt->closed) != 0; }

/* ---- task hooks ----------------------------------------------------- */

static void mt_schedule(kr__sched *s, kr__task *t) {
    mt_rt *rt = MT_OF_SCHED(s);
    kr__wstats_stamp_if(t);
    mt_worker *w = kr__mt_current(rt);
    if (w != NULL) {
        kr__mt_schedule_local(w, t, false);
        return;
    }
    kr__fetch_add_relaxed(&rt->n_remote_schedules, 1); /* a counter only */
    kr__mt_push_remote(rt, t, t); /* after shutdown: dropped there */
}

/* mt_release with on_task_terminate set (see ct_release). */
__attribute__((noinline)) static bool release_hooked(mt_rt *rt, kr__task *t) {
    kr__rt_task_hook_call(&rt->base.cfg, rt->base.cfg.on_task_terminate,
                          kr__task_id(t));
    return kr__owned_set_release(&rt->owned, t);
}

static bool mt_release(kr__sched *s, kr__task *t) {
    mt_rt *rt = MT_OF_SCHED(s);
    mt_worker *w = kr__mt_current(rt);
    if (w != NULL)
        kr__stat_inc(&w->n_completed); /* the owner's: no RMW */
    else
        kr__fetch_add_relaxed(&rt->n_completed, 1); /* a counter only */
    if (__builtin_expect(rt->base.cfg.on_task_terminate != NULL, 0))
        return release_hooked(rt, t);
    return kr__owned_set_release(&rt->owned, t);
}

static void mt_unpin(kr__sched *s) { mt_unref(MT_OF_SCHED(s)); }

static const kr__sched_ops mt_sched_ops = {mt_schedule, mt_release, mt_unpin};

/* ---- spawning ------------------------------------------------------- */

/* A spawn on a worker's own thread; `track` (a constant where inlined):
 * KR__NEW_TRACK for a task the countdown picked, else 0. */
static inline __attribute__((always_inline)) int
mt_spawn_local(mt_rt *rt, mt_worker *w, const kr_future *f, kr_join_handle *jh,
               unsigned track) {
    if (is_closed(rt))
        return KR_ESHUTDOWN;
    kr__task *t = kr__task_new(&rt->sched, w->cache, f,
                               (jh != NULL ? KR__NEW_JOIN : 0) | track);
    if (t == NULL)
        return KR_ENOMEM;
    if (track != 0)
        kr__wstats_stamp_if(t);
    kr__owned_set_bind(&rt->owned, w->index, t);
    kr__stat_inc(&w->stats.spawned);
    if (jh != NULL)
        kr__join_init(jh, t);
    KR__RT_ON_SPAWN(&rt->base.cfg, kr__task_id(t));
    kr__mt_schedule_local(w, t, false);
    return 0;
}

/* The spawn that took the worker's countdown to 0 (stats.h): it starts
 * again and answers for this one. Out of line, as the current-thread
 * runtime's spawn_local_pick: the common spawn then passes kr__task_new
 * constant flags and pays one decrement for the pick (mt/spawn_many_local
 * with the histograms on: ~17 instructions a spawn with the pick's
 * answer passed in, ~5 now). */
static __attribute__((noinline)) int
mt_spawn_pick(mt_rt *rt, mt_worker *w, const kr_future *f, kr_join_handle *jh) {
    if (kr__track_rearm(&w->stats.spawn_left, rt->track_every) != 0)
        return mt_spawn_local(rt, w, f, jh, KR__NEW_TRACK);
    return mt_spawn_local(rt, w, f, jh, 0);
}

/* A spawn from a thread that is not a worker (the block_on thread, or
 * outside the runtime); `track` (a constant where inlined) as
 * mt_spawn_local's. */
static inline __attribute__((always_inline)) int
mt_spawn_remote(mt_rt *rt, const kr_future *f, kr_join_handle *jh,
                unsigned track) {
    if (is_closed(rt))
        return KR_ESHUTDOWN;
    /* The block_on thread owns the block_on cache while it runs; other
     * threads borrow one of the pool's. */
    kr__cache *c = NULL;
    kr__cache_pool_slot *slot = NULL;
    if (kr__ctx.rt == &rt->base && kr__ctx.cache != NULL)
        c = kr__ctx.cache;
    else if ((slot = kr__cache_pool_take(&rt->pool)) != NULL)
        c = slot->cache;
    kr__task *t =
        kr__task_new(&rt->sched, c, f, (jh != NULL ? KR__NEW_JOIN : 0) | track);
    if (slot != NULL)
        kr__cache_pool_give(slot);
    if (t == NULL)
        return KR_ENOMEM;
    if (track != 0)
        kr__wstats_stamp_if(t);
    if (c == NULL)
        kr__fetch_add_relaxed(&rt->refs, 1); /* the cell pins us */
    kr__fetch_add_relaxed(&rt->n_remote, 1); /* a counter only */
    if (jh != NULL)
        kr__join_init(jh, t);
    KR__RT_ON_SPAWN(&rt->base.cfg, kr__task_id(t));
    kr__mt_push_remote(rt, t, t);
    return 0;
}

/* The remote spawn that took this thread's countdown to 0 (stats.h). */
static __attribute__((noinline)) int
mt_spawn_remote_pick(mt_rt *rt, const kr_future *f, kr_join_handle *jh) {
    if (kr__track_pick_slow(rt->track_every) != 0)
        return mt_spawn_remote(rt, f, jh, KR__NEW_TRACK);
    return mt_spawn_remote(rt, f, jh, 0);
}

static int mt_spawn(kr_runtime *base, const kr_future *f, kr_join_handle *jh,
                    bool local) {
    mt_rt *rt = (mt_rt *)base;
    mt_worker *w = local ? (mt_worker *)kr__ctx.worker : NULL;
    if (w != NULL) {
        /* At UINT32_MAX where nothing is tracked (kr__wstats_init). */
        if (__builtin_expect(--w->stats.spawn_left == 0, 0))
            return mt_spawn_pick(rt, w, f, jh);
        return mt_spawn_local(rt, w, f, jh, 0);
    }
    /* A thread's countdown serves every runtime it spawns on, so it is
     * only counted where this one tracks. */
    if (__builtin_expect(rt->track_every != 0, 0) &&
        __builtin_expect(kr__track_tick_tls() == 0, 0))
        return mt_spawn_remote_pick(rt, f, jh);
    return mt_spawn_remote(rt, f, jh, 0);
}

/* ---- block_on ------------------------------------------------------- */

static void signal_release(kr__bo_signal *s) {
    kr__free(KR__CONTAINER_OF(s, mt_signal, bo));
}

/* block_on's hooks (sched/block_on.h): between polls it only fires the
 * timers its future registered, and parks on its own parker. */
static bool bo_closed(void *arg) { return is_closed(((mt_signal *)arg)->rt); }

static int64_t bo_work(void *arg) {
    mt_signal *sig = arg;
    return sig->rt->base.driver->ops->timers_fire(&sig->wheel);
}

static void bo_park(void *arg, int64_t timeout_ns) {
    mt_signal *sig = arg;
    kr__park(&sig->park, timeout_ns);
}

static void signal_unlink(mt_rt *rt, mt_signal *sig) {
    pthread_mutex_lock(&rt->signals_lock);
    kr__list_remove(&sig->link);
    pthread_mutex_unlock(&rt->signals_lock);
}

/* A signal no waker references (a spare, or one displaced from the spare
 * slot). */
static void signal_unlink_free(mt_rt *rt, mt_signal *sig) {
    signal_unlink(rt, sig);
    kr__free(sig);
}

static int mt_block_on(kr_runtime *base, kr_future *f, void *out) {
    mt_rt *rt = (mt_rt *)base;
    if (is_closed(rt)) {
        kr_future_drop(f); /* as documented: a shut-down block_on drops it */
        return KR_ESHUTDOWN;
    }
    /* Acquire pairs with the release exchange that gave it back: the
     * spare is as the last block_on left it, its wheel empty. */
    mt_signal *sig = kr__swap_acquire(&rt->spare_signal, NULL);
    if (sig == NULL) {
        sig = kr__malloc(sizeof(*sig));
        if (sig == NULL)
            return KR_ENOMEM;
        base->driver->ops->timers_init(&sig->wheel);
        kr__parker_init(&sig->park);
        sig->rt = rt;
        sig->bo.park = &sig->park;
        sig->bo.self = NULL; /* kr__ctx.worker is NULL here: always unpark */
        sig->bo.refs = &sig->refs;
        sig->bo.release = signal_release;
        pthread_mutex_lock(&rt->signals_lock);
        kr__list_node_init(&sig->link);
        kr__list_push_front(&rt->signals, &sig->link);
        pthread_mutex_unlock(&rt->signals_lock);
    }
    /* A reused spare is still linked, and its parker is not reset: an
     * unpark from a shutdown that walked the list meanwhile must not be
     * lost; a stale notification costs one spurious turn of the loop. A
     * reused wheel keeps its old `elapsed`: an idle wheel's time is stale
     * anyway (timers_fire reads no clock while it is empty). */
    atomic_init(&sig->refs, 1);
    atomic_init(&sig->bo.woken, 0);

    int zero = 0;
    /* Acquire pairs with the release that gives the cache back below: the
     * cache is as its last block_on left it. */
    bool own_cache = kr__cas_acquire(&rt->bo_cache_busy, &zero, 1);
    kr__ctx_t saved = kr__ctx;
    kr__ctx.rt = base;
    kr__ctx.worker = NULL;
    kr__ctx.cache = own_cache ? rt->bo_cache : NULL;
    kr__ctx.wheel = &sig->wheel;

    int rc = kr__block_on_loop(&sig->bo, f, out, base->cfg.budget, bo_closed,
                               bo_work, bo_park, sig);

    kr__ctx = saved;
    if (own_cache)
        kr__store_release(&rt->bo_cache_busy, 0);
    /* The future was dropped (consumed): its sleeps are off the wheel. A
     * sleep it leaked elsewhere, still registered, gets no wake-up. */
    base->driver->ops->timers_clear(&sig->wheel);
    /* With the only reference left ours, no waker can reach the signal:
     * keep it (linked) for the next block_on. */
    if (kr__load_acquire(&sig->refs) == 1) {
        mt_signal *old = kr__swap_acqrel(&rt->spare_signal, sig);
        if (old != NULL)
            signal_unlink_free(rt, old);
    } else {
        signal_unlink(rt, sig);
        if (kr__fetch_sub_acqrel(&sig->refs, 1) == 1)
            kr__free(sig);
    }
    return rc;
}

/* ---- shutdown ------------------------------------------------------- */

static void drain(mt_rt *rt) {
    /* Runs alone: every worker has exited. Frees go to the (orphaned)
     * caches' remote path, which frees them directly. */
    for (;;) {
        bool any = kr__owned_set_shutdown_all(&rt->owned);
        for (unsigned i = 0; i < rt->n; i++) {
            mt_worker *w = rt->workers[i];
            kr__task *t = kr__swap_acqrel(&w->lifo, NULL);
            if (t != NULL) {
                kr__task_drop_queued(t);
                any = true;
            }
            while ((t = kr__lq_pop(&w->queue)) != NULL) {
                kr__task_drop_queued(t); /* NOTIFIED reference (or held) */
                any = true;
            }
            while ((t = w->defer_head) != NULL) { /* yielded (held) */
                w->defer_head = kr__load_relaxed(&t->next);
                kr__task_drop_queued(t);
                any = true;
            }
            w->defer_tail = NULL;
        }
        if (kr__mt_inject_drain(&rt->inject))
            any = true;
        if (!any)
            break;
    }
}

/* Refuses spawns and tells every thread: workers leave their loops,
 * block_on calls return. No lock but signals_lock (held briefly), so a
 * worker may call it while another thread's mt_shutdown, holding
 * shutdown_lock, joins that very worker. */
static void mt_begin_shutdown(kr_runtime *base) {
    mt_rt *rt = (mt_rt *)base;
    kr__store_seqcst(&rt->closed, 1);
    kr__store_release(&rt->shutdown, 1);
    kr__mt_unpark_all(rt);
    pthread_mutex_lock(&rt->signals_lock);
    KR__LIST_FOR_EACH(it, tmp, &rt->signals)
    kr__unpark(&KR__CONTAINER_OF(it, mt_signal, link)->park);
    pthread_mutex_unlock(&rt->signals_lock);
    kr__unpark(&rt->monitor_park);
}

static int mt_shutdown(kr_runtime *base) {
    mt_rt *rt = (mt_rt *)base;
    pthread_mutex_lock(&rt->shutdown_lock);
    if (kr__load_acquire(&rt->drained)) {
        pthread_mutex_unlock(&rt->shutdown_lock);
        return 0;
    }
    mt_begin_shutdown(base);
    if (rt->monitor_started)
        pthread_join(rt->monitor, NULL);
    for (unsigned i = 0; i < rt->n; i++)
        pthread_join(rt->workers[i]->thread, NULL);
    kr__mt_join_handoff_threads(rt);
    kr__mt_inject_close(&rt->inject);
    drain(rt);
    kr__mt_inject_close_end(&rt->inject);
    kr__store_release(&rt->drained, 1);
    pthread_mutex_unlock(&rt->shutdown_lock);
    return 0;
}

static void mt_free(kr_runtime *base) {
    mt_rt *rt = (mt_rt *)base;
    mt_shutdown(base);
    /* block_on cannot be running (documented); its cache is ours now. */
    kr__cache_orphan(rt->bo_cache);
    mt_signal *spare = kr__swap_acquire(&rt->spare_signal, NULL);
    if (spare != NULL)
        signal_unlink_free(rt, spare);
    kr__cache_pool_orphan(&rt->pool);
    rt->base.driver->ops->shutdown(rt->base.driver);
    mt_unref(rt);
}

/* Worker i's record; the caller zeroed it. */
static void worker_metrics(mt_rt *rt, unsigned i, kr_worker_metrics *m) {
    mt_worker *w = rt->workers[i];
    kr__wstats_read(&w->stats, m);
    m->local_queue_depth =
        kr__lq_len(&w->queue) + (kr__load_relaxed(&w->lifo) != NULL ? 1 : 0);
}

static void mt_metrics(kr_runtime *base, kr_runtime_metrics *m) {
    mt_rt *rt = (mt_rt *)base;
    uint64_t remote = kr__load_relaxed(&rt->n_remote);
    uint64_t rsched = kr__load_relaxed(&rt->n_remote_schedules);
    uint64_t spawned = remote, done = kr__load_relaxed(&rt->n_completed);
    uint64_t pushed = remote + rsched, popped = 0;
    for (unsigned i = 0; i < rt->n; i++) {
        mt_worker *w = rt->workers[i];
        kr_worker_metrics wm;
        memset(&wm, 0, sizeof(wm));
        worker_metrics(rt, i, &wm);
        kr__wstats_sum(m, &wm);
        spawned += wm.spawned;
        done += kr__load_relaxed(&w->n_completed);
        pushed += kr__load_relaxed(&w->stats.overflow_tasks);
        popped += kr__load_relaxed(&w->stats.inject_pops);
        m->timer_entries += base->driver->ops->timers_count(&w->wheel);
    }
    m->spawned = spawned;
    m->completed = done;
    m->alive = spawned > done ? spawned - done : 0;
    m->remote_spawns = remote;
    m->remote_schedules = rsched;
    /* Counted at both ends, each end read once: a snapshot may be off
     * by the pushes and pops in flight, never negative. */
    m->inject_queue_depth = pushed > popped ? pushed - popped : 0;
    m->workers = rt->n;
    pthread_mutex_lock(&rt->signals_lock);
    KR__LIST_FOR_EACH(it, tmp, &rt->signals)
    m->timer_entries += base->driver->ops->timers_count(
        &KR__CONTAINER_OF(it, mt_signal, link)->wheel);
    pthread_mutex_unlock(&rt->signals_lock);
}

static int mt_worker_metrics(kr_runtime *base, unsigned i,
                             kr_worker_metrics *m) {
    mt_rt *rt = (mt_rt *)base;
    if (i >= rt->n)
        return KR_EINVAL;
    worker_metrics(rt, i, m);
    return 0;
}

/* The worker polling t now, or -1 (a dump's question: a pointer
 * comparison, t is never dereferenced here). */
static int mt_worker_of(void *arg, const kr__task *t) {
    mt_rt *rt = arg;
    for (unsigned i = 0; i < rt->n; i++)
        if (kr__load_relaxed(&rt->workers[i]->stats.running) == t)
            return (int)i;
    return -1;
}

static int mt_dump(kr_runtime *base, kr__dump *d) {
    mt_rt *rt = (mt_rt *)base;
    d->worker_of = mt_worker_of;
    d->track = rt->base.cfg.track_tasks;
    d->arg = rt;
    /* Holding the inject queue's lock, every live task is on a list or in
     * the queue, not yet bound (mt_inject.h). The workers keep polling;
     * only one that pops the inject queue or completes a task of the list
     * being walked waits, for as long as that list's walk takes. */
    kr__mt_inject_lock(&rt->inject);
    kr__mt_inject_dump_unbound(&rt->inject, d);
    kr__owned_set_dump(&rt->owned, d);
    kr__mt_inject_unlock(&rt->inject);
    return 0;
}

static int mt_block_in_place(kr_runtime *base, kr_blocking_fn fn, void *arg,
                             void **out) {
    return kr__mt_block_in_place((mt_rt *)base, fn, arg, out);
}

static const kr__rt_ops mt_ops = {
    mt_spawn,          mt_block_on,       mt_shutdown,
    mt_free,           mt_metrics,        mt_dump,
    mt_worker_metrics, mt_begin_shutdown, mt_block_in_place};

/* ---- creation ------------------------------------------------------- */

static unsigned default_workers(void) {
    const char *env = getenv("KR_WORKER_THREADS");
    if (env != NULL && atoi(env) > 0)
        return (unsigned)atoi(env);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* Switches for measurement and the torture matrix, read once per runtime:
 * KR_LIFO_STEAL=0 makes the LIFO slot unstealable (Tokio's behaviour);
 * KR_DISABLE_LIFO=1 removes it (Tokio's unstable disable_lifo_slot). */
static int env_flag(const char *name, int dflt) {
    const char *env = getenv(name);
    return env == NULL ? dflt : atoi(env) != 0;
}

int kr__multi_thread_new(const kr_runtime_config *cfg, kr__driver *driver,
                         kr_runtime **out) {
    unsigned n = cfg->workers ? cfg->workers : default_workers();
    if (n > MAX_WORKERS)
        return KR_EINVAL;
    mt_rt *rt = kr__calloc_page(sizeof(*rt));
    if (rt == NULL)
        return KR_ENOMEM;
    rt->base.ops = &mt_ops;
    rt->base.cfg = *cfg;
    rt->base.cfg.workers = n;
    rt->base.driver = driver;
    rt->sched.ops = &mt_sched_ops;
    rt->n = n;
    rt->lifo_steal = env_flag("KR_LIFO_STEAL", 1);
    rt->track_every = kr__cfg_track_every(&rt->base.cfg);
    rt->lifo_off = env_flag("KR_DISABLE_LIFO", 0);
    rt->park_yield = env_flag("KR_PARK_YIELD", 1);
    kr__mt_inject_init(&rt->inject);
    pthread_mutex_init(&rt->idle_lock, NULL);
    pthread_mutex_init(&rt->shutdown_lock, NULL);
    pthread_mutex_init(&rt->signals_lock, NULL);
    pthread_mutex_init(&rt->threads_lock, NULL);
    kr__list_init(&rt->signals);
    atomic_init(&rt->closed, 0);
    atomic_init(&rt->driver_busy, 0);
    atomic_init(&rt->shutdown, 0);
    atomic_init(&rt->drained, 0);
    atomic_init(&rt->bo_cache_busy, 0);
    atomic_init(&rt->spare_signal, NULL);
    atomic_init(&rt->n_remote_schedules, 0);
    /* Handle + N worker caches + the block_on cache + the pool's. */
    atomic_init(&rt->refs, (long)n + 2 + KR__CACHE_POOL_SLOTS);
    rt->workers = kr__calloc(n, sizeof(*rt->workers));
    bool owned_ok = kr__owned_set_init(&rt->owned, n);
    rt->sleepers = kr__calloc(n, sizeof(*rt->sleepers));
    rt->monitor_seen = kr__calloc(n, sizeof(*rt->monitor_seen));
    kr__parker_init(&rt->monitor_park);
    rt->bo_cache = kr__cache_new(&rt->sched, cache_destroyed, rt);
    unsigned pooled;
    bool pool_ok = kr__cache_pool_init(&rt->pool, &rt->sched, cache_destroyed,
                                       rt, &pooled);
    bool ok = rt->workers && owned_ok && rt->sleepers && rt->bo_cache &&
              rt->monitor_seen && pool_ok;
    /* The error: ENOMEM, unless a thread fails to start for another
     * reason. */
    int rc = KR_ENOMEM;
    for (unsigned i = 0; ok && i < n; i++) {
        mt_worker *w = kr__calloc_page(sizeof(*w));
        rt->workers[i] = w;
        if (w == NULL) {
            ok = false;
            break;
        }
        kr__lq_init(&w->queue);
        atomic_init(&w->lifo, NULL);
        kr__parker_init(&w->park);
        w->rt = rt;
        w->index = i;
        w->rand = 0x9e3779b9u * (i + 1);
        w->lifo_enabled = 1;
        w->gq_countdown = rt->base.cfg.global_queue_interval;
        w->maint_countdown = rt->base.cfg.event_interval;
        driver->ops->timers_init(&w->wheel);
        kr__wstats_init(&w->stats, &rt->base.cfg, i);
        atomic_init(&w->n_completed, 0);
        w->cache = kr__cache_new(&rt->sched, cache_destroyed, rt);
        ok = w->cache != NULL;
    }
    /* A driver per worker where the driver has them (io_uring's rings):
     * before any thread starts, and before any registration. */
    kr__driver **local = ok && driver->ops->per_worker != NULL
                             ? driver->ops->per_worker(driver, n)
                             : NULL;
    for (unsigned i = 0; ok && local != NULL && i < n; i++)
        rt->workers[i]->drv = local[i];
    kr__mt_idle_init(rt);
    /* `started` counts the workers whose thread runs: the undo below joins
     * exactly those. */
    unsigned started = 0;
    while (ok && started < n) {
        int e = kr__rt_thread_start(&rt->base.cfg,
                                    &rt->workers[started]->thread, false,
                                    kr__mt_worker_main, rt->workers[started]);
        if (e != 0) {
            ok = false;
            rc = -e;
        } else {
            started++;
        }
    }
    if (ok) {
        int e = kr__thread_start(&rt->monitor, NULL, kr__mt_monitor_main, rt);
        if (e != 0) {
            ok = false;
            rc = -e;
        }
    }
    if (!ok) {
        /* Undo: every cache (or its missing slot) holds one ref, the handle
         * one; exiting workers orphan their own caches. */
        kr__store_release(&rt->shutdown, 1);
        for (unsigned i = 0; i < started; i++) {
            kr__unpark(&rt->workers[i]->park);
            pthread_join(rt->workers[i]->thread, NULL);
        }
        for (unsigned i = started; i < n; i++) {
            mt_worker *w = rt->workers ? rt->workers[i] : NULL;
            if (w != NULL && w->cache != NULL)
                kr__cache_orphan(w->cache);
            else
                mt_unref(rt);
        }
        if (rt->bo_cache != NULL)
            kr__cache_orphan(rt->bo_cache);
        else
            mt_unref(rt);
        if (pool_ok)
            kr__cache_pool_orphan(&rt->pool);
        else
            for (unsigned i = pooled; i < KR__CACHE_POOL_SLOTS; i++)
                mt_unref(rt); /* slots never made */
        mt_unref(rt);
        return rc;
    }
    rt->monitor_started = 1;
    *out = &rt->base;
    return 0;
}
