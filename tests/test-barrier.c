/*
 * Barrier: Tokio's tests/sync_barrier.rs ported (same names), then
 * kairo's own: a dropped wait withdraws its arrival (where kairo
 * deliberately differs from Tokio, which keeps it counted), a generation
 * over more than one wake batch, and rounds of tasks on every worker and
 * 8 plain threads meeting, with exactly one leader per round.
 * KR_TEST_FLAVORS: ct mt
 */
#include "mock.h"
#include "test.h"

static kr_barrier *bar(size_t n) {
    kr_barrier *b = NULL;
    assert_rc(kr_barrier_new(n, &b), 0);
    return b;
}

/* Polls a fresh wait once by hand; returns READY/PENDING, *leader set. */
static kr_poll once(mock_task *t, kr_barrier_wait *w, bool *leader) {
    return mock_poll(t, &w->base, leader);
}

static void zero_does_not_block(void **state) {
    (void)state;
    kr_barrier *b = bar(0);
    mock_task t;
    mock_init(&t);
    for (int i = 0; i < 2; i++) {
        kr_barrier_wait w = kr_barrier_wait_future(b);
        bool leader = false;
        assert_int_equal(once(&t, &w, &leader), KR_READY);
        assert_true(leader);
        kr_future_drop(&w.base);
    }
    kr_barrier_free(b);
}

static void single(void **state) {
    (void)state;
    kr_barrier *b = bar(1);
    mock_task t;
    mock_init(&t);
    for (int i = 0; i < 3; i++) {
        kr_barrier_wait w = kr_barrier_wait_future(b);
        bool leader = false;
        assert_int_equal(once(&t, &w, &leader), KR_READY);
        assert_true(leader);
        kr_future_drop(&w.base);
    }
    kr_barrier_free(b);
}

static void tango(void **state) {
    (void)state;
    kr_barrier *b = bar(2);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    kr_barrier_wait w1 = kr_barrier_wait_future(b);
    kr_barrier_wait w2 = kr_barrier_wait_future(b);
    bool l1 = false, l2 = false;
    assert_int_equal(once(&t1, &w1, &l1), KR_PENDING);
    assert_int_equal(once(&t2, &w2, &l2), KR_READY);
    assert_true(mock_woken(&t1));
    assert_int_equal(once(&t1, &w1, &l1), KR_READY);
    assert_true(l1 || l2);
    assert_false(l1 && l2);
    kr_future_drop(&w1.base);
    kr_future_drop(&w2.base);
    assert_int_equal(mock_refs(&t1) + mock_refs(&t2), 0);
    kr_barrier_free(b);
}

static void lots(void **state) {
    (void)state;
    kr_barrier *b = bar(100);
    static mock_task t[100];
    static kr_barrier_wait w[100];
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 99; i++) {
            mock_init(&t[i]);
            w[i] = kr_barrier_wait_future(b);
            assert_int_equal(once(&t[i], &w[i], NULL), KR_PENDING);
        }
        for (int i = 0; i < 99; i++)
            assert_int_equal(once(&t[i], &w[i], NULL), KR_PENDING);
        mock_init(&t[99]);
        w[99] = kr_barrier_wait_future(b);
        bool found = false;
        assert_int_equal(once(&t[99], &w[99], &found), KR_READY);
        for (int i = 0; i < 99; i++) {
            bool l = true;
            assert_true(mock_woken(&t[i]));
            assert_int_equal(once(&t[i], &w[i], &l), KR_READY);
            if (l) {
                assert_false(found);
                found = true;
            }
        }
        assert_true(found);
        for (int i = 0; i < 100; i++) {
            kr_future_drop(&w[i].base);
            assert_int_equal(mock_refs(&t[i]), 0);
        }
    }
    kr_barrier_free(b);
}

/* ---- kairo ------------------------------------------------------------- */

static void barrier_dropped_wait_withdraws_its_arrival(void **state) {
    (void)state;
    kr_barrier *b = bar(3);
    mock_task t[4];
    kr_barrier_wait w[4];
    for (int i = 0; i < 4; i++) {
        mock_init(&t[i]);
        w[i] = kr_barrier_wait_future(b);
    }
    assert_int_equal(once(&t[0], &w[0], NULL), KR_PENDING);
    assert_int_equal(once(&t[1], &w[1], NULL), KR_PENDING);
    kr_future_drop(&w[0].base); /* withdrawn: 1 of 3 now */
    assert_int_equal(once(&t[2], &w[2], NULL), KR_PENDING); /* 2 of 3 */
    bool l = false;
    assert_int_equal(once(&t[3], &w[3], &l), KR_READY);
    assert_true(l);
    /* Released, then dropped before its poll: loses nothing. */
    assert_true(mock_woken(&t[1]));
    kr_future_drop(&w[1].base);
    assert_true(mock_woken(&t[2]));
    assert_int_equal(once(&t[2], &w[2], &l), KR_READY);
    assert_false(l);
    kr_future_drop(&w[2].base);
    kr_future_drop(&w[3].base);
    for (int i = 0; i < 4; i++)
        assert_int_equal(mock_refs(&t[i]), 0);
    /* The next generation starts from zero. */
    kr_barrier_wait a = kr_barrier_wait_future(b);
    assert_int_equal(once(&t[0], &a, NULL), KR_PENDING);
    kr_future_drop(&a.base);
    kr_barrier_free(b);
}

#define THREADS 8
#define TASKS   8
#define ROUNDS  200

typedef struct bham {
    kr_barrier *b;
    atomic_long leaders;
    atomic_long passed;
} bham;

typedef struct btask {
    kr_future base;
    kr_coro co;
    bham *h;
    test_latch *done;
    int i;
    bool leader;
    kr_barrier_wait w;
} btask;

static kr_poll btask_poll(kr_future *f, kr_context *cx, void *out) {
    btask *t = (btask *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < ROUNDS; t->i++) {
        t->w = kr_barrier_wait_future(t->h->b);
        KR_AWAIT(&t->co, &t->w.base, cx, &t->leader);
        atomic_fetch_add(&t->h->passed, 1);
        if (t->leader)
            atomic_fetch_add(&t->h->leaders, 1);
    }
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void btask_drop(kr_future *f) { kr_coro_drop(&((btask *)f)->co); }
KR_FUTURE_VTABLE(btask_vt, btask, btask_poll, btask_drop, 0);

static void *bthread(void *arg) {
    bham *h = arg;
    for (int i = 0; i < ROUNDS; i++) {
        kr_barrier_wait w = kr_barrier_wait_future(h->b);
        bool leader = false;
        thread_block_on(&w.base, &leader);
        atomic_fetch_add(&h->passed, 1);
        if (leader)
            atomic_fetch_add(&h->leaders, 1);
    }
    return NULL;
}

static void barrier_hammer_one_leader_per_round(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    bham h = {.b = bar(TASKS + THREADS)};
    test_latch done;
    test_latch_init(&done);
    for (int i = 0; i < TASKS; i++) {
        btask t = {
            .base = {&btask_vt}, .co = KR_CORO_INIT, .h = &h, .done = &done};
        assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, bthread, &h), 0);
    test_latch_wait w = test_latch_wait_for(&done, TASKS);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.leaders), ROUNDS);
    assert_int_equal(atomic_load(&h.passed), ROUNDS * (TASKS + THREADS));
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_barrier_free(h.b);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_does_not_block),
        cmocka_unit_test(single),
        cmocka_unit_test(tango),
        cmocka_unit_test(lots),
        cmocka_unit_test(barrier_dropped_wait_withdraws_its_arrival),
        cmocka_unit_test(barrier_hammer_one_leader_per_round),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
