/*
 * task/cache.h: per-thread caches of task cells, so that a spawn does not
 * call malloc and a completion does not call free, and so that an idle
 * task costs its header and its future and nothing more.
 *
 * Cells are carved from 1 MiB slabs, one size class per slab, the classes
 * 16 bytes apart up to 512 and four per doubling up to 4 KiB: a 16-byte
 * future's task takes an 80-byte cell, a 64-byte one's 128 bytes (the
 * 64-byte header and the future, task.h), with no allocator header or
 * alignment padding per cell. Larger cells, and cells for a scheduler
 * other than the cache's, are "loose": one allocation each, behind a
 * 16-byte prefix.
 *
 * Every cell has a home, found `home_off` bytes before it: its slab's
 * header or its loose prefix. The home names the cell's scheduler and its
 * cache, so a task cell needs neither field itself (task.h).
 *
 * A cache has one owner thread at a time (a worker, or the thread inside a
 * current-thread block_on); only the owner allocates from it. Cells may be
 * freed from any thread: the owner puts them back in their slabs, any other
 * thread pushes them on the cache's remote-free stack, which the owner
 * drains whenever it would otherwise need new memory.
 *
 * A cache outlives its runtime if cells are still out (a waker kept after
 * kr_runtime_free keeps its task): kr__cache_orphan hands the cache over to
 * its outstanding cells, and the last one freed destroys it (its slabs with
 * it) and calls the destroy hook (which releases the runtime's memory).
 */
#ifndef KR_TASK_CACHE_H
#define KR_TASK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/context.h"

typedef struct kr__cache kr__cache;
typedef struct kr__sched kr__sched;

/* The first bytes of a cell's home (a slab header or a loose prefix). */
typedef struct kr__cell_home {
    kr__sched *sched; /* the scheduler of the tasks it holds */
    kr__cache *cache; /* NULL: a loose cell from no cache */
} kr__cell_home;

/* A loose cell's home_off: its prefix is just the home. Slab cells are
 * further from theirs (the slab header is bigger), so this marks them. */
#define KR__LOOSE_OFF ((uint32_t)sizeof(kr__cell_home))

static inline kr__cell_home *kr__cell_home_of(void *cell, uint32_t home_off) {
    return (kr__cell_home *)(void *)((char *)cell - home_off);
}

/* `sched` goes in the home of every slab cell the cache makes. */
kr__cache *kr__cache_new(kr__sched *sched, void (*on_destroy)(void *),
                         void *arg);

/* Owner only. Returns a cell of at least `size` bytes for tasks of
 * `sched` (the cache's own, or another: then the cell is loose) and its
 * home offset (a multiple of 16, less than 1 MiB). NULL on allocation
 * failure. */
void *kr__cache_alloc(kr__cache *c, size_t size, kr__sched *sched,
                      uint32_t *home_off);

/* Owner only. kr__cache_alloc's fast path alone: a recycled cell of a
 * small class for the cache's own scheduler, or NULL (nothing changed:
 * call kr__cache_alloc). Calls nothing, so that a caller inlining it
 * (kr__task_new) can stay a leaf. */
void *kr__cache_alloc_fast(kr__cache *c, size_t size, kr__sched *sched,
                           uint32_t *home_off);

/* Any thread. `owner` is true when the caller is the cache's owner
 * (kr__cache_owned). */
void kr__cache_free(kr__cache *c, void *cell, uint32_t home_off, int owner);

/* Whether the calling thread owns `c` now: its own cache (kr__ctx.cache),
 * or one it holds the pool slot of (kr__ctx.held_cache). The second test
 * is made only when the first fails, so an owner's common free pays
 * nothing for it. */
static inline int kr__cache_owned(const kr__cache *c) {
    return c == kr__ctx.cache || c == kr__ctx.held_cache;
}

/* Owner, once, instead of freeing the cache: see the file comment. */
void kr__cache_orphan(kr__cache *c);

/* A loose cell from no cache (home {sched, NULL}); freed with
 * kr__loose_free. NULL on allocation failure. */
void *kr__loose_alloc(size_t size, kr__sched *sched);
void kr__loose_free(void *cell);

/* A cell from the calling thread's cache when it runs a runtime, else from
 * the general allocator (*cache = NULL). For objects that, like tasks, are
 * made and freed at a high rate (oneshot channels). `home_off` is opaque
 * to the caller: it hands it back to kr__cell_free. */
void *kr__cell_alloc(size_t size, kr__cache **cache, uint32_t *home_off);
/* kr__cell_alloc's fast path alone, for the owner of `c` (the calling
 * thread's kr__ctx.cache): a recycled cell of a small class, or NULL
 * (nothing changed: call kr__cell_alloc). Calls nothing, so that a caller
 * inlining it stays a leaf. */
void *kr__cell_alloc_fast(kr__cache *c, size_t size, uint32_t *home_off);
/* Frees a cell from kr__cell_alloc, from any thread. */
void kr__cell_free(void *cell, kr__cache *cache, uint32_t home_off);

#endif /* KR_TASK_CACHE_H */
