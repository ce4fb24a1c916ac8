/*
 * sched/worker.c: a worker thread of the multi-thread runtime.
 *
 * Loop (Tokio's, reference/tokio.md §2.4):
 *   tick; every event_interval (KR__EVENT_INTERVAL) ticks check for
 *   shutdown;
 *   next task: the inject queue first every global_queue_interval ticks,
 *   else the LIFO slot, the local queue, then a batch from inject;
 *   none: become a searcher (at most half the workers) and steal half of
 *   a random victim's queue; none: park.
 *
 * The LIFO slot holds the task most recently woken or spawned by this
 * worker, so a message passed to a task runs next, while its data is hot.
 * At most MAX_LIFO_POLLS run in a row off it (sharing one budget), then
 * the LIFO is off until a task comes from a queue: a task chain respawning
 * itself through the LIFO cannot starve the queues (Tokio 1.24's busy2
 * livelock).
 *
 * Unlike Tokio's, the slot is stealable: it is an atomic pointer, and a
 * searcher that finds a victim's queue empty takes the victim's LIFO task
 * with an exchange. Tokio's attempt at this (#7431, reverted) cost ~30%
 * because every push into an empty LIFO slot woke a parked worker to come
 * and steal it; here a push into the slot never notifies (only a displaced
 * task pushed to the queue does, as in Tokio), so the slot is only taken by
 * workers that were searching anyway.
 */

#include <sched.h>

#include "sched/worker.h"
#include "core/rt_thread.h"
#include "sched/idle.h"
#include "sched/sched.h"
#include "task/state.h"
#include "util/atomic.h"

static uint32_t next_rand(mt_worker *w) {
    /* xorshift32: cheap victim selection. */
    uint32_t x = w->rand;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w->rand = x;
    return x;
}

void kr__mt_push_remote(mt_rt *rt, kr__task *first, kr__task *last) {
    if (kr__mt_inject_push(&rt->inject, first, last))
        kr__mt_notify_parked(rt);
}

static void push_back(mt_worker *w, kr__task *t) {
    kr__task *bh, *bt;
    uint32_t bn;
    if (!kr__lq_push(&w->queue, t, &bh, &bt, &bn)) {
        /* Overflow: the batch goes to the inject queue. */
        kr__stat_inc(&w->stats.overflows);
        kr__stat_add(&w->stats.overflow_tasks, bn);
        kr__mt_push_remote(w->rt, bh, bt);
    }
}

/* After a push to our queue: wake a peer only if there is surplus work
 * here, more than the one task this worker will run next anyway. Waking a
 * parked peer for a lone task costs a futex wake, and the peer then steals
 * the very task we were about to run: a spawn chain hopped between workers
 * once per LIFO cap that way (mt/chained_spawn, 1.03x Tokio's time).
 *
 * Not while the worker turns the driver from its park (in_park): the tasks
 * its I/O events wake land here, and it runs them next. It is still on the
 * sleeper stack then, so a notify could pick the worker itself and unpark
 * its own driver: an eventfd write, and a later epoll_wait that returns at
 * once for nothing (kairo-http on 2 workers: 0.06 such writes and 0.12
 * reads per request, the writes' 95% from here). park() notifies once
 * after the turn instead, off the stack, if the wakes left surplus work:
 * Tokio's park_timeout, where schedule_local does not notify while the
 * core's park is taken and a worker that is not searching notifies after
 * it if its queue is stealable. */
static void notify_if_surplus(mt_worker *w) {
    if (w->in_park)
        return; /* park() notifies after the turn (below) */
    uint32_t n =
        kr__lq_len(&w->queue) + (kr__load_relaxed(&w->lifo) != NULL ? 1 : 0);
    if (n > 1)
        kr__mt_notify_parked(w->rt);
}

/* Yielded tasks (kr_yield_now, an exhausted budget, any self-wake) wait on
 * the worker's defer list until it has looked at I/O, as Tokio defers them
 * until its driver's next poll: a task yielding in a loop would otherwise
 * run again and again before another task's readiness is seen. The list
 * is the owner's: a yield stays atomic-free. It is used only while I/O
 * sources are registered, and released (after a non-blocking look at I/O)
 * at every maintenance pass and whenever it is all the worker has left. */
static void defer_push(mt_worker *w, kr__task *t) {
    kr__store_relaxed(&t->next, NULL); /* owner-private while deferred */
    if (w->defer_tail != NULL)
        kr__store_relaxed(&w->defer_tail->next, t);
    else
        w->defer_head = t;
    w->defer_tail = t;
}

static void defer_release(mt_worker *w) {
    kr__task *t = w->defer_head;
    w->defer_head = w->defer_tail = NULL;
    while (t != NULL) {
        kr__task *next = kr__load_relaxed(&t->next);
        push_back(w, t);
        t = next;
    }
    notify_if_surplus(w);
}

