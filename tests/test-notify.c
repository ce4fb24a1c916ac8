/*
 * Notify: Tokio's tests/sync_notify.rs ported (same names), then kairo's
 * own: the single stored permit, notify_waiters over more than one wake
 * batch, drops at every point with the notifications counted, and a hammer
 * from 8 plain threads and every worker. KR_TEST_FLAVORS: ct mt
 *
 * Where the port differs: Tokio's tests make the Notified inside an async
 * block, so it comes into existence at the first poll; here the future is
 * made where the Rust test calls spawn (the same for notify_one; the one
 * test where it matters for notify_waiters makes it at the same point as
 * Tokio's). tokio-test's spawn(..).poll() is mock_poll (tests/mock.h).
 */
#include "mock.h"
#include "test.h"

typedef struct fx {
    kr_notify *n;
    mock_task t[4];
    kr_notified f[4];
} fx;

static void fx_init(fx *x, int count) {
    assert_rc(kr_notify_new(&x->n), 0);
    for (int i = 0; i < count; i++) {
        mock_init(&x->t[i]);
        x->f[i] = kr_notify_notified(x->n);
    }
}

static kr_poll fx_poll(fx *x, int i) {
    return mock_poll(&x->t[i], &x->f[i].base, NULL);
}

/* Drops futures [0, count) (the caller dropped the ones it says) and frees,
 * checking no waker was left behind. */
static void fx_end(fx *x, int count, unsigned dropped_mask) {
    for (int i = 0; i < count; i++) {
        if (!(dropped_mask & (1u << i)))
            kr_future_drop(&x->f[i].base);
        assert_int_equal(mock_refs(&x->t[i]), 0);
    }
    kr_notify_free(x->n);
}

#define P KR_PENDING
#define R KR_READY

static void notify_notified_one(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    kr_notify_one(x.n);
    assert_int_equal(fx_poll(&x, 0), R);
    fx_end(&x, 1, 0);
}

static void notify_multi_notified_one(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_int_equal(fx_poll(&x, 1), P);
    kr_notify_one(x.n);
    assert_int_equal(fx_poll(&x, 0), R);
    assert_int_equal(fx_poll(&x, 1), P);
    fx_end(&x, 2, 0);
}

static void notify_multi_notified_last(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_int_equal(fx_poll(&x, 1), P);
    kr_notify_last(x.n);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_int_equal(fx_poll(&x, 1), R);
    fx_end(&x, 2, 0);
}

static void notified_one_notify(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    assert_int_equal(fx_poll(&x, 0), P);
    kr_notify_one(x.n);
    assert_true(mock_woken(&x.t[0]));
    assert_int_equal(fx_poll(&x, 0), R);
    fx_end(&x, 1, 0);
}

static void notified_multi_notify(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_int_equal(fx_poll(&x, 1), P);
    kr_notify_one(x.n);
    assert_true(mock_woken(&x.t[0]));
    assert_false(mock_woken(&x.t[1]));
    assert_int_equal(fx_poll(&x, 0), R);
    assert_int_equal(fx_poll(&x, 1), P);
    fx_end(&x, 2, 0);
}

static void notify_notified_multi(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    kr_notify_one(x.n);
    assert_int_equal(fx_poll(&x, 0), R);
    assert_int_equal(fx_poll(&x, 1), P);
    kr_notify_one(x.n);
    assert_true(mock_woken(&x.t[1]));
    assert_int_equal(fx_poll(&x, 1), R);
    fx_end(&x, 2, 0);
}

static void notified_drop_notified_notify(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    assert_int_equal(fx_poll(&x, 0), P);
    kr_future_drop(&x.f[0].base);
    assert_int_equal(fx_poll(&x, 1), P);
    kr_notify_one(x.n);
    assert_true(mock_woken(&x.t[1]));
    assert_int_equal(fx_poll(&x, 1), R);
    fx_end(&x, 2, 1u);
}

static void notified_multi_notify_drop_one(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_int_equal(fx_poll(&x, 1), P);
    kr_notify_one(x.n);
    assert_true(mock_woken(&x.t[0]));
    assert_false(mock_woken(&x.t[1]));
    kr_future_drop(&x.f[0].base);
    assert_true(mock_woken(&x.t[1]));
    assert_int_equal(fx_poll(&x, 1), R);
    fx_end(&x, 2, 1u);
}

static void notified_multi_notify_one_drop(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 3);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_int_equal(fx_poll(&x, 1), P);
    assert_int_equal(fx_poll(&x, 2), P);
    kr_notify_one(x.n);
    kr_future_drop(&x.f[0].base);
    assert_int_equal(fx_poll(&x, 1), R);
    assert_int_equal(fx_poll(&x, 2), P);
    fx_end(&x, 3, 1u);
}

