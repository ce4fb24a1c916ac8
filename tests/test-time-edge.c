/*
 * Timers at the edges: deadlines at 0, in the past, at the wheel's span
 * (2^36 ms) and beyond it, 40 days ahead (past an int's worth of epoll
 * milliseconds), at UINT64_MAX and INT64_MIN; instant arithmetic at its
 * limits; NULL arguments. Each timer either fires at once or parks the
 * runtime with a correct timeout, and none keeps the runtime from other
 * work or from shutting down.
 * KR_TEST_FLAVORS: ct mt
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test.h"

#define DAY_NS ((kr_duration)86400 * 1000000000)

/* ---- instant arithmetic saturates --------------------------------------- */

static void instant_arithmetic_saturates(void **state) {
    (void)state;
    kr_instant max = {UINT64_MAX}, five = {5};
    assert_true(kr_instant_add((kr_instant){UINT64_MAX - 5}, 10).ns ==
                UINT64_MAX);
    assert_true(kr_instant_add(max, INT64_MAX).ns == UINT64_MAX);
    assert_true(kr_instant_add(five, -10).ns == 0);
    assert_true(kr_instant_add(five, INT64_MIN).ns == 0);
    assert_true(kr_instant_add(max, INT64_MIN).ns ==
                UINT64_MAX - ((uint64_t)1 << 63));
    assert_true(kr_instant_add(five, -5).ns == 0);
    assert_true(kr_instant_add(five, 7).ns == 12);
    /* The difference saturates to the duration's range, sign kept. */
    assert_true(kr_instant_since(max, (kr_instant){0}) == INT64_MAX);
    assert_true(kr_instant_since((kr_instant){0}, max) == INT64_MIN);
    assert_true(kr_instant_since(five, (kr_instant){2}) == 3);
    assert_true(kr_instant_since((kr_instant){2}, five) == -3);
    /* A deadline rounds up to the ms, and saturates instead of wrapping. */
    kr_sleep s = kr_sleep_until(max);
    assert_true(kr_sleep_deadline(&s).ns == UINT64_MAX);
    s = kr_sleep_until((kr_instant){1});
    assert_true(kr_sleep_deadline(&s).ns == 1000000);
    /* The most negative duration is "long ago", not undefined behaviour. */
    s = kr_sleep_for(INT64_MIN);
    assert_true(kr_sleep_deadline(&s).ns == 0);
}

/* ---- a future that polls sleeps once and reports ----------------------- */

enum { EDGES = 6 };

typedef struct {
    kr_future base;
    kr_sleep s[EDGES];
    kr_poll first[EDGES]; /* each sleep's first poll */
    test_latch *started;
    int polled;
} edges;

static kr_poll edges_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    edges *e = (edges *)f;
    if (!e->polled) {
        e->polled = 1;
        kr_instant now = kr_instant_now();
        e->s[0] = kr_sleep_until((kr_instant){0});
        e->s[1] = kr_sleep_until(kr_instant_add(now, -kr_ms(1500)));
        e->s[2] = kr_sleep_for(kr_ms((int64_t)1 << 36));
        e->s[3] = kr_sleep_for(40 * DAY_NS);
        e->s[4] = kr_sleep_until((kr_instant){UINT64_MAX});
        e->s[5] = kr_sleep_for(INT64_MIN);
        for (int i = 0; i < EDGES; i++)
            e->first[i] = kr_future_poll(&e->s[i].base, cx, NULL);
        test_latch_add(e->started, 1);
    }
    return KR_PENDING; /* holds the far timers until cancelled */
}

static void edges_drop(kr_future *f) {
    edges *e = (edges *)f;
    if (e->polled)
        for (int i = 0; i < EDGES; i++)
            kr_future_drop(&e->s[i].base);
}

KR_FUTURE_VTABLE(edges_vt, edges, edges_poll, edges_drop, 0);

/* block_on's future: waits for the edges task's first poll, then sleeps a
 * little: other timers still fire while the far ones are registered. */