void kr__mt_schedule_local(mt_worker *w, kr__task *t, bool is_yield) {
    /* With no I/O source registered there is no readiness to wait for: a
     * yield goes straight to the back of the (stealable) queue. A relaxed
     * hint: a registration racing with this yield is seen at the next. */
    kr__driver *d = w->rt->base.driver;
    if (is_yield && d->ops->has_sources(d)) {
        defer_push(w, t);
        return;
    }
    if (is_yield || !w->lifo_enabled || w->rt->lifo_off) {
        push_back(w, t);
        notify_if_surplus(w);
        return;
    }
    /* Release: a stealer's exchange reading the slot sees the task. */
    kr__task *prev = kr__swap_acqrel(&w->lifo, t);
    if (prev != NULL) {
        push_back(w, prev);
        notify_if_surplus(w);
    }
}

/* Pops one task from the inject queue and moves up to `max` more into
 * the local queue. */
static kr__task *inject_pop_batch(mt_worker *w, uint32_t max) {
    uint32_t taken;
    kr__task *t = kr__mt_inject_pop_batch(&w->rt->inject, &w->rt->owned,
                                          w->index, &w->queue, max, &taken);
    if (t != NULL)
        kr__stat_add(&w->stats.inject_pops, taken);
    return t;
}

/* How many tasks to take from the inject queue besides the one to run:
 * half our queue's free room, at most half its capacity. */
static uint32_t inject_batch(mt_worker *w) {
    uint32_t room = kr__lq_remaining(&w->queue) / 2;
    return room < KR__LQ_CAP / 2 ? room : KR__LQ_CAP / 2;
}

static kr__task *next_task(mt_worker *w) {
    mt_rt *rt = w->rt;
    kr__task *t;
    if (--w->gq_countdown == 0) {
        w->gq_countdown = rt->base.cfg.global_queue_interval;
        /* Remote work first now and then, and a batch of it, not one task
         * (Tokio pops one here. When yielded tasks went straight to the
         * back of the queue, busy yielding tasks kept it from emptying and
         * one task per interval trickled remote spawns in at 1/61 of the
         * poll rate: mt/spawn_many_remote_busy1 measured 8.6 s per 10,000
         * spawns. They now wait on the defer list, as Tokio's do, but are
         * released into the queue every maintenance pass: the batch
         * stays.) */
        t = inject_pop_batch(w, inject_batch(w));
        if (t != NULL)
            return t;
    }
    if (kr__load_relaxed(&w->lifo) != NULL) { /* relaxed peek */
        t = kr__swap_acqrel(&w->lifo, NULL);
        if (t != NULL) {
            kr__stat_inc(&w->stats.lifo_hits);
            return t;
        }
    }
    t = kr__lq_pop(&w->queue);
    if (t != NULL)
        return t;
    return inject_pop_batch(w, inject_batch(w));
}

static kr__task *steal_work(mt_worker *w) {
    mt_rt *rt = w->rt;
    if (!kr__mt_to_searching(w))
        return NULL;
    unsigned n = rt->n;
    unsigned start = next_rand(w) % n;
    for (unsigned i = 0; i < n; i++) {
        unsigned vi = (start + i) % n;
        if (vi == w->index)
            continue;
        mt_worker *v = rt->workers[vi];
        uint32_t before = kr__lq_len(&w->queue);
        kr__task *t = kr__lq_steal_into(&v->queue, &w->queue);
        if (t != NULL) {
            kr__stat_inc(&w->stats.steal_ops);
            kr__stat_add(&w->stats.stolen_tasks,
                         1 + (kr__lq_len(&w->queue) - before));
            return t;
        }
        if (rt->lifo_steal && kr__load_relaxed(&v->lifo) != NULL) {
            /* Acquire pairs with the owner's exchange that put it there. */
            t = kr__swap_acqrel(&v->lifo, NULL);
            if (t != NULL) {
                kr__stat_inc(&w->stats.steal_ops);
                kr__stat_inc(&w->stats.stolen_tasks);
                return t;
            }
        }
    }
    return inject_pop_batch(w, inject_batch(w));
}

/* Runs t, and LIFO tasks after it. Returns false if a poll gave the
 * worker away (kr_block_in_place, block_in_place.c): the thread must not
 * touch w again. */
