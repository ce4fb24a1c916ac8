/*
 * Network and I/O futures polled after READY abort with a message naming
 * the future, as core.h says kairo's futures do. Before, a write sent its
 * data again, an accept took a second connection (and leaked the first),
 * a connect dereferenced NULL. Each case forks a child (test_expect_abort)
 * that completes a future on a runtime and then polls it again from the
 * same task, as a buggy parent future would. KR_TEST_FLAVORS: ct mt
 */
#include "test-net.h"

/* ---- the misuse: a parent that polls its child again after READY -------- */

typedef struct {
    kr_future base;
    kr_future *child;
    char out[64]; /* room for any of the outputs */
} again;

static kr_poll again_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    again *a = (again *)f;
    if (kr_future_poll(a->child, cx, a->out) == KR_PENDING)
        return KR_PENDING;
    kr_future_poll(a->child, cx, a->out); /* the violation */
    return KR_READY;
}
KR_FUTURE_VTABLE(again_vt, again, again_poll, NULL, 0);

/* Polls `child` to READY and again, on `rt`; only returns if no abort. */
static void poll_twice(kr_runtime *rt, kr_future *child) {
    again a = {{&again_vt}, child, {0}};
    TEST_CHILD_CHECK(kr_runtime_block_on(rt, &a.base, NULL) == 0);
}

static kr_runtime *child_runtime(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    kr_runtime *rt = NULL;
    TEST_CHILD_CHECK(kr_runtime_new(&c, &rt) == 0);
    return rt;
}

/* A listener and a connected pair on it: *c the client, *s the server. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    kr_sockaddr addr;
    kr_tcp_stream *c, *s;
    kr_tcp_connect con;
    kr_tcp_accept acc;
    int rc;
} pair_fut;

static kr_poll pair_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    pair_fut *p = (pair_fut *)f;
    KR_ASYNC_BEGIN(&p->co);
    p->con = kr_tcp_stream_connect(&p->addr, &p->c);
    KR_AWAIT(&p->co, &p->con.base, cx, &p->rc);
    TEST_CHILD_CHECK(p->rc == 0);
    p->acc = kr_tcp_listener_accept(p->l, &p->s, NULL);
    KR_AWAIT(&p->co, &p->acc.base, cx, &p->rc);
    TEST_CHILD_CHECK(p->rc == 0);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(pair_vt, pair_fut, pair_poll, NULL, 0);

static kr_tcp_listener *child_listen(kr_runtime *rt, kr_sockaddr *addr) {
    kr_sockaddr any;
    TEST_CHILD_CHECK(kr_sockaddr_from_ip("127.0.0.1", 0, &any) == 0);
    kr_tcp_listener *l = NULL;
    TEST_CHILD_CHECK(kr_tcp_listener_bind(rt, &any, NULL, &l) == 0);
    TEST_CHILD_CHECK(kr_tcp_listener_local_addr(l, addr) == 0);
    return l;
}

static void child_pair(kr_runtime *rt, kr_tcp_stream **c, kr_tcp_stream **s) {
    pair_fut p;
    memset(&p, 0, sizeof(p));
    p.base.vtable = &pair_vt;
    p.l = child_listen(rt, &p.addr);
    TEST_CHILD_CHECK(kr_runtime_block_on(rt, &p.base, NULL) == 0);
    *c = p.c;
    *s = p.s;
}

/* ---- stream futures ----------------------------------------------------- */

static void child_write_again(void) {
    kr_runtime *rt = child_runtime();
    kr_tcp_stream *c, *s;
    child_pair(rt, &c, &s);
    kr_tcp_write w = kr_tcp_stream_write(c, "x", 1);
    poll_twice(rt, &w.base);
}

static void death_tcp_write_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_write_again,
                      "kr_net_write polled after it returned READY");
}

static void child_read_again(void) {
    kr_runtime *rt = child_runtime();
    kr_tcp_stream *c, *s;
    child_pair(rt, &c, &s);
    TEST_CHILD_CHECK(send(kr_tcp_stream_fd(c), "xy", 2, 0) == 2);
    char b;
    kr_tcp_read r = kr_tcp_stream_read(s, &b, 1);
    poll_twice(rt, &r.base);
}

static void death_tcp_read_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_read_again,
                      "kr_net_read polled after it returned READY");
}

static void child_read_exact_again(void) {
    kr_runtime *rt = child_runtime();
    kr_tcp_stream *c, *s;
    child_pair(rt, &c, &s);
    TEST_CHILD_CHECK(send(kr_tcp_stream_fd(c), "xyxy", 4, 0) == 4);
    char b[2];
    kr_tcp_read_exact r = kr_tcp_stream_read_exact(s, b, 2);
    poll_twice(rt, &r.base);
}

static void death_tcp_read_exact_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_read_exact_again, "kr_net_read_exact polled");
}

static void child_write_all_again(void) {
    kr_runtime *rt = child_runtime();
    kr_tcp_stream *c, *s;
    child_pair(rt, &c, &s);
    kr_tcp_write_all w = kr_tcp_stream_write_all(c, "xy", 2);
    poll_twice(rt, &w.base);
}

