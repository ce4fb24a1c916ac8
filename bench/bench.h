/*
 * bench/bench.h: what the parts of kairo-bench share.
 *
 * kairo-bench reproduces Tokio's runtime benchmarks (reference/tokio.md §7.1,
 * §7.2, §7.4, §7.5) by name and constants. Its peer, bench/peers/tokio, runs the
 * same definitions on Tokio with the same command line and output format, so
 * bench/compare.sh can line the two up row by row.
 *
 *   kairo-bench.c   command line, timing loop, the table of benchmarks
 *   bench-tasks.c   the futures the benchmarks spawn (empty task, join-all,
 *                   ping/pong pair, yield loop, spawn chain, countdown) and
 *                   the iterations both sets share (remote spawn_many,
 *                   chained_spawn)
 *   bench-ct.c      ct/...: the current-thread runtime
 *   bench-mt.c      mt/..., remote_spawn/... and spawn_blocking/...: the
 *                   multi-thread runtime
 *   bench-timers.c  timers/...: libuv's million_timers, one task per timer
 *   bench-mem.c     mem/idle_task/N: resident bytes per idle task
 *   bench-fs.c      fs/...: Tokio's benches/fs.rs (/dev/zero reads)
 *   bench-copy.c    copy/...: Tokio's benches/copy.rs (kr_io_copy)
 *   bench-compose.c compose/...: kr_select, kr_join, kr_join_set against
 *                   select!, join!, JoinSet
 *   bench-os.c      signal/many_signals (Tokio's benches/signal.rs) and
 *                   process/spawn_wait (1,000 sequential spawns of `true`)
 */
#ifndef KR_BENCH_H
#define KR_BENCH_H

#include <stdatomic.h>
#include <stdint.h>

#include "kairo.h"

/* ------------------------------------------------------------------------ */
/* Constants (Tokio's; the names are theirs)                                */
/* ------------------------------------------------------------------------ */

/* rt_multi_threaded.rs: NUM_WORKERS, the default of --workers. */
#define BENCH_DEFAULT_WORKERS 4
/* rt_current_thread.rs: tasks per spawn_many iteration. */
#define CT_NUM_SPAWN          1000
/* rt_multi_threaded.rs: tasks per spawn_many iteration... */
#define MT_NUM_SPAWN          10000
/* ...except spawn_many_remote_busy2, which shadows NUM_SPAWN with 1000. */
#define MT_BUSY2_NUM_SPAWN    1000
/* ping_pong: parent/child pairs per iteration. */
#define NUM_PINGS             1000
/* yield_many: tasks, and yields per task. */
#define YIELD_TASKS           200
#define NUM_YIELD             1000
/* chained_spawn: links in the chain (plus the head). */
#define CHAIN_LEN             1000
/* remote_spawn.rs: tasks per iteration, split over the spawning threads. */
#define REMOTE_TOTAL_TASKS    12800
/* rt_multi_threaded.rs: STALL_DUR, the spin of one stall() in the busy
 * benchmarks. */
#define STALL_NS              10000
/* spawn_blocking.rs: each task runs NUM_BATCHES batches of BATCH_SIZE
 * spawn_blocking calls, joining each batch before the next. */
#define NUM_BATCHES           100
#define BATCH_SIZE            16
/* timers/shuf_...: the seed of the fixed shuffle of the deadlines
 * (splitmix64, Fisher-Yates; the libuv and Tokio peers use the same). It is
 * "kairo" in ASCII. */
#define TIMERS_SHUFFLE_SEED   0x6b6169726full

/* ------------------------------------------------------------------------ */
/* Harness (kairo-bench.c)                                                  */
/* ------------------------------------------------------------------------ */

typedef struct bench_cfg {
    unsigned workers;     /* --workers: multi-thread worker count */
    unsigned gqi;         /* --gqi: global queue interval (0: default) */
    int reps;             /* BENCH_REPS, at least 5 */
    uint64_t target_ns;   /* BENCH_TARGET_MS: wall time of one repetition */
    uint64_t fixed_iters; /* BENCH_ITERS: one run of exactly this many */
} bench_cfg;

/* --observe: the ct/ and mt/ runtimes are made with every observability
 * option on (bench_observe_config); kairo-bench runs each of those rows
 * twice, off then on, round after round. */
extern int bench_observe;
/* Turns on in `c` what --observe measures: the poll histogram, slow-poll and
 * blocked-worker detection (thresholds no poll reaches), if bench_observe
 * is set. */
void bench_observe_config(kr_runtime_config *c);

/* A monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
uint64_t bench_now_ns(void);

/*
 * Measures one benchmark and prints its line. `iter(arg)` performs one
 * iteration; all of its wall time counts.
 */
