/*
 * Shutdown: every live task's future is dropped exactly once, join handles
 * read KR_ECANCELED, nothing leaks (handles and wakers may outlive the
 * runtime), and spawn / block_on after shutdown return KR_ESHUTDOWN.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

/* Spawns n pending-forever tasks (handles[i], or detached if handles is
 * NULL) and returns once each has been polled, or at once if !wait. */
typedef struct {
    kr_future base;
    kr_coro co;
    long n, i;
    int wait;
    kr_join_handle *handles;
    test_counts *c;
    test_latch *started;
    test_latch_wait lw;
} spawn_pending;

static kr_poll spawn_pending_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    spawn_pending *s = (spawn_pending *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++) {
        test_pending p = test_pending_make(s->c, s->started);
        assert_rc(kr_spawn(&p.base, s->handles ? &s->handles[s->i] : NULL), 0);
    }
    if (s->wait) {
        s->lw = test_latch_wait_for(s->started, s->n);
        KR_AWAIT(&s->co, &s->lw.base, cx, NULL);
    }
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spawn_pending_vt, spawn_pending, spawn_pending_poll, NULL, 0);

static void shutdown_with_pending_tasks(void **state) {
    (void)state;
    test_alloc_install();
    long n = test_scale(10000);
    kr_join_handle *h = calloc((size_t)n, sizeof(*h));
    assert_non_null(h);
    test_counts c = {0};
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = test_runtime(0);
    spawn_pending s = {.base = {&spawn_pending_vt},
                       .n = n,
                       .wait = 1,
                       .handles = h,
                       .c = &c,
                       .started = &started};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    assert_int_equal(m.alive, (uint64_t)n);
    assert_int_equal(c.drops, 0);

    assert_rc(kr_runtime_shutdown(rt), 0);
    assert_int_equal(c.drops, n); /* each future exactly once */
    assert_int_equal(c.polls, n); /* and none polled since */
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    assert_int_equal(m.alive, 0);
    assert_rc(kr_runtime_shutdown(rt), 0); /* idempotent */
    assert_int_equal(c.drops, n);

    /* Spawn and block_on after shutdown. */
    test_counts c2 = {0};
    test_value v = test_value_make(1, &c2);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &v.base, &jh), KR_ESHUTDOWN);
    assert_rc(kr_join_handle_error(&jh), KR_EINVAL); /* left empty */
    kr_join_handle_drop(&jh);
    assert_rc(kr_runtime_block_on(rt, &v.base, NULL), KR_ESHUTDOWN);
    assert_int_equal(c2.polls, 0);
    assert_int_equal(c2.drops, 1); /* block_on dropped the future */

    /* The handles read KR_ECANCELED; half are polled by hand now, half
     * dropped unpolled after the runtime is freed. */
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    for (long i = 0; i < n; i++) {
        assert_true(kr_join_handle_is_finished(&h[i]));
        if (i % 2 == 0) {
            assert_int_equal(kr_future_poll(&h[i].base, &cx, NULL), KR_READY);
            assert_rc(kr_join_handle_error(&h[i]), KR_ECANCELED);
        }
    }
    test_runtime_free(rt);
    test_latch_destroy(&started);
    assert_true(test_alloc_live() > 0); /* the cells the handles hold */
    for (long i = 1; i < n; i += 2)
        kr_join_handle_drop(&h[i]);
    assert_int_equal(test_alloc_live(), 0);
    free(h);
    test_alloc_uninstall();
}

/* Tasks spawned and never polled: from outside (never reached the
 * runtime) and from inside a block_on that returned at once. */
static void shutdown_drops_never_polled_tasks(void **state) {
    (void)state;
    test_alloc_install();
    long n = 100;
    test_counts c = {0};
    kr_runtime *rt = test_runtime(0);
    for (long i = 0; i < n; i++) {
        test_pending p = test_pending_make(&c, NULL);
        assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    }
    spawn_pending s = {.base = {&spawn_pending_vt}, .n = n, .c = &c};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    test_runtime_free(rt);
    assert_int_equal(c.drops, 2 * n);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- shutdown from another thread while block_on runs ---------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    spawn_pending sp;
    test_pending forever;
    test_counts *mine;
    test_latch *started;
} bo_forever;

