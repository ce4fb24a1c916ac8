/*
 * sched/local_set.c: local task sets (kairo/local_set.h), a scheduler of
 * their own that runs inside a future of another runtime.
 *
 * The set is its tasks' kr__sched: a wake calls ls_schedule, a completion
 * ls_release, and each task cell (allocated loose, outside any cache, so
 * that its home names this scheduler) pins the set's memory until freed
 * (ls_unpin).
 *
 * Owner-thread state (no synchronisation: only the owner touches it, and
 * every entry point checks the thread first):
 *   q_head/q_tail  the local run queue (linked through kr__task.next)
 *   owned, alive   the live tasks (sched/owned.h) and their number
 *   entered        how many polls of the set are running on this thread
 *                  (its run_until or wait futures; nested runs of other
 *                  sets may sit inside them)
 *   tls_current    (thread-local) the set kr_spawn_local spawns into
 *                  here, or NULL: the set being run, or the one a
 *                  kr_local_set_enter guard entered. Only while `entered`
 *                  is non-zero too is a wake on this thread a plain local
 *                  push (the run ticks the queue before it returns); under
 *                  a guard alone wakes and spawns take the remote path and
 *                  wake the runner (Tokio #5020: a wake under an enter
 *                  guard was lost).
 *
 * Shared state:
 *   inject  the remote queue (sched/inject.h, MPSC): every wake that is
 *           not made on the owner thread inside the set's run, pushed by
 *           the waker, popped by the owner during a tick;
 *   gate    as the current-thread runtime's (sched/current_thread.c):
 *           bit 0 CLOSED, the rest counts remote pushers in flight (units
 *           of 2). A pusher adds 2 and backs out if CLOSED was set; the
 *           free sets CLOSED and waits for the count to drain, after which
 *           nothing lands in the inject queue, so its drain loses nothing.
 *           Both are RMWs on one word: their order is total.
 *   waker   the waker of the future that last polled the set, under
 *           `wlock`; a remote push takes it and wakes it after pushing
 *           (so the consumer, which registered it before looking at the
 *           queue, polls again: a push it missed is never lost, and the
 *           inject queue's "producer mid-push" NULL is retried).
 *   refs    the memory: one for the handle, one per live task cell.
 *
 * A tick runs at most TICK tasks (local queue first, the remote queue
 * every REMOTE_INTERVAL polls and whenever the local one is empty), each
 * with a fresh coop budget, saving and restoring the polling thread's
 * kr__ctx.current, self_woken and budget around each (the set runs inside
 * another task's poll). A task woken during its own poll (kr__task_run
 * returns true) goes to the back of the local queue.
 */
#include <sched.h>
#include <string.h>

#include "core/context.h"
#include "core/runtime.h"
#include "sched/inject.h"
#include "sched/owned.h"
#include "task/task.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/debug.h"
#include "util/spinlock.h"

#define GATE_CLOSED     1u
#define GATE_ONE        2u
/* Tokio's LocalSet numbers: 61 tasks per tick, the remote queue first
 * every 31 polls. */
#define TICK            61
#define REMOTE_INTERVAL 31

struct kr_local_set {
    kr__sched sched;
    const void *owner; /* &tls_marker of the owner thread */

    /* Owner thread. */
    kr__task *q_head, *q_tail;
    kr__owned owned;
    size_t alive;
    unsigned entered;
    uint32_t countdown;

    /* Shared. */
    kr__inject inject;
    _Atomic uint64_t gate KR__ALIGNED_CL;
    kr__spinlock wlock;
    kr_waker waker;
    _Atomic long refs;
};

static __thread char tls_marker;
static __thread kr_local_set *tls_current;

#define LS_OF(s) ((kr_local_set *)((char *)(s)-offsetof(kr_local_set, sched)))

static bool on_owner(const kr_local_set *ls) {
    return ls->owner == &tls_marker;
}

static void check_owner(const kr_local_set *ls, const char *what) {
    if (!on_owner(ls))
        kr__die("%s: kr_local_set %p polled on a thread that is not its "
                "owner (a local task never migrates; see kairo/local_set.h)",
                what, (const void *)ls);
}

static void ls_unref(kr_local_set *ls) {
    if (kr__fetch_sub_acqrel(&ls->refs, 1) == 1)
        kr__free_aligned(ls);
}

