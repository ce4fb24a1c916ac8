/*
 * sched/ct_spawn.c: the current-thread runtime's spawns (kr__rt_ops.spawn):
 * a local spawn, on the thread holding the core, straight into the run
 * queue; a remote one through the gate, the cache pool and the inject
 * queue (the protocols: current_thread.c's top).
 *
 * The local spawn's common path stays a leaf with every helper inline
 * (sched/ct.h) and the rare paths out of line (noinline), so that it saves
 * few registers: keep it so (bench/instructions.sh ct/spawn_many_local).
 */
#include "core/rt_thread.h"
#include "sched/ct.h"
#include "task/new.h"

/* The remote spawn's cell made and the pool slot given back: count, fill
 * the handle. */
static inline void remote_bind(ct_rt *ct, kr__task *t, kr_join_handle *jh) {
    kr__fetch_add_relaxed(&ct->n_remote, 1); /* a counter only */
    if (jh != NULL)
        kr__join_bind(jh, t); /* empty until now: core/runtime.h */
}

/* Then (after the spawn hook, if any): queue, leave the gate. */
static inline void remote_queue(ct_rt *ct, kr__task *t) {
    kr__inject_push(&ct->inject, t);
    kr__ct_gate_exit(ct);
}

/* The remote spawn's last step, after the gate: the unpark that makes
 * the core look at the inject queue. A function of its own, reached by a
 * tail call, so that ct_spawn_remote's common path makes no other call
 * (and saves few registers). */
static __attribute__((noinline)) int remote_unpark(ct_rt *ct) {
    kr__unpark(&ct->park);
    return 0;
}

/* After the push: unparks the core, unless nobody holds it. Only the
 * core's holder parks on ct->park, and a thread that takes the core
 * looks at the inject queue before it first parks; so while `busy` is 0
 * the unpark (an RMW on the parker, the core's line) has nobody to wake.
 * `busy` is read with an RMW that writes it back unchanged: if it reads
 * 0, the next taker's CAS (0 -> 1, acquire) reads our write or a later
 * RMW's, so our release makes the push (tail swap and link) visible to
 * that taker's looks at the queue. If it reads the core held, we unpark,
 * as always before (ct/spawn_many_remote_idle: ~7 instructions a spawn). */
static inline int remote_wake(ct_rt *ct) {
    if (kr__fetch_add_acqrel(&ct->busy, 0) == 0) /* pairs with core_take */
        return 0;
    return remote_unpark(ct);
}

/* A remote spawn in general, through the gate already: `slot` is the
 * pool slot it holds, or NULL when every slot was taken (the cell is then
 * loose and pins the runtime: current_thread.c's top). The steps, and
 * their order, are ct_spawn_remote's; out of line with kr__task_new's
 * call. */
static __attribute__((noinline)) int
spawn_remote_slow(ct_rt *ct, const kr_future *f, kr_join_handle *jh,
                  kr__cache_pool_slot *slot, unsigned track) {
    unsigned how = (jh != NULL ? KR__NEW_JOIN : 0) | track;
    kr__task *t =
        kr__task_new(&ct->sched, slot != NULL ? slot->cache : NULL, f, how);
    if (slot != NULL)
        kr__cache_pool_give(slot);
    if (t == NULL) {
        kr__ct_gate_exit(ct);
        return KR_ENOMEM;
    }
    kr__wstats_stamp_if(t);
    if (slot == NULL) /* the cell pins us: current_thread.c's top */
        kr__fetch_add_relaxed(&ct->refs, 1);
    remote_bind(ct, t, jh);
    KR__RT_ON_SPAWN(&ct->base.cfg, kr__task_id(t));
    remote_queue(ct, t);
    return remote_wake(ct);
}

/* ct_spawn_remote's cell made, with the spawn hook on. */
static __attribute__((noinline)) int
spawn_remote_observed(ct_rt *ct, kr__task *t, kr_join_handle *jh) {
    remote_bind(ct, t, jh);
    KR__RT_ON_SPAWN(&ct->base.cfg, kr__task_id(t));
    remote_queue(ct, t);
    return remote_wake(ct);
}

static bool spawn_observed(const ct_rt *ct) {
    return __builtin_expect(ct->spawn_observed, 0);
}

/* A spawn from another thread (or from outside the runtime's block_on):
 * through the gate, the cache pool and the inject queue. Out of line, so
 * that the local spawn saves few registers. Its common path (a pool slot
 * free, a recycled cell, untracked, unobserved) calls nothing but in tail
 * calls; the rest is spawn_remote_slow and spawn_remote_observed, which
 * take the same steps in the same order. */
static inline __attribute__((always_inline)) int
remote_untracked(ct_rt *ct, const kr_future *f, kr_join_handle *jh,
                 kr__cache_pool_slot *slot) {
    kr__task *t = kr__task_new_fast(&ct->sched, slot->cache, f,
                                    jh != NULL ? KR__NEW_JOIN : 0);
    if (__builtin_expect(t == NULL, 0))
        return spawn_remote_slow(ct, f, jh, slot, 0);
    kr__cache_pool_give(slot);
    if (spawn_observed(ct))
        return spawn_remote_observed(ct, t, jh);
    remote_bind(ct, t, jh);
    remote_queue(ct, t);
    return remote_wake(ct);
}

/* ct_spawn_remote's rare cases: no pool slot, or this thread's
 * countdown at 0 under a runtime that tracks some tasks (the pick:
 * stats.h). Out of line, so that ct_spawn_remote stays a leaf. */
