/*
 * Deterministic simulation (kairo/sim.h): the seeded scheduler's
 * determinism, the virtual clock, the in-memory network, faults, the
 * inline blocking pool, deadlock reports, and the planted ordering bug
 * found by trying seeds and replayed from the reported one.
 *
 * Nothing here measures real time except the check that an hour of
 * virtual sleeping takes well under a minute of it.
 */
#include <time.h>
#include <unistd.h>

#include "test.h"

static kr_runtime *sim_runtime(uint64_t seed) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_SIMULATION;
    c.seed = seed;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

/* The log of a finished run, copied (the runtime's copy dies with it). */
typedef struct run_log {
    char *text;
    size_t len;
    uint64_t hash;
} run_log;

static run_log take_log(kr_runtime *rt) {
    const char *d;
    run_log l;
    assert_rc(kr_sim_log(rt, &d, &l.len, &l.hash), 0);
    l.text = malloc(l.len + 1);
    memcpy(l.text, d, l.len);
    l.text[l.len] = '\0';
    return l;
}

static bool log_equal(const run_log *a, const run_log *b) {
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0 &&
           a->hash == b->hash;
}

/* ---- a workload: workers that yield, sleep and talk over TCP and UDP --- */

typedef struct worker {
    kr_future base;
    kr_coro co;
    int id, i;
    long *trace; /* appended: id * 100 + step */
    size_t *ntrace;
    kr_yield y;
    kr_sleep nap;
} worker;

static kr_poll worker_poll(kr_future *f, kr_context *cx, void *out) {
    worker *w = (worker *)f;
    KR_ASYNC_BEGIN(&w->co);
    for (w->i = 0; w->i < 6; w->i++) {
        w->trace[(*w->ntrace)++] = w->id * 100 + w->i;
        if (w->i % 2 == 0) {
            w->y = kr_yield_now();
            KR_AWAIT(&w->co, &w->y.base, cx, NULL);
        } else {
            w->nap = kr_sleep_for(kr_ms(1 + (int)(kr_sim_random() % 5)));
            KR_AWAIT(&w->co, &w->nap.base, cx, NULL);
        }
    }
    (void)out;
    KR_RETURN_VOID(&w->co);
    KR_ASYNC_END(&w->co);
}

static const kr_future_vtable worker_vt = {worker_poll, NULL, sizeof(worker), 0,
                                           "worker"};

/* Awaits `n` join handles. */
typedef struct join_all {
    kr_future base;
    kr_join_handle *h;
    int n, i;
} join_all;

static kr_poll join_all_poll(kr_future *f, kr_context *cx, void *out) {
    join_all *j = (join_all *)f;
    (void)out;
    for (; j->i < j->n; j->i++) {
        if (kr_future_poll(&j->h[j->i].base, cx, NULL) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&j->h[j->i].base);
    }
    return KR_READY;
}

static const kr_future_vtable join_all_vt = {join_all_poll, NULL,
                                             sizeof(join_all), 0, "join_all"};

#define NWORKERS 5

/* Runs the workload with `seed`; returns its log, and its trace in `trace`. */
static run_log run_workers(uint64_t seed, long *trace, size_t *ntrace) {
    kr_runtime *rt = sim_runtime(seed);
    kr_join_handle h[NWORKERS];
    *ntrace = 0;
    for (int i = 0; i < NWORKERS; i++) {
        worker w;
        memset(&w, 0, sizeof(w));
        w.base.vtable = &worker_vt;
        w.id = i;
        w.trace = trace;
        w.ntrace = ntrace;
        assert_rc(kr_runtime_spawn(rt, &w.base, &h[i]), 0);
    }
    join_all j = {{&join_all_vt}, h, NWORKERS, 0};
    assert_rc(kr_runtime_block_on(rt, &j.base, NULL), 0);
    run_log l = take_log(rt);
    test_runtime_free(rt);
    return l;
}

