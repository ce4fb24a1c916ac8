/*
 * blocking/pool.c: the blocking pool, Tokio's spawn_blocking pool
 * (reference/tokio.md §5) in C.
 *
 * Jobs. A job is a task (task/task.h) whose future calls fn(arg) in its one
 * poll and returns READY with the result, so join handles, abort handles
 * and cancellation are the task machinery's. Its scheduler is the pool's
 * kr__sched: `release` returns false (no list of live tasks: like Tokio's
 * UnownedTask the pool accounts for its jobs itself), `unpin` drops the
 * reference a cell made outside any task cache holds on the pool. A job is
 * NOTIFIED from its spawn until its one poll, which completes it, so no
 * wake or abort can submit it again: `schedule` would queue it all the
 * same, `yield` cannot happen and dies.
 *
 * References. kr__task_new gives OWNED + NOTIFIED (+ JOIN). The first two
 * travel with the job through the queue and belong to the thread that
 * pops it: kr__task_run consumes NOTIFIED (and, if the job was aborted
 * meanwhile, cancels it without calling fn), then the thread drops OWNED.
 * A job cancelled unstarted by a shutdown goes through kr__task_shutdown,
 * which drops OWNED, and kr__task_drop_queued, which drops NOTIFIED.
 *
 * The lock. One mutex `mu` guards every decision about who runs what: the
 * queue (a FIFO linked through the task header's `next`), the idle list,
 * the counters, `shutdown` and `orphaned`. A job costs one short critical
 * section at its spawn and one when a thread pops it; the job itself is a
 * blocking call, and handing it to a sleeping thread costs a wake-up of
 * several microseconds, so a single lock only becomes the bottleneck with
 * many threads spawning trivial jobs at once (Tokio's #2528, which its
 * unstable 16-shard queue answers). Where this pool departs from Tokio's
 * mutex + condvar (`LockedImpl`) is the wake-ups:
 *   - Tokio wakes one idle thread per job spawned. A burst of 16 trivial
 *     jobs then costs the spawning worker 16 futex wakes, and wakes 16
 *     threads that mostly find the queue already emptied by the first ones.
 *     Here the pool counts the threads on their way to the queue
 *     (`n_waking`, like the scheduler's searching workers): a spawn wakes
 *     (or starts) a thread only when none is coming, and a thread arriving
 *     from a wake-up sends up to FAN_OUT (2) more, before it runs its own
 *     job, while queued jobs outnumber the threads on their way. A burst
 *     of long jobs gets its threads in log2(n) wake-up rounds; the spawner
 *     makes one wake per burst; trivial jobs are drained by threads already
 *     awake, a thread free again taking the next job without anyone
 *     sleeping or waking.
 *   - Each idle thread sleeps on its own parker (core/park.h) in a LIFO
 *     list, and the most recently idled is woken first: the busy threads
 *     stay few and warm, and the rest reach their keep-alive and exit. A
 *     condvar's waiters are woken near FIFO, so a steady trickle of jobs
 *     rotates through every thread of an earlier burst and keeps all of
 *     them alive (measured: after a burst made 8 threads, one trivial job
 *     every 5 ms for 500 ms with a 100 ms keep-alive left Tokio 1.24 with
 *     8 threads, this pool with 1).
 *   - Wake-ups and pthread_create happen outside the lock, and a thread a
 *     job starts is started by a pool thread rather than by the runtime
 *     worker that spawned the burst (except the first one).
 *
 * Invariant (under mu): if jobs are queued, then a thread is on its way
 * (n_waking > 0), or no thread is idle and the cap is reached, or every
 * thread is busy and one could not be started. A thread only goes idle
 * with the queue empty; every push and every pop re-checks it (more_hands);
 * a failed start re-checks the idle list; a thread whose keep-alive ends
 * with jobs queued takes one instead of exiting.
 *
 * Thread records. A thread's record (its parker, idle-list links, `woken`)
 * belongs to the pool, not to the thread's stack: an exiting thread leaves
 * it on the `spare` list for the next thread started, and the pool frees
 * them all when it goes. So a waker may unpark a thread after unlocking mu
 * even if that thread has meanwhile woken on its own, run, and exited: a
 * late unpark only makes some later park return early, and every park is
 * in a loop that re-checks `woken`. `woken` is set under mu by whoever
 * takes the thread off the idle list, and read by the thread after a park
 * (a relaxed peek; mu, taken next, orders the rest).
 *
 * Shutdown (kr__blocking_shutdown): under mu, set `shutdown` (and its
 * lock-free copy `closed`), take the whole queue, and wake every idle
 * thread; outside mu, cancel the taken jobs (their join wakers run
 * arbitrary code). A job popped before the shutdown but not yet started
 * reads `closed` and is cancelled too. Then wait on `done` (broadcast by
 * every exiting thread) until every thread has exited, for at most the
 * timeout while jobs still run; threads that are only idle or exiting
 * run no user code and are waited for without a timeout.
 *
 * Lifetime. The pool's memory is freed when both
 *   - `refs` (the runtime's reference, plus one per task cell allocated
 *     outside any task cache, dropped by `unpin` when the cell is freed)
 *     has reached zero: whoever drops the last sets `orphaned` under mu;
 *   - and `n_threads` is zero: each thread's last touch of the pool is the
 *     unlock after its decrement.
 * Whoever makes the second of the two true frees it, after unlocking: the
 * last thread of a shutdown that timed out, or the last unref. Threads
 * left running by a timed-out shutdown so keep the pool alive without
 * holding references, and after a shutdown that saw every thread exit the
 * runtime's release is the one that frees (deterministic for leak checks).
 * Cells made from a runtime's task cache pin that cache, not the pool:
 * they touch the pool only while a thread or a shutdown runs or cancels
 * them, which keeps it alive by the rules above.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "blocking/pool.h"
#include "core/runtime.h"
#include "core/context.h"
#include "core/handle.h"
#include "core/park.h"
#include "core/rt_thread.h"
#include "task/state.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/clock.h"
#include "util/list.h"
#include "util/thread.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

typedef struct pool_thread pool_thread;

struct kr__blocking_pool {
    kr__sched sched;

    pthread_mutex_t mu;
    pthread_cond_t done; /* broadcast when a thread exits after shutdown */

    /* Under mu. */
    kr__task *head, *tail; /* queued jobs, each with OWNED + NOTIFIED */
    kr__list idle;         /* idle threads, most recently idled first */
    pool_thread *spare;    /* records of exited threads */
    unsigned n_threads;    /* started (or starting) and not exited */
    unsigned n_idle;       /* on the idle list */
    unsigned n_waking;     /* woken or starting, not yet at the queue */
    unsigned n_running;    /* jobs popped and not finished */
    unsigned n_queued;
    unsigned unfinished; /* n_running when a shutdown last timed out */
    int shutdown;
    int orphaned;             /* refs reached zero */
    struct timespec deadline; /* of the shutdown's wait (CLOCK_MONOTONIC) */

    /* Set with `shutdown`; read without mu by a thread about to start a
     * job. Relaxed: it only decides whether the job is cancelled, and a
     * job racing with the shutdown may go either way. */
    _Atomic int closed;
    _Atomic long refs;
    /* The runtime's handle, entered by every pool thread (kr__ctx.entered)
     * so that kr_spawn in a job spawns onto the runtime; referenced. */
    kr__handle *handle;

    /* Constant. */
    kr_runtime_config cfg; /* thread settings and hooks (core/rt_thread.h) */
    unsigned cap;
    uint64_t keep_alive_ns;
    uint64_t shutdown_timeout_ns;
};

