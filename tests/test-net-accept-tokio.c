/*
 * Tokio's tokio/tests/tcp_accept.rs, ported: each case is named after
 * the Tokio test. They run on both drivers (ctest: uring/... too), where
 * the accepts of a task go to the ring's multishot ACCEPT
 * (net/accept_ring.c). Not ported: host_str, str_port_tuple and
 * ip_port_tuple, which test Rust's ToSocketAddrs conversions (here an
 * address is a parsed kr_sockaddr; parsing has tests of its own in
 * net-addr, resolving in net-resolve).
 * KR_TEST_FLAVORS: ct mt
 */
#include "test-net.h"

static int blocking_client(const kr_sockaddr *addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        connect(fd, (const struct sockaddr *)&addr->storage, addr->len), 0);
    return fd;
}

/* ---- test_accept!: the accepted stream's peer is the client ------------------ */

typedef struct accept_one {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    kr_tcp_stream **out;
    kr_tcp_accept acc;
    int rc;
} accept_one;

static kr_poll accept_one_poll(kr_future *f, kr_context *cx, void *out) {
    accept_one *t = (accept_one *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    t->acc = kr_tcp_listener_accept(t->l, t->out, NULL);
    KR_AWAIT(&t->co, &t->acc.base, cx, &t->rc);
    assert_rc(t->rc, 0);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(accept_one_vt, accept_one, accept_one_poll, NULL, 0);

/* One bind address form: the accept runs in a spawned task, the connect
 * from block_on; cli.local_addr() == srv.peer_addr(). */
static void accept_from(const kr_sockaddr *bind_addr) {
    kr_runtime *rt = test_runtime(0);
    kr_tcp_listener *l = NULL;
    assert_rc(kr_tcp_listener_bind(rt, bind_addr, NULL, &l), 0);
    kr_sockaddr addr;
    assert_rc(kr_tcp_listener_local_addr(l, &addr), 0);
    kr_tcp_stream *srv = NULL;
    accept_one a;
    memset(&a, 0, sizeof(a));
    a.base.vtable = &accept_one_vt;
    a.l = l;
    a.out = &srv;
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &a.base, &h), 0);
    kr_tcp_stream *cli = NULL;
    kr_tcp_connect c = kr_tcp_stream_connect(&addr, &cli);
    assert_int_equal(block_on_int(rt, &c.base), 0);
    assert_rc(kr_runtime_block_on(rt, &h.base, NULL), 0);
    kr_sockaddr local, peer;
    assert_rc(kr_tcp_stream_local_addr(cli, &local), 0);
    assert_rc(kr_tcp_stream_peer_addr(srv, &peer), 0);
    assert_true(kr_sockaddr_equal(&local, &peer));
    kr_tcp_stream_free(cli);
    kr_tcp_stream_free(srv);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* tcp_accept.rs test_accept! (ip_str, "127.0.0.1:0") */
static void ip_str(void **state) {
    (void)state;
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("127.0.0.1:0", &a), 0);
    accept_from(&a);
}

/* tcp_accept.rs test_accept! (socket_addr, a SocketAddr) */
static void socket_addr(void **state) {
    (void)state;
    kr_sockaddr a = loopback4(0);
    accept_from(&a);
}

/* ---- no_extra_poll ------------------------------------------------------------ */

typedef struct incoming {
    kr_future base;
    kr_tcp_listener *l;
    atomic_int *npolls, *accepted;
    kr_tcp_stream *s;
    kr_tcp_accept acc;
    bool armed;
} incoming;

/* The accept loop of Tokio's test: each poll of the accept future is
 * counted (TrackPolls::poll_next). */
static kr_poll incoming_poll(kr_future *f, kr_context *cx, void *out) {
    incoming *t = (incoming *)f;
    (void)out;
    for (;;) {
        if (!t->armed) {
            t->acc = kr_tcp_listener_accept(t->l, &t->s, NULL);
            t->armed = true;
        }
        atomic_fetch_add(t->npolls, 1);
        int rc = -1;
        if (kr_future_poll(&t->acc.base, cx, &rc) == KR_PENDING)
            return KR_PENDING;
        t->armed = false;
        kr_future_drop(&t->acc.base);
        assert_rc(rc, 0);
        kr_tcp_stream_free(t->s);
        atomic_fetch_add(t->accepted, 1);
    }
}
static void incoming_drop(kr_future *f) {
    incoming *t = (incoming *)f;
    if (t->armed)
        kr_future_drop(&t->acc.base);
}
KR_FUTURE_VTABLE(incoming_vt, incoming, incoming_poll, incoming_drop, 0);

