/*
 * sched/block_in_place.c: kr_block_in_place on the multi-thread runtime
 * (Tokio's block_in_place, tokio/src/runtime/scheduler/multi_thread/
 * worker.rs).
 *
 * A worker is its state in mt_worker (run queue, LIFO slot, defer list,
 * task cache, timer wheel, idle accounting), not the thread that runs it:
 * kr__ctx.worker says which thread owns it. A task calling
 * kr_block_in_place on the thread A that owns worker w:
 *   1. offers w: handoff = 1, with release (all A did to w is visible to
 *      the taker's acquire), and starts a thread N running handoff_main;
 *   2. runs fn as on a blocking-pool thread (kr__ctx cleared but for the
 *      runtime entered: kr_spawn spawns onto it, kr_runtime_block_on of
 *      any runtime works; no budget);
 *   3. tries to take w back: CAS handoff 1 -> 0. N makes the same CAS
 *      first thing; exactly one of them wins.
 *      - N won: N runs the worker loop for w from then on (its queue, its
 *        LIFO task, its timers: nothing waits for fn). A is left without
 *        a worker (kr__ctx.worker NULL, as on a block_on thread): the
 *        task's poll goes on there, its spawns and wakes taking the remote
 *        path; when the poll returns, A's worker loop sees that
 *        kr__ctx.worker is no longer w (one compare per poll, run_task in
 *        worker.c), queues a yielded task on the inject queue, unparks w
 *        (the poll may have filed a sleep on w's wheel, which N fires) and
 *        the thread exits.
 *      - A won (N had not started yet, or none could be started): A goes
 *        on as w's owner; N, if it starts, finds w taken and exits.
 *   The CAS is the whole hand-over: w has one owner at any time. A late N
 *   that wins a later offer of w (A blocking again) serves as well as the
 *   thread that offer started, which then exits.
 * Tokio moves its Core between threads the same way (through an
 * AtomicCell); its new thread comes from the blocking pool, and the old
 * one returns to the pool. Here the new thread is started for the purpose
 * and the old one exits: a pthread_create per block_in_place that gives
 * its worker away.
 *
 * Threads. N is joinable and goes on rt->threads (under threads_lock);
 * mt_shutdown joins them after the workers' first threads. A thread is
 * only started under threads_lock while `shutdown` is unset, and the
 * shutdown takes the lock after setting it, so none starts after it has
 * looked. During a shutdown fn runs in place, the worker kept.
 *
 * Not on a worker (the block_on future, a task whose thread already gave
 * its worker away, fn of an outer block_in_place): fn runs in place, as in
 * Tokio.
 */
#include <string.h>

#include "core/rt_thread.h"
#include "sched/block_in_place.h"
#include "sched/worker.h"
#include "util/alloc.h"
#include "util/atomic.h"

static void *handoff_main(void *arg) {
    mt_worker *w = arg;
    int one = 1;
    /* Acquire pairs with the offer's release store. */
    if (!kr__cas_acquire(&w->handoff, &one, 0))
        return NULL; /* its owner kept it */
    return kr__mt_worker_main(w);
}

/* Offers w (owned by the caller) to a new thread. Returns false if none
 * could be started, or the runtime is shutting down: w stays the
 * caller's. */
static bool offer(mt_rt *rt, mt_worker *w) {
    mt_thread *t = kr__malloc(sizeof(*t));
    if (t == NULL)
        return false;
    bool ok = false;
    pthread_mutex_lock(&rt->threads_lock);
    if (!kr__load_acquire(&rt->shutdown)) {
        kr__store_release(&w->handoff, 1);
        if (kr__rt_thread_start(&rt->base.cfg, &t->th, false, handoff_main,
                                w) == 0) {
            t->next = rt->threads;
            rt->threads = t;
            ok = true;
        } else {
            kr__store_relaxed(&w->handoff, 0); /* no taker exists */
        }
    }
    pthread_mutex_unlock(&rt->threads_lock);
    if (!ok)
        kr__free(t);
    return ok;
}

int kr__mt_block_in_place(mt_rt *rt, kr_blocking_fn fn, void *arg, void **out) {
    mt_worker *w = kr__ctx.rt == &rt->base ? (mt_worker *)kr__ctx.worker : NULL;
    bool offered = w != NULL && offer(rt, w);
    kr__ctx_t saved = kr__ctx;
    memset(&kr__ctx, 0, sizeof(kr__ctx));
    kr__ctx.budget = KR__BUDGET_UNLIMITED;
    /* Entered, as a blocking-pool thread: kr_spawn in fn spawns here (the
     * runtime outlives the task that calls us). */
    kr__ctx.entered = rt->base.handle;
    void *r = fn(arg);
    kr__ctx = saved;
    if (offered) {
        int one = 1;
        if (!kr__cas_acquire(&w->handoff, &one, 0)) {
            /* The new thread has w. The wheel stays w's (it has its own
             * lock): the worker loop unparks w after this poll. */
            kr__ctx.worker = NULL;
            kr__ctx.cache = NULL;
            kr__ctx.io_ring = NULL; /* w's ring is the new thread's */
        }
    }
    if (out != NULL)
        *out = r;
    return 0;
}

void kr__mt_join_handoff_threads(mt_rt *rt) {
    pthread_mutex_lock(&rt->threads_lock);
    mt_thread *t = rt->threads;
    rt->threads = NULL;
    pthread_mutex_unlock(&rt->threads_lock);
    while (t != NULL) {
        mt_thread *next = t->next;
        pthread_join(t->th, NULL);
        kr__free(t);
        t = next;
    }
}
