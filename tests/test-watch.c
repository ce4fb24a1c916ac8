/*
 * watch: Tokio's tokio/tests/sync_watch.rs ported test by test (same
 * names), then kairo's own: send_modify / send_if_modified /
 * send_replace / borrow_with, drops of waiting futures, close while 40
 * wait, and receiver tasks that see only increasing values and always the
 * last one. KR_TEST_FLAVORS: ct mt
 *
 * Deliberate differences: values are ints copied as bytes (Tokio's &str);
 * send_modify_panic is not ported (C has no panics); Tokio's select!
 * against yield_now in the *_is_cooperative tests becomes a spawned loop
 * that must let a block_on'd yield complete.
 */
#include "mock_task.h"

static void begin(void) { test_alloc_install(); }
static void end(void) {
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void chan(int init, kr_watch_tx **tx, kr_watch_rx **rx) {
    assert_rc(kr_watch_new(sizeof(int), &init, tx, rx), 0);
}
static int borrow(kr_watch_rx *rx) {
    int v = -1;
    assert_rc(kr_watch_borrow(rx, &v), 0);
    return v;
}
static int borrow_upd(kr_watch_rx *rx) {
    int v = -1;
    assert_rc(kr_watch_borrow_and_update(rx, &v), 0);
    return v;
}
static void send(kr_watch_tx *tx, int v) {
    assert_rc(kr_watch_send(tx, &v), 0);
}
static kr_watch_rx *clone_rx(kr_watch_rx *rx) {
    kr_watch_rx *r = NULL;
    assert_rc(kr_watch_rx_clone(rx, &r), 0);
    return r;
}

static void single_rx_recv(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    mock_task t;
    mock_init(&t);
    kr_watch_changed c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    kr_future_drop(&c.base);
    assert_int_equal(borrow(rx), 1);
    c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    send(tx, 2);
    assert_true(mock_woken(&t));
    assert_rc(mock_ready_int(&t, &c.base), 0);
    kr_future_drop(&c.base);
    assert_int_equal(borrow(rx), 2);
    c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    kr_watch_tx_drop(tx);
    assert_true(mock_woken(&t));
    assert_rc(mock_ready_int(&t, &c.base), KR_ECLOSED);
    kr_future_drop(&c.base);
    assert_int_equal(borrow(rx), 2);
    kr_watch_rx_drop(rx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

static void rx_version_underflow(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    kr_watch_mark_changed(rx);
    kr_watch_mark_changed(rx);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    kr_watch_rx_drop(rx);
    kr_watch_tx_drop(tx);
    end();
}

static void rx_mark_changed(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    kr_watch_rx *rx2 = clone_rx(rx), *rx3 = clone_rx(rx), *rx4 = clone_rx(rx);
    mock_task t;
    mock_init(&t);
    kr_watch_mark_changed(rx);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    kr_watch_changed c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), 0);
    kr_future_drop(&c.base);

    assert_int_equal(kr_watch_has_changed(rx2), 0);
    c = kr_watch_changed_future(rx2);
    mock_pending(&t, &c.base);
    kr_future_drop(&c.base);

    kr_watch_mark_changed(rx3);
    assert_int_equal(borrow(rx3), 1);
    assert_int_equal(kr_watch_has_changed(rx3), 1);
    assert_int_equal(borrow_upd(rx3), 1);
    assert_int_equal(kr_watch_has_changed(rx3), 0);
    c = kr_watch_changed_future(rx3);
    mock_pending(&t, &c.base);
    kr_future_drop(&c.base);

    send(tx, 2);
    assert_int_equal(kr_watch_has_changed(rx4), 1);
    assert_int_equal(borrow_upd(rx4), 2);
    kr_watch_mark_changed(rx4);
    assert_int_equal(kr_watch_has_changed(rx4), 1);
    assert_int_equal(borrow_upd(rx4), 2);
    assert_int_equal(borrow(rx), 2);
    kr_watch_rx_drop(rx);
    kr_watch_rx_drop(rx2);
    kr_watch_rx_drop(rx3);
    kr_watch_rx_drop(rx4);
    kr_watch_tx_drop(tx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

static void rx_mark_unchanged(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    kr_watch_rx *rx2 = clone_rx(rx);
    mock_task t;
    mock_init(&t);
    assert_int_equal(kr_watch_has_changed(rx), 0);
    kr_watch_mark_changed(rx);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    kr_watch_mark_unchanged(rx);
    assert_int_equal(kr_watch_has_changed(rx), 0);
    kr_watch_changed c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    kr_future_drop(&c.base);

    assert_int_equal(kr_watch_has_changed(rx2), 0);
    send(tx, 2);
    assert_int_equal(kr_watch_has_changed(rx2), 1);
    kr_watch_mark_unchanged(rx2);
    assert_int_equal(kr_watch_has_changed(rx2), 0);
    assert_int_equal(borrow_upd(rx2), 2);
    assert_int_equal(borrow(rx), 2);
    kr_watch_rx_drop(rx);
    kr_watch_rx_drop(rx2);
    kr_watch_tx_drop(tx);
    end();
}

static void multi_rx(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx1;
    chan(1, &tx, &rx1);
    kr_watch_rx *rx2 = clone_rx(rx1);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    kr_watch_changed c1 = kr_watch_changed_future(rx1);
    kr_watch_changed c2 = kr_watch_changed_future(rx2);
    mock_pending(&t1, &c1.base);
    mock_pending(&t2, &c2.base);
    kr_future_drop(&c1.base);
    kr_future_drop(&c2.base);
    assert_int_equal(borrow(rx1), 1);
    assert_int_equal(borrow(rx2), 1);

    c2 = kr_watch_changed_future(rx2);
    c1 = kr_watch_changed_future(rx1);
    mock_pending(&t1, &c1.base);
    mock_pending(&t2, &c2.base);
    send(tx, 2);
    assert_true(mock_woken(&t1));
    assert_true(mock_woken(&t2));
    assert_rc(mock_ready_int(&t1, &c1.base), 0);
    kr_future_drop(&c1.base);
    assert_int_equal(borrow(rx1), 2);

    c1 = kr_watch_changed_future(rx1);
    mock_pending(&t1, &c1.base);
    send(tx, 3);
    assert_true(mock_woken(&t1));
    assert_rc(mock_ready_int(&t1, &c1.base), 0);
    assert_rc(mock_ready_int(&t2, &c2.base), 0);
    kr_future_drop(&c1.base);
    kr_future_drop(&c2.base);
    assert_int_equal(borrow(rx1), 3);
    assert_int_equal(borrow(rx2), 3);

    c1 = kr_watch_changed_future(rx1);
    c2 = kr_watch_changed_future(rx2);
    mock_pending(&t1, &c1.base);
    mock_pending(&t2, &c2.base);
    send(tx, 4);
    assert_rc(mock_ready_int(&t1, &c1.base), 0);
    assert_rc(mock_ready_int(&t2, &c2.base), 0);
    kr_future_drop(&c1.base);
    kr_future_drop(&c2.base);
    assert_int_equal(borrow(rx1), 4);
    assert_int_equal(borrow(rx2), 4);
    kr_watch_rx_drop(rx1);
    kr_watch_rx_drop(rx2);
    kr_watch_tx_drop(tx);
    assert_int_equal(atomic_load(&t1.refs) + atomic_load(&t2.refs), 0);
    end();
}

static void rx_observes_final_value(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    mock_task t;
    mock_init(&t);
    chan(1, &tx, &rx);
    kr_watch_tx_drop(tx);
    kr_watch_changed c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), KR_ECLOSED);
    assert_int_equal(borrow(rx), 1);
    kr_watch_rx_drop(rx);

    chan(1, &tx, &rx);
    send(tx, 2);
    c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), 0);
    assert_int_equal(borrow(rx), 2);
    c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    send(tx, 3);
    kr_watch_tx_drop(tx);
    assert_true(mock_woken(&t));
    assert_rc(mock_ready_int(&t, &c.base), 0);
    assert_int_equal(borrow(rx), 3);
    c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), KR_ECLOSED);
    assert_int_equal(borrow(rx), 3);
    kr_watch_rx_drop(rx);
    end();
}

