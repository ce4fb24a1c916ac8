/*
 * Shutting a runtime down from inside (a task, a block_on future, another
 * runtime's task, a blocking job) and in the background
 * (kr_runtime_shutdown_background). Ported from Tokio's task_blocking.rs
 * where it has the test (named after it); the rest are kairo's own.
 * KR_TEST_FLAVORS: ct mt
 */
#include "blocking.h"
#include "util/thread.h"

/* A block_on may return (KR_ESHUTDOWN) before the task that shut the
 * runtime down has returned from the call: wait for its result. */
static int wait_rc(atomic_int *rc) {
    double t0 = now_ms();
    while (atomic_load(rc) == 1) {
        if (now_ms() - t0 > 5000)
            fail_msg("the call never returned");
        test_sleep_ms(1);
    }
    return atomic_load(rc);
}

/* Waits until every byte kairo allocated is back: the background thread
 * (and blocking threads) have finished. */
static void wait_all_freed(void) {
    double t0 = now_ms();
    while (test_alloc_live() != 0) {
        if (now_ms() - t0 > 10000)
            fail_msg("%ld bytes still allocated", test_alloc_live());
        test_sleep_ms(1);
    }
}

static kr_runtime *current_thread(void) {
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(NULL, &rt), 0);
    return rt;
}

/* A future that calls `fn` on its runtime once and completes. */
typedef struct call_fut {
    kr_future base;
    int (*fn)(kr_runtime *rt);
    kr_runtime *rt;
    atomic_int *rc; /* written on the task's thread: see wait_rc */
} call_fut;
static kr_poll call_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    call_fut *c = (call_fut *)f;
    atomic_store(c->rc, c->fn(c->rt));
    return KR_READY;
}
KR_FUTURE_VTABLE(call_vt, call_fut, call_poll, NULL, 0);

/* Spawns a call_fut from inside block_on and joins it: the block_on is
 * under way (and counted by the runtime) before the task can run. */
typedef struct spawn_call {
    kr_future base;
    kr_coro co;
    call_fut f;
    kr_join_handle jh;
} spawn_call;
static kr_poll spawn_call_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    spawn_call *s = (spawn_call *)f;
    KR_ASYNC_BEGIN(&s->co);
    assert_rc(kr_spawn(&s->f.base, &s->jh), 0);
    KR_AWAIT(&s->co, &s->jh.base, cx, NULL);
    KR_ASYNC_END(&s->co);
}
static void spawn_call_drop(kr_future *f) {
    kr_coro_drop(&((spawn_call *)f)->co); /* the handle, if awaited */
}
KR_FUTURE_VTABLE(spawn_call_vt, spawn_call, spawn_call_poll, spawn_call_drop,
                 0);

/* block_on(rt, spawn and join a task calling fn(rt)). */
static int block_on_task_calling(kr_runtime *rt, int (*fn)(kr_runtime *),
                                 atomic_int *rc) {
    spawn_call s = {.base = {&spawn_call_vt}, .f = {{&call_vt}, fn, rt, rc}};
    return kr_runtime_block_on(rt, &s.base, NULL);
}

/* ---- kr_runtime_shutdown from inside ----------------------------------- */

/* From one of the runtime's own tasks: it begins the shutdown and returns
 * at once; block_on returns, the other tasks are dropped, spawns fail. */
static void shutdown_from_task(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    for (int i = 0; i < 3; i++) {
        test_pending p = test_pending_make(&c, NULL);
        assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    }
    atomic_int rc = 1;
    call_fut f = {{&call_vt}, kr_runtime_shutdown, rt, &rc};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &f.base, &jh), 0);
    int brc = kr_runtime_block_on(rt, &jh.base, NULL);
    assert_true(brc == 0 || brc == KR_ESHUTDOWN);
    assert_rc(wait_rc(&rc), 0);
    test_value v = test_value_make(1, NULL);
    assert_rc(kr_runtime_spawn(rt, &v.base, NULL), KR_ESHUTDOWN);
    assert_rc(kr_runtime_block_on(rt, &v.base, NULL), KR_ESHUTDOWN);
    assert_rc(kr_runtime_shutdown(rt), 0); /* the rest, from outside */
    assert_int_equal(atomic_load(&c.drops), 3);
    assert_rc(kr_runtime_free(rt), 0);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* The simulation flavor, from one of its tasks. */
static void shutdown_from_task_simulation(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_CURRENT_THREAD)
        skip(); /* one run is enough */
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_SIMULATION;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&cfg, &rt), 0);
    test_counts c = {0};
    test_pending p = test_pending_make(&c, NULL);
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    atomic_int rc = 1;
    int brc = block_on_task_calling(rt, kr_runtime_shutdown, &rc);
    assert_true(brc == 0 || brc == KR_ESHUTDOWN);
    assert_rc(wait_rc(&rc), 0);
    assert_rc(kr_runtime_free(rt), 0);
    assert_int_equal(atomic_load(&c.drops), 1);
}

