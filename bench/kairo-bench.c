/*
 * kairo-bench: Tokio's runtime benchmarks on kairo.
 *
 *     kairo-bench [--workers N] [--observe ROUNDS] [filter...]
 *
 * A benchmark runs when its name contains any of the filters (all of them
 * when there is none); a filter ending in '$' matches only the name that
 * equals the rest (mpsc/contention_bounded$). --workers N (default 4, Tokio's NUM_WORKERS) is the
 * worker count of the multi-thread runtimes. One line per benchmark on
 * stdout, flushed as it is printed:
 *
 *     name<TAB>median<TAB>min<TAB>max<TAB>ns/iter<TAB>REPS x ITERS
 *
 * where an iteration is what Tokio's benchmark of that name times once, and
 * median/min/max are taken over REPS repetitions of ITERS iterations each.
 * The timers/... rows (libuv's million_timers, bench-timers.c) are the
 * exception: unit ns per whole run, "REPS x 1", each run on a fresh runtime.
 * So are the mem/idle_task/N rows (bench-mem.c): unit B/task, resident
 * bytes per idle task beyond its N-byte future, "REPS x 1000000".
 *
 * Environment: BENCH_TARGET_MS (default 100), the wall time one repetition
 * aims for; BENCH_REPS (default 7, at least 5); BENCH_ITERS (default 0:
 * off), run exactly that many iterations once, without warm-up (for
 * instruction counts: bench/instructions.sh); BENCH_OBSERVE=1 runs the
 * rows with observability on, BENCH_OBSERVE_MASK which parts (see
 * bench_observe_config; bench/observe.sh).
 *
 * The Tokio peer (bench/peers/tokio) has the same names, command line,
 * output and timing loop; bench/compare.sh runs both.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define DEFAULT_TARGET_MS 100
#define DEFAULT_REPS      7
/* Fewer repetitions make the median little better than one sample. */
#define MIN_REPS          5

uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_fail(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("kairo-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- --observe ---------------------------------------------------------- */

int bench_observe;

/* What "on" turns on: all of it unless BENCH_OBSERVE_MASK picks a part
 * (bench/observe.sh's per-feature columns): 1 poll-time histogram, 2
 * schedule-latency histogram, 4 slow-poll detection, 8 blocked-worker
 * detection. */
static unsigned observe_mask = 15;
/* The histograms' kr_histogram_config.sample (BENCH_OBSERVE_SAMPLE; 0:
 * the default, 1: exact). */
static unsigned observe_sample;

void bench_observe_config(kr_runtime_config *c) {
    if (!bench_observe)
        return;
    /* 1 us doubling to ~16 s: every poll lands in a bucket. */
    kr_histogram_config h = {24, KR_HISTOGRAM_LOG2, 1000, observe_sample};
    if (observe_mask & 1)
        c->poll_histogram = h;
    if (observe_mask & 2)
        c->sched_latency_histogram = h;
    if (observe_mask & 4)
        c->slow_poll_ns = 1000000000; /* 1 s: on, never reached */
    if (observe_mask & 8)
        c->blocked_worker_ns = 2000000000; /* 2 s */
}

/* ---- timing loop ------------------------------------------------------ */

typedef struct loop_arg {
    void (*iter)(void *arg);
    void *arg;
} loop_arg;

/* Runs `iters` iterations back to back; all of their time counts. */
static uint64_t run_loop(void *p, uint64_t iters) {
    loop_arg *l = p;
    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++)
        l->iter(l->arg);
    return bench_now_ns() - start;
}

void bench_measure(const bench_cfg *cfg, const char *name,
                   void (*iter)(void *arg), void *arg) {
    loop_arg l = {iter, arg};
    bench_measure_custom(cfg, name, run_loop, &l);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * Warm-up doubles the iteration count until one batch takes a quarter of
 * the target (or a whole target of wall time has gone by); the last batch's
 * time per iteration then sets ITERS so that one repetition takes about the
 * target. This is the peer's loop, step for step, so that both programs
 * measure alike.
 */
void bench_measure_custom(const bench_cfg *cfg, const char *name,
                          uint64_t (*run)(void *arg, uint64_t iters),
                          void *arg) {
    if (cfg->fixed_iters != 0) {
        /* BENCH_ITERS: exactly that many iterations, once, no warm-up, so
         * that an instruction count (bench/instructions.sh) covers a known
         * number of them. */
        uint64_t n = cfg->fixed_iters;
        double per = (double)run(arg, n) / (double)n;
        printf("%s\t%.1f\t%.1f\t%.1f\tns/iter\t1 x %llu\n", name, per, per, per,
               (unsigned long long)n);
        fflush(stdout);
        return;
    }
    uint64_t warm_start = bench_now_ns();
    uint64_t iters = 1, spent;
    for (;;) {
        spent = run(arg, iters);
        if (spent >= cfg->target_ns / 4 ||
            bench_now_ns() - warm_start >= cfg->target_ns)
            break;
        iters *= 2;
    }
    double per_iter = (double)spent / (double)iters;
    if (per_iter < 1.0)
        per_iter = 1.0;
    double want = (double)cfg->target_ns / per_iter + 0.5;
    iters = want < 1.0 ? 1 : (uint64_t)want;

    double samples[64];
    int n = cfg->reps;
    for (int r = 0; r < n; r++)
        samples[r] = (double)run(arg, iters) / (double)iters;
    qsort(samples, (size_t)n, sizeof(samples[0]), cmp_double);
    double median =
        n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2.0;
    printf("%s\t%.1f\t%.1f\t%.1f\tns/iter\t%d x %llu\n", name, median,
           samples[0], samples[n - 1], n, (unsigned long long)iters);
    fflush(stdout);
}

/* ---- command line ----------------------------------------------------- */

static const struct {
    const char *name;
    bench_fn *fn;
} benches[] = {
    {"ct/spawn_many_local", ct_spawn_many_local},
    {"ct/spawn_many_remote_idle", ct_spawn_many_remote_idle},
    {"ct/spawn_many_remote_busy", ct_spawn_many_remote_busy},
    {"ct/ping_pong", ct_ping_pong},
    {"ct/yield_many", ct_yield_many},
    {"ct/chained_spawn", ct_chained_spawn},
    {"mt/spawn_many_local", mt_spawn_many_local},
    {"mt/spawn_many_remote_idle", mt_spawn_many_remote_idle},
    {"mt/spawn_many_remote_busy1", mt_spawn_many_remote_busy1},
    {"mt/spawn_many_remote_busy2", mt_spawn_many_remote_busy2},
    {"mt/ping_pong", mt_ping_pong},
    {"mt/yield_many", mt_yield_many},
    {"mt/chained_spawn", mt_chained_spawn},
    {"mem/idle_task/16", mem_idle_task_16},
    {"mem/idle_task/64", mem_idle_task_64},
    {"copy/mem_to_mem", copy_mem_to_mem},
    {"copy/chunk_to_mem", copy_chunk_to_mem},
    {"copy/mem_to_slow_hdd", copy_mem_to_slow_hdd},
    {"copy/chunk_to_slow_hdd", copy_chunk_to_slow_hdd},
    {"fs/async_read_std_file", fs_async_read_std_file},
    {"fs/async_read_buf", fs_async_read_buf},
    {"fs/async_read_codec", fs_async_read_codec},
    {"fs/sync_read", fs_sync_read},
    {"fs/async_read_file", fs_async_read_file},
    {"fs/async_read_file_ct", fs_async_read_file_ct},
    {"signal/many_signals", signal_many_signals},
    {"process/spawn_wait", process_spawn_wait},
    {"compose/select2_biased", compose_select2_biased},
    {"compose/select2_fair", compose_select2_fair},
    {"compose/select2_yield", compose_select2_yield},
    {"compose/join4", compose_join4},
    {"compose/join4_yield", compose_join4_yield},
    {"compose/join_set_1000", compose_join_set_1000},
    {"mpsc/create_medium/1", mpsc_create_medium_1},
    {"mpsc/create_medium/100", mpsc_create_medium_100},
    {"mpsc/create_medium/100000", mpsc_create_medium_100000},
    {"mpsc/send_medium_1000", mpsc_send_medium_1000},
    {"mpsc/send_large_1000", mpsc_send_large_1000},
    {"mpsc/contention_bounded", mpsc_contention_bounded},
    {"mpsc/contention_bounded_recv_many", mpsc_contention_bounded_recv_many},
    {"mpsc/contention_bounded_full", mpsc_contention_bounded_full},
    {"mpsc/contention_bounded_full_recv_many",
     mpsc_contention_bounded_full_recv_many},
    {"mpsc/contention_unbounded", mpsc_contention_unbounded},
    {"mpsc/contention_unbounded_recv_many",
     mpsc_contention_unbounded_recv_many},
    {"mpsc/uncontented_bounded", mpsc_uncontented_bounded},
    {"mpsc/uncontented_bounded_recv_many", mpsc_uncontented_bounded_recv_many},
    {"mpsc/uncontented_unbounded", mpsc_uncontented_unbounded},
    {"mpsc/uncontented_unbounded_recv_many",
     mpsc_uncontented_unbounded_recv_many},
    {"mpsc_oneshot/request_reply_ct", mpsc_oneshot_request_reply_ct},
    {"mpsc_oneshot/request_reply_mt1", mpsc_oneshot_request_reply_mt1},
    {"semaphore/uncontended", semaphore_uncontended},
    {"semaphore/uncontended_concurrent_multi",
     semaphore_uncontended_concurrent_multi},
    {"semaphore/uncontended_concurrent_single",
     semaphore_uncontended_concurrent_single},
    {"semaphore/contended_concurrent_multi",
     semaphore_contended_concurrent_multi},
    {"semaphore/contended_concurrent_single",
     semaphore_contended_concurrent_single},
    {"rwlock/uncontended_read", rwlock_uncontended_read},
    {"rwlock/uncontended_read_concurrent", rwlock_uncontended_read_concurrent},
    {"rwlock/uncontended_read_concurrent_multi",
     rwlock_uncontended_read_concurrent_multi},
    {"rwlock/contended_read_concurrent", rwlock_contended_read_concurrent},
    {"rwlock/contended_read_concurrent_multi",
     rwlock_contended_read_concurrent_multi},
};

/* remote_spawn.rs runs 1..64 threads capped at the CPU count; we keep the
 * three counts the peer runs, so every machine prints the same rows. The
 * same for spawn_blocking.rs's concurrency. */
static const int remote_threads[] = {1, 2, 4};
static const int blocking_concurrency[] = {1, 2, 4};

/* libuv's million_timers (bench-timers.c): one entry prints three rows,
 * name.init, name.dispatch and name.total. */
static const struct {
    const char *name;
    int shuffled, mt;
} timer_benches[] = {
    {"timers/seq_1000000_ct", 0, 0},
    {"timers/seq_1000000_mt", 0, 1},
    {"timers/shuf_1000000_ct", 1, 0},
    {"timers/shuf_1000000_mt", 1, 1},
};

static void usage(const char *msg, const char *arg) {
    fprintf(stderr,
            "kairo-bench: %s%s\nusage: kairo-bench [--workers N] "
            "[filter...]\n",
            msg, arg);
    exit(2);
}

static long env_number(const char *key, long def) {
    const char *v = getenv(key);
    if (v == NULL || *v == '\0')
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0) {
        fprintf(stderr, "kairo-bench: ignoring %s=\"%s\" (not a number)\n", key,
                v);
        return def;
    }
    return n;
}

static unsigned parse_workers(const char *s) {
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || n <= 0 || n > 4096)
        usage("--workers needs a positive integer", "");
    return (unsigned)n;
}