static void poll_close(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    mock_task t;
    mock_init(&t);
    kr_watch_closed c = kr_watch_tx_closed(tx);
    assert_int_equal(mock_poll(&t, &c.base, NULL), KR_PENDING);
    kr_watch_rx_drop(rx);
    assert_true(mock_woken(&t));
    assert_int_equal(mock_poll(&t, &c.base, NULL), KR_READY);
    int v = 2;
    assert_rc(kr_watch_send(tx, &v), KR_ECLOSED);
    kr_watch_tx_drop(tx);
    end();
}

static void borrow_and_update(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    mock_task t;
    mock_init(&t);
    assert_int_equal(kr_watch_has_changed(rx), 0);
    send(tx, 2);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    kr_watch_changed c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), 0);
    c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    kr_future_drop(&c.base);
    assert_int_equal(kr_watch_has_changed(rx), 0);
    send(tx, 3);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    assert_int_equal(borrow_upd(rx), 3);
    c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    kr_future_drop(&c.base);
    assert_int_equal(kr_watch_has_changed(rx), 0);
    kr_watch_tx_drop(tx);
    assert_int_equal(borrow_upd(rx), 3);
    c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), KR_ECLOSED);
    assert_rc(kr_watch_has_changed(rx), KR_ECLOSED);
    kr_watch_rx_drop(rx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

static void reopened_after_subscribe(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    assert_false(kr_watch_tx_is_closed(tx));
    kr_watch_rx_drop(rx);
    assert_true(kr_watch_tx_is_closed(tx));
    assert_rc(kr_watch_subscribe(tx, &rx), 0);
    assert_false(kr_watch_tx_is_closed(tx));
    kr_watch_rx_drop(rx);
    assert_true(kr_watch_tx_is_closed(tx));
    kr_watch_tx_drop(tx);
    end();
}

/* rx.changed; borrow_and_update; changed; borrow_and_update. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_watch_changed c;
    kr_watch_rx *rx;
    int rc, v1, v2;
} two_changes;
static kr_poll two_changes_poll(kr_future *f, kr_context *cx, void *out) {
    two_changes *t = (two_changes *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->c = kr_watch_changed_future(t->rx);
    KR_AWAIT(&t->co, &t->c.base, cx, &t->rc);
    assert_rc(t->rc, 0);
    t->v1 = borrow_upd(t->rx);
    t->c = kr_watch_changed_future(t->rx);
    KR_AWAIT(&t->co, &t->c.base, cx, &t->rc);
    assert_rc(t->rc, 0);
    t->v2 = borrow_upd(t->rx);
    KR_RETURN(&t->co, out, int, t->v1 * 10 + t->v2);
    KR_ASYNC_END(&t->co);
}
static void two_changes_drop(kr_future *f) {
    kr_coro_drop(&((two_changes *)f)->co);
}
KR_FUTURE_VTABLE(two_changes_vt, two_changes, two_changes_poll,
                 two_changes_drop, sizeof(int));

static void multiple_sender(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx1;
    kr_watch_rx *rx;
    chan(0, &tx1, &rx);
    kr_watch_tx *tx2 = kr_watch_tx_clone(tx1);
    mock_task t;
    mock_init(&t);
    two_changes f = {.base = {&two_changes_vt}, .co = KR_CORO_INIT, .rx = rx};
    send(tx1, 1);
    mock_pending(&t, &f.base);
    send(tx2, 2);
    assert_int_equal(mock_ready_int(&t, &f.base), 12);
    kr_future_drop(&f.base);
    kr_watch_rx_drop(rx);
    kr_watch_tx_drop(tx1);
    kr_watch_tx_drop(tx2);
    end();
}

static void receiver_is_notified_when_last_sender_is_dropped(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx1;
    kr_watch_rx *rx;
    chan(0, &tx1, &rx);
    kr_watch_tx *tx2 = kr_watch_tx_clone(tx1);
    mock_task t;
    mock_init(&t);
    kr_watch_changed c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    kr_watch_tx_drop(tx1);
    assert_false(mock_woken(&t));
    kr_watch_tx_drop(tx2);
    assert_true(mock_woken(&t));
    kr_future_drop(&c.base);
    kr_watch_rx_drop(rx);
    end();
}

/* ---- the *_is_cooperative family --------------------------------------- */

enum { CHANGED_CLOSED, CHANGED_OK, WAIT_FOR_CLOSED, WAIT_FOR_OK, TX_CLOSED };

static bool is_one(const void *v, void *arg) {
    (void)arg;
    return *(const int *)v == 1;
}

typedef struct {
    kr_future base;
    kr_coro co;
    union {
        kr_watch_changed c;
        kr_watch_wait_for w;
        kr_watch_closed cl;
    } u;
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    int mode, rc;
} loop_task;

static kr_poll loop_poll(kr_future *f, kr_context *cx, void *out) {
    loop_task *t = (loop_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (;;) {
        if (t->mode == CHANGED_OK || t->mode == WAIT_FOR_OK)
            send(t->tx, 1);
        if (t->mode == CHANGED_CLOSED || t->mode == CHANGED_OK) {
            t->u.c = kr_watch_changed_future(t->rx);
            KR_AWAIT(&t->co, &t->u.c.base, cx, &t->rc);
            assert_rc(t->rc, t->mode == CHANGED_OK ? 0 : KR_ECLOSED);
        } else if (t->mode == TX_CLOSED) {
            t->u.cl = kr_watch_tx_closed(t->tx);
            KR_AWAIT(&t->co, &t->u.cl.base, cx, NULL);
        } else {
            t->u.w = kr_watch_wait_for_future(t->rx, is_one, NULL, NULL);
            KR_AWAIT(&t->co, &t->u.w.base, cx, &t->rc);
            assert_rc(t->rc, t->mode == WAIT_FOR_OK ? 0 : KR_ECLOSED);
        }
    }
    KR_ASYNC_END(&t->co);
}
static void loop_drop(kr_future *f) { kr_coro_drop(&((loop_task *)f)->co); }
KR_FUTURE_VTABLE(loop_vt, loop_task, loop_poll, loop_drop, 0);

static void cooperative(int mode) {
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(0, &tx, &rx);
    if (mode == CHANGED_CLOSED || mode == WAIT_FOR_CLOSED) {
        kr_watch_tx_drop(tx);
        tx = NULL;
    }
    if (mode == TX_CLOSED) {
        kr_watch_rx_drop(rx);
        rx = NULL;
    }
    loop_task t = {.base = {&loop_vt}, .co = KR_CORO_INIT};
    t.tx = tx;
    t.rx = rx;
    t.mode = mode;
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &t.base, &jh), 0);
    kr_yield y = kr_yield_now();
    assert_rc(kr_runtime_block_on(rt, &y.base, NULL), 0);
    assert_rc(kr_join_handle_abort(&jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    kr_watch_rx_drop(rx);
    kr_watch_tx_drop(tx);
    test_runtime_free(rt);
    end();
}
static void receiver_changed_is_cooperative(void **state) {
    (void)state;
    cooperative(CHANGED_CLOSED);
}
static void receiver_changed_is_cooperative_ok(void **state) {
    (void)state;
    cooperative(CHANGED_OK);
}
static void receiver_wait_for_is_cooperative(void **state) {
    (void)state;
    cooperative(WAIT_FOR_CLOSED);
}
static void receiver_wait_for_is_cooperative_ok(void **state) {
    (void)state;
    cooperative(WAIT_FOR_OK);
}
static void sender_closed_is_cooperative(void **state) {
    (void)state;
    cooperative(TX_CLOSED);
}

static void changed_succeeds_on_closed_channel_with_unseen_value(void **s) {
    (void)s;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    send(tx, 2);
    kr_watch_tx_drop(tx);
    mock_task t;
    mock_init(&t);
    kr_watch_changed c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), 0);
    kr_watch_rx_drop(rx);
    end();
}

