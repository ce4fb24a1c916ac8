/*
 * The current runtime, runtime handles and entering a runtime
 * (kairo/runtime.h), after tokio/tests/rt_handle.rs and the handle and
 * enter parts of tokio/tests/rt_common.rs: enters that nest, exits out of
 * order refused (Tokio panics) and the thread still usable after, runtime
 * ids, a spawn from an entered thread, from a blocking job (a task and a
 * blocking job), a block_on through a handle. kairo's own: what
 * kr_runtime_current returns where, a handle outliving its runtime
 * (KR_ESHUTDOWN), an entered thread binding a socket and spawning after
 * the runtime was freed.
 * Not ported: rt_handle.rs::drop_tasks_with_reference_cycle (Rust's Arc
 * cycles between tasks' handles; C join handles hold no runtime).
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

/* tokio rt_handle.rs::basic_enter */
static void basic_enter(void **state) {
    (void)state;
    kr_runtime *rt1 = test_runtime(0), *rt2 = test_runtime(0);
    kr_enter_guard g1, g2;
    assert_null(kr_runtime_current());
    assert_rc(kr_runtime_enter(rt1, &g1), 0);
    assert_ptr_equal(kr_runtime_current(), rt1);
    assert_rc(kr_runtime_enter(rt2, &g2), 0);
    assert_ptr_equal(kr_runtime_current(), rt2);
    assert_rc(kr_runtime_exit(&g2), 0);
    assert_ptr_equal(kr_runtime_current(), rt1);
    assert_rc(kr_runtime_exit(&g1), 0);
    assert_null(kr_runtime_current());
    test_runtime_free(rt1);
    test_runtime_free(rt2);
}

/* Enters rt1 then rt2, exits rt1 first (refused), then in order. */
static void interleave(kr_runtime *rt1, kr_runtime *rt2) {
    kr_enter_guard g1, g2;
    assert_rc(kr_runtime_enter(rt1, &g1), 0);
    assert_rc(kr_runtime_enter(rt2, &g2), 0);
    assert_rc(kr_runtime_exit(&g1), KR_EINVAL); /* not the innermost */
    assert_ptr_equal(kr_runtime_current(), rt2);
    assert_rc(kr_runtime_exit(&g2), 0);
    assert_rc(kr_runtime_exit(&g2), KR_EINVAL); /* twice */
    assert_rc(kr_runtime_exit(&g1), 0);
    assert_null(kr_runtime_current());
}

/* tokio rt_handle.rs::interleave_enter_different_rt */
static void interleave_enter_different_rt(void **state) {
    (void)state;
    kr_runtime *rt1 = test_runtime(0), *rt2 = test_runtime(0);
    interleave(rt1, rt2);
    test_runtime_free(rt1);
    test_runtime_free(rt2);
}

/* tokio rt_handle.rs::interleave_enter_same_rt */
static void interleave_enter_same_rt(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    interleave(rt, rt);
    test_runtime_free(rt);
}

/* tokio rt_handle.rs::interleave_then_enter: after a refused exit, the
 * thread enters and leaves as before. */
static void interleave_then_enter(void **state) {
    (void)state;
    kr_runtime *rt1 = test_runtime(0), *rt2 = test_runtime(0);
    interleave(rt1, rt2);
    kr_enter_guard g;
    assert_rc(kr_runtime_enter(rt1, &g), 0);
    assert_ptr_equal(kr_runtime_current(), rt1);
    assert_rc(kr_runtime_exit(&g), 0);
    assert_rc(kr_runtime_enter(rt2, &g), 0);
    assert_rc(kr_runtime_exit(&g), 0);
    assert_null(kr_runtime_current());
    assert_rc(kr_runtime_enter(NULL, &g), KR_EINVAL);
    assert_rc(kr_runtime_enter(rt1, NULL), KR_EINVAL);
    assert_rc(kr_runtime_exit(NULL), KR_EINVAL);
    test_runtime_free(rt1);
    test_runtime_free(rt2);
}

