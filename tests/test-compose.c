/*
 * kr_join, kr_try_join, kr_select (kairo/combinators.h): every completion
 * order, every winner, losers dropped exactly once at every await point of
 * theirs, cancellation of the combinator itself, fair and biased order,
 * the select-in-a-loop pattern (KR_SELECT_KEEP), and the same on a runtime
 * with real wakers. KR_TEST_FLAVORS: ct mt sim
 *
 * Ported from Tokio (tokio/tests/macros_join.rs, macros_try_join.rs,
 * macros_select.rs), named macros_join__*, macros_try_join__*,
 * macros_select__*. Left out, and why:
 *   - sync_one_lit_expr_*, sync_two_lit_expr_*, sync_one_ident,
 *     sync_one_lit_expr_block, mut_ref_patterns, mut_on_left_hand_side,
 *     temporary_lifetime_extension, caller_names_const_count,
 *     never_branch_no_warnings, default_numeric_fallback, *_into_future,
 *     mutable_borrowing_future_*: they test the Rust macros' syntax and
 *     borrow rules; kairo's combinators are functions over an array.
 *     macros_join__sync_two / macros_select__sync_two cover the behaviour.
 *   - join_size, try_join_size, struct_size_*: Rust layout figures; the C
 *     sizes are fixed (a join or select is 32 bytes whatever N).
 *   - future_panics_after_poll, task_panics: C has no unwinding.
 *   - deterministic_select_*: need Tokio's RngSeed (unstable); kairo's
 *     fair select starts at a per-thread random branch.
 *   - join_does_not_allow_tasks_to_starve: needs a semaphore acquire that
 *     spends budget in a loop inside the join; select_is_budget_aware is
 *     ported (the select itself checks the budget).
 *   - select_streams: its mpsc loop is the KEEP loop tested by
 *     macros_select__biased_eventually_ready and select_keep_loop_*.
 */
#include "test.h"

/* ---- a scripted future ------------------------------------------------- */

/* Logs its id on every poll; READY (output `value`) on its `polls`-th poll,
 * waking itself before each PENDING. Counts its drops. */
typedef struct {
    kr_future base;
    int id, polls, value;
    int *log, *nlog; /* poll order, may be NULL */
    int drops;
    int polled;
} step;

static kr_poll step_poll(kr_future *f, kr_context *cx, void *out) {
    step *s = (step *)f;
    if (s->log != NULL)
        s->log[(*s->nlog)++] = s->id;
    if (++s->polled < s->polls) {
        kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    if (out != NULL)
        *(int *)out = s->value;
    return KR_READY;
}
static void step_drop(kr_future *f) { ((step *)f)->drops++; }
KR_FUTURE_VTABLE(step_vt, step, step_poll, step_drop, sizeof(int));

static step step_make(int id, int polls, int value, int *log, int *nlog) {
    step s = {{&step_vt}, id, polls, value, log, nlog, 0, 0};
    return s;
}

/* Polls `f` by hand once with a counting waker. */
static kr_poll poll_once(kr_future *f, test_wcount *wc, void *out) {
    kr_waker w = test_wcount_waker(wc);
    kr_context cx = kr_context_from_waker(&w);
    return kr_future_poll(f, &cx, out);
}

/* Polls until READY (at most `max` polls); returns the number of polls.
 * The waker's counters are static: a channel may keep a clone of it after
 * its future is dropped (a waker may outlive what it was given to), and
 * wake it later. */
static int poll_until_ready(kr_future *f, void *out, int max) {
    static test_wcount wc;
    for (int i = 1; i <= max; i++)
        if (poll_once(f, &wc, out) == KR_READY)
            return i;
    return -1;
}

/* ---- join: every completion order --------------------------------------- */

static const int perms[6][3] = {{1, 2, 3}, {1, 3, 2}, {2, 1, 3},
                                {2, 3, 1}, {3, 1, 2}, {3, 2, 1}};

static void join_every_completion_order(void **state) {
    (void)state;
    for (int p = 0; p < 6; p++) {
        for (unsigned fl = 0; fl < 2; fl++) {
            step s[3];
            int out[3] = {-1, -1, -1};
            kr_branch br[3];
            for (int i = 0; i < 3; i++) {
                s[i] = step_make(i, perms[p][i], 10 + i, NULL, NULL);
                KR_BRANCH_SET(&br[i], &s[i], out[i]);
            }
            kr_join_fut j = kr_join(br, 3, fl);
            assert_int_equal(poll_until_ready(&j.base, NULL, 10), 3);
            for (int i = 0; i < 3; i++) {
                assert_int_equal(out[i], 10 + i);
                assert_int_equal(s[i].drops, 1); /* dropped when READY */
                assert_int_equal(s[i].polled, perms[p][i]);
                assert_false(kr_branch_live(&br[i]));
            }
            kr_future_drop(&j.base); /* finds nothing left */
            for (int i = 0; i < 3; i++)
                assert_int_equal(s[i].drops, 1);
        }
    }
}

/* Dropping a join before it is READY drops every unfinished branch once;
 * the finished ones were dropped when they finished. */
static void join_dropped_midway(void **state) {
    (void)state;
    for (int after = 0; after < 3; after++) {
        step s[3];
        int out[3];
        kr_branch br[3];
        for (int i = 0; i < 3; i++) {
            s[i] = step_make(i, i + 1, i, NULL, NULL);
            KR_BRANCH_SET(&br[i], &s[i], out[i]);
        }
        kr_join_fut j = kr_join(br, 3, KR_POLL_BIASED);
        test_wcount wc = {0};
        for (int k = 0; k < after; k++)
            assert_int_equal(poll_once(&j.base, &wc, NULL), KR_PENDING);
        kr_future_drop(&j.base);
        for (int i = 0; i < 3; i++)
            assert_int_equal(s[i].drops, 1);
    }
}

/* ---- try_join ------------------------------------------------------------ */

/* Each branch in turn fails, at each of the other branches' stages: the
 * failure ends the join with its code, the rest are dropped at once. */
static void try_join_every_failing_branch(void **state) {
    (void)state;
    for (int bad = 0; bad < 3; bad++) {
        step s[3];
        int out[3] = {-1, -1, -1};
        kr_branch br[3];
        for (int i = 0; i < 3; i++) {
            /* The bad branch finishes second, so one before it is done. */
            int polls = i == bad ? 2 : (i < bad ? 1 : 3);
            s[i] = step_make(i, polls, i == bad ? KR_EPIPE : i, NULL, NULL);
            KR_BRANCH_SET(&br[i], &s[i], out[i]);
        }
        kr_try_join_fut j = kr_try_join(br, 3, KR_POLL_BIASED);
        int rc = 1;
        assert_int_equal(poll_until_ready(&j.base, &rc, 10), 2);
        assert_rc(rc, KR_EPIPE);
        assert_int_equal(kr_try_join_failed(&j), bad);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(s[i].drops, 1);
            assert_false(kr_branch_live(&br[i]));
        }
        kr_future_drop(&j.base);
        for (int i = 0; i < 3; i++)
            assert_int_equal(s[i].drops, 1);
    }
}

