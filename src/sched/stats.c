/*
 * sched/stats.c: a worker's counters and histograms, the timed poll, and
 * the slow-poll and blocked-worker reports (protocols in stats.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/context.h"
#include "sched/stats.h"
#include "util/clock.h"

/* A histogram's default bucket width: 1 us. */
#define DEFAULT_WIDTH_NS 1000u

static void hist_init(kr__hist *h, const kr_histogram_config *c) {
    memset(h, 0, sizeof(*h));
    if (c->buckets == 0)
        return;
    h->n = c->buckets > KR_HISTOGRAM_MAX_BUCKETS ? KR_HISTOGRAM_MAX_BUCKETS
                                                 : c->buckets;
    h->linear = c->scale == KR_HISTOGRAM_LINEAR;
    uint64_t w =
        kr__ticks_from_ns(c->width_ns != 0 ? c->width_ns : DEFAULT_WIDTH_NS);
    /* floor(2^64 / w): the quotient it gives is floor(span / w) or one
     * less at exact multiples, a tick's error. */
    h->recip =
        w <= 1 ? 0 : (uint64_t)(((unsigned __int128)1 << 64) / (uint64_t)w);
}

static unsigned hist_index(const kr__hist *h, uint64_t ticks) {
    uint64_t q = h->recip == 0
                     ? ticks
                     : (uint64_t)(((unsigned __int128)ticks * h->recip) >> 64);
    uint64_t i;
    if (h->linear)
        i = q;
    else
        i = q == 0 ? 0 : (uint64_t)(64 - __builtin_clzll(q));
    return i >= h->n ? h->n - 1 : (unsigned)i;
}

static inline void hist_record(kr__hist *h, uint64_t ticks, uint64_t weight) {
    kr__stat_add(&h->count[hist_index(h, ticks)], weight);
}

/* xorshift32: the sampling intervals only need to be irregular. */
static uint32_t next_rand(uint32_t *x) {
    uint32_t v = *x;
    v ^= v << 13;
    v ^= v >> 17;
    v ^= v << 5;
    return *x = v;
}
/* An interval drawn uniformly from [1, 2n - 1]: mean n; 1 for n <= 1. */
static uint32_t interval(uint32_t *rng, unsigned n) {
    if (n <= 1)
        return 1;
    uint64_t span = 2 * (uint64_t)n - 1;
    return 1 + (uint32_t)(next_rand(rng) % span);
}

/* The spawning thread's countdown to its next tracked task, and the state
 * of its intervals (stats.h, kr__track_pick). */
__thread uint32_t kr__track_left __attribute__((tls_model("initial-exec"))) = 1;
static __thread uint32_t track_rng;
static __thread bool track_started; /* this thread drew its first interval */

static uint32_t *track_rng_get(void) {
    if (track_rng == 0) /* a seed per thread, never 0 */
        track_rng = (uint32_t)(uintptr_t)&track_rng ^ 0x9e3779b9u;
    if (track_rng == 0)
        track_rng = 1;
    return &track_rng;
}

unsigned kr__track_rearm(uint32_t *left, unsigned every) {
    if (every == 0) {
        *left = UINT32_MAX;
        return 0;
    }
    *left = interval(track_rng_get(), every);
    return KR__NEW_TRACK;
}

unsigned kr__track_pick_slow(unsigned every) {
    KR__REQUIRE(every != 0, "every %u", every);
    kr__track_left = interval(track_rng_get(), every);
    if (!track_started) { /* start at a random point, not tracked */
        track_started = true;
        if (every > 1)
            return 0;
    }
    return KR__NEW_TRACK;
}

static void hist_read(const kr__hist *h, kr_histogram *out) {
    out->buckets = h->n;
    for (unsigned i = 0; i < h->n; i++)
        out->count[i] += kr__load_relaxed(&h->count[i]);
}

