/*
 * bench/bench-mt.c: the multi-thread benchmarks.
 *
 * mt/...: rt_multi_threaded.rs (reference/tokio.md §7.1), NUM_SPAWN =
 * 10,000, on a multi-thread runtime of --workers workers (Tokio's
 * NUM_WORKERS = 4 by default). remote_spawn/threads/N: remote_spawn.rs
 * (§7.4). spawn_blocking/concurrency/N: spawn_blocking.rs (§7.5). Each
 * benchmark builds a fresh runtime and frees it after.
 *
 * As in Tokio, block_on runs on the bench thread, which is not a worker, so
 * every spawn made directly inside block_on is a remote (inject) spawn.
 * Where Tokio blocks inside block_on on a std channel, the tasks here count
 * an atomic down and the last one sends on a kr_oneshot that the block_on
 * future awaits (bench_countdown).
 *
 * When the runtime cannot be created (the multi-thread flavor may be
 * missing: KR_ENOSYS), the benchmark prints no line, only a note on stderr.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static kr_runtime *mt_runtime(const bench_cfg *cfg, const char *name) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = cfg->workers;
    c.global_queue_interval = cfg->gqi; /* 0: the runtime's default */
    bench_observe_config(&c);
    kr_runtime *rt = NULL;
    int rc = kr_runtime_new(&c, &rt);
    if (rc != 0) {
        fprintf(stderr,
                "kairo-bench: %s: skipped: no multi-thread runtime "
                "with %u workers (kr_runtime_new: %s)\n",
                name, cfg->workers, kr_strerror(rc));
        return NULL;
    }
    return rt;
}

/* ---- countdown iterations ------------------------------------------------ */

/*
 * The block_on future of the countdown shape: makes the `done` oneshot,
 * calls `start` (which spawns the iteration's tasks), then awaits the
 * oneshot the last task sends on. Output: none.
 */
typedef struct countdown_wait {
    kr_future base;
    kr_coro co;
    bench_countdown *cd;
    void (*start)(bench_countdown *cd);
    kr_oneshot_rx *rx;
    kr_oneshot_recv recv;
    int rc;
} countdown_wait;

static kr_poll countdown_wait_poll(kr_future *f, kr_context *cx, void *out) {
    countdown_wait *w = (countdown_wait *)f;
    KR_ASYNC_BEGIN(&w->co);
    BENCH_OK(kr_oneshot_new(0, &w->cd->done, &w->rx));
    w->start(w->cd);
    w->recv = kr_oneshot_recv_future(w->rx, NULL);
    KR_AWAIT(&w->co, &w->recv.base, cx, &w->rc);
    BENCH_OK(w->rc);
    kr_oneshot_rx_drop(w->rx);
    w->rx = NULL;
    KR_ASYNC_END(&w->co);
}

static void countdown_wait_drop(kr_future *f) {
    kr_oneshot_rx_drop(((countdown_wait *)f)->rx);
}
KR_FUTURE_VTABLE(countdown_wait_vt, countdown_wait, countdown_wait_poll,
                 countdown_wait_drop, 0);

typedef struct countdown_bench {
    kr_runtime *rt;
    long tasks;
    void (*start)(bench_countdown *cd);
} countdown_bench;

static void countdown_iter(void *arg) {
    countdown_bench *b = arg;
    bench_countdown cd;
    /* Relaxed: block_on's spawns publish it to the tasks. */
    atomic_store_explicit(&cd.left, b->tasks, memory_order_relaxed);
    cd.done = NULL;
    countdown_wait w = {{&countdown_wait_vt},
                        KR_CORO_INIT,
                        &cd,
                        b->start,
                        NULL,
                        {{NULL}, NULL, NULL, 0},
                        -1};
    BENCH_OK(kr_runtime_block_on(b->rt, &w.base, NULL));
    /* Relaxed: the oneshot's receive ordered every decrement before us. */
    BENCH_CHECK_EQ("tasks left",
                   atomic_load_explicit(&cd.left, memory_order_relaxed), 0);
}

static void run_countdown(const bench_cfg *cfg, const char *name, long tasks,
                          void (*start)(bench_countdown *cd)) {
    countdown_bench b = {mt_runtime(cfg, name), tasks, start};
    if (b.rt == NULL)
        return;
    bench_measure(cfg, name, countdown_iter, &b);
    kr_runtime_free(b.rt);
}

/* ---- spawn_many ------------------------------------------------------ */

static void spawn_count_tasks(bench_countdown *cd) {
    bench_count_task t = bench_count_task_new(cd);
    for (int i = 0; i < MT_NUM_SPAWN; i++)
        BENCH_OK(kr_spawn(&t.base, NULL));
}

/* block_on: 10,000 spawns of a task that counts down; the last one signals
 * the oneshot block_on awaits. */
