/* core/park.c: futex parking (protocol in park.h). */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/driver.h"
#include "core/park.h"
#include "util/atomic.h"

enum { EMPTY = 0, PARKED = 1, NOTIFIED = 2, PARKED_DRIVER = 3 };

#if defined(__SANITIZE_THREAD__)
#define KR__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KR__TSAN 1
#endif
#endif

static void futex_wait(_Atomic uint32_t *addr, uint32_t val,
                       const struct timespec *ts) {
    /* EINTR, EAGAIN (value changed) and timeouts all just return: the
     * caller re-checks the state. */
#ifdef KR__TSAN
    /* TSan runs a signal handler only when the thread that took the
     * signal next enters a function TSan intercepts; a raw futex syscall
     * is not one. A worker parked here without a timeout would hold a
     * SIGTERM for kr_signal forever (kairo-http's 2-worker server never
     * exited under TSan). So a TSan build waits in 10 ms slices, each
     * followed by an intercepted call, which runs what is pending. A
     * slice's end is a spurious wake; every caller re-checks. */
    struct timespec slice = {0, 10 * 1000 * 1000};
    if (ts == NULL || ts->tv_sec > 0 || ts->tv_nsec > slice.tv_nsec)
        ts = &slice;
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, ts, NULL, 0);
    usleep(0);
#else
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, ts, NULL, 0);
#endif
}

static void futex_wake(_Atomic uint32_t *addr) {
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void kr__parker_init(kr__parker *p) {
    atomic_init(&p->state, EMPTY);
    p->driver = NULL;
}

void kr__park_driver(kr__parker *p, kr__driver *d, int64_t timeout_ns) {
    if (d->ops->turn == NULL) {
        /* No I/O driver: nothing to wait for but an unpark or the clock. */
        kr__park(p, timeout_ns);
        return;
    }
    uint32_t s = EMPTY;
    /* Stored once: a parker always parks in its runtime's driver. A store
     * on every park would race (a data race under the C11 model, reported
     * by TSan) with an unparker of the previous park still reading it. */
    if (p->driver != d)
        p->driver = d;
    /* Release publishes `driver` to the unparker's acquire swap. */
    if (!kr__cas_acqrel(&p->state, &s, PARKED_DRIVER)) {
        /* NOTIFIED: consume it, but still look at I/O without blocking. */
        kr__swap_acquire(&p->state, EMPTY);
        d->ops->turn(d, 0);
        return;
    }
    d->ops->turn(d, timeout_ns);
    /* Acquire: pairs with an unparker's release (NOTIFIED) if any. */
    kr__swap_acquire(&p->state, EMPTY);
}

void kr__park(kr__parker *p, int64_t timeout_ns) {
    uint32_t s = NOTIFIED;
    /* Acquire pairs with unpark's release swap. */
    if (kr__cas_acquire(&p->state, &s, EMPTY))
        return;
    s = EMPTY;
    if (!kr__cas_acqrel(&p->state, &s, PARKED)) {
        /* Only NOTIFIED can have come in between. */
        kr__swap_acquire(&p->state, EMPTY);
        return;
    }
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tsp = &ts;
    }
    for (;;) {
        futex_wait(&p->state, PARKED, tsp);
        s = NOTIFIED;
        if (kr__cas_acquire(&p->state, &s, EMPTY))
            return;
        if (tsp != NULL) {
            /* Timed out (or spurious; the caller re-checks either way). */
            s = PARKED;
            if (kr__cas_acqrel(&p->state, &s, EMPTY))
                return;
            kr__swap_acquire(&p->state, EMPTY); /* NOTIFIED came in */
            return;
        }
    }
}

void kr__unpark(kr__parker *p) {
    /* Release publishes the unparker's prior writes to the parked thread;
     * acquire reads the driver pointer a PARKED_DRIVER owner published. */
    uint32_t prev = kr__swap_acqrel(&p->state, NOTIFIED);
    if (prev == PARKED)
        futex_wake(&p->state);
    else if (prev == PARKED_DRIVER)
        p->driver->ops->unpark(p->driver);
}
