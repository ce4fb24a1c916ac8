/*
 * tests/test-net.h: futures the networking tests share: an echo server
 * (an accept loop spawning one echo task per connection), an echo client
 * (connect, then write a pattern and read it back at the same time), a
 * join of two futures, a join of many handles, and a sleep-then-run step.
 *
 * TCP and Unix streams use the same future types (kr_net_io, ...), so one
 * set of futures serves both through a small table of operations.
 * Everything here is static inline or marked unused: each test program
 * uses a part.
 */
#ifndef KR_TESTS_TEST_NET_H
#define KR_TESTS_TEST_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"

#define TN_UNUSED __attribute__((unused))

/* ---- stream operations of one socket kind ------------------------------ */

typedef struct net_ops {
    kr_net_accept (*accept)(void *l, void **s, kr_sockaddr *peer);
    /* `where`: a kr_sockaddr * (TCP) or a path (Unix). */
    kr_net_connect (*connect)(const void *where, void **out);
    kr_net_io (*read)(void *s, void *buf, size_t len);
    kr_net_io (*write)(void *s, const void *buf, size_t len);
    kr_net_io (*read_exact)(void *s, void *buf, size_t len);
    kr_net_io (*write_all)(void *s, const void *buf, size_t len);
    int (*shutdown)(void *s, int how);
    void (*free)(void *s);
} net_ops;

static inline kr_net_accept tcp_accept_(void *l, void **s, kr_sockaddr *p) {
    return kr_tcp_listener_accept(l, (kr_tcp_stream **)s, p);
}
static inline kr_net_connect tcp_connect_(const void *w, void **out) {
    return kr_tcp_stream_connect(w, (kr_tcp_stream **)out);
}
static inline kr_net_io tcp_read_(void *s, void *b, size_t n) {
    return kr_tcp_stream_read(s, b, n);
}
static inline kr_net_io tcp_write_(void *s, const void *b, size_t n) {
    return kr_tcp_stream_write(s, b, n);
}
static inline kr_net_io tcp_read_exact_(void *s, void *b, size_t n) {
    return kr_tcp_stream_read_exact(s, b, n);
}
static inline kr_net_io tcp_write_all_(void *s, const void *b, size_t n) {
    return kr_tcp_stream_write_all(s, b, n);
}
static inline int tcp_shutdown_(void *s, int how) {
    return kr_tcp_stream_shutdown(s, how);
}
static inline void tcp_free_(void *s) { kr_tcp_stream_free(s); }

static const net_ops tcp_ops TN_UNUSED = {
    tcp_accept_,     tcp_connect_,   tcp_read_,     tcp_write_,
    tcp_read_exact_, tcp_write_all_, tcp_shutdown_, tcp_free_};

static inline kr_net_accept unix_accept_(void *l, void **s, kr_sockaddr *p) {
    return kr_unix_listener_accept(l, (kr_unix_stream **)s, p);
}
static inline kr_net_connect unix_connect_(const void *w, void **out) {
    return kr_unix_stream_connect(w, (kr_unix_stream **)out);
}
static inline kr_net_io unix_read_(void *s, void *b, size_t n) {
    return kr_unix_stream_read(s, b, n);
}
static inline kr_net_io unix_write_(void *s, const void *b, size_t n) {
    return kr_unix_stream_write(s, b, n);
}
static inline kr_net_io unix_read_exact_(void *s, void *b, size_t n) {
    return kr_unix_stream_read_exact(s, b, n);
}
static inline kr_net_io unix_write_all_(void *s, const void *b, size_t n) {
    return kr_unix_stream_write_all(s, b, n);
}
static inline int unix_shutdown_(void *s, int how) {
    return kr_unix_stream_shutdown(s, how);
}
static inline void unix_free_(void *s) { kr_unix_stream_free(s); }

static const net_ops unix_ops TN_UNUSED = {
    unix_accept_,     unix_connect_,   unix_read_,     unix_write_,
    unix_read_exact_, unix_write_all_, unix_shutdown_, unix_free_};

