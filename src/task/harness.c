/*
 * task/harness.c: creating, polling, cancelling, completing and freeing a
 * task. The state transitions are in state.h; the rules in task.h.
 */
#include <stdio.h>
#include <string.h>

#include "core/context.h"
#include "task/cache.h"
#include "task/new.h"
#include "task/state.h"
#include "util/abort.h"
#include "util/debug.h"
#include "util/alloc.h"

/* Task ids: unique, not dense, never reused (62 bits, task.h: at a
 * billion spawns a second, 2^62 lasts 146 years). Each thread takes a
 * block of 2^20 ids at a time from a global counter, so a spawn costs no
 * shared atomic. The first block starts at 2^20: no task has id 0. */
#define ID_BLOCK ((uint64_t)1 << 20)
static _Atomic uint64_t next_id_block = ID_BLOCK;
/* Initial-exec (task/new.h): its fast path reads them. */
__thread uint64_t kr__id_next __attribute__((tls_model("initial-exec")));
__thread uint64_t kr__id_end __attribute__((tls_model("initial-exec")));

static uint64_t new_id(void) {
    if (kr__id_next == kr__id_end) {
        /* Relaxed: ids only need uniqueness, which the RMW gives. */
        kr__id_next = kr__fetch_add_relaxed(&next_id_block, ID_BLOCK);
        kr__id_end = kr__id_next + ID_BLOCK;
    }
    return kr__id_next++;
}

static kr_poll in_place_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    kr__die("%s: the spawn record was polled", f->vtable->name);
}

const kr_future_vtable kr__in_place_vtable = {
    in_place_poll, NULL, sizeof(kr__in_place), 0, "kr_spawn_in_place"};

#if defined(KR_DEBUG) && KR_DEBUG
/* kr__task_describe of a task whose init replaced its vtable `vt`: the
 * meta's place follows from the vtable, so it is put back to read it. */
static const char *describe_built(kr__task *t, const kr_future_vtable *vt,
                                  char *buf, size_t n) {
    kr_future *f = kr__task_future(t);
    const kr_future_vtable *bad = f->vtable;
    f->vtable = vt;
    kr__task_describe(t, buf, n);
    f->vtable = bad;
    return buf;
}
#endif

/* Builds an in-place future in `t` (task.h, kr__in_place); on failure
 * frees the cell, which nothing else has seen yet. Out of line, as the
 * builder's helpers below: kr__task_new is flattened, and a plain spawn
 * should not pay for their registers. */
static __attribute__((noinline)) kr__task *build_in_place(kr__task *t,
                                                          kr__cache *cache,
                                                          uint32_t home_off,
                                                          kr__in_place *ip) {
    kr_future *f = kr__task_future(t);
    if (ip->init == NULL) { /* a builder's copy spawn */
        memcpy(f, ip->arg, ip->vt->size);
        return t;
    }
    f->vtable = ip->vt;
    int rc = ip->init(f, ip->arg);
    KR__DEBUG_ONLY(char who[KR_TASK_NAME_MAX + 200];)
    KR__REQUIRE(f->vtable == ip->vt, "init changed the vtable of %s",
                describe_built(t, ip->vt, who, sizeof(who)));
    if (rc == 0)
        return t;
    ip->err = rc;
    if (cache != NULL)
        kr__cache_free(cache, t, home_off, 1); /* we allocated: the owner */
    else
        kr__loose_free(t);
    return NULL;
}

/* Bytes a builder's name takes in the tail (task.h), cut at the maximum. */
static uint32_t name_len(const kr_task_builder *b) {
    return b->name != NULL ? (uint32_t)strnlen(b->name, KR_TASK_NAME_MAX) : 0;
}

/* Bytes the builder of `ip`, if any, adds after the output. */
static __attribute__((noinline)) size_t meta_size(const kr__in_place *ip) {
    if (ip->builder == NULL)
        return 0;
    return sizeof(kr__task_meta) + name_len(ip->builder) + 1;
}

/* Writes a builder's kr__task_meta at `meta_off` (task.h). */
static __attribute__((noinline)) void fill_meta(kr__task *t, size_t meta_off,
                                                const kr_task_builder *b) {
    uint32_t len = name_len(b);
    t->id_lo |= KR__TASK_NAMED;
    kr__task_meta *m = (kr__task_meta *)(void *)((char *)t + meta_off);
    m->file = b->file;
    m->line = b->line;
    m->name_len = len;
    if (len != 0)
        memcpy(m->name, b->name, len);
    m->name[len] = '\0';
}

/* A tracked cell's size: `total` (the untracked cell) 8-aligned, and the
 * record (task.h, kr__task_track). */
static __attribute__((noinline)) size_t track_size(size_t total) {
    return ((total + 7) & ~(size_t)7) + sizeof(kr__task_track);
}

/* Fills a tracked cell's record (the slow path's). The vtable is `vt`'s until an in-place
 * init has run, so the offset is computed from it, not read back. */
