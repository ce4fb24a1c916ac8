/*
 * The three wakers of the study notes, in C:
 *   (a) a waker over a heap-boxed uint32_t: clone makes a new box; wake and
 *       drop each free the box exactly once, never both;
 *   (b) a reference-counted waker over a task struct: clone increments,
 *       wake and drop decrement, the struct is freed at zero;
 *   (c) a timer future woken from a plain thread (test_timer in helpers.c),
 *       polled by hand, under block_on and as spawned tasks.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

/* ---- (a) boxed uint32_t --------------------------------------------------
 * The boxes come from a pool whose slots record their state, so a double
 * free or a use after free is an assertion failure, not undefined
 * behaviour. */

#define NBOX 16
enum { BOX_FREE = 0, BOX_LIVE = 1, BOX_DEAD = 2 };

typedef struct box {
    uint32_t value; /* first: the waker's data points here */
    int state;
} box;

static box boxes[NBOX];
static int nboxes, box_frees, box_bad;
static uint64_t woken_sum;

static const kr_waker_vtable box_vt;

static kr_waker box_new(uint32_t v) {
    assert_true(nboxes < NBOX);
    box *b = &boxes[nboxes++];
    b->value = v;
    b->state = BOX_LIVE;
    kr_waker w = {b, &box_vt};
    return w;
}

static void box_free(const void *d) {
    box *b = (box *)d;
    if (b->state != BOX_LIVE)
        box_bad++;
    b->state = BOX_DEAD;
    box_frees++;
}

static kr_waker box_clone(const void *d) {
    const box *b = d;
    if (b->state != BOX_LIVE)
        box_bad++;
    return box_new(b->value); /* a new box, not a shared one */
}
static void box_wake(const void *d) {
    woken_sum += ((const box *)d)->value;
    box_free(d);
}
static void box_wake_by_ref(const void *d) {
    if (((const box *)d)->state != BOX_LIVE)
        box_bad++;
    woken_sum += ((const box *)d)->value;
}
static void box_drop(const void *d) { box_free(d); }

static const kr_waker_vtable box_vt = {box_clone, box_wake, box_wake_by_ref,
                                       box_drop};

static void study_boxed_u32_waker(void **state) {
    (void)state;
    kr_waker w = box_new(7);
    kr_waker c = kr_waker_clone(&w);
    assert_int_equal(nboxes, 2);
    assert_ptr_not_equal(c.data, w.data);
    /* Different boxes are different wakers as far as will_wake can tell. */
    assert_false(kr_waker_will_wake(&w, &c));
    assert_int_equal(((box *)c.data)->value, 7);

    kr_waker_wake_by_ref(&c); /* keeps the box */
    assert_int_equal(box_frees, 0);
    kr_waker_wake(c); /* frees its box, no drop after */
    assert_int_equal(box_frees, 1);
    assert_int_equal(woken_sum, 14);

    /* Through a slot: set clones a box; setting the same waker again is
     * free; take_wake frees the slot's box by waking it. */
    kr_waker slot = {NULL, NULL};
    kr_waker_set(&slot, &w);
    assert_int_equal(nboxes, 3);
    kr_waker_set(&slot, &slot);
    assert_int_equal(nboxes, 3);
    kr_waker_take_wake(&slot);
    assert_int_equal(box_frees, 2);
    kr_waker_set(&slot, &w);
    kr_waker_reset(&slot);
    assert_int_equal(box_frees, 3);

    kr_waker_drop(w);
    assert_int_equal(box_frees, nboxes);
    assert_int_equal(woken_sum, 21);
    for (int i = 0; i < nboxes; i++)
        assert_int_equal(boxes[i].state, BOX_DEAD);
    assert_int_equal(box_bad, 0);
}

/* ---- (b) reference-counted task ---------------------------------------- */

typedef struct rc_task {
    atomic_int refs;
    atomic_int wakes;
} rc_task;

static atomic_int rc_freed;

static const kr_waker_vtable rc_vt;

