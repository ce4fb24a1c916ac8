/* sched/mt_inject.c: the multi-thread runtime's inject queue (protocol in
 * mt_inject.h). */
#include "sched/mt_inject.h"

#include "util/atomic.h"

/* The thread running a final drain, which must not drain recursively when
 * a future's drop wakes another task. */
static __thread kr__mt_inject *draining;

void kr__mt_inject_init(kr__mt_inject *in) {
    kr__inject_init(&in->q);
    kr__spin_init(&in->lock);
    atomic_init(&in->closed, 0);
}

bool kr__mt_inject_push(kr__mt_inject *in, kr__task *first, kr__task *last) {
    kr__inject_push_chain(&in->q, first, last); /* seq_cst swap */
    if (!kr__load_seqcst(&in->closed))
        return true;
    /* Pushed after the final drain began: clean up ourselves. */
    if (draining != in) {
        kr__spin_lock(&in->lock);
        kr__mt_inject_drain(in);
        kr__spin_unlock(&in->lock);
    }
    return false;
}

kr__task *kr__mt_inject_pop_batch(kr__mt_inject *in, kr__owned_set *owned,
                                  unsigned worker, kr__lq *into, uint32_t max,
                                  uint32_t *taken) {
    *taken = 0;
    if (!kr__inject_maybe_nonempty(&in->q))
        return NULL;
    if (!kr__spin_trylock(&in->lock))
        return NULL;
    kr__task *first = kr__inject_pop(&in->q);
    for (uint32_t i = 0; first != NULL && i < max; i++) {
        kr__task *t = kr__inject_pop(&in->q);
        if (t == NULL)
            break;
        if (t->owner == KR__NO_OWNER)
            kr__owned_set_bind(owned, worker, t);
        kr__lq_push_unchecked(into, t);
        ++*taken;
    }
    if (first != NULL)
        ++*taken;
    /* Bound under the lock too: a dump holding it sees every task. */
    if (first != NULL && first->owner == KR__NO_OWNER)
        kr__owned_set_bind(owned, worker, first);
    kr__spin_unlock(&in->lock);
    return first;
}

void kr__mt_inject_close(kr__mt_inject *in) {
    kr__spin_lock(&in->lock);
    kr__store_seqcst(&in->closed, 1);
    draining = in;
}

bool kr__mt_inject_drain(kr__mt_inject *in) {
    bool any = false;
    kr__task *t;
    while ((t = kr__inject_pop(&in->q)) != NULL) {
        if (t->owner == KR__NO_OWNER)
            kr__task_shutdown(t); /* a spawn that never ran */
        kr__task_drop_queued(t);  /* NOTIFIED reference (or held) */
        any = true;
    }
    return any;
}

void kr__mt_inject_close_end(kr__mt_inject *in) {
    draining = NULL;
    kr__spin_unlock(&in->lock);
}

void kr__mt_inject_dump_unbound(kr__mt_inject *in, kr__dump *d) {
    for (kr__task *t = kr__inject_peek_first(&in->q); t != NULL;
         t = kr__inject_peek_next(&in->q, t)) {
        if (t->owner == KR__NO_OWNER)
            kr__task_dump(d, t);
    }
}
