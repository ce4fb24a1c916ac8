/*
 * Cooperative scheduling: a task looping over always-ready join handles or
 * oneshot receives is forced to yield by its budget, so another task runs
 * in between; kr_yield_now puts a task at the back of the run queue, so two
 * yielding tasks alternate. KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

#define LOOPS  1000
/* The default budget (kr_runtime_config.budget). */
#define BUDGET 128

/* A bystander: counts its polls, yielding until told to stop. */
typedef struct {
    kr_future base;
    atomic_long *ticks;
    atomic_int *stop;
} ticker;

static kr_poll ticker_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    ticker *t = (ticker *)f;
    if (atomic_load(t->stop))
        return KR_READY;
    atomic_fetch_add(t->ticks, 1);
    kr_waker_wake_by_ref(kr_context_waker(cx));
    return KR_PENDING;
}
KR_FUTURE_VTABLE(ticker_vt, ticker, ticker_poll, NULL, 0);

enum { VIA_ONESHOT, VIA_JOIN };

typedef struct coop_result {
    long polls, ticks_first, ticks_last;
} coop_result;

/* Awaits LOOPS ready futures in a row; records its own polls and how far
 * the ticker got meanwhile. */
typedef struct {
    kr_future base;
    kr_coro co;
    int via;
    atomic_long *ticks;
    coop_result *res;
    int i, rc, v;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    kr_oneshot_recv r;
    kr_join_handle *jh; /* LOOPS finished handles (VIA_JOIN) */
    uint64_t out;
} greedy;

static kr_poll greedy_poll(kr_future *f, kr_context *cx, void *o) {
    (void)o;
    greedy *g = (greedy *)f;
    g->res->polls++;
    KR_ASYNC_BEGIN(&g->co);
    for (g->i = 0; g->i < LOOPS; g->i++) {
        if (g->via == VIA_ONESHOT) {
            assert_rc(kr_oneshot_new(sizeof(int), &g->tx, &g->rx), 0);
            assert_rc(kr_oneshot_send(g->tx, &g->i), 0);
            g->r = kr_oneshot_recv_future(g->rx, &g->v);
            KR_AWAIT(&g->co, &g->r.base, cx, &g->rc);
            kr_oneshot_rx_drop(g->rx);
            assert_rc(g->rc, 0);
            assert_int_equal(g->v, g->i);
        } else {
            KR_AWAIT(&g->co, &g->jh[g->i].base, cx, &g->out);
            assert_int_equal(g->out, (uint64_t)g->i);
        }
        if (g->i == 0)
            g->res->ticks_first = atomic_load(g->ticks);
    }
    g->res->ticks_last = atomic_load(g->ticks);
    KR_ASYNC_END(&g->co);
}
KR_FUTURE_VTABLE(greedy_vt, greedy, greedy_poll, NULL, 0);

/* What the test owns and the tasks write. */
typedef struct coop_state {
    coop_result res;
    atomic_long ticks;
    atomic_int stop;
    kr_join_handle jh[LOOPS];
} coop_state;

/* Runs as a task, so that with one worker the ticker and the greedy task
 * share its run queue on both runtimes. */
typedef struct {
    kr_future base;
    kr_coro co;
    int via;
    coop_state *st;
    kr_join_handle jt, jg;
    kr_yield y;
    int i;
} coop_parent;

