/*
 * tests/test-net-accept-ring.c: a listener's accepts as one multishot
 * completion operation on the io_uring driver (net/accept_ring.c), and
 * the same promises on epoll, where this suite runs too (ctest: ct/, mt/
 * and uring/{ct,mt}/net-accept-ring/...).
 *
 * The accepts run in a task on a runtime of one worker at most: an
 * accept goes to the ring only where no other thread holds it (nowait,
 * as a ring read), and the one worker holds it only while it turns it.
 * "Arming" is an accept future polled once (PENDING: on the ring its
 * multishot ACCEPT is submitted) and dropped. The clients are plain
 * blocking sockets: the kernel completes their handshakes in the
 * listener's backlog, accepted or not.
 *
 * KR_TEST_FLAVORS: ct mt
 */
#include <poll.h>
#include <pthread.h>

#include "test-net.h"

/* Polls an accept on l once and drops it: it must be pending. */
static void arm(kr_tcp_listener *l, kr_context *cx) {
    kr_tcp_stream *s = NULL;
    kr_tcp_accept a = kr_tcp_listener_accept(l, &s, NULL);
    int rc = 1;
    assert_int_equal(kr_future_poll(&a.base, cx, &rc), KR_PENDING);
    kr_future_drop(&a.base);
    assert_null(s);
}

/* A blocking client connected to addr that has sent one byte, `tag`. */
static int client(const kr_sockaddr *addr, unsigned char tag) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        connect(fd, (const struct sockaddr *)&addr->storage, addr->len), 0);
    assert_int_equal(write(fd, &tag, 1), 1);
    return fd;
}

