/*
 * kairo/runtime.h: runtimes, spawning, join handles, yielding and the
 * cooperative budget.
 */
#ifndef KAIRO_RUNTIME_H
#define KAIRO_RUNTIME_H

#include "core.h"
#include "observe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Runtime                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct kr_runtime kr_runtime;

typedef enum kr_runtime_flavor {
    KR_RUNTIME_CURRENT_THREAD = 0, /* every task runs on the block_on thread */
    KR_RUNTIME_MULTI_THREAD = 1,   /* work-stealing worker threads */
    /* Deterministic simulation (kairo/sim.h): one thread, a seeded
     * scheduler, a virtual clock and an in-memory network. */
    KR_RUNTIME_SIMULATION = 2
} kr_runtime_flavor;

/*
 * The I/O driver's backend (kr_runtime_config.io_driver).
 *   KR_IO_DRIVER_AUTO: the environment variable KAIRO_IO ("epoll" or
 *     "uring") if it is set, else epoll (the default: see docs/io_uring.md
 *     for the measurements behind it).
 *   KR_IO_DRIVER_EPOLL: epoll, edge-triggered.
 *   KR_IO_DRIVER_URING: io_uring (multishot poll requests; Linux 5.13 or
 *     later, built with liburing). Where io_uring cannot be had (not
 *     built in, an old kernel, ENOSYS, EPERM from seccomp or the
 *     kernel.io_uring_disabled sysctl, no memory for the ring) the runtime
 *     falls back to epoll and writes one line to stderr saying why.
 * Every future behaves the same on both; kr_runtime_io_driver says which
 * one a runtime got. An explicit EPOLL or URING here wins over KAIRO_IO.
 */
typedef enum kr_io_driver {
    KR_IO_DRIVER_AUTO = 0,
    KR_IO_DRIVER_EPOLL = 1,
    KR_IO_DRIVER_URING = 2,
} kr_io_driver;

/*
 * KR_ZERO: asks for a literal zero in a field where 0 means "the default".
 * Accepted by shutdown_timeout_ms (do not wait for running blocking jobs at
 * all: Tokio's shutdown_timeout(0)) and blocking_keep_alive_ms (an idle
 * blocking thread exits at once). In every other numeric field a zero is
 * no valid setting and KR_ZERO makes kr_runtime_new return KR_EINVAL (as
 * Tokio's builder panics on max_blocking_threads(0) or worker_threads(0)).
 * The value UINT_MAX itself is so reserved: the largest timeout that can be
 * asked for is UINT_MAX - 1 ms (49 days).
 */
#define KR_ZERO 0xffffffffu

/* A thread hook: arg is kr_runtime_config.hook_arg. */
typedef void (*kr_thread_hook)(void *arg);

/* What a task hook is told about the task (Tokio's TaskMeta). May grow. */
typedef struct kr_task_meta {
    /* The task's id, as task dumps print it and kr_task_id returns
     * (kairo/task.h): unique in the process, never reused. */
    uint64_t id;
} kr_task_meta;

/* A task hook: arg is kr_runtime_config.hook_arg. `task` is valid for the
 * duration of the call only. */
typedef void (*kr_task_hook)(const kr_task_meta *task, void *arg);

/* Names a thread the runtime starts (Tokio's thread_name_fn): writes a
 * NUL-terminated name of at most size - 1 bytes into buf. Called on the
 * new thread, before on_thread_start. */
typedef void (*kr_thread_name_fn)(char *buf, size_t size, void *arg);

/*
 * How a runtime is made. Start from kr_runtime_config_default() (all
 * zeroes but the flavor: every field's default) and set what differs; a
 * zero field means its default, KR_ZERO a literal zero where one makes
 * sense (above). The struct is not ABI-frozen: fields are added at the end
 * (code that starts from kr_runtime_config_default() keeps compiling and
 * keeps every new field's default); programs built against another
 * version of the header must be rebuilt.
 */
