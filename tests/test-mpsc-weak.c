/*
 * mpsc weak senders: Tokio's tokio/tests/sync_mpsc_weak.rs ported test by
 * test (same names). KR_TEST_FLAVORS: ct mt
 *
 * Deliberate differences: the two actor_* tests (an actor that sends to
 * itself through a weak sender) are folded into weak_sender's upgrade,
 * send, downgrade; test_msgs_dropped_on_rx_drop counts allocations, not
 * destructor calls (messages are bytes); reserve_owned is
 * kr_mpsc_reserve_future with the sender dropped after it.
 */
#include "test.h"

static void begin(void) { test_alloc_install(); }
static void end(void) {
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void mk(bool bounded, size_t cap, kr_mpsc_tx **tx, kr_mpsc_rx **rx) {
    if (bounded)
        assert_rc(kr_mpsc_new(sizeof(int), cap, tx, rx), 0);
    else
        assert_rc(kr_mpsc_unbounded_new(sizeof(int), tx, rx), 0);
}

/* The task of weak_sender: sends 0..9, upgrades its weak sender, sends 20
 * through it, and returns a fresh weak reference. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_send s;
    kr_mpsc_tx *tx, *tx2;
    kr_mpsc_weak_tx *weak;
    int i, v, rc;
} weak_task;

static kr_poll weak_task_poll(kr_future *f, kr_context *cx, void *out) {
    weak_task *t = (weak_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->weak = kr_mpsc_tx_downgrade(t->tx);
    for (t->i = 0; t->i < 10; t->i++) {
        t->v = t->i;
        t->s = kr_mpsc_send_future(t->tx, &t->v);
        KR_AWAIT(&t->co, &t->s.base, cx, &t->rc);
        assert_rc(t->rc, 0);
    }
    t->tx2 = kr_mpsc_weak_upgrade(t->weak);
    assert_non_null(t->tx2);
    kr_mpsc_weak_drop(t->weak);
    kr_mpsc_tx_drop(t->tx);
    t->tx = NULL;
    t->v = 20;
    t->s = kr_mpsc_send_future(t->tx2, &t->v);
    KR_AWAIT(&t->co, &t->s.base, cx, &t->rc);
    t->weak = kr_mpsc_tx_downgrade(t->tx2);
    kr_mpsc_tx_drop(t->tx2);
    t->tx2 = NULL;
    KR_RETURN(&t->co, out, kr_mpsc_weak_tx *, t->weak);
    KR_ASYNC_END(&t->co);
}
static void weak_task_drop(kr_future *f) {
    weak_task *t = (weak_task *)f;
    kr_coro_drop(&t->co);
    kr_mpsc_tx_drop(t->tx);
    kr_mpsc_tx_drop(t->tx2);
}
KR_FUTURE_VTABLE(weak_task_vt, weak_task, weak_task_poll, weak_task_drop,
                 sizeof(kr_mpsc_weak_tx *));

static void weak_sender_case(bool bounded) {
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    mk(bounded, 11, &tx, &rx);
    weak_task t = {.base = {&weak_task_vt}, .co = KR_CORO_INIT, .tx = tx};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &t.base, &jh), 0);
    kr_mpsc_weak_tx *weak = NULL;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &weak), 0);
    assert_non_null(weak);
    for (int i = 0; i < 12; i++) {
        int v = -1;
        kr_mpsc_recv r = kr_mpsc_recv_future(rx, &v);
        int rc = -1;
        assert_rc(kr_runtime_block_on(rt, &r.base, &rc), 0);
        if (rc == KR_ECLOSED) {
            assert_int_equal(i, 11);
            break;
        }
        assert_rc(rc, 0);
        if (i == 10)
            assert_int_equal(v, 20);
    }
    assert_null(kr_mpsc_weak_upgrade(weak));
    kr_mpsc_weak_drop(weak);
    kr_mpsc_rx_drop(rx);
    test_runtime_free(rt);
    end();
}
static void weak_sender(void **state) {
    (void)state;
    weak_sender_case(true);
}
static void weak_unbounded_sender(void **state) {
    (void)state;
    weak_sender_case(false);
}

static void test_msgs_dropped_on_rx_drop(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    mk(true, 3, &tx, &rx);
    int v = 1;
    for (int i = 0; i < 3; i++)
        assert_rc(kr_mpsc_try_send(tx, &v), 0);
    assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    assert_rc(kr_mpsc_try_recv(rx, &v), 0);
    kr_mpsc_rx_drop(rx); /* one message discarded with it */
    kr_mpsc_send s = kr_mpsc_send_future(tx, &v);
    int rc = 0;
    assert_rc(kr_runtime_block_on(rt, &s.base, &rc), 0);
    assert_rc(rc, KR_ECLOSED);
    kr_mpsc_tx_drop(tx);
    test_runtime_free(rt);
    end();
}

