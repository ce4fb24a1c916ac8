/*
 * The waker contract: reference counting of clones, wake consuming versus
 * wake_by_ref keeping, will_wake, the noop waker and the slot helpers
 * (kr_waker_set / take_wake / reset); then the task's own waker inside a
 * poll. KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

/* ---- a counting waker --------------------------------------------------- */

typedef struct wcount {
    atomic_long clones, wakes, by_ref, drops;
} wcount;

static const kr_waker_vtable cw_vt;
/* A second vtable over the same data: will_wake must tell them apart. */
static const kr_waker_vtable cw_vt2;

static kr_waker cw_clone(const void *d) {
    atomic_fetch_add(&((wcount *)d)->clones, 1);
    kr_waker w = {d, &cw_vt};
    return w;
}
static kr_waker cw_clone2(const void *d) {
    atomic_fetch_add(&((wcount *)d)->clones, 1);
    kr_waker w = {d, &cw_vt2};
    return w;
}
static void cw_wake(const void *d) {
    atomic_fetch_add(&((wcount *)d)->wakes, 1);
}
static void cw_by_ref(const void *d) {
    atomic_fetch_add(&((wcount *)d)->by_ref, 1);
}
static void cw_drop(const void *d) {
    atomic_fetch_add(&((wcount *)d)->drops, 1);
}

static const kr_waker_vtable cw_vt = {cw_clone, cw_wake, cw_by_ref, cw_drop};
static const kr_waker_vtable cw_vt2 = {cw_clone2, cw_wake, cw_by_ref, cw_drop};

static kr_waker cw_make(wcount *c) {
    kr_waker w = {c, &cw_vt};
    return w;
}

static void waker_clone_wake_drop_balance(void **state) {
    (void)state;
    wcount c = {0};
    kr_waker w = cw_make(&c); /* the original reference */
    kr_waker a = kr_waker_clone(&w);
    kr_waker b = kr_waker_clone(&a);
    assert_int_equal(c.clones, 2);
    assert_true(kr_waker_will_wake(&a, &w));
    assert_true(kr_waker_will_wake(&b, &w));

    kr_waker_wake_by_ref(&a); /* keeps a */
    assert_int_equal(c.by_ref, 1);
    assert_int_equal(c.wakes, 0);
    assert_int_equal(c.drops, 0);

    kr_waker_wake(a); /* consumes a: no drop follows */
    assert_int_equal(c.wakes, 1);
    assert_int_equal(c.drops, 0);

    kr_waker_drop(b);
    assert_int_equal(c.drops, 1);
    kr_waker_drop(w);
    /* Every reference (the original and each clone) ended exactly once. */
    assert_int_equal(c.clones + 1, c.wakes + c.drops);
    assert_int_equal(c.by_ref, 1);
}

static void waker_will_wake_compares_data_and_vtable(void **state) {
    (void)state;
    wcount c1 = {0}, c2 = {0};
    kr_waker a = cw_make(&c1), b = cw_make(&c2);
    kr_waker a2 = {&c1, &cw_vt2};
    assert_true(kr_waker_will_wake(&a, &a));
    assert_false(kr_waker_will_wake(&a, &b));  /* other data */
    assert_false(kr_waker_will_wake(&a, &a2)); /* other vtable */
    kr_waker n = kr_waker_noop();
    assert_false(kr_waker_will_wake(&a, &n));
}

static void waker_noop(void **state) {
    (void)state;
    kr_waker n = kr_waker_noop();
    assert_non_null(n.vtable);
    kr_waker n2 = kr_waker_noop();
    assert_true(kr_waker_will_wake(&n, &n2));
    kr_waker c = kr_waker_clone(&n);
    assert_true(kr_waker_will_wake(&n, &c));
    kr_waker_wake_by_ref(&c);
    kr_waker_wake(c);
    kr_waker_drop(n);
    kr_waker_drop(n2);

    /* A context made by hand carries the waker and no await-site slot. */
    kr_waker n3 = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n3);
    assert_ptr_equal(kr_context_waker(&cx), &n3);
    assert_null(cx.site);

    /* The slot helpers with noop wakers: set twice is one store. */
    kr_waker slot = {NULL, NULL};
    kr_waker_set(&slot, &n3);
    assert_true(kr_waker_will_wake(&slot, &n3));
    kr_waker_set(&slot, &n3);
    kr_waker_take_wake(&slot);
    assert_null(slot.vtable);
}

