/*
 * Cancellation tokens: tokio-util's tests/sync_cancellation_token.rs
 * ported (same names), then kairo's own: a dropped waiter loses nothing,
 * cancellation across more than one wake batch, and a hammer of child
 * creation and drops from 8 plain threads racing a cancel, with waiting
 * tasks on every worker. KR_TEST_FLAVORS: ct mt sim
 *
 * Where the port differs: cancelled_owned has no C counterpart (the
 * future borrows a reference; take a clone to "own" one), so the _owned
 * tests use a clone; run_until_cancelled and the hash tests are left out
 * (no combinator here; equality is kr_cancel_token_same).
 */
#include "mock.h"
#include "test.h"

static kr_cancel_token *tok(void) {
    kr_cancel_token *t = NULL;
    assert_rc(kr_cancel_token_new(&t), 0);
    return t;
}
static kr_cancel_token *child(kr_cancel_token *p) {
    kr_cancel_token *t = NULL;
    assert_rc(kr_cancel_token_child(p, &t), 0);
    return t;
}

#define P KR_PENDING
#define R KR_READY

static void cancel_token(void **state) {
    (void)state;
    mock_task w;
    mock_init(&w);
    kr_cancel_token *t = tok();
    assert_false(kr_cancel_token_is_cancelled(t));
    kr_cancelled f1 = kr_cancel_token_cancelled(t);
    assert_int_equal(mock_poll(&w, &f1.base, NULL), P);
    assert_int_equal(atomic_load(&w.wakes), 0);
    kr_cancelled f2 = kr_cancel_token_cancelled(t);
    kr_cancel_token_cancel(t);
    assert_int_equal(atomic_load(&w.wakes), 1);
    assert_true(kr_cancel_token_is_cancelled(t));
    assert_int_equal(mock_poll(&w, &f1.base, NULL), R);
    assert_int_equal(mock_poll(&w, &f2.base, NULL), R);
    kr_future_drop(&f1.base);
    kr_future_drop(&f2.base);
    kr_cancel_token_drop(t);
    assert_int_equal(mock_refs(&w), 0);
}

static void cancel_token_owned(void **state) {
    (void)state;
    mock_task w;
    mock_init(&w);
    kr_cancel_token *t = tok();
    kr_cancel_token *own = kr_cancel_token_clone(t);
    assert_true(kr_cancel_token_same(t, own));
    kr_cancelled f1 = kr_cancel_token_cancelled(own);
    assert_int_equal(mock_poll(&w, &f1.base, NULL), P);
    kr_cancel_token_cancel(t);
    assert_int_equal(atomic_load(&w.wakes), 1);
    assert_int_equal(mock_poll(&w, &f1.base, NULL), R);
    kr_future_drop(&f1.base);
    kr_cancel_token_drop(own);
    assert_true(kr_cancel_token_is_cancelled(t));
    kr_cancel_token_drop(t);
    assert_int_equal(mock_refs(&w), 0);
}

static void cancel_token_owned_drop_test(void **state) {
    (void)state;
    mock_task w;
    mock_init(&w);
    kr_cancel_token *t = tok();
    kr_cancelled f = kr_cancel_token_cancelled(t);
    assert_int_equal(mock_poll(&w, &f.base, NULL), P);
    kr_future_drop(&f.base); /* dropped while pending */
    assert_int_equal(mock_refs(&w), 0);
    kr_cancel_token_drop(t);
}

static void cancel_child_token_through_parent(void **state) {
    (void)state;
    mock_task w;
    mock_init(&w);
    kr_cancel_token *t = tok(), *c = child(t);
    assert_false(kr_cancel_token_is_cancelled(c));
    kr_cancelled cf = kr_cancel_token_cancelled(c);
    kr_cancelled pf = kr_cancel_token_cancelled(t);
    assert_int_equal(mock_poll(&w, &cf.base, NULL), P);
    assert_int_equal(mock_poll(&w, &pf.base, NULL), P);
    kr_cancel_token_cancel(t);
    assert_int_equal(atomic_load(&w.wakes), 2);
    assert_true(kr_cancel_token_is_cancelled(c));
    assert_int_equal(mock_poll(&w, &cf.base, NULL), R);
    assert_int_equal(mock_poll(&w, &pf.base, NULL), R);
    kr_future_drop(&cf.base);
    kr_future_drop(&pf.base);
    kr_cancel_token_drop(c);
    kr_cancel_token_drop(t);
}