#define POOL_OF(s)                                                             \
    ((kr__blocking_pool *)((char *)(s)-offsetof(kr__blocking_pool, sched)))

/* A thread's record (see "Thread records" above). */
struct pool_thread {
    kr__parker park;
    kr__list idle_link;       /* on the idle list */
    struct pool_thread *next; /* on the spare list */
    kr__blocking_pool *pool;
    _Atomic int woken; /* written under mu */
};

/* The pool whose job this thread runs: a shutdown called from inside a job
 * does not wait for that job. */
static __thread kr__blocking_pool *this_pool;

/* ---- time --------------------------------------------------------------- */

static uint64_t now_ns(void) { return kr__now_ns(); }

static struct timespec to_timespec(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    return ts;
}

/* ---- the job future ---------------------------------------------------- */

typedef struct blocking_job {
    kr_future base;
    kr_blocking_fn fn;
    void *arg;
} blocking_job;

static kr_poll job_poll(kr_future *f, kr_context *cx, void *out) {
    blocking_job *j = (blocking_job *)f;
    /* fn runs as on a plain thread: the harness named the job `current`
     * for self-wakes, which fn cannot make (the job's waker never leaves
     * this poll); the rest of the context is empty and the budget
     * unlimited, as on any thread outside a runtime. `job` keeps the
     * job's id readable (kr_task_id, as Tokio's inside spawn_blocking). */
    kr__ctx.job = kr__ctx.current; /* for kr_task_id inside fn */
    kr__ctx.current = NULL;
    void *r = j->fn(j->arg);
    kr__ctx.job = NULL;
    if (out != NULL)
        memcpy(out, &r, sizeof(r));
    return KR_READY;
}

