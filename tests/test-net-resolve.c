/*
 * kr_resolve: "localhost" through getaddrinfo on the blocking pool (only
 * names from /etc/hosts: the network is closed here), IP literals without
 * a lookup, bad input, many lookups at once, a lookup dropped mid-flight,
 * and a connect to what was resolved.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test-net.h"

static bool is_loopback(const kr_sockaddr *a) {
    if (a->storage.family == AF_INET)
        return ntohl(((const struct sockaddr_in *)&a->storage)
                         ->sin_addr.s_addr) == INADDR_LOOPBACK;
    if (a->storage.family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)&a->storage)->sin6_addr);
    return false;
}

static void resolve_localhost(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addrs[8];
    kr_resolution r = kr_resolve("localhost", 8080, addrs, 8);
    int n = block_on_int(rt, &r.base);
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        char text[KR_SOCKADDR_STRLEN];
        assert_true(kr_sockaddr_format(&addrs[i], text, sizeof(text)) > 0);
        print_message("localhost -> %s\n", text);
        assert_true(is_loopback(&addrs[i]));
        assert_int_equal(kr_sockaddr_port(&addrs[i]), 8080);
    }
    /* Room for one: one. */
    r = kr_resolve("localhost", 1, addrs, 1);
    assert_int_equal(block_on_int(rt, &r.base), 1);
    assert_true(is_loopback(&addrs[0]));
    test_runtime_free(rt);
}

static void resolve_literals(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr a;
    char text[KR_SOCKADDR_STRLEN];
    kr_resolution r = kr_resolve("127.0.0.1", 80, &a, 1);
    assert_int_equal(block_on_int(rt, &r.base), 1);
    kr_sockaddr_format(&a, text, sizeof(text));
    assert_string_equal(text, "127.0.0.1:80");
    r = kr_resolve("::1", 443, &a, 1);
    assert_int_equal(block_on_int(rt, &r.base), 1);
    kr_sockaddr_format(&a, text, sizeof(text));
    assert_string_equal(text, "[::1]:443");
    /* A literal needs no runtime: it is answered on the first poll. */
    r = kr_resolve("10.1.2.3", 9, &a, 1);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    int n = 0;
    assert_int_equal(kr_future_poll(&r.base, &cx, &n), KR_READY);
    assert_int_equal(n, 1);
    kr_future_drop(&r.base);
    test_runtime_free(rt);
}

static void resolve_bad_input(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr a[2];
    kr_resolution r = kr_resolve(NULL, 80, a, 2);
    assert_int_equal(block_on_int(rt, &r.base), KR_EINVAL);
    r = kr_resolve("localhost", 80, NULL, 2);
    assert_int_equal(block_on_int(rt, &r.base), KR_EINVAL);
    r = kr_resolve("localhost", 80, a, 0);
    assert_int_equal(block_on_int(rt, &r.base), KR_EINVAL);
    r = kr_resolve("localhost", 65536, a, 2);
    assert_int_equal(block_on_int(rt, &r.base), KR_EINVAL);
    r = kr_resolve("localhost", -1, a, 2);
    assert_int_equal(block_on_int(rt, &r.base), KR_EINVAL);
    /* A name, polled outside any runtime: no pool to run on. */
    r = kr_resolve("localhost", 80, a, 2);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    int n = 0;
    assert_int_equal(kr_future_poll(&r.base, &cx, &n), KR_READY);
    assert_int_equal(n, KR_EINVAL);
    kr_future_drop(&r.base);
    test_runtime_free(rt);
}

/* ---- many at once; one dropped in flight --------------------------------- */

typedef struct lookup_task {
    kr_future base;
    kr_coro co;
    kr_resolution r;
    kr_sockaddr addrs[4];
    int n;
} lookup_task;

static kr_poll lookup_poll(kr_future *f, kr_context *cx, void *out) {
    lookup_task *t = (lookup_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->r = kr_resolve("localhost", 7, t->addrs, 4);
    KR_AWAIT(&t->co, &t->r.base, cx, &t->n);
    if (t->n < 1)
        KR_RETURN(&t->co, out, int, t->n < 0 ? t->n : 1);
    for (int i = 0; i < t->n; i++)
        if (!is_loopback(&t->addrs[i]) || kr_sockaddr_port(&t->addrs[i]) != 7)
            KR_RETURN(&t->co, out, int, 2);
    KR_RETURN(&t->co, out, int, 0);
    KR_ASYNC_END(&t->co);
}
static void lookup_drop(kr_future *f) { kr_coro_drop(&((lookup_task *)f)->co); }
KR_FUTURE_VTABLE(lookup_vt, lookup_task, lookup_poll, lookup_drop, sizeof(int));

static void resolve_many_and_dropped(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    enum { N = 64 };
    kr_join_handle h[N];
    for (int i = 0; i < N; i++) {
        lookup_task t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &lookup_vt;
        assert_rc(kr_runtime_spawn(rt, &t.base, &h[i]), 0);
    }
    await_all w = await_all_make(h, N);
    long bad = -1;
    assert_rc(kr_runtime_block_on(rt, &w.base, &bad), 0);
    if (bad != 0)
        fail_msg("%ld lookups failed, the first with %d (%s)", bad, w.first_bad,
                 kr_err_name(w.first_bad));
    /* Dropped after its first poll: the job runs on and frees itself. */
    for (int i = 0; i < 8; i++) {
        kr_sockaddr a[2];
        kr_resolution r = kr_resolve("localhost", 1, a, 2);
        kr_timeout to = kr_timeout_new(&r.base, 0, NULL);
        int rc = block_on_int(rt, &to.base);
        assert_true(rc == 0 || rc == KR_ELAPSED);
    }
    rt_sleep_ms(rt, 200); /* the detached jobs have run */
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Resolve, then connect to the first address. */
static void resolve_then_connect(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr laddr, a[4];
    kr_tcp_listener *l = tcp_listen(rt, 0, &laddr);
    kr_resolution r = kr_resolve("localhost", kr_sockaddr_port(&laddr), a, 4);
    int n = block_on_int(rt, &r.base);
    assert_true(n >= 1);
    int i = 0;
    while (i < n && a[i].storage.family != AF_INET)
        i++; /* the listener is IPv4 */
    assert_true(i < n);
    kr_tcp_stream *c = NULL, *s = NULL;
    kr_tcp_connect con = kr_tcp_stream_connect(&a[i], &c);
    assert_int_equal(block_on_int(rt, &con.base), 0);
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &s, NULL);
    assert_int_equal(block_on_int(rt, &acc.base), 0);
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(resolve_localhost),
    cmocka_unit_test(resolve_literals),
    cmocka_unit_test(resolve_bad_input),
    cmocka_unit_test(resolve_many_and_dropped),
    cmocka_unit_test(resolve_then_connect),
};
KR_TEST_MAIN(tests)
