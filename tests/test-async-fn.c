/*
 * The async-function macros (kairo/async_fn.h): the struct, vtable and
 * drop they declare, typed and void outputs, KR_FN_CALL, the drop hook run
 * once after the pending child's drop, await sites naming the function,
 * and the output size check (a mismatch aborts with the await named; one
 * with a fixed-output future does not compile:
 * tests/compile-fail/async-fn-size.c). KR_TEST_FLAVORS: ct mt
 */
#ifndef KR_DEBUG
#define KR_DEBUG 1
#endif
#include "kairo/async_fn.h"
#include "test.h"

/* ---- a typed function: three yields, then its count ------------------- */

typedef struct {
    KR_ASYNC_FIELDS;
    int i;
    kr_yield y;
} counter;
KR_ASYNC_FN(counter, int);
KR_ASYNC_NO_DROP(counter);

KR_ASYNC_POLL(counter, c, cx) {
    for (c->i = 0; c->i < 3; c->i++)
        KR_FN_CALL_VOID(c->y, kr_yield_now());
    KR_FN_RETURN(c->i);
}
KR_ASYNC_POLL_END

static void async_fn_typed_output(void **state) {
    (void)state;
    assert_int_equal(counter_vt.size, sizeof(counter));
    assert_int_equal(counter_vt.output_size, sizeof(int));
    assert_string_equal(counter_vt.name, "counter");
    kr_runtime *rt = test_runtime(0);
    counter c = {KR_ASYNC_INIT(counter)};
    int out = -1;
    assert_rc(kr_runtime_block_on(rt, &c.base, &out), 0);
    assert_int_equal(out, 3);
    test_runtime_free(rt);
}

/* ---- a void function with a drop hook, awaiting a child ---------------- */

typedef struct {
    int drops, cleanups, child_dropped_first;
} drop_log;

/* A child that never finishes; logs its drop. */
typedef struct {
    kr_future base;
    drop_log *log;
} forever;
static kr_poll forever_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    (void)out;
    return KR_PENDING;
}
static void forever_drop(kr_future *f) { ((forever *)f)->log->drops++; }
KR_FUTURE_VTABLE(forever_vt, forever, forever_poll, forever_drop, 0);

typedef struct {
    KR_ASYNC_FIELDS;
    drop_log *log;
    kr_yield y;
    forever child;
} waiter;
KR_ASYNC_FN_VOID(waiter);

KR_ASYNC_DROP(waiter, w) {
    w->log->cleanups++;
    w->log->child_dropped_first = w->log->drops == 1;
}

KR_ASYNC_POLL(waiter, w, cx) {
    KR_FN_CALL_VOID(w->y, kr_yield_now());
    w->child = (forever){{&forever_vt}, w->log};
    KR_FN_AWAIT(&w->child);
    KR_FN_RETURN_VOID();
}
KR_ASYNC_POLL_END

/* Dropped before its first poll, at its first await (the yield) and at
 * its second (the child): the hook runs once each time, after the pending
 * child's drop. */
static void async_fn_drop_hook_runs_once(void **state) {
    (void)state;
    assert_int_equal(waiter_vt.output_size, 0);
    for (int polls = 0; polls < 3; polls++) {
        drop_log log = {0};
        waiter w = {KR_ASYNC_INIT(waiter), .log = &log};
        kr_waker wk = kr_waker_noop();
        kr_context cx = kr_context_from_waker(&wk);
        for (int i = 0; i < polls; i++)
            assert_int_equal(kr_future_poll(&w.base, &cx, NULL), KR_PENDING);
        kr_future_drop(&w.base);
        assert_int_equal(log.cleanups, 1);
        assert_int_equal(log.drops, polls == 2 ? 1 : 0);
        if (polls == 2)
            assert_true(log.child_dropped_first);
    }
}