static kr_poll bo_forever_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    bo_forever *b = (bo_forever *)f;
    KR_ASYNC_BEGIN(&b->co);
    KR_AWAIT(&b->co, &b->sp.base, cx, NULL);
    b->forever = test_pending_make(b->mine, b->started);
    KR_AWAIT(&b->co, &b->forever.base, cx, NULL);
    KR_ASYNC_END(&b->co);
}

static void bo_forever_drop(kr_future *f) {
    bo_forever *b = (bo_forever *)f;
    atomic_fetch_add(&b->mine->drops, 1000); /* the outer future's drop */
    kr_coro_drop(&b->co);
}
KR_FUTURE_VTABLE(bo_forever_vt, bo_forever, bo_forever_poll, bo_forever_drop,
                 0);

typedef struct {
    kr_runtime *rt;
    test_latch *started;
    long n;
    int rc;
} shutter;

static void *shutter_main(void *arg) {
    shutter *s = arg;
    /* Every task and then the block_on future's own await have started. */
    while (test_latch_get(s->started) < s->n + 1)
        test_sleep_ms(1);
    s->rc = kr_runtime_shutdown(s->rt);
    return NULL;
}

static void shutdown_from_thread_while_block_on(void **state) {
    (void)state;
    test_alloc_install();
    long n = 1000;
    test_counts c = {0}, mine = {0};
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = test_runtime(0);
    bo_forever b = {
        .base = {&bo_forever_vt}, .mine = &mine, .started = &started};
    b.sp = (spawn_pending){.base = {&spawn_pending_vt},
                           .n = n,
                           .wait = 1,
                           .c = &c,
                           .started = &started};
    shutter sh = {rt, &started, n, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, shutter_main, &sh), 0);
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), KR_ESHUTDOWN);
    pthread_join(th, NULL);
    assert_rc(sh.rc, 0);
    /* The block_on future was dropped once, and through it its child. */
    assert_int_equal(mine.drops, 1000 + 1);
    test_runtime_free(rt);
    assert_int_equal(c.drops, n);
    test_latch_destroy(&started);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- wakers that outlive the runtime ---------------------------------- */

/* Parks on a oneshot receive; its drop releases the receiver. The
 * channel keeps the task's waker, so the task cell outlives the runtime
 * until the test lets go of the sender. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_recv r;
    test_latch *started;
    int rc;
} rx_task;

static kr_poll rx_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    rx_task *t = (rx_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->r = kr_oneshot_recv_future(t->rx, NULL);
    test_latch_add(t->started, 1);
    KR_AWAIT(&t->co, &t->r.base, cx, &t->rc);
    KR_ASYNC_END(&t->co);
}
static void rx_task_drop(kr_future *f) {
    rx_task *t = (rx_task *)f;
    kr_coro_drop(&t->co);
    kr_oneshot_rx_drop(t->rx);
}
KR_FUTURE_VTABLE(rx_task_vt, rx_task, rx_task_poll, rx_task_drop, 0);

#define NRX 64

typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_tx **tx;
    test_latch *started;
    test_latch_wait lw;
} rx_main;

static kr_poll rx_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    rx_main *m = (rx_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (int i = 0; i < NRX; i++) {
        rx_task t = {.base = {&rx_task_vt}, .started = m->started};
        assert_rc(kr_oneshot_new(0, &m->tx[i], &t.rx), 0);
        assert_rc(kr_spawn(&t.base, NULL), 0);
    }
    m->lw = test_latch_wait_for(m->started, NRX);
    KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(rx_main_vt, rx_main, rx_main_poll, NULL, 0);

static void shutdown_wakers_outlive_runtime(void **state) {
    (void)state;
    test_alloc_install();
    kr_oneshot_tx *tx[NRX];
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = test_runtime(0);
    rx_main m = {.base = {&rx_main_vt}, .tx = tx, .started = &started};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    test_runtime_free(rt);
    test_latch_destroy(&started);
    for (int i = 0; i < NRX; i++) {
        assert_true(kr_oneshot_tx_is_closed(tx[i])); /* rx dropped */
        if (i % 2 == 0)
            assert_rc(kr_oneshot_send(tx[i], NULL), KR_ECLOSED);
        else
            kr_oneshot_tx_drop(tx[i]);
    }
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(shutdown_with_pending_tasks),
    cmocka_unit_test(shutdown_drops_never_polled_tasks),
    cmocka_unit_test(shutdown_from_thread_while_block_on),
    cmocka_unit_test(shutdown_wakers_outlive_runtime),
};
KR_TEST_MAIN(tests)
