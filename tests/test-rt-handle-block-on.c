/*
 * block_on through a runtime handle from a thread that entered the
 * runtime, after tokio/tests/rt_handle_block_on.rs: Handle::current on an
 * entered thread, its block_on on a channel, spawn_blocking from the
 * entered thread (also across a shutdown), binding a listener there,
 * nesting refused, spawning through a handle after the runtime is gone.
 * Where kairo differs: a spawn_blocking after the shutdown returns
 * KR_ESHUTDOWN at once (Tokio: a handle whose join reads cancelled), and
 * so does a spawn after the runtime was freed; a nested block_on returns
 * KR_EBUSY (Tokio panics).
 * Not ported: the fs tests (other issues), yield_in_block_in_place and
 * the io shutdown tests Tokio ignores, thread_park_ok (std::thread::park),
 * the sleep tests (timers are not entered: kairo/runtime.h).
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

/* test_with_runtimes: the body runs on a thread that entered `rt`. */
static kr_handle *enter_current(kr_runtime *rt, kr_enter_guard *g) {
    assert_rc(kr_runtime_enter(rt, g), 0);
    kr_handle *h = NULL;
    assert_rc(kr_handle_current(&h), 0);
    assert_non_null(h);
    assert_true(kr_handle_runtime_id(h) == kr_runtime_id(rt));
    return h;
}

static void leave(kr_enter_guard *g, kr_handle *h) {
    kr_handle_drop(h);
    assert_rc(kr_runtime_exit(g), 0);
}

/* tokio rt_handle_block_on.rs::basic */
static void basic(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_enter_guard g;
    kr_handle *h = enter_current(rt, &g);
    test_value v = test_value_make(1, NULL);
    uint64_t one = 0;
    assert_rc(kr_handle_block_on(h, &v.base, &one), 0);
    assert_int_equal(one, 1);
    leave(&g, h);
    test_runtime_free(rt);
}

/* tokio rt_handle_block_on.rs::bounded_mpsc_channel */
static void bounded_mpsc_channel(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_enter_guard g;
    kr_handle *h = enter_current(rt, &g);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(sizeof(int), 1024, &tx, &rx), 0);
    int msg = 42, rc = 1, got = 0;
    kr_mpsc_send s = kr_mpsc_send_future(tx, &msg);
    assert_rc(kr_handle_block_on(h, &s.base, &rc), 0);
    assert_rc(rc, 0);
    kr_mpsc_recv r = kr_mpsc_recv_future(rx, &got);
    assert_rc(kr_handle_block_on(h, &r.base, &rc), 0);
    assert_rc(rc, 0);
    assert_int_equal(got, 42);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    leave(&g, h);
    test_runtime_free(rt);
}

/* tokio rt_handle_block_on.rs::unbounded_mpsc_channel */
static void unbounded_mpsc_channel(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_enter_guard g;
    kr_handle *h = enter_current(rt, &g);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_unbounded_new(sizeof(int), &tx, &rx), 0);
    int msg = 42, rc = 1, got = 0;
    assert_rc(kr_mpsc_try_send(tx, &msg), 0);
    kr_mpsc_recv r = kr_mpsc_recv_future(rx, &got);
    assert_rc(kr_handle_block_on(h, &r.base, &rc), 0);
    assert_rc(rc, 0);
    assert_int_equal(got, 42);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    leave(&g, h);
    test_runtime_free(rt);
}

static void *answer(void *arg) {
    test_sleep_ms(arg != NULL ? (int)(intptr_t)arg : 0);
    return (void *)42;
}

/* tokio rt_handle_block_on.rs::basic_spawn_blocking */
static void basic_spawn_blocking(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_enter_guard g;
    kr_handle *h = enter_current(rt, &g);
    kr_join_handle jh;
    assert_rc(kr_spawn_blocking(answer, (void *)(intptr_t)100, &jh), 0);
    void *r = NULL;
    assert_rc(kr_handle_block_on(h, &jh.base, &r), 0);
    assert_ptr_equal(r, (void *)42);
    leave(&g, h);
    test_runtime_free(rt);
}

/* tokio rt_handle_block_on.rs::spawn_blocking_after_shutdown_fails */
static void spawn_blocking_after_shutdown_fails(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_enter_guard g;
    kr_handle *h = enter_current(rt, &g);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_join_handle jh;
    assert_rc(kr_spawn_blocking(answer, NULL, &jh), KR_ESHUTDOWN);
    test_value v = test_value_make(1, NULL);
    assert_rc(kr_handle_block_on(h, &v.base, NULL), KR_ESHUTDOWN);
    leave(&g, h);
    test_runtime_free(rt);
}

