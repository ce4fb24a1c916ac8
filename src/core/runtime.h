/*
 * core/runtime.h: the runtime object behind the public API. Each flavor
 * (sched/current_thread.c, sched/multi_thread.c) embeds struct kr_runtime
 * first and fills its ops; the layers below the scheduler (io, blocking)
 * reach the runtime they run in through kr__ctx.rt and this base alone.
 */
#ifndef KR_CORE_RUNTIME_H
#define KR_CORE_RUNTIME_H

#include <stdatomic.h>

#include "kairo.h"

struct kr__dump;

typedef struct kr__rt_ops {
    /* `local`: the caller is running this runtime (kr__ctx.rt == rt).
     * `jh`, if not NULL, is already an empty handle (kr__join_init(jh,
     * NULL), by every caller): a successful spawn makes it the task's
     * (kr__join_bind, one store), a failed one leaves it empty. */
    int (*spawn)(kr_runtime *rt, const kr_future *f, kr_join_handle *jh,
                 bool local);
    int (*block_on)(kr_runtime *rt, kr_future *f, void *out);
    int (*shutdown)(kr_runtime *rt);
    void (*free)(kr_runtime *rt);
    void (*metrics)(kr_runtime *rt, kr_runtime_metrics *m);
    /* Adds every live task to the dump (task/task.h); 0 or KR_EBUSY. */
    int (*dump)(kr_runtime *rt, struct kr__dump *d);
    /* Worker `i`'s counters into a zeroed `m`; KR_EINVAL: no such worker. */
    int (*worker_metrics)(kr_runtime *rt, unsigned i, kr_worker_metrics *m);
    /* The first half of shutdown, safe on one of the runtime's own
     * scheduler threads (inside a task): refuses new spawns and wakes
     * every thread that drives the runtime, so that block_on calls return
     * and workers exit, without waiting for any of it. A later shutdown
     * does the rest. */
    void (*begin_shutdown)(kr_runtime *rt);
    /* kr_block_in_place on a thread whose kr__ctx.rt is this runtime. */
    int (*block_in_place)(kr_runtime *rt, kr_blocking_fn fn, void *arg,
                          void **out);
} kr__rt_ops;

struct kr__blocking_pool;
struct kr__driver;
struct kr__handle;

struct kr_runtime {
    const kr__rt_ops *ops;
    kr_runtime_config cfg;
    /* The driver (core/driver.h): made by rt/runtime.c and handed to the
     * flavor, which shuts it down. */
    struct kr__driver *driver;
    /* Its reactor (io/reactor.h), for kr_runtime_async_fd_new. */
    struct kr__reactor *reactor;
    /* The blocking pool (blocking/pool.h): NULL until the first
     * spawn_blocking makes it (a CAS, in rt/runtime.c); a sentinel if the
     * runtime was shut down first. Zero-initialised by the flavors. */
    _Atomic(struct kr__blocking_pool *) blocking;
    /* Threads inside kr_runtime_block_on or kr_runtime_shutdown on this
     * runtime (rt/runtime.c). kr_runtime_free shuts the runtime down and
     * then waits for it to reach zero before it frees anything: a shutdown
     * that ended a block_on may still be running on its own thread when
     * that block_on's caller frees the runtime. Each call's decrement
     * (release) is its last touch of the runtime; free's acquire load pairs
     * with it. Zero-initialised by the flavors. */
    _Atomic int inside;
    /* The runtime's handle (core/handle.h): set by rt/runtime.c before
     * kr_runtime_new returns; closed and released by kr_runtime_free. */
    struct kr__handle *handle;
    /* The simulated network (core/netsim.h) the net layer dispatches to,
     * or NULL: the real one. Set by the simulation flavor. */
    const struct kr__netsim_ops *netsim;
    /* The live console (console/console.h), or NULL: none. Set by
     * rt/runtime.c, closed first by kr_runtime_free. */
    struct kr__console *console;
};

/* True if `rt` (NULL: none) was made without timers (KR_DRIVER_TIME). */
static inline bool kr__rt_no_timers(const kr_runtime *rt) {
    return rt != NULL && (rt->cfg.disable_drivers & KR_DRIVER_TIME) != 0;
}

#endif