static void waker_slot_helpers(void **state) {
    (void)state;
    wcount c1 = {0}, c2 = {0};
    kr_waker w1 = cw_make(&c1), w2 = cw_make(&c2);
    kr_waker slot = {NULL, NULL};

    kr_waker_set(&slot, &w1); /* empty slot: one clone */
    assert_int_equal(c1.clones, 1);
    assert_ptr_equal(slot.data, &c1);
    kr_waker_set(&slot, &w1); /* same task: no refcount traffic */
    assert_int_equal(c1.clones, 1);
    assert_int_equal(c1.drops, 0);

    kr_waker_set(&slot, &w2); /* another task: drop the old, clone the new */
    assert_int_equal(c1.drops, 1);
    assert_int_equal(c2.clones, 1);
    assert_ptr_equal(slot.data, &c2);

    /* Same data, another vtable: a different waker, so it is replaced. */
    kr_waker w2b = {&c2, &cw_vt2};
    kr_waker_set(&slot, &w2b);
    assert_int_equal(c2.drops, 1);
    assert_int_equal(c2.clones, 2);
    assert_ptr_equal(slot.vtable, &cw_vt2);

    kr_waker_take_wake(&slot); /* wake consumes the slot's reference */
    assert_int_equal(c2.wakes, 1);
    assert_int_equal(c2.drops, 1);
    assert_null(slot.vtable);
    assert_null(slot.data);
    kr_waker_take_wake(&slot); /* empty: nothing */
    assert_int_equal(c2.wakes, 1);

    kr_waker_set(&slot, &w1);
    assert_int_equal(c1.clones, 2);
    kr_waker_reset(&slot);
    assert_int_equal(c1.drops, 2);
    assert_int_equal(c1.wakes, 0);
    assert_null(slot.vtable);
    kr_waker_reset(&slot); /* empty: nothing */
    assert_int_equal(c1.drops, 2);

    /* The originals are the tests' own references. */
    assert_int_equal(c1.clones, c1.wakes + c1.drops);
    assert_int_equal(c2.clones, c2.wakes + c2.drops);
}

/* ---- task wakers inside polls ------------------------------------------ */

typedef struct ww_shared {
    kr_waker kept[2];    /* each task's clone of its own waker */
    kr_waker main_clone; /* the block_on future's waker */
    test_latch parked;
    atomic_int bad; /* will_wake answers that were wrong */
} ww_shared;

typedef struct {
    kr_future base;
    ww_shared *sh;
    int id, polls;
} ww_task;

static kr_poll ww_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    ww_task *t = (ww_task *)f;
    ww_shared *sh = t->sh;
    const kr_waker *me = kr_context_waker(cx);
    if (t->polls++ == 0) {
        sh->kept[t->id] = kr_waker_clone(me);
        if (!kr_waker_will_wake(&sh->kept[t->id], me))
            atomic_fetch_add(&sh->bad, 1);
        test_latch_add(&sh->parked, 1);
        return KR_PENDING;
    }
    /* A later poll lends a waker that will_wake the clone of an earlier
     * one (so a stored waker need not be replaced), and not the other
     * task's or the block_on future's. */
    if (!kr_waker_will_wake(&sh->kept[t->id], me))
        atomic_fetch_add(&sh->bad, 1);
    if (kr_waker_will_wake(&sh->kept[1 - t->id], me))
        atomic_fetch_add(&sh->bad, 1);
    if (kr_waker_will_wake(&sh->main_clone, me))
        atomic_fetch_add(&sh->bad, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(ww_task_vt, ww_task, ww_task_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    ww_shared *sh;
    kr_join_handle jh[2];
    test_latch_wait lw;
    int i;
} ww_main;

static kr_poll ww_main_poll(kr_future *f, kr_context *cx, void *out) {
    ww_main *m = (ww_main *)f;
    ww_shared *sh = m->sh;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < 2; m->i++) {
        ww_task t = {{&ww_task_vt}, sh, m->i, 0};
        assert_rc(kr_spawn(&t.base, &m->jh[m->i]), 0);
    }
    m->lw = test_latch_wait_for(&sh->parked, 2);
    KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
    sh->main_clone = kr_waker_clone(kr_context_waker(cx));
    assert_true(kr_waker_will_wake(&sh->main_clone, kr_context_waker(cx)));
    assert_false(kr_waker_will_wake(&sh->kept[0], &sh->kept[1]));
    assert_false(kr_waker_will_wake(&sh->kept[0], &sh->main_clone));
    /* Wake by reference: the clones stay ours. */
    kr_waker_wake_by_ref(&sh->kept[0]);
    kr_waker_wake_by_ref(&sh->kept[1]);
    for (m->i = 0; m->i < 2; m->i++)
        KR_AWAIT(&m->co, &m->jh[m->i].base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(ww_main_vt, ww_main, ww_main_poll, NULL, 0);

static void waker_will_wake_in_task(void **state) {
    (void)state;
    test_alloc_install();
    ww_shared sh;
    memset(&sh, 0, sizeof(sh));
    test_latch_init(&sh.parked);
    kr_runtime *rt = test_runtime(0);
    ww_main m = {.base = {&ww_main_vt}, .sh = &sh};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    assert_int_equal(atomic_load(&sh.bad), 0);
    /* The clones kept past completion are still valid references: wake
     * one, drop the other, even after the runtime is gone. */
    test_runtime_free(rt);
    kr_waker_wake(sh.kept[0]);
    kr_waker_drop(sh.kept[1]);
    kr_waker_drop(sh.main_clone);
    test_latch_destroy(&sh.parked);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(waker_clone_wake_drop_balance),
    cmocka_unit_test(waker_will_wake_compares_data_and_vtable),
    cmocka_unit_test(waker_noop),
    cmocka_unit_test(waker_slot_helpers),
    cmocka_unit_test(waker_will_wake_in_task),
};
KR_TEST_MAIN(tests)
