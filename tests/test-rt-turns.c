/*
 * Concurrent kr_runtime_block_on calls on one runtime. On the
 * current-thread runtime they take turns, as Tokio's do: the one holding
 * the core drives the tasks, the others poll their own futures as they
 * are woken and take the core when it is let go. The multi-thread runtime
 * runs every block_on on its caller's thread at once; the same tests hold.
 * KR_TEST_FLAVORS: ct mt
 */
#include "blocking.h"

typedef struct bo_thread {
    pthread_t th;
    kr_runtime *rt;
    kr_future *f;
    int rc;
    atomic_int done;
} bo_thread;

static void *bo_main(void *arg) {
    bo_thread *b = arg;
    b->rc = kr_runtime_block_on(b->rt, b->f, NULL);
    atomic_store(&b->done, 1);
    return NULL;
}

static void bo_start(bo_thread *b, kr_runtime *rt, kr_future *f) {
    b->rt = rt;
    b->f = f;
    b->rc = 1;
    atomic_init(&b->done, 0);
    assert_int_equal(pthread_create(&b->th, NULL, bo_main, b), 0);
}

static int bo_join(bo_thread *b) {
    pthread_join(b->th, NULL);
    return b->rc;
}

/* Waits until the latch has a waiter (its future was polled). */
static void wait_polled(test_latch *l) {
    double t0 = now_ms();
    for (;;) {
        pthread_mutex_lock(&l->mu);
        bool polled = l->waiter.vtable != NULL;
        pthread_mutex_unlock(&l->mu);
        if (polled)
            return;
        if (now_ms() - t0 > 5000)
            fail_msg("the future was never polled");
        test_sleep_ms(1);
    }
}

/* rt_basic.rs shutdown_all_concurrent_block_on: two threads block on
 * pending futures; a shutdown ends both (Tokio: a panicking task with
 * UnhandledPanic::ShutdownRuntime; here kr_runtime_shutdown). */
static void shutdown_all_concurrent_block_on(void **state) {
    (void)state;
    enum { N = 2 };
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    test_latch started;
    test_latch_init(&started);
    test_pending p[N];
    bo_thread b[N];
    for (int i = 0; i < N; i++) {
        p[i] = test_pending_make(&c, &started);
        bo_start(&b[i], rt, &p[i].base);
    }
    double t0 = now_ms();
    while (test_latch_get(&started) < N) {
        if (now_ms() - t0 > 5000)
            fail_msg("both block_on futures were not polled");
        test_sleep_ms(1);
    }
    assert_rc(kr_runtime_shutdown(rt), 0);
    for (int i = 0; i < N; i++)
        assert_rc(bo_join(&b[i]), KR_ESHUTDOWN);
    assert_int_equal(atomic_load(&c.drops), N);
    kr_runtime_free(rt);
    test_latch_destroy(&started);
}

/* Spawns ten tasks from inside the future and joins them. */
typedef struct ten {
    kr_future base;
    kr_coro co;
    int i;
    kr_join_handle h[10];
} ten;
static kr_poll ten_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    ten *t = (ten *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < 10; t->i++) {
        test_value v = test_value_make((uint64_t)t->i, NULL);
        assert_rc(kr_spawn(&v.base, &t->h[t->i]), 0);
    }
    for (t->i = 0; t->i < 10; t->i++)
        KR_AWAIT(&t->co, &t->h[t->i].base, cx, NULL);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(ten_vt, ten, ten_poll, NULL, 0);

/* A second block_on's tasks are run by the first, which holds the core;
 * the second completes while the first still blocks. */
static void concurrent_block_on_drives_tasks(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_latch l1;
    test_latch_init(&l1);
    test_latch_wait a_f = test_latch_wait_for(&l1, 1);
    bo_thread a;
    bo_start(&a, rt, &a_f.base);
    wait_polled(&l1);
    ten t = {.base = {&ten_vt}};
    assert_rc(kr_runtime_block_on(rt, &t.base, NULL), 0);
    assert_int_equal(atomic_load(&a.done), 0);
    test_latch_add(&l1, 1);
    assert_rc(bo_join(&a), 0);
    test_runtime_free(rt);
    test_latch_destroy(&l1);
}

/* When the first block_on returns, a waiting one takes the core over and
 * drives the tasks from then on: its task can only finish on the core. */
static void block_on_takes_over_the_core(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_latch l1, l2;
    test_latch_init(&l1);
    test_latch_init(&l2);
    test_latch_wait a_f = test_latch_wait_for(&l1, 1);
    bo_thread a, b;
    bo_start(&a, rt, &a_f.base);
    wait_polled(&l1);
    test_latch_wait task = test_latch_wait_for(&l2, 1);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &task.base, &jh), 0);
    wait_polled(&l2); /* the task ran once on A's core */
    bo_start(&b, rt, &jh.base);
    test_latch_add(&l1, 1);
    assert_rc(bo_join(&a), 0);
    /* A has let the core go; B alone can run the task now. */
    test_latch_add(&l2, 1);
    assert_rc(bo_join(&b), 0);
    assert_rc(kr_join_handle_error(&jh), 0);
    test_runtime_free(rt);
    test_latch_destroy(&l1);
    test_latch_destroy(&l2);
}

/* A waiting block_on's sleep goes on the runtime's timers, which the
 * core's holder fires: it completes while the holder still blocks. */
static void waiting_block_on_sleeps(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_latch l1;
    test_latch_init(&l1);
    test_latch_wait a_f = test_latch_wait_for(&l1, 1);
    bo_thread a;
    bo_start(&a, rt, &a_f.base);
    wait_polled(&l1);
    kr_sleep s = kr_sleep_for(kr_ms(20));
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_int_equal(atomic_load(&a.done), 0);
    test_latch_add(&l1, 1);
    assert_rc(bo_join(&a), 0);
    test_runtime_free(rt);
    test_latch_destroy(&l1);
}

/* Many threads in block_on at once, each spawning and joining: every one
 * completes, in whatever order they get the core. */
static void *many_main(void *arg) {
    kr_runtime *rt = arg;
    for (int k = 0; k < 20; k++) {
        ten t = {.base = {&ten_vt}};
        assert_rc(kr_runtime_block_on(rt, &t.base, NULL), 0);
        kr_sleep s = kr_sleep_for(kr_ms(1));
        assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    }
    return NULL;
}

static void many_concurrent_block_on(void **state) {
    (void)state;
    enum { N = 4 };
    kr_runtime *rt = test_runtime(0);
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, many_main, rt), 0);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    assert_int_equal(m.spawned, N * 20 * 10);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shutdown_all_concurrent_block_on),
        cmocka_unit_test(concurrent_block_on_drives_tasks),
        cmocka_unit_test(block_on_takes_over_the_core),
        cmocka_unit_test(waiting_block_on_sleeps),
        cmocka_unit_test(many_concurrent_block_on),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
