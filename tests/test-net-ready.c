/*
 * Readiness, try_* and peek on every socket type and on kr_async_fd, and
 * any number of waiters per direction (the reactor's waiter lists).
 * Ported from Tokio: io_async_fd.rs (multiple_waiters, try_io,
 * await_error_readiness...), tcp_stream.rs (try_read_write, peek,
 * poll_read_ready, priority_event_on_oob_data), udp.rs (try_send_recv,
 * try_send_to_recv_from, send_to_peek_from, peek_from...), uds_stream.rs
 * (try_read_write). KR_TEST_FLAVORS: ct mt
 */
#include "test-net.h"

/* A connected TCP pair: a plain blocking connect into the listener's
 * backlog, adopted, and the accepted end. */
static void tcp_pair(kr_runtime *rt, kr_tcp_stream **a, kr_tcp_stream **b) {
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        connect(fd, (struct sockaddr *)&addr.storage, (socklen_t)addr.len), 0);
    assert_rc(kr_tcp_stream_from_fd(rt, fd, a), 0);
    kr_tcp_accept acc = kr_tcp_listener_accept(l, b, NULL);
    assert_int_equal(block_on_int(rt, &acc.base), 0);
    kr_tcp_listener_free(l);
}

/* Yields n times: lets spawned tasks on a current-thread runtime run up
 * to their first wait. */
typedef struct yielder {
    kr_future base;
    int n;
} yielder;
static kr_poll yielder_poll(kr_future *f, kr_context *cx, void *out) {
    yielder *y = (yielder *)f;
    (void)out;
    if (y->n-- <= 0)
        return KR_READY;
    kr_waker_wake_by_ref(cx->waker);
    return KR_PENDING;
}
KR_FUTURE_VTABLE(yielder_vt, yielder, yielder_poll, NULL, 0);

static void settle(kr_runtime *rt) {
    yielder y = {{&yielder_vt}, 20};
    assert_rc(kr_runtime_block_on(rt, &y.base, NULL), 0);
    test_sleep_ms(20); /* mt: workers reach their waits */
    yielder z = {{&yielder_vt}, 20};
    assert_rc(kr_runtime_block_on(rt, &z.base, NULL), 0);
}

