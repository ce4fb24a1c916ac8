/*
 * view.c: kairo-console's frame (view.h).
 *
 *   header: the socket, pid, flavor, workers, uptime; task counts,
 *           queues, blocking pool, I/O, timers
 *   WORKER rows: busy share and polls/s over the last refresh (from the
 *           busy_ns and polls deltas), queue depth, steals, parks
 *   TASKS:  id, name, state, worker, polls, time since last poll, await
 *           site; sorted by polls (p) or by time since last poll (i)
 *   histograms: poll time (and schedule latency where the runtime
 *           sends one) as bars over the buckets in use
 *   WARNINGS: the latest slow-poll and blocked-worker reports, newest
 *           last, those new since the last frame marked with '*'
 */
#include "view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(frame *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add(frame *f, const char *fmt, ...) {
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 64;
        char **nl = realloc(f->line, nc * sizeof(*nl));
        if (nl == NULL)
            return;
        f->line = nl;
        f->cap = nc;
    }
    size_t w = f->width ? f->width : 80;
    char *s = malloc(w + 1);
    if (s == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s, w + 1, fmt, ap);
    va_end(ap);
    if (k < 0)
        s[0] = '\0';
    /* No control characters on the screen (a task name may hold any). */
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    f->line[f->n++] = s;
}

void frame_free(frame *f) {
    for (size_t i = 0; i < f->n; i++)
        free(f->line[i]);
    free(f->line);
    memset(f, 0, sizeof(*f));
}

