/*
 * sim/sim.h: the deterministic simulation flavor (kairo/sim.h), inside.
 *
 *   sched.c  the flavor: a seeded random choice among runnable tasks, the
 *            block_on loop, shutdown, the inline blocking pool
 *   driver.c the driver (core/driver.h) over the virtual clock and the
 *            queue of network events; the event log
 *   net.c    the in-memory network behind core/netsim.h: sockets, TCP
 *   udp.c    datagrams
 *   api.c    kairo/sim.h
 *
 * Everything here runs on the one simulation thread (the holder of `busy`)
 * except the remote entry points the current-thread flavor has as well (a
 * spawn or wake from another thread goes through the inject queue and the
 * gate, sched.c). So nothing below needs atomics: the state is the core's.
 *
 * Determinism. The run is a function of the seed and of what the program
 * does: every choice (the next task, a latency, a drop) comes from `rng`,
 * in an order fixed by the run itself; ties between events due at the same
 * virtual time are broken by their sequence number; task ids count up
 * from 1 per runtime; no address or real time enters the log.
 */
#ifndef KR_SIM_SIM_H
#define KR_SIM_SIM_H

#include "core/driver.h"
#include "core/netsim.h"
#include "core/park.h"
#include "core/runtime.h"
#include "core/vclock.h"
#include "sched/block_on.h"
#include "sched/inject.h"
#include "sched/owned.h"
#include "sim/rng.h"
#include "task/cache_pool.h"

struct kr__sim_sock;

/* A network event: due at `at` (virtual ns), applied by the driver's turn. */
typedef struct kr__sim_event {
    uint64_t at, seq;
    int kind;                  /* net.c's EV_* */
    struct kr__sim_sock *to;   /* holds a reference while queued */
    struct kr__sim_sock *conn; /* a connection attempt's server end */
    kr_sockaddr from, dst;     /* a datagram's source and destination */
    size_t len;
    unsigned char data[];
} kr__sim_event;

typedef struct kr__sim {
    struct kr_runtime base;
    kr__sched sched;
    kr__driver driver;

    /* Core: owned by the holder of `busy`. */
    kr__rng rng;
    uint64_t seed;
    /* The virtual clock: the pausable clock of core/vclock.h, frozen for
     * good (kr__ctx.clock points here on the simulation thread, so the
     * time layer reads it as it reads a paused current-thread runtime's);
     * the driver moves it with kr__vclock_advance_to. */
    kr__vclock clock;
    kr__task **run; /* the runnable tasks, in no order that matters */
    size_t nrun, run_cap;
    size_t live; /* tasks bound and not yet released: run_cap >= live */
    kr__owned owned;
    kr__cache *cache;
    kr__cache_pool pool;
    kr__timers wheel;
    /* Task numbers for the log: 1, 2, ... in spawn order per runtime,
     * found by the task's process-wide id (kr_task_id, which depends on
     * what else the process spawned) in an open-addressing table. */
    struct kr__sim_id *ids;
    size_t ids_cap, ids_n;
    uint32_t next_id;
    int stalled; /* nothing could ever run again: block_on fails */
    /* kr_runtime_free has run: sockets freed later send nothing (each
     * socket pins the memory through `refs`). */
    int dead;
    int drained;

    /* Network events: a binary min-heap on (at, seq). */
    kr__sim_event **ev;
    size_t nev, ev_cap;
    uint64_t ev_seq;
    /* Network: bound listeners and datagram sockets (a list), the next
     * ephemeral port, connection numbers for the log. */
    struct kr__sim_sock *bound;
    uint32_t next_port;
    uint32_t next_conn;
    kr_sim_options opt;

    /* The event log. */
    char *log;
    size_t log_len, log_cap;
    uint64_t log_hash;
    uint64_t steps;

    /* Shared, as in the current-thread flavor. */
    kr__inject inject;
    _Atomic uint64_t gate;
    kr__bo_signal signal;
    _Atomic int busy;
    _Atomic long refs;
    kr__parker park;
    _Atomic uint64_t n_spawned, n_completed, n_polls, n_remote;
} kr__sim;

#define KR__SIM_OF_DRIVER(d)                                                   \
    ((kr__sim *)((char *)(d)-offsetof(kr__sim, driver)))

/* The simulation the calling thread runs, or NULL. */
kr__sim *kr__sim_current(void);
/* `rt` as a simulation, or NULL if it is another flavor. */
kr__sim *kr__sim_of(const kr_runtime *rt);

/* sched.c */
/* Drops a reference on the simulation's memory (a socket's). */
void kr__sim_unref(kr__sim *sim);
int kr__sim_new(const kr_runtime_config *cfg, kr_runtime **out);
int kr__sim_spawn_blocking(kr_runtime *rt, kr_blocking_fn fn, void *arg,
                           kr_join_handle *jh);

/* driver.c: the driver's ops (the clock is sim->clock) and the log. */
extern const kr__driver_ops kr__sim_driver_ops;
/* Appends one line (printf format, no newline) to the log. */
void kr__sim_log(kr__sim *sim, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Queues a network event. Takes a reference on ev->to. */
void kr__sim_event_push(kr__sim *sim, kr__sim_event *ev);
/* The earliest event, or NULL. */
kr__sim_event *kr__sim_event_peek(kr__sim *sim);
kr__sim_event *kr__sim_event_pop(kr__sim *sim);
/* Frees every queued event (shutdown). */
void kr__sim_events_clear(kr__sim *sim);

/* net.c */
extern const kr__netsim_ops kr__sim_netsim_ops;
/* Applies a due network event (the driver's turn). */
void kr__sim_net_apply(kr__sim *sim, kr__sim_event *ev);
/* A latency drawn from the options, in ns. */
uint64_t kr__sim_latency(kr__sim *sim);

#endif