static void changed_errors_on_closed_channel_with_seen_value(void **s) {
    (void)s;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    kr_watch_tx_drop(tx);
    mock_task t;
    mock_init(&t);
    kr_watch_changed c = kr_watch_changed_future(rx);
    assert_rc(mock_ready_int(&t, &c.base), KR_ECLOSED);
    kr_watch_rx_drop(rx);
    end();
}

static void has_changed_errors_on_closed_channel_with_unseen_value(void **s) {
    (void)s;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    send(tx, 2);
    kr_watch_tx_drop(tx);
    assert_rc(kr_watch_has_changed(rx), KR_ECLOSED);
    kr_watch_rx_drop(rx);
    end();
}

static void has_changed_errors_on_closed_channel_with_seen_value(void **s) {
    (void)s;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    kr_watch_tx_drop(tx);
    assert_rc(kr_watch_has_changed(rx), KR_ECLOSED);
    kr_watch_rx_drop(rx);
    end();
}

static bool always(const void *v, void *arg) {
    (void)v;
    (void)arg;
    return true;
}

static void wait_for_errors_on_closed_channel_true_predicate(void **s) {
    (void)s;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(1, &tx, &rx);
    send(tx, 2);
    kr_watch_tx_drop(tx);
    mock_task t;
    mock_init(&t);
    int v = 0;
    kr_watch_wait_for w = kr_watch_wait_for_future(rx, always, NULL, &v);
    assert_rc(mock_ready_int(&t, &w.base), 0);
    assert_int_equal(v, 2);
    kr_watch_rx_drop(rx);
    end();
}

