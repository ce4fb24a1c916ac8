/*
 * Slow-poll and blocked-worker reports (kr_runtime_config.slow_poll_ns,
 * blocked_worker_ns, on_poll_report; kairo/observe.h). Thresholds are far
 * from the polls' lengths (a 50 ms poll against 20 ms, a 1 ms one against
 * 20 ms) so a loaded machine does not flip a result. Tokio has no such
 * detector (tokio#4730). KR_TEST_FLAVORS: ct mt
 */
#include <time.h>
#include <unistd.h>

#include "test.h"

#include "util/thread.h"
#include "util/ticks.h"

static bool is_mt(void) { return test_flavor() == KR_RUNTIME_MULTI_THREAD; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What the reporter saw (the callback runs on a worker or the monitor). */
typedef struct seen {
    pthread_mutex_t mu;
    int n;
    kr_poll_report last;
    char name[KR_TASK_NAME_MAX + 1]; /* last.name's copy (valid in the call) */
    char line[512];
    atomic_int blocked; /* a blocked-worker report arrived */
} seen;

static void on_report(const kr_poll_report *r, void *arg) {
    seen *s = arg;
    pthread_mutex_lock(&s->mu);
    s->n++;
    s->last = *r;
    if (r->name != NULL) {
        snprintf(s->name, sizeof(s->name), "%s", r->name);
        s->last.name = s->name;
    }
    kr_poll_report_format(r, s->line, sizeof(s->line));
    pthread_mutex_unlock(&s->mu);
    if (r->kind == KR_REPORT_WORKER_BLOCKED)
        atomic_store(&s->blocked, 1);
}

static kr_runtime *runtime_reporting(seen *s, uint64_t slow_ns,
                                     uint64_t blocked_ns) {
    pthread_mutex_init(&s->mu, NULL);
    s->n = 0;
    atomic_init(&s->blocked, 0);
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    c.slow_poll_ns = slow_ns;
    c.blocked_worker_ns = blocked_ns;
    c.on_poll_report = on_report;
    c.on_poll_report_arg = s;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

/* A coroutine: awaits a yield (so its next poll resumes from a known await
 * site), then spins `spin_ns` in that poll, or until `*until` is set. */
typedef struct spinner {
    kr_future base;
    kr_coro co;
    kr_yield y;
    uint64_t spin_ns;
    atomic_int *until;
    int *yield_line;
    int spawn_k; /* tasks to spawn before spinning (queued behind it) */
} spinner;

static kr_poll spinner_poll(kr_future *f, kr_context *cx, void *out) {
    spinner *s = (spinner *)f;
    KR_ASYNC_BEGIN(&s->co);
    s->y = kr_yield_now();
    *s->yield_line = __LINE__ + 1;
    KR_AWAIT(&s->co, &s->y.base, cx, NULL);
    for (int i = 0; i < s->spawn_k; i++) {
        test_value v = test_value_make(0, NULL);
        assert_rc(kr_spawn(&v.base, NULL), 0);
    }
    {
        uint64_t end = now_ns() + s->spin_ns;
        while (now_ns() < end) {
            if (s->until != NULL && atomic_load(s->until))
                break;
        }
    }
    KR_RETURN(&s->co, out, int, 0);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spinner_vt, spinner, spinner_poll, NULL, sizeof(int));

static int spawn_line;

static void run_spinner_k(kr_runtime *rt, uint64_t spin_ns, atomic_int *until,
                          int *line, int spawn_k) {
    spinner s = {{&spinner_vt}, KR_CORO_INIT, {{NULL}, 0}, spin_ns,
                 until,         line,         spawn_k};
    kr_join_handle jh;
    spawn_line = __LINE__ + 1;
    kr_task_builder b = KR_TASK_BUILDER(.name = "spin", .runtime = rt);
    assert_rc(kr_task_spawn(&b, &s.base, &jh), 0);
    int out = -1;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &out), 0);
    assert_int_equal(out, 0);
}

static void run_spinner(kr_runtime *rt, uint64_t spin_ns, atomic_int *until,
                        int *line) {
    run_spinner_k(rt, spin_ns, until, line, 0);
}

