/*
 * console/ring.c: the ring of recent warnings (protocol in ring.h).
 */
#include <string.h>

#include "console/ring.h"
#include "util/clock.h"

void kr__ring_init(kr__ring *r) {
    memset(r, 0, sizeof(*r));
    kr__spin_init(&r->lock);
}

void kr__ring_push(kr__ring *r, const kr_poll_report *rep) {
    kr__warning w;
    int n = kr_poll_report_format(rep, w.text, sizeof(w.text));
    if (n < 0)
        w.text[0] = '\0';
    w.at_ns = kr__now_ns();
    w.task_id = rep->task_id;
    w.duration_ns = rep->duration_ns;
    w.kind = (unsigned)rep->kind;
    w.worker = rep->worker;
    kr__spin_lock(&r->lock);
    w.seq = ++r->seq;
    r->slot[(w.seq - 1) % KR__RING_SLOTS] = w;
    kr__spin_unlock(&r->lock);
}

void kr__ring_read(kr__ring *r, unsigned i, kr__warning *out) {
    kr__spin_lock(&r->lock);
    *out = r->slot[i % KR__RING_SLOTS];
    kr__spin_unlock(&r->lock);
}
