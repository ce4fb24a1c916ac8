/*
 * task/cache.h: per-thread caches of task cells, so that a spawn does not
 * call malloc and a completion does not call free.
 *
 * A cache has one owner thread at a time (a worker, or the thread inside a
 * current-thread block_on); only the owner allocates from it. Cells may be
 * freed from any thread: the owner puts them on its free lists, any other
 * thread pushes them on the cache's remote-free stack, which the owner
 * drains when a free list runs dry.
 *
 * A cache outlives its runtime if cells are still out (a waker kept after
 * kr_runtime_free keeps its task): kr__cache_orphan hands the cache over to
 * its outstanding cells, and the last one freed destroys it and calls the
 * destroy hook (which releases the runtime's memory).
 */
#ifndef KR_TASK_CACHE_H
#define KR_TASK_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct kr__cache kr__cache;

/* Classes of 64, 128, ... 4096 bytes; larger cells are not recycled. */
#define KR__CACHE_CLASSES 7
#define KR__CACHE_BIG     UINT32_MAX

kr__cache *kr__cache_new(void (*on_destroy)(void *), void *arg);

/* Owner only. Returns a cell of at least `size` bytes and its class. */
void *kr__cache_alloc(kr__cache *c, size_t size, uint32_t *cls);

/* Any thread. `owner` is true when the caller is the cache's owner. */
void kr__cache_free(kr__cache *c, void *cell, uint32_t cls, int owner);

/* Owner, once, instead of freeing the cache: see the file comment. */
void kr__cache_orphan(kr__cache *c);

/* A cell from the calling thread's cache when it runs a runtime, else from
 * the general allocator (*cache = NULL). For objects that, like tasks, are
 * made and freed at a high rate (oneshot channels). */
void *kr__cell_alloc(size_t size, kr__cache **cache, uint32_t *cls);
/* Frees a cell from kr__cell_alloc, from any thread. */
void kr__cell_free(void *cell, kr__cache *cache, uint32_t cls);

#endif /* KR_TASK_CACHE_H */