void mt_spawn_many_local(const bench_cfg *cfg, const char *name) {
    run_countdown(cfg, name, MT_NUM_SPAWN, spawn_count_tasks);
}

static void run_remote(const bench_cfg *cfg, const char *name, int n) {
    bench_spawn_set b = {mt_runtime(cfg, name), NULL, n};
    if (b.rt == NULL)
        return;
    b.handles = bench_handles_new(n);
    bench_measure(cfg, name, bench_remote_iter, &b);
    kr_runtime_free(b.rt);
    free(b.handles);
}

/* 10,000 spawns from outside the runtime, then block_on awaits them. */
void mt_spawn_many_remote_idle(const bench_cfg *cfg, const char *name) {
    run_remote(cfg, name, MT_NUM_SPAWN);
}

/*
 * The busy tasks. They read a flag the bench thread lowers when it is done;
 * the flag and the counter are static so that no task can outlive what it
 * points to. Relaxed: the flag only has to be seen eventually, and the
 * counter is read after the tasks have been joined or the runtime freed.
 */
static atomic_bool busy_running;
static atomic_long busy_polls;

/* busy1: `while running { yield_now().await; stall() }`. */
typedef struct busy_loop {
    kr_future base;
    kr_coro co;
    kr_yield y;
} busy_loop;

static kr_poll busy_loop_poll(kr_future *f, kr_context *cx, void *out) {
    busy_loop *b = (busy_loop *)f;
    KR_ASYNC_BEGIN(&b->co);
    while (atomic_load_explicit(&busy_running, memory_order_relaxed)) {
        b->y = kr_yield_now();
        KR_AWAIT(&b->co, &b->y.base, cx, NULL);
        bench_stall();
        atomic_fetch_add_explicit(&busy_polls, 1, memory_order_relaxed);
    }
    KR_ASYNC_END(&b->co);
}
KR_FUTURE_VTABLE(busy_loop_vt, busy_loop, busy_loop_poll, NULL, 0);

/* remote_idle's iteration while 2 x workers tasks loop on { yield; stall }
 * (Tokio: 8 with its 4 workers). */
void mt_spawn_many_remote_busy1(const bench_cfg *cfg, const char *name) {
    bench_spawn_set b = {mt_runtime(cfg, name), NULL, MT_NUM_SPAWN};
    if (b.rt == NULL)
        return;
    int nbusy = 2 * (int)cfg->workers;
    kr_join_handle *busy = bench_handles_new(nbusy);
    atomic_store_explicit(&busy_running, true, memory_order_relaxed);
    atomic_store_explicit(&busy_polls, 0, memory_order_relaxed);
    for (int i = 0; i < nbusy; i++) {
        busy_loop l = {{&busy_loop_vt}, KR_CORO_INIT, {{NULL}, 0}};
        BENCH_OK(kr_runtime_spawn(b.rt, &l.base, &busy[i]));
    }
    b.handles = bench_handles_new(MT_NUM_SPAWN);
    bench_measure(cfg, name, bench_remote_iter, &b);
    /* Stop the loops and wait for them, which also checks they ran. */
    atomic_store_explicit(&busy_running, false, memory_order_relaxed);
    bench_join_all all = bench_join_all_new(busy, nbusy);
    BENCH_OK(kr_runtime_block_on(b.rt, &all.base, NULL));
    if (atomic_load_explicit(&busy_polls, memory_order_relaxed) == 0)
        bench_fail("%s: the busy tasks never ran", name);
    kr_runtime_free(b.rt);
    free(b.handles);
    free(busy);
}

/* busy2: one link of a self-respawning chain: while running, stall, then
 * spawn the next link. */
