/*
 * Semaphore: Tokio's tests/sync_semaphore.rs and sync_semaphore_owned.rs
 * ported (same names), then kairo's own: FIFO fairness, a dropped acquire
 * at every await point passing its permits on, close while waiting, and a
 * hammer from 8 plain threads and every worker with random acquire sizes,
 * never over-granted. KR_TEST_FLAVORS: ct mt
 *
 * Where kairo deliberately differs from Tokio: permits are counts, not
 * objects, so merge/split/forget-a-permit have no counterpart (split and
 * merge are arithmetic; a permit is forgotten by not releasing it); what
 * panics in Tokio (too many permits) returns KR_EINVAL; there is no
 * blocking_acquire (the blocking_* tests map onto thread_block_on, which
 * polls the same future on a plain thread).
 */
#include <sched.h>

#include "mock.h"
#include "test.h"

#define MAX KR_SEMAPHORE_MAX_PERMITS

static kr_semaphore *sem_new(size_t permits) {
    kr_semaphore *s = NULL;
    assert_rc(kr_semaphore_new(permits, &s), 0);
    return s;
}

/* ---- Tokio's sync_semaphore.rs ------------------------------------------ */

static void no_permits(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(0);
    assert_int_equal(kr_semaphore_available_permits(s), 0);
    kr_semaphore_free(s);
}

static void try_acquire(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(1);
    assert_rc(kr_semaphore_try_acquire(s, 1), 0);
    assert_rc(kr_semaphore_try_acquire(s, 1), KR_EAGAIN);
    assert_rc(kr_semaphore_release(s, 1), 0);
    assert_rc(kr_semaphore_try_acquire(s, 1), 0);
    kr_semaphore_free(s);
}

/* A task acquiring n permits, holding them, releasing, bumping `done`. */
typedef struct acq_task {
    kr_future base;
    kr_coro co;
    kr_semaphore *s;
    size_t n;
    test_latch *done;
    kr_semaphore_acquire acq;
    int rc;
} acq_task;