/* Whether the listener's own backlog holds a connection. */
static bool backlog_has(kr_tcp_listener *l) {
    struct pollfd p = {kr_tcp_listener_fd(l), POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

/* Whether the peer of client fd ended the connection (0 or a reset)
 * within 5 s. */
static bool ended(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1)
        return false;
    char c;
    ssize_t n = read(fd, &c, 1);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* A new client of a freed listener: refused at once. */
static void refused(const kr_sockaddr *addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        connect(fd, (const struct sockaddr *)&addr->storage, addr->len), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(fd);
}

#define MANY  100
#define FIRST 70 /* more than the queue's mark, 64 */

/* What a task leaves for its test (the task is a moved copy). */
typedef struct outcome {
    int cl[MANY]; /* the clients, closed by the test */
    bool backlog; /* the backlog held some after the clients came */
} outcome;

/* The accepts of one case, in a task: `n` clients connect after the
 * listener was armed; then `n` accepts, each checked for its client's
 * tag, in order. */
typedef struct accept_task {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    kr_sockaddr addr;
    int n, i;
    outcome *o;
    kr_tcp_stream *s;
    kr_sockaddr peer;
    kr_tcp_accept acc;
    kr_tcp_read_exact rd;
    kr_sleep sl;
    unsigned char tag;
    int rc;
    int64_t got;
} accept_task;

static kr_poll accept_poll(kr_future *f, kr_context *cx, void *out) {
    accept_task *t = (accept_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    arm(t->l, cx);
    /* In two waves where there are more than FIRST: the first fills the
     * queue past its mark (the kernel accepts them while this task runs;
     * the turn after reaps them and cancels the op), the second finds the
     * op gone and stays in the backlog. */
    for (t->i = 0; t->i < t->n; t->i++) {
        t->o->cl[t->i] = client(&t->addr, (unsigned char)t->i);
        if (t->i + 1 == FIRST || t->i + 1 == t->n) {
            t->sl = kr_sleep_for(kr_ms(30)); /* turns: the ring's results */
            KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
        }
    }
    t->o->backlog = backlog_has(t->l);
    for (t->i = 0; t->i < t->n; t->i++) {
        t->s = NULL;
        t->acc = kr_tcp_listener_accept(t->l, &t->s, &t->peer);
        KR_AWAIT(&t->co, &t->acc.base, cx, &t->rc);
        assert_rc(t->rc, 0);
        assert_non_null(t->s);
        /* The peer's address (a getpeername on the ring) is the
         * client's own. */
        {
            struct sockaddr_in me;
            socklen_t len = sizeof(me);
            assert_int_equal(
                getsockname(t->o->cl[t->i], (struct sockaddr *)&me, &len), 0);
            assert_int_equal(t->peer.len, sizeof(me));
            assert_int_equal(kr_sockaddr_port(&t->peer), ntohs(me.sin_port));
        }
        t->rd = kr_tcp_stream_read_exact(t->s, &t->tag, 1);
        KR_AWAIT(&t->co, &t->rd.base, cx, &t->got);
        assert_int_equal(t->got, 1);
        assert_int_equal(t->tag, (unsigned char)t->i); /* in order, once */
        kr_tcp_stream_free(t->s);
        t->s = NULL;
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(accept_vt, accept_task, accept_poll, NULL, 0);

static void run_accepts(int n, bool *backlog) {
    test_alloc_install();
    kr_runtime *rt = test_runtime(1);
    accept_task t;
    memset(&t, 0, sizeof(t));
    outcome o;
    memset(&o, 0, sizeof(o));
    t.base.vtable = &accept_vt;
    t.n = n;
    t.o = &o;
    t.l = tcp_listen(rt, 0, &t.addr);
    int before = lowest_free_fd();
    tn_in_task(rt, &t.base);
    *backlog = o.backlog;
    for (int i = 0; i < n; i++)
        close(o.cl[i]);
    kr_tcp_listener_free(t.l);
    test_runtime_free(rt);
    assert_true(lowest_free_fd() <= before);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Connections that come while no accept waits (the one that armed the
 * ring was dropped) are all accepted later, each once, in order: on the
 * ring they waited in the listener's queue, taken from the backlog. */
static void a_dropped_accept_loses_no_connection(void **state) {
    (void)state;
    bool backlog = false;
    kr_runtime *probe = test_runtime(1);
    bool ring = tn_on_ring(probe);
    test_runtime_free(probe);
    run_accepts(3, &backlog);
    /* On the ring the kernel took them out of the backlog at once; on
     * epoll they waited there for accept4. */
    assert_int_equal(backlog, !ring);
}

/* More connections than the queue takes (64): the op is cancelled at
 * that mark and the ones that come after wait in the kernel's backlog,
 * which bounds them as on epoll; every one is still accepted once, in
 * order. */
static void a_full_accept_queue_leaves_the_rest_in_the_backlog(void **state) {
    (void)state;
    bool backlog = false;
    run_accepts(MANY, &backlog);
    assert_true(backlog); /* on both drivers */
}

/* ---- one operation for many connections ------------------------------------ */

typedef struct count_task {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    kr_sockaddr addr;
    int i;
    outcome *o;
    kr_tcp_stream *s;
    kr_tcp_accept acc;
    int rc;
} count_task;

static kr_poll count_poll(kr_future *f, kr_context *cx, void *out) {
    count_task *t = (count_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < 32; t->i++) {
        t->o->cl[t->i] = client(&t->addr, 0);
        t->acc = kr_tcp_listener_accept(t->l, &t->s, NULL);
        KR_AWAIT(&t->co, &t->acc.base, cx, &t->rc);
        assert_rc(t->rc, 0);
        kr_tcp_stream_free(t->s);
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(count_vt, count_task, count_poll, NULL, 0);

/* 32 connections, one at a time: on the ring one multishot ACCEPT takes
 * them all (the io_ops metric counts submissions); epoll submits none. */
static void accepts_on_the_ring_are_one_operation(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(1);
    count_task t;
    memset(&t, 0, sizeof(t));
    outcome o;
    memset(&o, 0, sizeof(o));
    t.base.vtable = &count_vt;
    t.o = &o;
    t.l = tcp_listen(rt, 0, &t.addr);
    kr_runtime_metrics m0, m1;
    assert_rc(kr_runtime_metrics_get(rt, &m0), 0);
    tn_in_task(rt, &t.base);
    assert_rc(kr_runtime_metrics_get(rt, &m1), 0);
    if (tn_on_ring(rt)) {
        print_message("ring ops for 32 accepts: %llu\n",
                      (unsigned long long)(m1.io_ops - m0.io_ops));
        assert_true(m1.io_ops - m0.io_ops >= 1);
        assert_true(m1.io_ops - m0.io_ops <= 2);
    } else {
        assert_int_equal(m1.io_ops, 0);
    }
    for (int i = 0; i < 32; i++)
        close(o.cl[i]);
    kr_tcp_listener_free(t.l);
    test_runtime_free(rt);
}

/* ---- freeing ------------------------------------------------------------------ */

typedef struct free_task {
    kr_future base;
    kr_coro co;
    kr_runtime *rt;
    kr_tcp_listener *l;
    kr_sockaddr addr;
    int cl[2];
    kr_sleep sl;
} free_task;

static kr_poll free_poll(kr_future *f, kr_context *cx, void *out) {
    free_task *t = (free_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    arm(t->l, cx);
    for (int i = 0; i < 2; i++)
        t->cl[i] = client(&t->addr, 1);
    t->sl = kr_sleep_for(kr_ms(30)); /* on the ring: into the queue */
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    kr_tcp_listener_free(t->l);
    t->l = NULL;
    refused(&t->addr); /* it stops listening at once */
    {
        /* And the port is free at once. */
        kr_tcp_listen_options o = {0, false};
        kr_tcp_listener *again = NULL;
        assert_rc(kr_tcp_listener_bind(t->rt, &t->addr, &o, &again), 0);
        kr_tcp_listener_free(again);
    }
    /* The queued connections are ended, not left hanging. */
    for (int i = 0; i < 2; i++) {
        assert_true(ended(t->cl[i]));
        close(t->cl[i]);
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(free_vt, free_task, free_poll, NULL, 0);

static void
freeing_an_armed_listener_frees_its_port_and_ends_the_queue(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(1);
    free_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &free_vt;
    t.rt = rt;
    t.l = tcp_listen(rt, 0, &t.addr);
    int before = lowest_free_fd();
    tn_in_task(rt, &t.base);
    test_runtime_free(rt);
    assert_true(lowest_free_fd() <= before);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* An armed listener with a queued connection outlives its runtime: the
 * free must not reach the freed driver, and it stops listening at once
 * although the ring, kept by another registration, still holds the op
 * (and the file); every connection is ended; nothing leaks. */
typedef struct outlive_task {
    kr_future base;
    kr_tcp_listener *l;
} outlive_task;

static kr_poll outlive_poll(kr_future *f, kr_context *cx, void *out) {
    outlive_task *t = (outlive_task *)f;
    (void)out;
    arm(t->l, cx);
    return KR_READY;
}
KR_FUTURE_VTABLE(outlive_vt, outlive_task, outlive_poll, NULL, 0);

static void
a_listener_freed_after_its_runtime_with_accepts_armed(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    int before = lowest_free_fd();
    kr_sockaddr addr, keep_addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_listener *keep = tcp_listen(rt, 0, &keep_addr);
    outlive_task t = {{&outlive_vt}, l};
    tn_in_task(rt, &t.base);
    int c = client(&addr, 1);
    rt_sleep_ms(rt, 30); /* on the ring: into the queue */
    test_runtime_free(rt);
    int late = client(&addr, 2); /* the backlog, or the ring's CQ */
    kr_tcp_listener_free(l);
    refused(&addr);
    assert_true(ended(c));
    kr_tcp_listener_free(keep); /* the ring's own free: the CQ's go */
    assert_true(ended(late));
    close(c);
    close(late);
    assert_true(lowest_free_fd() <= before);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* An armed listener freed on another thread while the ring's thread is
 * busy in a poll, and a new listening socket made before the ring's next
 * enter, which takes the lowest free number (the lower ones are taken
 * here first): the freed listener's ACCEPT must not take the new one's
 * connection. The kernel looks a request's descriptor up when it issues
 * it; the op is on the registration's own ring, whose removal, in the
 * free, enters that ring before the descriptor is closed (net/sock.h,
 * kr__ax_release). */
#define REUSE_FILL 64

typedef struct lreuse_out {
    int lfd, cl, fill[REUSE_FILL], nfill;
} lreuse_out;

typedef struct lreuse_task {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    lreuse_out *o;
    kr_sleep sl;
} lreuse_task;

static void *free_listener(void *arg) {
    kr_tcp_listener_free(arg);
    return NULL;
}

static kr_poll lreuse_poll(kr_future *f, kr_context *cx, void *out) {
    lreuse_task *t = (lreuse_task *)f;
    lreuse_out *o = t->o;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    {
        int fd = kr_tcp_listener_fd(t->l);
        tn_fill_below(fd, o->fill, &o->nfill, REUSE_FILL);
        arm(t->l, cx);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, free_listener, t->l), 0);
        pthread_join(th, NULL);
        t->l = NULL;
        o->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        /* The freed number: a listener's is closed at its free (its port
         * is free at once), so the new one has it. */
        assert_int_equal(o->lfd, fd);
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(sin);
        assert_int_equal(bind(o->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(listen(o->lfd, 16), 0);
        assert_int_equal(getsockname(o->lfd, (struct sockaddr *)&sin, &len), 0);
        o->cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(o->cl >= 0);
        assert_int_equal(connect(o->cl, (struct sockaddr *)&sin, sizeof(sin)),
                         0);
    }
    t->sl = kr_sleep_for(kr_ms(30)); /* turns: the ring enters */
    KR_AWAIT(&t->co, &t->sl.base, cx, NULL);
    {
        int c = accept4(o->lfd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(c >= 0); /* in the new listener's backlog still */
        close(c);
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(lreuse_vt, lreuse_task, lreuse_poll, NULL, 0);

static void
a_listener_freed_on_another_thread_takes_nothing_from_its_fds_next_listener(
    void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    lreuse_out o;
    memset(&o, 0, sizeof(o));
    o.lfd = o.cl = -1;
    kr_sockaddr addr;
    lreuse_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &lreuse_vt;
    t.o = &o;
    t.l = tcp_listen(rt, 0, &addr);
    kr_runtime_metrics m0, m1;
    assert_rc(kr_runtime_metrics_get(rt, &m0), 0);
    tn_in_task(rt, &t.base);
    assert_rc(kr_runtime_metrics_get(rt, &m1), 0);
    if (tn_on_ring(rt))
        assert_true(m1.io_ops - m0.io_ops >= 1); /* the ACCEPT went */
    assert_true(o.lfd >= 0 && o.cl >= 0);
    close(o.cl);
    close(o.lfd);
    for (int i = 0; i < o.nfill; i++)
        close(o.fill[i]);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_dropped_accept_loses_no_connection),
    cmocka_unit_test(a_full_accept_queue_leaves_the_rest_in_the_backlog),
    cmocka_unit_test(accepts_on_the_ring_are_one_operation),
    cmocka_unit_test(
        freeing_an_armed_listener_frees_its_port_and_ends_the_queue),
    cmocka_unit_test(a_listener_freed_after_its_runtime_with_accepts_armed),
    cmocka_unit_test(
        a_listener_freed_on_another_thread_takes_nothing_from_its_fds_next_listener),
};
KR_TEST_MAIN(tests)