/* ---- kairo's own ------------------------------------------------------- */

static void add(void *v, void *arg) { *(int *)v += *(int *)arg; }
static bool add_if_positive(void *v, void *arg) {
    if (*(int *)arg <= 0)
        return false;
    *(int *)v += *(int *)arg;
    return true;
}
static void read_into(const void *v, void *arg) {
    *(int *)arg = *(const int *)v;
}

static void watch_send_modify_replace_and_borrow_with(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(10, &tx, &rx);
    int five = 5, minus = -1, old = 0, seen = 0;
    assert_rc(kr_watch_send_modify(tx, add, &five), 0);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    assert_int_equal(borrow_upd(rx), 15);
    assert_int_equal(kr_watch_send_if_modified(tx, add_if_positive, &minus), 0);
    assert_int_equal(kr_watch_has_changed(rx), 0);
    assert_int_equal(kr_watch_send_if_modified(tx, add_if_positive, &five), 1);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    assert_rc(kr_watch_borrow_with(rx, read_into, &seen), 0);
    assert_int_equal(seen, 20);
    kr_watch_rx_drop(rx);
    /* No receiver: send refuses, replace and modify still store. */
    int v = 99;
    assert_rc(kr_watch_send(tx, &v), KR_ECLOSED);
    assert_rc(kr_watch_send_replace(tx, &v, &old), 0);
    assert_int_equal(old, 20);
    assert_rc(kr_watch_send_modify(tx, add, &five), 0);
    assert_rc(kr_watch_tx_borrow(tx, &v), 0);
    assert_int_equal(v, 104);
    assert_int_equal(kr_watch_receiver_count(tx), 0);
    kr_watch_tx_drop(tx);
    end();
}