/* tokio rt_handle.rs::runtime_id_is_same */
static void runtime_id_is_same(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_handle *h1, *h2;
    assert_rc(kr_runtime_handle(rt, &h1), 0);
    assert_rc(kr_runtime_handle(rt, &h2), 0);
    assert_true(kr_handle_runtime_id(h1) == kr_handle_runtime_id(h2));
    assert_true(kr_handle_runtime_id(h1) == kr_runtime_id(rt));
    assert_true(kr_runtime_id(rt) != 0);
    kr_handle_drop(h1);
    kr_handle_drop(h2);
    test_runtime_free(rt);
}

/* tokio rt_handle.rs::runtime_ids_different */
static void runtime_ids_different(void **state) {
    (void)state;
    kr_runtime *rt1 = test_runtime(0), *rt2 = test_runtime(0);
    assert_true(kr_runtime_id(rt1) != kr_runtime_id(rt2));
    test_runtime_free(rt1);
    test_runtime_free(rt2);
    kr_runtime *rt3 = test_runtime(0); /* never reused */
    assert_true(kr_runtime_id(rt3) != 0);
    test_runtime_free(rt3);
}

/* tokio rt_common.rs::enter_and_spawn */
static void enter_and_spawn(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_enter_guard g;
    test_value v = test_value_make(5, NULL);
    kr_join_handle jh;
    assert_rc(kr_spawn(&v.base, &jh), KR_EINVAL); /* not entered yet */
    assert_rc(kr_runtime_enter(rt, &g), 0);
    assert_rc(kr_spawn(&v.base, &jh), 0);
    assert_rc(kr_runtime_exit(&g), 0);
    uint64_t out = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &out), 0);
    assert_int_equal(out, 5);
    test_runtime_free(rt);
}

/* ---- from a blocking job ----------------------------------------------- */

static void *spawn_task_job(void *arg) {
    kr_join_handle *jh = arg;
    test_value v = test_value_make(11, NULL);
    return kr_spawn(&v.base, jh) == 0 ? jh : NULL;
}

/* tokio rt_common.rs::spawn_from_blocking */
static void spawn_from_blocking(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_join_handle outer, inner;
    assert_rc(kr_runtime_spawn_blocking(rt, spawn_task_job, &inner, &outer), 0);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &outer.base, &r), 0);
    assert_ptr_equal(r, &inner);
    uint64_t v = 0;
    assert_rc(kr_runtime_block_on(rt, &inner.base, &v), 0);
    assert_int_equal(v, 11);
    test_runtime_free(rt);
}

static void *hello(void *arg) {
    (void)arg;
    return (void *)"hello";
}

static void *spawn_blocking_job(void *arg) {
    kr_join_handle *jh = arg;
    return kr_spawn_blocking(hello, NULL, jh) == 0 ? jh : NULL;
}

/* tokio rt_common.rs::spawn_blocking_from_blocking */
static void spawn_blocking_from_blocking(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_join_handle outer, inner;
    assert_rc(kr_runtime_spawn_blocking(rt, spawn_blocking_job, &inner, &outer),
              0);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &outer.base, &r), 0);
    assert_ptr_equal(r, &inner);
    assert_rc(kr_runtime_block_on(rt, &inner.base, &r), 0);
    assert_string_equal((const char *)r, "hello");
    test_runtime_free(rt);
}

/* ---- a block_on through a handle ----------------------------------------- */

/* A future that spawns a task sending on a oneshot, and outputs its join
 * handle. */
typedef struct spawn_sender {
    kr_future base;
    kr_oneshot_tx *tx;
} spawn_sender;

typedef struct send_fut {
    kr_future base;
    kr_oneshot_tx *tx;
} send_fut;

static kr_poll send_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    send_fut *s = (send_fut *)f;
    int v = 42;
    *(int *)out = kr_oneshot_send(s->tx, &v);
    s->tx = NULL;
    return KR_READY;
}

