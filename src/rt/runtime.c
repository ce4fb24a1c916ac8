/*
 * rt/runtime.c: the public runtime API, dispatching to the flavor, and the
 * runtime's blocking pool (blocking/pool.h), which no flavor knows about:
 * it is made here on first use and shut down here after the scheduler.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocking/pool.h"
#include "console/console.h"
#include "io/reactor.h"
#include "core/handle.h"
#include "core/runtime.h"
#include "rt/driver.h"
#include "sched/sched.h"
#include "sim/sim.h"
#include "task/task.h"
#include "core/context.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/clock.h"
#include "util/thread.h"

/* rt->blocking of a runtime shut down before it made a pool: a later
 * spawn_blocking finds it and fails instead of making one. */
static char pool_closed_;
#define POOL_CLOSED ((kr__blocking_pool *)(void *)&pool_closed_)

/* Checks a future handed to spawn or block_on. */
static bool kr__future_valid(const kr_future *f) {
    /* sizeof(kr_future) <= size <= 2^30 as one unsigned comparison. */
    return f != NULL && f->vtable != NULL && f->vtable->poll != NULL &&
           f->vtable->size - sizeof(kr_future) <=
               ((size_t)1 << 30) - sizeof(kr_future) &&
           f->vtable->output_size <= ((size_t)1 << 30);
}

kr_runtime_config kr_runtime_config_default(void) {
    kr_runtime_config c;
    memset(&c, 0, sizeof(c));
    c.flavor = KR_RUNTIME_CURRENT_THREAD;
    return c;
}

/* One numeric field: 0 becomes `dflt`; KR_ZERO becomes 0 where
 * `zero_ok`, else is refused; anything above `max` is refused. */
static bool resolve(unsigned *field, unsigned dflt, bool zero_ok,
                    unsigned max) {
    if (*field == 0)
        *field = dflt;
    else if (*field == KR_ZERO) {
        if (!zero_ok)
            return false;
        *field = 0;
    } else if (*field > max) {
        return false;
    }
    return true;
}

/* Every default is filled in here, once: the flavors and the blocking
 * pool read the resolved config and never see 0-means-default (a 0 there
 * is a literal zero, asked for with KR_ZERO). `workers` stays 0 for the
 * multi-thread flavor to count the CPUs. */
static int resolve_config(kr_runtime_config *c) {
    if (c->flavor != KR_RUNTIME_CURRENT_THREAD &&
        c->flavor != KR_RUNTIME_MULTI_THREAD &&
        c->flavor != KR_RUNTIME_SIMULATION)
        return KR_EINVAL;
    if ((c->disable_drivers & ~KR_DRIVERS_ALL) != 0)
        return KR_EINVAL;
    if ((unsigned)c->io_driver > KR_IO_DRIVER_URING)
        return KR_EINVAL;
    if (c->workers == KR_ZERO)
        return KR_EINVAL;
    if (c->poll_histogram.sample > KR_HISTOGRAM_SAMPLE_MAX ||
        c->sched_latency_histogram.sample > KR_HISTOGRAM_SAMPLE_MAX)
        return KR_EINVAL;
    bool ok = resolve(&c->global_queue_interval, KR__GLOBAL_QUEUE_INTERVAL,
                      false, KR_ZERO - 1) &&
              resolve(&c->event_interval, KR__EVENT_INTERVAL, false, 1000000) &&
              resolve(&c->budget, KR__BUDGET_DEFAULT, false, KR_ZERO - 1) &&
              resolve(&c->max_blocking_threads, KR__BLOCKING_MAX_THREADS, false,
                      KR_ZERO - 1) &&
              resolve(&c->blocking_keep_alive_ms, KR__BLOCKING_KEEP_ALIVE_MS,
                      true, KR_ZERO - 1) &&
              resolve(&c->shutdown_timeout_ms, KR__BLOCKING_SHUTDOWN_TIMEOUT_MS,
                      true, KR_ZERO - 1);
    if (!ok)
        return KR_EINVAL;
    if (c->thread_stack_size != 0) {
        long min = sysconf(_SC_THREAD_STACK_MIN);
        if (c->thread_stack_size < (size_t)(min > 0 ? min : 16384))
            return KR_EINVAL;
    }
    /* A paused clock is the current-thread runtime's (kairo/time.h), and
     * the simulation's, which is always paused (kairo/sim.h). */
    if (c->start_paused && ((c->flavor != KR_RUNTIME_CURRENT_THREAD &&
                             c->flavor != KR_RUNTIME_SIMULATION) ||
                            (c->disable_drivers & KR_DRIVER_TIME)))
        return KR_EINVAL;
    return 0;
}

