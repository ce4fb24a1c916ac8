/*
 * A runtime's life from the outside: freeing it with tasks woken from
 * other threads, freeing it while another thread is still inside
 * kr_runtime_shutdown, freeing it from inside itself (refused), task
 * dumps that list tasks which have not run yet.
 * KR_TEST_FLAVORS: ct mt
 */
#include <sched.h>
#include <unistd.h>

#include "test.h"
#include "util/thread.h"

/* ---- a task parked on a oneshot --------------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_recv r;
    test_counts *c;
    test_latch *started;
    int rc;
} rx_task;

static kr_poll rx_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    rx_task *t = (rx_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    if (t->c != NULL)
        atomic_fetch_add(&t->c->polls, 1);
    t->r = kr_oneshot_recv_future(t->rx, NULL);
    if (t->started != NULL)
        test_latch_add(t->started, 1);
    KR_AWAIT(&t->co, &t->r.base, cx, &t->rc);
    KR_ASYNC_END(&t->co);
}

static void rx_task_drop(kr_future *f) {
    rx_task *t = (rx_task *)f;
    if (t->c != NULL)
        atomic_fetch_add(&t->c->drops, 1);
    kr_coro_drop(&t->co);
    kr_oneshot_rx_drop(t->rx);
}
KR_FUTURE_VTABLE(rx_task_vt, rx_task, rx_task_poll, rx_task_drop, 0);

/* Spawns an rx_task onto `rt` from outside it; returns the sender. */
static kr_oneshot_tx *spawn_rx(kr_runtime *rt, test_counts *c,
                               test_latch *started) {
    kr_oneshot_tx *tx = NULL;
    rx_task t = {.base = {&rx_task_vt}, .c = c, .started = started};
    assert_rc(kr_oneshot_new(0, &tx, &t.rx), 0);
    assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    return tx;
}

/* ---- a future that yields once ---------------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_yield y;
} yield_once;

static kr_poll yield_once_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    yield_once *y = (yield_once *)f;
    KR_ASYNC_BEGIN(&y->co);
    y->y = kr_yield_now();
    KR_AWAIT(&y->co, &y->y.base, cx, NULL);
    KR_ASYNC_END(&y->co);
}
KR_FUTURE_VTABLE(yield_once_vt, yield_once, yield_once_poll, NULL, 0);

/* ---- freeing with remotely woken tasks ---------------------------------- */

typedef struct {
    kr_oneshot_tx **tx;
    long n;
    atomic_int started;
} sender;

static void *sender_main(void *arg) {
    sender *s = arg;
    atomic_store(&s->started, 1);
    for (long i = 0; i < s->n; i++)
        (void)kr_oneshot_send(s->tx[i], NULL); /* KR_ECLOSED once dropped */
    return NULL;
}

/* Tokio's rt_common shutdown_concurrent_spawn: tasks parked on oneshots,
 * primed by one block_on, then woken from another thread while the
 * runtime is dropped. */
static void shutdown_concurrent_spawn(void **state) {
    (void)state;
    test_alloc_install();
    long n = test_scale(2000);
    kr_oneshot_tx **tx = calloc((size_t)n, sizeof(*tx));
    assert_non_null(tx);
    for (int round = 0; round < 5; round++) {
        test_counts c = {0};
        kr_runtime *rt = test_runtime(0);
        for (long i = 0; i < n; i++)
            tx[i] = spawn_rx(rt, &c, NULL);
        yield_once y = {.base = {&yield_once_vt}};
        assert_rc(kr_runtime_block_on(rt, &y.base, NULL), 0);
        sender s = {tx, n, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, sender_main, &s), 0);
        while (!atomic_load(&s.started))
            sched_yield();
        kr_runtime_free(rt);
        pthread_join(th, NULL);
        assert_int_equal(c.drops, n); /* each future exactly once */
    }
    free(tx);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* The deterministic form of the above: a task polled once and parked,
 * then woken from another thread while no block_on runs, so that its wake
 * waits in the inject queue when the runtime is freed. */
static void free_with_remote_wake_queued(void **state) {
    (void)state;
    test_alloc_install();
    enum { N = 64 };
    kr_oneshot_tx *tx[N];
    test_counts c = {0};
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = test_runtime(0);
    for (int i = 0; i < N; i++)
        tx[i] = spawn_rx(rt, &c, &started);
    test_latch_wait w = test_latch_wait_for(&started, N);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    assert_int_equal(c.polls, N);
    sender s = {tx, N, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender_main, &s), 0);
    pthread_join(th, NULL);
    kr_runtime_free(rt);
    test_latch_destroy(&started);
    assert_int_equal(c.drops, N);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- freeing while another thread is inside kr_runtime_shutdown ------- */

