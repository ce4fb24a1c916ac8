/*
 * tests/test-net-connect-ring.c: a stream's connect as one completion
 * operation on the io_uring driver (net/connect_ring.c), and the same
 * promises on epoll, where this suite runs too (ctest: ct/, mt/ and
 * uring/{ct,mt}/net-connect-ring/...).
 *
 * The connects run in a task (on the multi-thread runtime a worker's,
 * where the ring takes them; a block_on thread there connects by
 * connect(2)). The io_ops metric counts the ops submitted.
 *
 * KR_TEST_FLAVORS: ct mt
 */
#include <poll.h>

#include "test-net.h"

/* ---- a connect is one op ------------------------------------------------ */

#define CONNS 8

typedef struct conn_out {
    int rc[CONNS];
    bool peer_ok[CONNS];
} conn_out;

typedef struct conn_task {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    kr_sockaddr addr;
    conn_out *o;
    int i;
    kr_tcp_stream *s, *t;
    kr_tcp_connect con;
    kr_tcp_accept acc;
    int rc;
} conn_task;

static kr_poll conn_poll(kr_future *f, kr_context *cx, void *out) {
    conn_task *t = (conn_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < CONNS; t->i++) {
        t->con = kr_tcp_stream_connect(&t->addr, &t->s);
        KR_AWAIT(&t->co, &t->con.base, cx, &t->rc);
        t->o->rc[t->i] = t->rc;
        if (t->rc != 0)
            continue;
        t->acc = kr_tcp_listener_accept(t->l, &t->t, NULL);
        KR_AWAIT(&t->co, &t->acc.base, cx, &t->rc);
        assert_rc(t->rc, 0);
        {
            /* Connected for real: a byte goes through, and the stream
             * knows its peer. */
            kr_sockaddr peer;
            t->o->peer_ok[t->i] = kr_tcp_stream_peer_addr(t->s, &peer) == 0 &&
                                  write(kr_tcp_stream_fd(t->s), "k", 1) == 1;
            char c = 0;
            struct pollfd p = {kr_tcp_stream_fd(t->t), POLLIN, 0};
            t->o->peer_ok[t->i] =
                t->o->peer_ok[t->i] && poll(&p, 1, 5000) == 1 &&
                read(kr_tcp_stream_fd(t->t), &c, 1) == 1 && c == 'k';
        }
        kr_tcp_stream_free(t->s);
        kr_tcp_stream_free(t->t);
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(conn_vt, conn_task, conn_poll, NULL, 0);

static void connects_on_the_ring_are_completion_operations(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(1);
    conn_out o;
    memset(&o, 0, sizeof(o));
    conn_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &conn_vt;
    t.o = &o;
    t.l = tcp_listen(rt, 0, &t.addr);
    int before = lowest_free_fd();
    kr_runtime_metrics m0, m1;
    assert_rc(kr_runtime_metrics_get(rt, &m0), 0);
    tn_in_task(rt, &t.base);
    assert_rc(kr_runtime_metrics_get(rt, &m1), 0);
    for (int i = 0; i < CONNS; i++) {
        assert_rc(o.rc[i], 0);
        assert_true(o.peer_ok[i]);
    }
    uint64_t ops = m1.io_ops - m0.io_ops;
    print_message("ring ops for %d connects and accepts: %llu\n", CONNS,
                  (unsigned long long)ops);
    if (tn_on_ring(rt))
        assert_true(ops >= CONNS); /* a CONNECT each, and the accept op */
    else
        assert_int_equal(ops, 0);
    kr_tcp_listener_free(t.l);
    tn_free_and_check(rt, before);
}

/* ---- a refused connect -------------------------------------------------- */

typedef struct refuse_task {
    kr_future base;
    kr_coro co;
    kr_sockaddr addr;
    int *rc;
    kr_tcp_stream *s;
    kr_tcp_connect con;
} refuse_task;

static kr_poll refuse_poll(kr_future *f, kr_context *cx, void *out) {
    refuse_task *t = (refuse_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    t->con = kr_tcp_stream_connect(&t->addr, &t->s);
    KR_AWAIT(&t->co, &t->con.base, cx, t->rc);
    assert_null(t->s);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(refuse_vt, refuse_task, refuse_poll, NULL, 0);

static void a_refused_connect_on_the_ring_says_so(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    /* A port nobody listens on: a listener's, freed. */
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_listener_free(l);
    int before = lowest_free_fd();
    int rc = 1;
    refuse_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &refuse_vt;
    t.addr = addr;
    t.rc = &rc;
    tn_in_task(rt, &t.base);
    assert_int_equal(rc, KR_ECONNREFUSED);
    tn_free_and_check(rt, before);
}

/* ---- a dropped connect -------------------------------------------------- */

/* A connect polled once and dropped (on the ring its CONNECT is in the SQ
 * or the kernel): its socket is closed once the op has ended, nothing
 * leaks, and the listener sees at most a connection that ends. A
 * connect to an address that never answers (a blackholed one would need
 * a network) is not needed for this: the drop comes before the next
 * turn, so the op is still in flight whatever the handshake does. */
typedef struct drop_task {
    kr_future base;
    kr_coro co;
    kr_sockaddr addr;
    kr_tcp_stream *s;
    kr_sleep sl;
} drop_task;

static kr_poll drop_poll(kr_future *f, kr_context *cx, void *out) {
    drop_task *t = (drop_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    {
        kr_tcp_connect con = kr_tcp_stream_connect(&t->addr, &t->s);
        int rc = 1;
        kr_poll p = kr_future_poll(&con.base, cx, &rc);
        kr_future_drop(&con.base);
        if (p == KR_READY) /* done at once (epoll, loopback) */
            kr_tcp_stream_free(rc == 0 ? t->s : NULL);
        t->s = NULL;
    }
    t->sl = kr_sleep_for(kr_ms(30)); /* turns: the op ends */
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(drop_vt, drop_task, drop_poll, NULL, 0);

static void a_dropped_connect_closes_its_socket_after_the_op(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    int before = lowest_free_fd();
    drop_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &drop_vt;
    t.addr = addr;
    tn_in_task(rt, &t.base);
    assert_true(lowest_free_fd() <= before);
    /* The listener's side, if the handshake went through, is ended. */
    int lfd = kr_tcp_listener_fd(l);
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0) {
        struct pollfd p = {c, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        char x;
        ssize_t n = read(c, &x, 1);
        assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
        close(c);
    }
    kr_tcp_listener_free(l);
    tn_free_and_check(rt, before);
}

/* A connect dropped while the runtime is freed right after: the free ends
 * the op (its done), which closes the socket; nothing leaks. */
typedef struct drop_free_task {
    kr_future base;
    kr_sockaddr addr;
} drop_free_task;

static kr_poll drop_free_poll(kr_future *f, kr_context *cx, void *out) {
    drop_free_task *t = (drop_free_task *)f;
    (void)out;
    kr_tcp_stream *s = NULL;
    kr_tcp_connect con = kr_tcp_stream_connect(&t->addr, &s);
    int rc = 1;
    if (kr_future_poll(&con.base, cx, &rc) == KR_READY && rc == 0)
        kr_tcp_stream_free(s);
    kr_future_drop(&con.base);
    return KR_READY;
}
KR_FUTURE_VTABLE(drop_free_vt, drop_free_task, drop_free_poll, NULL, 0);

static void a_runtime_freed_after_a_dropped_connect(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    int before = lowest_free_fd();
    drop_free_task t = {{&drop_free_vt}, addr};
    tn_in_task(rt, &t.base);
    kr_tcp_listener_free(l);
    tn_free_and_check(rt, before);
}

/* A task waiting in a connect when its runtime is freed: the listener's
 * backlog is full and not accepted from, so the kernel drops the SYN and
 * the attempt stays in flight (retransmitting) well past the free. The
 * free drops the task, whose connect cancels the op through a driver
 * that must still be there; nothing leaks and no descriptor is left. */
typedef struct pend_task {
    kr_future base;
    kr_sockaddr addr;
    kr_tcp_stream *s;
    kr_tcp_connect con;
    bool made;
} pend_task;

static kr_poll pend_poll(kr_future *f, kr_context *cx, void *out) {
    pend_task *t = (pend_task *)f;
    if (!t->made) {
        t->con = kr_tcp_stream_connect(&t->addr, &t->s);
        t->made = true;
    }
    return kr_future_poll(&t->con.base, cx, out);
}

static void pend_drop(kr_future *f) {
    pend_task *t = (pend_task *)f;
    if (t->made)
        kr_future_drop(&t->con.base);
}
KR_FUTURE_VTABLE(pend_vt, pend_task, pend_poll, pend_drop, sizeof(int));

static void a_runtime_freed_with_a_connect_in_flight(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    int before = lowest_free_fd();
    /* A raw listener with a backlog of one, filled by blocking clients
     * that are never accepted. */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    int fill[2];
    for (int i = 0; i < 2; i++) {
        fill[i] =
            socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fill[i] >= 0);
        (void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
    }
    rt_sleep_ms(rt, 20);
    pend_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &pend_vt;
    memcpy(&t.addr.storage, &sin, sizeof(sin));
    t.addr.len = sizeof(sin);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &t.base, &h), 0);
    rt_sleep_ms(rt, 50); /* polled: the CONNECT is in the kernel */
    assert_false(kr_join_handle_is_finished(&h));
    kr_join_handle_drop(&h);
    test_runtime_free(rt); /* with the CONNECT still in flight */
    for (int i = 0; i < 2; i++)
        close(fill[i]);
    close(lfd);
    assert_true(lowest_free_fd() <= before);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(connects_on_the_ring_are_completion_operations),
    cmocka_unit_test(a_refused_connect_on_the_ring_says_so),
    cmocka_unit_test(a_dropped_connect_closes_its_socket_after_the_op),
    cmocka_unit_test(a_runtime_freed_after_a_dropped_connect),
    cmocka_unit_test(a_runtime_freed_with_a_connect_in_flight),
};
KR_TEST_MAIN(tests)
