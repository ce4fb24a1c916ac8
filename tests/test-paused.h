/*
 * tests/test-paused.h: the harness of the paused-clock tests
 * (test-time-pause.c, test-time-paused.c): a test body is a coroutine run
 * by block_on on a runtime started paused or not, futures polled by hand
 * with a counting waker (tokio_test's task::spawn), Tokio's
 * assert_elapsed! and check_interval_poll!.
 */
#ifndef KR_TESTS_TEST_PAUSED_H
#define KR_TESTS_TEST_PAUSED_H

#include <time.h>

#include "test.h"

/* ---- harness: a test body is a coroutine run by block_on --------------- */

typedef struct body {
    kr_future base;
    kr_coro co;
    kr_sleep s, s2, s3, tmp;
    kr_interval iv;
    kr_time_advance_fut adv;
    kr_timeout to;
    test_pending pend;
    kr_join_handle jh;
    kr_instant start, before;
    int rc, i;
    uint64_t *trace;
} body;

static inline void drop_sleep(kr_sleep *s) {
    if (s->base.vtable != NULL)
        kr_future_drop(&s->base);
}

static inline void body_drop(kr_future *f) {
    body *b = (body *)f;
    kr_coro_drop(&b->co);
    drop_sleep(&b->s);
    drop_sleep(&b->s2);
    drop_sleep(&b->s3);
    drop_sleep(&b->tmp);
    if (b->iv.sleep_.base.vtable != NULL)
        kr_interval_drop(&b->iv);
}

static inline kr_runtime *paused_runtime(bool paused) {
    kr_runtime_config c = kr_runtime_config_default();
    c.start_paused = paused;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

static inline void run_body(const kr_future_vtable *vt, bool paused) {
    kr_runtime *rt = paused_runtime(paused);
    body b;
    memset(&b, 0, sizeof(b));
    b.base.vtable = vt;
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    test_runtime_free(rt);
}

/* A test whose body runs on a runtime started paused (`paused`) or not. */
#define BODY_TEST(name, paused)                                                \
    static kr_poll name##_poll(kr_future *f, kr_context *cx, void *out);       \
    KR_FUTURE_VTABLE(name##_vt, body, name##_poll, body_drop, 0);              \
    static void name(void **state) {                                           \
        (void)state;                                                           \
        run_body(&name##_vt, paused);                                          \
    }                                                                          \
    static kr_poll name##_poll(kr_future *f, kr_context *cx, void *out)

/* A waker that counts, for futures polled by hand (tokio_test's
 * task::spawn): is_woken is a wake since the last look. */
static test_wcount wc;
static long wakes_seen;

static inline kr_poll hand_poll(kr_future *f, void *out) {
    kr_waker w = test_wcount_waker(&wc);
    kr_context cx = kr_context_from_waker(&w);
    return kr_future_poll(f, &cx, out);
}

static inline bool is_woken(void) {
    long now = atomic_load(&wc.wakes) + atomic_load(&wc.by_ref);
    bool woken = now != wakes_seen;
    wakes_seen = now;
    return woken;
}

/* ms and ns offsets from an instant. */
static inline kr_instant at_ms(kr_instant t, long ms) {
    return kr_instant_add(t, kr_ms(ms));
}

/* Tokio's assert_elapsed!: at least d, at most 1 ms more. */
#define assert_elapsed(since, d)                                               \
    do {                                                                       \
        kr_duration e_ = kr_instant_since(kr_instant_now(), (since));          \
        if (e_ < (d) || e_ > (d) + kr_ms(1))                                   \
            fail_msg("elapsed %lld ns, expected %lld ns", (long long)e_,       \
                     (long long)(d));                                          \
    } while (0)

/* Awaits kr_time_advance(d), which must succeed. One line: one KR_AWAIT. */
#define ADVANCE(b, d)                                                          \
    do {                                                                       \
        (b)->adv = kr_time_advance(d);                                         \
        KR_AWAIT(&(b)->co, &(b)->adv.base, cx, &(b)->rc);                      \
        assert_rc((b)->rc, 0);                                                 \
    } while (0)

/* Awaits a sleep of d (b->tmp). */
#define SLEEP(b, d)                                                            \
    do {                                                                       \
        (b)->tmp = kr_sleep_for(d);                                            \
        KR_AWAIT(&(b)->co, &(b)->tmp.base, cx, NULL);                          \
    } while (0)

/* Awaits b->s, b->s2 ... in place (they stay inspectable). */
#define AWAIT_SLEEP(b, sl) KR_AWAIT(&(b)->co, &(b)->sl.base, cx, NULL)

/* ---- intervals polled by hand (check_interval_poll!) ------------------- */

static inline void check_iv(kr_interval *iv, kr_instant start,
                            const long *deltas, int n) {
    for (int i = 0; i < n; i++) {
        kr_interval_tick t = kr_interval_tick_future(iv);
        kr_instant at = {0};
        assert_int_equal(hand_poll(&t.base, &at), KR_READY);
        if (at.ns != at_ms(start, deltas[i]).ns)
            fail_msg("tick %d at %+lld ns from start, expected %ld ms", i,
                     (long long)kr_instant_since(at, start), deltas[i]);
    }
    kr_interval_tick t = kr_interval_tick_future(iv);
    kr_instant at;
    assert_int_equal(hand_poll(&t.base, &at), KR_PENDING);
}

#define CHECK_IV(b, ...)                                                       \
    do {                                                                       \
        const long d_[] = {__VA_ARGS__};                                       \
        check_iv(&(b)->iv, (b)->start, d_, (int)(sizeof d_ / sizeof *d_));     \
    } while (0)
#define CHECK_IV_PENDING(b) check_iv(&(b)->iv, (b)->start, NULL, 0)

#endif
