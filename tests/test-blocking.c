/*
 * The blocking pool (kr_spawn_blocking): results through join handles,
 * the thread cap and its queue, keep-alive, a job that does not stall its
 * runtime, abort, misuse, allocation failure (the pool, the job, a thread
 * that cannot start), detached jobs, and what a job may call (no current
 * runtime). Shutdown and races are in test-blocking-shutdown.c.
 * KR_TEST_FLAVORS: ct mt
 */
#include "blocking.h"

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
        assert_rc(kr_runtime_spawn_blocking(rt, plus_one, (void *)(uintptr_t)i,
                                            &h[i]),
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
    kr_join_handle task, nested, current_task, current_blocking;
    kr_runtime *current;
} inside;

static void *inside_job(void *arg) {
    inside *in = arg;
    test_value v = test_value_make(7, NULL);
    /* A pool thread is inside its runtime: kr_spawn spawns onto it
     * (issue 12; it used to return KR_EINVAL here). */
    in->current = kr_runtime_current();
    in->spawn_rc = kr_spawn(&v.base, &in->current_task);
    in->spawn_blocking_rc =
        kr_spawn_blocking(plus_one, (void *)9, &in->current_blocking);
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
    assert_ptr_equal(in.current, rt);
    assert_rc(in.spawn_rc, 0);
    assert_rc(in.spawn_blocking_rc, 0);
    uint64_t cv = 0;
    assert_rc(kr_runtime_block_on(rt, &in.current_task.base, &cv), 0);
    assert_int_equal(cv, 7);
    assert_rc(kr_runtime_block_on(rt, &in.current_blocking.base, &r), 0);
    assert_ptr_equal(r, (void *)10);
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

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(result_through_join_handle),
        cmocka_unit_test(many_jobs_summed),
        cmocka_unit_test(saturation_caps_threads),
        cmocka_unit_test(keep_alive_shrinks_pool),
        cmocka_unit_test(keep_alive_shrinks_under_trickle),
        cmocka_unit_test(job_does_not_stall_runtime),
        cmocka_unit_test(abort_before_start),
        cmocka_unit_test(misuse),
        cmocka_unit_test(allocation_failure),
        cmocka_unit_test(detached_jobs_run),
        cmocka_unit_test(spawn_inside_blocking_fn),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
