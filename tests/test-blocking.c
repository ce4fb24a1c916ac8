/*
 * The blocking pool (kr_spawn_blocking): results through join handles,
 * the thread cap and its queue, keep-alive, a job that does not stall its
 * runtime, abort, shutdown (cancelled queue, waited and timed-out running
 * jobs, from inside a job), misuse, allocation failure (the pool, the job,
 * a thread that cannot start), detached jobs, what a job may call (no
 * current runtime), and spawners racing thread churn and a shutdown.
 * KR_TEST_FLAVORS: ct mt
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A runtime of the test flavor with the pool's limits (0: defaults). */
static kr_runtime *blocking_runtime(unsigned cap, unsigned keep_alive_ms,
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

static kr_runtime_metrics metrics(kr_runtime *rt) {
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    return m;
}

/* Waits (sleeping) until *v reaches `want`, for at most 5 s. */
static void wait_for(atomic_long *v, long want) {
    double t0 = now_ms();
    while (atomic_load(v) < want) {
        if (now_ms() - t0 > 5000)
            fail_msg("waited 5 s for %ld, at %ld", want, atomic_load(v));
        test_sleep_ms(1);
    }
}

/* Polls a finished handle by hand (after a shutdown no block_on runs). */
static void *poll_finished(kr_join_handle *h) {
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

static void gate_init(gate *g) {
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = 0;
}
static void gate_open(gate *g) {
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}
static void gate_pass(gate *g) {
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}
static void gate_destroy(gate *g) {
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

/* ---- jobs ------------------------------------------------------------- */

/* Returns arg + 1. */
static void *plus_one(void *arg) { return (void *)((uintptr_t)arg + 1); }

typedef struct counted {
    atomic_long started, finished, cur, max;
    gate g;
    int sleep_ms;
} counted;

/* Counts itself in, tracks the concurrency, passes the gate (if the test
 * closed it), sleeps sleep_ms, counts itself out. Returns arg. */
static void *counted_job(void *arg) {
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

static void counted_init(counted *c, int open, int sleep_ms) {
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

static kr_poll spawn_sum_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_sum *s = (spawn_sum *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++)
        assert_rc(kr_spawn_blocking(plus_one, (void *)(uintptr_t)s->i,
                                    &s->h[s->i]),
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

static kr_poll join_sum_poll(kr_future *f, kr_context *cx, void *out) {
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

static long join_all(kr_runtime *rt, kr_join_handle *h, long n) {
    join_sum j = {.base = {&join_sum_vt}, .n = n, .h = h};
    long sum = -1;
    assert_rc(kr_runtime_block_on(rt, &j.base, &sum), 0);
    return sum;
}

/* ---- result ------------------------------------------------------------- */

static void *whoami(void *arg) {
    *(pthread_t *)arg = pthread_self();
    return (void *)0x5eed;
}

static void result_through_join_handle(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 0, 0);
    /* From outside the runtime. */
    kr_join_handle h;
    pthread_t ran_on = pthread_self();
    assert_rc(kr_runtime_spawn_blocking(rt, whoami, &ran_on, &h), 0);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &h.base, &r), 0);
    assert_ptr_equal(r, (void *)0x5eed);
    assert_rc(kr_join_handle_error(&h), 0);
    assert_false(pthread_equal(ran_on, pthread_self())); /* a pool thread */
    /* From inside it. */
    kr_join_handle hs[1];
    spawn_sum s = {.base = {&spawn_sum_vt}, .n = 1, .h = hs};
    long sum = -1;
    assert_rc(kr_runtime_block_on(rt, &s.base, &sum), 0);
    assert_int_equal(sum, 0);
    kr_runtime_metrics m = metrics(rt);
    assert_true(m.blocking_threads >= 1);
    assert_int_equal(m.blocking_queued, 0);
    test_runtime_free(rt);
}

/* ---- many --------------------------------------------------------------- */

static void many_jobs_summed(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(0, 0, 0);
    long n = 1000;
    kr_join_handle *h = calloc((size_t)n, sizeof(*h));
    assert_non_null(h);
    /* Half from outside, half from inside (from the runtime's cache). */
    for (long i = 0; i < n / 2; i++)
        assert_rc(kr_runtime_spawn_blocking(rt, plus_one,
                                            (void *)(uintptr_t)i, &h[i]),
                  0);
    assert_int_equal(join_all(rt, h, n / 2), (n / 2) * (n / 2 + 1) / 2);
    spawn_sum s = {.base = {&spawn_sum_vt}, .n = n / 2, .h = h + n / 2};
    long sum = -1;
    assert_rc(kr_runtime_block_on(rt, &s.base, &sum), 0);
    assert_int_equal(sum, (n / 2) * (n / 2 - 1) / 2);
    test_runtime_free(rt);
    free(h);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- the cap ------------------------------------------------------------ */

static void saturation_caps_threads(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(4, 0, 0);
    counted c;
    counted_init(&c, 0, 0);
    kr_join_handle h[16];
    for (int i = 0; i < 16; i++)
        assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, &h[i]), 0);
    wait_for(&c.started, 4);
    test_sleep_ms(20); /* a fifth would have started by now */
    assert_int_equal(atomic_load(&c.started), 4);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.blocking_threads, 4);
    assert_int_equal(m.blocking_idle, 0);
    assert_int_equal(m.blocking_queued, 12);
    gate_open(&c.g);
    assert_int_equal(join_all(rt, h, 16), 16 * (long)(uintptr_t)&c);
    assert_int_equal(atomic_load(&c.finished), 16);
    assert_int_equal(atomic_load(&c.max), 4);
    m = metrics(rt);
    assert_true(m.blocking_threads <= 4);
    assert_int_equal(m.blocking_queued, 0);
    test_runtime_free(rt);
    gate_destroy(&c.g);
}

/* ---- keep-alive ------------------------------------------------------- */

static void keep_alive_shrinks_pool(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 50, 0);
    counted c;
    counted_init(&c, 0, 0);
    kr_join_handle h[4];
    for (int i = 0; i < 4; i++)
        assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, &h[i]), 0);
    wait_for(&c.started, 4); /* four at once: four threads */
    gate_open(&c.g);
    join_all(rt, h, 4);
    double joined = now_ms();
    kr_runtime_metrics m = metrics(rt);
    if (now_ms() - joined < 40) /* else a loaded machine let them expire */
        assert_int_equal(m.blocking_threads, 4);
    test_sleep_ms(200);
    double t0 = now_ms(); /* a loaded sanitizer run may lag a little */
    while ((m = metrics(rt)).blocking_threads != 0 && now_ms() - t0 < 2000)
        test_sleep_ms(10);
    assert_int_equal(m.blocking_threads, 0);
    assert_int_equal(m.blocking_idle, 0);
    /* The pool starts threads again on demand. */
    assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &h[0]), 0);
    assert_int_equal(join_all(rt, h, 1), 1);
    test_runtime_free(rt);
    gate_destroy(&c.g);
}