int kr_runtime_new(const kr_runtime_config *config, kr_runtime **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    kr_runtime_config c = config ? *config : kr_runtime_config_default();
    int rc = resolve_config(&c);
    if (rc != 0)
        return rc;
    kr__handle *h = kr__calloc(1, sizeof(*h));
    if (h == NULL)
        return KR_ENOMEM;
    /* The console first (it may change the reporter and thresholds the
     * flavor copies); it serves nobody until the runtime exists. */
    kr__console *con;
    rc = kr__console_open(&c, &con);
    if (rc != 0) {
        kr__free(h);
        return rc;
    }
    if (c.flavor == KR_RUNTIME_SIMULATION) {
        rc = kr__sim_new(&c, out); /* its own driver (sim/driver.c) */
        if (rc != 0) {
            kr__console_free(con);
            kr__free(h);
            return rc;
        }
    } else {
        kr__driver *d;
        struct kr__reactor *reactor;
        rc = kr__driver_new(&d, &reactor, !(c.disable_drivers & KR_DRIVER_IO),
                            c.io_driver);
        if (rc != 0) {
            kr__console_free(con);
            kr__free(h);
            return rc;
        }
        rc = c.flavor == KR_RUNTIME_CURRENT_THREAD
                 ? kr__current_thread_new(&c, d, out)
                 : kr__multi_thread_new(&c, d, out);
        if (rc != 0) {
            d->ops->shutdown(d);
            kr__console_free(con);
            kr__free(h);
            return rc;
        }
        (*out)->reactor = reactor;
    }
    /* Runtime ids, as task ids: unique in the process, never 0. */
    static _Atomic uint64_t next_rt_id = 1;
    atomic_init(&h->refs, 1); /* the runtime's */
    h->rt = *out;
    h->id = kr__fetch_add_relaxed(&next_rt_id, 1);
    (*out)->handle = h;
    if (con != NULL) {
        (*out)->console = con;
        kr__console_serve(con, *out);
    }
    return 0;
}

/* ---- calls kr_runtime_free waits for (rt->inside) --------------------- */

static void enter(kr_runtime *rt) {
    /* Relaxed: the caller's own call orders it before anything free does
     * (free only waits for calls it could have ended); the decrement is
     * the one that publishes. */
    kr__fetch_add_relaxed(&rt->inside, 1);
}

static void leave(kr_runtime *rt) {
    /* Release: everything this call did to the runtime happens before the
     * free that reads zero (acquire, wait_for_callers). */
    kr__fetch_sub_release(&rt->inside, 1);
}

/* Waits until no other thread is inside block_on or shutdown. The runtime
 * is shut down, so each of them is on its way out: a block_on drops its
 * future and returns, a shutdown finishes waiting for blocking jobs (up
 * to the same deadline as ours). Yields first, then sleeps 1 ms a turn. */
