/*
 * task/cache.c: task cell caches (see cache.h).
 *
 * Protocol of the remote-free stack `remote`:
 *   - Any non-owner thread pushes with a release CAS (Treiber push); the
 *     cell's first word is the link.
 *   - Only the owner pops, and only by taking the whole stack with an
 *     acquire exchange, which pairs with the pushes' release so the links
 *     are visible. Taking everything at once means no ABA: a node is never
 *     popped while another pop is in progress.
 *   - kr__cache_orphan swaps in the ORPHANED sentinel (acq_rel). A freer
 *     that sees it frees the cell to the general allocator and decrements
 *     `orphan_left`. The owner, after the swap, adds the number of cells
 *     still out. Freers count down from zero into negatives; only the
 *     owner's add can make the sum positive, so exactly one party sees it
 *     reach zero (the owner, in its add, if nothing is out; otherwise the
 *     last freer) and destroys the cache.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/context.h"
#include "task/cache.h"
#include "util/alloc.h"
#include "util/atomic.h"

/* Cells kept per class. Enough that a burst of 12,800 spawns (Tokio's
 * remote_spawn benchmark, the largest) recycles without malloc; an idle
 * cache holds at most 16,384 x 128 B = 2 MiB of the common class. */
#define CACHE_MAX_FREE 16384

#define ORPHANED ((cell_link *)1)

typedef struct cell_link {
    struct cell_link *next;
} cell_link;

struct kr__cache {
    /* Owner-only. */
    cell_link *free[KR__CACHE_CLASSES];
    uint32_t nfree[KR__CACHE_CLASSES];
    long live; /* cells handed out and not returned to this owner */
    void (*on_destroy)(void *);
    void *arg;
    /* Shared. */
    _Atomic(cell_link *) remote KR__ALIGNED_CL;
    _Atomic long orphan_left;
};

kr__cache *kr__cache_new(void (*on_destroy)(void *), void *arg) {
    /* Cache-line aligned: `remote` has a line of its own. */
    kr__cache *c = kr__malloc_cacheline(sizeof(*c));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->on_destroy = on_destroy;
    c->arg = arg;
    atomic_init(&c->remote, NULL);
    atomic_init(&c->orphan_left, 0);
    return c;
}

static uint32_t class_of(size_t size) {
    if (size <= 64)
        return 0;
    /* ceil(log2(size)) - 6, without a loop. */
    uint32_t cls =
        (uint32_t)(64 - __builtin_clzll((unsigned long long)size - 1)) - 6;
    return cls < KR__CACHE_CLASSES ? cls : KR__CACHE_BIG;
}

/* Small cells are cache-line aligned blocks, big ones plain. */
static void free_cell(void *n, uint32_t cls) {
    if (cls == KR__CACHE_BIG)
        kr__free(n);
    else
        kr__free_aligned(n);
}

static uint32_t pushed_class(cell_link *n) {
    return *(uint32_t *)((char *)n + sizeof(cell_link));
}

static void destroy(kr__cache *c) {
    void (*hook)(void *) = c->on_destroy;
    void *arg = c->arg;
    kr__free_aligned(c);
    if (hook != NULL)
        hook(arg);
}

/* Owner: takes a cell back (onto its free list, or to the allocator if
 * the list is full or the cell is big). */
static void give_back(kr__cache *c, cell_link *n, uint32_t cls) {
    c->live--;
    if (cls != KR__CACHE_BIG && c->nfree[cls] < CACHE_MAX_FREE) {
        n->next = c->free[cls];
        c->free[cls] = n;
        c->nfree[cls]++;
    } else {
        free_cell(n, cls);
    }
}

/* Owner: moves the remote-free stack onto the free lists. */
static void drain_remote(kr__cache *c) {
    /* Acquire pairs with the release CAS of every push. */
    cell_link *n = kr__swap_acquire(&c->remote, NULL);
    while (n != NULL) {
        cell_link *next = n->next;
        give_back(c, n, pushed_class(n));
        n = next;
    }
}

void *kr__cache_alloc(kr__cache *c, size_t size, uint32_t *cls_out) {
    uint32_t cls = class_of(size);
    *cls_out = cls;
    if (cls == KR__CACHE_BIG) {
        /* Big cells freed on other threads wait on the remote stack too:
         * drain it here as well, or a cache that only makes big cells
         * (a block_on spawning connection tasks) never takes them back. */
        if (kr__load_relaxed(&c->remote) != NULL)
            drain_remote(c);
        void *p = kr__malloc(size);
        if (p != NULL)
            c->live++;
        return p;
    }
    cell_link *n = c->free[cls];
    if (n == NULL && kr__load_relaxed(&c->remote) != NULL) {
        /* Relaxed peek: drain_remote's exchange is the acquire. */
        drain_remote(c);
        n = c->free[cls];
    }
    if (n != NULL) {
        c->free[cls] = n->next;
        c->nfree[cls]--;
    } else {
        n = kr__malloc_cacheline((size_t)64 << cls);
        if (n == NULL)
            return NULL;
    }
    c->live++;
    return n;
}

void kr__cache_free(kr__cache *c, void *cell, uint32_t cls, int owner) {
    cell_link *n = cell;
    if (owner) {
        give_back(c, n, cls);
        return;
    }
    /* Big cells are pushed too (the owner frees them) so that `live`
     * stays an owner-only counter. The class travels with the cell, after
     * the link word. */
    *(uint32_t *)((char *)n + sizeof(cell_link)) = cls;
    cell_link *head = kr__load_relaxed(&c->remote); /* the CAS re-reads */
    for (;;) {
        if (head == ORPHANED) {
            free_cell(n, cls);
            /* Acq_rel: the one reaching zero must see all other frees. */
            if (kr__fetch_sub_acqrel(&c->orphan_left, 1) == 1)
                destroy(c);
            return;
        }
        n->next = head;
        /* Release publishes n->next (and the class) to the owner's drain. */
        if (kr__cas_weak_release(&c->remote, &head, n))
            return;
    }
}

void kr__cache_orphan(kr__cache *c) {
    for (int i = 0; i < KR__CACHE_CLASSES; i++) {
        cell_link *n = c->free[i];
        while (n != NULL) {
            cell_link *next = n->next;
            kr__free_aligned(n);
            n = next;
        }
        c->free[i] = NULL;
        c->nfree[i] = 0;
    }
    /* Acq_rel: acquire the pushed links (as in drain_remote); release so a
     * freer that sees ORPHANED also sees the free lists gone. */
    cell_link *n = kr__swap_acqrel(&c->remote, ORPHANED);
    while (n != NULL) {
        cell_link *next = n->next;
        c->live--;
        free_cell(n, pushed_class(n));
        n = next;
    }
    long out = c->live;
    if (kr__fetch_add_acqrel(&c->orphan_left, out) + out == 0)
        destroy(c);
}

void *kr__cell_alloc(size_t size, kr__cache **cache, uint32_t *cls) {
    kr__cache *c = kr__ctx.cache;
    *cache = c;
    if (c != NULL)
        return kr__cache_alloc(c, size, cls);
    *cls = KR__CACHE_BIG;
    return kr__malloc(size);
}

void kr__cell_free(void *cell, kr__cache *cache, uint32_t cls) {
    if (cache != NULL)
        kr__cache_free(cache, cell, cls, kr__ctx.cache == cache);
    else
        kr__free(cell);
}
