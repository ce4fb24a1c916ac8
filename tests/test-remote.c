/*
 * Spawning from outside the runtime: eight plain threads spawning into one
 * runtime at once while block_on waits for every task; and join handles of
 * remote spawns awaited outside any runtime. KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

#define NTHREADS 8
/* Every KEEP-th spawn keeps its handle (checked after block_on). */
#define KEEP     4

typedef struct {
    kr_future base;
    test_latch *done;
    uint64_t v;
} bump_fut;

static kr_poll bump_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    bump_fut *b = (bump_fut *)f;
    *(uint64_t *)out = b->v;
    test_latch_add(b->done, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(bump_vt, bump_fut, bump_poll, NULL, sizeof(uint64_t));

typedef struct spawner {
    pthread_t th;
    int id;
    long k;
    kr_runtime *rt;
    atomic_int *go;
    test_latch *done;
    kr_join_handle *kept; /* k / KEEP handles */
    long errors;
} spawner;

static void *spawner_main(void *arg) {
    spawner *s = arg;
    while (!atomic_load(s->go))
        ;
    for (long i = 0; i < s->k; i++) {
        bump_fut b = {{&bump_vt}, s->done, (uint64_t)(s->id * s->k + i)};
        kr_join_handle *jh = i % KEEP == 0 ? &s->kept[i / KEEP] : NULL;
        if (kr_runtime_spawn(s->rt, &b.base, jh) != 0)
            s->errors++;
    }
    return NULL;
}

/* Releases the spawners on its first poll (so they spawn while block_on
 * runs), then waits for every task to have run. */
typedef struct {
    kr_future base;
    kr_coro co;
    atomic_int *go;
    test_latch_wait lw;
} gate_main;

static kr_poll gate_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    gate_main *m = (gate_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    atomic_store(m->go, 1);
    KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(gate_vt, gate_main, gate_poll, NULL, 0);

static void remote_eight_threads_spawn_at_once(void **state) {
    (void)state;
    test_alloc_install();
    long k = test_scale(2000);
    long total = NTHREADS * k;
    atomic_int go = 0;
    test_latch done;
    test_latch_init(&done);
    kr_runtime *rt = test_runtime(0);
    spawner sp[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        sp[i] = (spawner){.id = i, .k = k, .rt = rt, .go = &go, .done = &done};
        sp[i].kept = calloc((size_t)(k / KEEP + 1), sizeof(kr_join_handle));
        assert_non_null(sp[i].kept);
        assert_int_equal(pthread_create(&sp[i].th, NULL, spawner_main, &sp[i]),
                         0);
    }
    gate_main m = {
        .base = {&gate_vt}, .go = &go, .lw = test_latch_wait_for(&done, total)};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(sp[i].th, NULL);
        assert_int_equal(sp[i].errors, 0);
    }
    assert_int_equal(test_latch_get(&done), total);
    kr_runtime_metrics mt;
    assert_rc(kr_runtime_metrics_get(rt, &mt), 0);
    assert_int_equal(mt.spawned, (uint64_t)total);
    assert_int_equal(mt.remote_spawns, (uint64_t)total);

    /* Poll the kept handles by hand, outside any runtime (the budget is
     * unlimited there), and read the outputs. The latch fired inside the
     * last task's poll: on the multi-thread runtime it may be completing
     * still, so wait for it to finish first. */
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    for (int i = 0; i < NTHREADS; i++) {
        for (long j = 0; j * KEEP < k; j++) {
            kr_join_handle *jh = &sp[i].kept[j];
            for (int w = 0; w < 5000 && !kr_join_handle_is_finished(jh); w++)
                test_sleep_ms(1);
            assert_true(kr_join_handle_is_finished(jh));
            assert_rc(kr_join_handle_error(jh), KR_EAGAIN);
            uint64_t v = 0;
            assert_int_equal(kr_future_poll(&jh->base, &cx, &v), KR_READY);
            assert_int_equal(v, (uint64_t)(i * k + j * KEEP));
            assert_rc(kr_join_handle_error(jh), 0);
        }
        free(sp[i].kept);
    }
    test_runtime_free(rt);
    test_latch_destroy(&done);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A remote spawn into a runtime nobody is driving yet runs once block_on
 * starts; its handle can be awaited from block_on. */
typedef struct {
    kr_future base;
    kr_join_handle *jh;
} await_one;

static kr_poll await_one_poll(kr_future *f, kr_context *cx, void *out) {
    return kr_future_poll(&((await_one *)f)->jh->base, cx, out);
}
KR_FUTURE_VTABLE(await_one_vt, await_one, await_one_poll, NULL,
                 sizeof(uint64_t));

static void remote_spawn_before_block_on(void **state) {
    (void)state;
    test_alloc_install();
    test_latch done;
    test_latch_init(&done);
    kr_runtime *rt = test_runtime(0);
    bump_fut b = {{&bump_vt}, &done, 1234};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &b.base, &jh), 0);
    await_one a = {{&await_one_vt}, &jh};
    uint64_t v = 0;
    assert_rc(kr_runtime_block_on(rt, &a.base, &v), 0);
    assert_int_equal(v, 1234);
    assert_rc(kr_join_handle_error(&jh), 0);
    assert_int_equal(test_latch_get(&done), 1);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A remote spawn racing a block_on's start: the spawner spawns the i-th
 * task the moment the main thread says it is about to enter block_on i,
 * which waits for that task. The spawn may find the core free (a
 * current-thread spawn then skips the unpark, ct_spawn.c's remote_wake)
 * while the block_on takes it: the block_on must still see the task, or
 * it would sleep for ever. */
typedef struct {
    kr_runtime *rt;
    atomic_long want;
    long n;
    test_latch *done;
    long errors;
} racer;

static void *racer_main(void *arg) {
    racer *r = arg;
    for (long i = 1; i <= r->n; i++) {
        while (atomic_load(&r->want) < i)
            ;
        bump_fut b = {{&bump_vt}, r->done, (uint64_t)i};
        if (kr_runtime_spawn(r->rt, &b.base, NULL) != 0)
            r->errors++;
    }
    return NULL;
}

static void remote_spawn_races_block_on_start(void **state) {
    (void)state;
    test_alloc_install();
    test_latch done;
    test_latch_init(&done);
    racer r = {.rt = test_runtime(0), .n = test_scale(2000), .done = &done};
    atomic_init(&r.want, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, racer_main, &r), 0);
    for (long i = 1; i <= r.n; i++) {
        test_latch_wait w = test_latch_wait_for(&done, i);
        atomic_store(&r.want, i);
        assert_rc(kr_runtime_block_on(r.rt, &w.base, NULL), 0);
    }
    pthread_join(th, NULL);
    assert_int_equal(r.errors, 0);
    assert_int_equal(test_latch_get(&done), r.n);
    test_runtime_free(r.rt);
    test_latch_destroy(&done);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- handles polled from threads outside the task's runtime ---------- */

/* Drives a runtime from a thread of its own until `stop` reaches 1. */
typedef struct {
    kr_runtime *rt;
    test_latch stop;
    pthread_t th;
    int rc;
} driver;

static void *driver_main(void *arg) {
    driver *d = arg;
    test_latch_wait w = test_latch_wait_for(&d->stop, 1);
    d->rc = kr_runtime_block_on(d->rt, &w.base, NULL);
    return NULL;
}

static void driver_start(driver *d, kr_runtime *rt) {
    d->rt = rt;
    d->rc = -1;
    test_latch_init(&d->stop);
    assert_int_equal(pthread_create(&d->th, NULL, driver_main, d), 0);
}

static void driver_stop(driver *d) {
    test_latch_add(&d->stop, 1);
    pthread_join(d->th, NULL);
    assert_rc(d->rc, 0);
    test_latch_destroy(&d->stop);
}

/* The handle is polled by hand with waker A, then B: A is released, only
 * B is woken by the completion, and the handle drops B when it is done. */
static void remote_join_waker_replaced(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    driver d;
    driver_start(&d, rt);
    test_wcount ca = {0}, cb = {0};
    kr_waker a = test_wcount_waker(&ca), b = test_wcount_waker(&cb);
    kr_context cxa = kr_context_from_waker(&a);
    kr_context cxb = kr_context_from_waker(&b);
    /* Long enough that both polls come before the task completes. */
    test_timer tm = test_timer_make(100, NULL);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &tm.base, &jh), 0);
    int out = 0;
    assert_int_equal(kr_future_poll(&jh.base, &cxa, &out), KR_PENDING);
    assert_int_equal(kr_future_poll(&jh.base, &cxa, &out), KR_PENDING);
    assert_int_equal(ca.clones, 1); /* same waker: stored once */
    assert_int_equal(kr_future_poll(&jh.base, &cxb, &out), KR_PENDING);
    assert_int_equal(ca.drops, 1); /* replaced */
    assert_int_equal(cb.clones, 1);
    for (int i = 0;
         i < 10000 && !atomic_load(&cb.by_ref) && !atomic_load(&cb.wakes); i++)
        test_sleep_ms(1);
    assert_true(kr_join_handle_is_finished(&jh));
    assert_int_equal(kr_future_poll(&jh.base, &cxb, &out), KR_READY);
    assert_int_equal(out, 1);
    assert_rc(kr_join_handle_error(&jh), 0);
    assert_int_equal(ca.wakes + ca.by_ref, 0);
    assert_int_equal(cb.wakes + cb.by_ref, 1);
    driver_stop(&d);
    test_runtime_free(rt);
    assert_int_equal(ca.clones, ca.wakes + ca.drops);
    assert_int_equal(cb.clones, cb.wakes + cb.drops);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A task of one runtime awaited by block_on of another. */
static void remote_join_across_runtimes(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt1 = test_runtime(0), *rt2 = test_runtime(0);
    driver d;
    driver_start(&d, rt1);
    test_timer tm = test_timer_make(2, NULL);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt1, &tm.base, &jh), 0);
    await_one a = {{&await_one_vt}, &jh};
    int v = 0;
    assert_rc(kr_runtime_block_on(rt2, &a.base, &v), 0);
    assert_int_equal(v, 1);
    assert_rc(kr_join_handle_error(&jh), 0);
    driver_stop(&d);
    test_runtime_free(rt2);
    test_runtime_free(rt1);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(remote_join_waker_replaced),
    cmocka_unit_test(remote_join_across_runtimes),
    cmocka_unit_test(remote_eight_threads_spawn_at_once),
    cmocka_unit_test(remote_spawn_before_block_on),
    cmocka_unit_test(remote_spawn_races_block_on_start),
};
KR_TEST_MAIN(tests)
