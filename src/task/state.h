/*
 * task/state.h: the task state word's transitions (bit table in task.h).
 *
 * Orderings. The state word is the synchronisation point for the task's
 * future, output and join waker:
 *   - every transition that hands the future to a poller (to_running,
 *     to_shutdown) is acquire, pairing with the release of the transition
 *     that ended the previous poll (to_idle, to_complete) so the poller sees
 *     the future as the last poller left it;
 *   - every wake is a release RMW (even when it changes nothing visible: see
 *     notified_by_ref), pairing with the acquire in to_running, so what the
 *     waker wrote before waking is visible to the poll it causes;
 *   - to_complete is acq_rel: release publishes the output to the join
 *     handle (which reads COMPLETE with acquire), acquire lets the completer
 *     read the join waker the handle stored before setting JOIN_WAKER;
 *   - reference increments are relaxed (the incrementer already holds a
 *     reference, so the cell cannot go away and nothing is published);
 *     decrements are acq_rel so the one that frees sees every other user's
 *     writes (the classic refcount pairing).
 */
#ifndef KR_TASK_STATE_H
#define KR_TASK_STATE_H

#include <stdio.h>
#include <stdlib.h>

#include "task/task.h"
#include "util/debug.h"

#define KR__RUNNING       ((uint64_t)0x01)
#define KR__COMPLETE      ((uint64_t)0x02)
#define KR__NOTIFIED      ((uint64_t)0x04)
#define KR__JOIN_INTEREST ((uint64_t)0x08)
#define KR__JOIN_WAKER    ((uint64_t)0x10)
#define KR__CANCELLED     ((uint64_t)0x20)
#define KR__LIFECYCLE     (KR__RUNNING | KR__COMPLETE)
/* The id's high half sits between the flags and the count (task.h). */
#define KR__REF_ONE       ((uint64_t)1 << KR__REF_SHIFT)
/* 2^24 references are a leak of references; abort long before the 26
 * bits of the count wrap (2^26: the threads racing past the check would
 * have to number 2^25). */
#define KR__REF_MAX       (KR__REF_ONE << 24)
_Static_assert(KR__ID_HI >> KR__ID_SHIFT == 0xffffffff &&
                   (KR__ID_HI & (KR__REF_ONE - 1)) == KR__ID_HI &&
                   (KR__ID_HI & 0x3f) == 0,
               "the id's high half lies between the flags and the count");

/* The word a spawn starts with, less the id (kr__task_new adds it). */
#define KR__INITIAL_STATE(join)                                                \
    ((join) ? (3 * KR__REF_ONE | KR__NOTIFIED | KR__JOIN_INTEREST)             \
            : (2 * KR__REF_ONE | KR__NOTIFIED))

static inline uint64_t kr__refs(uint64_t s) { return s >> KR__REF_SHIFT; }
static inline bool kr__is_idle(uint64_t s) { return (s & KR__LIFECYCLE) == 0; }

#define KR__MUST_USE __attribute__((warn_unused_result))

/* The model check (tests/model-state.c) compiles deliberately broken
 * transitions, one at a time, to show that it catches them. Elsewhere
 * KR__BROKEN(n) is 0 and the broken variants do not exist. */
#ifdef KR_MODEL_BREAK
#define KR__BROKEN(n) (KR_MODEL_BREAK == (n))
#else
#define KR__BROKEN(n) 0
#endif

static inline void kr__ref_inc(kr__task *t) {
    /* Relaxed: the caller holds a reference, so the cell is alive and the
     * increment publishes nothing. */
    uint64_t prev = kr__fetch_add_relaxed(&t->state, KR__REF_ONE);
    if (prev >= KR__REF_MAX) {
        fputs("kairo: task reference count overflow\n", stderr);
        abort();
    }
}

/* Returns true if this was the last reference (the caller frees).
 * Requires: the caller holds a reference. */