/* 127.0.0.1:port */
static inline kr_sockaddr loopback4(int port) {
    kr_sockaddr a;
    assert_rc(kr_sockaddr_from_ip("127.0.0.1", port, &a), 0);
    return a;
}

/* A TCP listener on 127.0.0.1 with a free port; *addr gets its address. */
static inline kr_tcp_listener *tcp_listen(kr_runtime *rt, int backlog,
                                          kr_sockaddr *addr) {
    kr_sockaddr any = loopback4(0);
    kr_tcp_listen_options o = {backlog, false};
    kr_tcp_listener *l = NULL;
    assert_rc(kr_tcp_listener_bind(rt, &any, &o, &l), 0);
    assert_rc(kr_tcp_listener_local_addr(l, addr), 0);
    assert_int_not_equal(kr_sockaddr_port(addr), 0);
    return l;
}

/* ---- counters the server side keeps ------------------------------------ */

typedef struct net_stats {
    atomic_long live, max_live, bytes;
    test_latch closed; /* bumped as each echo task ends */
} net_stats;

static inline void net_stats_init(net_stats *st) {
    atomic_init(&st->live, 0);
    atomic_init(&st->max_live, 0);
    atomic_init(&st->bytes, 0);
    test_latch_init(&st->closed);
}

/* ---- echo task: reads and writes back until end of stream ------------ */

typedef struct echo_conn {
    kr_future base;
    kr_coro co;
    const net_ops *ops;
    void *s;
    net_stats *st;
    kr_net_io io;
    int64_t n;
    char buf[2048];
} echo_conn;

static inline kr_poll echo_conn_poll(kr_future *f, kr_context *cx, void *out) {
    echo_conn *e = (echo_conn *)f;
    KR_ASYNC_BEGIN(&e->co);
    {
        long live = atomic_fetch_add(&e->st->live, 1) + 1;
        long m = atomic_load(&e->st->max_live);
        while (live > m &&
               !atomic_compare_exchange_weak(&e->st->max_live, &m, live))
            ;
    }
    for (;;) {
        e->io = e->ops->read(e->s, e->buf, sizeof(e->buf));
        KR_AWAIT(&e->co, &e->io.base, cx, &e->n);
        if (e->n <= 0)
            break;
        atomic_fetch_add(&e->st->bytes, (long)e->n);
        e->io = e->ops->write_all(e->s, e->buf, (size_t)e->n);
        KR_AWAIT(&e->co, &e->io.base, cx, &e->n);
        if (e->n < 0)
            break;
    }
    e->ops->free(e->s);
    e->s = NULL;
    atomic_fetch_sub(&e->st->live, 1);
    test_latch_add(&e->st->closed, 1);
    KR_RETURN_VOID(&e->co);
    KR_ASYNC_END(&e->co);
}

static inline void echo_conn_drop(kr_future *f) {
    echo_conn *e = (echo_conn *)f;
    kr_coro_drop(&e->co);
    if (e->s != NULL)
        e->ops->free(e->s);
}

static const kr_future_vtable echo_conn_vt TN_UNUSED = {
    echo_conn_poll, echo_conn_drop, sizeof(echo_conn), 0, "echo_conn"};

/* ---- accept loop: `limit` connections, an echo task each -------------- */

typedef struct acceptor {
    kr_future base;
    kr_coro co;
    const net_ops *ops;
    void *l;
    long limit, accepted;
    net_stats *st;
    atomic_long *polls; /* counts this future's polls, if not NULL */
    kr_net_accept acc;
    void *s;
    kr_sockaddr peer;
    int rc;
} acceptor;

