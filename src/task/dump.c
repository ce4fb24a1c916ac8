/* task/dump.c: one line of a task dump. */
#include <stdio.h>

#include "task/state.h"

int kr__task_dump_line(int fd, void *task) {
    kr__task *t = task;
    uint64_t s = kr__load_relaxed(&t->state); /* a snapshot for humans */
    const char *what = (s & KR__RUNNING)    ? "running"
                       : (s & KR__NOTIFIED) ? "scheduled"
                                            : "idle";
    const kr_await_site *site = kr__load_relaxed(&t->site);
    const char *name = kr__task_future(t)->vtable->name;
    int n;
    if (site != NULL)
        n = dprintf(fd, "task %llu %s %s at %s:%d (%s)\n",
                    (unsigned long long)t->id, name ? name : "?", what,
                    site->file, site->line, site->func);
    else
        n = dprintf(fd, "task %llu %s %s at -\n", (unsigned long long)t->id,
                    name ? name : "?", what);
    return n < 0 ? KR_EIO : 0;
}