/* A block_on future that never completes; bumps `started` when polled. */
typedef struct {
    kr_future base;
    test_latch *started;
} forever;

static kr_poll forever_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    test_latch_add(((forever *)f)->started, 1);
    return KR_PENDING;
}
KR_FUTURE_VTABLE(forever_vt, forever, forever_poll, NULL, 0);

/* The same, taking its time to drop: the block_on that a shutdown ends
 * returns late, after the shutting-down thread got further. */
static void slow_forever_drop(kr_future *f) {
    (void)f;
    test_sleep_ms(200);
}
KR_FUTURE_VTABLE(slow_forever_vt, forever, forever_poll, slow_forever_drop, 0);

typedef struct {
    kr_runtime *rt;
    test_latch *started;
    int rc;
} shutter;

static void *shutter_main(void *arg) {
    shutter *s = arg;
    while (test_latch_get(s->started) < 1)
        sched_yield();
    s->rc = kr_runtime_shutdown(s->rt);
    return NULL;
}

/* A blocking job that runs until `release` is set. */
static atomic_int job_release, job_started;
static void *held_job(void *arg) {
    (void)arg;
    atomic_store(&job_started, 1);
    while (!atomic_load(&job_release))
        test_sleep_ms(1);
    return NULL;
}
static void *quick_job(void *arg) { return arg; }

/* The queued job's join handle stores the slow waker. The shutdown that
 * cancels the job wakes it on the shutting-down thread, while the main
 * thread's block_on is still dropping its future: the wake lets the held
 * job finish, drops the handle (the cancelled cell is then freed when the
 * shutdown lets go of it) and takes its time, so the shutting-down thread
 * is still inside kr_runtime_shutdown when the main thread, its block_on
 * ended, frees the runtime. */
static kr_join_handle queued;
static atomic_int slow_wakes;
static kr_waker slow_clone(const void *data);
static void slow_wake_by_ref(const void *data) {
    (void)data;
    atomic_store(&job_release, 1);
    kr_join_handle_drop(&queued);
    test_sleep_ms(600);
    atomic_fetch_add(&slow_wakes, 1);
}
static void slow_drop(const void *data) { (void)data; }
static void slow_wake(const void *data) { slow_wake_by_ref(data); }
static const kr_waker_vtable slow_vt = {slow_clone, slow_wake, slow_wake_by_ref,
                                        slow_drop};
static kr_waker slow_clone(const void *data) {
    kr_waker w = {data, &slow_vt};
    return w;
}

static void free_while_shutdown_runs_on_another_thread(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = test_flavor();
    cfg.workers = 2;
    cfg.max_blocking_threads = 1; /* the second job waits in the queue */
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&cfg, &rt), 0);
    assert_rc(kr_runtime_spawn_blocking(rt, held_job, NULL, NULL), 0);
    while (!atomic_load(&job_started))
        test_sleep_ms(1);
    assert_rc(kr_runtime_spawn_blocking(rt, quick_job, NULL, &queued), 0);
    kr_waker sw = {NULL, &slow_vt};
    kr_context cx = kr_context_from_waker(&sw);
    void *res = NULL;
    assert_int_equal(kr_future_poll(&queued.base, &cx, &res), KR_PENDING);

    test_latch started;
    test_latch_init(&started);
    shutter sh = {rt, &started, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, shutter_main, &sh), 0);
    forever f = {{&slow_forever_vt}, &started};
    assert_rc(kr_runtime_block_on(rt, &f.base, NULL), KR_ESHUTDOWN);
    kr_runtime_free(rt); /* the shutter is still inside its shutdown */
    pthread_join(th, NULL);
    assert_rc(sh.rc, 0);
    assert_int_equal(slow_wakes, 1);
    test_latch_destroy(&started);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* What examples/kairo-echo.c does on a signal: another thread shuts the
 * runtime down, block_on returns, main frees at once. Repeated so that
 * the free lands at every point of the other thread's shutdown. */
static void free_right_after_shutdown_from_another_thread(void **state) {
    (void)state;
    test_alloc_install();
    long rounds = test_scale(200);
    for (long i = 0; i < rounds; i++) {
        test_latch started;
        test_latch_init(&started);
        kr_runtime *rt = test_runtime(0);
        shutter sh = {rt, &started, -1};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, shutter_main, &sh), 0);
        forever f = {{&forever_vt}, &started};
        assert_rc(kr_runtime_block_on(rt, &f.base, NULL), KR_ESHUTDOWN);
        kr_runtime_free(rt);
        pthread_join(th, NULL);
        assert_rc(sh.rc, 0);
        test_latch_destroy(&started);
    }
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- kr_runtime_free from inside the runtime -------------------------- */

/* Calls kr_runtime_free on its own runtime, then completes. */
typedef struct {
    kr_future base;
    kr_runtime *rt;
    int *rc;
} freer;

