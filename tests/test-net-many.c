/*
 * 10,000 concurrent TCP connections through an echo server.
 *
 * Both ends in one process would need 20,000 descriptors and more, beyond
 * common hard limits (20,000 here), so the clients run in a forked child
 * with its own runtime and descriptor table: each side needs ~10,000. The
 * test raises RLIMIT_NOFILE to what it needs and skips (exit 77) when the
 * hard limit is lower.
 *
 * Client phase 1: 100 dialers open all 10,000 connections (100 connects in
 * flight at a time, so the listener's queue never overflows into SYN
 * retransmits), each proven by an 8-byte round trip, and keep them all
 * open. Phase 2: one task per connection, all at once: a 64-byte round
 * trip, a half-close, the server's close seen as end of stream. The server
 * spawns an echo task per connection and records how many were alive at
 * once: all 10,000.
 * KR_TEST_FLAVORS: ct mt
 */
#include <sys/wait.h>

#include "test-net.h"

enum { DIALERS = 100, HELLO = 8, ROUND = 64 };

/* ---- client side (the child; no cmocka asserts: it reports by status) --- */

typedef struct dialer {
    kr_future base;
    kr_coro co;
    kr_sockaddr addr;
    kr_tcp_stream **streams;
    long j, n;
    kr_tcp_connect con;
    kr_net_io io;
    int rc;
    int64_t got;
    char out[HELLO], in[HELLO];
} dialer;

static kr_poll dialer_poll(kr_future *f, kr_context *cx, void *out) {
    dialer *d = (dialer *)f;
    KR_ASYNC_BEGIN(&d->co);
    for (; d->j < d->n; d->j += DIALERS) {
        d->con = kr_tcp_stream_connect(&d->addr, &d->streams[d->j]);
        KR_AWAIT(&d->co, &d->con.base, cx, &d->rc);
        if (d->rc < 0)
            KR_RETURN(&d->co, out, int, d->rc);
        test_pattern_fill(d->out, HELLO, (unsigned)d->j);
        d->io = kr_tcp_stream_write_all(d->streams[d->j], d->out, HELLO);
        KR_AWAIT(&d->co, &d->io.base, cx, &d->got);
        if (d->got != HELLO)
            KR_RETURN(&d->co, out, int, d->got < 0 ? (int)d->got : 2);
        d->io = kr_tcp_stream_read_exact(d->streams[d->j], d->in, HELLO);
        KR_AWAIT(&d->co, &d->io.base, cx, &d->got);
        if (d->got != HELLO)
            KR_RETURN(&d->co, out, int, d->got < 0 ? (int)d->got : 3);
        if (!test_pattern_check(d->in, HELLO, (unsigned)d->j))
            KR_RETURN(&d->co, out, int, 1);
    }
    KR_RETURN(&d->co, out, int, 0);
    KR_ASYNC_END(&d->co);
}
static void dialer_drop(kr_future *f) { kr_coro_drop(&((dialer *)f)->co); }
KR_FUTURE_VTABLE(dialer_vt, dialer, dialer_poll, dialer_drop, sizeof(int));

typedef struct finisher {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *s;
    unsigned seed;
    kr_net_io io;
    int64_t got;
    char out[ROUND], in[ROUND];
} finisher;

static kr_poll finisher_poll(kr_future *f, kr_context *cx, void *out) {
    finisher *t = (finisher *)f;
    KR_ASYNC_BEGIN(&t->co);
    test_pattern_fill(t->out, ROUND, t->seed);
    t->io = kr_tcp_stream_write_all(t->s, t->out, ROUND);
    KR_AWAIT(&t->co, &t->io.base, cx, &t->got);
    if (t->got != ROUND)
        KR_RETURN(&t->co, out, int, t->got < 0 ? (int)t->got : 2);
    t->io = kr_tcp_stream_read_exact(t->s, t->in, ROUND);
    KR_AWAIT(&t->co, &t->io.base, cx, &t->got);
    if (t->got != ROUND)
        KR_RETURN(&t->co, out, int, t->got < 0 ? (int)t->got : 3);
    if (!test_pattern_check(t->in, ROUND, t->seed))
        KR_RETURN(&t->co, out, int, 1);
    if (kr_tcp_stream_shutdown(t->s, KR_SHUT_WRITE) < 0)
        KR_RETURN(&t->co, out, int, 4);
    t->io = kr_tcp_stream_read(t->s, t->in, ROUND);
    KR_AWAIT(&t->co, &t->io.base, cx, &t->got);
    if (t->got != 0)
        KR_RETURN(&t->co, out, int, 5);
    kr_tcp_stream_free(t->s);
    t->s = NULL;
    KR_RETURN(&t->co, out, int, 0);
    KR_ASYNC_END(&t->co);
}
static void finisher_drop(kr_future *f) {
    finisher *t = (finisher *)f;
    kr_coro_drop(&t->co);
    kr_tcp_stream_free(t->s);
}
KR_FUTURE_VTABLE(finisher_vt, finisher, finisher_poll, finisher_drop,
                 sizeof(int));