static void
cancel_grandchild_token_through_parent_if_child_was_dropped(void **state) {
    (void)state;
    mock_task w;
    mock_init(&w);
    kr_cancel_token *t = tok(), *mid = child(t), *c = child(mid);
    kr_cancel_token_drop(mid);
    assert_false(kr_cancel_token_is_cancelled(c));
    kr_cancelled cf = kr_cancel_token_cancelled(c);
    kr_cancelled pf = kr_cancel_token_cancelled(t);
    assert_int_equal(mock_poll(&w, &cf.base, NULL), P);
    assert_int_equal(mock_poll(&w, &pf.base, NULL), P);
    kr_cancel_token_cancel(t);
    assert_int_equal(atomic_load(&w.wakes), 2);
    assert_true(kr_cancel_token_is_cancelled(c));
    assert_int_equal(mock_poll(&w, &cf.base, NULL), R);
    assert_int_equal(mock_poll(&w, &pf.base, NULL), R);
    kr_future_drop(&cf.base);
    kr_future_drop(&pf.base);
    kr_cancel_token_drop(c);
    kr_cancel_token_drop(t);
}

static void cancel_child_token_without_parent(void **state) {
    (void)state;
    mock_task w;
    mock_init(&w);
    kr_cancel_token *t = tok(), *c1 = child(t);
    kr_cancelled cf = kr_cancel_token_cancelled(c1);
    kr_cancelled pf = kr_cancel_token_cancelled(t);
    assert_int_equal(mock_poll(&w, &cf.base, NULL), P);
    assert_int_equal(mock_poll(&w, &pf.base, NULL), P);
    kr_cancel_token_cancel(c1);
    assert_int_equal(atomic_load(&w.wakes), 1);
    assert_false(kr_cancel_token_is_cancelled(t));
    assert_true(kr_cancel_token_is_cancelled(c1));
    assert_int_equal(mock_poll(&w, &cf.base, NULL), R);
    kr_cancel_token *c2 = child(t);
    kr_cancelled cf2 = kr_cancel_token_cancelled(c2);
    assert_int_equal(mock_poll(&w, &cf2.base, NULL), P);
    kr_cancel_token_cancel(t);
    assert_int_equal(atomic_load(&w.wakes), 3);
    assert_true(kr_cancel_token_is_cancelled(c2));
    assert_int_equal(mock_poll(&w, &pf.base, NULL), R);
    assert_int_equal(mock_poll(&w, &cf2.base, NULL), R);
    kr_future_drop(&cf.base);
    kr_future_drop(&pf.base);
    kr_future_drop(&cf2.base);
    kr_cancel_token_drop(c1);
    kr_cancel_token_drop(c2);
    kr_cancel_token_drop(t);
    assert_int_equal(mock_refs(&w), 0);
}

static void create_child_token_after_parent_was_cancelled(void **state) {
    (void)state;
    for (int drop_child_first = 0; drop_child_first < 2; drop_child_first++) {
        mock_task w;
        mock_init(&w);
        kr_cancel_token *t = tok();
        kr_cancel_token_cancel(t);
        kr_cancel_token *c = child(t);
        assert_true(kr_cancel_token_is_cancelled(c));
        kr_cancelled cf = kr_cancel_token_cancelled(c);
        kr_cancelled pf = kr_cancel_token_cancelled(t);
        assert_int_equal(mock_poll(&w, &cf.base, NULL), R);
        assert_int_equal(mock_poll(&w, &pf.base, NULL), R);
        assert_int_equal(atomic_load(&w.wakes), 0);
        kr_future_drop(&cf.base);
        kr_future_drop(&pf.base);
        if (drop_child_first) {
            kr_cancel_token_drop(c);
            kr_cancel_token_drop(t);
        } else {
            kr_cancel_token_drop(t);
            kr_cancel_token_drop(c);
        }
    }
}