static void slow_poll_reported(void **state) {
    (void)state;
    seen s;
    kr_runtime *rt = runtime_reporting(&s, 20000000, 0); /* 20 ms */
    int line = 0;
    run_spinner(rt, 50000000, NULL, &line); /* a 50 ms poll */
    assert_rc(kr_runtime_shutdown(rt), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last.kind, KR_REPORT_SLOW_POLL);
    /* The detector reads the precise clock around the poll (not the
     * monitor's epoch, which at load fell 30 ms behind and missed this
     * poll altogether). */
    assert_true(s.last.duration_ns >= 50000000);
    assert_string_equal(s.last.future, "spinner");
    assert_string_equal(s.last.name, "spin");
    assert_non_null(strstr(s.last.spawn_file, "test-slow-poll.c"));
    assert_int_equal(s.last.spawn_line, spawn_line);
    assert_true(s.last.task_id != 0);
    /* The poll resumed from the yield and completed. */
    assert_non_null(s.last.resumed_from);
    assert_int_equal(s.last.resumed_from->line, line);
    assert_string_equal(s.last.resumed_from->func, "spinner_poll");
    assert_null(s.last.stopped_at);
    assert_non_null(strstr(s.line, "slow poll: task"));
    assert_non_null(strstr(s.line, "\"spin\" (spinner)"));
    assert_non_null(strstr(s.line, "test-slow-poll.c"));
    pthread_mutex_destroy(&s.mu);
    test_runtime_free(rt);
}

static void fast_poll_not_reported(void **state) {
    (void)state;
    seen s;
    /* 1 ms polls against a 2 s threshold: a poll is timed in wall time,
     * and on a loaded machine a thread is preempted for tens of ms (a
     * 20 ms threshold failed so in a gate run). */
    kr_runtime *rt = runtime_reporting(&s, 2000000000, 0);
    int line = 0;
    for (int i = 0; i < 5; i++)
        run_spinner(rt, 1000000, NULL, &line); /* 1 ms polls */
    assert_rc(kr_runtime_shutdown(rt), 0);
    if (s.n != 0)
        fail_msg("%d reports, the last: %s", s.n, s.line);
    pthread_mutex_destroy(&s.mu);
    test_runtime_free(rt);
}

static void slow_poll_off_by_default(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    assert_int_equal(c.slow_poll_ns, 0);
    assert_int_equal(c.blocked_worker_ns, 0);
    assert_null(c.on_poll_report);
    assert_int_equal(c.poll_histogram.buckets, 0);
}

/* The monitor (current-thread: the watchdog thread) reports a worker
 * stuck in one poll while the poll still runs: the spinner spins until the
 * report arrives (at most 20 s), with three tasks it spawned queued
 * behind it. */
static void blocked_worker_reported_while_running(void **state) {
    (void)state;
    seen s;
    kr_runtime *rt = runtime_reporting(&s, 0, 50000000); /* 50 ms */
    int line = 0;
    uint64_t t0 = now_ns();
    run_spinner_k(rt, 20000000000ull, &s.blocked, &line, 3);
    uint64_t took = now_ns() - t0;
    assert_rc(kr_runtime_shutdown(rt), 0);
    /* The spinner stopped because of the report, long before 20 s. */
    assert_int_equal(atomic_load(&s.blocked), 1);
    assert_true(took < 15000000000ull);
    assert_int_equal(s.n, 1); /* once per stuck poll */
    assert_int_equal(s.last.kind, KR_REPORT_WORKER_BLOCKED);
    assert_true(s.last.duration_ns >= 50000000);
    assert_string_equal(s.last.future, "spinner");
    assert_null(s.last.name); /* not readable from the monitor */
    assert_int_equal(s.last.spawn_line, spawn_line);
    assert_non_null(s.last.resumed_from);
    assert_int_equal(s.last.resumed_from->line, line);
    assert_true(s.last.worker < 2);
    if (!is_mt()) /* on multi-thread the other worker may take them */
        assert_int_equal(s.last.queued, 3);
    assert_non_null(strstr(s.line, "blocked: task"));
    assert_non_null(strstr(s.line, "queued behind it"));
    pthread_mutex_destroy(&s.mu);
    test_runtime_free(rt);
}