/* int64_t outputs fail on a negative value too; other sizes never fail. */
typedef struct {
    kr_future base;
    int64_t v;
} i64_fut;
static kr_poll i64_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    *(int64_t *)out = ((i64_fut *)f)->v;
    return KR_READY;
}
KR_FUTURE_VTABLE(i64_vt, i64_fut, i64_poll, NULL, sizeof(int64_t));

static void try_join_int64_outputs(void **state) {
    (void)state;
    i64_fut a = {{&i64_vt}, 5}, b = {{&i64_vt}, KR_ETIMEDOUT};
    int64_t oa = 0, ob = 0;
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &a, oa);
    KR_BRANCH_SET(&br[1], &b, ob);
    kr_try_join_fut j = kr_try_join(br, 2, KR_POLL_BIASED);
    int rc = 0;
    assert_int_equal(poll_until_ready(&j.base, &rc, 1), 1);
    assert_rc(rc, KR_ETIMEDOUT);
    assert_int_equal(oa, 5);
    assert_int_equal(kr_try_join_failed(&j), 1);
    kr_future_drop(&j.base);
}

/* ---- Tokio: macros_join.rs, macros_try_join.rs ---------------------------- */

static void macros_join__sync_two(void **state) {
    (void)state;
    step a = step_make(0, 1, 1, NULL, NULL), b = step_make(1, 1, 2, NULL, NULL);
    int oa = 0, ob = 0;
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &a, oa);
    KR_BRANCH_SET(&br[1], &b, ob);
    kr_join_fut j = kr_join(br, 2, KR_POLL_FAIR);
    assert_int_equal(poll_until_ready(&j.base, NULL, 1), 1);
    assert_int_equal(oa, 1);
    assert_int_equal(ob, 2);
    kr_future_drop(&j.base);
}