typedef struct kr_runtime_config {
    kr_runtime_flavor flavor;
    /* Multi-thread only: worker threads; 0 means the number of CPUs (or
     * the KR_WORKER_THREADS environment variable). */
    unsigned workers;
    /* Scheduler ticks between checks of the remote (injection) queue.
     * 0 means the default, 31 on both flavors: Tokio's current-thread value.
     * (Tokio's multi-thread scheduler adapts it around 61; measured here,
     * 31 served remote spawns better: src/sched/multi_thread.c.) 1 checks it
     * first at every tick. */
    unsigned global_queue_interval;
    /* Scheduler ticks between maintenance passes: a non-blocking look at
     * I/O and the timers while tasks keep the scheduler busy, and (current
     * thread) polls of the block_on future. 0 means the default, 61
     * (Tokio's event_interval). At most 1000000. */
    unsigned event_interval;
    /* Polls a task may make of budget-consuming futures before it is forced
     * to yield. 0 means the default, 128 (Tokio's). */
    unsigned budget;
    /* The blocking pool (kairo/blocking.h). Threads it may run at once;
     * 0 means the default, 512 (Tokio's). Jobs beyond it wait in a queue. */
    unsigned max_blocking_threads;
    /* How long a blocking-pool thread waits for a job before it exits, in
     * milliseconds; 0 means the default, 10000 (Tokio's 10 s); KR_ZERO: at
     * once. */
    unsigned blocking_keep_alive_ms;
    /* How long kr_runtime_shutdown (and kr_runtime_free) waits for blocking
     * jobs that are still running, in milliseconds from the first shutdown
     * call; 0 means the default, 10000; KR_ZERO: not at all. */
    unsigned shutdown_timeout_ms;
    /* Drivers to leave out: 0, the default, carries both; otherwise a set
     * of KR_DRIVER_IO and KR_DRIVER_TIME (below). Tokio's builder without
     * enable_io / enable_time. Without the I/O driver the runtime makes no
     * epoll instance or eventfd and an idle thread parks on a futex (as
     * Tokio's driver-less runtime does), which wakes faster: a program
     * that only computes and uses kairo/sync.h needs nothing else. */
    unsigned disable_drivers;

    /* ---- threads the runtime starts: workers and blocking-pool threads */
    /* Their name (Linux keeps 15 bytes of it); NULL: "kairo-worker" for
     * workers, "kairo-blocking" for blocking-pool threads (Tokio names both
     * "tokio-runtime-worker"). thread_name_fn, if set, takes precedence. */
    const char *thread_name;
    kr_thread_name_fn thread_name_fn;
    /* Their stack size in bytes; 0 means the C library's default (8 MiB
     * on glibc, or `ulimit -s`). Below PTHREAD_STACK_MIN: KR_EINVAL. */
    size_t thread_stack_size;

    /* ---- hooks (Tokio's Builder::on_*). Each is called with hook_arg;
     * unset (NULL) costs one predictable branch where it would be called.
     * Hooks must not block for long or call kr_runtime_free; they may
     * spawn onto the runtime. After a kr_runtime_shutdown that timed out,
     * blocking threads left running call on_thread_stop when they exit,
     * which may be after kr_runtime_free: hook_arg must outlive them. */
    void *hook_arg;
    /* On each thread the runtime starts, first thing / last thing. */
    kr_thread_hook on_thread_start;
    kr_thread_hook on_thread_stop;
    /* Before a scheduler thread (a multi-thread worker, or the block_on
     * thread of a current-thread runtime) parks for lack of work, and
     * after it wakes. If on_thread_park makes work (wakes a task or the
     * block_on future), the thread does not park and on_thread_unpark
     * follows at once (as in Tokio). */
    kr_thread_hook on_thread_park;
    kr_thread_hook on_thread_unpark;
    /* A task was spawned (called on the spawning thread, before the task
     * can first run) / completed or was cancelled (called on the thread
     * that finished it, after its future was dropped). Not for blocking
     * jobs (kairo/blocking.h), which are not tasks of the runtime. */
    kr_task_hook on_task_spawn;
    kr_task_hook on_task_terminate;

    /* ==== Fields added by other features go below this line, each with
     * 0 meaning its default, in the order they landed. ================= */
    /* Current-thread only: the runtime's clock starts paused (kr_time_pause,
     * kairo/time.h; Tokio's start_paused). kr_runtime_new returns KR_EINVAL
     * for it on the multi-thread flavor or without timers. */
    bool start_paused;

    /* KR_RUNTIME_SIMULATION only (kairo/sim.h): the seed of its scheduler
     * and network. 0 means the environment's KAIRO_SEED, or else one taken
     * from the clock (kr_sim_seed reports it either way). */
    uint64_t seed;

    /* ---- Observability (kairo/observe.h, docs/observability.md) ---- */
    /* A histogram of poll durations, per worker: off (buckets 0) by
     * default. On, it costs a clock read per poll (consecutive polls on a
     * worker share one). */
    kr_histogram_config poll_histogram;
    /* Report every poll that runs longer than this (0: off, the default)
     * through on_poll_report, after it returns. */
    uint64_t slow_poll_ns;
    /* Report a worker whose current poll has run longer than this (0:
     * off) through on_poll_report, from a monitor thread, while the poll
     * still runs (once per poll). Noticed within a few ms of the
     * threshold. Multi-thread: its monitor does it. Current-thread: a
     * watchdog thread is started for it (only when this is set), so
     * kr_runtime_new may then also fail with KR_EAGAIN. */
    uint64_t blocked_worker_ns;
    /* The reporter (NULL: kr_poll_report_stderr) and its argument. */
    kr_poll_report_fn on_poll_report;
    void *on_poll_report_arg;
    /* A histogram of schedule latencies, per worker: the time from the
     * wake (or spawn, or yield) that queued a task to the start of the
     * poll it led to (Tokio's "scheduling delay"). Off (buckets 0) by
     * default; on, it costs a clock read per wake and implies
     * track_tasks. Multi-thread and current-thread runtimes. */
    kr_histogram_config sched_latency_histogram;
    /* Track each task: its polls so far, when its last poll began and the
     * task it was spawned from, shown by task dumps ("polls",
     * "since_poll_ns", "parent"). Off by default: on, each task's cell is
     * 32 bytes larger and each poll reads the clock (shared with the
     * histograms) and stores two words. Multi-thread and current-thread
     * runtimes. */
    bool track_tasks;

    /* ---- The live console (docs/observability.md, "The live console") */
    /* Serve the metrics, histograms, task dump and recent slow-poll and
     * blocked-worker reports on a Unix socket at this path, for
     * kairo-console or any client of its line protocol. NULL (the
     * default): the path in the KAIRO_CONSOLE environment variable, else
     * no console, at no cost (no thread, no socket, no clock read).
     * The console runs on a thread of its own, so it answers while every
     * worker is stuck in a poll; it replaces a stale socket file at the
     * path, and removes its own when the runtime is freed. It turns on
     * what it shows where these fields are 0: slow_poll_ns 10 ms,
     * blocked_worker_ns 1 s, poll_histogram and sched_latency_histogram
     * 20 LOG2 buckets from 1 us, and track_tasks (the simulation gets only
     * slow_poll_ns and the poll histogram); the reports only the console
     * asked for go to the console alone, the others to on_poll_report as
     * well. kr_runtime_new returns
     * KR_EINVAL for an empty path or one longer than a Unix socket
     * address holds (107 bytes), KR_EADDRINUSE if another process serves
     * there, KR_EEXIST if the path is not a socket; a console that
     * KAIRO_CONSOLE asked for and that cannot be opened is left out with
     * one line on stderr. The current-thread runtime's task list belongs
     * to the thread in block_on: while one runs, the console's snapshots
     * carry its metrics but no tasks ("dump_error": "EBUSY"). */
    const char *console_path;

    /* The I/O driver's backend (kr_io_driver above); 0, AUTO, by default.
     * Ignored by a runtime without the I/O driver and by the simulation. */
    kr_io_driver io_driver;
} kr_runtime_config;