/* Under a trickle of jobs the pool shrinks to what the trickle needs: the
 * most recently idled thread takes each job, the others time out. (Tokio's
 * condvar wakes its threads in turn here and keeps all eight alive.) */
static void keep_alive_shrinks_under_trickle(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 60, 0);
    counted c;
    counted_init(&c, 1, 20);
    kr_join_handle h[8];
    for (int i = 0; i < 8; i++)
        assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, &h[i]), 0);
    join_all(rt, h, 8);
    /* Eight threads at once (at least four on a machine too loaded to
     * start them all within 20 ms). */
    assert_true(atomic_load(&c.max) >= 4);
    /* A job every 3 ms for 300 ms: each thread would get one every 24 ms,
     * well within the 60 ms keep-alive, if they were taken in turn. */
    for (int i = 0; i < 100; i++) {
        assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &h[0]), 0);
        assert_int_equal(join_all(rt, h, 1), 1);
        test_sleep_ms(3);
    }
    kr_runtime_metrics m = metrics(rt);
    if (m.blocking_threads > 3)
        fail_msg("%u threads still alive under a trickle", m.blocking_threads);
    test_runtime_free(rt);
    gate_destroy(&c.g);
}

/* ---- a job does not stall the runtime ----------------------------------- */

/* Yields until *stop is set; output: the number of yields (long). */
typedef struct yielder {
    kr_future base;
    kr_coro co;
    atomic_long *stop;
    long n;
} yielder;

static kr_poll yielder_poll(kr_future *f, kr_context *cx, void *out) {
    yielder *y = (yielder *)f;
    KR_ASYNC_BEGIN(&y->co);
    while (!atomic_load(y->stop)) {
        y->n++;
        KR_YIELD(&y->co, cx);
    }
    KR_RETURN(&y->co, out, long, y->n);
    KR_ASYNC_END(&y->co);
}
KR_FUTURE_VTABLE(yielder_vt, yielder, yielder_poll, NULL, sizeof(long));

