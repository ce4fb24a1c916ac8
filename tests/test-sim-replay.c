/*
 * The planted ordering bug (kairo/sim.h): a lost update between two tasks
 * that read-modify-write a counter across an await. The simulation finds
 * a failing seed by trying seeds, reports it, and replays it from
 * KAIRO_SEED twice with byte-identical event logs; the corrected program
 * passes every seed tried. Both in this process and through the example
 * program (examples/sim_lost_update.c), as a user would run it.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define SEEDS 200

static long counter;
static int fixed;

typedef struct incr {
    kr_future base;
    kr_coro co;
    int i;
    long seen;
    kr_yield y;
} incr;

static kr_poll incr_poll(kr_future *f, kr_context *cx, void *out) {
    incr *t = (incr *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < 3; t->i++) {
        t->seen = counter;
        if (kr_sim_random() % 16 == 0) {
            t->y = kr_yield_now();
            KR_AWAIT(&t->co, &t->y.base, cx, NULL);
        }
        if (fixed)
            counter++;
        else
            counter = t->seen + 1; /* the planted bug */
    }
    KR_RETURN_VOID(&t->co);
    KR_ASYNC_END(&t->co);
}

static const kr_future_vtable incr_vt = {incr_poll, NULL, sizeof(incr), 0,
                                         "incr"};

typedef struct pair {
    kr_future base;
    kr_join_handle h[2];
    int started, n;
} pair;

static kr_poll pair_poll(kr_future *f, kr_context *cx, void *out) {
    pair *p = (pair *)f;
    (void)out;
    if (!p->started) {
        p->started = 1;
        for (int i = 0; i < 2; i++) {
            incr t;
            memset(&t, 0, sizeof(t));
            t.base.vtable = &incr_vt;
            assert_rc(kr_spawn(&t.base, &p->h[i]), 0);
        }
    }
    for (; p->n < 2; p->n++) {
        if (kr_future_poll(&p->h[p->n].base, cx, NULL) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&p->h[p->n].base);
    }
    return KR_READY;
}

static const kr_future_vtable pair_vt = {pair_poll, NULL, sizeof(pair), 0,
                                         "pair"};

typedef struct outcome {
    bool failed;
    long counter;
    uint64_t seed, hash;
    char *log;
    size_t len;
} outcome;

/* One run; seed 0 takes KAIRO_SEED. */
static outcome run(uint64_t seed) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_SIMULATION;
    c.seed = seed;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    counter = 0;
    pair p;
    memset(&p, 0, sizeof(p));
    p.base.vtable = &pair_vt;
    assert_rc(kr_runtime_block_on(rt, &p.base, NULL), 0);
    outcome o;
    o.counter = counter;
    o.failed = counter != 6;
    assert_rc(kr_sim_seed(rt, &o.seed), 0);
    const char *d;
    assert_rc(kr_sim_log(rt, &d, &o.len, &o.hash), 0);
    o.log = malloc(o.len + 1);
    memcpy(o.log, d, o.len);
    o.log[o.len] = '\0';
    if (o.failed)
        assert_rc(kr_sim_report(rt, 2, "lost update"), 0);
    test_runtime_free(rt);
    return o;
}

static void sim_planted_bug_found_and_replayed(void **state) {
    (void)state;
    fixed = 0;
    outcome found = {0};
    uint64_t s;
    for (s = 1; s <= SEEDS; s++) {
        found = run(s);
        if (found.failed)
            break;
        free(found.log);
    }
    if (!found.failed)
        fail_msg("the lost update was not found in %d seeds", SEEDS);
    assert_int_equal(found.seed, s);
    assert_true(found.counter < 6);
    /* Replay from the reported seed, through the environment, twice. */
    char text[32];
    snprintf(text, sizeof(text), "%llu", (unsigned long long)found.seed);
    setenv("KAIRO_SEED", text, 1);
    for (int k = 0; k < 2; k++) {
        outcome r = run(0);
        assert_true(r.failed);
        assert_int_equal(r.seed, found.seed);
        assert_int_equal(r.counter, found.counter);
        assert_int_equal(r.len, found.len);
        assert_int_equal(r.hash, found.hash);
        assert_memory_equal(r.log, found.log, r.len);
        free(r.log);
    }
    unsetenv("KAIRO_SEED");
    free(found.log);
}

static void sim_fixed_version_passes_every_seed(void **state) {
    (void)state;
    fixed = 1;
    for (uint64_t s = 1; s <= SEEDS; s++) {
        outcome o = run(s);
        if (o.failed)
            fail_msg("seed %llu: counter %ld", (unsigned long long)s,
                     o.counter);
        free(o.log);
    }
    fixed = 0;
}

/* ---- through the example program ------------------------------------------ */

/* Runs the example with `seed` in KAIRO_SEED (0: none) and `arg`; returns
 * its exit status and its stdout in buf. */
static int run_example(uint64_t seed, const char *arg, char *buf, size_t size) {
    static const char path[] = KR_BIN_DIR "/sim_lost_update";
    if (access(path, X_OK) != 0)
        skip(); /* examples not built (KR_BUILD_EXAMPLES=OFF) */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        char text[32];
        if (seed != 0) {
            snprintf(text, sizeof(text), "%llu", (unsigned long long)seed);
            setenv("KAIRO_SEED", text, 1);
        } else {
            unsetenv("KAIRO_SEED");
        }
        execl(path, path, arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fds[0], buf + n, size - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void sim_example_finds_and_replays(void **state) {
    (void)state;
    static char search[1 << 16], a[4096], b[4096];
    assert_int_equal(run_example(0, "--fixed", search, sizeof(search)), 0);
    assert_non_null(strstr(search, "no failure in 200 seeds"));
    /* The search stops at the first failing seed and reports it. */
    assert_int_equal(run_example(0, NULL, search, sizeof(search)), 1);
    const char *rep = strstr(search, "replay with KAIRO_SEED=");
    assert_non_null(rep);
    uint64_t seed = strtoull(rep + strlen("replay with KAIRO_SEED="), NULL, 10);
    assert_true(seed >= 1);
    /* Twice from that seed: identical output, the log's hash included. */
    assert_int_equal(run_example(seed, NULL, a, sizeof(a)), 1);
    assert_int_equal(run_example(seed, NULL, b, sizeof(b)), 1);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "FAILED: lost update"));
    /* And it is the very run the search reported. */
    const char *nl = strchr(a, '\n');
    assert_non_null(nl);
    char line[160];
    snprintf(line, sizeof(line), "%.*s", (int)(nl - a), a);
    assert_non_null(strstr(search, line));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sim_planted_bug_found_and_replayed),
    cmocka_unit_test(sim_fixed_version_passes_every_seed),
    cmocka_unit_test(sim_example_finds_and_replays),
};

KR_TEST_MAIN(tests)