/*
 * Bits of kr_runtime_config.disable_drivers.
 *   KR_DRIVER_IO: no I/O driver. Everything that would register a file
 *     descriptor with the runtime (sockets, kr_async_fd, pipes, signals,
 *     child processes) returns KR_ENOIO instead, as Tokio panics "IO is
 *     disabled". Files (kairo/fs.h) and the blocking pool still work.
 *   KR_DRIVER_TIME: no timers. A kr_timeout whose inner future is pending
 *     outputs KR_ENOTIME (its inner future dropped); a kr_sleep or an
 *     interval tick that is not due aborts with a message, as a sleep does
 *     outside any runtime (kairo/time.h; Tokio panics "timers are
 *     disabled"), since a sleep has no output to carry an error. A due
 *     sleep is READY, as anywhere.
 */
#define KR_DRIVER_IO   1u
#define KR_DRIVER_TIME 2u
#define KR_DRIVERS_ALL (KR_DRIVER_IO | KR_DRIVER_TIME)

/* The default configuration: current-thread, default constants. */
KR_API kr_runtime_config kr_runtime_config_default(void);

/*
 * Creates a runtime. `config` may be NULL for the defaults.
 * Returns 0, or KR_EINVAL (NULL `out`, unknown flavor, more than 1024
 * workers, an unknown bit in disable_drivers); KR_ENOMEM; KR_EMFILE,
 * KR_ENFILE (no file descriptor for the I/O driver's epoll instance and
 * eventfd); KR_EAGAIN (a thread could not be started: multi-thread, a
 * worker or the monitor; current-thread, the blocked_worker_ns watchdog). Both flavors report the same cause
 * with the same code; on failure nothing is left allocated or running.
 */
