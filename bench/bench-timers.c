/*
 * bench/bench-timers.c: libuv's million_timers on kairo (timers/...).
 *
 * libuv's benchmark-million-timers.c (reference/c-peers.md §1.4) starts its
 * timers with a timeout that grows by 1 ms every 1000 timers, measured from
 * one loop time taken before the first. Here: TIMERS_N = 1,000,000 timers;
 * timer i (in registration order) fires (k/1000 + 1) ms after a base time
 * taken just before the first registration, where k = i for seq_... and
 * k = perm[i] for shuf_..., perm being a fixed shuffle of 0..N-1 (splitmix64
 * seeded with TIMERS_SHUFFLE_SEED, Fisher-Yates from the top: see
 * timers_shuffle; the libuv and Tokio peers compute the same permutation).
 * The last deadline is therefore base + 1000 ms.
 *
 * One task per timer, as Tokio does it: block_on spawns 1,000,000 tasks,
 * each of which awaits kr_sleep_until(its deadline). A sleep is registered
 * on the timer wheel at its task's first poll, so "registering all timers"
 * is spawning them and having every task polled once:
 *
 *   init      base -> the first poll of the last task to be polled (every
 *             timer is then on a wheel, or already fired if it was due)
 *   dispatch  end of init -> the last timer fires (its task resumes)
 *   total     base -> the last timer fires (at least 1000 ms)
 *
 * The instants are taken by the tasks themselves (the task whose poll brings
 * a counter to N reads the clock). Rows, in ns per whole run (not per
 * timer), median/min/max over REPS runs, each on a fresh runtime:
 *
 *   timers/{seq,shuf}_1000000_{ct,mt}.{init,dispatch,total}
 *
 * ct: the current-thread runtime; mt: the multi-thread runtime with
 * --workers workers (block_on runs on the bench thread, which is not a
 * worker, so the spawns are remote, as in the Tokio peer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define TIMERS_N      1000000
/* Timers per millisecond of deadline (libuv: timeout++ every 1000). */
#define TIMERS_PER_MS 1000

/* ---- the permutation ---------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* perm[0..n) = a fixed shuffle of 0..n-1: for i = n-1 down to 1, swap
 * perm[i] with perm[splitmix64() % (i + 1)]. */
