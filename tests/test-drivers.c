/*
 * Runtimes without drivers (kr_runtime_config.disable_drivers, Tokio's
 * builder without enable_io / enable_time). KR_TEST_FLAVORS: ct mt
 *
 * Tokio panics where a driver-less runtime is asked for I/O ("IO is
 * disabled") or a timer ("timers are disabled"); kairo returns KR_ENOIO /
 * KR_ENOTIME where the call has an int to carry it, and a kr_sleep (which
 * has no output) aborts with a message, as it does outside any runtime.
 * Without the I/O driver, idle threads park on futexes: the tests below
 * make every kind of wake-up (a task, an outside thread, a remote spawn, a
 * blocking job, a timer on a runtime that keeps its timers) reach one.
 */
#include <unistd.h>

#include "test.h"

static kr_runtime *runtime_without(unsigned disable) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    c.disable_drivers = disable;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    assert_non_null(rt);
    return rt;
}

/* ---- tasks and channels ------------------------------------------------ */

#define MSGS 2000

/* Sends 0..MSGS-1 into a bounded channel of 4 (so it waits for room). */
typedef struct producer {
    kr_future base;
    kr_coro co;
    kr_mpsc_tx *tx;
    kr_mpsc_send s;
    int i, rc;
} producer;

static kr_poll producer_poll(kr_future *f, kr_context *cx, void *out) {
    producer *p = (producer *)f;
    KR_ASYNC_BEGIN(&p->co);
    for (p->i = 0; p->i < MSGS; p->i++) {
        p->s = kr_mpsc_send_future(p->tx, &p->i);
        KR_AWAIT(&p->co, &p->s.base, cx, &p->rc);
        assert_rc(p->rc, 0);
    }
    kr_mpsc_tx_drop(p->tx);
    KR_ASYNC_END(&p->co);
}
static void producer_drop(kr_future *f) {
    producer *p = (producer *)f;
    if (p->i < MSGS)
        kr_mpsc_tx_drop(p->tx);
}
KR_FUTURE_VTABLE(producer_vt, producer, producer_poll, producer_drop, 0);

/* Spawns the producer, receives every message in order, joins it. */
typedef struct consumer {
    kr_future base;
    kr_coro co;
    kr_mpsc_rx *rx;
    kr_mpsc_recv r;
    kr_join_handle jh;
    int v, rc, n;
} consumer;

static kr_poll consumer_poll(kr_future *f, kr_context *cx, void *out) {
    consumer *c = (consumer *)f;
    KR_ASYNC_BEGIN(&c->co);
    {
        kr_mpsc_tx *tx;
        assert_rc(kr_mpsc_new(sizeof(int), 4, &tx, &c->rx), 0);
        producer p;
        memset(&p, 0, sizeof(p));
        p.base.vtable = &producer_vt;
        p.tx = tx;
        assert_rc(kr_spawn(&p.base, &c->jh), 0);
    }
    for (;;) {
        c->r = kr_mpsc_recv_future(c->rx, &c->v);
        KR_AWAIT(&c->co, &c->r.base, cx, &c->rc);
        if (c->rc == KR_ECLOSED)
            break;
        assert_rc(c->rc, 0);
        assert_int_equal(c->v, c->n);
        c->n++;
    }
    KR_AWAIT(&c->co, &c->jh.base, cx, NULL);
    assert_rc(kr_join_handle_error(&c->jh), 0);
    kr_mpsc_rx_drop(c->rx);
    KR_RETURN(&c->co, out, int, c->n);
    KR_ASYNC_END(&c->co);
}
KR_FUTURE_VTABLE(consumer_vt, consumer, consumer_poll, NULL, sizeof(int));

static void run_channel(kr_runtime *rt) {
    consumer c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &consumer_vt;
    int n = -1;
    assert_rc(kr_runtime_block_on(rt, &c.base, &n), 0);
    assert_int_equal(n, MSGS);
}

/* block_on, spawn, join and a bounded channel between two tasks. */
static void drivers__none_block_on_spawn_channel(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVERS_ALL);
    run_channel(rt);
    run_channel(rt); /* a second block_on on the same runtime */
    test_runtime_free(rt);
}

/* The same with each driver left out alone. */
static void drivers__no_io_block_on_spawn_channel(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVER_IO);
    run_channel(rt);
    test_runtime_free(rt);
}

static void drivers__no_time_block_on_spawn_channel(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVER_TIME);
    run_channel(rt);
    test_runtime_free(rt);
}

/* ---- wake-ups from outside the runtime --------------------------------- */

typedef struct outside_sender {
    kr_mpsc_tx *tx;
} outside_sender;