static void death_tcp_write_all_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_write_all_again, "kr_net_write_all polled");
}

static void child_writev_again(void) {
    kr_runtime *rt = child_runtime();
    kr_tcp_stream *c, *s;
    child_pair(rt, &c, &s);
    struct iovec iov[1] = {{(void *)"xy", 2}};
    kr_tcp_writev w = kr_tcp_stream_writev(c, iov, 1);
    poll_twice(rt, &w.base);
}

static void death_tcp_writev_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_writev_again, "kr_net_writev polled");
}

/* Bad arguments complete at once; that READY counts too. */
static void child_invalid_read_again(void) {
    kr_runtime *rt = child_runtime();
    char b;
    kr_tcp_read r = kr_tcp_stream_read(NULL, &b, 1);
    poll_twice(rt, &r.base);
}

static void death_invalid_read_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_invalid_read_again, "kr_net_read polled");
}

/* ---- accept and connect ------------------------------------------------- */

static void child_accept_again(void) {
    kr_runtime *rt = child_runtime();
    kr_sockaddr addr;
    kr_tcp_listener *l = child_listen(rt, &addr);
    /* Two connections queued: a second accept would take the other. */
    for (int i = 0; i < 2; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        TEST_CHILD_CHECK(fd >= 0);
        TEST_CHILD_CHECK(
            connect(fd, (const struct sockaddr *)&addr.storage, addr.len) == 0);
    }
    kr_tcp_stream *s = NULL;
    kr_tcp_accept a = kr_tcp_listener_accept(l, &s, NULL);
    poll_twice(rt, &a.base);
}

static void death_tcp_accept_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_accept_again,
                      "kr_net_accept polled after it returned READY");
}

static void child_connect_again(void) {
    kr_runtime *rt = child_runtime();
    kr_sockaddr addr;
    child_listen(rt, &addr);
    kr_tcp_stream *c = NULL;
    kr_tcp_connect con = kr_tcp_stream_connect(&addr, &c);
    poll_twice(rt, &con.base);
}

static void death_tcp_connect_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_connect_again,
                      "kr_net_connect polled after it returned READY");
}

static void child_failed_connect_again(void) {
    kr_runtime *rt = child_runtime();
    kr_tcp_stream *c = NULL;
    kr_tcp_connect con = kr_tcp_stream_connect(NULL, &c); /* KR_EINVAL */
    poll_twice(rt, &con.base);
}

static void death_failed_connect_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_failed_connect_again, "kr_net_connect polled");
}

static void child_unix_connect_again(void) {
    kr_runtime *rt = child_runtime();
    char path[64];
    snprintf(path, sizeof(path), "@kairo-net-death-%d", (int)getpid());
    kr_unix_listener *l = NULL;
    TEST_CHILD_CHECK(kr_unix_listener_bind(rt, path, 0, &l) == 0);
    kr_unix_stream *c = NULL;
    kr_unix_connect con = kr_unix_stream_connect(path, &c);
    poll_twice(rt, &con.base);
}

static void death_unix_connect_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_unix_connect_again, "kr_net_connect polled");
}

/* ---- UDP ------------------------------------------------------------------ */

static kr_udp_socket *child_udp(kr_runtime *rt, kr_sockaddr *addr) {
    kr_sockaddr any;
    TEST_CHILD_CHECK(kr_sockaddr_from_ip("127.0.0.1", 0, &any) == 0);
    kr_udp_socket *u = NULL;
    TEST_CHILD_CHECK(kr_udp_socket_bind(rt, &any, &u) == 0);
    TEST_CHILD_CHECK(kr_udp_socket_local_addr(u, addr) == 0);
    return u;
}

static void child_send_to_again(void) {
    kr_runtime *rt = child_runtime();
    kr_sockaddr addr;
    kr_udp_socket *u = child_udp(rt, &addr);
    kr_udp_send_to st = kr_udp_socket_send_to(u, "x", 1, &addr);
    poll_twice(rt, &st.base);
}

static void death_udp_send_to_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_send_to_again, "kr_udp_send_to polled");
}

static void child_recv_from_again(void) {
    kr_runtime *rt = child_runtime();
    kr_sockaddr addr;
    kr_udp_socket *u = child_udp(rt, &addr);
    for (int i = 0; i < 2; i++)
        TEST_CHILD_CHECK(sendto(kr_udp_socket_fd(u), "x", 1, 0,
                                (const struct sockaddr *)&addr.storage,
                                addr.len) == 1);
    char b;
    kr_udp_recv_from rf = kr_udp_socket_recv_from(u, &b, 1, NULL);
    poll_twice(rt, &rf.base);
}

static void death_udp_recv_from_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_recv_from_again, "kr_udp_recv_from polled");
}

static void child_send_again(void) {
    kr_runtime *rt = child_runtime();
    kr_sockaddr addr;
    kr_udp_socket *u = child_udp(rt, &addr);
    TEST_CHILD_CHECK(kr_udp_socket_connect(u, &addr) == 0);
    kr_udp_send sd = kr_udp_socket_send(u, "x", 1);
    poll_twice(rt, &sd.base);
}

