/*
 * Runtime configuration (kr_runtime_config): thread names and stack size,
 * the thread and task hooks, the scheduler intervals, the blocking pool's
 * limits and KR_ZERO. Ported from Tokio's rt_threaded.rs, rt_basic.rs,
 * rt_common.rs and task_hooks.rs where Tokio has the test (named after
 * it); the rest are kairo's own.
 * KR_TEST_FLAVORS: ct mt
 */
#include <limits.h>
#include <unistd.h>

#include "blocking.h"

static kr_runtime_config config(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    return c;
}

static kr_runtime *runtime(const kr_runtime_config *c) {
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(c, &rt), 0);
    return rt;
}

/* ---- hooks' counters ----------------------------------------------------- */

typedef struct hooks {
    atomic_long start, stop, park, unpark, spawned, terminated;
    pthread_mutex_t mu;
    uint64_t ids[64];
    int n_ids;
} hooks;

static void on_start(void *arg) { atomic_fetch_add(&((hooks *)arg)->start, 1); }
static void on_stop(void *arg) { atomic_fetch_add(&((hooks *)arg)->stop, 1); }
static void on_park(void *arg) { atomic_fetch_add(&((hooks *)arg)->park, 1); }
static void on_unpark(void *arg) {
    atomic_fetch_add(&((hooks *)arg)->unpark, 1);
}
static void on_spawn(const kr_task_meta *m, void *arg) {
    hooks *h = arg;
    pthread_mutex_lock(&h->mu);
    if (h->n_ids < 64)
        h->ids[h->n_ids++] = m->id;
    pthread_mutex_unlock(&h->mu);
    atomic_fetch_add(&h->spawned, 1);
}
static void on_terminate(const kr_task_meta *m, void *arg) {
    (void)m;
    atomic_fetch_add(&((hooks *)arg)->terminated, 1);
}

static void hooks_init(hooks *h) {
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
}

/* ---- defaults and validation ------------------------------------------- */

static void config_default_is_zero(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    assert_int_equal(c.flavor, KR_RUNTIME_CURRENT_THREAD);
    assert_int_equal(c.workers, 0);
    assert_int_equal(c.event_interval, 0);
    assert_int_equal(c.global_queue_interval, 0);
    assert_null(c.thread_name);
    assert_null(c.thread_name_fn);
    assert_int_equal(c.thread_stack_size, 0);
    assert_null(c.on_thread_start);
    assert_null(c.on_task_spawn);
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(NULL, &rt), 0);
    kr_runtime_free(rt);
}

/* KR_ZERO where zero is no valid setting, and out-of-range values. */
static void config_invalid_values(void **state) {
    (void)state;
    unsigned *fields[5];
    kr_runtime_config c;
    for (int i = 0; i < 6; i++) {
        c = config();
        fields[0] = &c.workers;
        fields[1] = &c.global_queue_interval;
        fields[2] = &c.event_interval;
        fields[3] = &c.budget;
        fields[4] = &c.max_blocking_threads;
        if (i < 5)
            *fields[i] = KR_ZERO;
        else
            c.event_interval = 1000001;
        kr_runtime *rt = (kr_runtime *)1;
        assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
        assert_null(rt);
    }
    c = config();
    c.thread_stack_size = 1;
    kr_runtime *rt = (kr_runtime *)1;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_null(rt);
}

/* rt_threaded.rs max_blocking_threads: 1 is fine, and caps the pool. */
static void max_blocking_threads(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.max_blocking_threads = 1;
    kr_runtime *rt = runtime(&c);
    counted j;
    counted_init(&j, 1, 5);
    kr_join_handle h[4];
    for (int i = 0; i < 4; i++)
        assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &j, &h[i]), 0);
    join_all(rt, h, 4);
    assert_int_equal(atomic_load(&j.finished), 4);
    assert_int_equal(atomic_load(&j.max), 1);
    test_runtime_free(rt);
    gate_destroy(&j.g);
}

/* rt_threaded.rs max_blocking_threads_set_to_zero (Tokio panics). */
static void max_blocking_threads_set_to_zero(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.max_blocking_threads = KR_ZERO;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
}

/* Spawns `n` tasks that each add one to *counter and joins them. */
typedef struct add_one {
    kr_future base;
    atomic_long *counter;
} add_one;
static kr_poll add_one_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    atomic_fetch_add(((add_one *)f)->counter, 1);
    memset(out, 0, sizeof(uint64_t));
    return KR_READY;
}
KR_FUTURE_VTABLE(add_one_vt, add_one, add_one_poll, NULL, sizeof(uint64_t));