/* ---- queues ------------------------------------------------------------ */

static void local_push(kr_local_set *ls, kr__task *t) {
    /* Relaxed: `next` is the owner's while the task is in this queue. */
    kr__store_relaxed(&t->next, NULL);
    if (ls->q_tail != NULL)
        kr__store_relaxed(&ls->q_tail->next, t);
    else
        ls->q_head = t;
    ls->q_tail = t;
}

static kr__task *local_pop(kr_local_set *ls) {
    kr__task *t = ls->q_head;
    if (t != NULL) {
        ls->q_head = kr__load_relaxed(&t->next);
        if (ls->q_head == NULL)
            ls->q_tail = NULL;
    }
    return t;
}

static kr__task *next_task(kr_local_set *ls) {
    kr__task *t;
    if (--ls->countdown == 0) {
        ls->countdown = REMOTE_INTERVAL;
        t = kr__inject_pop(&ls->inject);
        return t != NULL ? t : local_pop(ls);
    }
    t = local_pop(ls);
    return t != NULL ? t : kr__inject_pop(&ls->inject);
}

/* Takes the registered waker and wakes it (outside the lock). */
static void wake_runner(kr_local_set *ls) {
    kr__spin_lock(&ls->wlock);
    kr_waker w = ls->waker;
    ls->waker.vtable = NULL;
    ls->waker.data = NULL;
    kr__spin_unlock(&ls->wlock);
    if (w.vtable != NULL)
        kr_waker_wake(w);
}

static void register_waker(kr_local_set *ls, const kr_waker *w) {
    kr__spin_lock(&ls->wlock);
    kr_waker_set(&ls->waker, w);
    kr__spin_unlock(&ls->wlock);
}

/* ---- the tasks' scheduler hooks ------------------------------------------ */

static void ls_schedule(kr__sched *s, kr__task *t) {
    kr_local_set *ls = LS_OF(s);
#ifndef KR_TORTURE
    if (tls_current == ls && ls->entered != 0) { /* inside the set's run */
        local_push(ls, t);
        return;
    }
#endif
    if (kr__fetch_add_acqrel(&ls->gate, GATE_ONE) & GATE_CLOSED) {
        /* Freed: the drain cancelled (or will cancel) the task; the
         * NOTIFIED reference we were handed just goes. */
        kr__fetch_sub_release(&ls->gate, GATE_ONE);
        kr__task_drop_ref(t);
        return;
    }
    kr__inject_push(&ls->inject, t);
    /* Release pairs with the free's acquire wait: the push is visible to
     * its drain. Then wake the runner: the set's memory is pinned by the
     * task's cell, which the NOTIFIED reference now in the queue keeps. */
    kr__fetch_sub_release(&ls->gate, GATE_ONE);
    wake_runner(ls);
}

static bool ls_release(kr__sched *s, kr__task *t) {
    kr_local_set *ls = LS_OF(s);
    bool held = kr__owned_release(t); /* owner thread: see the top */
    if (held)
        ls->alive--;
    return held;
}

static void ls_unpin(kr__sched *s) { ls_unref(LS_OF(s)); }

static const kr__sched_ops ls_ops = {ls_schedule, ls_release, ls_unpin};

/* ---- running ------------------------------------------------------------- */

/* Runs up to TICK tasks. Returns true if tasks may be left (the batch was
 * used up), false if both queues were found empty. */
static bool tick(kr_local_set *ls) {
    kr__task *saved_current = kr__ctx.current;
    uint32_t saved_self = kr__ctx.self_woken;
    uint32_t saved_budget = kr__ctx.budget;
    uint32_t budget = kr__ctx.rt != NULL && kr__ctx.rt->cfg.budget != 0
                          ? kr__ctx.rt->cfg.budget
                          : KR__BUDGET_DEFAULT;
    bool more = true;
    for (int n = 0; n < TICK; n++) {
        kr__task *t = next_task(ls);
        if (t == NULL) {
            more = false;
            break;
        }
        kr__ctx.budget = budget; /* each task its own, as Tokio's */
        if (kr__task_run(t))
            local_push(ls, t); /* woken during its poll: to the back */
    }
    kr__ctx.current = saved_current;
    kr__ctx.self_woken = saved_self;
    kr__ctx.budget = saved_budget;
    return more;
}