static void sim_same_seed_same_log(void **state) {
    (void)state;
    long t1[64], t2[64];
    size_t n1, n2;
    run_log a = run_workers(42, t1, &n1);
    run_log b = run_workers(42, t2, &n2);
    assert_true(a.len > 0);
    if (!log_equal(&a, &b))
        fail_msg("seed 42 gave two logs:\n%s\n---\n%s", a.text, b.text);
    assert_int_equal(n1, NWORKERS * 6);
    assert_int_equal(n1, n2);
    assert_memory_equal(t1, t2, n1 * sizeof(long));
    free(a.text);
    free(b.text);
}

static void sim_different_seeds_differ(void **state) {
    (void)state;
    long t1[64], t2[64];
    size_t n1, n2;
    run_log a = run_workers(1, t1, &n1);
    run_log b = run_workers(2, t2, &n2);
    assert_false(log_equal(&a, &b));
    /* The orders themselves differ, not only the log's wording. */
    assert_int_equal(n1, n2);
    assert_true(memcmp(t1, t2, n1 * sizeof(long)) != 0);
    /* Across several seeds, several orders. */
    uint64_t hashes[8];
    int distinct = 0;
    for (uint64_t s = 0; s < 8; s++) {
        run_log l = run_workers(100 + s, t1, &n1);
        bool seen = false;
        for (int k = 0; k < distinct; k++)
            seen |= hashes[k] == l.hash;
        if (!seen)
            hashes[distinct++] = l.hash;
        free(l.text);
    }
    assert_true(distinct >= 6);
    free(a.text);
    free(b.text);
}

static void sim_env_seed(void **state) {
    (void)state;
    uint64_t s = 0;
    setenv("KAIRO_SEED", "0x2a", 1);
    assert_int_equal(kr_sim_env_seed(&s), 1);
    assert_int_equal(s, 42);
    kr_runtime *rt = sim_runtime(0); /* 0: from the environment */
    assert_rc(kr_sim_seed(rt, &s), 0);
    assert_int_equal(s, 42);
    test_runtime_free(rt);
    setenv("KAIRO_SEED", "junk", 1);
    assert_int_equal(kr_sim_env_seed(&s), 0);
    unsetenv("KAIRO_SEED");
    assert_int_equal(kr_sim_env_seed(&s), 0);
    rt = sim_runtime(0); /* chosen from the clock, never 0 */
    assert_rc(kr_sim_seed(rt, &s), 0);
    assert_true(s != 0);
    test_runtime_free(rt);
}

static void sim_api_misuse(void **state) {
    (void)state;
    kr_runtime *ct = NULL;
    assert_rc(kr_runtime_new(NULL, &ct), 0);
    uint64_t s;
    const char *d;
    size_t n;
    kr_sim_options o = kr_sim_options_default();
    assert_rc(kr_sim_seed(ct, &s), KR_EINVAL);
    assert_rc(kr_sim_log(ct, &d, &n, NULL), KR_EINVAL);
    assert_rc(kr_sim_configure(ct, &o), KR_EINVAL);
    assert_rc(kr_sim_report(ct, 2, "x"), KR_EINVAL);
    assert_rc(kr_sim_seed(NULL, &s), KR_EINVAL);
    test_runtime_free(ct);
    kr_runtime *rt = sim_runtime(7);
    o.latency_min_us = 10;
    o.latency_max_us = 5;
    assert_rc(kr_sim_configure(rt, &o), KR_EINVAL);
    o = kr_sim_options_default();
    o.udp_drop_ppm = 1000001;
    assert_rc(kr_sim_configure(rt, &o), KR_EINVAL);
    assert_rc(kr_sim_configure(rt, NULL), KR_EINVAL);
    assert_rc(kr_sim_report(rt, -1, "x"), KR_EINVAL);
    test_runtime_free(rt);
}

/* ---- the virtual clock ---------------------------------------------------- */

typedef struct napper {
    kr_future base;
    kr_coro co;
    kr_duration d;
    kr_instant start, end;
    kr_sleep nap;
} napper;

static kr_poll napper_poll(kr_future *f, kr_context *cx, void *out) {
    napper *n = (napper *)f;
    (void)out;
    KR_ASYNC_BEGIN(&n->co);
    n->start = kr_instant_now();
    n->nap = kr_sleep_for(n->d);
    KR_AWAIT(&n->co, &n->nap.base, cx, NULL);
    n->end = kr_instant_now();
    KR_RETURN_VOID(&n->co);
    KR_ASYNC_END(&n->co);
}