static const kr_future_vtable job_vtable = {
    job_poll, NULL, sizeof(blocking_job), sizeof(void *), "kr_spawn_blocking"};

/* ---- memory ------------------------------------------------------------- */

static void pool_destroy(kr__blocking_pool *p) {
    while (p->spare != NULL) {
        pool_thread *w = p->spare;
        p->spare = w->next;
        kr__free(w);
    }
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    kr__handle_unref(p->handle);
    kr__free(p);
}

static void pool_unref(kr__blocking_pool *p) {
    if (kr__fetch_sub_acqrel(&p->refs, 1) != 1)
        return;
    pthread_mutex_lock(&p->mu);
    p->orphaned = 1;
    bool free_it = p->n_threads == 0;
    pthread_mutex_unlock(&p->mu);
    if (free_it)
        pool_destroy(p);
}

/* Under mu: a thread is gone (exited, or never started). Returns true if
 * the caller must free the pool once it has unlocked mu. */
static bool thread_gone(kr__blocking_pool *p) {
    p->n_threads--;
    if (p->shutdown)
        pthread_cond_broadcast(&p->done);
    return p->n_threads == 0 && p->orphaned;
}

/* ---- queue and idle list (under mu) ------------------------------------- */

static void queue_push(kr__blocking_pool *p, kr__task *t) {
    /* Relaxed: `next` is ours while the job is queued, and mu orders it. */
    kr__store_relaxed(&t->next, NULL);
    if (p->tail != NULL)
        kr__store_relaxed(&p->tail->next, t);
    else
        p->head = t;
    p->tail = t;
    p->n_queued++;
}

static kr__task *queue_pop(kr__blocking_pool *p) {
    kr__task *t = p->head;
    if (t != NULL) {
        p->head = kr__load_relaxed(&t->next);
        if (p->head == NULL)
            p->tail = NULL;
        p->n_queued--;
    }
    return t;
}

/* Takes the whole queue; returns its head. */
static kr__task *queue_take(kr__blocking_pool *p) {
    kr__task *t = p->head;
    p->head = p->tail = NULL;
    p->n_queued = 0;
    return t;
}

static void idle_push(kr__blocking_pool *p, pool_thread *w) {
    kr__list_push_front(&p->idle, &w->idle_link);
    p->n_idle++;
}

static void idle_remove(kr__blocking_pool *p, pool_thread *w) {
    kr__list_remove(&w->idle_link);
    p->n_idle--;
}

/* Takes the most recently idled thread off the list, counted as waking;
 * the caller unparks it. */
static pool_thread *idle_take(kr__blocking_pool *p) {
    pool_thread *w =
        KR__CONTAINER_OF(kr__list_front(&p->idle), pool_thread, idle_link);
    idle_remove(p, w);
    p->n_waking++;
    kr__store_relaxed(&w->woken, 1); /* under mu: see the file top */
    return w;
}

