/*
 * tests/test-net-ring.c: a stream's reads as completion operations on the
 * io_uring driver (net/rx.c), and the same promises on epoll, where this
 * suite runs too (ctest: ct/, mt/ and uring/{ct,mt}/net-ring/...).
 *
 * Each case runs its reads in a task (on the multi-thread runtime a
 * worker's, where the ring reads; a block_on thread there reads by
 * readiness). A read goes to the ring only when no other thread holds it
 * (net/rx.c: nowait); each worker has a ring of its own, which only it
 * turns, but the cases that assert where the bytes went still run one
 * worker on the multi-thread runtime, so that they also hold with
 * KR_URING_SHARED_RING=1 (one ring for all). A "dropped read" is a read
 * future polled once (PENDING: on the ring its RECV is submitted) and
 * dropped.
 *
 * KR_TEST_FLAVORS: ct mt
 */
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "test-net.h"

/* *a and *b: the two ends of one connection on rt. */
static void ring_pair(kr_runtime *rt, kr_tcp_stream **a, kr_tcp_stream **b) {
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    tn_tcp_pair(rt, l, &addr, b, a, NULL);
    kr_tcp_listener_free(l);
}

/* Polls a read of up to len bytes into buf once and drops it: it must be
 * pending (nothing to read yet). */
static void drop_a_pending_read(kr_tcp_stream *s, void *buf, size_t len,
                                kr_context *cx) {
    kr_tcp_read rd = kr_tcp_stream_read(s, buf, len);
    int64_t n = -1;
    assert_int_equal(kr_future_poll(&rd.base, cx, &n), KR_PENDING);
    kr_future_drop(&rd.base);
}

/* ---- a dropped read loses nothing ------------------------------------------ */

typedef struct lose_task {
    kr_future base;
    kr_coro co;
    kr_runtime *rt;
    kr_tcp_stream *a, *b;
    char scratch[4], got[16];
    kr_sleep sl;
    kr_tcp_read_exact rx;
    int64_t n;
} lose_task;

