/*
 * sched/idle.c: which workers search for work and which sleep.
 *
 * `idle` packs num_searching (low 16 bits) and num_unparked (high 16). The
 * sleeper stack is under idle_lock, which is taken only when a worker parks
 * or is woken; a spawn that finds someone searching (or nobody asleep)
 * decides that with one load and takes no lock.
 *
 * Rules (Tokio's, reference/tokio.md §2.6):
 *   - At most half the workers search at once (to_searching refuses more).
 *   - A notify wakes one sleeper only if nobody is searching: a searcher
 *     will find the new work. The woken worker starts as a searcher, so
 *     notifies are throttled to one in flight.
 *   - The last searcher to find work notifies another worker (chain
 *     ramp-up), and the last searcher to park looks at every queue once
 *     more and notifies if it finds work.
 *   - A worker turning the driver from its park does not notify for the
 *     tasks its I/O events wake (worker.c, notify_if_surplus): they go to
 *     its own queue, and it is still on the sleeper stack, so a notify
 *     could pop the worker itself and unpark its own driver for nothing.
 *     After the turn it leaves the stack (kr__mt_unpark_self) and, unless
 *     a notify made it a searcher (which notifies as above when it finds
 *     work), notifies once if it has surplus work. No wake-up is lost by
 *     this: the work is in the queue of a worker that is awake and never
 *     parks with local work, and the notify is only delayed to the turn's
 *     end (Tokio's park_timeout does the same).
 * Lost-wakeup argument: a pusher makes its task visible (seq_cst), then
 * reads `idle` (seq_cst). A parking searcher decrements `idle` (seq_cst),
 * then looks at the queues (seq_cst). In the single total order either the
 * pusher reads the decrement (and notifies: nobody searching) or the
 * searcher's look comes after the push (and it notifies).
 */
#include "sched/idle.h"
#include "util/atomic.h"

#define SEARCH_MASK 0xffffu
#define UNPARK_ONE  (1u << 16)

void kr__mt_idle_init(mt_rt *rt) {
    atomic_init(&rt->idle, rt->n * UNPARK_ONE);
    rt->n_sleepers = 0;
}

bool kr__mt_to_searching(mt_worker *w) {
    if (w->is_searching)
        return true;
    mt_rt *rt = w->rt;
    uint32_t s = kr__load_seqcst(&rt->idle);
    if (2 * (s & SEARCH_MASK) >= rt->n)
        return false;
    kr__fetch_add_seqcst(&rt->idle, 1);
    w->is_searching = 1;
    return true;
}

void kr__mt_from_searching(mt_worker *w) {
    w->is_searching = 0;
    uint32_t prev = kr__fetch_sub_seqcst(&w->rt->idle, 1);
    if ((prev & SEARCH_MASK) == 1)
        kr__mt_notify_parked(w->rt); /* we were the last: wake another */
}

void kr__mt_notify_parked(mt_rt *rt) {
    /* Fast path, no lock: someone searches, or nobody sleeps. */
    uint32_t s = kr__load_seqcst(&rt->idle);
    if ((s & SEARCH_MASK) != 0 || (s >> 16) >= rt->n)
        return;
    pthread_mutex_lock(&rt->idle_lock);
    s = kr__load_seqcst(&rt->idle);
    if ((s & SEARCH_MASK) != 0 || (s >> 16) >= rt->n || rt->n_sleepers == 0) {
        pthread_mutex_unlock(&rt->idle_lock);
        return;
    }
    /* The woken worker counts as unparked and searching from now on. */
    kr__fetch_add_seqcst(&rt->idle, 1 + UNPARK_ONE);
    mt_worker *w = rt->workers[rt->sleepers[--rt->n_sleepers]];
    kr__store_release(&w->in_sleepers, 0);
    pthread_mutex_unlock(&rt->idle_lock);
    kr__unpark(&w->park);
}

/* Returns true if this was the last searcher. */
bool kr__mt_to_parked(mt_worker *w) {
    mt_rt *rt = w->rt;
    pthread_mutex_lock(&rt->idle_lock);
    uint32_t dec = UNPARK_ONE + (w->is_searching ? 1 : 0);
    uint32_t prev = kr__fetch_sub_seqcst(&rt->idle, dec);
    bool last = w->is_searching && (prev & SEARCH_MASK) == 1;
    w->is_searching = 0;
    rt->sleepers[rt->n_sleepers++] = w->index;
    kr__store_release(&w->in_sleepers, 1);
    pthread_mutex_unlock(&rt->idle_lock);
    return last;
}

/* After a wake-up: false if a notify took us off the sleeper stack (we
 * are now a searcher); true if the wake-up was spurious or a shutdown. */
bool kr__mt_still_sleeping(mt_worker *w) {
    /* Acquire pairs with the notifier's release store. */
    if (kr__load_acquire(&w->in_sleepers))
        return true;
    w->is_searching = 1;
    return false;
}

/* A parked worker woken by its own timer timeout (nobody notified it)
 * takes itself off the sleeper stack and counts as unparked again. If a
 * notify took it off meanwhile, it was counted as a searcher: become one. */
void kr__mt_unpark_self(mt_worker *w) {
    mt_rt *rt = w->rt;
    pthread_mutex_lock(&rt->idle_lock);
    if (kr__load_relaxed(&w->in_sleepers)) { /* written under this lock */
        for (unsigned i = 0; i < rt->n_sleepers; i++) {
            if (rt->sleepers[i] == w->index) {
                rt->sleepers[i] = rt->sleepers[--rt->n_sleepers];
                break;
            }
        }
        kr__store_release(&w->in_sleepers, 0);
        kr__fetch_add_seqcst(&rt->idle, UNPARK_ONE);
    } else {
        w->is_searching = 1;
    }
    pthread_mutex_unlock(&rt->idle_lock);
}

void kr__mt_notify_if_work_pending(mt_rt *rt) {
    for (unsigned i = 0; i < rt->n; i++) {
        mt_worker *v = rt->workers[i];
        if (kr__lq_len(&v->queue) != 0 || kr__load_seqcst(&v->lifo) != NULL) {
            kr__mt_notify_parked(rt);
            return;
        }
    }
    if (kr__mt_inject_maybe_nonempty(&rt->inject))
        kr__mt_notify_parked(rt);
}

void kr__mt_unpark_all(mt_rt *rt) {
    for (unsigned i = 0; i < rt->n; i++)
        kr__unpark(&rt->workers[i]->park);
}
