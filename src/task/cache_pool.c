/* task/cache_pool.c: caches for remote spawners (see cache_pool.h). */
#include "task/cache_pool.h"

bool kr__cache_pool_init(kr__cache_pool *p, kr__sched *sched,
                         void (*on_destroy)(void *), void *arg,
                         unsigned *made) {
    *made = 0;
    for (unsigned i = 0; i < KR__CACHE_POOL_SLOTS; i++) {
        kr__spin_init(&p->slot[i].lock);
        p->slot[i].cache = kr__cache_new(sched, on_destroy, arg);
        if (p->slot[i].cache == NULL) {
            kr__cache_pool_orphan(p);
            return false;
        }
        (*made)++;
    }
    return true;
}

kr__cache_pool_slot *kr__cache_pool_take(kr__cache_pool *p) {
    /* Everyone starts at slot 0 and moves on when a slot is taken: a lone
     * spawner (the common case) always reuses the same cache and its
     * recycled cells, whatever thread it runs on; concurrent spawners
     * spread over the next slots. */
    for (unsigned i = 0; i < KR__CACHE_POOL_SLOTS; i++) {
        kr__cache_pool_slot *s = &p->slot[i];
        if (kr__spin_trylock(&s->lock)) {
            if (s->cache != NULL)
                return s;
            kr__spin_unlock(&s->lock); /* orphaned: the runtime is gone */
        }
    }
    return NULL;
}

void kr__cache_pool_orphan(kr__cache_pool *p) {
    for (unsigned i = 0; i < KR__CACHE_POOL_SLOTS; i++) {
        if (p->slot[i].cache != NULL) {
            kr__spin_lock(&p->slot[i].lock);
            kr__cache_orphan(p->slot[i].cache);
            p->slot[i].cache = NULL;
            kr__spin_unlock(&p->slot[i].lock);
        }
    }
}