static void timers_shuffle(uint32_t *perm, uint32_t n) {
    uint64_t state = TIMERS_SHUFFLE_SEED;
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(splitmix64(&state) % ((uint64_t)i + 1));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ---- one run ------------------------------------------------------------ */

/* What the tasks of one run share. Acquire/release on the counters: the
 * bench thread reads t_init after the oneshot, which the last firing task
 * sends after its decrement of `left`; the task that stored t_init made
 * its own decrement later, so the chain of RMWs carries the store. */
typedef struct timer_run {
    _Atomic long registered;
    _Atomic long left;
    _Atomic uint64_t t_init, t_last;
    long n;
    kr_oneshot_tx *done;
} timer_run;

/* `async move { sleep_until(deadline).await }`, counting its first poll
 * and its completion. */
typedef struct timer_task {
    kr_future base;
    timer_run *run;
    int polled;
    kr_sleep sleep;
} timer_task;

static kr_poll timer_task_poll(kr_future *f, kr_context *cx, void *out) {
    timer_task *t = (timer_task *)f;
    timer_run *run = t->run;
    kr_poll p = kr_future_poll(&t->sleep.base, cx, NULL);
    if (!t->polled) {
        t->polled = 1;
        if (atomic_fetch_add_explicit(&run->registered, 1,
                                      memory_order_acq_rel) +
                1 ==
            run->n)
            atomic_store_explicit(&run->t_init, bench_now_ns(),
                                  memory_order_relaxed);
    }
    if (p == KR_PENDING)
        return KR_PENDING;
    if (atomic_fetch_sub_explicit(&run->left, 1, memory_order_acq_rel) == 1) {
        atomic_store_explicit(&run->t_last, bench_now_ns(),
                              memory_order_relaxed);
        kr_oneshot_tx *tx = run->done;
        run->done = NULL;
        BENCH_OK(kr_oneshot_send(tx, NULL));
    }
    return KR_READY;
}

static void timer_task_drop(kr_future *f) {
    timer_task *t = (timer_task *)f;
    t->sleep.base.vtable->drop(&t->sleep.base);
}
KR_FUTURE_VTABLE(timer_task_vt, timer_task, timer_task_poll, timer_task_drop,
                 0);

/* The block_on future: takes the base time, spawns the N timer tasks, then
 * awaits the oneshot the last one to fire sends on. */
typedef struct timers_main {
    kr_future base;
    kr_coro co;
    timer_run *run;
    const uint32_t *perm; /* NULL: sequential */
    uint64_t base_ns;
    kr_oneshot_rx *rx;
    kr_oneshot_recv recv;
    int rc;
} timers_main;

static kr_poll timers_main_poll(kr_future *f, kr_context *cx, void *out) {
    timers_main *m = (timers_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    BENCH_OK(kr_oneshot_new(0, &m->run->done, &m->rx));
    {
        kr_instant base = kr_instant_now();
        timer_task t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &timer_task_vt;
        t.run = m->run;
        m->base_ns = base.ns;
        for (long i = 0; i < m->run->n; i++) {
            uint32_t k = m->perm != NULL ? m->perm[i] : (uint32_t)i;
            t.sleep = kr_sleep_until(
                kr_instant_add(base, kr_ms(k / TIMERS_PER_MS + 1)));
            BENCH_OK(kr_spawn(&t.base, NULL));
        }
    }
    m->recv = kr_oneshot_recv_future(m->rx, NULL);
    KR_AWAIT(&m->co, &m->recv.base, cx, &m->rc);
    BENCH_OK(m->rc);
    kr_oneshot_rx_drop(m->rx);
    m->rx = NULL;
    KR_ASYNC_END(&m->co);
}

static void timers_main_drop(kr_future *f) {
    kr_oneshot_rx_drop(((timers_main *)f)->rx);
}
KR_FUTURE_VTABLE(timers_main_vt, timers_main, timers_main_poll,
                 timers_main_drop, 0);

/* One run on a fresh runtime; fills init/dispatch/total in ns. Returns 0,
 * or -1 when the runtime cannot be made (the line is then skipped). */
static int timers_run_once(const bench_cfg *cfg, const char *name, int mt,
                           const uint32_t *perm, double res[3]) {
    kr_runtime_config c = kr_runtime_config_default();
    if (mt) {
        c.flavor = KR_RUNTIME_MULTI_THREAD;
        c.workers = cfg->workers;
        c.global_queue_interval = cfg->gqi;
    }
    kr_runtime *rt = NULL;
    int rc = kr_runtime_new(&c, &rt);
    if (rc != 0) {
        fprintf(stderr, "kairo-bench: %s: skipped (kr_runtime_new: %s)\n", name,
                kr_strerror(rc));
        return -1;
    }
    static timer_run run; /* tasks point at it; none outlives the run */
    atomic_store(&run.registered, 0);
    atomic_store(&run.left, TIMERS_N);
    atomic_store(&run.t_init, 0);
    atomic_store(&run.t_last, 0);
    run.n = TIMERS_N;
    run.done = NULL;

    timers_main m = {{&timers_main_vt},
                     KR_CORO_INIT,
                     &run,
                     perm,
                     0,
                     NULL,
                     {{NULL}, NULL, NULL, 0},
                     -1};
    BENCH_OK(kr_runtime_block_on(rt, &m.base, NULL));
    BENCH_CHECK_EQ("timers registered", atomic_load(&run.registered), TIMERS_N);
    BENCH_CHECK_EQ("timers left", atomic_load(&run.left), 0);
    uint64_t t_init = atomic_load_explicit(&run.t_init, memory_order_relaxed);
    uint64_t t_last = atomic_load_explicit(&run.t_last, memory_order_relaxed);
    if (t_init < m.base_ns || t_last < t_init)
        bench_fail("%s: instants out of order", name);
    /* The last deadline is base + 1000 ms; firing earlier is a bug. */
    if (t_last - m.base_ns < (uint64_t)kr_ms(TIMERS_N / TIMERS_PER_MS))
        bench_fail("%s: the last timer fired early (%.3f ms after base)", name,
                   (double)(t_last - m.base_ns) / 1e6);
    res[0] = (double)(t_init - m.base_ns);
    res[1] = (double)(t_last - t_init);
    res[2] = (double)(t_last - m.base_ns);
    kr_runtime_free(rt);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_row(const char *name, const char *part, double *v, int n) {
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    printf("%s.%s\t%.0f\t%.0f\t%.0f\tns\t%d x 1\n", name, part, median, v[0],
           v[n - 1], n);
}

void timers_bench(const bench_cfg *cfg, const char *name, int shuffled,
                  int mt) {
    uint32_t *perm = NULL;
    if (shuffled) {
        perm = malloc(sizeof(uint32_t) * TIMERS_N);
        if (perm == NULL)
            bench_fail("out of memory");
        timers_shuffle(perm, TIMERS_N);
    }
    double init[64], dispatch[64], total[64];
    int n = cfg->reps;
    for (int r = 0; r < n; r++) {
        double res[3];
        if (timers_run_once(cfg, name, mt, perm, res) != 0) {
            free(perm);
            return;
        }
        init[r] = res[0];
        dispatch[r] = res[1];
        total[r] = res[2];
    }
    print_row(name, "init", init, n);
    print_row(name, "dispatch", dispatch, n);
    print_row(name, "total", total, n);
    fflush(stdout);
    free(perm);
}
