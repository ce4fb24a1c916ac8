/*
 * kr_block_in_place (kairo/blocking.h). Ported from Tokio's
 * rt_threaded.rs, task_blocking.rs and rt_handle_block_on.rs block_in_place
 * tests (named after them); the rest are kairo's own. Most need the
 * multi-thread runtime (skipped on the other), the refusals the
 * current-thread one.
 * KR_TEST_FLAVORS: ct mt
 */
#include "blocking.h"

static void need_mt(void) {
    if (test_flavor() != KR_RUNTIME_MULTI_THREAD)
        skip();
}
static void need_ct(void) {
    if (test_flavor() != KR_RUNTIME_CURRENT_THREAD)
        skip();
}

static kr_runtime *runtime_n(unsigned workers, unsigned max_blocking) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = workers;
    c.max_blocking_threads = max_blocking;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

/* ---- a future calling kr_block_in_place -------------------------------- */

typedef struct bip_fut {
    kr_future base;
    kr_blocking_fn fn;
    void *arg;
    int rc;
    void *out;
} bip_fut;
static kr_poll bip_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    bip_fut *b = (bip_fut *)f;
    b->rc = kr_block_in_place(b->fn, b->arg, &b->out);
    return KR_READY;
}
KR_FUTURE_VTABLE(bip_vt, bip_fut, bip_poll, NULL, 0);

static bip_fut bip(kr_blocking_fn fn, void *arg) {
    bip_fut b = {{&bip_vt}, fn, arg, 1, NULL};
    return b;
}

/* Runs the future as a task: spawned, then joined by block_on. */
static void run_as_task(kr_runtime *rt, kr_future *f) {
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, f, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), 0);
}

static int calls;
static void *noop(void *arg) {
    calls++;
    return arg;
}

/* Records what fn sees, through its arg. */
typedef struct seen {
    int rc;
    void *out;
    atomic_int called;
} seen;

typedef struct report_fut {
    kr_future base;
    kr_blocking_fn fn;
    void *arg;
    seen *s;
} report_fut;
static kr_poll report_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    report_fut *r = (report_fut *)f;
    r->s->rc = kr_block_in_place(r->fn, r->arg, &r->s->out);
    return KR_READY;
}
KR_FUTURE_VTABLE(report_vt, report_fut, report_poll, NULL, 0);

static seen run_task_bip(kr_runtime *rt, kr_blocking_fn fn, void *arg) {
    seen s = {1, NULL, 0};
    report_fut r = {{&report_vt}, fn, arg, &s};
    run_as_task(rt, &r.base);
    return s;
}

/* ---- refusals and the plain cases ------------------------------------- */

/* rt_threaded.rs test_block_in_place1 (also test_block_in_place3 and
 * task_blocking.rs no_block_in_current_thread_block_on): from the block_on
 * future of a current-thread runtime, refused; fn is not called. */
static void test_block_in_place1(void **state) {
    (void)state;
    need_ct();
    kr_runtime *rt = test_runtime(0);
    calls = 0;
    bip_fut b = bip(noop, NULL);
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    assert_rc(b.rc, KR_EINVAL);
    assert_int_equal(calls, 0);
    test_runtime_free(rt);
}

/* task_blocking.rs no_block_in_current_thread_scheduler: from a task of a
 * current-thread runtime, refused. */
static void no_block_in_current_thread_scheduler(void **state) {
    (void)state;
    need_ct();
    kr_runtime *rt = test_runtime(0);
    calls = 0;
    seen s = run_task_bip(rt, noop, NULL);
    assert_rc(s.rc, KR_EINVAL);
    assert_int_equal(calls, 0);
    test_runtime_free(rt);
}

/* rt_threaded.rs test_block_in_place2 / task_blocking.rs
 * yes_block_in_threaded_block_on: from a multi-thread block_on future. */
static void test_block_in_place2(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = test_runtime(0);
    calls = 0;
    bip_fut b = bip(noop, (void *)7);
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    assert_rc(b.rc, 0);
    assert_ptr_equal(b.out, (void *)7);
    assert_int_equal(calls, 1);
    test_runtime_free(rt);
}

