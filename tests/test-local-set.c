/*
 * Local task sets (kairo/local_set.h), part 1. Ported from Tokio's
 * tests/task_local_set.rs, each test named after the Tokio test it
 * follows; the thread-local "on the runtime thread" flag of Tokio's tests
 * is `on_set_thread` here. Run on both runtimes: the set is always run
 * from the block_on future, on the test's thread.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test-local-set.h"

/* Spawns `n` local_checks with kr_spawn_local and awaits them all. */
typedef struct {
    kr_future base;
    kr_coro co;
    int n, i, yields, sleep_ms;
    atomic_long *count;
    kr_join_handle *h;
} spawn_n;

static kr_poll spawn_n_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_n *s = (spawn_n *)f;
    (void)out;
    KR_ASYNC_BEGIN(&s->co);
    assert_true(on_set_thread);
    assert_true(kr_local_set_is_entered());
    for (s->i = 0; s->i < s->n; s->i++) {
        local_check c = check_make(s->count, s->yields, s->sleep_ms);
        assert_rc(kr_spawn_local(&c.base, &s->h[s->i]), 0);
    }
    for (s->i = 0; s->i < s->n; s->i++) {
        KR_AWAIT(&s->co, &s->h[s->i].base, cx, NULL);
        assert_rc(kr_join_handle_error(&s->h[s->i]), 0);
    }
    KR_ASYNC_END(&s->co);
}
static void spawn_n_drop(kr_future *f) { kr_coro_drop(&((spawn_n *)f)->co); }
KR_FUTURE_VTABLE(spawn_n_vt, spawn_n, spawn_n_poll, spawn_n_drop, 0);

static void run_spawn_n(int n, int yields, int sleep_ms) {
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    atomic_long count = 0;
    kr_join_handle *h = calloc((size_t)n, sizeof(*h));
    spawn_n s = {.base = {&spawn_n_vt},
                 .n = n,
                 .yields = yields,
                 .sleep_ms = sleep_ms,
                 .count = &count,
                 .h = h};
    assert_rc(kr_local_set_block_on(ls, rt, &s.base, NULL), 0);
    assert_int_equal(atomic_load(&count), n);
    assert_int_equal(kr_local_set_len(ls), 0);
    assert_rc(kr_local_set_free(ls), 0);
    free(h);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* ======================================================================== */

static void local_current_thread_scheduler(void **state) {
    (void)state;
    run_spawn_n(1, 0, 0);
}

static void local_threadpool(void **state) {
    (void)state;
    run_spawn_n(1, 1, 0);
}

static void local_threadpool_timer(void **state) {
    (void)state;
    run_spawn_n(1, 0, 10);
}

static void all_spawns_are_local(void **state) {
    (void)state;
    run_spawn_n(128, 0, 0);
}

/* Awaiting the set itself (kr_local_set_wait), with tasks spawned into it
 * before it runs. */
static void run_set_future(int n, int yields, int sleep_ms, long expect) {
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    atomic_long count = 0;
    for (int i = 0; i < n; i++) {
        local_check c = check_make(&count, yields, sleep_ms * (i + 1));
        assert_rc(kr_local_set_spawn(ls, &c.base, NULL), 0);
    }
    assert_int_equal(kr_local_set_len(ls), n);
    kr_local_set_wait_fut w = kr_local_set_wait(ls);
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &w.base, &rc), 0);
    assert_rc(rc, 0);
    assert_int_equal(atomic_load(&count), expect);
    assert_int_equal(kr_local_set_len(ls), 0);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

static void localset_future_threadpool(void **state) {
    (void)state;
    run_set_future(1, 0, 0, 1);
}

static void localset_future_timers(void **state) {
    (void)state;
    run_set_future(2, 0, 5, 2); /* 5 and 10 ms */
}

/* A local task that spawns another (which yields), both run by awaiting
 * the set. */
typedef struct {
    kr_future base;
    kr_coro co;
    atomic_long *count;
} spawner;
static kr_poll spawner_poll(kr_future *f, kr_context *cx, void *out) {
    spawner *s = (spawner *)f;
    (void)out;
    KR_ASYNC_BEGIN(&s->co);
    {
        local_check c = check_make(s->count, 1, 0);
        assert_rc(kr_spawn_local(&c.base, NULL), 0);
    }
    KR_YIELD(&s->co, cx);
    atomic_fetch_add(s->count, 1);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spawner_vt, spawner, spawner_poll, NULL, 0);

