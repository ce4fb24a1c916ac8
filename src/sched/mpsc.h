/*
 * sched/mpsc.h: an intrusive multi-producer single-consumer queue of tasks
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
#ifndef KR_SCHED_MPSC_H
#define KR_SCHED_MPSC_H

#include "task/task.h"

typedef struct kr__mpsc {
    _Atomic(kr__task *) tail KR__ALIGNED_CL; /* producers */
    kr__task *head KR__ALIGNED_CL;           /* consumer */
    kr__task stub;
} kr__mpsc;

static inline void kr__mpsc_init(kr__mpsc *q) {
    atomic_init(&q->stub.next, NULL);
    q->head = &q->stub;
    atomic_init(&q->tail, &q->stub);
}

static inline void kr__mpsc_push(kr__mpsc *q, kr__task *t) {
    kr__store_relaxed(&t->next, NULL); /* published by the swap below */
    kr__task *prev = kr__swap_acqrel(&q->tail, t);
    /* Release pairs with the consumer's acquire load of next. */
    kr__store_release(&prev->next, t);
}

/* Consumer only. NULL when empty or while a push is half done. */
static inline kr__task *kr__mpsc_pop(kr__mpsc *q) {
    kr__task *head = q->head;
    kr__task *next = kr__load_acquire(&head->next);
    if (head == &q->stub) {
        if (next == NULL)
            return NULL;
        q->head = next;
        head = next;
        next = kr__load_acquire(&next->next);
    }
    if (next != NULL) {
        q->head = next;
        return head;
    }
    if (kr__load_acquire(&q->tail) != head)
        return NULL; /* a producer is between its swap and its link */
    kr__mpsc_push(q, &q->stub);
    next = kr__load_acquire(&head->next);
    if (next != NULL) {
        q->head = next;
        return head;
    }
    return NULL;
}

/* Consumer only: true if nothing is queued or being queued. */
static inline bool kr__mpsc_is_empty(kr__mpsc *q) {
    return q->head == &q->stub &&
           kr__load_acquire(&q->tail) == &q->stub;
}

#endif
