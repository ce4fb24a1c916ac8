/*
 * bench/bench-ct.c: the current-thread benchmarks.
 *
 * ct/spawn_many_*: rt_current_thread.rs (reference/tokio.md §7.2), with
 * NUM_SPAWN = 1000 on a current-thread runtime.
 * ct/ping_pong, ct/yield_many, ct/chained_spawn: rt_multi_threaded.rs's
 * definitions (§7.1) run on a current-thread runtime. Where Tokio blocks on
 * a std channel (which would deadlock a current-thread runtime), block_on
 * awaits join handles or a oneshot instead, exactly as the Tokio peer does.
 *
 * Each benchmark makes one runtime, runs all its iterations on it and frees
 * it after, as the peer does with Tokio's.
 */
#include <stdlib.h>

#include "bench.h"

static kr_runtime *ct_runtime(void) {
    kr_runtime *rt = NULL;
    kr_runtime_config c = kr_runtime_config_default(); /* current-thread */
    bench_observe_config(&c);
    BENCH_OK(kr_runtime_new(&c, &rt));
    return rt;
}

/*
 * The block_on future of the "spawn, then await every handle" shape: n
 * calls of `spawn`, each of which spawns one task with kr_spawn (a local
 * spawn: block_on runs the current-thread core) into the handle it is
 * given, then every handle is awaited. Output: none; `all.sum` adds up the
 * tasks' int outputs.
 */
typedef struct spawn_join {
    kr_future base;
    kr_coro co;
    void (*spawn)(kr_join_handle *h);
    kr_join_handle *handles;
    int n, i;
    bench_join_all all;
} spawn_join;

static kr_poll spawn_join_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_join *s = (spawn_join *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++)
        s->spawn(&s->handles[s->i]);
    s->all = bench_join_all_new(s->handles, s->n);
    KR_AWAIT(&s->co, &s->all.base, cx, NULL);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spawn_join_vt, spawn_join, spawn_join_poll, NULL, 0);

typedef struct ct_bench {
    bench_spawn_set set;
    void (*spawn)(kr_join_handle *h);
    long long want_sum;
} ct_bench;

/* One iteration of the local shape: block_on { spawn n; await n }. */
static void spawn_join_iter(void *arg) {
    ct_bench *b = arg;
    spawn_join s = {{&spawn_join_vt},
                    KR_CORO_INIT,
                    b->spawn,
                    b->set.handles,
                    b->set.n,
                    0,
                    {{NULL}, KR_CORO_INIT, NULL, 0, 0, 0, 0}};
    BENCH_OK(kr_runtime_block_on(b->set.rt, &s.base, NULL));
    BENCH_CHECK_EQ("tasks joined", s.all.i, b->set.n);
    BENCH_CHECK_EQ("sum of outputs", s.all.sum, b->want_sum);
}

static void run_spawn_join(const bench_cfg *cfg, const char *name, int n,
                           void (*spawn)(kr_join_handle *h),
                           long long want_sum) {
    ct_bench b = {{ct_runtime(), bench_handles_new(n), n}, spawn, want_sum};
    bench_measure(cfg, name, spawn_join_iter, &b);
    kr_runtime_free(b.set.rt);
    free(b.set.handles);
}

/* ---- spawn_many ------------------------------------------------------ */

static void spawn_empty(kr_join_handle *h) {
    kr_future f = bench_empty_task();
    BENCH_OK(kr_spawn(&f, h));
}

/* block_on { 1000 x spawn(async {}) into a Vec; await each }. */
void ct_spawn_many_local(const bench_cfg *cfg, const char *name) {
    run_spawn_join(cfg, name, CT_NUM_SPAWN, spawn_empty, 0);
}

/* 1000 x rt.spawn(async {}) from outside, then block_on awaits them all. */
void ct_spawn_many_remote_idle(const bench_cfg *cfg, const char *name) {
    bench_spawn_set b = {ct_runtime(), bench_handles_new(CT_NUM_SPAWN),
                         CT_NUM_SPAWN};
    bench_measure(cfg, name, bench_remote_iter, &b);
    kr_runtime_free(b.rt);
    free(b.handles);
}

/* `fn iter() { spawn(async { iter() }) }`: each poll spawns the next copy
 * and completes, so the run queue is never empty while block_on runs. */
typedef struct respawn {
    kr_future base;
    long *count;
} respawn;

static kr_poll respawn_poll(kr_future *f, kr_context *cx, void *out) {
    respawn *r = (respawn *)f;
    int rc = kr_spawn(&r->base, NULL); /* a copy of ourselves */
    if (rc != 0 && rc != KR_ESHUTDOWN)
        bench_fail("respawn: kr_spawn returned %s", kr_err_name(rc));
    ++*r->count;
    return KR_READY;
}
KR_FUTURE_VTABLE(respawn_vt, respawn, respawn_poll, NULL, 0);

/* remote_idle's iteration with the self-respawning task running. */
void ct_spawn_many_remote_busy(const bench_cfg *cfg, const char *name) {
    bench_spawn_set b = {ct_runtime(), bench_handles_new(CT_NUM_SPAWN),
                         CT_NUM_SPAWN};
    long respawns = 0;
    respawn r = {{&respawn_vt}, &respawns};
    BENCH_OK(kr_runtime_spawn(b.rt, &r.base, NULL));
    bench_measure(cfg, name, bench_remote_iter, &b);
    if (respawns == 0)
        bench_fail("%s: the busy task never ran", name);
    /* Freeing the runtime cancels the queued copy, which ends the chain. */
    kr_runtime_free(b.rt);
    free(b.handles);
}

/* ---- ping_pong, yield_many, chained_spawn -------------------------------- */

static void spawn_ping_pong(kr_join_handle *h) {
    bench_ping_pong p = bench_ping_pong_new(NULL);
    BENCH_OK(kr_spawn(&p.base, h));
}

/* block_on spawns the 1000 ping/pong parents and awaits their handles: 2000
 * spawns and 2000 oneshots per iteration. */
void ct_ping_pong(const bench_cfg *cfg, const char *name) {
    run_spawn_join(cfg, name, NUM_PINGS, spawn_ping_pong, 0);
}

static void spawn_yield_loop(kr_join_handle *h) {
    bench_yield_loop y = bench_yield_loop_new();
    BENCH_OK(kr_spawn(&y.base, h));
}

/* block_on spawns 200 tasks of 1000 yields and awaits their handles: 200k
 * yields per iteration. */
void ct_yield_many(const bench_cfg *cfg, const char *name) {
    run_spawn_join(cfg, name, YIELD_TASKS, spawn_yield_loop,
                   (long long)YIELD_TASKS * NUM_YIELD);
}

/* block_on spawns the head of a 1000-link chain; each link spawns the next;
 * the last sends on a oneshot block_on awaits: 1001 spawns per iteration. */
void ct_chained_spawn(const bench_cfg *cfg, const char *name) {
    kr_runtime *rt = ct_runtime();
    bench_measure(cfg, name, bench_chained_spawn_iter, rt);
    kr_runtime_free(rt);
}
