/*
 * oneshot: send/recv in both orders (the sender on another thread), closing
 * from either end, try_recv's three answers, the closed() future,
 * cancel-safety of a dropped receive, values of 0 and 1000 bytes, and no
 * leaks. KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

#define BIG 1000

static void begin(void) { test_alloc_install(); }

static void end(void) {
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Runs a receive to completion on `rt`; returns its output. */
static int recv_on(kr_runtime *rt, kr_oneshot_rx *rx, void *dst) {
    kr_oneshot_recv r = kr_oneshot_recv_future(rx, dst);
    int rc = 12345;
    assert_rc(kr_runtime_block_on(rt, &r.base, &rc), 0);
    return rc;
}

static void oneshot_send_then_recv(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    int v = 42, got = 0;
    assert_false(kr_oneshot_tx_is_closed(tx));
    assert_rc(kr_oneshot_send(tx, &v), 0);
    assert_rc(recv_on(rt, rx, &got), 0);
    assert_int_equal(got, 42);
    /* The one value is gone: a second receive reads closed. */
    assert_rc(recv_on(rt, rx, &got), KR_ECLOSED);
    assert_rc(kr_oneshot_try_recv(rx, &got), KR_ECLOSED);
    kr_oneshot_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

/* ---- the sender on another thread -------------------------------------- */

typedef struct {
    kr_oneshot_tx *tx;
    size_t size;
    int drop_instead;
    int rc;
} sender;

static void *sender_main(void *arg) {
    sender *s = arg;
    unsigned char buf[BIG];
    test_pattern_fill(buf, sizeof(buf), 3);
    test_sleep_ms(5); /* let the receiver park first */
    if (s->drop_instead)
        kr_oneshot_tx_drop(s->tx);
    else
        s->rc = kr_oneshot_send(s->tx, s->size ? buf : NULL);
    return NULL;
}

static void recv_then_send(size_t size, int drop_instead) {
    begin();
    kr_runtime *rt = test_runtime(0);
    sender s = {.size = size, .drop_instead = drop_instead, .rc = -1};
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(size, &s.tx, &rx), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender_main, &s), 0);
    unsigned char got[BIG + 16];
    memset(got, 0, sizeof(got));
    int rc = recv_on(rt, rx, got);
    pthread_join(th, NULL);
    if (drop_instead) {
        assert_rc(rc, KR_ECLOSED);
    } else {
        assert_rc(s.rc, 0);
        assert_rc(rc, 0);
        assert_true(test_pattern_check(got, size, 3));
        assert_true(test_all_zero(got + size, sizeof(got) - size));
    }
    kr_oneshot_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void oneshot_recv_then_send_from_thread_1000(void **state) {
    (void)state;
    recv_then_send(BIG, 0);
}
static void oneshot_recv_then_send_from_thread_0(void **state) {
    (void)state;
    recv_then_send(0, 0);
}
static void oneshot_sender_dropped_while_receiving(void **state) {
    (void)state;
    recv_then_send(8, 1);
}

static void oneshot_sender_dropped_before_recv(void **state) {
    (void)state;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    kr_oneshot_tx_drop(tx);
    assert_rc(kr_oneshot_try_recv(rx, NULL), KR_ECLOSED);
    int got = 7;
    assert_rc(recv_on(rt, rx, &got), KR_ECLOSED);
    assert_int_equal(got, 7); /* untouched */
    kr_oneshot_rx_drop(rx);
    test_runtime_free(rt);
    end();
}

static void oneshot_receiver_dropped_or_closed(void **state) {
    (void)state;
    begin();
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    int v = 1, got = 0;

    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    kr_oneshot_rx_drop(rx);
    assert_true(kr_oneshot_tx_is_closed(tx));
    assert_rc(kr_oneshot_send(tx, &v), KR_ECLOSED);

    /* Closing without dropping: sends fail, receiving reads closed. */
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    kr_oneshot_rx_close(rx);
    kr_oneshot_rx_close(rx); /* idempotent */
    assert_true(kr_oneshot_tx_is_closed(tx));
    assert_rc(kr_oneshot_send(tx, &v), KR_ECLOSED);
    assert_rc(kr_oneshot_try_recv(rx, &got), KR_ECLOSED);
    kr_oneshot_rx_drop(rx);

    /* A value sent before the close can still be received. */
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    v = 5;
    assert_rc(kr_oneshot_send(tx, &v), 0);
    kr_oneshot_rx_close(rx);
    assert_rc(kr_oneshot_try_recv(rx, &got), 0);
    assert_int_equal(got, 5);
    kr_oneshot_rx_drop(rx);
    end();
}

