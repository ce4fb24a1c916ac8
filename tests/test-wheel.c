/*
 * The timing wheel against a reference model: random deadlines from 0 ms
 * to years ahead, random removals and later resets, time advanced in
 * random jumps. Every entry must fire in the first process() at or after
 * its deadline, never before, exactly once. Drives src/time/wheel.c
 * directly (no runtime), with counting wakers.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "time/wheel.h"

#define N 20000

static int fired[N];
static uint64_t fired_at[N];
static uint64_t now_ms_model;

static kr_waker w_clone(const void *d);
static void w_wake(const void *d) {
    long i = (long)d;
    fired[i]++;
    fired_at[i] = now_ms_model;
}
static void w_wake_ref(const void *d) { w_wake(d); }
static void w_drop(const void *d) { (void)d; }
static const kr_waker_vtable wvt = {w_clone, w_wake, w_wake_ref, w_drop};
static kr_waker w_clone(const void *d) {
    kr_waker w = {d, &wvt};
    return w;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A deadline spread over every level: 2^k ms ahead for random k. */
static uint64_t random_delay(void) {
    int k = (int)(next_rand() % 37); /* up to 2^36 ms, the wheel's span */
    return next_rand() % ((uint64_t)1 << k);
}

static void wheel_matches_model(void **state) {
    (void)state;
    static kr__timer t[N];
    static uint64_t deadline[N];
    static int removed[N];
    memset(t, 0, sizeof(t));
    memset(fired, 0, sizeof(fired));
    kr__wheel w;
    uint64_t start = 1000000; /* an arbitrary epoch */
    kr__wheel_init(&w, start);
    now_ms_model = start;
    for (long i = 0; i < N; i++) {
        deadline[i] = start + random_delay();
        atomic_store(&t[i].deadline, deadline[i]);
        kr_waker wk = {(void *)i, &wvt};
        kr__spin_lock(&w.lock);
        kr__wheel_insert(&w, &t[i], &wk);
        kr__spin_unlock(&w.lock);
        removed[i] = 0;
    }
    /* Remove a tenth, reset a tenth to later (lock-free path). */
    for (long i = 0; i < N; i += 10) {
        kr__spin_lock(&w.lock);
        kr_waker old = kr__wheel_remove(&w, &t[i]);
        kr__spin_unlock(&w.lock);
        assert_non_null(old.vtable);
        removed[i] = 1;
    }
    for (long i = 5; i < N; i += 10) {
        deadline[i] += 1 + random_delay() / 4;
        atomic_store(&t[i].deadline, deadline[i]);
    }
    /* Advance in jumps of random size, from 1 ms to ~2^30 ms. */
    uint64_t end = start + ((uint64_t)1 << 37);
    while (now_ms_model < end) {
        uint64_t jump = 1 + next_rand() % ((uint64_t)1 << (next_rand() % 31));
        uint64_t prev = now_ms_model;
        now_ms_model += jump;
        kr__wheel_process(&w, now_ms_model);
        /* Nothing due by now may be left; nothing may fire early. */
        (void)prev;
        if (next_rand() % 64 == 0) {
            for (long i = 0; i < N; i++) {
                if (removed[i])
                    continue;
                if (deadline[i] <= now_ms_model && fired[i] != 1)
                    fail_msg("entry %ld (deadline %llu) not fired at %llu", i,
                             (unsigned long long)deadline[i],
                             (unsigned long long)now_ms_model);
            }
        }
    }
    for (long i = 0; i < N; i++) {
        if (removed[i]) {
            assert_int_equal(fired[i], 0);
            continue;
        }
        if (fired[i] != 1)
            fail_msg("entry %ld fired %d times", i, fired[i]);
        if (fired_at[i] < deadline[i])
            fail_msg("entry %ld fired early: at %llu, deadline %llu", i,
                     (unsigned long long)fired_at[i],
                     (unsigned long long)deadline[i]);
    }
    assert_int_equal(w.count, 0);
}

/* Small steps: every process() advances 1 ms; each entry fires exactly in
 * the process() call of its deadline (no lateness at 1 ms steps). */
static void wheel_fires_on_time_at_1ms_steps(void **state) {
    (void)state;
    enum { M = 5000 };
    static kr__timer t[M];
    static uint64_t deadline[M];
    memset(t, 0, sizeof(t));
    memset(fired, 0, sizeof(fired));
    kr__wheel w;
    uint64_t start = 777;
    kr__wheel_init(&w, start);
    now_ms_model = start;
    for (long i = 0; i < M; i++) {
        deadline[i] = start + 1 + next_rand() % 300000; /* 5 minutes */
        atomic_store(&t[i].deadline, deadline[i]);
        kr_waker wk = {(void *)i, &wvt};
        kr__spin_lock(&w.lock);
        kr__wheel_insert(&w, &t[i], &wk);
        kr__spin_unlock(&w.lock);
    }
    for (uint64_t ms = start + 1; ms <= start + 300001; ms++) {
        now_ms_model = ms;
        kr__wheel_process(&w, ms);
        int64_t next = kr__wheel_next_ms(&w, ms);
        assert_true(next != 0); /* nothing due left behind */
    }
    for (long i = 0; i < M; i++) {
        assert_int_equal(fired[i], 1);
        assert_int_equal(fired_at[i], deadline[i]);
    }
    assert_int_equal(kr__wheel_next_ms(&w, now_ms_model), -1);
}