static void upgrade_case(bool bounded, int which) {
    begin();
    kr_mpsc_tx *tx, *tx2, *up;
    kr_mpsc_rx *rx;
    kr_mpsc_weak_tx *w, *w2;
    kr_mpsc_permit p;
    mk(bounded, 1, &tx, &rx);
    switch (which) {
    case 0: /* downgrade_upgrade_sender_success */
        w = kr_mpsc_tx_downgrade(tx);
        up = kr_mpsc_weak_upgrade(w);
        assert_non_null(up);
        kr_mpsc_tx_drop(up);
        kr_mpsc_weak_drop(w);
        kr_mpsc_tx_drop(tx);
        break;
    case 1: /* downgrade_upgrade_sender_failure */
        w = kr_mpsc_tx_downgrade(tx);
        kr_mpsc_tx_drop(tx);
        assert_null(kr_mpsc_weak_upgrade(w));
        kr_mpsc_weak_drop(w);
        break;
    case 2: /* downgrade_drop_upgrade */
        tx2 = kr_mpsc_tx_clone(tx);
        w = kr_mpsc_tx_downgrade(tx2);
        kr_mpsc_tx_drop(tx2);
        kr_mpsc_tx_drop(tx);
        assert_null(kr_mpsc_weak_upgrade(w));
        kr_mpsc_weak_drop(w);
        break;
    case 3: /* downgrade_get_permit_upgrade_no_senders */
        w = kr_mpsc_tx_downgrade(tx);
        assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
        kr_mpsc_tx_drop(tx); /* the permit stands for it */
        up = kr_mpsc_weak_upgrade(w);
        assert_non_null(up);
        kr_mpsc_tx_drop(up);
        kr_mpsc_permit_drop(&p);
        kr_mpsc_weak_drop(w);
        break;
    case 4: /* downgrade_upgrade_get_permit_no_senders */
        tx2 = kr_mpsc_tx_clone(tx);
        assert_rc(kr_mpsc_try_reserve(tx, &p), 0);
        kr_mpsc_tx_drop(tx);
        w = kr_mpsc_tx_downgrade(tx2);
        kr_mpsc_tx_drop(tx2);
        up = kr_mpsc_weak_upgrade(w);
        assert_non_null(up);
        kr_mpsc_tx_drop(up);
        kr_mpsc_permit_drop(&p);
        kr_mpsc_weak_drop(w);
        break;
    case 5: /* test_tx_count_weak_sender */
        w = kr_mpsc_tx_downgrade(tx);
        w2 = kr_mpsc_tx_downgrade(tx);
        kr_mpsc_tx_drop(tx);
        assert_null(kr_mpsc_weak_upgrade(w));
        assert_null(kr_mpsc_weak_upgrade(w2));
        kr_mpsc_weak_drop(w);
        kr_mpsc_weak_drop(w2);
        break;
    case 6: /* rx_is_closed_when_dropping_all_senders_except_weak_senders */
        tx2 = kr_mpsc_tx_clone(tx);
        w = kr_mpsc_tx_downgrade(tx2);
        kr_mpsc_tx_drop(tx2);
        kr_mpsc_tx_drop(tx);
        assert_true(kr_mpsc_rx_is_closed(rx));
        assert_rc(kr_mpsc_try_recv(rx, NULL), KR_ECLOSED);
        kr_mpsc_weak_drop(w);
        break;
    }
    kr_mpsc_rx_drop(rx);
    end();
}
#define UPGRADE(name, b, w)                                                    \
    static void name(void **state) {                                           \
        (void)state;                                                           \
        upgrade_case(b, w);                                                    \
    }