static inline KR__MUST_USE bool kr__ref_dec(kr__task *t) {
    uint64_t prev = kr__fetch_sub_acqrel(&t->state, KR__REF_ONE);
    KR__REQUIRE(kr__refs(prev) >= 1,
                "task %p: reference dropped at zero "
                "(state %#llx)",
                (void *)t, (unsigned long long)prev);
    return kr__refs(prev) == 1;
}

typedef enum kr__to_running {
    KR__RUN_SUCCESS,   /* poll it */
    KR__RUN_CANCELLED, /* it is now ours: cancel and complete it */
    KR__RUN_FAILED,    /* not idle; our NOTIFIED reference was dropped */
    KR__RUN_DEALLOC    /* as FAILED, and it was the last reference */
} kr__to_running;

/* Requires: the caller holds the NOTIFIED reference. */
static inline KR__MUST_USE kr__to_running kr__state_to_running(kr__task *t) {
    uint64_t cur = kr__load_acquire(&t->state);
    for (;;) {
        uint64_t next;
        kr__to_running r;
        /* The NOTIFIED reference: NOTIFIED is set while the task is idle. */
        KR__REQUIRE(kr__refs(cur) >= 1 &&
                        (!kr__is_idle(cur) || (cur & KR__NOTIFIED)),
                    "task %p: run without its NOTIFIED reference (state "
                    "%#llx)",
                    (void *)t, (unsigned long long)cur);
        if (kr__is_idle(cur)) {
            next = (cur | KR__RUNNING) & ~KR__NOTIFIED;
            /* Broken 7: the word rebuilt from flags and count, losing the
             * id's high half. */
            if (KR__BROKEN(7))
                next &= ~KR__ID_HI;
            r = (cur & KR__CANCELLED) ? KR__RUN_CANCELLED : KR__RUN_SUCCESS;
        } else {
            next = cur - KR__REF_ONE;
            r = kr__refs(next) == 0 ? KR__RUN_DEALLOC : KR__RUN_FAILED;
        }
        /* Acquire pairs with the release ending the previous poll and with
         * the wake that queued us. */
        if (kr__cas_weak_acqrel(&t->state, &cur, next))
            return r;
    }
}

typedef enum kr__to_idle {
    KR__IDLE_OK,         /* parked; our reference was dropped */
    KR__IDLE_OK_DEALLOC, /* as OK, and it was the last reference */
    KR__IDLE_NOTIFIED,   /* woken while running: re-queue it (our
                             reference becomes the NOTIFIED one) */
    KR__IDLE_CANCELLED   /* cancelled while running: cancel it now */
} kr__to_idle;

/* Requires: RUNNING held by the caller, who holds one reference. */
static inline KR__MUST_USE kr__to_idle kr__state_to_idle(kr__task *t) {
    uint64_t cur = kr__load_relaxed(&t->state); /* the CAS re-reads */
    for (;;) {
        KR__REQUIRE((cur & KR__LIFECYCLE) == KR__RUNNING && kr__refs(cur) >= 1,
                    "task %p: to_idle without RUNNING and a reference "
                    "(state %#llx)",
                    (void *)t, (unsigned long long)cur);
        if (cur & KR__CANCELLED)
            return KR__IDLE_CANCELLED;
        uint64_t next = cur & ~KR__RUNNING;
        kr__to_idle r;
        /* Broken 1: a wake during the poll is forgotten. */
        if ((cur & KR__NOTIFIED) && !KR__BROKEN(1)) {
            r = KR__IDLE_NOTIFIED;
        } else {
            next -= KR__REF_ONE;
            r = kr__refs(next) == 0 ? KR__IDLE_OK_DEALLOC : KR__IDLE_OK;
        }
        /* Release publishes the future's new state to the next poller. */
        if (kr__cas_weak_acqrel(&t->state, &cur, next))
            return r;
    }
}

/* RUNNING -> COMPLETE in one step. Returns the state before.
 * Requires: RUNNING held by the caller. */