static void localset_future_drives_all_local_futs(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    atomic_long count = 0;
    spawner sp = {.base = {&spawner_vt}, .count = &count};
    assert_rc(kr_local_set_spawn(ls, &sp.base, NULL), 0);
    local_check c = check_make(&count, 1, 0);
    assert_rc(kr_local_set_spawn(ls, &c.base, NULL), 0);
    kr_local_set_wait_fut w = kr_local_set_wait(ls);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    assert_int_equal(atomic_load(&count), 3); /* RAN1, RAN2, RAN3 */
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* ---- spawn_blocking from a local task ----------------------------------- */

static void *blocking_not_on_set_thread(void *arg) {
    (void)arg;
    /* Tokio: "blocking must not run on the local task set's thread". */
    return on_set_thread ? (void *)1 : (void *)2;
}

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle h;
    void *res;
} blocker;
static kr_poll blocker_poll(kr_future *f, kr_context *cx, void *out) {
    blocker *b = (blocker *)f;
    (void)out;
    KR_ASYNC_BEGIN(&b->co);
    assert_true(on_set_thread);
    assert_rc(kr_spawn_blocking(blocking_not_on_set_thread, NULL, &b->h), 0);
    KR_AWAIT(&b->co, &b->h.base, cx, &b->res);
    assert_ptr_equal(b->res, (void *)2);
    assert_true(on_set_thread);
    KR_ASYNC_END(&b->co);
}
KR_FUTURE_VTABLE(blocker_vt, blocker, blocker_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_future *child; /* spawned local, then awaited */
    kr_join_handle h;
} spawn_one;
static kr_poll spawn_one_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_one *s = (spawn_one *)f;
    (void)out;
    KR_ASYNC_BEGIN(&s->co);
    assert_true(on_set_thread);
    assert_rc(kr_spawn_local(s->child, &s->h), 0);
    KR_AWAIT(&s->co, &s->h.base, cx, NULL);
    assert_rc(kr_join_handle_error(&s->h), 0);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spawn_one_vt, spawn_one, spawn_one_poll, NULL, 0);

static void local_threadpool_blocking_run(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    blocker b = {.base = {&blocker_vt}};
    spawn_one s = {.base = {&spawn_one_vt}, .child = &b.base};
    assert_rc(kr_local_set_block_on(ls, rt, &s.base, NULL), 0);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* ---- nested_spawn_is_local: four levels deep ---------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    int depth;
    atomic_long *count;
    kr_join_handle h;
} nest;
static kr_poll nest_poll(kr_future *f, kr_context *cx, void *out);
KR_FUTURE_VTABLE(nest_vt, nest, nest_poll, NULL, 0);
static kr_poll nest_poll(kr_future *f, kr_context *cx, void *out) {
    nest *n = (nest *)f;
    (void)out;
    KR_ASYNC_BEGIN(&n->co);
    assert_true(on_set_thread);
    atomic_fetch_add(n->count, 1);
    if (n->depth > 0) {
        {
            nest child = {
                .base = {&nest_vt}, .depth = n->depth - 1, .count = n->count};
            assert_rc(kr_spawn_local(&child.base, &n->h), 0);
        }
        KR_AWAIT(&n->co, &n->h.base, cx, NULL);
        assert_rc(kr_join_handle_error(&n->h), 0);
    }
    KR_ASYNC_END(&n->co);
}

static void nested_spawn_is_local(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    atomic_long count = 0;
    nest n = {.base = {&nest_vt}, .depth = 4, .count = &count};
    assert_rc(kr_local_set_block_on(ls, rt, &n.base, NULL), 0);
    assert_int_equal(atomic_load(&count), 5);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* ---- join_local_future_elsewhere ---------------------------------------- */

/* Local: waits for the oneshot, then returns 42. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_recv r;
    int rc;
} waits_rx;
static kr_poll waits_rx_poll(kr_future *f, kr_context *cx, void *out) {
    waits_rx *w = (waits_rx *)f;
    KR_ASYNC_BEGIN(&w->co);
    /* "local task must run on local thread, no matter where it is
     * awaited" */
    assert_true(on_set_thread);
    w->r = kr_oneshot_recv_future(w->rx, NULL);
    KR_AWAIT(&w->co, &w->r.base, cx, &w->rc);
    assert_rc(w->rc, 0);
    assert_true(on_set_thread);
    KR_RETURN(&w->co, out, int, 42);
    KR_ASYNC_END(&w->co);
}
static void waits_rx_drop(kr_future *f) {
    waits_rx *w = (waits_rx *)f;
    kr_coro_drop(&w->co);
    kr_oneshot_rx_drop(w->rx);
}
KR_FUTURE_VTABLE(waits_rx_vt, waits_rx, waits_rx_poll, waits_rx_drop,
                 sizeof(int));

