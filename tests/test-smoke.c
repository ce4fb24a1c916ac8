/* Smoke tests: spawn, join, yield, block_on. KR_TEST_FLAVORS: ct mt */
#include "test.h"

typedef struct {
    kr_future base;
    kr_coro co;
    kr_yield y;
    int i, n;
} counter;

static kr_poll counter_poll(kr_future *f, kr_context *cx, void *out) {
    counter *c = (counter *)f;
    KR_ASYNC_BEGIN(&c->co);
    for (c->i = 0; c->i < c->n; c->i++) {
        c->y = kr_yield_now();
        KR_AWAIT(&c->co, &c->y.base, cx, NULL);
    }
    KR_RETURN(&c->co, out, int, c->i);
    KR_ASYNC_END(&c->co);
}
KR_FUTURE_VTABLE(counter_vt, counter, counter_poll, NULL, sizeof(int));

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle jh[10];
    int k, sum, v;
} parent;

static kr_poll parent_poll(kr_future *f, kr_context *cx, void *out) {
    parent *p = (parent *)f;
    KR_ASYNC_BEGIN(&p->co);
    for (p->k = 0; p->k < 10; p->k++) {
        counter c = {.base = {&counter_vt}, .n = p->k};
        assert_rc(kr_spawn(&c.base, &p->jh[p->k]), 0);
    }
    for (p->k = 0; p->k < 10; p->k++) {
        KR_AWAIT(&p->co, &p->jh[p->k].base, cx, &p->v);
        assert_rc(kr_join_handle_error(&p->jh[p->k]), 0);
        p->sum += p->v;
    }
    KR_RETURN(&p->co, out, int, p->sum);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(parent_vt, parent, parent_poll, NULL, sizeof(int));

static void spawn_join_yield(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    parent p = {.base = {&parent_vt}};
    int out = -1;
    assert_rc(kr_runtime_block_on(rt, &p.base, &out), 0);
    assert_int_equal(out, 45);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(spawn_join_yield),
};
KR_TEST_MAIN(tests)
