/*
 * sched/stats.h: a worker's counters and histograms (kairo/observe.h), and
 * the timed poll behind the histograms and the slow-poll and
 * blocked-worker reports. Both flavors keep one kr__wstats per worker (the
 * current-thread runtime: one, the core's).
 *
 * Protocol (counters). Every field is written by one thread only, the
 * worker that owns the struct (for the current-thread runtime, the holder
 * of the core), with a relaxed load and a relaxed store: no atomic
 * read-modify-write, no lock prefix, and the struct sits on lines of its
 * own so no other writer shares them. Readers (kr_runtime_metrics_get, the
 * monitor) load each field relaxed: they see some value the owner stored,
 * which is all a counter promises. Nothing is published through a counter,
 * so nothing needs acquire or release - except the poll-in-progress record
 * below.
 *
 * Protocol (the poll in progress, a seqlock keyed by `poll_start`). Kept
 * only while blocked-worker detection is on. The owner, before a poll:
 *   store poll_start = 0 (relaxed); release fence; store cur_* (relaxed);
 *   store poll_start = t0 (release);
 * and after it: store poll_start = 0 (relaxed). A reader (the monitor):
 *   s1 = poll_start (acquire); read cur_* (relaxed); acquire fence;
 *   s2 = poll_start (relaxed); the record is that poll's if s1 == s2 != 0.
 * If the reader saw any cur_* of a later poll, the fences order the
 * owner's store of 0 before it, so s2 != s1 (t0 values never repeat: the
 * clock is monotonic and a poll takes time). cur_* hold only an id and
 * pointers to static strings (vtable names, await sites, spawn files):
 * nothing the reader dereferences can be freed under it. A task's name
 * (the builder's copy, in the cell) could be, so it is not recorded here.
 *
 * Sampling (the histograms; kr_histogram_config.sample, kairo/observe.h).
 * A timed poll costs ~75 instructions (two clock reads, the bucket, the
 * record), against ~170-500 for a whole poll of a small task, so the
 * histograms time a sample of the polls and weight it:
 *   - The owner counts polls down (`left`) from an interval drawn at
 *     random in [1, 2P - 1], mean P = `interval`: the smaller of the two
 *     histograms' samples, 1 with a detector or track_tasks on. The poll
 *     that takes the count to 0 is timed; the count starts again. This
 *     decrement replaces the "anything timed?" test the fast path had, so
 *     an untimed poll costs what it did with everything off.
 *   - Poll time: each timed poll adds P to its bucket.
 *   - Schedule latency needs the time of the wake that queued the polled
 *     task, and a clock read at every wake would cost more than the rest
 *     together. So only one task in T (the latency's sample) stamps its
 *     wakes: it is chosen at its spawn, at random intervals, by the
 *     spawning worker's own countdown (`spawn_left`, kr__track_rearm) or,
 *     for a spawn from outside the workers, the spawning thread's
 *     (kr__track_pick), and gets a tracking record (task.h, TRACKED).
 *     A timed poll of a tracked task adds P x T to the latency's bucket. The wake paths
 *     test the TRACKED bit, read-only after the spawn, where they tested
 *     a flag before: untracked tasks pay nothing more.
 * Each bucket is then an unbiased estimate of the count; with both
 * samples 1 every poll is timed and every task tracked, and the counts
 * are exact, as Tokio's. A runtime with fewer than T tasks may track none.
 */
#ifndef KR_SCHED_STATS_H
#define KR_SCHED_STATS_H

#include "core/context.h"
#include "core/runtime.h"
#include "task/task.h"
#include "util/atomic.h"
#include "util/ticks.h"

typedef struct kr__hist {
    unsigned n;      /* buckets in use; 0: off */
    unsigned linear; /* KR_HISTOGRAM_LINEAR */
    /* A span of ticks (util/ticks.h) in bucket widths is
     * ticks * recip >> 64: a multiplication, not a division, per record.
     * 0: the width is one tick (the quotient is the span). */
    uint64_t recip;
    _Atomic uint64_t count[KR_HISTOGRAM_MAX_BUCKETS];
} kr__hist;

