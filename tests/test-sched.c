/*
 * Scheduler behaviours beyond the foundation: a LIFO task rescued from a
 * worker stuck in a long poll, abort handles used from another thread while
 * the join handle is awaited, block_on consuming its future.
 * KR_TEST_FLAVORS: ct mt
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- a LIFO task is not stranded behind a long poll ------------------ */

typedef struct {
    kr_future base;
    atomic_int *ran;
} flag_task;

static kr_poll flag_poll(kr_future *f, kr_context *cx, void *out) {
    atomic_store(((flag_task *)f)->ran, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(flag_vt, flag_task, flag_poll, NULL, 0);

/* Spawns a child (it lands in this worker's LIFO slot), then spins inside
 * the same poll until the child has run elsewhere, for at most 2 s. */
typedef struct {
    kr_future base;
    atomic_int ran;
} spinner;

static kr_poll spinner_poll(kr_future *f, kr_context *cx, void *out) {
    spinner *s = (spinner *)f;
    flag_task c = {{&flag_vt}, &s->ran};
    assert_rc(kr_spawn(&c.base, NULL), 0);
    double t0 = now_ms();
    while (!atomic_load(&s->ran) && now_ms() - t0 < 2000)
        ;
    *(double *)out = atomic_load(&s->ran) ? now_ms() - t0 : -1;
    return KR_READY;
}
KR_FUTURE_VTABLE(spinner_vt, spinner, spinner_poll, NULL, sizeof(double));

static void lifo_task_rescued_from_long_poll(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_MULTI_THREAD)
        skip(); /* one thread: nobody else could run the child */
    kr_runtime *rt = test_runtime(2);
    for (int round = 0; round < 5; round++) {
        kr_join_handle h;
        spinner s = {.base = {&spinner_vt}};
        assert_rc(kr_runtime_spawn(rt, &s.base, &h), 0);
        double waited = 0;
        assert_rc(kr_runtime_block_on(rt, &h.base, &waited), 0);
        /* The monitor looks every 1-10 ms; allow for a loaded machine. */
        if (waited < 0)
            fail_msg("round %d: the LIFO task stayed stranded for 2 s", round);
        assert_true(waited < 1000);
    }
    test_runtime_free(rt);
}

/* ---- abort handles --------------------------------------------------- */

typedef struct {
    kr_future base;
    atomic_int *drops;
} forever;

static kr_poll forever_poll(kr_future *f, kr_context *cx, void *out) {
    return KR_PENDING; /* never woken: only an abort ends it */
}
static void forever_drop(kr_future *f) {
    atomic_fetch_add(((forever *)f)->drops, 1);
}
KR_FUTURE_VTABLE(forever_vt, forever, forever_poll, forever_drop, sizeof(int));

static void *abort_later(void *arg) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kr_abort_handle_abort(arg);
    kr_abort_handle_drop(arg);
    return NULL;
}

static void abort_handle_from_other_thread(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    atomic_int drops = 0;
    kr_join_handle h;
    forever f = {{&forever_vt}, &drops};
    assert_rc(kr_runtime_spawn(rt, &f.base, &h), 0);
    kr_abort_handle *ah = NULL;
    assert_rc(kr_join_handle_abort_handle(&h, &ah), 0);
    assert_non_null(ah);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, abort_later, ah), 0);
    int v = 123;
    assert_rc(kr_runtime_block_on(rt, &h.base, &v), 0); /* awaited meanwhile */
    pthread_join(th, NULL);
    assert_rc(kr_join_handle_error(&h), KR_ECANCELED);
    assert_int_equal(v, 0);
    assert_int_equal(atomic_load(&drops), 1);
    /* Misuse: no abort handle from an empty or finished handle. */
    kr_abort_handle *none = (kr_abort_handle *)1;
    assert_rc(kr_join_handle_abort_handle(&h, &none), KR_EINVAL);
    assert_null(none);
    assert_rc(kr_join_handle_abort_handle(NULL, &none), KR_EINVAL);
    assert_rc(kr_join_handle_abort_handle(&h, NULL), KR_EINVAL);
    kr_abort_handle_abort(NULL);
    kr_abort_handle_drop(NULL);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* An abort handle outliving its task and its runtime. */
static void abort_handle_outlives_runtime(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    atomic_int drops = 0;
    kr_join_handle h;
    forever f = {{&forever_vt}, &drops};
    assert_rc(kr_runtime_spawn(rt, &f.base, &h), 0);
    kr_abort_handle *ah;
    assert_rc(kr_join_handle_abort_handle(&h, &ah), 0);
    kr_join_handle_drop(&h);
    test_runtime_free(rt); /* cancels the task */
    assert_int_equal(atomic_load(&drops), 1);
    kr_abort_handle_abort(ah); /* completed: no effect */
    kr_abort_handle_drop(ah);  /* the last reference: frees the cell */
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- block_on consumes its future ------------------------------------ */

typedef struct {
    kr_future base;
    int *drops;
} ready_counted;

static kr_poll ready_poll(kr_future *f, kr_context *cx, void *out) {
    *(int *)out = 5;
    return KR_READY;
}
static void ready_drop(kr_future *f) { (*((ready_counted *)f)->drops)++; }
KR_FUTURE_VTABLE(ready_vt, ready_counted, ready_poll, ready_drop, sizeof(int));

static void block_on_drops_its_future(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int drops = 0, v = 0;
    ready_counted r = {{&ready_vt}, &drops};
    assert_rc(kr_runtime_block_on(rt, &r.base, &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(drops, 1);
    /* Refused before polling: left untouched. */
    assert_rc(kr_runtime_block_on(rt, NULL, &v), KR_EINVAL);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lifo_task_rescued_from_long_poll),
    cmocka_unit_test(abort_handle_from_other_thread),
    cmocka_unit_test(abort_handle_outlives_runtime),
    cmocka_unit_test(block_on_drops_its_future),
};
KR_TEST_MAIN(tests)