/* From the block_on future itself. */
static void shutdown_from_block_on_future(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    test_pending p = test_pending_make(&c, NULL);
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    atomic_int rc = 1;
    call_fut f = {{&call_vt}, kr_runtime_shutdown, rt, &rc};
    int brc = kr_runtime_block_on(rt, &f.base, NULL);
    assert_true(brc == 0 || brc == KR_ESHUTDOWN);
    assert_rc(wait_rc(&rc), 0);
    assert_rc(kr_runtime_free(rt), 0);
    assert_int_equal(atomic_load(&c.drops), 1);
}

/* task_blocking.rs can_shutdown_with_zero_timeout_in_runtime: a runtime
 * made and shut down (zero timeout) inside another's block_on. Tokio's
 * shutdown_timeout also drops it; kr_runtime_free is refused there (see
 * useful_panic_message_when_dropping_rt_in_rt), so it is freed after. */
typedef struct inner_fut {
    kr_future base;
    kr_runtime *inner;
    int shutdown_rc, free_rc;
    int background;
} inner_fut;
static kr_poll inner_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    inner_fut *in = (inner_fut *)f;
    kr_runtime_config c = kr_runtime_config_default();
    c.shutdown_timeout_ms = KR_ZERO;
    assert_rc(kr_runtime_new(&c, &in->inner), 0);
    if (in->background) {
        in->shutdown_rc = kr_runtime_shutdown_background(in->inner);
        in->inner = NULL;
    } else {
        in->shutdown_rc = kr_runtime_shutdown(in->inner);
        in->free_rc = kr_runtime_free(in->inner);
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(inner_vt, inner_fut, inner_poll, NULL, 0);

static void can_shutdown_with_zero_timeout_in_runtime(void **state) {
    (void)state;
    kr_runtime *outer = test_runtime(0);
    inner_fut f = {{&inner_vt}, NULL, 1, 1, 0};
    assert_rc(kr_runtime_block_on(outer, &f.base, NULL), 0);
    assert_rc(f.shutdown_rc, 0);
    assert_rc(f.free_rc, KR_EBUSY);
    assert_rc(kr_runtime_free(f.inner), 0);
    test_runtime_free(outer);
}

/* task_blocking.rs useful_panic_message_when_dropping_rt_in_rt: Tokio
 * panics "Cannot drop a runtime in a context where blocking is not
 * allowed"; kr_runtime_free returns KR_EBUSY and does nothing. */
static void useful_panic_message_when_dropping_rt_in_rt(void **state) {
    (void)state;
    kr_runtime *outer = test_runtime(0);
    kr_runtime *inner = current_thread();
    atomic_int rc = 1;
    call_fut f = {{&call_vt}, kr_runtime_free, inner, &rc};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(outer, &f.base, &jh), 0);
    assert_rc(kr_runtime_block_on(outer, &jh.base, NULL), 0);
    assert_rc(wait_rc(&rc), KR_EBUSY);
    test_value v = test_value_make(5, NULL);
    uint64_t out = 0;
    assert_rc(kr_runtime_block_on(inner, &v.base, &out), 0); /* still up */
    assert_int_equal(out, 5);
    assert_rc(kr_runtime_free(inner), 0);
    test_runtime_free(outer);
}

/* task_blocking.rs can_shutdown_now_in_runtime. */
static void can_shutdown_now_in_runtime(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *outer = test_runtime(0);
    inner_fut f = {{&inner_vt}, NULL, 1, 1, 1};
    assert_rc(kr_runtime_block_on(outer, &f.base, NULL), 0);
    assert_rc(f.shutdown_rc, 0);
    test_runtime_free(outer);
    wait_all_freed();
    test_alloc_uninstall();
}

/* ---- kr_runtime_shutdown_background ---------------------------------- */

/* It returns while a blocking job still runs (it waits on a gate opened
 * only afterwards: a logical check); the tasks are dropped meanwhile, and
 * everything is freed once the job is done. */
static void shutdown_background_returns_at_once(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    for (int i = 0; i < 3; i++) {
        test_pending p = test_pending_make(&c, NULL);
        assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    }
    counted j, queued;
    counted_init(&j, 0, 0);
    counted_init(&queued, 1, 0);
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &j, NULL), 0);
    wait_for(&j.started, 1);
    assert_rc(kr_runtime_shutdown_background(rt), 0);
    assert_int_equal(atomic_load(&j.finished), 0);
    wait_for(&c.drops, 3);
    gate_open(&j.g);
    wait_for(&j.finished, 1);
    wait_all_freed();
    assert_int_equal(atomic_load(&c.drops), 3);
    test_alloc_uninstall();
    gate_destroy(&j.g);
    gate_destroy(&queued.g);
}

/* A block_on running on another thread returns KR_ESHUTDOWN, and the free
 * waits for it to leave. */
typedef struct bo_arg {
    kr_runtime *rt;
    test_latch *started;
    int rc;
} bo_arg;
static void *bo_pending(void *arg) {
    bo_arg *a = arg;
    test_pending p = test_pending_make(NULL, a->started);
    a->rc = kr_runtime_block_on(a->rt, &p.base, NULL);
    return NULL;
}

