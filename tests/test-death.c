/*
 * Polling after READY is a contract violation that kairo's own futures
 * abort on, naming the future. Each case forks a child that commits the
 * violation; the parent checks the child died of SIGABRT and that its
 * stderr (through a pipe) names the culprit. KR_TEST_FLAVORS: ct mt
 */
#include <unistd.h>

#include "test.h"

/* The fork-and-check helper and its child check, under the names this
 * file grew up with (tests/helpers.c). */
#define expect_abort test_expect_abort
#define CHILD_CHECK  TEST_CHILD_CHECK

/* ---- a coroutine polled after READY ---------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
} finished_coro;

static kr_poll finished_coro_poll(kr_future *f, kr_context *cx, void *out) {
    finished_coro *c = (finished_coro *)f;
    KR_ASYNC_BEGIN(&c->co);
    KR_YIELD(&c->co, cx);
    KR_RETURN(&c->co, out, int, 1);
    KR_ASYNC_END(&c->co);
}
KR_FUTURE_VTABLE(finished_coro_vt, finished_coro, finished_coro_poll, NULL,
                 sizeof(int));

static void child_coro_again(void) {
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    finished_coro c = {{&finished_coro_vt}, KR_CORO_INIT};
    int out = 0;
    CHILD_CHECK(kr_future_poll(&c.base, &cx, &out) == KR_PENDING);
    CHILD_CHECK(kr_future_poll(&c.base, &cx, &out) == KR_READY);
    CHILD_CHECK(out == 1 && kr_coro_done(&c.co));
    kr_future_poll(&c.base, &cx, &out);
}

static void death_coro_polled_after_ready(void **state) {
    (void)state;
    expect_abort(child_coro_again, "finished_coro_poll");
    expect_abort(child_coro_again, "polled after it returned READY");
}

static void child_coro_corrupt(void) {
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    finished_coro c = {{&finished_coro_vt}, KR_CORO_INIT};
    c.co.resume_ = 12345; /* as if overwritten */
    kr_future_poll(&c.base, &cx, NULL);
}

static void death_coro_corrupt_resume_point(void **state) {
    (void)state;
    expect_abort(child_coro_corrupt, "finished_coro_poll");
    expect_abort(child_coro_corrupt, "12345");
}

/* ---- a join handle polled after READY ---------------------------------- */

static void child_join_again(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 1;
    kr_runtime *rt = NULL;
    CHILD_CHECK(kr_runtime_new(&c, &rt) == 0);
    test_value v = test_value_make(5, NULL);
    kr_join_handle jh;
    CHILD_CHECK(kr_runtime_spawn(rt, &v.base, &jh) == 0);
    uint64_t out = 0;
    CHILD_CHECK(kr_runtime_block_on(rt, &jh.base, &out) == 0);
    CHILD_CHECK(out == 5);
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    kr_future_poll(&jh.base, &cx, &out);
}

static void death_join_handle_polled_after_ready(void **state) {
    (void)state;
    expect_abort(child_join_again, "kr_join_handle");
}

/* ---- a oneshot receive polled after READY ------------------------------ */

static void child_recv_again(void) {
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    CHILD_CHECK(kr_oneshot_new(0, &tx, &rx) == 0);
    CHILD_CHECK(kr_oneshot_send(tx, NULL) == 0);
    kr_waker n = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&n);
    kr_oneshot_recv r = kr_oneshot_recv_future(rx, NULL);
    int rc = -1;
    CHILD_CHECK(kr_future_poll(&r.base, &cx, &rc) == KR_READY && rc == 0);
    kr_future_poll(&r.base, &cx, &rc);
}

static void death_oneshot_recv_polled_after_ready(void **state) {
    (void)state;
    expect_abort(child_recv_again, "kr_oneshot_recv");
}

/* ---- two copies of one join handle (debug builds) -------------------- */

/* A handle is a value struct, so `copy = h` compiles; both then name one
 * join reference. Release builds cannot tell; debug builds must say so
 * rather than underflow the task's reference count. */
static void child_join_dropped_twice(void) {
    kr_runtime *rt = test_runtime(0);
    test_pending p = test_pending_make(NULL, NULL);
    kr_join_handle h;
    CHILD_CHECK(kr_runtime_spawn(rt, &p.base, &h) == 0);
    kr_join_handle copy = h;
    kr_join_handle_drop(&h);
    kr_join_handle_drop(&copy);
}

static void death_join_handle_dropped_twice(void **state) {
    (void)state;
#if defined(KR_DEBUG) && KR_DEBUG
    expect_abort(child_join_dropped_twice, "not copyable");
#else
    (void)child_join_dropped_twice;
    skip(); /* the check is the debug build's */
#endif
}

/* The copy awaited after the original was: the task is gone by then. */
static void child_join_copy_awaited_after_original(void) {
    kr_runtime *rt = test_runtime(0);
    test_value v = test_value_make(7, NULL);
    kr_join_handle h;
    CHILD_CHECK(kr_runtime_spawn(rt, &v.base, &h) == 0);
    kr_join_handle copy = h;
    uint64_t out = 0;
    CHILD_CHECK(kr_runtime_block_on(rt, &h.base, &out) == 0 && out == 7);
    (void)kr_runtime_block_on(rt, &copy.base, &out);
}

static void death_join_handle_copy_awaited_after_original(void **state) {
    (void)state;
#if defined(KR_DEBUG) && KR_DEBUG
    expect_abort(child_join_copy_awaited_after_original, "not copyable");
#else
    (void)child_join_copy_awaited_after_original;
    skip();
#endif
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(death_coro_polled_after_ready),
    cmocka_unit_test(death_coro_corrupt_resume_point),
    cmocka_unit_test(death_join_handle_polled_after_ready),
    cmocka_unit_test(death_oneshot_recv_polled_after_ready),
    cmocka_unit_test(death_join_handle_dropped_twice),
    cmocka_unit_test(death_join_handle_copy_awaited_after_original),
};
KR_TEST_MAIN(tests)
