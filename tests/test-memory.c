/*
 * Memory: what kairo keeps across many spawn/complete cycles, and the
 * alignment of what it allocates through a replaced allocator.
 *
 * The allocator here counts live blocks and bytes and hands out blocks at
 * an address 16 bytes past a 64-byte boundary: as aligned as malloc must
 * be (alignof(max_align_t)), and no more, so any structure kairo aligns to
 * a cache line or a page is misaligned unless kairo aligns it itself.
 * KR_TEST_FLAVORS: ct mt
 */
#include <stdalign.h>

#include "test.h"
#include "task/cache.h"
#include "task/state.h"
#include "task/task.h"
#include "util/alloc.h"

/* ---- a counting, deliberately misaligning allocator ------------------ */

typedef struct {
    void *raw;
    size_t size;
} block_head;

static atomic_long live_blocks, live_bytes;

static void *skew_malloc(size_t n) {
    char *raw = malloc(n + 128);
    if (raw == NULL)
        return NULL;
    uintptr_t at = ((uintptr_t)raw + sizeof(block_head) + 63) & ~(uintptr_t)63;
    char *p = (char *)at + 16; /* 16 mod 64 */
    block_head *h = (block_head *)(void *)p - 1;
    h->raw = raw;
    h->size = n;
    atomic_fetch_add(&live_blocks, 1);
    atomic_fetch_add(&live_bytes, (long)n);
    return p;
}

static void skew_free(void *p) {
    if (p == NULL)
        return;
    block_head *h = (block_head *)p - 1;
    atomic_fetch_sub(&live_blocks, 1);
    atomic_fetch_sub(&live_bytes, (long)h->size);
    free(h->raw);
}

static void *skew_realloc(void *p, size_t n) {
    void *q = skew_malloc(n);
    if (q == NULL || p == NULL)
        return q;
    block_head *h = (block_head *)p - 1;
    memcpy(q, p, h->size < n ? h->size : n);
    skew_free(p);
    return q;
}

static void skew_install(void) {
    kr_allocator a = {skew_malloc, skew_realloc, skew_free};
    atomic_store(&live_blocks, 0);
    atomic_store(&live_bytes, 0);
    assert_rc(kr_set_allocator(&a), 0);
}

/* ---- futures --------------------------------------------------------- */

/* A task whose future is well above the cache's small classes, as a
 * connection future with its buffer inline is. */
typedef struct {
    kr_future base;
    char payload[8192];
} big_fut;

static kr_poll big_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    big_fut *b = (big_fut *)f;
    *(int *)out = b->payload[0] + b->payload[sizeof(b->payload) - 1];
    return KR_READY;
}
KR_FUTURE_VTABLE(big_vt, big_fut, big_poll, NULL, sizeof(int));

/* A small one, to churn the small classes beside the big one. */
typedef struct {
    kr_future base;
    int v;
} small_fut;

static kr_poll small_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    *(int *)out = ((small_fut *)f)->v;
    return KR_READY;
}
KR_FUTURE_VTABLE(small_vt, small_fut, small_poll, NULL, sizeof(int));

/*
 * The block_on future: spawns `n` tasks one after another (big ones, and a
 * small one every `small_every`), awaiting each; on the multi-thread
 * runtime each is spawned from the block_on thread and finishes on a
 * worker. Records the allocator's live bytes after `warm` cycles.
 */
typedef struct {
    kr_future base;
    kr_coro co;
    long i, n, warm, small_every;
    long warm_bytes, warm_blocks;
    long sum;
    int got;
    kr_join_handle jh;
} churn_main;

static kr_poll churn_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    churn_main *m = (churn_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < m->n; m->i++) {
        if (m->i == m->warm) {
            m->warm_bytes = atomic_load(&live_bytes);
            m->warm_blocks = atomic_load(&live_blocks);
        }
        if (m->small_every != 0 && m->i % m->small_every == 0) {
            small_fut s = {{&small_vt}, 1};
            assert_rc(kr_spawn(&s.base, &m->jh), 0);
        } else {
            static big_fut b = {{&big_vt}, {1}};
            assert_rc(kr_spawn(&b.base, &m->jh), 0);
        }
        KR_AWAIT(&m->co, &m->jh.base, cx, &m->got);
        m->sum += m->got;
    }
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(churn_vt, churn_main, churn_poll, NULL, 0);