/* rt_threaded.rs test_block_in_place4: from a multi-thread task. */
static void test_block_in_place4(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = test_runtime(0);
    calls = 0;
    seen s = run_task_bip(rt, noop, (void *)9);
    assert_rc(s.rc, 0);
    assert_ptr_equal(s.out, (void *)9);
    assert_int_equal(calls, 1);
    test_runtime_free(rt);
}

/* Outside any runtime fn just runs (as Tokio's); a NULL fn is refused. */
static void block_in_place_outside_runtime(void **state) {
    (void)state;
    calls = 0;
    void *out = NULL;
    assert_rc(kr_block_in_place(noop, (void *)3, &out), 0);
    assert_ptr_equal(out, (void *)3);
    assert_int_equal(calls, 1);
    assert_rc(kr_block_in_place(NULL, NULL, &out), KR_EINVAL);
    assert_rc(kr_block_in_place(noop, NULL, NULL), 0);
}

/* The simulation flavor runs every task on one thread too: refused from
 * its block_on future and its tasks. */
static void block_in_place_simulation(void **state) {
    (void)state;
    need_ct(); /* one run is enough */
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_SIMULATION;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    calls = 0;
    bip_fut b = bip(noop, NULL);
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    assert_rc(b.rc, KR_EINVAL);
    seen s = run_task_bip(rt, noop, NULL);
    assert_rc(s.rc, KR_EINVAL);
    assert_int_equal(calls, 0);
    test_runtime_free(rt);
}

/* ---- the hand-off ----------------------------------------------------- */

/* With one worker, a task blocking in place must not hold the others up:
 * the second task can only run on the thread the worker went to. */
typedef struct flag_task {
    kr_future base;
    kr_yield y;
    atomic_int *ran;
    int phase;
} flag_task;
static kr_poll flag_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    flag_task *t = (flag_task *)f;
    if (t->phase == 0) {
        t->y = kr_yield_now(); /* a deferred task, as in Tokio's test */
        t->phase = 1;
    }
    if (kr_future_poll(&t->y.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    atomic_store(t->ran, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(flag_vt, flag_task, flag_poll, NULL, 0);

static void *wait_flag(void *arg) {
    atomic_int *ran = arg;
    double t0 = now_ms();
    while (!atomic_load(ran)) {
        if (now_ms() - t0 > 10000)
            return (void *)0; /* the worker was never handed over */
        test_sleep_ms(1);
    }
    return (void *)1;
}

typedef struct spawn_then_block {
    kr_future base;
    atomic_int *ran;
    seen *s;
} spawn_then_block;
static kr_poll stb_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    spawn_then_block *t = (spawn_then_block *)f;
    flag_task ft = {.base = {&flag_vt}, .ran = t->ran};
    assert_rc(kr_spawn(&ft.base, NULL), 0); /* into this worker's LIFO */
    t->s->rc = kr_block_in_place(wait_flag, t->ran, &t->s->out);
    return KR_READY;
}
KR_FUTURE_VTABLE(stb_vt, spawn_then_block, stb_poll, NULL, 0);

/* rt_threaded.rs wake_deferred_tasks_before_block_in_place (Tokio #7877):
 * a task waiting on the blocked worker (here: spawned into its LIFO slot,
 * then yielding) runs while fn blocks. */
static void wake_deferred_tasks_before_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = runtime_n(1, 0);
    atomic_int ran = 0;
    seen s = {1, NULL, 0};
    spawn_then_block t = {{&stb_vt}, &ran, &s};
    run_as_task(rt, &t.base);
    assert_rc(s.rc, 0);
    assert_ptr_equal(s.out, (void *)1);
    test_runtime_free(rt);
}

/* fn blocks the runtime's own block_on (from inside fn, as a plain
 * thread), which blocks in place again inside. */
typedef struct rt_arg {
    kr_runtime *rt;
    kr_future *f;
    int rc;
} rt_arg;
static void *block_on_in(void *arg) {
    rt_arg *a = arg;
    a->rc = kr_runtime_block_on(a->rt, a->f, NULL);
    return NULL;
}

/* rt_threaded.rs test_nested_block_in_place_with_block_on_between (Tokio
 * #5239): one worker, a task blocks in place; fn blocks on the runtime,
 * whose future blocks in place again. */
static void test_nested_block_in_place_with_block_on_between(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = runtime_n(1, 1);
    for (int i = 0; i < 100; i++) {
        calls = 0;
        bip_fut inner = bip(noop, NULL);
        rt_arg a = {rt, &inner.base, 1};
        seen s = run_task_bip(rt, block_on_in, &a);
        assert_rc(s.rc, 0);
        assert_rc(a.rc, 0);
        assert_rc(inner.rc, 0);
        assert_int_equal(calls, 1);
    }
    test_runtime_free(rt);
}

/* rt_threaded.rs yield_now_in_block_in_place (and rt_handle_block_on.rs
 * yield_in_block_in_place): fn blocks on a yield. */
static void yield_now_in_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = runtime_n(1, 0);
    kr_yield y = kr_yield_now();
    rt_arg a = {rt, &y.base, 1};
    seen s = run_task_bip(rt, block_on_in, &a);
    assert_rc(s.rc, 0);
    assert_rc(a.rc, 0);
    test_runtime_free(rt);
}

