/*
 * console/snapshot.c: the console's JSON documents (snapshot.h). Every
 * field is named after the kr_runtime_metrics / kr_worker_metrics field
 * it comes from, so a client reads them by name and a field added later
 * is just one more key.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console/snapshot.h"
#include "util/clock.h"

static const char *flavor_name(kr_runtime_flavor f) {
    switch (f) {
    case KR_RUNTIME_MULTI_THREAD:
        return "multi_thread";
    case KR_RUNTIME_SIMULATION:
        return "simulation";
    default:
        return "current_thread";
    }
}

static void put_counts(kr__text *t, const kr_histogram *h) {
    kr__text_puts(t, "[");
    for (unsigned i = 0; i < h->buckets && i < KR_HISTOGRAM_MAX_BUCKETS; i++)
        kr__text_printf(t, "%s%" PRIu64, i ? ", " : "", h->count[i]);
    kr__text_puts(t, "]");
}

/* A histogram with its buckets' bounds: {"scale", "width_ns", "buckets":
 * [{"lo", "hi", "count"}, ...]} ("hi" null for the open last bucket), or
 * null while it is off. */
static void put_hist(kr__text *t, const kr_histogram_config *c,
                     const kr_histogram *h) {
    if (c->buckets == 0 || h->buckets == 0) {
        kr__text_puts(t, "null");
        return;
    }
    kr__text_printf(
        t, "{\"scale\": \"%s\", \"width_ns\": %" PRIu64 ", \"buckets\": [",
        c->scale == KR_HISTOGRAM_LINEAR ? "linear" : "log2",
        c->width_ns != 0 ? c->width_ns : 1000);
    for (unsigned i = 0; i < h->buckets && i < KR_HISTOGRAM_MAX_BUCKETS; i++) {
        uint64_t lo = 0, hi = 0;
        if (kr_histogram_bucket_range(c, i, &lo, &hi) != 0)
            break;
        kr__text_printf(t, "%s{\"lo\": %" PRIu64 ", \"hi\": ", i ? ", " : "",
                        lo);
        if (hi == UINT64_MAX)
            kr__text_puts(t, "null");
        else
            kr__text_printf(t, "%" PRIu64, hi);
        kr__text_printf(t, ", \"count\": %" PRIu64 "}", h->count[i]);
    }
    kr__text_puts(t, "]}");
}

static void put_worker(kr__text *t, unsigned i, const kr_worker_metrics *w) {
    kr__text_printf(t, "{\"worker\": %u", i);
    kr__text_json_u64(t, false, "polls", w->polls);
    kr__text_json_u64(t, false, "spawned", w->spawned);
    kr__text_json_u64(t, false, "steal_ops", w->steal_ops);
    kr__text_json_u64(t, false, "stolen_tasks", w->stolen_tasks);
    kr__text_json_u64(t, false, "overflows", w->overflows);
    kr__text_json_u64(t, false, "parks", w->parks);
    kr__text_json_u64(t, false, "unparks", w->unparks);
    kr__text_json_u64(t, false, "noops", w->noops);
    kr__text_json_u64(t, false, "budget_yields", w->budget_yields);
    kr__text_json_u64(t, false, "lifo_hits", w->lifo_hits);
    kr__text_json_u64(t, false, "busy_ns", w->busy_ns);
    kr__text_json_u64(t, false, "local_queue_depth", w->local_queue_depth);
    kr__text_puts(t, ", \"poll_time\": ");
    put_counts(t, &w->poll_time);
    kr__text_puts(t, ", \"sched_latency\": ");
    put_counts(t, &w->sched_latency);
    kr__text_puts(t, "}");
}

static void put_metrics(kr__text *t, const kr__snap_src *src) {
    kr_runtime_metrics m;
    if (kr_runtime_metrics_get(src->rt, &m) != 0)
        memset(&m, 0, sizeof(m));
    kr__text_puts(t, ", \"metrics\": {");
    kr__text_json_u64(t, true, "workers", m.workers);
    kr__text_json_u64(t, false, "spawned", m.spawned);
    kr__text_json_u64(t, false, "alive", m.alive);
    kr__text_json_u64(t, false, "completed", m.completed);
    kr__text_json_u64(t, false, "polls", m.polls);
    kr__text_json_u64(t, false, "remote_spawns", m.remote_spawns);
    kr__text_json_u64(t, false, "remote_schedules", m.remote_schedules);
    kr__text_json_u64(t, false, "steal_ops", m.steal_ops);
    kr__text_json_u64(t, false, "stolen_tasks", m.stolen_tasks);
    kr__text_json_u64(t, false, "overflows", m.overflows);
    kr__text_json_u64(t, false, "parks", m.parks);
    kr__text_json_u64(t, false, "unparks", m.unparks);
    kr__text_json_u64(t, false, "noops", m.noops);
    kr__text_json_u64(t, false, "budget_yields", m.budget_yields);
    kr__text_json_u64(t, false, "lifo_hits", m.lifo_hits);
    kr__text_json_u64(t, false, "busy_ns", m.busy_ns);
    kr__text_json_u64(t, false, "local_queue_depth", m.local_queue_depth);
    kr__text_json_u64(t, false, "inject_queue_depth", m.inject_queue_depth);
    kr__text_json_u64(t, false, "blocking_threads", m.blocking_threads);
    kr__text_json_u64(t, false, "blocking_idle", m.blocking_idle);
    kr__text_json_u64(t, false, "blocking_busy", m.blocking_busy);
    kr__text_json_u64(t, false, "blocking_queued", m.blocking_queued);
    kr__text_json_u64(t, false, "blocking_unfinished", m.blocking_unfinished);
    kr__text_json_u64(t, false, "io_events", m.io_events);
    kr__text_json_u64(t, false, "io_ready", m.io_ready);
    kr__text_json_u64(t, false, "io_ops", m.io_ops);
    kr__text_json_u64(t, false, "timer_entries", m.timer_entries);
    kr__text_puts(t, "}, \"worker_metrics\": [");
    for (unsigned i = 0; i < m.workers; i++) {
        kr_worker_metrics w;
        if (kr_runtime_worker_metrics_get(src->rt, i, &w) != 0)
            break;
        if (i != 0)
            kr__text_puts(t, ", ");
        put_worker(t, i, &w);
    }
    kr__text_puts(t, "], \"histograms\": {\"poll_time\": ");
    put_hist(t, &src->poll_hist, &m.poll_time);
    kr__text_puts(t, ", \"sched_latency\": ");
    put_hist(t, &src->sched_hist, &m.sched_latency);
    kr__text_puts(t, "}");
}

