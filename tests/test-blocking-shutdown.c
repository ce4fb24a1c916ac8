/*
 * The blocking pool at shutdown: the queue cancelled and running jobs
 * waited for, the shutdown timeout, spawns after shutdown, a shutdown from
 * inside a job, and spawners racing thread churn and a shutdown.
 * KR_TEST_FLAVORS: ct mt
 */
#include "blocking.h"

/* ---- shutdown ----------------------------------------------------------- */

static void shutdown_cancels_queued_waits_running(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(1, 0, 5000);
    counted running, queued;
    counted_init(&running, 1, 100);
    counted_init(&queued, 1, 0);
    kr_join_handle h1, h2;
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &running, &h1), 0);
    wait_for(&running.started, 1);
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &queued, &h2), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    /* It waited for the running job; the queued one never ran. */
    assert_int_equal(atomic_load(&running.finished), 1);
    assert_int_equal(atomic_load(&queued.started), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.blocking_threads, 0);
    assert_int_equal(m.blocking_queued, 0);
    assert_int_equal(m.blocking_unfinished, 0);
    assert_ptr_equal(poll_finished(&h1), &running);
    assert_rc(kr_join_handle_error(&h1), 0);
    assert_null(poll_finished(&h2));
    assert_rc(kr_join_handle_error(&h2), KR_ECANCELED);
    assert_rc(kr_runtime_shutdown(rt), 0); /* idempotent */
    kr_runtime_free(rt);
    /* No thread left behind: the pool is gone with the runtime. */
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&running.g);
    gate_destroy(&queued.g);
}

static void shutdown_timeout(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(0, 0, 50);
    counted c;
    counted_init(&c, 1, 2000);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &c, &h), 0);
    wait_for(&c.started, 1);
    double t0 = now_ms();
    assert_rc(kr_runtime_shutdown(rt), KR_ETIMEDOUT);
    double took = now_ms() - t0;
    if (took < 40 || took > 1000)
        fail_msg("shutdown took %.0f ms with a 50 ms timeout", took);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.blocking_unfinished, 1);
    assert_int_equal(m.blocking_threads, 1);
    /* Past the deadline a second call does not wait again. */
    t0 = now_ms();
    assert_rc(kr_runtime_shutdown(rt), KR_ETIMEDOUT);
    assert_true(now_ms() - t0 < 500);
    assert_false(kr_join_handle_is_finished(&h));
    kr_join_handle_drop(&h); /* its result will be discarded */
    t0 = now_ms();
    kr_runtime_free(rt); /* the job still runs: the pool outlives rt */
    assert_true(now_ms() - t0 < 500);
    assert_int_equal(atomic_load(&c.finished), 0);
    /* Let the job finish; its thread then frees the pool. */
    wait_for(&c.finished, 1);
    t0 = now_ms();
    while (test_alloc_live() != 0 && now_ms() - t0 < 5000)
        test_sleep_ms(1);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&c.g);
}

static void spawn_after_shutdown(void **state) {
    (void)state;
    /* A pool that existed before the shutdown, and one that never did. */
    for (int made = 0; made < 2; made++) {
        kr_runtime *rt = blocking_runtime(0, 0, 0);
        kr_join_handle h;
        if (made) {
            assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &h), 0);
            assert_int_equal(join_all(rt, &h, 1), 1);
        }
        assert_rc(kr_runtime_shutdown(rt), 0);
        assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &h),
                  KR_ESHUTDOWN);
        assert_rc(kr_join_handle_error(&h), KR_EINVAL); /* left empty */
        assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, NULL),
                  KR_ESHUTDOWN);
        kr_runtime_free(rt);
    }
}

static void *shutdown_job(void *arg) {
    kr_runtime *rt = arg;
    return (void *)(intptr_t)kr_runtime_shutdown(rt);
}

static void shutdown_from_inside_job(void **state) {
    (void)state;
    kr_runtime *rt = blocking_runtime(0, 0, 5000);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, shutdown_job, rt, &h), 0);
    double t0 = now_ms();
    while (!kr_join_handle_is_finished(&h)) {
        if (now_ms() - t0 > 2000)
            fail_msg("the job's shutdown waited for the job itself");
        test_sleep_ms(1);
    }
    assert_int_equal((intptr_t)poll_finished(&h), 0);
    assert_rc(kr_runtime_shutdown(rt), 0); /* and the job's thread exits */
    kr_runtime_free(rt);
}

