/*
 * task/cache_pool.h: task caches for threads outside a runtime.
 *
 * A thread that is not one of a runtime's workers (the main thread calling
 * kr_runtime_spawn, a thread pool feeding work in) has no cache of its own.
 * Rather than malloc a cell per remote spawn (and free it on a worker,
 * which in glibc means taking the allocating thread's arena lock), the
 * runtime keeps a few caches behind try-locks. A spawner locks one, which
 * makes it that cache's owner for the allocation, and unlocks; workers free
 * the cells back through the cache's lock-free remote stack.
 *
 * Lock: acquire on take, release on give, so each holder sees the cache as
 * the previous holder left it.
 */
#ifndef KR_TASK_CACHE_POOL_H
#define KR_TASK_CACHE_POOL_H

#include "task/cache.h"
#include "util/spinlock.h"

/* Enough that a handful of spawner threads rarely collide. */
#define KR__CACHE_POOL_SLOTS 8

typedef struct kr__cache_pool_slot {
    kr__spinlock lock;
    kr__cache *cache;
} KR__ALIGNED_CL kr__cache_pool_slot;

typedef struct kr__cache_pool {
    kr__cache_pool_slot slot[KR__CACHE_POOL_SLOTS];
} kr__cache_pool;

/* Makes KR__CACHE_POOL_SLOTS caches for `sched` with the given destroy hook. Returns false
 * on allocation failure, after orphaning (destroying) what it made; each
 * cache made calls the hook once when destroyed either way. */
bool kr__cache_pool_init(kr__cache_pool *p, kr__sched *sched,
                         void (*on_destroy)(void *), void *arg, unsigned *made);

/* Locks the first free slot; NULL if all are
 * taken (the caller falls back to the general allocator). The slot's cache
 * is the caller's until kr__cache_pool_give. */
kr__cache_pool_slot *kr__cache_pool_take(kr__cache_pool *p);
static inline void kr__cache_pool_give(kr__cache_pool_slot *s) {
    kr__spin_unlock(&s->lock);
}

/* Locks slot 0 alone, the one a lone spawner always takes; NULL if it is
 * taken (or orphaned). The current-thread core holds it while it holds
 * the core, as kr__ctx.held_cache: the cells its remote spawner made
 * before the block_on then come back to their slabs when the core frees
 * them, without the remote stack's push and drain (spawners meanwhile use
 * the next slots). */
static inline kr__cache_pool_slot *
kr__cache_pool_take_first(kr__cache_pool *p) {
    kr__cache_pool_slot *s = &p->slot[0];
    if (!kr__spin_trylock(&s->lock))
        return NULL;
    if (s->cache != NULL)
        return s;
    kr__spin_unlock(&s->lock); /* orphaned: the runtime is gone */
    return NULL;
}

/* Orphans every cache (task/cache.h); no take may follow. */
void kr__cache_pool_orphan(kr__cache_pool *p);

#endif
