/*
 * mpsc: Tokio's tokio/tests/sync_mpsc.rs ported test by test (same names),
 * then kairo's own: drops at every await point with the slots counted,
 * close while senders wait, large and zero-sized messages, the
 * cooperative budget, and 10^6 messages from 8 producers (4 plain threads,
 * 4 tasks) received exactly once in per-producer order.
 * KR_TEST_FLAVORS: ct mt
 *
 * Deliberate differences from the Tokio file: tests of reserve_many,
 * OwnedPermit, permit iterators, blocking_send/recv, send_timeout, streams,
 * Debug/Clone bounds and destructor panics are not ported (kairo has no
 * such API, or C has no such thing). Where Tokio checks that a message was
 * dropped (Arc counts), kairo checks the allocation count instead. Tokio's
 * "poll_recv on the receiver" is a kr_mpsc_recv future polled by hand.
 */
#include "mock_task.h"

static void begin(void) { test_alloc_install(); }
static void end(void) {
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void chan_i32(size_t cap, kr_mpsc_tx **tx, kr_mpsc_rx **rx) {
    assert_rc(kr_mpsc_new(sizeof(int), cap, tx, rx), 0);
}
static void unbounded_i32(kr_mpsc_tx **tx, kr_mpsc_rx **rx) {
    assert_rc(kr_mpsc_unbounded_new(sizeof(int), tx, rx), 0);
}

/* Awaits a receive on `rt` (block_on); returns its output. */
static int recv_on(kr_runtime *rt, kr_mpsc_rx *rx, int *dst) {
    kr_mpsc_recv r = kr_mpsc_recv_future(rx, dst);
    int rc = 12345;
    assert_rc(kr_runtime_block_on(rt, &r.base, &rc), 0);
    return rc;
}
static int send_on(kr_runtime *rt, kr_mpsc_tx *tx, int v) {
    kr_mpsc_send s = kr_mpsc_send_future(tx, &v);
    int rc = 12345;
    assert_rc(kr_runtime_block_on(rt, &s.base, &rc), 0);
    return rc;
}
static int reserve_on(kr_runtime *rt, kr_mpsc_tx *tx, kr_mpsc_permit *p) {
    kr_mpsc_reserve r = kr_mpsc_reserve_future(tx, p);
    int rc = 12345;
    assert_rc(kr_runtime_block_on(rt, &r.base, &rc), 0);
    return rc;
}
static int recv_many_on(kr_runtime *rt, kr_mpsc_rx *rx, int *dst,
                        size_t limit) {
    kr_mpsc_recv_many r = kr_mpsc_recv_many_future(rx, dst, limit);
    int rc = 12345;
    assert_rc(kr_runtime_block_on(rt, &r.base, &rc), 0);
    return rc;
}

/* Receives one message, asserting its value. */
#define assert_recv(rt, rx, expected)                                          \
    do {                                                                       \
        int v_ = -1;                                                           \
        assert_rc(recv_on((rt), (rx), &v_), 0);                                \
        assert_int_equal(v_, (expected));                                      \
    } while (0)

/* ---- a task sending a list of ints, then dropping its sender ----------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_send s;
    kr_mpsc_tx *tx;
    const int *vals;
    int n, i, v, rc;
} sender_task;

static kr_poll sender_poll(kr_future *f, kr_context *cx, void *out) {
    sender_task *t = (sender_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->n; t->i++) {
        t->v = t->vals[t->i];
        t->s = kr_mpsc_send_future(t->tx, &t->v);
        KR_AWAIT(&t->co, &t->s.base, cx, &t->rc);
        assert_rc(t->rc, 0);
    }
    kr_mpsc_tx_drop(t->tx);
    t->tx = NULL;
    KR_ASYNC_END(&t->co);
}
static void sender_drop(kr_future *f) {
    sender_task *t = (sender_task *)f;
    kr_coro_drop(&t->co);
    kr_mpsc_tx_drop(t->tx);
}
KR_FUTURE_VTABLE(sender_vt, sender_task, sender_poll, sender_drop, 0);

static void spawn_sender(kr_runtime *rt, kr_mpsc_tx *tx, const int *vals, int n,
                         kr_join_handle *jh) {
    sender_task t = {.base = {&sender_vt}, .co = KR_CORO_INIT};
    t.tx = tx;
    t.vals = vals;
    t.n = n;
    assert_rc(kr_runtime_spawn(rt, &t.base, jh), 0);
}

static void join_on(kr_runtime *rt, kr_join_handle *jh) {
    assert_rc(kr_runtime_block_on(rt, &jh->base, NULL), 0);
}

/* ---- Tokio's sync_mpsc.rs ---------------------------------------------- */

static void send_recv_with_buffer(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(16, &tx, &rx);
    kr_mpsc_permit p;
    assert_rc(reserve_on(rt, tx, &p), 0);
    int one = 1, two = 2;
    assert_rc(kr_mpsc_permit_send(&p, &one), 0);
    assert_rc(kr_mpsc_try_send(tx, &two), 0);
    kr_mpsc_tx_drop(tx);
    assert_recv(rt, rx, 1);
    assert_recv(rt, rx, 2);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void reserve_disarm(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(2, &tx, &rx);
    kr_mpsc_tx *tx2 = kr_mpsc_tx_clone(tx), *tx3 = kr_mpsc_tx_clone(tx);
    kr_mpsc_tx *tx4 = kr_mpsc_tx_clone(tx);
    kr_mpsc_permit p1, p2, p3, p4, p5;
    assert_rc(reserve_on(rt, tx, &p1), 0);
    assert_rc(reserve_on(rt, tx2, &p2), 0);
    mock_task t3, t4, t1;
    mock_init(&t3);
    mock_init(&t4);
    mock_init(&t1);
    kr_mpsc_reserve r3 = kr_mpsc_reserve_future(tx3, &p3);
    mock_pending(&t3, &r3.base);
    kr_mpsc_reserve r4 = kr_mpsc_reserve_future(tx4, &p4);
    mock_pending(&t4, &r4.base);
    int one = 1;
    assert_rc(kr_mpsc_permit_send(&p1, &one), 0);
    assert_false(mock_woken(&t3)); /* the slot frees only when received */
    assert_recv(rt, rx, 1);
    assert_true(mock_woken(&t3));
    assert_false(mock_woken(&t4));
    kr_mpsc_permit_drop(&p2);
    assert_true(mock_woken(&t4));
    kr_mpsc_reserve r1 = kr_mpsc_reserve_future(tx, &p5);
    mock_pending(&t1, &r1.base);
    /* Cleanup: r3 and r4 hold granted slots, r1 waits. */
    kr_future_drop(&r1.base);
    kr_future_drop(&r3.base);
    kr_future_drop(&r4.base);
    assert_int_equal(kr_mpsc_tx_capacity(tx), 2);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_tx_drop(tx2);
    kr_mpsc_tx_drop(tx3);
    kr_mpsc_tx_drop(tx4);
    kr_mpsc_rx_drop(rx);
    assert_int_equal(atomic_load(&t1.refs) + atomic_load(&t3.refs) +
                         atomic_load(&t4.refs),
                     0);
    test_runtime_free(rt);
    end();
}

static void async_send_recv_with_buffer(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(16, &tx, &rx);
    static const int vals[] = {1, 2};
    kr_join_handle jh;
    spawn_sender(rt, tx, vals, 2, &jh);
    assert_recv(rt, rx, 1);
    assert_recv(rt, rx, 2);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    join_on(rt, &jh);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void async_send_recv_many_with_buffer(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(2, &tx, &rx);
    int buf[8] = {0};
    assert_int_equal(recv_many_on(rt, rx, buf, 0), 0);
    static const int vals[] = {1, 2, 7, 0};
    kr_join_handle jh;
    spawn_sender(rt, tx, vals, 4, &jh);
    int count = 0;
    while (count < 4) {
        int n = recv_many_on(rt, rx, buf + count, 3);
        assert_true(n >= 1 && n <= 3);
        count += n;
    }
    assert_int_equal(count, 4);
    assert_memory_equal(buf, vals, sizeof(vals));
    assert_rc(recv_many_on(rt, rx, buf, 3), KR_ECLOSED);
    join_on(rt, &jh);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void start_send_past_cap(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx1;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 1, &tx1, &rx), 0);
    kr_mpsc_tx *tx2 = kr_mpsc_tx_clone(tx1);
    assert_rc(kr_mpsc_try_send(tx1, NULL), 0);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    kr_mpsc_permit p1, p2;
    kr_mpsc_reserve r1 = kr_mpsc_reserve_future(tx1, &p1);
    mock_pending(&t1, &r1.base);
    kr_mpsc_reserve r2 = kr_mpsc_reserve_future(tx2, &p2);
    mock_pending(&t2, &r2.base);
    kr_future_drop(&r1.base);
    assert_rc(recv_on(rt, rx, NULL), 0);
    assert_true(mock_woken(&t2));
    assert_false(mock_woken(&t1));
    kr_future_drop(&r2.base); /* gives its granted slot back */
    kr_mpsc_tx_drop(tx1);
    kr_mpsc_tx_drop(tx2);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void buffer_gteq_one(void **state) {
    (void)state;
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(sizeof(int), 0, &tx, &rx), KR_EINVAL);
    assert_rc(kr_mpsc_new(KR_MPSC_MAX_MSG + 1, 1, &tx, &rx), KR_EINVAL);
    assert_rc(kr_mpsc_new(4, 1, NULL, &rx), KR_EINVAL);
}

static void send_recv_unbounded(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    unbounded_i32(&tx, &rx);
    int one = 1, two = 2;
    assert_rc(kr_mpsc_try_send(tx, &one), 0);
    assert_rc(kr_mpsc_try_send(tx, &two), 0);
    assert_recv(rt, rx, 1);
    assert_recv(rt, rx, 2);
    kr_mpsc_tx_drop(tx);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void send_recv_many_unbounded(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    unbounded_i32(&tx, &rx);
    int buf[32];
    assert_int_equal(recv_many_on(rt, rx, buf, 0), 0);
    int vals[] = {7, 13, 100, 1002};
    for (int i = 0; i < 4; i++)
        assert_rc(kr_mpsc_try_send(tx, &vals[i]), 0);
    assert_int_equal(recv_many_on(rt, rx, buf, 0), 0);
    int count = 0;
    while (count < 4)
        count += recv_many_on(rt, rx, buf + count, 1);
    assert_int_equal(count, 4);
    assert_memory_equal(buf, vals, sizeof(vals));
    int vals2[] = {5, 6, 7, 2};
    for (int i = 0; i < 4; i++)
        assert_rc(kr_mpsc_try_send(tx, &vals2[i]), 0);
    assert_int_equal(recv_many_on(rt, rx, buf, 32), 4);
    assert_memory_equal(buf, vals2, sizeof(vals2));
    kr_mpsc_tx_drop(tx);
    assert_rc(recv_many_on(rt, rx, buf, 4), KR_ECLOSED);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void send_recv_many_bounded_capacity(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(100, &tx, &rx);
    int buf[16];
    for (int i = 0; i < 9; i++)
        assert_rc(send_on(rt, tx, i), 0);
    assert_rc(send_on(rt, tx, 99), 0);
    assert_int_equal(recv_many_on(rt, rx, buf, 9), 9);
    for (int i = 0; i < 9; i++)
        assert_int_equal(buf[i], i);
    assert_int_equal(recv_many_on(rt, rx, buf, 9), 1);
    assert_int_equal(buf[0], 99);
    static const int fin[] = {1000};
    kr_join_handle jh;
    spawn_sender(rt, tx, fin, 1, &jh); /* takes over tx */
    assert_int_equal(recv_many_on(rt, rx, buf, 9), 1);
    assert_int_equal(buf[0], 1000);
    assert_rc(recv_many_on(rt, rx, buf, 9), KR_ECLOSED);
    join_on(rt, &jh);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void send_recv_many_unbounded_capacity(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    unbounded_i32(&tx, &rx);
    int buf[16];
    for (int i = 0; i < 10; i++)
        assert_rc(kr_mpsc_try_send(tx, &i), 0);
    assert_int_equal(recv_many_on(rt, rx, buf, 9), 9);
    assert_int_equal(recv_many_on(rt, rx, buf, 9), 1);
    assert_int_equal(buf[0], 9);
    kr_mpsc_tx_drop(tx);
    assert_rc(recv_many_on(rt, rx, buf, 9), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void async_send_recv_unbounded(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    unbounded_i32(&tx, &rx);
    static const int vals[] = {1, 2};
    kr_join_handle jh;
    spawn_sender(rt, tx, vals, 2, &jh);
    assert_recv(rt, rx, 1);
    assert_recv(rt, rx, 2);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    join_on(rt, &jh);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void send_recv_buffer_limited(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(1, &tx, &rx);
    kr_mpsc_permit p1, p2;
    assert_rc(reserve_on(rt, tx, &p1), 0);
    int one = 1, two = 2;
    assert_rc(kr_mpsc_permit_send(&p1, &one), 0);
    mock_task t;
    mock_init(&t);
    kr_mpsc_reserve r2 = kr_mpsc_reserve_future(tx, &p2);
    mock_pending(&t, &r2.base);
    assert_recv(rt, rx, 1);
    assert_true(mock_woken(&t));
    assert_rc(kr_mpsc_try_send(tx, &one), KR_EFULL);
    assert_rc(mock_ready_int(&t, &r2.base), 0);
    kr_future_drop(&r2.base);
    assert_rc(kr_mpsc_permit_send(&p2, &two), 0);
    assert_recv(rt, rx, 2);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void recv_close_gets_none_idle(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(10, &tx, &rx);
    kr_mpsc_rx_close(rx);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    assert_rc(send_on(rt, tx, 1), KR_ECLOSED);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void recv_close_gets_none_reserved(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx1;
    kr_mpsc_rx *rx;
    chan_i32(1, &tx1, &rx);
    kr_mpsc_tx *tx2 = kr_mpsc_tx_clone(tx1);
    kr_mpsc_permit p1, p2;
    assert_rc(reserve_on(rt, tx1, &p1), 0);
    mock_task t2, tr;
    mock_init(&t2);
    mock_init(&tr);
    kr_mpsc_reserve r2 = kr_mpsc_reserve_future(tx2, &p2);
    mock_pending(&t2, &r2.base);
    kr_mpsc_rx_close(rx);
    assert_true(mock_woken(&t2));
    assert_rc(mock_ready_int(&t2, &r2.base), KR_ECLOSED);
    kr_future_drop(&r2.base);
    int v = 0, msg = 123;
    kr_mpsc_recv recv = kr_mpsc_recv_future(rx, &v);
    mock_pending(&tr, &recv.base);
    assert_rc(kr_mpsc_permit_send(&p1, &msg), 0);
    assert_true(mock_woken(&tr));
    assert_rc(mock_ready_int(&tr, &recv.base), 0);
    assert_int_equal(v, 123);
    kr_future_drop(&recv.base);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_tx_drop(tx1);
    kr_mpsc_tx_drop(tx2);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

/* The permit, the queued reserve, the slot handed to it, then close. */
static void reserve_then_close(bool cancel) {
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 1, &tx, &rx), 0);
    kr_mpsc_permit p, p2;
    assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
    mock_task tres, trecv;
    mock_init(&tres);
    mock_init(&trecv);
    kr_mpsc_reserve res = kr_mpsc_reserve_future(tx, &p2);
    mock_pending(&tres, &res.base);
    kr_mpsc_permit_drop(&p);
    assert_true(mock_woken(&tres));
    kr_mpsc_rx_close(rx);
    kr_mpsc_recv recv = kr_mpsc_recv_future(rx, NULL);
    mock_pending(&trecv, &recv.base);
    if (!cancel)
        assert_rc(mock_ready_int(&tres, &res.base), KR_ECLOSED);
    kr_future_drop(&res.base);
    assert_true(mock_woken(&trecv));
    assert_rc(mock_ready_int(&trecv, &recv.base), KR_ECLOSED);
    kr_future_drop(&recv.base);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    assert_int_equal(atomic_load(&tres.refs) + atomic_load(&trecv.refs), 0);
    end();
}
static void failed_reserve_wakes_closed_receiver(void **state) {
    (void)state;
    reserve_then_close(false);
}
static void cancelled_reserve_wakes_closed_receiver(void **state) {
    (void)state;
    reserve_then_close(true);
}

static void tx_close_gets_none(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(10, &tx, &rx);
    kr_mpsc_tx_drop(tx);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void try_send_fail(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(1, &tx, &rx);
    int hello = 1, fail = 2, goodbye = 3;
    assert_rc(kr_mpsc_try_send(tx, &hello), 0);
    assert_rc(kr_mpsc_try_send(tx, &fail), KR_EFULL);
    assert_recv(rt, rx, 1);
    assert_rc(kr_mpsc_try_send(tx, &goodbye), 0);
    kr_mpsc_tx_drop(tx);
    assert_recv(rt, rx, 3);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void try_send_fail_with_try_recv(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(1, &tx, &rx);
    int hello = 1, fail = 2, goodbye = 3, v = 0;
    assert_rc(kr_mpsc_try_send(tx, &hello), 0);
    assert_rc(kr_mpsc_try_send(tx, &fail), KR_EFULL);
    assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_int_equal(v, 1);
    assert_rc(kr_mpsc_try_send(tx, &goodbye), 0);
    kr_mpsc_tx_drop(tx);
    assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_int_equal(v, 3);
    assert_rc(kr_mpsc_try_recv(rx, &v), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    end();
}

static void try_reserve_fails(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(1, &tx, &rx);
    kr_mpsc_permit p, p2;
    assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
    assert_rc(kr_mpsc_try_reserve(tx, &p2), KR_EFULL);
    int foo = 7;
    assert_rc(kr_mpsc_permit_send(&p, &foo), 0);
    assert_recv(rt, rx, 7);
    assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
    assert_rc(kr_mpsc_try_reserve(tx, &p2), KR_EFULL);
    kr_mpsc_permit_drop(&p);
    assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
    kr_mpsc_permit_drop(&p);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void drop_permit_releases_permit(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx1;
    kr_mpsc_rx *rx;
    chan_i32(1, &tx1, &rx);
    kr_mpsc_tx *tx2 = kr_mpsc_tx_clone(tx1);
    kr_mpsc_permit p1, p2;
    assert_rc(kr_mpsc_try_reserve(tx1, &p1), 0);
    mock_task t;
    mock_init(&t);
    kr_mpsc_reserve r2 = kr_mpsc_reserve_future(tx2, &p2);
    mock_pending(&t, &r2.base);
    kr_mpsc_permit_drop(&p1);
    assert_true(mock_woken(&t));
    assert_rc(mock_ready_int(&t, &r2.base), 0);
    kr_future_drop(&r2.base);
    kr_mpsc_permit_drop(&p2);
    kr_mpsc_tx_drop(tx1);
    kr_mpsc_tx_drop(tx2);
    kr_mpsc_rx_drop(rx);
    end();
}

static void last_permit_wakes_closed_receiver(bool send) {
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 100, &tx, &rx), 0);
    kr_mpsc_permit p;
    assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
    kr_mpsc_rx_close(rx);
    mock_task t;
    mock_init(&t);
    kr_mpsc_recv recv = kr_mpsc_recv_future(rx, NULL);
    mock_pending(&t, &recv.base);
    if (send)
        assert_rc(kr_mpsc_permit_send(&p, NULL), 0);
    else
        kr_mpsc_permit_drop(&p);
    assert_true(mock_woken(&t));
    assert_rc(mock_ready_int(&t, &recv.base), send ? 0 : KR_ECLOSED);
    kr_future_drop(&recv.base);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}
static void dropping_last_permit_wakes_closed_receiver(void **state) {
    (void)state;
    last_permit_wakes_closed_receiver(false);
}
static void sending_last_permit_wakes_closed_receiver(void **state) {
    (void)state;
    last_permit_wakes_closed_receiver(true);
}

static void dropping_rx_closes_channel(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    /* A message owning an allocation: dropping rx discards the bytes, so
     * the owner frees it after draining; kairo checks the count instead of
     * Tokio's Arc. */
    assert_rc(kr_mpsc_new(sizeof(int), 100, &tx, &rx), 0);
    int v = 5;
    assert_rc(kr_mpsc_try_send(tx, &v), 0);
    kr_mpsc_rx_drop(rx);
    kr_mpsc_permit p;
    assert_rc(reserve_on(rt, tx, &p), KR_ECLOSED);
    assert_int_equal(kr_mpsc_tx_capacity(tx), 100);
    kr_mpsc_tx_drop(tx);
    test_runtime_free(rt);
    end();
}

static void dropping_rx_closes_channel_for_try(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(100, &tx, &rx);
    int v = 5;
    assert_rc(kr_mpsc_try_send(tx, &v), 0);
    kr_mpsc_rx_drop(rx);
    assert_true(kr_mpsc_tx_is_closed(tx));
    assert_rc(kr_mpsc_try_send(tx, &v), KR_ECLOSED);
    kr_mpsc_permit p;
    assert_rc(kr_mpsc_try_reserve(tx, &p), KR_ECLOSED);
    kr_mpsc_tx_drop(tx);
    end();
}

static void unconsumed_messages_are_dropped(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    /* Large enough for a heap ring: all of it goes with the handles. */
    assert_rc(kr_mpsc_new(4096, 100, &tx, &rx), 0);
    char msg[4096] = {1};
    for (int i = 0; i < 10; i++)
        assert_rc(kr_mpsc_try_send(tx, msg), 0);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}

static void ready_close_cancel_bounded(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 100, &tx, &rx), 0);
    kr_mpsc_tx *tx2 = kr_mpsc_tx_clone(tx);
    kr_mpsc_permit p;
    assert_rc(reserve_on(rt, tx, &p), 0);
    kr_mpsc_rx_close(rx);
    mock_task t;
    mock_init(&t);
    kr_mpsc_recv recv = kr_mpsc_recv_future(rx, NULL);
    mock_pending(&t, &recv.base);
    kr_mpsc_permit_drop(&p);
    assert_true(mock_woken(&t));
    assert_rc(mock_ready_int(&t, &recv.base), KR_ECLOSED);
    kr_future_drop(&recv.base);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_tx_drop(tx2);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void permit_available_not_acquired_close(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx1;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 1, &tx1, &rx), 0);
    kr_mpsc_tx *tx2 = kr_mpsc_tx_clone(tx1);
    kr_mpsc_permit p1, p2;
    assert_rc(reserve_on(rt, tx1, &p1), 0);
    mock_task t;
    mock_init(&t);
    kr_mpsc_reserve r2 = kr_mpsc_reserve_future(tx2, &p2);
    mock_pending(&t, &r2.base);
    kr_mpsc_rx_close(rx);
    kr_mpsc_permit_drop(&p1);
    assert_true(mock_woken(&t));
    kr_future_drop(&r2.base);
    assert_rc(recv_on(rt, rx, NULL), KR_ECLOSED);
    kr_mpsc_tx_drop(tx1);
    kr_mpsc_tx_drop(tx2);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void try_recv_bounded(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(5, &tx, &rx);
    int h = 42, v;
    for (int i = 0; i < 5; i++)
        assert_rc(kr_mpsc_try_send(tx, &h), 0);
    assert_rc(kr_mpsc_try_send(tx, &h), KR_EFULL);
    for (int i = 0; i < 5; i++)
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_rc(kr_mpsc_try_recv(rx, &v), KR_EEMPTY);
    for (int i = 0; i < 4; i++)
        assert_rc(kr_mpsc_try_send(tx, &h), 0);
    assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_rc(kr_mpsc_try_send(tx, &h), 0);
    assert_rc(kr_mpsc_try_send(tx, &h), 0);
    assert_rc(kr_mpsc_try_send(tx, &h), KR_EFULL);
    for (int i = 0; i < 5; i++)
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_rc(kr_mpsc_try_recv(rx, &v), KR_EEMPTY);
    for (int i = 0; i < 3; i++)
        assert_rc(kr_mpsc_try_send(tx, &h), 0);
    kr_mpsc_tx_drop(tx);
    for (int i = 0; i < 3; i++) {
        v = 0;
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_int_equal(v, 42);
    }
    assert_rc(kr_mpsc_try_recv(rx, &v), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    end();
}

static void try_recv_unbounded(void **state) {
    (void)state;
    begin();
    for (int num = 0; num < 100; num++) {
        kr_mpsc_tx *tx;
        kr_mpsc_rx *rx;
        unbounded_i32(&tx, &rx);
        for (int i = 0; i < num; i++)
            assert_rc(kr_mpsc_try_send(tx, &i), 0);
        for (int i = 0; i < num; i++) {
            int v = -1;
            assert_rc(kr_mpsc_try_recv(rx, &v), 0);
            assert_int_equal(v, i);
        }
        assert_rc(kr_mpsc_try_recv(rx, NULL), KR_EEMPTY);
        kr_mpsc_tx_drop(tx);
        assert_rc(kr_mpsc_try_recv(rx, NULL), KR_ECLOSED);
        kr_mpsc_rx_drop(rx);
    }
    end();
}

static void try_recv_after_receiver_close(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 5, &tx, &rx), 0);
    assert_rc(kr_mpsc_try_recv(rx, NULL), KR_EEMPTY);
    kr_mpsc_rx_close(rx);
    assert_rc(kr_mpsc_try_recv(rx, NULL), KR_ECLOSED);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}

static void try_recv_after_receiver_close_with_permit(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 5, &tx, &rx), 0);
    kr_mpsc_permit p;
    assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
    assert_rc(kr_mpsc_try_recv(rx, NULL), KR_EEMPTY);
    kr_mpsc_rx_close(rx);
    assert_rc(kr_mpsc_try_recv(rx, NULL), KR_EEMPTY);
    kr_mpsc_permit_drop(&p);
    assert_rc(kr_mpsc_try_recv(rx, NULL), KR_ECLOSED);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}

static void try_recv_close_while_empty(bool bounded) {
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    if (bounded)
        assert_rc(kr_mpsc_new(0, 5, &tx, &rx), 0);
    else
        assert_rc(kr_mpsc_unbounded_new(0, &tx, &rx), 0);
    assert_rc(kr_mpsc_try_recv(rx, NULL), KR_EEMPTY);
    kr_mpsc_tx_drop(tx);
    assert_rc(kr_mpsc_try_recv(rx, NULL), KR_ECLOSED);
    kr_mpsc_rx_drop(rx);
    end();
}
static void try_recv_close_while_empty_bounded(void **state) {
    (void)state;
    try_recv_close_while_empty(true);
}
static void try_recv_close_while_empty_unbounded(void **state) {
    (void)state;
    try_recv_close_while_empty(false);
}

static void test_tx_capacity(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 10, &tx, &rx), 0);
    assert_rc(send_on(rt, tx, 0), 0); /* msg ignored: size 0 */
    assert_int_equal(kr_mpsc_tx_capacity(tx), 9);
    assert_int_equal(kr_mpsc_tx_max_capacity(tx), 10);
    kr_mpsc_permit p;
    assert_rc(reserve_on(rt, tx, &p), 0);
    assert_int_equal(kr_mpsc_tx_capacity(tx), 8);
    assert_int_equal(kr_mpsc_tx_max_capacity(tx), 10);
    kr_mpsc_permit_drop(&p);
    assert_int_equal(kr_mpsc_tx_capacity(tx), 9);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

/* Tokio's test_rx_*is_closed* / is_empty / len family, bounded and
 * unbounded: one helper each, a test per Tokio name. */
static void mk(bool bounded, size_t cap, kr_mpsc_tx **tx, kr_mpsc_rx **rx) {
    if (bounded)
        chan_i32(cap, tx, rx);
    else
        unbounded_i32(tx, rx);
}
static void send_n(kr_mpsc_tx *tx, int n) {
    for (int i = 0; i < n; i++)
        assert_rc(kr_mpsc_try_send(tx, &i), 0);
}

static void rx_closed_case(bool bounded, int which) {
    begin();
    kr_mpsc_tx *tx, *tx2;
    kr_mpsc_rx *rx;
    mk(bounded, 10, &tx, &rx);
    kr_mpsc_permit p = {NULL};
    switch (which) {
    case 0: /* close with a sender alive */
        kr_mpsc_rx_close(rx);
        assert_true(kr_mpsc_rx_is_closed(rx));
        break;
    case 1: /* every sender dropped */
        tx2 = kr_mpsc_tx_clone(tx);
        kr_mpsc_tx_drop(tx2);
        assert_false(kr_mpsc_rx_is_closed(rx));
        kr_mpsc_tx_drop(tx);
        tx = NULL;
        assert_true(kr_mpsc_rx_is_closed(rx));
        break;
    case 2: /* senders alive */
        tx2 = kr_mpsc_tx_clone(tx);
        assert_false(kr_mpsc_rx_is_closed(rx));
        kr_mpsc_tx_drop(tx2);
        assert_false(kr_mpsc_rx_is_closed(rx));
        break;
    case 3: /* senders alive, buffer filled */
        send_n(tx, 10);
        assert_false(kr_mpsc_rx_is_closed(rx));
        break;
    case 4: /* no senders, messages queued */
        send_n(tx, 5);
        kr_mpsc_tx_drop(tx);
        tx = NULL;
        assert_true(kr_mpsc_rx_is_closed(rx));
        break;
    case 5: /* messages queued, close called */
        send_n(tx, 5);
        kr_mpsc_rx_close(rx);
        assert_true(kr_mpsc_rx_is_closed(rx));
        break;
    case 6: /* permits out, no senders */
        assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
        kr_mpsc_tx_drop(tx);
        tx = NULL;
        assert_false(kr_mpsc_rx_is_closed(rx));
        kr_mpsc_permit_drop(&p);
        assert_true(kr_mpsc_rx_is_closed(rx));
        break;
    }
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}
#define RX_CLOSED(name, b, w)                                                  \
    static void name(void **state) {                                           \
        (void)state;                                                           \
        rx_closed_case(b, w);                                                  \
    }
RX_CLOSED(test_rx_is_closed_when_calling_close_with_sender, true, 0)
RX_CLOSED(test_rx_is_closed_when_dropping_all_senders, true, 1)
RX_CLOSED(test_rx_is_not_closed_when_there_are_senders, true, 2)
RX_CLOSED(test_rx_is_not_closed_when_there_are_senders_and_buffer_filled, true,
          3)
RX_CLOSED(test_rx_is_closed_when_there_are_no_senders_and_there_are_messages,
          true, 4)
RX_CLOSED(test_rx_is_closed_when_there_are_messages_and_close_is_called, true,
          5)
RX_CLOSED(test_rx_is_not_closed_when_there_are_permits_but_not_senders, true, 6)
RX_CLOSED(test_rx_unbounded_is_closed_when_calling_close_with_sender, false, 0)
RX_CLOSED(test_rx_unbounded_is_closed_when_dropping_all_senders, false, 1)
RX_CLOSED(test_rx_unbounded_is_not_closed_when_there_are_senders, false, 2)
RX_CLOSED(
    test_rx_unbounded_is_closed_when_there_are_no_senders_and_there_are_messages,
    false, 4)
RX_CLOSED(
    test_rx_unbounded_is_closed_when_there_are_messages_and_close_is_called,
    false, 5)

static void rx_len_case(bool bounded, int which) {
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    mk(bounded, 100, &tx, &rx);
    int v;
    switch (which) {
    case 0: /* empty when nothing was sent */
        assert_true(kr_mpsc_rx_is_empty(rx));
        assert_int_equal(kr_mpsc_rx_len(rx), 0);
        break;
    case 1: /* not empty with messages */
        send_n(tx, 1);
        assert_false(kr_mpsc_rx_is_empty(rx));
        break;
    case 2: /* not empty when full (bounded) or many queued */
        send_n(tx, 100);
        assert_false(kr_mpsc_rx_is_empty(rx));
        assert_int_equal(kr_mpsc_rx_len(rx), 100);
        break;
    case 3: /* all but one consumed */
        send_n(tx, 10);
        for (int i = 0; i < 9; i++)
            assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_false(kr_mpsc_rx_is_empty(rx));
        assert_int_equal(kr_mpsc_rx_len(rx), 1);
        break;
    case 4: /* all consumed */
        send_n(tx, 10);
        for (int i = 0; i < 10; i++) {
            assert_int_equal(kr_mpsc_rx_len(rx), (size_t)(10 - i));
            assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        }
        assert_true(kr_mpsc_rx_is_empty(rx));
        assert_int_equal(kr_mpsc_rx_len(rx), 0);
        break;
    case 5: /* senders dropped, messages consumed */
        send_n(tx, 10);
        kr_mpsc_tx_drop(tx);
        tx = NULL;
        assert_int_equal(kr_mpsc_rx_len(rx), 10);
        for (int i = 0; i < 10; i++)
            assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_true(kr_mpsc_rx_is_empty(rx));
        break;
    case 6: /* empty without senders */
        kr_mpsc_tx_drop(tx);
        tx = NULL;
        assert_int_equal(kr_mpsc_rx_len(rx), 0);
        break;
    case 7: /* close keeps the queued messages counted */
        send_n(tx, 2);
        kr_mpsc_rx_close(rx);
        assert_int_equal(kr_mpsc_rx_len(rx), 2);
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_int_equal(kr_mpsc_rx_len(rx), 1);
        break;
    case 8: /* close before dropping the sender */
        send_n(tx, 2);
        kr_mpsc_rx_close(rx);
        kr_mpsc_tx_drop(tx);
        tx = NULL;
        assert_int_equal(kr_mpsc_rx_len(rx), 2);
        break;
    case 9: /* close after dropping the sender */
        send_n(tx, 2);
        kr_mpsc_tx_drop(tx);
        tx = NULL;
        kr_mpsc_rx_close(rx);
        assert_int_equal(kr_mpsc_rx_len(rx), 2);
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_int_equal(kr_mpsc_rx_len(rx), 0);
        assert_rc(kr_mpsc_try_recv(rx, &v), KR_ECLOSED);
        break;
    }
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}
#define RX_LEN(name, b, w)                                                     \
    static void name(void **state) {                                           \
        (void)state;                                                           \
        rx_len_case(b, w);                                                     \
    }
RX_LEN(test_rx_is_empty_when_no_messages_were_sent, true, 0)
RX_LEN(test_rx_is_not_empty_when_there_are_messages_in_the_buffer, true, 1)
RX_LEN(test_rx_is_not_empty_when_the_buffer_is_full, true, 2)
RX_LEN(test_rx_is_not_empty_when_all_but_one_messages_are_consumed, true, 3)
RX_LEN(test_rx_is_empty_when_all_messages_are_consumed, true, 4)
RX_LEN(test_rx_is_empty_all_senders_are_dropped_and_messages_consumed, true, 5)
RX_LEN(test_rx_len_on_empty_channel, true, 0)
RX_LEN(test_rx_len_on_empty_channel_without_senders, true, 6)
RX_LEN(test_rx_len_on_filled_channel, true, 2)
RX_LEN(test_rx_len_on_filled_channel_without_senders, true, 5)
RX_LEN(test_rx_len_when_consuming_all_messages, true, 4)
RX_LEN(test_rx_len_when_close_is_called, true, 7)
RX_LEN(test_rx_len_when_close_is_called_before_dropping_sender, true, 8)
RX_LEN(test_rx_len_when_close_is_called_after_dropping_sender, true, 9)
RX_LEN(test_rx_unbounded_is_empty_when_no_messages_were_sent, false, 0)
RX_LEN(test_rx_unbounded_is_not_empty_when_there_are_messages_in_the_buffer,
       false, 1)
RX_LEN(test_rx_unbounded_is_not_empty_when_all_but_one_messages_are_consumed,
       false, 3)
RX_LEN(test_rx_unbounded_is_empty_when_all_messages_are_consumed, false, 4)
RX_LEN(test_rx_unbounded_is_empty_all_senders_are_dropped_and_messages_consumed,
       false, 5)
RX_LEN(test_rx_unbounded_len_on_empty_channel, false, 0)
RX_LEN(test_rx_unbounded_len_on_empty_channel_without_senders, false, 6)
RX_LEN(test_rx_unbounded_len_with_multiple_messages, false, 2)
RX_LEN(test_rx_unbounded_len_with_multiple_messages_and_dropped_senders, false,
       5)
RX_LEN(test_rx_unbounded_len_when_consuming_all_messages, false, 4)
RX_LEN(test_rx_unbounded_len_when_close_is_called, false, 7)
RX_LEN(test_rx_unbounded_len_when_close_is_called_before_dropping_sender, false,
       8)
RX_LEN(test_rx_unbounded_len_when_close_is_called_after_dropping_sender, false,
       9)

static void test_is_empty_32_msgs(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(33, &tx, &rx);
    for (int round = 0; round < 33; round++) {
        send_n(tx, 32);
        int v;
        for (int i = 0; i < 32; i++) {
            assert_false(kr_mpsc_rx_is_empty(rx));
            assert_rc(kr_mpsc_try_recv(rx, &v), 0);
            assert_int_equal(v, i);
        }
        assert_true(kr_mpsc_rx_is_empty(rx));
    }
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}

static void release_waker_on_rx_drop(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(0, 1, &tx, &rx), 0);
    mock_task t;
    mock_init(&t);
    kr_mpsc_recv recv = kr_mpsc_recv_future(rx, NULL);
    mock_pending(&t, &recv.base);
    assert_int_equal(atomic_load(&t.refs), 1);
    kr_future_drop(&recv.base);
    assert_int_equal(atomic_load(&t.refs), 0);
    kr_mpsc_rx_drop(rx);
    kr_mpsc_tx_drop(tx);
    end();
}

/* ---- kairo's own ------------------------------------------------------- */

/*
 * Drops at every await point, with the slots counted: a full channel of
 * capacity 4; 6 sends wait (WAITING). Two are dropped waiting, then 3
 * slots free up: the first three waiters are GRANTED; one of them is
 * dropped before it is polled (its slot passes on to the 4th waiter), and
 * the rest are polled. At the end every slot is accounted for: queued +
 * free == capacity, and exactly the sends that completed were received.
 */
static void mpsc_drop_at_every_await_point(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(4, &tx, &rx);
    send_n(tx, 4);
    enum { N = 6 };
    mock_task t[N];
    kr_mpsc_send s[N];
    int vals[N];
    for (int i = 0; i < N; i++) {
        mock_init(&t[i]);
        vals[i] = 100 + i;
        s[i] = kr_mpsc_send_future(tx, &vals[i]);
        mock_pending(&t[i], &s[i].base);
    }
    /* Dropped while WAITING: 1 and 4. */
    kr_future_drop(&s[1].base);
    kr_future_drop(&s[4].base);
    /* Three slots free: 0, 2, 3 are granted, in order. */
    int v;
    for (int i = 0; i < 3; i++) {
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_int_equal(v, i);
    }
    assert_true(mock_woken(&t[0]));
    assert_true(mock_woken(&t[2]));
    assert_true(mock_woken(&t[3]));
    assert_false(mock_woken(&t[5]));
    /* No slot is free for a newcomer: they are promised. */
    assert_rc(kr_mpsc_try_send(tx, &v), KR_EFULL);
    /* Dropped while GRANTED: 2's slot passes on to 5. */
    kr_future_drop(&s[2].base);
    assert_true(mock_woken(&t[5]));
    int done[] = {0, 3, 5};
    for (int k = 0; k < 3; k++) {
        int i = done[k];
        assert_rc(mock_ready_int(&t[i], &s[i].base), 0);
        kr_future_drop(&s[i].base);
    }
    /* Queue: 3, 100, 103, 105; nothing free. */
    assert_int_equal(kr_mpsc_rx_len(rx), 4);
    assert_int_equal(kr_mpsc_tx_capacity(tx), 0);
    int expect[] = {3, 100, 103, 105};
    for (int i = 0; i < 4; i++) {
        assert_rc(kr_mpsc_try_recv(rx, &v), 0);
        assert_int_equal(v, expect[i]);
    }
    assert_rc(kr_mpsc_try_recv(rx, &v), KR_EEMPTY);
    assert_int_equal(kr_mpsc_tx_capacity(tx), 4);
    long refs = 0;
    for (int i = 0; i < N; i++)
        refs += atomic_load(&t[i].refs);
    assert_int_equal(refs, 0);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}

/* Close while 40 sends wait (more than one wake batch): every one of them
 * completes with KR_ECLOSED, and the queued messages still drain. */
static void mpsc_close_while_senders_wait(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(2, &tx, &rx);
    send_n(tx, 2);
    enum { N = 40 };
    mock_task t[N];
    kr_mpsc_send s[N];
    int x = 9;
    for (int i = 0; i < N; i++) {
        mock_init(&t[i]);
        s[i] = kr_mpsc_send_future(tx, &x);
        mock_pending(&t[i], &s[i].base);
    }
    kr_mpsc_rx_close(rx);
    for (int i = 0; i < N; i++) {
        assert_true(mock_woken(&t[i]));
        assert_rc(mock_ready_int(&t[i], &s[i].base), KR_ECLOSED);
        kr_future_drop(&s[i].base);
        assert_int_equal(atomic_load(&t[i].refs), 0);
    }
    assert_rc(kr_mpsc_try_send(tx, &x), KR_ECLOSED);
    int v;
    assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_rc(kr_mpsc_try_recv(rx, &v), KR_ECLOSED);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}

/* A receive of 40 messages at once frees 40 slots for 40 waiting senders:
 * every one of them is granted (the wake batch is 32). */
static void mpsc_recv_many_grants_every_waiter(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    chan_i32(40, &tx, &rx);
    send_n(tx, 40);
    enum { N = 40 };
    mock_task t[N];
    kr_mpsc_send s[N];
    int vals[N];
    for (int i = 0; i < N; i++) {
        mock_init(&t[i]);
        vals[i] = 1000 + i;
        s[i] = kr_mpsc_send_future(tx, &vals[i]);
        mock_pending(&t[i], &s[i].base);
    }
    int buf[N];
    assert_int_equal(recv_many_on(rt, rx, buf, N), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(buf[i], i);
        assert_true(mock_woken(&t[i]));
        assert_rc(mock_ready_int(&t[i], &s[i].base), 0);
        kr_future_drop(&s[i].base);
    }
    assert_int_equal(recv_many_on(rt, rx, buf, N), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(buf[i], 1000 + i);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

/* Messages of 0, 3 and 100 000 bytes, across ring growth and wrap. */
static void mpsc_message_sizes(void **state) {
    (void)state;
    begin();
    size_t sizes[] = {0, 3, 100000};
    for (int k = 0; k < 3; k++) {
        size_t sz = sizes[k];
        kr_mpsc_tx *tx;
        kr_mpsc_rx *rx;
        assert_rc(kr_mpsc_new(sz, 64, &tx, &rx), 0);
        unsigned char *in = malloc(sz + 1), *out = malloc(sz + 1);
        unsigned seed = 0, next = 0;
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < 7 + round; i++) {
                test_pattern_fill(in, sz, seed++);
                assert_rc(kr_mpsc_try_send(tx, sz ? in : NULL), 0);
            }
            for (int i = 0; i < 5; i++) {
                assert_rc(kr_mpsc_try_recv(rx, out), 0);
                assert_true(test_pattern_check(out, sz, next++));
            }
        }
        while (kr_mpsc_try_recv(rx, out) == 0)
            assert_true(test_pattern_check(out, sz, next++));
        assert_int_equal(next, seed);
        free(in);
        free(out);
        kr_mpsc_tx_drop(tx);
        kr_mpsc_rx_drop(rx);
    }
    end();
}

/* A receive loop over 1000 queued messages yields to the runtime (the
 * cooperative budget): a task spawned before it gets to run meanwhile. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_recv r;
    kr_mpsc_rx *rx;
    atomic_int *flag;
    int i, v, rc, seen_at;
} drain_task;

static kr_poll drain_poll(kr_future *f, kr_context *cx, void *out) {
    drain_task *t = (drain_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->seen_at = -1;
    for (t->i = 0; t->i < 1000; t->i++) {
        t->r = kr_mpsc_recv_future(t->rx, &t->v);
        KR_AWAIT(&t->co, &t->r.base, cx, &t->rc);
        assert_rc(t->rc, 0);
        if (t->seen_at < 0 && atomic_load(t->flag))
            t->seen_at = t->i;
    }
    KR_RETURN(&t->co, out, int, t->seen_at);
    KR_ASYNC_END(&t->co);
}
static void drain_drop(kr_future *f) { kr_coro_drop(&((drain_task *)f)->co); }
KR_FUTURE_VTABLE(drain_vt, drain_task, drain_poll, drain_drop, sizeof(int));

typedef struct {
    kr_future base;
    atomic_int *flag;
} flag_task;
static kr_poll flag_poll(kr_future *f, kr_context *cx, void *out) {
    atomic_store(((flag_task *)f)->flag, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(flag_vt, flag_task, flag_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    drain_task d;
    flag_task ft;
    kr_join_handle jh;
    int seen;
} coop_main;
static kr_poll coop_main_poll(kr_future *f, kr_context *cx, void *out) {
    coop_main *m = (coop_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    assert_rc(kr_spawn(&m->ft.base, NULL), 0);
    KR_AWAIT(&m->co, &m->d.base, cx, &m->seen);
    KR_RETURN(&m->co, out, int, m->seen);
    KR_ASYNC_END(&m->co);
}
static void coop_main_drop(kr_future *f) {
    kr_coro_drop(&((coop_main *)f)->co);
}
KR_FUTURE_VTABLE(coop_main_vt, coop_main, coop_main_poll, coop_main_drop,
                 sizeof(int));

static void mpsc_recv_is_cooperative(void **state) {
    (void)state;
    begin();
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_CURRENT_THREAD; /* one thread: only coop helps */
    kr_runtime *rt;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    unbounded_i32(&tx, &rx);
    send_n(tx, 1000);
    atomic_int flag = 0;
    coop_main m = {.base = {&coop_main_vt}, .co = KR_CORO_INIT};
    m.d = (drain_task){.base = {&drain_vt}, .co = KR_CORO_INIT};
    m.d.rx = rx;
    m.d.flag = &flag;
    m.ft = (flag_task){{&flag_vt}, &flag};
    int seen = -2;
    assert_rc(kr_runtime_block_on(rt, &m.base, &seen), 0);
    /* The spawned task ran within the first budget's worth of receives. */
    assert_true(seen >= 1 && seen <= 200);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

/* ---- 10^6 messages, 8 producers: 4 plain threads and 4 tasks ----------- */

#define PRODUCERS 8
typedef struct {
    uint32_t producer;
    uint32_t seq;
} stress_msg;

typedef struct {
    kr_mpsc_tx *tx;
    uint32_t id, n;
} thread_producer;

static void *producer_thread(void *arg) {
    thread_producer *p = arg;
    for (uint32_t i = 0; i < p->n; i++) {
        stress_msg m = {p->id, i};
        int rc;
        while ((rc = kr_mpsc_try_send(p->tx, &m)) == KR_EFULL)
            sched_yield();
        assert_rc(rc, 0);
    }
    kr_mpsc_tx_drop(p->tx);
    return NULL;
}

typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_send s;
    kr_mpsc_tx *tx;
    stress_msg m;
    uint32_t n;
    int rc;
} task_producer;

static kr_poll task_producer_poll(kr_future *f, kr_context *cx, void *out) {
    task_producer *t = (task_producer *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (; t->m.seq < t->n; t->m.seq++) {
        t->s = kr_mpsc_send_future(t->tx, &t->m);
        KR_AWAIT(&t->co, &t->s.base, cx, &t->rc);
        assert_rc(t->rc, 0);
    }
    kr_mpsc_tx_drop(t->tx);
    t->tx = NULL;
    KR_ASYNC_END(&t->co);
}
static void task_producer_drop(kr_future *f) {
    task_producer *t = (task_producer *)f;
    kr_coro_drop(&t->co);
    kr_mpsc_tx_drop(t->tx);
}
KR_FUTURE_VTABLE(task_producer_vt, task_producer, task_producer_poll,
                 task_producer_drop, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_recv_many r;
    kr_mpsc_rx *rx;
    stress_msg buf[64];
    uint32_t next[PRODUCERS];
    uint64_t total;
    int rc;
} consumer;

static kr_poll consumer_poll(kr_future *f, kr_context *cx, void *out) {
    consumer *c = (consumer *)f;
    KR_ASYNC_BEGIN(&c->co);
    for (;;) {
        c->r = kr_mpsc_recv_many_future(c->rx, c->buf, 64);
        KR_AWAIT(&c->co, &c->r.base, cx, &c->rc);
        if (c->rc == KR_ECLOSED)
            break;
        assert_true(c->rc > 0);
        for (int i = 0; i < c->rc; i++) {
            stress_msg m = c->buf[i];
            assert_true(m.producer < PRODUCERS);
            /* Per-producer order, each message exactly once. */
            assert_int_equal(m.seq, c->next[m.producer]);
            c->next[m.producer]++;
        }
        c->total += (uint64_t)c->rc;
    }
    KR_ASYNC_END(&c->co);
}
static void consumer_drop(kr_future *f) { kr_coro_drop(&((consumer *)f)->co); }
KR_FUTURE_VTABLE(consumer_vt, consumer, consumer_poll, consumer_drop, 0);

static void mpsc_stress_8_producers(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    uint32_t per = (uint32_t)test_scale(1000000) / PRODUCERS;
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(sizeof(stress_msg), 256, &tx, &rx), 0);
    thread_producer tp[PRODUCERS / 2];
    pthread_t th[PRODUCERS / 2];
    kr_join_handle jh[PRODUCERS / 2];
    for (uint32_t i = 0; i < PRODUCERS / 2; i++) {
        task_producer t = {.base = {&task_producer_vt}, .co = KR_CORO_INIT};
        t.tx = kr_mpsc_tx_clone(tx);
        t.m.producer = PRODUCERS / 2 + i;
        t.n = per;
        assert_rc(kr_runtime_spawn(rt, &t.base, &jh[i]), 0);
        tp[i] = (thread_producer){kr_mpsc_tx_clone(tx), i, per};
        assert_int_equal(pthread_create(&th[i], NULL, producer_thread, &tp[i]),
                         0);
    }
    kr_mpsc_tx_drop(tx);
    consumer *c = calloc(1, sizeof(*c));
    c->base.vtable = &consumer_vt;
    c->rx = rx;
    assert_rc(kr_runtime_block_on(rt, &c->base, NULL), 0);
    assert_int_equal(c->total, (uint64_t)per * PRODUCERS);
    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(c->next[i], per);
    free(c);
    for (int i = 0; i < PRODUCERS / 2; i++) {
        pthread_join(th[i], NULL);
        join_on(rt, &jh[i]);
    }
    assert_int_equal(kr_mpsc_rx_capacity(rx), 256);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(send_recv_with_buffer),
        cmocka_unit_test(reserve_disarm),
        cmocka_unit_test(async_send_recv_with_buffer),
        cmocka_unit_test(async_send_recv_many_with_buffer),
        cmocka_unit_test(start_send_past_cap),
        cmocka_unit_test(buffer_gteq_one),
        cmocka_unit_test(send_recv_unbounded),
        cmocka_unit_test(send_recv_many_unbounded),
        cmocka_unit_test(send_recv_many_bounded_capacity),
        cmocka_unit_test(send_recv_many_unbounded_capacity),
        cmocka_unit_test(async_send_recv_unbounded),
        cmocka_unit_test(send_recv_buffer_limited),
        cmocka_unit_test(recv_close_gets_none_idle),
        cmocka_unit_test(recv_close_gets_none_reserved),
        cmocka_unit_test(failed_reserve_wakes_closed_receiver),
        cmocka_unit_test(cancelled_reserve_wakes_closed_receiver),
        cmocka_unit_test(tx_close_gets_none),
        cmocka_unit_test(try_send_fail),
        cmocka_unit_test(try_send_fail_with_try_recv),
        cmocka_unit_test(try_reserve_fails),
        cmocka_unit_test(drop_permit_releases_permit),
        cmocka_unit_test(dropping_last_permit_wakes_closed_receiver),
        cmocka_unit_test(sending_last_permit_wakes_closed_receiver),
        cmocka_unit_test(dropping_rx_closes_channel),
        cmocka_unit_test(dropping_rx_closes_channel_for_try),
        cmocka_unit_test(unconsumed_messages_are_dropped),
        cmocka_unit_test(ready_close_cancel_bounded),
        cmocka_unit_test(permit_available_not_acquired_close),
        cmocka_unit_test(try_recv_bounded),
        cmocka_unit_test(try_recv_unbounded),
        cmocka_unit_test(try_recv_after_receiver_close),
        cmocka_unit_test(try_recv_after_receiver_close_with_permit),
        cmocka_unit_test(try_recv_close_while_empty_bounded),
        cmocka_unit_test(try_recv_close_while_empty_unbounded),
        cmocka_unit_test(test_tx_capacity),
        cmocka_unit_test(test_rx_is_closed_when_calling_close_with_sender),
        cmocka_unit_test(test_rx_is_closed_when_dropping_all_senders),
        cmocka_unit_test(test_rx_is_not_closed_when_there_are_senders),
        cmocka_unit_test(
            test_rx_is_not_closed_when_there_are_senders_and_buffer_filled),
        cmocka_unit_test(
            test_rx_is_closed_when_there_are_no_senders_and_there_are_messages),
        cmocka_unit_test(
            test_rx_is_closed_when_there_are_messages_and_close_is_called),
        cmocka_unit_test(
            test_rx_is_not_closed_when_there_are_permits_but_not_senders),
        cmocka_unit_test(
            test_rx_unbounded_is_closed_when_calling_close_with_sender),
        cmocka_unit_test(test_rx_unbounded_is_closed_when_dropping_all_senders),
        cmocka_unit_test(
            test_rx_unbounded_is_not_closed_when_there_are_senders),
        cmocka_unit_test(
            test_rx_unbounded_is_closed_when_there_are_no_senders_and_there_are_messages),
        cmocka_unit_test(
            test_rx_unbounded_is_closed_when_there_are_messages_and_close_is_called),
        cmocka_unit_test(test_rx_is_empty_when_no_messages_were_sent),
        cmocka_unit_test(
            test_rx_is_not_empty_when_there_are_messages_in_the_buffer),
        cmocka_unit_test(test_rx_is_not_empty_when_the_buffer_is_full),
        cmocka_unit_test(
            test_rx_is_not_empty_when_all_but_one_messages_are_consumed),
        cmocka_unit_test(test_rx_is_empty_when_all_messages_are_consumed),
        cmocka_unit_test(
            test_rx_is_empty_all_senders_are_dropped_and_messages_consumed),
        cmocka_unit_test(test_rx_len_on_empty_channel),
        cmocka_unit_test(test_rx_len_on_empty_channel_without_senders),
        cmocka_unit_test(test_rx_len_on_filled_channel),
        cmocka_unit_test(test_rx_len_on_filled_channel_without_senders),
        cmocka_unit_test(test_rx_len_when_consuming_all_messages),
        cmocka_unit_test(test_rx_len_when_close_is_called),
        cmocka_unit_test(
            test_rx_len_when_close_is_called_before_dropping_sender),
        cmocka_unit_test(
            test_rx_len_when_close_is_called_after_dropping_sender),
        cmocka_unit_test(test_rx_unbounded_is_empty_when_no_messages_were_sent),
        cmocka_unit_test(
            test_rx_unbounded_is_not_empty_when_there_are_messages_in_the_buffer),
        cmocka_unit_test(
            test_rx_unbounded_is_not_empty_when_all_but_one_messages_are_consumed),
        cmocka_unit_test(
            test_rx_unbounded_is_empty_when_all_messages_are_consumed),
        cmocka_unit_test(
            test_rx_unbounded_is_empty_all_senders_are_dropped_and_messages_consumed),
        cmocka_unit_test(test_rx_unbounded_len_on_empty_channel),
        cmocka_unit_test(
            test_rx_unbounded_len_on_empty_channel_without_senders),
        cmocka_unit_test(test_rx_unbounded_len_with_multiple_messages),
        cmocka_unit_test(
            test_rx_unbounded_len_with_multiple_messages_and_dropped_senders),
        cmocka_unit_test(test_rx_unbounded_len_when_consuming_all_messages),
        cmocka_unit_test(test_rx_unbounded_len_when_close_is_called),
        cmocka_unit_test(
            test_rx_unbounded_len_when_close_is_called_before_dropping_sender),
        cmocka_unit_test(
            test_rx_unbounded_len_when_close_is_called_after_dropping_sender),
        cmocka_unit_test(test_is_empty_32_msgs),
        cmocka_unit_test(release_waker_on_rx_drop),
        cmocka_unit_test(mpsc_drop_at_every_await_point),
        cmocka_unit_test(mpsc_close_while_senders_wait),
        cmocka_unit_test(mpsc_recv_many_grants_every_waiter),
        cmocka_unit_test(mpsc_message_sizes),
        cmocka_unit_test(mpsc_recv_is_cooperative),
        cmocka_unit_test(mpsc_stress_8_producers),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