/* ---- outputs into fields, KR_FN_CALL with a checked output -------------- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_oneshot_rx *rx;
    kr_oneshot_recv rv;
    int v, rc;
} summer;
KR_ASYNC_FN(summer, int64_t);
KR_ASYNC_NO_DROP(summer);

KR_ASYNC_POLL(summer, s, cx) {
    KR_FN_CALL(s->rv, kr_oneshot_recv_future(s->rx, &s->v), s->rc);
    if (s->rc != 0)
        KR_FN_RETURN(s->rc);
    KR_FN_RETURN((int64_t)s->v * 1000000000);
}
KR_ASYNC_POLL_END

static void async_fn_call_into_field(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    int v = 7;
    assert_rc(kr_oneshot_send(tx, &v), 0);
    summer s = {KR_ASYNC_INIT(summer), .rx = rx};
    int64_t out = 0;
    assert_rc(kr_runtime_block_on(rt, &s.base, &out), 0);
    assert_int_equal(out, INT64_C(7000000000));
    kr_oneshot_rx_drop(rx);
    test_runtime_free(rt);
}

/* ---- await sites name the function ------------------------------------- */

typedef struct {
    kr_future base;
    const kr_await_site *seen;
    int polls;
} site_probe;
static kr_poll site_probe_poll(kr_future *f, kr_context *cx, void *out) {
    site_probe *p = (site_probe *)f;
    (void)out;
    p->seen = cx->site != NULL ? *cx->site : NULL;
    if (p->polls++ == 0) {
        kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(site_probe_vt, site_probe, site_probe_poll, NULL, 0);

/* The site a task saw, read through a shared result (the task is a copy). */
static const kr_await_site *task_seen;
static int task_line;

typedef struct {
    KR_ASYNC_FIELDS;
    site_probe p;
} sited2;
KR_ASYNC_FN(sited2, int);
KR_ASYNC_NO_DROP(sited2);

KR_ASYNC_POLL(sited2, s, cx) {
    s->p = (site_probe){{&site_probe_vt}, NULL, 0};
    task_line = __LINE__ + 1;
    KR_FN_AWAIT(&s->p);
    task_seen = s->p.seen;
    KR_FN_RETURN(2);
}
KR_ASYNC_POLL_END

static void async_fn_site_names_poll_function(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    sited2 s = {KR_ASYNC_INIT(sited2)};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &s.base, &jh), 0);
    int out = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &out), 0);
    assert_int_equal(out, 2);
    assert_non_null(task_seen);
    assert_string_equal(task_seen->func, "sited2_poll");
    assert_int_equal(task_seen->line, task_line);
    assert_non_null(strstr(task_seen->file, "test-async-fn.c"));
    test_runtime_free(rt);
}

/* ---- the run-time output size check ------------------------------------- */

typedef struct {
    kr_future base;
} wide;
static kr_poll wide_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    *(int64_t *)out = 1;
    return KR_READY;
}
KR_FUTURE_VTABLE(wide_vt, wide, wide_poll, NULL, sizeof(int64_t));

typedef struct {
    KR_ASYNC_FIELDS;
    wide w;
    int small;
} narrow_awaiter;
KR_ASYNC_FN(narrow_awaiter, int);
KR_ASYNC_NO_DROP(narrow_awaiter);

KR_ASYNC_POLL(narrow_awaiter, n, cx) {
    n->w = (wide){{&wide_vt}};
    KR_FN_AWAIT_INTO(&n->w, n->small);
    KR_FN_RETURN(n->small);
}
KR_ASYNC_POLL_END

static void run_narrow(void) {
    narrow_awaiter n = {KR_ASYNC_INIT(narrow_awaiter)};
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    int out;
    (void)kr_future_poll(&n.base, &cx, &out);
}

static void async_fn_output_size_checked(void **state) {
    (void)state;
    test_expect_abort(run_narrow, "KR_AWAIT_INTO awaits wide, whose output "
                                  "is 8 bytes, into a variable of 4 bytes");
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(async_fn_typed_output),
        cmocka_unit_test(async_fn_drop_hook_runs_once),
        cmocka_unit_test(async_fn_call_into_field),
        cmocka_unit_test(async_fn_site_names_poll_function),
        cmocka_unit_test(async_fn_output_size_checked),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