/* tx2 sends: woken, still pending; tx1 sends: woken, READY with both. */
static void two_await(bool try) {
    kr_oneshot_tx *tx1, *tx2;
    kr_oneshot_rx *rx1, *rx2;
    assert_rc(kr_oneshot_new(sizeof(int), &tx1, &rx1), 0);
    assert_rc(kr_oneshot_new(sizeof(int), &tx2, &rx2), 0);
    int v1 = 0, v2 = 0, r1 = 1, r2 = 1;
    kr_oneshot_recv f1 = kr_oneshot_recv_future(rx1, &v1);
    kr_oneshot_recv f2 = kr_oneshot_recv_future(rx2, &v2);
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &f1, r1);
    KR_BRANCH_SET(&br[1], &f2, r2);
    kr_join_fut j = kr_join(br, 2, KR_POLL_FAIR);
    kr_try_join_fut tj = kr_try_join(br, 2, KR_POLL_FAIR);
    kr_future *f = try ? &tj.base : &j.base;
    test_wcount wc = {0};
    int rc = -1;
    assert_int_equal(poll_once(f, &wc, &rc), KR_PENDING);
    int v = 123;
    assert_rc(kr_oneshot_send(tx2, &v), 0);
    assert_true(atomic_load(&wc.wakes) + atomic_load(&wc.by_ref) > 0);
    atomic_store(&wc.wakes, 0);
    atomic_store(&wc.by_ref, 0);
    assert_int_equal(poll_once(f, &wc, &rc), KR_PENDING);
    v = 7;
    assert_rc(kr_oneshot_send(tx1, &v), 0);
    assert_true(atomic_load(&wc.wakes) + atomic_load(&wc.by_ref) > 0);
    assert_int_equal(poll_once(f, &wc, &rc), KR_READY);
    assert_int_equal(v1, 7);
    assert_int_equal(v2, 123);
    assert_int_equal(r1, 0);
    assert_int_equal(r2, 0);
    if (try)
        assert_int_equal(rc, 0);
    kr_future_drop(f);
    kr_oneshot_rx_drop(rx1);
    kr_oneshot_rx_drop(rx2);
}

static void macros_join__two_await(void **state) {
    (void)state;
    two_await(false);
}

static void macros_try_join__two_await(void **state) {
    (void)state;
    two_await(true);
}

/* rx2 gets a value, tx1 is dropped: the try-join fails, rx3's branch (its
 * sender alive) is dropped. */
static void macros_try_join__err_abort_early(void **state) {
    (void)state;
    kr_oneshot_tx *tx[3];
    kr_oneshot_rx *rx[3];
    kr_oneshot_recv f[3];
    int r[3] = {1, 1, 1}, v[3] = {0, 0, 0};
    kr_branch br[3];
    for (int i = 0; i < 3; i++) {
        assert_rc(kr_oneshot_new(sizeof(int), &tx[i], &rx[i]), 0);
        f[i] = kr_oneshot_recv_future(rx[i], &v[i]);
        KR_BRANCH_SET(&br[i], &f[i], r[i]);
    }
    kr_try_join_fut j = kr_try_join(br, 3, KR_POLL_FAIR);
    test_wcount wc = {0};
    int rc = 0;
    assert_int_equal(poll_once(&j.base, &wc, &rc), KR_PENDING);
    int x = 123;
    assert_rc(kr_oneshot_send(tx[1], &x), 0);
    assert_int_equal(poll_once(&j.base, &wc, &rc), KR_PENDING);
    kr_oneshot_tx_drop(tx[0]);
    assert_int_equal(poll_once(&j.base, &wc, &rc), KR_READY);
    assert_rc(rc, KR_ECLOSED);
    assert_int_equal(kr_try_join_failed(&j), 0);
    assert_false(kr_branch_live(&br[2])); /* dropped, not finished */
    assert_int_equal(r[2], 1);
    kr_future_drop(&j.base);
    kr_oneshot_tx_drop(tx[2]);
    for (int i = 0; i < 3; i++)
        kr_oneshot_rx_drop(rx[i]);
}

/* Each branch yields 4 times, logging: fair mode starts one further on
 * every poll, biased mode always at the first. */
static void poll_order(bool try, unsigned flags, const int *want) {
    int log[16], nlog = 0;
    step s[3];
    int out[3];
    kr_branch br[3];
    for (int i = 0; i < 3; i++) {
        s[i] = step_make(i + 1, 4, 0, log, &nlog);
        KR_BRANCH_SET(&br[i], &s[i], out[i]);
    }
    kr_join_fut j = kr_join(br, 3, flags);
    kr_try_join_fut tj = kr_try_join(br, 3, flags);
    kr_future *f = try ? &tj.base : &j.base;
    int rc;
    assert_int_equal(poll_until_ready(f, &rc, 10), 4);
    assert_int_equal(nlog, 12);
    for (int i = 0; i < 12; i++)
        assert_int_equal(log[i], want[i]);
    kr_future_drop(f);
}

static const int fair_order[12] = {1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3};
static const int biased_order[12] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3};

static void
macros_join__a_different_future_is_polled_first_every_time_poll_fn_is_polled(
    void **state) {
    (void)state;
    poll_order(false, KR_POLL_FAIR, fair_order);
}

static void
macros_join__futures_are_polled_in_order_in_biased_mode(void **state) {
    (void)state;
    poll_order(false, KR_POLL_BIASED, biased_order);
}

static void
macros_try_join__a_different_future_is_polled_first_every_time_poll_fn_is_polled(
    void **state) {
    (void)state;
    poll_order(true, KR_POLL_FAIR, fair_order);
}

static void
macros_try_join__futures_are_polled_in_order_in_biased_mode(void **state) {
    (void)state;
    poll_order(true, KR_POLL_BIASED, biased_order);
}