/* A runtime task: sends, then awaits the local task's join handle. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_tx *tx;
    kr_join_handle local;
    int v;
} joins_elsewhere;
static kr_poll joins_elsewhere_poll(kr_future *f, kr_context *cx, void *out) {
    joins_elsewhere *j = (joins_elsewhere *)f;
    KR_ASYNC_BEGIN(&j->co);
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD)
        assert_false(on_set_thread); /* "spawned task should be on a worker" */
    assert_rc(kr_oneshot_send(j->tx, NULL), 0);
    KR_AWAIT(&j->co, &j->local.base, cx, &j->v);
    assert_rc(kr_join_handle_error(&j->local), 0);
    KR_RETURN(&j->co, out, int, j->v);
    KR_ASYNC_END(&j->co);
}
KR_FUTURE_VTABLE(joins_elsewhere_vt, joins_elsewhere, joins_elsewhere_poll,
                 NULL, sizeof(int));

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle h2;
    int v;
} join_main;
static kr_poll join_main_poll(kr_future *f, kr_context *cx, void *out) {
    join_main *m = (join_main *)f;
    (void)out;
    KR_ASYNC_BEGIN(&m->co);
    {
        kr_oneshot_tx *tx;
        kr_oneshot_rx *rx;
        assert_rc(kr_oneshot_new(0, &tx, &rx), 0);
        waits_rx w = {.base = {&waits_rx_vt}, .rx = rx};
        joins_elsewhere j = {.base = {&joins_elsewhere_vt}, .tx = tx};
        assert_rc(kr_spawn_local(&w.base, &j.local), 0);
        assert_rc(kr_spawn(&j.base, &m->h2), 0); /* the handle moves */
    }
    KR_AWAIT(&m->co, &m->h2.base, cx, &m->v);
    assert_rc(kr_join_handle_error(&m->h2), 0);
    assert_int_equal(m->v, 42);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(join_main_vt, join_main, join_main_poll, NULL, 0);

static void join_local_future_elsewhere(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    join_main m = {.base = {&join_main_vt}};
    assert_rc(kr_local_set_block_on(ls, rt, &m.base, NULL), 0);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* ---- a set in a thread-local, run from another thread ------------------- */

static __thread kr_local_set *thread_set;

typedef struct {
    kr_runtime *rt;
    kr_oneshot_rx *rx;
    int rc, free_rc;
} tl_arg;

static void *localset_thread(void *p) {
    tl_arg *a = p;
    assert_rc(kr_local_set_new(&thread_set), 0);
    kr_oneshot_recv r = kr_oneshot_recv_future(a->rx, NULL);
    a->rc = kr_local_set_block_on(thread_set, a->rt, &r.base, NULL);
    kr_oneshot_rx_drop(a->rx);
    a->free_rc = kr_local_set_free(thread_set);
    return NULL;
}

static void localset_in_thread_local(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_oneshot_tx *tx;
    tl_arg a = {.rt = rt, .rc = -1, .free_rc = -1};
    assert_rc(kr_oneshot_new(0, &tx, &a.rx), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, localset_thread, &a), 0);
    test_sleep_ms(20);
    kr_oneshot_tx_drop(tx); /* the receive ends (KR_ECLOSED) */
    pthread_join(th, NULL);
    assert_rc(a.rc, 0);
    assert_rc(a.free_rc, 0);
    test_runtime_free(rt);
}

/* store_local_set_in_thread_local_with_runtime: a thread-local holding a
 * current-thread runtime and a set; a method block_on's a run_until that
 * spawns a local task (left in the set, dropped with it). */
static __thread struct {
    kr_runtime *rt;
    kr_local_set *ls;
} current;

static kr_poll spawn_empty_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx, (void)out;
    local_check c = check_make(NULL, 0, 0);
    on_set_thread = true;
    assert_rc(kr_spawn_local(&c.base, NULL), 0);
    return KR_READY;
}
KR_FUTURE_VTABLE(spawn_empty_vt, kr_future, spawn_empty_poll, NULL, 0);