/*
 * Spawn/complete cycles of big futures must not
 * make kairo hold more memory the longer they go on: after a warm-up, the
 * live bytes stay within a few cells. (The multi-thread runtime used to
 * push every big cell freed on a worker onto the block_on cache's remote
 * stack, which only the small classes' allocation drained: ~8 KiB kept per
 * task spawned.)
 */
static void memory_big_task_churn_stays_bounded(void **state) {
    (void)state;
    skew_install();
    kr_runtime *rt = test_runtime(0);
    static churn_main m; /* big_fut copies are big: keep them off the stack */
    memset(&m, 0, sizeof(m));
    m.base.vtable = &churn_vt;
    m.n = test_scale(20000);
    m.warm = m.n / 10;
    m.small_every = 0;
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    long grew_bytes = atomic_load(&live_bytes) - m.warm_bytes;
    long grew_blocks = atomic_load(&live_blocks) - m.warm_blocks;
    long cycles = m.n - m.warm;
    /* Slack: a few cells of either size, a queue segment or two. A leak of
     * one big cell per cycle is cycles * 8 KiB. */
    if (grew_bytes > 256 * 1024 || grew_blocks > 256)
        fail_msg("live memory grew by %ld bytes, %ld blocks over %ld cycles",
                 grew_bytes, grew_blocks, cycles);
    assert_int_equal(m.sum, m.n);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&live_blocks), 0);
    assert_int_equal(atomic_load(&live_bytes), 0);
    assert_rc(kr_set_allocator(NULL), 0);
}

/*
 * kairo's cache-line and page-aligned blocks are aligned whatever the
 * replaced allocator's blocks are: kairo aligns within what it gets
 * (util/alloc.h), and frees what it got.
 */
static void memory_aligned_blocks_from_a_replaced_allocator(void **state) {
    (void)state;
    skew_install();
    size_t sizes[] = {1, 63, 64, 65, 200, 4096, 10000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *a = kr__malloc_aligned(sizes[i], 64);
        void *b = kr__calloc_page(sizes[i]);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal((uintptr_t)a % 64, 0);
        assert_int_equal((uintptr_t)b % 4096, 0);
        memset(a, 0xa5, sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(((unsigned char *)b)[k], 0);
        kr__free_aligned(a);
        kr__free_aligned(b);
    }
    assert_int_equal(atomic_load(&live_blocks), 0);
    assert_rc(kr_set_allocator(NULL), 0);
}

/*
 * A runtime whose allocator gives only malloc's alignment runs tasks,
 * wakes across threads and shuts down without a misaligned access (the
 * ASan+UBSan build checks every access) and without a leak.
 */
static void memory_runtime_runs_on_a_misaligning_allocator(void **state) {
    (void)state;
    skew_install();
    kr_runtime *rt = test_runtime(0);
    static churn_main m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = &churn_vt;
    m.n = 200;
    m.warm = 0;
    m.small_every = 2;
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    assert_int_equal(m.sum, m.n);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&live_blocks), 0);
    assert_rc(kr_set_allocator(NULL), 0);
}

/* ---- the slab cache itself ------------------------------------------- */

static int destroyed;
static void count_destroy(void *arg) {
    (void)arg;
    destroyed++;
}

typedef struct {
    kr__cache *c;
    void **cells;
    int n;
    uint32_t *offs;
} remote_free_arg;

static void *free_remotely(void *p) {
    remote_free_arg *a = p;
    for (int i = 0; i < a->n; i++)
        kr__cache_free(a->c, a->cells[i], a->offs[i], 0);
    return NULL;
}

/*
 * An idle task's cell is its 64-byte header and its future, packed: cells
 * of one class lie back to back in their slab, each finds its scheduler
 * and cache at home_off, cells too big or for another scheduler are loose,
 * and a cache orphaned with cells out is destroyed (once, all its memory
 * with it) when the last of them is freed from another thread.
 */