static kr_poll lose_poll(kr_future *f, kr_context *cx, void *out) {
    lose_task *t = (lose_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    drop_a_pending_read(t->a, t->scratch, sizeof(t->scratch), cx);
    assert_int_equal(write(kr_tcp_stream_fd(t->b), "abcdefgh", 8), 8);
    t->sl = kr_sleep_for(kr_ms(30)); /* turns: the RECV brings its bytes */
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    {
        /* What the socket itself still holds: on the ring the dropped
         * read's RECV took the first 4 bytes into the stream's buffer;
         * on epoll nothing was taken. */
        char peek[16];
        ssize_t k = recv(kr_tcp_stream_fd(t->a), peek, sizeof(peek),
                         MSG_PEEK | MSG_DONTWAIT);
        if (tn_on_ring(t->rt)) {
            assert_int_equal(k, 4);
            assert_memory_equal(peek, "efgh", 4);
        } else {
            assert_int_equal(k, 8);
        }
    }
    /* The bytes come in order, the buffer's first. */
    t->rx = kr_tcp_stream_read_exact(t->a, t->got, 8);
    KR_AWAIT(&t->co, &t->rx.base, cx, &t->n);
    assert_int_equal(t->n, 8);
    assert_memory_equal(t->got, "abcdefgh", 8);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(lose_vt, lose_task, lose_poll, NULL, 0);

static void a_dropped_read_loses_nothing(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(1);
    lose_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &lose_vt;
    t.rt = rt;
    ring_pair(rt, &t.a, &t.b);
    tn_in_task(rt, &t.base);
    kr_tcp_stream_free(t.a);
    kr_tcp_stream_free(t.b);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- every read call takes the buffer first ---------------------------------- */

typedef struct kinds_task {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *a, *b;
    char scratch[4], got[16];
    kr_sleep sl;
    kr_tcp_peek pk;
    kr_tcp_read_exact rx;
    kr_tcp_ready rd;
    int64_t n;
    int ready;
} kinds_task;

static kr_poll kinds_poll(kr_future *f, kr_context *cx, void *out) {
    kinds_task *t = (kinds_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    drop_a_pending_read(t->a, t->scratch, sizeof(t->scratch), cx);
    assert_int_equal(write(kr_tcp_stream_fd(t->b), "abcdefgh", 8), 8);
    t->sl = kr_sleep_for(kr_ms(30));
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    /* readable: the buffer's bytes count as readiness. */
    t->rd = kr_tcp_stream_readable(t->a);
    KR_AWAIT(&t->co, &t->rd.base, cx, &t->ready);
    assert_true(t->ready & KR_READABLE);
    /* peek shows the first bytes and takes nothing. */
    t->pk = kr_tcp_stream_peek(t->a, t->got, sizeof(t->got));
    KR_AWAIT(&t->co, &t->pk.base, cx, &t->n);
    assert_true(t->n >= 4);
    assert_memory_equal(t->got, "abcd", 4);
    /* try_read, then try_read_vectored, in order. */
    assert_int_equal(kr_tcp_stream_try_read(t->a, t->got, 2), 2);
    assert_memory_equal(t->got, "ab", 2);
    {
        char x, y;
        struct iovec iov[2] = {{&x, 1}, {&y, 1}};
        assert_int_equal(kr_tcp_stream_try_read_vectored(t->a, iov, 2), 2);
        assert_int_equal(x, 'c');
        assert_int_equal(y, 'd');
    }
    /* The rest from the socket. */
    t->rx = kr_tcp_stream_read_exact(t->a, t->got, 4);
    KR_AWAIT(&t->co, &t->rx.base, cx, &t->n);
    assert_int_equal(t->n, 4);
    assert_memory_equal(t->got, "efgh", 4);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(kinds_vt, kinds_task, kinds_poll, NULL, 0);

static void every_read_call_takes_a_dropped_reads_bytes_first(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kinds_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &kinds_vt;
    ring_pair(rt, &t.a, &t.b);
    tn_in_task(rt, &t.base);
    kr_tcp_stream_free(t.a);
    kr_tcp_stream_free(t.b);
    test_runtime_free(rt);
}

/* ---- freeing a stream with a read in flight ---------------------------------- */

typedef struct free_task {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *a, *b;
    char scratch[4], got[4];
    kr_tcp_read rd;
    kr_timeout to;
    int64_t n;
    int rc;
} free_task;

static kr_poll free_poll(kr_future *f, kr_context *cx, void *out) {
    free_task *t = (free_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    drop_a_pending_read(t->a, t->scratch, sizeof(t->scratch), cx);
    kr_tcp_stream_free(t->a);
    t->a = NULL;
    /* The peer sees the close: the free cancelled the RECV, which held
     * the socket's file in the kernel. */
    t->rd = kr_tcp_stream_read(t->b, t->got, sizeof(t->got));
    t->to = kr_timeout_new(&t->rd.base, kr_secs(5), &t->n);
    KR_AWAIT(&t->co, &t->to.base, cx, &t->rc);
    assert_rc(t->rc, 0);
    assert_int_equal(t->n, 0);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(free_vt, free_task, free_poll, NULL, 0);

static void freeing_a_stream_with_a_read_in_flight_closes_it(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    free_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &free_vt;
    ring_pair(rt, &t.a, &t.b);
    int before = lowest_free_fd();
    tn_in_task(rt, &t.base);
    kr_tcp_stream_free(t.b);
    test_runtime_free(rt);
    assert_true(lowest_free_fd() <= before);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A runtime freed right after the stream, its cancel not yet submitted:
 * the free ends the op and frees the reader (the counting allocator). */
typedef struct drop_free_task {
    kr_future base;
    kr_tcp_stream *a;
} drop_free_task;

static kr_poll drop_free_poll(kr_future *f, kr_context *cx, void *out) {
    drop_free_task *t = (drop_free_task *)f;
    (void)out;
    char scratch[8];
    drop_a_pending_read(t->a, scratch, sizeof(scratch), cx);
    kr_tcp_stream_free(t->a);
    return KR_READY;
}
KR_FUTURE_VTABLE(drop_free_vt, drop_free_task, drop_free_poll, NULL, 0);

static void runtime_freed_with_a_stream_read_in_flight(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    ring_pair(rt, &a, &b);
    drop_free_task t = {{&drop_free_vt}, a};
    tn_in_task(rt, &t.base);
    kr_tcp_stream_free(b);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A stream that outlives its runtime with a dropped read's RECV in
 * flight: its free must not reach the runtime's freed driver (the RECV
 * is ended by the ring's own free, at the last registration), and the
 * peer still sees the close at once. */
typedef struct drop_only_task {
    kr_future base;
    kr_tcp_stream *a;
} drop_only_task;

static kr_poll drop_only_poll(kr_future *f, kr_context *cx, void *out) {
    drop_only_task *t = (drop_only_task *)f;
    (void)out;
    char scratch[8];
    drop_a_pending_read(t->a, scratch, sizeof(scratch), cx);
    return KR_READY;
}
KR_FUTURE_VTABLE(drop_only_vt, drop_only_task, drop_only_poll, NULL, 0);

static void
a_stream_freed_after_its_runtime_with_a_read_in_flight(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    kr_tcp_stream *a, *b;
    ring_pair(rt, &a, &b);
    int peer = dup(kr_tcp_stream_fd(b));
    assert_true(peer >= 0);
    drop_only_task t = {{&drop_only_vt}, a};
    tn_in_task(rt, &t.base);
    kr_tcp_stream_free(b); /* its registration goes while the ring turns */
    test_runtime_free(rt);
    kr_tcp_stream_free(a);
    /* The peer reads the end of stream (0), not a hang. */
    struct pollfd p = {peer, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    char c;
    assert_int_equal(read(peer, &c, 1), 0);
    close(peer);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- a freed stream's descriptor, reused ------------------------------------- */

/* A dropped read's RECV is in the SQ when its stream is freed, and a new
 * socket is made before the ring's next enter: it must not lose its
 * bytes to that RECV. The kernel looks a request's descriptor number up
 * when it issues it, so a number closed at the free and given to the new
 * socket (the lowest free one: the lower ones are taken first here) would
 * have the RECV read that socket. The new socket is one end of a
 * socketpair with bytes already waiting, so such a RECV would take them
 * at once. */
#define REUSE_FILL 64

/* What the task leaves for its test to close (the task is moved). */
typedef struct reuse_out {
    int sv[2];
    int fill[REUSE_FILL], nfill;
} reuse_out;

typedef struct reuse_task {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *a;
    reuse_out *o;
    bool elsewhere;
    kr_sleep sl;
} reuse_task;

static void *free_stream(void *arg) {
    kr_tcp_stream_free(arg);
    return NULL;
}

static kr_poll reuse_poll(kr_future *f, kr_context *cx, void *out) {
    reuse_task *t = (reuse_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    {
        char scratch[8];
        int fd = kr_tcp_stream_fd(t->a);
        reuse_out *o = t->o;
        tn_fill_below(fd, o->fill, &o->nfill, REUSE_FILL);
        drop_a_pending_read(t->a, scratch, sizeof(scratch), cx);
        if (t->elsewhere) {
            /* Freed on another thread while this one, the ring's, is
             * busy in this poll: nothing of the free reaches the ring
             * before its next turn. */
            pthread_t th;
            assert_int_equal(pthread_create(&th, NULL, free_stream, t->a), 0);
            pthread_join(th, NULL);
        } else {
            kr_tcp_stream_free(t->a);
        }
        t->a = NULL;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, o->sv), 0);
        assert_int_equal(write(o->sv[1], "xyz", 3), 3);
    }
    t->sl = kr_sleep_for(kr_ms(30)); /* turns: the ring enters */
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    {
        char got[8];
        ssize_t k = recv(t->o->sv[0], got, sizeof(got), MSG_DONTWAIT);
        assert_int_equal(k, 3);
        assert_memory_equal(got, "xyz", 3);
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(reuse_vt, reuse_task, reuse_poll, NULL, 0);

static void reuse_case(bool elsewhere) {
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    reuse_out o;
    memset(&o, 0, sizeof(o));
    o.sv[0] = o.sv[1] = -1;
    reuse_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &reuse_vt;
    t.o = &o;
    t.elsewhere = elsewhere;
    kr_tcp_stream *b;
    ring_pair(rt, &t.a, &b);
    tn_in_task(rt, &t.base);
    assert_true(o.sv[0] >= 0 && o.sv[1] >= 0);
    close(o.sv[0]);
    close(o.sv[1]);
    for (int i = 0; i < o.nfill; i++)
        close(o.fill[i]);
    kr_tcp_stream_free(b);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void
a_freed_streams_read_does_not_read_the_socket_reusing_its_fd(void **state) {
    (void)state;
    reuse_case(false);
}

static void a_stream_freed_on_another_thread_does_not_read_its_fds_next_socket(
    void **state) {
    (void)state;
    reuse_case(true);
}

/* ---- reads on the ring are completion operations ----------------------------- */

#define ROUNDS 64

typedef struct pingpong_task {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *a, *b;
    int i;
    char got[8];
    kr_tcp_write_all wr;
    kr_tcp_read rd;
    int64_t n;
} pingpong_task;

static kr_poll pingpong_poll(kr_future *f, kr_context *cx, void *out) {
    pingpong_task *t = (pingpong_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < ROUNDS; t->i++) {
        t->wr = kr_tcp_stream_write_all(t->b, "ping", 4);
        KR_AWAIT(&t->co, &t->wr.base, cx, &t->n);
        assert_int_equal(t->n, 4);
        t->rd = kr_tcp_stream_read(t->a, t->got, 4);
        KR_AWAIT(&t->co, &t->rd.base, cx, &t->n);
        assert_true(t->n > 0 && t->n <= 4);
        assert_memory_equal(t->got, "ping", (size_t)t->n);
        if (t->n < 4) { /* a short read: the rest next */
            t->rd = kr_tcp_stream_read(t->a, t->got, 4 - (size_t)t->n);
            KR_AWAIT(&t->co, &t->rd.base, cx, &t->n);
        }
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(pingpong_vt, pingpong_task, pingpong_poll, NULL, 0);

#define MAX_PINGPONG 16

/* ROUNDS round trips of each of `conns` connections, each in a task of
 * its own, on an rt of `workers` workers (the current-thread runtime
 * ignores it); *d: the runtime's metrics across them (io_ops, io_events),
 * and whether its reads could go to the ring. */
static bool pingpong_metrics_on(unsigned workers, unsigned conns,
                                kr_runtime_metrics *d) {
    kr_runtime *rt = test_runtime(workers);
    pingpong_task t[MAX_PINGPONG];
    kr_join_handle h[MAX_PINGPONG];
    assert_true(conns <= MAX_PINGPONG);
    memset(t, 0, sizeof(t));
    for (unsigned i = 0; i < conns; i++) {
        t[i].base.vtable = &pingpong_vt;
        ring_pair(rt, &t[i].a, &t[i].b);
    }
    kr_runtime_metrics m0;
    assert_rc(kr_runtime_metrics_get(rt, &m0), 0);
    for (unsigned i = 0; i < conns; i++)
        assert_rc(kr_runtime_spawn(rt, &t[i].base, &h[i]), 0);
    for (unsigned i = 0; i < conns; i++)
        assert_rc(kr_runtime_block_on(rt, &h[i].base, NULL), 0);
    assert_rc(kr_runtime_metrics_get(rt, d), 0);
    d->io_ops -= m0.io_ops;
    d->io_events -= m0.io_events;
    bool ring = tn_on_ring(rt);
    for (unsigned i = 0; i < conns; i++) {
        kr_tcp_stream_free(t[i].a);
        kr_tcp_stream_free(t[i].b);
    }
    test_runtime_free(rt);
    return ring;
}

/* One connection on a one-worker rt. */
static bool pingpong_metrics(kr_runtime_metrics *d) {
    return pingpong_metrics_on(1, 1, d);
}

static void reads_on_the_ring_are_completion_operations(void **state) {
    (void)state;
    kr_runtime_metrics d;
    if (pingpong_metrics(&d))
        assert_true(d.io_ops >= ROUNDS);
    else
        assert_int_equal(d.io_ops, 0);
}

/* On the multi-thread runtime each worker has a ring of its own (io/
 * reactor.h: kr__reactor_add_rings), so a read polled on any worker is a
 * RECV submitted into an SQ that worker owns. With one ring for all (as
 * before, or KR_URING_SHARED_RING=1), a read on a worker while another
 * was blocked in the ring could not be submitted at once (nowait) and
 * went by readiness and recv(2): 8 connections on 2 workers made
 * 361-491 ops for 512 reads (three runs), where this asks for 512. */
static void reads_on_every_worker_are_completion_operations(void **state) {
    (void)state;
    kr_runtime_metrics d;
    if (!pingpong_metrics_on(2, 8, &d))
        return;
    print_message("io ops: %llu for %d reads\n", (unsigned long long)d.io_ops,
                  8 * ROUNDS);
    assert_true(d.io_ops >= 8 * ROUNDS);
}

/* The io_uring instances in this process (anon inodes named so). */
static int rings_open(void) {
    char path[64], link[64];
    int n = 0;
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ssize_t k = readlink(path, link, sizeof(link) - 1);
        if (k < 0)
            continue;
        link[k] = '\0';
        n += strcmp(link, "anon_inode:[io_uring]") == 0;
    }
    return n;
}

static void a_ring_per_worker(void **state) {
    (void)state;
    int before = rings_open();
    kr_runtime *rt = test_runtime(3);
    int made = rings_open() - before;
    bool mt = test_flavor() == KR_RUNTIME_MULTI_THREAD;
    if (tn_on_ring(rt))
        assert_int_equal(made, mt ? 3 : 1);
    else
        assert_int_equal(made, 0);
    test_runtime_free(rt);
    assert_int_equal(rings_open(), before);
}

/* ---- a stuck worker's I/O is looked at by the monitor -------------------- */

/* Every worker spins in one poll for SPIN_MS; a block_on thread waits for
 * a byte that a thread writes meanwhile. Its registration is on ring 0
 * (block_on's), which no worker turns until its spin ends: the monitor's
 * look (sched/monitor.c) dispatches the event within a few ms instead.
 * Where the workers share the driver (epoll) the monitor leaves it to
 * them, and the wait lasts until a spin ends, as in Tokio. */
#define SPIN_MS 1500

typedef struct spin_task {
    kr_future base;
    atomic_int *started;
} spin_task;

static kr_poll spin_poll(kr_future *f, kr_context *cx, void *out) {
    spin_task *t = (spin_task *)f;
    (void)cx;
    (void)out;
    atomic_fetch_add(t->started, 1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 <
           SPIN_MS);
    return KR_READY;
}
KR_FUTURE_VTABLE(spin_vt, spin_task, spin_poll, NULL, 0);

static void *write_one_soon(void *arg) {
    int fd = *(int *)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(write(fd, "x", 1), 1);
    return NULL;
}

static int64_t ms_since(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void io_of_stuck_workers_is_dispatched_by_the_monitor(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_MULTI_THREAD)
        return; /* the current-thread runtime has no monitor */
    kr_runtime *rt = test_runtime(2);
    if (!tn_on_ring(rt) || getenv("KR_URING_SHARED_RING") != NULL) {
        test_runtime_free(rt);
        return; /* a shared driver: see above */
    }
    kr_tcp_stream *a, *b;
    ring_pair(rt, &a, &b); /* made on the block_on thread */
    atomic_int started = 0;
    spin_task sp[2];
    kr_join_handle h[2];
    for (int i = 0; i < 2; i++) {
        sp[i].base.vtable = &spin_vt;
        sp[i].started = &started;
        assert_rc(kr_runtime_spawn(rt, &sp[i].base, &h[i]), 0);
    }
    while (atomic_load(&started) < 2)
        sched_yield();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fd = kr_tcp_stream_fd(b);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_one_soon, &fd), 0);
    kr_tcp_ready rdy = kr_tcp_stream_ready(a, KR_READABLE);
    kr_ready_event ev;
    assert_rc(kr_runtime_block_on(rt, &rdy.base, &ev), 0);
    int64_t waited = ms_since(&t0);
    print_message("readable after %lld ms (workers spin %d ms)\n",
                  (long long)waited, SPIN_MS);
    assert_true(waited < SPIN_MS / 2);
    pthread_join(th, NULL);
    for (int i = 0; i < 2; i++)
        assert_rc(kr_runtime_block_on(rt, &h[i].base, NULL), 0);
    kr_tcp_stream_free(a);
    kr_tcp_stream_free(b);
    test_runtime_free(rt);
}

/* ---- a stream that reads on the ring asks for no read readiness -------------- */

/* On io_uring a stream's multishot poll completed for POLLIN with every
 * message although its RECV was what brought the bytes: a completion and
 * a run of task work a message for an event nobody waited for. After the
 * first ring read the poll has no POLLIN (io/reactor.h: read_mode). On
 * epoll the bytes are there before each read (a loopback write delivers
 * them at once), so its count says nothing either way. */
static void reads_on_the_ring_make_no_readiness_events(void **state) {
    (void)state;
    kr_runtime_metrics d;
    bool ring = pingpong_metrics(&d);
    print_message("io events: %llu for %d rounds\n",
                  (unsigned long long)d.io_events, ROUNDS);
    if (ring)
        assert_true(d.io_events < ROUNDS / 4); /* it was one or more a round */
}

/* ---- a readiness wait on such a stream is still woken ------------------------- */

typedef struct late_task {
    kr_future base;
    kr_coro co;
    pingpong_task pp;
    kr_tcp_stream *a, *b;
    kr_tcp_ready rdy;
    kr_timeout to;
    kr_sleep sl;
    int got, rc;
    char c;
    kr_tcp_read rd;
    int64_t n;
    pthread_t th;
} late_task;

static void *write_late(void *arg) {
    late_task *t = arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(write(kr_tcp_stream_fd(t->b), "z", 1), 1);
    return NULL;
}

static kr_poll late_poll(kr_future *f, kr_context *cx, void *out) {
    late_task *t = (late_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    /* Reads on the ring first (the poll loses POLLIN), then a wait by
     * readiness with nothing in flight: the wait must ask for POLLIN
     * again, or the byte written meanwhile never wakes it. */
    KR_AWAIT(&t->co, &t->pp.base, cx, NULL);
    /* Nothing to read now: this clears the readiness that the last ring
     * read's end set, so the wait below has to wait for the kernel. */
    assert_int_equal(kr_tcp_stream_try_read(t->a, &t->c, 1), KR_EAGAIN);
    /* Joined before the task ends: the frees come after its write. */
    assert_int_equal(pthread_create(&t->th, NULL, write_late, t), 0);
    t->rdy = kr_tcp_stream_readable(t->a);
    t->to = kr_timeout_new(&t->rdy.base, kr_secs(5), &t->got);
    KR_AWAIT(&t->co, &t->to.base, cx, &t->rc);
    assert_int_equal(t->rc, 0); /* woken, not KR_ELAPSED */
    assert_true(t->got & KR_READABLE);
    t->rd = kr_tcp_stream_read(t->a, &t->c, 1);
    KR_AWAIT(&t->co, &t->rd.base, cx, &t->n);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->c, 'z');
    assert_int_equal(pthread_join(t->th, NULL), 0);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(late_vt, late_task, late_poll, NULL, 0);

static void a_readiness_wait_after_ring_reads_is_woken(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(1);
    late_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &late_vt;
    t.pp.base.vtable = &pingpong_vt;
    ring_pair(rt, &t.a, &t.b);
    t.pp.a = t.a;
    t.pp.b = t.b;
    tn_in_task(rt, &t.base);
    kr_tcp_stream_free(t.a);
    kr_tcp_stream_free(t.b);
    test_runtime_free(rt);
}

/* ---- more readers than the reader keeps wakers for ---------------------------- */

#define READERS           (KR_TEST_RX_WAKERS + 2)
#define KR_TEST_RX_WAKERS 4 /* net/sock.h's KR__RX_WAKERS */

typedef struct one_byte {
    kr_future base;
    kr_tcp_read rd;
    char *slot;
    atomic_int *polls;
} one_byte;

static kr_poll one_byte_poll(kr_future *f, kr_context *cx, void *out) {
    one_byte *o = (one_byte *)f;
    int64_t n = -1;
    atomic_fetch_add(o->polls, 1);
    if (kr_future_poll(&o->rd.base, cx, &n) == KR_PENDING)
        return KR_PENDING;
    assert_int_equal(n, 1);
    (void)out;
    return KR_READY;
}
static void one_byte_drop(kr_future *f) {
    kr_future_drop(&((one_byte *)f)->rd.base);
}
KR_FUTURE_VTABLE(one_byte_vt, one_byte, one_byte_poll, one_byte_drop, 0);

typedef struct readers_task {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *a, *b;
    char *got; /* the test's: the task is a moved copy */
    atomic_int *polls, *idle_polls;
    kr_join_handle h[READERS];
    await_all all;
    kr_sleep sl;
    int i;
} readers_task;

static kr_poll readers_poll(kr_future *f, kr_context *cx, void *out) {
    readers_task *t = (readers_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < READERS; t->i++) {
        one_byte o = {{&one_byte_vt},
                      kr_tcp_stream_read(t->a, &t->got[t->i], 1),
                      &t->got[t->i],
                      t->polls};
        assert_rc(kr_spawn(&o.base, &t->h[t->i]), 0);
    }
    t->sl = kr_sleep_for(kr_ms(30)); /* all of them waiting */
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    atomic_store(t->idle_polls, atomic_load(t->polls));
    assert_int_equal(write(kr_tcp_stream_fd(t->b), "abcdef", READERS), READERS);
    t->all = await_all_make(t->h, READERS);
    KR_AWAIT(&t->co, &t->all.base, cx, NULL);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(readers_vt, readers_task, readers_poll, NULL, 0);

static int cmp_char(const void *x, const void *y) {
    return *(const char *)x - *(const char *)y;
}

/* Six readers on one stream, then six bytes: each gets one. Returns how
 * often they were polled while nothing came. */
static int run_readers(void) {
    kr_runtime *rt = test_runtime(0);
    readers_task t;
    char got[READERS] = {0};
    atomic_int polls, idle_polls;
    atomic_init(&polls, 0);
    atomic_init(&idle_polls, 0);
    memset(&t, 0, sizeof(t));
    t.base.vtable = &readers_vt;
    t.got = got;
    t.polls = &polls;
    t.idle_polls = &idle_polls;
    ring_pair(rt, &t.a, &t.b);
    tn_in_task(rt, &t.base);
    qsort(got, READERS, 1, cmp_char);
    assert_memory_equal(got, "abcdef", READERS); /* each byte once */
    kr_tcp_stream_free(t.a);
    kr_tcp_stream_free(t.b);
    test_runtime_free(rt);
    return atomic_load(&idle_polls);
}

static void more_readers_than_wakers_each_get_a_byte(void **state) {
    (void)state;
    (void)run_readers();
}

/* While nothing came, each reader waited: a poll or two each, not a loop
 * of wake-ups among them (the reader's waker list once held four, and a
 * fifth woke the oldest, which came back and woke the next...). */
static void more_readers_than_wakers_wait_without_spinning(void **state) {
    (void)state;
    int polls = run_readers();
    print_message("polls before the bytes came: %d\n", polls);
    assert_true(polls <= 3 * READERS);
}

/* ---- end of stream and errors come once, in order -------------------------------- */

typedef struct eof_task {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *a, *b;
    char scratch[8], got[8];
    kr_sleep sl;
    kr_tcp_read rd;
    kr_tcp_read_exact rx;
    int64_t n;
} eof_task;

static kr_poll eof_poll(kr_future *f, kr_context *cx, void *out) {
    eof_task *t = (eof_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    drop_a_pending_read(t->a, t->scratch, sizeof(t->scratch), cx);
    assert_int_equal(write(kr_tcp_stream_fd(t->b), "xy", 2), 2);
    assert_rc(kr_tcp_stream_shutdown(t->b, KR_SHUT_WRITE), 0);
    t->sl = kr_sleep_for(kr_ms(30));
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    t->rd = kr_tcp_stream_read(t->a, t->got, sizeof(t->got));
    KR_AWAIT(&t->co, &t->rd.base, cx, &t->n);
    assert_int_equal(t->n, 2);
    assert_memory_equal(t->got, "xy", 2);
    t->rd = kr_tcp_stream_read(t->a, t->got, sizeof(t->got));
    KR_AWAIT(&t->co, &t->rd.base, cx, &t->n);
    assert_int_equal(t->n, 0);
    t->rd = kr_tcp_stream_read(t->a, t->got, sizeof(t->got));
    KR_AWAIT(&t->co, &t->rd.base, cx, &t->n);
    assert_int_equal(t->n, 0); /* and again */
    t->rx = kr_tcp_stream_read_exact(t->a, t->got, 1);
    KR_AWAIT(&t->co, &t->rx.base, cx, &t->n);
    assert_int_equal(t->n, KR_EOF);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(eof_vt, eof_task, eof_poll, NULL, 0);

static void
end_of_stream_after_a_dropped_read_comes_after_its_bytes(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    eof_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &eof_vt;
    ring_pair(rt, &t.a, &t.b);
    tn_in_task(rt, &t.base);
    kr_tcp_stream_free(t.a);
    kr_tcp_stream_free(t.b);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_dropped_read_loses_nothing),
    cmocka_unit_test(every_read_call_takes_a_dropped_reads_bytes_first),
    cmocka_unit_test(freeing_a_stream_with_a_read_in_flight_closes_it),
    cmocka_unit_test(runtime_freed_with_a_stream_read_in_flight),
    cmocka_unit_test(a_stream_freed_after_its_runtime_with_a_read_in_flight),
    cmocka_unit_test(
        a_freed_streams_read_does_not_read_the_socket_reusing_its_fd),
    cmocka_unit_test(
        a_stream_freed_on_another_thread_does_not_read_its_fds_next_socket),
    cmocka_unit_test(reads_on_the_ring_are_completion_operations),
    cmocka_unit_test(reads_on_the_ring_make_no_readiness_events),
    cmocka_unit_test(reads_on_every_worker_are_completion_operations),
    cmocka_unit_test(a_ring_per_worker),
    cmocka_unit_test(io_of_stuck_workers_is_dispatched_by_the_monitor),
    cmocka_unit_test(a_readiness_wait_after_ring_reads_is_woken),
    cmocka_unit_test(more_readers_than_wakers_each_get_a_byte),
    cmocka_unit_test(more_readers_than_wakers_wait_without_spinning),
    cmocka_unit_test(end_of_stream_after_a_dropped_read_comes_after_its_bytes),
};
KR_TEST_MAIN(tests)
