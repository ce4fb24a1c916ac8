/*
 * TCP faults: connection refused, connect and accept timeouts (kr_timeout),
 * reset by the peer (SO_LINGER 0), writes to a closed peer without
 * SIGPIPE, running out of descriptors (EMFILE) in accept, freeing a socket
 * while a future waits on it, and cancel-safety of read and accept.
 * KR_TEST_FLAVORS: ct mt
 */
#include <poll.h>

#include "test-net.h"

static kr_tcp_stream *connect_ok(kr_runtime *rt, const kr_sockaddr *a) {
    kr_tcp_stream *s = NULL;
    kr_tcp_connect c = kr_tcp_stream_connect(a, &s);
    assert_rc(block_on_int(rt, &c.base), 0);
    assert_non_null(s);
    return s;
}

static kr_tcp_stream *accept_ok(kr_runtime *rt, kr_tcp_listener *l) {
    kr_tcp_stream *s = NULL;
    kr_tcp_accept a = kr_tcp_listener_accept(l, &s, NULL);
    assert_rc(block_on_int(rt, &a.base), 0);
    assert_non_null(s);
    return s;
}

static void connection_refused(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    /* A port nobody listens on: bind one, note it, close it. */
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_listener_free(l);
    kr_tcp_stream *s = NULL;
    kr_tcp_connect c = kr_tcp_stream_connect(&addr, &s);
    assert_rc(block_on_int(rt, &c.base), KR_ECONNREFUSED);
    assert_null(s);
    test_runtime_free(rt);
}

/* A listener whose queue is full drops further SYNs: a connect to it
 * hangs (retransmitting) and kr_timeout ends it. The dropped connect
 * closes its socket. */
static void connect_timeout(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 1, &addr); /* queue of 2 */
    enum { FILL = 8 };
    int fill[FILL];
    for (int i = 0; i < FILL; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int r = connect(fill[i], (struct sockaddr *)&addr.storage, addr.len);
        assert_true(r == 0 || errno == EINPROGRESS);
    }
    rt_sleep_ms(rt, 20); /* the handshakes that can complete, complete */
    kr_tcp_stream *s = NULL;
    kr_tcp_connect c = kr_tcp_stream_connect(&addr, &s);
    kr_timeout to = kr_timeout_new(&c.base, kr_ms(200), NULL);
    double t0 = now_ms();
    assert_rc(block_on_int(rt, &to.base), KR_ELAPSED);
    double dt = now_ms() - t0;
    assert_null(s);
    assert_true(dt >= 190 && dt < 2000);
    for (int i = 0; i < FILL; i++)
        close(fill[i]);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* kr_timeout around an accept that never comes; the listener works after
 * (accept is cancel-safe). */