/* A duration, short: 850ns, 12.3us, 4.5ms, 1.23s, 2m03s. */
static const char *dur(char *b, size_t n, uint64_t ns) {
    if (ns < 1000)
        snprintf(b, n, "%" PRIu64 "ns", ns);
    else if (ns < 1000000)
        snprintf(b, n, "%.1fus", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(b, n, "%.1fms", (double)ns / 1e6);
    else if (ns < UINT64_C(60000000000))
        snprintf(b, n, "%.2fs", (double)ns / 1e9);
    else
        snprintf(b, n, "%" PRIu64 "m%02" PRIu64 "s", ns / UINT64_C(60000000000),
                 ns / 1000000000 % 60);
    return b;
}

/* A bucket bound, as short as it gets: 0, 1us, 512us, 16ms, 1s. */
static const char *bound(char *b, size_t n, uint64_t ns) {
    if (ns == 0)
        snprintf(b, n, "0");
    else if (ns % 1000000000 == 0)
        snprintf(b, n, "%" PRIu64 "s", ns / 1000000000);
    else if (ns >= 1000000000)
        snprintf(b, n, "%.1fs", (double)ns / 1e9);
    else if (ns % 1000000 == 0 || ns >= 10000000)
        snprintf(b, n, "%" PRIu64 "ms", ns / 1000000);
    else if (ns >= 1000000)
        snprintf(b, n, "%.1fms", (double)ns / 1e6);
    else if (ns % 1000 == 0 || ns >= 10000)
        snprintf(b, n, "%" PRIu64 "us", ns / 1000);
    else if (ns >= 1000)
        snprintf(b, n, "%.1fus", (double)ns / 1e3);
    else
        snprintf(b, n, "%" PRIu64 "ns", ns);
    return b;
}

/* The worker entry of `prev` with the same index, or NULL. */
static const json *prev_worker(const json *prev, uint64_t index) {
    const json *ws = json_get(prev, "worker_metrics");
    for (size_t i = 0; ws != NULL && i < ws->n; i++)
        if (json_get_u64(json_at(ws, i), "worker", UINT64_MAX) == index)
            return json_at(ws, i);
    return NULL;
}

static void header(frame *f, const json *cur, const view_opts *o) {
    const json *m = json_get(cur, "metrics");
    char up[32];
    const char *flavor = json_get_str(cur, "flavor");
    add(f,
        "kairo-console  %s  pid %" PRIu64 "  %s  %" PRIu64 " worker%s  up %s",
        o->path ? o->path : "", json_get_u64(cur, "pid", 0),
        flavor ? flavor : "?", json_get_u64(m, "workers", 0),
        json_get_u64(m, "workers", 0) == 1 ? "" : "s",
        dur(up, sizeof(up), json_get_u64(cur, "uptime_ns", 0)));
    add(f,
        "tasks %" PRIu64 " alive, %" PRIu64 " spawned, %" PRIu64
        " done | inject queue %" PRIu64 " | blocking %" PRIu64 " (%" PRIu64
        " busy, %" PRIu64 " queued) | io events %" PRIu64 " | timers %" PRIu64,
        json_get_u64(m, "alive", 0), json_get_u64(m, "spawned", 0),
        json_get_u64(m, "completed", 0),
        json_get_u64(m, "inject_queue_depth", 0),
        json_get_u64(m, "blocking_threads", 0),
        json_get_u64(m, "blocking_busy", 0),
        json_get_u64(m, "blocking_queued", 0), json_get_u64(m, "io_events", 0),
        json_get_u64(m, "timer_entries", 0));
}

static void workers(frame *f, const json *cur, const json *prev) {
    const json *ws = json_get(cur, "worker_metrics");
    uint64_t now = json_get_u64(cur, "now_ns", 0);
    uint64_t then = json_get_u64(prev, "now_ns", 0);
    uint64_t dt = prev != NULL && now > then ? now - then : 0;
    uint64_t up = json_get_u64(cur, "uptime_ns", 0);
    add(f, "%-6s %6s %9s %11s %7s %7s %7s %7s %7s", "WORKER", "BUSY", "POLLS/S",
        "POLLS", "LOCAL_Q", "STEALS", "PARKS", "LIFO", "YIELDS");
    for (size_t i = 0; ws != NULL && i < ws->n; i++) {
        const json *w = json_at(ws, i);
        uint64_t idx = json_get_u64(w, "worker", i);
        const json *p = prev_worker(prev, idx);
        uint64_t busy = json_get_u64(w, "busy_ns", 0);
        uint64_t polls = json_get_u64(w, "polls", 0);
        double share, rate;
        if (p != NULL && dt != 0) {
            uint64_t pb = json_get_u64(p, "busy_ns", 0);
            uint64_t pp = json_get_u64(p, "polls", 0);
            share = busy > pb ? (double)(busy - pb) / (double)dt : 0;
            rate = polls > pp ? (double)(polls - pp) * 1e9 / (double)dt : 0;
        } else {
            /* The first frame: averages since the console started. */
            share = up ? (double)busy / (double)up : 0;
            rate = up ? (double)polls * 1e9 / (double)up : 0;
        }
        if (share > 1)
            share = 1;
        add(f,
            "%6" PRIu64 " %5.1f%% %9.0f %11" PRIu64 " %7" PRIu64 " %7" PRIu64
            " %7" PRIu64 " %7" PRIu64 " %7" PRIu64,
            idx, share * 100, rate, polls,
            json_get_u64(w, "local_queue_depth", 0),
            json_get_u64(w, "steal_ops", 0), json_get_u64(w, "parks", 0),
            json_get_u64(w, "lifo_hits", 0),
            json_get_u64(w, "budget_yields", 0));
    }
}

/* ---- tasks ---------------------------------------------------------- */

typedef struct row {
    const json *t;
    uint64_t id, polls, since;
    bool has_polls, has_since;
} row;

static int by_polls(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->polls != y->polls)
        return x->polls > y->polls ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_idle(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->has_since != y->has_since)
        return x->has_since ? -1 : 1;
    if (x->since != y->since)
        return x->since > y->since ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void tasks(frame *f, const json *cur, const view_opts *o,
                  unsigned rows) {
    const json *dump = json_get(cur, "dump");
    const json *list = json_get(dump, "tasks");
    const char *sort = o->sort == SORT_IDLE ? "since last poll" : "polls";
    if (list == NULL) {
        const char *why = json_get_str(cur, "dump_error");
        add(f,
            "TASKS  (no task dump: %s)   sort: %s   keys: p polls, i since "
            "last poll, q quit",
            why ? why : "not sent", sort);
        return;
    }
    size_t n = list->n;
    row *r = calloc(n ? n : 1, sizeof(*r));
    if (r == NULL)
        return;
    bool any_parent = false, any_poll_ns = false;
    for (size_t i = 0; i < n; i++) {
        const json *t = json_at(list, i);
        r[i].t = t;
        r[i].id = json_get_u64(t, "id", 0);
        /* "poll_ns" (time spent in polls) where sent, else the count. */
        const json *pn = json_get(t, "poll_ns");
        const json *pc = json_get(t, "polls");
        if (pn != NULL && pn->type == JSON_NUMBER)
            any_poll_ns = true;
        r[i].has_polls = pc != NULL && pc->type == JSON_NUMBER;
        r[i].polls = json_u64(pn != NULL ? pn : pc, 0);
        const json *s = json_get(t, "since_poll_ns");
        r[i].has_since = s != NULL && s->type == JSON_NUMBER;
        r[i].since = json_u64(s, 0);
        const json *par = json_get(t, "parent");
        if (par != NULL && par->type == JSON_NUMBER)
            any_parent = true;
    }
    qsort(r, n, sizeof(*r), o->sort == SORT_IDLE ? by_idle : by_polls);
    unsigned shown = n < rows ? (unsigned)n : rows;
    add(f,
        "TASKS  %u of %zu   sort: %s%s   keys: p polls, i since last poll, "
        "q quit",
        shown, n, sort, any_poll_ns && o->sort == SORT_POLLS ? " (time)" : "");
    if (any_parent)
        add(f, "%-9s %-18s %-9s %6s %9s %10s %-9s %s", "ID", "NAME", "STATE",
            "WORKER", "POLLS", "SINCE_POLL", "PARENT", "AWAIT");
    else
        add(f, "%-9s %-18s %-9s %6s %9s %10s %s", "ID", "NAME", "STATE",
            "WORKER", "POLLS", "SINCE_POLL", "AWAIT");
    for (unsigned i = 0; i < shown; i++) {
        const json *t = r[i].t;
        char name[40], worker[16], polls[24], since[24], site[160], parent[24];
        const char *nm = json_get_str(t, "name");
        const char *fut = json_get_str(t, "future");
        if (nm != NULL)
            snprintf(name, sizeof(name), "%s", nm);
        else
            snprintf(name, sizeof(name), "(%s)", fut ? fut : "?");
        name[18] = '\0';
        const json *w = json_get(t, "worker");
        if (w != NULL && w->type == JSON_NUMBER)
            snprintf(worker, sizeof(worker), "%" PRIu64, json_u64(w, 0));
        else
            snprintf(worker, sizeof(worker), "-");
        if (r[i].has_polls)
            snprintf(polls, sizeof(polls), "%" PRIu64,
                     json_get_u64(t, "polls", 0));
        else
            snprintf(polls, sizeof(polls), "-");
        if (r[i].has_since)
            dur(since, sizeof(since), r[i].since);
        else
            snprintf(since, sizeof(since), "-");
        const json *aw = json_get(t, "await");
        const char *file = json_get_str(aw, "file");
        const char *func = json_get_str(aw, "func");
        if (file != NULL) {
            const char *base = strrchr(file, '/');
            snprintf(site, sizeof(site), "%s:%" PRIu64 " (%s)",
                     base ? base + 1 : file, json_get_u64(aw, "line", 0),
                     func ? func : "?");
        } else {
            snprintf(site, sizeof(site), "-");
        }
        const char *state = json_get_str(t, "state");
        if (any_parent) {
            const json *par = json_get(t, "parent");
            if (json_u64(par, 0) != 0) /* 0: spawned from outside a task */
                snprintf(parent, sizeof(parent), "%" PRIu64, json_u64(par, 0));
            else
                snprintf(parent, sizeof(parent), "-");
            add(f, "%-9" PRIu64 " %-18s %-9s %6s %9s %10s %-9s %s", r[i].id,
                name, state ? state : "?", worker, polls, since, parent, site);
        } else {
            add(f, "%-9" PRIu64 " %-18s %-9s %6s %9s %10s %s", r[i].id, name,
                state ? state : "?", worker, polls, since, site);
        }
    }
    free(r);
}

/* ---- histograms ------------------------------------------------------ */

/* Lines a histogram takes: its buckets from the first to the last in
 * use (at least one), plus its title. */
static unsigned hist_span(const json *h, size_t *lo, size_t *hi) {
    const json *b = json_get(h, "buckets");
    if (b == NULL || b->n == 0)
        return 0;
    size_t first = b->n, last = 0;
    for (size_t i = 0; i < b->n; i++)
        if (json_get_u64(json_at(b, i), "count", 0) != 0) {
            if (first == b->n)
                first = i;
            last = i;
        }
    if (first == b->n)
        first = last = 0;
    *lo = first;
    *hi = last;
    return (unsigned)(last - first + 2);
}

static void hist(frame *f, const char *title, const char *what, const json *h,
                 unsigned rows) {
    size_t lo, hi;
    if (rows < 2 || hist_span(h, &lo, &hi) == 0)
        return;
    const json *b = json_get(h, "buckets");
    /* Too many buckets for the rows: the slow end keeps its own lines,
     * the fast end is summed into the first one. */
    size_t merged = lo;
    if (hi - lo + 2 > rows)
        merged = hi + 3 - rows;
    uint64_t max = 0, total = 0, below = 0;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t c = json_get_u64(json_at(b, i), "count", 0);
        total += c;
        if (i < merged)
            below += c;
        else if (c > max)
            max = c;
    }
    if (below > max)
        max = below;
    add(f, "%s  (%" PRIu64 " %s)", title, total, what);
    unsigned barw = f->width > 40 ? f->width - 32 : 8;
    if (barw > 50)
        barw = 50;
    for (size_t i = merged > lo ? merged - 1 : lo; i <= hi; i++) {
        const json *e = json_at(b, i);
        uint64_t c = json_get_u64(e, "count", 0);
        char l[16], u[16], range[40], bar[64];
        const json *hv = json_get(e, "hi");
        bound(l, sizeof(l), json_get_u64(e, "lo", 0));
        if (i + 1 == merged) {
            /* The summed line: everything below bucket `merged`. */
            c = below;
            snprintf(range, sizeof(range), "< %s",
                     bound(u, sizeof(u), json_u64(hv, 0)));
        } else if (hv == NULL || hv->type != JSON_NUMBER) {
            snprintf(range, sizeof(range), ">= %s", l);
        } else {
            snprintf(range, sizeof(range), "%s - %s", l,
                     bound(u, sizeof(u), json_u64(hv, 0)));
        }
        unsigned len = max ? (unsigned)((double)c * barw / (double)max) : 0;
        if (c != 0 && len == 0)
            len = 1;
        memset(bar, '#', len);
        bar[len] = '\0';
        add(f, "  %15s |%-*s %" PRIu64, range, (int)barw, bar, c);
    }
}