typedef struct spawn_join {
    kr_future base;
    kr_coro co;
    int n, i;
    atomic_long *counter;
    kr_join_handle h[16];
} spawn_join;
static kr_poll spawn_join_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    spawn_join *s = (spawn_join *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++) {
        add_one a = {{&add_one_vt}, s->counter};
        assert_rc(kr_spawn(&a.base, &s->h[s->i]), 0);
    }
    for (s->i = 0; s->i < s->n; s->i++) {
        KR_AWAIT(&s->co, &s->h[s->i].base, cx, NULL);
        assert_rc(kr_join_handle_error(&s->h[s->i]), 0);
    }
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spawn_join_vt, spawn_join, spawn_join_poll, NULL, 0);

static void spawn_join_ten(kr_runtime *rt) {
    atomic_long n = 0;
    spawn_join s = {.base = {&spawn_join_vt}, .n = 10, .counter = &n};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_int_equal(atomic_load(&n), 10);
}

/* rt_threaded.rs global_queue_interval_set_to_one (Tokio #6445). */
static void global_queue_interval_set_to_one(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.global_queue_interval = 1;
    kr_runtime *rt = runtime(&c);
    spawn_join_ten(rt);
    test_runtime_free(rt);
}

/* event_interval is settable: 1 looks at I/O and timers at every tick. */
static void event_interval_set_to_one(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.event_interval = 1;
    kr_runtime *rt = runtime(&c);
    spawn_join_ten(rt);
    kr_sleep s = kr_sleep_for(kr_ms(2));
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    test_runtime_free(rt);
}

/* ---- KR_ZERO ------------------------------------------------------------- */

/* rt_common.rs shutdown_timeout_0: a zero shutdown timeout does not wait
 * for a running blocking job at all. (Tokio's job sleeps 10,000 s; here it
 * waits on a gate the test opens after the shutdown returned, so the
 * check is logical, not timed.) */
static void shutdown_timeout_0(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime_config c = config();
    c.shutdown_timeout_ms = KR_ZERO;
    kr_runtime *rt = runtime(&c);
    counted j;
    counted_init(&j, 0, 0);
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &j, NULL), 0);
    wait_for(&j.started, 1);
    assert_rc(kr_runtime_shutdown(rt), KR_ETIMEDOUT);
    assert_int_equal(atomic_load(&j.finished), 0);
    assert_int_equal(metrics(rt).blocking_unfinished, 1);
    kr_runtime_free(rt);
    gate_open(&j.g);
    wait_for(&j.finished, 1);
    double t0 = now_ms();
    while (test_alloc_live() != 0 && now_ms() - t0 < 5000)
        test_sleep_ms(1);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
    gate_destroy(&j.g);
}

/* rt_common.rs shutdown_timeout: a short timeout gives up on a job. */
static void shutdown_timeout(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.shutdown_timeout_ms = 100;
    kr_runtime *rt = runtime(&c);
    counted j;
    counted_init(&j, 0, 0);
    assert_rc(kr_runtime_spawn_blocking(rt, counted_job, &j, NULL), 0);
    wait_for(&j.started, 1);
    assert_rc(kr_runtime_shutdown(rt), KR_ETIMEDOUT);
    assert_int_equal(atomic_load(&j.finished), 0);
    kr_runtime_free(rt);
    gate_open(&j.g);
    wait_for(&j.finished, 1);
    test_sleep_ms(10); /* its thread frees the pool on its way out */
    gate_destroy(&j.g);
}

/* A zero keep-alive: an idle blocking thread exits at once (the default
 * keeps it 10 s, longer than this test waits). */
static void blocking_keep_alive_zero(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.blocking_keep_alive_ms = KR_ZERO;
    kr_runtime *rt = runtime(&c);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &h), 0);
    assert_int_equal(join_all(rt, &h, 1), 1);
    double t0 = now_ms();
    while (metrics(rt).blocking_threads != 0) {
        if (now_ms() - t0 > 5000)
            fail_msg("the idle blocking thread did not exit");
        test_sleep_ms(1);
    }
    test_runtime_free(rt);
}

/* ---- threads ------------------------------------------------------------- */

/* What a thread learns about itself, from a blocking job or a task. */
typedef struct self_info {
    char name[16];
    size_t stack;
} self_info;

static void read_self(self_info *si) {
    pthread_getname_np(pthread_self(), si->name, sizeof(si->name));
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstacksize(&a, &si->stack);
        pthread_attr_destroy(&a);
    }
}

static void *self_job(void *arg) {
    read_self(arg);
    return arg;
}