static void oneshot_try_recv(void **state) {
    (void)state;
    begin();
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    unsigned char v[BIG], got[BIG];
    test_pattern_fill(v, sizeof(v), 11);
    assert_rc(kr_oneshot_new(BIG, &tx, &rx), 0);
    assert_rc(kr_oneshot_try_recv(rx, got), KR_EEMPTY);
    assert_rc(kr_oneshot_try_recv(rx, got), KR_EEMPTY);
    assert_rc(kr_oneshot_send(tx, v), 0);
    memset(got, 0, sizeof(got));
    assert_rc(kr_oneshot_try_recv(rx, got), 0);
    assert_memory_equal(got, v, sizeof(v));
    assert_rc(kr_oneshot_try_recv(rx, got), KR_ECLOSED); /* taken */
    kr_oneshot_rx_drop(rx);

    /* A NULL destination discards the value. */
    assert_rc(kr_oneshot_new(BIG, &tx, &rx), 0);
    assert_rc(kr_oneshot_send(tx, v), 0);
    assert_rc(kr_oneshot_try_recv(rx, NULL), 0);
    assert_rc(kr_oneshot_try_recv(rx, NULL), KR_ECLOSED);
    kr_oneshot_rx_drop(rx);

    /* A pure signal: size 0, NULL value. */
    assert_rc(kr_oneshot_new(0, &tx, &rx), 0);
    assert_rc(kr_oneshot_try_recv(rx, NULL), KR_EEMPTY);
    assert_rc(kr_oneshot_send(tx, NULL), 0);
    assert_rc(kr_oneshot_try_recv(rx, NULL), 0);
    kr_oneshot_rx_drop(rx);

    /* The sender went without sending. */
    assert_rc(kr_oneshot_new(0, &tx, &rx), 0);
    kr_oneshot_tx_drop(tx);
    assert_rc(kr_oneshot_try_recv(rx, NULL), KR_ECLOSED);
    kr_oneshot_rx_drop(rx);
    end();
}

/* ---- closed() ----------------------------------------------------------- */

typedef struct {
    kr_oneshot_rx *rx;
    int close_only;
} closer;

static void *closer_main(void *arg) {
    closer *c = arg;
    test_sleep_ms(5);
    if (c->close_only)
        kr_oneshot_rx_close(c->rx);
    else
        kr_oneshot_rx_drop(c->rx);
    return NULL;
}

static void closed_when(int close_only) {
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_oneshot_tx *tx;
    closer c = {.close_only = close_only};
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &c.rx), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, closer_main, &c), 0);
    kr_oneshot_closed cl = kr_oneshot_tx_closed(tx);
    assert_rc(kr_runtime_block_on(rt, &cl.base, NULL), 0);
    pthread_join(th, NULL);
    assert_true(kr_oneshot_tx_is_closed(tx));
    /* Already closed: completes on its first poll. */
    kr_oneshot_closed again = kr_oneshot_tx_closed(tx);
    assert_rc(kr_runtime_block_on(rt, &again.base, NULL), 0);
    int v = 3;
    assert_rc(kr_oneshot_send(tx, &v), KR_ECLOSED);
    if (close_only)
        kr_oneshot_rx_drop(c.rx);
    test_runtime_free(rt);
    end();
}

static void oneshot_tx_closed_when_rx_dropped(void **state) {
    (void)state;
    closed_when(0);
}
static void oneshot_tx_closed_when_rx_closed(void **state) {
    (void)state;
    closed_when(1);
}

/* ---- by hand: cancel safety and stored wakers -------------------------- */