static void macros_join__empty_join(void **state) {
    (void)state;
    kr_join_fut j = kr_join(NULL, 0, KR_POLL_FAIR);
    assert_int_equal(poll_until_ready(&j.base, NULL, 1), 1);
    kr_future_drop(&j.base);
    kr_try_join_fut tj = kr_try_join(NULL, 0, KR_POLL_FAIR);
    int rc = 1;
    assert_int_equal(poll_until_ready(&tj.base, &rc, 1), 1);
    assert_int_equal(rc, 0);
    kr_future_drop(&tj.base);
}

static void macros_try_join__empty_try_join(void **state) {
    macros_join__empty_join(state);
}

/* ---- select: every winner, losers dropped at once ----------------------- */

static void select_every_winner(void **state) {
    (void)state;
    for (int win = 0; win < 3; win++) {
        for (unsigned fl = 0; fl < 2; fl++) {
            step s[3];
            int out[3] = {-1, -1, -1};
            kr_branch br[3];
            for (int i = 0; i < 3; i++) {
                s[i] = step_make(i, i == win ? 2 : 5, 10 + i, NULL, NULL);
                KR_BRANCH_SET(&br[i], &s[i], out[i]);
            }
            kr_select_fut sel = kr_select(br, 3, fl);
            int which = -1;
            assert_int_equal(poll_until_ready(&sel.base, &which, 10), 2);
            assert_int_equal(which, win);
            for (int i = 0; i < 3; i++) {
                assert_int_equal(s[i].drops, 1); /* all, before READY */
                assert_int_equal(out[i], i == win ? 10 + i : -1);
                assert_false(kr_branch_live(&br[i]));
            }
            kr_future_drop(&sel.base);
            for (int i = 0; i < 3; i++)
                assert_int_equal(s[i].drops, 1);
        }
    }
}

/* Dropping a select before READY drops every branch once. */
static void select_dropped_midway(void **state) {
    (void)state;
    step s[2] = {step_make(0, 9, 0, NULL, NULL),
                 step_make(1, 9, 0, NULL, NULL)};
    int o[2];
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &s[0], o[0]);
    KR_BRANCH_SET(&br[1], &s[1], o[1]);
    kr_select_fut sel = kr_select(br, 2, KR_POLL_FAIR);
    test_wcount wc = {0};
    assert_int_equal(poll_once(&sel.base, &wc, NULL), KR_PENDING);
    kr_future_drop(&sel.base);
    assert_int_equal(s[0].drops, 1);
    assert_int_equal(s[1].drops, 1);
}

/*
 * A loser with three awaits (a coroutine awaiting three steps of two polls
 * each), against a winner ready on its k-th poll: the loser is dropped
 * while suspended at its k-th await, and every child it made is dropped
 * exactly once (the one pending by the loser's drop, the others by
 * KR_AWAIT when they finished), the ones it never made not at all.
 */
typedef struct {
    kr_future base;
    kr_coro co;
    step child[3];
    int made, dropped;
} chain;

static kr_poll chain_poll(kr_future *f, kr_context *cx, void *out) {
    chain *c = (chain *)f;
    KR_ASYNC_BEGIN(&c->co);
    c->child[0] = step_make(0, 2, 0, NULL, NULL);
    c->made = 1;
    KR_AWAIT(&c->co, &c->child[0].base, cx, NULL);
    c->child[1] = step_make(1, 2, 0, NULL, NULL);
    c->made = 2;
    KR_AWAIT(&c->co, &c->child[1].base, cx, NULL);
    c->child[2] = step_make(2, 2, 0, NULL, NULL);
    c->made = 3;
    KR_AWAIT(&c->co, &c->child[2].base, cx, NULL);
    KR_RETURN(&c->co, out, int, 99);
    KR_ASYNC_END(&c->co);
}
static void chain_drop(kr_future *f) {
    chain *c = (chain *)f;
    kr_coro_drop(&c->co);
    c->dropped++;
}
KR_FUTURE_VTABLE(chain_vt, chain, chain_poll, chain_drop, sizeof(int));

static void select_drops_losers_at_every_await(void **state) {
    (void)state;
    for (int k = 1; k <= 4; k++) {
        for (int loser_first = 0; loser_first < 2; loser_first++) {
            if (loser_first && k == 4)
                continue; /* the losers would finish first */
            chain c[2];
            memset(c, 0, sizeof(c));
            c[0].base.vtable = c[1].base.vtable = &chain_vt;
            step w = step_make(9, k, 5, NULL, NULL);
            int oc[2] = {-1, -1}, ow = -1;
            kr_branch br[3];
            int wi = loser_first ? 2 : 0, ci = loser_first ? 0 : 1;
            KR_BRANCH_SET(&br[ci], &c[0], oc[0]);
            KR_BRANCH_SET(&br[ci + 1], &c[1], oc[1]);
            KR_BRANCH_SET(&br[wi], &w, ow);
            kr_select_fut sel = kr_select(br, 3, KR_POLL_BIASED);
            int which = -1;
            assert_int_equal(poll_until_ready(&sel.base, &which, 10), k);
            assert_int_equal(which, wi);
            assert_int_equal(ow, 5);
            assert_int_equal(w.drops, 1);
            for (int i = 0; i < 2; i++) {
                assert_int_equal(c[i].dropped, 1);
                assert_int_equal(oc[i], -1);
                /* Polled k times when polled before the winner, else
                 * k - 1: suspended at that await (0: never started). */
                int made = loser_first ? k : k - 1;
                assert_int_equal(c[i].made, made);
                for (int m = 0; m < 3; m++)
                    assert_int_equal(c[i].child[m].drops, m < made ? 1 : 0);
            }
            kr_future_drop(&sel.base);
            assert_int_equal(c[0].dropped + c[1].dropped, 2);
        }
    }
}