/* ---- races -------------------------------------------------------------- */

#define RACE_JOBS 300

typedef struct racer {
    pthread_t th;
    kr_runtime *rt;
    atomic_long *spawned;
    int pause_every; /* sleep 2 ms after every that many spawns (0: never) */
    int rc[RACE_JOBS];
    kr_join_handle h[RACE_JOBS];
} racer;

static void *racer_main(void *arg) {
    racer *r = arg;
    for (int i = 0; i < RACE_JOBS; i++) {
        r->rc[i] = kr_runtime_spawn_blocking(r->rt, plus_one,
                                             (void *)(uintptr_t)i, &r->h[i]);
        atomic_fetch_add(r->spawned, 1);
        if (r->pause_every != 0 && i % r->pause_every == r->pause_every - 1)
            test_sleep_ms(2);
    }
    return NULL;
}

/* Waits for a handle from a thread that cannot block_on (polls it). */
static void *wait_finished(kr_join_handle *h) {
    double t0 = now_ms();
    while (!kr_join_handle_is_finished(h)) {
        if (now_ms() - t0 > 5000)
            fail_msg("a job did not finish in 5 s");
        test_sleep_ms(1);
    }
    return poll_finished(h);
}

/* Four threads spawn while threads come and go: a 1 ms keep-alive and
 * pauses make the pool shrink to nothing and start threads again (reusing
 * their records) all the time; a cap of 3 makes jobs queue meanwhile. */
static void spawners_with_thread_churn(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(3, 1, 0);
    atomic_long spawned = 0;
    racer *r = calloc(4, sizeof(*r));
    assert_non_null(r);
    for (int i = 0; i < 4; i++) {
        r[i].rt = rt;
        r[i].spawned = &spawned;
        r[i].pause_every = 10 + i;
        assert_int_equal(pthread_create(&r[i].th, NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(r[i].th, NULL);
        for (int j = 0; j < RACE_JOBS; j++) {
            assert_rc(r[i].rc[j], 0);
            assert_ptr_equal(wait_finished(&r[i].h[j]),
                             (void *)(uintptr_t)(j + 1));
        }
    }
    assert_true(metrics(rt).blocking_threads <= 3);
    test_runtime_free(rt);
    free(r);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Spawners race a shutdown: every spawn either fails with KR_ESHUTDOWN
 * (and all after it too) or its job ran or was cancelled by the time the
 * shutdown returned. */
static void spawners_race_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = blocking_runtime(2, 0, 0);
    atomic_long spawned = 0;
    racer *r = calloc(3, sizeof(*r));
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        r[i].rt = rt;
        r[i].spawned = &spawned;
        assert_int_equal(pthread_create(&r[i].th, NULL, racer_main, &r[i]), 0);
    }
    wait_for(&spawned, 30);
    assert_rc(kr_runtime_shutdown(rt), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i].th, NULL);
    long ran = 0, cancelled = 0, refused = 0;
    for (int i = 0; i < 3; i++) {
        bool closed = false;
        for (int j = 0; j < RACE_JOBS; j++) {
            if (r[i].rc[j] == KR_ESHUTDOWN) {
                closed = true;
                refused++;
                continue;
            }
            assert_rc(r[i].rc[j], 0);
            assert_false(closed); /* no success after a refusal */
            void *v = poll_finished(&r[i].h[j]);
            if (kr_join_handle_error(&r[i].h[j]) == 0) {
                assert_ptr_equal(v, (void *)(uintptr_t)(j + 1));
                ran++;
            } else {
                assert_rc(kr_join_handle_error(&r[i].h[j]), KR_ECANCELED);
                assert_null(v);
                cancelled++;
            }
        }
    }
    /* How many ran before the shutdown is the scheduler's business (the
     * first thread may not even have started). */
    assert_int_equal(ran + cancelled + refused, 3 * RACE_JOBS);
    kr_runtime_free(rt);
    free(r);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shutdown_cancels_queued_waits_running),
        cmocka_unit_test(shutdown_timeout),
        cmocka_unit_test(spawn_after_shutdown),
        cmocka_unit_test(shutdown_from_inside_job),
        cmocka_unit_test(spawners_with_thread_churn),
        cmocka_unit_test(spawners_race_shutdown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