KR_API int kr_runtime_new(const kr_runtime_config *config, kr_runtime **out);

/*
 * Runs `future` to completion on the calling thread, driving the runtime's
 * tasks meanwhile, and writes its output to `out` (NULL discards it). The
 * future is polled in place (not copied): it may live on the caller's stack.
 * block_on consumes it, as Rust's does: it is dropped (vtable drop) before
 * block_on returns, after READY or when cancelled by a shutdown; if block_on
 * fails before polling it (KR_EINVAL, KR_EBUSY) it is left untouched.
 * Inside it, kr_spawn spawns onto this runtime.
 *
 * Several threads may be in block_on on one runtime at once. On the
 * multi-thread runtime each polls its own future while the workers run
 * the tasks. On the current-thread runtime they take turns, as Tokio's
 * do: one holds the runtime's core and runs the tasks; each other one
 * polls its own future on its own thread whenever that future is woken
 * (its spawns are remote spawns, its sleeps the runtime's timers), and
 * takes the core over when the holder returns. A waiting block_on whose
 * future completes returns without ever having held the core.
 *
 * Returns 0 when the future completed; KR_EINVAL (NULL runtime or future);
 * KR_EBUSY (the caller is itself a task or a block_on future of a
 * runtime); KR_ENOMEM (no memory for this call's wake-up signal, which the
 * multi-thread runtime, and a current-thread one whose core is taken,
 * make; the future is left untouched, as for KR_EINVAL and KR_EBUSY);
 * KR_ESHUTDOWN (the runtime was shut down before or while the future ran;
 * the future is dropped then).
 */
KR_API int kr_runtime_block_on(kr_runtime *rt, kr_future *future, void *out);

/*
 * Shuts the runtime down: no new tasks are accepted, and every task still
 * alive has its future dropped exactly once (its join handle then reads
 * KR_ECANCELED). May be called from any thread; idempotent. If a block_on
 * is running on another thread, that thread does the dropping and its
 * block_on returns KR_ESHUTDOWN.
 *
 * From inside one of this runtime's own tasks (or, current-thread, its
 * block_on future) it cannot wait for the tasks, the caller's among them
 * (Tokio panics there): it begins the shutdown and returns 0 at once. No
 * new task is accepted, no task is polled after its current poll, every
 * block_on returns KR_ESHUTDOWN, queued blocking jobs are cancelled; the
 * futures are dropped by the current-thread block_on as it returns, on
 * the multi-thread runtime by the next kr_runtime_shutdown made from
 * outside its tasks or by kr_runtime_free, which also waits for running
 * blocking jobs then. From a task or a block_on future of another runtime
 * it shuts this one down fully, blocking that runtime's thread meanwhile
 * (up to shutdown_timeout_ms): kr_runtime_shutdown_background does not.
 *
 * Then the blocking pool (kairo/blocking.h): jobs still queued are
 * cancelled (their handles read KR_ECANCELED; fn never runs), and jobs
 * already running are waited for, until shutdown_timeout_ms after the
 * first shutdown call. Jobs still running then are left to finish on their
 * own threads, which exit after them; their results are discarded.
 *
 * Then the I/O driver: from here on, binding a socket or registering an fd
 * with this runtime returns KR_ESHUTDOWN, and futures on sockets and fds
 * made before (polled by hand, or by another runtime's task) output
 * KR_ESHUTDOWN. Sockets made before may still be freed, before or after
 * kr_runtime_free.
 *
 * Returns 0; KR_EINVAL (NULL);
 * KR_ETIMEDOUT (blocking jobs were still running at the timeout: the
 * runtime is shut down all the same, and kr_runtime_metrics_get reports
 * their number in blocking_unfinished; a later call returns KR_ETIMEDOUT
 * again, at once, while any of them still runs). Called from a blocking
 * job of this runtime, it does not wait for that job.
 */