/* Drops at every await point: a changed dropped while waiting and one
 * dropped after its wake, before its poll: the change stays unseen, no
 * waker is kept. */
static void watch_drop_waiting_changed_loses_nothing(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    kr_watch_rx *rx;
    chan(0, &tx, &rx);
    mock_task t;
    mock_init(&t);
    kr_watch_changed c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    kr_future_drop(&c.base);
    assert_int_equal(atomic_load(&t.refs), 0);
    c = kr_watch_changed_future(rx);
    mock_pending(&t, &c.base);
    send(tx, 1);
    assert_true(mock_woken(&t));
    kr_future_drop(&c.base);
    assert_int_equal(kr_watch_has_changed(rx), 1);
    kr_watch_wait_for w = kr_watch_wait_for_future(rx, is_one, NULL, NULL);
    assert_rc(mock_ready_int(&t, &w.base), 0);
    assert_int_equal(kr_watch_has_changed(rx), 0);
    kr_watch_rx_drop(rx);
    kr_watch_tx_drop(tx);
    assert_int_equal(atomic_load(&t.refs), 0);
    end();
}

/* 40 receivers wait (more than one wake batch); the last sender goes. */
static void watch_close_while_receivers_wait(void **state) {
    (void)state;
    begin();
    kr_watch_tx *tx;
    assert_rc(kr_watch_new(sizeof(int), NULL, &tx, NULL), 0);
    enum { N = 40 };
    kr_watch_rx *rx[N];
    kr_watch_changed c[N];
    mock_task t[N];
    for (int i = 0; i < N; i++) {
        assert_rc(kr_watch_subscribe(tx, &rx[i]), 0);
        mock_init(&t[i]);
        c[i] = kr_watch_changed_future(rx[i]);
        mock_pending(&t[i], &c[i].base);
    }
    kr_watch_tx_drop(tx);
    for (int i = 0; i < N; i++) {
        assert_true(mock_woken(&t[i]));
        assert_rc(mock_ready_int(&t[i], &c[i].base), KR_ECLOSED);
        kr_watch_rx_drop(rx[i]);
        assert_int_equal(atomic_load(&t[i].refs), 0);
    }
    end();
}

