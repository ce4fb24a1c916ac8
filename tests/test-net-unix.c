/*
 * Unix-domain stream sockets: echo with many clients over a path and over
 * the abstract namespace, socketpair, the unlink rules (a path that exists
 * is EADDRINUSE, the listener leaves its file), connect errors, EPIPE
 * without SIGPIPE, a pending accept under a free.
 * KR_TEST_FLAVORS: ct mt
 */
#include <sys/stat.h>

#include "test-net.h"

static void sock_path(char *buf, size_t size, const char *tag) {
    snprintf(buf, size, "/tmp/kairo-test-%d-%s.sock", (int)getpid(), tag);
    unlink(buf);
}

static void unix_echo_run(const char *path, long n, size_t size) {
    kr_runtime *rt = test_runtime(0);
    kr_unix_listener *l = NULL;
    assert_rc(kr_unix_listener_bind(rt, path, 0, &l), 0);
    kr_sockaddr a;
    char text[KR_SOCKADDR_STRLEN];
    assert_rc(kr_unix_listener_local_addr(l, &a), 0);
    assert_true(kr_sockaddr_format(&a, text, sizeof(text)) > 0);
    assert_string_equal(text, path);
    net_stats st;
    net_stats_init(&st);
    acceptor ac = acceptor_make(&unix_ops, l, n, &st);
    kr_join_handle ha;
    assert_rc(kr_runtime_spawn(rt, &ac.base, &ha), 0);
    kr_join_handle *hc = calloc((size_t)n, sizeof(*hc));
    for (long i = 0; i < n; i++) {
        echo_client c = echo_client_make(&unix_ops, path, size, (unsigned)i);
        assert_rc(kr_runtime_spawn(rt, &c.base, &hc[i]), 0);
    }
    await_all w = await_all_make(hc, n);
    long bad = -1;
    assert_rc(kr_runtime_block_on(rt, &w.base, &bad), 0);
    if (bad != 0)
        fail_msg("%ld clients failed, the first with %d (%s)", bad, w.first_bad,
                 kr_err_name(w.first_bad));
    assert_int_equal(block_on_int(rt, &ha.base), 0);
    test_latch_wait lw = test_latch_wait_for(&st.closed, n);
    assert_rc(kr_runtime_block_on(rt, &lw.base, NULL), 0);
    assert_int_equal(atomic_load(&st.bytes), (long)size * n);
    kr_unix_listener_free(l);
    test_latch_destroy(&st.closed);
    test_runtime_free(rt);
    free(hc);
}

static void unix_echo_path(void **state) {
    (void)state;
    char path[108];
    sock_path(path, sizeof(path), "echo");
    unix_echo_run(path, test_scale(50), 32 * 1024);
    /* The listener is gone; its file stays (kairo never unlinks). */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_int_equal(unlink(path), 0);
}

static void unix_echo_abstract(void **state) {
    (void)state;
    char path[108];
    snprintf(path, sizeof(path), "@kairo-test-%d", (int)getpid());
    unix_echo_run(path, test_scale(20), 8 * 1024);
}

/* The unlink rules: binding over an existing file fails, even a stale
 * one; unlinking it first works. */
static void unix_unlink_rules(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char path[108];
    sock_path(path, sizeof(path), "stale");
    kr_unix_listener *l = NULL, *l2 = NULL;
    assert_rc(kr_unix_listener_bind(rt, path, 0, &l), 0);
    assert_rc(kr_unix_listener_bind(rt, path, 0, &l2), KR_EADDRINUSE);
    kr_unix_listener_free(l);
    /* Stale: the file is there, nobody listens. */
    kr_unix_stream *s = NULL;
    kr_unix_connect c = kr_unix_stream_connect(path, &s);
    assert_int_equal(block_on_int(rt, &c.base), KR_ECONNREFUSED);
    assert_rc(kr_unix_listener_bind(rt, path, 0, &l2), KR_EADDRINUSE);
    assert_null(l2);
    assert_int_equal(unlink(path), 0);
    assert_rc(kr_unix_listener_bind(rt, path, 0, &l2), 0);
    kr_unix_listener_free(l2);
    assert_int_equal(unlink(path), 0);
    /* No file at all. */
    c = kr_unix_stream_connect(path, &s);
    assert_int_equal(block_on_int(rt, &c.base), KR_ENOENT);
    /* Bad paths. */
    char longp[200];
    memset(longp, 'x', sizeof(longp));
    longp[0] = '/';
    longp[150] = '\0';
    assert_rc(kr_unix_listener_bind(rt, longp, 0, &l), KR_ENAMETOOLONG);
    c = kr_unix_stream_connect(longp, &s);
    assert_int_equal(block_on_int(rt, &c.base), KR_ENAMETOOLONG);
    assert_rc(kr_unix_listener_bind(rt, "", 0, &l), KR_EINVAL);
    assert_rc(kr_unix_listener_bind(rt, NULL, 0, &l), KR_EINVAL);
    assert_rc(kr_unix_listener_bind(rt, path, -1, &l), KR_EINVAL);
    assert_rc(kr_unix_listener_bind(rt, "/nonexistent-dir-kairo/x.sock", 0, &l),
              KR_ENOENT);
    c = kr_unix_stream_connect(NULL, &s);
    assert_int_equal(block_on_int(rt, &c.base), KR_EINVAL);
    assert_null(s);
    test_runtime_free(rt);
}

typedef struct pair_echo {
    kr_future base;
    kr_coro co;
    kr_unix_stream *a, *b;
    kr_net_io w, r;
    join2 j;
    int64_t wn, rn;
    char *src, *dst;
    size_t len;
} pair_echo;