static void death_udp_send_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_send_again, "kr_net_send polled");
}

static void child_recv_again(void) {
    kr_runtime *rt = child_runtime();
    kr_sockaddr addr;
    kr_udp_socket *u = child_udp(rt, &addr);
    TEST_CHILD_CHECK(kr_udp_socket_connect(u, &addr) == 0);
    for (int i = 0; i < 2; i++)
        TEST_CHILD_CHECK(send(kr_udp_socket_fd(u), "x", 1, 0) == 1);
    char b;
    kr_udp_recv rv = kr_udp_socket_recv(u, &b, 1);
    poll_twice(rt, &rv.base);
}

static void death_udp_recv_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_recv_again, "kr_net_recv polled");
}

/* ---- resolution and readiness ----------------------------------------- */

static void child_resolve_again(void) {
    kr_runtime *rt = child_runtime();
    kr_sockaddr addrs[1];
    kr_resolution r = kr_resolve("127.0.0.1", 80, addrs, 1);
    poll_twice(rt, &r.base);
}

static void death_resolve_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_resolve_again,
                      "kr_resolution polled after it returned READY");
}

static void child_readiness_again(void) {
    kr_runtime *rt = child_runtime();
    int sv[2];
    TEST_CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    TEST_CHILD_CHECK(write(sv[1], "x", 1) == 1);
    kr_async_fd *afd = NULL;
    TEST_CHILD_CHECK(kr_runtime_async_fd_new(rt, sv[0], &afd) == 0);
    kr_readiness rd = kr_async_fd_ready(afd, KR_READABLE);
    poll_twice(rt, &rd.base);
}

static void death_readiness_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_readiness_again,
                      "kr_readiness polled after it returned READY");
}

/* Interest without a direction is KR_EINVAL on the first poll, and a
 * second poll of that still aborts (not a second KR_EINVAL). */
static void child_readiness_invalid_again(void) {
    kr_runtime *rt = child_runtime();
    int sv[2];
    TEST_CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    kr_async_fd *afd = NULL;
    TEST_CHILD_CHECK(kr_runtime_async_fd_new(rt, sv[0], &afd) == 0);
    kr_readiness rd = kr_async_fd_ready(afd, INT32_MIN);
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    int out = 0;
    TEST_CHILD_CHECK(kr_future_poll(&rd.base, &cx, &out) == KR_READY);
    TEST_CHILD_CHECK(out == KR_EINVAL);
    kr_future_poll(&rd.base, &cx, &out);
}

static void death_readiness_invalid_polled_after_ready(void **state) {
    (void)state;
    test_expect_abort(child_readiness_invalid_again, "kr_readiness polled");
}

/* Dropping a completed future is no poll: it must stay quiet and leak
 * nothing (the socket's last reference goes with its free). */
static void completed_futures_drop_cleanly(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_stream *c = NULL, *s = NULL;
    kr_tcp_connect con = kr_tcp_stream_connect(&addr, &c);
    assert_int_equal(block_on_int(rt, &con.base), 0);
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &s, NULL);
    assert_int_equal(block_on_int(rt, &acc.base), 0);
    kr_tcp_write w = kr_tcp_stream_write(c, "x", 1);
    assert_int_equal(block_on_i64(rt, &w.base), 1);
    char b;
    kr_tcp_read r = kr_tcp_stream_read(s, &b, 1);
    assert_int_equal(block_on_i64(rt, &r.base), 1);
    kr_future_drop(&con.base);
    kr_future_drop(&acc.base);
    kr_future_drop(&w.base);
    kr_future_drop(&r.base);
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(death_tcp_write_polled_after_ready),
    cmocka_unit_test(death_tcp_read_polled_after_ready),
    cmocka_unit_test(death_tcp_read_exact_polled_after_ready),
    cmocka_unit_test(death_tcp_write_all_polled_after_ready),
    cmocka_unit_test(death_tcp_writev_polled_after_ready),
    cmocka_unit_test(death_invalid_read_polled_after_ready),
    cmocka_unit_test(death_tcp_accept_polled_after_ready),
    cmocka_unit_test(death_tcp_connect_polled_after_ready),
    cmocka_unit_test(death_failed_connect_polled_after_ready),
    cmocka_unit_test(death_unix_connect_polled_after_ready),
    cmocka_unit_test(death_udp_send_to_polled_after_ready),
    cmocka_unit_test(death_udp_recv_from_polled_after_ready),
    cmocka_unit_test(death_udp_send_polled_after_ready),
    cmocka_unit_test(death_udp_recv_polled_after_ready),
    cmocka_unit_test(death_resolve_polled_after_ready),
    cmocka_unit_test(death_readiness_polled_after_ready),
    cmocka_unit_test(death_readiness_invalid_polled_after_ready),
    cmocka_unit_test(completed_futures_drop_cleanly),
};
KR_TEST_MAIN(tests)