UPGRADE(downgrade_upgrade_sender_success, true, 0)
UPGRADE(downgrade_upgrade_sender_failure, true, 1)
UPGRADE(downgrade_drop_upgrade, true, 2)
UPGRADE(downgrade_get_permit_upgrade_no_senders, true, 3)
UPGRADE(downgrade_upgrade_get_permit_no_senders, true, 4)
UPGRADE(test_tx_count_weak_sender, true, 5)
UPGRADE(downgrade_upgrade_unbounded_sender_success, false, 0)
UPGRADE(downgrade_upgrade_unbounded_sender_failure, false, 1)
UPGRADE(downgrade_drop_upgrade_unbounded, false, 2)
UPGRADE(test_tx_count_weak_unbounded_sender, false, 5)
UPGRADE(test_rx_is_closed_when_dropping_all_senders_except_weak_senders, true,
        6)
UPGRADE(
    test_rx_unbounded_is_closed_when_dropping_all_senders_except_weak_senders,
    false, 6)

static void count_case(bool bounded, int which) {
    begin();
    kr_mpsc_tx *tx, *tx2;
    kr_mpsc_rx *rx;
    kr_mpsc_weak_tx *w, *w2;
    mk(bounded, 1, &tx, &rx);
    switch (which) {
    case 0: /* strong_count_when_cloned */
        tx2 = kr_mpsc_tx_clone(tx);
        assert_int_equal(kr_mpsc_tx_count(tx), 2);
        assert_int_equal(kr_mpsc_tx_count(tx2), 2);
        assert_int_equal(kr_mpsc_rx_sender_count(rx), 2);
        kr_mpsc_tx_drop(tx2);
        break;
    case 1: /* weak_count_when_downgraded */
        w = kr_mpsc_tx_downgrade(tx);
        assert_int_equal(kr_mpsc_tx_weak_count(tx), 1);
        assert_int_equal(kr_mpsc_weak_count(w), 1);
        assert_int_equal(kr_mpsc_rx_weak_count(rx), 1);
        kr_mpsc_weak_drop(w);
        break;
    case 2: /* strong_count_when_dropped */
        tx2 = kr_mpsc_tx_clone(tx);
        kr_mpsc_tx_drop(tx2);
        assert_int_equal(kr_mpsc_tx_count(tx), 1);
        assert_int_equal(kr_mpsc_rx_sender_count(rx), 1);
        break;
    case 3: /* weak_count_when_dropped */
        w = kr_mpsc_tx_downgrade(tx);
        kr_mpsc_weak_drop(w);
        assert_int_equal(kr_mpsc_tx_weak_count(tx), 0);
        assert_int_equal(kr_mpsc_rx_weak_count(rx), 0);
        break;
    case 4: /* strong_and_weak_count */
        tx2 = kr_mpsc_tx_clone(tx);
        w = kr_mpsc_tx_downgrade(tx);
        w2 = kr_mpsc_tx_downgrade(tx2);
        assert_int_equal(kr_mpsc_tx_count(tx), 2);
        assert_int_equal(kr_mpsc_tx_count(tx2), 2);
        assert_int_equal(kr_mpsc_weak_strong_count(w), 2);
        assert_int_equal(kr_mpsc_weak_strong_count(w2), 2);
        assert_int_equal(kr_mpsc_rx_sender_count(rx), 2);
        assert_int_equal(kr_mpsc_tx_weak_count(tx), 2);
        assert_int_equal(kr_mpsc_weak_count(w2), 2);
        assert_int_equal(kr_mpsc_rx_weak_count(rx), 2);
        kr_mpsc_tx_drop(tx2);
        kr_mpsc_weak_drop(w2);
        assert_int_equal(kr_mpsc_tx_count(tx), 1);
        assert_int_equal(kr_mpsc_weak_strong_count(w), 1);
        assert_int_equal(kr_mpsc_rx_sender_count(rx), 1);
        assert_int_equal(kr_mpsc_tx_weak_count(tx), 1);
        assert_int_equal(kr_mpsc_weak_count(w), 1);
        assert_int_equal(kr_mpsc_rx_weak_count(rx), 1);
        kr_mpsc_weak_drop(w);
        break;
    }
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    end();
}
#define COUNT(name, b, w)                                                      \
    static void name(void **state) {                                           \
        (void)state;                                                           \
        count_case(b, w);                                                      \
    }
