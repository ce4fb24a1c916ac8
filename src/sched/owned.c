/* sched/owned.c: the list of live tasks (protocol in owned.h). */
#include "sched/owned.h"

#include "util/alloc.h"

bool kr__owned_shutdown_all(kr__owned *o) {
    bool any = false;
    kr__list *node;
    while ((node = kr__list_pop_front(&o->head)) != NULL) {
        kr__task_shutdown(kr__owned_task(node)); /* the OWNED reference */
        any = true;
    }
    return any;
}

void kr__owned_dump(kr__owned *o, kr__dump *d) {
    KR__LIST_FOR_EACH(it, tmp, &o->head)
    kr__task_dump(d, kr__owned_task(it));
}

bool kr__owned_set_init(kr__owned_set *s, unsigned n) {
    s->n = n;
    s->shard = kr__calloc_cacheline(n, sizeof(*s->shard));
    if (s->shard == NULL)
        return false;
    for (unsigned i = 0; i < n; i++) {
        kr__spin_init(&s->shard[i].lock);
        kr__owned_init(&s->shard[i].list);
    }
    return true;
}

void kr__owned_set_free(kr__owned_set *s) {
    kr__free_aligned(s->shard);
    s->shard = NULL;
}

bool kr__owned_set_shutdown_all(kr__owned_set *s) {
    /* Without the locks: every worker has stopped, and a task's shutdown
     * may complete it, whose release takes its list's lock. */
    bool any = false;
    for (unsigned i = 0; i < s->n; i++)
        any |= kr__owned_shutdown_all(&s->shard[i].list);
    return any;
}

void kr__owned_set_dump(kr__owned_set *s, kr__dump *d) {
    for (unsigned i = 0; i < s->n; i++) {
        kr__spin_lock(&s->shard[i].lock);
        kr__owned_dump(&s->shard[i].list, d);
        kr__spin_unlock(&s->shard[i].lock);
    }
}