static void drop_multiple_child_tokens(void **state) {
    (void)state;
    for (int first = 0; first < 2; first++) {
        kr_cancel_token *t = tok(), *c[3];
        for (int i = 0; i < 3; i++)
            c[i] = child(t);
        assert_false(kr_cancel_token_is_cancelled(c[0]));
        for (int i = 0; i < 3; i++) {
            kr_cancel_token_drop(c[first ? i : 2 - i]);
            assert_false(kr_cancel_token_is_cancelled(t));
        }
        kr_cancel_token_drop(t);
    }
}

static void cancel_only_all_descendants(void **state) {
    (void)state;
    mock_task w;
    mock_init(&w);
    kr_cancel_token *parent = tok();
    kr_cancel_token *t = child(parent), *sib = child(parent);
    kr_cancel_token *c1 = child(t), *c2 = child(t);
    kr_cancel_token *g1 = child(c1), *g2 = child(c1);
    kr_cancel_token *gg = child(g1);
    kr_cancel_token *all[8] = {parent, t, sib, c1, c2, g1, g2, gg};
    bool want[8] = {false, true, false, true, true, true, true, true};
    kr_cancelled f[8];
    for (int i = 0; i < 8; i++) {
        assert_false(kr_cancel_token_is_cancelled(all[i]));
        f[i] = kr_cancel_token_cancelled(all[i]);
        assert_int_equal(mock_poll(&w, &f[i].base, NULL), P);
    }
    kr_cancel_token_cancel(t);
    assert_int_equal(atomic_load(&w.wakes), 6);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(kr_cancel_token_is_cancelled(all[i]), want[i]);
        assert_int_equal(mock_poll(&w, &f[i].base, NULL), want[i] ? R : P);
    }
    assert_int_equal(atomic_load(&w.wakes), 6);
    for (int i = 0; i < 8; i++) {
        kr_future_drop(&f[i].base);
        kr_cancel_token_drop(all[i]);
    }
    assert_int_equal(mock_refs(&w), 0);
}

static void drop_parent_before_child_tokens(void **state) {
    (void)state;
    kr_cancel_token *t = tok(), *c1 = child(t), *c2 = child(t);
    kr_cancel_token_drop(t);
    assert_false(kr_cancel_token_is_cancelled(c1));
    kr_cancel_token_drop(c1);
    kr_cancel_token_drop(c2);
}

static void child_cancellation_tokens_are_not_considered_equal(void **state) {
    (void)state;
    kr_cancel_token *t = tok(), *c = child(t), *o = tok();
    assert_false(kr_cancel_token_same(t, c));
    assert_false(kr_cancel_token_same(t, o));
    kr_cancel_token_drop(c);
    kr_cancel_token_drop(t);
    kr_cancel_token_drop(o);
}

/* ---- kairo ------------------------------------------------------------- */

