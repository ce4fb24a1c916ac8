/*
 * OnceCell: Tokio's tests/sync_once_cell.rs ported (same names; the
 * time-paused ones are polled by hand instead, which makes their order
 * exact), then kairo's own: cancelled initialisers at every point, and a
 * hammer from 8 plain threads and every worker with exactly one
 * initialiser run. KR_TEST_FLAVORS: ct mt
 *
 * Where the port differs: get_or_init_panic becomes a cancelled
 * initialiser (C has no panics; a dropped initialiser is the same event
 * for the cell); drop_cell/drop_into_inner/from have no counterpart (the
 * value is plain bytes, with nothing to drop).
 */
#include "mock.h"
#include "test.h"

/* An initialiser: pending until *gate is set, then outputs `v` (a uint32,
 * or for `try_` an int rc, writing v to the slot on success). */
typedef struct init {
    kr_future base;
    atomic_int *gate;
    uint32_t v;
    int rc;            /* try_ only */
    void *slot;        /* try_ only */
    atomic_long *runs; /* bumped on the first poll */
    atomic_long *drops;
    int polled;
} init;

static kr_poll init_poll(kr_future *f, kr_context *cx, void *out) {
    init *i = (init *)f;
    if (!i->polled++ && i->runs != NULL)
        atomic_fetch_add(i->runs, 1);
    if (i->gate != NULL && !atomic_load(i->gate)) {
        kr_waker_wake_by_ref(cx->waker); /* poll again soon */
        return KR_PENDING;
    }
    *(uint32_t *)out = i->v;
    return KR_READY;
}
static kr_poll try_poll(kr_future *f, kr_context *cx, void *out) {
    init *i = (init *)f;
    uint32_t v;
    if (init_poll(f, cx, &v) == KR_PENDING)
        return KR_PENDING;
    if (i->rc == 0)
        memcpy(i->slot, &v, sizeof(v));
    *(int *)out = i->rc;
    return KR_READY;
}
static void init_drop(kr_future *f) {
    init *i = (init *)f;
    if (i->drops != NULL)
        atomic_fetch_add(i->drops, 1);
}
KR_FUTURE_VTABLE(init_vt, init, init_poll, init_drop, sizeof(uint32_t));
KR_FUTURE_VTABLE(try_vt, init, try_poll, init_drop, sizeof(int));

static init mk(uint32_t v, atomic_int *gate, atomic_long *runs,
               atomic_long *drops) {
    init i = {
        .base = {&init_vt}, .gate = gate, .v = v, .runs = runs, .drops = drops};
    return i;
}

static kr_once_cell *cell(void) {
    kr_once_cell *c = NULL;
    assert_rc(kr_once_cell_new(sizeof(uint32_t), &c), 0);
    return c;
}