/* block_on: spawn a 100 ms sleeping job and a yielding task; await the job,
 * stop the task, await it. Output: the task's yields. */
typedef struct stall_check {
    kr_future base;
    kr_coro co;
    counted *c;
    atomic_long stop;
    kr_join_handle job, task;
    void *r;
    long yields;
} stall_check;

static kr_poll stall_check_poll(kr_future *f, kr_context *cx, void *out) {
    stall_check *s = (stall_check *)f;
    KR_ASYNC_BEGIN(&s->co);
    assert_rc(kr_spawn_blocking(counted_job, s->c, &s->job), 0);
    {
        yielder y = {.base = {&yielder_vt}, .stop = &s->stop};
        assert_rc(kr_spawn(&y.base, &s->task), 0);
    }
    KR_AWAIT(&s->co, &s->job.base, cx, &s->r);
    /* The task ran all the while the job slept. */
    assert_int_equal(atomic_load(&s->c->finished), 1);
    atomic_store(&s->stop, 1);
    KR_AWAIT(&s->co, &s->task.base, cx, &s->yields);
    KR_RETURN(&s->co, out, long, s->yields);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(stall_check_vt, stall_check, stall_check_poll, NULL,
                 sizeof(long));

static void job_does_not_stall_runtime(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 0, 0);
    counted c;
    counted_init(&c, 1, 100);
    stall_check s = {.base = {&stall_check_vt}, .c = &c};
    long yields = 0;
    double t0 = now_ms();
    assert_rc(kr_runtime_block_on(rt, &s.base, &yields), 0);
    assert_true(now_ms() - t0 >= 99);
    /* Thousands in 100 ms; 10 is enough to show it was not stalled. */
    if (yields < 10)
        fail_msg("the task yielded only %ld times while the job slept", yields);
    test_runtime_free(rt);
    gate_destroy(&c.g);
}

/* ---- abort -------------------------------------------------------------- */

static void abort_before_start(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(1, 0, 0);
    counted first, second;
    counted_init(&first, 0, 0);
    counted_init(&second, 1, 0);
    kr_join_handle h1, h2;
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &first, &h1), 0);
    wait_for(&first.started, 1); /* the only thread is busy */
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &second, &h2), 0);
    assert_int_equal(metrics(rt).blocking_queued, 1);
    assert_rc(kr_join_handle_abort(&h2), 0);
    /* Aborting a running job changes nothing: it runs to its end. */
    assert_rc(kr_join_handle_abort(&h1), 0);
    gate_open(&first.g);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &h1.base, &r), 0);
    assert_ptr_equal(r, &first);
    assert_rc(kr_join_handle_error(&h1), 0);
    r = (void *)1;
    assert_rc(kr_runtime_block_on(rt, &h2.base, &r), 0);
    assert_rc(kr_join_handle_error(&h2), KR_ECANCELED);
    assert_null(r); /* a cancelled job's output reads as zeroes */
    assert_int_equal(atomic_load(&second.started), 0);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&first.g);
    gate_destroy(&second.g);
}

/* ---- shutdown ----------------------------------------------------------- */

static void shutdown_cancels_queued_waits_running(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(1, 0, 5000);
    counted running, queued;
    counted_init(&running, 1, 100);
    counted_init(&queued, 1, 0);
    kr_join_handle h1, h2;
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &running, &h1), 0);
    wait_for(&running.started, 1);
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &queued, &h2), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    /* It waited for the running job; the queued one never ran. */
    assert_int_equal(atomic_load(&running.finished), 1);
    assert_int_equal(atomic_load(&queued.started), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.blocking_threads, 0);
    assert_int_equal(m.blocking_queued, 0);
    assert_int_equal(m.blocking_unfinished, 0);
    assert_ptr_equal(poll_finished(&h1), &running);
    assert_rc(kr_join_handle_error(&h1), 0);
    assert_null(poll_finished(&h2));
    assert_rc(kr_join_handle_error(&h2), KR_ECANCELED);
    assert_rc(kr_runtime_shutdown(rt), 0); /* idempotent */
    kr_runtime_free(rt);
    /* No thread left behind: the pool is gone with the runtime. */
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&running.g);
    gate_destroy(&queued.g);
}

