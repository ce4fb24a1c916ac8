/*
 * rt/driver.c: the driver (core/driver.h) over the reactor (io/) and the
 * timing wheel (time/). The one place that knows both; the schedulers see
 * only the ops.
 */
#include <stdlib.h>

#include "rt/driver.h"
#include "io/reactor.h"
#include "time/wheel.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/debug.h"

/* The runtime's driver turns ring 0 of the reactor; on io_uring with
 * per-worker rings (per_worker), worker k's driver is `local[k]`, which
 * turns ring k and shares everything else with the runtime's. */
typedef struct rt_driver {
    kr__driver base;
    kr__reactor *reactor;
    unsigned ring;
    bool worker;             /* one of `local` (per_worker's) */
    struct rt_driver *local; /* the runtime's driver only: NULL, or n */
    kr__driver **local_ptrs;
} rt_driver;

static kr__reactor *reactor_of(kr__driver *d) {
    return ((rt_driver *)d)->reactor;
}

static void turn(kr__driver *d, int64_t timeout_ns) {
    rt_driver *rd = (rt_driver *)d;
    kr__reactor_turn(rd->reactor, rd->ring, timeout_ns);
}

static void unpark(kr__driver *d) {
    rt_driver *rd = (rt_driver *)d;
    kr__reactor_unpark(rd->reactor, rd->ring);
}

static bool has_sources(kr__driver *d) {
    return kr__reactor_nregs(reactor_of(d)) > 0;
}

static void shutdown(kr__driver *d) {
    rt_driver *rd = (rt_driver *)d;
    KR__REQUIRE(!rd->worker, "driver shutdown: a worker's driver (ring %u)",
                rd->ring);
    kr__reactor_shutdown_free(rd->reactor);
    kr__free(rd->local);
    kr__free(rd->local_ptrs);
    kr__free(d);
}

static void timers_init(kr__timers *t) {
    /* The monotonic clock, not the caller's runtime's (kr__now_ms): a
     * runtime made inside another whose clock was advanced starts on its
     * own clock, which reads the monotonic one until paused. */
    kr__wheel_init(kr__wheel_of(t), kr__now_ns() / 1000000);
}

static int64_t ns_of_ms(int64_t ms) { return ms < 0 ? -1 : ms * 1000000; }

static int64_t timers_fire(kr__timers *t) {
    kr__wheel *w = kr__wheel_of(t);
    if (!kr__wheel_busy(w))
        return -1; /* no clock read */
    uint64_t now = kr__now_ms();
    kr__wheel_process(w, now);
    return ns_of_ms(kr__wheel_next_ms(w, now));
}

static int64_t timers_next(kr__timers *t) {
    return ns_of_ms(kr__wheel_next_ms(kr__wheel_of(t), kr__now_ms()));
}

static void timers_clear(kr__timers *t) { kr__wheel_clear(kr__wheel_of(t)); }

static uint64_t timers_count(kr__timers *t) {
    return kr__load_relaxed(&kr__wheel_of(t)->count);
}

static void io_counts(kr__driver *d, uint64_t *events, uint64_t *ready,
                      uint64_t *ops) {
    kr__reactor_counts(reactor_of(d), events, ready, ops);
}

static int op_submit(kr__driver *d, kr__io_op *op) {
    return kr__reactor_op_submit(reactor_of(d), op);
}

static void op_cancel(kr__driver *d, kr__io_op *op) {
    kr__reactor_op_cancel(reactor_of(d), op);
}

static void io_ready(kr__driver *d, kr_async_fd *afd, uint32_t bits) {
    (void)d;
    kr__reactor_inject(afd, bits);
}

static int socket_new(kr__driver *d, int fd, kr_async_fd **out) {
    return kr__reactor_add_socket(reactor_of(d), fd, out);
}

static void reads_by_ops(kr__driver *d, kr_async_fd *afd) {
    (void)d;
    kr__reactor_reads_by_ops(afd);
}

static const kr__driver_ops ops_ring;

/* One ring per worker where the reactor can have them (io_uring): each
 * worker then turns and parks in a driver of its own. Made once, by the
 * multi-thread runtime before its workers start. KR_URING_SHARED_RING=1
 * in the environment keeps one ring for all (for measuring the two). */