static kr_poll acq_task_poll(kr_future *f, kr_context *cx, void *out) {
    acq_task *t = (acq_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->acq = kr_semaphore_acquire_future(t->s, t->n);
    KR_AWAIT(&t->co, &t->acq.base, cx, &t->rc);
    if (t->rc == 0)
        kr_semaphore_release(t->s, t->n);
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void acq_task_drop(kr_future *f) { kr_coro_drop(&((acq_task *)f)->co); }
KR_FUTURE_VTABLE(acq_task_vt, acq_task, acq_task_poll, acq_task_drop, 0);

static void spawn_acquirer(kr_runtime *rt, kr_semaphore *s, size_t n,
                           test_latch *done) {
    acq_task t = {.base = {&acq_task_vt},
                  .co = KR_CORO_INIT,
                  .s = s,
                  .n = n,
                  .done = done};
    assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
}

static void wait_latch(kr_runtime *rt, test_latch *l, long n) {
    test_latch_wait w = test_latch_wait_for(l, n);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
}

static void acquire(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_semaphore *s = sem_new(1);
    test_latch done;
    test_latch_init(&done);
    assert_rc(kr_semaphore_try_acquire(s, 1), 0);
    spawn_acquirer(rt, s, 1, &done);
    assert_rc(kr_semaphore_release(s, 1), 0);
    wait_latch(rt, &done, 1);
    assert_int_equal(kr_semaphore_available_permits(s), 1);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_semaphore_free(s);
}

static void add_permits(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_semaphore *s = sem_new(0);
    test_latch done;
    test_latch_init(&done);
    spawn_acquirer(rt, s, 1, &done);
    assert_rc(kr_semaphore_add_permits(s, 1), 0);
    wait_latch(rt, &done, 1);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_semaphore_free(s);
}

static void add_permits_open(void **state) {
    (void)state;
    for (size_t size = 0; size < 4; size++)
        for (size_t add = 0; add < 4; add++) {
            kr_semaphore *s = sem_new(size);
            assert_rc(kr_semaphore_add_permits(s, add), 0);
            assert_int_equal(kr_semaphore_available_permits(s), size + add);
            assert_false(kr_semaphore_is_closed(s));
            kr_semaphore_free(s);
        }
}

static void add_permits_closed(void **state) {
    (void)state;
    for (size_t size = 0; size < 4; size++)
        for (size_t add = 0; add < 4; add++) {
            kr_semaphore *s = sem_new(size);
            kr_semaphore_close(s);
            assert_rc(kr_semaphore_add_permits(s, add), 0);
            assert_int_equal(kr_semaphore_available_permits(s), size + add);
            assert_true(kr_semaphore_is_closed(s));
            kr_semaphore_free(s);
        }
}

static void forget_open(void **state) {
    (void)state;
    for (size_t size = 0; size < 4; size++)
        for (size_t sub = 0; sub < 4; sub++) {
            kr_semaphore *s = sem_new(size);
            size_t got = kr_semaphore_forget_permits(s, sub);
            size_t expected = size > sub ? size - sub : 0;
            assert_int_equal(kr_semaphore_available_permits(s), expected);
            assert_int_equal(got, size - expected);
            assert_false(kr_semaphore_is_closed(s));
            kr_semaphore_free(s);
        }
}

static void forget_closed(void **state) {
    (void)state;
    for (size_t size = 0; size < 4; size++)
        for (size_t sub = 0; sub < 4; sub++) {
            kr_semaphore *s = sem_new(size);
            kr_semaphore_close(s);
            size_t got = kr_semaphore_forget_permits(s, sub);
            size_t expected = size > sub ? size - sub : 0;
            assert_int_equal(kr_semaphore_available_permits(s), expected);
            assert_int_equal(got, size - expected);
            assert_true(kr_semaphore_is_closed(s));
            kr_semaphore_free(s);
        }
}

static void stress_test(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_semaphore *s = sem_new(5);
    test_latch done;
    test_latch_init(&done);
    for (int i = 0; i < 1000; i++)
        spawn_acquirer(rt, s, 1, &done);
    wait_latch(rt, &done, 1000);
    for (int i = 0; i < 5; i++)
        assert_rc(kr_semaphore_try_acquire(s, 1), 0);
    assert_rc(kr_semaphore_try_acquire(s, 1), KR_EAGAIN);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_semaphore_free(s);
}

static void add_max_amount_permits(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(0);
    assert_rc(kr_semaphore_add_permits(s, MAX), 0);
    assert_int_equal(kr_semaphore_available_permits(s), MAX);
    kr_semaphore_free(s);
}

/* Tokio panics; kairo refuses with KR_EINVAL and adds nothing. */
static void add_more_than_max_amount_permits1(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(1);
    assert_rc(kr_semaphore_add_permits(s, MAX), KR_EINVAL);
    assert_int_equal(kr_semaphore_available_permits(s), 1);
    kr_semaphore_free(s);
}

static void add_more_than_max_amount_permits2(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(MAX - 1);
    assert_rc(kr_semaphore_add_permits(s, 1), 0);
    assert_rc(kr_semaphore_add_permits(s, 1), KR_EINVAL);
    assert_int_equal(kr_semaphore_available_permits(s), MAX);
    kr_semaphore_free(s);
}

static void panic_when_exceeds_maxpermits(void **state) {
    (void)state;
    kr_semaphore *s = (kr_semaphore *)1;
    assert_rc(kr_semaphore_new(MAX + 1, &s), KR_EINVAL);
    assert_rc(kr_semaphore_new(1, NULL), KR_EINVAL);
}

static void no_panic_at_maxpermits(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(MAX);
    kr_semaphore_free(s);
    s = sem_new(MAX - 1);
    assert_rc(kr_semaphore_add_permits(s, 1), 0);
    kr_semaphore_free(s);
}

/* blocking_acquire_*: the acquire future polled on a plain thread. */
static void blocking_acquire_many(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(5);
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 3);
    int rc = 1;
    thread_block_on(&a.base, &rc);
    assert_rc(rc, 0);
    assert_int_equal(kr_semaphore_available_permits(s), 2);
    kr_semaphore_release(s, 3);
    assert_int_equal(kr_semaphore_available_permits(s), 5);
    kr_semaphore_free(s);
}

static void *release_later(void *arg) {
    test_sleep_ms(10);
    kr_semaphore_add_permits(arg, 1);
    return NULL;
}

static void blocking_acquire_waits_for_permit(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, release_later, s), 0);
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 1);
    int rc = 1;
    thread_block_on(&a.base, &rc);
    assert_rc(rc, 0);
    pthread_join(th, NULL);
    kr_semaphore_free(s);
}

static void blocking_acquire_closed(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(1);
    kr_semaphore_close(s);
    for (size_t n = 1; n <= 2; n++) {
        kr_semaphore_acquire a = kr_semaphore_acquire_future(s, n);
        int rc = 1;
        thread_block_on(&a.base, &rc);
        assert_rc(rc, KR_ECLOSED);
    }
    kr_semaphore_free(s);
}

