/*
 * tests/mock_task.h: polling a future by hand with a waker that counts its
 * wakes, as tokio_test::task::spawn does (assert_pending!(t.poll()),
 * t.is_woken()). The waker counts references too, so a test can check that
 * a dropped future released the waker it had stored.
 */
#ifndef KR_TESTS_MOCK_TASK_H
#define KR_TESTS_MOCK_TASK_H

#include "test.h"

typedef struct mock_task {
    atomic_long wakes;
    atomic_long refs; /* clones not yet woken or dropped */
} mock_task;

static kr_waker mock_clone(const void *d);
static void mock_wake(const void *d) {
    mock_task *m = (mock_task *)d;
    atomic_fetch_add(&m->wakes, 1);
    atomic_fetch_sub(&m->refs, 1);
}
static void mock_wake_by_ref(const void *d) {
    atomic_fetch_add(&((mock_task *)d)->wakes, 1);
}
static void mock_drop(const void *d) {
    atomic_fetch_sub(&((mock_task *)d)->refs, 1);
}
static const kr_waker_vtable mock_vtable = {mock_clone, mock_wake,
                                            mock_wake_by_ref, mock_drop};
static kr_waker mock_clone(const void *d) {
    atomic_fetch_add(&((mock_task *)d)->refs, 1);
    kr_waker w = {d, &mock_vtable};
    return w;
}

static inline void mock_init(mock_task *m) {
    atomic_init(&m->wakes, 0);
    atomic_init(&m->refs, 0);
}

/* Polls `f` once in the mock task; clears the wake count first. */
static inline kr_poll mock_poll(mock_task *m, kr_future *f, void *out) {
    atomic_store(&m->wakes, 0);
    kr_waker w = {m, &mock_vtable};
    kr_context cx = kr_context_from_waker(&w);
    return kr_future_poll(f, &cx, out);
}

/* True if woken since the last poll. */
static inline bool mock_woken(mock_task *m) {
    return atomic_load(&m->wakes) > 0;
}

/* Polls, asserting READY; returns the int output. */
#define mock_ready_int(m, f)                                                   \
    ({                                                                         \
        int out_ = 12345;                                                      \
        assert_int_equal(mock_poll((m), (f), &out_), KR_READY);                \
        out_;                                                                  \
    })
#define mock_pending(m, f)                                                     \
    assert_int_equal(mock_poll((m), (f), NULL), KR_PENDING)

#endif