static void oneshot_recv_cancel_safe(void **state) {
    (void)state;
    begin();
    test_wcount c = {0};
    kr_waker w = test_wcount_waker(&c);
    kr_context cx = kr_context_from_waker(&w);
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    int got = 0, rc = 0;

    kr_oneshot_recv r1 = kr_oneshot_recv_future(rx, &got);
    assert_int_equal(kr_future_poll(&r1.base, &cx, &rc), KR_PENDING);
    assert_int_equal(kr_future_poll(&r1.base, &cx, &rc), KR_PENDING);
    assert_int_equal(c.clones, 1); /* the same waker is stored once */
    kr_future_drop(&r1.base);      /* cancelled while pending */

    int v = 99;
    assert_rc(kr_oneshot_send(tx, &v), 0);
    /* The stale waker may be woken (a spurious wake); nothing is lost. */
    kr_oneshot_recv r2 = kr_oneshot_recv_future(rx, &got);
    assert_int_equal(kr_future_poll(&r2.base, &cx, &rc), KR_READY);
    assert_rc(rc, 0);
    assert_int_equal(got, 99);
    kr_oneshot_rx_drop(rx); /* the last end: frees the stored waker */
    assert_int_equal(c.clones, c.wakes + c.drops);
    end();
}

static void oneshot_closed_future_dropped_pending(void **state) {
    (void)state;
    begin();
    test_wcount c = {0};
    kr_waker w = test_wcount_waker(&c);
    kr_context cx = kr_context_from_waker(&w);
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(0, &tx, &rx), 0);
    kr_oneshot_closed cl = kr_oneshot_tx_closed(tx);
    assert_int_equal(kr_future_poll(&cl.base, &cx, NULL), KR_PENDING);
    assert_int_equal(c.clones, 1);
    kr_future_drop(&cl.base);
    kr_oneshot_rx_drop(rx);       /* may wake the stale waker: harmless */
    assert_int_equal(c.wakes, 0); /* a wake by reference, if any */
    assert_rc(kr_oneshot_send(tx, NULL), KR_ECLOSED);
    assert_int_equal(c.clones, c.wakes + c.drops);
    end();
}

/* ---- is_terminated / is_empty (tokio/tests/sync_oneshot.rs) ------------- */

/* Polls a receive once by hand (Tokio's task.enter(|cx| rx.poll(cx))):
 * returns its output, or 1 if it was pending. */
static int poll_recv_once(kr_oneshot_rx *rx, int *dst) {
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    kr_oneshot_recv r = kr_oneshot_recv_future(rx, dst);
    int rc = 12345;
    if (kr_future_poll(&r.base, &cx, &rc) == KR_PENDING) {
        kr_future_drop(&r.base);
        return 1;
    }
    kr_future_drop(&r.base);
    return rc;
}

/* tokio sync_oneshot.rs::receiver_is_terminated_send */
static void receiver_is_terminated_send(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    int v = 17, got = 0;
    assert_rc(kr_oneshot_send(tx, &v), 0);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    assert_rc(poll_recv_once(rx, &got), 0);
    assert_int_equal(got, 17);
    assert_true(kr_oneshot_rx_is_terminated(rx));
    kr_oneshot_rx_drop(rx);
}

/* tokio sync_oneshot.rs::receiver_is_terminated_try_recv */
static void receiver_is_terminated_try_recv(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    int v = 17, got = 0;
    assert_rc(kr_oneshot_try_recv(rx, &got), KR_EEMPTY);
    assert_false(kr_oneshot_rx_is_terminated(rx)); /* empty: not yet */
    assert_rc(kr_oneshot_send(tx, &v), 0);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    assert_rc(kr_oneshot_try_recv(rx, &got), 0);
    assert_int_equal(got, 17);
    assert_true(kr_oneshot_rx_is_terminated(rx));
    kr_oneshot_rx_drop(rx);
}

/* tokio sync_oneshot.rs::receiver_is_terminated_drop */
static void receiver_is_terminated_drop(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    kr_oneshot_tx_drop(tx);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    int got = 0;
    assert_rc(poll_recv_once(rx, &got), KR_ECLOSED);
    assert_true(kr_oneshot_rx_is_terminated(rx));
    kr_oneshot_rx_drop(rx);
}

/* tokio sync_oneshot.rs::receiver_is_terminated_rx_close */
static void receiver_is_terminated_rx_close(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    kr_oneshot_rx_close(rx);
    assert_false(kr_oneshot_rx_is_terminated(rx));
    int got = 0;
    assert_rc(poll_recv_once(rx, &got), KR_ECLOSED);
    assert_true(kr_oneshot_rx_is_terminated(rx));
    kr_oneshot_tx_drop(tx);
    kr_oneshot_rx_drop(rx);
}

