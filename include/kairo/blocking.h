/*
 * kairo/blocking.h: running blocking code (file I/O, DNS, CPU-heavy work,
 * a library call that sleeps) without stalling a runtime, on a pool of
 * threads the runtime keeps for the purpose (Tokio's spawn_blocking).
 *
 *     static void *checksum(void *arg) { return (void *)crc_file(arg); }
 *
 *     kr_join_handle h;
 *     int rc = kr_spawn_blocking(checksum, path, &h);
 *     ...
 *     void *result;
 *     KR_AWAIT(&self->co, &h.base, cx, &result);
 *
 * The pool belongs to the runtime and is made the first time it is used. It
 * starts threads on demand, up to kr_runtime_config.max_blocking_threads;
 * a job spawned while every thread is busy and the cap is reached waits in
 * a FIFO queue. A thread idle for blocking_keep_alive_ms exits.
 *
 * A pool thread is not one of the runtime's workers, but it is inside the
 * runtime, as a thread that entered it (kr_runtime_enter): inside the job
 * kr_spawn and kr_spawn_blocking spawn onto the pool's runtime (as Tokio's
 * Handle::current inside spawn_blocking; KR_ESHUTDOWN once that runtime
 * was freed), kr_runtime_current returns it, kr_task_id the job's id, and
 * kr_runtime_block_on works as on any thread outside a runtime. The
 * cooperative budget is unlimited there.
 *
 * Cancellation: kr_join_handle_abort (or an abort handle) cancels a job that
 * has not started: `fn` never runs and the handle reads KR_ECANCELED, once a
 * pool thread reaches the job in the queue (as in Tokio, the job keeps its
 * place until then). A job that has started runs to its end; aborting it
 * then changes nothing, as Tokio cannot interrupt a thread either. Shutting
 * the runtime down cancels the queued jobs and waits up to
 * shutdown_timeout_ms for the running ones (kr_runtime_shutdown).
 */
#ifndef KAIRO_BLOCKING_H
#define KAIRO_BLOCKING_H

#include "core.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A blocking job: runs on a pool thread; its return value is the output of
 * the job's join handle. */
typedef void *(*kr_blocking_fn)(void *arg);

/*
 * Runs fn(arg) on the blocking pool of the runtime the calling thread runs
 * (from inside a task or a block_on future). If `join` is not NULL it
 * receives the job's handle, a future whose output is the `void *` fn
 * returned (output size sizeof(void *)); otherwise the job is detached.
 * `arg` is passed as is: what it points to must stay valid until fn has
 * run (or the job was cancelled: the handle then reads KR_ECANCELED).
 *
 * Returns 0; KR_EINVAL (NULL fn, or not called from inside a runtime:
 * kr_runtime_current is NULL); KR_ESHUTDOWN (the runtime is shut down);
 * KR_ENOMEM (no memory for the job or the pool, or no thread could be
 * started and none is running that would take the job). On failure the
 * handle is left empty and fn is never called.
 */
KR_API int kr_spawn_blocking(kr_blocking_fn fn, void *arg,
                             kr_join_handle *join);

/*
 * As kr_spawn_blocking, on the pool of `rt`, from any thread (a thread of
 * no runtime, another runtime's task, a blocking job).
 * Returns 0; KR_EINVAL (NULL rt or fn); KR_ESHUTDOWN; KR_ENOMEM.
 */
KR_API int kr_runtime_spawn_blocking(kr_runtime *rt, kr_blocking_fn fn,
                                     void *arg, kr_join_handle *join);

/*
 * Runs fn(arg) on the calling thread, here and now, without stalling the
 * runtime (Tokio's block_in_place): called from a task of a multi-thread
 * runtime, it first hands the worker the thread was running (its run
 * queue, its LIFO task, its timers, its share of the I/O driver) to a new
 * thread, which runs the other tasks meanwhile. When fn returns, the
 * calling task's poll goes on; if the new thread has taken the worker
 * over, the calling thread is no longer a worker (its spawns and wakes
 * are remote ones) and exits once the poll returns, else it takes its
 * worker back. Writes fn's result to *out (if not NULL).
 *
 * Inside fn the thread is as a blocking job's: it has entered the runtime
 * (kr_spawn spawns onto it), the budget is unlimited, kr_runtime_block_on
 * works (of any runtime, this one too). If no thread can be started for
 * the worker, fn runs with the worker held (the runtime's monitor then
 * lets idle workers steal its queue). From a block_on
 * future of a multi-thread runtime, from inside fn of an outer
 * kr_block_in_place, from a blocking job or outside any runtime, fn just
 * runs: no worker is held up there (as in Tokio). Unlike
 * kr_spawn_blocking, the task's borrowed state (its stack, the future's
 * fields) may be used by fn directly.
 *
 * Returns 0; KR_EINVAL (NULL fn; or called from a task or the block_on
 * future of a current-thread runtime, where the only thread that runs its
 * tasks would block: Tokio panics "can call blocking only when running on
 * the multi-threaded runtime"): fn was not called then.
 */
KR_API int kr_block_in_place(kr_blocking_fn fn, void *arg, void **out);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_BLOCKING_H */