static bool run_task(mt_worker *w, kr__task *t) {
    if (w->is_searching)
        kr__mt_from_searching(w);
    w->lifo_enabled = 1; /* a task from a queue: LIFO chains may start */
    w->lifo_polls = 0;
    kr__ctx.budget = w->rt->base.cfg.budget;
    for (;;) {
        bool yielded = kr__wstats_run(&w->stats, t, w);
        if (__builtin_expect(kr__ctx.worker != w, 0)) {
            /* Another thread runs w now (block_in_place): a yield goes
             * remote, and w's counters are that thread's to write. */
            if (yielded) {
                kr__wstats_stamp_if(t);
                kr__mt_push_remote(w->rt, t, t);
            }
            kr__ctx.budget = KR__BUDGET_UNLIMITED;
            return false;
        }
        if (yielded) {
            if (kr__ctx.budget == 0) /* the budget forced it */
                kr__stat_inc(&w->stats.budget_yields);
            kr__wstats_stamp_if(t);
            kr__mt_schedule_local(w, t, true); /* a yield */
        }
        if (kr__load_relaxed(&w->lifo) == NULL)
            break;
        if (++w->lifo_polls > KR__MT_MAX_LIFO_POLLS) {
            /* Enough LIFO in a row: queue the rest like any task. */
            w->lifo_enabled = 0;
            t = kr__swap_acqrel(&w->lifo, NULL);
            if (t != NULL) {
                push_back(w, t);
                notify_if_surplus(w);
            }
            break;
        }
        if (kr__ctx.budget == 0) {
            t = kr__swap_acqrel(&w->lifo, NULL);
            if (t != NULL)
                push_back(w, t);
            break;
        }
        t = kr__swap_acqrel(&w->lifo, NULL);
        if (t == NULL)
            break; /* stolen meanwhile */
        kr__stat_inc(&w->stats.lifo_hits);
    }
    kr__ctx.budget = KR__BUDGET_UNLIMITED;
    return true;
}

static bool has_local_work(mt_worker *w) {
    return kr__load_relaxed(&w->lifo) != NULL || kr__lq_len(&w->queue) != 0 ||
           w->defer_head != NULL;
}

/* Fires due timers of this worker's wheel; returns ns until the next one
 * (-1: none). An empty wheel costs no clock read. */
static int64_t run_timers(mt_worker *w) {
    return w->rt->base.driver->ops->timers_fire(&w->wheel);
}

static bool driver_trylock(mt_rt *rt) {
    int zero = 0;
    return kr__load_relaxed(&rt->driver_busy) == 0 &&
           kr__cas_acquire(&rt->driver_busy, &zero, 1);
}

static void driver_unlock(mt_rt *rt) { kr__store_release(&rt->driver_busy, 0); }

/* A busy worker's look at I/O, now and then: at its own driver, or at the
 * shared one if nobody is parked in it. */
static void poll_io(mt_worker *w) {
    mt_rt *rt = w->rt;
    kr__driver *d = rt->base.driver;
    if (w->drv != NULL) {
        if (d->ops->has_sources(d))
            w->drv->ops->turn(w->drv, 0);
        return;
    }
    if (d->ops->has_sources(d) && driver_trylock(rt)) {
        d->ops->turn(d, 0);
        driver_unlock(rt);
    }
}

void kr__mt_monitor_look_io(mt_worker *w) {
    /* Not the shared driver: the monitor holding driver_busy would send a
     * worker parking meanwhile to its futex, and once the monitor let go
     * nobody might be waiting in the driver at all (kairo-echo stalled to
     * a third of its rate, and to none). A parked worker turns it. */
    if (w->drv != NULL)
        w->drv->ops->look(w->drv);
}

static void park_loop(mt_worker *w, int64_t timeout);

static void park(mt_worker *w) {
    mt_rt *rt = w->rt;
    int64_t timeout = run_timers(w);
    if (timeout == 0 || has_local_work(w))
        return; /* a timer fired into our queue */
    const kr_runtime_config *cfg = &rt->base.cfg;
    if (__builtin_expect(cfg->on_thread_park != NULL, 0)) {
        kr__rt_before_park(cfg);
        /* The hook may have made work here (a spawn, a wake). */
        if (has_local_work(w)) {
            kr__rt_after_unpark(cfg);
            return;
        }
    }
    if (kr__mt_to_parked(w))
        kr__mt_notify_if_work_pending(rt);
    kr__wstats_park(&w->stats);
    w->in_park = 1;
    park_loop(w, timeout);
    w->in_park = 0;
    kr__wstats_unpark(&w->stats);
    /* The turn's wakes notified nobody (notify_if_surplus): a searcher
     * (notified meanwhile) notifies when it finds work, as every last
     * searcher does; a worker woken by its own events does it here. */
    if (!w->is_searching)
        notify_if_surplus(w);
    kr__rt_after_unpark(cfg);
}

