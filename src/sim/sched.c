/*
 * sim/sched.c: the simulation flavor's scheduler (kairo/sim.h, sim/sim.h).
 *
 * The current-thread runtime's structure (sched/current_thread.c: a core
 * owned by the holder of `busy`, an inject queue and a gate for other
 * threads, the shared block_on loop) with three differences:
 *
 *   - The run queue is a set: each step takes one task chosen with the
 *     seeded generator (swap-remove from an array, O(1)). Its capacity is
 *     kept at the number of live tasks or more when a task is bound, where
 *     a spawn may still fail with KR_ENOMEM, so a wake never allocates (a
 *     task is in the set at most once: its NOTIFIED bit).
 *   - A step is one task poll; the block_on future is polled whenever its
 *     waker fired, between steps. Yielded tasks go straight back into the
 *     set: there is no I/O to look at first.
 *   - With nothing runnable the loop fires the due timers and, if still
 *     nothing can run, "parks" in the driver with the time to the next
 *     timer: the simulation driver jumps the virtual clock to that timer or
 *     to the next network event, whichever is first, and applies the
 *     events due (sim/driver.c). With neither, nothing can ever run again:
 *     the run is stalled, reported with its seed, and block_on returns
 *     KR_EDEADLK.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/sim.h"
#include "core/context.h"
#include "core/rt_thread.h"
#include "sched/sched.h"
#include "task/cache.h"
#include "task/state.h"
#include "util/abort.h"
#include "util/alloc.h"

#define GATE_CLOSED 1u
#define GATE_ONE    2u

/* The virtual clock's start: far enough from zero that no deadline or
 * instant arithmetic near 0 behaves specially (1000 s). */
#define SIM_EPOCH_NS ((uint64_t)1000000000000)

#define SIM_OF_SCHED(s) ((kr__sim *)((char *)(s)-offsetof(kr__sim, sched)))

kr__sim *kr__sim_of(const kr_runtime *rt) {
    if (rt == NULL || rt->cfg.flavor != KR_RUNTIME_SIMULATION)
        return NULL;
    return (kr__sim *)(void *)rt;
}

kr__sim *kr__sim_current(void) {
    kr__sim *sim = kr__sim_of(kr__ctx.rt);
    return sim != NULL && kr__ctx.worker == sim ? sim : NULL;
}

static void bump(_Atomic uint64_t *c) {
    kr__store_relaxed(c, kr__load_relaxed(c) + 1);
}

/* ---- lifetime (as current_thread.c) ----------------------------------- */

void kr__sim_unref(kr__sim *sim) {
    if (kr__fetch_sub_acqrel(&sim->refs, 1) == 1) {
        kr__free(sim->run);
        kr__free(sim->ids);
        kr__free(sim->log);
        kr__free(sim->ev);
        kr__free_aligned(sim);
    }
}

static void signal_release(kr__bo_signal *s) {
    kr__sim_unref(KR__CONTAINER_OF(s, kr__sim, signal));
}

static void cache_destroyed(void *arg) { kr__sim_unref(arg); }

/* ---- the run set ------------------------------------------------------- */

static bool run_reserve(kr__sim *sim, size_t n) {
    if (sim->run_cap >= n)
        return true;
    size_t cap = sim->run_cap ? sim->run_cap * 2 : 64;
    while (cap < n)
        cap *= 2;
    kr__task **r = kr__allocator.realloc(sim->run, cap * sizeof(*r));
    if (r == NULL)
        return false;
    sim->run = r;
    sim->run_cap = cap;
    return true;
}

static void run_push(kr__sim *sim, kr__task *t) {
    /* run_cap >= live >= nrun + 1 (see the top); a remote task bound
     * without room (run_bind's failure) is the one exception. */
    if (sim->nrun == sim->run_cap && !run_reserve(sim, sim->nrun + 1))
        kr__die("simulation: no memory for the run set (seed %" PRIu64 ")",
                sim->seed);
    sim->run[sim->nrun++] = t;
}

static kr__task *run_pick(kr__sim *sim) {
    size_t i = (size_t)kr__rng_below(&sim->rng, sim->nrun);
    kr__task *t = sim->run[i];
    sim->run[i] = sim->run[--sim->nrun];
    return t;
}

/* ---- task numbers (the log's): id -> number, linear probing ---------- */

typedef struct kr__sim_id {
    uint64_t id; /* 0: empty (task ids are never 0) */
    uint32_t num;
} kr__sim_id;

static size_t id_slot(uint64_t id, size_t cap) {
    return (size_t)((id * 0x9e3779b97f4a7c15u) >> 32) & (cap - 1);
}

