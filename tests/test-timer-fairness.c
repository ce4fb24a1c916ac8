/*
 * Timers and I/O readiness are not held hostage by busy code: a timer
 * registered on a worker that is stuck in a long poll still fires, and a
 * task yielding in a loop does not keep the driver from looking at I/O.
 * KR_TEST_FLAVORS: ct mt
 */
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/* ---- a timer on a busy worker ------------------------------------------ */

/* A waker that records that it was woken (no reference counting: it lives
 * in a static). */
static atomic_int fired;
static kr_waker flag_clone(const void *d);
static void flag_wake(const void *d) {
    (void)d;
    atomic_store(&fired, 1);
}
static void flag_drop(const void *d) { (void)d; }
static const kr_waker_vtable flag_vt = {flag_clone, flag_wake, flag_wake,
                                        flag_drop};
static kr_waker flag_clone(const void *d) {
    kr_waker w = {d, &flag_vt};
    return w;
}

/*
 * One poll that registers a 50 ms sleep on the wheel of the worker it runs
 * on (with the recording waker), then keeps that worker busy, for up to
 * 10 s, until the sleep's waker is woken. Output: an int, 1 if it was.
 */
typedef struct {
    kr_future base;
} busy_sleeper;

static kr_poll busy_sleeper_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    kr_sleep s = kr_sleep_for(kr_ms(50));
    kr_waker w = {NULL, &flag_vt};
    kr_context fcx = kr_context_from_waker(&w);
    assert_int_equal(kr_future_poll(&s.base, &fcx, NULL), KR_PENDING);
    for (int i = 0; i < 10000 && !atomic_load(&fired); i++)
        test_sleep_ms(1); /* a blocking poll: the worker is stuck here */
    kr_future_drop(&s.base);
    *(int *)out = atomic_load(&fired);
    return KR_READY;
}
KR_FUTURE_VTABLE(busy_sleeper_vt, busy_sleeper, busy_sleeper_poll, NULL,
                 sizeof(int));

/*
 * Every worker's wheel is fired by its owner between polls; a worker stuck
 * in one long poll must not hold its timers back while another thread is
 * idle: here the 50 ms sleep has to fire while its worker is still busy.
 */
static void timer_fires_while_its_worker_is_busy(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_MULTI_THREAD)
        skip(); /* one thread: a busy poll stops everything, by design */
    atomic_store(&fired, 0);
    kr_runtime *rt = test_runtime(2);
    busy_sleeper b = {{&busy_sleeper_vt}};
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &b.base, &h), 0);
    int woke = 0;
    assert_rc(kr_runtime_block_on(rt, &h.base, &woke), 0);
    if (!woke)
        fail_msg("the timer did not fire while its worker was busy (10 s)");
    test_runtime_free(rt);
}

/* ---- yields and I/O readiness ------------------------------------------- */

typedef struct {
    kr_async_fd *afd;
    atomic_int registered; /* the reader is waiting in the reactor */
    atomic_int seen;       /* the reader saw the fd readable */
} pipe_state;

/* Completes once the pipe is readable. */
typedef struct {
    kr_future base;
    pipe_state *p;
} reader;

static kr_poll reader_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    pipe_state *p = ((reader *)f)->p;
    kr_ready_event ev;
    int rc = kr_async_fd_poll_ready(p->afd, cx, KR_READABLE, &ev);
    assert_true(rc >= 0);
    if (rc == 0) {
        atomic_store(&p->registered, 1);
        return KR_PENDING;
    }
    atomic_store(&p->seen, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(reader_vt, reader, reader_poll, NULL, 0);

/* Waits (yielding) for the reader to be registered, makes the pipe
 * readable, then yields until the reader has seen it. Output: a long, the
 * yields that took; it gives up at 100. */
typedef struct {
    kr_future base;
    kr_coro co;
    pipe_state *p;
    int wfd;
    long yields;
} yielder;

static kr_poll yielder_poll(kr_future *f, kr_context *cx, void *out) {
    yielder *y = (yielder *)f;
    KR_ASYNC_BEGIN(&y->co);
    while (!atomic_load(&y->p->registered))
        KR_YIELD(&y->co, cx);
    assert_int_equal(write(y->wfd, "x", 1), 1);
    for (y->yields = 0; !atomic_load(&y->p->seen) && y->yields < 100;
         y->yields++)
        KR_YIELD(&y->co, cx);
    KR_RETURN(&y->co, out, long, y->yields);
    KR_ASYNC_END(&y->co);
}
KR_FUTURE_VTABLE(yielder_vt, yielder, yielder_poll, NULL, sizeof(long));

/*
 * Ported from Tokio's rt_common yield_defers_until_park: a task that yields
 * in a loop lets the driver look at I/O before it runs again, so another
 * task's readiness is seen within a few yields (Tokio allows fewer than
 * 10), not after a whole event interval of polls. One worker, so the
 * yielder and the reader share a thread (Tokio blocks the other workers).
 */
static void yield_defers_until_park(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(1);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pipe_state p;
    memset(&p, 0, sizeof(p));
    assert_rc(kr_runtime_async_fd_new(rt, fds[0], &p.afd), 0);
    reader r = {{&reader_vt}, &p};
    yielder y = {.base = {&yielder_vt}, .p = &p, .wfd = fds[1]};
    kr_join_handle hr, hy;
    assert_rc(kr_runtime_spawn(rt, &r.base, &hr), 0);
    assert_rc(kr_runtime_spawn(rt, &y.base, &hy), 0);
    long yields = -1;
    assert_rc(kr_runtime_block_on(rt, &hy.base, &yields), 0);
    assert_rc(kr_runtime_block_on(rt, &hr.base, NULL), 0);
    if (yields >= 10)
        fail_msg("readiness seen after %ld yields (Tokio allows < 10)", yields);
    kr_async_fd_free(p.afd);
    close(fds[0]);
    close(fds[1]);
    test_runtime_free(rt);
}

/* ---- coop budget and yields -------------------------------------------- */

/* Counts its polls, yielding every time; never completes. */
typedef struct {
    kr_future base;
    atomic_long *polls;
} tracker;

static kr_poll tracker_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    atomic_fetch_add(((tracker *)f)->polls, 1);
    kr_waker_wake_by_ref(kr_context_waker(cx)); /* yield_now */
    return KR_PENDING;
}
KR_FUTURE_VTABLE(tracker_vt, tracker, tracker_poll, NULL, 0);