/* ---- sync_semaphore_owned.rs (owned permits are the same counts here) -- */

static void try_acquire_many(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(42);
    assert_rc(kr_semaphore_try_acquire(s, 42), 0);
    assert_rc(kr_semaphore_try_acquire(s, 1), KR_EAGAIN);
    kr_semaphore_release(s, 42);
    assert_rc(kr_semaphore_try_acquire(s, 32), 0);
    assert_rc(kr_semaphore_try_acquire(s, 10), 0);
    assert_rc(kr_semaphore_try_acquire(s, 1), KR_EAGAIN);
    kr_semaphore_free(s);
}

static void acquire_many(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_semaphore *s = sem_new(42);
    test_latch done;
    test_latch_init(&done);
    assert_rc(kr_semaphore_try_acquire(s, 42), 0);
    spawn_acquirer(rt, s, 10, &done);
    assert_rc(kr_semaphore_release(s, 42), 0);
    wait_latch(rt, &done, 1);
    assert_int_equal(kr_semaphore_available_permits(s), 42);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_semaphore_free(s);
}

/* ---- kairo: fairness, drops, close ---------------------------------------- */

/* A large request queued first is served before later small ones, which
 * cannot jump it even when enough permits for them are free. */
static void semaphore_fifo_large_request_not_starved(void **state) {
    (void)state;
    mock_task ta, tb;
    mock_init(&ta);
    mock_init(&tb);
    kr_semaphore *s = sem_new(0);
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 3);
    kr_semaphore_acquire b = kr_semaphore_acquire_future(s, 1);
    int rc = 1;
    assert_int_equal(mock_poll(&ta, &a.base, &rc), KR_PENDING);
    assert_int_equal(mock_poll(&tb, &b.base, &rc), KR_PENDING);
    kr_semaphore_release(s, 1);
    assert_false(mock_woken(&ta));
    assert_false(mock_woken(&tb));
    assert_rc(kr_semaphore_try_acquire(s, 1), KR_EAGAIN); /* no jumping */
    kr_semaphore_release(s, 2);
    assert_true(mock_woken(&ta));
    assert_false(mock_woken(&tb));
    assert_int_equal(mock_poll(&ta, &a.base, &rc), KR_READY);
    assert_rc(rc, 0);
    assert_int_equal(mock_poll(&tb, &b.base, &rc), KR_PENDING);
    kr_semaphore_release(s, 3);
    assert_true(mock_woken(&tb));
    assert_int_equal(mock_poll(&tb, &b.base, &rc), KR_READY);
    assert_rc(rc, 0);
    kr_future_drop(&a.base);
    kr_future_drop(&b.base);
    assert_int_equal(kr_semaphore_available_permits(s), 2);
    assert_int_equal(mock_refs(&ta) + mock_refs(&tb), 0);
    kr_semaphore_free(s);
}

/* Waiters are served in arrival order. */
static void semaphore_fifo_order(void **state) {
    (void)state;
    enum { N = 40 }; /* more than one wake batch */
    mock_task t[N];
    kr_semaphore_acquire a[N];
    kr_semaphore *s = sem_new(0);
    int rc;
    for (int i = 0; i < N; i++) {
        mock_init(&t[i]);
        a[i] = kr_semaphore_acquire_future(s, 1);
        assert_int_equal(mock_poll(&t[i], &a[i].base, &rc), KR_PENDING);
    }
    for (int i = 0; i < N; i++) {
        kr_semaphore_release(s, 1);
        for (int j = 0; j < N; j++)
            assert_int_equal(mock_woken(&t[j]), j == i);
        assert_int_equal(mock_poll(&t[i], &a[i].base, &rc), KR_READY);
        kr_future_drop(&a[i].base);
    }
    /* All at once: one release wakes everyone, across batches. */
    for (int i = 0; i < N; i++) {
        a[i] = kr_semaphore_acquire_future(s, 1);
        assert_int_equal(mock_poll(&t[i], &a[i].base, &rc), KR_PENDING);
    }
    kr_semaphore_release(s, N + 1);
    for (int i = 0; i < N; i++) {
        assert_true(mock_woken(&t[i]));
        assert_int_equal(mock_poll(&t[i], &a[i].base, &rc), KR_READY);
        kr_future_drop(&a[i].base);
        assert_int_equal(mock_refs(&t[i]), 0);
    }
    assert_int_equal(kr_semaphore_available_permits(s), 1);
    kr_semaphore_free(s);
}

