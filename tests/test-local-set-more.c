/*
 * Local task sets (kairo/local_set.h), part 2: the rest of Tokio's
 * tests/task_local_set.rs, the local-set tests of tests/rt_common.rs,
 * then kairo's own (errors, ownership, wakes from other threads, a set
 * awaited inside a task, aborts).
 * KR_TEST_FLAVORS: ct mt
 */
#include <time.h>

#include "test-local-set.h"

/* ---- spawn_wakes_localset ------------------------------------------------------ */

/* select! { run_until(pending), async { set.spawn_local(ready).await } }:
 * the spawn made outside the set's run wakes the run_until. */
static kr_poll ready_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx;
    *(int *)out = 7;
    return KR_READY;
}
KR_FUTURE_VTABLE(ready_vt, kr_future, ready_poll, NULL, sizeof(int));

typedef struct {
    kr_future base;
    kr_local_set *ls;
    kr_local_run_until ru;
    test_pending pend;
    kr_join_handle h;
    int spawned, v;
} spawn_select;
static kr_poll spawn_select_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_select *s = (spawn_select *)f;
    (void)out;
    if (!s->spawned) {
        s->ru = kr_local_set_run_until(s->ls, &s->pend.base, NULL);
        s->spawned = 1;
    }
    int rc;
    if (kr_future_poll(&s->ru.base, cx, &rc) == KR_READY)
        fail_msg("run_until(pending) completed");
    if (s->spawned == 1) {
        kr_future r = {&ready_vt};
        assert_rc(kr_local_set_spawn(s->ls, &r, &s->h), 0);
        s->spawned = 2;
    }
    if (kr_future_poll(&s->h.base, cx, &s->v) == KR_PENDING)
        return KR_PENDING;
    kr_future_drop(&s->ru.base); /* drops the pending inner future */
    assert_int_equal(s->v, 7);
    return KR_READY;
}
KR_FUTURE_VTABLE(spawn_select_vt, spawn_select, spawn_select_poll, NULL, 0);

static void spawn_wakes_localset(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    test_counts pc = {0};
    spawn_select s = {.base = {&spawn_select_vt},
                      .ls = ls,
                      .pend = test_pending_make(&pc, NULL)};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_int_equal(atomic_load(&pc.drops), 1);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
}

/* ---- sleep_with_local_enter_guard ----------------------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_sleep s;
    kr_oneshot_tx *tx;
} sleep_send;
static kr_poll sleep_send_poll(kr_future *f, kr_context *cx, void *out) {
    sleep_send *s = (sleep_send *)f;
    (void)out;
    KR_ASYNC_BEGIN(&s->co);
    s->s = kr_sleep_for(0);
    KR_AWAIT(&s->co, &s->s.base, cx, NULL);
    assert_rc(kr_oneshot_send(s->tx, NULL), 0);
    s->tx = NULL;
    KR_ASYNC_END(&s->co);
}
static void sleep_send_drop(kr_future *f) {
    sleep_send *s = (sleep_send *)f;
    kr_coro_drop(&s->co);
    kr_oneshot_tx_drop(s->tx);
}
KR_FUTURE_VTABLE(sleep_send_vt, sleep_send, sleep_send_poll, sleep_send_drop,
                 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_recv r;
    kr_oneshot_rx *rx;
    int rc;
} spawn_then_recv;
static kr_poll spawn_then_recv_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_then_recv *m = (spawn_then_recv *)f;
    (void)out;
    KR_ASYNC_BEGIN(&m->co);
    {
        kr_oneshot_tx *tx;
        assert_rc(kr_oneshot_new(0, &tx, &m->rx), 0);
        sleep_send s = {.base = {&sleep_send_vt}, .tx = tx};
        assert_rc(kr_spawn_local(&s.base, NULL), 0);
    }
    m->r = kr_oneshot_recv_future(m->rx, NULL);
    KR_AWAIT(&m->co, &m->r.base, cx, &m->rc);
    assert_rc(m->rc, 0);
    kr_oneshot_rx_drop(m->rx);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(spawn_then_recv_vt, spawn_then_recv, spawn_then_recv_poll,
                 NULL, 0);

/* The local task's zero sleep wakes it with an enter guard held around
 * the run (Tokio #5020). */