typedef struct self_task {
    kr_future base;
    self_info *si;
} self_task;
static kr_poll self_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    read_self(((self_task *)f)->si);
    return KR_READY;
}
KR_FUTURE_VTABLE(self_task_vt, self_task, self_task_poll, NULL, 0);

/* Reads the names and stacks of a blocking thread and (multi-thread) a
 * worker. */
static void read_threads(kr_runtime *rt, self_info *job, self_info *worker) {
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, self_job, job, &h), 0);
    join_all(rt, &h, 1);
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD) {
        self_task t = {{&self_task_vt}, worker};
        assert_rc(kr_runtime_spawn(rt, &t.base, &h), 0);
        assert_rc(kr_runtime_block_on(rt, &h.base, NULL), 0);
    }
}

static void thread_name_default(void **state) {
    (void)state;
    kr_runtime_config c = config();
    kr_runtime *rt = runtime(&c);
    self_info job = {{0}, 0}, worker = {{0}, 0};
    read_threads(rt, &job, &worker);
    assert_string_equal(job.name, "kairo-blocking");
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD)
        assert_string_equal(worker.name, "kairo-worker");
    test_runtime_free(rt);
}

static void thread_name_set(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.thread_name = "my-runtime-with-a-long-name"; /* cut to 15 bytes */
    kr_runtime *rt = runtime(&c);
    self_info job = {{0}, 0}, worker = {{0}, 0};
    read_threads(rt, &job, &worker);
    assert_string_equal(job.name, "my-runtime-with");
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD)
        assert_string_equal(worker.name, "my-runtime-with");
    test_runtime_free(rt);
}

static void name_fn(char *buf, size_t size, void *arg) {
    long n = atomic_fetch_add((atomic_long *)arg, 1);
    snprintf(buf, size, "pool-%ld", n);
}

static void thread_name_fn(void **state) {
    (void)state;
    atomic_long n = 0;
    kr_runtime_config c = config();
    c.thread_name = "ignored";
    c.thread_name_fn = name_fn;
    c.hook_arg = &n;
    kr_runtime *rt = runtime(&c);
    self_info job = {{0}, 0}, worker = {{0}, 0};
    read_threads(rt, &job, &worker);
    assert_int_equal(strncmp(job.name, "pool-", 5), 0);
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD) {
        assert_int_equal(strncmp(worker.name, "pool-", 5), 0);
        /* Both workers and the blocking thread name themselves as they
         * start; a worker with no task yet may not have: wait for it. */
        double t0 = now_ms();
        while (atomic_load(&n) < 3) {
            if (now_ms() - t0 > 10000)
                fail_msg("name_fn ran %ld times", atomic_load(&n));
            test_sleep_ms(1);
        }
    }
    test_runtime_free(rt);
}

static void thread_stack_size(void **state) {
    (void)state;
    kr_runtime_config c = config();
    c.thread_stack_size = 3u << 20; /* not glibc's default 8 MiB */
    kr_runtime *rt = runtime(&c);
    self_info job = {{0}, 0}, worker = {{0}, 0};
    read_threads(rt, &job, &worker);
    assert_true(job.stack >= c.thread_stack_size);
    assert_true(job.stack < c.thread_stack_size + (1u << 20));
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD) {
        assert_true(worker.stack >= c.thread_stack_size);
        assert_true(worker.stack < c.thread_stack_size + (1u << 20));
    }
    test_runtime_free(rt);
}

/* rt_threaded.rs start_stop_callbacks_called: on both flavors, with a
 * blocking job so the current-thread runtime starts a thread too. Every
 * thread started has stopped by the time kr_runtime_free returns. */
static void start_stop_callbacks_called(void **state) {
    (void)state;
    hooks h;
    hooks_init(&h);
    kr_runtime_config c = config();
    c.hook_arg = &h;
    c.on_thread_start = on_start;
    c.on_thread_stop = on_stop;
    kr_runtime *rt = runtime(&c);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn_blocking(rt, plus_one, NULL, &jh), 0);
    join_all(rt, &jh, 1);
    spawn_join_ten(rt);
    assert_true(atomic_load(&h.start) > 0);
    kr_runtime_free(rt);
    long want = test_flavor() == KR_RUNTIME_MULTI_THREAD ? 3 : 1;
    assert_true(atomic_load(&h.start) >= want);
    assert_int_equal(atomic_load(&h.stop), atomic_load(&h.start));
}