/* rt_threaded.rs mutex_in_block_in_place: fn locks a mutex more times than
 * the budget, in a block_on of the runtime. */
typedef struct lock_loop {
    kr_future base;
    kr_coro co;
    kr_mutex *m;
    int i;
    kr_mutex_lock l;
    kr_mutex_guard g;
} lock_loop;
static kr_poll lock_loop_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    lock_loop *l = (lock_loop *)f;
    KR_ASYNC_BEGIN(&l->co);
    for (l->i = 0; l->i < 129; l->i++) {
        l->l = kr_mutex_lock_future(l->m);
        KR_AWAIT(&l->co, &l->l.base, cx, &l->g);
        *(int *)l->g.data = l->i;
        kr_mutex_unlock(&l->g);
    }
    KR_ASYNC_END(&l->co);
}
KR_FUTURE_VTABLE(lock_loop_vt, lock_loop, lock_loop_poll, NULL, 0);

static void mutex_in_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = runtime_n(1, 0);
    kr_mutex *m;
    assert_rc(kr_mutex_new(sizeof(int), &m), 0);
    lock_loop l = {.base = {&lock_loop_vt}, .m = m};
    rt_arg a = {rt, &l.base, 1};
    seen s = run_task_bip(rt, block_on_in, &a);
    assert_rc(s.rc, 0);
    assert_rc(a.rc, 0);
    assert_int_equal(*(int *)kr_mutex_data(m), 128);
    test_runtime_free(rt);
    kr_mutex_free(m);
}

/* A ct runtime made, run and freed inside fn. */
static void *inner_runtime(void *arg) {
    (void)arg;
    kr_runtime *inner = NULL;
    if (kr_runtime_new(NULL, &inner) != 0)
        return (void *)0;
    test_value v = test_value_make(5, NULL);
    uint64_t out = 0;
    int rc = kr_runtime_block_on(inner, &v.base, &out);
    kr_runtime_free(inner);
    return (void *)(uintptr_t)(rc == 0 && out == 5);
}

/* task_blocking.rs can_enter_current_thread_rt_from_within_block_in_place:
 * from the block_on future, and from a task. */
static void
can_enter_current_thread_rt_from_within_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = test_runtime(0);
    bip_fut b = bip(inner_runtime, NULL);
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    assert_rc(b.rc, 0);
    assert_ptr_equal(b.out, (void *)1);
    seen s = run_task_bip(rt, inner_runtime, NULL);
    assert_rc(s.rc, 0);
    assert_ptr_equal(s.out, (void *)1);
    test_runtime_free(rt);
}

/* rt_threaded.rs yield_after_block_in_place: one worker; block in place
 * (entering another runtime), then yield, then complete. */
typedef struct bip_yield {
    kr_future base;
    int phase;
    kr_yield y;
    void *out;
} bip_yield;
static kr_poll bip_yield_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    bip_yield *b = (bip_yield *)f;
    if (b->phase == 0) {
        assert_rc(kr_block_in_place(inner_runtime, NULL, &b->out), 0);
        assert_ptr_equal(b->out, (void *)1);
        b->y = kr_yield_now();
        b->phase = 1;
    }
    return kr_future_poll(&b->y.base, cx, NULL);
}
KR_FUTURE_VTABLE(bip_yield_vt, bip_yield, bip_yield_poll, NULL, 0);

