/*
 * Mutex: Tokio's tests/sync_mutex.rs ported (same names), then kairo's
 * own: FIFO hand-over, a dropped lock future at every point, a guard held
 * across awaits, and a hammer from 8 plain threads and every worker with
 * the protected counter checked exactly. KR_TEST_FLAVORS: ct mt
 *
 * Where the port differs: the data lives inside the mutex (data_size
 * bytes) and the guard is a plain struct unlocked with kr_mutex_unlock
 * (no Drop); aborted_future_1 holds the guard in a task whose drop unlocks
 * it, which is what a C future holding a guard must do; debug_format and
 * mutex_debug have no C counterpart.
 */
#include <sched.h>

#include "mock.h"
#include "test.h"

static kr_mutex *mutex_new(size_t size) {
    kr_mutex *m = NULL;
    assert_rc(kr_mutex_new(size, &m), 0);
    return m;
}

static void straight_execution(void **state) {
    (void)state;
    kr_mutex *m = mutex_new(sizeof(int));
    *(int *)kr_mutex_data(m) = 100;
    mock_task t;
    mock_init(&t);
    for (int want = 100; want >= 98; want--) {
        kr_mutex_lock l = kr_mutex_lock_future(m);
        kr_mutex_guard g;
        assert_int_equal(mock_poll(&t, &l.base, &g), KR_READY);
        kr_future_drop(&l.base);
        assert_int_equal(*(int *)g.data, want);
        *(int *)g.data = want - 1;
        kr_mutex_unlock(&g);
        assert_null(g.mutex);
    }
    kr_mutex_free(m);
}

static void readiness(void **state) {
    (void)state;
    kr_mutex *m = mutex_new(0);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    kr_mutex_lock l1 = kr_mutex_lock_future(m);
    kr_mutex_lock l2 = kr_mutex_lock_future(m);
    kr_mutex_guard g, g2;
    assert_int_equal(mock_poll(&t1, &l1.base, &g), KR_READY);
    assert_int_equal(mock_poll(&t2, &l2.base, &g2), KR_PENDING);
    kr_mutex_unlock(&g);
    assert_true(mock_woken(&t2));
    assert_int_equal(mock_poll(&t2, &l2.base, &g2), KR_READY);
    assert_ptr_equal(g2.mutex, m);
    kr_mutex_unlock(&g2);
    kr_future_drop(&l1.base);
    kr_future_drop(&l2.base);
    assert_int_equal(mock_refs(&t1) + mock_refs(&t2), 0);
    kr_mutex_free(m);
}

/* A task that locks, then waits forever holding the guard; its drop (the
 * abort) unlocks. */
typedef struct holder {
    kr_future base;
    kr_coro co;
    kr_mutex *m;
    kr_mutex_lock l;
    kr_mutex_guard g;
    test_pending p;
    test_latch *locked;
} holder;

static kr_poll holder_poll(kr_future *f, kr_context *cx, void *out) {
    holder *h = (holder *)f;
    KR_ASYNC_BEGIN(&h->co);
    h->l = kr_mutex_lock_future(h->m);
    KR_AWAIT(&h->co, &h->l.base, cx, &h->g);
    test_latch_add(h->locked, 1);
    h->p = test_pending_make(NULL, NULL);
    KR_AWAIT(&h->co, &h->p.base, cx, NULL);
    KR_ASYNC_END(&h->co);
}
static void holder_drop(kr_future *f) {
    holder *h = (holder *)f;
    kr_coro_drop(&h->co);
    kr_mutex_unlock(&h->g);
}
KR_FUTURE_VTABLE(holder_vt, holder, holder_poll, holder_drop, 0);