typedef struct kr__wstats {
    _Atomic uint64_t polls; /* also the monitor's sign of progress */
    _Atomic uint64_t spawned;
    _Atomic uint64_t steal_ops, stolen_tasks;
    _Atomic uint64_t overflows, overflow_tasks; /* to the inject queue */
    _Atomic uint64_t inject_pops;               /* tasks taken from it */
    _Atomic uint64_t parks, unparks, noops;
    _Atomic uint64_t budget_yields, lifo_hits;
    _Atomic uint64_t busy_ns;    /* busy time up to busy_since */
    _Atomic uint64_t busy_since; /* clock when it last woke; 0: parked */

    /* Owner-only configuration, copied from the runtime's at creation. */
    unsigned worker;
    unsigned mode; /* what the timed poll does: WS_* bits (stats.c) */
    /* Sampling (protocol above): one poll in `interval` is timed on
     * average; a poll-time sample counts poll_weight (= interval), a
     * schedule-latency one lat_weight (interval x the tracked share). */
    unsigned interval; /* 0: nothing is timed */
    uint64_t poll_weight, lat_weight;
    /* Owner-only: polls until the next timed one, counted down by the
     * fast path (UINT32_MAX when nothing is timed: it reaches 0 after
     * 2^32 polls, and the timed path then only starts it again). */
    uint32_t left;
    /* Owner-only: this worker's spawns until its next tracked one
     * (kr__track_rearm; UINT32_MAX when nothing is tracked). */
    uint32_t spawn_left;
    uint32_t rng;         /* the intervals' xorshift state */
    unsigned reuse_chain; /* `chain` may start a poll (stats.c) */
    /* Times below are in ticks (util/ticks.h): the TSC where the kernel
     * keeps time with it, else ns. */
    uint64_t slow_ticks;    /* slow_poll_ns; 0: off */
    uint64_t blocked_ticks; /* blocked_worker_ns; 0: off */
    /* Precise clock: the end of the previous poll, reused as the start
     * of the next one when nothing but a queue pop came between
     * (kr__wstats_chain_break clears it). Owner-only. */
    uint64_t chain;
    /* Owner-only: polls when the worker last woke (a park with no poll
     * since is a noop). */
    uint64_t polls_at_unpark;
    kr_poll_report_fn report;
    void *report_arg;

    /* The task being polled (NULL between polls): a relaxed store before
     * and after each poll, for dumps to say which worker runs a task (a
     * dump compares pointers, it never dereferences this). */
    _Atomic(kr__task *) running;

    /* The poll in progress (protocol above). */
    _Atomic uint64_t poll_start;
    _Atomic uint64_t cur_id;
    _Atomic(const char *) cur_name;
    _Atomic(const char *) cur_file;
    _Atomic int cur_line;
    _Atomic(const kr_await_site *) cur_site;
    uint64_t reported_start; /* the monitor's: last poll it reported */
    /* Owner-only: a named task's name, copied before its poll for a
     * slow-poll report (the cell may be gone after the poll). */
    char cur_task_name[KR_TASK_NAME_MAX + 1];

    kr__hist poll;
    kr__hist lat; /* schedule latency: kr__task_track.woken to poll */
} KR__ALIGNED_CL kr__wstats;

/* A histogram's sampling interval (kr_histogram_config.sample; 0: the
 * default). */
static inline unsigned kr__hist_sample(const kr_histogram_config *c) {
    return c->sample != 0 ? c->sample : KR_HISTOGRAM_SAMPLE_DEFAULT;
}
/* Which tasks of the runtime under `cfg` get a tracking record
 * (kr__task_track): 0 none, 1 every one (track_tasks, or a
 * schedule-latency histogram sampling every task), N one in N spawns on
 * average (the schedule-latency histogram's sample). */
static inline unsigned kr__cfg_track_every(const kr_runtime_config *cfg) {
    if (cfg->track_tasks)
        return 1;
    if (cfg->sched_latency_histogram.buckets == 0)
        return 0;
    return kr__hist_sample(&cfg->sched_latency_histogram);
}

/* Any thread, at a spawn, under a runtime whose kr__cfg_track_every is
 * `every`: KR__NEW_TRACK if this task gets a tracking record, else 0.
 * One in `every` on average, at intervals drawn at random per thread (so
 * that a periodic spawn pattern cannot hide from it). Requires: every
 * != 0 (callers test it first: 0 costs them one comparison). */
unsigned kr__track_pick_slow(unsigned every);
extern __thread uint32_t kr__track_left
    __attribute__((tls_model("initial-exec")));
static inline unsigned kr__track_pick(unsigned every) {
    KR__REQUIRE(every != 0, "every %u", every);
    /* Starts at 1 on every thread (stats.c), so a thread's first spawn
     * takes the slow path, which draws its first interval. */
    if (__builtin_expect(--kr__track_left != 0, 1))
        return 0;
    return kr__track_pick_slow(every);
}
/* kr__track_pick's countdown step alone, for callers that keep their
 * common path a leaf: the new count, and at 0 the caller calls
 * kr__track_pick_slow out of line, which answers for this spawn
 * (Requires there, a KR_DEBUG assertion: every != 0). */
static inline uint32_t kr__track_tick_tls(void) { return --kr__track_left; }
/* The owner's pick, at a spawn on the thread that owns the worker (or
 * the current-thread core) whose countdown is `left` (kr__wstats
 * .spawn_left): the caller decrements it in its common path, with no
 * test of `every` (it starts at UINT32_MAX where nothing is tracked),
 * and at 0 tail-calls its out-of-line pick, which calls kr__track_rearm:
 * that starts the countdown again and answers for the spawn that took
 * it to 0, KR__NEW_TRACK, or 0 when `every` is 0 (then after 2^32
 * spawns). A call whose answer the common path waits for made it save
 * registers (ct_spawn.c, multi_thread.c). */