/* Parked (on the sleepers): waits for a notify, I/O, a timer or the
 * shutdown.
 *
 * Yield first. Before it first blocks, the worker gives its CPU away once
 * (sched_yield) and then parks with a zero timeout: a look at I/O that
 * does not block. The completions a parking worker waits for are mostly
 * made by threads that want the same CPU (a peer on loopback, the task
 * work of the worker's own ring), and blocking costs a sleep and a wake-up
 * per message where a yield lets them run first: kairo-echo, 2 workers,
 * 16 connections, made 0.53 context switches a message on io_uring with
 * a ring per worker and 0.08 with the yield (`perf stat -e
 * context-switches`), and bench/echo/run.sh measured 1.87x the rate at
 * 0.62x the CPU a message there, 1.15x at 0.98x on epoll. Where nothing
 * else is runnable the yield returns at once: an idle worker pays one
 * system call and one look more per park. KR_PARK_YIELD=0 turns it off. */
static void park_loop(mt_worker *w, int64_t timeout) {
    mt_rt *rt = w->rt;
    bool look = rt->park_yield != 0 && timeout != 0;
    for (;;) {
        if (kr__load_acquire(&rt->shutdown))
            return;
        int64_t t = timeout;
        if (look) {
            sched_yield();
            t = 0;
        }
        /* A worker with a driver of its own waits in it. Else one parked
         * worker waits in the shared one; the others on futexes (Tokio's
         * arrangement: one driver per runtime). */
        if (w->drv != NULL) {
            kr__park_driver(&w->park, w->drv, t);
        } else if (driver_trylock(rt)) {
            kr__park_driver(&w->park, rt->base.driver, t);
            driver_unlock(rt);
        } else {
            kr__park(&w->park, t);
        }
        if (kr__load_acquire(&rt->shutdown))
            return;
        if (!kr__mt_still_sleeping(w))
            return;
        if (has_local_work(w)) {
            /* I/O events woke tasks into our queue: run them. */
            kr__mt_unpark_self(w);
            return;
        }
        /* Woken by the clock (or spuriously, or by a thread that filed a
         * sleep on this wheel: block_in_place.c): if a timer is due,
         * leave the sleepers and fire it; else sleep until the next. An
         * empty wheel reads no clock. */
        timeout = rt->base.driver->ops->timers_next(&w->wheel);
        if (timeout == 0) {
            kr__mt_unpark_self(w);
            return;
        }
        /* Spurious, or the look before blocking found nothing: stay
         * parked (a notify will take us off the stack). */
        if (!look)
            kr__wstats_noop(&w->stats);
        look = false;
    }
}

void *kr__mt_worker_main(void *arg) {
    mt_worker *w = arg;
    mt_rt *rt = w->rt;
    kr__ctx.rt = &rt->base;
    kr__ctx.cache = w->cache;
    kr__ctx.worker = w;
    kr__ctx.budget = KR__BUDGET_UNLIMITED;
    kr__ctx.wheel = &w->wheel;
    if (w->drv != NULL)
        w->drv->ops->bind(w->drv);
    kr__rt_thread_begin(&rt->base.cfg, "kairo-worker");
    while (!kr__load_acquire(&rt->shutdown)) {
        if (--w->maint_countdown == 0) {
            w->maint_countdown = rt->base.cfg.event_interval;
            kr__wstats_chain_break(&w->stats);
            run_timers(w);
            poll_io(w);
            if (w->defer_head != NULL)
                defer_release(w);
        }
        kr__task *t = next_task(w);
        if (t != NULL) {
            if (!run_task(w, t))
                goto gave_away;
            continue;
        }
        kr__wstats_chain_break(&w->stats);
        if (w->defer_head != NULL) {
            /* Only yielded tasks left here: look at I/O, then run them. */
            poll_io(w);
            defer_release(w);
            continue;
        }
        t = steal_work(w);
        if (t != NULL) {
            if (!run_task(w, t))
                goto gave_away;
            continue;
        }
        if (!has_local_work(w))
            park(w);
    }
    kr__rt_thread_end(&rt->base.cfg);
    /* Leave the cache to the cells still out; the drain frees them. */
    kr__cache_orphan(w->cache);
    kr__ctx.wheel = NULL;
    kr__ctx.cache = NULL;
    kr__ctx.worker = NULL;
    kr__ctx.io_ring = NULL;
    kr__ctx.rt = NULL;
    return NULL;

gave_away:
    /* The last poll may have filed a sleep on w's wheel: its new owner
     * looks again (w lives until the shutdown has joined this thread). */
    kr__unpark(&w->park);
    kr__rt_thread_end(&rt->base.cfg);
    kr__ctx.wheel = NULL;
    kr__ctx.worker = NULL;
    kr__ctx.io_ring = NULL;
    kr__ctx.rt = NULL;
    return NULL;
}