static kr_poll coop_parent_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    coop_parent *m = (coop_parent *)f;
    coop_state *st = m->st;
    KR_ASYNC_BEGIN(&m->co);
    if (m->via == VIA_JOIN) {
        for (m->i = 0; m->i < LOOPS; m->i++) {
            test_value v = test_value_make((uint64_t)m->i, NULL);
            assert_rc(kr_spawn(&v.base, &st->jh[m->i]), 0);
        }
        /* Let them all finish first, so every await is ready. */
        for (m->i = 0; m->i < LOOPS; m->i++) {
            while (!kr_join_handle_is_finished(&st->jh[m->i])) {
                m->y = kr_yield_now();
                KR_AWAIT(&m->co, &m->y.base, cx, NULL);
            }
        }
    }
    {
        ticker t = {{&ticker_vt}, &st->ticks, &st->stop};
        assert_rc(kr_spawn(&t.base, &m->jt), 0);
        greedy g = {.base = {&greedy_vt},
                    .via = m->via,
                    .ticks = &st->ticks,
                    .res = &st->res,
                    .jh = st->jh};
        assert_rc(kr_spawn(&g.base, &m->jg), 0);
    }
    KR_AWAIT(&m->co, &m->jg.base, cx, NULL);
    atomic_store(&st->stop, 1);
    KR_AWAIT(&m->co, &m->jt.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(coop_parent_vt, coop_parent, coop_parent_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    coop_parent p;
    kr_join_handle jp;
} coop_main;

static kr_poll coop_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    coop_main *m = (coop_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    assert_rc(kr_spawn(&m->p.base, &m->jp), 0);
    KR_AWAIT(&m->co, &m->jp.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(coop_main_vt, coop_main, coop_main_poll, NULL, 0);

static void run_coop(int via) {
    test_alloc_install();
    kr_runtime *rt = test_runtime(1);
    coop_state *st = calloc(1, sizeof(*st));
    assert_non_null(st);
    coop_main m = {.base = {&coop_main_vt},
                   .p = {.base = {&coop_parent_vt}, .via = via, .st = st}};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    /* 1000 ready awaits with 128 units per poll take at least 8 polls. */
    assert_true(st->res.polls >= (LOOPS + BUDGET - 1) / BUDGET);
    /* ... and the ticker ran in between. */
    assert_true(st->res.ticks_last > st->res.ticks_first);
    free(st);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void coop_budget_ready_oneshots(void **state) {
    (void)state;
    run_coop(VIA_ONESHOT);
}
static void coop_budget_ready_join_handles(void **state) {
    (void)state;
    run_coop(VIA_JOIN);
}

/* ---- yield order -------------------------------------------------------- */

#define YIELDS 20

typedef struct {
    pthread_mutex_t mu;
    char seq[2 * (YIELDS + 1) + 1];
    int n;
} order_log;

typedef struct {
    kr_future base;
    kr_coro co;
    order_log *log;
    char name;
    int i;
    kr_yield y;
} yielder;

static void log_poll(order_log *l, char c) {
    pthread_mutex_lock(&l->mu);
    if (l->n < (int)sizeof(l->seq) - 1)
        l->seq[l->n++] = c;
    pthread_mutex_unlock(&l->mu);
}

static kr_poll yielder_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    yielder *y = (yielder *)f;
    log_poll(y->log, y->name);
    KR_ASYNC_BEGIN(&y->co);
    for (y->i = 0; y->i < YIELDS; y->i++) {
        y->y = kr_yield_now();
        KR_AWAIT(&y->co, &y->y.base, cx, NULL);
    }
    KR_ASYNC_END(&y->co);
}
KR_FUTURE_VTABLE(yielder_vt, yielder, yielder_poll, NULL, 0);

/* Spawns both yielders from inside a task, so that both start on the same
 * run queue (one worker on the multi-thread runtime). */
typedef struct {
    kr_future base;
    kr_coro co;
    order_log *log;
    kr_join_handle ja, jb;
} yield_parent;

static kr_poll yield_parent_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    yield_parent *p = (yield_parent *)f;
    KR_ASYNC_BEGIN(&p->co);
    {
        yielder a = {.base = {&yielder_vt}, .log = p->log, .name = 'A'};
        yielder b = {.base = {&yielder_vt}, .log = p->log, .name = 'B'};
        assert_rc(kr_spawn(&a.base, &p->ja), 0);
        assert_rc(kr_spawn(&b.base, &p->jb), 0);
    }
    KR_AWAIT(&p->co, &p->ja.base, cx, NULL);
    KR_AWAIT(&p->co, &p->jb.base, cx, NULL);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(yield_parent_vt, yield_parent, yield_parent_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    order_log *log;
    kr_join_handle jp;
} yield_main;

static kr_poll yield_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    yield_main *m = (yield_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        yield_parent p = {.base = {&yield_parent_vt}, .log = m->log};
        assert_rc(kr_spawn(&p.base, &m->jp), 0);
    }
    KR_AWAIT(&m->co, &m->jp.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(yield_main_vt, yield_main, yield_main_poll, NULL, 0);

static void coop_yield_now_alternates(void **state) {
    (void)state;
    order_log log;
    memset(&log, 0, sizeof(log));
    pthread_mutex_init(&log.mu, NULL);
    kr_runtime *rt = test_runtime(1);
    yield_main m = {.base = {&yield_main_vt}, .log = &log};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    test_runtime_free(rt);
    /* Each polled YIELDS + 1 times, strictly alternating: A,B,A,B... (the
     * multi-thread runtime may start with B: its LIFO slot). */
    assert_int_equal(log.n, 2 * (YIELDS + 1));
    for (int i = 1; i < log.n; i++) {
        if (log.seq[i] == log.seq[i - 1])
            fail_msg("not alternating at %d: %s", i, log.seq);
    }
    if (test_flavor() == KR_RUNTIME_CURRENT_THREAD)
        assert_int_equal(log.seq[0], 'A'); /* FIFO: spawn order */
    pthread_mutex_destroy(&log.mu);
}

/* A waker that counts its wakes (by reference; clone and drop are not
 * used here). */
static kr_waker count_clone(const void *data);
static void count_wake(const void *data) { ++*(int *)(uintptr_t)data; }
static void count_drop(const void *data) { (void)data; }
static const kr_waker_vtable count_vt = {count_clone, count_wake, count_wake,
                                         count_drop};
static kr_waker count_clone(const void *data) {
    kr_waker w = {data, &count_vt};
    return w;
}

/* Polls a kr_yield_now by hand, inside a task, with a waker of its own. */
typedef struct {
    kr_future base;
    int wakes;
} hand_yield;

static kr_poll hand_yield_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    hand_yield *h = (hand_yield *)f;
    kr_waker w = {&h->wakes, &count_vt};
    kr_context mine = kr_context_from_waker(&w);
    kr_yield y = kr_yield_now();
    assert_int_equal(kr_future_poll(&y.base, &mine, NULL), KR_PENDING);
    assert_int_equal(h->wakes, 1);
    assert_int_equal(kr_future_poll(&y.base, &mine, NULL), KR_READY);
    return KR_READY;
}
KR_FUTURE_VTABLE(hand_yield_vt, hand_yield, hand_yield_poll, NULL, 0);

/* kr_yield_now wakes the waker it is polled with: a task's own is a
 * self-wake (no atomic), any other (a combinator's, one made by hand) is
 * woken through its vtable even inside the task's poll. */
static void coop_yield_now_wakes_its_own_waker(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(1);
    hand_yield h = {{&hand_yield_vt}, 0};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &h.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), 0);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(coop_budget_ready_oneshots),
    cmocka_unit_test(coop_budget_ready_join_handles),
    cmocka_unit_test(coop_yield_now_alternates),
    cmocka_unit_test(coop_yield_now_wakes_its_own_waker),
};
KR_TEST_MAIN(tests)