static void *send_later(void *arg) {
    outside_sender *o = arg;
    for (int i = 0; i < 50; i++) {
        test_sleep_ms(1); /* the runtime is parked by now, mostly */
        while (kr_mpsc_try_send(o->tx, &i) == KR_EFULL)
            test_sleep_ms(1);
    }
    kr_mpsc_tx_drop(o->tx);
    return NULL;
}

typedef struct recv_all {
    kr_future base;
    kr_coro co;
    kr_mpsc_rx *rx;
    kr_mpsc_recv r;
    int v, rc, n;
} recv_all;

static kr_poll recv_all_poll(kr_future *f, kr_context *cx, void *out) {
    recv_all *a = (recv_all *)f;
    KR_ASYNC_BEGIN(&a->co);
    for (;;) {
        a->r = kr_mpsc_recv_future(a->rx, &a->v);
        KR_AWAIT(&a->co, &a->r.base, cx, &a->rc);
        if (a->rc == KR_ECLOSED)
            break;
        assert_int_equal(a->v, a->n);
        a->n++;
    }
    KR_RETURN(&a->co, out, int, a->n);
    KR_ASYNC_END(&a->co);
}
KR_FUTURE_VTABLE(recv_all_vt, recv_all, recv_all_poll, NULL, sizeof(int));

/* A plain thread's try_send wakes a block_on parked on its futex, and a
 * task parked on a worker. */
static void drivers__none_outside_thread_wakes(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVERS_ALL);
    for (int round = 0; round < 2; round++) {
        outside_sender o;
        recv_all a;
        memset(&a, 0, sizeof(a));
        a.base.vtable = &recv_all_vt;
        assert_rc(kr_mpsc_new(sizeof(int), 2, &o.tx, &a.rx), 0);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, send_later, &o), 0);
        int n = -1;
        if (round == 0) {
            assert_rc(kr_runtime_block_on(rt, &a.base, &n), 0);
        } else {
            /* The receiver as a task, awaited through its join handle. */
            kr_join_handle jh;
            assert_rc(kr_runtime_spawn(rt, &a.base, &jh), 0);
            assert_rc(kr_runtime_block_on(rt, &jh.base, &n), 0);
        }
        assert_int_equal(n, 50);
        pthread_join(th, NULL);
        kr_mpsc_rx_drop(a.rx);
    }
    test_runtime_free(rt);
}

/* A spawn from a plain thread reaches an idle runtime; so does a blocking
 * job's completion. */
typedef struct flag_task {
    kr_future base;
    atomic_int *ran;
} flag_task;

static kr_poll flag_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    atomic_fetch_add(((flag_task *)f)->ran, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(flag_vt, flag_task, flag_poll, NULL, 0);

static void *blocking_job(void *arg) {
    test_sleep_ms(5);
    return arg;
}

typedef struct remote_main {
    kr_future base;
    kr_coro co;
    kr_join_handle jh;
    void *res;
} remote_main;

static kr_poll remote_main_poll(kr_future *f, kr_context *cx, void *out) {
    remote_main *m = (remote_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    assert_rc(kr_spawn_blocking(blocking_job, &m->res, &m->jh), 0);
    KR_AWAIT(&m->co, &m->jh.base, cx, &m->res);
    assert_rc(kr_join_handle_error(&m->jh), 0);
    assert_ptr_equal(m->res, &m->res);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(remote_main_vt, remote_main, remote_main_poll, NULL, 0);

static void drivers__none_remote_spawn_and_blocking(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVERS_ALL);
    atomic_int ran = 0;
    flag_task t = {{&flag_vt}, &ran};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &t.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_int_equal(atomic_load(&ran), 1);
    remote_main m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = &remote_main_vt;
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    test_runtime_free(rt);
}

/* ---- I/O disabled ------------------------------------------------------ */

/* Sockets and fds: KR_ENOIO, with its message; nothing leaks. */
static void drivers__no_io_socket_is_enoio(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVER_IO);
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("127.0.0.1:0", &a), 0);
    kr_tcp_listener *l = (kr_tcp_listener *)&a; /* not NULL: is it reset? */
    assert_rc(kr_tcp_listener_bind(rt, &a, NULL, &l), KR_ENOIO);
    assert_null(l);
    kr_udp_socket *u = NULL;
    assert_rc(kr_udp_socket_bind(rt, &a, &u), KR_ENOIO);
    assert_null(u);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    kr_async_fd *afd = NULL;
    assert_rc(kr_runtime_async_fd_new(rt, fds[0], &afd), KR_ENOIO);
    assert_null(afd);
    close(fds[0]);
    close(fds[1]);
    assert_string_equal(kr_err_name(KR_ENOIO), "ENOIO");
    assert_string_equal(kr_strerror(KR_ENOIO),
                        "I/O is disabled on this runtime");
    test_runtime_free(rt);
}