static void memory_cells_are_packed_and_find_their_home(void **state) {
    (void)state;
    skew_install();
    kr__sched sched = {NULL}, other = {NULL};
    destroyed = 0;
    kr__cache *c = kr__cache_new(&sched, count_destroy, NULL);
    assert_non_null(c);
    enum { N = 5000 };
    static void *cells[N];
    static uint32_t offs[N];
    size_t size = KR__TASK_HEADER_SIZE + 16; /* a 16-byte future's task */
    for (int i = 0; i < N; i++) {
        cells[i] = kr__cache_alloc(c, size, &sched, &offs[i]);
        assert_non_null(cells[i]);
        assert_int_equal((uintptr_t)cells[i] % 16, 0);
        kr__cell_home *h = kr__cell_home_of(cells[i], offs[i]);
        assert_ptr_equal(h->sched, &sched);
        assert_ptr_equal(h->cache, c);
        memset(cells[i], 0x5a, size);
    }
    /* Within a slab, the next cell starts where the last one ends. */
    long adjacent = 0;
    for (int i = 1; i < N; i++)
        adjacent += (char *)cells[i] - (char *)cells[i - 1] == (long)size;
    assert_true(adjacent >= N - 2);
    /* 5,000 80-byte cells in two slabs: no per-cell allocation. */
    assert_true(atomic_load(&live_blocks) <= 4);

    uint32_t big_off, other_off;
    void *big = kr__cache_alloc(c, 8192, &sched, &big_off);
    void *foreign = kr__cache_alloc(c, size, &other, &other_off);
    assert_int_equal(big_off, KR__LOOSE_OFF);
    assert_int_equal(other_off, KR__LOOSE_OFF);
    assert_ptr_equal(kr__cell_home_of(foreign, other_off)->sched, &other);
    assert_ptr_equal(kr__cell_home_of(foreign, other_off)->cache, c);
    kr__cache_free(c, big, big_off, 1);
    kr__cache_free(c, foreign, other_off, 1);

    /* Half back to the owner, the rest freed from another thread after
     * the cache is orphaned. */
    for (int i = 0; i < N / 2; i++)
        kr__cache_free(c, cells[i], offs[i], 1);
    kr__cache_orphan(c);
    assert_int_equal(destroyed, 0);
    remote_free_arg a = {c, cells + N / 2, N - N / 2, offs + N / 2};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, free_remotely, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(destroyed, 1);
    assert_int_equal(atomic_load(&live_blocks), 0);
    assert_rc(kr_set_allocator(NULL), 0);
}

typedef struct {
    kr_future base;
    uint64_t x;
} fut16;
typedef struct {
    kr_future base;
    uint64_t x[7];
} fut64;
static kr_poll never_ready(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx, (void)out;
    return KR_PENDING;
}
KR_FUTURE_VTABLE(fut16_vt, fut16, never_ready, NULL, 0);
KR_FUTURE_VTABLE(fut64_vt, fut64, never_ready, NULL, 0);

/*
 * An idle task costs its 64-byte header beside its future and nothing
 * more (issue 8: at most 64 bytes, never more than Tokio's 112 and 96):
 * tasks of a 16-byte and of a 64-byte future lie 80 and 128 bytes apart
 * in their slab. Only a builder's task is bigger, by its name and spawn
 * site, which read back.
 */