static kr_poll pair_echo_poll(kr_future *f, kr_context *cx, void *out) {
    pair_echo *p = (pair_echo *)f;
    KR_ASYNC_BEGIN(&p->co);
    p->w = kr_unix_stream_write_all(p->a, p->src, p->len);
    p->r = kr_unix_stream_read_exact(p->b, p->dst, p->len);
    p->j = join2_make(&p->w.base, &p->wn, &p->r.base, &p->rn);
    KR_AWAIT(&p->co, &p->j.base, cx, NULL);
    assert_int_equal(p->wn, (int64_t)p->len);
    assert_int_equal(p->rn, (int64_t)p->len);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(pair_echo_vt, pair_echo, pair_echo_poll, NULL, 0);

/* socketpair; 1 MiB one way; then the peer closes: EOF for the reader,
 * EPIPE (no SIGPIPE) for the writer. */
static void unix_pair_and_epipe(void **state) {
    (void)state;
    signal(SIGPIPE, SIG_DFL);
    kr_runtime *rt = test_runtime(0);
    kr_unix_stream *a = NULL, *b = NULL;
    assert_rc(kr_unix_stream_pair(rt, &a, &b), 0);
    pair_echo p;
    memset(&p, 0, sizeof(p));
    p.base.vtable = &pair_echo_vt;
    p.a = a;
    p.b = b;
    p.len = 1u << 20;
    p.src = malloc(p.len);
    p.dst = malloc(p.len);
    test_pattern_fill(p.src, p.len, 5);
    assert_rc(kr_runtime_block_on(rt, &p.base, NULL), 0);
    assert_true(test_pattern_check(p.dst, p.len, 5));
    free(p.src);
    free(p.dst);
    kr_sockaddr x;
    assert_rc(kr_unix_stream_peer_addr(a, &x), 0);
    assert_int_equal(kr_sockaddr_family(&x), AF_UNIX);
    /* Half-close works here too. */
    assert_rc(kr_unix_stream_shutdown(a, KR_SHUT_WRITE), 0);
    char buf[8];
    kr_unix_read r = kr_unix_stream_read(b, buf, sizeof(buf));
    assert_int_equal(block_on_i64(rt, &r.base), 0);
    kr_unix_write w = kr_unix_stream_write(b, "back", 4);
    assert_int_equal(block_on_i64(rt, &w.base), 4);
    r = kr_unix_stream_read(a, buf, sizeof(buf));
    assert_int_equal(block_on_i64(rt, &r.base), 4);
    kr_unix_stream_free(a);
    w = kr_unix_stream_write(b, "x", 1);
    assert_int_equal(block_on_i64(rt, &w.base), KR_EPIPE);
    struct iovec iov = {buf, 1};
    kr_unix_writev wv = kr_unix_stream_writev(b, &iov, 1);
    assert_int_equal(block_on_i64(rt, &wv.base), KR_EPIPE);
    kr_unix_stream_free(b);
    assert_rc(kr_unix_stream_pair(rt, NULL, &b), KR_EINVAL);
    assert_rc(kr_unix_stream_pair(NULL, &a, &b), KR_EINVAL); /* no rt */
    test_runtime_free(rt);
}

static void unix_free_under_accept(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    char path[108];
    sock_path(path, sizeof(path), "freeacc");
    kr_unix_listener *l = NULL;
    assert_rc(kr_unix_listener_bind(rt, path, 0, &l), 0);
    kr_unix_stream *s = NULL;
    kr_unix_accept acc = kr_unix_listener_accept(l, &s, NULL);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &acc.base, &h), 0);
    rt_sleep_ms(rt, 20);
    kr_unix_listener_free(l);
    assert_int_equal(block_on_int(rt, &h.base), KR_EBADF);
    assert_null(s);
    unlink(path);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A full backlog: a non-blocking Unix connect gets EAGAIN, and the
 * connect future retries every 10 ms until the server accepts. */
static void unix_connect_backlog_full(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char path[108];
    sock_path(path, sizeof(path), "backlog");
    kr_unix_listener *l = NULL;
    assert_rc(kr_unix_listener_bind(rt, path, 1, &l), 0);
    enum { N = 8 };
    kr_unix_stream *cs[N] = {0};
    kr_join_handle h[N];
    for (int i = 0; i < N; i++) {
        kr_unix_connect c = kr_unix_stream_connect(path, &cs[i]);
        assert_rc(kr_runtime_spawn(rt, &c.base, &h[i]), 0);
    }
    rt_sleep_ms(rt, 50);
    int done = 0;
    for (int i = 0; i < N; i++)
        done += kr_join_handle_is_finished(&h[i]);
    print_message("connected before any accept: %d of %d\n", done, N);
    assert_true(done < N); /* the rest wait for room in the backlog */
    for (int i = 0; i < N; i++) {
        kr_unix_stream *s = NULL;
        kr_unix_accept acc = kr_unix_listener_accept(l, &s, NULL);
        assert_int_equal(block_on_int(rt, &acc.base), 0);
        kr_unix_stream_free(s);
    }
    await_all w = await_all_make(h, N);
    long bad = -1;
    assert_rc(kr_runtime_block_on(rt, &w.base, &bad), 0);
    assert_int_equal(bad, 0);
    for (int i = 0; i < N; i++)
        kr_unix_stream_free(cs[i]);
    kr_unix_listener_free(l);
    unlink(path);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(unix_echo_path),
    cmocka_unit_test(unix_echo_abstract),
    cmocka_unit_test(unix_unlink_rules),
    cmocka_unit_test(unix_pair_and_epipe),
    cmocka_unit_test(unix_free_under_accept),
    cmocka_unit_test(unix_connect_backlog_full),
};
KR_TEST_MAIN(tests)
