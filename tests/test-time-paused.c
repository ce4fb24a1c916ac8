/*
 * Sleeps and intervals on the paused clock: the paused-clock tests of
 * Tokio's tests/time_sleep.rs (kr_sleep_is_elapsed, resets, long and
 * maximal sleeps, drops from a wake) and tests/time_interval.rs (missed
 * tick behaviours, kr_interval_new_at, the four resets), each named after
 * the Tokio test it follows (time_interval.rs::skip is missed_tick_skip:
 * cmocka defines skip()).
 */
#include "test-paused.h"

/* ======================================================================== */
/* tokio/tests/time_sleep.rs (paused clock)                                 */
/* ======================================================================== */

BODY_TEST(immediate_sleep, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    b->s = kr_sleep_until(b->start);
    assert_false(kr_sleep_is_elapsed(&b->s));
    AWAIT_SLEEP(b, s);
    assert_elapsed(b->start, 0);
    assert_true(kr_sleep_is_elapsed(&b->s));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(is_elapsed, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->s = kr_sleep_for(kr_ms(10));
    assert_false(kr_sleep_is_elapsed(&b->s));
    assert_int_equal(kr_future_poll(&b->s.base, cx, NULL), KR_PENDING);
    assert_false(kr_sleep_is_elapsed(&b->s));
    AWAIT_SLEEP(b, s);
    assert_true(kr_sleep_is_elapsed(&b->s));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(delayed_sleep_level_0, false) {
    body *b = (body *)f;
    (void)out;
    static const long ms[] = {1, 10, 60};
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    for (b->i = 0; b->i < 3; b->i++) {
        b->start = kr_instant_now();
        b->tmp = kr_sleep_until(at_ms(b->start, ms[b->i]));
        KR_AWAIT(&b->co, &b->tmp.base, cx, NULL);
        assert_elapsed(b->start, kr_ms(ms[b->i]));
    }
    KR_ASYNC_END(&b->co);
}

BODY_TEST(sub_ms_delayed_sleep, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    for (b->i = 0; b->i < 5; b->i++) {
        b->start = kr_instant_now();
        b->tmp = kr_sleep_until(kr_instant_add(b->start, kr_ms(1) + 1));
        KR_AWAIT(&b->co, &b->tmp.base, cx, NULL);
        assert_elapsed(b->start, kr_ms(1));
    }
    KR_ASYNC_END(&b->co);
}

BODY_TEST(delayed_sleep_wrapping_level_0, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    SLEEP(b, kr_ms(5));
    b->start = kr_instant_now();
    b->s = kr_sleep_until(at_ms(b->start, 60));
    AWAIT_SLEEP(b, s);
    assert_elapsed(b->start, kr_ms(60));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_future_sleep_before_fire, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->start = kr_instant_now();
    b->s = kr_sleep_until(at_ms(b->start, 100));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    assert_rc(kr_sleep_reset(&b->s, at_ms(kr_instant_now(), 200)), 0);
    AWAIT_SLEEP(b, s);
    assert_elapsed(b->start, kr_ms(200));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_past_sleep_before_turn, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->start = kr_instant_now();
    b->s = kr_sleep_until(at_ms(b->start, 100));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    assert_rc(kr_sleep_reset(&b->s, at_ms(b->start, 80)), 0);
    AWAIT_SLEEP(b, s);
    assert_elapsed(b->start, kr_ms(80));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_past_sleep_before_fire, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->start = kr_instant_now();
    b->s = kr_sleep_until(at_ms(b->start, 100));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    SLEEP(b, kr_ms(10));
    assert_rc(kr_sleep_reset(&b->s, at_ms(b->start, 80)), 0);
    AWAIT_SLEEP(b, s);
    assert_elapsed(b->start, kr_ms(80));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_future_sleep_after_fire, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->start = kr_instant_now();
    b->s = kr_sleep_until(at_ms(b->start, 100));
    AWAIT_SLEEP(b, s);
    assert_elapsed(b->start, kr_ms(100));
    assert_rc(kr_sleep_reset(&b->s, at_ms(b->start, 110)), 0);
    AWAIT_SLEEP(b, s);
    assert_elapsed(b->start, kr_ms(110));
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_sleep_to_past, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->start = kr_instant_now();
    b->s = kr_sleep_until(at_ms(b->start, 100));
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_PENDING);
    (void)is_woken();
    SLEEP(b, kr_ms(50));
    assert_false(is_woken());
    assert_rc(kr_sleep_reset(&b->s, at_ms(b->start, 40)), 0);
    assert_int_equal(hand_poll(&b->s.base, NULL), KR_READY);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(greater_than_max, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    SLEEP(b, kr_ms(5LL * 365 * 24 * 60 * 60 * 1000)); /* past the wheel */
    KR_ASYNC_END(&b->co);
}

#define YEAR_S (365LL * 24 * 3600)

BODY_TEST(multi_long_sleeps, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    for (b->i = 0; b->i < 5; b->i++)
        SLEEP(b, kr_secs(YEAR_S));
    b->start = kr_instant_add(kr_instant_now(), kr_secs(10 * YEAR_S));
    b->s = kr_sleep_until(b->start);
    AWAIT_SLEEP(b, s);
    assert_true(kr_instant_now().ns >= b->start.ns);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(long_sleeps, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->start = kr_instant_add(kr_instant_now(), kr_secs(10 * YEAR_S));
    b->s = kr_sleep_until(b->start);
    AWAIT_SLEEP(b, s);
    assert_true(kr_instant_now().ns >= b->start.ns);
    assert_true(kr_instant_now().ns <= at_ms(b->start, 1).ns);
    KR_ASYNC_END(&b->co);
}

/* Duration::MAX: kairo's largest duration, INT64_MAX ns (292 years), which
 * the wheel re-files every 2.1 years on the way. */
BODY_TEST(exactly_max, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    SLEEP(b, INT64_MAX);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(no_out_of_bounds_close_to_max, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    SLEEP(b, INT64_MAX - kr_ms(1));
    KR_ASYNC_END(&b->co);
}

/* tokio::select! { biased; sleep(big), sleep(1 ns) }: the short one wins
 * and the big one is dropped. Output: which finished (0 or 1). */
typedef struct {
    kr_future base;
    kr_sleep *a, *b;
} first_of;
static kr_poll first_of_poll(kr_future *f, kr_context *cx, void *out) {
    first_of *s = (first_of *)f;
    if (kr_future_poll(&s->a->base, cx, NULL) == KR_READY) {
        *(int *)out = 0;
        return KR_READY;
    }
    if (kr_future_poll(&s->b->base, cx, NULL) == KR_READY) {
        *(int *)out = 1;
        return KR_READY;
    }
    return KR_PENDING;
}
KR_FUTURE_VTABLE(first_of_vt, first_of, first_of_poll, NULL, sizeof(int));

BODY_TEST(issue_5183, false) {
    body *b = (body *)f;
    (void)out;
    static first_of sel;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->s = kr_sleep_for(INT64_MAX / 10);
    b->s2 = kr_sleep_for(1);
    sel = (first_of){{&first_of_vt}, &b->s, &b->s2};
    KR_AWAIT(&b->co, &sel.base, cx, &b->rc);
    assert_int_equal(b->rc, 1);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(drop_after_reschedule_at_new_scheduled_time, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    b->start = kr_instant_now();
    b->s = kr_sleep_for(kr_ms(5));
    b->s2 = kr_sleep_for(kr_ms(5));
    b->s3 = kr_sleep_for(kr_ms(10));
    (void)kr_future_poll(&b->s.base, cx, NULL);
    (void)kr_future_poll(&b->s2.base, cx, NULL);
    (void)kr_future_poll(&b->s3.base, cx, NULL);
    assert_rc(kr_sleep_reset(&b->s2, at_ms(b->start, 10)), 0);
    AWAIT_SLEEP(b, s);
    kr_future_drop(&b->s2.base);
    b->s2.base.vtable = NULL;
    KR_ASYNC_END(&b->co);
}

/* drop_from_wake: a waker whose wake drops every one of 100 sleeps that
 * fire together, its own included. */
enum { DROP_N = 100 };
static kr_sleep drop_sleeps[DROP_N];
static int drop_sleeps_live;
static long drop_wakes;

static void drop_all_sleeps(void) {
    if (!drop_sleeps_live)
        return;
    drop_sleeps_live = 0;
    for (int i = 0; i < DROP_N; i++)
        kr_future_drop(&drop_sleeps[i].base);
}
static const kr_waker_vtable dw_vt;
static kr_waker dw_clone(const void *d) {
    kr_waker w = {d, &dw_vt};
    return w;
}
static void dw_wake_by_ref(const void *d) {
    (void)d;
    drop_wakes++;
    drop_all_sleeps();
}
static void dw_drop(const void *d) { (void)d; }
static void dw_wake(const void *d) { dw_wake_by_ref(d); }
static const kr_waker_vtable dw_vt = {dw_clone, dw_wake, dw_wake_by_ref,
                                      dw_drop};

BODY_TEST(drop_from_wake, false) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_rc(kr_time_pause(), 0);
    {
        kr_waker w = {NULL, &dw_vt};
        kr_context dcx = kr_context_from_waker(&w);
        for (int i = 0; i < DROP_N; i++) {
            drop_sleeps[i] = kr_sleep_for(kr_ms(10));
            assert_int_equal(kr_future_poll(&drop_sleeps[i].base, &dcx, NULL),
                             KR_PENDING);
        }
        drop_sleeps_live = 1;
    }
    SLEEP(b, kr_ms(11));
    assert_false(drop_sleeps_live);
    assert_true(drop_wakes >= 1);
    KR_ASYNC_END(&b->co);
}

/* ======================================================================== */
/* tokio/tests/time_interval.rs (paused clock)                              */
/* ======================================================================== */

/* Every interval test starts so: interval_at(start, 300 ms) with the clock
 * 1 ms past start (Tokio's comment: the timer's granularity), a tick at 0,
 * then 100 ms on. (Written out in each test: KR_AWAIT needs a line of its
 * own.) */

BODY_TEST(burst, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_BURST);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(650));
    CHECK_IV(b, 600, 900);
    ADVANCE(b, kr_ms(200));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(100));
    CHECK_IV(b, 1200);
    ADVANCE(b, kr_ms(250));
    CHECK_IV(b, 1500);
    ADVANCE(b, kr_ms(300));
    CHECK_IV(b, 1800);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(delay, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_DELAY);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(650));
    CHECK_IV(b, 600);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(201));
    CHECK_IV(b, 1251);
    ADVANCE(b, kr_ms(300));
    CHECK_IV(b, 1551);
    ADVANCE(b, kr_ms(300));
    CHECK_IV(b, 1851);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(missed_tick_skip, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_SKIP);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(650));
    CHECK_IV(b, 600);
    ADVANCE(b, kr_ms(250));
    CHECK_IV(b, 1200);
    ADVANCE(b, kr_ms(300));
    CHECK_IV(b, 1500);
    ADVANCE(b, kr_ms(300));
    CHECK_IV(b, 1800);
    KR_ASYNC_END(&b->co);
}

