/*
 * sched/owned.h: the list of live tasks (Tokio's OwnedTasks), one for both
 * flavors.
 *
 * Protocol:
 *   - A task is bound to a list (kr__owned_bind) by its scheduler when it
 *     is spawned, or, for a remote spawn, when it first reaches a consumer
 *     of the inject queue; from then until it completes the list holds the
 *     task's OWNED reference (task/task.h).
 *   - `owner`, in the task header, names the list (KR__NO_OWNER until
 *     bound). It is written once, before the task can complete, so the
 *     release that follows its completion finds the list without a lock.
 *   - The links are the header's `owned` node (util/list.h): unlinked while
 *     the task is on no list - not yet bound, or taken off by its release
 *     or by the shutdown drain. kr__owned_release tells the two apart: it
 *     returns true only if it took the task off (its caller then drops the
 *     OWNED reference), so a drain and a completion never both drop it.
 *   - The lists are not locked here: the current-thread runtime's one
 *     list belongs to whoever holds its core; the multi-thread runtime
 *     keeps one list per worker (kr__owned_set), each under its own
 *     spinlock, so workers completing tasks rarely share a lock.
 */
#ifndef KR_SCHED_OWNED_H
#define KR_SCHED_OWNED_H

#include "task/task.h"
#include "util/list.h"
#include "util/spinlock.h"

typedef struct kr__owned {
    kr__list head;
} kr__owned;

static inline void kr__owned_init(kr__owned *o) { kr__list_init(&o->head); }

static inline bool kr__owned_empty(const kr__owned *o) {
    return kr__list_empty(&o->head);
}

static inline kr__task *kr__owned_task(kr__list *node) {
    return KR__CONTAINER_OF(node, kr__task, owned);
}

/* Requires: t is on no list and was never bound (owner KR__NO_OWNER).
 * `index` is the list's number, kept in the task's `owner`. */
static inline void kr__owned_bind(kr__owned *o, uint8_t index, kr__task *t) {
    KR__REQUIRE(t->owner == KR__NO_OWNER && index != KR__NO_OWNER,
                "task %p: bound twice (owner %u) or to list %u", (void *)t,
                (unsigned)t->owner, (unsigned)index);
    t->owner = index;
    kr__list_push_front(&o->head, &t->owned);
}

/* Takes t off its list if it is still on it; true if it was. */
static inline bool kr__owned_release(kr__task *t) {
    if (!kr__list_linked(&t->owned))
        return false;
    kr__list_remove(&t->owned);
    return true;
}

/* Shutdown: takes every task off and shuts it down (kr__task_shutdown
 * consumes the OWNED reference). Returns true if there was any. */
bool kr__owned_shutdown_all(kr__owned *o);

/* Adds every task on the list to the dump. */
void kr__owned_dump(kr__owned *o, kr__dump *d);

/* ---- the multi-thread runtime's lists: one per worker ------------------ */

typedef struct kr__owned_shard {
    kr__spinlock lock;
    kr__owned list;
} KR__ALIGNED_CL kr__owned_shard;

typedef struct kr__owned_set {
    unsigned n;
    kr__owned_shard *shard;
} kr__owned_set;

/* Returns false on allocation failure. */
bool kr__owned_set_init(kr__owned_set *s, unsigned n);
void kr__owned_set_free(kr__owned_set *s);

/* Binds t to the list of worker `worker` (workers beyond the 255th share
 * lists: `owner` is a byte). */
static inline void kr__owned_set_bind(kr__owned_set *s, unsigned worker,
                                      kr__task *t) {
    unsigned i = worker % KR__NO_OWNER;
    kr__owned_shard *sh = &s->shard[i];
    kr__spin_lock(&sh->lock);
    kr__owned_bind(&sh->list, (uint8_t)i, t);
    kr__spin_unlock(&sh->lock);
}

/* A completion: kr__owned_release on the task's list, under its lock. */
static inline bool kr__owned_set_release(kr__owned_set *s, kr__task *t) {
    unsigned owner = t->owner;
    if (owner == KR__NO_OWNER)
        return false;
    kr__owned_shard *sh = &s->shard[owner];
    kr__spin_lock(&sh->lock);
    bool held = kr__owned_release(t);
    kr__spin_unlock(&sh->lock);
    return held;
}

/* Shutdown, every worker stopped: kr__owned_shutdown_all on each list. */
bool kr__owned_set_shutdown_all(kr__owned_set *s);

/* kr__owned_dump of each list, under its lock (one list at a time: a
 * completion on another list is never held up). */
void kr__owned_set_dump(kr__owned_set *s, kr__dump *d);

#endif