/* Park and unpark hooks come in pairs; an idle runtime parks. */
static void park_unpark_callbacks_called(void **state) {
    (void)state;
    hooks h;
    hooks_init(&h);
    kr_runtime_config c = config();
    c.hook_arg = &h;
    c.on_thread_park = on_park;
    c.on_thread_unpark = on_unpark;
    kr_runtime *rt = runtime(&c);
    kr_sleep s = kr_sleep_for(kr_ms(20));
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &s.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    kr_runtime_free(rt);
    assert_true(atomic_load(&h.park) > 0);
    assert_int_equal(atomic_load(&h.unpark), atomic_load(&h.park));
}

/* rt_basic.rs before_park_yields: the park hook wakes the block_on future
 * from the block_on thread itself (a wake that unparks nothing): the
 * runtime must see it before it sleeps. Current-thread: the hook runs on
 * the block_on thread there. */
typedef struct park_notify {
    kr_notify *n;
    atomic_int woken;
} park_notify;

static void park_notify_hook(void *arg) {
    park_notify *p = arg;
    if (atomic_exchange(&p->woken, 1) == 0)
        kr_notify_one(p->n);
}

static void before_park_yields(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_CURRENT_THREAD)
        skip();
    park_notify p = {NULL, 0};
    assert_rc(kr_notify_new(&p.n), 0);
    kr_runtime_config c = config();
    c.hook_arg = &p;
    c.on_thread_park = park_notify_hook;
    kr_runtime *rt = runtime(&c);
    kr_notified f = kr_notify_notified(p.n);
    assert_rc(kr_runtime_block_on(rt, &f.base, NULL), 0);
    assert_int_equal(atomic_load(&p.woken), 1);
    test_runtime_free(rt);
    kr_notify_free(p.n);
}

/* ---- task hooks ----------------------------------------------------------- */

#define TASKS 8

/* task_hooks.rs spawn_task_hook_fires. */
static void spawn_task_hook_fires(void **state) {
    (void)state;
    hooks h;
    hooks_init(&h);
    kr_runtime_config c = config();
    c.hook_arg = &h;
    c.on_task_spawn = on_spawn;
    kr_runtime *rt = runtime(&c);
    test_counts counts = {0};
    for (int i = 0; i < TASKS; i++) {
        test_pending p = test_pending_make(&counts, NULL);
        assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    }
    assert_int_equal(atomic_load(&h.spawned), TASKS);
    assert_int_equal(h.n_ids, TASKS);
    for (int i = 0; i < TASKS; i++)
        for (int k = 0; k < i; k++)
            assert_true(h.ids[i] != h.ids[k]);
    /* Spawns from inside a task go through the other path. */
    spawn_join_ten(rt);
    assert_int_equal(atomic_load(&h.spawned), TASKS + 10);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&counts.drops), TASKS);
}

/* task_hooks.rs terminate_task_hook_fires: the hook runs before the join
 * handle completes, so joining is enough (Tokio yields 64 times), and a
 * cancelled task terminates too. */
static void terminate_task_hook_fires(void **state) {
    (void)state;
    hooks h;
    hooks_init(&h);
    kr_runtime_config c = config();
    c.hook_arg = &h;
    c.on_task_terminate = on_terminate;
    kr_runtime *rt = runtime(&c);
    kr_join_handle jh[TASKS];
    for (int i = 0; i < TASKS; i++) {
        test_value v = test_value_make(0, NULL);
        assert_rc(kr_runtime_spawn(rt, &v.base, &jh[i]), 0);
    }
    join_all(rt, jh, TASKS);
    assert_int_equal(atomic_load(&h.terminated), TASKS);
    test_counts counts = {0};
    test_pending p = test_pending_make(&counts, NULL);
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&h.terminated), TASKS + 1);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_default_is_zero),
        cmocka_unit_test(config_invalid_values),
        cmocka_unit_test(max_blocking_threads),
        cmocka_unit_test(max_blocking_threads_set_to_zero),
        cmocka_unit_test(global_queue_interval_set_to_one),
        cmocka_unit_test(event_interval_set_to_one),
        cmocka_unit_test(shutdown_timeout_0),
        cmocka_unit_test(shutdown_timeout),
        cmocka_unit_test(blocking_keep_alive_zero),
        cmocka_unit_test(thread_name_default),
        cmocka_unit_test(thread_name_set),
        cmocka_unit_test(thread_name_fn),
        cmocka_unit_test(thread_stack_size),
        cmocka_unit_test(start_stop_callbacks_called),
        cmocka_unit_test(park_unpark_callbacks_called),
        cmocka_unit_test(before_park_yields),
        cmocka_unit_test(spawn_task_hook_fires),
        cmocka_unit_test(terminate_task_hook_fires),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