/* Fair mode: over rounds of always-ready branches, every branch wins;
 * biased mode: the first always does. */
static void select_fair_and_biased(void **state) {
    (void)state;
    int wins[2][4] = {{0}};
    for (int fl = 0; fl < 2; fl++) {
        for (int round = 0; round < 400; round++) {
            step s[4];
            int o[4];
            kr_branch br[4];
            for (int i = 0; i < 4; i++) {
                s[i] = step_make(i, 1, i, NULL, NULL);
                KR_BRANCH_SET(&br[i], &s[i], o[i]);
            }
            kr_select_fut sel = kr_select(br, 4, (unsigned)fl);
            int which = -1;
            assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
            wins[fl][which]++;
            kr_future_drop(&sel.base);
            for (int i = 0; i < 4; i++)
                assert_int_equal(s[i].drops, 1);
        }
    }
    assert_int_equal(wins[0][0], 400);
    for (int i = 0; i < 4; i++)
        assert_true(wins[1][i] > 20); /* ~100 each */
}

/* ---- Tokio: macros_select.rs --------------------------------------------- */

static void macros_select__sync_two(void **state) {
    (void)state;
    step a = step_make(0, 1, 1, NULL, NULL), b = step_make(1, 1, 2, NULL, NULL);
    int oa = 0, ob = 0;
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &a, oa);
    KR_BRANCH_SET(&br[1], &b, ob);
    kr_select_fut sel = kr_select(br, 2, KR_POLL_FAIR);
    int which = -1;
    assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
    assert_true(which == 0 ? oa == 1 && ob == 0 : oa == 0 && ob == 2);
    assert_int_equal(a.drops + b.drops, 2);
    kr_future_drop(&sel.base);
}

static void macros_select__one_ready(void **state) {
    (void)state;
    kr_oneshot_tx *tx1, *tx2;
    kr_oneshot_rx *rx1, *rx2;
    assert_rc(kr_oneshot_new(sizeof(int), &tx1, &rx1), 0);
    assert_rc(kr_oneshot_new(sizeof(int), &tx2, &rx2), 0);
    int one = 1, v1 = 0, v2 = 0, r1 = -9, r2 = -9;
    assert_rc(kr_oneshot_send(tx1, &one), 0);
    kr_oneshot_recv f1 = kr_oneshot_recv_future(rx1, &v1);
    kr_oneshot_recv f2 = kr_oneshot_recv_future(rx2, &v2);
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &f1, r1);
    KR_BRANCH_SET(&br[1], &f2, r2);
    kr_select_fut sel = kr_select(br, 2, KR_POLL_FAIR);
    int which = -1;
    assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
    assert_int_equal(which, 0);
    assert_int_equal(r1, 0);
    assert_int_equal(v1, 1);
    assert_int_equal(r2, -9);
    kr_future_drop(&sel.base);
    kr_oneshot_tx_drop(tx2);
    kr_oneshot_rx_drop(rx1);
    kr_oneshot_rx_drop(rx2);
}

static void macros_select__biased_one_not_ready(void **state) {
    (void)state;
    kr_oneshot_tx *tx[3];
    kr_oneshot_rx *rx[3];
    kr_oneshot_recv f[3];
    int v[3] = {0}, r[3] = {-9, -9, -9};
    kr_branch br[3];
    for (int i = 0; i < 3; i++) {
        assert_rc(kr_oneshot_new(sizeof(int), &tx[i], &rx[i]), 0);
        if (i > 0) {
            int x = i + 1;
            assert_rc(kr_oneshot_send(tx[i], &x), 0);
        }
        f[i] = kr_oneshot_recv_future(rx[i], &v[i]);
        KR_BRANCH_SET(&br[i], &f[i], r[i]);
    }
    kr_select_fut sel = kr_select(br, 3, KR_POLL_BIASED);
    int which = -1;
    assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
    assert_int_equal(which, 1);
    assert_int_equal(v[1], 2);
    assert_int_equal(r[2], -9); /* never polled */
    assert_int_equal(v[2], 0);
    kr_future_drop(&sel.base);
    kr_oneshot_tx_drop(tx[0]);
    for (int i = 0; i < 3; i++)
        kr_oneshot_rx_drop(rx[i]);
}