static void sleep_with_local_enter_guard(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    kr_local_enter g;
    assert_rc(kr_local_set_enter(ls, &g), 0);
    spawn_then_recv m = {.base = {&spawn_then_recv_vt}};
    assert_rc(kr_local_set_block_on(ls, rt, &m.base, NULL), 0);
    assert_rc(kr_local_set_free(ls), KR_EBUSY); /* still entered */
    kr_local_set_exit(&g);
    assert_false(kr_local_set_is_entered());
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
}

/* enter_guard_spawn: spawn_local under a guard, outside any runtime; the
 * task runs when the set is run. */
static kr_poll ready_true_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx;
    *(int *)out = 1;
    return KR_READY;
}
KR_FUTURE_VTABLE(ready_true_vt, kr_future, ready_true_poll, NULL, sizeof(int));

static void enter_guard_spawn(void **state) {
    (void)state;
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    kr_local_enter g;
    assert_rc(kr_local_set_enter(ls, &g), 0);
    assert_true(kr_local_set_is_entered());
    kr_future t = {&ready_true_vt};
    kr_join_handle jh;
    assert_rc(kr_spawn_local(&t, &jh), 0);
    kr_runtime *rt = test_runtime(0);
    int v = 0;
    assert_rc(kr_local_set_block_on(ls, rt, &jh.base, &v), 0);
    assert_int_equal(v, 1);
    kr_local_set_exit(&g);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
}

/* ---- run_until_does_not_get_own_budget (tokio_unstable) --------------------------- */

/* Polled once by hand: spends budget until told to stop, counting. */
static long spend_budget(void) {
    test_wcount wc = {0};
    kr_waker w = test_wcount_waker(&wc);
    kr_context cx = kr_context_from_waker(&w);
    long n = 0;
    while (kr_coop_proceed(&cx))
        n++;
    return n;
}

static kr_poll spent_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx;
    *(long *)out = spend_budget();
    return KR_READY;
}
KR_FUTURE_VTABLE(spent_vt, kr_future, spent_poll, NULL, sizeof(long));

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle h;
    long run_until_n, spawned_n;
} budget_main;
static kr_poll budget_main_poll(kr_future *f, kr_context *cx, void *out) {
    budget_main *m = (budget_main *)f;
    (void)out;
    KR_ASYNC_BEGIN(&m->co);
    {
        kr_future sp = {&spent_vt};
        assert_rc(kr_spawn(&sp, &m->h), 0);
    }
    m->run_until_n = spend_budget();
    KR_AWAIT(&m->co, &m->h.base, cx, &m->spawned_n);
    assert_true(m->spawned_n != 0);
    assert_true(m->run_until_n != 0);
    assert_true(m->spawned_n > m->run_until_n);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(budget_main_vt, budget_main, budget_main_poll, NULL, 0);

/* consume_budget().await, then the run_until in the same poll. */
typedef struct {
    kr_future base;
    kr_local_run_until ru;
    int started;
} consume_then;
static kr_poll consume_then_poll(kr_future *f, kr_context *cx, void *out) {
    consume_then *c = (consume_then *)f;
    if (!c->started) {
        c->started = 1;
        assert_true(kr_coop_proceed(cx));
    }
    return kr_future_poll(&c->ru.base, cx, out);
}
KR_FUTURE_VTABLE(consume_then_vt, consume_then, consume_then_poll, NULL,
                 sizeof(int));

static void run_until_does_not_get_own_budget(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    budget_main m = {.base = {&budget_main_vt}};
    consume_then c = {.base = {&consume_then_vt},
                      .ru = kr_local_set_run_until(ls, &m.base, NULL)};
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &c.base, &rc), 0);
    assert_rc(rc, 0);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
}

/* ======================================================================== */
/* kairo's own                                                              */
/* ======================================================================== */

static kr_poll try_spawn_local_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx;
    local_check c = check_make(NULL, 0, 0);
    *(int *)out = kr_spawn_local(&c.base, NULL);
    return KR_READY;
}
KR_FUTURE_VTABLE(try_spawn_local_vt, kr_future, try_spawn_local_poll, NULL,
                 sizeof(int));

