/*
 * libuv-million-timers: libuv's benchmark-million-timers.c (reference/
 * c-peers.md §1.4) with kairo's constants and output, the libuv peer of
 * kairo-bench's timers/... rows (bench/bench-timers.c).
 *
 *     libuv-million-timers [--workers N] [filter...]
 *
 * 1,000,000 uv_timer_t on one loop; timer i (in registration order) gets the
 * timeout (k/1000 + 1) ms, k = i for seq_... and k = perm[i] for shuf_...,
 * where perm is the fixed shuffle kairo and the Tokio peer use (splitmix64
 * seeded with 0x6b6169726f, "kairo" in ASCII; Fisher-Yates from the top).
 * As in libuv's program the timeouts are relative to the loop time, cached
 * (uv_update_time) just before the first uv_timer_start.
 *
 *   init      uv_timer_init + uv_timer_start of all timers
 *   dispatch  end of init -> the last timer callback (inside uv_run)
 *   total     base -> the last timer callback
 *
 * libuv's own program also times a "cleanup" phase (closing the handles);
 * kairo has no equivalent (a fired sleep holds nothing), so it is not
 * reported. libuv's loop clock has 1 ms granularity (and on Linux reads
 * CLOCK_MONOTONIC_COARSE when that is fine enough), so its timers may fire
 * up to about a jiffy before base + timeout as measured with uv_hrtime;
 * kairo's and Tokio's round deadlines up instead.
 *
 * Rows (one loop, hence the _ct names; there is no multi-thread libuv):
 *   timers/{seq,shuf}_1000000_ct.{init,dispatch,total}
 * in kairo-bench's format: name<TAB>median<TAB>min<TAB>max<TAB>ns<TAB>REPS x 1,
 * ns per whole run; REPS from BENCH_REPS (default 7, at least 5), each run
 * on a fresh loop. --workers is accepted and ignored, so the three
 * programs share a command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define TIMERS_N            1000000
#define TIMERS_PER_MS       1000
#define TIMERS_SHUFFLE_SEED 0x6b6169726full

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void timers_shuffle(uint32_t *perm, uint32_t n) {
    uint64_t state = TIMERS_SHUFFLE_SEED;
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(splitmix64(&state) % ((uint64_t)i + 1));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static void die(const char *what, int rc) {
    fprintf(stderr, "libuv-million-timers: %s: %s\n", what,
            rc < 0 ? uv_strerror(rc) : "failed");
    exit(1);
}

#define UV_OK(call)                                                            \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ != 0)                                                          \
            die(#call, rc_);                                                   \
    } while (0)

static long fired;
static uint64_t t_last;

static void timer_cb(uv_timer_t *handle) {
    (void)handle;
    if (++fired == TIMERS_N)
        t_last = uv_hrtime();
}

static long closed;
static void close_cb(uv_handle_t *handle) {
    (void)handle;
    closed++;
}

/* One run on a fresh loop: res = init, dispatch, total (ns). The handles
 * are allocated before the clock starts, as in libuv's program, and freshly
 * for every run (a block this large is mmap'ed: its pages are first touched
 * during init, as in one run of libuv's program). */
static void run_once(const uint32_t *perm, double res[3]) {
    uv_timer_t *timers = malloc(sizeof(uv_timer_t) * TIMERS_N);
    if (timers == NULL)
        die("out of memory", 0);
    uv_loop_t loop;
    UV_OK(uv_loop_init(&loop));
    fired = 0;
    closed = 0;
    t_last = 0;

    uint64_t base = uv_hrtime();
    uv_update_time(&loop);
    for (uint32_t i = 0; i < TIMERS_N; i++) {
        uint32_t k = perm != NULL ? perm[i] : i;
        UV_OK(uv_timer_init(&loop, &timers[i]));
        UV_OK(uv_timer_start(&timers[i], timer_cb, k / TIMERS_PER_MS + 1, 0));
    }
    uint64_t t_init = uv_hrtime();
    UV_OK(uv_run(&loop, UV_RUN_DEFAULT));
    if (fired != TIMERS_N) {
        fprintf(stderr, "libuv-million-timers: %ld timers fired, expected %d\n",
                fired, TIMERS_N);
        exit(1);
    }
    res[0] = (double)(t_init - base);
    res[1] = (double)(t_last - t_init);
    res[2] = (double)(t_last - base);

    for (uint32_t i = 0; i < TIMERS_N; i++)
        uv_close((uv_handle_t *)&timers[i], close_cb);
    UV_OK(uv_run(&loop, UV_RUN_DEFAULT));
    if (closed != TIMERS_N)
        die("closing the timers", 0);
    UV_OK(uv_loop_close(&loop));
    free(timers);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_row(const char *name, const char *part, double *v, int n) {
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    printf("%s.%s\t%.0f\t%.0f\t%.0f\tns\t%d x 1\n", name, part, median, v[0],
           v[n - 1], n);
    fflush(stdout);
}

static int selected(char **filters, int n, const char *name) {
    static const char *const parts[] = {"init", "dispatch", "total"};
    if (n == 0)
        return 1;
    for (int p = 0; p < 3; p++) {
        char row[80];
        snprintf(row, sizeof(row), "%s.%s", name, parts[p]);
        for (int i = 0; i < n; i++)
            if (strstr(row, filters[i]) != NULL)
                return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    char **filters = calloc((size_t)argc, sizeof(char *));
    int nfilters = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0) {
            i++; /* no worker threads here */
        } else if (strncmp(argv[i], "--workers=", 10) == 0) {
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            printf("usage: libuv-million-timers [--workers N] [filter...]\n");
            return 0;
        } else if (strncmp(argv[i], "--", 2) == 0) {
            fprintf(stderr, "libuv-million-timers: unknown option %s\n",
                    argv[i]);
            return 2;
        } else {
            filters[nfilters++] = argv[i];
        }
    }
    int reps = 7;
    const char *env = getenv("BENCH_REPS");
    if (env != NULL && *env != '\0')
        reps = atoi(env);
    reps = reps < 5 ? 5 : reps > 63 ? 63 : reps;

    uint32_t *perm = malloc(sizeof(uint32_t) * TIMERS_N);
    if (perm == NULL)
        die("out of memory", 0);
    timers_shuffle(perm, TIMERS_N);

    static const struct {
        const char *name;
        int shuffled;
    } sets[] = {{"timers/seq_1000000_ct", 0}, {"timers/shuf_1000000_ct", 1}};
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        if (!selected(filters, nfilters, sets[s].name))
            continue;
        double init[64], dispatch[64], total[64];
        for (int r = 0; r < reps; r++) {
            double res[3];
            run_once(sets[s].shuffled ? perm : NULL, res);
            init[r] = res[0];
            dispatch[r] = res[1];
            total[r] = res[2];
        }
        print_row(sets[s].name, "init", init, reps);
        print_row(sets[s].name, "dispatch", dispatch, reps);
        print_row(sets[s].name, "total", total, reps);
    }
    free(perm);
    free(filters);
    return 0;
}
