/*
 * tests/test-local-set.h: what the local task set tests share
 * (test-local-set.c, test-local-set-more.c): the thread-local flag of
 * Tokio's tests, a local task that checks it, a future that counts its
 * drop, and yield_now.
 */
#ifndef KR_TESTS_TEST_LOCAL_SET_H
#define KR_TESTS_TEST_LOCAL_SET_H

#include <pthread.h>
#include <sched.h>

#include "test.h"

static __thread bool on_set_thread __attribute__((unused));

/* ---- small futures ------------------------------------------------------ */

/* Asserts it runs on the set's thread; bumps *count; optionally yields
 * `yields` times and sleeps `sleep_ms` first. */
typedef struct {
    kr_future base;
    kr_coro co;
    atomic_long *count;
    int yields, sleep_ms, i;
    kr_sleep s;
} local_check;

static inline kr_poll local_check_poll(kr_future *f, kr_context *cx,
                                       void *out) {
    local_check *c = (local_check *)f;
    (void)out;
    KR_ASYNC_BEGIN(&c->co);
    assert_true(on_set_thread);
    for (c->i = 0; c->i < c->yields; c->i++)
        KR_YIELD(&c->co, cx);
    if (c->sleep_ms > 0) {
        c->s = kr_sleep_for(kr_ms(c->sleep_ms));
        KR_AWAIT(&c->co, &c->s.base, cx, NULL);
        assert_true(on_set_thread);
    }
    if (c->count != NULL)
        atomic_fetch_add(c->count, 1);
    KR_ASYNC_END(&c->co);
}
static inline void local_check_drop(kr_future *f) {
    kr_coro_drop(&((local_check *)f)->co);
}
__attribute__((unused)) KR_FUTURE_VTABLE(local_check_vt, local_check,
                                         local_check_poll, local_check_drop, 0);

static inline local_check check_make(atomic_long *count, int yields,
                                     int sleep_ms) {
    local_check c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &local_check_vt;
    c.count = count;
    c.yields = yields;
    c.sleep_ms = sleep_ms;
    return c;
}

/* A future that holds a "reference" (Tokio's Rc clone): its drop gives it
 * back. It signals `started`, then waits forever. */
typedef struct {
    kr_future base;
    long *refs;
    kr_oneshot_tx *started;
    const void *thread; /* where it was dropped */
} holder;
static __thread char thread_id __attribute__((unused));
static const void *dropped_on __attribute__((unused));
static inline kr_poll holder_poll(kr_future *f, kr_context *cx, void *out) {
    holder *h = (holder *)f;
    (void)cx, (void)out;
    if (h->started != NULL) {
        assert_rc(kr_oneshot_send(h->started, NULL), 0);
        h->started = NULL;
    }
    return KR_PENDING;
}
static inline void holder_drop(kr_future *f) {
    holder *h = (holder *)f;
    (*h->refs)--; /* not atomic: it must be dropped on the set's thread */
    dropped_on = &thread_id;
    kr_oneshot_tx_drop(h->started);
}
__attribute__((unused))
KR_FUTURE_VTABLE(holder_vt, holder, holder_poll, holder_drop, 0);

/* yield_now(): pending once (waking itself), then ready. */
typedef struct {
    kr_future base;
    int done;
} yield_once;
static inline kr_poll yield_once_poll(kr_future *f, kr_context *cx, void *out) {
    yield_once *y = (yield_once *)f;
    (void)out;
    if (y->done)
        return KR_READY;
    y->done = 1;
    kr_waker_wake_by_ref(cx->waker);
    return KR_PENDING;
}
__attribute__((unused))
KR_FUTURE_VTABLE(yield_once_vt, yield_once, yield_once_poll, NULL, 0);

#endif
