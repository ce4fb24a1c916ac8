/*
 * task/dump.c: one task of a task dump, as a text line or a JSON object,
 * into the dump's buffer (task.h, kr__dump); and a task named for an
 * error message (kr__task_describe).
 *
 * A dump is taken while the runtime runs. The scheduler walks its lists of
 * live tasks under each list's own lock (which keeps every task on it
 * allocated: a task leaves its list before it can be freed) and calls
 * kr__task_dump for each; nothing here takes a lock or stops a worker.
 * What it reads of a task it reads once, relaxed: the state word, the
 * await site (a pointer to static storage), and for a tracked task (every
 * task of a runtime with track_tasks, the sampled ones of a
 * schedule-latency histogram) the record at the cell's end (task.h,
 * kr__task_track: polls, when the last poll began, the parent's id). A task polled
 * meanwhile is shown as it was at some instant during the dump.
 *
 * The text goes to a memory buffer first and to the file descriptor after
 * the scheduler has let go of its locks (kr__dump_flush), so a slow reader
 * of a pipe cannot hold a list lock that completions wait on.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "task/state.h"
#include "util/ticks.h"
#include "util/alloc.h"

/* Appends formatted text; on allocation failure marks the dump failed. */
static void put(kr__dump *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(kr__dump *d, const char *fmt, ...) {
    if (d->err != 0)
        return;
    for (;;) {
        size_t room = d->cap - d->len;
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(d->buf != NULL ? d->buf + d->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            d->err = KR_EIO;
            return;
        }
        if ((size_t)n < room) {
            d->len += (size_t)n;
            return;
        }
        size_t cap = d->cap != 0 ? d->cap * 2 : 4096;
        while (cap - d->len <= (size_t)n)
            cap *= 2;
        char *nb = kr__malloc(cap);
        if (nb == NULL) {
            d->err = KR_ENOMEM;
            return;
        }
        if (d->len != 0)
            memcpy(nb, d->buf, d->len);
        kr__free(d->buf);
        d->buf = nb;
        d->cap = cap;
    }
}

/* A JSON string (with its quotes), or null. */
static void put_json_str(kr__dump *d, const char *s) {
    if (s == NULL) {
        put(d, "null");
        return;
    }
    put(d, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            put(d, "\\%c", *p);
        else if (*p < 0x20)
            put(d, "\\u%04x", *p);
        else
            put(d, "%c", *p);
    }
    put(d, "\"");
}

void kr__dump_init(kr__dump *d, int fd, int json, uint64_t now) {
    memset(d, 0, sizeof(*d));
    d->fd = fd;
    d->json = json;
    d->now = now;
    /* Tracked tasks' poll times are ticks; a runtime that tracks them
     * calibrated the ticks when it was made (kr__wstats_init). */
    d->now_ticks = kr__ticks();
}

void kr__dump_raw(kr__dump *d, const char *text) { put(d, "%s", text); }

int kr__dump_flush(kr__dump *d) {
    size_t off = 0;
    while (d->err == 0 && off < d->len) {
        ssize_t n = write(d->fd, d->buf + off, d->len - off);
        if (n < 0)
            d->err = KR_EIO;
        else
            off += (size_t)n;
    }
    kr__free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
    return d->err;
}

/* What a task is doing, and where. */
static const char *state_of(kr__dump *d, const kr__task *t, int *worker) {
    uint64_t s = kr__load_relaxed(&t->state); /* a snapshot for humans */
    *worker = -1;
    if (s & KR__RUNNING) {
        /* RUNNING without a worker polling it: queued after waking itself
         * (held, task.h), i.e. scheduled. */
        if (d->worker_of != NULL)
            *worker = d->worker_of(d->arg, t);
        return *worker >= 0 ? "running" : "scheduled";
    }
    return (s & KR__NOTIFIED) ? "scheduled" : "idle";
}

/* A tracked task's record, read once (relaxed; task.h). since is
 * UINT64_MAX for a task never polled. */
typedef struct track_view {
    uint64_t polls, since, parent;
} track_view;

static void track_read(const kr__dump *d, kr__task *t, track_view *v) {
    kr__task_track *tr = kr__task_track_of(t);
    uint64_t last = kr__load_relaxed(&tr->last_poll);
    v->polls = kr__load_relaxed(&tr->polls);
    v->parent = tr->parent;
    if (last == 0)
        v->since = UINT64_MAX;
    else
        v->since = d->now_ticks > last ? kr__ticks_to_ns(d->now_ticks - last)
                                       : 0; /* polled meanwhile */
}

void kr__task_dump(kr__dump *d, kr__task *t) {
    track_view tv = {0, UINT64_MAX, 0};
    bool tracked = d->track && kr__task_tracked(t);
    if (tracked)
        track_read(d, t, &tv);
    int worker;
    const char *what = state_of(d, t, &worker);
    const kr_await_site *site = kr__load_relaxed(&t->site);
    const char *future = kr__task_future(t)->vtable->name;
    const kr__task_meta *m = kr__task_meta_of(t);
    const char *name = m != NULL && m->name_len != 0 ? m->name : NULL;
    const char *file = m != NULL ? m->file : NULL;
    unsigned long long id = (unsigned long long)kr__task_id(t);
    if (future == NULL)
        future = "?";
    if (d->json) {
        put(d, "%s\n  {\"id\": %llu, \"future\": ", d->count ? "," : "", id);
        put_json_str(d, future);
        put(d, ", \"name\": ");
        put_json_str(d, name);
        put(d, ", \"spawn\": ");
        if (file != NULL) {
            put(d, "{\"file\": ");
            put_json_str(d, file);
            put(d, ", \"line\": %d}", m->line);
        } else {
            put(d, "null");
        }
        put(d, ", \"state\": \"%s\", \"worker\": ", what);
        if (worker >= 0)
            put(d, "%d", worker);
        else
            put(d, "null");
        put(d, ", \"await\": ");
        if (site != NULL) {
            put(d, "{\"file\": ");
            put_json_str(d, site->file);
            put(d, ", \"line\": %d, \"func\": ", site->line);
            put_json_str(d, site->func);
            put(d, "}");
        } else {
            put(d, "null");
        }
        if (tracked) {
            put(d, ", \"polls\": %llu, \"since_poll_ns\": ",
                (unsigned long long)tv.polls);
            if (tv.since != UINT64_MAX)
                put(d, "%llu", (unsigned long long)tv.since);
            else
                put(d, "null");
            put(d, ", \"parent\": %llu", (unsigned long long)tv.parent);
        }
        put(d, "}");
    } else {
        if (site != NULL)
            put(d, "task %llu %s %s at %s:%d (%s)", id, future, what,
                site->file, site->line, site->func);
        else
            put(d, "task %llu %s %s at -", id, future, what);
        if (name != NULL)
            put(d, " \"%s\"", name);
        if (file != NULL)
            put(d, " spawned at %s:%d", file, m->line);
        if (worker >= 0)
            put(d, " on worker %d", worker);
        if (tracked) {
            put(d, ", %llu polls", (unsigned long long)tv.polls);
            if (tv.since != UINT64_MAX)
                put(d, ", last %.3f ms ago", (double)tv.since / 1e6);
            if (tv.parent != 0)
                put(d, ", parent %llu", (unsigned long long)tv.parent);
        }
        put(d, "\n");
    }
    d->count++;
}

const char *kr__task_describe(const kr__task *t, char *buf, size_t n) {
    if (n == 0)
        return buf;
    const kr__task_meta *m = kr__task_meta_of(t);
    const char *fut = kr__task_future((kr__task *)(uintptr_t)t)->vtable->name;
    int k = snprintf(buf, n, "task %llu", (unsigned long long)kr__task_id(t));
    if (k >= 0 && (size_t)k < n && m != NULL && m->name_len != 0)
        k += snprintf(buf + k, n - (size_t)k, " \"%s\"", m->name);
    if (k >= 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, " (%s", fut ? fut : "?");
    if (k >= 0 && (size_t)k < n && m != NULL && m->file != NULL)
        k += snprintf(buf + k, n - (size_t)k, ", spawned at %s:%d", m->file,
                      m->line);
    if (k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, ")");
    return buf;
}
