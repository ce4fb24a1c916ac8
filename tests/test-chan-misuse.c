/*
 * Channel contract violations that a debug build (KR_DEBUG) reports with
 * the channel's name: a receiver dropped while one of its futures waits,
 * the last mpsc sender dropped while its send waits. Each case forks a
 * child that commits the violation; the parent checks SIGABRT and the name
 * on stderr. Release builds compile the checks away: the cases skip.
 * And a closed channel answers KR_ECLOSED to every call, never blocks.
 */

#include "mock_task.h"

#if defined(KR_DEBUG) && KR_DEBUG
#define EXPECT_ABORT(fn, needle) test_expect_abort(fn, needle)
#else
#define EXPECT_ABORT(fn, needle) ((void)(fn), (void)(needle), skip())
#endif

static mock_task t;

static void mpsc_rx_dropped_while_recv_waits(void) {
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    kr_mpsc_new(4, 1, &tx, &rx);
    kr_mpsc_recv r = kr_mpsc_recv_future(rx, NULL);
    mock_poll(&t, &r.base, NULL);
    kr_mpsc_rx_drop(rx);
}
static void mpsc_last_tx_dropped_while_send_waits(void) {
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    kr_mpsc_new(0, 1, &tx, &rx);
    kr_mpsc_try_send(tx, NULL);
    kr_mpsc_send s = kr_mpsc_send_future(tx, NULL);
    mock_poll(&t, &s.base, NULL);
    kr_mpsc_tx_drop(tx);
}
static void broadcast_rx_dropped_while_recv_waits(void) {
    kr_broadcast_tx *tx;
    kr_broadcast_rx *rx;
    kr_broadcast_new(4, 4, &tx, &rx);
    kr_broadcast_recv r = kr_broadcast_recv_future(rx, NULL, NULL);
    mock_poll(&t, &r.base, NULL);
    kr_broadcast_rx_drop(rx);
}
static void watch_rx_dropped_while_changed_waits(void) {
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    kr_watch_new(4, NULL, &tx, &rx);
    kr_watch_changed c = kr_watch_changed_future(rx);
    mock_poll(&t, &c.base, NULL);
    kr_watch_rx_drop(rx);
}

static void chan_freed_while_waiting_is_reported(void **state) {
    (void)state;
    mock_init(&t);
    EXPECT_ABORT(mpsc_rx_dropped_while_recv_waits, "kr_mpsc");
    EXPECT_ABORT(mpsc_last_tx_dropped_while_send_waits, "kr_mpsc");
    EXPECT_ABORT(broadcast_rx_dropped_while_recv_waits, "kr_broadcast");
    EXPECT_ABORT(watch_rx_dropped_while_changed_waits, "kr_watch");
}

/* After close every call answers KR_ECLOSED at once, also from a plain
 * thread with no runtime. */
static void chan_calls_after_close_return_eclosed(void **state) {
    (void)state;
    test_alloc_install();
    mock_init(&t);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(4, 2, &tx, &rx), 0);
    kr_mpsc_rx_close(rx);
    int v = 1;
    kr_mpsc_permit p;
    assert_rc(kr_mpsc_try_send(tx, &v), KR_ECLOSED);
    assert_rc(kr_mpsc_try_reserve(tx, &p), KR_ECLOSED);
    kr_mpsc_send s = kr_mpsc_send_future(tx, &v);
    assert_rc(mock_ready_int(&t, &s.base), KR_ECLOSED);
    kr_mpsc_reserve r = kr_mpsc_reserve_future(tx, &p);
    assert_rc(mock_ready_int(&t, &r.base), KR_ECLOSED);
    kr_mpsc_recv rv = kr_mpsc_recv_future(rx, &v);
    assert_rc(mock_ready_int(&t, &rv.base), KR_ECLOSED);
    assert_rc(kr_mpsc_try_recv(rx, &v), KR_ECLOSED);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);

    kr_broadcast_tx *btx;
    kr_broadcast_rx *brx;
    assert_rc(kr_broadcast_new(4, 2, &btx, &brx), 0);
    kr_broadcast_tx_close(btx);
    assert_rc(kr_broadcast_send(btx, &v), KR_ECLOSED);
    assert_rc(kr_broadcast_try_recv(brx, &v, NULL), KR_ECLOSED);
    kr_broadcast_recv br = kr_broadcast_recv_future(brx, &v, NULL);
    assert_rc(mock_ready_int(&t, &br.base), KR_ECLOSED);
    kr_broadcast_rx_drop(brx);
    kr_broadcast_tx_drop(btx);

    kr_watch_tx *wtx;
    kr_watch_rx *wrx;
    assert_rc(kr_watch_new(4, &v, &wtx, &wrx), 0);
    kr_watch_tx_drop(wtx);
    kr_watch_changed wc = kr_watch_changed_future(wrx);
    assert_rc(mock_ready_int(&t, &wc.base), KR_ECLOSED);
    assert_rc(kr_watch_has_changed(wrx), KR_ECLOSED);
    kr_watch_rx_drop(wrx);
    assert_int_equal(atomic_load(&t.refs), 0);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chan_freed_while_waiting_is_reported),
        cmocka_unit_test(chan_calls_after_close_return_eclosed),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