unsigned kr__track_rearm(uint32_t *left, unsigned every);

/* kr__track_pick, or 0 when nothing is tracked. */
static inline unsigned kr__track_how(unsigned every) {
    return __builtin_expect(every == 0, 1) ? 0 : kr__track_pick(every);
}

/* A wake's stamp (any thread, before the push that queues t; the pop
 * orders it before the poller's read): the clock in t's tracking record.
 * Requires: t is tracked. Out of line: the wake path's code stays as it
 * was. */
void kr__wstats_stamp(kr__task *t);
/* The wake path's call: stamps t if it is tracked. (A runtime with
 * track_tasks and no schedule-latency histogram stamps for nothing; it
 * times every poll anyway.) */
static inline void kr__wstats_stamp_if(kr__task *t) {
    if (__builtin_expect(kr__task_tracked(t), 0))
        kr__wstats_stamp(t);
}

/* Sets up `s` for worker `index` under the runtime's configuration. */
void kr__wstats_init(kr__wstats *s, const kr_runtime_config *cfg,
                     unsigned index);

/* Owner: the worker did something besides popping a task since its last
 * poll (maintenance, I/O, timers, parking): the next poll reads the clock
 * afresh instead of starting where the last one ended. */
static inline void kr__wstats_chain_break(kr__wstats *s) { s->chain = 0; }

/* Owner: adds `n` to a counter (a relaxed load and store). */
static inline void kr__stat_add(_Atomic uint64_t *c, uint64_t n) {
    kr__store_relaxed(c, kr__load_relaxed(c) + n);
}
static inline void kr__stat_inc(_Atomic uint64_t *c) { kr__stat_add(c, 1); }

/* The timed poll: kr__task_run with the clock read around it, the
 * histogram, the slow-poll report and the record the monitor reads. */
bool kr__wstats_run_timed(kr__wstats *s, kr__task *t, const void *owner);

/* Runs one poll of t (kr__task_run), counting it, and timing it if asked.
 * Owner: `owner` is the scheduler's kr__ctx.worker value for `s`.
 * `may_move` (a constant): the worker can leave this thread during the
 * poll (block_in_place hands it to another). */
static inline bool kr__wstats_run_(kr__wstats *s, kr__task *t,
                                   const void *owner, bool may_move) {
    kr__stat_inc(&s->polls);
    kr__store_relaxed(&s->running, t);
    /* The countdown (protocol above): every poll with a detector on, one
     * in `interval` for the histograms, none (for 2^32 polls) if off. */
    if (__builtin_expect(--s->left == 0, 0))
        return kr__wstats_run_timed(s, t, owner);
    bool again = kr__task_run(t);
    /* block_in_place may have handed the worker (and `s`) to another
     * thread during the poll (kr__ctx.worker moved): then `s` is that
     * thread's to write. */
    if (!may_move || __builtin_expect(kr__ctx.worker == owner, 1))
        kr__store_relaxed(&s->running, NULL);
    return again;
}
static inline bool kr__wstats_run(kr__wstats *s, kr__task *t,
                                  const void *owner) {
    return kr__wstats_run_(s, t, owner, true);
}
/* As kr__wstats_run, for a worker that never leaves its thread during a
 * poll (the current-thread core: block_in_place refuses there), which
 * spares the check. */
static inline bool kr__wstats_run_pinned(kr__wstats *s, kr__task *t,
                                         const void *owner) {
    return kr__wstats_run_(s, t, owner, false);
}

/* Owner, around a park: busy time and the park/unpark counts; a park
 * with no poll since the last unpark is a noop. */
void kr__wstats_park(kr__wstats *s);
void kr__wstats_unpark(kr__wstats *s);
/* Owner: a wake inside a park that goes back to sleep. */
static inline void kr__wstats_noop(kr__wstats *s) { kr__stat_inc(&s->noops); }

/* Any thread: adds s's counters into a worker metrics record (the
 * scheduler fills in the queue depth). */
void kr__wstats_read(kr__wstats *s, kr_worker_metrics *m);

/* Adds a worker record into the runtime-wide sums. */
void kr__wstats_sum(kr_runtime_metrics *m, const kr_worker_metrics *w);

/* The monitor: if s's worker has been in one poll for at least
 * blocked_worker_ns (and that poll was not reported yet), reports it, with
 * `queued` tasks behind it. `now` is kr__ticks(). Returns true if it
 * reported. */
bool kr__wstats_check_blocked(kr__wstats *s, uint64_t now, unsigned queued);

#endif