static void send_drop(kr_future *f) { kr_oneshot_tx_drop(((send_fut *)f)->tx); }

static const kr_future_vtable send_vt = {send_poll, send_drop, sizeof(send_fut),
                                         sizeof(int), "send_fut"};

static kr_poll spawn_sender_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    spawn_sender *s = (spawn_sender *)f;
    send_fut sf = {{&send_vt}, s->tx};
    kr_join_handle *jh = out;
    if (kr_spawn(&sf.base, jh) != 0)
        kr_oneshot_tx_drop(s->tx);
    /* The handle's runtime is the current one, from inside block_on. */
    kr_handle *cur = NULL;
    if (kr_handle_current(&cur) != 0)
        kr_join_handle_abort(jh);
    kr_handle_drop(cur);
    return KR_READY;
}

static const kr_future_vtable spawn_sender_vt = {
    spawn_sender_poll, NULL, sizeof(spawn_sender), sizeof(kr_join_handle),
    "spawn_sender"};

/* tokio rt_common.rs::spawn_one_from_block_on_called_on_handle */
static void spawn_one_from_block_on_called_on_handle(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_handle *h;
    assert_rc(kr_runtime_handle(rt, &h), 0);
    kr_oneshot_rx *rx;
    spawn_sender s = {{&spawn_sender_vt}, NULL};
    assert_rc(kr_oneshot_new(sizeof(int), &s.tx, &rx), 0);
    kr_join_handle jh;
    assert_rc(kr_handle_block_on(h, &s.base, &jh), 0);
    int rc = 1, got = 0;
    kr_oneshot_recv r = kr_oneshot_recv_future(rx, &got);
    assert_rc(kr_runtime_block_on(rt, &r.base, &rc), 0);
    assert_rc(rc, 0);
    assert_int_equal(got, 42);
    int sent = 1;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &sent), 0);
    assert_rc(sent, 0);
    kr_oneshot_rx_drop(rx);
    kr_handle_drop(h);
    test_runtime_free(rt);
}

/* ---- kairo: the current runtime, a handle after its runtime -------------- */

typedef struct where_fut {
    kr_future base;
    kr_runtime *seen;
    kr_runtime **task_seen;
} where_fut;

static kr_poll where_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    *((where_fut *)f)->task_seen = kr_runtime_current();
    return KR_READY;
}

static const kr_future_vtable where_task_vt = {
    where_task_poll, NULL, sizeof(where_fut), 0, "where_task"};

static kr_runtime *seen_in_task;

static void *where_job(void *arg) {
    (void)arg;
    return kr_runtime_current();
}

static void current_runtime_everywhere(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    assert_null(kr_runtime_current());
    kr_handle *h = (kr_handle *)1;
    assert_rc(kr_handle_current(&h), KR_ESRCH);
    assert_null(h);
    /* In a task. */
    where_fut w = {{&where_task_vt}, NULL, &seen_in_task};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &w.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_ptr_equal(seen_in_task, rt);
    /* In a blocking job. */
    assert_rc(kr_runtime_spawn_blocking(rt, where_job, NULL, &jh), 0);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &r), 0);
    assert_ptr_equal(r, rt);
    test_runtime_free(rt);
}