int kr_histogram_bucket_range(const kr_histogram_config *c, unsigned i,
                              uint64_t *lo, uint64_t *hi) {
    if (c == NULL || i >= c->buckets || i >= KR_HISTOGRAM_MAX_BUCKETS ||
        c->scale > KR_HISTOGRAM_LINEAR)
        return KR_EINVAL;
    uint64_t w = c->width_ns != 0 ? c->width_ns : DEFAULT_WIDTH_NS;
    uint64_t l, h;
    if (c->scale == KR_HISTOGRAM_LINEAR) {
        l = (uint64_t)i * w;
        h = l + w;
    } else {
        l = i == 0 ? 0 : w << (i - 1);
        h = w << i;
    }
    if (i + 1 == c->buckets || i + 1 == KR_HISTOGRAM_MAX_BUCKETS)
        h = UINT64_MAX;
    if (lo != NULL)
        *lo = l;
    if (hi != NULL)
        *hi = h;
    return 0;
}

/* What the timed poll does (kr__wstats.mode), one word so that the hot
 * path tests bits of a register rather than loading a flag each time. */
#define WS_TRACK 1u  /* track_tasks: tracked tasks' polls, last poll */
#define WS_LAT   2u  /* schedule-latency histogram */
#define WS_HIST  4u  /* poll-time histogram */
#define WS_SLOW  8u  /* slow-poll reports */
#define WS_WATCH 16u /* the poll-in-progress record (blocked workers) */

void kr__wstats_init(kr__wstats *s, const kr_runtime_config *cfg,
                     unsigned index) {
    memset(s, 0, sizeof(*s));
    s->worker = index;
    unsigned track_every = kr__cfg_track_every(cfg);
    bool hist = cfg->poll_histogram.buckets != 0;
    bool lat = cfg->sched_latency_histogram.buckets != 0;
    /* every: each poll is timed (a detector or track_tasks is on);
     * timed: some are. */
    bool every = cfg->slow_poll_ns != 0 || cfg->blocked_worker_ns != 0 ||
                 cfg->track_tasks;
    bool timed = hist || lat || every;
    if (timed || track_every != 0)
        kr__ticks_init();
    /* The sampling interval: the smaller sample of the histograms on. */
    unsigned p = UINT32_MAX;
    if (hist)
        p = kr__hist_sample(&cfg->poll_histogram);
    if (lat && kr__hist_sample(&cfg->sched_latency_histogram) < p)
        p = kr__hist_sample(&cfg->sched_latency_histogram);
    if (every || p == 0)
        p = 1;
    s->interval = timed ? p : 0;
    s->poll_weight = p;
    s->lat_weight = (uint64_t)p * (track_every != 0 ? track_every : 1);
    s->rng = 0x2545f491u ^ (index * 0x9e3779b9u);
    if (s->rng == 0)
        s->rng = 1;
    hist_init(&s->poll, &cfg->poll_histogram);
    hist_init(&s->lat, &cfg->sched_latency_histogram);
    if (cfg->slow_poll_ns != 0)
        s->slow_ticks = kr__ticks_from_ns(cfg->slow_poll_ns) | 1; /* != 0 */
    if (cfg->blocked_worker_ns != 0)
        s->blocked_ticks = kr__ticks_from_ns(cfg->blocked_worker_ns) | 1;
    /* The detectors read the precise clock (kr__ticks: one RDTSC where
     * the kernel's clock is the TSC) in every mode. The monitor's epoch
     * is not enough for them: at load the monitor thread is descheduled
     * for longer than a slow poll lasts, and a 50 ms poll then spanned
     * less than 20 ms of epoch and went unreported (slow_poll_reported
     * failed twice in a row in the gate at load 11). The kernel's coarse
     * clock is no better: it is not refreshed while the CPU idles
     * (NOHZ), so after a park it lags by tens of ms. */
    s->mode = (cfg->track_tasks ? WS_TRACK : 0) | (lat ? WS_LAT : 0) |
              (hist ? WS_HIST : 0) | (s->slow_ticks != 0 ? WS_SLOW : 0) |
              (s->blocked_ticks != 0 ? WS_WATCH : 0);
    /* The end of one timed poll is the start of the next only where
     * every poll is timed (with sampling the one before was not) and
     * slow polls are not watched (time between polls is not a poll's). */
    s->reuse_chain = s->interval == 1 && !(s->mode & WS_SLOW);
    s->left = timed ? interval(&s->rng, s->interval) : UINT32_MAX;
    s->spawn_left =
        track_every != 0 ? interval(&s->rng, track_every) : UINT32_MAX;
    s->report = cfg->on_poll_report != NULL ? cfg->on_poll_report
                                            : kr_poll_report_stderr;
    s->report_arg = cfg->on_poll_report_arg;
    atomic_init(&s->busy_since, kr__now_ns());
}

