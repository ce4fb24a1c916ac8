/*
 * UDP: echo (recv_from / send_to, many clients), connected send / recv,
 * truncation, ICMP port unreachable as KR_ECONNREFUSED, freeing under a
 * pending recv, misuse.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test-net.h"

static kr_udp_socket *udp_bind(kr_runtime *rt, kr_sockaddr *addr) {
    kr_sockaddr any = loopback4(0);
    kr_udp_socket *u = NULL;
    assert_rc(kr_udp_socket_bind(rt, &any, &u), 0);
    assert_rc(kr_udp_socket_local_addr(u, addr), 0);
    return u;
}

/* ---- server: echoes `count` datagrams back to their senders ------------ */

typedef struct udp_echo {
    kr_future base;
    kr_coro co;
    kr_udp_socket *u;
    long count, k;
    kr_udp_recv_from rf;
    kr_udp_send_to st;
    kr_sockaddr from;
    int64_t n;
    char buf[1500];
} udp_echo;

static kr_poll udp_echo_poll(kr_future *f, kr_context *cx, void *out) {
    udp_echo *e = (udp_echo *)f;
    KR_ASYNC_BEGIN(&e->co);
    for (e->k = 0; e->k < e->count; e->k++) {
        e->rf = kr_udp_socket_recv_from(e->u, e->buf, sizeof(e->buf), &e->from);
        KR_AWAIT(&e->co, &e->rf.base, cx, &e->n);
        if (e->n < 0)
            KR_RETURN(&e->co, out, int, (int)e->n);
        e->st = kr_udp_socket_send_to(e->u, e->buf, (size_t)e->n, &e->from);
        KR_AWAIT(&e->co, &e->st.base, cx, &e->n);
        if (e->n < 0)
            KR_RETURN(&e->co, out, int, (int)e->n);
    }
    KR_RETURN(&e->co, out, int, 0);
    KR_ASYNC_END(&e->co);
}
static void udp_echo_drop(kr_future *f) { kr_coro_drop(&((udp_echo *)f)->co); }
KR_FUTURE_VTABLE(udp_echo_vt, udp_echo, udp_echo_poll, udp_echo_drop,
                 sizeof(int));

/* ---- client: `rounds` datagrams through the echo, one at a time ---------- */

typedef struct udp_client {
    kr_future base;
    kr_coro co;
    kr_udp_socket *u; /* owned */
    kr_sockaddr server, from;
    unsigned seed;
    int rounds, k;
    size_t len;
    kr_udp_send_to st;
    kr_udp_recv_from rf;
    int64_t n;
    char out[512], in[512];
} udp_client;

static kr_poll udp_client_poll(kr_future *f, kr_context *cx, void *out) {
    udp_client *c = (udp_client *)f;
    KR_ASYNC_BEGIN(&c->co);
    for (c->k = 0; c->k < c->rounds; c->k++) {
        c->len = 1 + (c->seed * 31u + (unsigned)c->k * 7u) % sizeof(c->out);
        test_pattern_fill(c->out, c->len, c->seed + (unsigned)c->k);
        c->st = kr_udp_socket_send_to(c->u, c->out, c->len, &c->server);
        KR_AWAIT(&c->co, &c->st.base, cx, &c->n);
        if (c->n != (int64_t)c->len)
            KR_RETURN(&c->co, out, int, c->n < 0 ? (int)c->n : 2);
        c->rf = kr_udp_socket_recv_from(c->u, c->in, sizeof(c->in), &c->from);
        KR_AWAIT(&c->co, &c->rf.base, cx, &c->n);
        if (c->n != (int64_t)c->len)
            KR_RETURN(&c->co, out, int, c->n < 0 ? (int)c->n : 3);
        if (!kr_sockaddr_equal(&c->from, &c->server) ||
            !test_pattern_check(c->in, c->len, c->seed + (unsigned)c->k))
            KR_RETURN(&c->co, out, int, 1);
    }
    kr_udp_socket_free(c->u);
    c->u = NULL;
    KR_RETURN(&c->co, out, int, 0);
    KR_ASYNC_END(&c->co);
}
static void udp_client_drop(kr_future *f) {
    udp_client *c = (udp_client *)f;
    kr_coro_drop(&c->co);
    kr_udp_socket_free(c->u);
}
KR_FUTURE_VTABLE(udp_client_vt, udp_client, udp_client_poll, udp_client_drop,
                 sizeof(int));