static inline kr_poll acceptor_poll(kr_future *f, kr_context *cx, void *out) {
    acceptor *a = (acceptor *)f;
    if (a->polls != NULL)
        atomic_fetch_add(a->polls, 1);
    KR_ASYNC_BEGIN(&a->co);
    while (a->accepted < a->limit) {
        a->acc = a->ops->accept(a->l, &a->s, &a->peer);
        KR_AWAIT(&a->co, &a->acc.base, cx, &a->rc);
        if (a->rc < 0)
            KR_RETURN(&a->co, out, int, a->rc);
        a->accepted++;
        if (a->st != NULL) {
            echo_conn e;
            memset(&e, 0, sizeof(e));
            e.base.vtable = &echo_conn_vt;
            e.ops = a->ops;
            e.s = a->s;
            e.st = a->st;
            int rc = kr_spawn(&e.base, NULL);
            if (rc < 0) {
                a->ops->free(a->s);
                KR_RETURN(&a->co, out, int, rc);
            }
        } else {
            a->ops->free(a->s);
        }
        a->s = NULL;
    }
    KR_RETURN(&a->co, out, int, 0);
    KR_ASYNC_END(&a->co);
}

static inline void acceptor_drop(kr_future *f) {
    kr_coro_drop(&((acceptor *)f)->co);
}

static const kr_future_vtable acceptor_vt TN_UNUSED = {
    acceptor_poll, acceptor_drop, sizeof(acceptor), sizeof(int), "acceptor"};

static inline acceptor acceptor_make(const net_ops *ops, void *l, long limit,
                                     net_stats *st) {
    acceptor a;
    memset(&a, 0, sizeof(a));
    a.base.vtable = &acceptor_vt;
    a.ops = ops;
    a.l = l;
    a.limit = limit;
    a.st = st;
    return a;
}

/* ---- join2: polls two futures until both are done -------------------- */

typedef struct join2 {
    kr_future base;
    kr_future *a, *b; /* not owned until done: dropped when they finish,
                         or by join2's drop */
    void *out_a, *out_b;
} join2;

static inline kr_poll join2_poll(kr_future *f, kr_context *cx, void *out) {
    join2 *j = (join2 *)f;
    if (j->a != NULL && kr_future_poll(j->a, cx, j->out_a) == KR_READY) {
        kr_future_drop(j->a);
        j->a = NULL;
    }
    if (j->b != NULL && kr_future_poll(j->b, cx, j->out_b) == KR_READY) {
        kr_future_drop(j->b);
        j->b = NULL;
    }
    return j->a == NULL && j->b == NULL ? KR_READY : KR_PENDING;
}

static inline void join2_drop(kr_future *f) {
    join2 *j = (join2 *)f;
    if (j->a != NULL)
        kr_future_drop(j->a);
    if (j->b != NULL)
        kr_future_drop(j->b);
    j->a = j->b = NULL;
}

static const kr_future_vtable join2_vt TN_UNUSED = {join2_poll, join2_drop,
                                                    sizeof(join2), 0, "join2"};

static inline join2 join2_make(kr_future *a, void *out_a, kr_future *b,
                               void *out_b) {
    join2 j = {{&join2_vt}, a, b, out_a, out_b};
    return j;
}

/* ---- echo client ---------------------------------------------------------
 * Connects, writes `size` pattern bytes while reading the echo back (both
 * at once: the reader and writer waker slots of one stream, one task),
 * checks them, frees the stream. Output: an int, 0, a negative code, or 1
 * for wrong bytes. */

typedef struct echo_client {
    kr_future base;
    kr_coro co;
    const net_ops *ops;
    const void *where;
    size_t size;
    unsigned seed;
    kr_net_connect con;
    void *s;
    int rc;
    char *wbuf, *rbuf;
    kr_net_io w, r;
    int64_t wres, rres;
    join2 both;
} echo_client;