typedef struct {
    kr_future base;
    kr_coro co;
    test_latch_wait started;
    kr_sleep nap;
} other_work;

static kr_poll other_work_poll(kr_future *f, kr_context *cx, void *out) {
    other_work *o = (other_work *)f;
    KR_ASYNC_BEGIN(&o->co);
    KR_AWAIT(&o->co, &o->started.base, cx, NULL);
    o->nap = kr_sleep_for(kr_ms(20));
    KR_AWAIT(&o->co, &o->nap.base, cx, NULL);
    KR_ASYNC_END(&o->co);
}
static void other_work_drop(kr_future *f) {
    kr_coro_drop(&((other_work *)f)->co);
}
KR_FUTURE_VTABLE(other_work_vt, other_work, other_work_poll, other_work_drop,
                 0);

/*
 * Deadlines 0, 1.5 s ago and INT64_MIN from now are due: READY on the first
 * poll. 2^36 ms, 40 days and UINT64_MAX are not: PENDING, and the runtime
 * goes on running other work (a 20 ms sleep) and shuts down at once,
 * cancelling the task that holds them.
 */
static void timer_edges_fire_or_park(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_latch started;
    test_latch_init(&started);
    edges e;
    memset(&e, 0, sizeof(e));
    e.base.vtable = &edges_vt;
    e.started = &started;
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &e.base, &h), 0);
    other_work o = {.base = {&other_work_vt},
                    .started = test_latch_wait_for(&started, 1)};
    kr_instant t0 = kr_instant_now();
    assert_rc(kr_runtime_block_on(rt, &o.base, NULL), 0);
    assert_true(kr_instant_since(kr_instant_now(), t0) >= kr_ms(20));
    kr_join_handle_drop(&h);
    /* Shutdown cancels the task holding the far timers, without waiting
     * for any of them. */
    test_runtime_free(rt);
    test_latch_destroy(&started);
}

/* The same sleeps polled directly from block_on's future, so the first
 * polls can be checked. */
typedef struct {
    kr_future base;
    edges e;
    kr_sleep nap;
    int phase;
} edges_check;

