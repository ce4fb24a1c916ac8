/*
 * Allocation failure: every allocation kairo makes goes through the
 * replaceable allocator, and each failure is reported as KR_ENOMEM with
 * nothing leaked and the runtime still usable. KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

static kr_runtime_config test_config(unsigned workers) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = workers;
    return c;
}

static void alloc_runtime_new_enomem(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime_config c = test_config(2);
    kr_runtime *rt = (kr_runtime *)&c;
    test_alloc_fail_after(0);
    assert_rc(kr_runtime_new(&c, &rt), KR_ENOMEM);
    assert_null(rt);
    assert_int_equal(test_alloc_live(), 0);
    /* Fail each allocation of kr_runtime_new in turn. */
    int n;
    for (n = 0; n < 1000; n++) {
        test_alloc_fail_after(n);
        int rc = kr_runtime_new(&c, &rt);
        if (rc == 0)
            break;
        assert_rc(rc, KR_ENOMEM);
        test_alloc_fail_after(-1);
        assert_int_equal(test_alloc_live(), 0);
    }
    test_alloc_fail_after(-1);
    assert_true(n > 0 && n < 1000);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void alloc_remote_spawn_enomem(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    long base = test_alloc_live();
    test_counts c = {0};
    test_value v = test_value_make(9, &c);
    kr_join_handle jh;
    test_alloc_fail_after(0);
    assert_rc(kr_runtime_spawn(rt, &v.base, &jh), KR_ENOMEM);
    test_alloc_fail_after(-1);
    assert_rc(kr_join_handle_error(&jh), KR_EINVAL); /* left empty */
    assert_int_equal(test_alloc_live(), base);
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    assert_int_equal(m.spawned, 0);
    assert_int_equal(c.drops, 0); /* not taken: still the caller's */

    /* The runtime is still usable. */
    assert_rc(kr_runtime_spawn(rt, &v.base, &jh), 0);
    uint64_t out = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &out), 0);
    assert_int_equal(out, 9);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A child whose cell is in a size class nothing else here uses, so the
 * first spawn of one finds no free cell in the cache. */
typedef struct {
    kr_future base;
    unsigned char pad[1500];
} big_child;

static kr_poll big_child_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    *(int *)out = ((big_child *)f)->pad[1499];
    return KR_READY;
}
KR_FUTURE_VTABLE(big_child_vt, big_child, big_child_poll, NULL, sizeof(int));

typedef struct {
    int rc_fail, rc_ok, rc_recycled, out1, out2;
} local_result;

typedef struct {
    kr_future base;
    kr_coro co;
    local_result *r;
    kr_join_handle jh;
} local_parent;

static kr_poll local_parent_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    local_parent *p = (local_parent *)f;
    KR_ASYNC_BEGIN(&p->co);
    {
        big_child b;
        memset(&b, 0, sizeof(b));
        b.base.vtable = &big_child_vt;
        b.pad[1499] = 7;
        test_alloc_fail_after(0);
        p->r->rc_fail = kr_spawn(&b.base, &p->jh);
        test_alloc_fail_after(-1);
        p->r->rc_ok = kr_spawn(&b.base, &p->jh);
    }
    KR_AWAIT(&p->co, &p->jh.base, cx, &p->r->out1);
    {
        /* The finished child's cell went back to this thread's cache: a
         * spawn of the same size needs no allocation (DESIGN §4). */
        big_child b;
        memset(&b, 0, sizeof(b));
        b.base.vtable = &big_child_vt;
        b.pad[1499] = 8;
        test_alloc_fail_after(0);
        p->r->rc_recycled = kr_spawn(&b.base, &p->jh);
        test_alloc_fail_after(-1);
    }
    if (p->r->rc_recycled == 0)
        KR_AWAIT(&p->co, &p->jh.base, cx, &p->r->out2);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(local_parent_vt, local_parent, local_parent_poll, NULL, 0);

static void alloc_local_spawn_enomem(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(1);
    local_result r = {-1, -1, -1, 0, 0};
    local_parent p = {.base = {&local_parent_vt}, .r = &r};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &p.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(r.rc_fail, KR_ENOMEM);
    assert_rc(r.rc_ok, 0);
    assert_int_equal(r.out1, 7);
    assert_rc(r.rc_recycled, 0);
    assert_int_equal(r.out2, 8);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void alloc_oneshot_enomem(void **state) {
    (void)state;
    test_alloc_install();
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    test_alloc_fail_after(0);
    assert_rc(kr_oneshot_new(16, &tx, &rx), KR_ENOMEM);
    test_alloc_fail_after(-1);
    assert_int_equal(test_alloc_live(), 0);
    assert_rc(kr_oneshot_new(16, &tx, &rx), 0);
    assert_int_equal(test_alloc_live(), 1);
    kr_oneshot_tx_drop(tx);
    kr_oneshot_rx_drop(rx);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(alloc_runtime_new_enomem),
    cmocka_unit_test(alloc_remote_spawn_enomem),
    cmocka_unit_test(alloc_local_spawn_enomem),
    cmocka_unit_test(alloc_oneshot_enomem),
};
KR_TEST_MAIN(tests)