/* A thread arriving at the queue from a wake-up sends up to this many
 * more while jobs outnumber the threads on their way: a burst of long
 * jobs gets its threads in log2(n) wake-ups instead of n in a row, while
 * a burst of trivial jobs, drained by the first thread before the next
 * wake-ups land, costs two or three wakes instead of one per job.
 * Measured with 64 jobs sleeping 10 ms, spawned from outside a 2-worker
 * multi-thread runtime on 2 vCPUs: sending one at a time took 34 ms on a
 * cold pool and 10.9-18.5 ms warm; two at a time, 11.9-13.4 ms cold and
 * 10.6-11.5 ms warm; Tokio 1.24 (a wake per job) 13.2-14.5 ms cold and
 * 10.7-14.1 ms warm. */
#define FAN_OUT 2

/* What to do about queued jobs once mu is released. */
typedef struct hands {
    unsigned n;
    bool start[FAN_OUT];       /* start a thread (its slot is reserved) */
    pool_thread *who[FAN_OUT]; /* the thread to unpark, or the spare
                                   record to start one with (NULL: new) */
} hands;

/*
 * Under mu, after a push or a pop: sends up to `max` threads to the queue
 * while queued jobs outnumber the threads already on their way: the most
 * recently idled ones, or, when `may_start`, new ones below the cap.
 */
static hands more_hands(kr__blocking_pool *p, unsigned max, bool may_start) {
    hands h;
    h.n = 0;
    while (h.n < max && p->n_queued > p->n_waking) {
        if (!kr__list_empty(&p->idle)) {
            h.start[h.n] = false;
            h.who[h.n] = idle_take(p);
        } else if (may_start && p->n_threads < p->cap) {
            p->n_threads++;
            p->n_waking++;
            h.start[h.n] = true;
            h.who[h.n] = p->spare;
            if (p->spare != NULL)
                p->spare = p->spare->next;
        } else {
            break;
        }
        h.n++;
    }
    return h;
}

/* The chain: a spawner, or a thread back from a job, sends one only when
 * none is on its way; one that is will send more when it arrives. */
static unsigned chain(const kr__blocking_pool *p) {
    return p->n_waking == 0 ? 1 : 0;
}

/* ---- running and cancelling jobs ---------------------------------------- */

/* A job that will not run: cancel it (its handle reads KR_ECANCELED) and
 * drop both of the queue's references. */
static void cancel_job(kr__task *t) {
    kr__task_shutdown(t);    /* idle (never polled): cancelled; drops OWNED */
    kr__task_drop_queued(t); /* the NOTIFIED reference */
}

static void cancel_list(kr__task *t) {
    while (t != NULL) {
        kr__task *next = kr__load_relaxed(&t->next); /* before it can go */
        cancel_job(t);
        t = next;
    }
}

/* Takes `t` out of the list at *head (linked through `next`, ours) if it
 * is there. */
static bool list_remove(kr__task **head, kr__task *t) {
    kr__task *prev = NULL;
    for (kr__task *q = *head; q != NULL;
         prev = q, q = kr__load_relaxed(&q->next)) {
        if (q != t)
            continue;
        kr__task *next = kr__load_relaxed(&t->next);
        if (prev != NULL)
            kr__store_relaxed(&prev->next, next);
        else
            *head = next;
        return true;
    }
    return false;
}

static void run_job(kr__blocking_pool *p, kr__task *t) {
    if (kr__load_relaxed(&p->closed)) {
        cancel_job(t); /* shut down before it started */
        return;
    }
    /* Consumes NOTIFIED; fn runs, unless aborted. */
    if (kr__task_run(t))
        kr__die("a blocking job yielded (its poll always returns READY)");
    kr__task_drop_ref(t); /* OWNED */
}

/* ---- threads ------------------------------------------------------------ */

enum { WAIT_WOKEN, WAIT_WORK, WAIT_EXPIRED };