/* 16 receiver tasks, a sender thread storing 1..20000: each receiver sees
 * strictly increasing values and ends on the last. */
#define WATCHERS 16
#define LAST     20000

typedef struct {
    kr_future base;
    kr_coro co;
    kr_watch_changed c;
    kr_watch_rx *rx;
    int rc, v, prev;
    long changes;
} watcher;
static kr_poll watcher_poll(kr_future *f, kr_context *cx, void *out) {
    watcher *w = (watcher *)f;
    KR_ASYNC_BEGIN(&w->co);
    for (;;) {
        w->c = kr_watch_changed_future(w->rx);
        KR_AWAIT(&w->co, &w->c.base, cx, &w->rc);
        if (w->rc == KR_ECLOSED)
            break;
        w->v = borrow_upd(w->rx);
        assert_true(w->v > w->prev);
        w->prev = w->v;
        w->changes++;
    }
    assert_int_equal(borrow(w->rx), LAST);
    assert_int_equal(w->prev, LAST);
    kr_watch_rx_drop(w->rx);
    w->rx = NULL;
    KR_ASYNC_END(&w->co);
}
static void watcher_drop(kr_future *f) {
    watcher *w = (watcher *)f;
    kr_coro_drop(&w->co);
    kr_watch_rx_drop(w->rx);
}
KR_FUTURE_VTABLE(watcher_vt, watcher, watcher_poll, watcher_drop, 0);

static void *store_thread(void *arg) {
    kr_watch_tx *tx = arg;
    for (int i = 1; i <= LAST; i++)
        assert_rc(kr_watch_send_replace(tx, &i, NULL), 0);
    kr_watch_tx_drop(tx);
    return NULL;
}

static void watch_receivers_see_increasing_values_and_the_last(void **s) {
    (void)s;
    begin();
    kr_runtime *rt = test_runtime(0);
    kr_watch_tx *tx;
    assert_rc(kr_watch_new(sizeof(int), NULL, &tx, NULL), 0);
    kr_join_handle jh[WATCHERS];
    for (int i = 0; i < WATCHERS; i++) {
        watcher w = {.base = {&watcher_vt}, .co = KR_CORO_INIT};
        assert_rc(kr_watch_subscribe(tx, &w.rx), 0);
        assert_rc(kr_runtime_spawn(rt, &w.base, &jh[i]), 0);
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, store_thread, tx), 0);
    for (int i = 0; i < WATCHERS; i++)
        assert_rc(kr_runtime_block_on(rt, &jh[i].base, NULL), 0);
    pthread_join(th, NULL);
    test_runtime_free(rt);
    end();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_rx_recv),
        cmocka_unit_test(rx_version_underflow),
        cmocka_unit_test(rx_mark_changed),
        cmocka_unit_test(rx_mark_unchanged),
        cmocka_unit_test(multi_rx),
        cmocka_unit_test(rx_observes_final_value),
        cmocka_unit_test(poll_close),
        cmocka_unit_test(borrow_and_update),
        cmocka_unit_test(reopened_after_subscribe),
        cmocka_unit_test(multiple_sender),
        cmocka_unit_test(receiver_is_notified_when_last_sender_is_dropped),
        cmocka_unit_test(receiver_changed_is_cooperative),
        cmocka_unit_test(receiver_changed_is_cooperative_ok),
        cmocka_unit_test(receiver_wait_for_is_cooperative),
        cmocka_unit_test(receiver_wait_for_is_cooperative_ok),
        cmocka_unit_test(sender_closed_is_cooperative),
        cmocka_unit_test(changed_succeeds_on_closed_channel_with_unseen_value),
        cmocka_unit_test(changed_errors_on_closed_channel_with_seen_value),
        cmocka_unit_test(
            has_changed_errors_on_closed_channel_with_unseen_value),
        cmocka_unit_test(has_changed_errors_on_closed_channel_with_seen_value),
        cmocka_unit_test(wait_for_errors_on_closed_channel_true_predicate),
        cmocka_unit_test(watch_send_modify_replace_and_borrow_with),
        cmocka_unit_test(watch_drop_waiting_changed_loses_nothing),
        cmocka_unit_test(watch_close_while_receivers_wait),
        cmocka_unit_test(watch_receivers_see_increasing_values_and_the_last),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