static kr__driver **per_worker(kr__driver *d, unsigned n) {
    rt_driver *rd = (rt_driver *)d;
    const char *env = getenv("KR_URING_SHARED_RING");
    if (env != NULL && atoi(env) != 0)
        return NULL;
    if (rd->local != NULL || rd->reactor == NULL)
        return NULL;
    rt_driver *local = kr__calloc(n, sizeof(*local));
    kr__driver **ptrs = kr__calloc(n, sizeof(*ptrs));
    if (local == NULL || ptrs == NULL ||
        kr__reactor_add_rings(rd->reactor, n) != 0) {
        kr__free(local);
        kr__free(ptrs);
        return NULL; /* the workers share ring 0, as on epoll */
    }
    for (unsigned k = 0; k < n; k++) {
        local[k].base.ops = &ops_ring;
        local[k].reactor = rd->reactor;
        local[k].ring = k;
        local[k].worker = true;
        ptrs[k] = &local[k].base;
    }
    rd->local = local;
    rd->local_ptrs = ptrs;
    return ptrs;
}

static void look(kr__driver *d) {
    rt_driver *rd = (rt_driver *)d;
    kr__reactor_look(rd->reactor, rd->ring);
}

static void bind(kr__driver *d) {
    rt_driver *rd = (rt_driver *)d;
    kr__reactor_bind(rd->reactor, rd->ring);
}

/* On io_uring: with completion operations. */
static const kr__driver_ops ops_ring = {
    turn,        unpark,      has_sources,  shutdown,     timers_init,
    timers_fire, timers_next, timers_clear, timers_count, io_counts,
    op_submit,   op_cancel,   io_ready,     socket_new,   reads_by_ops,
    per_worker,  bind,        look};

/* On epoll: none, so the layers above see NULL and take their other way
 * (fs: the pool; net: the readiness loop) without a call to find out. */
static const kr__driver_ops ops_poll = {
    turn,        unpark,      has_sources,  shutdown,     timers_init,
    timers_fire, timers_next, timers_clear, timers_count, io_counts,
    NULL,        NULL,        NULL,         socket_new,   NULL,
    NULL,        NULL,        NULL};

/* Without the I/O driver: nothing to turn (a parked thread sleeps on its
 * futex, core/park.c), never a source; the timer ops are the same. */
static bool no_sources(kr__driver *d) {
    (void)d;
    return false;
}

static void shutdown_bare(kr__driver *d) { kr__free(d); }

static void no_io_counts(kr__driver *d, uint64_t *events, uint64_t *ready,
                         uint64_t *ops) {
    (void)d;
    *events = *ready = *ops = 0;
}

static int no_socket_new(kr__driver *d, int fd, kr_async_fd **out) {
    (void)d;
    (void)fd;
    (void)out;
    return KR_ENOIO; /* as kr_runtime_async_fd_new says here */
}

static const kr__driver_ops ops_no_io = {
    NULL,        NULL,        no_sources,   shutdown_bare, timers_init,
    timers_fire, timers_next, timers_clear, timers_count,  no_io_counts,
    NULL,        NULL,        NULL,         no_socket_new, NULL,
    NULL,        NULL,        NULL};

int kr__driver_new(kr__driver **out, kr__reactor **reactor, bool io,
                   kr_io_driver want) {
    *out = NULL;
    *reactor = NULL;
    rt_driver *d = kr__malloc(sizeof(*d));
    if (d == NULL)
        return KR_ENOMEM;
    d->reactor = NULL;
    d->ring = 0;
    d->worker = false;
    d->local = NULL;
    d->local_ptrs = NULL;
    d->base.ops = &ops_no_io;
    if (io) {
        int rc = kr__reactor_new(&d->reactor, want);
        if (rc != 0) {
            kr__free(d);
            return rc;
        }
        d->base.ops = kr__reactor_has_ops(d->reactor) ? &ops_ring : &ops_poll;
    }
    *reactor = d->reactor;
    *out = &d->base;
    return 0;
}