static void yield_after_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = runtime_n(1, 0);
    for (int i = 0; i < 20; i++) {
        bip_yield b = {.base = {&bip_yield_vt}};
        run_as_task(rt, &b.base);
    }
    test_runtime_free(rt);
}

/* ---- budget ------------------------------------------------------------ */

/* Spends budget until it runs out (at most 100000 calls). */
static long spend(kr_context *cx) {
    long n = 0;
    while (n < 100000 && kr_coop_proceed(cx))
        n++;
    return n;
}

typedef struct coop_after {
    kr_future base;
    int phase;
    long *n;
} coop_after;
static kr_poll coop_after_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    coop_after *c = (coop_after *)f;
    if (c->phase == 1)
        return KR_READY; /* woken by the exhausted budget */
    assert_rc(kr_block_in_place(noop, NULL, NULL), 0);
    *c->n = spend(cx);
    c->phase = 1;
    return KR_PENDING;
}
KR_FUTURE_VTABLE(coop_after_vt, coop_after, coop_after_poll, NULL, 0);

/* rt_threaded.rs coop_and_block_in_place: after block_in_place the task
 * is under its budget again (Tokio: receiving from a full channel yields
 * at the coop limit). max_blocking_threads 1 as in Tokio. */
static void coop_and_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = runtime_n(0, 1);
    long n = -1;
    coop_after c = {{&coop_after_vt}, 0, &n};
    run_as_task(rt, &c.base);
    assert_true(n >= 0 && n <= 128);
    test_runtime_free(rt);
}

/* Inside fn the budget is unlimited: polled by hand there (Tokio: a
 * futures::executor::block_on over a stream of 200 items). */
static void *spend_inside(void *arg) {
    (void)arg;
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    return (void *)(intptr_t)spend(&cx);
}

/* task_blocking.rs coop_disabled_in_block_in_place. */
static void coop_disabled_in_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = test_runtime(0);
    seen s = run_task_bip(rt, spend_inside, NULL);
    assert_rc(s.rc, 0);
    assert_int_equal((intptr_t)s.out, 100000);
    test_runtime_free(rt);
}

/* task_blocking.rs coop_disabled_in_block_in_place_in_block_on. */
static void coop_disabled_in_block_in_place_in_block_on(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = test_runtime(0);
    bip_fut b = bip(spend_inside, NULL);
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    assert_rc(b.rc, 0);
    assert_int_equal((intptr_t)b.out, 100000);
    test_runtime_free(rt);
}

/* ---- nesting ------------------------------------------------------------ */

static void *sleep5(void *arg) {
    test_sleep_ms(5);
    return arg;
}

/* task_blocking.rs block_in_blocking: from a blocking job, fn just runs
 * (on both flavors: a blocking job is outside the runtime's threads). */
static void *bip_job(void *arg) {
    void *out = NULL;
    if (kr_block_in_place(sleep5, arg, &out) != 0)
        return NULL;
    return out;
}

static void block_in_blocking(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    for (int i = 0; i < 20; i++) {
        kr_join_handle jh;
        assert_rc(kr_runtime_spawn_blocking(rt, bip_job, (void *)5, &jh), 0);
        assert_int_equal(join_all(rt, &jh, 1), 5);
    }
    test_runtime_free(rt);
}

/* task_blocking.rs block_in_block: block_in_place inside fn. */
static void *nested(void *arg) {
    void *out = NULL;
    if (kr_block_in_place(sleep5, arg, &out) != 0)
        return NULL;
    return out;
}

static void block_in_block(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = test_runtime(0);
    for (int i = 0; i < 20; i++) {
        seen s = run_task_bip(rt, nested, (void *)11);
        assert_rc(s.rc, 0);
        assert_ptr_equal(s.out, (void *)11);
    }
    test_runtime_free(rt);
}

/* ---- kairo's own --------------------------------------------------------- */

/* Inside fn the thread has entered the runtime: kr_spawn spawns onto it
 * (Tokio: Handle::current inside block_in_place). */
static void *spawn_inside(void *arg) {
    test_value v = test_value_make(1, arg);
    return (void *)(intptr_t)kr_spawn(&v.base, NULL);
}