static inline kr_poll echo_client_poll(kr_future *f, kr_context *cx,
                                       void *out) {
    echo_client *c = (echo_client *)f;
    KR_ASYNC_BEGIN(&c->co);
    c->con = c->ops->connect(c->where, &c->s);
    KR_AWAIT(&c->co, &c->con.base, cx, &c->rc);
    if (c->rc < 0)
        KR_RETURN(&c->co, out, int, c->rc);
    c->wbuf = malloc(c->size);
    c->rbuf = malloc(c->size);
    test_pattern_fill(c->wbuf, c->size, c->seed);
    c->w = c->ops->write_all(c->s, c->wbuf, c->size);
    c->r = c->ops->read_exact(c->s, c->rbuf, c->size);
    c->both = join2_make(&c->w.base, &c->wres, &c->r.base, &c->rres);
    KR_AWAIT(&c->co, &c->both.base, cx, NULL);
    c->ops->free(c->s);
    c->s = NULL;
    if (c->wres != (int64_t)c->size)
        c->rc = c->wres < 0 ? (int)c->wres : 2;
    else if (c->rres != (int64_t)c->size)
        c->rc = c->rres < 0 ? (int)c->rres : 3;
    else
        c->rc = test_pattern_check(c->rbuf, c->size, c->seed) ? 0 : 1;
    free(c->wbuf);
    free(c->rbuf);
    c->wbuf = c->rbuf = NULL;
    KR_RETURN(&c->co, out, int, c->rc);
    KR_ASYNC_END(&c->co);
}

static inline void echo_client_drop(kr_future *f) {
    echo_client *c = (echo_client *)f;
    kr_coro_drop(&c->co);
    if (c->s != NULL)
        c->ops->free(c->s);
    free(c->wbuf);
    free(c->rbuf);
}

static const kr_future_vtable echo_client_vt TN_UNUSED = {
    echo_client_poll, echo_client_drop, sizeof(echo_client), sizeof(int),
    "echo_client"};

static inline echo_client echo_client_make(const net_ops *ops,
                                           const void *where, size_t size,
                                           unsigned seed) {
    echo_client c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &echo_client_vt;
    c.ops = ops;
    c.where = where;
    c.size = size;
    c.seed = seed;
    return c;
}

/* ---- await all: n join handles of int-output tasks ------------------- */

typedef struct await_all {
    kr_future base;
    kr_coro co;
    kr_join_handle *h;
    long n, k, bad;
    int v, first_bad;
} await_all;

static inline kr_poll await_all_poll(kr_future *f, kr_context *cx, void *out) {
    await_all *w = (await_all *)f;
    KR_ASYNC_BEGIN(&w->co);
    for (w->k = 0; w->k < w->n; w->k++) {
        w->v = 0;
        KR_AWAIT(&w->co, &w->h[w->k].base, cx, &w->v);
        if (w->v != 0 && w->bad++ == 0)
            w->first_bad = w->v;
    }
    KR_RETURN(&w->co, out, long, w->bad);
    KR_ASYNC_END(&w->co);
}

static inline void await_all_drop(kr_future *f) {
    await_all *w = (await_all *)f;
    kr_coro_drop(&w->co);
    for (long i = w->k + 1; i < w->n; i++)
        kr_join_handle_drop(&w->h[i]);
}

static const kr_future_vtable await_all_vt TN_UNUSED = {
    await_all_poll, await_all_drop, sizeof(await_all), sizeof(long),
    "await_all"};

static inline await_all await_all_make(kr_join_handle *h, long n) {
    await_all w;
    memset(&w, 0, sizeof(w));
    w.base.vtable = &await_all_vt;
    w.h = h;
    w.n = n;
    return w;
}

/* Runs an int-output future to completion on rt and returns its output. */
static inline int block_on_int(kr_runtime *rt, kr_future *f) {
    int v = -12345;
    assert_rc(kr_runtime_block_on(rt, f, &v), 0);
    return v;
}

static inline int64_t block_on_i64(kr_runtime *rt, kr_future *f) {
    int64_t v = -12345;
    assert_rc(kr_runtime_block_on(rt, f, &v), 0);
    return v;
}

/* Sleeps on the runtime (a kr_sleep in block_on). */
static inline void rt_sleep_ms(kr_runtime *rt, int ms) {
    kr_sleep s = kr_sleep_for(kr_ms(ms));
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
}

/* Milliseconds on the monotonic clock. */
static inline double now_ms(void) { return (double)kr_instant_now().ns / 1e6; }

/* Skips the case the way ctest sees it (SKIP_RETURN_CODE 77; cmocka's
 * skip() exits 0, which ctest counts as passed). One case per process. */