static void *store_thread(void *p) {
    (void)p;
    assert_rc(kr_runtime_new(NULL, &current.rt), 0);
    assert_rc(kr_local_set_new(&current.ls), 0);
    kr_future f = {&spawn_empty_vt};
    assert_rc(kr_local_set_block_on(current.ls, current.rt, &f, NULL), 0);
    assert_int_equal(kr_local_set_len(current.ls), 1); /* never ran */
    assert_rc(kr_local_set_free(current.ls), 0);
    kr_runtime_free(current.rt);
    return NULL;
}

static void store_local_set_in_thread_local_with_runtime(void **state) {
    (void)state;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, store_thread, NULL), 0);
    pthread_join(th, NULL);
}

/* ---- drops ---------------------------------------------------------------- */

static void drop_cancels_tasks(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    long refs = 2;
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(0, &tx, &rx), 0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    holder h = {.base = {&holder_vt}, .refs = &refs, .started = tx};
    kr_join_handle jh;
    assert_rc(kr_local_set_spawn(ls, &h.base, &jh), 0);
    kr_oneshot_recv r = kr_oneshot_recv_future(rx, NULL);
    assert_rc(kr_local_set_block_on(ls, rt, &r.base, NULL), 0);
    assert_int_equal(refs, 2);
    dropped_on = NULL;
    assert_rc(kr_local_set_free(ls), 0);
    assert_int_equal(refs, 1);
    assert_ptr_equal(dropped_on, &thread_id);
    assert_true(kr_join_handle_is_finished(&jh));
    kr_join_handle_drop(&jh);
    kr_oneshot_rx_drop(rx);
    test_runtime_free(rt);
}

/* Local: receives until the channel ends. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_rx *rx;
    kr_mpsc_recv r;
    int rc;
} recv_loop;
static kr_poll recv_loop_poll(kr_future *f, kr_context *cx, void *out) {
    recv_loop *l = (recv_loop *)f;
    (void)out;
    KR_ASYNC_BEGIN(&l->co);
    do {
        l->r = kr_mpsc_recv_future(l->rx, NULL);
        KR_AWAIT(&l->co, &l->r.base, cx, &l->rc);
    } while (l->rc == 0);
    KR_ASYNC_END(&l->co);
}
static void recv_loop_drop(kr_future *f) {
    recv_loop *l = (recv_loop *)f;
    kr_coro_drop(&l->co);
    kr_mpsc_rx_drop(l->rx);
}
KR_FUTURE_VTABLE(recv_loop_vt, recv_loop, recv_loop_poll, recv_loop_drop, 0);

/* Dropping the last sender wakes the local task from outside the set's
 * run (a remote wake, queued); the free must cancel it and not loop. */
static void drop_cancels_remote_tasks(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_new(1, 1024, &tx, &rx), 0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    recv_loop l = {.base = {&recv_loop_vt}, .rx = rx};
    assert_rc(kr_local_set_spawn(ls, &l.base, NULL), 0);
    kr_sleep s = kr_sleep_for(kr_ms(1));
    assert_rc(kr_local_set_block_on(ls, rt, &s.base, NULL), 0);
    kr_mpsc_tx_drop(tx);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
}

/* ---- local_tasks_wake_join_all ---------------------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle h;
} spawns_empty;
static kr_poll spawns_empty_poll(kr_future *f, kr_context *cx, void *out) {
    spawns_empty *s = (spawns_empty *)f;
    (void)out;
    KR_ASYNC_BEGIN(&s->co);
    {
        local_check c = check_make(NULL, 0, 0);
        assert_rc(kr_spawn_local(&c.base, &s->h), 0);
    }
    KR_AWAIT(&s->co, &s->h.base, cx, NULL);
    assert_rc(kr_join_handle_error(&s->h), 0);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(spawns_empty_vt, spawns_empty, spawns_empty_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle *h;
    int n, i;
} join_all;
static kr_poll join_all_poll(kr_future *f, kr_context *cx, void *out) {
    join_all *j = (join_all *)f;
    (void)out;
    KR_ASYNC_BEGIN(&j->co);
    for (j->i = 0; j->i < j->n; j->i++) {
        KR_AWAIT(&j->co, &j->h[j->i].base, cx, NULL);
        assert_rc(kr_join_handle_error(&j->h[j->i]), 0);
    }
    KR_ASYNC_END(&j->co);
}
KR_FUTURE_VTABLE(join_all_vt, join_all, join_all_poll, NULL, 0);

static void local_tasks_wake_join_all(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    on_set_thread = true;
    enum { N = 128 };
    kr_join_handle h[N];
    for (int i = 0; i < N; i++) {
        spawns_empty s = {.base = {&spawns_empty_vt}};
        assert_rc(kr_local_set_spawn(ls, &s.base, &h[i]), 0);
    }
    join_all j = {.base = {&join_all_vt}, .h = h, .n = N};
    kr_local_run_until ru = kr_local_set_run_until(ls, &j.base, NULL);
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &ru.base, &rc), 0);
    assert_rc(rc, 0);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
    on_set_thread = false;
}

/* ---- local_tasks_are_polled_after_tick ------------------------------------- */