/*
 * With mu held (on entry and on return): waits on the idle list until a
 * spawner or the shutdown takes the thread off it (WAIT_WOKEN: counted in
 * n_waking), or the keep-alive runs out: then the thread is off the list
 * and WAIT_WORK says jobs are queued all the same (it takes one rather
 * than exit), WAIT_EXPIRED that it should exit.
 */
static int idle_wait(kr__blocking_pool *p, pool_thread *self) {
    idle_push(p, self);
    kr__store_relaxed(&self->woken, 0);
    uint64_t deadline = now_ns() + p->keep_alive_ns;
    pthread_mutex_unlock(&p->mu);
    for (;;) {
        uint64_t now = now_ns();
        if (now < deadline)
            kr__park(&self->park, (int64_t)(deadline - now));
        /* Relaxed peek: mu, taken next, orders what the waker did. */
        if (kr__load_relaxed(&self->woken)) {
            pthread_mutex_lock(&p->mu);
            return WAIT_WOKEN;
        }
        if (now_ns() >= deadline) {
            pthread_mutex_lock(&p->mu);
            if (kr__load_relaxed(&self->woken))
                return WAIT_WOKEN;
            idle_remove(p, self);
            return p->head != NULL ? WAIT_WORK : WAIT_EXPIRED;
        }
        /* Early: a late unpark meant for an earlier wait. Park again. */
    }
}

static void *thread_main(void *arg);

/*
 * Starts a detached thread in the slot more_hands reserved, with `rec` or
 * a new record. On failure, undoes the reservation; if that left no thread
 * at all, the queued jobs (which nobody would run) are moved to *orphans
 * for the caller to cancel or reclaim. Returns whether it started.
 *
 * The config's stack size, by default a plain thread's: a job may be any
 * C code (getaddrinfo, compression libraries).
 */
static bool start_thread(kr__blocking_pool *p, pool_thread *rec,
                         kr__task **orphans) {
    if (rec == NULL) {
        rec = kr__malloc(sizeof(*rec));
        if (rec != NULL) {
            kr__parker_init(&rec->park);
            kr__list_node_init(&rec->idle_link);
            rec->next = NULL;
            rec->pool = p;
            atomic_init(&rec->woken, 0);
        }
    }
    if (rec != NULL) {
        pthread_t th;
        if (kr__rt_thread_start(&p->cfg, &th, true, thread_main, rec) == 0)
            return true;
    }
    hands h = {0, {false}, {NULL}};
    pthread_mutex_lock(&p->mu);
    if (rec != NULL) {
        rec->next = p->spare;
        p->spare = rec;
    }
    p->n_waking--;
    /* Never the moment to free: the caller is a spawner (its runtime holds
     * a reference) or a pool thread (counted in n_threads). */
    (void)thread_gone(p);
    if (p->n_threads == 0)
        *orphans = queue_take(p);
    else /* keep the invariant: a thread may have gone idle meanwhile */
        h = more_hands(p, chain(p), false);
    pthread_mutex_unlock(&p->mu);
    if (h.n != 0)
        kr__unpark(&h.who[0]->park);
    return false;
}

/* After unlocking mu: acts on `h`. Jobs orphaned by a failed start go to
 * *orphans. */
static void send_hands(kr__blocking_pool *p, hands h, kr__task **orphans) {
    for (unsigned i = 0; i < h.n; i++) {
        if (h.start[i])
            start_thread(p, h.who[i], orphans);
        else
            kr__unpark(&h.who[i]->park);
    }
}