static void id_put_in(kr__sim_id *tab, size_t cap, uint64_t id, uint32_t num) {
    size_t i = id_slot(id, cap);
    while (tab[i].id != 0)
        i = (i + 1) & (cap - 1);
    tab[i].id = id;
    tab[i].num = num;
}

/* Room for `n` entries at a load of at most 1/2. */
static bool ids_reserve(kr__sim *sim, size_t n) {
    if (n * 2 <= sim->ids_cap)
        return true;
    size_t cap = sim->ids_cap ? sim->ids_cap * 2 : 64;
    while (cap < n * 2)
        cap *= 2;
    kr__sim_id *tab = kr__calloc(cap, sizeof(*tab));
    if (tab == NULL)
        return false;
    for (size_t i = 0; i < sim->ids_cap; i++)
        if (sim->ids[i].id != 0)
            id_put_in(tab, cap, sim->ids[i].id, sim->ids[i].num);
    kr__free(sim->ids);
    sim->ids = tab;
    sim->ids_cap = cap;
    return true;
}

static uint32_t id_num(kr__sim *sim, uint64_t id) {
    if (sim->ids_cap == 0)
        return 0;
    for (size_t i = id_slot(id, sim->ids_cap); sim->ids[i].id != 0;
         i = (i + 1) & (sim->ids_cap - 1))
        if (sim->ids[i].id == id)
            return sim->ids[i].num;
    return 0; /* not bound here */
}

/* Removes `id`, shifting later entries of its run back (no tombstones).
 * False if it was not there (a remote spawn never bound). */
