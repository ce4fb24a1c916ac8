/*
 * Local task sets (kairo/local_set.h). Ported from Tokio's
 * tests/task_local_set.rs, each test named after the Tokio test it
 * follows; the thread-local "on the runtime thread" flag of Tokio's tests
 * is `on_set_thread` here. Run on both runtimes: the set is always run
 * from the block_on future, on the test's thread.
 * KR_TEST_FLAVORS: ct mt
 */
#include <pthread.h>
#include <sched.h>

#include "test.h"

static __thread bool on_set_thread;

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

static kr_poll local_check_poll(kr_future *f, kr_context *cx, void *out) {
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
static void local_check_drop(kr_future *f) {
    kr_coro_drop(&((local_check *)f)->co);
}
KR_FUTURE_VTABLE(local_check_vt, local_check, local_check_poll,
                 local_check_drop, 0);

static local_check check_make(atomic_long *count, int yields, int sleep_ms) {
    local_check c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &local_check_vt;
    c.count = count;
    c.yields = yields;
    c.sleep_ms = sleep_ms;
    return c;
}

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

/* A future that holds a "reference" (Tokio's Rc clone): its drop gives it
 * back. It signals `started`, then waits forever. */
typedef struct {
    kr_future base;
    long *refs;
    kr_oneshot_tx *started;
    const void *thread; /* where it was dropped */
} holder;
static __thread char thread_id;
static const void *dropped_on;
static kr_poll holder_poll(kr_future *f, kr_context *cx, void *out) {
    holder *h = (holder *)f;
    (void)cx, (void)out;
    if (h->started != NULL) {
        assert_rc(kr_oneshot_send(h->started, NULL), 0);
        h->started = NULL;
    }
    return KR_PENDING;
}
static void holder_drop(kr_future *f) {
    holder *h = (holder *)f;
    (*h->refs)--; /* not atomic: it must be dropped on the set's thread */
    dropped_on = &thread_id;
    kr_oneshot_tx_drop(h->started);
}
KR_FUTURE_VTABLE(holder_vt, holder, holder_poll, holder_drop, 0);

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

/* yield_now(): pending once (waking itself), then ready. */
typedef struct {
    kr_future base;
    int done;
} yield_once;
static kr_poll yield_once_poll(kr_future *f, kr_context *cx, void *out) {
    yield_once *y = (yield_once *)f;
    (void)out;
    if (y->done)
        return KR_READY;
    y->done = 1;
    kr_waker_wake_by_ref(cx->waker);
    return KR_PENDING;
}
KR_FUTURE_VTABLE(yield_once_vt, yield_once, yield_once_poll, NULL, 0);

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

/* Tokio's enter guard has no kairo equivalent; the point kept is a local
 * task's zero sleep waking it. */
static void sleep_with_local_enter_guard(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_local_set *ls;
    assert_rc(kr_local_set_new(&ls), 0);
    spawn_then_recv m = {.base = {&spawn_then_recv_vt}};
    assert_rc(kr_local_set_block_on(ls, rt, &m.base, NULL), 0);
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
        cmocka_unit_test(spawn_wakes_localset),
        cmocka_unit_test(sleep_with_local_enter_guard),
        cmocka_unit_test(store_local_set_in_thread_local_with_runtime),
        cmocka_unit_test(run_until_does_not_get_own_budget),
        cmocka_unit_test(spawn_local_outside_a_set),
        cmocka_unit_test(set_is_owned_by_its_thread),
        cmocka_unit_test(wakes_from_other_threads),
        cmocka_unit_test(set_awaited_in_a_task),
        cmocka_unit_test(abort_local_task_from_another_thread),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