KR_API int kr_runtime_shutdown(kr_runtime *rt);

/*
 * Shuts the runtime down (as above, waiting for running blocking jobs up to
 * the same timeout) and frees it. Memory of tasks still referenced by
 * outstanding wakers or join handles is freed when the last reference goes;
 * the blocking pool's when its last thread exits.
 *
 * Other threads may still be inside calls on this runtime that began
 * before: a block_on (it is ended, and returns KR_ESHUTDOWN) or a
 * kr_runtime_shutdown (say, the one that ended the caller's own block_on).
 * kr_runtime_free waits for them to return before it frees anything. No
 * call on `rt` may begin once kr_runtime_free has been called.
 *
 * Returns 0 (also for NULL, which is ignored), or KR_EBUSY: called from
 * inside a task or a block_on future (of any runtime; Tokio panics
 * "Cannot drop a runtime in a context where blocking is not allowed");
 * nothing was done then. Call it from outside, after block_on has
 * returned, or use kr_runtime_shutdown_background.
 */
KR_API int kr_runtime_free(kr_runtime *rt);

/*
 * Shuts the runtime down and frees it without waiting for anything
 * (Tokio's shutdown_background): returns at once. Before it returns, no
 * new task is accepted, every block_on is told to return KR_ESHUTDOWN and
 * queued blocking jobs are cancelled; then a thread of its own finishes
 * the shutdown (the workers joined, every task's future dropped, as
 * kr_runtime_shutdown) and frees the runtime, once every call still
 * inside it has returned, as kr_runtime_free does. Blocking jobs still
 * running are not waited for: they finish on their own threads, which
 * then exit and free the pool. Nothing is left allocated once they have.
 *
 * It consumes the runtime as kr_runtime_free does: no call on `rt` may
 * begin after it. Unlike kr_runtime_free it may be called from anywhere:
 * a task or block_on future of this runtime (the caller's own poll then
 * finishes first) or of another, a blocking job, any thread.
 *
 * Returns 0 (also for NULL, which is ignored); KR_EAGAIN: no thread could
 * be started for the rest, and the caller is inside a runtime, where it
 * cannot be done in place: the runtime is shut down (as above) but not
 * freed; call kr_runtime_free from outside. (Outside a runtime, it is
 * then done in place: the workers are joined before it returns.)
 */
KR_API int kr_runtime_shutdown_background(kr_runtime *rt);

/* Fills `m` (kairo/observe.h): the sums over the workers and the
 * runtime-wide counters. Any thread, at any time, without stopping the
 * runtime; each counter is read once (relaxed), so the snapshot is not
 * atomic across counters. Returns 0 or KR_EINVAL. */
KR_API int kr_runtime_metrics_get(kr_runtime *rt, kr_runtime_metrics *m);

/* The backend the runtime's I/O driver runs on: KR_IO_DRIVER_EPOLL or
 * KR_IO_DRIVER_URING; KR_IO_DRIVER_AUTO for a runtime without one (made
 * without KR_DRIVER_IO, or the simulation) or a NULL rt. */
KR_API kr_io_driver kr_runtime_io_driver(const kr_runtime *rt);

/* Fills `m` with worker `worker`'s counters (0 .. workers - 1; the
 * current-thread runtime has worker 0). Any thread. Returns 0 or
 * KR_EINVAL (NULL argument, no such worker). */
KR_API int kr_runtime_worker_metrics_get(kr_runtime *rt, unsigned worker,
                                         kr_worker_metrics *m);

/*
 * Task dump: writes one line per live task to file descriptor `fd`:
 *   task <id> <future name> <state> at <file>:<line> (<function>)[ on worker N]
 * where the site is the innermost KR_AWAIT the task was suspended at after
 * its last poll ("-" if it never awaited) and <state> is idle (waiting for
 * a wake), scheduled (queued to run) or running (being polled, on worker
 * N). Taken while the runtime runs, from any thread that is not the
 * block_on thread of another current-thread runtime: no worker is
 * stopped, and no lock is taken on the poll path (the lists of live tasks
 * are walked one at a time under their own locks, which a completion on
 * that list waits for; the text is written after). Each task is shown as
 * it was at some instant during the call. Returns the number of tasks
 * listed, or KR_EINVAL (NULL runtime, negative fd, unknown format),
 * KR_EBUSY (a current-thread runtime whose block_on runs on another
 * thread: its task list belongs to that thread), KR_ENOMEM, KR_EIO (a
 * write failed).
 */