/* A named task's spawn site, and its name copied for a slow-poll report.
 * Out of line: most tasks are unnamed. */
static __attribute__((noinline)) void note_named(kr__wstats *s, kr__task *t) {
    const kr__task_meta *m = kr__task_meta_of(t);
    kr__store_relaxed(&s->cur_file, m->file);
    kr__store_relaxed(&s->cur_line, m->line);
    uint32_t n =
        m->name_len < KR_TASK_NAME_MAX ? m->name_len : KR_TASK_NAME_MAX;
    memcpy(s->cur_task_name, m->name, n);
    s->cur_task_name[n] = '\0';
}

/* Notes what a report says about t (id, future, spawn site, the await it
 * resumes from) in s->cur_*, before the poll while the caller's reference
 * keeps the cell alive: only words and pointers to static storage, and a
 * named task's name copied. The monitor reads them under the seqlock
 * (stats.h) when the record is kept. */
static inline void note_task(kr__wstats *s, kr__task *t) {
    kr__store_relaxed(&s->cur_id, kr__task_id(t));
    kr__store_relaxed(&s->cur_name, kr__task_future(t)->vtable->name);
    kr__store_relaxed(&s->cur_site, kr__load_relaxed(&t->site));
    if (__builtin_expect((t->id_lo & KR__TASK_NAMED) != 0, 0)) {
        note_named(s, t);
    } else {
        kr__store_relaxed(&s->cur_file, NULL);
        kr__store_relaxed(&s->cur_line, 0);
        s->cur_task_name[0] = '\0';
    }
}

/* A slow poll's report, from what note_task kept. Out of line: the hot
 * path only compares. */
static __attribute__((noinline)) void report_slow(kr__wstats *s,
                                                  uint64_t ticks) {
    kr_poll_report r;
    memset(&r, 0, sizeof(r));
    r.kind = KR_REPORT_SLOW_POLL;
    r.worker = s->worker;
    r.task_id = kr__load_relaxed(&s->cur_id);
    r.future = kr__load_relaxed(&s->cur_name);
    r.name = s->cur_task_name[0] != '\0' ? s->cur_task_name : NULL;
    r.spawn_file = kr__load_relaxed(&s->cur_file);
    r.spawn_line = kr__load_relaxed(&s->cur_line);
    r.resumed_from = kr__load_relaxed(&s->cur_site);
    r.stopped_at = kr__ctx.poll_site;
    r.duration_ns = kr__ticks_to_ns(ticks);
    s->report(&r, s->report_arg);
}

/* The poll the countdown left off at, with nothing timed: only start it
 * again (after 2^32 polls). Out of line: it never happens in practice. */
static __attribute__((noinline)) bool run_untimed(kr__wstats *s, kr__task *t,
                                                  const void *owner) {
    s->left = UINT32_MAX;
    bool again = kr__task_run(t);
    if (kr__ctx.worker == owner)
        kr__store_relaxed(&s->running, NULL);
    return again;
}

/*
 * The timed poll: the sampling countdown's (stats.h), every poll with a
 * detector or track_tasks on. Per poll: one kr__ticks (an RDTSC; the end
 * of one timed poll is the start of the next when they follow each
 * other), two with slow polls watched (the start is read afresh, so time
 * between polls is not the poll's), a multiplication and a count per
 * histogram, a comparison for the slow-poll check, the task's facts noted
 * (four stores) and the seqlock's three, the task record's two; reports
 * and named tasks are out of line. Only s, t0, the mode and the owner
 * live across the poll, so the frame stays small.
 */