static void udp_echo_many(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr saddr, caddr;
    kr_udp_socket *srv = udp_bind(rt, &saddr);
    long n = test_scale(50);
    enum { ROUNDS = 20 };
    udp_echo e;
    memset(&e, 0, sizeof(e));
    e.base.vtable = &udp_echo_vt;
    e.u = srv;
    e.count = n * ROUNDS;
    kr_join_handle hs;
    assert_rc(kr_runtime_spawn(rt, &e.base, &hs), 0);
    kr_join_handle *hc = calloc((size_t)n, sizeof(*hc));
    for (long i = 0; i < n; i++) {
        udp_client c;
        memset(&c, 0, sizeof(c));
        c.base.vtable = &udp_client_vt;
        c.u = udp_bind(rt, &caddr);
        c.server = saddr;
        c.seed = (unsigned)i;
        c.rounds = ROUNDS;
        assert_rc(kr_runtime_spawn(rt, &c.base, &hc[i]), 0);
    }
    await_all w = await_all_make(hc, n);
    long bad = -1;
    assert_rc(kr_runtime_block_on(rt, &w.base, &bad), 0);
    if (bad != 0)
        fail_msg("%ld clients failed, the first with %d (%s)", bad, w.first_bad,
                 kr_err_name(w.first_bad));
    assert_int_equal(block_on_int(rt, &hs.base), 0);
    kr_udp_socket_free(srv);
    test_runtime_free(rt);
    free(hc);
}

static void udp_connected(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr a_addr, b_addr, x;
    kr_udp_socket *a = udp_bind(rt, &a_addr), *b = udp_bind(rt, &b_addr);
    assert_rc(kr_udp_socket_peer_addr(a, &x), KR_ENOTCONN);
    /* Unconnected send: no destination. */
    kr_udp_send s = kr_udp_socket_send(a, "x", 1);
    assert_int_equal(block_on_i64(rt, &s.base), KR_EDESTADDRREQ);
    assert_rc(kr_udp_socket_connect(a, &b_addr), 0);
    assert_rc(kr_udp_socket_connect(b, &a_addr), 0);
    assert_rc(kr_udp_socket_peer_addr(a, &x), 0);
    assert_true(kr_sockaddr_equal(&x, &b_addr));
    char buf[64];
    for (int i = 0; i < 10; i++) {
        char msg[16];
        int len = snprintf(msg, sizeof(msg), "msg %d", i);
        s = kr_udp_socket_send(a, msg, (size_t)len);
        assert_int_equal(block_on_i64(rt, &s.base), len);
        kr_udp_recv r = kr_udp_socket_recv(b, buf, sizeof(buf));
        assert_int_equal(block_on_i64(rt, &r.base), len);
        assert_memory_equal(buf, msg, (size_t)len);
    }
    /* An empty datagram is a datagram. */
    s = kr_udp_socket_send(a, NULL, 0);
    assert_int_equal(block_on_i64(rt, &s.base), 0);
    kr_udp_recv r = kr_udp_socket_recv(b, buf, sizeof(buf));
    assert_int_equal(block_on_i64(rt, &r.base), 0);
    /* Truncation: the rest of a long datagram is dropped, and the next
     * datagram is whole. */
    s = kr_udp_socket_send(a, "0123456789", 10);
    assert_int_equal(block_on_i64(rt, &s.base), 10);
    s = kr_udp_socket_send(a, "ab", 2);
    assert_int_equal(block_on_i64(rt, &s.base), 2);
    r = kr_udp_socket_recv(b, buf, 4);
    assert_int_equal(block_on_i64(rt, &r.base), 4);
    assert_memory_equal(buf, "0123", 4);
    r = kr_udp_socket_recv(b, buf, sizeof(buf));
    assert_int_equal(block_on_i64(rt, &r.base), 2);
    assert_memory_equal(buf, "ab", 2);
    /* The peer goes away: the kernel's port-unreachable comes back as
     * KR_ECONNREFUSED on the connected socket. */
    kr_udp_socket_free(b);
    s = kr_udp_socket_send(a, "x", 1);
    assert_int_equal(block_on_i64(rt, &s.base), 1);
    r = kr_udp_socket_recv(a, buf, sizeof(buf));
    int64_t got = 0;
    kr_timeout to = kr_timeout_new(&r.base, kr_secs(2), &got);
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    assert_rc(rc, 0);
    assert_int_equal(got, KR_ECONNREFUSED);
    kr_udp_socket_free(a);
    test_runtime_free(rt);
}

/* Counts the polls of the future it wraps (not owned: dropped by the
 * owner). */
typedef struct counted {
    kr_future base;
    kr_future *inner;
    long polls;
} counted;