static inline uint64_t kr__state_to_complete(kr__task *t) {
    uint64_t prev = kr__fetch_xor_acqrel(&t->state, KR__RUNNING | KR__COMPLETE);
    KR__REQUIRE((prev & KR__LIFECYCLE) == KR__RUNNING,
                "task %p: completed without RUNNING (state %#llx)", (void *)t,
                (unsigned long long)prev);
    return prev;
}

/*
 * RUNNING -> COMPLETE and drop `n` references in one step, unless a join
 * waker must be woken first (JOIN_INTEREST and JOIN_WAKER both set): then
 * nothing is done and false returned, and the caller takes the slow path
 * (to_complete, wake, to_terminal). On success *dealloc says whether the
 * count reached zero. Acq_rel as to_complete.
 * Requires: RUNNING held by the caller, who holds `n` references.
 */
static inline KR__MUST_USE bool kr__state_complete_fast(kr__task *t, uint64_t n,
                                                        bool *dealloc) {
    uint64_t cur = kr__load_relaxed(&t->state); /* the CAS re-reads */
    for (;;) {
        KR__REQUIRE((cur & KR__LIFECYCLE) == KR__RUNNING && kr__refs(cur) >= n,
                    "task %p: completed without RUNNING and %llu references "
                    "(state %#llx)",
                    (void *)t, (unsigned long long)n, (unsigned long long)cur);
        /* Broken 5: the join waker is not woken. */
        if ((cur & (KR__JOIN_INTEREST | KR__JOIN_WAKER)) ==
                (KR__JOIN_INTEREST | KR__JOIN_WAKER) &&
            !KR__BROKEN(5))
            return false;
        uint64_t next = (cur ^ (KR__RUNNING | KR__COMPLETE)) - n * KR__REF_ONE;
        if (kr__cas_weak_acqrel(&t->state, &cur, next)) {
            *dealloc = kr__refs(next) == 0;
            return true;
        }
    }
}

/* The join handle, having read the output of a COMPLETE task, lets go: it
 * clears JOIN_INTEREST and drops its reference in one subtraction (both
 * are known to be set). Returns the state before.
 * Requires: COMPLETE, JOIN_INTEREST and the join reference. */
static inline uint64_t kr__state_drop_join_complete(kr__task *t) {
    uint64_t prev =
        kr__fetch_sub_acqrel(&t->state, KR__JOIN_INTEREST + KR__REF_ONE);
    KR__REQUIRE((prev & KR__COMPLETE) && (prev & KR__JOIN_INTEREST) &&
                    kr__refs(prev) >= 1,
                "task %p: join released without COMPLETE, JOIN_INTEREST and "
                "its reference (state %#llx)",
                (void *)t, (unsigned long long)prev);
    return prev;
}

/* Drops `n` references at the end of completion; true means free it.
 * Requires: COMPLETE, and the caller holds `n` references. */
static inline KR__MUST_USE bool kr__state_to_terminal(kr__task *t, uint64_t n) {
    uint64_t prev = kr__fetch_sub_acqrel(&t->state, n * KR__REF_ONE);
    KR__REQUIRE((prev & KR__COMPLETE) && kr__refs(prev) >= n,
                "task %p: to_terminal without COMPLETE and %llu references "
                "(state %#llx)",
                (void *)t, (unsigned long long)n, (unsigned long long)prev);
    return kr__refs(prev) == n;
}

typedef enum kr__to_notified {
    KR__NOTIFY_NOTHING, /* nothing to do */
    KR__NOTIFY_SUBMIT,  /* schedule it; the caller now holds NOTIFIED ref */
    KR__NOTIFY_DEALLOC  /* the consumed reference was the last: free it */
} kr__to_notified;

/* Wake consuming a reference (kr_waker_wake). If the task must be queued,
 * the consumed reference becomes its NOTIFIED reference.
 * Requires: the caller holds a reference. */