/* tokio rt_handle_block_on.rs::spawn_blocking_started_before_shutdown_continues
 * (the job's result is read by hand: the runtime's block_on is over) */
static void spawn_blocking_started_before_shutdown_continues(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    c.shutdown_timeout_ms = 100000;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    kr_enter_guard g;
    kr_handle *h = enter_current(rt, &g);
    kr_join_handle jh;
    assert_rc(kr_spawn_blocking(answer, (void *)(intptr_t)200, &jh), 0);
    /* Wait until the job runs: a queued one would be cancelled. */
    kr_runtime_metrics m;
    for (int i = 0; i < 20000; i++) {
        assert_rc(kr_runtime_metrics_get(rt, &m), 0);
        if (m.blocking_threads > m.blocking_idle && m.blocking_queued == 0)
            break;
        test_sleep_ms(1);
    }
    assert_rc(kr_runtime_shutdown(rt), 0); /* waits for the job */
    assert_true(kr_join_handle_is_finished(&jh));
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    void *r = NULL;
    assert_int_equal(kr_future_poll(&jh.base, &cx, &r), KR_READY);
    assert_rc(kr_join_handle_error(&jh), 0);
    assert_ptr_equal(r, (void *)42);
    leave(&g, h);
    test_runtime_free(rt);
}

/* tokio rt_handle_block_on.rs::tcp_listener_bind (bind is not a future
 * here: it registers with the entered runtime at once) */
static void tcp_listener_bind(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_enter_guard g;
    kr_handle *h = enter_current(rt, &g);
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("127.0.0.1:0", &a), 0);
    kr_tcp_listener *l = NULL;
    assert_rc(kr_tcp_listener_bind(NULL, &a, NULL, &l), 0);
    kr_tcp_listener_free(l);
    leave(&g, h);
    test_runtime_free(rt);
}

/* ---- nesting ---------------------------------------------------------- */

typedef struct nest_fut {
    kr_future base;
} nest_fut;

static kr_poll nest_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx;
    kr_handle *h = NULL;
    int rc = kr_handle_current(&h);
    if (rc == 0) {
        test_value v = test_value_make(1, NULL);
        rc = kr_handle_block_on(h, &v.base, NULL);
        kr_handle_drop(h);
    }
    *(int *)out = rc;
    return KR_READY;
}

static const kr_future_vtable nest_vt = {nest_poll, NULL, sizeof(nest_fut),
                                         sizeof(int), "nest_fut"};

/* tokio rt_handle_block_on.rs::nesting: a block_on inside the runtime
 * (here in a block_on future and in a task) is refused with KR_EBUSY. */
static void nesting(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    nest_fut n = {{&nest_vt}};
    int rc = 0;
    assert_rc(kr_runtime_block_on(rt, &n.base, &rc), 0);
    assert_rc(rc, KR_EBUSY);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &n.base, &jh), 0);
    rc = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &rc), 0);
    assert_rc(rc, KR_EBUSY);
    test_runtime_free(rt);
}

/* tokio rt_handle_block_on.rs::spawn_after_runtime_dropped: a task spawned
 * before the drop is cancelled by it; a spawn after it fails. */
static void spawn_after_runtime_dropped(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_handle *h;
    assert_rc(kr_runtime_handle(rt, &h), 0);
    test_pending p = test_pending_make(NULL, NULL);
    kr_join_handle jh1, jh2;
    assert_rc(kr_handle_spawn(h, &p.base, &jh1), 0);
    kr_runtime_free(rt);
    assert_rc(kr_handle_spawn(h, &p.base, &jh2), KR_ESHUTDOWN);
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    assert_int_equal(kr_future_poll(&jh1.base, &cx, NULL), KR_READY);
    assert_rc(kr_join_handle_error(&jh1), KR_ECANCELED);
    assert_rc(kr_join_handle_error(&jh2), KR_EINVAL); /* empty */
    kr_handle_drop(h);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(basic),
    cmocka_unit_test(bounded_mpsc_channel),
    cmocka_unit_test(unbounded_mpsc_channel),
    cmocka_unit_test(basic_spawn_blocking),
    cmocka_unit_test(spawn_blocking_after_shutdown_fails),
    cmocka_unit_test(spawn_blocking_started_before_shutdown_continues),
    cmocka_unit_test(tcp_listener_bind),
    cmocka_unit_test(nesting),
    cmocka_unit_test(spawn_after_runtime_dropped),
};
KR_TEST_MAIN(tests)