/* next_ms points at the earliest deadline across levels. */
static void wheel_next_deadline(void **state) {
    (void)state;
    kr__timer a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    kr__wheel w;
    kr__wheel_init(&w, 100);
    assert_int_equal(kr__wheel_next_ms(&w, 100), -1);
    kr_waker wk = {(void *)0, &wvt};
    atomic_store(&a.deadline, 100 + 5000);
    atomic_store(&b.deadline, 100 + 70);
    kr__wheel_insert(&w, &a, &wk);
    kr__wheel_insert(&w, &b, &wk);
    int64_t n = kr__wheel_next_ms(&w, 100);
    /* Level 1 slots are 64 ms wide: the hint may be early, never late. */
    assert_true(n > 0 && n <= 70);
    kr_waker o = kr__wheel_remove(&w, &b);
    (void)o;
    n = kr__wheel_next_ms(&w, 100);
    assert_true(n > 0 && n <= 5000);
}

/* ---- deadlines beyond the wheel's span -------------------------------- */

typedef struct {
    kr__wheel *w;
    uint64_t now;
} process_job;

static void *process_thread(void *arg) {
    process_job *j = arg;
    kr__wheel_process(j->w, j->now);
    return NULL;
}

/* kr__wheel_process, failing (not hanging) if it does not return within
 * 10 s: a wheel that spins holds its lock forever. */
static void process_or_fail(kr__wheel *w, uint64_t now) {
    static process_job job; /* outlives a spinning thread */
    job.w = w;
    job.now = now;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, process_thread, &job), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    if (pthread_timedjoin_np(th, NULL, &until) != 0)
        fail_msg("kr__wheel_process(now=%llu) spins", (unsigned long long)now);
}

/*
 * A deadline 2^36 ms (the top level's whole rotation) or more ahead, or
 * one that is still more than a rotation away when its top-level slot
 * comes round (a 3-year timer), must wait: the wheel may not report it due
 * early, and processing its slot must re-file it and return.
 */
static void wheel_far_deadline_waits_without_spinning(void **state) {
    (void)state;
    /* Epochs: the start of the clock, and the middle of a top-level slot
     * (where a deadline one rotation ahead lands in the current slot). */
    const uint64_t starts[] = {1000000, ((uint64_t)5 << 30) + 12345};
    const uint64_t aheads[] = {
        (uint64_t)1 << 36,
        ((uint64_t)1 << 36) + 777,
        (uint64_t)3 * 365 * 24 * 3600 * 1000, /* 3 years */
        (uint64_t)40 * 24 * 3600 * 1000,      /* 40 days */
        UINT64_MAX / 1000000,                 /* UINT64_MAX ns, in ms */
    };
    static kr__wheel w;
    for (size_t si = 0; si < sizeof(starts) / sizeof(starts[0]); si++) {
        for (size_t ai = 0; ai < sizeof(aheads) / sizeof(aheads[0]); ai++) {
            uint64_t start = starts[si], deadline = start + aheads[ai];
            kr__timer t;
            memset(&t, 0, sizeof(t));
            memset(fired, 0, sizeof(fired));
            kr__wheel_init(&w, start);
            atomic_store(&t.deadline, deadline);
            kr_waker wk = {(void *)0, &wvt};
            kr__wheel_insert(&w, &t, &wk);
            uint64_t now = start;
            /* Walk from wake-up to wake-up, as a runtime does; stop at the
             * deadline, or after 64 wake-ups for the unreachable ones. */
            for (int step = 0; step < 64 && now < deadline; step++) {
                int64_t ms = kr__wheel_next_ms(&w, now);
                if (ms <= 0)
                    fail_msg("start %llu, deadline +%llu ms: at +%llu the "
                             "wheel says %lld ms",
                             (unsigned long long)start,
                             (unsigned long long)aheads[ai],
                             (unsigned long long)(now - start), (long long)ms);
                now += (uint64_t)ms;
                now_ms_model = now;
                process_or_fail(&w, now);
                assert_int_equal(fired[0], now >= deadline ? 1 : 0);
            }
            if (aheads[ai] <= ((uint64_t)1 << 40)) {
                assert_true(now >= deadline);
                assert_int_equal(fired[0], 1);
                assert_int_equal(fired_at[0], deadline);
            } else {
                kr_waker o = kr__wheel_remove(&w, &t);
                assert_non_null(o.vtable);
            }
            assert_int_equal(kr__wheel_next_ms(&w, now), -1);
        }
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(wheel_matches_model),
    cmocka_unit_test(wheel_fires_on_time_at_1ms_steps),
    cmocka_unit_test(wheel_next_deadline),
    cmocka_unit_test(wheel_far_deadline_waits_without_spinning),
};
KR_TEST_MAIN(tests)