static void aborted_future_1(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_mutex *m = mutex_new(0);
    test_latch locked;
    test_latch_init(&locked);
    holder h = {
        .base = {&holder_vt}, .co = KR_CORO_INIT, .m = m, .locked = &locked};
    kr_join_handle j;
    assert_rc(kr_runtime_spawn(rt, &h.base, &j), 0);
    test_latch_wait w = test_latch_wait_for(&locked, 1);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    assert_rc(kr_join_handle_abort(&j), 0);
    assert_rc(kr_runtime_block_on(rt, &j.base, NULL), 0);
    kr_mutex_lock l = kr_mutex_lock_future(m);
    kr_timeout to = kr_timeout_new(&l.base, kr_ms(1000), NULL);
    int rc = 1;
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    assert_rc(rc, 0); /* the lock was free: the abort unlocked it */
    test_runtime_free(rt);
    test_latch_destroy(&locked);
    kr_mutex_free(m);
}

/* A lock future waiting when its timeout fires is dropped; the mutex is
 * then free for the next locker. */
static void aborted_future_2(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_mutex *m = mutex_new(0);
    kr_mutex_guard g;
    assert_rc(kr_mutex_try_lock(m, &g), 0);
    kr_mutex_lock l = kr_mutex_lock_future(m);
    kr_timeout to = kr_timeout_new(&l.base, kr_ms(1), NULL);
    int rc = 1;
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    assert_rc(rc, KR_ELAPSED);
    kr_mutex_unlock(&g);
    kr_mutex_lock l2 = kr_mutex_lock_future(m);
    kr_timeout to2 = kr_timeout_new(&l2.base, kr_ms(1000), NULL);
    assert_rc(kr_runtime_block_on(rt, &to2.base, &rc), 0);
    assert_rc(rc, 0);
    test_runtime_free(rt);
    kr_mutex_free(m);
}

static void try_lock(void **state) {
    (void)state;
    kr_mutex *m = mutex_new(0);
    kr_mutex_guard g1, g2;
    assert_rc(kr_mutex_try_lock(m, &g1), 0);
    assert_rc(kr_mutex_try_lock(m, &g2), KR_EBUSY);
    kr_mutex_unlock(&g1);
    assert_rc(kr_mutex_try_lock(m, &g2), 0);
    kr_mutex_unlock(&g2);
    assert_rc(kr_mutex_try_lock(NULL, &g2), KR_EINVAL);
    assert_rc(kr_mutex_new(0, NULL), KR_EINVAL);
    kr_mutex_free(m);
}

/* ---- kairo ------------------------------------------------------------- */

static void mutex_fifo_handover_and_drop_at_every_point(void **state) {
    (void)state;
    kr_mutex *m = mutex_new(0);
    mock_task t[3];
    kr_mutex_lock l[3];
    kr_mutex_guard g, gg;
    for (int point = 0; point < 4; point++) {
        for (int i = 0; i < 3; i++) {
            mock_init(&t[i]);
            l[i] = kr_mutex_lock_future(m);
        }
        assert_rc(kr_mutex_try_lock(m, &g), 0);
        assert_int_equal(mock_poll(&t[0], &l[0].base, &gg), KR_PENDING);
        assert_int_equal(mock_poll(&t[1], &l[1].base, &gg), KR_PENDING);
        assert_int_equal(mock_poll(&t[2], &l[2].base, &gg), KR_PENDING);
        if (point == 0)
            kr_future_drop(&l[0].base); /* queued: leaves the queue */
        kr_mutex_unlock(&g);            /* to l0 (or l1) */
        if (point == 1)
            kr_future_drop(&l[0].base); /* handed the mutex, not polled */
        if (point >= 2) {
            assert_true(mock_woken(&t[0]));
            assert_int_equal(mock_poll(&t[0], &l[0].base, &gg), KR_READY);
            kr_future_drop(&l[0].base);
            if (point == 3)
                kr_future_drop(&l[1].base); /* queued behind a holder */
            kr_mutex_unlock(&gg);
        }
        int next = point == 3 ? 2 : 1;
        assert_true(mock_woken(&t[next]));
        assert_false(mock_woken(&t[3 - next]));
        assert_int_equal(mock_poll(&t[next], &l[next].base, &gg), KR_READY);
        kr_mutex_unlock(&gg);
        if (next == 1) {
            assert_true(mock_woken(&t[2]));
            assert_int_equal(mock_poll(&t[2], &l[2].base, &gg), KR_READY);
            kr_mutex_unlock(&gg);
        } else {
            assert_false(mock_woken(&t[1]));
        }
        if (point != 3)
            kr_future_drop(&l[1].base);
        kr_future_drop(&l[2].base);
        for (int i = 0; i < 3; i++)
            assert_int_equal(mock_refs(&t[i]), 0);
        /* Free again, on the fast path. */
        assert_rc(kr_mutex_try_lock(m, &g), 0);
        kr_mutex_unlock(&g);
    }
    kr_mutex_free(m);
}

