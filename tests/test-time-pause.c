/*
 * The pausable clock: kr_time_pause, kr_time_advance, kr_time_resume,
 * start_paused and the auto-advance. Ported from Tokio's
 * tests/time_pause.rs (each test named after the Tokio test it follows),
 * then kairo's own: errors, resume, timeouts and tasks on the paused
 * clock, no spinning while paused. A paused clock is the current-thread
 * runtime's: the multi-thread cases check the error.
 */
#include "test-paused.h"

/* ======================================================================== */
/* tokio/tests/time_pause.rs                                                */
/* ======================================================================== */

BODY_TEST(pause_time_in_main, false) {
    (void)f, (void)cx, (void)out;
    assert_false(kr_time_is_paused());
    assert_rc(kr_time_pause(), 0);
    assert_true(kr_time_is_paused());
    return KR_READY;
}

static kr_poll pauser_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx;
    *(int *)out = kr_time_pause();
    return KR_READY;
}
KR_FUTURE_VTABLE(pauser_vt, kr_future, pauser_poll, NULL, sizeof(int));

BODY_TEST(pause_time_in_task, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    {
        kr_future p = {&pauser_vt};
        assert_rc(kr_spawn(&p, &b->jh), 0);
    }
    KR_AWAIT(&b->co, &b->jh.base, cx, &b->rc);
    assert_rc(b->rc, 0);
    assert_true(kr_time_is_paused());
    KR_ASYNC_END(&b->co);
}

static kr_runtime *mt_runtime(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = 1;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

/* Tokio panics (should_panic); kairo returns KR_EOPNOTSUPP. */
static void pause_time_in_main_threads(void **state) {
    (void)state;
    kr_runtime *rt = mt_runtime();
    kr_future p = {&pauser_vt};
    int rc = 0;
    assert_rc(kr_runtime_block_on(rt, &p, &rc), 0);
    assert_rc(rc, KR_EOPNOTSUPP);
    test_runtime_free(rt);
}

/* Tokio: the task panics, its join handle reads an error. */
static void pause_time_in_spawn_threads(void **state) {
    (void)state;
    kr_runtime *rt = mt_runtime();
    kr_future p = {&pauser_vt};
    kr_join_handle jh;
    int rc = 0;
    assert_rc(kr_runtime_spawn(rt, &p, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, &rc), 0);
    assert_rc(rc, KR_EOPNOTSUPP);
    test_runtime_free(rt);
}

/* paused_time_stress_run: 10 000 sleeps of random length up to 1 s, each
 * ended by the auto-advance; the elapsed times are the same on every run.
 * (The same 10 000 as Tokio's: virtual time costs nothing.) */
enum { STRESS_N = 10000 };

static kr_poll stress_run_poll(kr_future *f, kr_context *cx, void *out);
KR_FUTURE_VTABLE(stress_run_vt, body, stress_run_poll, body_drop, 0);
static kr_poll stress_run_poll(kr_future *f, kr_context *cx, void *out) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    for (b->i = 0; b->i < STRESS_N; b->i++) {
        {
            /* A fixed-seed LCG: the same lengths on every run. */
            static uint64_t seed;
            if (b->i == 0)
                seed = 1;
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            b->tmp = kr_sleep_for((kr_duration)((seed >> 11) % 1000000000u));
        }
        KR_AWAIT(&b->co, &b->tmp.base, cx, NULL);
        b->trace[b->i] = (uint64_t)kr_instant_since(kr_instant_now(), b->start);
    }
    KR_ASYNC_END(&b->co);
}

static void paused_time_stress_run(uint64_t *trace) {
    kr_runtime *rt = paused_runtime(true);
    body b;
    memset(&b, 0, sizeof(b));
    b.base.vtable = &stress_run_vt;
    b.trace = trace;
    kr_instant t0 = {0};
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0.ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t real =
        (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - t0.ns;
    /* Hours of virtual sleeping took (far) less than a minute. */
    assert_true(trace[STRESS_N - 1] > (uint64_t)kr_secs(3600));
    assert_true(real < (uint64_t)kr_secs(60));
    test_runtime_free(rt);
}

static void paused_time_is_deterministic(void **state) {
    (void)state;
    uint64_t *a = calloc(STRESS_N, sizeof(uint64_t));
    uint64_t *b = calloc(STRESS_N, sizeof(uint64_t));
    assert_non_null(a);
    assert_non_null(b);
    paused_time_stress_run(a);
    paused_time_stress_run(b);
    assert_memory_equal(a, b, STRESS_N * sizeof(uint64_t));
    for (int i = 1; i < STRESS_N; i++)
        assert_true(a[i] >= a[i - 1]);
    free(a);
    free(b);
}

BODY_TEST(advance_after_poll, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    SLEEP(b, kr_ms(1));
    b->start = kr_instant_now();
    b->s = kr_sleep_until(at_ms(b->start, 300));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(100));
    assert_elapsed(b->before, kr_ms(100));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(sleep_no_poll, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->s = kr_sleep_until(at_ms(b->start, 300));
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(100));
    assert_elapsed(b->before, kr_ms(100));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    KR_ASYNC_END(&b->co);
}

