/*
 * sched/monitor.c: the multi-thread runtime's monitor thread.
 *
 * A worker stuck in one long poll (CPU-heavy code, a blocking call) holds
 * its LIFO task and its queue hostage: no push made them look like surplus
 * work, so no peer was woken to steal them (Tokio #4941, #6315: "one bad
 * task can halt" others). Waking a peer on every push would fix it at a
 * price Tokio measured at ~30% (#8065). Instead, as Go's sysmon does, a
 * monitor thread looks at the workers now and then: a worker whose poll
 * count has not moved since the last look, which is not parked and has
 * runnable tasks of its own, gets a parked peer notified, which steals them
 * (the LIFO slot included). The hot paths pay nothing: the monitor only
 * reads counters the workers keep anyway.
 *
 * Timers. Each worker fires its own wheel, between polls. A stuck worker
 * cannot, so the monitor fires the due timers of every worker it finds
 * stuck (polls unchanged, not parked, timers registered): the wheel has its
 * own lock, and the wakes take the remote path (inject queue, notify), so a
 * parked peer runs the woken tasks. While a stuck worker has timers, the
 * monitor also sleeps no longer than until the earliest of them.
 *
 * I/O. Where each worker has a ring of its own (io_uring: core/driver.h,
 * per_worker), the events of a stuck worker's ring would wait for the end
 * of its poll, however idle its peers. The monitor takes a non-blocking
 * look at that ring (its `look`: only if the worker is not turning it) and
 * dispatches what is there; the wakes take the remote path, as the timers'
 * do. Only after LOOK_AFTER_NS, not at the first interval that finds the
 * polls unchanged: a look's enter makes the monitor the submitter of what
 * waited in that SQ, and the kernel runs a request's task work on its
 * submitter's thread, for a multishot poll for as long as it lives. Looks
 * at workers that were only preempted for a millisecond or two (2 workers
 * and the client on 2 cores) left the monitor woken from its futex for
 * other sockets' events: at 1,000 echo connections on io_uring it took
 * 6.6% of the server's CPU samples, in futex_wait_restart and ring task
 * work. (A poll request's completion is made by task work on the thread
 * that armed it, the worker, at its next entry into the kernel or a timer
 * interrupt's return to user space, so a worker spinning in user space
 * still posts them; one blocked in a system call posts them when it
 * returns.) Where the workers share the driver, a parked one turns it,
 * and the monitor leaves it alone: holding it, even for a look, would
 * send a worker that parks meanwhile to its futex, and once the monitor
 * let go nobody might wait in the driver at all (measured: kairo-echo
 * stalled). So there, as in Tokio, tasks that hog every worker hold up
 * the I/O of a block_on thread until one of them returns.
 *
 * Blocked workers (kr_runtime_config.blocked_worker_ns). A worker keeps a
 * record of the poll it is in (sched/stats.h: when it began, the task's
 * id, future name, spawn site and the await it resumed from, under a
 * seqlock); the monitor reports a poll older than the threshold once,
 * while it still runs, with the number of tasks queued behind it.
 *
 * Interval: 1 ms while it finds work going on, doubling to 10 ms while
 * every worker is idle, so an idle runtime costs ~100 wake-ups a second.
 * A stuck poll is thus noticed within 1-2 ms (10 ms after a long idle).
 */

#include "sched/monitor.h"
#include "sched/idle.h"
#include "sched/worker.h"
#include "util/ticks.h"
#include "util/atomic.h"

#define MONITOR_MIN_NS 1000000LL  /* 1 ms */
#define MONITOR_MAX_NS 10000000LL /* 10 ms */
/* How long a worker's polls stand still before its ring is looked at. */
#define LOOK_AFTER_NS  10000000LL /* 10 ms */

/* Fires the due timers of a worker that is stuck in a poll; returns ns
 * until its next one (-1: none). An empty wheel costs no clock read. */
static int64_t fire_timers(mt_worker *w) {
    return w->rt->base.driver->ops->timers_fire(&w->wheel);
}

void *kr__mt_monitor_main(void *arg) {
    mt_rt *rt = arg;
    struct mt_seen *seen = rt->monitor_seen;
    int64_t interval = MONITOR_MIN_NS;
    uint64_t blocked_ns = rt->base.cfg.blocked_worker_ns;
    /* While blocked workers are watched, tick every 1 ms, idle or not. */
    bool keep_time = blocked_ns != 0;
    while (!kr__load_acquire(&rt->shutdown)) {
        kr__park(&rt->monitor_park, interval);
        if (kr__load_acquire(&rt->shutdown))
            break;
        bool active = false, stuck = false;
        int64_t timer_ns = -1; /* earliest timer of a stuck worker */
        uint64_t now = keep_time ? kr__ticks() : 0;
        for (unsigned i = 0; i < rt->n; i++) {
            mt_worker *w = rt->workers[i];
            if (blocked_ns != 0) {
                unsigned queued = kr__lq_len(&w->queue) +
                                  (kr__load_relaxed(&w->lifo) != NULL ? 1 : 0);
                kr__wstats_check_blocked(&w->stats, now, queued);
            }
            /* Relaxed: a heuristic; a stale read delays a notify by one
             * interval at worst. */
            uint64_t polls = kr__load_relaxed(&w->stats.polls);
            bool parked = kr__load_relaxed(&w->in_sleepers) != 0;
            if (polls != seen[i].polls) {
                active = true;
                seen[i].still_ns = 0;
            } else if (!parked) {
                if (kr__lq_len(&w->queue) != 0 ||
                    kr__load_relaxed(&w->lifo) != NULL)
                    stuck = true;
                /* Its own ring's I/O events too, where it has one, once
                 * it has stood still for LOOK_AFTER_NS (see the top). */
                seen[i].still_ns += interval;
                if (seen[i].still_ns >= LOOK_AFTER_NS)
                    kr__mt_monitor_look_io(w);
                int64_t ns = fire_timers(w);
                if (ns >= 0 && (timer_ns < 0 || ns < timer_ns))
                    timer_ns = ns;
            }
            seen[i].polls = polls;
        }
        if (stuck)
            kr__mt_notify_parked(rt);
        interval = (active || stuck)
                       ? MONITOR_MIN_NS
                       : (interval * 2 > MONITOR_MAX_NS ? MONITOR_MAX_NS
                                                        : interval * 2);
        if (keep_time)
            interval = MONITOR_MIN_NS;
        if (timer_ns >= 0 && timer_ns < interval)
            interval = timer_ns < MONITOR_MIN_NS ? MONITOR_MIN_NS : timer_ns;
    }
    return NULL;
}