static uint32_t val(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void get_or_init(void **state) {
    (void)state;
    kr_once_cell *c = cell();
    atomic_int gate = 0;
    atomic_long runs = 0, drops = 0;
    init i1 = mk(5, &gate, &runs, &drops), i2 = mk(10, NULL, &runs, &drops);
    const void *v1 = NULL, *v2 = NULL;
    kr_once_cell_init g1 = kr_once_cell_get_or_init(c, &i1.base, &v1);
    kr_once_cell_init g2 = kr_once_cell_get_or_init(c, &i2.base, &v2);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    int rc = 1;
    assert_int_equal(mock_poll(&t1, &g1.base, &rc), KR_PENDING);
    assert_int_equal(mock_poll(&t2, &g2.base, &rc), KR_PENDING);
    atomic_store(&gate, 1);
    assert_int_equal(mock_poll(&t1, &g1.base, &rc), KR_READY);
    assert_rc(rc, 0);
    assert_true(mock_woken(&t2));
    assert_int_equal(mock_poll(&t2, &g2.base, &rc), KR_READY);
    assert_rc(rc, 0);
    assert_int_equal(val(v1), 5);
    assert_ptr_equal(v1, v2);
    assert_int_equal(atomic_load(&runs), 1); /* func2 never ran */
    kr_future_drop(&g1.base);
    kr_future_drop(&g2.base);
    assert_int_equal(atomic_load(&drops), 2); /* both inits dropped once */
    assert_int_equal(mock_refs(&t1) + mock_refs(&t2), 0);
    kr_once_cell_free(c);
}

/* The running initialiser is cancelled: the next waiter runs its own. */
static void get_or_init_panic(void **state) {
    (void)state;
    kr_once_cell *c = cell();
    atomic_int gate = 0;
    atomic_long runs = 0, drops = 0;
    init i1 = mk(5, &gate, &runs, &drops), i2 = mk(10, NULL, &runs, &drops);
    const void *v2 = NULL;
    kr_once_cell_init g1 = kr_once_cell_get_or_init(c, &i1.base, NULL);
    kr_once_cell_init g2 = kr_once_cell_get_or_init(c, &i2.base, &v2);
    mock_task t1, t2;
    mock_init(&t1);
    mock_init(&t2);
    int rc = 1;
    assert_int_equal(mock_poll(&t1, &g1.base, &rc), KR_PENDING);
    assert_int_equal(mock_poll(&t2, &g2.base, &rc), KR_PENDING);
    kr_future_drop(&g1.base); /* cancels init 1 */
    assert_true(mock_woken(&t2));
    assert_int_equal(mock_poll(&t2, &g2.base, &rc), KR_READY);
    assert_rc(rc, 0);
    assert_int_equal(val(v2), 10);
    assert_int_equal(atomic_load(&runs), 2);
    kr_future_drop(&g2.base);
    assert_int_equal(atomic_load(&drops), 2);
    assert_int_equal(mock_refs(&t1) + mock_refs(&t2), 0);
    kr_once_cell_free(c);
}

static void set_and_get(void **state) {
    (void)state;
    kr_once_cell *c = cell();
    uint32_t five = 5;
    assert_rc(kr_once_cell_set(c, &five), 0);
    assert_non_null(kr_once_cell_get(c));
    assert_int_equal(val(kr_once_cell_get(c)), 5);
    assert_true(kr_once_cell_initialized(c));
    kr_once_cell_free(c);
}

static void get_uninit(void **state) {
    (void)state;
    kr_once_cell *c = cell();
    assert_null(kr_once_cell_get(c));
    assert_false(kr_once_cell_initialized(c));
    kr_once_cell_free(c);
}

static void set_twice(void **state) {
    (void)state;
    kr_once_cell *c = cell();
    uint32_t five = 5, six = 6;
    assert_rc(kr_once_cell_set(c, &five), 0);
    assert_rc(kr_once_cell_set(c, &six), KR_EEXIST);
    assert_int_equal(val(kr_once_cell_get(c)), 5);
    kr_once_cell_free(c);
}

static void set_while_initializing(void **state) {
    (void)state;
    kr_once_cell *c = cell();
    atomic_int gate = 0;
    init i1 = mk(5, &gate, NULL, NULL);
    const void *v = NULL;
    kr_once_cell_init g = kr_once_cell_get_or_init(c, &i1.base, &v);
    mock_task t;
    mock_init(&t);
    int rc = 1;
    assert_int_equal(mock_poll(&t, &g.base, &rc), KR_PENDING);
    uint32_t ten = 10;
    assert_rc(kr_once_cell_set(c, &ten), KR_EBUSY);
    atomic_store(&gate, 1);
    assert_int_equal(mock_poll(&t, &g.base, &rc), KR_READY);
    assert_int_equal(val(v), 5);
    kr_future_drop(&g.base);
    kr_once_cell_free(c);
}

static void get_or_try_init(void **state) {
    (void)state;
    kr_once_cell *c = cell();
    init e = {
        .base = {&try_vt}, .v = 1, .rc = KR_EIO, .slot = kr_once_cell_slot(c)};
    init ok = {
        .base = {&try_vt}, .v = 10, .rc = 0, .slot = kr_once_cell_slot(c)};
    const void *v = NULL;
    kr_once_cell_init g1 = kr_once_cell_get_or_try_init(c, &e.base, NULL);
    kr_once_cell_init g2 = kr_once_cell_get_or_try_init(c, &ok.base, &v);
    mock_task t;
    mock_init(&t);
    int rc = 1;
    assert_int_equal(mock_poll(&t, &g1.base, &rc), KR_READY);
    assert_rc(rc, KR_EIO);
    assert_false(kr_once_cell_initialized(c));
    assert_int_equal(mock_poll(&t, &g2.base, &rc), KR_READY);
    assert_rc(rc, 0);
    assert_int_equal(val(v), 10);
    kr_future_drop(&g1.base);
    kr_future_drop(&g2.base);
    kr_once_cell_free(c);
}

/* ---- kairo ------------------------------------------------------------- */

/* Waiters dropped at every point: queued, handed the turn but not polled,
 * running. The cell ends set exactly once, by the survivor. */
static void once_cell_drop_at_every_point(void **state) {
    (void)state;
    for (int point = 0; point < 3; point++) {
        kr_once_cell *c = cell();
        atomic_int gate = 0;
        atomic_long runs = 0, drops = 0;
        init i[3] = {mk(1, &gate, &runs, &drops), mk(2, &gate, &runs, &drops),
                     mk(3, &gate, &runs, &drops)};
        kr_once_cell_init g[3];
        mock_task t[3];
        int rc;
        for (int k = 0; k < 3; k++) {
            mock_init(&t[k]);
            g[k] = kr_once_cell_get_or_init(c, &i[k].base, NULL);
            assert_int_equal(mock_poll(&t[k], &g[k].base, &rc), KR_PENDING);
        }
        /* g0 runs init 0; g1, g2 queue. */
        if (point == 0)
            kr_future_drop(&g[1].base); /* queued */
        kr_future_drop(&g[0].base);     /* running: the turn passes */
        if (point == 1)
            kr_future_drop(&g[1].base); /* given the turn, not polled */
        int survivor = point == 2 ? 1 : 2;
        if (point == 2)
            kr_future_drop(&g[2].base);
        atomic_store(&gate, 1);
        assert_true(mock_woken(&t[survivor]));
        assert_int_equal(mock_poll(&t[survivor], &g[survivor].base, &rc),
                         KR_READY);
        assert_rc(rc, 0);
        assert_int_equal(val(kr_once_cell_get(c)), (uint32_t)survivor + 1);
        kr_future_drop(&g[survivor].base);
        assert_int_equal(atomic_load(&drops), 3);
        for (int k = 0; k < 3; k++)
            assert_int_equal(mock_refs(&t[k]), 0);
        kr_once_cell_free(c);
    }
}

#define THREADS 8
#define TASKS   16

typedef struct oham {
    kr_once_cell *c;
    atomic_long runs, drops, wrong;
    atomic_int gate;
} oham;

typedef struct otask {
    kr_future base;
    kr_coro co;
    oham *h;
    test_latch *done;
    init i;
    kr_once_cell_init g;
    const void *v;
    int rc;
} otask;

static kr_poll otask_poll(kr_future *f, kr_context *cx, void *out) {
    otask *t = (otask *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->i = mk(77, &t->h->gate, &t->h->runs, &t->h->drops);
    t->g = kr_once_cell_get_or_init(t->h->c, &t->i.base, &t->v);
    KR_AWAIT(&t->co, &t->g.base, cx, &t->rc);
    if (t->rc != 0 || val(t->v) != 77)
        atomic_fetch_add(&t->h->wrong, 1);
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void otask_drop(kr_future *f) { kr_coro_drop(&((otask *)f)->co); }
KR_FUTURE_VTABLE(otask_vt, otask, otask_poll, otask_drop, 0);

static void *othread(void *arg) {
    oham *h = arg;
    init i = mk(77, &h->gate, &h->runs, &h->drops);
    const void *v = NULL;
    kr_once_cell_init g = kr_once_cell_get_or_init(h->c, &i.base, &v);
    int rc = 1;
    thread_block_on(&g.base, &rc);
    if (rc != 0 || val(v) != 77)
        atomic_fetch_add(&h->wrong, 1);
    return NULL;
}

static void once_cell_hammer_one_initialiser(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    oham h = {.c = cell()};
    test_latch done;
    test_latch_init(&done);
    for (int i = 0; i < TASKS; i++) {
        otask t = {
            .base = {&otask_vt}, .co = KR_CORO_INIT, .h = &h, .done = &done};
        assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, othread, &h), 0);
    test_sleep_ms(5);
    atomic_store(&h.gate, 1);
    test_latch_wait w = test_latch_wait_for(&done, TASKS);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.runs), 1);
    assert_int_equal(atomic_load(&h.drops), TASKS + THREADS);
    assert_int_equal(atomic_load(&h.wrong), 0);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_once_cell_free(h.c);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_or_init),
        cmocka_unit_test(get_or_init_panic),
        cmocka_unit_test(set_and_get),
        cmocka_unit_test(get_uninit),
        cmocka_unit_test(set_twice),
        cmocka_unit_test(set_while_initializing),
        cmocka_unit_test(get_or_try_init),
        cmocka_unit_test(once_cell_drop_at_every_point),
        cmocka_unit_test(once_cell_hammer_one_initialiser),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
