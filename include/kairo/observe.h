/*
 * kairo/observe.h: the types of runtime observability - histograms of
 * poll durations and schedule latencies, the per-worker and runtime-wide
 * metrics, and slow-poll / blocked-worker reports. The calls that read them
 * (kr_runtime_metrics_get, kr_runtime_worker_metrics_get, kr_runtime_dump)
 * and the configuration fields that switch them on are in kairo/runtime.h;
 * docs/observability.md is the guide.
 *
 * Cost. The counters are always on: each worker keeps its own, written
 * only by itself (a relaxed load and store, no atomic read-modify-write, no
 * shared cache line), and a reader on any thread sums them with relaxed
 * loads. So a snapshot is not atomic across counters: each is exact for
 * some instant during the call. The histograms are off unless configured
 * and, on, sample (kr_histogram_config.sample); the slow-poll and
 * blocked-worker checks read the clock around every poll.
 *
 * Where kairo differs from Tokio: Tokio's RuntimeMetrics are mostly
 * unstable (tokio_unstable) and read one value per call; here one call
 * fills a struct. Tokio has no slow-poll or blocked-worker detector
 * (proposed in tokio#4730 and declined).
 */
#ifndef KAIRO_OBSERVE_H
#define KAIRO_OBSERVE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Histograms                                                               */
/* ------------------------------------------------------------------------ */

/* The most buckets a histogram may have. */
#define KR_HISTOGRAM_MAX_BUCKETS 32

typedef enum kr_histogram_scale {
    /* Bucket 0 is [0, width), bucket i is [width * 2^(i-1), width * 2^i);
     * the last bucket also counts everything above. */
    KR_HISTOGRAM_LOG2 = 0,
    /* Bucket i is [i * width, (i + 1) * width); the last bucket also counts
     * everything above. */
    KR_HISTOGRAM_LINEAR = 1
} kr_histogram_scale;

/* The default sampling interval of a histogram (kr_histogram_config), and
 * the largest kr_runtime_new accepts (above it: KR_EINVAL). */
#define KR_HISTOGRAM_SAMPLE_DEFAULT 64u
#define KR_HISTOGRAM_SAMPLE_MAX     65536u

/*
 * One histogram's buckets (Tokio's HistogramConfiguration). buckets == 0,
 * the default, turns the histogram off: no clock is read for it. width_ns
 * 0 means 1000 (1 us): with LOG2 and 20 buckets, the last starts at
 * 0.52 s.
 *
 * `sample`: the histogram records a sample and counts each sampled event
 * `sample` times, so that each bucket estimates the true count at a
 * fraction of the cost (a timed poll is ~75 instructions; a small task's
 * whole poll ~200):
 *   - the poll-time histogram times one poll in `sample` on each worker,
 *     at random intervals averaging `sample`;
 *   - the schedule-latency histogram follows one task in `sample`, chosen
 *     at random when it is spawned, and records every wake-to-poll delay
 *     of the tasks it follows (a runtime with fewer than `sample` tasks
 *     may follow none of them).
 * 0 means KR_HISTOGRAM_SAMPLE_DEFAULT (64); 1 records every poll and every
 * task exactly, as Tokio's histograms do (and costs what the README's
 * overhead table says). This is where kairo differs from Tokio, whose
 * histograms have no sampling: by default here the counts are estimates,
 * multiples of `sample`, and their sum is near, not equal to, the polls.
 * The cost with sampling is the fast paths' tests (bench/observe.sh).
 */
typedef struct kr_histogram_config {
    unsigned buckets; /* 0 (off) .. KR_HISTOGRAM_MAX_BUCKETS */
    unsigned scale;   /* a kr_histogram_scale */
    uint64_t width_ns;
    unsigned sample; /* 1 in `sample` (above); 0: the default; at most
                      * KR_HISTOGRAM_SAMPLE_MAX */
} kr_histogram_config;

/* A histogram's counts: `buckets` of them are used (0: it is off). */
typedef struct kr_histogram {
    unsigned buckets;
    uint64_t count[KR_HISTOGRAM_MAX_BUCKETS];
} kr_histogram;

/*
 * The range [*lo, *hi) of bucket `i` under `c` (for the last bucket *hi is
 * UINT64_MAX). Returns 0, or KR_EINVAL (NULL `c`, `i` beyond c->buckets,
 * an unknown scale).
 */
KR_API int kr_histogram_bucket_range(const kr_histogram_config *c, unsigned i,
                                     uint64_t *lo, uint64_t *hi);

/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * One worker's counters (the current-thread runtime has one worker: the
 * thread in block_on). All counts are since the runtime was made.
 */
typedef struct kr_worker_metrics {
    uint64_t polls;             /* task polls */
    uint64_t spawned;           /* tasks spawned from this worker */
    uint64_t steal_ops;         /* successful steals from another worker */
    uint64_t stolen_tasks;      /* tasks those steals took (their sum) */
    uint64_t overflows;         /* times the local queue overflowed into the
                               inject queue (half of it moved) */
    uint64_t parks;             /* times the worker went to sleep */
    uint64_t unparks;           /* times it woke up from that sleep */
    uint64_t noops;             /* wake-ups that found nothing to do (Tokio's
                               worker_noop_count): a park with no poll since
                               the last unpark, or a wake inside a park that
                               went straight back to sleep */
    uint64_t budget_yields;     /* polls that ended because the cooperative
                               budget ran out (a forced yield) */
    uint64_t lifo_hits;         /* tasks taken from the LIFO slot */
    uint64_t busy_ns;           /* time not parked, so far */
    unsigned local_queue_depth; /* tasks in its run queue now (+ LIFO) */
    kr_histogram poll_time;     /* poll durations */
    /* Schedule latencies of its polls: wake (spawn, yield) to poll
     * (kr_runtime_config.sched_latency_histogram). */
    kr_histogram sched_latency;
} kr_worker_metrics;

