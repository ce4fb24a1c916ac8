/*
 * The buffered writer, copy and the TCP halves (kairo/bufio.h,
 * kairo/stream.h): Tokio's io_buf_writer.rs, io_copy.rs,
 * io_copy_bidirectional.rs, tcp_into_split.rs and tcp_split.rs, then
 * kairo's own: a writer whose peer never reads (memory held at the
 * limit), many replies in one system call, appending while a flush is
 * pending, sticky errors, 1 MiB through copy, halves used by two tasks.
 *
 * Not ported, and why: the *_seek tests (no seek), write_vectored_* (the
 * writer has no vectored entry point: its buffer is one contiguous run,
 * so a flush is one write), io_copy.rs's proxy (it needs Tokio's duplex
 * and take), copy_is_cooperative and copy_bidirectional_is_cooperative
 * (kairo's budget is consumed by the sockets' readiness checks; a test
 * of that belongs to the coop tests), io_split.rs (the generic split of
 * any AsyncRead + AsyncWrite into locked halves: kairo splits TCP streams
 * into owned halves only; the one-reader one-writer rule of net.h makes
 * locks unnecessary), blocking_one_side_does_not_block_other (covered by
 * bufio__split_two_tasks' two directions at once).
 * KR_TEST_FLAVORS: ct mt
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-bufio.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct wfx {
    kr_runtime *rt;
    mock m;
    kr_buf_writer *w;
} wfx;

static void wfx_open(wfx *fx, size_t limit) {
    fx->rt = test_runtime(0);
    mock_init(&fx->m, NULL, 0);
    assert_rc(kr_buf_writer_new(mock_stream(&fx->m), limit, &fx->w), 0);
}

static void wfx_close(wfx *fx) {
    kr_buf_writer_free(fx->w);
    mock_destroy(&fx->m);
    test_runtime_free(fx->rt);
}

static int64_t wall(wfx *fx, const void *p, size_t n) {
    kr_buf_op op = kr_buf_write_all(fx->w, p, n);
    return run64(fx->rt, &op.base);
}

static int64_t wflush(wfx *fx) {
    kr_buf_op op = kr_buf_writer_flush(fx->w);
    return run64(fx->rt, &op.base);
}

static void assert_written(wfx *fx, const void *p, size_t n) {
    assert_int_equal(fx->m.wlen, n);
    if (n > 0)
        assert_memory_equal(fx->m.written, p, n);
}

/* A connected TCP pair: a plain blocking connect into the listener's
 * backlog, adopted, and the accepted end. */
static void tcp_pair(kr_runtime *rt, kr_tcp_stream **a, kr_tcp_stream **b) {
    kr_sockaddr addr;
    assert_rc(kr_sockaddr_from_ip("127.0.0.1", 0, &addr), 0);
    kr_tcp_listener *l;
    assert_rc(kr_tcp_listener_bind(rt, &addr, NULL, &l), 0);
    assert_rc(kr_tcp_listener_local_addr(l, &addr), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        connect(fd, (struct sockaddr *)&addr.storage, (socklen_t)addr.len), 0);
    assert_rc(kr_tcp_stream_from_fd(rt, fd, a), 0);
    kr_tcp_accept acc = kr_tcp_listener_accept(l, b, NULL);
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &acc.base, &rc), 0);
    assert_int_equal(rc, 0);
    kr_tcp_listener_free(l);
}

/* Writes len pattern bytes (seed) to s with write_all, then shuts its
 * write side. Output: int64_t, len or an error. */
typedef struct sender {
    kr_future base;
    kr_coro co;
    kr_io_stream s;
    char *buf;
    size_t len;
    kr_io_op op;
    int64_t n;
} sender;