static kr_poll busy_link_poll(kr_future *f, kr_context *cx, void *out) {
    if (atomic_load_explicit(&busy_running, memory_order_relaxed)) {
        bench_stall();
        atomic_fetch_add_explicit(&busy_polls, 1, memory_order_relaxed);
        int rc = kr_spawn(f, NULL); /* a copy of ourselves */
        if (rc != 0 && rc != KR_ESHUTDOWN)
            bench_fail("busy chain: kr_spawn returned %s", kr_err_name(rc));
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(busy_link_vt, kr_future, busy_link_poll, NULL, 0);

/* 1,000 remote spawns plus awaits while `workers` self-respawning chains of
 * stalling tasks keep the runtime busy (Tokio: 4). */
void mt_spawn_many_remote_busy2(const bench_cfg *cfg, const char *name) {
    bench_spawn_set b = {mt_runtime(cfg, name), NULL, MT_BUSY2_NUM_SPAWN};
    if (b.rt == NULL)
        return;
    atomic_store_explicit(&busy_running, true, memory_order_relaxed);
    atomic_store_explicit(&busy_polls, 0, memory_order_relaxed);
    kr_future link = {&busy_link_vt};
    for (unsigned i = 0; i < cfg->workers; i++)
        BENCH_OK(kr_runtime_spawn(b.rt, &link, NULL));
    b.handles = bench_handles_new(MT_BUSY2_NUM_SPAWN);
    bench_measure(cfg, name, bench_remote_iter, &b);
    /* Each chain ends at its next link; freeing cancels what is queued. */
    atomic_store_explicit(&busy_running, false, memory_order_relaxed);
    kr_runtime_free(b.rt);
    if (atomic_load_explicit(&busy_polls, memory_order_relaxed) == 0)
        bench_fail("%s: the busy chains never ran", name);
    free(b.handles);
}

/* ---- ping_pong, yield_many, chained_spawn -------------------------------- */

/* The one task block_on spawns: it spawns the 1000 ping/pong parents. */
typedef struct pp_spawner {
    kr_future base;
    bench_countdown *cd;
} pp_spawner;

static kr_poll pp_spawner_poll(kr_future *f, kr_context *cx, void *out) {
    bench_ping_pong p = bench_ping_pong_new(((pp_spawner *)f)->cd);
    for (int i = 0; i < NUM_PINGS; i++)
        BENCH_OK(kr_spawn(&p.base, NULL));
    return KR_READY;
}
KR_FUTURE_VTABLE(pp_spawner_vt, pp_spawner, pp_spawner_poll, NULL, 0);

static void spawn_pp_spawner(bench_countdown *cd) {
    pp_spawner s = {{&pp_spawner_vt}, cd};
    BENCH_OK(kr_spawn(&s.base, NULL));
}

/* block_on spawns one task, which spawns 1000 ping/pong parents; each
 * counts down once its pong is back. 2001 spawns, 2000 oneshots. */
void mt_ping_pong(const bench_cfg *cfg, const char *name) {
    run_countdown(cfg, name, NUM_PINGS, spawn_pp_spawner);
}

typedef struct yield_bench {
    kr_runtime *rt;
    kr_join_handle handles[YIELD_TASKS];
} yield_bench;

/* 200 spawns from outside of 1000-yield tasks, then block_on awaits them
 * (Tokio's bench thread receives 200 times on a std channel instead). */
static void yield_many_iter(void *arg) {
    yield_bench *b = arg;
    bench_yield_loop y = bench_yield_loop_new();
    for (int i = 0; i < YIELD_TASKS; i++)
        BENCH_OK(kr_runtime_spawn(b->rt, &y.base, &b->handles[i]));
    bench_join_all all = bench_join_all_new(b->handles, YIELD_TASKS);
    BENCH_OK(kr_runtime_block_on(b->rt, &all.base, NULL));
    BENCH_CHECK_EQ("yields", all.sum, (long long)YIELD_TASKS * NUM_YIELD);
}

void mt_yield_many(const bench_cfg *cfg, const char *name) {
    yield_bench *b = calloc(1, sizeof(*b));
    if (b == NULL)
        bench_fail("out of memory");
    b->rt = mt_runtime(cfg, name);
    if (b->rt != NULL) {
        bench_measure(cfg, name, yield_many_iter, b);
        kr_runtime_free(b->rt);
    }
    free(b);
}

void mt_chained_spawn(const bench_cfg *cfg, const char *name) {
    kr_runtime *rt = mt_runtime(cfg, name);
    if (rt == NULL)
        return;
    bench_measure(cfg, name, bench_chained_spawn_iter, rt);
    kr_runtime_free(rt);
}

/* ---- remote_spawn ---------------------------------------------------- */

typedef struct spawner {
    pthread_t thread;
    kr_runtime *rt;
    pthread_barrier_t *barrier;
    kr_join_handle *handles;
    int n;
} spawner;

static void *spawner_main(void *arg) {
    spawner *s = arg;
    kr_future f = bench_empty_task();
    pthread_barrier_wait(s->barrier);
    for (int i = 0; i < s->n; i++)
        BENCH_OK(kr_runtime_spawn(s->rt, &f, &s->handles[i]));
    return NULL;
}

typedef struct remote_bench {
    kr_runtime *rt;
    int threads;
    kr_join_handle *handles;
    spawner *spawners;
} remote_bench;

/*
 * Timed, per iteration: start the threads, which meet at a barrier and
 * each spawn REMOTE_TOTAL_TASKS / threads empty tasks keeping the handles;
 * join them. Untimed: block_on awaits all the handles.
 */
static uint64_t remote_spawn_run(void *arg, uint64_t iters) {
    remote_bench *b = arg;
    int per = REMOTE_TOTAL_TASKS / b->threads;
    uint64_t timed = 0;
    for (uint64_t it = 0; it < iters; it++) {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, (unsigned)b->threads);
        uint64_t start = bench_now_ns();
        for (int i = 0; i < b->threads; i++) {
            spawner *s = &b->spawners[i];
            *s = (spawner){0, b->rt, &barrier, b->handles + i * per, per};
            if (pthread_create(&s->thread, NULL, spawner_main, s) != 0)
                bench_fail("pthread_create failed");
        }
        for (int i = 0; i < b->threads; i++)
            pthread_join(b->spawners[i].thread, NULL);
        timed += bench_now_ns() - start;
        pthread_barrier_destroy(&barrier);
        bench_join_all all = bench_join_all_new(b->handles, per * b->threads);
        BENCH_OK(kr_runtime_block_on(b->rt, &all.base, NULL));
        BENCH_CHECK_EQ("tasks joined", all.i, REMOTE_TOTAL_TASKS);
    }
    return timed;
}

void remote_spawn(const bench_cfg *cfg, const char *name, int threads) {
    remote_bench b = {mt_runtime(cfg, name), threads, NULL, NULL};
    if (b.rt == NULL)
        return;
    b.handles = bench_handles_new(REMOTE_TOTAL_TASKS);
    b.spawners = calloc((size_t)threads, sizeof(spawner));
    if (b.spawners == NULL)
        bench_fail("out of memory");
    bench_measure_custom(cfg, name, remote_spawn_run, &b);
    kr_runtime_free(b.rt);
    free(b.handles);
    free(b.spawners);
}

/* ---- spawn_blocking -------------------------------------------------- */

/* `|| black_box(0)`: the result goes through the join handle, which the
 * compiler cannot see through. */
static void *blocking_zero(void *arg) { return arg; }

/* One of the N tasks: NUM_BATCHES times, spawn BATCH_SIZE blocking jobs
 * and join them all (Tokio: a JoinSet per batch and join_all; the handles
 * are joined in spawn order here, all of them before the next batch, which
 * is the same work). Output: none. */
typedef struct blocking_batches {
    kr_future base;
    kr_coro co;
    int batch, i;
    void *r;
    kr_join_handle h[BATCH_SIZE];
} blocking_batches;

static kr_poll blocking_batches_poll(kr_future *f, kr_context *cx, void *out) {
    blocking_batches *b = (blocking_batches *)f;
    KR_ASYNC_BEGIN(&b->co);
    for (b->batch = 0; b->batch < NUM_BATCHES; b->batch++) {
        for (b->i = 0; b->i < BATCH_SIZE; b->i++)
            BENCH_OK(kr_spawn_blocking(blocking_zero, NULL, &b->h[b->i]));
        for (b->i = 0; b->i < BATCH_SIZE; b->i++) {
            b->r = (void *)1;
            KR_AWAIT(&b->co, &b->h[b->i].base, cx, &b->r);
            BENCH_OK(kr_join_handle_error(&b->h[b->i]));
            if (b->r != NULL)
                bench_fail("spawn_blocking: a job returned %p", b->r);
        }
    }
    KR_ASYNC_END(&b->co);
}

static void blocking_batches_drop(kr_future *f) {
    blocking_batches *b = (blocking_batches *)f;
    for (; b->i < BATCH_SIZE; b->i++) /* joined handles are empty: no-ops */
        kr_join_handle_drop(&b->h[b->i]);
}
KR_FUTURE_VTABLE(blocking_batches_vt, blocking_batches, blocking_batches_poll,
                 blocking_batches_drop, 0);

typedef struct blocking_bench {
    kr_runtime *rt;
    int concurrency;
    kr_join_handle *handles;
} blocking_bench;

/* One iteration: spawn the N tasks (from the bench thread: remote spawns,
 * as Tokio's from inside block_on are), then block_on joins them. */
static void spawn_blocking_iter(void *arg) {
    blocking_bench *b = arg;
    blocking_batches t = {{&blocking_batches_vt}, KR_CORO_INIT, 0, 0, NULL,
                          {{{NULL}, NULL, 0, 0}}};
    for (int i = 0; i < b->concurrency; i++)
        BENCH_OK(kr_runtime_spawn(b->rt, &t.base, &b->handles[i]));
    bench_join_all all = bench_join_all_new(b->handles, b->concurrency);
    BENCH_OK(kr_runtime_block_on(b->rt, &all.base, NULL));
    BENCH_CHECK_EQ("tasks joined", all.i, b->concurrency);
}

void spawn_blocking_bench(const bench_cfg *cfg, const char *name,
                          int concurrency) {
    blocking_bench b = {mt_runtime(cfg, name), concurrency, NULL};
    if (b.rt == NULL)
        return;
    b.handles = bench_handles_new(concurrency);
    bench_measure(cfg, name, spawn_blocking_iter, &b);
    kr_runtime_free(b.rt);
    free(b.handles);
}
