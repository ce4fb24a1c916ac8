/*
 * blocking/pool.h: the blocking pool behind kr_spawn_blocking (protocol
 * and lifetime at the top of pool.c).
 *
 * A runtime owns at most one pool (struct kr_runtime's `blocking`, made on
 * first use by rt/runtime.c). The runtime holds one reference to it, which
 * kr__blocking_release drops; the pool's memory lives on while pool threads
 * run or task cells it made are alive.
 */
#ifndef KR_BLOCKING_POOL_H
#define KR_BLOCKING_POOL_H

#include "kairo.h"

typedef struct kr__blocking_pool kr__blocking_pool;

/* Tokio's defaults (reference/tokio.md §5): 512 threads, 10 s keep-alive.
 * Tokio's runtime drop waits for its blocking threads without a limit; 10 s
 * bounds a program's exit behind a stuck job. kr_runtime_new fills them in
 * for zero fields. */
#define KR__BLOCKING_MAX_THREADS         512
#define KR__BLOCKING_KEEP_ALIVE_MS       10000
#define KR__BLOCKING_SHUTDOWN_TIMEOUT_MS 10000

/* Makes a pool with the config's limits (resolved by kr_runtime_new: no
 * 0-means-default left), thread settings and hooks, copied: threads a
 * timed-out shutdown left running may outlive the runtime.
 * Its threads run inside the runtime of `handle` (core/handle.h: kr_spawn
 * there spawns onto it), of which the pool holds a reference until its
 * memory goes. Starts no thread. Returns NULL when out of memory. */
struct kr__handle;
kr__blocking_pool *kr__blocking_new(const kr_runtime_config *cfg,
                                    struct kr__handle *handle);

/*
 * Queues fn(arg) as a job (a task whose scheduler is the pool), handing it
 * to an idle thread or starting one if the cap allows. `b` (may be NULL)
 * names it (kr_task_spawn_blocking). `jh` (may be NULL) receives the
 * handle. Any thread. Returns 0, KR_ESHUTDOWN, KR_ENOMEM.
 */
int kr__blocking_spawn(kr__blocking_pool *p, kr_blocking_fn fn, void *arg,
                       const kr_task_builder *b, kr_join_handle *jh);

/*
 * Shuts the pool down: refuses new jobs, cancels the queued ones, and, if
 * `wait`, waits for the running ones until the shutdown timeout after the
 * first call. Returns 0, or KR_ETIMEDOUT if jobs are still running (only
 * when waiting). Any thread; may be called again (later calls wait out
 * the rest of the same timeout).
 */
int kr__blocking_shutdown(kr__blocking_pool *p, bool wait);

/* Adds the pool's counters to `m` (the blocking_* fields). */
void kr__blocking_metrics(kr__blocking_pool *p, kr_runtime_metrics *m);

/* Drops the runtime's reference (after kr__blocking_shutdown). */
void kr__blocking_release(kr__blocking_pool *p);

#endif