static kr_poll sender_poll(kr_future *f, kr_context *cx, void *out) {
    sender *t = (sender *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->op = kr_io_write_all(t->s, t->buf, t->len);
    KR_AWAIT_INTO(&t->co, &t->op, cx, t->n);
    if (t->n >= 0)
        (void)kr_io_shutdown(t->s);
    KR_RETURN(&t->co, out, int64_t, t->n);
    KR_ASYNC_END(&t->co);
}
static void sender_drop(kr_future *f) { kr_coro_drop(&((sender *)f)->co); }
KR_FUTURE_VTABLE(sender_vt, sender, sender_poll, sender_drop, sizeof(int64_t));

static sender sender_make(kr_io_stream s, char *buf, size_t len) {
    sender t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &sender_vt;
    t.s = s;
    t.buf = buf;
    t.len = len;
    return t;
}

/* Reads s to its end through a buffered reader. Output: int64_t, the
 * bytes read (into *data, kr_buf_free it) or an error. */
typedef struct drainer {
    kr_future base;
    kr_coro co;
    kr_io_stream s;
    kr_buf_reader *r;
    char **data;
    kr_buf_op op;
    size_t len;
    int64_t n;
} drainer;

static kr_poll drainer_poll(kr_future *f, kr_context *cx, void *out) {
    drainer *t = (drainer *)f;
    KR_ASYNC_BEGIN(&t->co);
    if (kr_buf_reader_new(t->s, 0, &t->r) != 0)
        KR_RETURN(&t->co, out, int64_t, KR_ENOMEM);
    t->op = kr_buf_read_to_end(t->r, 64 << 20, t->data, &t->len);
    KR_AWAIT_INTO(&t->co, &t->op, cx, t->n);
    kr_buf_reader_free(t->r);
    t->r = NULL;
    KR_RETURN(&t->co, out, int64_t, t->n);
    KR_ASYNC_END(&t->co);
}
static void drainer_drop(kr_future *f) {
    drainer *t = (drainer *)f;
    kr_coro_drop(&t->co);
    kr_buf_reader_free(t->r);
}
KR_FUTURE_VTABLE(drainer_vt, drainer, drainer_poll, drainer_drop,
                 sizeof(int64_t));

static drainer drainer_make(kr_io_stream s, char **data) {
    drainer t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &drainer_vt;
    t.s = s;
    t.data = data;
    return t;
}

static int64_t join64(kr_runtime *rt, kr_join_handle *h) {
    int64_t v = 12345;
    assert_rc(kr_runtime_block_on(rt, &h->base, &v), 0);
    return v;
}

/* ---- io_buf_writer.rs ----------------------------------------------- */

static void buf_writer_run(bool maybe_pending) {
    wfx fx;
    wfx_open(&fx, 2);
    fx.m.maybe_pending = maybe_pending;
    assert_int_equal(wall(&fx, "\0\1", 2), 2);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 0);
    assert_written(&fx, "\0\1", 2);
    assert_int_equal(wall(&fx, "\2", 1), 1);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 1);
    assert_int_equal(wall(&fx, "\3", 1), 1);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 2);
    assert_written(&fx, "\0\1", 2);
    assert_int_equal(wflush(&fx), 0);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 0);
    assert_written(&fx, "\0\1\2\3", 4);
    assert_int_equal(wall(&fx, "\4", 1), 1);
    assert_int_equal(wall(&fx, "\5", 1), 1);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 2);
    assert_written(&fx, "\0\1\2\3", 4);
    assert_int_equal(wall(&fx, "\6", 1), 1);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 1);
    assert_written(&fx, "\0\1\2\3\4\5", 6);
    assert_int_equal(wall(&fx, "\7\10", 2), 2);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 0);
    assert_written(&fx, "\0\1\2\3\4\5\6\7\10", 9);
    assert_int_equal(wall(&fx, "\11\12\13", 3), 3);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 0);
    assert_written(&fx, "\0\1\2\3\4\5\6\7\10\11\12\13", 12);
    assert_int_equal(wflush(&fx), 0);
    assert_written(&fx, "\0\1\2\3\4\5\6\7\10\11\12\13", 12);
    assert_true(kr_buf_writer_capacity(fx.w) <= 2);
    wfx_close(&fx);
}