enum { EXPECTED = 500 };
static atomic_long rx1_count, rx2_count;

/* The runtime task: sends EXPECTED receivers over the channel, then
 * fires the senders, then waits for both counters. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_tx *tx;
    kr_oneshot_tx **senders;
    kr_sleep s;
    int i;
} task2;
static kr_poll task2_poll(kr_future *f, kr_context *cx, void *out) {
    task2 *t = (task2 *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    t->s = kr_sleep_for(kr_ms(10));
    KR_AWAIT(&t->co, &t->s.base, cx, NULL);
    for (t->i = 0; t->i < EXPECTED; t->i++) {
        kr_oneshot_rx *orx;
        assert_rc(kr_oneshot_new(0, &t->senders[t->i], &orx), 0);
        assert_rc(kr_mpsc_try_send(t->tx, &orx), 0);
    }
    kr_mpsc_tx_drop(t->tx);
    t->tx = NULL;
    t->s = kr_sleep_for(kr_ms(10));
    KR_AWAIT(&t->co, &t->s.base, cx, NULL);
    for (t->i = 0; t->i < EXPECTED; t->i++)
        assert_rc(kr_oneshot_send(t->senders[t->i], NULL), 0);
    while (atomic_load(&rx1_count) != EXPECTED ||
           atomic_load(&rx2_count) != EXPECTED) {
        t->s = kr_sleep_for(kr_ms(20));
        KR_AWAIT(&t->co, &t->s.base, cx, NULL);
    }
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(task2_vt, task2, task2_poll, NULL, 0);

/* Local: awaits its oneshot, bumps rx2. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_recv r;
    int rc;
} awaits_one;
static kr_poll awaits_one_poll(kr_future *f, kr_context *cx, void *out) {
    awaits_one *a = (awaits_one *)f;
    (void)out;
    KR_ASYNC_BEGIN(&a->co);
    a->r = kr_oneshot_recv_future(a->rx, NULL);
    KR_AWAIT(&a->co, &a->r.base, cx, &a->rc);
    assert_rc(a->rc, 0);
    atomic_fetch_add(&rx2_count, 1);
    KR_ASYNC_END(&a->co);
}
static void awaits_one_drop(kr_future *f) {
    awaits_one *a = (awaits_one *)f;
    kr_coro_drop(&a->co);
    kr_oneshot_rx_drop(a->rx);
}
KR_FUTURE_VTABLE(awaits_one_vt, awaits_one, awaits_one_poll, awaits_one_drop,
                 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_mpsc_rx *rx;
    kr_mpsc_recv r;
    kr_oneshot_rx *got;
    kr_join_handle t2;
    int rc;
} tick_main;
static kr_poll tick_main_poll(kr_future *f, kr_context *cx, void *out) {
    tick_main *m = (tick_main *)f;
    (void)out;
    KR_ASYNC_BEGIN(&m->co);
    for (;;) {
        m->r = kr_mpsc_recv_future(m->rx, &m->got);
        KR_AWAIT(&m->co, &m->r.base, cx, &m->rc);
        if (m->rc != 0)
            break;
        atomic_fetch_add(&rx1_count, 1);
        {
            awaits_one a = {.base = {&awaits_one_vt}, .rx = m->got};
            assert_rc(kr_spawn_local(&a.base, NULL), 0);
        }
    }
    KR_AWAIT(&m->co, &m->t2.base, cx, NULL);
    assert_rc(kr_join_handle_error(&m->t2), 0);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(tick_main_vt, tick_main, tick_main_poll, NULL, 0);

static void local_tasks_are_polled_after_tick(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    atomic_store(&rx1_count, 0);
    atomic_store(&rx2_count, 0);
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    assert_rc(kr_mpsc_unbounded_new(sizeof(kr_oneshot_rx *), &tx, &rx), 0);
    kr_oneshot_tx **senders = calloc(EXPECTED, sizeof(*senders));
    task2 t = {.base = {&task2_vt}, .tx = tx, .senders = senders};
    tick_main m = {.base = {&tick_main_vt}, .rx = rx};
    assert_rc(kr_runtime_spawn(rt, &t.base, &m.t2), 0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    assert_rc(kr_local_set_block_on(ls, rt, &m.base, NULL), 0);
    assert_int_equal(atomic_load(&rx1_count), EXPECTED);
    assert_int_equal(atomic_load(&rx2_count), EXPECTED);
    assert_rc(kr_local_set_free(ls), 0);
    kr_mpsc_rx_drop(rx);
    free(senders);
    test_runtime_free(rt);
}

/* ---- acquire_mutex_in_drop ---------------------------------------------------- */

