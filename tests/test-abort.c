/*
 * Aborting a task at each await point of a coroutine that awaits, in turn,
 * (1) a yield, (2) a oneshot receive, (3) a child's join handle and (4) a
 * timer woken from a plain thread. At each point: the coroutine's drop runs
 * exactly once, the awaited child is dropped (through kr_coro_drop), the
 * handle reads KR_ECANCELED and yields zeroes. Abort after completion is a
 * no-op; abort before the first poll drops a never-polled future.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

#define NPOINTS    4
#define DONE_POINT (NPOINTS + 1) /* the latch count once the victim is done */

enum { ABORT_FROM_MAIN, ABORT_FROM_SELF, ABORT_FROM_THREAD };

typedef struct ab_shared {
    int stop; /* the await point to abort at, 1..4; 0: let it finish */
    int how;
    test_latch at;      /* +1 at each await point reached */
    test_latch aborted; /* +1 once the abort thread has aborted */
    atomic_int at_point;
    atomic_int polls, drops;
    atomic_int child_drops[NPOINTS + 1]; /* per await point */
    test_counts child_task;              /* the child task's future */
    test_counts timer;
    kr_join_handle *self; /* the victim's own handle (ABORT_FROM_SELF) */
} ab_shared;

/* Wraps the awaited child so that its drop can be counted (kr_yield and
 * kr_oneshot_recv have no drop function of their own to count). */
typedef struct tracker {
    kr_future base;
    kr_future *inner;
    atomic_int *drops;
} tracker;

static kr_poll tracker_poll(kr_future *f, kr_context *cx, void *out) {
    return kr_future_poll(((tracker *)f)->inner, cx, out);
}
static void tracker_drop(kr_future *f) {
    tracker *t = (tracker *)f;
    atomic_fetch_add(t->drops, 1);
    kr_future_drop(t->inner);
}
KR_FUTURE_VTABLE(tracker_vt, tracker, tracker_poll, tracker_drop, 0);

typedef struct {
    unsigned char b[64];
} ab_out;

typedef struct victim {
    kr_future base;
    kr_coro co;
    ab_shared *sh;
    kr_oneshot_rx *rx;
    int val, rc;
    uint64_t cv;
    kr_yield y;
    kr_oneshot_recv recv;
    kr_join_handle child;
    test_timer tm;
    tracker tr;
} victim;

/* Reached await point k, about to await `child` through the tracker. */
static void arrive(victim *v, int k, kr_future *child) {
    ab_shared *sh = v->sh;
    v->tr = (tracker){{&tracker_vt}, child, &sh->child_drops[k]};
    atomic_store(&sh->at_point, k);
    if (sh->stop == k && sh->how == ABORT_FROM_SELF)
        assert_rc(kr_join_handle_abort(sh->self), 0); /* while running */
    test_latch_add(&sh->at, 1);
}

static kr_poll victim_poll(kr_future *f, kr_context *cx, void *out) {
    victim *v = (victim *)f;
    ab_shared *sh = v->sh;
    atomic_fetch_add(&sh->polls, 1);
    KR_ASYNC_BEGIN(&v->co);
    v->y = kr_yield_now();
    arrive(v, 1, &v->y.base);
    KR_AWAIT(&v->co, &v->tr.base, cx, NULL);

    v->recv = kr_oneshot_recv_future(v->rx, &v->val);
    arrive(v, 2, &v->recv.base);
    KR_AWAIT(&v->co, &v->tr.base, cx, &v->rc);
    assert_rc(v->rc, 0);
    assert_int_equal(v->val, 7);

    if (sh->stop == 3) {
        test_pending p = test_pending_make(&sh->child_task, NULL);
        assert_rc(kr_spawn(&p.base, &v->child), 0);
    } else {
        test_value tv = test_value_make(5, &sh->child_task);
        assert_rc(kr_spawn(&tv.base, &v->child), 0);
    }
    arrive(v, 3, &v->child.base);
    KR_AWAIT(&v->co, &v->tr.base, cx, &v->cv);
    assert_int_equal(v->cv, 5);

    v->tm = test_timer_make(sh->stop == 4 ? 60000 : 1, &sh->timer);
    arrive(v, 4, &v->tm.base);
    KR_AWAIT(&v->co, &v->tr.base, cx, NULL);

    if (out != NULL)
        test_pattern_fill(out, sizeof(ab_out), 9);
    test_latch_add(&sh->at, 1); /* DONE_POINT */
    KR_RETURN_VOID(&v->co);
    KR_ASYNC_END(&v->co);
}

static void victim_drop(kr_future *f) {
    victim *v = (victim *)f;
    atomic_fetch_add(&v->sh->drops, 1);
    kr_coro_drop(&v->co);
    kr_oneshot_rx_drop(v->rx);
    v->rx = NULL;
}
KR_FUTURE_VTABLE(victim_vt, victim, victim_poll, victim_drop, sizeof(ab_out));