static void shutdown_timeout(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(0, 0, 50);
    counted c;
    counted_init(&c, 1, 2000);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, &h), 0);
    wait_for(&c.started, 1);
    double t0 = now_ms();
    assert_rc(kr_runtime_shutdown(rt), KR_ETIMEDOUT);
    double took = now_ms() - t0;
    if (took < 40 || took > 1000)
        fail_msg("shutdown took %.0f ms with a 50 ms timeout", took);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.blocking_unfinished, 1);
    assert_int_equal(m.blocking_threads, 1);
    /* Past the deadline a second call does not wait again. */
    t0 = now_ms();
    assert_rc(kr_runtime_shutdown(rt), KR_ETIMEDOUT);
    assert_true(now_ms() - t0 < 500);
    assert_false(kr_join_handle_is_finished(&h));
    kr_join_handle_drop(&h); /* its result will be discarded */
    t0 = now_ms();
    kr_runtime_free(rt); /* the job still runs: the pool outlives rt */
    assert_true(now_ms() - t0 < 500);
    assert_int_equal(atomic_load(&c.finished), 0);
    /* Let the job finish; its thread then frees the pool. */
    wait_for(&c.finished, 1);
    t0 = now_ms();
    while (test_alloc_live() != 0 && now_ms() - t0 < 5000)
        test_sleep_ms(1);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&c.g);
}

static void spawn_after_shutdown(void **state) {
    (void)state;
    /* A pool that existed before the shutdown, and one that never did. */
    for (int made = 0; made < 2; made++) {
        kr_runtime *rt = blocking_runtime(0, 0, 0);
        kr_join_handle h;
        if (made) {
            assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &h), 0);
            assert_int_equal(join_all(rt, &h, 1), 1);
        }
        assert_rc(kr_runtime_shutdown(rt), 0);
        assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &h),
                  KR_ESHUTDOWN);
        assert_rc(kr_join_handle_error(&h), KR_EINVAL); /* left empty */
        assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, NULL),
                  KR_ESHUTDOWN);
        kr_runtime_free(rt);
    }
}

/* ---- misuse and failures ------------------------------------------------ */

static void misuse(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 0, 0);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(NULL, plus_one, NULL, &h), KR_EINVAL);
    assert_rc(kr_join_handle_error(&h), KR_EINVAL);
    assert_rc(kr_runtime_spawn_blocking(rt, NULL, NULL, &h), KR_EINVAL);
    assert_rc(kr_runtime_spawn_blocking(rt, NULL, NULL, NULL), KR_EINVAL);
    /* Outside any runtime there is none to use. */
    assert_rc(kr_spawn_blocking(plus_one, NULL, &h), KR_EINVAL);
    assert_rc(kr_join_handle_error(&h), KR_EINVAL);
    assert_rc(kr_spawn_blocking(plus_one, NULL, NULL), KR_EINVAL);
    /* No pool was made by any of these. */
    assert_int_equal(metrics(rt).blocking_threads, 0);
    test_runtime_free(rt);
}

static void allocation_failure(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(2, 0, 0);
    counted c, d;
    counted_init(&c, 0, 0);
    counted_init(&d, 1, 0);
    kr_join_handle h, h2;
    /* From outside the runtime the allocations are, in order: the pool
     * (first spawn only), the job, the record of the thread it starts. */
    static const long fail_at[] = {
        0, /* the pool */
        1, /* the job (the pool is made now) */
        0, /* the job */
        1, /* the thread: none could start and none runs */
    };
    for (size_t i = 0; i < sizeof(fail_at) / sizeof(fail_at[0]); i++) {
        test_alloc_fail_after(fail_at[i]);
        assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, &h),
                  KR_ENOMEM);
        test_alloc_fail_after(-1);
        assert_rc(kr_join_handle_error(&h), KR_EINVAL);
        kr_runtime_metrics m = metrics(rt);
        assert_int_equal(m.blocking_threads, 0);
        assert_int_equal(m.blocking_queued, 0);
    }
    assert_int_equal(atomic_load(&c.started), 0);
    /* A thread that cannot start while another runs: the job waits for
     * the running one. */
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, &h), 0);
    wait_for(&c.started, 1);
    test_alloc_fail_after(1);
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &d, &h2), 0);
    test_alloc_fail_after(-1);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.blocking_threads, 1);
    assert_int_equal(m.blocking_queued, 1);
    gate_open(&c.g);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &h.base, &r), 0);
    assert_ptr_equal(r, &c);
    assert_rc(kr_runtime_block_on(rt, &h2.base, &r), 0);
    assert_ptr_equal(r, &d);
    assert_int_equal(atomic_load(&c.started), 1); /* the failed never ran */
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&c.g);
    gate_destroy(&d.g);
}

