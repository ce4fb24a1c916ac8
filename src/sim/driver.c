/*
 * sim/driver.c: the simulation's driver (core/driver.h) and its event log.
 *
 * In place of epoll and CLOCK_MONOTONIC: the virtual clock (sim->clock)
 * and a queue of network events, a binary min-heap on (due time, sequence
 * number), the sequence breaking ties in the order the events were made.
 *
 * turn(timeout) is the driver's wait: where epoll would sleep up to
 * `timeout` for an event, the simulation moves the clock straight to the
 * first of (now + timeout, the next network event) and applies every event
 * due by then (net.c wakes what waits on them). With no timeout (-1) and
 * no event, nothing can ever happen: it marks the run stalled (sched.c
 * reports the deadlock). Called only when no task is runnable, so virtual
 * time stands still while anything can run.
 *
 * The timer ops are the real driver's over the same wheel, read against
 * the virtual clock (the wheel is embedded in the simulation, so it finds
 * its clock from the storage).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"
#include "net/sock.h"
#include "time/wheel.h"
#include "util/alloc.h"

/* ---- the event log ------------------------------------------------------- */

#define LOG_LIMIT_DEFAULT ((size_t)16 << 20)
#define FNV_OFFSET        0xcbf29ce484222325u
#define FNV_PRIME         0x100000001b3u

void kr__sim_log(kr__sim *sim, const char *fmt, ...) {
    char line[256];
    uint64_t t = sim->clock.base;
    int n = snprintf(line, sizeof(line), "%" PRIu64 ".%06" PRIu64 " ",
                     t / 1000000, t % 1000000);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: still deterministic */
    line[len++] = '\n';
    uint64_t h =
        sim->log_len == 0 && sim->log_hash == 0 ? FNV_OFFSET : sim->log_hash;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)line[i]) * FNV_PRIME;
    sim->log_hash = h;
    size_t limit = sim->opt.log_limit ? sim->opt.log_limit : LOG_LIMIT_DEFAULT;
    if (sim->log_len + len > limit)
        return;
    if (sim->log_len + len > sim->log_cap) {
        size_t cap = sim->log_cap ? sim->log_cap * 2 : 4096;
        while (cap < sim->log_len + len)
            cap *= 2;
        char *p = kr__allocator.realloc(sim->log, cap);
        if (p == NULL)
            return; /* the hash keeps counting */
        sim->log = p;
        sim->log_cap = cap;
    }
    memcpy(sim->log + sim->log_len, line, len);
    sim->log_len += len;
}

/* ---- the event heap ------------------------------------------------------ */

static bool before(const kr__sim_event *a, const kr__sim_event *b) {
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void drop_ev(kr__sim_event *ev) {
    int held = 1;
    if (ev->to != NULL)
        kr__sock_unhold((kr__sock *)ev->to, &held, NULL);
    kr__free(ev);
}

void kr__sim_event_push(kr__sim *sim, kr__sim_event *ev) {
    ev->seq = sim->ev_seq++;
    if (ev->to != NULL)
        kr__fetch_add_relaxed(&((kr__sock *)ev->to)->refs, 1);
    if (sim->nev == sim->ev_cap) {
        size_t cap = sim->ev_cap ? sim->ev_cap * 2 : 64;
        kr__sim_event **p = kr__allocator.realloc(sim->ev, cap * sizeof(*p));
        if (p == NULL) {
            /* No room to queue it: the segment or datagram is lost, as a
             * network under memory pressure loses it. */
            kr__sim_log(sim, "lost (no memory)");
            drop_ev(ev);
            return;
        }
        sim->ev = p;
        sim->ev_cap = cap;
    }
    size_t i = sim->nev++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(ev, sim->ev[parent]))
            break;
        sim->ev[i] = sim->ev[parent];
        i = parent;
    }
    sim->ev[i] = ev;
}

kr__sim_event *kr__sim_event_peek(kr__sim *sim) {
    return sim->nev > 0 ? sim->ev[0] : NULL;
}