/* Awaits rx (must never complete: the test drops the set first), then
 * sends tx if it has one. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_tx *tx;
    kr_oneshot_recv r;
    int rc;
} relay;
static kr_poll relay_poll(kr_future *f, kr_context *cx, void *out) {
    relay *r = (relay *)f;
    (void)out;
    KR_ASYNC_BEGIN(&r->co);
    if (r->rx != NULL) {
        r->r = kr_oneshot_recv_future(r->rx, NULL);
        KR_AWAIT(&r->co, &r->r.base, cx, &r->rc);
        /* Woken by the drop of the sender in the set's free: the set is
         * being freed, so this poll must never happen. */
        fail_msg("relay ran after its sender was dropped");
    }
    KR_ASYNC_END(&r->co);
}
static void relay_drop(kr_future *f) {
    relay *r = (relay *)f;
    kr_coro_drop(&r->co);
    kr_oneshot_rx_drop(r->rx);
    kr_oneshot_tx_drop(r->tx); /* wakes the next relay: a local wake */
}
KR_FUTURE_VTABLE(relay_vt, relay, relay_poll, relay_drop, 0);

typedef struct {
    kr_future base;
    kr_oneshot_tx *tx;
} never;
static kr_poll never_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx, (void)out;
    return KR_PENDING; /* pending::<()>() */
}
static void never_drop(kr_future *f) { kr_oneshot_tx_drop(((never *)f)->tx); }
KR_FUTURE_VTABLE(never_vt, never, never_poll, never_drop, 0);

static void acquire_mutex_in_drop(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_oneshot_tx *tx1, *tx2;
    kr_oneshot_rx *rx1, *rx2;
    assert_rc(kr_oneshot_new(0, &tx1, &rx1), 0);
    assert_rc(kr_oneshot_new(0, &tx2, &rx2), 0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    relay a = {.base = {&relay_vt}, .rx = rx2};
    relay b = {.base = {&relay_vt}, .rx = rx1, .tx = tx2};
    never c = {.base = {&never_vt}, .tx = tx1};
    assert_rc(kr_local_set_spawn(ls, &a.base, NULL), 0);
    assert_rc(kr_local_set_spawn(ls, &b.base, NULL), 0);
    assert_rc(kr_local_set_spawn(ls, &c.base, NULL), 0);
    yield_once y = {.base = {&yield_once_vt}};
    assert_rc(kr_local_set_block_on(ls, rt, &y.base, NULL), 0);
    assert_int_equal(kr_local_set_len(ls), 3);
    assert_rc(kr_local_set_free(ls), 0);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_current_thread_scheduler),
        cmocka_unit_test(local_threadpool),
        cmocka_unit_test(localset_future_threadpool),
        cmocka_unit_test(localset_future_timers),
        cmocka_unit_test(localset_future_drives_all_local_futs),
        cmocka_unit_test(local_threadpool_timer),
        cmocka_unit_test(local_threadpool_blocking_run),
        cmocka_unit_test(all_spawns_are_local),
        cmocka_unit_test(nested_spawn_is_local),
        cmocka_unit_test(join_local_future_elsewhere),
        cmocka_unit_test(localset_in_thread_local),
        cmocka_unit_test(drop_cancels_tasks),
        cmocka_unit_test(drop_cancels_remote_tasks),
        cmocka_unit_test(local_tasks_wake_join_all),
        cmocka_unit_test(local_tasks_are_polled_after_tick),
        cmocka_unit_test(acquire_mutex_in_drop),
        cmocka_unit_test(store_local_set_in_thread_local_with_runtime),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