/* ---- detached ----------------------------------------------------------- */

/* block_on: n detached spawns from inside the runtime. */
typedef struct spawn_detached {
    kr_future base;
    counted *c;
    int n;
} spawn_detached;

static kr_poll spawn_detached_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_detached *s = (spawn_detached *)f;
    for (int i = 0; i < s->n; i++)
        assert_rc(kr_spawn_blocking(counted_job, s->c, NULL), 0);
    return KR_READY;
}
KR_FUTURE_VTABLE(spawn_detached_vt, spawn_detached, spawn_detached_poll, NULL,
                 0);

static void detached_jobs_run(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(0, 0, 0);
    counted c;
    counted_init(&c, 1, 0);
    for (int i = 0; i < 10; i++)
        assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, NULL), 0);
    spawn_detached s = {{&spawn_detached_vt}, &c, 10};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    wait_for(&c.finished, 20);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&c.g);
}

/* ---- inside a job ------------------------------------------------------- */

typedef struct inside {
    kr_runtime *rt;
    int spawn_rc, spawn_blocking_rc, remote_rc, remote_blocking_rc;
    bool unlimited;
    kr_join_handle task, nested;
} inside;

static void *inside_job(void *arg) {
    inside *in = arg;
    test_value v = test_value_make(7, NULL);
    /* No current runtime on a pool thread. */
    in->spawn_rc = kr_spawn(&v.base, NULL);
    in->spawn_blocking_rc = kr_spawn_blocking(plus_one, NULL, NULL);
    /* An explicit one works, as from any thread. */
    in->remote_rc = kr_runtime_spawn(in->rt, &v.base, &in->task);
    in->remote_blocking_rc =
        kr_runtime_spawn_blocking(in->rt, plus_one, (void *)41, &in->nested);
    /* The budget of a thread outside any runtime: unlimited. */
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    in->unlimited = true;
    for (int i = 0; i < 1000; i++)
        in->unlimited = in->unlimited && kr_coop_proceed(&cx);
    return arg;
}

static void spawn_inside_blocking_fn(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 0, 0);
    inside in = {.rt = rt};
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, inside_job, &in, &h), 0);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &h.base, &r), 0);
    assert_ptr_equal(r, &in);
    assert_rc(in.spawn_rc, KR_EINVAL);
    assert_rc(in.spawn_blocking_rc, KR_EINVAL);
    assert_rc(in.remote_rc, 0);
    assert_rc(in.remote_blocking_rc, 0);
    assert_true(in.unlimited);
    uint64_t v = 0;
    assert_rc(kr_runtime_block_on(rt, &in.task.base, &v), 0);
    assert_int_equal(v, 7);
    assert_rc(kr_runtime_block_on(rt, &in.nested.base, &r), 0);
    assert_ptr_equal(r, (void *)42);
    test_runtime_free(rt);
}

/* A job may shut its own runtime down: it does not wait for itself. */
static void *shutdown_job(void *arg) {
    kr_runtime *rt = arg;
    return (void *)(intptr_t)kr_runtime_shutdown(rt);
}

static void shutdown_from_inside_job(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 0, 5000);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, shutdown_job, rt, &h), 0);
    double t0 = now_ms();
    while (!kr_join_handle_is_finished(&h)) {
        if (now_ms() - t0 > 2000)
            fail_msg("the job's shutdown waited for the job itself");
        test_sleep_ms(1);
    }
    assert_int_equal((intptr_t)poll_finished(&h), 0);
    assert_rc(kr_runtime_shutdown(rt), 0); /* and the job's thread exits */
    kr_runtime_free(rt);
}

/* ---- races -------------------------------------------------------------- */

#define RACE_JOBS 300

typedef struct racer {
    pthread_t th;
    kr_runtime *rt;
    atomic_long *spawned;
    int pause_every; /* sleep 2 ms after every that many spawns (0: never) */
    int rc[RACE_JOBS];
    kr_join_handle h[RACE_JOBS];
} racer;