bool kr__wstats_run_timed(kr__wstats *s, kr__task *t, const void *owner) {
    unsigned iv = s->interval;
    if (iv == 1) { /* every poll: the countdown only ever counts 1 */
        s->left = 1;
    } else {
        if (__builtin_expect(iv == 0, 0))
            return run_untimed(s, t, owner);
        s->left = interval(&s->rng, iv);
    }
    unsigned mode = s->mode;
    uint64_t t0 = s->reuse_chain ? s->chain : 0;
    if (t0 == 0)
        t0 = kr__ticks();
    if (kr__task_tracked(t)) {
        /* Before the poll: after it the cell may be gone. */
        kr__task_track *tr = kr__task_track_of(t);
        if (mode & WS_TRACK) { /* every poll comes here */
            kr__stat_inc(&tr->polls);
            kr__store_relaxed(&tr->last_poll, t0);
        }
        if (mode & WS_LAT) {
            uint64_t w = kr__load_relaxed(&tr->woken);
            if (w != 0)
                hist_record(&s->lat, t0 > w ? t0 - w : 0, s->lat_weight);
        }
    }
    if (mode & WS_WATCH) {
        kr__store_relaxed(&s->poll_start, 0);
        atomic_thread_fence(memory_order_release);
        note_task(s, t);
        kr__store_release(&s->poll_start, t0 | 1); /* never 0 */
    } else if (mode & WS_SLOW) {
        note_task(s, t);
    }
    bool again = kr__task_run(t);
    if (kr__ctx.worker != owner)
        return again; /* handed over (block_in_place): not ours now */
    kr__store_relaxed(&s->running, NULL);
    uint64_t t1 = kr__ticks();
    s->chain = t1;
    if (mode & WS_WATCH)
        kr__store_relaxed(&s->poll_start, 0);
    uint64_t ticks = t1 > t0 ? t1 - t0 : 0;
    if (mode & WS_HIST)
        hist_record(&s->poll, ticks, s->poll_weight);
    if (__builtin_expect((mode & WS_SLOW) && ticks >= s->slow_ticks, 0))
        report_slow(s, ticks);
    return again;
}

void kr__wstats_stamp(kr__task *t) {
    kr__store_relaxed(&kr__task_track_of(t)->woken, kr__ticks());
}

void kr__wstats_park(kr__wstats *s) {
    s->chain = 0;
    uint64_t now = kr__now_ns();
    uint64_t since = kr__load_relaxed(&s->busy_since);
    if (since != 0 && now > since)
        kr__stat_add(&s->busy_ns, now - since);
    kr__store_relaxed(&s->busy_since, 0);
    kr__stat_inc(&s->parks);
    if (kr__load_relaxed(&s->polls) == s->polls_at_unpark)
        kr__stat_inc(&s->noops);
}

void kr__wstats_unpark(kr__wstats *s) {
    kr__store_relaxed(&s->busy_since, kr__now_ns());
    kr__stat_inc(&s->unparks);
    s->polls_at_unpark = kr__load_relaxed(&s->polls);
}

void kr__wstats_read(kr__wstats *s, kr_worker_metrics *m) {
    m->polls += kr__load_relaxed(&s->polls);
    m->spawned += kr__load_relaxed(&s->spawned);
    m->steal_ops += kr__load_relaxed(&s->steal_ops);
    m->stolen_tasks += kr__load_relaxed(&s->stolen_tasks);
    m->overflows += kr__load_relaxed(&s->overflows);
    m->parks += kr__load_relaxed(&s->parks);
    m->unparks += kr__load_relaxed(&s->unparks);
    m->noops += kr__load_relaxed(&s->noops);
    m->budget_yields += kr__load_relaxed(&s->budget_yields);
    m->lifo_hits += kr__load_relaxed(&s->lifo_hits);
    /* Busy time: what was counted, plus the current busy stretch. */
    uint64_t busy = kr__load_relaxed(&s->busy_ns);
    uint64_t since = kr__load_relaxed(&s->busy_since);
    uint64_t now = kr__now_ns();
    if (since != 0 && now > since)
        busy += now - since;
    m->busy_ns += busy;
    hist_read(&s->poll, &m->poll_time);
    hist_read(&s->lat, &m->sched_latency);
}

static void hist_sum(kr_histogram *to, const kr_histogram *from) {
    to->buckets = from->buckets;
    for (unsigned i = 0; i < from->buckets; i++)
        to->count[i] += from->count[i];
}