static __attribute__((noinline)) void fill_track(kr__task *t,
                                                 const kr_future_vtable *vt) {
    size_t off = kr__task_meta_off(vt->size, vt->output_size);
    if (t->id_lo & KR__TASK_NAMED) {
        const kr__task_meta *m =
            (const kr__task_meta *)(const void *)((const char *)t + off);
        off = (off + sizeof(kr__task_meta) + m->name_len + 1 + 7) & ~(size_t)7;
    }
    kr__task_track_init((kr__task_track *)(void *)((char *)t + off));
    t->id_lo |= KR__TASK_TRACKED;
}

/* Every spawn kr__task_new's fast path does not take: in place (with a
 * builder's meta or not), loose, a cache that must find new memory, a
 * future of more than 128 bytes or not of whole words, a thread whose
 * block of ids is used up. */
static __attribute__((noinline, flatten)) kr__task *
task_new_slow(kr__sched *sched, kr__cache *cache, const kr_future *f,
              unsigned how) {
    bool join = (how & KR__NEW_JOIN) != 0;
    const kr_future_vtable *vt = f->vtable;
    kr__in_place *ip = NULL;
    size_t extra = 0;
    if (vt == &kr__in_place_vtable) {
        ip = (kr__in_place *)(void *)f;
        vt = ip->vt;
        extra = meta_size(ip);
    }
    size_t fsize = vt->size;
    size_t total = kr__task_out_off(fsize) + vt->output_size;
    if (extra != 0)
        total = kr__task_meta_off(fsize, vt->output_size) + extra;
    if (__builtin_expect((how & KR__NEW_TRACK) != 0, 0))
        total = track_size(total);
    uint32_t home_off = KR__LOOSE_OFF;
    kr__task *t = cache != NULL
                      ? kr__cache_alloc(cache, total, sched, &home_off)
                      : kr__loose_alloc(total, sched);
    if (t == NULL)
        return NULL;
    kr__task_init_header(t, new_id(), home_off, join);
    if (ip != NULL) {
        if (ip->builder != NULL)
            fill_meta(t, kr__task_meta_off(fsize, vt->output_size),
                      ip->builder);
        if (__builtin_expect((how & KR__NEW_TRACK) != 0, 0))
            fill_track(t, vt);
        return build_in_place(t, cache, home_off, ip);
    }
    if (__builtin_expect((how & KR__NEW_TRACK) != 0, 0))
        fill_track(t, vt);
    memcpy(kr__task_future(t), f, fsize);
    return t;
}

/* The fast path is task/new.h's: a plain spawn into a cell its cache has
 * ready. Nothing is called but in a tail call, so that the function is a
 * leaf that saves no registers; everything else goes to task_new_slow
 * (callgrind: 105 -> ~75 instructions per ct/spawn_many_local task). A
 * plain spawn pays for its id with one store (id_lo) and two instructions
 * merging the high half into the state word. */
kr__task *kr__task_new(kr__sched *sched, kr__cache *cache, const kr_future *f,
                       unsigned how) {
    kr__task *t = kr__task_new_fast(sched, cache, f, how);
    if (__builtin_expect(t == NULL, 0))
        return task_new_slow(sched, cache, f, how);
    return t;
}

/* kr__task_dealloc's loose cell (no cache). Out of line, so that a cached
 * cell's free, owner's or remote, saves no register. */
static __attribute__((noinline)) void dealloc_loose(kr__task *t,
                                                    kr__cell_home *home) {
    kr__sched *s = home->sched;
    kr__loose_free(t);
    s->ops->unpin(s);
}

void kr__task_dealloc(kr__task *t) {
    uint32_t home_off = kr__task_home_off(t);
    kr__cell_home *home = kr__task_home(t);
    kr__cache *c = home->cache;
    if (__builtin_expect(c == NULL, 0))
        dealloc_loose(t, home);
    else
        kr__cache_free(c, t, home_off, kr__cache_owned(c));
}

void kr__task_drop_ref(kr__task *t) {
    if (kr__ref_dec(t))
        kr__task_dealloc(t);
}

/* Drops the future as cancellation; the join handle will read zeroes and
 * KR_ECANCELED. Requires RUNNING. */
static void cancel_task(kr__task *t) {
    kr_future *f = kr__task_future(t);
    size_t out_size = f->vtable->output_size; /* read before the drop */
    void *out = kr__task_output(t);
    /* The drop runs as the task (kr_task_id, task-locals' restore): a
     * wake it makes of its own waker is a self-wake, ignored since the
     * task completes. */
    kr__task *prev = kr__ctx.current;
    kr__ctx.current = t;
    kr_future_drop(f);
    kr__ctx.current = prev;
    memset(out, 0, out_size);
    t->flags |= KR__TASK_CANCELLED;
}

/* Requires RUNNING and the caller's reference (NOTIFIED turned runner's,
 * or the OWNED one the shutdown path took off the list).
 *
 * The task leaves its owner's list first (so the OWNED reference can go in
 * the same atomic step as COMPLETE when nobody waits on a join waker); the
 * list is only walked by a shutdown, which never runs concurrently with a
 * poll of the same task. */
static void complete_waking(kr__task *t, uint64_t refs);