static bool id_del(kr__sim *sim, uint64_t id) {
    size_t mask = sim->ids_cap - 1, i;
    if (sim->ids_cap == 0)
        return false;
    for (i = id_slot(id, sim->ids_cap); sim->ids[i].id != id;
         i = (i + 1) & mask)
        if (sim->ids[i].id == 0)
            return false;
    for (size_t j = (i + 1) & mask; sim->ids[j].id != 0; j = (j + 1) & mask) {
        size_t k = id_slot(sim->ids[j].id, sim->ids_cap);
        /* Move j back to i unless its home k lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            sim->ids[i] = sim->ids[j];
            i = j;
        }
    }
    sim->ids[i].id = 0;
    return true;
}

static uint32_t num_of(kr__sim *sim, kr__task *t) {
    return id_num(sim, kr__task_id(t));
}

/* Binds a task to the live list and numbers it for the log. */
static void bind(kr__sim *sim, kr__task *t) {
    uint32_t num = ++sim->next_id;
    if (!ids_reserve(sim, sim->ids_n + 1))
        kr__die("simulation: no memory for the task table (seed %" PRIu64 ")",
                sim->seed);
    id_put_in(sim->ids, sim->ids_cap, kr__task_id(t), num);
    sim->ids_n++;
    kr__owned_bind(&sim->owned, 0, t);
    sim->live++;
    kr__sim_log(sim, "spawn #%" PRIu32, num);
    KR__RT_ON_SPAWN(&sim->base.cfg, kr__task_id(t));
}

static void pull_inject(kr__sim *sim) {
    kr__task *t;
    while ((t = kr__inject_pop(&sim->inject)) != NULL) {
        if (t->owner == KR__NO_OWNER) {
            (void)run_reserve(sim, sim->live + 1); /* else run_push grows */
            bind(sim, t);
        }
        run_push(sim, t);
    }
}

/* ---- remote entry ------------------------------------------------------ */

static bool gate_enter(kr__sim *sim) {
    if (kr__fetch_add_acqrel(&sim->gate, GATE_ONE) & GATE_CLOSED) {
        kr__fetch_sub_release(&sim->gate, GATE_ONE);
        return false;
    }
    return true;
}

static void gate_exit(kr__sim *sim) {
    kr__fetch_sub_release(&sim->gate, GATE_ONE);
}

static bool is_closed(kr__sim *sim) {
    return (kr__load_seqcst(&sim->gate) & GATE_CLOSED) != 0;
}

/* ---- task hooks ---------------------------------------------------------- */

static void sim_schedule(kr__sched *s, kr__task *t) {
    kr__sim *sim = SIM_OF_SCHED(s);
    if (kr__ctx.worker == sim) {
        run_push(sim, t);
        return;
    }
    if (!gate_enter(sim)) {
        kr__task_drop_ref(t);
        return;
    }
    kr__inject_push(&sim->inject, t);
    gate_exit(sim);
    kr__unpark(&sim->park);
}

static bool sim_release(kr__sched *s, kr__task *t) {
    kr__sim *sim = SIM_OF_SCHED(s);
    bump(&sim->n_completed);
    kr__sim_log(sim, "done #%" PRIu32, num_of(sim, t));
    if (id_del(sim, kr__task_id(t))) { /* it was bound */
        sim->ids_n--;
        sim->live--;
    }
    KR__RT_ON_TERMINATE(&sim->base.cfg, kr__task_id(t));
    return kr__owned_release(t);
}

static void sim_unpin(kr__sched *s) { kr__sim_unref(SIM_OF_SCHED(s)); }

static const kr__sched_ops sim_sched_ops = {sim_schedule, sim_release,
                                            sim_unpin};

/* ---- core hand-over ------------------------------------------------------ */

static bool core_take(kr__sim *sim, kr__ctx_t *saved) {
    int expected = 0;
    if (!kr__cas_seqcst(&sim->busy, &expected, 1))
        return false;
    *saved = kr__ctx;
    kr__ctx.rt = &sim->base;
    kr__ctx.cache = sim->cache;
    kr__ctx.worker = sim;
    kr__ctx.wheel = &sim->wheel;
    kr__ctx.budget = KR__BUDGET_UNLIMITED;
    kr__ctx.clock = &sim->clock;
    return true;
}

static void core_give(kr__sim *sim, const kr__ctx_t *saved) {
    kr__ctx = *saved;
    kr__store_seqcst(&sim->busy, 0);
}

static void drain(kr__sim *sim) {
    while (kr__load_acquire(&sim->gate) >= GATE_ONE)
        sched_yield();
    for (;;) {
        bool any = kr__owned_shutdown_all(&sim->owned);
        kr__task *t;
        while (sim->nrun > 0) {
            kr__task_drop_queued(sim->run[--sim->nrun]);
            any = true;
        }
        while ((t = kr__inject_pop(&sim->inject)) != NULL) {
            if (t->owner == KR__NO_OWNER)
                kr__task_shutdown(t);
            kr__task_drop_queued(t);
            any = true;
        }
        if (!any)
            break;
    }
    sim->driver.ops->timers_clear(&sim->wheel);
    sim->drained = 1;
}

static void try_drain(kr__sim *sim) {
    kr__ctx_t saved;
    if (is_closed(sim) && core_take(sim, &saved)) {
        if (!sim->drained)
            drain(sim);
        core_give(sim, &saved);
    }
}

/* ---- runtime ops ----------------------------------------------------------- */

static int sim_spawn(kr_runtime *rt, const kr_future *f, kr_join_handle *jh,
                     bool local) {
    kr__sim *sim = (kr__sim *)rt;
    kr__task *t;
    if (local && kr__ctx.worker == sim) {
        if (is_closed(sim))
            return KR_ESHUTDOWN;
        if (!run_reserve(sim, sim->live + 1) ||
            !ids_reserve(sim, sim->ids_n + 1))
            return KR_ENOMEM;
        t = kr__task_new(&sim->sched, sim->cache, f, jh != NULL);
        if (t == NULL)
            return KR_ENOMEM;
        bind(sim, t);
        bump(&sim->n_spawned);
        if (jh != NULL)
            kr__join_init(jh, t);
        run_push(sim, t);
        return 0;
    }
    /* From outside the simulation thread (say, before block_on): the
     * inject queue, bound when the loop pulls it, in push order. */
    if (!gate_enter(sim))
        return KR_ESHUTDOWN;
    kr__cache_pool_slot *slot = kr__cache_pool_take(&sim->pool);
    t = kr__task_new(&sim->sched, slot ? slot->cache : NULL, f, jh != NULL);
    if (slot != NULL)
        kr__cache_pool_give(slot);
    if (t == NULL) {
        gate_exit(sim);
        return KR_ENOMEM;
    }
    if (slot == NULL)
        kr__fetch_add_relaxed(&sim->refs, 1); /* the cell pins us */
    kr__fetch_add_relaxed(&sim->n_remote, 1);
    if (jh != NULL)
        kr__join_init(jh, t);
    kr__inject_push(&sim->inject, t);
    gate_exit(sim);
    kr__unpark(&sim->park);
    return 0;
}

static bool bo_closed(void *arg) {
    kr__sim *sim = arg;
    return sim->stalled || is_closed(sim);
}

/* One step: a task poll if any is runnable; else the due timers, and then
 * (returned) the time to the next one for bo_park. */
static int64_t bo_work(void *arg) {
    kr__sim *sim = arg;
    pull_inject(sim);
    if (sim->nrun > 0) {
        kr__task *t = run_pick(sim);
        sim->steps++;
        kr__sim_log(sim, "poll #%" PRIu32, num_of(sim, t));
        kr__ctx.budget = sim->base.cfg.budget;
        if (kr__task_run(t))
            run_push(sim, t); /* a yield */
        kr__ctx.budget = KR__BUDGET_UNLIMITED;
        bump(&sim->n_polls);
        return 0;
    }
    int64_t timeout = sim->driver.ops->timers_fire(&sim->wheel);
    if (sim->nrun > 0 || !kr__inject_is_empty(&sim->inject))
        return 0;
    return timeout == 0 ? 1 : timeout; /* 0 would spin: see bo_park */
}

/* Nothing runnable: the driver's turn moves virtual time on (sim/driver.c)
 * and flags a stall when there is nothing to move on to. */
static void bo_park(void *arg, int64_t timeout_ns) {
    kr__sim *sim = arg;
    sim->driver.ops->turn(&sim->driver, timeout_ns);
}

static int sim_block_on(kr_runtime *rt, kr_future *f, void *out) {
    kr__sim *sim = (kr__sim *)rt;
    kr__ctx_t saved;
    if (!core_take(sim, &saved))
        return KR_EBUSY;
    sim->stalled = 0;
    kr__sim_log(sim, "block_on");
    int rc = kr__block_on_loop(&sim->signal, f, out, sim->base.cfg.budget,
                               bo_closed, bo_work, bo_park, sim);
    if (sim->stalled) {
        char line[160];
        int n = snprintf(
            line, sizeof(line),
            "kairo-sim: deadlock at %" PRIu64
            " ms: nothing can run, no timer, no network event "
            "(seed %" PRIu64 "; replay with KAIRO_SEED=%" PRIu64 ")\n",
            (sim->clock.base - SIM_EPOCH_NS) / 1000000, sim->seed, sim->seed);
        if (n > 0 && write(2, line, (size_t)n) < 0) {
            /* stderr is gone: the return code still says it */
        }
        sim->stalled = 0;
        rc = KR_EDEADLK;
    }
    if (is_closed(sim) && !sim->drained)
        drain(sim);
    core_give(sim, &saved);
    try_drain(sim);
    return rc;
}

static int sim_shutdown(kr_runtime *rt) {
    kr__sim *sim = (kr__sim *)rt;
    kr__fetch_or_seqcst(&sim->gate, GATE_CLOSED);
    kr__unpark(&sim->park);
    try_drain(sim);
    return 0;
}

static void sim_free(kr_runtime *rt) {
    kr__sim *sim = (kr__sim *)rt;
    kr__ctx_t saved;
    sim_shutdown(rt);
    if (!core_take(sim, &saved))
        return;
    /* Sockets still held by queued events are released with them. */
    kr__sim_events_clear(sim);
    sim->dead = 1;
    kr__cache_orphan(sim->cache);
    sim->cache = NULL;
    core_give(sim, &saved);
    kr__cache_pool_orphan(&sim->pool);
    sim->driver.ops->shutdown(&sim->driver);
    kr__sim_unref(sim);
}

static void sim_metrics(kr_runtime *rt, kr_runtime_metrics *m) {
    kr__sim *sim = (kr__sim *)rt;
    uint64_t local = kr__load_relaxed(&sim->n_spawned);
    uint64_t remote = kr__load_relaxed(&sim->n_remote);
    m->spawned = local + remote;
    uint64_t done = kr__load_relaxed(&sim->n_completed);
    m->alive = m->spawned > done ? m->spawned - done : 0;
    m->completed = done;
    m->polls = kr__load_relaxed(&sim->n_polls);
    m->remote_spawns = remote;
    m->workers = 1;
    m->timer_entries = sim->driver.ops->timers_count(&sim->wheel);
}

/* The simulation keeps the basic counters only (its one thread, its own
 * scheduler): polls and spawns. */
static int sim_worker_metrics(kr_runtime *rt, unsigned i,
                              kr_worker_metrics *m) {
    kr__sim *sim = (kr__sim *)rt;
    if (i != 0)
        return KR_EINVAL;
    m->polls = kr__load_relaxed(&sim->n_polls);
    m->spawned = kr__load_relaxed(&sim->n_spawned);
    return 0;
}

static int sim_dump(kr_runtime *rt, kr__dump *d) {
    kr__sim *sim = (kr__sim *)rt;
    kr__ctx_t saved;
    bool took = false;
    if (kr__ctx.worker != sim) {
        if (!core_take(sim, &saved))
            return KR_EBUSY;
        took = true;
    }
    kr__owned_dump(&sim->owned, d);
    if (took)
        core_give(sim, &saved);
    return 0;
}

/* Shutdown from the core's holder (a task): sim_shutdown leaves the drain
 * to the holder (try_drain cannot take the core), as ct_shutdown does. */
static void sim_begin_shutdown(kr_runtime *rt) { (void)sim_shutdown(rt); }

/* One thread runs every task: a task or the block_on future cannot block
 * in place (KR_EINVAL, as on the current-thread runtime); elsewhere fn
 * just runs. */
static int sim_block_in_place(kr_runtime *rt, kr_blocking_fn fn, void *arg,
                              void **out) {
    kr__sim *sim = (kr__sim *)rt;
    if (kr__ctx.wheel == &sim->wheel)
        return KR_EINVAL;
    void *r = fn(arg);
    if (out != NULL)
        *out = r;
    return 0;
}

static const kr__rt_ops sim_ops = {
    sim_spawn,          sim_block_on,       sim_shutdown,
    sim_free,           sim_metrics,        sim_dump,
    sim_worker_metrics, sim_begin_shutdown, sim_block_in_place};

/* ---- the blocking pool, inline ------------------------------------------- */

/* A job is a task whose one poll calls fn: it runs on the simulation
 * thread when the scheduler picks it, among the other tasks. */
typedef struct inline_job {
    kr_future base;
    kr_blocking_fn fn;
    void *arg;
} inline_job;

static kr_poll job_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    inline_job *j = (inline_job *)f;
    void *r = j->fn(j->arg);
    if (out != NULL)
        memcpy(out, &r, sizeof(r));
    return KR_READY;
}

static const kr_future_vtable job_vtable = {job_poll, NULL, sizeof(inline_job),
                                            sizeof(void *), "kr_blocking_job"};

int kr__sim_spawn_blocking(kr_runtime *rt, kr_blocking_fn fn, void *arg,
                           kr_join_handle *jh) {
    inline_job j = {{&job_vtable}, fn, arg};
    return kr_runtime_spawn(rt, &j.base, jh);
}

/* ---- creation --------------------------------------------------------------- */

static uint64_t pick_seed(const kr_runtime_config *cfg) {
    uint64_t seed;
    if (cfg->seed != 0)
        return cfg->seed;
    if (kr_sim_env_seed(&seed))
        return seed;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32;
    return kr__splitmix64(&x) | 1; /* never 0: 0 means "choose" */
}

int kr__sim_new(const kr_runtime_config *cfg, kr_runtime **out) {
    kr__sim *sim = kr__calloc_page(sizeof(*sim));
    if (sim == NULL)
        return KR_ENOMEM;
    sim->base.ops = &sim_ops;
    sim->base.cfg = *cfg;
    sim->base.driver = &sim->driver;
    sim->base.netsim = &kr__sim_netsim_ops;
    sim->driver.ops = &kr__sim_driver_ops;
    sim->sched.ops = &sim_sched_ops;
    sim->seed = pick_seed(cfg);
    sim->base.cfg.seed = sim->seed;
    kr__rng_seed(&sim->rng, sim->seed);
    /* Frozen from the start at a fixed reading: no real time enters. */
    sim->clock.virt = true;
    sim->clock.frozen = true;
    sim->clock.base = SIM_EPOCH_NS;
    sim->clock.since = 0;
    sim->opt = kr_sim_options_default();
    sim->next_port = 49152; /* the IANA ephemeral range */
    kr__owned_init(&sim->owned);
    sim->driver.ops->timers_init(&sim->wheel);
    kr__inject_init(&sim->inject);
    atomic_init(&sim->gate, 0);
    atomic_init(&sim->signal.woken, 0);
    sim->signal.park = &sim->park;
    sim->signal.self = sim;
    sim->signal.refs = &sim->refs;
    sim->signal.release = signal_release;
    atomic_init(&sim->busy, 0);
    atomic_init(&sim->refs, 2 + KR__CACHE_POOL_SLOTS);
    kr__parker_init(&sim->park);
    unsigned pooled;
    if (!kr__cache_pool_init(&sim->pool, &sim->sched, cache_destroyed, sim,
                             &pooled)) {
        kr__fetch_sub_relaxed(&sim->refs, KR__CACHE_POOL_SLOTS - pooled);
        kr__free_aligned(sim);
        return KR_ENOMEM;
    }
    sim->cache = kr__cache_new(&sim->sched, cache_destroyed, sim);
    if (sim->cache == NULL) {
        kr__cache_pool_orphan(&sim->pool);
        kr__free_aligned(sim);
        return KR_ENOMEM;
    }
    *out = &sim->base;
    return 0;
}