static void *racer_main(void *arg) {
    racer *r = arg;
    for (int i = 0; i < RACE_JOBS; i++) {
        r->rc[i] = kr_runtime_spawn_blocking(r->rt, plus_one,
                                             (void *)(uintptr_t)i, &r->h[i]);
        atomic_fetch_add(r->spawned, 1);
        if (r->pause_every != 0 && i % r->pause_every == r->pause_every - 1)
            test_sleep_ms(2);
    }
    return NULL;
}

/* Waits for a handle from a thread that cannot block_on (polls it). */
static void *wait_finished(kr_join_handle *h) {
    double t0 = now_ms();
    while (!kr_join_handle_is_finished(h)) {
        if (now_ms() - t0 > 5000)
            fail_msg("a job did not finish in 5 s");
        test_sleep_ms(1);
    }
    return poll_finished(h);
}

/* Four threads spawn while threads come and go: a 1 ms keep-alive and
 * pauses make the pool shrink to nothing and start threads again (reusing
 * their records) all the time; a cap of 3 makes jobs queue meanwhile. */
static void spawners_with_thread_churn(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(3, 1, 0);
    atomic_long spawned = 0;
    racer *r = calloc(4, sizeof(*r));
    assert_non_null(r);
    for (int i = 0; i < 4; i++) {
        r[i].rt = rt;
        r[i].spawned = &spawned;
        r[i].pause_every = 10 + i;
        assert_int_equal(pthread_create(&r[i].th, NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(r[i].th, NULL);
        for (int j = 0; j < RACE_JOBS; j++) {
            assert_rc(r[i].rc[j], 0);
            assert_ptr_equal(wait_finished(&r[i].h[j]),
                             (void *)(uintptr_t)(j + 1));
        }
    }
    assert_true(metrics(rt).blocking_threads <= 3);
    test_runtime_free(rt);
    free(r);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Spawners race a shutdown: every spawn either fails with KR_ESHUTDOWN
 * (and all after it too) or its job ran or was cancelled by the time the
 * shutdown returned. */
static void spawners_race_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(2, 0, 0);
    atomic_long spawned = 0;
    racer *r = calloc(3, sizeof(*r));
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        r[i].rt = rt;
        r[i].spawned = &spawned;
        assert_int_equal(pthread_create(&r[i].th, NULL, racer_main, &r[i]), 0);
    }
    wait_for(&spawned, 30);
    assert_rc(kr_runtime_shutdown(rt), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i].th, NULL);
    long ran = 0, cancelled = 0, refused = 0;
    for (int i = 0; i < 3; i++) {
        bool closed = false;
        for (int j = 0; j < RACE_JOBS; j++) {
            if (r[i].rc[j] == KR_ESHUTDOWN) {
                closed = true;
                refused++;
                continue;
            }
            assert_rc(r[i].rc[j], 0);
            assert_false(closed); /* no success after a refusal */
            void *v = poll_finished(&r[i].h[j]);
            if (kr_join_handle_error(&r[i].h[j]) == 0) {
                assert_ptr_equal(v, (void *)(uintptr_t)(j + 1));
                ran++;
            } else {
                assert_rc(kr_join_handle_error(&r[i].h[j]), KR_ECANCELED);
                assert_null(v);
                cancelled++;
            }
        }
    }
    /* How many ran before the shutdown is the scheduler's business (the
     * first thread may not even have started). */
    assert_int_equal(ran + cancelled + refused, 3 * RACE_JOBS);
    kr_runtime_free(rt);
    free(r);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(result_through_join_handle),
        cmocka_unit_test(many_jobs_summed),
        cmocka_unit_test(saturation_caps_threads),
        cmocka_unit_test(keep_alive_shrinks_pool),
        cmocka_unit_test(keep_alive_shrinks_under_trickle),
        cmocka_unit_test(job_does_not_stall_runtime),
        cmocka_unit_test(abort_before_start),
        cmocka_unit_test(shutdown_cancels_queued_waits_running),
        cmocka_unit_test(shutdown_timeout),
        cmocka_unit_test(spawn_after_shutdown),
        cmocka_unit_test(misuse),
        cmocka_unit_test(allocation_failure),
        cmocka_unit_test(detached_jobs_run),
        cmocka_unit_test(spawn_inside_blocking_fn),
        cmocka_unit_test(shutdown_from_inside_job),
        cmocka_unit_test(spawners_with_thread_churn),
        cmocka_unit_test(spawners_race_shutdown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
