/*
 * task/cache.c: slab caches of task cells (see cache.h).
 *
 * Slabs. A slab is SLAB_BYTES from the allocator, cache-line aligned: its
 * header (`slab`: the owner's fields on one line, the cells' home on the
 * next), then cells of one class, carved
 * on demand (`bump`) so that pages no cell has used stay untouched. All of
 * a slab's fields but its home (written once) belong to its cache's
 * owner. The owner keeps, per class,
 *   cur[cls]      the slab it allocates from (on no list), and
 *   partial[cls]  other slabs with a free cell;
 * and for all classes
 *   full          slabs with no free cell and no room to carve, and
 *   empty         slabs with no cell out, at most MAX_EMPTY, which any
 *                 class may take and carve afresh.
 * A slab's `used` counts its cells out, those waiting on the remote stack
 * included. When it reaches zero outside cur the slab goes to `empty`, or
 * back to the allocator when `empty` is full: a cache keeps at most
 * MAX_EMPTY slabs beyond what its live cells need.
 *
 * Remote frees are drained before any new memory is taken (a new slab, a
 * slab carved afresh, a loose cell), so memory grows only when the cells
 * of every cache of the runtime are really out.
 *
 * Protocol of the remote-free stack `remote`:
 *   - Any non-owner thread pushes with a release CAS (Treiber push); the
 *     cell's first word is the link, the next its home offset.
 *   - Only the owner pops, and only by taking the whole stack with an
 *     acquire exchange, which pairs with the pushes' release so the links
 *     are visible. Taking everything at once means no ABA: a node is never
 *     popped while another pop is in progress.
 *   - kr__cache_orphan swaps in the ORPHANED sentinel (acq_rel). A freer
 *     that sees it frees a loose cell to the allocator (a slab cell stays
 *     in its slab, which goes with the cache) and decrements
 *     `orphan_left`. The owner, after the swap, adds the number of cells
 *     still out. Freers count down from zero into negatives; only the
 *     owner's add can make the sum positive, so exactly one party sees it
 *     reach zero (the owner, in its add, if nothing is out; otherwise the
 *     last freer) and destroys the cache, slabs and all. The acq_rel of
 *     each decrement makes every earlier freer's writes visible to it.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/context.h"
#include "task/cache.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/debug.h"
#include "util/list.h"

/* Slab bytes. Cells are 16-aligned, so a task's 16-bit home_off, in
 * units of 16 bytes, reaches 1 MiB; at 1 MiB the slab header, its
 * alignment and the unused end cost an 80-byte cell under 0.05 bytes.
 * Less than 1 MiB by malloc's chunk header and the alignment. */
#define SLAB_BYTES ((1 << 20) - 128)
/* Classes: 16, 32, ... 512 (32 classes), then four per doubling up to
 * 4096 (640, 768, 896, 1024, 1280, ...): at most 25% of a cell unused
 * above 512 bytes, at most 15 bytes below. */
#define SMALL_MAX  512
#define SMALL_N    32
#define MAX_CELL   4096
#define NCLASSES   (SMALL_N + 3 * 4)
/* Empty slabs kept per cache: 2 MiB, enough that a burst of 12,800
 * spawns (Tokio's remote_spawn benchmark, the largest) of 128-byte cells
 * recycles without malloc. */
#define MAX_EMPTY  2

#define ORPHANED ((cell_link *)1)

typedef struct cell_link {
    struct cell_link *next;
    uint32_t home_off; /* set on the remote push */
} cell_link;

enum { AT_CUR, AT_PARTIAL, AT_FULL, AT_EMPTY };

typedef struct slab {
    /* Owner-only, written by every allocation and free. */
    cell_link *free;  /* cells given back */
    char *bump, *end; /* never-used cells: [bump, end) */
    uint32_t used;    /* cells out, including remote-stack ones */
    uint16_t cls;
    uint8_t where; /* AT_*: which list holds it */
    kr__list link; /* partial[cls], full or empty; unlinked at cur */
    /* Read by every thread that wakes one of the slab's tasks: a cache
     * line of its own, away from the owner's writes above. Cells find it
     * home_off bytes back. */
    kr__cell_home home KR__ALIGNED_CL;
} slab;

/* The header: two cache lines; the cells start on the third. */
#define SLAB_HEAD 128
_Static_assert(sizeof(slab) <= SLAB_HEAD, "slab header grew");
_Static_assert(SLAB_BYTES < (1 << 20), "home offsets are 16 bits of 16 bytes");
_Static_assert(SLAB_HEAD - offsetof(slab, home) > sizeof(kr__cell_home),
               "slab cells are told from loose ones by home_off");