/* A future the size of a victim whose output is 0xEE bytes. Run to
 * completion first, it leaves its cell dirty in the cache, where the
 * current-thread runtime's next spawn of that size finds it: the zeroes a
 * cancelled handle yields must then come from the cancellation. */
typedef struct {
    kr_future base;
    unsigned char pad[sizeof(victim) - sizeof(kr_future)];
} dirty;

static kr_poll dirty_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    if (out != NULL)
        memset(out, 0xEE, sizeof(ab_out));
    return KR_READY;
}
KR_FUTURE_VTABLE(dirty_vt, dirty, dirty_poll, NULL, sizeof(ab_out));

static void *abort_thread(void *arg) {
    ab_shared *sh = arg;
    assert_rc(kr_join_handle_abort(sh->self), 0);
    test_latch_add(&sh->aborted, 1);
    return NULL;
}

typedef struct ab_main {
    kr_future base;
    kr_coro co;
    ab_shared *sh;
    kr_oneshot_tx *tx;
    kr_join_handle jh;
    test_latch_wait lw;
    kr_yield y;
    pthread_t th;
    ab_out out;
    int err, abort_rc, abort_again_rc, tx_closed;
} ab_main;

static kr_poll ab_main_poll(kr_future *f, kr_context *cx, void *o) {
    (void)o;
    ab_main *m = (ab_main *)f;
    ab_shared *sh = m->sh;
    KR_ASYNC_BEGIN(&m->co);
    {
        dirty d;
        memset(&d, 0, sizeof(d));
        d.base.vtable = &dirty_vt;
        assert_rc(kr_spawn(&d.base, &m->jh), 0);
    }
    KR_AWAIT(&m->co, &m->jh.base, cx, NULL);
    {
        kr_oneshot_rx *rx;
        assert_rc(kr_oneshot_new(sizeof(int), &m->tx, &rx), 0);
        if (sh->stop != 2) {
            int seven = 7;
            assert_rc(kr_oneshot_send(m->tx, &seven), 0);
            m->tx = NULL;
        }
        victim v = {
            .base = {&victim_vt}, .co = KR_CORO_INIT, .sh = sh, .rx = rx};
        sh->self = &m->jh;
        assert_rc(kr_spawn(&v.base, &m->jh), 0);
    }
    m->lw = test_latch_wait_for(&sh->at, sh->stop ? sh->stop : DONE_POINT);
    KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
    if (sh->stop == 0) {
        while (!kr_join_handle_is_finished(&m->jh)) {
            m->y = kr_yield_now();
            KR_AWAIT(&m->co, &m->y.base, cx, NULL);
        }
        m->abort_rc = kr_join_handle_abort(&m->jh); /* after completion */
    } else if (sh->how == ABORT_FROM_MAIN) {
        m->abort_rc = kr_join_handle_abort(&m->jh); /* while it is parked */
    } else if (sh->how == ABORT_FROM_THREAD) {
        assert_int_equal(pthread_create(&m->th, NULL, abort_thread, sh), 0);
        /* Do not touch the handle until the thread is done with it. */
        m->lw = test_latch_wait_for(&sh->aborted, 1);
        KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
        pthread_join(m->th, NULL);
    }
    memset(&m->out, 0xAA, sizeof(m->out));
    KR_AWAIT(&m->co, &m->jh.base, cx, &m->out);
    m->err = kr_join_handle_error(&m->jh);
    m->abort_again_rc = kr_join_handle_abort(&m->jh); /* spent handle */
    if (m->tx != NULL) {
        /* The victim's drop released its receiver. */
        m->tx_closed = kr_oneshot_tx_is_closed(m->tx);
        kr_oneshot_tx_drop(m->tx);
        m->tx = NULL;
    }
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(ab_main_vt, ab_main, ab_main_poll, NULL, 0);

static void run_abort(int stop, int how) {
    test_alloc_install();
    ab_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.stop = stop;
    sh.how = how;
    test_latch_init(&sh.at);
    test_latch_init(&sh.aborted);
    kr_runtime *rt = test_runtime(0);
    ab_main m = {.base = {&ab_main_vt}, .sh = &sh};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);

    assert_rc(m.abort_rc, 0);
    assert_rc(m.abort_again_rc, 0);
    assert_int_equal(atomic_load(&sh.drops), 1);
    if (stop == 0) {
        assert_rc(m.err, 0);
        assert_true(test_pattern_check(&m.out, sizeof(m.out), 9));
        /* All completed, and KR_AWAIT dropped each when it finished. */
        for (int k = 1; k <= NPOINTS; k++)
            assert_int_equal(sh.child_drops[k], 1);
        assert_int_equal(sh.timer.drops, 1);
    } else {
        assert_rc(m.err, KR_ECANCELED);
        assert_true(test_all_zero(&m.out, sizeof(m.out)));
        assert_int_equal(atomic_load(&sh.at_point), stop);
        assert_int_equal(test_latch_get(&sh.at), stop);
        /* Children before the stop finished (dropped by KR_AWAIT), the one
         * at the stop was cancelled (kr_coro_drop), later ones never made:
         * each made child dropped exactly once. */
        for (int k = 1; k <= NPOINTS; k++)
            assert_int_equal(sh.child_drops[k], k <= stop ? 1 : 0);
        if (stop == 2)
            assert_true(m.tx_closed);
        if (stop == 4) {
            assert_int_equal(sh.timer.drops, 1); /* its thread cancelled */
            assert_int_equal(sh.timer.polls, 1);
        }
    }
    test_runtime_free(rt);
    /* The child task (point 3) parks forever; the shutdown drops it. */
    assert_int_equal(sh.child_task.drops, stop >= 3 || stop == 0 ? 1 : 0);
    test_latch_destroy(&sh.at);
    test_latch_destroy(&sh.aborted);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void abort_self_at_each_await_point(void **state) {
    (void)state;
    for (int stop = 1; stop <= NPOINTS; stop++)
        run_abort(stop, ABORT_FROM_SELF);
}

/* Not at the yield: the task is runnable again at once, so whether it is
 * still parked there when another party aborts is a race. */
static void abort_parked_at_recv_join_timer(void **state) {
    (void)state;
    for (int stop = 2; stop <= NPOINTS; stop++)
        run_abort(stop, ABORT_FROM_MAIN);
}

static void abort_from_other_thread(void **state) {
    (void)state;
    for (int stop = 2; stop <= NPOINTS; stop++)
        run_abort(stop, ABORT_FROM_THREAD);
}

static void abort_after_completion_is_noop(void **state) {
    (void)state;
    run_abort(0, ABORT_FROM_MAIN);
}

/* ---- abort before the first poll ---------------------------------------- */

typedef struct early_result {
    int rc1, rc2, err;
    uint64_t v;
} early_result;

/* Spawns a child and aborts it in the same poll, then awaits it. */
typedef struct {
    kr_future base;
    kr_coro co;
    test_counts *c;
    early_result *r;
    kr_join_handle jh;
} early_parent;

static kr_poll early_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    early_parent *p = (early_parent *)f;
    KR_ASYNC_BEGIN(&p->co);
    {
        test_value tv = test_value_make(77, p->c);
        assert_rc(kr_spawn(&tv.base, &p->jh), 0);
        /* Same poll: the child cannot have run yet (on the multi-thread
         * runtime the one worker is busy with us). */
        p->r->rc1 = kr_join_handle_abort(&p->jh);
        p->r->rc2 = kr_join_handle_abort(&p->jh); /* idempotent */
    }
    p->r->v = UINT64_MAX;
    KR_AWAIT(&p->co, &p->jh.base, cx, &p->r->v);
    p->r->err = kr_join_handle_error(&p->jh);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(early_vt, early_parent, early_poll, NULL, 0);

/* The parent runs as a task (not as the block_on future), so that on both
 * runtimes it runs where spawned tasks run. */
typedef struct {
    kr_future base;
    kr_coro co;
    test_counts *c;
    early_result *r;
    kr_join_handle jh;
} early_main;

static kr_poll early_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    early_main *m = (early_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        early_parent p = {.base = {&early_vt}, .c = m->c, .r = m->r};
        assert_rc(kr_spawn(&p.base, &m->jh), 0);
    }
    KR_AWAIT(&m->co, &m->jh.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(early_main_vt, early_main, early_main_poll, NULL, 0);

static void abort_before_start(void **state) {
    (void)state;
    test_alloc_install();
    test_counts c = {0};
    early_result r = {0};
    kr_runtime *rt = test_runtime(1);
    early_main m = {.base = {&early_main_vt}, .c = &c, .r = &r};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    assert_rc(r.rc1, 0);
    assert_rc(r.rc2, 0);
    assert_rc(r.err, KR_ECANCELED);
    assert_int_equal(r.v, 0);     /* zeroed output */
    assert_int_equal(c.polls, 0); /* never polled */
    assert_int_equal(c.drops, 1); /* dropped exactly once */
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(abort_self_at_each_await_point),
    cmocka_unit_test(abort_parked_at_recv_join_timer),
    cmocka_unit_test(abort_from_other_thread),
    cmocka_unit_test(abort_after_completion_is_noop),
    cmocka_unit_test(abort_before_start),
};
KR_TEST_MAIN(tests)