static int selected(char **filters, int nfilters, const char *name) {
    if (nfilters == 0)
        return 1;
    for (int i = 0; i < nfilters; i++) {
        size_t n = strlen(filters[i]);
        if (n > 0 && filters[i][n - 1] == '$') {
            if (strlen(name) == n - 1 && strncmp(name, filters[i], n - 1) == 0)
                return 1;
        } else if (strstr(name, filters[i]) != NULL) {
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_cfg cfg = {.workers = BENCH_DEFAULT_WORKERS, .reps = DEFAULT_REPS};
    char **filters = calloc((size_t)argc, sizeof(char *));
    int nfilters = 0, observe_rounds = 0;
    if (filters == NULL)
        bench_fail("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--workers") == 0) {
            if (++i == argc)
                usage("--workers needs a positive integer", "");
            cfg.workers = parse_workers(argv[i]);
        } else if (strcmp(a, "--gqi") == 0) {
            if (++i >= argc)
                usage("--gqi needs a positive integer", "");
            cfg.gqi = parse_workers(argv[i]); /* same syntax */
        } else if (strcmp(a, "--observe") == 0) {
            if (++i >= argc)
                usage("--observe needs a positive integer (rounds)", "");
            observe_rounds = (int)parse_workers(argv[i]); /* same syntax */
        } else if (strncmp(a, "--workers=", 10) == 0) {
            cfg.workers = parse_workers(a + 10);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: kairo-bench [--workers N] [--gqi N] "
                   "[--observe ROUNDS] [filter...]\n");
            return 0;
        } else if (strncmp(a, "--", 2) == 0) {
            usage("unknown option ", a);
        } else {
            filters[nfilters++] = argv[i];
        }
    }
    long reps = env_number("BENCH_REPS", DEFAULT_REPS);
    cfg.reps = (int)(reps < MIN_REPS ? MIN_REPS : reps > 63 ? 63 : reps);
    long ms = env_number("BENCH_TARGET_MS", DEFAULT_TARGET_MS);
    cfg.target_ns = (uint64_t)(ms < 1 ? 1 : ms) * 1000000u;
    cfg.fixed_iters = (uint64_t)env_number("BENCH_ITERS", 0);
    /* BENCH_OBSERVE=1: run the rows with observability on (as --observe's
     * "+obs" runs), for bench/observe.sh's instruction counts. */
    bench_observe = env_number("BENCH_OBSERVE", 0) != 0;
    observe_mask = (unsigned)env_number("BENCH_OBSERVE_MASK", 15);
    observe_sample = (unsigned)env_number("BENCH_OBSERVE_SAMPLE", 0);

    if (observe_rounds > 0) {
        /* Metrics and histograms off vs on, same process, interleaved:
         * each selected ct/ and mt/ row runs off then on (name+obs),
         * round after round; bench/observe.sh makes the table. */
        for (int r = 0; r < observe_rounds; r++) {
            for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
                const char *n = benches[i].name;
                if ((strncmp(n, "ct/", 3) != 0 && strncmp(n, "mt/", 3) != 0) ||
                    !selected(filters, nfilters, n))
                    continue;
                char on[96];
                snprintf(on, sizeof(on), "%s+obs", n);
                bench_observe = 0;
                benches[i].fn(&cfg, n);
                bench_observe = 1;
                benches[i].fn(&cfg, on);
                bench_observe = 0;
            }
        }
        free(filters);
        return 0;
    }
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
        if (selected(filters, nfilters, benches[i].name))
            benches[i].fn(&cfg, benches[i].name);
    static const int notify_waiters[] = {10, 50, 100, 200, 500};
    for (int all = 0; all < 2; all++) {
        for (size_t i = 0; i < sizeof(notify_waiters) / sizeof(int); i++) {
            char name[64];
            snprintf(name, sizeof(name), "notify/%s/%d",
                     all ? "notify_waiters" : "notify_one", notify_waiters[i]);
            if (selected(filters, nfilters, name))
                notify_bench(&cfg, name, notify_waiters[i], all);
        }
    }
    static const size_t fanout_receivers[] = {10, 100, 500, 1000};
    for (int watch = 0; watch < 2; watch++) {
        for (size_t i = 0; i < sizeof(fanout_receivers) / sizeof(size_t); i++) {
            char name[64];
            snprintf(name, sizeof(name), "%s/%zu",
                     watch ? "watch/contention_resubscribe"
                           : "broadcast/contention",
                     fanout_receivers[i]);
            if (!selected(filters, nfilters, name))
                continue;
            if (watch)
                watch_contention_resubscribe(&cfg, name, fanout_receivers[i]);
            else
                broadcast_contention(&cfg, name, fanout_receivers[i]);
        }
    }
    for (size_t i = 0; i < sizeof(remote_threads) / sizeof(int); i++) {
        char name[64];
        snprintf(name, sizeof(name), "remote_spawn/threads/%d",
                 remote_threads[i]);
        if (selected(filters, nfilters, name))
            remote_spawn(&cfg, name, remote_threads[i]);
    }
    for (size_t i = 0; i < sizeof(blocking_concurrency) / sizeof(int); i++) {
        char name[64];
        snprintf(name, sizeof(name), "spawn_blocking/concurrency/%d",
                 blocking_concurrency[i]);
        if (selected(filters, nfilters, name))
            spawn_blocking_bench(&cfg, name, blocking_concurrency[i]);
    }
    for (size_t i = 0; i < sizeof(timer_benches) / sizeof(timer_benches[0]);
         i++) {
        static const char *const parts[] = {"init", "dispatch", "total"};
        int any = 0;
        for (int p = 0; p < 3 && !any; p++) {
            char name[80];
            snprintf(name, sizeof(name), "%s.%s", timer_benches[i].name,
                     parts[p]);
            any = selected(filters, nfilters, name);
        }
        if (any)
            timers_bench(&cfg, timer_benches[i].name, timer_benches[i].shuffled,
                         timer_benches[i].mt);
    }
    free(filters);
    return 0;
}