/* ---- warnings ---------------------------------------------------------- */

/* The report's text with each file path cut to its last component, so
 * that what matters fits on the line. */
static void short_paths(char *out, size_t n, const char *text) {
    size_t k = 0;
    for (const char *p = text; *p != '\0' && k + 1 < n; p++) {
        if (p == text || p[-1] == ' ') {
            const char *end = p + strcspn(p, " :,");
            const char *base = p;
            for (const char *q = p; q < end; q++)
                if (*q == '/')
                    base = q + 1;
            p = base;
        }
        out[k++] = *p;
    }
    out[k] = '\0';
}

static void warnings(frame *f, const json *cur, const view_opts *o,
                     unsigned rows) {
    const json *w = json_get(cur, "warnings");
    const json *e = json_get(w, "entries");
    uint64_t seq = json_get_u64(w, "seq", 0);
    add(f, "WARNINGS  %" PRIu64 " so far (slow polls over %s%s%s)", seq,
        dur((char[24]){0}, 24, json_get_u64(cur, "slow_poll_ns", 0)),
        json_get_u64(cur, "blocked_worker_ns", 0) ? ", blocked workers over "
                                                  : "",
        json_get_u64(cur, "blocked_worker_ns", 0)
            ? dur((char[24]){0}, 24, json_get_u64(cur, "blocked_worker_ns", 0))
            : "");
    size_t n = e != NULL ? e->n : 0;
    size_t from = n > rows ? n - rows : 0;
    for (size_t i = from; i < n; i++) {
        const json *x = json_at(e, i);
        const char *text = json_get_str(x, "text");
        char age[24];
        bool fresh = json_get_u64(x, "seq", 0) > o->seen_seq;
        char shortened[512];
        short_paths(shortened, sizeof(shortened), text ? text : "?");
        add(f, "%c %8s ago  %s", fresh ? '*' : ' ',
            dur(age, sizeof(age), json_get_u64(x, "age_ns", 0)), shortened);
    }
    if (n == 0)
        add(f, "  (none)");
}