/* Current-thread: no watchdog thread unless blocked_worker_ns is set, and
 * none left after the free (thread starts are counted by failing them). */
static void blocked_worker_watchdog_only_when_set(void **state) {
    (void)state;
    if (is_mt())
        skip(); /* its monitor thread always runs */
    kr_runtime_config c = kr_runtime_config_default();
    c.slow_poll_ns = 1000000000;
    kr_runtime *rt = NULL;
    kr__thread_fail_after(0); /* any thread start fails */
    assert_rc(kr_runtime_new(&c, &rt), 0);
    test_runtime_free(rt);
    c.blocked_worker_ns = 1000000000;
    assert_rc(kr_runtime_new(&c, &rt), KR_EAGAIN);
    kr__thread_fail_after(-1);
    assert_rc(kr_runtime_new(&c, &rt), 0);
    test_runtime_free(rt);
}

/* The detectors' clock (util/ticks.h: the TSC, calibrated at the first
 * timed runtime) measures what CLOCK_MONOTONIC measures. A calibration
 * preempted between its two clock reads once made a 1 ms poll read as
 * 20-45 ms under load; the bounds here only catch such skews. */
static void ticks_agree_with_the_monotonic_clock(void **state) {
    (void)state;
    kr__ticks_init();
    uint64_t t0 = kr__ticks(), n0 = now_ns();
    test_sleep_ms(30);
    uint64_t n1 = now_ns(), t1 = kr__ticks();
    double ratio = (double)kr__ticks_to_ns(t1 - t0) / (double)(n1 - n0);
    if (ratio < 0.98 || ratio > 3.0)
        fail_msg("ticks say %.3f x CLOCK_MONOTONIC (tsc %d, mult %llu)", ratio,
                 kr__ticks_cal.tsc, (unsigned long long)kr__ticks_cal.mult);
    /* ns -> ticks -> ns loses at most a tick or two to rounding. */
    uint64_t back = kr__ticks_to_ns(kr__ticks_from_ns(1000000000));
    assert_true(back <= 1000000000 && back >= 1000000000 - 100);
}

static void report_format(void **state) {
    (void)state;
    static const kr_await_site site = {"srv.c", "serve", 88};
    kr_poll_report r;
    memset(&r, 0, sizeof(r));
    r.kind = KR_REPORT_SLOW_POLL;
    r.worker = 2;
    r.task_id = 17;
    r.future = "handler";
    r.spawn_file = "srv.c";
    r.spawn_line = 40;
    r.resumed_from = &site;
    r.duration_ns = 52100000;
    char buf[512];
    int n = kr_poll_report_format(&r, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "kairo: slow poll: task 17 (handler) on worker 2 "
                             "ran 52.1 ms, spawned at srv.c:40, resumed from "
                             "srv.c:88 (serve), stopped at -");
    r.name = "conn";
    kr_poll_report_format(&r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "task 17 \"conn\" (handler) on worker 2"));
    r.name = NULL;
    r.kind = KR_REPORT_WORKER_BLOCKED;
    r.duration_ns = 1200000000;
    r.queued = 3;
    r.spawn_file = NULL;
    kr_poll_report_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "kairo: worker 2 blocked: task 17 (handler) "
                             "running for 1.20 s, spawned at -, resumed from "
                             "srv.c:88 (serve), 3 tasks queued behind it");
    assert_rc(kr_poll_report_format(NULL, buf, sizeof(buf)), KR_EINVAL);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slow_poll_reported),
        cmocka_unit_test(fast_poll_not_reported),
        cmocka_unit_test(slow_poll_off_by_default),
        cmocka_unit_test(blocked_worker_reported_while_running),
        cmocka_unit_test(blocked_worker_watchdog_only_when_set),
        cmocka_unit_test(ticks_agree_with_the_monotonic_clock),
        cmocka_unit_test(report_format),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