/* Timers still work without I/O: the futex park keeps the timeout. */
static void drivers__no_io_sleep_works(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVER_IO);
    kr_instant t0 = kr_instant_now();
    kr_sleep s = kr_sleep_for(kr_ms(20));
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_true(kr_instant_since(kr_instant_now(), t0) >= kr_ms(19));
    test_runtime_free(rt);
}

/* A sleep in a spawned task: the worker parks on its futex with the
 * timer's deadline as the timeout. */
typedef struct sleeper {
    kr_future base;
    kr_coro co;
    kr_sleep s;
} sleeper;

static kr_poll sleeper_poll(kr_future *f, kr_context *cx, void *out) {
    sleeper *z = (sleeper *)f;
    KR_ASYNC_BEGIN(&z->co);
    z->s = kr_sleep_for(kr_ms(10));
    KR_AWAIT(&z->co, &z->s.base, cx, NULL);
    KR_RETURN(&z->co, out, int, 7);
    KR_ASYNC_END(&z->co);
}
KR_FUTURE_VTABLE(sleeper_vt, sleeper, sleeper_poll, NULL, sizeof(int));

static void drivers__no_io_task_sleep_works(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVER_IO);
    sleeper z;
    memset(&z, 0, sizeof(z));
    z.base.vtable = &sleeper_vt;
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &z.base, &jh), 0);
    int v = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &v), 0);
    assert_int_equal(v, 7);
    test_runtime_free(rt);
}

/* ---- timers disabled --------------------------------------------------- */

/* A timeout over a pending future: KR_ENOTIME, the inner future dropped. */
static void drivers__no_time_timeout_is_enotime(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVER_TIME);
    test_counts c = {0};
    test_pending p = test_pending_make(&c, NULL);
    kr_timeout to = kr_timeout_new(&p.base, kr_ms(10), NULL);
    int rc = 0;
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    assert_rc(rc, KR_ENOTIME);
    assert_int_equal(atomic_load(&c.drops), 1);
    /* A ready inner future needs no timer. */
    test_value v = test_value_make(5, NULL);
    uint64_t got = 0;
    to = kr_timeout_new(&v.base, kr_ms(10), &got);
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    assert_rc(rc, 0);
    assert_int_equal(got, 5);
    /* A due sleep is ready anywhere. */
    kr_instant past = kr_instant_now();
    test_sleep_ms(2);
    kr_sleep s = kr_sleep_until(past);
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_string_equal(kr_err_name(KR_ENOTIME), "ENOTIME");
    assert_string_equal(kr_strerror(KR_ENOTIME),
                        "timers are disabled on this runtime");
    test_runtime_free(rt);
}

static void sleep_child(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 1;
    c.disable_drivers = KR_DRIVER_TIME;
    kr_runtime *rt = NULL;
    TEST_CHILD_CHECK(kr_runtime_new(&c, &rt) == 0);
    kr_sleep s = kr_sleep_for(kr_ms(50));
    kr_runtime_block_on(rt, &s.base, NULL);
}

/* A sleep that would wait: aborts, naming the cause (Tokio panics). */
static void drivers__no_time_sleep_aborts(void **state) {
    (void)state;
    test_expect_abort(sleep_child, "made without timers");
}

/* Sockets still work without timers. */
static void drivers__no_time_socket_works(void **state) {
    (void)state;
    kr_runtime *rt = runtime_without(KR_DRIVER_TIME);
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("127.0.0.1:0", &a), 0);
    kr_tcp_listener *l = NULL;
    assert_rc(kr_tcp_listener_bind(rt, &a, NULL, &l), 0);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* ---- configuration ----------------------------------------------------- */

static void drivers__unknown_bit_is_einval(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.disable_drivers = 4;
    kr_runtime *rt = (kr_runtime *)&c;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_null(rt);
    /* The default keeps both (sockets work): disable_drivers is 0. */
    assert_int_equal(kr_runtime_config_default().disable_drivers, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(drivers__none_block_on_spawn_channel),
    cmocka_unit_test(drivers__no_io_block_on_spawn_channel),
    cmocka_unit_test(drivers__no_time_block_on_spawn_channel),
    cmocka_unit_test(drivers__none_outside_thread_wakes),
    cmocka_unit_test(drivers__none_remote_spawn_and_blocking),
    cmocka_unit_test(drivers__no_io_socket_is_enoio),
    cmocka_unit_test(drivers__no_io_sleep_works),
    cmocka_unit_test(drivers__no_io_task_sleep_works),
    cmocka_unit_test(drivers__no_time_timeout_is_enotime),
    cmocka_unit_test(drivers__no_time_sleep_aborts),
    cmocka_unit_test(drivers__no_time_socket_works),
    cmocka_unit_test(drivers__unknown_bit_is_einval),
};
KR_TEST_MAIN(tests)