struct kr__cache {
    /* Owner-only. */
    slab *cur[NCLASSES];
    kr__list partial[NCLASSES];
    kr__list full, empty;
    unsigned nempty;
    long live; /* cells handed out and not returned to this owner */
    kr__sched *sched;
    void (*on_destroy)(void *);
    void *arg;
    /* Shared. */
    _Atomic(cell_link *) remote KR__ALIGNED_CL;
    _Atomic long orphan_left;
};

kr__cache *kr__cache_new(kr__sched *sched, void (*on_destroy)(void *),
                         void *arg) {
    /* Cache-line aligned: `remote` has a line of its own. */
    kr__cache *c = kr__malloc_cacheline(sizeof(*c));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < NCLASSES; i++)
        kr__list_init(&c->partial[i]);
    kr__list_init(&c->full);
    kr__list_init(&c->empty);
    c->sched = sched;
    c->on_destroy = on_destroy;
    c->arg = arg;
    atomic_init(&c->remote, NULL);
    atomic_init(&c->orphan_left, 0);
    return c;
}

/* Requires 0 < size <= MAX_CELL. */
static uint32_t class_of(size_t size) {
    if (size <= SMALL_MAX)
        return (uint32_t)((size + 15) >> 4) - 1;
    /* e = floor(log2(size - 1)), 9..11; sub: the quarter of [2^e, 2^e+1). */
    unsigned e = 63u - (unsigned)__builtin_clzll((unsigned long long)size - 1);
    unsigned sub = (unsigned)((size - 1) >> (e - 2)) & 3u;
    return SMALL_N + (e - 9) * 4 + sub;
}

static size_t class_size(uint32_t cls) {
    if (cls < SMALL_N)
        return (size_t)(cls + 1) * 16;
    unsigned e = 9 + (cls - SMALL_N) / 4, sub = (cls - SMALL_N) % 4;
    return (size_t)(5 + sub) << (e - 2);
}

static slab *slab_of(void *cell, uint32_t home_off) {
    return KR__CONTAINER_OF(kr__cell_home_of(cell, home_off), slab, home);
}

static void free_slabs(kr__list *l) {
    KR__LIST_FOR_EACH(it, tmp, l) {
        kr__list_remove(it);
        kr__free_aligned(KR__CONTAINER_OF(it, slab, link));
    }
}

static void destroy(kr__cache *c) {
    for (int i = 0; i < NCLASSES; i++) {
        kr__free_aligned(c->cur[i]);
        free_slabs(&c->partial[i]);
    }
    free_slabs(&c->full);
    free_slabs(&c->empty);
    void (*hook)(void *) = c->on_destroy;
    void *arg = c->arg;
    kr__free_aligned(c);
    if (hook != NULL)
        hook(arg);
}

/* Owner: a slab with no cell out, not cur, on no list. */
static void retire_empty(kr__cache *c, slab *s) {
    if (c->nempty < MAX_EMPTY) {
        s->where = AT_EMPTY;
        kr__list_push_front(&c->empty, &s->link);
        c->nempty++;
    } else {
        kr__free_aligned(s);
    }
}

/* Owner: a slab other than its class's cur got a cell back. Out of line:
 * the common give-back is to cur. */
static __attribute__((noinline)) void slab_refilled(kr__cache *c, slab *s) {
    if (s->where == AT_FULL) {
        kr__list_remove(&s->link);
        s->where = AT_PARTIAL;
        kr__list_push_front(&c->partial[s->cls], &s->link);
    }
    if (s->used == 0) {
        kr__list_remove(&s->link);
        retire_empty(c, s);
    }
}

/* Requires: `n` is a cell of slab `s` (the debug build checks its place:
 * carved, and on a cell boundary). The place is measured from the slab's
 * start; home_off counts from its home line, which is not at offset 0. */
#define CELL_OFF(s, n) ((size_t)((char *)(n) - (char *)(s)))
#define REQUIRE_CELL_OF(c, s, n, home_off)                                     \
    KR__REQUIRE((s)->home.cache == (c) && CELL_OFF(s, n) >= SLAB_HEAD &&       \
                    (char *)(n) < (s)->bump &&                                 \
                    (CELL_OFF(s, n) - SLAB_HEAD) % class_size((s)->cls) == 0,  \
                "cache %p: cell %p (home_off %u) is not a cell of slab %p "    \
                "(cache %p, class %u)",                                        \
                (void *)(c), (void *)(n), (unsigned)(home_off), (void *)(s),   \
                (void *)(s)->home.cache, (unsigned)(s)->cls)