static void *thread_main(void *arg) {
    pool_thread *self = arg;
    kr__blocking_pool *p = self->pool;
    this_pool = p;
    kr__ctx.entered = p->handle;
    bool waking = true; /* counted in n_waking by whoever started us */
    kr__rt_thread_begin(&p->cfg, "kairo-blocking");

    pthread_mutex_lock(&p->mu);
    for (;;) {
        kr__task *t = queue_pop(p);
        unsigned fan = chain(p);
        if (waking) {
            p->n_waking--;
            waking = false;
            fan = FAN_OUT;
        }
        if (t != NULL) {
            p->n_running++;
            hands h = more_hands(p, fan, true); /* before our job */
            pthread_mutex_unlock(&p->mu);
            kr__task *orphans = NULL; /* stays NULL: we are a thread */
            send_hands(p, h, &orphans);
            run_job(p, t);
            pthread_mutex_lock(&p->mu);
            p->n_running--;
            continue;
        }
        if (p->shutdown)
            break;
        int r = idle_wait(p, self);
        if (r == WAIT_EXPIRED)
            break;
        waking = r == WAIT_WOKEN;
    }
    this_pool = NULL;
    kr__ctx.entered = NULL;
    if (p->cfg.on_thread_stop != NULL) {
        /* The hook runs without mu, while the thread still counts in
         * n_threads (a shutdown waits for it). Meanwhile a spawner may
         * have found the cap reached and no idle thread: see below. */
        pthread_mutex_unlock(&p->mu);
        kr__rt_thread_end(&p->cfg);
        pthread_mutex_lock(&p->mu);
    }
    self->next = p->spare;
    p->spare = self;
    (void)thread_gone(p);
    /* Keep the invariant for jobs queued while mu was let go above (or
     * while this thread's slot counted against the cap). */
    hands h = {0, {false}, {NULL}};
    if (!p->shutdown)
        h = more_hands(p, chain(p), true);
    bool free_it = p->n_threads == 0 && p->orphaned;
    pthread_mutex_unlock(&p->mu);
    if (h.n != 0) {
        kr__task *orphans = NULL;
        send_hands(p, h, &orphans);
        cancel_list(orphans);
    }
    if (free_it)
        pool_destroy(p);
    return NULL;
}

/* ---- the pool's kr__sched hooks ----------------------------------------- */

static void pool_schedule(kr__sched *s, kr__task *t) {
    /* Unreachable (see the file top); kept correct all the same: the
     * caller's reference is the NOTIFIED one, and a queued job carries an
     * OWNED one beside it. */
    kr__blocking_pool *p = POOL_OF(s);
    kr__ref_inc(t);
    pthread_mutex_lock(&p->mu);
    if (p->shutdown) {
        pthread_mutex_unlock(&p->mu);
        cancel_job(t);
        return;
    }
    queue_push(p, t);
    hands h = more_hands(p, chain(p), true);
    pthread_mutex_unlock(&p->mu);
    kr__task *orphans = NULL;
    send_hands(p, h, &orphans);
    cancel_list(orphans);
}

static bool pool_release(kr__sched *s, kr__task *t) {
    (void)s;
    (void)t;
    return false; /* on no list: the pool drops the OWNED reference */
}

static void pool_unpin(kr__sched *s) { pool_unref(POOL_OF(s)); }

static const kr__sched_ops pool_ops = {pool_schedule, pool_release, pool_unpin};

/* ---- API ---------------------------------------------------------------- */

kr__blocking_pool *kr__blocking_new(const kr_runtime_config *cfg,
                                    kr__handle *handle) {
    kr__blocking_pool *p = kr__calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        kr__free(p);
        return NULL;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&p->done, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        kr__free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    kr__list_init(&p->idle);
    p->sched.ops = &pool_ops;
    /* Resolved by kr_runtime_new: a 0 here is a literal zero (KR_ZERO). */
    p->cfg = *cfg;
    p->cap = cfg->max_blocking_threads;
    p->keep_alive_ns = (uint64_t)cfg->blocking_keep_alive_ms * NS_PER_MS;
    p->shutdown_timeout_ns = (uint64_t)cfg->shutdown_timeout_ms * NS_PER_MS;
    atomic_init(&p->closed, 0);
    atomic_init(&p->refs, 1); /* the runtime's */
    p->handle = handle;
    if (handle != NULL)
        kr__handle_ref(handle);
    return p;
}