static void io_buf_writer__buf_writer(void **state) {
    (void)state;
    buf_writer_run(false);
}

static void io_buf_writer__maybe_pending_buf_writer(void **state) {
    (void)state;
    buf_writer_run(true);
}

static void inner_flushes_run(bool maybe_pending) {
    wfx fx;
    wfx_open(&fx, 3);
    fx.m.maybe_pending = maybe_pending;
    assert_int_equal(wall(&fx, "\0\1", 2), 2);
    assert_written(&fx, "", 0);
    assert_int_equal(wflush(&fx), 0);
    assert_written(&fx, "\0\1", 2);
    wfx_close(&fx);
}

static void io_buf_writer__buf_writer_inner_flushes(void **state) {
    (void)state;
    inner_flushes_run(false);
}

static void io_buf_writer__maybe_pending_buf_writer_inner_flushes(void **s) {
    (void)s;
    inner_flushes_run(true);
}

/* ---- the writer: kairo's own ------------------------------------------ */

/* A peer that never reads: appends stop at the limit (KR_ENOBUFS, nothing
 * appended), the buffer never grows past it, and a write_all waits
 * without allocating, however often it is polled. */
static void bufio__writer_never_read(void **state) {
    (void)state;
    wfx fx;
    wfx_open(&fx, 4096);
    fx.m.never_write = true;
    char chunk[100];
    memset(chunk, 'a', sizeof(chunk));
    size_t total = 0;
    int rc;
    while ((rc = kr_buf_writer_write(fx.w, chunk, sizeof(chunk))) == 0)
        total += sizeof(chunk);
    assert_rc(rc, KR_ENOBUFS);
    assert_int_equal(total, 4000);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 4000);
    assert_true(kr_buf_writer_capacity(fx.w) <= 4096);
    assert_int_equal(kr_buf_writer_printf(fx.w, "%0200d", 1), KR_ENOBUFS);
    assert_null(kr_buf_writer_reserve(fx.w, 97));
    kr_buf_op op = kr_buf_write_all(fx.w, chunk, sizeof(chunk));
    test_alloc_install();
    long live = test_alloc_live();
    for (int i = 0; i < 1000; i++)
        assert_int_equal(poll_once(&op.base, NULL), KR_PENDING);
    assert_int_equal(test_alloc_live(), live);
    test_alloc_uninstall();
    kr_future_drop(&op.base);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 4000);
    assert_true(kr_buf_writer_capacity(fx.w) <= 4096);
    wfx_close(&fx);
}

/* Appends until a real socket's peer (which never reads) stops taking
 * bytes: the writer's memory stays at the limit while the kernel's
 * buffers fill, and the appending task waits rather than grows. */
typedef struct flooder {
    kr_future base;
    kr_coro co;
    kr_buf_writer *w;
    char chunk[1000];
    long appended;
    size_t max_cap;
    kr_buf_op op;
    int64_t n;
} flooder;