/* tokio sync_oneshot.rs::receiver_is_empty_send */
static void receiver_is_empty_send(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_true(kr_oneshot_rx_is_empty(rx));
    int v = 17, got = 0;
    assert_rc(kr_oneshot_send(tx, &v), 0);
    assert_false(kr_oneshot_rx_is_empty(rx));
    assert_rc(poll_recv_once(rx, &got), 0);
    assert_int_equal(got, 17);
    assert_true(kr_oneshot_rx_is_empty(rx));
    kr_oneshot_rx_drop(rx);
}

/* tokio sync_oneshot.rs::receiver_is_empty_try_recv */
static void receiver_is_empty_try_recv(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_true(kr_oneshot_rx_is_empty(rx));
    int v = 17, got = 0;
    assert_rc(kr_oneshot_send(tx, &v), 0);
    assert_false(kr_oneshot_rx_is_empty(rx));
    assert_rc(kr_oneshot_try_recv(rx, &got), 0);
    assert_int_equal(got, 17);
    assert_true(kr_oneshot_rx_is_empty(rx));
    kr_oneshot_rx_drop(rx);
}

/* tokio sync_oneshot.rs::receiver_is_empty_drop */
static void receiver_is_empty_drop(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_true(kr_oneshot_rx_is_empty(rx));
    kr_oneshot_tx_drop(tx);
    assert_true(kr_oneshot_rx_is_empty(rx));
    int got = 0;
    assert_rc(poll_recv_once(rx, &got), KR_ECLOSED);
    assert_true(kr_oneshot_rx_is_empty(rx));
    kr_oneshot_rx_drop(rx);
}

/* tokio sync_oneshot.rs::receiver_is_empty_rx_close */
static void receiver_is_empty_rx_close(void **state) {
    (void)state;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_true(kr_oneshot_rx_is_empty(rx));
    kr_oneshot_rx_close(rx);
    assert_true(kr_oneshot_rx_is_empty(rx));
    /* kairo: a value sent before the close stays receivable, and the
     * receiver is not empty until it is taken. */
    kr_oneshot_tx_drop(tx);
    kr_oneshot_rx_drop(rx);
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    int v = 5, got = 0;
    assert_rc(kr_oneshot_send(tx, &v), 0);
    kr_oneshot_rx_close(rx);
    assert_false(kr_oneshot_rx_is_empty(rx));
    assert_rc(kr_oneshot_try_recv(rx, &got), 0);
    assert_true(kr_oneshot_rx_is_empty(rx));
    assert_true(kr_oneshot_rx_is_terminated(rx));
    assert_true(kr_oneshot_rx_is_empty(NULL));
    assert_true(kr_oneshot_rx_is_terminated(NULL));
    kr_oneshot_rx_drop(rx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(oneshot_send_then_recv),
    cmocka_unit_test(oneshot_recv_then_send_from_thread_1000),
    cmocka_unit_test(oneshot_recv_then_send_from_thread_0),
    cmocka_unit_test(oneshot_sender_dropped_while_receiving),
    cmocka_unit_test(oneshot_sender_dropped_before_recv),
    cmocka_unit_test(oneshot_receiver_dropped_or_closed),
    cmocka_unit_test(oneshot_try_recv),
    cmocka_unit_test(oneshot_tx_closed_when_rx_dropped),
    cmocka_unit_test(oneshot_tx_closed_when_rx_closed),
    cmocka_unit_test(oneshot_recv_cancel_safe),
    cmocka_unit_test(oneshot_closed_future_dropped_pending),
    cmocka_unit_test(receiver_is_terminated_send),
    cmocka_unit_test(receiver_is_terminated_try_recv),
    cmocka_unit_test(receiver_is_terminated_drop),
    cmocka_unit_test(receiver_is_terminated_rx_close),
    cmocka_unit_test(receiver_is_empty_send),
    cmocka_unit_test(receiver_is_empty_try_recv),
    cmocka_unit_test(receiver_is_empty_drop),
    cmocka_unit_test(receiver_is_empty_rx_close),
};
KR_TEST_MAIN(tests)