void bench_measure(const bench_cfg *cfg, const char *name,
                   void (*iter)(void *arg), void *arg);

/*
 * As bench_measure, for benchmarks that time only part of an iteration:
 * `run(arg, iters)` performs `iters` iterations and returns the nanoseconds
 * that count.
 */
void bench_measure_custom(const bench_cfg *cfg, const char *name,
                          uint64_t (*run)(void *arg, uint64_t iters),
                          void *arg);

/* Prints "kairo-bench: <message>" on stderr and aborts: a benchmark's
 * result was wrong, so its timing means nothing. */
void bench_fail(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* Aborts unless `rc` is 0, naming the call. */
#define BENCH_OK(call)                                                         \
    do {                                                                       \
        int bench_rc_ = (call);                                                \
        if (bench_rc_ != 0)                                                    \
            bench_fail("%s:%d: %s returned %s", __FILE__, __LINE__, #call,     \
                       kr_err_name(bench_rc_));                                \
    } while (0)

/* Aborts unless a count is what it must be. */
#define BENCH_CHECK_EQ(what, got, want)                                        \
    do {                                                                       \
        long long bench_g_ = (long long)(got), bench_w_ = (long long)(want);   \
        if (bench_g_ != bench_w_)                                              \
            bench_fail("%s: got %lld, expected %lld", (what), bench_g_,        \
                       bench_w_);                                              \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Tasks (bench-tasks.c)                                                    */
/* ------------------------------------------------------------------------ */

/* Spins for STALL_NS, giving the CPU away between checks (Tokio's stall()). */
void bench_stall(void);

/* `async {}`: a future that is ready at once, with no output. */
kr_future bench_empty_task(void);

/*
 * Awaits handles[0..n) in order and checks that none was cancelled. Each
 * handle's output, if any, is an int; the sum lands in `sum`. Output: none.
 */
typedef struct bench_join_all {
    kr_future base;
    kr_coro co;
    kr_join_handle *handles;
    int n, i;
    int value;
    long long sum;
} bench_join_all;
bench_join_all bench_join_all_new(kr_join_handle *handles, int n);

/* A count-down shared by the tasks of one iteration: the task that takes
 * `left` to zero sends on `done`, which the block_on future awaits (in place
 * of the std channel Tokio's benchmarks block on). */
typedef struct bench_countdown {
    _Atomic long left;
    kr_oneshot_tx *done;
} bench_countdown;

/* Counts `cd` down by one; the last one sends. */
void bench_countdown_hit(bench_countdown *cd);

/* A task that counts `cd` down and completes (mt/spawn_many_local). */
typedef struct bench_count_task {
    kr_future base;
    bench_countdown *cd;
} bench_count_task;
bench_count_task bench_count_task_new(bench_countdown *cd);

/*
 * One ping/pong pair (ping_pong): makes two oneshots, spawns a child that
 * awaits the ping and sends the pong, sends the ping, awaits the pong. With
 * `cd` not NULL it then counts `cd` down. Output: none.
 */
typedef struct bench_ping_pong {
    kr_future base;
    kr_coro co;
    bench_countdown *cd;
    kr_oneshot_tx *ping_tx;
    kr_oneshot_rx *pong_rx;
    kr_oneshot_recv recv;
    int rc;
} bench_ping_pong;
bench_ping_pong bench_ping_pong_new(bench_countdown *cd);

/* NUM_YIELD awaits of kr_yield_now() (yield_many). Output: int, the number
 * of yields made. */
typedef struct bench_yield_loop {
    kr_future base;
    kr_coro co;
    kr_yield y;
    int i;
} bench_yield_loop;
bench_yield_loop bench_yield_loop_new(void);

/*
 * One link of chained_spawn: with n > 0 it spawns link n-1 and completes;
 * link 0 sends its depth (an int: the links before it) on `done`.
 */
typedef struct bench_chain {
    kr_future base;
    kr_oneshot_tx *done;
    int n, depth;
} bench_chain;
bench_chain bench_chain_new(kr_oneshot_tx *done, int n);

/* ------------------------------------------------------------------------ */
/* Iterations shared by the ct and mt sets (bench-tasks.c)                  */
/* ------------------------------------------------------------------------ */

/* A runtime and room for the handles of one iteration's n tasks. */
typedef struct bench_spawn_set {
    kr_runtime *rt;
    kr_join_handle *handles;
    int n;
} bench_spawn_set;

/* n zeroed handles; aborts when out of memory. */
kr_join_handle *bench_handles_new(int n);

/* The remote spawn_many iteration (arg: a bench_spawn_set): n spawns of
 * `async {}` from this thread, outside the runtime, then block_on awaits
 * every handle. */
void bench_remote_iter(void *arg);

/* The chained_spawn iteration (arg: the runtime): block_on spawns the head
 * of a CHAIN_LEN-link chain and awaits the oneshot its last link sends on. */
void bench_chained_spawn_iter(void *rt);

/* ------------------------------------------------------------------------ */
/* Benchmarks                                                               */
/* ------------------------------------------------------------------------ */

/* Every benchmark takes the configuration and its name (for the line). */
typedef void bench_fn(const bench_cfg *cfg, const char *name);

/* mem/idle_task/N (bench-mem.c): unit bytes per task, not ns/iter. */
bench_fn mem_idle_task_16, mem_idle_task_64;
/* copy/...: Tokio's benches/copy.rs (bench-copy.c). */
bench_fn copy_mem_to_mem, copy_chunk_to_mem, copy_mem_to_slow_hdd,
    copy_chunk_to_slow_hdd;

/* fs/...: Tokio's benches/fs.rs (bench-fs.c). */
bench_fn fs_async_read_std_file, fs_async_read_buf, fs_async_read_codec,
    fs_sync_read, fs_async_read_file, fs_async_read_file_ct;
/* signal/many_signals and process/spawn_wait (bench-os.c). */
bench_fn signal_many_signals, process_spawn_wait;
/* compose/...: join, select and join sets (bench-compose.c) */
bench_fn compose_select2_biased, compose_select2_fair, compose_select2_yield,
    compose_join4, compose_join4_yield, compose_join_set_1000;
bench_fn ct_spawn_many_local, ct_spawn_many_remote_idle,
    ct_spawn_many_remote_busy, ct_ping_pong, ct_yield_many, ct_chained_spawn;

bench_fn mt_spawn_many_local, mt_spawn_many_remote_idle,
    mt_spawn_many_remote_busy1, mt_spawn_many_remote_busy2, mt_ping_pong,
    mt_yield_many, mt_chained_spawn;

/* remote_spawn/threads/N: `threads` spawning threads. */
void remote_spawn(const bench_cfg *cfg, const char *name, int threads);

/* spawn_blocking/concurrency/N: `concurrency` tasks spawning blocking
 * jobs (bench-mt.c). */
void spawn_blocking_bench(const bench_cfg *cfg, const char *name,
                          int concurrency);

/* timers/{seq,shuf}_1000000_{ct,mt}: libuv's million_timers with one task
 * per timer (bench-timers.c). Prints the rows `name`.init, .dispatch and
 * .total. */
void timers_bench(const bench_cfg *cfg, const char *name, int shuffled, int mt);

/* mpsc/... (bench-sync.c): Tokio's sync_mpsc.rs. */
bench_fn mpsc_create_medium_1, mpsc_create_medium_100,
    mpsc_create_medium_100000, mpsc_send_medium_1000, mpsc_send_large_1000,
    mpsc_contention_bounded, mpsc_contention_bounded_recv_many,
    mpsc_contention_bounded_full, mpsc_contention_bounded_full_recv_many,
    mpsc_contention_unbounded, mpsc_contention_unbounded_recv_many,
    mpsc_uncontented_bounded, mpsc_uncontented_bounded_recv_many,
    mpsc_uncontented_unbounded, mpsc_uncontented_unbounded_recv_many;

/* mpsc_oneshot/request_reply_{ct,mt1} (bench-sync.c). */
bench_fn mpsc_oneshot_request_reply_ct, mpsc_oneshot_request_reply_mt1;

/* notify/notify_one/N (all = 0) and notify/notify_waiters/N (all = 1):
 * `waiters` waiter tasks (bench-sync.c). */
void notify_bench(const bench_cfg *cfg, const char *name, int waiters, int all);

/* semaphore/... and rwlock/... (bench-sync.c): sync_semaphore.rs and
 * sync_rwlock.rs. */
bench_fn semaphore_uncontended, semaphore_uncontended_concurrent_multi,
    semaphore_uncontended_concurrent_single,
    semaphore_contended_concurrent_multi, semaphore_contended_concurrent_single,
    rwlock_uncontended_read, rwlock_uncontended_read_concurrent,
    rwlock_uncontended_read_concurrent_multi, rwlock_contended_read_concurrent,
    rwlock_contended_read_concurrent_multi;

/* broadcast/contention/N and watch/contention_resubscribe/N (bench-fanout.c):
 * sync_broadcast.rs and sync_watch.rs with `n` receiver tasks. */
void broadcast_contention(const bench_cfg *cfg, const char *name, size_t n);
void watch_contention_resubscribe(const bench_cfg *cfg, const char *name,
                                  size_t n);

/* A multi-thread runtime of cfg->workers workers, or NULL (with a note on
 * stderr) when there is none (bench-sync.c). */
kr_runtime *bench_mt_runtime(const bench_cfg *cfg, const char *name);

#endif /* KR_BENCH_H */