static void accept_timeout(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_stream *s = NULL;
    kr_tcp_accept a = kr_tcp_listener_accept(l, &s, NULL);
    kr_timeout to = kr_timeout_new(&a.base, kr_ms(50), NULL);
    double t0 = now_ms();
    assert_rc(block_on_int(rt, &to.base), KR_ELAPSED);
    assert_true(now_ms() - t0 >= 45);
    assert_null(s);
    kr_tcp_stream *c = connect_ok(rt, &addr);
    s = accept_ok(rt, l);
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* A read dropped by a timeout loses nothing: the bytes that come later go
 * to the next read. */
static void read_cancel_safe(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_stream *c = connect_ok(rt, &addr), *s = accept_ok(rt, l);
    char buf[16];
    for (int round = 0; round < 3; round++) {
        kr_tcp_read r = kr_tcp_stream_read(s, buf, sizeof(buf));
        kr_timeout to = kr_timeout_new(&r.base, kr_ms(20), NULL);
        assert_rc(block_on_int(rt, &to.base), KR_ELAPSED);
        kr_tcp_write_all w = kr_tcp_stream_write_all(c, "abc", 3);
        assert_int_equal(block_on_i64(rt, &w.base), 3);
        r = kr_tcp_stream_read(s, buf, sizeof(buf));
        assert_int_equal(block_on_i64(rt, &r.base), 3);
        assert_memory_equal(buf, "abc", 3);
    }
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* SO_LINGER 0: the close resets the connection. A read then fails with
 * ECONNRESET; writes fail with ECONNRESET or EPIPE, never SIGPIPE. */
static void reset_by_peer(void **state) {
    (void)state;
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test */
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    /* Reader first. */
    kr_tcp_stream *c = connect_ok(rt, &addr), *s = accept_ok(rt, l);
    assert_rc(kr_tcp_stream_set_linger(s, 0), 0);
    kr_tcp_stream_free(s);
    char buf[8];
    kr_tcp_read r = kr_tcp_stream_read(c, buf, sizeof(buf));
    assert_int_equal(block_on_i64(rt, &r.base), KR_ECONNRESET);
    kr_tcp_write w = kr_tcp_stream_write(c, "x", 1);
    assert_int_equal(block_on_i64(rt, &w.base), KR_EPIPE);
    kr_tcp_stream_free(c);
    /* Writer first. */
    c = connect_ok(rt, &addr);
    s = accept_ok(rt, l);
    assert_rc(kr_tcp_stream_set_linger(s, 0), 0);
    kr_tcp_stream_free(s);
    rt_sleep_ms(rt, 10); /* the RST arrives */
    w = kr_tcp_stream_write(c, "x", 1);
    assert_int_equal(block_on_i64(rt, &w.base), KR_ECONNRESET);
    w = kr_tcp_stream_write(c, "x", 1);
    assert_int_equal(block_on_i64(rt, &w.base), KR_EPIPE);
    kr_tcp_stream_free(c);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* The peer closes normally; writing on is answered by a reset: the
 * writes fail, the process lives (MSG_NOSIGNAL). */
static void no_sigpipe(void **state) {
    (void)state;
    signal(SIGPIPE, SIG_DFL);
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_stream *c = connect_ok(rt, &addr), *s = accept_ok(rt, l);
    kr_tcp_stream_free(s);
    static char chunk[4096];
    int64_t rc = 0;
    int i;
    for (i = 0; i < 1000 && rc >= 0; i++) {
        kr_tcp_write_all w = kr_tcp_stream_write_all(c, chunk, sizeof(chunk));
        rc = block_on_i64(rt, &w.base);
        if (rc >= 0)
            rt_sleep_ms(rt, 1);
    }
    assert_true(rc == KR_EPIPE || rc == KR_ECONNRESET);
    /* writev too. */
    struct iovec iov = {chunk, 10};
    kr_tcp_writev wv = kr_tcp_stream_writev(c, &iov, 1);
    assert_int_equal(block_on_i64(rt, &wv.base), KR_EPIPE);
    kr_tcp_stream_free(c);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* ---- freeing a socket while a future waits on it ------------------------- */

typedef struct pending_read {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *s;
    test_latch *started;
    kr_tcp_read r;
    int64_t n;
    char buf[8];
} pending_read;

static kr_poll pending_read_poll(kr_future *f, kr_context *cx, void *out) {
    pending_read *p = (pending_read *)f;
    KR_ASYNC_BEGIN(&p->co);
    p->r = kr_tcp_stream_read(p->s, p->buf, sizeof(p->buf));
    test_latch_add(p->started, 1);
    KR_AWAIT(&p->co, &p->r.base, cx, &p->n);
    KR_RETURN(&p->co, out, int64_t, p->n);
    KR_ASYNC_END(&p->co);
}
static void pending_read_drop(kr_future *f) {
    kr_coro_drop(&((pending_read *)f)->co);
}
KR_FUTURE_VTABLE(pending_read_vt, pending_read, pending_read_poll,
                 pending_read_drop, sizeof(int64_t));

/* The documented safety net: the free wakes the waiting task, its read
 * outputs KR_EBADF, and the socket is closed when that future goes (the
 * peer then reads end of stream). Under ASan: no use after free. */
static void free_while_read_pending(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_stream *c = connect_ok(rt, &addr), *s = accept_ok(rt, l);
    test_latch started;
    test_latch_init(&started);
    pending_read p;
    memset(&p, 0, sizeof(p));
    p.base.vtable = &pending_read_vt;
    p.s = s;
    p.started = &started;
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &p.base, &h), 0);
    test_latch_wait lw = test_latch_wait_for(&started, 1);
    assert_rc(kr_runtime_block_on(rt, &lw.base, NULL), 0);
    rt_sleep_ms(rt, 20);   /* the read is pending now */
    kr_tcp_stream_free(s); /* from outside the runtime */
    int64_t n = 0;
    assert_rc(kr_runtime_block_on(rt, &h.base, &n), 0);
    assert_int_equal(n, KR_EBADF);
    /* The peer sees the connection closed. */
    char buf[4];
    kr_tcp_read r = kr_tcp_stream_read(c, buf, sizeof(buf));
    assert_int_equal(block_on_i64(rt, &r.base), 0);
    kr_tcp_stream_free(c);
    kr_tcp_listener_free(l);
    test_latch_destroy(&started);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* The contract's order: drop the future, then free. Nothing is woken,
 * nothing leaks. And a listener freed under a pending accept. */
static void free_after_drop_and_listener(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_stream *c = connect_ok(rt, &addr), *s = accept_ok(rt, l);
    char buf[4];
    kr_tcp_read r = kr_tcp_stream_read(s, buf, sizeof(buf));
    kr_timeout to = kr_timeout_new(&r.base, kr_ms(10), NULL);
    assert_rc(block_on_int(rt, &to.base), KR_ELAPSED); /* dropped */
    kr_tcp_stream_free(s);
    kr_tcp_stream_free(c);
    /* A pending accept, in a task; the listener freed from outside. */
    kr_tcp_stream *none = NULL;
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &none, NULL);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &acc.base, &h), 0);
    rt_sleep_ms(rt, 20);
    kr_tcp_listener_free(l);
    assert_int_equal(block_on_int(rt, &h.base), KR_EBADF);
    assert_null(none);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- EMFILE -------------------------------------------------------------
 * The descriptor table is filled; clients (sockets made beforehand)
 * connect; the accept loop must neither spin nor fail, and must resume by
 * itself once descriptors are closed. The low limit is set before the
 * acceptor first polls: on io_uring its multishot ACCEPT keeps the limit
 * of the moment it was armed (net/accept_ring.c). */

static void emfile_accept(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    enum { K = 4, LIMIT = 256 };
    int cl[K];
    for (int i = 0; i < K; i++)
        assert_true((cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) >=
                    0);
    atomic_long polls;
    atomic_init(&polls, 0);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = LIMIT;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    acceptor a = acceptor_make(&tcp_ops, l, K, NULL);
    a.polls = &polls;
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &a.base, &h), 0);
    rt_sleep_ms(rt, 10); /* the acceptor waits for a connection */
    long idle_polls = atomic_load(&polls);
    /* Fill the table up to the low limit. */
    int fill[LIMIT], nfill = 0, spare = spare_fd();
    for (;;) {
        int fd = dup(spare);
        if (fd < 0) {
            assert_int_equal(errno, EMFILE);
            break;
        }
        assert_true(nfill < LIMIT);
        fill[nfill++] = fd;
    }
    for (int i = 0; i < K; i++) {
        int r = connect(cl[i], (struct sockaddr *)&addr.storage, addr.len);
        assert_true(r == 0 || errno == EINPROGRESS);
    }
    /* 300 ms out of descriptors: a back-off of 10 ms is ~30 polls (plus
     * one per connection arriving); a spinning loop would be thousands. */
    rt_sleep_ms(rt, 300);
    long starved = atomic_load(&polls) - idle_polls;
    assert_false(kr_join_handle_is_finished(&h));
    print_message("polls while out of fds: %ld in 300 ms\n", starved);
    assert_true(starved >= 5);   /* it did retry */
    assert_true(starved <= 100); /* without spinning */
    /* Free some descriptors: it resumes and takes every connection. */
    for (int i = 0; i < 2 * K; i++)
        close(fill[--nfill]);
    double t0 = now_ms();
    int rc = -1;
    kr_timeout to = kr_timeout_new(&h.base, kr_secs(5), &rc);
    assert_rc(block_on_int(rt, &to.base), 0);
    print_message("resumed in %.1f ms\n", now_ms() - t0);
    assert_rc(rc, 0);
    while (nfill > 0)
        close(fill[--nfill]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    for (int i = 0; i < K; i++)
        close(cl[i]);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* Polls the future it wraps (not owned) with every allocation failing:
 * only the wrapped poll's own allocations see it. */
typedef struct failing {
    kr_future base;
    kr_future *inner;
} failing;

static kr_poll failing_poll(kr_future *f, kr_context *cx, void *out) {
    failing *w = (failing *)f;
    test_alloc_fail_after(0);
    kr_poll p = kr_future_poll(w->inner, cx, out);
    test_alloc_fail_after(-1);
    return p;
}
KR_FUTURE_VTABLE(failing_vt, failing, failing_poll, NULL, sizeof(int));

/* Out of memory while registering: accept drops the connection and says
 * KR_ENOMEM, connect says KR_ENOMEM; no descriptor leaks, and both work
 * again after. */
static void alloc_failures(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&addr.storage, addr.len),
                     0);
    int free_fd = lowest_free_fd();
    kr_tcp_stream *s = NULL;
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &s, NULL);
    failing w = {{&failing_vt}, &acc.base};
    assert_rc(block_on_int(rt, &w.base), KR_ENOMEM);
    kr_future_drop(&acc.base);
    assert_null(s);
    assert_int_equal(lowest_free_fd(), free_fd);
    char c;
    assert_true(read(cfd, &c, 1) <= 0); /* the connection was dropped */
    close(cfd);
    free_fd = lowest_free_fd();
    kr_tcp_connect con = kr_tcp_stream_connect(&addr, &s);
    w.inner = &con.base;
    assert_rc(block_on_int(rt, &w.base), KR_ENOMEM);
    kr_future_drop(&con.base);
    assert_null(s);
    assert_int_equal(lowest_free_fd(), free_fd);
    /* The connection the failed connect started may have reached the
     * queue; after it, everything works. */
    kr_tcp_stream *c2 = connect_ok(rt, &addr);
    s = accept_ok(rt, l);
    kr_tcp_stream *peer;
    kr_sockaddr local, remote;
    assert_rc(kr_tcp_stream_peer_addr(s, &remote), 0);
    assert_rc(kr_tcp_stream_local_addr(c2, &local), 0);
    if (!kr_sockaddr_equal(&local, &remote)) {
        /* That was the failed connect's: the next one is ours. */
        kr_tcp_stream_free(s);
        s = accept_ok(rt, l);
    }
    peer = s;
    kr_tcp_stream_free(c2);
    kr_tcp_stream_free(peer);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A listener, a client *c and its accepted stream *s, whose runtime is
 * then freed (the counting allocator installed first). */