static void shutdown_background_ends_block_on(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    test_latch started;
    test_latch_init(&started);
    bo_arg a = {rt, &started, 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bo_pending, &a), 0);
    double t0 = now_ms();
    while (test_latch_get(&started) < 1) {
        if (now_ms() - t0 > 5000)
            fail_msg("block_on never polled its future");
        test_sleep_ms(1);
    }
    assert_rc(kr_runtime_shutdown_background(rt), 0);
    pthread_join(th, NULL);
    assert_rc(a.rc, KR_ESHUTDOWN);
    wait_all_freed();
    test_alloc_uninstall();
    test_latch_destroy(&started);
}

/* The multi-thread runtime keeps the signal of a finished block_on, still
 * on its list, for the next call to reuse without a lock: a shutdown must
 * still end a pending block_on that reused it, and one running beside it
 * on a fresh signal (the one displaced from the spare slot is freed). */
static void shutdown_ends_block_on_that_reused_the_spare(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    for (uint64_t i = 0; i < 3; i++) { /* leaves a spare, then reuses it */
        test_value v = test_value_make(i, NULL);
        uint64_t out = 99;
        assert_rc(kr_runtime_block_on(rt, &v.base, &out), 0);
        assert_int_equal(out, i);
    }
    test_latch started;
    test_latch_init(&started);
    bo_arg a = {rt, &started, 1}, b = {rt, &started, 1};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, bo_pending, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, bo_pending, &b), 0);
    double t0 = now_ms();
    while (test_latch_get(&started) < 2) {
        if (now_ms() - t0 > 5000)
            fail_msg("the block_on calls never polled their futures");
        test_sleep_ms(1);
    }
    assert_rc(kr_runtime_shutdown_background(rt), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_rc(a.rc, KR_ESHUTDOWN);
    assert_rc(b.rc, KR_ESHUTDOWN);
    wait_all_freed();
    test_alloc_uninstall();
    test_latch_destroy(&started);
}

/* From one of the runtime's own tasks: the task's poll finishes, the
 * block_on returns, and the runtime is freed behind the caller's back. */
static void shutdown_background_from_own_task(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    test_pending p = test_pending_make(&c, NULL);
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    atomic_int rc = 1;
    int brc = block_on_task_calling(rt, kr_runtime_shutdown_background, &rc);
    assert_true(brc == 0 || brc == KR_ESHUTDOWN);
    /* rt is gone (or going): not touched again. */
    assert_rc(wait_rc(&rc), 0);
    wait_all_freed();
    assert_int_equal(atomic_load(&c.drops), 1);
    test_alloc_uninstall();
}

/* From a blocking job of the runtime. */
static void *background_job(void *arg) {
    return (void *)(intptr_t)kr_runtime_shutdown_background(arg);
}

static void shutdown_background_from_blocking_job(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    test_pending p = test_pending_make(&c, NULL);
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    assert_rc(kr_runtime_spawn_blocking(rt, background_job, rt, NULL), 0);
    wait_for(&c.drops, 1);
    wait_all_freed();
    test_alloc_uninstall();
}

/* No thread for the rest: outside a runtime it is done in place; inside
 * one it returns KR_EAGAIN with the runtime shut down, to be freed. */
static void shutdown_background_no_thread(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    test_pending p = test_pending_make(&c, NULL);
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    kr__thread_fail_after(0);
    assert_rc(kr_runtime_shutdown_background(rt), 0);
    kr__thread_fail_after(-1);
    assert_int_equal(atomic_load(&c.drops), 1);
    assert_int_equal(test_alloc_live(), 0);

    rt = test_runtime(0);
    atomic_int rc = 1;
    kr__thread_fail_after(0);
    int brc = block_on_task_calling(rt, kr_runtime_shutdown_background, &rc);
    assert_true(brc == 0 || brc == KR_ESHUTDOWN);
    /* block_on may return before the task has tried to start a thread:
     * the failure stays armed until it has. */
    assert_rc(wait_rc(&rc), KR_EAGAIN);
    kr__thread_fail_after(-1);
    assert_rc(kr_runtime_free(rt), 0);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shutdown_from_task),
        cmocka_unit_test(shutdown_from_task_simulation),
        cmocka_unit_test(shutdown_from_block_on_future),
        cmocka_unit_test(can_shutdown_with_zero_timeout_in_runtime),
        cmocka_unit_test(useful_panic_message_when_dropping_rt_in_rt),
        cmocka_unit_test(can_shutdown_now_in_runtime),
        cmocka_unit_test(shutdown_background_returns_at_once),
        cmocka_unit_test(shutdown_background_ends_block_on),
        cmocka_unit_test(shutdown_ends_block_on_that_reused_the_spare),
        cmocka_unit_test(shutdown_background_from_own_task),
        cmocka_unit_test(shutdown_background_from_blocking_job),
        cmocka_unit_test(shutdown_background_no_thread),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