enum { UDP_ITERATIONS = 1024, BUDGET = 128 };

/* Sends a packet from tx to rx and receives it, UDP_ITERATIONS times. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_udp_socket *tx, *rx;
    int i;
    kr_udp_send send;
    kr_udp_recv recv;
    int64_t n;
    char tmp[12];
} udp_spam;

static kr_poll udp_spam_poll(kr_future *f, kr_context *cx, void *out) {
    udp_spam *u = (udp_spam *)f;
    KR_ASYNC_BEGIN(&u->co);
    for (u->i = 0; u->i < UDP_ITERATIONS; u->i++) {
        u->send = kr_udp_socket_send(u->tx, "Hello, world", 12);
        KR_AWAIT(&u->co, &u->send.base, cx, &u->n);
        assert_int_equal(u->n, 12);
        u->recv = kr_udp_socket_recv(u->rx, u->tmp, sizeof(u->tmp));
        KR_AWAIT(&u->co, &u->recv.base, cx, &u->n);
        assert_int_equal(u->n, 12);
        assert_memory_equal(u->tmp, "Hello, world", 12);
    }
    KR_ASYNC_END(&u->co);
}
static void udp_spam_drop(kr_future *f) { kr_coro_drop(&((udp_spam *)f)->co); }
KR_FUTURE_VTABLE(udp_spam_vt, udp_spam, udp_spam_poll, udp_spam_drop, 0);

/*
 * Ported from Tokio's coop_budget coop_budget_udp_send_recv: on loopback
 * neither socket ever returns EAGAIN, so only the budget makes the sender
 * yield: once per BUDGET / 2 packets (a send and a receive spend a unit
 * each). A task yielding in a loop beside it runs once per such yield, not
 * an event interval's worth of times. Current-thread (as Tokio's test):
 * on the multi-thread runtime the tracker has a worker to itself.
 */
static void coop_budget_udp_send_recv(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_CURRENT_THREAD)
        skip();
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr any, a;
    assert_rc(kr_sockaddr_from_ip("127.0.0.1", 0, &any), 0);
    kr_udp_socket *tx, *rx;
    assert_rc(kr_udp_socket_bind(rt, &any, &tx), 0);
    assert_rc(kr_udp_socket_bind(rt, &any, &rx), 0);
    assert_rc(kr_udp_socket_local_addr(rx, &a), 0);
    assert_rc(kr_udp_socket_connect(tx, &a), 0);
    assert_rc(kr_udp_socket_local_addr(tx, &a), 0);
    assert_rc(kr_udp_socket_connect(rx, &a), 0);
    atomic_long polls = 0;
    tracker t = {{&tracker_vt}, &polls};
    assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    udp_spam u = {.base = {&udp_spam_vt}, .tx = tx, .rx = rx};
    assert_rc(kr_runtime_block_on(rt, &u.base, NULL), 0);
    long want = UDP_ITERATIONS / (BUDGET / 2);
    long got = atomic_load(&polls);
    if (got < want - 2 || got > want + 2)
        fail_msg("the yielding task ran %ld times, expected about %ld", got,
                 want);
    kr_udp_socket_free(tx);
    kr_udp_socket_free(rx);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(timer_fires_while_its_worker_is_busy),
    cmocka_unit_test(yield_defers_until_park),
    cmocka_unit_test(coop_budget_udp_send_recv),
};
KR_TEST_MAIN(tests)