static void spawn_inside_block_in_place(void **state) {
    (void)state;
    need_mt();
    kr_runtime *rt = test_runtime(0);
    test_counts c = {0};
    seen s = run_task_bip(rt, spawn_inside, &c);
    assert_rc(s.rc, 0);
    assert_int_equal((intptr_t)s.out, 0);
    wait_for(&c.polls, 1);
    test_runtime_free(rt);
}

/* Many tasks blocking in place at once, spawning and sleeping around it,
 * on two workers, with thread hooks: every thread started stops, and
 * nothing leaks (ASan). The last round is shut down while tasks still
 * block. */
typedef struct hooks2 {
    atomic_long start, stop;
} hooks2;
static void h_start(void *arg) { atomic_fetch_add(&((hooks2 *)arg)->start, 1); }
static void h_stop(void *arg) { atomic_fetch_add(&((hooks2 *)arg)->stop, 1); }

typedef struct churn {
    kr_future base;
    kr_coro co;
    kr_sleep s;
    kr_join_handle jh;
    int i;
} churn;
static void *sleep1(void *arg) {
    test_sleep_ms(1);
    return arg;
}
static kr_poll churn_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    churn *c = (churn *)f;
    KR_ASYNC_BEGIN(&c->co);
    for (c->i = 0; c->i < 5; c->i++) {
        assert_rc(kr_block_in_place(sleep1, NULL, NULL), 0);
        {
            /* The last round is shut down under the tasks' feet. */
            test_value v = test_value_make(1, NULL);
            int rc = kr_spawn(&v.base, &c->jh);
            if (rc == KR_ESHUTDOWN)
                break;
            assert_rc(rc, 0);
        }
        KR_AWAIT(&c->co, &c->jh.base, cx, NULL);
        c->s = kr_sleep_for(kr_ms(1));
        KR_AWAIT(&c->co, &c->s.base, cx, NULL);
    }
    KR_ASYNC_END(&c->co);
}
static void churn_drop(kr_future *f) { kr_coro_drop(&((churn *)f)->co); }
KR_FUTURE_VTABLE(churn_vt, churn, churn_poll, churn_drop, 0);

static void block_in_place_churn(void **state) {
    (void)state;
    need_mt();
    test_alloc_install();
    hooks2 h = {0, 0};
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = 2;
    c.hook_arg = &h;
    c.on_thread_start = h_start;
    c.on_thread_stop = h_stop;
    for (int round = 0; round < 3; round++) {
        kr_runtime *rt = NULL;
        assert_rc(kr_runtime_new(&c, &rt), 0);
        kr_join_handle jh[8];
        for (int i = 0; i < 8; i++) {
            churn ch = {.base = {&churn_vt}};
            assert_rc(kr_runtime_spawn(rt, &ch.base, &jh[i]), 0);
        }
        if (round < 2)
            join_all(rt, jh, 8);
        else
            for (int i = 0; i < 8; i++)
                kr_join_handle_drop(&jh[i]);
        kr_runtime_free(rt);
        assert_int_equal(atomic_load(&h.stop), atomic_load(&h.start));
    }
    assert_true(atomic_load(&h.start) > 3 * 2); /* hand-offs started some */
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_in_place1),
        cmocka_unit_test(no_block_in_current_thread_scheduler),
        cmocka_unit_test(test_block_in_place2),
        cmocka_unit_test(test_block_in_place4),
        cmocka_unit_test(block_in_place_outside_runtime),
        cmocka_unit_test(block_in_place_simulation),
        cmocka_unit_test(wake_deferred_tasks_before_block_in_place),
        cmocka_unit_test(test_nested_block_in_place_with_block_on_between),
        cmocka_unit_test(yield_now_in_block_in_place),
        cmocka_unit_test(mutex_in_block_in_place),
        cmocka_unit_test(
            can_enter_current_thread_rt_from_within_block_in_place),
        cmocka_unit_test(yield_after_block_in_place),
        cmocka_unit_test(coop_and_block_in_place),
        cmocka_unit_test(coop_disabled_in_block_in_place),
        cmocka_unit_test(coop_disabled_in_block_in_place_in_block_on),
        cmocka_unit_test(block_in_blocking),
        cmocka_unit_test(block_in_block),
        cmocka_unit_test(spawn_inside_block_in_place),
        cmocka_unit_test(block_in_place_churn),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