static inline __attribute__((always_inline)) void complete_inline(kr__task *t) {
    kr__sched *s = kr__task_sched(t);
    uint64_t refs = s->ops->release(s, t) ? 2 : 1;
    bool dealloc;
    if (!kr__state_complete_fast(t, refs, &dealloc))
        complete_waking(t, refs);
    else if (dealloc)
        kr__task_dealloc(t);
}

/* complete() for the cancellation paths; kr__task_run's READY path has
 * its own copy inlined (callgrind: the call, its register save and the
 * return were 6 instructions a completed task). */
static void complete(kr__task *t) { complete_inline(t); }

/* complete()'s path when a join handle waits: set COMPLETE, wake it, then
 * let go. The runtime owns the join waker while JOIN_WAKER is set. Out of
 * line: complete() then saves fewer registers. */
static __attribute__((noinline)) void complete_waking(kr__task *t,
                                                      uint64_t refs) {
    uint64_t prev = kr__state_to_complete(t);
    if ((prev & KR__JOIN_INTEREST) && (prev & KR__JOIN_WAKER)) {
        kr_waker_wake_by_ref(&t->join_waker);
        uint64_t after = kr__state_unset_waker_after_complete(t);
        if (!(after & KR__JOIN_INTEREST))
            kr_waker_reset(&t->join_waker); /* the handle went meanwhile */
    }
    if (kr__state_to_terminal(t, refs))
        kr__task_dealloc(t);
}

/* Out of line and cold: kr__task_run's poll path then keeps few values
 * in saved registers (callgrind: its prologue had six pushes). */
static __attribute__((noinline, cold)) void cancel_and_complete(kr__task *t) {
    cancel_task(t);
    complete(t);
}

bool kr__task_run(kr__task *t) {
    if (t->flags & KR__TASK_HELD) {
        /* Re-queued by a self-wake still RUNNING: ours already. Acquire
         * pairs with an abort's CAS (nothing else changes what we need).
         * HELD is the only flag of a task not yet cancelled: a store. */
        t->flags = 0;
        uint64_t s = kr__load_acquire(&t->state);
        KR__DEBUG_ONLY(char who[KR_TASK_NAME_MAX + 200];)
        KR__REQUIRE(
            s & KR__RUNNING, "%s: queued as held without RUNNING (state %#llx)",
            kr__task_describe(t, who, sizeof(who)), (unsigned long long)s);
        if (s & KR__CANCELLED) {
            cancel_and_complete(t);
            return false;
        }
    } else {
        kr__to_running r = kr__state_to_running(t);
        /* The common answer tested alone first: a switch compiled to a
         * chain of compares put it last (4 instructions a poll). */
        if (__builtin_expect(r != KR__RUN_SUCCESS, 0)) {
            if (r == KR__RUN_CANCELLED)
                cancel_and_complete(t);
            else if (r == KR__RUN_DEALLOC)
                kr__task_dealloc(t);
            return false; /* and KR__RUN_FAILED: not ours to poll */
        }
    }

    kr_waker w = kr__task_waker_ref(t);
    const kr_await_site *site = NULL;
    /* reserved_ is left unset: nothing reads it, and the two stores are
     * 1% of a ct/yield_many poll. */
    kr_context cx;
    cx.waker = &w;
    cx.site = &site;
    kr_future *f = kr__task_future(t);
    kr__ctx.current = t;
    kr__ctx.self_woken = 0;
    kr_poll p = f->vtable->poll(f, &cx, kr__task_output(t));
    /* Relaxed: a dump reads it as a hint; the pointee is static. */
    kr__store_relaxed(&t->site, site);
    if (p == KR_READY) {
        kr__ctx.poll_site = NULL; /* the slow-poll report's: completed */
        /* As in Rust, a finished future is dropped at once, still as the
         * task (kr_task_id works in its drop, as Tokio's): `current` is
         * cleared after it. */
        kr_future_drop(f);
        kr__ctx.current = NULL;
        complete_inline(t);
        return false;
    }
    kr__ctx.current = NULL;
    kr__ctx.poll_site = site;
    if (kr__ctx.self_woken) {
        t->flags = KR__TASK_HELD; /* see "Self-wakes" in task.h */
        return true;
    }
    switch (kr__state_to_idle(t)) {
    case KR__IDLE_OK:
        return false;
    case KR__IDLE_OK_DEALLOC:
        kr__task_dealloc(t);
        return false;
    case KR__IDLE_NOTIFIED:
        return true;
    case KR__IDLE_CANCELLED:
        cancel_and_complete(t);
        return false;
    }
    return false;
}

void kr__task_drop_queued(kr__task *t) {
    if (t->flags & KR__TASK_HELD) {
        t->flags = 0;
        cancel_and_complete(t); /* drops the reference the queue held */
    } else {
        kr__task_drop_ref(t);
    }
}

void kr__task_shutdown(kr__task *t) {
    if (kr__state_to_shutdown(t)) {
        cancel_and_complete(t); /* not on the list: drops our OWNED ref */
    } else {
        kr__task_drop_ref(t);
    }
}