/* Both ready; KEEP leaves the loser to be awaited afterwards (`&mut rx`). */
static void macros_select__move_uncompleted_futures(void **state) {
    (void)state;
    kr_oneshot_tx *tx1, *tx2;
    kr_oneshot_rx *rx1, *rx2;
    assert_rc(kr_oneshot_new(sizeof(int), &tx1, &rx1), 0);
    assert_rc(kr_oneshot_new(sizeof(int), &tx2, &rx2), 0);
    int one = 1, two = 2, v1 = 0, v2 = 0, r1 = -9, r2 = -9;
    assert_rc(kr_oneshot_send(tx1, &one), 0);
    assert_rc(kr_oneshot_send(tx2, &two), 0);
    kr_oneshot_recv f1 = kr_oneshot_recv_future(rx1, &v1);
    kr_oneshot_recv f2 = kr_oneshot_recv_future(rx2, &v2);
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &f1, r1);
    KR_BRANCH_SET(&br[1], &f2, r2);
    kr_select_fut sel = kr_select(br, 2, KR_POLL_FAIR | KR_SELECT_KEEP);
    int which = -1;
    assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
    kr_future_drop(&sel.base); /* leaves the loser */
    int other = 1 - which;
    assert_false(kr_branch_live(&br[which]));
    assert_true(kr_branch_live(&br[other]));
    /* Await the loser itself now. */
    assert_int_equal(poll_until_ready(br[other].fut, br[other].out, 1), 1);
    kr_branch_drop(&br[other]);
    assert_int_equal(v1, 1);
    assert_int_equal(v2, 2);
    assert_int_equal(r1, 0);
    assert_int_equal(r2, 0);
    kr_oneshot_rx_drop(rx1);
    kr_oneshot_rx_drop(rx2);
}

/* A select whose winner's body runs another select. */
static void macros_select__nested(void **state) {
    (void)state;
    step a = step_make(0, 1, 1, NULL, NULL), b = step_make(1, 1, 2, NULL, NULL);
    int x = 0, y = 0, which = -1;
    kr_branch b1[1], b2[1];
    KR_BRANCH_SET(&b1[0], &a, x);
    kr_select_fut s1 = kr_select(b1, 1, KR_POLL_FAIR);
    assert_int_equal(poll_until_ready(&s1.base, &which, 1), 1);
    kr_future_drop(&s1.base);
    KR_BRANCH_SET(&b2[0], &b, y);
    kr_select_fut s2 = kr_select(b2, 1, KR_POLL_FAIR);
    assert_int_equal(poll_until_ready(&s2.base, &which, 1), 1);
    kr_future_drop(&s2.base);
    assert_int_equal(x + y, 3);
}

/* No live branch: KR_EINVAL at once (select! would take its `else`). */
static void macros_select__no_branch_else_only(void **state) {
    (void)state;
    kr_branch br[2] = {{NULL, NULL, 0}, {NULL, NULL, 0}};
    for (unsigned fl = 0; fl < 2; fl++) {
        kr_select_fut sel = kr_select(br, 2, fl);
        int which = 0;
        assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
        assert_rc(which, KR_EINVAL);
        kr_future_drop(&sel.base);
        sel = kr_select(NULL, 0, fl);
        assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
        assert_rc(which, KR_EINVAL);
        kr_future_drop(&sel.base);
    }
}

/* `if` preconditions: an empty branch is a disabled one. */
static void macros_select__disable_with_if(void **state) {
    (void)state;
    step a = step_make(0, 1, 1, NULL, NULL), b = step_make(1, 3, 2, NULL, NULL);
    int oa = 0, ob = 0, which = -1;
    kr_branch br[2];
    KR_BRANCH_SET(&br[0], &a, oa);
    KR_BRANCH_SET(&br[1], &b, ob);
    kr_branch_drop(&br[0]); /* `if false` */
    kr_select_fut sel = kr_select(br, 2, KR_POLL_FAIR);
    assert_int_equal(poll_until_ready(&sel.base, &which, 5), 3);
    assert_int_equal(which, 1);
    assert_int_equal(ob, 2);
    assert_int_equal(oa, 0);
    assert_int_equal(a.drops, 1);
    assert_int_equal(b.drops, 1);
    kr_future_drop(&sel.base);
}

/* A join whose branch is a select. */
static void macros_select__join_with_select(void **state) {
    (void)state;
    step a = step_make(0, 2, 1, NULL, NULL), b = step_make(1, 3, 2, NULL, NULL);
    step c = step_make(2, 9, 3, NULL, NULL);
    int oa = 0, ob = 0, oc = 0, which = -1;
    kr_branch sb[2], jb[2];
    KR_BRANCH_SET(&sb[0], &a, oa);
    KR_BRANCH_SET(&sb[1], &c, oc);
    kr_select_fut sel = kr_select(sb, 2, KR_POLL_FAIR);
    KR_BRANCH_SET(&jb[0], &sel, which);
    KR_BRANCH_SET(&jb[1], &b, ob);
    kr_join_fut j = kr_join(jb, 2, KR_POLL_FAIR);
    assert_int_equal(poll_until_ready(&j.base, NULL, 5), 3);
    assert_int_equal(which, 0);
    assert_int_equal(oa + ob, 3);
    assert_int_equal(c.drops, 1);
    kr_future_drop(&j.base);
}