/* ---- the hammer: tasks hold the guard across a yield ------------------- */

#define THREADS 8
#define TASKS   8

typedef struct mham {
    kr_mutex *m;
    atomic_int inside;
    atomic_long overlap;
    long iters;
} mham;

static void critical(mham *h, long *counter, long i) {
    if (atomic_fetch_add(&h->inside, 1) != 0)
        atomic_fetch_add(&h->overlap, 1);
    long v = *counter; /* plain: the mutex must order it */
    if (i % 32 == 0)
        sched_yield();
    *counter = v + 1;
    atomic_fetch_sub(&h->inside, 1);
}

typedef struct mham_task {
    kr_future base;
    kr_coro co;
    mham *h;
    test_latch *done;
    long i;
    kr_mutex_lock l;
    kr_mutex_guard g;
    kr_yield y;
} mham_task;

static kr_poll mham_poll(kr_future *f, kr_context *cx, void *out) {
    mham_task *t = (mham_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->h->iters; t->i++) {
        t->l = kr_mutex_lock_future(t->h->m);
        KR_AWAIT(&t->co, &t->l.base, cx, &t->g);
        critical(t->h, t->g.data, t->i);
        if (t->i % 8 == 0) {
            /* Held across an await: another task may run meanwhile. */
            t->y = kr_yield_now();
            KR_AWAIT(&t->co, &t->y.base, cx, NULL);
        }
        kr_mutex_unlock(&t->g);
    }
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void mham_drop(kr_future *f) {
    mham_task *t = (mham_task *)f;
    kr_coro_drop(&t->co);
    kr_mutex_unlock(&t->g);
}
KR_FUTURE_VTABLE(mham_vt, mham_task, mham_poll, mham_drop, 0);

static void *mham_thread(void *arg) {
    mham *h = arg;
    for (long i = 0; i < h->iters; i++) {
        kr_mutex_guard g;
        if (i % 2 == 0) {
            kr_mutex_lock l = kr_mutex_lock_future(h->m);
            thread_block_on(&l.base, &g);
        } else {
            while (kr_mutex_try_lock(h->m, &g) != 0)
                sched_yield();
        }
        critical(h, g.data, i);
        kr_mutex_unlock(&g);
    }
    return NULL;
}

static void mutex_hammer_counter_exact(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    mham h = {.m = mutex_new(sizeof(long)), .iters = test_scale(10000)};
    test_latch done;
    test_latch_init(&done);
    for (int i = 0; i < TASKS; i++) {
        mham_task t = {
            .base = {&mham_vt}, .co = KR_CORO_INIT, .h = &h, .done = &done};
        assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, mham_thread, &h), 0);
    test_latch_wait w = test_latch_wait_for(&done, TASKS);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.overlap), 0);
    assert_int_equal(*(long *)kr_mutex_data(h.m), (TASKS + THREADS) * h.iters);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_mutex_free(h.m);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(straight_execution),
        cmocka_unit_test(readiness),
        cmocka_unit_test(aborted_future_1),
        cmocka_unit_test(aborted_future_2),
        cmocka_unit_test(try_lock),
        cmocka_unit_test(mutex_fifo_handover_and_drop_at_every_point),
        cmocka_unit_test(mutex_hammer_counter_exact),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