static inline KR__MUST_USE kr__to_notified
kr__state_notified_by_val(kr__task *t) {
    uint64_t cur = kr__load_relaxed(&t->state); /* the CAS re-reads */
    for (;;) {
        uint64_t next;
        kr__to_notified r;
        KR__REQUIRE(kr__refs(cur) >= 1,
                    "task %p: woken by a waker without a reference (state "
                    "%#llx)",
                    (void *)t, (unsigned long long)cur);
        if (cur & KR__RUNNING) {
            /* The poller re-queues it when the poll ends. */
            next = (cur | KR__NOTIFIED) - KR__REF_ONE;
            r = KR__NOTIFY_NOTHING;
        } else if (cur & (KR__COMPLETE | KR__NOTIFIED)) {
            /* Broken 6: the waker's reference is kept. */
            next = cur - (KR__BROKEN(6) ? 0 : KR__REF_ONE);
            r = kr__refs(next) == 0 ? KR__NOTIFY_DEALLOC : KR__NOTIFY_NOTHING;
        } else {
            next = cur | KR__NOTIFIED;
            r = KR__NOTIFY_SUBMIT;
        }
        /* Release pairs with the acquire in to_running (see file top). */
        if (kr__cas_weak_acqrel(&t->state, &cur, next))
            return r;
    }
}

/* Wake keeping the caller's reference (kr_waker_wake_by_ref). On SUBMIT a
 * new reference was taken for the queue.
 * Requires: the caller holds a reference. */
static inline KR__MUST_USE kr__to_notified
kr__state_notified_by_ref(kr__task *t) {
    uint64_t cur = kr__load_relaxed(&t->state); /* the CAS re-reads */
    for (;;) {
        uint64_t next;
        kr__to_notified r = KR__NOTIFY_NOTHING;
        KR__REQUIRE(kr__refs(cur) >= 1,
                    "task %p: woken by a waker without a reference (state "
                    "%#llx)",
                    (void *)t, (unsigned long long)cur);
        if (cur & KR__COMPLETE)
            return KR__NOTIFY_NOTHING; /* nobody will poll it again */
        if (cur & (KR__RUNNING | KR__NOTIFIED)) {
            /* Written even when already NOTIFIED: the release store is what
             * makes our prior writes visible to the coming poll. */
            next = cur | KR__NOTIFIED;
        } else {
            /* Broken 2: the queue's reference is not taken. */
            next = (cur | KR__NOTIFIED) + (KR__BROKEN(2) ? 0 : KR__REF_ONE);
            r = KR__NOTIFY_SUBMIT;
        }
        if (kr__cas_weak_acqrel(&t->state, &cur, next))
            return r;
    }
}

/* Abort. Returns true if the caller must schedule the task (a NOTIFIED
 * reference was taken for it). Requires: the caller holds a reference. */
static inline KR__MUST_USE bool kr__state_notified_and_cancel(kr__task *t) {
    uint64_t cur = kr__load_relaxed(&t->state); /* the CAS re-reads */
    for (;;) {
        uint64_t next;
        bool submit = false;
        KR__REQUIRE(kr__refs(cur) >= 1,
                    "task %p: aborted by a handle without a reference (state "
                    "%#llx)",
                    (void *)t, (unsigned long long)cur);
        if (cur & (KR__CANCELLED | KR__COMPLETE))
            return false;
        /* Broken 4: an idle task is marked but never scheduled. */
        if ((cur & (KR__RUNNING | KR__NOTIFIED)) || KR__BROKEN(4)) {
            /* The poller, or the coming poll, sees CANCELLED. */
            next = cur | KR__CANCELLED | KR__NOTIFIED;
        } else {
            next = (cur | KR__CANCELLED | KR__NOTIFIED) + KR__REF_ONE;
            submit = true;
        }
        if (kr__cas_weak_acqrel(&t->state, &cur, next))
            return submit;
    }
}

/* Shutdown: marks CANCELLED and, if the task is idle, takes RUNNING for the
 * caller, who must then cancel and complete it. Requires: the caller holds
 * the OWNED reference. */