void kr__wstats_sum(kr_runtime_metrics *m, const kr_worker_metrics *w) {
    m->polls += w->polls;
    m->steal_ops += w->steal_ops;
    m->stolen_tasks += w->stolen_tasks;
    m->overflows += w->overflows;
    m->parks += w->parks;
    m->unparks += w->unparks;
    m->noops += w->noops;
    m->budget_yields += w->budget_yields;
    m->lifo_hits += w->lifo_hits;
    m->busy_ns += w->busy_ns;
    m->local_queue_depth += w->local_queue_depth;
    hist_sum(&m->poll_time, &w->poll_time);
    hist_sum(&m->sched_latency, &w->sched_latency);
}

bool kr__wstats_check_blocked(kr__wstats *s, uint64_t now, unsigned queued) {
    uint64_t s1 = kr__load_acquire(&s->poll_start);
    if (s1 == 0 || s1 == s->reported_start || now < s1 ||
        now - s1 < s->blocked_ticks)
        return false;
    kr_poll_report r;
    memset(&r, 0, sizeof(r));
    r.kind = KR_REPORT_WORKER_BLOCKED;
    r.worker = s->worker;
    r.task_id = kr__load_relaxed(&s->cur_id);
    r.future = kr__load_relaxed(&s->cur_name);
    r.spawn_file = kr__load_relaxed(&s->cur_file);
    r.spawn_line = kr__load_relaxed(&s->cur_line);
    r.resumed_from = kr__load_relaxed(&s->cur_site);
    atomic_thread_fence(memory_order_acquire);
    if (kr__load_relaxed(&s->poll_start) != s1)
        return false; /* the poll ended meanwhile: nothing to report */
    s->reported_start = s1;
    r.duration_ns = kr__ticks_to_ns(now - s1);
    r.queued = queued;
    s->report(&r, s->report_arg);
    return true;
}

/* ---- the default reporter --------------------------------------------- */

static int site_text(char *buf, size_t n, const kr_await_site *site) {
    if (site == NULL)
        return snprintf(buf, n, "-");
    return snprintf(buf, n, "%s:%d (%s)", site->file, site->line, site->func);
}

int kr_poll_report_format(const kr_poll_report *r, char *buf, size_t size) {
    char from[256], to[256], spawn[256], dur[32];
    if (r == NULL || (buf == NULL && size != 0))
        return KR_EINVAL;
    site_text(from, sizeof(from), r->resumed_from);
    site_text(to, sizeof(to), r->stopped_at);
    if (r->spawn_file != NULL)
        snprintf(spawn, sizeof(spawn), "%s:%d", r->spawn_file, r->spawn_line);
    else
        snprintf(spawn, sizeof(spawn), "-");
    double ms = (double)r->duration_ns / 1e6;
    if (ms >= 1000.0)
        snprintf(dur, sizeof(dur), "%.2f s", ms / 1000.0);
    else
        snprintf(dur, sizeof(dur), "%.1f ms", ms);
    /* (future) or "name" (future). */
    char who[320];
    const char *fut = r->future != NULL ? r->future : "?";
    if (r->name != NULL)
        snprintf(who, sizeof(who), "\"%.255s\" (%s)", r->name, fut);
    else
        snprintf(who, sizeof(who), "(%s)", fut);
    if (r->kind == KR_REPORT_WORKER_BLOCKED)
        return snprintf(buf, size,
                        "kairo: worker %u blocked: task %" PRIu64
                        " %s running for %s, spawned at %s, resumed from "
                        "%s, %u tasks queued behind it",
                        r->worker, r->task_id, who, dur, spawn, from,
                        r->queued);
    return snprintf(buf, size,
                    "kairo: slow poll: task %" PRIu64
                    " %s on worker %u ran %s, spawned at %s, resumed from "
                    "%s, stopped at %s",
                    r->task_id, who, r->worker, dur, spawn, from, to);
}

void kr_poll_report_stderr(const kr_poll_report *r, void *arg) {
    (void)arg;
    char line[1024];
    int n = kr_poll_report_format(r, line, sizeof(line) - 1);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n] = '\n';
    /* One write, so lines from several threads do not interleave. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n + 1);
    (void)w;
}
