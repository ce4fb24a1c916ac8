/*
 * Wakes and re-polls: a wake from another thread while the task runs
 * re-queues it exactly once; a task waking itself N times is polled N+1
 * times; waking a completed task is a no-op. KR_TEST_FLAVORS: ct mt sim
 */
#include <sched.h>

#include "test.h"

/* How many times the block_on future yields while checking that a parked
 * task is not polled again on its own. */
#define SETTLE_ROUNDS 50

/* ---- a wake from another thread while the task runs ------------------- */

enum { WAKE_BY_REF_ONCE, WAKE_BY_REF_THRICE, WAKE_BY_VALUE };

typedef struct wr_shared {
    int mode;
    atomic_int go;   /* 1: the task is running and has published `clone` */
    atomic_int woke; /* 1: the thread has woken (and let go of) the clone */
    kr_waker clone;
    kr_waker park; /* the task's waker after its second poll */
    atomic_int polls;
    test_latch parked;
} wr_shared;

static void *wr_thread(void *arg) {
    wr_shared *sh = arg;
    while (!atomic_load(&sh->go))
        sched_yield();
    if (sh->mode == WAKE_BY_VALUE) {
        kr_waker_wake(sh->clone);
    } else {
        int n = sh->mode == WAKE_BY_REF_THRICE ? 3 : 1;
        for (int i = 0; i < n; i++)
            kr_waker_wake_by_ref(&sh->clone);
        kr_waker_drop(sh->clone);
    }
    atomic_store(&sh->woke, 1);
    return NULL;
}

typedef struct {
    kr_future base;
    wr_shared *sh;
} wr_task;