void view_render(frame *f, const json *cur, const json *prev,
                 const view_opts *o) {
    f->width = o->width ? o->width : 100;
    const json *hs = json_get(cur, "histograms");
    const json *pt = json_get(hs, "poll_time");
    const json *sl = json_get(hs, "sched_latency");
    const json *ws = json_get(cur, "worker_metrics");
    size_t nworkers = ws != NULL ? ws->n : 0;
    size_t lo, hi;
    unsigned hist_rows = hist_span(pt, &lo, &hi) + hist_span(sl, &lo, &hi);
    const json *we = json_get(json_get(cur, "warnings"), "entries");
    unsigned warn_rows = 5;
    unsigned task_rows = o->max_tasks ? o->max_tasks : 20;
    if (o->height != 0) {
        /* Fixed parts: header 2, blanks 4, workers 1 + n, tasks' title and
         * column heads 2, warnings' title 1, status 1. */
        int fixed = 2 + 4 + 1 + (int)nworkers + 2 + 1 + (o->status ? 1 : 0);
        int left = (int)o->height - fixed;
        unsigned wn = we != NULL && we->n < warn_rows ? (unsigned)we->n : 5;
        if (wn == 0)
            wn = 1;
        warn_rows = wn;
        left -= (int)wn;
        /* Tasks first, as many as there are; when they and the
         * histograms do not both fit, the histograms keep a third. */
        const json *list = json_get(json_get(cur, "dump"), "tasks");
        int ntasks = list != NULL ? (int)list->n : 1;
        if (ntasks + (int)hist_rows + 1 > left) {
            int keep =
                left / 3 > left - ntasks - 1 ? left / 3 : left - ntasks - 1;
            if ((int)hist_rows > keep)
                hist_rows = keep > 0 ? (unsigned)keep : 0;
        }
        left -= (int)hist_rows + (hist_rows ? 1 : 0);
        task_rows = left > 1 ? (unsigned)left : 1;
    } else {
        hist_rows = 64;
        warn_rows = 10;
    }
    header(f, cur, o);
    add(f, "%s", "");
    workers(f, cur, prev);
    add(f, "%s", "");
    tasks(f, cur, o, task_rows);
    add(f, "%s", "");
    if (hist_rows != 0) {
        unsigned a = hist_span(pt, &lo, &hi);
        unsigned b = hist_span(sl, &lo, &hi);
        if (a + b > hist_rows && b != 0) { /* share what there is */
            b = hist_rows / 2;
            a = hist_rows - b;
        } else {
            a = hist_rows;
        }
        if (pt != NULL && pt->type == JSON_OBJECT)
            hist(f, "POLL TIME", "polls", pt, a);
        if (sl != NULL && sl->type == JSON_OBJECT)
            hist(f, "SCHEDULE LATENCY (wake to poll)", "wakes", sl, b);
        add(f, "%s", "");
    }
    warnings(f, cur, o, warn_rows);
    if (o->status != NULL)
        add(f, "%s", o->status);
}