static void notified_multi_notify_last_drop(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 3);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_int_equal(fx_poll(&x, 1), P);
    assert_int_equal(fx_poll(&x, 2), P);
    kr_notify_last(x.n);
    kr_future_drop(&x.f[2].base);
    assert_int_equal(fx_poll(&x, 1), R);
    assert_int_equal(fx_poll(&x, 0), P);
    fx_end(&x, 3, 4u);
}

/* A waker whose drop calls notify_waiters: waking it must not happen
 * under the notify's lock. */
static kr_notify *drop_target;
static void nod_nop(const void *d) { (void)d; }
static void nod_drop(const void *d) {
    (void)d;
    kr_notify_waiters(drop_target);
}
static void nod_wake(const void *d) { nod_drop(d); }
static kr_waker nod_clone(const void *d);
static const kr_waker_vtable nod_vt = {nod_clone, nod_wake, nod_nop, nod_drop};
static kr_waker nod_clone(const void *d) {
    kr_waker w = {d, &nod_vt};
    return w;
}

static void notify_in_drop_after_wake(void **state) {
    (void)state;
    assert_rc(kr_notify_new(&drop_target), 0);
    kr_notified f = kr_notify_notified(drop_target);
    kr_waker w = {NULL, &nod_vt};
    kr_context cx = kr_context_from_waker(&w);
    assert_int_equal(kr_future_poll(&f.base, &cx, NULL), P);
    kr_notify_waiters(drop_target); /* must not deadlock */
    kr_future_drop(&f.base);
    kr_notify_free(drop_target);
}

static void notify_one_after_dropped_all(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    assert_int_equal(fx_poll(&x, 0), P);
    kr_notify_waiters(x.n);
    kr_notify_one(x.n);
    kr_future_drop(&x.f[0].base);
    mock_init(&x.t[1]);
    x.f[1] = kr_notify_notified(x.n);
    assert_int_equal(fx_poll(&x, 1), R);
    fx_end(&x, 2, 1u);
}

static void test_notify_one_not_enabled(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    kr_notify_one(x.n);
    assert_int_equal(fx_poll(&x, 0), R);
    fx_end(&x, 1, 0);
}

static void test_notify_one_after_enable(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    assert_false(kr_notified_enable(&x.f[0]));
    kr_notify_one(x.n);
    assert_int_equal(fx_poll(&x, 0), R);
    assert_true(kr_notified_enable(&x.f[0]));
    fx_end(&x, 1, 0);
}

static void test_poll_after_enable(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    assert_false(kr_notified_enable(&x.f[0]));
    assert_int_equal(fx_poll(&x, 0), P);
    fx_end(&x, 1, 0);
}

static void test_enable_after_poll(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    assert_int_equal(fx_poll(&x, 0), P);
    assert_false(kr_notified_enable(&x.f[0]));
    fx_end(&x, 1, 0);
}

static void test_enable_consumes_permit(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    kr_notify_one(x.n);
    assert_true(kr_notified_enable(&x.f[0]));
    assert_false(kr_notified_enable(&x.f[1]));
    fx_end(&x, 2, 0);
}

/* Tokio's pattern "enable, check the condition, await": when enable
 * already finds the notification (a stored permit, or a notify_waiters
 * since the future was made), the await that follows completes at once.
 * kairo aborted there ("polled after it returned READY"): the hammer hit
 * it under TSan when enable took a permit another task's item had left. */
static void poll_after_enable_took_the_permit(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    kr_notify_one(x.n);
    assert_true(kr_notified_enable(&x.f[0]));
    assert_int_equal(fx_poll(&x, 0), R);
    fx_end(&x, 1, 0);
}

static void poll_after_enable_saw_notify_waiters(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    kr_notify_waiters(x.n);
    assert_true(kr_notified_enable(&x.f[0]));
    assert_true(kr_notified_enable(&x.f[0])); /* and stays so */
    assert_int_equal(fx_poll(&x, 0), R);
    fx_end(&x, 1, 0);
}

static void test_waker_update(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    assert_int_equal(kr_future_poll(&x.f[0].base, &cx, NULL), P);
    assert_int_equal(fx_poll(&x, 0), P);
    kr_notify_one(x.n);
    assert_true(mock_woken(&x.t[0]));
    fx_end(&x, 1, 0);
}

static void
unpolled_future_completed_by_notify_waiters_preserves_notify_one_permit(
    void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    kr_notify_waiters(x.n);
    kr_notify_one(x.n);
    assert_int_equal(fx_poll(&x, 0), R); /* by notify_waiters */
    mock_init(&x.t[1]);
    x.f[1] = kr_notify_notified(x.n);
    assert_int_equal(fx_poll(&x, 1), R); /* by the permit */
    mock_init(&x.t[2]);
    x.f[2] = kr_notify_notified(x.n);
    assert_int_equal(fx_poll(&x, 2), P);
    fx_end(&x, 3, 0);
}