static kr_poll flooder_poll(kr_future *f, kr_context *cx, void *out) {
    flooder *t = (flooder *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (;;) {
        t->op = kr_buf_write_all(t->w, t->chunk, sizeof(t->chunk));
        KR_AWAIT_INTO(&t->co, &t->op, cx, t->n);
        if (t->n < 0)
            break;
        t->appended += (long)t->n;
        size_t cap = kr_buf_writer_capacity(t->w);
        if (cap > t->max_cap)
            t->max_cap = cap;
    }
    KR_ASYNC_END(&t->co);
}
static void flooder_drop(kr_future *f) { kr_coro_drop(&((flooder *)f)->co); }
KR_FUTURE_VTABLE(flooder_vt, flooder, flooder_poll, flooder_drop, 0);

static void bufio__writer_never_read_socket(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_unix_stream *a, *b;
    assert_rc(kr_unix_stream_pair(rt, &a, &b), 0);
    kr_buf_writer *w;
    assert_rc(kr_buf_writer_new(kr_io_unix(a), 16384, &w), 0);
    flooder *fl = calloc(1, sizeof(*fl));
    fl->base.vtable = &flooder_vt;
    fl->w = w;
    kr_timeout to = kr_timeout_new(&fl->base, kr_ms(300), NULL);
    int rc = 0;
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    assert_rc(rc, KR_ELAPSED);
    assert_true(fl->appended > 16384); /* the kernel took some */
    assert_true(fl->max_cap <= 16384);
    assert_true(kr_buf_writer_capacity(w) <= 16384);
    assert_true(kr_buf_writer_buffered(w) <= 16384);
    free(fl);
    kr_buf_writer_free(w);
    kr_unix_stream_free(a);
    kr_unix_stream_free(b);
    test_runtime_free(rt);
}

/* A thousand replies appended, one flush: one write call. */
static void bufio__writer_many_replies_one_syscall(void **state) {
    (void)state;
    wfx fx;
    wfx_open(&fx, 0);
    size_t want = 0;
    for (int i = 0; i < 1000; i++) {
        int n = kr_buf_writer_printf(fx.w, ":%d\r\n", i);
        assert_true(n > 0);
        want += (size_t)n;
    }
    char *p = kr_buf_writer_reserve(fx.w, 5);
    assert_non_null(p);
    memcpy(p, "+OK\r\n", 5);
    kr_buf_writer_commit(fx.w, 5);
    want += 5;
    assert_int_equal(kr_buf_writer_buffered(fx.w), want);
    assert_int_equal(wflush(&fx), 0);
    assert_int_equal(fx.m.writes, 1);
    assert_int_equal(fx.m.wlen, want);
    assert_memory_equal(fx.m.written, ":0\r\n:1\r\n", 8);
    assert_memory_equal(fx.m.written + want - 5, "+OK\r\n", 5);
    wfx_close(&fx);
}

/* Appending while a flush is pending: the flush goes on to write the new
 * bytes too, in order. */
static void bufio__writer_append_while_flush_pending(void **state) {
    (void)state;
    wfx fx;
    wfx_open(&fx, 0);
    fx.m.maybe_pending = true;
    fx.m.max_write = 3;
    assert_rc(kr_buf_writer_write(fx.w, "hello ", 6), 0);
    kr_buf_op op = kr_buf_writer_flush(fx.w);
    int64_t res = 99;
    assert_int_equal(poll_once(&op.base, &res), KR_PENDING);
    assert_rc(kr_buf_writer_write(fx.w, "world", 5), 0);
    int polls = 0;
    while (poll_once(&op.base, &res) == KR_PENDING)
        polls++;
    kr_future_drop(&op.base);
    assert_int_equal(res, 0);
    assert_true(polls >= 1);
    assert_written(&fx, "hello world", 11);
    assert_int_equal(kr_buf_writer_buffered(fx.w), 0);
    wfx_close(&fx);
}

/* A write error is the writer's from then on. */
static kr_poll fail_write(void *o, kr_context *cx, const void *buf, size_t len,
                          int64_t *res) {
    (void)o, (void)cx, (void)buf, (void)len;
    *res = KR_ECONNRESET;
    return KR_READY;
}
static const kr_io_stream_ops fail_ops = {NULL, fail_write, NULL, NULL, "fail"};

static void bufio__writer_sticky_error(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_io_stream s = {NULL, &fail_ops};
    kr_buf_writer *w;
    assert_rc(kr_buf_writer_new(s, 0, &w), 0);
    assert_rc(kr_buf_writer_write(w, "x", 1), 0);
    kr_buf_op op = kr_buf_writer_flush(w);
    assert_int_equal(run64(rt, &op.base), KR_ECONNRESET);
    assert_rc(kr_buf_writer_write(w, "y", 1), KR_ECONNRESET);
    assert_int_equal(kr_buf_writer_printf(w, "z"), KR_ECONNRESET);
    op = kr_buf_write_all(w, "y", 1);
    assert_int_equal(run64(rt, &op.base), KR_ECONNRESET);
    kr_buf_writer_free(w);
    kr_buf_reader *r = (kr_buf_reader *)1;
    assert_rc(kr_buf_reader_new(s, 0, &r), KR_EINVAL); /* no poll_read */
    test_runtime_free(rt);
}

/* ---- copy ---------------------------------------------------------------- */

static void io_copy__copy(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    static const mock_step steps[] = {MOCK_READ("hello world")};
    mock rd, wr;
    mock_init(&rd, steps, 1);
    mock_init(&wr, NULL, 0);
    kr_io_copy_future c = kr_io_copy(mock_stream(&rd), mock_stream(&wr));
    assert_int_equal(run64(rt, &c.base), 11);
    assert_int_equal(wr.wlen, 11);
    assert_memory_equal(wr.written, "hello world", 11);
    mock_destroy(&rd);
    mock_destroy(&wr);
    test_runtime_free(rt);
}

/* A copy's errors: the read's, the write's. */
static void bufio__copy_errors(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    static const mock_step steps[] = {MOCK_READ("abc"), MOCK_READ_ERR(KR_EIO)};
    mock rd, wr;
    mock_init(&rd, steps, 2);
    mock_init(&wr, NULL, 0);
    kr_io_copy_future c = kr_io_copy(mock_stream(&rd), mock_stream(&wr));
    assert_int_equal(run64(rt, &c.base), KR_EIO);
    assert_int_equal(wr.wlen, 3);
    mock_destroy(&rd);
    mock_init(&rd, steps, 1);
    kr_io_stream bad = {NULL, &fail_ops};
    c = kr_io_copy(mock_stream(&rd), bad);
    assert_int_equal(run64(rt, &c.base), KR_ECONNRESET);
    kr_io_stream none = {NULL, NULL};
    c = kr_io_copy(none, bad);
    assert_int_equal(run64(rt, &c.base), KR_EINVAL);
    mock_destroy(&rd);
    mock_destroy(&wr);
    test_runtime_free(rt);
}

/* 1 MiB from a to b, copied b -> c, read at d: three tasks. */
static void bufio__copy_unix_1mib(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_unix_stream *a, *b, *c, *d;
    assert_rc(kr_unix_stream_pair(rt, &a, &b), 0);
    assert_rc(kr_unix_stream_pair(rt, &c, &d), 0);
    size_t len = 1 << 20;
    char *src = malloc(len);
    test_pattern_fill(src, len, 7);
    char *got = NULL;
    sender snd = sender_make(kr_io_unix(a), src, len);
    kr_io_copy_future cp = kr_io_copy(kr_io_unix(b), kr_io_unix(c));
    drainer dr = drainer_make(kr_io_unix(d), &got);
    kr_join_handle hs, hc, hd;
    assert_rc(kr_runtime_spawn(rt, &snd.base, &hs), 0);
    assert_rc(kr_runtime_spawn(rt, &cp.base, &hc), 0);
    assert_rc(kr_runtime_spawn(rt, &dr.base, &hd), 0);
    assert_int_equal(join64(rt, &hs), (int64_t)len);
    assert_int_equal(join64(rt, &hc), (int64_t)len);
    kr_unix_stream_shutdown(c, KR_SHUT_WRITE);
    assert_int_equal(join64(rt, &hd), (int64_t)len);
    assert_true(test_pattern_check(got, len, 7));
    kr_buf_free(got);
    free(src);
    kr_unix_stream_free(a);
    kr_unix_stream_free(b);
    kr_unix_stream_free(c);
    kr_unix_stream_free(d);
    test_runtime_free(rt);
}

/* ---- io_copy_bidirectional.rs ---------------------------------------- */

/* a0 <-> a1 ==copy_bidirectional(a1, b0)== b0 <-> b1: bytes written at
 * a0 come out at b1 and the other way; shutting a0 and b1 ends both
 * directions, the counts are the bytes each way. */
static void bidi_run(size_t n_ab, size_t n_ba) {
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a0, *a1, *b0, *b1;
    tcp_pair(rt, &a0, &a1);
    tcp_pair(rt, &b0, &b1);
    char *x = malloc(n_ab + 1), *y = malloc(n_ba + 1);
    test_pattern_fill(x, n_ab, 1);
    test_pattern_fill(y, n_ba, 2);
    char *gx = NULL, *gy = NULL;
    int64_t ab = -1, ba = -1;
    kr_io_copy_bidi bd =
        kr_io_copy_bidirectional(kr_io_tcp(a1), kr_io_tcp(b0), &ab, &ba);
    sender sx = sender_make(kr_io_tcp(a0), x, n_ab);
    sender sy = sender_make(kr_io_tcp(b1), y, n_ba);
    drainer dx = drainer_make(kr_io_tcp(b1), &gx);
    drainer dy = drainer_make(kr_io_tcp(a0), &gy);
    kr_join_handle h[5];
    assert_rc(kr_runtime_spawn(rt, &bd.base, &h[0]), 0);
    assert_rc(kr_runtime_spawn(rt, &sx.base, &h[1]), 0);
    assert_rc(kr_runtime_spawn(rt, &sy.base, &h[2]), 0);
    assert_rc(kr_runtime_spawn(rt, &dx.base, &h[3]), 0);
    assert_rc(kr_runtime_spawn(rt, &dy.base, &h[4]), 0);
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &h[0].base, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(ab, (int64_t)n_ab);
    assert_int_equal(ba, (int64_t)n_ba);
    assert_int_equal(join64(rt, &h[1]), (int64_t)n_ab);
    assert_int_equal(join64(rt, &h[2]), (int64_t)n_ba);
    assert_int_equal(join64(rt, &h[3]), (int64_t)n_ab);
    assert_int_equal(join64(rt, &h[4]), (int64_t)n_ba);
    assert_true(test_pattern_check(gx, n_ab, 1));
    assert_true(test_pattern_check(gy, n_ba, 2));
    kr_buf_free(gx);
    kr_buf_free(gy);
    free(x);
    free(y);
    kr_tcp_stream_free(a0);
    kr_tcp_stream_free(a1);
    kr_tcp_stream_free(b0);
    kr_tcp_stream_free(b1);
    test_runtime_free(rt);
}

static void io_copy_bidirectional__test_basic_transfer(void **state) {
    (void)state;
    bidi_run(4, 4);
}

/* One side done with nothing, the other with 1 MiB after it. */
static void io_copy_bidirectional__test_transfer_after_close(void **state) {
    (void)state;
    bidi_run(0, 1 << 20);
}

static void io_copy_bidirectional__immediate_exit_on_read_error(void **s) {
    (void)s;
    kr_runtime *rt = test_runtime(0);
    static const mock_step steps[] = {MOCK_READ_ERR(KR_ECONNRESET)};
    mock a, b;
    mock_init(&a, steps, 1);
    mock_init(&b, NULL, 0);
    b.never_write = true;
    kr_io_copy_bidi bd =
        kr_io_copy_bidirectional(mock_stream(&a), mock_stream(&b), NULL, NULL);
    int rc = 0;
    assert_rc(kr_runtime_block_on(rt, &bd.base, &rc), 0);
    assert_int_equal(rc, KR_ECONNRESET);
    mock_destroy(&a);
    mock_destroy(&b);
    test_runtime_free(rt);
}

/* ---- tcp_into_split.rs, tcp_split.rs --------------------------------- */

/* Peer: a plain thread with a blocking socket. */
typedef struct peer {
    int fd;
    char got[64];
    ssize_t n, end;
} peer;

static void *peer_write_then_wait_eof(void *arg) {
    peer *p = arg;
    const char msg[] = "split";
    (void)!write(p->fd, msg, 5);
    p->n = read(p->fd, p->got, sizeof(p->got));
    close(p->fd);
    return NULL;
}

static void tcp_into_split__drop_write(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    tcp_pair(rt, &a, &b);
    /* The peer is plain: take its fd out of kairo by dup, free the
     * stream (closing the original). */
    peer p = {dup(kr_tcp_stream_fd(b)), {0}, -1, 0};
    int fl = 0;
    (void)fl;
    kr_tcp_stream_free(b);
    int flags = fcntl(p.fd, F_GETFL);
    fcntl(p.fd, F_SETFL, flags & ~O_NONBLOCK);
    pthread_t th;
    pthread_create(&th, NULL, peer_write_then_wait_eof, &p);
    kr_tcp_read_half *rd;
    kr_tcp_write_half *wr;
    assert_rc(kr_tcp_stream_into_split(a, &rd, &wr), 0);
    char buf[32];
    kr_io_op op = kr_io_read(kr_io_tcp_read_half(rd), buf, sizeof(buf));
    assert_int_equal(run64(rt, &op.base), 5);
    assert_memory_equal(buf, "split", 5);
    /* Freeing the write half shuts the write side: the peer reads end of
     * stream and closes, and our read half then reads 0. */
    kr_tcp_write_half_free(wr);
    op = kr_io_read(kr_io_tcp_read_half(rd), buf, sizeof(buf));
    assert_int_equal(run64(rt, &op.base), 0);
    pthread_join(th, NULL);
    assert_int_equal(p.n, 0);
    kr_tcp_read_half_free(rd);
    test_runtime_free(rt);
}

static void tcp_into_split__reunite(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b, *c, *d, *back = NULL;
    tcp_pair(rt, &a, &b);
    tcp_pair(rt, &c, &d);
    kr_tcp_read_half *r1, *r2;
    kr_tcp_write_half *w1, *w2;
    assert_rc(kr_tcp_stream_into_split(a, &r1, &w1), 0);
    assert_rc(kr_tcp_stream_into_split(c, &r2, &w2), 0);
    assert_ptr_equal(kr_tcp_read_half_stream(r1), a);
    assert_ptr_equal(kr_tcp_write_half_stream(w2), c);
    assert_rc(kr_tcp_stream_reunite(r1, w2, &back), KR_EINVAL);
    assert_null(back);
    assert_rc(kr_tcp_stream_reunite(r1, w1, &back), 0);
    assert_ptr_equal(back, a);
    /* Not shut down by the reunion: it still writes. */
    kr_tcp_write_all wa = kr_tcp_stream_write_all(back, "x", 1);
    assert_int_equal(run64(rt, &wa.base), 1);
    kr_tcp_stream_free(back);
    kr_tcp_read_half_free(r2);
    kr_tcp_write_half_free(w2);
    assert_rc(kr_tcp_stream_into_split(NULL, &r1, &w1), KR_EINVAL);
    kr_tcp_stream_free(b);
    kr_tcp_stream_free(d);
    test_runtime_free(rt);
}

/* tcp_split.rs / tcp_into_split.rs's split: each half used by its own
 * task at once, both directions; 1 MiB each way through the halves of
 * one stream while the peer's halves do the same. */
static void tcp_into_split__split(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    tcp_pair(rt, &a, &b);
    kr_tcp_read_half *ra, *rb;
    kr_tcp_write_half *wa, *wb;
    assert_rc(kr_tcp_stream_into_split(a, &ra, &wa), 0);
    assert_rc(kr_tcp_stream_into_split(b, &rb, &wb), 0);
    size_t len = 1 << 20;
    char *x = malloc(len), *y = malloc(len);
    test_pattern_fill(x, len, 3);
    test_pattern_fill(y, len, 4);
    char *gx = NULL, *gy = NULL;
    sender sa = sender_make(kr_io_tcp_write_half(wa), x, len);
    sender sb = sender_make(kr_io_tcp_write_half(wb), y, len);
    drainer da = drainer_make(kr_io_tcp_read_half(ra), &gy);
    drainer db = drainer_make(kr_io_tcp_read_half(rb), &gx);
    kr_join_handle h[4];
    assert_rc(kr_runtime_spawn(rt, &sa.base, &h[0]), 0);
    assert_rc(kr_runtime_spawn(rt, &sb.base, &h[1]), 0);
    assert_rc(kr_runtime_spawn(rt, &da.base, &h[2]), 0);
    assert_rc(kr_runtime_spawn(rt, &db.base, &h[3]), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(join64(rt, &h[i]), (int64_t)len);
    assert_true(test_pattern_check(gx, len, 3));
    assert_true(test_pattern_check(gy, len, 4));
    /* A read half cannot write, a write half cannot read. */
    kr_io_op op = kr_io_write(kr_io_tcp_read_half(ra), "x", 1);
    assert_int_equal(run64(rt, &op.base), KR_EBADF);
    op = kr_io_read(kr_io_tcp_write_half(wa), x, 1);
    assert_int_equal(run64(rt, &op.base), KR_EBADF);
    kr_buf_free(gx);
    kr_buf_free(gy);
    free(x);
    free(y);
    kr_tcp_read_half_free(ra);
    kr_tcp_write_half_free(wa);
    kr_tcp_write_half_free(wb);
    kr_tcp_read_half_free(rb);
    test_runtime_free(rt);
}

/* Polled after READY: kairo's futures abort naming themselves. */
static void child_io_twice(void) {
    mock m;
    mock_init(&m, NULL, 0);
    char c;
    kr_io_op op = kr_io_read(mock_stream(&m), &c, 1);
    TEST_CHILD_CHECK(poll_once(&op.base, NULL) == KR_READY);
    poll_once(&op.base, NULL);
}

static void child_buf_twice(void) {
    mock m;
    mock_init(&m, NULL, 0);
    kr_buf_writer *w;
    TEST_CHILD_CHECK(kr_buf_writer_new(mock_stream(&m), 0, &w) == 0);
    kr_buf_op op = kr_buf_writer_flush(w);
    TEST_CHILD_CHECK(poll_once(&op.base, NULL) == KR_READY);
    poll_once(&op.base, NULL);
}

static void bufio__polled_after_ready_aborts(void **state) {
    (void)state;
    test_expect_abort(child_io_twice, "kr_io_read polled after it returned");
    test_expect_abort(child_buf_twice,
                      "kr_buf_writer_flush polled after it returned");
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(io_buf_writer__buf_writer),
        cmocka_unit_test(io_buf_writer__maybe_pending_buf_writer),
        cmocka_unit_test(io_buf_writer__buf_writer_inner_flushes),
        cmocka_unit_test(io_buf_writer__maybe_pending_buf_writer_inner_flushes),
        cmocka_unit_test(bufio__writer_never_read),
        cmocka_unit_test(bufio__writer_never_read_socket),
        cmocka_unit_test(bufio__writer_many_replies_one_syscall),
        cmocka_unit_test(bufio__writer_append_while_flush_pending),
        cmocka_unit_test(bufio__writer_sticky_error),
        cmocka_unit_test(io_copy__copy),
        cmocka_unit_test(bufio__copy_errors),
        cmocka_unit_test(bufio__copy_unix_1mib),
        cmocka_unit_test(io_copy_bidirectional__test_basic_transfer),
        cmocka_unit_test(io_copy_bidirectional__test_transfer_after_close),
        cmocka_unit_test(io_copy_bidirectional__immediate_exit_on_read_error),
        cmocka_unit_test(tcp_into_split__drop_write),
        cmocka_unit_test(tcp_into_split__reunite),
        cmocka_unit_test(tcp_into_split__split),
        cmocka_unit_test(bufio__polled_after_ready_aborts),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