KR_API int kr_runtime_dump(kr_runtime *rt, int fd);

typedef enum kr_dump_format {
    KR_DUMP_TEXT = 0, /* kr_runtime_dump's lines */
    /* One JSON document:
     *   {"flavor": "multi_thread", "workers": 2, "tasks": [
     *     {"id": 5, "future": "conn", "name": "client 7",
     *      "spawn": {"file": "srv.c", "line": 40}, "state": "running",
     *      "worker": 1,
     *      "await": {"file": "srv.c", "line": 88, "func": "serve"}}, ...]}
     * ("name", "spawn", "worker" and "await" are null when they do not
     * apply: a name and spawn site come from a kr_task_builder). */
    KR_DUMP_JSON = 1
} kr_dump_format;

/* As kr_runtime_dump, in the given format. */
KR_API int kr_runtime_dump_format(kr_runtime *rt, int fd,
                                  kr_dump_format format);

/* ------------------------------------------------------------------------ */
/* Spawning and join handles                                                */
/* ------------------------------------------------------------------------ */

/*
 * A join handle is a future that yields the spawned task's output: awaiting
 * it (or polling it) copies the output to `out`. If the task was cancelled
 * (aborted, or its runtime shut down) it yields zeroes instead and
 * kr_join_handle_error() reads KR_ECANCELED. Dropping a handle detaches the
 * task; it keeps running.
 *
 * The struct is exposed so it can be embedded in a parent future; its fields
 * are private. It is a value, but NOT COPYABLE: it holds the task's one join
 * reference, so a copy made by assignment or memcpy shares that reference
 * with the original, and exactly one of the two may be used from then on.
 * Dropping both, or awaiting one after the other was awaited or dropped,
 * frees the reference twice (in release builds, memory corruption). Move a
 * handle by copying it and never touching the original again. Debug builds
 * (-DKR_DEBUG=ON) abort with a message naming the misuse.
 */
typedef struct kr_join_handle {
    kr_future base;
    void *task_;
    int err_;
    int done_;
} kr_join_handle;

/*
 * Spawns `future` (copying its vtable->size bytes) onto the runtime the
 * calling thread is inside (kr_runtime_current): from a task or a block_on
 * future, a blocking job (onto the pool's runtime), or a thread that
 * entered a runtime (kr_runtime_enter).
 * If `join` is not NULL it receives the task's handle; otherwise the task is
 * detached.
 * Returns 0; KR_EINVAL (NULL future or vtable, or not called from inside a
 * runtime); KR_ESHUTDOWN (the runtime is shut down, or freed under an
 * entered thread or a blocking job); KR_ENOMEM.
 */
KR_API int kr_spawn(const kr_future *future, kr_join_handle *join);

/*
 * Spawn in place: the future is built by `init` directly in its task
 * cell, never on the caller's stack and never copied, so a future of any
 * size costs the spawner no stack, and it may point into itself from the
 * moment init makes it (kr_spawn's copy forbids that until the first
 * poll, core.h).
 *
 * `vt` is the future's vtable: its size and output_size size the cell.
 * init(f, arg) runs once, on the calling thread, inside the spawn, with
 * `f` at vt->size bytes of the cell, uninitialised but for f->vtable ==
 * vt. It fills in the rest and returns 0, or a negative code: the spawn
 * then frees the cell without dropping the future (init leaves nothing
 * to release) and returns that code. init must not block (it delays the
 * spawning thread's scheduler) and must leave f->vtable alone.
 *
 * Returns 0; KR_EINVAL (NULL vt, poll or init, a size below a kr_future
 * or above 1 GiB, not called from inside a runtime: kr_spawn_in_place);
 * KR_ESHUTDOWN; KR_ENOMEM; or init's code. On failure *join is empty.
 */
typedef int (*kr_future_init_fn)(kr_future *f, void *arg);
KR_API int kr_spawn_in_place(const kr_future_vtable *vt, kr_future_init_fn init,
                             void *arg, kr_join_handle *join);