/* Tokio's Tester: the sleep polled with the advancing task's own waker
 * (`poll` true) or not, before and after the advance. */
static kr_poll sleep_same_task_body(body *b, kr_context *cx, bool poll) {
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->s = kr_sleep_until(at_ms(b->start, 300));
    if (poll)
        assert_int_equal(kr_future_poll(&b->s.base, cx, NULL), KR_PENDING);
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(100));
    assert_elapsed(b->before, kr_ms(100));
    assert_int_equal(kr_future_poll(&b->s.base, cx, NULL), KR_PENDING);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(sleep_same_task, true) {
    (void)out;
    return sleep_same_task_body((body *)f, cx, true);
}

BODY_TEST(sleep_same_task_no_poll, true) {
    (void)out;
    return sleep_same_task_body((body *)f, cx, false);
}

BODY_TEST(interval, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_BURST);
    CHECK_IV(b, 0);
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(100));
    assert_elapsed(b->before, kr_ms(100));
    CHECK_IV_PENDING(b);
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(200));
    assert_elapsed(b->before, kr_ms(200));
    CHECK_IV(b, 300);
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(400));
    assert_elapsed(b->before, kr_ms(400));
    CHECK_IV(b, 600);
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(500));
    assert_elapsed(b->before, kr_ms(500));
    CHECK_IV(b, 900, 1200);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(test_time_advance_sub_ms, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->before = kr_instant_now();
    ADVANCE(b, kr_us(51592));
    assert_int_equal(kr_instant_since(kr_instant_now(), b->before),
                     kr_us(51592));
    b->before = kr_instant_now();
    ADVANCE(b, kr_us(1));
    assert_int_equal(kr_instant_since(kr_instant_now(), b->before), kr_us(1));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(test_time_advance_3ms_and_change, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->before = kr_instant_now();
    ADVANCE(b, kr_us(3141592));
    assert_int_equal(kr_instant_since(kr_instant_now(), b->before),
                     kr_us(3141592));
    b->before = kr_instant_now();
    ADVANCE(b, kr_us(3123456));
    assert_int_equal(kr_instant_since(kr_instant_now(), b->before),
                     kr_us(3123456));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(regression_3710_with_submillis_advance, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->s = kr_sleep_until(kr_instant_add(b->start, kr_secs(60)));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    b->before = kr_instant_now();
    ADVANCE(b, kr_us(51592));
    assert_int_equal(kr_instant_since(kr_instant_now(), b->before),
                     kr_us(51592));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(exact_1ms_advance, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    assert_int_equal(kr_instant_since(kr_instant_now(), b->before), kr_ms(1));
    b->before = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    assert_int_equal(kr_instant_since(kr_instant_now(), b->before), kr_ms(1));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(advance_once_with_timer, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->s = kr_sleep_for(kr_ms(1));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    ADVANCE(b, kr_us(250));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    (void)is_woken();
    ADVANCE(b, kr_us(1500));
    assert_true(is_woken());
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_READY);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(advance_multi_with_timer, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->s = kr_sleep_for(kr_ms(1));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    ADVANCE(b, kr_us(250));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    ADVANCE(b, kr_us(250));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    ADVANCE(b, kr_us(250));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    (void)is_woken();
    ADVANCE(b, kr_us(250));
    assert_true(is_woken());
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_READY);
    KR_ASYNC_END(&b->co);
}

/* ======================================================================== */
/* kairo's own                                                              */
/* ======================================================================== */

/* The errors: pause twice, resume or advance while running, a negative
 * advance; then resume runs the clock on from where it stood. */
BODY_TEST(pause_errors_and_resume, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_resume(), KR_EINVAL);
    b->adv = kr_time_advance(kr_ms(1));
    KR_AWAIT(&b->co, &b->adv.base, cx, &b->rc);
    assert_rc(b->rc, KR_EINVAL);
    assert_rc(kr_time_pause(), 0);
    assert_rc(kr_time_pause(), KR_EALREADY);
    b->adv = kr_time_advance(-1);
    KR_AWAIT(&b->co, &b->adv.base, cx, &b->rc);
    assert_rc(b->rc, KR_EINVAL);
    b->start = kr_instant_now();
    ADVANCE(b, kr_secs(3600));
    assert_rc(kr_time_resume(), 0);
    assert_false(kr_time_is_paused());
    /* Running again, an hour ahead: it never goes back. */
    assert_true(kr_instant_since(kr_instant_now(), b->start) >= kr_secs(3600));
    b->before = kr_instant_now();
    SLEEP(b, kr_ms(5)); /* a real 5 ms */
    assert_true(kr_instant_since(kr_instant_now(), b->before) >= kr_ms(5));
    KR_ASYNC_END(&b->co);
}

static void pause_outside_runtime(void **state) {
    (void)state;
    assert_rc(kr_time_pause(), KR_EINVAL);
    assert_rc(kr_time_resume(), KR_EINVAL);
    assert_false(kr_time_is_paused());
}

static void start_paused_config_errors(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.start_paused = true;
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_null(rt);
    c.flavor = KR_RUNTIME_CURRENT_THREAD;
    c.disable_drivers = KR_DRIVER_TIME;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    /* Without timers, a pause has nothing to pause. */
    c.start_paused = false;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    kr_future p = {&pauser_vt};
    int rc = 0;
    assert_rc(kr_runtime_block_on(rt, &p, &rc), 0);
    assert_rc(rc, KR_ENOTIME);
    test_runtime_free(rt);
}

/* A timeout follows the paused clock: an hour's timeout on a future that
 * never completes elapses at once, an hour later on the clock. */
BODY_TEST(timeout_auto_advances, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    b->pend = test_pending_make(NULL, NULL);
    b->to = kr_timeout_new(&b->pend.base, kr_secs(3600), NULL);
    KR_AWAIT(&b->co, &b->to.base, cx, &b->rc);
    assert_rc(b->rc, KR_ELAPSED);
    assert_elapsed(b->start, kr_secs(3600));
    KR_ASYNC_END(&b->co);
}

/* Sleeps in spawned tasks auto-advance in deadline order. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_sleep s;
    long ms;
    long *order, *slot;
} napper;
static kr_poll napper_poll(kr_future *f, kr_context *cx, void *out) {
    napper *n = (napper *)f;
    (void)out;
    KR_ASYNC_BEGIN(&n->co);
    n->s = kr_sleep_for(kr_ms(n->ms));
    KR_AWAIT(&n->co, &n->s.base, cx, NULL);
    *n->slot = (*n->order)++;
    KR_ASYNC_END(&n->co);
}
static void napper_drop(kr_future *f) { kr_coro_drop(&((napper *)f)->co); }
KR_FUTURE_VTABLE(napper_vt, napper, napper_poll, napper_drop, 0);

static long nap_order, nap_slot[4];
static kr_join_handle nap_jh[4];

BODY_TEST(auto_advance_fires_tasks_in_order, true) {
    body *b = (body *)f;
    (void)out;
    static const long ms[4] = {3000, 10, 70000, 500};
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    nap_order = 0;
    for (int i = 0; i < 4; i++) {
        napper n = {.base = {&napper_vt},
                    .ms = ms[i],
                    .order = &nap_order,
                    .slot = &nap_slot[i]};
        assert_rc(kr_spawn(&n.base, &nap_jh[i]), 0);
    }
    for (b->i = 0; b->i < 4; b->i++)
        KR_AWAIT(&b->co, &nap_jh[b->i].base, cx, NULL);
    assert_int_equal(nap_slot[1], 0);
    assert_int_equal(nap_slot[3], 1);
    assert_int_equal(nap_slot[0], 2);
    assert_int_equal(nap_slot[2], 3);
    assert_elapsed(b->start, kr_ms(70000));
    KR_ASYNC_END(&b->co);
}

/* Paused, with no timer registered, waiting for another thread: the
 * runtime parks without a timeout instead of spinning on a clock that
 * stands still. The check is the process's CPU time over a 200 ms wait
 * (a spinning loop would burn all of it; generous for a loaded machine). */
BODY_TEST(paused_idle_does_not_spin, true) {
    body *b = (body *)f;
    (void)out;
    static struct timespec cpu0;
    static test_timer tt;
    KR_ASYNC_BEGIN(&b->co);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    tt = test_timer_make(200, NULL);
    KR_AWAIT(&b->co, &tt.base, cx, NULL);
    {
        struct timespec cpu1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
        double used = (double)(cpu1.tv_sec - cpu0.tv_sec) +
                      (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
        if (used > 0.1)
            fail_msg("%.3f s of CPU during a 0.2 s paused wait", used);
    }
    KR_ASYNC_END(&b->co);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pause_time_in_main),
        cmocka_unit_test(pause_time_in_task),
        cmocka_unit_test(pause_time_in_main_threads),
        cmocka_unit_test(pause_time_in_spawn_threads),
        cmocka_unit_test(paused_time_is_deterministic),
        cmocka_unit_test(advance_after_poll),
        cmocka_unit_test(sleep_no_poll),
        cmocka_unit_test(sleep_same_task),
        cmocka_unit_test(sleep_same_task_no_poll),
        cmocka_unit_test(interval),
        cmocka_unit_test(test_time_advance_sub_ms),
        cmocka_unit_test(test_time_advance_3ms_and_change),
        cmocka_unit_test(regression_3710_with_submillis_advance),
        cmocka_unit_test(exact_1ms_advance),
        cmocka_unit_test(advance_once_with_timer),
        cmocka_unit_test(advance_multi_with_timer),
        cmocka_unit_test(pause_errors_and_resume),
        cmocka_unit_test(pause_outside_runtime),
        cmocka_unit_test(start_paused_config_errors),
        cmocka_unit_test(timeout_auto_advances),
        cmocka_unit_test(auto_advance_fires_tasks_in_order),
        cmocka_unit_test(paused_idle_does_not_spin),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