/* The resets share a start: ticks at 0 and 300, then 100 ms on. */

BODY_TEST(reset, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_BURST);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    assert_rc(kr_interval_reset(&b->iv), 0);
    ADVANCE(b, kr_ms(250));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(50));
    CHECK_IV(b, 701);
    ADVANCE(b, kr_ms(300));
    CHECK_IV(b, 1001);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_immediately, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_BURST);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    assert_rc(kr_interval_reset_immediately(&b->iv), 0);
    CHECK_IV(b, 401);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 701);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_after, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_BURST);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    assert_rc(kr_interval_reset_after(&b->iv, kr_ms(20)), 0);
    ADVANCE(b, kr_ms(20));
    CHECK_IV(b, 421);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 721);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_at, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_BURST);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    assert_rc(kr_interval_reset_at(&b->iv, at_ms(kr_instant_now(), 40)), 0);
    ADVANCE(b, kr_ms(40));
    CHECK_IV(b, 441);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 741);
    KR_ASYNC_END(&b->co);
}

BODY_TEST(reset_at_bigger_than_interval, true) {
    body *b = (body *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    b->start = kr_instant_now();
    ADVANCE(b, kr_ms(1));
    b->iv = kr_interval_new_at(b->start, kr_ms(300), KR_MISSED_TICK_BURST);
    CHECK_IV(b, 0);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(200));
    CHECK_IV(b, 300);
    ADVANCE(b, kr_ms(100));
    CHECK_IV_PENDING(b);
    assert_rc(kr_interval_reset_at(&b->iv, at_ms(kr_instant_now(), 1000)), 0);
    ADVANCE(b, kr_ms(300));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(300));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(300));
    CHECK_IV_PENDING(b);
    ADVANCE(b, kr_ms(100));
    CHECK_IV(b, 1401);
    ADVANCE(b, kr_ms(300));
    CHECK_IV(b, 1701);
    KR_ASYNC_END(&b->co);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(immediate_sleep),
        cmocka_unit_test(is_elapsed),
        cmocka_unit_test(delayed_sleep_level_0),
        cmocka_unit_test(sub_ms_delayed_sleep),
        cmocka_unit_test(delayed_sleep_wrapping_level_0),
        cmocka_unit_test(reset_future_sleep_before_fire),
        cmocka_unit_test(reset_past_sleep_before_turn),
        cmocka_unit_test(reset_past_sleep_before_fire),
        cmocka_unit_test(reset_future_sleep_after_fire),
        cmocka_unit_test(reset_sleep_to_past),
        cmocka_unit_test(greater_than_max),
        cmocka_unit_test(multi_long_sleeps),
        cmocka_unit_test(long_sleeps),
        cmocka_unit_test(exactly_max),
        cmocka_unit_test(no_out_of_bounds_close_to_max),
        cmocka_unit_test(issue_5183),
        cmocka_unit_test(drop_after_reschedule_at_new_scheduled_time),
        cmocka_unit_test(drop_from_wake),
        cmocka_unit_test(burst),
        cmocka_unit_test(delay),
        cmocka_unit_test(missed_tick_skip),
        cmocka_unit_test(reset),
        cmocka_unit_test(reset_immediately),
        cmocka_unit_test(reset_after),
        cmocka_unit_test(reset_at),
        cmocka_unit_test(reset_at_bigger_than_interval),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