KR_API int kr_runtime_spawn_in_place(kr_runtime *rt, const kr_future_vtable *vt,
                                     kr_future_init_fn init, void *arg,
                                     kr_join_handle *join);

/*
 * Spawns onto `rt` from any thread. Same as kr_spawn otherwise; a spawn from
 * a thread outside `rt` wakes the runtime if it is parked.
 */
KR_API int kr_runtime_spawn(kr_runtime *rt, const kr_future *future,
                            kr_join_handle *join);

/* Detaches the task (if any) and empties the handle. NULL is ignored. */
KR_API void kr_join_handle_drop(kr_join_handle *join);

/*
 * Requests cancellation of the task: its future is dropped (on the runtime,
 * at its next scheduling, exactly once) and its handle then reads
 * KR_ECANCELED. No effect on a completed task. The handle stays valid
 * (await or drop it). Like every operation on a handle, not concurrently
 * with another operation on the same handle; to abort from another thread
 * while the handle is awaited, take a kr_abort_handle first.
 * Returns 0 or KR_EINVAL.
 */
KR_API int kr_join_handle_abort(kr_join_handle *join);

/*
 * An abort handle: its own reference to a task, usable from any thread
 * while the join handle is awaited or dropped (Tokio's AbortHandle).
 */
typedef struct kr_abort_handle kr_abort_handle;

/* Makes an abort handle for the handle's task. Returns 0, or KR_EINVAL
 * (NULL arguments, an empty or finished handle). */
KR_API int kr_join_handle_abort_handle(const kr_join_handle *join,
                                       kr_abort_handle **out);
/* Aborts the task (as kr_join_handle_abort). Any thread; NULL is ignored. */
KR_API void kr_abort_handle_abort(kr_abort_handle *ah);
/* Releases the abort handle. Any thread; NULL is ignored. */
KR_API void kr_abort_handle_drop(kr_abort_handle *ah);

/* True once the task has completed or been cancelled. */
KR_API bool kr_join_handle_is_finished(const kr_join_handle *join);

/* After the handle yielded: 0, or KR_ECANCELED if the task was cancelled.
 * Before: KR_EAGAIN. On an empty handle: KR_EINVAL. */
KR_API int kr_join_handle_error(const kr_join_handle *join);

/* ------------------------------------------------------------------------ */
/* The current runtime, handles, entering a runtime                         */
/* ------------------------------------------------------------------------ */

/*
 * The runtime the calling thread is inside: the one it runs (a task, a
 * block_on future, a worker), else the one it entered (kr_runtime_enter)
 * or whose blocking pool it belongs to (a kr_spawn_blocking job); NULL
 * anywhere else, and once that runtime was freed (Tokio's
 * Handle::try_current). Borrowed: valid until kr_runtime_free, which
 * must not race with its use; hold a kr_handle to outlive the runtime.
 */
KR_API kr_runtime *kr_runtime_current(void);

/* A runtime's id (Tokio's runtime::Id): unique in the process, never
 * reused, never 0. 0 for NULL. */
KR_API uint64_t kr_runtime_id(const kr_runtime *rt);

/*
 * A handle: a refcounted reference to a runtime that may outlive it
 * (Tokio's Handle). Spawn and block_on through it work while the runtime
 * lives, and return KR_ESHUTDOWN once it was shut down or freed; the
 * handle itself stays valid until its last kr_handle_drop. Any thread.
 */
typedef struct kr_handle kr_handle;

/* A new handle of `rt`. Returns 0, or KR_EINVAL (NULL argument). */
KR_API int kr_runtime_handle(kr_runtime *rt, kr_handle **out);

/* A new handle of kr_runtime_current()'s runtime (Tokio's
 * Handle::current). Returns 0; KR_ESRCH (the thread is inside no runtime,
 * *out is NULL); KR_EINVAL (NULL out). */
KR_API int kr_handle_current(kr_handle **out);

/* Another reference to the same handle; NULL for NULL. */
KR_API kr_handle *kr_handle_clone(kr_handle *h);

/* Releases a reference. NULL is ignored. */
KR_API void kr_handle_drop(kr_handle *h);

/* As kr_runtime_spawn on the handle's runtime. Returns its codes, and
 * KR_ESHUTDOWN once the runtime was freed; KR_EINVAL for a NULL handle. */
