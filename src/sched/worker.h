/* sched/worker.h: a worker thread of the multi-thread runtime (worker.c):
 * its loop, and the entry points by which tasks reach a worker. */
#ifndef KR_SCHED_WORKER_H
#define KR_SCHED_WORKER_H

#include "sched/mt.h"

/* Tokio's constants (reference/tokio.md §2): */
#define KR__MT_MAX_LIFO_POLLS 3 /* LIFO polls in a row before a real tick */

/* The thread's body; arg is its mt_worker. */
void *kr__mt_worker_main(void *arg);

/* On worker w's thread: queues t (its NOTIFIED reference) there; a yield
 * waits for the next look at I/O (worker.c). */
void kr__mt_schedule_local(mt_worker *w, kr__task *t, bool is_yield);

/* Any thread: queues the chain first..last on the inject queue and
 * notifies a parked worker (after shutdown the tasks are dropped there). */
void kr__mt_push_remote(mt_rt *rt, kr__task *first, kr__task *last);

/* The monitor's look at the I/O of worker w, stuck in one long poll
 * (sched/monitor.c): a non-blocking turn of w's own driver (where it has
 * one) if nobody turns it. Its wakes take the remote path. Monitor
 * thread only. */
void kr__mt_monitor_look_io(mt_worker *w);

/* The worker of `rt` this thread is, or NULL. */
static inline mt_worker *kr__mt_current(mt_rt *rt) {
#ifdef KR_TORTURE
    (void)rt;
    return NULL; /* every wake takes the remote path */
#else
    return kr__ctx.rt == &rt->base ? (mt_worker *)kr__ctx.worker : NULL;
#endif
}

#endif