kr__sim_event *kr__sim_event_pop(kr__sim *sim) {
    if (sim->nev == 0)
        return NULL;
    kr__sim_event *top = sim->ev[0];
    kr__sim_event *last = sim->ev[--sim->nev];
    size_t i = 0, n = sim->nev;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(sim->ev[c + 1], sim->ev[c]))
            c++;
        if (!before(sim->ev[c], last))
            break;
        sim->ev[i] = sim->ev[c];
        i = c;
    }
    if (n > 0)
        sim->ev[i] = last;
    return top;
}

void kr__sim_events_clear(kr__sim *sim) {
    kr__sim_event *ev;
    while ((ev = kr__sim_event_pop(sim)) != NULL)
        drop_ev(ev);
}

/* ---- the driver ops --------------------------------------------------------- */

static void turn(kr__driver *d, int64_t timeout_ns) {
    kr__sim *sim = KR__SIM_OF_DRIVER(d);
    kr__sim_event *ev = kr__sim_event_peek(sim);
    if (timeout_ns < 0 && ev == NULL) {
        sim->stalled = 1;
        return;
    }
    uint64_t target =
        timeout_ns < 0 ? ev->at : sim->clock.base + (uint64_t)timeout_ns;
    if (ev != NULL && ev->at < target)
        target = ev->at;
    kr__vclock_advance_to(&sim->clock, target);
    while ((ev = kr__sim_event_peek(sim)) != NULL &&
           ev->at <= sim->clock.base) {
        kr__sim_event_pop(sim);
        kr__sim_net_apply(sim, ev);
        drop_ev(ev);
    }
}

static void unpark(kr__driver *d) { (void)d; /* turn never blocks */ }

static bool has_sources(kr__driver *d) { return KR__SIM_OF_DRIVER(d)->nev > 0; }

static void drv_shutdown(kr__driver *d) {
    kr__sim_events_clear(KR__SIM_OF_DRIVER(d)); /* the simulation frees d */
}

static kr__sim *sim_of_wheel(kr__timers *t) {
    return KR__CONTAINER_OF(t, kr__sim, wheel);
}

static uint64_t now_ms(kr__timers *t) {
    return sim_of_wheel(t)->clock.base / 1000000;
}

static void timers_init(kr__timers *t) {
    kr__wheel_init(kr__wheel_of(t), now_ms(t));
}

static int64_t ns_of_ms(int64_t ms) { return ms < 0 ? -1 : ms * 1000000; }

static int64_t timers_fire(kr__timers *t) {
    kr__wheel *w = kr__wheel_of(t);
    if (!kr__wheel_busy(w))
        return -1;
    uint64_t now = now_ms(t);
    unsigned n = kr__wheel_process(w, now);
    if (n > 0)
        kr__sim_log(sim_of_wheel(t), "timers %u", n);
    return ns_of_ms(kr__wheel_next_ms(w, now));
}

static int64_t timers_next(kr__timers *t) {
    return ns_of_ms(kr__wheel_next_ms(kr__wheel_of(t), now_ms(t)));
}

static void timers_clear(kr__timers *t) { kr__wheel_clear(kr__wheel_of(t)); }

static uint64_t timers_count(kr__timers *t) {
    return kr__load_relaxed(&kr__wheel_of(t)->count);
}

/* The in-memory network has no I/O driver events to count. */
static void io_counts(kr__driver *d, uint64_t *events, uint64_t *ready,
                      uint64_t *ops) {
    (void)d;
    *events = *ready = *ops = 0;
}

/* No real descriptors either: kr_runtime_async_fd_new's answer here. */
static int socket_new(kr__driver *d, int fd, kr_async_fd **out) {
    (void)d;
    (void)fd;
    (void)out;
    return KR_ENOIO;
}

const kr__driver_ops kr__sim_driver_ops = {
    turn,        unpark,      has_sources,  drv_shutdown, timers_init,
    timers_fire, timers_next, timers_clear, timers_count, io_counts,
    NULL,        NULL,        NULL, /* no completion operations */
    socket_new,  NULL,        NULL,         NULL,         NULL};