static kr_tcp_listener *outliving_pair(kr_tcp_stream **c, kr_tcp_stream **s) {
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    *c = connect_ok(rt, &addr);
    *s = accept_ok(rt, l);
    kr_runtime_free(rt);
    return l;
}

/* A socket freed after its runtime: the free still works and leaks
 * nothing; a future polled then says KR_ESHUTDOWN. */
static void socket_outlives_runtime(void **state) {
    (void)state;
    kr_tcp_stream *c, *s;
    kr_tcp_listener *l = outliving_pair(&c, &s);
    char buf[4];
    kr_tcp_read r = kr_tcp_stream_read(s, buf, sizeof(buf));
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    int64_t n = 0;
    assert_int_equal(kr_future_poll(&r.base, &cx, &n), KR_READY);
    assert_int_equal(n, KR_ESHUTDOWN);
    kr_future_drop(&r.base);
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
    kr_tcp_listener_free(l);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A stream freed after its runtime, while another registration keeps
 * the driver's own state alive: the peer sees the end at once. (On
 * io_uring the stream's poll request holds its file in the kernel until
 * the ring goes; a close alone would leave the connection open.) */
static void a_socket_freed_after_its_runtime_is_closed_at_once(void **state) {
    (void)state;
    kr_tcp_stream *c, *s;
    kr_tcp_listener *l = outliving_pair(&c, &s);
    kr_tcp_stream_free(s);
    struct pollfd p = {kr_tcp_stream_fd(c), POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    char b;
    assert_int_equal(read(kr_tcp_stream_fd(c), &b, 1), 0);
    kr_tcp_stream_free(c);
    kr_tcp_listener_free(l);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(connection_refused),
    cmocka_unit_test(connect_timeout),
    cmocka_unit_test(accept_timeout),
    cmocka_unit_test(read_cancel_safe),
    cmocka_unit_test(reset_by_peer),
    cmocka_unit_test(no_sigpipe),
    cmocka_unit_test(free_while_read_pending),
    cmocka_unit_test(free_after_drop_and_listener),
    cmocka_unit_test(emfile_accept),
    cmocka_unit_test(alloc_failures),
    cmocka_unit_test(socket_outlives_runtime),
    cmocka_unit_test(a_socket_freed_after_its_runtime_is_closed_at_once),
};
KR_TEST_MAIN(tests)