/* Dropped while partially assigned: its permits go to the next waiter. */
static void semaphore_drop_partially_assigned_passes_on(void **state) {
    (void)state;
    mock_task ta, tb;
    mock_init(&ta);
    mock_init(&tb);
    kr_semaphore *s = sem_new(2);
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 3);
    kr_semaphore_acquire b = kr_semaphore_acquire_future(s, 2);
    int rc = 1;
    assert_int_equal(mock_poll(&ta, &a.base, &rc), KR_PENDING); /* holds 2 */
    assert_int_equal(mock_poll(&tb, &b.base, &rc), KR_PENDING);
    assert_int_equal(kr_semaphore_available_permits(s), 0);
    kr_future_drop(&a.base);
    assert_int_equal(mock_refs(&ta), 0);
    assert_true(mock_woken(&tb));
    assert_int_equal(mock_poll(&tb, &b.base, &rc), KR_READY);
    assert_rc(rc, 0);
    kr_future_drop(&b.base);
    kr_semaphore_release(s, 2);
    assert_int_equal(kr_semaphore_available_permits(s), 2);
    kr_semaphore_free(s);
}

/* Granted (woken) and dropped before it was polled again: all n permits
 * pass on. */
static void semaphore_drop_granted_unpolled_passes_on(void **state) {
    (void)state;
    mock_task ta, tb;
    mock_init(&ta);
    mock_init(&tb);
    kr_semaphore *s = sem_new(0);
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 2);
    kr_semaphore_acquire b = kr_semaphore_acquire_future(s, 2);
    int rc = 1;
    assert_int_equal(mock_poll(&ta, &a.base, &rc), KR_PENDING);
    assert_int_equal(mock_poll(&tb, &b.base, &rc), KR_PENDING);
    kr_semaphore_release(s, 2);
    assert_true(mock_woken(&ta));
    kr_future_drop(&a.base); /* granted, never consumed */
    assert_true(mock_woken(&tb));
    assert_int_equal(mock_poll(&tb, &b.base, &rc), KR_READY);
    assert_rc(rc, 0);
    kr_future_drop(&b.base);
    assert_int_equal(kr_semaphore_available_permits(s), 0);
    kr_semaphore_release(s, 2);
    assert_int_equal(mock_refs(&ta) + mock_refs(&tb), 0);
    kr_semaphore_free(s);
}

/* Drops at every point of an acquire's life (never polled, queued with 0,
 * queued with some assigned, granted unpolled, completed) with counts at
 * the end: every permit is back. */
static void semaphore_drop_at_every_point_loses_nothing(void **state) {
    (void)state;
    kr_semaphore *s = sem_new(0);
    mock_task t;
    mock_init(&t);
    int rc;
    for (int point = 0; point < 5; point++) {
        kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 4);
        if (point >= 1)
            assert_int_equal(mock_poll(&t, &a.base, &rc), KR_PENDING);
        if (point >= 2)
            kr_semaphore_release(s, 3); /* assigned 3 of 4 */
        if (point >= 3)
            kr_semaphore_release(s, 1); /* granted */
        if (point >= 4) {
            assert_int_equal(mock_poll(&t, &a.base, &rc), KR_READY);
            assert_rc(rc, 0);
        }
        kr_future_drop(&a.base);
        if (point >= 4)
            kr_semaphore_release(s, 4); /* the holder gives them back */
        size_t want = point >= 3 ? 4 : point >= 2 ? 3 : 0;
        assert_int_equal(kr_semaphore_available_permits(s), want);
        assert_int_equal(kr_semaphore_forget_permits(s, want), want);
        assert_int_equal(mock_refs(&t), 0);
    }
    /* Uncontended again: the fast paths work after all that. */
    kr_semaphore_release(s, 1);
    assert_rc(kr_semaphore_try_acquire(s, 1), 0);
    kr_semaphore_free(s);
}

/* Close wakes every waiter with KR_ECLOSED; permits assigned to them come
 * back; every later call says closed. */