static int clients(const kr_sockaddr *addr, long n) {
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = test_flavor();
    cfg.workers = 2;
    kr_runtime *rt = NULL;
    if (kr_runtime_new(&cfg, &rt) < 0)
        return 10;
    kr_tcp_stream **streams = calloc((size_t)n, sizeof(*streams));
    kr_join_handle *h = calloc((size_t)n, sizeof(*h));
    int status = 0;
    double t0 = now_ms();
    for (long i = 0; i < DIALERS && i < n; i++) {
        dialer d;
        memset(&d, 0, sizeof(d));
        d.base.vtable = &dialer_vt;
        d.addr = *addr;
        d.streams = streams;
        d.j = i;
        d.n = n;
        if (kr_runtime_spawn(rt, &d.base, &h[i]) < 0)
            return 11;
    }
    await_all w = await_all_make(h, n < DIALERS ? n : DIALERS);
    long bad = -1;
    if (kr_runtime_block_on(rt, &w.base, &bad) < 0 || bad != 0) {
        fprintf(stderr, "dialers: %ld failed, the first with %d (%s)\n", bad,
                w.first_bad, kr_err_name(w.first_bad));
        status = 12;
        goto out;
    }
    double t1 = now_ms();
    for (long i = 0; i < n; i++) {
        finisher t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &finisher_vt;
        t.s = streams[i];
        t.seed = (unsigned)(i * 3 + 1);
        streams[i] = NULL;
        if (kr_runtime_spawn(rt, &t.base, &h[i]) < 0)
            return 13;
    }
    w = await_all_make(h, n);
    if (kr_runtime_block_on(rt, &w.base, &bad) < 0 || bad != 0) {
        fprintf(stderr, "finishers: %ld failed, the first with %d (%s)\n", bad,
                w.first_bad, kr_err_name(w.first_bad));
        status = 14;
        goto out;
    }
    printf("clients: %ld connected in %.0f ms, all round trips and closes "
           "in %.0f ms\n",
           n, t1 - t0, now_ms() - t1);
out:
    for (long i = 0; i < n; i++)
        kr_tcp_stream_free(streams[i]);
    if (kr_runtime_shutdown(rt) < 0)
        status = status ? status : 15;
    kr_runtime_free(rt);
    free(streams);
    free(h);
    return status;
}

/* ---- server side (the test process) ------------------------------------ */

static void tcp_10k_connections(void **state) {
    (void)state;
    long n = test_scale(10000);
    /* Each process: n sockets, plus the runtime's and the test's own. */
    if (!raise_nofile((rlim_t)n + 256))
        net_skip("the RLIMIT_NOFILE hard limit is below what 10,000 "
                 "connections need");
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    kr_sockaddr addr = loopback4(0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr.storage, addr.len), 0);
    assert_int_equal(listen(lfd, 4096), 0);
    socklen_t len = sizeof(addr.storage);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr.storage, &len),
                     0);
    addr.len = len;
    fflush(stdout);
    fflush(stderr);
    /* Fork before any runtime exists: the child starts clean. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(lfd);
        int st = clients(&addr, n);
        fflush(stdout);
        _exit(st);
    }
    double t0 = now_ms();
    kr_runtime *rt = test_runtime(0);
    kr_tcp_listener *l = NULL;
    assert_rc(kr_tcp_listener_from_fd(rt, lfd, &l), 0);
    net_stats st;
    net_stats_init(&st);
    acceptor a = acceptor_make(&tcp_ops, l, n, &st);
    kr_join_handle ha;
    assert_rc(kr_runtime_spawn(rt, &a.base, &ha), 0);
    int rc = -1;
    kr_timeout to = kr_timeout_new(&ha.base, kr_secs(60), &rc);
    assert_rc(block_on_int(rt, &to.base), 0);
    assert_rc(rc, 0);
    double t1 = now_ms();
    test_latch_wait lw = test_latch_wait_for(&st.closed, n);
    to = kr_timeout_new(&lw.base, kr_secs(60), NULL);
    assert_rc(block_on_int(rt, &to.base), 0);
    int status = -1;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    print_message("server: %ld accepted in %.0f ms, all closed after %.0f ms; "
                  "at most %ld alive at once\n",
                  n, t1 - t0, now_ms() - t0, atomic_load(&st.max_live));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(atomic_load(&st.max_live), n);
    assert_int_equal(atomic_load(&st.live), 0);
    assert_int_equal(atomic_load(&st.bytes), n * (HELLO + ROUND));
    kr_tcp_listener_free(l);
    test_latch_destroy(&st.closed);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tcp_10k_connections),
};
KR_TEST_MAIN(tests)