static kr_poll freer_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    freer *fr = (freer *)f;
    *fr->rc = kr_runtime_free(fr->rt);
    return KR_READY;
}
KR_FUTURE_VTABLE(freer_vt, freer, freer_poll, NULL, 0);

/* After a refused free the runtime still runs tasks. */
static void check_still_runs(kr_runtime *rt) {
    test_counts c = {0};
    test_value v = test_value_make(7, &c);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &v.base, &jh), 0);
    uint64_t out = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &out), 0);
    assert_int_equal(out, 7);
    assert_int_equal(c.drops, 1);
}

static void free_from_task_is_refused(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    int rc = 1;
    freer fr = {{&freer_vt}, rt, &rc};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &fr.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), 0);
    assert_rc(rc, KR_EBUSY);
    check_still_runs(rt);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void free_from_block_on_future_is_refused(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    int rc = 1;
    freer fr = {{&freer_vt}, rt, &rc};
    assert_rc(kr_runtime_block_on(rt, &fr.base, NULL), 0);
    assert_rc(rc, KR_EBUSY);
    check_still_runs(rt);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- task dumps ------------------------------------------------------- */

/* Occupies a worker thread until `release` is set (multi-thread only). */
typedef struct {
    kr_future base;
    atomic_int *release;
    test_latch *started;
} hog;

static kr_poll hog_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    hog *h = (hog *)f;
    test_latch_add(h->started, 1);
    while (!atomic_load(h->release))
        sched_yield();
    return KR_READY;
}
KR_FUTURE_VTABLE(hog_vt, hog, hog_poll, NULL, 0);

/* Counts the lines kr_runtime_dump writes. */
static int dump_lines(kr_runtime *rt, int *rc) {
    FILE *f = tmpfile();
    assert_non_null(f);
    *rc = kr_runtime_dump(rt, fileno(f));
    rewind(f);
    int lines = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        lines += ch == '\n';
    fclose(f);
    return lines;
}

static void dump_lists_spawned_tasks_not_yet_run(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(2);
    atomic_int release = 0;
    test_latch started;
    test_latch_init(&started);
    int hogs = 0;
    kr_join_handle hh[2];
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD) {
        /* Keep both workers busy so that nothing takes the spawns below
         * off the inject queue. */
        for (hogs = 0; hogs < 2; hogs++) {
            hog h = {{&hog_vt}, &release, &started};
            assert_rc(kr_runtime_spawn(rt, &h.base, &hh[hogs]), 0);
        }
        while (test_latch_get(&started) < hogs)
            sched_yield();
    }
    enum { N = 3 };
    test_counts c = {0};
    for (int i = 0; i < N; i++) {
        test_pending p = test_pending_make(&c, NULL);
        assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    }
    int rc = 0;
    int lines = dump_lines(rt, &rc);
    assert_int_equal(rc, hogs + N);
    assert_int_equal(lines, hogs + N);
    atomic_store(&release, 1);
    for (int i = 0; i < hogs; i++) {
        assert_rc(kr_runtime_block_on(rt, &hh[i].base, NULL), 0);
    }
    test_runtime_free(rt);
    assert_int_equal(c.drops, N);
    test_latch_destroy(&started);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- creation failures ------------------------------------------------ */

/* Each thread a multi-thread runtime starts (two workers, the monitor)
 * failing in turn: kr_runtime_new reports KR_EAGAIN, joins what it
 * started, and leaves nothing allocated. */
static void new_fails_cleanly_when_a_thread_does_not_start(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_MULTI_THREAD)
        skip(); /* a current-thread runtime starts no thread */
    test_alloc_install();
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    cfg.workers = 2;
    for (long i = 0; i < 3; i++) {
        kr_runtime *rt = (kr_runtime *)&cfg; /* not NULL: must be reset */
        kr__thread_fail_after(i);
        assert_rc(kr_runtime_new(&cfg, &rt), KR_EAGAIN);
        assert_null(rt);
        assert_int_equal(test_alloc_live(), 0);
    }
    kr__thread_fail_after(-1);
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&cfg, &rt), 0);
    kr_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(shutdown_concurrent_spawn),
    cmocka_unit_test(free_with_remote_wake_queued),
    cmocka_unit_test(free_while_shutdown_runs_on_another_thread),
    cmocka_unit_test(free_right_after_shutdown_from_another_thread),
    cmocka_unit_test(free_from_task_is_refused),
    cmocka_unit_test(free_from_block_on_future_is_refused),
    cmocka_unit_test(dump_lists_spawned_tasks_not_yet_run),
    cmocka_unit_test(new_fails_cleanly_when_a_thread_does_not_start),
};
KR_TEST_MAIN(tests)