static inline void net_skip(const char *why) {
    print_message("skipped: %s\n", why);
    fflush(stdout);
    exit(77);
}

/* A descriptor to duplicate (fd 0 may be closed under a test runner). */
static inline int spare_fd(void) {
    static int fd = -1;
    if (fd < 0)
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* The lowest free descriptor: for leak checks. */
static inline int lowest_free_fd(void) {
    int fd = dup(spare_fd());
    close(fd);
    return fd;
}

/* The end of a case run under the counting allocator: frees rt, then
 * checks that no descriptor from `before` on and no allocation is left. */
static inline void tn_free_and_check(kr_runtime *rt, int before) {
    test_runtime_free(rt);
    assert_true(lowest_free_fd() <= before);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Takes every free descriptor below fd (with /dev/null, into fill, at
 * most max, counted in *n), so that the next one made gets fd if it is
 * free: for the cases about a freed descriptor's number. */
static inline void tn_fill_below(int fd, int *fill, int *n, int max) {
    while (lowest_free_fd() < fd) {
        assert_true(*n < max);
        fill[*n] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(fill[(*n)++] >= 0);
    }
}

/* Raises the soft RLIMIT_NOFILE to `want` if the hard limit allows;
 * returns false (the test should skip) if it does not. */
static inline bool raise_nofile(rlim_t want) {
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur >= want)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
        print_message("RLIMIT_NOFILE hard limit %lu < %lu needed: skipping\n",
                      (unsigned long)rl.rlim_max, (unsigned long)want);
        return false;
    }
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* Runs f in a task and waits for it from block_on. f is moved: results
 * go through pointers it holds. */
static inline void tn_in_task(kr_runtime *rt, kr_future *f) {
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, f, &h), 0);
    assert_rc(kr_runtime_block_on(rt, &h.base, NULL), 0);
}

/* Whether rt runs the io_uring driver. */
static inline bool tn_on_ring(kr_runtime *rt) {
    return kr_runtime_io_driver(rt) == KR_IO_DRIVER_URING;
}

/* ---- a connected TCP pair, made from block_on ------------------------- */

typedef struct tn_pair_fut {
    kr_future base;
    kr_coro co;
    kr_sockaddr addr, peer;
    kr_tcp_listener *l;
    kr_tcp_stream *c, *s;
    kr_tcp_connect con;
    kr_tcp_accept acc;
    join2 j;
    int rc, rc2;
} tn_pair_fut;

static inline kr_poll tn_pair_poll(kr_future *f, kr_context *cx, void *out) {
    tn_pair_fut *p = (tn_pair_fut *)f;
    KR_ASYNC_BEGIN(&p->co);
    p->con = kr_tcp_stream_connect(&p->addr, &p->c);
    p->acc = kr_tcp_listener_accept(p->l, &p->s, &p->peer);
    p->j = join2_make(&p->con.base, &p->rc, &p->acc.base, &p->rc2);
    KR_AWAIT(&p->co, &p->j.base, cx, NULL);
    assert_rc(p->rc, 0);
    assert_rc(p->rc2, 0);
    KR_ASYNC_END(&p->co);
}
static const kr_future_vtable tn_pair_vt TN_UNUSED = {
    tn_pair_poll, NULL, sizeof(tn_pair_fut), 0, "tn_pair_fut"};

/* A connected pair: *c the client, *s the server side, *peer what accept
 * said of the client. */
static inline void tn_tcp_pair(kr_runtime *rt, kr_tcp_listener *l,
                               const kr_sockaddr *a, kr_tcp_stream **c,
                               kr_tcp_stream **s, kr_sockaddr *peer) {
    tn_pair_fut p;
    memset(&p, 0, sizeof(p));
    p.base.vtable = &tn_pair_vt;
    p.addr = *a;
    p.l = l;
    assert_rc(kr_runtime_block_on(rt, &p.base, NULL), 0);
    *c = p.c;
    *s = p.s;
    if (peer != NULL)
        *peer = p.peer;
}

#endif