KR_API int kr_handle_spawn(kr_handle *h, const kr_future *future,
                           kr_join_handle *join);

/* As kr_runtime_block_on on the handle's runtime (it drives the runtime
 * on this thread, as kr_runtime_block_on does, unlike Tokio's
 * Handle::block_on on a current-thread runtime). KR_ESHUTDOWN once the
 * runtime was freed (the future is left untouched then). */
KR_API int kr_handle_block_on(kr_handle *h, kr_future *future, void *out);

/* The id of the handle's runtime, also after it was freed; 0 for NULL. */
KR_API uint64_t kr_handle_runtime_id(const kr_handle *h);

/*
 * Entering a runtime from a plain thread (Tokio's Runtime::enter /
 * Handle::enter and its EnterGuard): until kr_runtime_exit, kr_spawn,
 * kr_spawn_in_place, kr_spawn_blocking and kr_task_spawn without a
 * runtime spawn onto it, sockets and fds made here register with its
 * reactor, and kr_runtime_current returns it. Enters nest; each exit
 * restores what the matching enter found, and must come in reverse
 * order, on the same thread. The guard holds a handle reference: after
 * the runtime is freed, spawns there return KR_ESHUTDOWN. Sockets made
 * on an entered thread while kr_runtime_free runs are not supported (as
 * anywhere: free the runtime after its users).
 * Timers are not entered: a kr_sleep must still be polled by a task or
 * block_on of a runtime.
 */
typedef struct kr_enter_guard {
    void *handle_;
    void *prev_;
    const void *thread_;
    unsigned long depth_;
} kr_enter_guard;

/* Returns 0, or KR_EINVAL (NULL argument). */
KR_API int kr_runtime_enter(kr_runtime *rt, kr_enter_guard *guard);
KR_API int kr_handle_enter(kr_handle *h, kr_enter_guard *guard);

/* Leaves what `guard` entered. Returns 0, or KR_EINVAL: NULL, already
 * exited, another thread's guard, or not the innermost enter of this
 * thread (Tokio panics there); nothing is changed then. */
KR_API int kr_runtime_exit(kr_enter_guard *guard);

/* ------------------------------------------------------------------------ */
/* Yield and cooperative budget                                             */
/* ------------------------------------------------------------------------ */

/* A future that returns PENDING once and READY the next time. No output.
 * The task goes to the back of its run queue; while I/O sources are
 * registered, only after the scheduler's next look at I/O (a non-blocking
 * one, as Tokio defers yielded tasks until its driver's next poll), so a
 * task yielding in a loop does not hold back other tasks' readiness. */
typedef struct kr_yield {
    kr_future base;
    int yielded_;
} kr_yield;

KR_API extern const kr_future_vtable kr__yield_vtable;
static inline kr_yield kr_yield_now(void) {
    kr_yield y = {{&kr__yield_vtable}, 0};
    return y;
}

/*
 * Spends one unit of the running task's cooperative budget. Returns true if
 * the caller may proceed; false if the budget is used up, in which case the
 * context's waker has been woken and the caller must return KR_PENDING.
 * Outside a runtime the budget is unlimited. Leaf futures that can be ready
 * many times in a row (join handles, channel receives) call this.
 */
KR_API bool kr_coop_proceed(kr_context *cx);

/* ------------------------------------------------------------------------ */
/* Allocator                                                                */
/* ------------------------------------------------------------------------ */

typedef struct kr_allocator {
    void *(*malloc)(size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void (*free)(void *ptr);
} kr_allocator;

/*
 * Replaces the functions kairo allocates with (like uv_replace_allocator).
 * Must be called while no runtime exists. A NULL argument restores the C
 * library's. Returns 0 or KR_EINVAL (a NULL member).
 *
 * The interface carries no alignment: `malloc` need only align as the C
 * library's does (alignof(max_align_t)). kairo aligns within what it gets:
 * where it wants a cache-line or page-aligned block it asks for that many
 * bytes more and uses an aligned address inside the block (with the C
 * library's allocator it calls aligned_alloc instead). Memory freed after
 * the runtime that made it (a waker kept past kr_runtime_free) returns to
 * the allocator current at that time, so replace it only while no kairo
 * memory is out.
 */
KR_API int kr_set_allocator(const kr_allocator *a);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_RUNTIME_H */