/* The dump goes through the memfd (kr_runtime_dump_format writes to a file
 * descriptor) and is copied in as it is: its own JSON document. */
static void put_dump(kr__text *t, const kr__snap_src *src) {
    int rc = KR_EIO;
    struct stat st;
    if (src->memfd >= 0 && ftruncate(src->memfd, 0) == 0 &&
        lseek(src->memfd, 0, SEEK_SET) == 0) {
        rc = kr_runtime_dump_format(src->rt, src->memfd, KR_DUMP_JSON);
        if (rc >= 0 && fstat(src->memfd, &st) != 0)
            rc = KR_EIO;
    }
    if (rc < 0) {
        /* KR_EBUSY: a current-thread runtime whose block_on runs on
         * another thread owns its task list (kairo/runtime.h). */
        kr__text_puts(t, ", \"dump\": null, \"dump_error\": ");
        kr__text_json_str(t, kr_err_name(rc));
        return;
    }
    kr__text_printf(t, ", \"tasks\": %d, \"dump\": ", rc);
    size_t n = (size_t)st.st_size;
    if (!kr__text_reserve(t, n))
        return;
    size_t got = 0;
    while (got < n) {
        ssize_t k =
            pread(src->memfd, t->buf + t->len + got, n - got, (off_t)got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    /* A short read leaves a truncated document: say null instead. */
    if (got != n) {
        kr__text_puts(t, "null");
        return;
    }
    while (got > 0 && (t->buf[t->len + got - 1] == '\n' ||
                       t->buf[t->len + got - 1] == ' '))
        got--;
    /* The dump's lines are joined into the one line of the reply. */
    for (size_t i = 0; i < got; i++)
        if (t->buf[t->len + i] == '\n')
            t->buf[t->len + i] = ' ';
    t->len += got;
    t->buf[t->len] = '\0';
}

static const char *kind_name(unsigned kind) {
    return kind == KR_REPORT_WORKER_BLOCKED ? "worker_blocked" : "slow_poll";
}

static void put_warnings(kr__text *t, const kr__snap_src *src, uint64_t now) {
    kr__warning w[KR__RING_SLOTS];
    uint64_t last = 0;
    for (unsigned i = 0; i < KR__RING_SLOTS; i++) {
        kr__ring_read(src->ring, i, &w[i]);
        if (w[i].seq > last)
            last = w[i].seq;
    }
    kr__text_printf(t, ", \"warnings\": {\"seq\": %" PRIu64 ", \"entries\": [",
                    last);
    /* Oldest first: the slots after the newest one, then up to it. */
    bool first = true;
    for (unsigned k = 0; k < KR__RING_SLOTS; k++) {
        const kr__warning *e = &w[(last + k) % KR__RING_SLOTS];
        if (e->seq == 0)
            continue;
        kr__text_printf(t,
                        "%s{\"seq\": %" PRIu64 ", \"kind\": \"%s\", "
                        "\"age_ns\": %" PRIu64 ", \"worker\": %u, "
                        "\"task\": %" PRIu64 ", \"duration_ns\": %" PRIu64
                        ", \"text\": ",
                        first ? "" : ", ", e->seq, kind_name(e->kind),
                        now > e->at_ns ? now - e->at_ns : 0, e->worker,
                        e->task_id, e->duration_ns);
        kr__text_json_str(t, e->text);
        kr__text_puts(t, "}");
        first = false;
    }
    kr__text_puts(t, "]}");
}

void kr__snapshot(kr__text *t, const kr__snap_src *src, unsigned parts) {
    uint64_t now = kr__now_ns();
    kr__text_printf(
        t,
        "{\"version\": 1, \"pid\": %ld, \"flavor\": \"%s\", "
        "\"now_ns\": %" PRIu64 ", \"uptime_ns\": %" PRIu64
        ", \"slow_poll_ns\": %" PRIu64 ", \"blocked_worker_ns\": %" PRIu64,
        (long)getpid(), flavor_name(src->flavor), now, now - src->started_ns,
        src->slow_poll_ns, src->blocked_worker_ns);
    if (parts & KR__SNAP_METRICS)
        put_metrics(t, src);
    if (parts & KR__SNAP_TASKS)
        put_dump(t, src);
    if (parts & KR__SNAP_WARNINGS)
        put_warnings(t, src, now);
    kr__text_puts(t, "}");
}