/* ---- kairo ------------------------------------------------------------- */

static void notify_one_stores_at_most_one_permit(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 2);
    kr_notify_one(x.n);
    kr_notify_one(x.n);
    kr_notify_one(x.n);
    assert_int_equal(fx_poll(&x, 0), R);
    assert_int_equal(fx_poll(&x, 1), P);
    fx_end(&x, 2, 0);
}

/*
 * A notify_one that finds the permit already stored still publishes what
 * its caller wrote before it: the future that then takes the permit sees
 * it (Tokio: the CAS from NOTIFIED to NOTIFIED). With a load alone, the
 * take synchronised only with the notify that stored the permit, and a
 * consumer that checks a flag after the take could miss one set just
 * before the second notify (store buffering) and sleep with it set: a lost
 * wakeup. The data is a plain int so that TSan sees the missing edge; the
 * thread says it is done through a relaxed store, which orders nothing.
 */
static int np_data;
static _Atomic int np_done;

static void *np_notifier(void *arg) {
    np_data = 42;
    kr_notify_one(arg); /* the permit is already stored */
    atomic_store_explicit(&np_done, 1, memory_order_relaxed);
    return NULL;
}

static void notify_one_with_permit_stored_publishes_its_writes(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 1);
    np_data = 0;
    atomic_store(&np_done, 0);
    kr_notify_one(x.n); /* stores the permit */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, np_notifier, x.n), 0);
    while (!atomic_load_explicit(&np_done, memory_order_relaxed))
        sched_yield();
    assert_int_equal(fx_poll(&x, 0), R); /* takes the one permit */
    assert_int_equal(np_data, 42);
    assert_int_equal(pthread_join(th, NULL), 0);
    fx_end(&x, 1, 0);
}

static void notify_waiters_wakes_all_and_stores_nothing(void **state) {
    (void)state;
    enum { N = 70 }; /* over two wake batches */
    kr_notify *n;
    assert_rc(kr_notify_new(&n), 0);
    mock_task t[N];
    kr_notified f[N];
    for (int i = 0; i < N; i++) {
        mock_init(&t[i]);
        f[i] = kr_notify_notified(n);
        assert_int_equal(mock_poll(&t[i], &f[i].base, NULL), P);
    }
    kr_notify_waiters(n);
    for (int i = 0; i < N; i++) {
        assert_true(mock_woken(&t[i]));
        assert_int_equal(mock_poll(&t[i], &f[i].base, NULL), R);
        kr_future_drop(&f[i].base);
        assert_int_equal(mock_refs(&t[i]), 0);
    }
    /* Nothing stored; a future made after the call does not count it. */
    kr_notified late = kr_notify_notified(n);
    assert_int_equal(mock_poll(&t[0], &late.base, NULL), P);
    kr_notify_waiters(n);
    assert_int_equal(mock_poll(&t[0], &late.base, NULL), R);
    kr_future_drop(&late.base);
    kr_notify_free(n);
}

/* notify_waiters also completes futures made before it and never polled,
 * and one dropped after it was woken by it loses nothing (no permit). */
static void notify_waiters_counts_unpolled_and_dropped(void **state) {
    (void)state;
    fx x;
    fx_init(&x, 3);
    assert_int_equal(fx_poll(&x, 1), P);
    kr_notify_waiters(x.n);
    kr_future_drop(&x.f[1].base);        /* woken by notify_waiters, dropped */
    assert_int_equal(fx_poll(&x, 0), R); /* made before, never polled */
    assert_int_equal(fx_poll(&x, 2), R);
    mock_init(&x.t[3]);
    x.f[3] = kr_notify_notified(x.n);
    assert_int_equal(fx_poll(&x, 3), P); /* nothing was stored */
    fx_end(&x, 4, 2u);
}

/* K notify_one calls, with waiters dropped at every point in between:
 * exactly min(K, ...) completions, never a lost one. */
static void notify_drop_at_every_point_loses_nothing(void **state) {
    (void)state;
    for (int point = 0; point < 4; point++) {
        fx x;
        fx_init(&x, 3);
        if (point >= 1)
            assert_int_equal(fx_poll(&x, 0), P);
        if (point >= 2)
            assert_int_equal(fx_poll(&x, 1), P);
        if (point >= 3)
            kr_notify_one(x.n); /* picks f0 */
        kr_future_drop(&x.f[0].base);
        if (point < 3)
            kr_notify_one(x.n);
        /* The one notification reaches f1 (queued) or the permit. */
        assert_int_equal(fx_poll(&x, 1), R);
        assert_int_equal(fx_poll(&x, 2), P);
        fx_end(&x, 3, 1u);
    }
}