static void spawn_local_outside_a_set(void **state) {
    (void)state;
    local_check c = check_make(NULL, 0, 0);
    kr_join_handle jh;
    assert_false(kr_local_set_is_entered());
    assert_rc(kr_spawn_local(&c.base, &jh), KR_EINVAL);
    assert_null(jh.task_);
    /* Inside a runtime but outside a set: the same. */
    kr_runtime *rt = test_runtime(0);
    kr_future p = {&try_spawn_local_vt};
    int in_rt = 0;
    assert_rc(kr_runtime_block_on(rt, &p, &in_rt), 0);
    assert_rc(in_rt, KR_EINVAL);
    test_runtime_free(rt);
    assert_rc(kr_local_set_new(NULL), KR_EINVAL);
    assert_rc(kr_local_set_free(NULL), 0);
    assert_rc(kr_local_set_spawn(NULL, &c.base, NULL), KR_EINVAL);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    kr_future bad = {NULL};
    assert_rc(kr_local_set_spawn(ls, &bad, NULL), KR_EINVAL);
    assert_rc(kr_local_set_free(ls), 0);
    kr_local_run_until ru = kr_local_set_run_until(NULL, NULL, NULL);
    int rc = 0;
    assert_int_equal(kr_future_poll(&ru.base, NULL, &rc), KR_READY);
    assert_rc(rc, KR_EINVAL);
}

/* Another thread may not spawn into or free the set. */
static void *foreign_thread(void *p) {
    kr_local_set *ls = p;
    local_check c = check_make(NULL, 0, 0);
    intptr_t r1 = kr_local_set_spawn(ls, &c.base, NULL);
    intptr_t r2 = kr_local_set_free(ls);
    return (void *)(intptr_t)(r1 == KR_EPERM && r2 == KR_EPERM);
}

static void set_is_owned_by_its_thread(void **state) {
    (void)state;
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    pthread_t th;
    void *ok = NULL;
    assert_int_equal(pthread_create(&th, NULL, foreign_thread, ls), 0);
    pthread_join(th, &ok);
    assert_ptr_equal(ok, (void *)1);
    assert_rc(kr_local_set_free(ls), 0);
}

/* Wakes from other threads: 64 local tasks each wait on a latch that a
 * plain thread bumps; all complete, on the set's thread. */
typedef struct {
    kr_future base;
    kr_coro co;
    test_latch *l;
    long target;
    test_latch_wait w;
    atomic_long *count;
} latch_task;
static kr_poll latch_task_poll(kr_future *f, kr_context *cx, void *out) {
    latch_task *t = (latch_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    t->w = test_latch_wait_for(t->l, t->target);
    KR_AWAIT(&t->co, &t->w.base, cx, NULL);
    assert_true(on_set_thread);
    atomic_fetch_add(t->count, 1);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(latch_task_vt, latch_task, latch_task_poll, NULL, 0);

enum { WAKERS = 64 };
static test_latch latches[WAKERS];

static void *bump_latches(void *p) {
    (void)p;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < WAKERS; i++)
            test_latch_add(&latches[i], 1);
        sched_yield();
    }
    return NULL;
}

static void wakes_from_other_threads(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    atomic_long count = 0;
    for (int i = 0; i < WAKERS; i++) {
        test_latch_init(&latches[i]);
        latch_task t = {.base = {&latch_task_vt},
                        .l = &latches[i],
                        .target = 3,
                        .count = &count};
        assert_rc(kr_local_set_spawn(ls, &t.base, NULL), 0);
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bump_latches, NULL), 0);
    kr_local_set_wait_fut w = kr_local_set_wait(ls);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&count), WAKERS);
    for (int i = 0; i < WAKERS; i++)
        test_latch_destroy(&latches[i]);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* A set awaited inside a task of the runtime (the current-thread runtime:
 * its tasks all run on the block_on thread). */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_local_set *ls;
    kr_local_set_wait_fut w;
} awaits_set;
static kr_poll awaits_set_poll(kr_future *f, kr_context *cx, void *out) {
    awaits_set *a = (awaits_set *)f;
    (void)out;
    KR_ASYNC_BEGIN(&a->co);
    a->w = kr_local_set_wait(a->ls);
    KR_AWAIT(&a->co, &a->w.base, cx, NULL);
    KR_ASYNC_END(&a->co);
}
KR_FUTURE_VTABLE(awaits_set_vt, awaits_set, awaits_set_poll, NULL, 0);

