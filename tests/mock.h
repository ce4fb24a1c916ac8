/*
 * tests/mock.h: polling futures by hand, as tokio-test's task::spawn does.
 *
 * A mock_task is a waker that counts its wakes and its live clones, so a
 * test can poll a future step by step (mock_poll), ask whether it was woken
 * since (mock_woken) and check at the end that every stored waker was
 * released (mock_refs == 0). Outside any runtime the coop budget is
 * unlimited, so hand polls never see it.
 *
 * thread_block_on polls a future to completion on a plain thread, parking
 * on a condition variable between polls: the "outside thread" of the
 * hammer tests.
 */
#ifndef KR_TESTS_MOCK_H
#define KR_TESTS_MOCK_H

#include <pthread.h>
#include <stdatomic.h>

#include "test.h"

typedef struct mock_task {
    atomic_long wakes;
    atomic_long refs;
} mock_task;

static void mock_wake_by_ref(const void *d);
static void mock_wake(const void *d);
static void mock_drop(const void *d);
static kr_waker mock_clone(const void *d);

static const kr_waker_vtable mock_vt = {mock_clone, mock_wake, mock_wake_by_ref,
                                        mock_drop};

static kr_waker mock_clone(const void *d) {
    atomic_fetch_add(&((mock_task *)d)->refs, 1);
    kr_waker w = {d, &mock_vt};
    return w;
}
static void mock_wake_by_ref(const void *d) {
    atomic_fetch_add(&((mock_task *)d)->wakes, 1);
}
static void mock_wake(const void *d) {
    mock_wake_by_ref(d);
    mock_drop(d);
}
static void mock_drop(const void *d) {
    long r = atomic_fetch_sub(&((mock_task *)d)->refs, 1);
    assert_true(r > 0);
}

static inline void mock_init(mock_task *t) {
    atomic_init(&t->wakes, 0);
    atomic_init(&t->refs, 0);
}

static inline kr_poll mock_poll(mock_task *t, kr_future *f, void *out) {
    kr_waker w = {t, &mock_vt};
    kr_context cx = kr_context_from_waker(&w);
    return kr_future_poll(f, &cx, out);
}

/* True if woken since the last call (then clears the count). */
static inline bool mock_woken(mock_task *t) {
    return atomic_exchange(&t->wakes, 0) > 0;
}

static inline long mock_refs(mock_task *t) { return atomic_load(&t->refs); }

/* ---- blocking on a plain thread ------------------------------------- */

typedef struct thread_parker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int notified;
} thread_parker;

static kr_waker tp_clone(const void *d);
static void tp_wake_by_ref(const void *d) {
    thread_parker *p = (thread_parker *)d;
    pthread_mutex_lock(&p->mu);
    p->notified = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
static void tp_drop(const void *d) { (void)d; }
static const kr_waker_vtable tp_vt = {tp_clone, tp_wake_by_ref, tp_wake_by_ref,
                                      tp_drop};
static kr_waker tp_clone(const void *d) {
    kr_waker w = {d, &tp_vt};
    return w;
}

/* Polls `f` to READY on this thread, then drops it. The parker outlives
 * every clone of its waker because the futures under test release their
 * wakers by the time they complete or are dropped. */
static inline void thread_block_on(kr_future *f, void *out) {
    thread_parker p;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.notified = 0;
    kr_waker w = {&p, &tp_vt};
    kr_context cx = kr_context_from_waker(&w);
    while (kr_future_poll(f, &cx, out) == KR_PENDING) {
        pthread_mutex_lock(&p.mu);
        while (!p.notified)
            pthread_cond_wait(&p.cv, &p.mu);
        p.notified = 0;
        pthread_mutex_unlock(&p.mu);
    }
    kr_future_drop(f);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
}

#endif /* KR_TESTS_MOCK_H */