/* Owner: takes a cell back (into its slab, or to the allocator if loose). */
static inline void give_back(kr__cache *c, cell_link *n, uint32_t home_off) {
    KR__REQUIRE(c->live > 0, "cache %p: cell %p given back with none out",
                (void *)c, (void *)n);
    c->live--;
    if (home_off == KR__LOOSE_OFF) {
        kr__free(kr__cell_home_of(n, home_off));
        return;
    }
    slab *s = slab_of(n, home_off);
    REQUIRE_CELL_OF(c, s, n, home_off);
    KR__REQUIRE(s->used > 0, "cache %p: slab %p got cell %p back with none out",
                (void *)c, (void *)s, (void *)n);
    n->next = s->free;
    s->free = n;
    s->used--;
    if (s->where != AT_CUR)
        slab_refilled(c, s);
}

/* Owner: moves the remote-free stack back into the slabs. */
static void drain_remote(kr__cache *c) {
    /* Acquire pairs with the release CAS of every push. */
    cell_link *n = kr__swap_acquire(&c->remote, NULL);
    KR__REQUIRE(n != ORPHANED, "cache %p: drained after it was orphaned",
                (void *)c);
    while (n != NULL) {
        cell_link *next = n->next;
        give_back(c, n, n->home_off);
        n = next;
    }
}

/* Owner: the slab to carve class `cls` from once cur is used up. */
static slab *next_slab(kr__cache *c, uint32_t cls) {
    kr__list *l = kr__list_pop_front(&c->partial[cls]);
    if (l != NULL)
        return KR__CONTAINER_OF(l, slab, link);
    slab *s;
    if ((l = kr__list_pop_front(&c->empty)) != NULL) {
        s = KR__CONTAINER_OF(l, slab, link);
        c->nempty--;
    } else {
        s = kr__malloc_cacheline(SLAB_BYTES);
        if (s == NULL)
            return NULL;
        s->home.sched = c->sched;
        s->home.cache = c;
        kr__list_node_init(&s->link);
    }
    size_t sz = class_size(cls);
    s->free = NULL;
    s->bump = (char *)s + SLAB_HEAD;
    s->end = s->bump + (SLAB_BYTES - SLAB_HEAD) / sz * sz;
    s->used = 0;
    s->cls = (uint16_t)cls;
    return s;
}

/* Out of line, so that the fast path in kr__cache_alloc saves no
 * registers. */
static __attribute__((noinline)) void *alloc_slow(kr__cache *c, uint32_t cls,
                                                  uint32_t *home_off) {
    size_t sz = class_size(cls);
    /* Cells freed elsewhere first (they may refill cur): carving fresh
     * ones instead would touch new memory while used cells wait. Relaxed
     * peek: drain_remote's exchange is the acquire. */
    if (kr__load_relaxed(&c->remote) != NULL)
        drain_remote(c);
    for (;;) {
        slab *s = c->cur[cls];
        if (s != NULL) {
            char *n = NULL;
            if (s->free != NULL) {
                n = (char *)s->free;
                s->free = s->free->next;
            } else if (s->bump + sz <= s->end) {
                n = s->bump;
                s->bump += sz;
            }
            if (n != NULL) {
                s->used++;
                c->live++;
                *home_off = (uint32_t)(n - (char *)&s->home);
                return n;
            }
            s->where = AT_FULL;
            kr__list_push_front(&c->full, &s->link);
        }
        s = next_slab(c, cls);
        c->cur[cls] = s;
        if (s == NULL)
            return NULL;
        s->where = AT_CUR;
    }
}

static void *loose_new(size_t size, kr__sched *sched, kr__cache *c) {
    if (size > (size_t)-1 - sizeof(kr__cell_home))
        return NULL;
    kr__cell_home *h = kr__malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->sched = sched;
    h->cache = c;
    return h + 1;
}

static __attribute__((noinline)) void *
alloc_loose(kr__cache *c, size_t size, kr__sched *sched, uint32_t *home_off) {
    /* Loose cells freed on other threads wait on the remote stack too:
     * drain it here as well, or a cache that only makes loose cells (a
     * block_on spawning connection tasks) never takes them back. */
    if (kr__load_relaxed(&c->remote) != NULL)
        drain_remote(c);
    void *p = loose_new(size, sched, c);
    if (p != NULL) {
        c->live++;
        *home_off = KR__LOOSE_OFF;
    }
    return p;
}

void *kr__cache_alloc_fast(kr__cache *c, size_t size, kr__sched *sched,
                           uint32_t *home_off) {
    if (__builtin_expect(size - 1 >= SMALL_MAX || sched != c->sched, 0))
        return NULL;
    slab *s = c->cur[(size + 15) / 16 - 1]; /* class_of, small classes */
    cell_link *n;
    if (__builtin_expect(s == NULL || (n = s->free) == NULL, 0))
        return NULL;
    s->free = n->next;
    s->used++;
    c->live++;
    *home_off = (uint32_t)((char *)n - (char *)&s->home);
    return n;
}