static void macros_select__many_branches(void **state) {
    (void)state;
    enum { N = 64 };
    step s[N];
    int o[N];
    kr_branch br[N];
    for (int i = 0; i < N; i++) {
        s[i] = step_make(i, i == N - 1 ? 1 : 2, i, NULL, NULL);
        KR_BRANCH_SET(&br[i], &s[i], o[i]);
    }
    kr_select_fut sel = kr_select(br, N, KR_POLL_BIASED);
    int which = -1;
    assert_int_equal(poll_until_ready(&sel.base, &which, 1), 1);
    assert_int_equal(which, N - 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].drops, 1);
    kr_future_drop(&sel.base);
}

/* Three branches in a KEEP loop, each disabled once it has run: `one`
 * (ready at once), `two`, `three` (each yielding once); biased order. */
static void macros_select__biased_eventually_ready(void **state) {
    (void)state;
    step one = step_make(1, 1, 0, NULL, NULL);
    step two = step_make(2, 2, 0, NULL, NULL);
    step three = step_make(3, 2, 0, NULL, NULL);
    int count = 0, o[3];
    kr_branch br[3];
    KR_BRANCH_SET(&br[0], &two, o[0]);
    KR_BRANCH_SET(&br[1], &three, o[1]);
    KR_BRANCH_SET(&br[2], &one, o[2]);
    for (;;) {
        /* The `if count < N` preconditions. */
        if (count >= 2)
            kr_branch_drop(&br[0]);
        if (count >= 3)
            kr_branch_drop(&br[1]);
        if (count >= 1)
            kr_branch_drop(&br[2]);
        kr_select_fut sel = kr_select(br, 3, KR_POLL_BIASED | KR_SELECT_KEEP);
        int which = -9;
        assert_true(poll_until_ready(&sel.base, &which, 5) > 0);
        kr_future_drop(&sel.base);
        if (which < 0)
            break; /* else => break */
        count++;
        assert_int_equal(count, which == 2 ? 1 : which + 2);
    }
    assert_int_equal(count, 3);
    assert_int_equal(one.drops + two.drops + three.drops, 3);
    /* Each was polled afresh in every round until it finished, never
     * re-created: their poll counts are their scripts'. */
    assert_int_equal(one.polled, 1);
    assert_int_equal(two.polled, 2);
    assert_int_equal(three.polled, 2);
}

/* Inside a task: a biased select of (spend budget, ready) is READY while
 * there is budget, and PENDING once the budget is gone. */
typedef struct {
    kr_future base;
} spend;
static kr_poll spend_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)out;
    return kr_coop_proceed(cx) ? KR_READY : KR_PENDING;
}
KR_FUTURE_VTABLE(spend_vt, spend, spend_poll, NULL, 0);