static void wait_for_callers(kr_runtime *rt) {
    for (unsigned turn = 0; kr__load_acquire(&rt->inside) != 0; turn++) {
        if (turn < 64) {
            sched_yield();
        } else {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
}

/* Closes the handle: later calls through it fail with KR_ESHUTDOWN; waits
 * for those in flight (core/handle.h), each of which the shutdown before
 * has ended or will end soon. */
static void kr__handle_close(kr__handle *h) {
    kr__store_seqcst(&h->closed, 1);
    for (unsigned turn = 0; kr__load_seqcst(&h->users) != 0; turn++) {
        if (turn < 64) {
            sched_yield();
        } else {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
}

/* The runtime a spawn that names none goes to on a thread that does not
 * run one: the one it entered (kr_runtime_enter, a blocking-pool thread),
 * through a use of its handle, which the caller gives back (*used). */
static int entered_runtime(kr_runtime **rt, kr__handle **used) {
    kr__handle *h = kr__ctx.entered;
    *used = NULL;
    if (h == NULL)
        return KR_EINVAL;
    if (!kr__handle_use(h))
        return KR_ESHUTDOWN;
    *used = h;
    *rt = h->rt;
    return 0;
}

int kr_runtime_block_on(kr_runtime *rt, kr_future *f, void *out) {
    if (rt == NULL || !kr__future_valid(f))
        return KR_EINVAL;
    if (kr__ctx.rt != NULL)
        return KR_EBUSY; /* blocking inside a runtime would deadlock it */
    enter(rt);
    int rc = rt->ops->block_on(rt, f, out);
    leave(rt);
    return rc;
}

/* ---- the blocking pool -------------------------------------------------- */

/* The runtime's pool, made on first use. Returns 0, KR_ESHUTDOWN, KR_ENOMEM. */
static int blocking_pool(kr_runtime *rt, kr__blocking_pool **out) {
    /* Acquire pairs with the CAS that published the pool. */
    kr__blocking_pool *p = kr__load_acquire(&rt->blocking);
    if (p == NULL) {
        kr__blocking_pool *mine = kr__blocking_new(&rt->cfg, rt->handle);
        if (mine == NULL)
            return KR_ENOMEM;
        /* Release publishes the new pool; on failure the acquire reads the
         * winner's (another spawner's pool, or a shutdown's sentinel). */
        if (kr__cas_acqrel(&rt->blocking, &p, mine))
            p = mine;
        else
            kr__blocking_release(mine); /* no thread yet: freed at once */
    }
    if (p == POOL_CLOSED)
        return KR_ESHUTDOWN;
    *out = p;
    return 0;
}

/* Shuts the pool down (after the scheduler, so that no task is left to
 * spawn more jobs), or marks that there will be none; waits for running
 * jobs if `wait`. Returns 0 or KR_ETIMEDOUT. */
static int blocking_shutdown(kr_runtime *rt, bool wait) {
    kr__blocking_pool *p = NULL;
    if (kr__cas_acqrel(&rt->blocking, &p, POOL_CLOSED) || p == POOL_CLOSED)
        return 0;
    return kr__blocking_shutdown(p, wait);
}

int kr_runtime_spawn_blocking(kr_runtime *rt, kr_blocking_fn fn, void *arg,
                              kr_join_handle *jh) {
    if (jh != NULL)
        kr__join_init(jh, NULL); /* empty until the spawn succeeds */
    if (rt == NULL || fn == NULL)
        return KR_EINVAL;
    if (rt->cfg.flavor == KR_RUNTIME_SIMULATION)
        return kr__sim_spawn_blocking(rt, fn, arg, jh); /* inline */
    kr__blocking_pool *p;
    int rc = blocking_pool(rt, &p);
    return rc != 0 ? rc : kr__blocking_spawn(p, fn, arg, NULL, jh);
}

int kr_task_spawn_blocking(const kr_task_builder *b, kr_blocking_fn fn,
                           void *arg, kr_join_handle *jh) {
    if (jh != NULL)
        kr__join_init(jh, NULL);
    if (b == NULL)
        return KR_EINVAL;
    if (fn == NULL)
        return KR_EINVAL;
    kr_runtime *rt = b->runtime != NULL ? b->runtime : kr__ctx.rt;
    kr__handle *used = NULL;
    if (rt == NULL) {
        int rc = entered_runtime(&rt, &used);
        if (rc != 0)
            return rc;
    }
    kr__blocking_pool *p;
    int rc = blocking_pool(rt, &p);
    if (rc == 0)
        rc = kr__blocking_spawn(p, fn, arg, b, jh);
    if (used != NULL)
        kr__handle_unuse(used);
    return rc;
}

int kr_spawn_blocking(kr_blocking_fn fn, void *arg, kr_join_handle *jh) {
    kr_runtime *rt = kr__ctx.rt;
    if (rt != NULL)
        return kr_runtime_spawn_blocking(rt, fn, arg, jh);
    kr__handle *used;
    int rc = entered_runtime(&rt, &used);
    if (rc != 0) {
        if (jh != NULL)
            kr__join_init(jh, NULL);
        return rc;
    }
    rc = kr_runtime_spawn_blocking(rt, fn, arg, jh);
    kr__handle_unuse(used);
    return rc;
}

int kr_block_in_place(kr_blocking_fn fn, void *arg, void **out) {
    if (fn == NULL)
        return KR_EINVAL;
    kr_runtime *rt = kr__ctx.rt;
    if (rt != NULL)
        return rt->ops->block_in_place(rt, fn, arg, out);
    /* Outside any runtime blocking stalls nobody (Tokio's too). */
    void *r = fn(arg);
    if (out != NULL)
        *out = r;
    return 0;
}

/* ---- shutdown ------------------------------------------------------------ */

/* The scheduler first (no task is left to spawn blocking jobs), then the
 * pool (waiting for its running jobs if `wait`), then the I/O driver:
 * sockets bound or futures polled from now on get KR_ESHUTDOWN rather
 * than waiting for events no turn will deliver. Idempotent; safe from
 * several threads at once. */
static int shutdown_all(kr_runtime *rt, bool wait) {
    int rc = rt->ops->shutdown(rt);
    int brc = blocking_shutdown(rt, wait);
    if (rt->reactor != NULL) /* NULL: a runtime without I/O */
        kr__reactor_shutdown(rt->reactor);
    return rc != 0 ? rc : brc;
}

/* The calling thread is one of rt's scheduler threads: the holder of a
 * current-thread runtime's core (a task or the block_on future there) or
 * a multi-thread worker (a task). A shutdown cannot wait there: it would
 * wait for the caller's own task, or join the caller's own thread. */
static bool on_scheduler_thread(const kr_runtime *rt) {
    return kr__ctx.rt == rt && kr__ctx.worker != NULL;
}

int kr_runtime_shutdown(kr_runtime *rt) {
    if (rt == NULL)
        return KR_EINVAL;
    enter(rt);
    int rc = 0;
    if (on_scheduler_thread(rt)) {
        /* Begun here, finished by the runtime's threads as they leave
         * and by whoever shuts down or frees it from outside. */
        rt->ops->begin_shutdown(rt);
        (void)blocking_shutdown(rt, false);
    } else {
        rc = shutdown_all(rt, true);
    }
    leave(rt);
    return rc;
}

/* Frees `rt` once every thread still inside a call on it has left. The
 * pool is released before ops->free, which frees `rt`; its memory lives on
 * while threads a timed-out shutdown left behind still run
 * (blocking/pool.c). */
static void free_after_shutdown(kr_runtime *rt) {
    kr__handle_close(rt->handle);
    wait_for_callers(rt);
    kr__blocking_pool *p = kr__load_acquire(&rt->blocking);
    if (p != POOL_CLOSED)
        kr__blocking_release(p);
    kr__handle *h = rt->handle;
    /* The console's ring outlives every thread that reports into it:
     * the flavor's free has joined them all. */
    kr__console *con = rt->console;
    rt->ops->free(rt);
    kr__console_free(con);
    kr__handle_unref(h);
}

/* The console stops first: it reads the runtime through calls that stop
 * being valid once the free begins. Its thread never waits for the
 * runtime, so joining it cannot wait for a stuck worker. Its memory is
 * freed last (free_after_shutdown): workers still report into it. */
static void close_console(kr_runtime *rt) { kr__console_stop(rt->console); }

int kr_runtime_free(kr_runtime *rt) {
    if (rt == NULL)
        return 0;
    /* From a task or a block_on future: freeing the runtime under the
     * caller's own feet (its task, its block_on loop) cannot be made safe;
     * refuse as Tokio panics dropping a runtime inside one (use
     * kr_runtime_shutdown_background there). */
    if (kr__ctx.rt != NULL)
        return KR_EBUSY;
    close_console(rt);
    /* Shut down as kr_runtime_shutdown, which ends every block_on; then
     * wait for the threads still inside a block_on or a shutdown to leave
     * before freeing what they use. */
    (void)shutdown_all(rt, true);
    free_after_shutdown(rt);
    return 0;
}

/* The thread kr_runtime_shutdown_background leaves the rest to: the
 * shutdown without waiting for blocking jobs, then the free. */
static void *reaper_main(void *arg) {
    kr_runtime *rt = arg;
    close_console(rt);
    (void)shutdown_all(rt, false);
    free_after_shutdown(rt);
    return NULL;
}

int kr_runtime_shutdown_background(kr_runtime *rt) {
    if (rt == NULL)
        return 0;
    /* Now, on the caller's thread: no task is polled any more once its
     * current poll returns, every block_on returns, queued blocking jobs
     * are cancelled. Nothing here waits. */
    enter(rt);
    rt->ops->begin_shutdown(rt);
    (void)blocking_shutdown(rt, false);
    leave(rt);
    pthread_attr_t a;
    pthread_t th;
    int e = pthread_attr_init(&a);
    if (e == 0) {
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        e = kr__thread_start(&th, &a, reaper_main, rt);
        pthread_attr_destroy(&a);
    }
    if (e == 0)
        return 0;
    /* No thread: do it here if this thread may wait (joins of workers
     * that are already leaving; running blocking jobs are not waited
     * for), else leave the free to the caller. */
    if (kr__ctx.rt != NULL)
        return KR_EAGAIN;
    reaper_main(rt);
    return 0;
}

kr_io_driver kr_runtime_io_driver(const kr_runtime *rt) {
    if (rt == NULL || rt->reactor == NULL)
        return KR_IO_DRIVER_AUTO;
    return kr__reactor_kind(rt->reactor);
}

int kr_runtime_metrics_get(kr_runtime *rt, kr_runtime_metrics *m) {
    if (rt == NULL || m == NULL)
        return KR_EINVAL;
    memset(m, 0, sizeof(*m));
    rt->ops->metrics(rt, m);
    kr__blocking_pool *p = kr__load_acquire(&rt->blocking);
    if (p != NULL && p != POOL_CLOSED)
        kr__blocking_metrics(p, m);
    m->blocking_busy = m->blocking_threads > m->blocking_idle
                           ? m->blocking_threads - m->blocking_idle
                           : 0;
    rt->driver->ops->io_counts(rt->driver, &m->io_events, &m->io_ready,
                               &m->io_ops);
    return 0;
}

int kr_runtime_worker_metrics_get(kr_runtime *rt, unsigned worker,
                                  kr_worker_metrics *m) {
    if (rt == NULL || m == NULL)
        return KR_EINVAL;
    memset(m, 0, sizeof(*m));
    return rt->ops->worker_metrics(rt, worker, m);
}

int kr_runtime_dump_format(kr_runtime *rt, int fd, kr_dump_format format) {
    if (rt == NULL || fd < 0 ||
        (format != KR_DUMP_TEXT && format != KR_DUMP_JSON))
        return KR_EINVAL;
    kr__dump d;
    kr__dump_init(&d, fd, format == KR_DUMP_JSON, kr__now_ns());
    if (d.json) {
        char head[160];
        snprintf(head, sizeof(head),
                 "{\"flavor\": \"%s\", \"workers\": %u, \"tasks\": [",
                 rt->cfg.flavor == KR_RUNTIME_MULTI_THREAD ? "multi_thread"
                                                           : "current_thread",
                 rt->cfg.flavor == KR_RUNTIME_MULTI_THREAD ? rt->cfg.workers
                                                           : 1);
        kr__dump_raw(&d, head);
    }
    int rc = rt->ops->dump(rt, &d);
    if (rc != 0) {
        d.err = rc;
        kr__dump_flush(&d); /* frees the buffer, writes nothing */
        return rc;
    }
    if (d.json)
        kr__dump_raw(&d, d.count ? "\n]}\n" : "]}\n");
    rc = kr__dump_flush(&d);
    return rc != 0 ? rc : d.count;
}

int kr_runtime_dump(kr_runtime *rt, int fd) {
    return kr_runtime_dump_format(rt, fd, KR_DUMP_TEXT);
}

static int spawn_on(kr_runtime *rt, const kr_future *f, kr_join_handle *jh) {
    if (jh != NULL)
        kr__join_init(jh, NULL); /* empty until the spawn succeeds */
    if (rt == NULL || !kr__future_valid(f))
        return KR_EINVAL;
    return rt->ops->spawn(rt, f, jh, kr__ctx.rt == rt);
}

/* kr_spawn outside a runtime's threads. Out of line: the path from inside
 * one stays as it was. */
static __attribute__((noinline)) int spawn_entered(const kr_future *f,
                                                   kr_join_handle *jh) {
    kr_runtime *rt;
    kr__handle *used;
    int rc = entered_runtime(&rt, &used);
    if (rc != 0) {
        if (jh != NULL)
            kr__join_init(jh, NULL);
        return rc;
    }
    rc = spawn_on(rt, f, jh);
    kr__handle_unuse(used);
    return rc;
}

int kr_spawn(const kr_future *f, kr_join_handle *jh) {
    kr_runtime *rt = kr__ctx.rt;
    if (__builtin_expect(rt == NULL, 0))
        return spawn_entered(f, jh);
    return spawn_on(rt, f, jh);
}

int kr_runtime_spawn(kr_runtime *rt, const kr_future *f, kr_join_handle *jh) {
    return spawn_on(rt, f, jh);
}

int kr_runtime_spawn_in_place(kr_runtime *rt, const kr_future_vtable *vt,
                              kr_future_init_fn init, void *arg,
                              kr_join_handle *jh) {
    if (jh != NULL)
        kr__join_init(jh, NULL);
    if (vt == NULL || init == NULL)
        return KR_EINVAL;
    kr_future probe = {vt};
    if (rt == NULL || !kr__future_valid(&probe))
        return KR_EINVAL;
    kr__in_place ip = {{&kr__in_place_vtable}, vt, init, arg, 0, NULL};
    int rc = rt->ops->spawn(rt, &ip.base, jh, kr__ctx.rt == rt);
    return rc == KR_ENOMEM && ip.err != 0 ? ip.err : rc;
}

/* ---- the spawn builder (kairo/task.h) ------------------------------------ */

/* A builder's spawn is an in-place spawn: the record carries the builder
 * and either an init or (NULL init) the future to copy, so kr__task_new's
 * plain path gains nothing but its one vtable comparison, as before. */
static int builder_spawn_on(kr_runtime *rt, const kr_task_builder *b,
                            const kr_future_vtable *vt, kr_future_init_fn init,
                            void *arg, kr_join_handle *jh) {
    kr_future probe = {vt};
    if (!kr__future_valid(&probe))
        return KR_EINVAL;
    kr__in_place ip = {{&kr__in_place_vtable}, vt, init, arg, 0, b};
    int rc = rt->ops->spawn(rt, &ip.base, jh, kr__ctx.rt == rt);
    return rc == KR_ENOMEM && ip.err != 0 ? ip.err : rc;
}

static int builder_spawn(const kr_task_builder *b, const kr_future_vtable *vt,
                         kr_future_init_fn init, void *arg,
                         kr_join_handle *jh) {
    kr_runtime *rt = b->runtime != NULL ? b->runtime : kr__ctx.rt;
    if (rt != NULL)
        return builder_spawn_on(rt, b, vt, init, arg, jh);
    kr__handle *used;
    int rc = entered_runtime(&rt, &used);
    if (rc != 0)
        return rc;
    rc = builder_spawn_on(rt, b, vt, init, arg, jh);
    kr__handle_unuse(used);
    return rc;
}

int kr_task_spawn(const kr_task_builder *b, const kr_future *f,
                  kr_join_handle *jh) {
    if (jh != NULL)
        kr__join_init(jh, NULL);
    if (b == NULL || f == NULL || f->vtable == NULL)
        return KR_EINVAL;
    return builder_spawn(b, f->vtable, NULL, (void *)(uintptr_t)f, jh);
}

int kr_task_spawn_in_place(const kr_task_builder *b, const kr_future_vtable *vt,
                           kr_future_init_fn init, void *arg,
                           kr_join_handle *jh) {
    if (jh != NULL)
        kr__join_init(jh, NULL);
    if (b == NULL || vt == NULL || init == NULL)
        return KR_EINVAL;
    return builder_spawn(b, vt, init, arg, jh);
}

int kr_spawn_in_place(const kr_future_vtable *vt, kr_future_init_fn init,
                      void *arg, kr_join_handle *jh) {
    kr_runtime *rt = kr__ctx.rt;
    if (rt != NULL)
        return kr_runtime_spawn_in_place(rt, vt, init, arg, jh);
    kr__handle *used;
    int rc = entered_runtime(&rt, &used);
    if (rc != 0) {
        if (jh != NULL)
            kr__join_init(jh, NULL);
        return rc;
    }
    rc = kr_runtime_spawn_in_place(rt, vt, init, arg, jh);
    kr__handle_unuse(used);
    return rc;
}
