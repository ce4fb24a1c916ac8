/*
 * sched/watchdog.c: the current-thread runtime's blocked-worker watchdog
 * (sched/watchdog.h). The record it reads and the report are stats.c's
 * (kr__wstats_check_blocked, under the seqlock described in stats.h).
 */
#include <string.h>

#include "sched/watchdog.h"
#include "util/atomic.h"
#include "util/ticks.h"
#include "util/thread.h"

#define MIN_NS 1000000ull    /* 1 ms */
#define MAX_NS 1000000000ull /* 1 s */

/* How long to sleep after a look at `now`. */
static int64_t next_wait(const kr__watchdog *w, uint64_t now) {
    uint64_t idle = w->threshold_ns / 2;
    idle = idle < MIN_NS ? MIN_NS : idle > MAX_NS ? MAX_NS : idle;
    uint64_t start = kr__load_acquire(&w->s->poll_start);
    if (start == 0 || start == w->s->reported_start)
        return (int64_t)idle;
    /* A poll in progress, not reported: wake when it reaches the
     * threshold (a little after: the check wants >=). */
    uint64_t ran = now > start ? kr__ticks_to_ns(now - start) : 0;
    uint64_t wait = ran < w->threshold_ns ? w->threshold_ns - ran : 0;
    wait += MIN_NS / 10;
    return (int64_t)(wait < idle ? wait : idle);
}

static void *watchdog_main(void *arg) {
    kr__watchdog *w = arg;
    int64_t wait = (int64_t)MIN_NS;
    while (!kr__load_acquire(&w->stop)) {
        kr__park(&w->park, wait);
        if (kr__load_acquire(&w->stop))
            break;
        uint64_t now = kr__ticks();
        if (kr__load_acquire(&w->s->poll_start) != 0)
            kr__wstats_check_blocked(w->s, now, w->queued(w->arg));
        wait = next_wait(w, now);
    }
    return NULL;
}

int kr__watchdog_start(kr__watchdog *w, kr__wstats *s, uint64_t threshold_ns,
                       unsigned (*queued)(void *arg), void *arg) {
    memset(w, 0, sizeof(*w));
    w->s = s;
    w->threshold_ns = threshold_ns;
    w->queued = queued;
    w->arg = arg;
    kr__parker_init(&w->park);
    atomic_init(&w->stop, 0);
    int e = kr__thread_start(&w->th, NULL, watchdog_main, w);
    if (e != 0)
        return -e;
    w->started = 1;
    return 0;
}

void kr__watchdog_stop(kr__watchdog *w) {
    if (!w->started)
        return;
    kr__store_release(&w->stop, 1);
    kr__unpark(&w->park);
    pthread_join(w->th, NULL);
    w->started = 0;
}