void *kr__cache_alloc(kr__cache *c, size_t size, kr__sched *sched,
                      uint32_t *home_off) {
    if (__builtin_expect(size - 1 >= MAX_CELL || sched != c->sched, 0))
        return alloc_loose(c, size, sched, home_off);
    uint32_t cls = class_of(size);
    slab *s = c->cur[cls];
    cell_link *n;
    if (__builtin_expect(s == NULL || (n = s->free) == NULL, 0))
        return alloc_slow(c, cls, home_off);
    s->free = n->next;
    s->used++;
    c->live++;
    *home_off = (uint32_t)((char *)n - (char *)&s->home);
    return n;
}

/* kr__cache_free's remote free into an orphaned cache: the cell goes
 * (its slab with the last one). Out of line, with remote_free's rare
 * half: the push itself then saves no register. */
static __attribute__((noinline, cold)) void
orphan_free(kr__cache *c, cell_link *n, uint32_t home_off) {
    if (home_off == KR__LOOSE_OFF)
        kr__free(kr__cell_home_of(n, home_off));
    /* Acq_rel: the one reaching zero must see all other frees. */
    if (kr__fetch_sub_acqrel(&c->orphan_left, 1) == 1)
        destroy(c);
}

/* kr__cache_free by a thread not the owner: a push on the remote stack. */
static __attribute__((noinline)) void remote_free(kr__cache *c, cell_link *n,
                                                  uint32_t home_off) {
    KR__REQUIRE(home_off == KR__LOOSE_OFF ||
                    slab_of(n, home_off)->home.cache == c,
                "cache %p: cell %p (home_off %u) freed to a cache not its own",
                (void *)c, (void *)n, (unsigned)home_off);
    /* The home offset travels with the cell, after the link word. */
    n->home_off = home_off;
    cell_link *head = kr__load_relaxed(&c->remote); /* the CAS re-reads */
    for (;;) {
        if (head == ORPHANED) {
            orphan_free(c, n, home_off);
            return;
        }
        n->next = head;
        /* Release publishes the link and offset to the owner's drain. */
        if (kr__cas_weak_release(&c->remote, &head, n))
            return;
    }
}

void kr__cache_free(kr__cache *c, void *cell, uint32_t home_off, int owner) {
    if (owner)
        give_back(c, cell, home_off);
    else
        remote_free(c, cell, home_off);
}

void kr__cache_orphan(kr__cache *c) {
    /* Acq_rel: acquire the pushed links (as in drain_remote); release so a
     * freer that sees ORPHANED also sees the slabs as we leave them. */
    cell_link *n = kr__swap_acqrel(&c->remote, ORPHANED);
    KR__REQUIRE(n != ORPHANED, "cache %p: orphaned twice", (void *)c);
    while (n != NULL) {
        cell_link *next = n->next;
        give_back(c, n, n->home_off);
        n = next;
    }
    /* What no cell needs goes now; slabs with cells out wait for the
     * last of them (destroy). */
    free_slabs(&c->empty);
    c->nempty = 0;
    for (int i = 0; i < NCLASSES; i++) {
        if (c->cur[i] != NULL && c->cur[i]->used == 0) {
            kr__free_aligned(c->cur[i]);
            c->cur[i] = NULL;
        }
    }
    long out = c->live;
    if (kr__fetch_add_acqrel(&c->orphan_left, out) + out == 0)
        destroy(c);
}

void *kr__loose_alloc(size_t size, kr__sched *sched) {
    return loose_new(size, sched, NULL);
}

void kr__loose_free(void *cell) {
    kr__free(kr__cell_home_of(cell, KR__LOOSE_OFF));
}

void *kr__cell_alloc(size_t size, kr__cache **cache, uint32_t *home_off) {
    kr__cache *c = kr__ctx.cache;
    *cache = c;
    if (c != NULL)
        return kr__cache_alloc(c, size, c->sched, home_off);
    *home_off = 0;
    return kr__malloc(size);
}

void *kr__cell_alloc_fast(kr__cache *c, size_t size, uint32_t *home_off) {
    return kr__cache_alloc_fast(c, size, c->sched, home_off);
}

void kr__cell_free(void *cell, kr__cache *cache, uint32_t home_off) {
    if (cache != NULL)
        kr__cache_free(cache, cell, home_off, kr__cache_owned(cache));
    else
        kr__free(cell);
}