COUNT(sender_strong_count_when_cloned, true, 0)
COUNT(sender_weak_count_when_downgraded, true, 1)
COUNT(sender_strong_count_when_dropped, true, 2)
COUNT(sender_weak_count_when_dropped, true, 3)
COUNT(sender_strong_and_weak_conut, true, 4)
COUNT(unbounded_sender_strong_count_when_cloned, false, 0)
COUNT(unbounded_sender_weak_count_when_downgraded, false, 1)
COUNT(unbounded_sender_strong_count_when_dropped, false, 2)
COUNT(unbounded_sender_weak_count_when_dropped, false, 3)
COUNT(unbounded_sender_strong_and_weak_conut, false, 4)

/* The channel's memory goes with the last reference, weak ones included:
 * a weak sender outliving every other handle frees it. */
static void mpsc_weak_sender_frees_the_channel_last(void **state) {
    (void)state;
    begin();
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    mk(true, 4, &tx, &rx);
    kr_mpsc_weak_tx *w = kr_mpsc_tx_downgrade(tx);
    kr_mpsc_weak_tx *w2 = kr_mpsc_weak_clone(w);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    assert_true(test_alloc_live() > 0);
    assert_null(kr_mpsc_weak_upgrade(w2));
    kr_mpsc_weak_drop(w);
    kr_mpsc_weak_drop(w2);
    end();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weak_sender),
        cmocka_unit_test(test_msgs_dropped_on_rx_drop),
        cmocka_unit_test(downgrade_upgrade_sender_success),
        cmocka_unit_test(downgrade_upgrade_sender_failure),
        cmocka_unit_test(downgrade_drop_upgrade),
        cmocka_unit_test(downgrade_get_permit_upgrade_no_senders),
        cmocka_unit_test(downgrade_upgrade_get_permit_no_senders),
        cmocka_unit_test(test_tx_count_weak_sender),
        cmocka_unit_test(weak_unbounded_sender),
        cmocka_unit_test(downgrade_upgrade_unbounded_sender_success),
        cmocka_unit_test(downgrade_upgrade_unbounded_sender_failure),
        cmocka_unit_test(downgrade_drop_upgrade_unbounded),
        cmocka_unit_test(test_tx_count_weak_unbounded_sender),
        cmocka_unit_test(
            test_rx_is_closed_when_dropping_all_senders_except_weak_senders),
        cmocka_unit_test(
            test_rx_unbounded_is_closed_when_dropping_all_senders_except_weak_senders),
        cmocka_unit_test(sender_strong_count_when_cloned),
        cmocka_unit_test(sender_weak_count_when_downgraded),
        cmocka_unit_test(sender_strong_count_when_dropped),
        cmocka_unit_test(sender_weak_count_when_dropped),
        cmocka_unit_test(sender_strong_and_weak_conut),
        cmocka_unit_test(unbounded_sender_strong_count_when_cloned),
        cmocka_unit_test(unbounded_sender_weak_count_when_downgraded),
        cmocka_unit_test(unbounded_sender_strong_count_when_dropped),
        cmocka_unit_test(unbounded_sender_weak_count_when_dropped),
        cmocka_unit_test(unbounded_sender_strong_and_weak_conut),
        cmocka_unit_test(mpsc_weak_sender_frees_the_channel_last),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