static kr_poll edges_check_poll(kr_future *f, kr_context *cx, void *out) {
    edges_check *c = (edges_check *)f;
    if (c->phase == 0) {
        c->phase = 1;
        assert_int_equal(edges_poll(&c->e.base, cx, out), KR_PENDING);
        static const kr_poll want[EDGES] = {KR_READY,   KR_READY,   KR_PENDING,
                                            KR_PENDING, KR_PENDING, KR_READY};
        for (int i = 0; i < EDGES; i++)
            if (c->e.first[i] != want[i])
                fail_msg("edge %d: first poll %s", i,
                         c->e.first[i] == KR_READY ? "READY" : "PENDING");
        c->nap = kr_sleep_for(kr_ms(10));
    }
    if (kr_future_poll(&c->nap.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    /* Still pending after the nap: far timers do not fire early. */
    for (int i = 2; i < 5; i++)
        assert_int_equal(kr_future_poll(&c->e.s[i].base, cx, NULL), KR_PENDING);
    return KR_READY;
}
static void edges_check_drop(kr_future *f) {
    edges_check *c = (edges_check *)f;
    edges_drop(&c->e.base);
    kr_future_drop(&c->nap.base);
}
KR_FUTURE_VTABLE(edges_check_vt, edges_check, edges_check_poll,
                 edges_check_drop, 0);

static void timer_edges_first_polls(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_latch started;
    test_latch_init(&started);
    edges_check c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &edges_check_vt;
    c.e.base.vtable = &edges_vt;
    c.e.started = &started;
    assert_rc(kr_runtime_block_on(rt, &c.base, NULL), 0);
    test_runtime_free(rt);
    test_latch_destroy(&started);
}

/* ---- Tokio's time_sleep tests ------------------------------------------ */

/* time_sleep.rs exactly_max: a sleep until the last instant never fires
 * (here: is still pending after a nap; Tokio pauses time instead). */
typedef struct {
    kr_future base;
    kr_sleep max, nap;
    int phase;
} max_nap;

static kr_poll max_nap_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    max_nap *m = (max_nap *)f;
    if (m->phase == 0) {
        m->phase = 1;
        m->max = kr_sleep_until((kr_instant){UINT64_MAX});
        m->nap = kr_sleep_for(kr_ms(10));
        assert_int_equal(kr_future_poll(&m->max.base, cx, NULL), KR_PENDING);
    }
    if (kr_future_poll(&m->nap.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    assert_int_equal(kr_future_poll(&m->max.base, cx, NULL), KR_PENDING);
    return KR_READY;
}
static void max_nap_drop(kr_future *f) {
    max_nap *m = (max_nap *)f;
    if (m->phase) {
        kr_future_drop(&m->max.base);
        kr_future_drop(&m->nap.base);
    }
}
KR_FUTURE_VTABLE(max_nap_vt, max_nap, max_nap_poll, max_nap_drop, 0);

static void exactly_max(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    max_nap m = {.base = {&max_nap_vt}};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    test_runtime_free(rt);
}

/* time_sleep.rs issue_5183: select between a sleep of u64::MAX / 10
 * seconds (here the longest duration, INT64_MAX ns, 292 years) and one of
 * 1 ns: the short one wins; registering the long one breaks nothing. */
typedef struct {
    kr_future base;
    kr_sleep big, small;
    int made;
} select2;

static kr_poll select2_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    select2 *s = (select2 *)f;
    if (!s->made) {
        s->made = 1;
        s->big = kr_sleep_for(INT64_MAX);
        s->small = kr_sleep_for(kr_ns(1));
    }
    /* biased: the big one first */
    assert_int_equal(kr_future_poll(&s->big.base, cx, NULL), KR_PENDING);
    return kr_future_poll(&s->small.base, cx, NULL);
}
static void select2_drop(kr_future *f) {
    select2 *s = (select2 *)f;
    if (s->made) {
        kr_future_drop(&s->big.base);
        kr_future_drop(&s->small.base);
    }
}
KR_FUTURE_VTABLE(select2_vt, select2, select2_poll, select2_drop, 0);

static void issue_5183(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    select2 s = {.base = {&select2_vt}};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    test_runtime_free(rt);
}

/* ---- the park timeout for a far timer ----------------------------------- */

/*
 * A task that registers a 40-day sleep, publishes its thread id and waits
 * on a latch. The thread it runs on then parks in the reactor with the
 * 40-day timer as its next deadline.
 */
typedef struct {
    kr_future base;
    kr_sleep far;
    test_latch_wait go;
    atomic_long *tid;
    int made;
} far_waiter;

static kr_poll far_waiter_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    far_waiter *w = (far_waiter *)f;
    if (!w->made) {
        w->made = 1;
        w->far = kr_sleep_for(40 * DAY_NS);
        assert_int_equal(kr_future_poll(&w->far.base, cx, NULL), KR_PENDING);
        atomic_store(w->tid, (long)syscall(SYS_gettid));
    }
    return kr_future_poll(&w->go.base, cx, NULL);
}
static void far_waiter_drop(kr_future *f) {
    far_waiter *w = (far_waiter *)f;
    kr_future_drop(&w->go.base);
    if (w->made)
        kr_future_drop(&w->far.base);
}
KR_FUTURE_VTABLE(far_waiter_vt, far_waiter, far_waiter_poll, far_waiter_drop,
                 0);

typedef struct {
    atomic_long *tid;
    test_latch *go;
    long nr;        /* the syscall it was blocked in, -1 if none seen */
    int timeout_ms; /* its epoll timeout argument */
} prober;

/* Waits until thread `tid` blocks in epoll_wait (or epoll_pwait), reads
 * the timeout it passed from /proc (the kernel's record of a blocked
 * thread's syscall and arguments), then lets the task finish. */
static void *probe_main(void *arg) {
    prober *p = arg;
    p->nr = -1;
    long tid;
    while ((tid = atomic_load(p->tid)) == 0)
        test_sleep_ms(1);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%ld/syscall", tid);
    for (int i = 0; i < 5000 && p->nr < 0; i++) {
        FILE *fp = fopen(path, "r");
        if (fp != NULL) {
            long nr;
            unsigned long a[6];
            if (fscanf(fp, "%ld %lx %lx %lx %lx %lx %lx", &nr, &a[0], &a[1],
                       &a[2], &a[3], &a[4], &a[5]) == 7 &&
                (nr == SYS_epoll_wait || nr == SYS_epoll_pwait) &&
                (int)(unsigned)a[3] != 0) {
                /* (A 0 timeout is a passing non-blocking look at I/O, not
                 * the park: keep looking.) */
                p->nr = nr;
                p->timeout_ms = (int)(unsigned)a[3]; /* an int argument */
            }
            fclose(fp);
        }
        if (p->nr < 0)
            test_sleep_ms(1);
    }
    test_latch_add(p->go, 1);
    return NULL;
}

/*
 * A runtime whose next timer is 40 days away parks with a finite timeout
 * (more than 2^31 ms does not fit epoll's int: it must be clamped, not
 * wrapped to a negative, i.e. infinite, wait), still wakes for other work
 * (the latch, from another thread) and shuts down at once.
 */
static void runtime_with_40_day_timer_parks_with_finite_timeout(void **state) {
    (void)state;
    if (access("/proc/self/task", R_OK) != 0)
        skip();
    /* One worker: the thread holding the timer is the one in the reactor. */
    kr_runtime *rt = test_runtime(1);
    atomic_long tid = 0;
    test_latch go;
    test_latch_init(&go);
    far_waiter fw = {.base = {&far_waiter_vt},
                     .go = test_latch_wait_for(&go, 1),
                     .tid = &tid};
    prober p = {.tid = &tid, .go = &go};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, probe_main, &p), 0);
    if (test_flavor() == KR_RUNTIME_CURRENT_THREAD) {
        assert_rc(kr_runtime_block_on(rt, &fw.base, NULL), 0);
    } else {
        kr_join_handle h;
        assert_rc(kr_runtime_spawn(rt, &fw.base, &h), 0);
        assert_rc(kr_runtime_block_on(rt, &h.base, NULL), 0);
    }
    pthread_join(th, NULL);
    if (p.nr < 0)
        fail_msg("the runtime thread was never seen in epoll_wait");
    if (p.timeout_ms <= 0)
        fail_msg("parked in epoll with timeout %d ms for a 40-day timer",
                 p.timeout_ms);
    test_runtime_free(rt);
    test_latch_destroy(&go);
}

/* ---- NULL arguments ------------------------------------------------------ */

static void null_sleep_and_interval_calls_are_safe(void **state) {
    (void)state;
    assert_rc(kr_sleep_reset(NULL, kr_instant_now()), KR_EINVAL);
    assert_true(kr_sleep_deadline(NULL).ns == 0);
    kr_interval_tick t = kr_interval_tick_future(NULL);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    kr_instant at = {12345};
    assert_int_equal(kr_future_poll(&t.base, &cx, &at), KR_READY);
    assert_true(at.ns == 0);
    kr_future_drop(&t.base);
    kr_interval_drop(NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(instant_arithmetic_saturates),
    cmocka_unit_test(timer_edges_fire_or_park),
    cmocka_unit_test(timer_edges_first_polls),
    cmocka_unit_test(exactly_max),
    cmocka_unit_test(issue_5183),
    cmocka_unit_test(runtime_with_40_day_timer_parks_with_finite_timeout),
    cmocka_unit_test(null_sleep_and_interval_calls_are_safe),
};
KR_TEST_MAIN(tests)