static inline KR__MUST_USE bool kr__state_to_shutdown(kr__task *t) {
    uint64_t cur = kr__load_relaxed(&t->state); /* the CAS re-reads */
    for (;;) {
        uint64_t next = cur | KR__CANCELLED;
        bool idle = kr__is_idle(cur);
        KR__REQUIRE(kr__refs(cur) >= 1,
                    "task %p: shut down without the OWNED reference (state "
                    "%#llx)",
                    (void *)t, (unsigned long long)cur);
        if (idle)
            next |= KR__RUNNING;
        if (kr__cas_weak_acqrel(&t->state, &cur, next))
            return idle;
    }
}

/* The join handle sets JOIN_WAKER after writing the waker. Fails (returns
 * false, state unchanged) if the task completed first.
 * Requires: JOIN_INTEREST, and JOIN_WAKER clear (the handle owns the slot)
 * unless the task completed. */
static inline KR__MUST_USE bool kr__state_set_join_waker(kr__task *t) {
    /* Acquire: on COMPLETE the caller reads the output. */
    uint64_t cur = kr__load_acquire(&t->state);
    for (;;) {
        if (cur & KR__COMPLETE)
            return false;
        KR__REQUIRE((cur & KR__JOIN_INTEREST) && !(cur & KR__JOIN_WAKER),
                    "task %p: join waker set without owning the slot (state "
                    "%#llx)",
                    (void *)t, (unsigned long long)cur);
        /* Release publishes the waker to the completer. */
        if (kr__cas_weak_acqrel(&t->state, &cur, cur | KR__JOIN_WAKER))
            return true;
    }
}

/* The join handle takes the waker slot back to replace the waker. Fails if
 * the task completed (then the runtime owns the slot).
 * Requires: JOIN_INTEREST, and JOIN_WAKER unless the task completed. */
static inline KR__MUST_USE bool kr__state_unset_join_waker(kr__task *t) {
    /* Acquire: on COMPLETE the caller reads the output. */
    uint64_t cur = kr__load_acquire(&t->state);
    for (;;) {
        /* Once COMPLETE the completer may already have cleared it. */
        if (cur & KR__COMPLETE)
            return false;
        KR__REQUIRE((cur & KR__JOIN_INTEREST) && (cur & KR__JOIN_WAKER),
                    "task %p: join waker unset without it set (state %#llx)",
                    (void *)t, (unsigned long long)cur);
        if (kr__cas_weak_acqrel(&t->state, &cur, cur & ~KR__JOIN_WAKER))
            return true;
    }
}

/* The completer gives the waker slot back after waking. Returns the state
 * before; if JOIN_INTEREST is clear there the completer drops the waker.
 * Requires: COMPLETE and JOIN_WAKER (the runtime owns the slot). */
static inline uint64_t kr__state_unset_waker_after_complete(kr__task *t) {
    uint64_t prev = kr__fetch_and_acqrel(&t->state, ~KR__JOIN_WAKER);
    KR__REQUIRE((prev & KR__COMPLETE) && (prev & KR__JOIN_WAKER),
                "task %p: join waker given back without owning it (state "
                "%#llx)",
                (void *)t, (unsigned long long)prev);
    return prev;
}

/* The join handle goes away: clears JOIN_INTEREST, and JOIN_WAKER too if
 * the task is not complete (the handle then owns the waker slot). Returns
 * the state after.
 * Requires: JOIN_INTEREST and the join reference. */
static inline uint64_t kr__state_drop_join(kr__task *t) {
    uint64_t cur = kr__load_relaxed(&t->state); /* the CAS re-reads */
    for (;;) {
        KR__REQUIRE((cur & KR__JOIN_INTEREST) && kr__refs(cur) >= 1,
                    "task %p: join handle dropped without JOIN_INTEREST and "
                    "its reference (state %#llx)",
                    (void *)t, (unsigned long long)cur);
        uint64_t next = cur & ~KR__JOIN_INTEREST;
        /* Broken 3: the waker slot taken back from the completer. */
        if (!(cur & KR__COMPLETE) || KR__BROKEN(3))
            next &= ~KR__JOIN_WAKER;
        if (kr__cas_weak_acqrel(&t->state, &cur, next))
            return next;
    }
}

#endif /* KR_TASK_STATE_H */