/* 70 waiters over a tree, some dropped before and after the cancel. */
static void
cancel_wakes_all_across_batches_and_drops_lose_nothing(void **state) {
    (void)state;
    enum { N = 70 };
    kr_cancel_token *root = tok(), *kid = child(root);
    mock_task w[N];
    kr_cancelled f[N];
    for (int i = 0; i < N; i++) {
        mock_init(&w[i]);
        f[i] = kr_cancel_token_cancelled(i % 2 ? kid : root);
        assert_int_equal(mock_poll(&w[i], &f[i].base, NULL), P);
    }
    for (int i = 0; i < N; i += 7)
        kr_future_drop(&f[i].base); /* before */
    kr_cancel_token_cancel(root);
    for (int i = 0; i < N; i++) {
        if (i % 7 == 0)
            continue;
        assert_true(mock_woken(&w[i]));
        if (i % 5 == 0) {
            kr_future_drop(&f[i].base); /* woken, never polled */
            continue;
        }
        assert_int_equal(mock_poll(&w[i], &f[i].base, NULL), R);
        kr_future_drop(&f[i].base);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(mock_refs(&w[i]), 0);
    /* A future made later sees the state at once. */
    kr_cancelled late = kr_cancel_token_cancelled(kid);
    assert_int_equal(mock_poll(&w[0], &late.base, NULL), R);
    kr_future_drop(&late.base);
    kr_cancel_token_cancel(root); /* idempotent */
    kr_cancel_token_drop(kid);
    kr_cancel_token_drop(root);
}

#define THREADS 8
#define TASKS   16

typedef struct cham {
    kr_cancel_token *root;
    atomic_long woken;
    atomic_int go;
} cham;

typedef struct cwait {
    kr_future base;
    kr_coro co;
    cham *h;
    kr_cancel_token *t;
    test_latch *done;
    kr_cancelled f;
} cwait;

static kr_poll cwait_poll(kr_future *fut, kr_context *cx, void *out) {
    cwait *c = (cwait *)fut;
    KR_ASYNC_BEGIN(&c->co);
    c->f = kr_cancel_token_cancelled(c->t);
    KR_AWAIT(&c->co, &c->f.base, cx, NULL);
    atomic_fetch_add(&c->h->woken, 1);
    kr_cancel_token_drop(c->t);
    c->t = NULL;
    test_latch_add(c->done, 1);
    KR_ASYNC_END(&c->co);
}
static void cwait_drop(kr_future *f) {
    cwait *c = (cwait *)f;
    kr_coro_drop(&c->co);
    kr_cancel_token_drop(c->t);
}
KR_FUTURE_VTABLE(cwait_vt, cwait, cwait_poll, cwait_drop, 0);

/* Builds and tears down chains of children while the cancel happens. */
static void *cham_thread(void *arg) {
    cham *h = arg;
    long n = 0;
    while (!kr_cancel_token_is_cancelled(h->root) || n < 200) {
        kr_cancel_token *a, *b;
        if (kr_cancel_token_child(h->root, &a) != 0)
            continue;
        if (kr_cancel_token_child(a, &b) == 0) {
            kr_cancel_token_drop(a); /* b moves to root */
            if (kr_cancel_token_is_cancelled(h->root) &&
                !kr_cancel_token_is_cancelled(b))
                atomic_fetch_add(&h->woken, 1000000); /* must not happen */
            kr_cancel_token_drop(b);
        } else {
            kr_cancel_token_drop(a);
        }
        if (++n == 100)
            atomic_store(&h->go, 1);
    }
    return NULL;
}

static void cancel_hammer_children_racing_cancel(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    cham h = {.root = tok()};
    test_latch done;
    test_latch_init(&done);
    kr_cancel_token *mid = child(h.root);
    for (int i = 0; i < TASKS; i++) {
        cwait c = {.base = {&cwait_vt},
                   .co = KR_CORO_INIT,
                   .h = &h,
                   .t = child(i % 2 ? mid : h.root),
                   .done = &done};
        assert_rc(kr_runtime_spawn(rt, &c.base, NULL), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, cham_thread, &h), 0);
    while (!atomic_load(&h.go))
        test_sleep_ms(1);
    kr_cancel_token_drop(mid); /* its children move up to root */
    kr_cancel_token_cancel(h.root);
    test_latch_wait w = test_latch_wait_for(&done, TASKS);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.woken), TASKS);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_cancel_token_drop(h.root);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cancel_token),
        cmocka_unit_test(cancel_token_owned),
        cmocka_unit_test(cancel_token_owned_drop_test),
        cmocka_unit_test(cancel_child_token_through_parent),
        cmocka_unit_test(
            cancel_grandchild_token_through_parent_if_child_was_dropped),
        cmocka_unit_test(cancel_child_token_without_parent),
        cmocka_unit_test(create_child_token_after_parent_was_cancelled),
        cmocka_unit_test(drop_multiple_child_tokens),
        cmocka_unit_test(cancel_only_all_descendants),
        cmocka_unit_test(drop_parent_before_child_tokens),
        cmocka_unit_test(child_cancellation_tokens_are_not_considered_equal),
        cmocka_unit_test(
            cancel_wakes_all_across_batches_and_drops_lose_nothing),
        cmocka_unit_test(cancel_hammer_children_racing_cancel),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