static void memory_idle_task_is_its_header_and_future(void **state) {
    (void)state;
    kr__sched sched = {NULL};
    kr__cache *c = kr__cache_new(&sched, NULL, NULL);
    assert_non_null(c);
    static const fut16 p16 = {{&fut16_vt}, 0};
    static const fut64 p64 = {{&fut64_vt}, {0}};
    const kr_future *protos[2] = {&p16.base, &p64.base};
    enum { N = 64 };
    static kr__task *t[2][N];
    uint64_t last_id = 0;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < N; i++) {
            t[k][i] = kr__task_new(&sched, c, protos[k], false);
            assert_non_null(t[k][i]);
            assert_null(kr__task_meta_of(t[k][i]));
            assert_null(kr__task_name(t[k][i]));
            assert_true(kr__task_id(t[k][i]) > last_id); /* one thread */
            last_id = kr__task_id(t[k][i]);
        }
        long adjacent = 0;
        size_t cell = KR__TASK_HEADER_SIZE + protos[k]->vtable->size;
        for (int i = 1; i < N; i++)
            adjacent += (char *)t[k][i] - (char *)t[k][i - 1] == (long)cell;
        assert_true(adjacent >= N - 2); /* a slab boundary, at most */
    }

    kr_task_builder b = KR_TASK_BUILDER(.name = "idle-named");
    kr__in_place ip = {{&kr__in_place_vtable},  &fut16_vt, NULL,
                       (void *)(uintptr_t)&p16, 0,         &b};
    kr__task *named = kr__task_new(&sched, c, &ip.base, false);
    assert_non_null(named);
    assert_string_equal(kr__task_name(named), "idle-named");
    assert_string_equal(kr__task_meta_of(named)->file, __FILE__);
    assert_int_equal(kr__task_meta_of(named)->line, b.line);
    assert_true(kr__task_id(named) > last_id);

    kr__task_dealloc(named);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < N; i++)
            kr__task_dealloc(t[k][i]);
    kr__cache_orphan(c); /* nothing out: destroys it */
}

/*
 * The id is split between the header and the state word's middle bits
 * (task.h); it reads back whole, whatever its size, and the transitions,
 * which only touch flags and count, leave it as it was.
 */
static void memory_task_id_split_survives_transitions(void **state) {
    (void)state;
    static const uint64_t ids[] = {
        (uint64_t)1 << 20,    (((uint64_t)1 << 31) - 1),
        (uint64_t)1 << 31,    ((uint64_t)1 << 32) + 5,
        0x123456789abcdefull, ((uint64_t)1 << 62) - 1,
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        uint64_t id = ids[i];
        kr__task t;
        memset(&t, 0, sizeof t);
        atomic_init(&t.state,
                    KR__INITIAL_STATE(true) | kr__task_id_hi_bits(id));
        t.id_lo = kr__task_id_lo(id);
        assert_int_equal(kr__task_id(&t), id);
        t.id_lo |= KR__TASK_NAMED;
        assert_int_equal(kr__task_id(&t), id);
        t.id_lo |= KR__TASK_TRACKED;
        assert_int_equal(kr__task_id(&t), id);
        assert_true(kr__task_tracked(&t));
        /* OWNED + NOTIFIED + JOIN: polled, woken while running, parked
         * and re-queued, polled again, completed, joined. */
        assert_int_equal(kr__state_to_running(&t), KR__RUN_SUCCESS);
        assert_int_equal(kr__state_notified_by_ref(&t), KR__NOTIFY_NOTHING);
        assert_int_equal(kr__state_to_idle(&t), KR__IDLE_NOTIFIED);
        assert_int_equal(kr__task_id(&t), id);
        assert_int_equal(kr__state_to_running(&t), KR__RUN_SUCCESS);
        kr__ref_inc(&t); /* a waker clone */
        assert_false(kr__ref_dec(&t));
        assert_int_equal(kr__task_id(&t), id);
        bool dealloc = true;
        assert_true(kr__state_complete_fast(&t, 2, &dealloc));
        assert_false(dealloc);
        assert_int_equal(kr__task_id(&t), id);
        uint64_t prev = kr__state_drop_join_complete(&t);
        assert_int_equal(kr__refs(prev), 1);
        assert_int_equal(kr__refs(kr__load_relaxed(&t.state)), 0);
        assert_int_equal(kr__task_id(&t), id);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(memory_big_task_churn_stays_bounded),
    cmocka_unit_test(memory_aligned_blocks_from_a_replaced_allocator),
    cmocka_unit_test(memory_runtime_runs_on_a_misaligning_allocator),
    cmocka_unit_test(memory_cells_are_packed_and_find_their_home),
    cmocka_unit_test(memory_idle_task_is_its_header_and_future),
    cmocka_unit_test(memory_task_id_split_survives_transitions),
};

KR_TEST_MAIN(tests)