static kr_local_set *enter(kr_local_set *ls) {
    kr_local_set *prev = tls_current;
    tls_current = ls;
    ls->entered++;
    return prev;
}

static void leave(kr_local_set *ls, kr_local_set *prev) {
    ls->entered--;
    tls_current = prev;
}

/* ---- public -------------------------------------------------------------- */

int kr_local_set_new(kr_local_set **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    kr_local_set *ls = kr__calloc_cacheline(1, sizeof(*ls));
    if (ls == NULL)
        return KR_ENOMEM;
    ls->sched.ops = &ls_ops;
    ls->owner = &tls_marker;
    kr__owned_init(&ls->owned);
    ls->countdown = REMOTE_INTERVAL;
    kr__inject_init(&ls->inject);
    atomic_init(&ls->gate, 0);
    kr__spin_init(&ls->wlock);
    atomic_init(&ls->refs, 1);
    *out = ls;
    return 0;
}

static bool future_valid(const kr_future *f) {
    return f != NULL && f->vtable != NULL && f->vtable->poll != NULL &&
           f->vtable->size >= sizeof(kr_future) &&
           f->vtable->size <= ((size_t)1 << 30) &&
           f->vtable->output_size <= ((size_t)1 << 30);
}

static int spawn_into(kr_local_set *ls, const kr_future *f,
                      kr_join_handle *jh) {
    if (jh != NULL)
        memset(jh, 0, sizeof(*jh));
    if (!future_valid(f))
        return KR_EINVAL;
    /* A loose cell (no cache): its home names this set as scheduler. */
    kr__task *t = kr__task_new(&ls->sched, NULL, f, jh != NULL);
    if (t == NULL)
        return KR_ENOMEM;
    kr__fetch_add_relaxed(&ls->refs, 1); /* the cell pins the set */
    kr__owned_bind(&ls->owned, 0, t);
    ls->alive++;
    if (jh != NULL)
        kr__join_init(jh, t);
    local_push(ls, t); /* its NOTIFIED reference */
    if (tls_current != ls || ls->entered == 0)
        wake_runner(ls); /* a runner waiting elsewhere on this thread */
    return 0;
}

int kr_local_set_spawn(kr_local_set *ls, const kr_future *f,
                       kr_join_handle *jh) {
    if (ls == NULL) {
        if (jh != NULL)
            memset(jh, 0, sizeof(*jh));
        return KR_EINVAL;
    }
    if (!on_owner(ls))
        return KR_EPERM;
    return spawn_into(ls, f, jh);
}

int kr_spawn_local(const kr_future *f, kr_join_handle *jh) {
    kr_local_set *ls = tls_current;
    if (ls == NULL) {
        if (jh != NULL)
            memset(jh, 0, sizeof(*jh));
        return KR_EINVAL;
    }
    return spawn_into(ls, f, jh);
}

bool kr_local_set_is_entered(void) { return tls_current != NULL; }

int kr_local_set_enter(kr_local_set *ls, kr_local_enter *guard) {
    if (guard == NULL)
        return KR_EINVAL;
    guard->set_ = NULL;
    guard->prev_ = NULL;
    if (ls == NULL)
        return KR_EINVAL;
    if (!on_owner(ls))
        return KR_EPERM;
    guard->set_ = ls;
    guard->prev_ = tls_current;
    tls_current = ls;
    return 0;
}

void kr_local_set_exit(kr_local_enter *guard) {
    if (guard == NULL || guard->set_ == NULL)
        return;
    KR__REQUIRE(tls_current == guard->set_,
                "kr_local_set_exit: guards exited out of order (set %p, "
                "entered %p)",
                (void *)guard->set_, (void *)tls_current);
    tls_current = guard->prev_;
    guard->set_ = NULL;
}

size_t kr_local_set_len(const kr_local_set *ls) {
    return ls != NULL ? ls->alive : 0;
}