static void rc_release(rc_task *t) {
    if (atomic_fetch_sub(&t->refs, 1) == 1) {
        atomic_fetch_add(&rc_freed, 1);
        free(t);
    }
}
static kr_waker rc_clone(const void *d) {
    atomic_fetch_add(&((rc_task *)d)->refs, 1);
    kr_waker w = {d, &rc_vt};
    return w;
}
static void rc_wake(const void *d) {
    atomic_fetch_add(&((rc_task *)d)->wakes, 1);
    rc_release((rc_task *)d);
}
static void rc_wake_by_ref(const void *d) {
    atomic_fetch_add(&((rc_task *)d)->wakes, 1);
}
static void rc_drop(const void *d) { rc_release((rc_task *)d); }

static const kr_waker_vtable rc_vt = {rc_clone, rc_wake, rc_wake_by_ref,
                                      rc_drop};

static kr_waker rc_new(rc_task **out) {
    rc_task *t = malloc(sizeof(*t));
    assert_non_null(t);
    atomic_init(&t->refs, 1);
    atomic_init(&t->wakes, 0);
    *out = t;
    kr_waker w = {t, &rc_vt};
    return w;
}

static void study_refcounted_task_waker(void **state) {
    (void)state;
    atomic_store(&rc_freed, 0);
    rc_task *t;
    kr_waker w = rc_new(&t);
    assert_int_equal(t->refs, 1);
    kr_waker c1 = kr_waker_clone(&w);
    assert_int_equal(t->refs, 2);
    kr_waker c2 = kr_waker_clone(&c1);
    assert_int_equal(t->refs, 3);
    assert_true(kr_waker_will_wake(&c1, &w)); /* clones share the task */
    kr_waker_wake_by_ref(&c1);
    assert_int_equal(t->refs, 3);
    assert_int_equal(t->wakes, 1);
    kr_waker_wake(c1);
    assert_int_equal(t->refs, 2);
    assert_int_equal(t->wakes, 2);
    kr_waker_drop(c2);
    assert_int_equal(t->refs, 1);

    kr_waker slot = {NULL, NULL};
    kr_waker_set(&slot, &w);
    assert_int_equal(t->refs, 2);
    kr_waker_set(&slot, &w); /* same task: no refcount traffic */
    assert_int_equal(t->refs, 2);
    kr_waker_take_wake(&slot);
    assert_int_equal(t->refs, 1);
    assert_int_equal(t->wakes, 3);

    assert_int_equal(rc_freed, 0);
    kr_waker_drop(w);
    assert_int_equal(rc_freed, 1);
}

/* ---- (c) the timer future ---------------------------------------------- */

/* Polls by hand until ready, waiting for the thread's wake in between. */
static void wait_wakes(rc_task *t, int n) {
    for (int i = 0; i < 10000 && atomic_load(&t->wakes) < n; i++)
        test_sleep_ms(1);
    assert_int_equal(atomic_load(&t->wakes), n);
}

static void study_timer_by_hand(void **state) {
    (void)state;
    atomic_store(&rc_freed, 0);
    test_counts c = {0};
    rc_task *t;
    kr_waker w = rc_new(&t);
    kr_context cx = kr_context_from_waker(&w);
    test_timer tm = test_timer_make(5, &c);
    int out = 0;
    assert_int_equal(kr_future_poll(&tm.base, &cx, &out), KR_PENDING);
    /* The timer keeps a clone until its thread wakes it (consuming it). */
    wait_wakes(t, 1);
    assert_int_equal(kr_future_poll(&tm.base, &cx, &out), KR_READY);
    /* READY joined the thread, so its wake has finished releasing. */
    assert_int_equal(atomic_load(&t->refs), 1);
    assert_int_equal(out, 1);
    assert_int_equal(c.polls, 2);
    kr_future_drop(&tm.base); /* after READY: releases nothing twice */
    assert_int_equal(c.drops, 1);
    assert_int_equal(atomic_load(&t->refs), 1);
    kr_waker_drop(w);
    assert_int_equal(rc_freed, 1);
}