static void semaphore_close_wakes_waiters(void **state) {
    (void)state;
    enum { N = 40 };
    mock_task t[N];
    kr_semaphore_acquire a[N];
    kr_semaphore *s = sem_new(1);
    int rc;
    for (int i = 0; i < N; i++) {
        mock_init(&t[i]);
        a[i] = kr_semaphore_acquire_future(s, 2);
        assert_int_equal(mock_poll(&t[i], &a[i].base, &rc), KR_PENDING);
    }
    kr_semaphore_close(s);
    for (int i = 0; i < N; i++) {
        assert_true(mock_woken(&t[i]));
        rc = 1;
        assert_int_equal(mock_poll(&t[i], &a[i].base, &rc), KR_READY);
        assert_rc(rc, KR_ECLOSED);
        kr_future_drop(&a[i].base);
        assert_int_equal(mock_refs(&t[i]), 0);
    }
    /* The one permit the first waiter held came back. */
    assert_int_equal(kr_semaphore_available_permits(s), 1);
    assert_rc(kr_semaphore_try_acquire(s, 1), KR_ECLOSED);
    assert_rc(kr_semaphore_try_acquire(s, 0), KR_ECLOSED);
    kr_semaphore_acquire late = kr_semaphore_acquire_future(s, 1);
    assert_int_equal(mock_poll(&t[0], &late.base, &rc), KR_READY);
    assert_rc(rc, KR_ECLOSED);
    kr_future_drop(&late.base);
    kr_semaphore_close(s); /* idempotent */
    kr_semaphore_free(s);
}

static void semaphore_invalid_arguments(void **state) {
    (void)state;
    assert_rc(kr_semaphore_try_acquire(NULL, 1), KR_EINVAL);
    assert_rc(kr_semaphore_release(NULL, 1), KR_EINVAL);
    kr_semaphore *s = sem_new(1);
    assert_rc(kr_semaphore_try_acquire(s, MAX + 1), KR_EINVAL);
    mock_task t;
    mock_init(&t);
    int rc = 1;
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, MAX + 1);
    assert_int_equal(mock_poll(&t, &a.base, &rc), KR_READY);
    assert_rc(rc, KR_EINVAL);
    kr_future_drop(&a.base);
    a = kr_semaphore_acquire_future(s, 0);
    assert_int_equal(mock_poll(&t, &a.base, &rc), KR_READY);
    assert_rc(rc, 0);
    kr_future_drop(&a.base);
    kr_semaphore_free(s);
}

/* ---- the hammer ------------------------------------------------------------ */

#define PERMITS 8
#define THREADS 8

typedef struct hammer {
    kr_semaphore *s;
    atomic_long out;  /* permits held right now */
    atomic_long over; /* times `out` exceeded PERMITS */
    atomic_long acquired;
    atomic_long bad_rc;
    long iters;
} hammer;

static size_t pick(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) % PERMITS + 1;
}

static void hold(hammer *h, size_t n) {
    long now = atomic_fetch_add(&h->out, (long)n) + (long)n;
    if (now > PERMITS)
        atomic_fetch_add(&h->over, 1);
    /* Sometimes hold across a yield, so holders overlap with waiters. */
    if (atomic_fetch_add(&h->acquired, 1) % 64 == 0)
        sched_yield();
    atomic_fetch_sub(&h->out, (long)n);
    kr_semaphore_release(h->s, n);
}

typedef struct ham_task {
    kr_future base;
    kr_coro co;
    hammer *h;
    test_latch *done;
    unsigned seed;
    long i;
    size_t n;
    int rc;
    kr_semaphore_acquire acq;
    kr_yield y;
} ham_task;

static kr_poll ham_poll(kr_future *f, kr_context *cx, void *out) {
    ham_task *t = (ham_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->h->iters; t->i++) {
        t->n = pick(&t->seed);
        t->acq = kr_semaphore_acquire_future(t->h->s, t->n);
        KR_AWAIT(&t->co, &t->acq.base, cx, &t->rc);
        if (t->rc != 0) {
            atomic_fetch_add(&t->h->bad_rc, 1);
            continue;
        }
        hold(t->h, t->n);
        if (t->i % 7 == 0) {
            t->y = kr_yield_now();
            KR_AWAIT(&t->co, &t->y.base, cx, NULL);
        }
    }
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void ham_drop(kr_future *f) { kr_coro_drop(&((ham_task *)f)->co); }
KR_FUTURE_VTABLE(ham_vt, ham_task, ham_poll, ham_drop, 0);

static void *ham_thread(void *arg) {
    hammer *h = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    for (long i = 0; i < h->iters; i++) {
        size_t n = pick(&seed);
        if (i % 3 == 0 && kr_semaphore_try_acquire(h->s, n) == 0) {
            hold(h, n);
            continue;
        }
        kr_semaphore_acquire a = kr_semaphore_acquire_future(h->s, n);
        int rc = 1;
        thread_block_on(&a.base, &rc);
        if (rc != 0) {
            atomic_fetch_add(&h->bad_rc, 1);
            continue;
        }
        hold(h, n);
    }
    return NULL;
}

static void semaphore_hammer_random_sizes_never_over_granted(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    hammer h = {.s = sem_new(PERMITS), .iters = test_scale(20000)};
    test_latch done;
    test_latch_init(&done);
    enum { TASKS = 16 };
    for (unsigned i = 0; i < TASKS; i++) {
        ham_task t = {.base = {&ham_vt},
                      .co = KR_CORO_INIT,
                      .h = &h,
                      .done = &done,
                      .seed = 7919u * (i + 1)};
        assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, ham_thread, &h), 0);
    wait_latch(rt, &done, TASKS);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.over), 0);
    assert_int_equal(atomic_load(&h.bad_rc), 0);
    assert_int_equal(atomic_load(&h.out), 0);
    assert_int_equal(atomic_load(&h.acquired), (TASKS + THREADS) * h.iters);
    assert_int_equal(kr_semaphore_available_permits(h.s), PERMITS);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_semaphore_free(h.s);
}