int kr_local_set_free(kr_local_set *ls) {
    if (ls == NULL)
        return 0;
    if (!on_owner(ls))
        return KR_EPERM;
    if (ls->entered != 0 || tls_current == ls)
        return KR_EBUSY;
    kr__fetch_or_seqcst(&ls->gate, GATE_CLOSED);
    /* Wait out remote pushers that got through the gate before CLOSED. */
    while (kr__load_acquire(&ls->gate) >= GATE_ONE)
        sched_yield();
    /* Futures dropped here may wake other local tasks: with the gate
     * closed those wakes drop their reference, and the loop goes round
     * until nothing is left. */
    for (;;) {
        bool any = kr__owned_shutdown_all(&ls->owned);
        kr__task *t;
        while ((t = local_pop(ls)) != NULL) {
            kr__task_drop_queued(t); /* NOTIFIED reference (or held) */
            any = true;
        }
        while ((t = kr__inject_pop(&ls->inject)) != NULL) {
            kr__task_drop_queued(t);
            any = true;
        }
        if (!any)
            break;
    }
    ls->alive = 0;
    kr__spin_lock(&ls->wlock);
    kr_waker w = ls->waker;
    ls->waker.vtable = NULL;
    kr__spin_unlock(&ls->wlock);
    if (w.vtable != NULL)
        kr_waker_drop(w);
    ls_unref(ls); /* the handle's */
    return 0;
}

/* ---- run_until ------------------------------------------------------------ */

static void ru_release(kr_local_run_until *ru) {
    kr_future *inner = ru->inner_;
    ru->inner_ = NULL;
    if (inner != NULL)
        kr_future_drop(inner);
}

static kr_poll ru_poll(kr_future *f, kr_context *cx, void *out) {
    kr_local_run_until *ru = (kr_local_run_until *)f;
    kr_local_set *ls = ru->ls_;
    if (ls == NULL || ru->inner_ == NULL) {
        ru_release(ru);
        if (out != NULL)
            *(int *)out = KR_EINVAL;
        return KR_READY;
    }
    check_owner(ls, "kr_local_set_run_until");
    /* Registered before the queues are looked at: see `waker` above. */
    register_waker(ls, cx->waker);
    kr_local_set *prev = enter(ls);
    kr_poll p = kr_future_poll(ru->inner_, cx, ru->dst_);
    bool more = p == KR_PENDING && tick(ls);
    leave(ls, prev);
    if (p == KR_READY) {
        ru_release(ru);
        if (out != NULL)
            *(int *)out = 0;
        return KR_READY;
    }
    if (more)
        kr_waker_wake_by_ref(cx->waker); /* batch used up: yield, go on */
    return KR_PENDING;
}

static void ru_drop(kr_future *f) { ru_release((kr_local_run_until *)f); }

static const kr_future_vtable ru_vtable = {ru_poll, ru_drop,
                                           sizeof(kr_local_run_until),
                                           sizeof(int), "kr_local_run_until"};

kr_local_run_until kr_local_set_run_until(kr_local_set *ls, kr_future *inner,
                                          void *dst) {
    kr_local_run_until ru = {{&ru_vtable}, ls, inner, dst};
    return ru;
}

/* ---- wait ------------------------------------------------------------------ */

static kr_poll wait_poll(kr_future *f, kr_context *cx, void *out) {
    kr_local_set *ls = ((kr_local_set_wait_fut *)f)->ls_;
    int rc = 0;
    if (ls == NULL) {
        rc = KR_EINVAL;
    } else {
        check_owner(ls, "kr_local_set_wait");
        register_waker(ls, cx->waker);
        kr_local_set *prev = enter(ls);
        bool more = tick(ls);
        leave(ls, prev);
        if (more) {
            kr_waker_wake_by_ref(cx->waker);
            return KR_PENDING;
        }
        if (!kr__owned_empty(&ls->owned))
            return KR_PENDING; /* tasks wait for wakes */
    }
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static const kr_future_vtable wait_vtable = {wait_poll, NULL,
                                             sizeof(kr_local_set_wait_fut),
                                             sizeof(int), "kr_local_set_wait"};

kr_local_set_wait_fut kr_local_set_wait(kr_local_set *ls) {
    kr_local_set_wait_fut w = {{&wait_vtable}, ls};
    return w;
}

int kr_local_set_block_on(kr_local_set *ls, kr_runtime *rt, kr_future *f,
                          void *out) {
    if (ls == NULL || f == NULL)
        return KR_EINVAL;
    kr_local_run_until ru = kr_local_set_run_until(ls, f, out);
    int inner_rc = 0;
    int rc = kr_runtime_block_on(rt, &ru.base, &inner_rc);
    return rc != 0 ? rc : inner_rc;
}