static void study_timer_replaces_waker(void **state) {
    (void)state;
    atomic_store(&rc_freed, 0);
    rc_task *ta, *tb;
    kr_waker a = rc_new(&ta), b = rc_new(&tb);
    kr_context cxa = kr_context_from_waker(&a);
    kr_context cxb = kr_context_from_waker(&b);
    /* Long enough that both polls happen before it fires. */
    test_timer tm = test_timer_make(100, NULL);
    assert_int_equal(kr_future_poll(&tm.base, &cxa, NULL), KR_PENDING);
    assert_int_equal(kr_future_poll(&tm.base, &cxa, NULL), KR_PENDING);
    assert_int_equal(atomic_load(&ta->refs), 2); /* set twice, cloned once */
    assert_int_equal(kr_future_poll(&tm.base, &cxb, NULL), KR_PENDING);
    assert_int_equal(atomic_load(&ta->refs), 1); /* replaced: a dropped */
    assert_int_equal(atomic_load(&tb->refs), 2);
    wait_wakes(tb, 1); /* the thread wakes the latest waker only */
    assert_int_equal(kr_future_poll(&tm.base, &cxb, NULL), KR_READY);
    assert_int_equal(atomic_load(&ta->wakes), 0);
    assert_int_equal(atomic_load(&tb->refs), 1);
    kr_waker_drop(a);
    kr_waker_drop(b);
    assert_int_equal(rc_freed, 2);
}

static void study_timer_dropped_early(void **state) {
    (void)state;
    atomic_store(&rc_freed, 0);
    test_counts c = {0};
    rc_task *t;
    kr_waker w = rc_new(&t);
    kr_context cx = kr_context_from_waker(&w);
    test_timer tm = test_timer_make(60000, &c);
    assert_int_equal(kr_future_poll(&tm.base, &cx, NULL), KR_PENDING);
    assert_int_equal(atomic_load(&t->refs), 2);
    kr_future_drop(&tm.base); /* cancels the thread, drops the clone */
    assert_int_equal(atomic_load(&t->refs), 1);
    assert_int_equal(atomic_load(&t->wakes), 0);
    kr_waker_drop(w);
    assert_int_equal(rc_freed, 1);
}

static void study_timer_block_on(void **state) {
    (void)state;
    test_alloc_install();
    test_counts c = {0};
    kr_runtime *rt = test_runtime(0);
    test_timer tm = test_timer_make(5, &c);
    int out = 0;
    assert_rc(kr_runtime_block_on(rt, &tm.base, &out), 0);
    assert_int_equal(out, 1);
    assert_true(c.polls >= 2); /* pending, woken by the thread, ready */
    assert_true(c.drops <= 1);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

#define NTIMERS 8

typedef struct {
    kr_future base;
    kr_coro co;
    test_counts *c;
    kr_join_handle jh[NTIMERS];
    int i, v, sum;
} timers_main;

static kr_poll timers_main_poll(kr_future *f, kr_context *cx, void *out) {
    timers_main *m = (timers_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < NTIMERS; m->i++) {
        test_timer tm = test_timer_make(1 + m->i, m->c);
        assert_rc(kr_spawn(&tm.base, &m->jh[m->i]), 0);
    }
    for (m->i = 0; m->i < NTIMERS; m->i++) {
        m->v = 0;
        KR_AWAIT(&m->co, &m->jh[m->i].base, cx, &m->v);
        assert_rc(kr_join_handle_error(&m->jh[m->i]), 0);
        m->sum += m->v;
    }
    KR_RETURN(&m->co, out, int, m->sum);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(timers_main_vt, timers_main, timers_main_poll, NULL,
                 sizeof(int));

static void study_timer_spawned(void **state) {
    (void)state;
    test_alloc_install();
    test_counts c = {0};
    kr_runtime *rt = test_runtime(0);
    timers_main m = {.base = {&timers_main_vt}, .c = &c};
    int sum = 0;
    assert_rc(kr_runtime_block_on(rt, &m.base, &sum), 0);
    assert_int_equal(sum, NTIMERS);
    assert_true(c.polls >= 2 * NTIMERS);
    /* A task's future is dropped once it is done. */
    assert_int_equal(c.drops, NTIMERS);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(study_boxed_u32_waker),
    cmocka_unit_test(study_refcounted_task_waker),
    cmocka_unit_test(study_timer_by_hand),
    cmocka_unit_test(study_timer_replaces_waker),
    cmocka_unit_test(study_timer_dropped_early),
    cmocka_unit_test(study_timer_block_on),
    cmocka_unit_test(study_timer_spawned),
};
KR_TEST_MAIN(tests)