static __attribute__((noinline)) int
spawn_remote_pick(ct_rt *ct, const kr_future *f, kr_join_handle *jh,
                  kr__cache_pool_slot *slot) {
    unsigned track = slot == NULL ? kr__track_how(ct->track_every)
                                  : kr__track_pick_slow(ct->track_every);
    if (slot == NULL || track != 0)
        return spawn_remote_slow(ct, f, jh, slot, track);
    return remote_untracked(ct, f, jh, slot);
}

/* The pick costs the untracked runtime nothing but the test of
 * track_every it already made, and a tracking one a decrement of the
 * thread's countdown: a decrement there and a tail call at 0, no call
 * whose result it waits for (which made it save three registers: ~25
 * instructions a spawn, ct/spawn_many_remote_idle with the histograms
 * on, 1.06 against 1.016 now). */
static __attribute__((noinline)) int
ct_spawn_remote(ct_rt *ct, const kr_future *f, kr_join_handle *jh) {
    if (!kr__ct_gate_enter(ct))
        return KR_ESHUTDOWN;
    kr__cache_pool_slot *slot = kr__cache_pool_take(&ct->pool);
    if (__builtin_expect(slot == NULL, 0) ||
        __builtin_expect(ct->track_every != 0 && kr__track_tick_tls() == 0, 0))
        return spawn_remote_pick(ct, f, jh, slot);
    return remote_untracked(ct, f, jh, slot);
}

/* A local spawn's cell made: bind, count, fill the handle, queue. */
static inline void spawned(ct_rt *ct, kr__task *t, kr_join_handle *jh) {
    kr__ct_bind(ct, t);
    kr__ct_bump(&ct->stats.spawned);
    if (jh != NULL)
        kr__join_bind(jh, t); /* empty until now: core/runtime.h */
    kr__ct_local_push(ct, t);
}

/* A local spawn with the spawn hook on, or a tracked one. Out of line, as
 * spawn_slow: kr__ct_spawn's common path then calls nothing. */
static __attribute__((noinline)) int spawned_observed(ct_rt *ct, kr__task *t,
                                                      kr_join_handle *jh) {
    kr__wstats_stamp_if(t);
    kr__ct_bind(ct, t);
    kr__ct_bump(&ct->stats.spawned);
    if (jh != NULL)
        kr__join_bind(jh, t); /* empty until now: core/runtime.h */
    KR__RT_ON_SPAWN(&ct->base.cfg, kr__task_id(t));
    kr__ct_local_push(ct, t);
    return 0;
}

/* A local spawn that kr__task_new_fast could not make (task/new.h), or a
 * tracked one (`track`: KR__NEW_TRACK). */
static __attribute__((noinline)) int
spawn_slow(ct_rt *ct, const kr_future *f, kr_join_handle *jh, unsigned track) {
    kr__task *t = kr__task_new(&ct->sched, ct->cache, f,
                               (jh != NULL ? KR__NEW_JOIN : 0) | track);
    if (t == NULL)
        return KR_ENOMEM;
    if (spawn_observed(ct) || kr__task_tracked(t))
        return spawned_observed(ct, t, jh);
    spawned(ct, t, jh);
    return 0;
}

/* The local spawn's common path is a leaf: the cell from
 * kr__task_new_fast, inline, and everything else in tail calls
 * (callgrind: ~18 instructions per spawn less than with a call to
 * kr__task_new and the register saves it made). */
static inline __attribute__((always_inline)) int
local_untracked(ct_rt *ct, const kr_future *f, kr_join_handle *jh) {
    kr__task *t = kr__task_new_fast(&ct->sched, ct->cache, f,
                                    jh != NULL ? KR__NEW_JOIN : 0);
    if (__builtin_expect(t == NULL, 0))
        return spawn_slow(ct, f, jh, 0);
    if (spawn_observed(ct))
        return spawned_observed(ct, t, jh);
    spawned(ct, t, jh);
    return 0;
}

/* A local spawn that took the core's countdown to 0 (stats.h): the
 * countdown starts again (kr__track_rearm) and answers for this spawn;
 * tracked tasks go through kr__task_new (its fast path fills the record
 * inline), the others take the common path's steps. */
static __attribute__((noinline)) int
spawn_local_pick(ct_rt *ct, const kr_future *f, kr_join_handle *jh) {
    if (kr__track_rearm(&ct->stats.spawn_left, ct->track_every) != 0)
        return spawn_slow(ct, f, jh, KR__NEW_TRACK);
    return local_untracked(ct, f, jh);
}

/* The local pick is the core's countdown alone: it starts at UINT32_MAX
 * where nothing is tracked (kr__wstats_init), so one decrement replaces
 * the test of track_every, untracked or not (ct/spawn_many_local: 1.009
 * with the histograms on; an out-of-line pick behind that test, 1.021 to
 * 1.045). */
int kr__ct_spawn(kr_runtime *rt, const kr_future *f, kr_join_handle *jh,
                 bool local) {
    ct_rt *ct = (ct_rt *)rt;
    if (!local || kr__ctx.worker != ct)
        return ct_spawn_remote(ct, f, jh);
    if (kr__ct_is_closed(ct))
        return KR_ESHUTDOWN;
    if (__builtin_expect(--ct->stats.spawn_left == 0, 0))
        return spawn_local_pick(ct, f, jh);
    return local_untracked(ct, f, jh);
}