static void set_awaited_in_a_task(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    kr_runtime *rt;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    atomic_long count = 0;
    for (int i = 0; i < 10; i++) {
        local_check lc = check_make(&count, 2, 1);
        assert_rc(kr_local_set_spawn(ls, &lc.base, NULL), 0);
    }
    awaits_set a = {.base = {&awaits_set_vt}, .ls = ls};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &a.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_int_equal(atomic_load(&count), 10);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* An abort from another thread cancels a local task; its future is
 * dropped on the set's thread. */
static void *abort_from_thread(void *p) {
    kr_abort_handle_abort(p);
    return NULL;
}

static void abort_local_task_from_another_thread(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    long refs = 1;
    holder h = {.base = {&holder_vt}, .refs = &refs};
    kr_join_handle jh;
    assert_rc(kr_local_set_spawn(ls, &h.base, &jh), 0);
    kr_abort_handle *ah;
    assert_rc(kr_join_handle_abort_handle(&jh, &ah), 0);
    /* Run it once (it parks), then abort it from a thread. */
    yield_once y = {.base = {&yield_once_vt}};
    assert_rc(kr_local_set_block_on(ls, rt, &y.base, NULL), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, abort_from_thread, ah), 0);
    pthread_join(th, NULL);
    dropped_on = NULL;
    kr_local_set_wait_fut w = kr_local_set_wait(ls);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    assert_int_equal(refs, 0);
    assert_ptr_equal(dropped_on, &thread_id);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), KR_ECANCELED);
    kr_abort_handle_drop(ah);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
}

/* ======================================================================== */
/* tokio/tests/rt_common.rs: the local-set cases                            */
/* ======================================================================== */

