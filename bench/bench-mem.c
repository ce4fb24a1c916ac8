/*
 * bench/bench-mem.c: mem/idle_task/N, the memory an idle task costs.
 *
 * Measured as a new user would: on a current-thread runtime, block_on
 * spawns IDLE_TASKS tasks whose future (N bytes, output none) returns
 * PENDING for ever, and waits until each has been polled once; the row is
 * the growth of the resident set over that, per task, less the N bytes of
 * the future itself: what the runtime adds around a future (task header,
 * allocator rounding and headers, queues). The Tokio peer measures its
 * own the same way (a `Future` of N bytes, std::future::pending's shape).
 *
 * Each repetition uses a fresh runtime; between repetitions the runtime is
 * freed and malloc_trim hands the freed pages back, so every repetition
 * starts from the same resident set. Unit: bytes per task; "REPS x
 * IDLE_TASKS" in the last column.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

/* The definition: a million tasks. */
#define IDLE_TASKS 1000000

static long polled; /* block_on's thread only: a current-thread runtime */

typedef struct {
    kr_future base;
    uint64_t first; /* 0 until the first poll */
} idle16;
typedef struct {
    kr_future base;
    uint64_t first;
    uint64_t pad[6];
} idle64;
_Static_assert(sizeof(idle16) == 16, "idle16 is 16 bytes");
_Static_assert(sizeof(idle64) == 64, "idle64 is 64 bytes");

static kr_poll idle_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    idle16 *i = (idle16 *)f; /* `first` is at the same offset in both */
    if (i->first == 0) {
        i->first = 1;
        polled++;
    }
    return KR_PENDING;
}
KR_FUTURE_VTABLE(idle16_vt, idle16, idle_poll, NULL, 0);
KR_FUTURE_VTABLE(idle64_vt, idle64, idle_poll, NULL, 0);

/* block_on: spawn them all, then yield until every one has run once. */
typedef struct {
    kr_future base;
    kr_coro co;
    const kr_future *proto;
    long i;
    kr_yield y;
} idle_main;

static kr_poll idle_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    idle_main *m = (idle_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < IDLE_TASKS; m->i++)
        BENCH_OK(kr_spawn(m->proto, NULL));
    while (polled < IDLE_TASKS) {
        m->y = kr_yield_now();
        KR_AWAIT(&m->co, &m->y.base, cx, NULL);
    }
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(idle_main_vt, idle_main, idle_main_poll, NULL, 0);

static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2)
        bench_fail("cannot read /proc/self/statm");
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void idle_task(const bench_cfg *cfg, const char *name,
                      const kr_future *proto) {
    double samples[64];
    int n = cfg->reps;
    for (int r = 0; r < n; r++) {
        kr_runtime *rt = NULL;
        BENCH_OK(kr_runtime_new(NULL, &rt));
        malloc_trim(0);
        long before = rss_bytes();
        polled = 0;
        idle_main m = {{&idle_main_vt}, KR_CORO_INIT, proto, 0, {{NULL}, 0}};
        BENCH_OK(kr_runtime_block_on(rt, &m.base, NULL));
        long after = rss_bytes();
        kr_runtime_free(rt); /* cancels (drops) every idle task */
        malloc_trim(0);
        samples[r] =
            (double)(after - before) / IDLE_TASKS - (double)proto->vtable->size;
    }
    qsort(samples, (size_t)n, sizeof(samples[0]), cmp_double);
    double median =
        n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2.0;
    printf("%s\t%.1f\t%.1f\t%.1f\tB/task\t%d x %d\n", name, median, samples[0],
           samples[n - 1], n, IDLE_TASKS);
    fflush(stdout);
}

void mem_idle_task_16(const bench_cfg *cfg, const char *name) {
    static const idle16 proto = {{&idle16_vt}, 0};
    idle_task(cfg, name, &proto.base);
}

void mem_idle_task_64(const bench_cfg *cfg, const char *name) {
    static const idle64 proto = {{&idle64_vt}, 0, {0}};
    idle_task(cfg, name, &proto.base);
}