/* Awaits handles h[0..n) and stores each int output in out[i]. */
typedef struct join_ints {
    kr_future base;
    kr_join_handle *h;
    int *out;
    int n, k;
} join_ints;
static kr_poll join_ints_poll(kr_future *f, kr_context *cx, void *o) {
    join_ints *j = (join_ints *)f;
    (void)o;
    while (j->k < j->n) {
        if (kr_future_poll(&j->h[j->k].base, cx, &j->out[j->k]) == KR_PENDING)
            return KR_PENDING;
        kr_join_handle_drop(&j->h[j->k]);
        j->k++;
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(join_ints_vt, join_ints, join_ints_poll, NULL, 0);

static void join_all_int(kr_runtime *rt, kr_join_handle *h, int *out, int n) {
    join_ints j = {{&join_ints_vt}, h, out, n, 0};
    assert_rc(kr_runtime_block_on(rt, &j.base, NULL), 0);
}

/* The same for int64_t outputs. */
typedef struct join_i64 {
    kr_future base;
    kr_join_handle *h;
    int64_t *out;
    int n, k;
} join_i64;
static kr_poll join_i64_poll(kr_future *f, kr_context *cx, void *o) {
    join_i64 *j = (join_i64 *)f;
    (void)o;
    while (j->k < j->n) {
        if (kr_future_poll(&j->h[j->k].base, cx, &j->out[j->k]) == KR_PENDING)
            return KR_PENDING;
        kr_join_handle_drop(&j->h[j->k]);
        j->k++;
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(join_i64_vt, join_i64, join_i64_poll, NULL, 0);

#define NW 8

/* io_async_fd.rs::multiple_waiters: several tasks await readiness of one
 * fd in the same direction; one event wakes them all. */
static void io_async_fd__multiple_waiters(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    kr_join_handle h[NW];
    for (int i = 0; i < NW; i++) {
        kr_readiness r = kr_async_fd_ready(afd, KR_READABLE);
        assert_rc(kr_runtime_spawn(rt, &r.base, &h[i]), 0);
    }
    settle(rt);
    for (int i = 0; i < NW; i++)
        assert_false(kr_join_handle_is_finished(&h[i]));
    assert_int_equal(write(sv[1], "x", 1), 1);
    int out[NW];
    join_all_int(rt, h, out, NW);
    for (int i = 0; i < NW; i++)
        assert_true(out[i] > 0 && (out[i] & KR_READABLE));
    kr_async_fd_free(afd);
    close(sv[0]);
    close(sv[1]);
    test_runtime_free(rt);
}

/* Waiters in both directions and with different interests on one fd: a
 * writable event wakes the writers only; readers wait on. */
static void io_async_fd__waiters_by_interest(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    kr_join_handle hr[3], hw[3];
    for (int i = 0; i < 3; i++) {
        kr_readiness r = kr_async_fd_ready(afd, KR_READABLE);
        assert_rc(kr_runtime_spawn(rt, &r.base, &hr[i]), 0);
        kr_readiness w = kr_async_fd_ready(afd, KR_WRITABLE);
        assert_rc(kr_runtime_spawn(rt, &w.base, &hw[i]), 0);
    }
    int out[3];
    join_all_int(rt, hw, out, 3); /* a fresh socket is writable */
    for (int i = 0; i < 3; i++)
        assert_true(out[i] & KR_WRITABLE);
    settle(rt);
    for (int i = 0; i < 3; i++)
        assert_false(kr_join_handle_is_finished(&hr[i]));
    assert_int_equal(write(sv[1], "y", 1), 1);
    join_all_int(rt, hr, out, 3);
    for (int i = 0; i < 3; i++)
        assert_true(out[i] & KR_READABLE);
    kr_async_fd_free(afd);
    close(sv[0]);
    close(sv[1]);
    test_runtime_free(rt);
}

/* Dropping a waiting readiness future unlinks it: the memory is gone
 * (freed) before the event comes; ASan sees any touch. */
static void io_async_fd__drop_while_waiting(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    kr_readiness *fs[4];
    for (int i = 0; i < 4; i++) {
        fs[i] = malloc(sizeof(*fs[i]));
        *fs[i] = kr_async_fd_ready(afd, KR_READABLE);
        int o = 0;
        assert_int_equal(kr_future_poll(&fs[i]->base, &cx, &o), KR_PENDING);
    }
    /* Drop the middle ones and the first, keep the last. */
    for (int i = 0; i < 3; i++) {
        kr_future_drop(&fs[i]->base);
        free(fs[i]);
    }
    assert_int_equal(write(sv[1], "z", 1), 1);
    kr_readiness r = kr_async_fd_ready(afd, KR_READABLE);
    assert_true(block_on_int(rt, &r.base) & KR_READABLE);
    int o = 0;
    assert_int_equal(kr_future_poll(&fs[3]->base, &cx, &o), KR_READY);
    assert_true(o & KR_READABLE);
    kr_future_drop(&fs[3]->base);
    free(fs[3]);
    kr_async_fd_free(afd);
    close(sv[0]);
    close(sv[1]);
    test_runtime_free(rt);
}

/* io_async_fd.rs::try_io / try_read / try_write: no call without
 * readiness; EAGAIN clears it. */
static void io_async_fd__try_read_write(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    char buf[16];
    /* No readiness seen yet: not even a call. */
    kr_readiness w = kr_async_fd_ready(afd, KR_WRITABLE);
    assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
    assert_int_equal(kr_async_fd_try_write(afd, "abc", 3), 3);
    kr_readiness r = kr_async_fd_ready(afd, KR_READABLE);
    assert_int_equal(write(sv[1], "hey", 3), 3);
    assert_true(block_on_int(rt, &r.base) & KR_READABLE);
    struct iovec iov[2] = {{buf, 1}, {buf + 1, 10}};
    assert_int_equal(kr_async_fd_try_read_vectored(afd, iov, 2), 3);
    assert_memory_equal(buf, "hey", 3);
    assert_int_equal(kr_async_fd_try_read(afd, buf, sizeof(buf)), KR_EAGAIN);
    /* Cleared: the next try makes no call either. */
    assert_int_equal(kr_async_fd_try_read(afd, buf, sizeof(buf)), KR_EAGAIN);
    kr_ready_event ev;
    assert_int_equal(kr_async_fd_readiness(afd, KR_READABLE, &ev), 0);
    struct iovec wv[2] = {{(void *)"ab", 2}, {(void *)"c", 1}};
    assert_int_equal(kr_async_fd_try_write_vectored(afd, wv, 2), 3);
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "abcabc", 6);
    /* Bad input. */
    assert_int_equal(kr_async_fd_try_read(NULL, buf, 1), KR_EINVAL);
    assert_int_equal(kr_async_fd_try_read(afd, NULL, 1), KR_EINVAL);
    assert_int_equal(kr_async_fd_try_write_vectored(afd, wv, -1), KR_EINVAL);
    assert_int_equal(kr_async_fd_try_write_vectored(afd, wv, 5000), KR_EINVAL);
    assert_int_equal(kr_async_fd_readiness(afd, 0, &ev), KR_EINVAL);
    assert_int_equal(kr_async_fd_readiness(afd, 1 << 10, &ev), KR_EINVAL);
    kr_readiness bad = kr_async_fd_ready(afd, 1 << 10);
    assert_int_equal(block_on_int(rt, &bad.base), KR_EINVAL);
    kr_async_fd_free(afd);
    close(sv[0]);
    close(sv[1]);
    test_runtime_free(rt);
}

/* tcp_stream.rs::try_read_write: fill the socket with try_write until
 * EAGAIN, then drain it with try_read (and the vectored forms). */
static void tcp_stream__try_read_write(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    tcp_pair(rt, &a, &b);
    static char data[4096];
    test_pattern_fill(data, sizeof(data), 9);
    long written = 0;
    for (;;) {
        kr_tcp_ready w = kr_tcp_stream_writable(a);
        assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
        int64_t n = kr_tcp_stream_try_write(a, data, sizeof(data));
        if (n == KR_EAGAIN)
            break;
        assert_true(n > 0);
        written += n;
    }
    long got = 0;
    char buf[4096];
    while (got < written) {
        kr_tcp_ready r = kr_tcp_stream_readable(b);
        assert_true(block_on_int(rt, &r.base) & KR_READABLE);
        int64_t n = kr_tcp_stream_try_read(b, buf, sizeof(buf));
        if (n == KR_EAGAIN)
            continue;
        assert_true(n > 0);
        got += n;
    }
    assert_int_equal(got, written);
    /* Vectored. */
    struct iovec wv[2] = {{(void *)"hello ", 6}, {(void *)"world", 5}};
    kr_tcp_ready w = kr_tcp_stream_writable(a);
    assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
    assert_int_equal(kr_tcp_stream_try_write_vectored(a, wv, 2), 11);
    char x[5], y[16];
    struct iovec rv[2] = {{x, 5}, {y, sizeof(y)}};
    int64_t n = KR_EAGAIN;
    while (n == KR_EAGAIN) {
        kr_tcp_ready r = kr_tcp_stream_readable(b);
        assert_true(block_on_int(rt, &r.base) & KR_READABLE);
        n = kr_tcp_stream_try_read_vectored(b, rv, 2);
    }
    assert_int_equal(n, 11);
    assert_memory_equal(x, "hello", 5);
    assert_memory_equal(y, " world", 6);
    assert_int_equal(kr_tcp_stream_try_read(NULL, x, 1), KR_EINVAL);
    assert_int_equal(kr_tcp_stream_try_write(a, NULL, 1), KR_EINVAL);
    kr_tcp_stream_free(a);
    kr_tcp_stream_free(b);
    test_runtime_free(rt);
}

/* tcp_stream.rs::peek: peeked bytes are read again. */
static void tcp_stream__peek(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    tcp_pair(rt, &a, &b);
    kr_tcp_write_all wa = kr_tcp_stream_write_all(a, "hello", 5);
    assert_int_equal(block_on_i64(rt, &wa.base), 5);
    char buf[8] = {0};
    int64_t n = 0;
    while (n < 5) { /* a peek may see part of it */
        kr_tcp_peek p = kr_tcp_stream_peek(b, buf, sizeof(buf));
        n = block_on_i64(rt, &p.base);
        assert_true(n > 0);
    }
    assert_memory_equal(buf, "hello", 5);
    memset(buf, 0, sizeof(buf));
    kr_tcp_read_exact re = kr_tcp_stream_read_exact(b, buf, 5);
    assert_int_equal(block_on_i64(rt, &re.base), 5);
    assert_memory_equal(buf, "hello", 5);
    kr_tcp_peek bad = kr_tcp_stream_peek(NULL, buf, 1);
    assert_int_equal(block_on_i64(rt, &bad.base), KR_EINVAL);
    kr_tcp_stream_free(a);
    kr_tcp_stream_free(b);
    test_runtime_free(rt);
}

/* Several tasks reading one stream at once (each a read future): every
 * one gets a byte; none is left without a wake-up. */
static void tcp_stream__many_readers(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    tcp_pair(rt, &a, &b);
    static char bufs[NW][1];
    kr_join_handle h[NW];
    for (int i = 0; i < NW; i++) {
        kr_tcp_read r = kr_tcp_stream_read(b, bufs[i], 1);
        assert_rc(kr_runtime_spawn(rt, &r.base, &h[i]), 0);
    }
    settle(rt);
    for (int i = 0; i < NW; i++)
        assert_false(kr_join_handle_is_finished(&h[i]));
    /* One byte at a time: each byte is an edge that wakes all of them;
     * one takes it, the others meet EAGAIN and wait again. */
    int64_t out[NW];
    for (int i = 0; i < NW; i++) {
        kr_tcp_write_all wa = kr_tcp_stream_write_all(a, &"abcdefgh"[i], 1);
        assert_int_equal(block_on_i64(rt, &wa.base), 1);
    }
    join_i64 j = {{&join_i64_vt}, h, out, NW, 0};
    assert_rc(kr_runtime_block_on(rt, &j.base, NULL), 0);
    int seen = 0;
    for (int i = 0; i < NW; i++) {
        assert_int_equal(out[i], 1);
        seen |= 1 << (bufs[i][0] - 'a');
    }
    assert_int_equal(seen, (1 << NW) - 1);
    kr_tcp_stream_free(a);
    kr_tcp_stream_free(b);
    test_runtime_free(rt);
}

/* tcp_stream.rs::priority_event_on_oob_data: urgent data makes the
 * stream ready for KR_PRIORITY. */
static void tcp_stream__priority_event_on_oob_data(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    tcp_pair(rt, &a, &b);
    kr_tcp_ready p = kr_tcp_stream_ready(b, KR_PRIORITY);
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    int o = 0;
    assert_int_equal(kr_future_poll(&p.base, &cx, &o), KR_PENDING);
    kr_future_drop(&p.base);
    assert_int_equal(send(kr_tcp_stream_fd(a), "!", 1, MSG_OOB), 1);
    kr_tcp_ready q = kr_tcp_stream_ready(b, KR_PRIORITY);
    assert_true(block_on_int(rt, &q.base) & KR_PRIORITY);
    kr_tcp_ready bad = kr_tcp_stream_ready(b, 0);
    assert_int_equal(block_on_int(rt, &bad.base), KR_EINVAL);
    kr_tcp_stream_free(a);
    kr_tcp_stream_free(b);
    test_runtime_free(rt);
}

/* A readiness future pending when its stream is freed completes with
 * KR_EBADF (the safety net of net.h). */
static void tcp_stream__ready_then_free(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    tcp_pair(rt, &a, &b);
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    kr_tcp_ready r1 = kr_tcp_stream_readable(b), r2 = kr_tcp_stream_readable(b);
    int o = 0;
    assert_int_equal(kr_future_poll(&r1.base, &cx, &o), KR_PENDING);
    assert_int_equal(kr_future_poll(&r2.base, &cx, &o), KR_PENDING);
    kr_tcp_stream_free(b);
    assert_int_equal(kr_future_poll(&r1.base, &cx, &o), KR_READY);
    assert_int_equal(o, KR_EBADF);
    kr_future_drop(&r1.base);
    kr_future_drop(&r2.base); /* still linked: the drop unlinks */
    kr_tcp_stream_free(a);
    test_runtime_free(rt);
}

/* uds_stream.rs::try_read_write, on a Unix stream pair. */
static void uds_stream__try_read_write(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_unix_stream *a, *b;
    assert_rc(kr_unix_stream_pair(rt, &a, &b), 0);
    static char data[4096];
    long written = 0;
    for (;;) {
        kr_unix_ready w = kr_unix_stream_writable(a);
        assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
        int64_t n = kr_unix_stream_try_write(a, data, sizeof(data));
        if (n == KR_EAGAIN)
            break;
        assert_true(n > 0);
        written += n;
    }
    long got = 0;
    char buf[4096];
    while (got < written) {
        kr_unix_ready r = kr_unix_stream_ready(b, KR_READABLE | KR_PRIORITY);
        assert_true(block_on_int(rt, &r.base) & KR_READABLE);
        int64_t n = kr_unix_stream_try_read(b, buf, sizeof(buf));
        if (n == KR_EAGAIN)
            continue;
        assert_true(n > 0);
        got += n;
    }
    struct iovec v[1] = {{buf, 3}};
    kr_unix_ready w = kr_unix_stream_writable(a);
    assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
    assert_int_equal(kr_unix_stream_try_write_vectored(a, v, 1), 3);
    int64_t n = KR_EAGAIN;
    while (n == KR_EAGAIN) {
        kr_unix_ready r = kr_unix_stream_readable(b);
        assert_true(block_on_int(rt, &r.base) & KR_READABLE);
        n = kr_unix_stream_try_read_vectored(b, v, 1);
    }
    assert_int_equal(n, 3);
    kr_unix_stream_free(a);
    kr_unix_stream_free(b);
    test_runtime_free(rt);
}

static void udp_pair(kr_runtime *rt, kr_udp_socket **a, kr_udp_socket **b,
                     kr_sockaddr *aa, kr_sockaddr *ba) {
    kr_sockaddr any = loopback4(0);
    assert_rc(kr_udp_socket_bind(rt, &any, a), 0);
    assert_rc(kr_udp_socket_bind(rt, &any, b), 0);
    assert_rc(kr_udp_socket_local_addr(*a, aa), 0);
    assert_rc(kr_udp_socket_local_addr(*b, ba), 0);
}

/* udp.rs::try_send_recv: connected sockets, try_send / try_recv. */
static void udp__try_send_recv(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_udp_socket *a, *b;
    kr_sockaddr aa, ba;
    udp_pair(rt, &a, &b, &aa, &ba);
    assert_rc(kr_udp_socket_connect(a, &ba), 0);
    assert_rc(kr_udp_socket_connect(b, &aa), 0);
    for (int i = 0; i < 3; i++) {
        int64_t n = KR_EAGAIN;
        while (n == KR_EAGAIN) {
            kr_udp_ready w = kr_udp_socket_writable(a);
            assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
            n = kr_udp_socket_try_send(a, "hello", 5);
        }
        assert_int_equal(n, 5);
        char buf[8];
        n = KR_EAGAIN;
        while (n == KR_EAGAIN) {
            kr_udp_ready r = kr_udp_socket_readable(b);
            assert_true(block_on_int(rt, &r.base) & KR_READABLE);
            n = kr_udp_socket_try_recv(b, buf, sizeof(buf));
        }
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "hello", 5);
    }
    kr_udp_socket_free(a);
    kr_udp_socket_free(b);
    test_runtime_free(rt);
}

/* udp.rs::try_send_to_recv_from and try_peek_from. */
static void udp__try_send_to_recv_from(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_udp_socket *a, *b;
    kr_sockaddr aa, ba, from;
    udp_pair(rt, &a, &b, &aa, &ba);
    int64_t n = KR_EAGAIN;
    while (n == KR_EAGAIN) {
        kr_udp_ready w = kr_udp_socket_writable(a);
        assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
        n = kr_udp_socket_try_send_to(a, "hello", 5, &ba);
    }
    assert_int_equal(n, 5);
    char buf[8];
    n = KR_EAGAIN;
    while (n == KR_EAGAIN) {
        kr_udp_ready r = kr_udp_socket_readable(b);
        assert_true(block_on_int(rt, &r.base) & KR_READABLE);
        n = kr_udp_socket_try_peek_from(b, buf, sizeof(buf), &from);
    }
    assert_int_equal(n, 5);
    assert_true(kr_sockaddr_equal(&from, &aa));
    memset(&from, 0, sizeof(from));
    assert_int_equal(kr_udp_socket_try_recv_from(b, buf, sizeof(buf), &from),
                     5);
    assert_true(kr_sockaddr_equal(&from, &aa));
    assert_int_equal(kr_udp_socket_try_recv_from(b, buf, sizeof(buf), &from),
                     KR_EAGAIN);
    kr_sockaddr un;
    assert_rc(kr_sockaddr_unix("/tmp/x", &un), 0);
    assert_int_equal(kr_udp_socket_try_send_to(a, "x", 1, &un), KR_EINVAL);
    assert_int_equal(kr_udp_socket_try_send_to(a, "x", 1, NULL), KR_EINVAL);
    kr_udp_socket_free(a);
    kr_udp_socket_free(b);
    test_runtime_free(rt);
}

/* udp.rs::send_to_peek_from (and peek on a connected socket): a peek
 * leaves the datagram for the next receive. */
static void udp__send_to_peek_from(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_udp_socket *a, *b;
    kr_sockaddr aa, ba, from;
    udp_pair(rt, &a, &b, &aa, &ba);
    kr_udp_send_to st = kr_udp_socket_send_to(a, "hello", 5, &ba);
    assert_int_equal(block_on_i64(rt, &st.base), 5);
    char buf[8] = {0};
    kr_udp_recv_from pf = kr_udp_socket_peek_from(b, buf, sizeof(buf), &from);
    assert_int_equal(block_on_i64(rt, &pf.base), 5);
    assert_true(kr_sockaddr_equal(&from, &aa));
    memset(buf, 0, sizeof(buf));
    assert_rc(kr_udp_socket_connect(b, &aa), 0);
    kr_udp_recv pk = kr_udp_socket_peek(b, buf, 2);
    assert_int_equal(block_on_i64(rt, &pk.base), 2); /* truncated view */
    kr_udp_recv_from rf = kr_udp_socket_recv_from(b, buf, sizeof(buf), &from);
    assert_int_equal(block_on_i64(rt, &rf.base), 5);
    assert_memory_equal(buf, "hello", 5);
    kr_udp_recv_from bad = kr_udp_socket_peek_from(NULL, buf, 1, NULL);
    assert_int_equal(block_on_i64(rt, &bad.base), KR_EINVAL);
    kr_udp_socket_free(a);
    kr_udp_socket_free(b);
    test_runtime_free(rt);
}

/* Several tasks receiving on one UDP socket: each gets one datagram. */
static void udp__many_receivers(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_udp_socket *a, *b;
    kr_sockaddr aa, ba;
    udp_pair(rt, &a, &b, &aa, &ba);
    static char bufs[NW][4];
    kr_join_handle h[NW];
    for (int i = 0; i < NW; i++) {
        kr_udp_recv_from r =
            kr_udp_socket_recv_from(b, bufs[i], sizeof(bufs[i]), NULL);
        assert_rc(kr_runtime_spawn(rt, &r.base, &h[i]), 0);
    }
    settle(rt);
    for (int i = 0; i < NW; i++) {
        kr_udp_send_to st = kr_udp_socket_send_to(a, "d", 1, &ba);
        assert_int_equal(block_on_i64(rt, &st.base), 1);
    }
    int64_t out[NW];
    join_i64 j = {{&join_i64_vt}, h, out, NW, 0};
    assert_rc(kr_runtime_block_on(rt, &j.base, NULL), 0);
    for (int i = 0; i < NW; i++)
        assert_int_equal(out[i], 1);
    kr_udp_socket_free(a);
    kr_udp_socket_free(b);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(io_async_fd__multiple_waiters),
    cmocka_unit_test(io_async_fd__waiters_by_interest),
    cmocka_unit_test(io_async_fd__drop_while_waiting),
    cmocka_unit_test(io_async_fd__try_read_write),
    cmocka_unit_test(tcp_stream__try_read_write),
    cmocka_unit_test(tcp_stream__peek),
    cmocka_unit_test(tcp_stream__many_readers),
    cmocka_unit_test(tcp_stream__priority_event_on_oob_data),
    cmocka_unit_test(tcp_stream__ready_then_free),
    cmocka_unit_test(uds_stream__try_read_write),
    cmocka_unit_test(udp__try_send_recv),
    cmocka_unit_test(udp__try_send_to_recv_from),
    cmocka_unit_test(udp__send_to_peek_from),
    cmocka_unit_test(udp__many_receivers),
};
KR_TEST_MAIN(tests)