/* Counters, for tests and monitoring: the sums over the workers, and the
 * runtime-wide ones. */
typedef struct kr_runtime_metrics {
    uint64_t spawned;       /* tasks ever spawned */
    uint64_t alive;         /* tasks spawned and not yet completed */
    uint64_t polls;         /* task polls */
    uint64_t remote_spawns; /* spawns that came from outside the runtime */
    unsigned workers;
    /* The blocking pool (all 0 until its first job). */
    unsigned blocking_threads;    /* threads alive (busy or idle) */
    unsigned blocking_idle;       /* of those, waiting for a job */
    unsigned blocking_queued;     /* jobs waiting for a thread */
    unsigned blocking_unfinished; /* jobs still running when the last
                                     kr_runtime_shutdown returned
                                     KR_ETIMEDOUT; else 0 */
    unsigned blocking_busy;       /* threads running a job now */
    uint64_t completed;           /* tasks that completed (or were cancelled) */
    uint64_t remote_schedules;    /* wakes that came from outside the runtime
                                  (through the inject queue) */
    /* Sums of the kr_worker_metrics fields of the same names. */
    uint64_t steal_ops, stolen_tasks, overflows, parks, unparks, noops;
    uint64_t budget_yields, lifo_hits, busy_ns;
    uint64_t local_queue_depth;  /* over all workers */
    uint64_t inject_queue_depth; /* tasks in the inject queue now */
    /* The I/O driver: events its turns returned, and of those, the ones
     * that found a waiting task to wake. */
    uint64_t io_events, io_ready;
    /* Completion operations submitted to the io_uring driver's ring so
     * far (file operations, stream reads: docs/io_uring.md); 0 on epoll. */
    uint64_t io_ops;
    uint64_t timer_entries;     /* sleeps registered on the timer wheels now */
    kr_histogram poll_time;     /* summed over the workers */
    kr_histogram sched_latency; /* summed over the workers */
} kr_runtime_metrics;

/* ------------------------------------------------------------------------ */
/* Slow polls and blocked workers                                           */
/* ------------------------------------------------------------------------ */

typedef enum kr_poll_report_kind {
    /* A poll returned after running longer than slow_poll_ns. Reported by
     * the worker that ran it, right after the poll. */
    KR_REPORT_SLOW_POLL = 0,
    /* A worker's poll has run longer than blocked_worker_ns and has not
     * returned yet. Reported by the monitor thread (the multi-thread
     * runtime's; the current-thread runtime starts one when
     * blocked_worker_ns is set), once per stuck poll, while the poll still
     * runs. */
    KR_REPORT_WORKER_BLOCKED = 1
} kr_poll_report_kind;

typedef struct kr_poll_report {
    kr_poll_report_kind kind;
    unsigned worker;    /* the worker's index (0 on current-thread) */
    uint64_t task_id;   /* the task's id, as in the dump */
    const char *future; /* its future's vtable name */
    /* The task's name (kr_task_builder), or NULL: unnamed, or a blocked
     * worker's report (the monitor reads only static strings). */
    const char *name;
    /* Where it was spawned (a builder's spawn, kairo/task.h), or NULL. */
    const char *spawn_file;
    int spawn_line;
    /* The await the poll resumed from (NULL: its first poll, or no await
     * site was recorded), and for a slow poll the one it stopped at (NULL
     * when it completed). The slow code ran between the two. */
    const kr_await_site *resumed_from;
    const kr_await_site *stopped_at;
    uint64_t duration_ns; /* the poll's length; so far, if blocked */
    unsigned queued;      /* blocked: tasks queued on that worker behind it */
} kr_poll_report;

/*
 * Called with each report. It runs on the worker (slow poll) or the monitor
 * thread (blocked worker): it must be quick, must not block, and must not
 * call into the runtime except for kr_runtime_metrics_get. The report and
 * its strings are valid only during the call.
 */
typedef void (*kr_poll_report_fn)(const kr_poll_report *r, void *arg);

/*
 * The default reporter: one line on stderr, e.g.
 *   kairo: slow poll: task 17 "conn" (handler) on worker 2 ran 52.1 ms,
 *     spawned at srv.c:40, resumed from srv.c:88 (serve), stopped at -
 *   kairo: worker 1 blocked: task 9 (cruncher) running for 1.20 s,
 *     spawned at -, resumed from -, 3 tasks queued behind it
 * (each on one line). kr_poll_report_format writes the same text, without
 * the newline, into buf (at most `size` bytes, NUL-terminated) and returns
 * its length as snprintf does.
 */
KR_API void kr_poll_report_stderr(const kr_poll_report *r, void *arg);
KR_API int kr_poll_report_format(const kr_poll_report *r, char *buf,
                                 size_t size);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_OBSERVE_H */