/* Waits (turning rt) up to 5 s for *v to reach want. */
static void wait_for(kr_runtime *rt, atomic_int *v, int want) {
    for (int i = 0; i < 500 && atomic_load(v) < want; i++)
        rt_sleep_ms(rt, 10);
    assert_int_equal(atomic_load(v), want);
}

/* tcp_accept.rs no_extra_poll */
static void no_extra_poll(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    atomic_int npolls, accepted;
    atomic_init(&npolls, 0);
    atomic_init(&accepted, 0);
    incoming t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &incoming_vt;
    t.l = l;
    t.npolls = &npolls;
    t.accepted = &accepted;
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &t.base, &h), 0);
    rt_sleep_ms(rt, 20);
    /* Polled exactly once: the initial poll. */
    assert_int_equal(atomic_load(&npolls), 1);
    int c = blocking_client(&addr);
    wait_for(rt, &accepted, 1);
    rt_sleep_ms(rt, 20);
    /* Twice more: once to output the stream, once to go pending. */
    assert_int_equal(atomic_load(&npolls), 1 + 2);
    close(c);
    kr_join_handle_abort(&h);
    kr_future_drop(&h.base);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* ---- accept_many ----------------------------------------------------------------- */

#define N 50

typedef struct one_of_many {
    kr_future base;
    kr_tcp_listener *l;
    atomic_int *pending, *notified;
    atomic_bool *connected;
    kr_tcp_stream *s;
    kr_tcp_accept acc;
    bool polled;
} one_of_many;

/* Polls the accept once (pending), then only waits to be woken: by the
 * accept's waker, once the connection comes. */
static kr_poll one_of_many_poll(kr_future *f, kr_context *cx, void *out) {
    one_of_many *t = (one_of_many *)f;
    (void)out;
    if (!t->polled) {
        t->polled = true;
        t->acc = kr_tcp_listener_accept(t->l, &t->s, NULL);
        int rc = -1;
        assert_int_equal(kr_future_poll(&t->acc.base, cx, &rc), KR_PENDING);
        atomic_fetch_add(t->pending, 1);
        return KR_PENDING;
    }
    if (!atomic_load(t->connected))
        return KR_PENDING;
    atomic_fetch_add(t->notified, 1);
    return KR_READY;
}
static void one_of_many_drop(kr_future *f) {
    one_of_many *t = (one_of_many *)f;
    if (t->polled)
        kr_future_drop(&t->acc.base);
}
KR_FUTURE_VTABLE(one_of_many_vt, one_of_many, one_of_many_poll,
                 one_of_many_drop, 0);

/* tcp_accept.rs accept_many: one connection wakes every accept waiting
 * on the listener (each sees readiness; at most one takes it). */
static void accept_many(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    atomic_int pending, notified;
    atomic_bool connected;
    atomic_init(&pending, 0);
    atomic_init(&notified, 0);
    atomic_init(&connected, false);
    kr_join_handle h[N];
    for (int i = 0; i < N; i++) {
        one_of_many t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &one_of_many_vt;
        t.l = l;
        t.pending = &pending;
        t.notified = &notified;
        t.connected = &connected;
        assert_rc(kr_runtime_spawn(rt, &t.base, &h[i]), 0);
    }
    wait_for(rt, &pending, N);
    atomic_store(&connected, true);
    int c = blocking_client(&addr);
    wait_for(rt, &notified, N);
    for (int i = 0; i < N; i++)
        assert_rc(kr_runtime_block_on(rt, &h[i].base, NULL), 0);
    close(c);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ip_str),
    cmocka_unit_test(socket_addr),
    cmocka_unit_test(no_extra_poll),
    cmocka_unit_test(accept_many),
};
KR_TEST_MAIN(tests)
