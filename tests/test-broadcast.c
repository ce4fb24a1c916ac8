/*
 * broadcast: Tokio's tokio/tests/sync_broadcast.rs ported test by test
 * (same names), then kairo's own: drop of a waiting receive, close while
 * receives wait, and 100 receiver tasks that each get every message or an
 * exact lag count. KR_TEST_FLAVORS: ct mt
 *
 * Deliberate differences: messages are ints copied as bytes, so Tokio's
 * panic_in_clone and its Arc-count checks (unconsumed_messages_are_dropped)
 * become allocation counts; send_in_waker_drop needs a waker whose drop
 * sends, which the mock task below does not model (not ported). Tokio's
 * change_tasks (one future polled by two tasks) is ported as "the last
 * poll's waker is the one woken".
 */
#include "mock_task.h"

static void begin(void) { test_alloc_install(); }
static void end(void) {
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void chan(size_t cap, kr_broadcast_tx **tx, kr_broadcast_rx **rx) {
    assert_rc(kr_broadcast_new(sizeof(int), cap, tx, rx), 0);
}
static kr_broadcast_rx *sub(kr_broadcast_tx *tx) {
    kr_broadcast_rx *rx = NULL;
    assert_rc(kr_broadcast_subscribe(tx, &rx), 0);
    return rx;
}
static void send(kr_broadcast_tx *tx, int v) {
    assert_true(kr_broadcast_send(tx, &v) >= 1);
}

#define assert_recv(rx, expected)                                              \
    do {                                                                       \
        int v_ = -1;                                                           \
        assert_rc(kr_broadcast_try_recv((rx), &v_, NULL), 0);                  \
        assert_int_equal(v_, (expected));                                      \
    } while (0)
#define assert_empty(rx)                                                       \
    assert_rc(kr_broadcast_try_recv((rx), NULL, NULL), KR_EEMPTY)
#define assert_closed(rx)                                                      \
    assert_rc(kr_broadcast_try_recv((rx), NULL, NULL), KR_ECLOSED)
#define assert_lagged(rx, n)                                                   \
    do {                                                                       \
        uint64_t l_ = 0;                                                       \
        assert_rc(kr_broadcast_try_recv((rx), NULL, &l_), KR_ELAGGED);         \
        assert_int_equal(l_, (n));                                             \
    } while (0)

static void send_try_recv_bounded(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(16, &tx, &rx);
    assert_empty(rx);
    int v = 7;
    assert_int_equal(kr_broadcast_send(tx, &v), 1);
    assert_recv(rx, 7);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void send_two_recv(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(16, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    assert_empty(rx1);
    assert_empty(rx2);
    int v = 7;
    assert_int_equal(kr_broadcast_send(tx, &v), 2);
    assert_recv(rx1, 7);
    assert_recv(rx2, 7);
    assert_empty(rx1);
    assert_empty(rx2);
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_rx_drop(rx2);
    kr_broadcast_tx_drop(tx);
    end();
}

static void send_recv_bounded(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(16, &tx, &rx);
    mock_task t;
    mock_init(&t);
    int v = 0;
    kr_broadcast_recv r = kr_broadcast_recv_future(rx, &v, NULL);
    mock_pending(&t, &r.base);
    send(tx, 5);
    assert_true(mock_woken(&t));
    assert_rc(mock_ready_int(&t, &r.base), 0);
    assert_int_equal(v, 5);
    kr_future_drop(&r.base);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

static void send_two_recv_bounded(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(16, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    int v1 = 0, v2 = 0;
    kr_broadcast_recv r1 = kr_broadcast_recv_future(rx1, &v1, NULL);
    kr_broadcast_recv r2 = kr_broadcast_recv_future(rx2, &v2, NULL);
    mock_pending(&t1, &r1.base);
    mock_pending(&t2, &r2.base);
    send(tx, 1);
    assert_true(mock_woken(&t1));
    assert_true(mock_woken(&t2));
    assert_rc(mock_ready_int(&t1, &r1.base), 0);
    assert_rc(mock_ready_int(&t2, &r2.base), 0);
    assert_int_equal(v1, 1);
    assert_int_equal(v2, 1);
    kr_future_drop(&r1.base);
    kr_future_drop(&r2.base);
    r1 = kr_broadcast_recv_future(rx1, &v1, NULL);
    r2 = kr_broadcast_recv_future(rx2, &v2, NULL);
    mock_pending(&t1, &r1.base);
    send(tx, 2);
    assert_true(mock_woken(&t1));
    assert_false(mock_woken(&t2));
    assert_rc(mock_ready_int(&t1, &r1.base), 0);
    assert_rc(mock_ready_int(&t2, &r2.base), 0);
    assert_int_equal(v1, 2);
    assert_int_equal(v2, 2);
    kr_future_drop(&r1.base);
    kr_future_drop(&r2.base);
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_rx_drop(rx2);
    kr_broadcast_tx_drop(tx);
    end();
}

static void change_tasks(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(1, &tx, &rx);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    kr_broadcast_recv r = kr_broadcast_recv_future(rx, NULL, NULL);
    mock_pending(&t1, &r.base);
    mock_pending(&t2, &r.base);
    send(tx, 1);
    assert_true(mock_woken(&t2));
    kr_future_drop(&r.base);
    assert_int_equal(atomic_load(&t1.refs) + atomic_load(&t2.refs), 0);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void send_slow_rx(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(16, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    int v1 = 0, v2 = 0;
    kr_broadcast_recv r2 = kr_broadcast_recv_future(rx2, &v2, NULL);
    kr_broadcast_recv r1 = kr_broadcast_recv_future(rx1, &v1, NULL);
    mock_pending(&t1, &r1.base);
    mock_pending(&t2, &r2.base);
    send(tx, 1);
    assert_true(mock_woken(&t1));
    assert_true(mock_woken(&t2));
    send(tx, 2);
    assert_rc(mock_ready_int(&t1, &r1.base), 0);
    assert_int_equal(v1, 1);
    kr_future_drop(&r1.base);
    r1 = kr_broadcast_recv_future(rx1, &v1, NULL);
    assert_rc(mock_ready_int(&t1, &r1.base), 0);
    assert_int_equal(v1, 2);
    kr_future_drop(&r1.base);
    r1 = kr_broadcast_recv_future(rx1, &v1, NULL);
    mock_pending(&t1, &r1.base);
    send(tx, 3);
    assert_true(mock_woken(&t1));
    assert_rc(mock_ready_int(&t1, &r1.base), 0);
    assert_int_equal(v1, 3);
    kr_future_drop(&r1.base);
    assert_rc(mock_ready_int(&t2, &r2.base), 0);
    assert_int_equal(v2, 1);
    kr_future_drop(&r2.base);
    assert_recv(rx2, 2);
    assert_recv(rx2, 3);
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_rx_drop(rx2);
    kr_broadcast_tx_drop(tx);
    end();
}

static void drop_rx_while_values_remain(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(16, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    send(tx, 1);
    send(tx, 2);
    assert_recv(rx1, 1);
    assert_recv(rx2, 1);
    kr_broadcast_rx_drop(rx2);
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_tx_drop(tx);
    end();
}

static void lagging_rx(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(2, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    send(tx, 1);
    send(tx, 2);
    assert_recv(rx1, 1);
    send(tx, 3);
    assert_lagged(rx2, 1);
    assert_recv(rx2, 2);
    assert_recv(rx1, 2);
    assert_recv(rx1, 3);
    send(tx, 4);
    send(tx, 5);
    assert_lagged(rx2, 1);
    send(tx, 6);
    assert_lagged(rx2, 1);
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_rx_drop(rx2);
    kr_broadcast_tx_drop(tx);
    end();
}

static void send_no_rx(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(16, &tx, &rx);
    kr_broadcast_rx_drop(rx);
    int v = 1;
    assert_rc(kr_broadcast_send(tx, &v), KR_ECLOSED);
    rx = sub(tx);
    send(tx, 2);
    assert_recv(rx, 2);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void zero_capacity(void **state) {
    (void)state;
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    assert_rc(kr_broadcast_new(4, 0, &tx, &rx), KR_EINVAL);
}

static void capacity_too_big(void **state) {
    (void)state;
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    assert_rc(kr_broadcast_new(4, KR_BROADCAST_MAX_CAPACITY + 1, &tx, &rx),
              KR_EINVAL);
}

static void dropping_tx_notifies_rx(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(16, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    kr_broadcast_tx *tx2 = kr_broadcast_tx_clone(tx);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    kr_broadcast_recv r1 = kr_broadcast_recv_future(rx1, NULL, NULL);
    kr_broadcast_recv r2 = kr_broadcast_recv_future(rx2, NULL, NULL);
    mock_pending(&t1, &r1.base);
    mock_pending(&t2, &r2.base);
    kr_broadcast_tx_drop(tx);
    mock_pending(&t1, &r1.base);
    mock_pending(&t2, &r2.base);
    kr_broadcast_tx_drop(tx2);
    assert_true(mock_woken(&t1));
    assert_true(mock_woken(&t2));
    assert_rc(mock_ready_int(&t1, &r1.base), KR_ECLOSED);
    assert_rc(mock_ready_int(&t2, &r2.base), KR_ECLOSED);
    kr_future_drop(&r1.base);
    kr_future_drop(&r2.base);
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_rx_drop(rx2);
    end();
}

static void unconsumed_messages_are_dropped(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(16, &tx, &rx);
    send(tx, 1);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end(); /* nothing left allocated */
}

static void single_capacity_recvs(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(1, &tx, &rx);
    send(tx, 1);
    assert_recv(rx, 1);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void single_capacity_recvs_after_drop_1(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(1, &tx, &rx);
    send(tx, 1);
    kr_broadcast_tx_drop(tx);
    assert_recv(rx, 1);
    assert_closed(rx);
    kr_broadcast_rx_drop(rx);
    end();
}

static void single_capacity_recvs_after_drop_2(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(1, &tx, &rx);
    send(tx, 1);
    send(tx, 2);
    kr_broadcast_tx_drop(tx);
    assert_lagged(rx, 1);
    assert_recv(rx, 2);
    assert_closed(rx);
    kr_broadcast_rx_drop(rx);
    end();
}

static void dropping_sender_does_not_overwrite(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(2, &tx, &rx);
    send(tx, 1);
    send(tx, 2);
    kr_broadcast_tx_drop(tx);
    assert_recv(rx, 1);
    assert_recv(rx, 2);
    assert_closed(rx);
    kr_broadcast_rx_drop(rx);
    end();
}

static void lag_then_close(int sends, uint64_t lag, bool close) {
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(2, &tx, &rx);
    for (int i = 1; i <= sends; i++)
        send(tx, i);
    if (close)
        kr_broadcast_tx_drop(tx);
    assert_lagged(rx, lag);
    assert_recv(rx, sends - 1);
    assert_recv(rx, sends);
    if (close) {
        assert_closed(rx);
    } else {
        assert_empty(rx);
        kr_broadcast_tx_drop(tx);
    }
    kr_broadcast_rx_drop(rx);
    end();
}
static void lagging_receiver_recovers_after_wrap_closed_1(void **state) {
    (void)state;
    lag_then_close(3, 1, true);
}
static void lagging_receiver_recovers_after_wrap_closed_2(void **state) {
    (void)state;
    lag_then_close(4, 2, true);
}
static void lagging_receiver_recovers_after_wrap_open(void **state) {
    (void)state;
    lag_then_close(3, 1, false);
}

static void receiver_len_with_lagged(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(3, &tx, &rx);
    send(tx, 10);
    send(tx, 20);
    send(tx, 30);
    send(tx, 40);
    assert_int_equal(kr_broadcast_rx_len(rx), 4);
    assert_recv(rx, 10);
    send(tx, 50);
    send(tx, 60);
    assert_int_equal(kr_broadcast_rx_len(rx), 5);
    assert_lagged(rx, 1);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void resubscribe_points_to_tail(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx, *rs;
    chan(3, &tx, &rx);
    send(tx, 1);
    assert_rc(kr_broadcast_rx_resubscribe(rx, &rs), 0);
    assert_empty(rs);
    assert_recv(rx, 1);
    send(tx, 2);
    assert_recv(rs, 2);
    send(tx, 3);
    assert_recv(rx, 2);
    assert_recv(rx, 3);
    assert_empty(rx);
    assert_recv(rs, 3);
    assert_empty(rs);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_rx_drop(rs);
    kr_broadcast_tx_drop(tx);
    end();
}

static void resubscribe_lagged(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx, *rs;
    chan(1, &tx, &rx);
    send(tx, 1);
    send(tx, 2);
    assert_rc(kr_broadcast_rx_resubscribe(rx, &rs), 0);
    assert_lagged(rx, 1);
    assert_empty(rs);
    assert_recv(rx, 2);
    assert_empty(rx);
    assert_empty(rs);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_rx_drop(rs);
    kr_broadcast_tx_drop(tx);
    end();
}

static void resubscribe_to_closed_channel(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx, *rs;
    chan(2, &tx, &rx);
    kr_broadcast_tx_drop(tx);
    assert_rc(kr_broadcast_rx_resubscribe(rx, &rs), 0);
    assert_closed(rs);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_rx_drop(rs);
    end();
}

static void sender_len(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(4, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    assert_int_equal(kr_broadcast_tx_len(tx), 0);
    send(tx, 1);
    send(tx, 2);
    send(tx, 3);
    assert_int_equal(kr_broadcast_tx_len(tx), 3);
    assert_recv(rx1, 1);
    assert_recv(rx1, 2);
    assert_int_equal(kr_broadcast_tx_len(tx), 3);
    assert_recv(rx2, 1);
    assert_int_equal(kr_broadcast_tx_len(tx), 2);
    send(tx, 4);
    send(tx, 5);
    send(tx, 6);
    assert_int_equal(kr_broadcast_tx_len(tx), 4);
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_rx_drop(rx2);
    kr_broadcast_tx_drop(tx);
    end();
}

static void sender_len_random(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx1;
    chan(16, &tx, &rx1);
    kr_broadcast_rx *rx2 = sub(tx);
    unsigned seed = 12345;
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245u + 12345u;
        switch ((seed >> 16) % 4) {
        case 0:
            (void)kr_broadcast_try_recv(rx1, NULL, NULL);
            break;
        case 1:
            (void)kr_broadcast_try_recv(rx2, NULL, NULL);
            break;
        default:
            send(tx, 0);
        }
        size_t l1 = kr_broadcast_rx_len(rx1), l2 = kr_broadcast_rx_len(rx2);
        size_t most = l1 > l2 ? l1 : l2;
        assert_int_equal(kr_broadcast_tx_len(tx), most < 16 ? most : 16);
    }
    kr_broadcast_rx_drop(rx1);
    kr_broadcast_rx_drop(rx2);
    kr_broadcast_tx_drop(tx);
    end();
}

/* A loop of send + recv never pends; the budget makes it yield. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_broadcast_recv r;
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    int rc, n;
} coop_loop;
static kr_poll coop_loop_poll(kr_future *f, kr_context *cx, void *out) {
    coop_loop *t = (coop_loop *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (t->n = 0;; t->n++) {
        send(t->tx, t->n);
        t->r = kr_broadcast_recv_future(t->rx, NULL, NULL);
        KR_AWAIT(&t->co, &t->r.base, cx, &t->rc);
        assert_rc(t->rc, 0);
    }
    KR_ASYNC_END(&t->co);
}
static void coop_loop_drop(kr_future *f) {
    kr_coro_drop(&((coop_loop *)f)->co);
}
KR_FUTURE_VTABLE(coop_loop_vt, coop_loop, coop_loop_poll, coop_loop_drop, 0);

static void receiver_recv_is_cooperative(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(8, &tx, &rx);
    coop_loop t = {.base = {&coop_loop_vt}, .co = KR_CORO_INIT};
    t.tx = tx;
    t.rx = rx;
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &t.base, &jh), 0);
    /* The loop never waits; the main future still gets to run because the
     * loop's receives spend budget and yield. */
    kr_yield y = kr_yield_now();
    assert_rc(kr_runtime_block_on(rt, &y.base, NULL), 0);
    assert_rc(kr_join_handle_abort(&jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), KR_ECANCELED);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    test_runtime_free(rt);
    end();
}

static void broadcast_sender_closed(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    assert_rc(kr_broadcast_new(0, 1, &tx, &rx), 0);
    kr_broadcast_rx *rx2 = sub(tx);
    mock_task t;
    mock_init(&t);
    kr_broadcast_closed c = kr_broadcast_tx_closed(tx);
    mock_pending(&t, &c.base);
    kr_broadcast_rx_drop(rx);
    assert_false(mock_woken(&t));
    mock_pending(&t, &c.base);
    kr_broadcast_rx_drop(rx2);
    assert_true(mock_woken(&t));
    assert_int_equal(mock_poll(&t, &c.base, NULL), KR_READY);
    kr_future_drop(&c.base);
    kr_broadcast_tx_drop(tx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

static void broadcast_sender_closed_with_extra_subscribe(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    assert_rc(kr_broadcast_new(0, 1, &tx, &rx), 0);
    kr_broadcast_rx *rx2 = sub(tx);
    mock_task t;
    mock_init(&t);
    kr_broadcast_closed c = kr_broadcast_tx_closed(tx);
    mock_pending(&t, &c.base);
    kr_broadcast_rx_drop(rx);
    assert_false(mock_woken(&t));
    mock_pending(&t, &c.base);
    kr_broadcast_rx_drop(rx2);
    assert_true(mock_woken(&t));
    kr_broadcast_rx *rx3 = sub(tx);
    mock_pending(&t, &c.base);
    kr_broadcast_rx_drop(rx3);
    assert_true(mock_woken(&t));
    assert_int_equal(mock_poll(&t, &c.base, NULL), KR_READY);
    kr_future_drop(&c.base);
    kr_broadcast_closed c2 = kr_broadcast_tx_closed(tx);
    assert_int_equal(mock_poll(&t, &c2.base, NULL), KR_READY);
    kr_broadcast_rx *rx4 = sub(tx);
    kr_broadcast_closed c3 = kr_broadcast_tx_closed(tx);
    mock_pending(&t, &c3.base);
    kr_broadcast_rx_drop(rx4);
    assert_true(mock_woken(&t));
    assert_int_equal(mock_poll(&t, &c3.base, NULL), KR_READY);
    kr_broadcast_tx_drop(tx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

static void broadcast_sender_new_must_be_closed(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    assert_rc(kr_broadcast_new(0, 1, &tx, NULL), 0);
    mock_task t;
    mock_init(&t);
    kr_broadcast_closed c = kr_broadcast_tx_closed(tx);
    assert_int_equal(mock_poll(&t, &c.base, NULL), KR_READY);
    kr_broadcast_rx *rx = sub(tx);
    kr_broadcast_closed c2 = kr_broadcast_tx_closed(tx);
    mock_pending(&t, &c2.base);
    kr_future_drop(&c2.base);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

static void slow_receiver_within_capacity_does_not_lag(void **state) {
    (void)state;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *slow;
    chan(2, &tx, &slow);
    kr_broadcast_rx *fast = sub(tx);
    send(tx, 1);
    send(tx, 2);
    assert_recv(fast, 1);
    assert_recv(fast, 2);
    assert_empty(fast);
    assert_recv(slow, 1);
    assert_recv(slow, 2);
    assert_empty(slow);
    kr_broadcast_rx_drop(slow);
    kr_broadcast_rx_drop(fast);
    kr_broadcast_tx_drop(tx);
    end();
}

static void capacity_overflow_reports_lagged_then_oldest_retained(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(2, &tx, &rx);
    send(tx, 10);
    send(tx, 20);
    send(tx, 30);
    assert_lagged(rx, 1);
    assert_recv(rx, 20);
    assert_recv(rx, 30);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void lagged_count_matches_number_of_overwritten_messages(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(4, &tx, &rx);
    for (int i = 1; i <= 4; i++)
        send(tx, i);
    assert_recv(rx, 1);
    for (int i = 5; i <= 8; i++)
        send(tx, i);
    assert_lagged(rx, 3);
    for (int i = 5; i <= 8; i++)
        assert_recv(rx, i);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void lag_uses_power_of_two_buffer_length(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(3, &tx, &rx);
    for (int i = 1; i <= 4; i++)
        send(tx, i);
    assert_int_equal(kr_broadcast_rx_len(rx), 4);
    assert_recv(rx, 1);
    send(tx, 5);
    assert_int_equal(kr_broadcast_rx_len(rx), 4);
    send(tx, 6);
    assert_int_equal(kr_broadcast_rx_len(rx), 5);
    assert_lagged(rx, 1);
    for (int i = 3; i <= 6; i++)
        assert_recv(rx, i);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static int recv_on(kr_runtime *rt, kr_broadcast_rx *rx, int *dst,
                   uint64_t *lag) {
    kr_broadcast_recv r = kr_broadcast_recv_future(rx, dst, lag);
    int rc = 12345;
    assert_rc(kr_runtime_block_on(rt, &r.base, &rc), 0);
    return rc;
}

static void async_recv_lagged_then_resumes_from_oldest_retained(void **s) {
    (void)s;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(2, &tx, &rx);
    send(tx, 10);
    send(tx, 20);
    send(tx, 30);
    uint64_t lag = 0;
    int v = 0;
    assert_rc(recv_on(rt, rx, &v, &lag), KR_ELAGGED);
    assert_int_equal(lag, 1);
    assert_rc(recv_on(rt, rx, &v, &lag), 0);
    assert_int_equal(v, 20);
    assert_rc(recv_on(rt, rx, &v, &lag), 0);
    assert_int_equal(v, 30);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    test_runtime_free(rt);
    end();
}

static void lag_catch_up_then_lag_again(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(2, &tx, &rx);
    send(tx, 1);
    send(tx, 2);
    send(tx, 3);
    assert_lagged(rx, 1);
    assert_recv(rx, 2);
    assert_recv(rx, 3);
    assert_empty(rx);
    send(tx, 4);
    send(tx, 5);
    send(tx, 6);
    assert_lagged(rx, 1);
    assert_recv(rx, 5);
    assert_recv(rx, 6);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void lag_is_per_receiver(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *slow;
    chan(2, &tx, &slow);
    kr_broadcast_rx *fast = sub(tx);
    send(tx, 1);
    send(tx, 2);
    assert_recv(fast, 1);
    assert_recv(fast, 2);
    send(tx, 3);
    send(tx, 4);
    assert_recv(fast, 3);
    assert_recv(fast, 4);
    assert_lagged(slow, 2);
    assert_recv(slow, 3);
    assert_recv(slow, 4);
    assert_empty(slow);
    assert_empty(fast);
    kr_broadcast_rx_drop(slow);
    kr_broadcast_rx_drop(fast);
    kr_broadcast_tx_drop(tx);
    end();
}

static void lag_again_before_reading_retained_messages(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(2, &tx, &rx);
    send(tx, 1);
    send(tx, 2);
    send(tx, 3);
    assert_lagged(rx, 1);
    send(tx, 4);
    send(tx, 5);
    send(tx, 6);
    assert_lagged(rx, 3);
    assert_recv(rx, 5);
    assert_recv(rx, 6);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void single_slot_capacity_lag_semantics(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(1, &tx, &rx);
    send(tx, 1);
    assert_recv(rx, 1);
    send(tx, 2);
    send(tx, 3);
    assert_lagged(rx, 1);
    assert_recv(rx, 3);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

static void receiver_len_after_lag_error_advances_cursor(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(2, &tx, &rx);
    for (int i = 1; i <= 4; i++)
        send(tx, i);
    assert_int_equal(kr_broadcast_rx_len(rx), 4);
    assert_lagged(rx, 2);
    assert_int_equal(kr_broadcast_rx_len(rx), 2);
    assert_recv(rx, 3);
    assert_int_equal(kr_broadcast_rx_len(rx), 1);
    assert_recv(rx, 4);
    assert_int_equal(kr_broadcast_rx_len(rx), 0);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    end();
}

/* ---- kairo's own ------------------------------------------------------- */

/* A receive dropped while waiting, and one dropped after it was woken but
 * before its poll: neither moves the cursor nor keeps a waker. */
static void broadcast_drop_waiting_recv_loses_nothing(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    chan(4, &tx, &rx);
    mock_task t;
    mock_init(&t);
    kr_broadcast_recv r = kr_broadcast_recv_future(rx, NULL, NULL);
    mock_pending(&t, &r.base);
    kr_future_drop(&r.base);
    assert_int_equal(atomic_load(&t.refs), 0);
    r = kr_broadcast_recv_future(rx, NULL, NULL);
    mock_pending(&t, &r.base);
    send(tx, 1);
    assert_true(mock_woken(&t));
    kr_future_drop(&r.base); /* woken, not polled */
    assert_recv(rx, 1);
    assert_empty(rx);
    kr_broadcast_rx_drop(rx);
    kr_broadcast_tx_drop(tx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

/* Close (explicit) while 40 receives wait: all complete with KR_ECLOSED
 * after what is retained for them. */
static void broadcast_close_while_receivers_wait(void **s) {
    (void)s;
    begin();
    kr_broadcast_tx *tx;
    assert_rc(kr_broadcast_new(sizeof(int), 4, &tx, NULL), 0);
    enum { N = 40 };
    kr_broadcast_rx *rx[N];
    kr_broadcast_recv r[N];
    mock_task t[N];
    for (int i = 0; i < N; i++) {
        rx[i] = sub(tx);
        mock_init(&t[i]);
        r[i] = kr_broadcast_recv_future(rx[i], NULL, NULL);
        mock_pending(&t[i], &r[i].base);
    }
    kr_broadcast_tx_close(tx);
    int v = 1;
    assert_rc(kr_broadcast_send(tx, &v), KR_ECLOSED);
    for (int i = 0; i < N; i++) {
        assert_true(mock_woken(&t[i]));
        assert_rc(mock_ready_int(&t[i], &r[i].base), KR_ECLOSED);
        kr_future_drop(&r[i].base);
        assert_true(kr_broadcast_rx_is_closed(rx[i]));
        kr_broadcast_rx_drop(rx[i]);
        assert_int_equal(atomic_load(&t[i].refs), 0);
    }
    kr_broadcast_tx_drop(tx);
    end();
}

/* 100 receiver tasks, a sender on a plain thread sending 2000 messages
 * through a ring of 16: each receiver counts what it received and what it
 * was told it lost; the two add up to exactly 2000 for every one, and what
 * it received is in order with gaps exactly its lag counts. */
#define RECEIVERS 100
#define MESSAGES  2000

typedef struct {
    kr_future base;
    kr_coro co;
    kr_broadcast_recv r;
    kr_broadcast_rx *rx;
    int v, rc, expect;
    uint64_t lag, got, lost;
    test_latch *done;
} rx_task;

static kr_poll rx_task_poll(kr_future *f, kr_context *cx, void *out) {
    rx_task *t = (rx_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (;;) {
        t->r = kr_broadcast_recv_future(t->rx, &t->v, &t->lag);
        KR_AWAIT(&t->co, &t->r.base, cx, &t->rc);
        if (t->rc == KR_ECLOSED)
            break;
        if (t->rc == KR_ELAGGED) {
            t->lost += t->lag;
            t->expect += (int)t->lag;
            continue;
        }
        assert_rc(t->rc, 0);
        assert_int_equal(t->v, t->expect);
        t->expect++;
        t->got++;
    }
    assert_int_equal(t->got + t->lost, MESSAGES);
    kr_broadcast_rx_drop(t->rx);
    t->rx = NULL;
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void rx_task_drop(kr_future *f) {
    rx_task *t = (rx_task *)f;
    kr_coro_drop(&t->co);
    kr_broadcast_rx_drop(t->rx);
}
KR_FUTURE_VTABLE(rx_task_vt, rx_task, rx_task_poll, rx_task_drop, 0);

static void *sender_thread(void *arg) {
    kr_broadcast_tx *tx = arg;
    for (int i = 0; i < MESSAGES; i++) {
        assert_true(kr_broadcast_send(tx, &i) >= 1);
        if (i % 64 == 0)
            sched_yield(); /* let receivers keep up some of the time */
    }
    kr_broadcast_tx_drop(tx);
    return NULL;
}

static void broadcast_100_receivers_every_message_or_exact_lag(void **s) {
    (void)s;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_broadcast_tx *tx;
    assert_rc(kr_broadcast_new(sizeof(int), 16, &tx, NULL), 0);
    test_latch done;
    test_latch_init(&done);
    for (int i = 0; i < RECEIVERS; i++) {
        rx_task t = {.base = {&rx_task_vt}, .co = KR_CORO_INIT};
        t.rx = sub(tx);
        t.done = &done;
        assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender_thread, tx), 0);
    test_latch_wait w = test_latch_wait_for(&done, RECEIVERS);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    pthread_join(th, NULL);
    test_latch_destroy(&done);
    test_runtime_free(rt);
    end();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(send_try_recv_bounded),
        cmocka_unit_test(send_two_recv),
        cmocka_unit_test(send_recv_bounded),
        cmocka_unit_test(send_two_recv_bounded),
        cmocka_unit_test(change_tasks),
        cmocka_unit_test(send_slow_rx),
        cmocka_unit_test(drop_rx_while_values_remain),
        cmocka_unit_test(lagging_rx),
        cmocka_unit_test(send_no_rx),
        cmocka_unit_test(zero_capacity),
        cmocka_unit_test(capacity_too_big),
        cmocka_unit_test(dropping_tx_notifies_rx),
        cmocka_unit_test(unconsumed_messages_are_dropped),
        cmocka_unit_test(single_capacity_recvs),
        cmocka_unit_test(single_capacity_recvs_after_drop_1),
        cmocka_unit_test(single_capacity_recvs_after_drop_2),
        cmocka_unit_test(dropping_sender_does_not_overwrite),
        cmocka_unit_test(lagging_receiver_recovers_after_wrap_closed_1),
        cmocka_unit_test(lagging_receiver_recovers_after_wrap_closed_2),
        cmocka_unit_test(lagging_receiver_recovers_after_wrap_open),
        cmocka_unit_test(receiver_len_with_lagged),
        cmocka_unit_test(resubscribe_points_to_tail),
        cmocka_unit_test(resubscribe_lagged),
        cmocka_unit_test(resubscribe_to_closed_channel),
        cmocka_unit_test(sender_len),
        cmocka_unit_test(sender_len_random),
        cmocka_unit_test(receiver_recv_is_cooperative),
        cmocka_unit_test(broadcast_sender_closed),
        cmocka_unit_test(broadcast_sender_closed_with_extra_subscribe),
        cmocka_unit_test(broadcast_sender_new_must_be_closed),
        cmocka_unit_test(slow_receiver_within_capacity_does_not_lag),
        cmocka_unit_test(capacity_overflow_reports_lagged_then_oldest_retained),
        cmocka_unit_test(lagged_count_matches_number_of_overwritten_messages),
        cmocka_unit_test(lag_uses_power_of_two_buffer_length),
        cmocka_unit_test(async_recv_lagged_then_resumes_from_oldest_retained),
        cmocka_unit_test(lag_catch_up_then_lag_again),
        cmocka_unit_test(lag_is_per_receiver),
        cmocka_unit_test(lag_again_before_reading_retained_messages),
        cmocka_unit_test(single_slot_capacity_lag_semantics),
        cmocka_unit_test(receiver_len_after_lag_error_advances_cursor),
        cmocka_unit_test(broadcast_drop_waiting_recv_loses_nothing),
        cmocka_unit_test(broadcast_close_while_receivers_wait),
        cmocka_unit_test(broadcast_100_receivers_every_message_or_exact_lag),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