static const kr_future_vtable napper_vt = {napper_poll, NULL, sizeof(napper), 0,
                                           "napper"};

static double real_secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sim_sleep_one_hour_is_instant(void **state) {
    (void)state;
    kr_runtime *rt = sim_runtime(3);
    napper n;
    memset(&n, 0, sizeof(n));
    n.base.vtable = &napper_vt;
    n.d = kr_secs(3600);
    double t0 = real_secs();
    assert_rc(kr_runtime_block_on(rt, &n.base, NULL), 0);
    double spent = real_secs() - t0;
    /* Virtual: at least the hour, and not much more (the wheel's ms). */
    kr_duration v = kr_instant_since(n.end, n.start);
    assert_true(v >= kr_secs(3600));
    assert_true(v <= kr_secs(3600) + kr_ms(2));
    /* Real: nowhere near (a generous bound for a loaded machine). */
    assert_true(spent < 30.0);
    test_runtime_free(rt);
}

/* Sleepers record the virtual time they woke at, in wake order. */
typedef struct sleeper {
    kr_future base;
    kr_coro co;
    int ms;
    int *order;
    int *n;
    kr_sleep nap;
} sleeper;

static kr_poll sleeper_poll(kr_future *f, kr_context *cx, void *out) {
    sleeper *s = (sleeper *)f;
    (void)out;
    KR_ASYNC_BEGIN(&s->co);
    s->nap = kr_sleep_for(kr_ms(s->ms));
    KR_AWAIT(&s->co, &s->nap.base, cx, NULL);
    s->order[(*s->n)++] = s->ms;
    KR_RETURN_VOID(&s->co);
    KR_ASYNC_END(&s->co);
}

static const kr_future_vtable sleeper_vt = {sleeper_poll, NULL, sizeof(sleeper),
                                            0, "sleeper"};

/* A future that never completes (for timeouts to cut short). */
static kr_poll forever_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    (void)out;
    return KR_PENDING;
}

static const kr_future_vtable forever_vt = {forever_poll, NULL,
                                            sizeof(kr_future), 0, "forever"};

typedef struct timed {
    kr_future base;
    kr_coro co;
    kr_future inner;
    kr_timeout to;
    int rc;
    kr_instant start, end;
} timed;

static kr_poll timed_poll(kr_future *f, kr_context *cx, void *out) {
    timed *t = (timed *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->inner.vtable = &forever_vt;
    t->start = kr_instant_now();
    t->to = kr_timeout_new(&t->inner, kr_ms(250), NULL);
    KR_AWAIT(&t->co, &t->to.base, cx, &t->rc);
    t->end = kr_instant_now();
    KR_RETURN(&t->co, out, int, t->rc);
    KR_ASYNC_END(&t->co);
}

static const kr_future_vtable timed_vt = {timed_poll, NULL, sizeof(timed),
                                          sizeof(int), "timed"};

static void sim_timers_fire_in_order(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        kr_runtime *rt = sim_runtime(seed);
        int ms[] = {50, 10, 30, 2000, 20, 40, 10000, 1};
        int order[8], n = 0;
        kr_join_handle h[8];
        for (int i = 0; i < 8; i++) {
            sleeper s;
            memset(&s, 0, sizeof(s));
            s.base.vtable = &sleeper_vt;
            s.ms = ms[i];
            s.order = order;
            s.n = &n;
            assert_rc(kr_runtime_spawn(rt, &s.base, &h[i]), 0);
        }
        join_all j = {{&join_all_vt}, h, 8, 0};
        assert_rc(kr_runtime_block_on(rt, &j.base, NULL), 0);
        assert_int_equal(n, 8);
        for (int i = 1; i < 8; i++)
            assert_true(order[i - 1] < order[i]);
        /* A timeout fires at its virtual deadline. */
        timed t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &timed_vt;
        int rc = 0;
        assert_rc(kr_runtime_block_on(rt, &t.base, &rc), 0);
        assert_rc(rc, KR_ELAPSED);
        kr_duration v = kr_instant_since(t.end, t.start);
        assert_true(v >= kr_ms(250) && v <= kr_ms(252));
        test_runtime_free(rt);
    }
}