int kr__blocking_spawn(kr__blocking_pool *p, kr_blocking_fn fn, void *arg,
                       const kr_task_builder *b, kr_join_handle *jh) {
    blocking_job j = {{&job_vtable}, fn, arg};
    /* A builder's job is copied in through the in-place record, which
     * carries the name and site (task/task.h). */
    kr__in_place ip = {{&kr__in_place_vtable}, &job_vtable, NULL, &j, 0, b};
    /* The calling thread's own task cache if it drives a runtime (a
     * worker, a block_on): no malloc, and the cell pins that cache rather
     * than the pool. */
    kr__cache *c = kr__ctx.cache;
    kr__task *t =
        kr__task_new(&p->sched, c, b != NULL ? &ip.base : &j.base, jh != NULL);
    if (t == NULL)
        return KR_ENOMEM;
    if (c == NULL)
        kr__fetch_add_relaxed(&p->refs, 1); /* the cell pins us; unpin */

    pthread_mutex_lock(&p->mu);
    if (p->shutdown) {
        pthread_mutex_unlock(&p->mu);
        kr__task_dealloc(t); /* nobody else saw it; no future to drop */
        return KR_ESHUTDOWN;
    }
    queue_push(p, t);
    hands h = more_hands(p, chain(p), true);
    /* If the start fails we look for `t` among the orphans: keep it alive
     * (it is queued, so nobody can have run it yet) so that its address
     * cannot have been reused meanwhile. */
    bool start = h.n != 0 && h.start[0];
    if (start)
        kr__ref_inc(t);
    pthread_mutex_unlock(&p->mu);

    if (start) {
        kr__task *orphans = NULL;
        send_hands(p, h, &orphans);
        bool mine = list_remove(&orphans, t);
        cancel_list(orphans); /* accepted earlier; nobody would run them */
        kr__task_drop_ref(t); /* the reference taken above */
        if (mine) {
            kr__task_dealloc(t); /* never seen by anyone else */
            return KR_ENOMEM;
        }
    } else if (h.n != 0) {
        kr__unpark(&h.who[0]->park);
    }
    if (jh != NULL)
        kr__join_init(jh, t);
    return 0;
}

int kr__blocking_shutdown(kr__blocking_pool *p, bool wait) {
    kr__task *queued = NULL;
    pthread_mutex_lock(&p->mu);
    if (!p->shutdown) {
        p->shutdown = 1;
        kr__store_relaxed(&p->closed, 1);
        p->deadline = to_timespec(now_ns() + p->shutdown_timeout_ns);
        queued = queue_take(p);
        /* Unparked under mu: this is rare, and a record taken off the
         * list here may be reused as soon as mu is released. */
        while (!kr__list_empty(&p->idle))
            kr__unpark(&idle_take(p)->park);
    }
    pthread_mutex_unlock(&p->mu);
    cancel_list(queued); /* wakes join wakers: outside mu */
    if (!wait)
        return 0;

    /* A shutdown from inside one of our jobs does not wait for itself. */
    unsigned self = this_pool == p ? 1 : 0;
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    while (p->n_threads > self) {
        if (p->n_running > self) {
            struct timespec now = to_timespec(now_ns());
            if (now.tv_sec > p->deadline.tv_sec ||
                (now.tv_sec == p->deadline.tv_sec &&
                 now.tv_nsec >= p->deadline.tv_nsec)) {
                rc = KR_ETIMEDOUT;
                break;
            }
            pthread_cond_timedwait(&p->done, &p->mu, &p->deadline);
        } else {
            /* Only idle or exiting threads: they run no user code. */
            pthread_cond_wait(&p->done, &p->mu);
        }
    }
    p->unfinished = rc != 0 ? p->n_running - self : 0;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void kr__blocking_metrics(kr__blocking_pool *p, kr_runtime_metrics *m) {
    pthread_mutex_lock(&p->mu);
    m->blocking_threads = p->n_threads;
    m->blocking_idle = p->n_idle;
    m->blocking_queued = p->n_queued;
    m->blocking_unfinished = p->unfinished;
    pthread_mutex_unlock(&p->mu);
}

void kr__blocking_release(kr__blocking_pool *p) { pool_unref(p); }