/* ---- coop budget ---------------------------------------------------------- */

/* A task awaiting 1000 always-ready acquires is made to yield by its
 * budget (Tokio's Acquire spends it), so it takes at least 1000 / 128
 * polls. */
typedef struct greedy {
    kr_future base;
    kr_coro co;
    kr_semaphore *s;
    long *polls;
    test_latch *done;
    int i, rc;
    kr_semaphore_acquire a;
} greedy;

static kr_poll greedy_poll(kr_future *f, kr_context *cx, void *out) {
    greedy *g = (greedy *)f;
    (*g->polls)++;
    KR_ASYNC_BEGIN(&g->co);
    for (g->i = 0; g->i < 1000; g->i++) {
        g->a = kr_semaphore_acquire_future(g->s, 1);
        KR_AWAIT(&g->co, &g->a.base, cx, &g->rc);
        kr_semaphore_release(g->s, 1);
    }
    test_latch_add(g->done, 1);
    KR_ASYNC_END(&g->co);
}
static void greedy_drop(kr_future *f) { kr_coro_drop(&((greedy *)f)->co); }
KR_FUTURE_VTABLE(greedy_vt, greedy, greedy_poll, greedy_drop, 0);

static void semaphore_acquire_spends_coop_budget(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(1);
    kr_semaphore *s = sem_new(1);
    test_latch done;
    test_latch_init(&done);
    long polls = 0;
    greedy g = {.base = {&greedy_vt},
                .co = KR_CORO_INIT,
                .s = s,
                .polls = &polls,
                .done = &done};
    assert_rc(kr_runtime_spawn(rt, &g.base, NULL), 0);
    wait_latch(rt, &done, 1);
    assert_true(polls >= (1000 + 127) / 128);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_semaphore_free(s);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_permits),
        cmocka_unit_test(try_acquire),
        cmocka_unit_test(acquire),
        cmocka_unit_test(add_permits),
        cmocka_unit_test(add_permits_open),
        cmocka_unit_test(add_permits_closed),
        cmocka_unit_test(forget_open),
        cmocka_unit_test(forget_closed),
        cmocka_unit_test(stress_test),
        cmocka_unit_test(add_max_amount_permits),
        cmocka_unit_test(add_more_than_max_amount_permits1),
        cmocka_unit_test(add_more_than_max_amount_permits2),
        cmocka_unit_test(panic_when_exceeds_maxpermits),
        cmocka_unit_test(no_panic_at_maxpermits),
        cmocka_unit_test(blocking_acquire_many),
        cmocka_unit_test(blocking_acquire_waits_for_permit),
        cmocka_unit_test(blocking_acquire_closed),
        cmocka_unit_test(try_acquire_many),
        cmocka_unit_test(acquire_many),
        cmocka_unit_test(semaphore_fifo_large_request_not_starved),
        cmocka_unit_test(semaphore_fifo_order),
        cmocka_unit_test(semaphore_drop_partially_assigned_passes_on),
        cmocka_unit_test(semaphore_drop_granted_unpolled_passes_on),
        cmocka_unit_test(semaphore_drop_at_every_point_loses_nothing),
        cmocka_unit_test(semaphore_close_wakes_waiters),
        cmocka_unit_test(semaphore_invalid_arguments),
        cmocka_unit_test(semaphore_hammer_random_sizes_never_over_granted),
        cmocka_unit_test(semaphore_acquire_spends_coop_budget),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