static kr_poll counted_poll(kr_future *f, kr_context *cx, void *out) {
    counted *c = (counted *)f;
    c->polls++;
    return kr_future_poll(c->inner, cx, out);
}
KR_FUTURE_VTABLE(counted_vt, counted, counted_poll, NULL, sizeof(int64_t));

/* An ICMP error (EPOLLERR) is consumed by the call that reports it: a
 * later recv with nothing to read waits quietly. (The reactor once kept
 * the error bit for good, and such a recv spun.) */
static void udp_error_then_quiet_wait(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr a_addr, b_addr;
    kr_udp_socket *a = udp_bind(rt, &a_addr), *b = udp_bind(rt, &b_addr);
    assert_rc(kr_udp_socket_connect(a, &b_addr), 0);
    kr_udp_socket_free(b);
    char buf[8];
    for (int round = 0; round < 2; round++) {
        kr_udp_send s = kr_udp_socket_send(a, "x", 1);
        assert_int_equal(block_on_i64(rt, &s.base), 1);
        rt_sleep_ms(rt, 10); /* the ICMP error arrives */
        kr_udp_recv r = kr_udp_socket_recv(a, buf, sizeof(buf));
        assert_int_equal(block_on_i64(rt, &r.base), KR_ECONNREFUSED);
        r = kr_udp_socket_recv(a, buf, sizeof(buf));
        counted c = {{&counted_vt}, &r.base, 0};
        int64_t got = 0;
        kr_timeout to = kr_timeout_new(&c.base, kr_ms(200), &got);
        assert_rc(block_on_int(rt, &to.base), KR_ELAPSED);
        kr_future_drop(&r.base);
        print_message("polls during a 200 ms idle recv: %ld\n", c.polls);
        assert_true(c.polls <= 10);
    }
    kr_udp_socket_free(a);
    test_runtime_free(rt);
}

static void udp_free_while_recv_pending(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_udp_socket *u = udp_bind(rt, &addr);
    char buf[8];
    kr_udp_recv_from rf = kr_udp_socket_recv_from(u, buf, sizeof(buf), NULL);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &rf.base, &h), 0);
    rt_sleep_ms(rt, 20);
    kr_udp_socket_free(u);
    assert_int_equal(block_on_i64(rt, &h.base), KR_EBADF);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void udp_misuse(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr, un;
    kr_udp_socket *u = udp_bind(rt, &addr), *v = NULL;
    assert_rc(kr_udp_socket_bind(rt, &addr, &v), KR_EADDRINUSE);
    assert_rc(kr_udp_socket_bind(rt, NULL, &v), KR_EINVAL);
    assert_rc(kr_udp_socket_bind(NULL, &addr, &v), KR_EINVAL); /* no rt */
    assert_rc(kr_sockaddr_unix("/tmp/x", &un), 0);
    assert_rc(kr_udp_socket_bind(rt, &un, &v), KR_EINVAL);
    assert_rc(kr_udp_socket_connect(u, &un), KR_EINVAL);
    assert_rc(kr_udp_socket_connect(NULL, &addr), KR_EINVAL);
    char buf[4];
    kr_udp_send_to st = kr_udp_socket_send_to(u, buf, 4, NULL);
    assert_int_equal(block_on_i64(rt, &st.base), KR_EINVAL);
    st = kr_udp_socket_send_to(u, buf, 4, &un);
    assert_int_equal(block_on_i64(rt, &st.base), KR_EINVAL);
    st = kr_udp_socket_send_to(NULL, buf, 4, &addr);
    assert_int_equal(block_on_i64(rt, &st.base), KR_EINVAL);
    kr_udp_recv_from rf = kr_udp_socket_recv_from(u, NULL, 4, NULL);
    assert_int_equal(block_on_i64(rt, &rf.base), KR_EINVAL);
    /* A datagram too large for UDP. */
    size_t big = 70000;
    char *p = calloc(1, big);
    st = kr_udp_socket_send_to(u, p, big, &addr);
    assert_int_equal(block_on_i64(rt, &st.base), KR_EMSGSIZE);
    free(p);
    kr_udp_socket_free(u);
    kr_udp_socket_free(NULL);
    assert_int_equal(kr_udp_socket_fd(NULL), -1);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(udp_echo_many),
    cmocka_unit_test(udp_connected),
    cmocka_unit_test(udp_error_then_quiet_wait),
    cmocka_unit_test(udp_free_while_recv_pending),
    cmocka_unit_test(udp_misuse),
};
KR_TEST_MAIN(tests)
