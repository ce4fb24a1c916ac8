/*
 * tests/blocking.h: what the blocking-pool tests share (test-blocking.c,
 * test-blocking-shutdown.c): a runtime with pool settings, waiting helpers,
 * a gate a job blocks on, counted jobs, and futures that spawn and join.
 */
#ifndef KR_TESTS_BLOCKING_H
#define KR_TESTS_BLOCKING_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test.h"

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A runtime of the test flavor with the pool's limits (0: defaults). */
static inline kr_runtime *blocking_runtime(unsigned cap, unsigned keep_alive_ms,
                                           unsigned timeout_ms) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    c.max_blocking_threads = cap;
    c.blocking_keep_alive_ms = keep_alive_ms;
    c.shutdown_timeout_ms = timeout_ms;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

static inline kr_runtime_metrics metrics(kr_runtime *rt) {
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    return m;
}

/* Waits (sleeping) until *v reaches `want`, for at most 5 s. */
static inline void wait_for(atomic_long *v, long want) {
    double t0 = now_ms();
    while (atomic_load(v) < want) {
        if (now_ms() - t0 > 5000)
            fail_msg("waited 5 s for %ld, at %ld", want, atomic_load(v));
        test_sleep_ms(1);
    }
}

/* Polls a finished handle by hand (after a shutdown no block_on runs). */
static inline void *poll_finished(kr_join_handle *h) {
    assert_true(kr_join_handle_is_finished(h));
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    void *out = (void *)1;
    assert_int_equal(kr_future_poll(&h->base, &cx, &out), KR_READY);
    return out;
}

/* A gate jobs block on until the test opens it. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
} gate;

static inline void gate_init(gate *g) {
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = 0;
}
static inline void gate_open(gate *g) {
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}
static inline void gate_pass(gate *g) {
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}
static inline void gate_destroy(gate *g) {
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

/* ---- jobs ------------------------------------------------------------- */

/* Returns arg + 1. */
static inline void *plus_one(void *arg) { return (void *)((uintptr_t)arg + 1); }

typedef struct counted {
    atomic_long started, finished, cur, max;
    gate g;
    int sleep_ms;
} counted;

/* Counts itself in, tracks the concurrency, passes the gate (if the test
 * closed it), sleeps sleep_ms, counts itself out. Returns arg. */
static inline void *counted_job(void *arg) {
    counted *c = arg;
    atomic_fetch_add(&c->started, 1);
    long cur = atomic_fetch_add(&c->cur, 1) + 1;
    long m = atomic_load(&c->max);
    while (cur > m && !atomic_compare_exchange_weak(&c->max, &m, cur))
        ;
    gate_pass(&c->g);
    if (c->sleep_ms > 0)
        test_sleep_ms(c->sleep_ms);
    atomic_fetch_sub(&c->cur, 1);
    atomic_fetch_add(&c->finished, 1);
    return arg;
}

static inline void counted_init(counted *c, int open, int sleep_ms) {
    memset(c, 0, sizeof(*c));
    gate_init(&c->g);
    if (open)
        gate_open(&c->g);
    c->sleep_ms = sleep_ms;
}

/* ---- futures ------------------------------------------------------------ */

/* Spawns n jobs of plus_one(i) from inside the runtime and awaits them in
 * order. Output: the sum of (result - 1), a long. */
typedef struct spawn_sum {
    kr_future base;
    kr_coro co;
    long n, i, sum;
    kr_join_handle *h;
    void *r;
} spawn_sum;

static inline kr_poll spawn_sum_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_sum *s = (spawn_sum *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++)
        assert_rc(
            kr_spawn_blocking(plus_one, (void *)(uintptr_t)s->i, &s->h[s->i]),
            0);
    for (s->i = 0; s->i < s->n; s->i++) {
        KR_AWAIT(&s->co, &s->h[s->i].base, cx, &s->r);
        assert_rc(kr_join_handle_error(&s->h[s->i]), 0);
        s->sum += (long)((uintptr_t)s->r - 1);
    }
    KR_RETURN(&s->co, out, long, s->sum);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spawn_sum_vt, spawn_sum, spawn_sum_poll, NULL, sizeof(long));

/* Awaits handles[0..n) in order; sums (uintptr_t)result. Output: long. */
typedef struct join_sum {
    kr_future base;
    kr_coro co;
    long n, i, sum;
    kr_join_handle *h;
    void *r;
} join_sum;

static inline kr_poll join_sum_poll(kr_future *f, kr_context *cx, void *out) {
    join_sum *s = (join_sum *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++) {
        KR_AWAIT(&s->co, &s->h[s->i].base, cx, &s->r);
        s->sum += (long)(uintptr_t)s->r;
    }
    KR_RETURN(&s->co, out, long, s->sum);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(join_sum_vt, join_sum, join_sum_poll, NULL, sizeof(long));

static inline long join_all(kr_runtime *rt, kr_join_handle *h, long n) {
    join_sum j = {.base = {&join_sum_vt}, .n = n, .h = h};
    long sum = -1;
    assert_rc(kr_runtime_block_on(rt, &j.base, &sum), 0);
    return sum;
}

#endif