typedef struct {
    kr_future base;
    int ready, pending, done;
} budget_probe;
static kr_poll budget_probe_poll(kr_future *f, kr_context *cx, void *out) {
    budget_probe *p = (budget_probe *)f;
    (void)out;
    if (p->done)
        return KR_READY; /* the wake-up after the PENDING */
    for (int i = 0; i < 200; i++) {
        spend sp = {{&spend_vt}};
        step ready = step_make(0, 1, 0, NULL, NULL);
        int o = 0;
        kr_branch br[2];
        KR_BRANCH_SET_VOID(&br[0], &sp);
        KR_BRANCH_SET(&br[1], &ready, o);
        kr_select_fut sel = kr_select(br, 2, KR_POLL_BIASED);
        int which;
        kr_poll r = kr_future_poll(&sel.base, cx, &which);
        kr_future_drop(&sel.base);
        if (r == KR_PENDING) {
            p->pending = 1;
            p->done = 1;
            return KR_PENDING; /* the budget's exhaustion woke us */
        }
        p->ready++;
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(budget_probe_vt, budget_probe, budget_probe_poll, NULL, 0);

static void macros_select__select_is_budget_aware(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    budget_probe p = {{&budget_probe_vt}, 0, 0, 0};
    assert_rc(kr_runtime_block_on(rt, &p.base, NULL), 0);
    assert_int_equal(p.pending, 1);
    assert_int_equal(p.ready, 128);
    test_runtime_free(rt);
}

/* ---- on a runtime: a select loop with real wakers ------------------------ */

/* Receives NMSG values from a task through an mpsc channel while an
 * interval-like sleep keeps firing; KEEP preserves the receive and the
 * sleep across rounds, so no message is lost. */
#define NMSG 200

typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_tx *tx;
    int i;
    kr_mpsc_send sd;
    int rc;
} producer;

static kr_poll producer_poll(kr_future *f, kr_context *cx, void *out) {
    producer *p = (producer *)f;
    (void)out;
    KR_ASYNC_BEGIN(&p->co);
    for (p->i = 0; p->i < NMSG; p->i++) {
        p->sd = kr_mpsc_send_future(p->tx, &p->i);
        KR_AWAIT_INTO(&p->co, &p->sd, cx, p->rc);
        if (p->i % 7 == 0)
            KR_YIELD(&p->co, cx);
    }
    kr_mpsc_tx_drop(p->tx);
    p->tx = NULL;
    KR_ASYNC_END(&p->co);
}
static void producer_drop(kr_future *f) {
    producer *p = (producer *)f;
    kr_coro_drop(&p->co);
    if (p->tx != NULL)
        kr_mpsc_tx_drop(p->tx);
}
KR_FUTURE_VTABLE(producer_vt, producer, producer_poll, producer_drop, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_rx *rx;
    kr_mpsc_recv rv;
    int v, rrc;
    kr_sleep nap;
    kr_branch br[2];
    kr_select_fut sel;
    int which;
    long sum, got, ticks, made;
} consumer;

static kr_poll consumer_poll(kr_future *f, kr_context *cx, void *out) {
    consumer *c = (consumer *)f;
    (void)out;
    KR_ASYNC_BEGIN(&c->co);
    for (;;) {
        if (!kr_branch_live(&c->br[0])) {
            c->rv = kr_mpsc_recv_future(c->rx, &c->v);
            KR_BRANCH_SET(&c->br[0], &c->rv, c->rrc);
            c->made++;
        }
        if (!kr_branch_live(&c->br[1])) {
            kr_sleep_init(&c->nap, kr_ms(1));
            KR_BRANCH_SET_VOID(&c->br[1], &c->nap);
        }
        c->sel = kr_select(c->br, 2, KR_POLL_FAIR | KR_SELECT_KEEP);
        KR_AWAIT_INTO(&c->co, &c->sel, cx, c->which);
        if (c->which == 1) {
            c->ticks++;
            continue;
        }
        if (c->rrc != 0)
            break; /* closed */
        c->sum += c->v;
        c->got++;
    }
    KR_ASYNC_END(&c->co);
}
static void consumer_drop(kr_future *f) {
    consumer *c = (consumer *)f;
    kr_coro_drop(&c->co);
    kr_branches_drop(c->br, 2);
}
KR_FUTURE_VTABLE(consumer_vt, consumer, consumer_poll, consumer_drop, 0);

static void select_keep_loop_on_runtime(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(sizeof(int), 4, &tx, &rx), 0);
    producer p = {.base = {&producer_vt}, .co = KR_CORO_INIT, .tx = tx};
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    consumer *c = calloc(1, sizeof(*c));
    c->base.vtable = &consumer_vt;
    c->rx = rx;
    assert_rc(kr_runtime_block_on(rt, &c->base, NULL), 0);
    assert_int_equal(c->got, NMSG);
    assert_int_equal(c->sum, (long)NMSG * (NMSG - 1) / 2);
    /* One receive made per message (and the final close): a pending one
     * was never re-created when the sleep won. */
    assert_int_equal(c->made, NMSG + 1);
    kr_mpsc_rx_drop(rx);
    free(c);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(join_every_completion_order),
        cmocka_unit_test(join_dropped_midway),
        cmocka_unit_test(try_join_every_failing_branch),
        cmocka_unit_test(try_join_int64_outputs),
        cmocka_unit_test(macros_join__sync_two),
        cmocka_unit_test(macros_join__two_await),
        cmocka_unit_test(macros_try_join__two_await),
        cmocka_unit_test(macros_try_join__err_abort_early),
        cmocka_unit_test(
            macros_join__a_different_future_is_polled_first_every_time_poll_fn_is_polled),
        cmocka_unit_test(
            macros_join__futures_are_polled_in_order_in_biased_mode),
        cmocka_unit_test(
            macros_try_join__a_different_future_is_polled_first_every_time_poll_fn_is_polled),
        cmocka_unit_test(
            macros_try_join__futures_are_polled_in_order_in_biased_mode),
        cmocka_unit_test(macros_join__empty_join),
        cmocka_unit_test(macros_try_join__empty_try_join),
        cmocka_unit_test(select_every_winner),
        cmocka_unit_test(select_dropped_midway),
        cmocka_unit_test(select_drops_losers_at_every_await),
        cmocka_unit_test(select_fair_and_biased),
        cmocka_unit_test(macros_select__sync_two),
        cmocka_unit_test(macros_select__one_ready),
        cmocka_unit_test(macros_select__biased_one_not_ready),
        cmocka_unit_test(macros_select__move_uncompleted_futures),
        cmocka_unit_test(macros_select__nested),
        cmocka_unit_test(macros_select__no_branch_else_only),
        cmocka_unit_test(macros_select__disable_with_if),
        cmocka_unit_test(macros_select__join_with_select),
        cmocka_unit_test(macros_select__many_branches),
        cmocka_unit_test(macros_select__biased_eventually_ready),
        cmocka_unit_test(macros_select__select_is_budget_aware),
        cmocka_unit_test(select_keep_loop_on_runtime),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