/* A local server: accepts one connection, writes `msg` (if any), closes
 * it, then signals `done`. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    kr_tcp_stream *s;
    kr_tcp_accept acc;
    kr_tcp_write_all w;
    const char *msg;
    kr_oneshot_tx *done;
    int rc;
    int64_t n;
} server;
static kr_poll server_poll(kr_future *f, kr_context *cx, void *out) {
    server *v = (server *)f;
    (void)out;
    KR_ASYNC_BEGIN(&v->co);
    assert_true(on_set_thread);
    v->acc = kr_tcp_listener_accept(v->l, &v->s, NULL);
    KR_AWAIT(&v->co, &v->acc.base, cx, &v->rc);
    assert_rc(v->rc, 0);
    if (v->msg != NULL) {
        v->w = kr_tcp_stream_write_all(v->s, v->msg, strlen(v->msg));
        KR_AWAIT(&v->co, &v->w.base, cx, &v->n);
        assert_int_equal(v->n, (int64_t)strlen(v->msg));
    }
    kr_tcp_stream_free(v->s);
    v->s = NULL;
    if (v->done != NULL) {
        assert_rc(kr_oneshot_send(v->done, NULL), 0);
        v->done = NULL;
    }
    KR_ASYNC_END(&v->co);
}
static void server_drop(kr_future *f) {
    server *v = (server *)f;
    kr_coro_drop(&v->co);
    kr_tcp_stream_free(v->s);
    kr_oneshot_tx_drop(v->done);
}
KR_FUTURE_VTABLE(server_vt, server, server_poll, server_drop, 0);

/* The client, run by kr_local_set_block_on: binds, spawns the server
 * locally, connects; reads to the end if `msg`, else waits for `done`. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_runtime *rt;
    const char *msg;
    kr_tcp_listener *l;
    kr_tcp_stream *c;
    kr_tcp_connect con;
    kr_tcp_read rd;
    kr_oneshot_rx *done;
    kr_oneshot_recv r;
    kr_sockaddr addr;
    char buf[64];
    size_t got;
    int64_t n;
    int rc;
} client;
static kr_poll client_poll(kr_future *f, kr_context *cx, void *out) {
    client *c = (client *)f;
    (void)out;
    KR_ASYNC_BEGIN(&c->co);
    assert_rc(kr_sockaddr_parse("127.0.0.1:0", &c->addr), 0);
    assert_rc(kr_tcp_listener_bind(c->rt, &c->addr, NULL, &c->l), 0);
    assert_rc(kr_tcp_listener_local_addr(c->l, &c->addr), 0);
    {
        kr_oneshot_tx *tx;
        assert_rc(kr_oneshot_new(0, &tx, &c->done), 0);
        server v = {.base = {&server_vt}, .l = c->l, .msg = c->msg, .done = tx};
        assert_rc(kr_spawn_local(&v.base, NULL), 0);
    }
    c->con = kr_tcp_stream_connect(&c->addr, &c->c);
    KR_AWAIT(&c->co, &c->con.base, cx, &c->rc);
    assert_rc(c->rc, 0);
    if (c->msg != NULL) {
        for (;;) { /* read_to_end */
            c->rd = kr_tcp_stream_read(c->c, c->buf + c->got,
                                       sizeof(c->buf) - 1 - c->got);
            KR_AWAIT(&c->co, &c->rd.base, cx, &c->n);
            assert_true(c->n >= 0);
            if (c->n == 0)
                break;
            c->got += (size_t)c->n;
        }
        c->buf[c->got] = 0;
        assert_string_equal(c->buf, c->msg);
    }
    c->r = kr_oneshot_recv_future(c->done, NULL);
    KR_AWAIT(&c->co, &c->r.base, cx, &c->rc);
    assert_rc(c->rc, 0);
    kr_oneshot_rx_drop(c->done);
    c->done = NULL;
    kr_tcp_stream_free(c->c);
    c->c = NULL;
    kr_tcp_listener_free(c->l);
    c->l = NULL;
    KR_ASYNC_END(&c->co);
}
KR_FUTURE_VTABLE(client_vt, client, client_poll, NULL, 0);

static void run_client(const char *msg) {
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    client c = {.base = {&client_vt}, .rt = rt, .msg = msg};
    assert_rc(kr_local_set_block_on(ls, rt, &c.base, NULL), 0);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

static void local_set_block_on_socket(void **state) {
    (void)state;
    run_client(NULL);
}

static void local_set_client_server_block_on(void **state) {
    (void)state;
    run_client("hello");
}

/* Local tasks follow a paused clock: an hour's sleep in a local task ends
 * at once, by auto-advance, an hour later on the clock (the current-thread
 * runtime started paused, whatever the test flavor). */
static void local_tasks_follow_the_paused_clock(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.start_paused = true;
    kr_runtime *rt;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    atomic_long count = 0;
    for (int i = 1; i <= 3; i++) {
        local_check lc = check_make(&count, 0, i * 3600 * 1000);
        assert_rc(kr_local_set_spawn(ls, &lc.base, NULL), 0);
    }
    struct timespec r0, r1;
    clock_gettime(CLOCK_MONOTONIC, &r0);
    kr_local_set_wait_fut w = kr_local_set_wait(ls);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &r1);
    assert_int_equal(atomic_load(&count), 3);
    assert_true(r1.tv_sec - r0.tv_sec < 60); /* three virtual hours */
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spawn_wakes_localset),
        cmocka_unit_test(sleep_with_local_enter_guard),
        cmocka_unit_test(enter_guard_spawn),
        cmocka_unit_test(local_tasks_follow_the_paused_clock),
        cmocka_unit_test(run_until_does_not_get_own_budget),
        cmocka_unit_test(spawn_local_outside_a_set),
        cmocka_unit_test(set_is_owned_by_its_thread),
        cmocka_unit_test(wakes_from_other_threads),
        cmocka_unit_test(set_awaited_in_a_task),
        cmocka_unit_test(abort_local_task_from_another_thread),
        cmocka_unit_test(local_set_block_on_socket),
        cmocka_unit_test(local_set_client_server_block_on),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
