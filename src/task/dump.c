/* task/dump.c: one line of a task dump, and a task named for an error. */
#include <stdio.h>

#include "task/state.h"

/* ` "name" spawned at file:line` for a builder's task, or "". */
static void meta_text(const kr__task *t, char *buf, size_t n) {
    const kr__task_meta *m = kr__task_meta_of(t);
    buf[0] = '\0';
    if (m == NULL)
        return;
    int k = 0;
    if (m->name_len != 0)
        k = snprintf(buf, n, " \"%s\"", m->name);
    if (m->file != NULL && k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, " spawned at %s:%d", m->file, m->line);
}

int kr__task_dump_line(int fd, void *task) {
    kr__task *t = task;
    uint64_t s = kr__load_relaxed(&t->state); /* a snapshot for humans */
    const char *what = (s & KR__RUNNING)    ? "running"
                       : (s & KR__NOTIFIED) ? "scheduled"
                                            : "idle";
    const kr_await_site *site = kr__load_relaxed(&t->site);
    const char *name = kr__task_future(t)->vtable->name;
    char meta[KR_TASK_NAME_MAX + 300];
    meta_text(t, meta, sizeof(meta));
    unsigned long long id = (unsigned long long)kr__task_id(t);
    int n;
    if (site != NULL)
        n = dprintf(fd, "task %llu %s %s at %s:%d (%s)%s\n", id,
                    name ? name : "?", what, site->file, site->line, site->func,
                    meta);
    else
        n = dprintf(fd, "task %llu %s %s at -%s\n", id, name ? name : "?", what,
                    meta);
    return n < 0 ? KR_EIO : 0;
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