static kr_poll wr_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    wr_shared *sh = ((wr_task *)f)->sh;
    int n = atomic_fetch_add(&sh->polls, 1) + 1;
    if (n == 1) {
        /* Let the thread wake us while we are still running, and do not
         * return before it has. */
        sh->clone = kr_waker_clone(kr_context_waker(cx));
        atomic_store(&sh->go, 1);
        while (!atomic_load(&sh->woke))
            sched_yield();
        return KR_PENDING;
    }
    if (n == 2) {
        /* The re-poll the wake caused. Park without arranging a wake-up
         * of our own: the test checks nothing polls us again. */
        sh->park = kr_waker_clone(kr_context_waker(cx));
        test_latch_add(&sh->parked, 1);
        return KR_PENDING;
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(wr_task_vt, wr_task, wr_task_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    wr_shared *sh;
    kr_join_handle jh;
    test_latch_wait lw;
    int i, polls_settled;
} wr_main;

static kr_poll wr_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    wr_main *m = (wr_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        wr_task t = {{&wr_task_vt}, m->sh};
        assert_rc(kr_spawn(&t.base, &m->jh), 0);
    }
    m->lw = test_latch_wait_for(&m->sh->parked, 1);
    KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
    for (m->i = 0; m->i < SETTLE_ROUNDS; m->i++)
        KR_YIELD(&m->co, cx);
    m->polls_settled = atomic_load(&m->sh->polls);
    kr_waker_wake(m->sh->park);
    KR_AWAIT(&m->co, &m->jh.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(wr_main_vt, wr_main, wr_main_poll, NULL, 0);

static void run_wake_while_running(int mode) {
    test_alloc_install();
    wr_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.mode = mode;
    test_latch_init(&sh.parked);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wr_thread, &sh), 0);
    kr_runtime *rt = test_runtime(0);
    wr_main m = {.base = {&wr_main_vt}, .sh = &sh};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    pthread_join(th, NULL);
    /* However many wakes came in while it ran, one re-poll; then nothing
     * until the next wake; then the final poll. */
    assert_int_equal(m.polls_settled, 2);
    assert_int_equal(atomic_load(&sh.polls), 3);
    test_runtime_free(rt);
    test_latch_destroy(&sh.parked);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void wake_by_ref_from_thread_while_running(void **state) {
    (void)state;
    run_wake_while_running(WAKE_BY_REF_ONCE);
}
static void wakes_by_ref_from_thread_while_running_requeue_once(void **state) {
    (void)state;
    run_wake_while_running(WAKE_BY_REF_THRICE);
}
static void wake_by_value_from_thread_while_running(void **state) {
    (void)state;
    run_wake_while_running(WAKE_BY_VALUE);
}

/* ---- self-wake ---------------------------------------------------------- */

#define SELF_WAKES 100

typedef struct {
    kr_future base;
    int by_value;
    int polls;
} self_task;

static kr_poll self_poll(kr_future *f, kr_context *cx, void *out) {
    self_task *t = (self_task *)f;
    if (++t->polls <= SELF_WAKES) {
        if (t->by_value)
            kr_waker_wake(kr_waker_clone(kr_context_waker(cx)));
        else
            kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    *(int *)out = t->polls;
    return KR_READY;
}
KR_FUTURE_VTABLE(self_vt, self_task, self_poll, NULL, sizeof(int));

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle jh[2];
    int polls[2], i;
} self_main;

static kr_poll self_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    self_main *m = (self_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < 2; m->i++) {
        self_task t = {{&self_vt}, m->i, 0};
        assert_rc(kr_spawn(&t.base, &m->jh[m->i]), 0);
    }
    for (m->i = 0; m->i < 2; m->i++)
        KR_AWAIT(&m->co, &m->jh[m->i].base, cx, &m->polls[m->i]);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(self_main_vt, self_main, self_main_poll, NULL, 0);

static void self_wake_polled_n_plus_one_times(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    self_main m = {.base = {&self_main_vt}};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    assert_int_equal(m.polls[0], SELF_WAKES + 1); /* wake_by_ref */
    assert_int_equal(m.polls[1], SELF_WAKES + 1); /* wake of a clone */

    /* The block_on future may wake itself too. */
    self_task t = {{&self_vt}, 0, 0};
    int polls = 0;
    assert_rc(kr_runtime_block_on(rt, &t.base, &polls), 0);
    assert_int_equal(polls, SELF_WAKES + 1);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- wake after complete ------------------------------------------------ */

typedef struct {
    kr_future base;
    kr_waker *keep; /* two clones, kept past completion */
    atomic_int *polls;
} done_task;

static kr_poll done_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    done_task *t = (done_task *)f;
    atomic_fetch_add(t->polls, 1);
    t->keep[0] = kr_waker_clone(kr_context_waker(cx));
    t->keep[1] = kr_waker_clone(kr_context_waker(cx));
    return KR_READY;
}
KR_FUTURE_VTABLE(done_vt, done_task, done_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_waker *keep;
    atomic_int *polls;
    kr_join_handle jh;
    int i;
} done_main;

static kr_poll done_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    done_main *m = (done_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        done_task t = {{&done_vt}, m->keep, m->polls};
        assert_rc(kr_spawn(&t.base, &m->jh), 0);
    }
    KR_AWAIT(&m->co, &m->jh.base, cx, NULL);
    /* The task is complete; these wakes must do nothing. */
    kr_waker_wake_by_ref(&m->keep[0]);
    kr_waker_wake_by_ref(&m->keep[1]);
    kr_waker_wake(m->keep[1]);
    for (m->i = 0; m->i < SETTLE_ROUNDS; m->i++)
        KR_YIELD(&m->co, cx);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(done_main_vt, done_main, done_main_poll, NULL, 0);

static void wake_after_complete_is_noop(void **state) {
    (void)state;
    test_alloc_install();
    kr_waker keep[2];
    atomic_int polls = 0;
    kr_runtime *rt = test_runtime(0);
    done_main m = {.base = {&done_main_vt}, .keep = keep, .polls = &polls};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    assert_int_equal(atomic_load(&polls), 1);
    kr_runtime_metrics mt;
    assert_rc(kr_runtime_metrics_get(rt, &mt), 0);
    assert_int_equal(mt.polls, 1);
    /* The last reference to the task cell is this clone: wake it, then
     * drop it, after the runtime is gone. */
    test_runtime_free(rt);
    kr_waker_wake_by_ref(&keep[0]);
    kr_waker_drop(keep[0]);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(wake_by_ref_from_thread_while_running),
    cmocka_unit_test(wakes_by_ref_from_thread_while_running_requeue_once),
    cmocka_unit_test(wake_by_value_from_thread_while_running),
    cmocka_unit_test(self_wake_polled_n_plus_one_times),
    cmocka_unit_test(wake_after_complete_is_noop),
};
KR_TEST_MAIN(tests)