/* The simulation's clock is the paused clock of kairo/time.h. */
typedef struct clock_probe {
    kr_future base;
    kr_coro co;
    kr_instant t0;
    kr_time_advance_fut adv;
    int rc;
} clock_probe;

static kr_poll clock_probe_poll(kr_future *f, kr_context *cx, void *out) {
    clock_probe *p = (clock_probe *)f;
    (void)out;
    KR_ASYNC_BEGIN(&p->co);
    assert_true(kr_time_is_paused());
    assert_rc(kr_time_pause(), KR_EALREADY);
    assert_rc(kr_time_resume(), KR_EOPNOTSUPP);
    p->t0 = kr_instant_now();
    p->adv = kr_time_advance(kr_secs(10));
    KR_AWAIT(&p->co, &p->adv.base, cx, &p->rc);
    assert_rc(p->rc, 0);
    assert_int_equal(kr_instant_since(kr_instant_now(), p->t0), kr_secs(10));
    KR_RETURN_VOID(&p->co);
    KR_ASYNC_END(&p->co);
}

static const kr_future_vtable clock_probe_vt = {
    clock_probe_poll, NULL, sizeof(clock_probe), 0, "clock_probe"};

static void sim_clock_is_the_paused_clock(void **state) {
    (void)state;
    kr_runtime *rt = sim_runtime(6);
    clock_probe p;
    memset(&p, 0, sizeof(p));
    p.base.vtable = &clock_probe_vt;
    assert_rc(kr_runtime_block_on(rt, &p.base, NULL), 0);
    test_runtime_free(rt);
    /* start_paused is accepted (it always is paused). */
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_SIMULATION;
    c.start_paused = true;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    test_runtime_free(rt);
}

/* ---- deadlock ------------------------------------------------------------- */

static void sim_deadlock_reported(void **state) {
    (void)state;
    kr_runtime *rt = sim_runtime(99);
    kr_future f = {&forever_vt};
    assert_rc(kr_runtime_block_on(rt, &f, NULL), KR_EDEADLK);
    /* The runtime stays usable. */
    napper n;
    memset(&n, 0, sizeof(n));
    n.base.vtable = &napper_vt;
    n.d = kr_ms(5);
    assert_rc(kr_runtime_block_on(rt, &n.base, NULL), 0);
    test_runtime_free(rt);
}

/* ---- the blocking pool, inline ---------------------------------------------- */

static pthread_t sim_thread;

static void *job(void *arg) {
    assert_true(pthread_equal(pthread_self(), sim_thread));
    return (void *)((uintptr_t)arg + 1);
}

typedef struct blocker {
    kr_future base;
    kr_coro co;
    kr_join_handle jh;
    void *res;
} blocker;

static kr_poll blocker_poll(kr_future *f, kr_context *cx, void *out) {
    blocker *b = (blocker *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    sim_thread = pthread_self();
    assert_rc(kr_spawn_blocking(job, (void *)(uintptr_t)41, &b->jh), 0);
    KR_AWAIT(&b->co, &b->jh.base, cx, &b->res);
    KR_RETURN_VOID(&b->co);
    KR_ASYNC_END(&b->co);
}

static const kr_future_vtable blocker_vt = {blocker_poll, NULL, sizeof(blocker),
                                            0, "blocker"};

static void sim_blocking_runs_inline(void **state) {
    (void)state;
    kr_runtime *rt = sim_runtime(5);
    blocker b;
    memset(&b, 0, sizeof(b));
    b.base.vtable = &blocker_vt;
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    assert_ptr_equal(b.res, (void *)(uintptr_t)42);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sim_same_seed_same_log),
    cmocka_unit_test(sim_different_seeds_differ),
    cmocka_unit_test(sim_env_seed),
    cmocka_unit_test(sim_api_misuse),
    cmocka_unit_test(sim_sleep_one_hour_is_instant),
    cmocka_unit_test(sim_timers_fire_in_order),
    cmocka_unit_test(sim_clock_is_the_paused_clock),
    cmocka_unit_test(sim_deadlock_reported),
    cmocka_unit_test(sim_blocking_runs_inline),
};

KR_TEST_MAIN(tests)