/* ---- the hammer --------------------------------------------------------- */

#define THREADS 8
#define TASKS   8

typedef struct nham {
    kr_notify *n;
    atomic_long avail;    /* items produced, not yet consumed */
    atomic_long consumed; /* in total */
    long target;
    long per_thread;
} nham;

static bool take_one(nham *h) {
    long a = atomic_load(&h->avail);
    while (a > 0)
        if (atomic_compare_exchange_weak(&h->avail, &a, a - 1)) {
            if (atomic_fetch_add(&h->consumed, 1) + 1 == h->target)
                kr_notify_waiters(h->n); /* release the others */
            return true;
        }
    return false;
}

typedef struct nham_task {
    kr_future base;
    kr_coro co;
    nham *h;
    test_latch *done;
    long i;
    kr_notified f;
} nham_task;

static kr_poll nham_poll(kr_future *fut, kr_context *cx, void *out) {
    nham_task *t = (nham_task *)fut;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0;; t->i++) {
        /* Made (and enabled) before the check, so neither a notify_one nor
         * the final notify_waiters can slip between check and wait. */
        t->f = kr_notify_notified(t->h->n);
        kr_notified_enable(&t->f);
        if (atomic_load(&t->h->consumed) >= t->h->target) {
            kr_future_drop(&t->f.base);
            break;
        }
        if (take_one(t->h)) {
            /* Dropped while possibly picked: the pick must pass on. */
            kr_future_drop(&t->f.base);
            continue;
        }
        KR_AWAIT(&t->co, &t->f.base, cx, NULL);
    }
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void nham_drop(kr_future *f) { kr_coro_drop(&((nham_task *)f)->co); }
KR_FUTURE_VTABLE(nham_vt, nham_task, nham_poll, nham_drop, 0);

static void *nham_thread(void *arg) {
    nham *h = arg;
    for (long i = 0; i < h->per_thread; i++) {
        atomic_fetch_add(&h->avail, 1);
        if (i % 16 == 0)
            kr_notify_last(h->n);
        else
            kr_notify_one(h->n);
    }
    return NULL;
}

static void notify_hammer_no_lost_wakeup(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    nham h = {.per_thread = test_scale(50000)};
    h.target = h.per_thread * THREADS;
    assert_rc(kr_notify_new(&h.n), 0);
    test_latch done;
    test_latch_init(&done);
    for (int i = 0; i < TASKS; i++) {
        nham_task t = {
            .base = {&nham_vt}, .co = KR_CORO_INIT, .h = &h, .done = &done};
        assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, nham_thread, &h), 0);
    test_latch_wait w = test_latch_wait_for(&done, TASKS);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.consumed), h.target);
    assert_int_equal(atomic_load(&h.avail), 0);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_notify_free(h.n);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(notify_notified_one),
        cmocka_unit_test(notify_multi_notified_one),
        cmocka_unit_test(notify_multi_notified_last),
        cmocka_unit_test(notified_one_notify),
        cmocka_unit_test(notified_multi_notify),
        cmocka_unit_test(notify_notified_multi),
        cmocka_unit_test(notified_drop_notified_notify),
        cmocka_unit_test(notified_multi_notify_drop_one),
        cmocka_unit_test(notified_multi_notify_one_drop),
        cmocka_unit_test(notified_multi_notify_last_drop),
        cmocka_unit_test(notify_in_drop_after_wake),
        cmocka_unit_test(notify_one_after_dropped_all),
        cmocka_unit_test(test_notify_one_not_enabled),
        cmocka_unit_test(test_notify_one_after_enable),
        cmocka_unit_test(test_poll_after_enable),
        cmocka_unit_test(test_enable_after_poll),
        cmocka_unit_test(test_enable_consumes_permit),
        cmocka_unit_test(poll_after_enable_took_the_permit),
        cmocka_unit_test(poll_after_enable_saw_notify_waiters),
        cmocka_unit_test(test_waker_update),
        cmocka_unit_test(
            unpolled_future_completed_by_notify_waiters_preserves_notify_one_permit),
        cmocka_unit_test(notify_one_stores_at_most_one_permit),
        cmocka_unit_test(notify_one_with_permit_stored_publishes_its_writes),
        cmocka_unit_test(notify_waiters_wakes_all_and_stores_nothing),
        cmocka_unit_test(notify_waiters_counts_unpolled_and_dropped),
        cmocka_unit_test(notify_drop_at_every_point_loses_nothing),
        cmocka_unit_test(notify_hammer_no_lost_wakeup),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
