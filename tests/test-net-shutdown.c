/*
 * Sockets of a runtime that is shut down but not yet freed: binding and
 * registering fail with KR_ESHUTDOWN, and futures on sockets made before
 * the shutdown output KR_ESHUTDOWN instead of waiting for an event no one
 * will deliver (Tokio's rt_handle_block_on *_after_shutdown and
 * *_before_shutdown). Freeing the sockets still works, before or after the
 * runtime. KR_TEST_FLAVORS: ct mt
 */
#include "test-net.h"

/* Polls `f` once by hand, outside any runtime, as a future polled late. */
static kr_poll poll_once(kr_future *f, void *out) {
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    return kr_future_poll(f, &cx, out);
}

static kr_runtime *shut_runtime(void) {
    kr_runtime *rt = test_runtime(0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    return rt;
}

static void tcp_listener_bind_after_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = shut_runtime();
    kr_sockaddr any = loopback4(0);
    kr_tcp_listener *l = NULL;
    assert_rc(kr_tcp_listener_bind(rt, &any, NULL, &l), KR_ESHUTDOWN);
    assert_null(l);
    kr_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void udp_socket_bind_after_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = shut_runtime();
    kr_sockaddr any = loopback4(0);
    kr_udp_socket *u = NULL;
    assert_rc(kr_udp_socket_bind(rt, &any, &u), KR_ESHUTDOWN);
    assert_null(u);
    kr_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void unix_listener_bind_after_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    char path[64];
    snprintf(path, sizeof(path), "/tmp/kr-shut-%d.sock", (int)getpid());
    unlink(path);
    kr_runtime *rt = shut_runtime();
    kr_unix_listener *l = NULL;
    assert_rc(kr_unix_listener_bind(rt, path, 16, &l), KR_ESHUTDOWN);
    assert_null(l);
    unlink(path);
    kr_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void async_fd_new_after_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = shut_runtime();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    kr_async_fd *a = NULL;
    assert_rc(kr_runtime_async_fd_new(rt, fds[0], &a), KR_ESHUTDOWN);
    assert_null(a);
    close(fds[0]);
    close(fds[1]);
    kr_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Tokio's tcp_listener_connect_before_shutdown: bound before, accepted
 * after. */
static void tcp_listener_connect_before_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 16, &addr);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_tcp_stream *s = NULL;
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &s, NULL);
    int out = 1;
    assert_int_equal(poll_once(&acc.base, &out), KR_READY);
    assert_rc(out, KR_ESHUTDOWN);
    assert_null(s);
    kr_future_drop(&acc.base);
    kr_tcp_listener_free(l);
    kr_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A stream made before the shutdown: reads and writes output
 * KR_ESHUTDOWN; the sockets are freed after the runtime. */
static void unix_stream_io_after_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_unix_stream *a = NULL, *b = NULL;
    assert_rc(kr_unix_stream_pair(rt, &a, &b), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    char buf[8] = "ping";
    kr_net_io rd = kr_unix_stream_read(a, buf, sizeof(buf));
    int64_t n = 1;
    assert_int_equal(poll_once(&rd.base, &n), KR_READY);
    assert_int_equal(n, KR_ESHUTDOWN);
    kr_future_drop(&rd.base);
    kr_runtime_free(rt);
    kr_unix_stream_free(a);
    kr_unix_stream_free(b);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tcp_listener_bind_after_shutdown),
    cmocka_unit_test(udp_socket_bind_after_shutdown),
    cmocka_unit_test(unix_listener_bind_after_shutdown),
    cmocka_unit_test(async_fd_new_after_shutdown),
    cmocka_unit_test(tcp_listener_connect_before_shutdown),
    cmocka_unit_test(unix_stream_io_after_shutdown),
};
KR_TEST_MAIN(tests)
