/*
 * sched/watchdog.h: blocked-worker detection for a runtime without a
 * monitor of its own (the current-thread runtime): a thread, started only
 * when kr_runtime_config.blocked_worker_ns is set, that watches one
 * worker's poll-in-progress record (sched/stats.h) and reports a poll
 * older than the threshold while it still runs, once per poll.
 *
 * It sleeps half the threshold (1 ms .. 1 s) while no poll is in
 * progress, and until the threshold while one is: a poll that started
 * just after a look is still short of the threshold at the next one, so
 * the report comes within a timer slack of it. The hot path pays what
 * blocked-worker detection costs anyway (the record's stores); the
 * watchdog reads only that record and the queue counter it is given.
 */
#ifndef KR_SCHED_WATCHDOG_H
#define KR_SCHED_WATCHDOG_H

#include <pthread.h>

#include "core/park.h"
#include "sched/stats.h"

typedef struct kr__watchdog {
    kr__wstats *s;
    uint64_t threshold_ns;
    /* Tasks queued behind the stuck poll, for the report (any thread). */
    unsigned (*queued)(void *arg);
    void *arg;
    kr__parker park;
    _Atomic int stop;
    int started;
    pthread_t th;
} kr__watchdog;

/* Starts the thread watching `s` (whose config has blocked_worker_ns
 * `threshold_ns` != 0). Returns 0 or a negative errno (KR_EAGAIN). */
int kr__watchdog_start(kr__watchdog *w, kr__wstats *s, uint64_t threshold_ns,
                       unsigned (*queued)(void *arg), void *arg);

/* Stops and joins it; a no-op if it was never started. Not from the
 * watchdog's own thread (its report callback). */
void kr__watchdog_stop(kr__watchdog *w);

#endif