static void handle_outlives_runtime(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_handle *h;
    assert_rc(kr_runtime_handle(rt, &h), 0);
    kr_handle *h2 = kr_handle_clone(h);
    assert_ptr_equal(h2, h);
    uint64_t id = kr_runtime_id(rt);
    test_value v = test_value_make(3, NULL);
    kr_join_handle jh;
    assert_rc(kr_handle_spawn(h, &v.base, &jh), 0);
    uint64_t out = 0;
    assert_rc(kr_handle_block_on(h, &jh.base, &out), 0);
    assert_int_equal(out, 3);
    /* An entered thread outlives the runtime too. */
    kr_enter_guard g;
    assert_rc(kr_handle_enter(h, &g), 0);
    test_runtime_free(rt);
    assert_rc(kr_spawn(&v.base, &jh), KR_ESHUTDOWN);
    assert_true(kr_join_handle_id(&jh) == 0);
    assert_null(kr_runtime_current());
    assert_rc(kr_runtime_exit(&g), 0);
    assert_rc(kr_handle_spawn(h, &v.base, &jh), KR_ESHUTDOWN);
    test_value b = test_value_make(4, NULL);
    assert_rc(kr_handle_block_on(h, &b.base, &out), KR_ESHUTDOWN);
    assert_true(kr_handle_runtime_id(h) == id);
    assert_rc(kr_handle_spawn(NULL, &v.base, &jh), KR_EINVAL);
    assert_rc(kr_handle_block_on(NULL, &b.base, &out), KR_EINVAL);
    assert_rc(kr_runtime_handle(NULL, &h2), KR_EINVAL);
    assert_rc(kr_runtime_handle(rt, NULL), KR_EINVAL);
    kr_handle_drop(h);
    kr_handle_drop(h); /* the clone */
    kr_handle_drop(NULL);
}

/* A handle used from another thread while the runtime is freed: every
 * spawn either succeeds or returns KR_ESHUTDOWN, never touches freed
 * memory (ASan, TSan). */
typedef struct racer {
    kr_handle *h;
    atomic_int stop;
    long ok, shut;
} racer;

static void *racer_main(void *arg) {
    racer *r = arg;
    while (!atomic_load(&r->stop)) {
        test_value v = test_value_make(1, NULL);
        int rc = kr_handle_spawn(r->h, &v.base, NULL);
        if (rc == 0)
            r->ok++;
        else if (rc == KR_ESHUTDOWN)
            r->shut++;
        else
            return NULL;
        if (r->shut > 100)
            break;
    }
    return r;
}

static void handle_spawn_races_runtime_free(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    racer r = {NULL, 0, 0, 0};
    assert_rc(kr_runtime_handle(rt, &r.h), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, racer_main, &r), 0);
    test_sleep_ms(20);
    kr_runtime_shutdown(rt);
    kr_runtime_free(rt);
    void *ret = NULL;
    pthread_join(th, &ret);
    assert_ptr_equal(ret, &r);
    assert_true(r.shut > 0);
    kr_handle_drop(r.h);
}

/* An entered plain thread binds a listener on the entered runtime (no
 * runtime named), and a task of that runtime accepts on it. */
static void entered_thread_binds_socket(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("127.0.0.1:0", &a), 0);
    kr_tcp_listener *l = NULL;
    assert_rc(kr_tcp_listener_bind(NULL, &a, NULL, &l), KR_EINVAL);
    kr_enter_guard g;
    assert_rc(kr_runtime_enter(rt, &g), 0);
    assert_rc(kr_tcp_listener_bind(NULL, &a, NULL, &l), 0);
    assert_rc(kr_runtime_exit(&g), 0);
    kr_sockaddr bound;
    assert_rc(kr_tcp_listener_local_addr(l, &bound), 0);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(basic_enter),
    cmocka_unit_test(interleave_enter_different_rt),
    cmocka_unit_test(interleave_enter_same_rt),
    cmocka_unit_test(interleave_then_enter),
    cmocka_unit_test(runtime_id_is_same),
    cmocka_unit_test(runtime_ids_different),
    cmocka_unit_test(enter_and_spawn),
    cmocka_unit_test(spawn_from_blocking),
    cmocka_unit_test(spawn_blocking_from_blocking),
    cmocka_unit_test(spawn_one_from_block_on_called_on_handle),
    cmocka_unit_test(current_runtime_everywhere),
    cmocka_unit_test(handle_outlives_runtime),
    cmocka_unit_test(handle_spawn_races_runtime_free),
    cmocka_unit_test(entered_thread_binds_socket),
};
KR_TEST_MAIN(tests)
