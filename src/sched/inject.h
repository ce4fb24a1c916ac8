/*
 * sched/inject.h: an intrusive multi-producer single-consumer queue of tasks
 * (Dmitry Vyukov's non-blocking MPSC design, linked through kr__task.next).
 *
 * Protocol:
 *   - Producers (any thread) set t->next = NULL, then swap themselves into
 *     `tail` (acq_rel: acquire to own the previous tail's next field,
 *     release to publish the task), then store prev->next = t with release.
 *     Between the swap and the store the queue is briefly unlinked.
 *   - The one consumer follows `head` reading next with acquire (pairs with
 *     the producers' release store). If it finds the chain unlinked while
 *     tail says otherwise, a producer is mid-push: pop returns NULL and the
 *     producer's wake-up (which follows its push) makes the consumer retry.
 *   - The stub node keeps the queue non-empty so producers never touch head.
 */
#ifndef KR_SCHED_INJECT_H
#define KR_SCHED_INJECT_H

#include "task/task.h"
#include "util/debug.h"

typedef struct kr__inject {
    _Atomic(kr__task *) tail KR__ALIGNED_CL; /* producers */
    /* The consumer's; atomic only so kr__inject_maybe_nonempty may peek. */
    _Atomic(kr__task *) head KR__ALIGNED_CL;
    kr__task stub;
    /* Debug build: set while a pop runs, to catch a second consumer. */
    KR__DEBUG_ONLY(_Atomic int popping;)
} kr__inject;

static inline void kr__inject_init(kr__inject *q) {
    atomic_init(&q->stub.next, NULL);
    atomic_init(&q->head, &q->stub);
    atomic_init(&q->tail, &q->stub);
    KR__DEBUG_ONLY(atomic_init(&q->popping, 0));
}

/* Pushes the chain first..last (linked through next). Seq_cst swap: the
 * multi-thread idle protocol orders it against a searcher's last look. */
static inline void kr__inject_push_chain(kr__inject *q, kr__task *first,
                                         kr__task *last) {
    KR__DEBUG_ONLY({
        /* The chain must be linked first..last, and only the consumer
         * pushes the stub (alone). */
        kr__task *c = first;
        unsigned long n = 0;
        while (c != last && c != NULL && n++ < (1ul << 24))
            c = kr__load_relaxed(&c->next);
        KR__REQUIRE(c == last, "inject queue %p: chain %p..%p not linked",
                    (void *)q, (void *)first, (void *)last);
        KR__REQUIRE((first != &q->stub && last != &q->stub) || first == last,
                    "inject queue %p: the stub pushed in a chain", (void *)q);
    })
    kr__store_relaxed(&last->next, NULL); /* published by the swap below */
    kr__task *prev = kr__swap_seqcst(&q->tail, last);
    /* Release pairs with the consumer's acquire load of next. */
    kr__store_release(&prev->next, first);
}

static inline void kr__inject_push(kr__inject *q, kr__task *t) {
    kr__inject_push_chain(q, t, t);
}

/* kr__inject_pop without the debug build's checks around it. */
static inline kr__task *kr__inject_pop_raw(kr__inject *q) {
    kr__task *head = kr__load_relaxed(&q->head); /* consumer's own field */
    kr__task *next = kr__load_acquire(&head->next);
    if (head == &q->stub) {
        if (next == NULL)
            return NULL;
        kr__store_relaxed(&q->head, next);
        head = next;
        next = kr__load_acquire(&next->next);
    }
    if (next != NULL) {
        kr__store_relaxed(&q->head, next);
        return head;
    }
    if (kr__load_acquire(&q->tail) != head)
        return NULL; /* a producer is between its swap and its link */
    kr__inject_push(q, &q->stub);
    next = kr__load_acquire(&head->next);
    if (next != NULL) {
        kr__store_relaxed(&q->head, next);
        return head;
    }
    return NULL;
}

/* Consumer only. NULL when empty or while a push is half done. */
static inline kr__task *kr__inject_pop(kr__inject *q) {
#if defined(KR_DEBUG) && KR_DEBUG
    int other = kr__swap_acqrel(&q->popping, 1);
    KR__REQUIRE(other == 0, "inject queue %p: two consumers at once",
                (void *)q);
    kr__task *t = kr__inject_pop_raw(q);
    KR__REQUIRE(t != &q->stub, "inject queue %p: popped the stub", (void *)q);
    kr__store_release(&q->popping, 0);
    return t;
#else
    return kr__inject_pop_raw(q);
#endif
}

/* Consumer only: walks the queue without taking anything, oldest first
 * (task dumps). Stops early at a push half done. */
static inline kr__task *kr__inject_peek_next(kr__inject *q, kr__task *t) {
    /* Acquire pairs with the producers' release store of next. */
    kr__task *n = kr__load_acquire(&t->next);
    if (n == &q->stub)
        n = kr__load_acquire(&n->next); /* the stub, re-pushed by a pop */
    return n;
}

static inline kr__task *kr__inject_peek_first(kr__inject *q) {
    kr__task *head = kr__load_relaxed(&q->head); /* consumer's own field */
    return head == &q->stub ? kr__inject_peek_next(q, head) : head;
}

/* Consumer only: true if nothing is queued or being queued. (head == stub
 * means the stub is first, tail == stub that it is last: so it is alone.) */
static inline bool kr__inject_is_empty(kr__inject *q) {
    return kr__load_relaxed(&q->head) == &q->stub &&
           kr__load_acquire(&q->tail) == &q->stub;
}

/* Any thread: a snapshot, false only if the queue looked empty. Seq_cst
 * loads, for the multi-thread idle protocol (see sched/idle.c). */
static inline bool kr__inject_maybe_nonempty(kr__inject *q) {
    return kr__load_seqcst(&q->tail) != &q->stub ||
           kr__load_seqcst(&q->head) != &q->stub;
}

#endif
