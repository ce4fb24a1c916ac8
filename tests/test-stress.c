/*
 * Scheduler stress with counts checked at the end. KR_TEST_FLAVORS: ct mt
 *
 * Cross-worker wakes, ping-pong pairs, abort racing completion, join-handle
 * drop racing completion, wakes racing shutdown, spawns from outside
 * threads while workers steal.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "test.h"

/* ---- a future woken N times by its peer ------------------------------ */

/* A "mailbox" future: waits until `*flag` is set, then clears it. Its waker
 * is published through an atomic slot so any thread can wake it. */
typedef struct mailbox {
    atomic_int flag;
    pthread_mutex_t lock;
    kr_waker waker;
} mailbox;

static void mailbox_init(mailbox *m) {
    atomic_init(&m->flag, 0);
    pthread_mutex_init(&m->lock, NULL);
    m->waker.vtable = NULL;
}

static void mailbox_post(mailbox *m) {
    atomic_store(&m->flag, 1);
    pthread_mutex_lock(&m->lock);
    kr_waker w = m->waker;
    m->waker.vtable = NULL;
    pthread_mutex_unlock(&m->lock);
    if (w.vtable != NULL)
        kr_waker_wake(w);
}

typedef struct {
    kr_future base;
    mailbox *m;
} wait_fut;

static kr_poll wait_poll(kr_future *f, kr_context *cx, void *out) {
    wait_fut *w = (wait_fut *)f;
    if (atomic_exchange(&w->m->flag, 0))
        return KR_READY;
    pthread_mutex_lock(&w->m->lock);
    kr_waker_set(&w->m->waker, cx->waker);
    pthread_mutex_unlock(&w->m->lock);
    if (atomic_exchange(&w->m->flag, 0)) /* posted while registering */
        return KR_READY;
    return KR_PENDING;
}
KR_FUTURE_VTABLE(wait_vt, wait_fut, wait_poll, NULL, 0);

/* Player i waits on box[i], then posts box[1-i]; n rounds each. */
typedef struct {
    kr_future base;
    kr_coro co;
    mailbox *mine, *theirs;
    wait_fut w;
    long i, n;
    int first;
} player;

static kr_poll player_poll(kr_future *f, kr_context *cx, void *out) {
    player *p = (player *)f;
    KR_ASYNC_BEGIN(&p->co);
    for (p->i = 0; p->i < p->n; p->i++) {
        if (p->first && p->i == 0)
            mailbox_post(p->theirs);
        p->w = (wait_fut){{&wait_vt}, p->mine};
        KR_AWAIT(&p->co, &p->w.base, cx, NULL);
        if (!(p->first && p->i == p->n - 1))
            mailbox_post(p->theirs);
    }
    KR_RETURN(&p->co, out, long, p->i);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(player_vt, player, player_poll, NULL, sizeof(long));

/* ---- a root future awaiting a set of join handles -------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle *h;
    long n, k, sum, v;
} join_all;

static kr_poll join_all_poll(kr_future *f, kr_context *cx, void *out) {
    join_all *j = (join_all *)f;
    KR_ASYNC_BEGIN(&j->co);
    for (j->k = 0; j->k < j->n; j->k++) {
        j->v = 0;
        KR_AWAIT(&j->co, &j->h[j->k].base, cx, &j->v);
        j->sum += j->v;
    }
    KR_RETURN(&j->co, out, long, j->sum);
    KR_ASYNC_END(&j->co);
}
KR_FUTURE_VTABLE(join_all_vt, join_all, join_all_poll, NULL, sizeof(long));

static long await_all(kr_runtime *rt, kr_join_handle *h, long n) {
    join_all j = {.base = {&join_all_vt}, .h = h, .n = n};
    long sum = -1;
    assert_rc(kr_runtime_block_on(rt, &j.base, &sum), 0);
    return sum;
}

/* 10^6 cross-task wakes: 500 pairs of players x 1000 rounds each side.
 * Every wake comes from another task, usually on another worker; a lost
 * wakeup hangs the test (ctest's timeout fails it). */
static void cross_worker_wakes(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    long pairs = 500, rounds = test_scale(1000);
    mailbox *boxes = calloc(2 * pairs, sizeof(*boxes));
    kr_join_handle *h = calloc(2 * pairs, sizeof(*h));
    for (long i = 0; i < 2 * pairs; i++)
        mailbox_init(&boxes[i]);
    for (long i = 0; i < pairs; i++) {
        player a = {.base = {&player_vt},
                    .mine = &boxes[2 * i],
                    .theirs = &boxes[2 * i + 1],
                    .n = rounds,
                    .first = 1};
        player b = {.base = {&player_vt},
                    .mine = &boxes[2 * i + 1],
                    .theirs = &boxes[2 * i],
                    .n = rounds,
                    .first = 0};
        assert_rc(kr_runtime_spawn(rt, &a.base, &h[2 * i]), 0);
        assert_rc(kr_runtime_spawn(rt, &b.base, &h[2 * i + 1]), 0);
    }
    assert_int_equal(await_all(rt, h, 2 * pairs), 2 * pairs * rounds);
    test_runtime_free(rt);
    for (long i = 0; i < 2 * pairs; i++)
        pthread_mutex_destroy(&boxes[i].lock);
    free(boxes);
    free(h);
}

/* ---- ping-pong over oneshots ----------------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_tx *tx;
    kr_oneshot_recv r;
    int v, rc;
} pong;

static kr_poll pong_poll(kr_future *f, kr_context *cx, void *out) {
    pong *p = (pong *)f;
    KR_ASYNC_BEGIN(&p->co);
    p->r = kr_oneshot_recv_future(p->rx, &p->v);
    KR_AWAIT(&p->co, &p->r.base, cx, &p->rc);
    assert_int_equal(p->rc, 0);
    kr_oneshot_rx_drop(p->rx);
    p->v++;
    assert_rc(kr_oneshot_send(p->tx, &p->v), 0);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(pong_vt, pong, pong_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_tx *tx1;
    kr_oneshot_rx *rx1, *rx2;
    kr_oneshot_tx *tx2;
    kr_oneshot_recv r;
    kr_join_handle child;
    int v, rc, seed;
} ping;

static kr_poll ping_poll(kr_future *f, kr_context *cx, void *out) {
    ping *p = (ping *)f;
    KR_ASYNC_BEGIN(&p->co);
    assert_rc(kr_oneshot_new(sizeof(int), &p->tx1, &p->rx1), 0);
    assert_rc(kr_oneshot_new(sizeof(int), &p->tx2, &p->rx2), 0);
    {
        pong c = {.base = {&pong_vt}, .rx = p->rx1, .tx = p->tx2};
        assert_rc(kr_spawn(&c.base, &p->child), 0);
    }
    assert_rc(kr_oneshot_send(p->tx1, &p->seed), 0);
    p->r = kr_oneshot_recv_future(p->rx2, &p->v);
    KR_AWAIT(&p->co, &p->r.base, cx, &p->rc);
    assert_int_equal(p->rc, 0);
    kr_oneshot_rx_drop(p->rx2);
    KR_AWAIT(&p->co, &p->child.base, cx, NULL);
    KR_RETURN(&p->co, out, long, (long)p->v);
    KR_ASYNC_END(&p->co);
}
KR_FUTURE_VTABLE(ping_vt, ping, ping_poll, NULL, sizeof(long));

static void ping_pong_pairs(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    long n = test_scale(100000), expect = 0;
    kr_join_handle *h = calloc(n, sizeof(*h));
    for (long i = 0; i < n; i++) {
        ping p = {.base = {&ping_vt}, .seed = (int)(i % 1000)};
        expect += i % 1000 + 1;
        assert_rc(kr_runtime_spawn(rt, &p.base, &h[i]), 0);
    }
    assert_int_equal(await_all(rt, h, n), expect);
    test_runtime_free(rt);
    free(h);
}

/* ---- races against completion ---------------------------------------- */

static atomic_long drops;

typedef struct {
    kr_future base;
    int polls, yields;
} quick;

static kr_poll quick_poll(kr_future *f, kr_context *cx, void *out) {
    quick *q = (quick *)f;
    if (q->polls++ < q->yields) {
        kr_waker_wake_by_ref(cx->waker);
        return KR_PENDING;
    }
    *(long *)out = 7;
    return KR_READY;
}
static void quick_drop(kr_future *f) { atomic_fetch_add(&drops, 1); }
KR_FUTURE_VTABLE(quick_vt, quick, quick_poll, quick_drop, sizeof(long));

/* Abort from the outside while the task may be completing: each task ends
 * exactly one way (output 7, or cancelled with zeroes), its future is
 * dropped exactly once. */
static void abort_races_completion(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    long n = test_scale(20000);
    atomic_store(&drops, 0);
    kr_join_handle *h = calloc(n, sizeof(*h));
    for (long i = 0; i < n; i++) {
        quick q = {.base = {&quick_vt}, .yields = (int)(i % 3)};
        assert_rc(kr_runtime_spawn(rt, &q.base, &h[i]), 0);
        if (i >= 8)
            assert_rc(kr_join_handle_abort(&h[i - 8]), 0);
    }
    for (long i = n - 8; i < n; i++)
        assert_rc(kr_join_handle_abort(&h[i]), 0);
    long done = 0, cancelled = 0;
    for (long i = 0; i < n; i++) {
        long v = -1;
        assert_rc(kr_runtime_block_on(rt, &h[i].base, &v), 0);
        int err = kr_join_handle_error(&h[i]);
        if (err == 0) {
            assert_int_equal(v, 7);
            done++;
        } else {
            assert_int_equal(err, KR_ECANCELED);
            assert_int_equal(v, 0);
            cancelled++;
        }
    }
    assert_int_equal(done + cancelled, n);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&drops), n);
    free(h);
}

/* Drop join handles while their tasks complete on workers. */
static void join_drop_races_completion(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    long n = test_scale(50000);
    atomic_store(&drops, 0);
    for (long i = 0; i < n; i++) {
        kr_join_handle h;
        quick q = {.base = {&quick_vt}, .yields = (int)(i % 2)};
        assert_rc(kr_runtime_spawn(rt, &q.base, &h), 0);
        kr_join_handle_drop(&h);
    }
    /* Wait for all to have run: a final task joined from block_on. */
    kr_join_handle last;
    quick q = {.base = {&quick_vt}};
    assert_rc(kr_runtime_spawn(rt, &q.base, &last), 0);
    assert_rc(kr_runtime_block_on(rt, &last.base, NULL), 0);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&drops), n + 1);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- wakes racing shutdown ------------------------------------------- */

typedef struct {
    kr_runtime *rt;
    mailbox *boxes;
    long n;
    atomic_int *stop;
} waker_arg;

static void *waker_thread(void *p) {
    waker_arg *a = p;
    long i = 0;
    while (!atomic_load(a->stop)) {
        mailbox_post(&a->boxes[i % a->n]);
        i++;
    }
    for (long k = 0; k < a->n; k++)
        mailbox_post(&a->boxes[k]);
    return NULL;
}

typedef struct {
    kr_future base;
    kr_coro co;
    mailbox *m;
    wait_fut w;
} looper;

static kr_poll looper_poll(kr_future *f, kr_context *cx, void *out) {
    looper *l = (looper *)f;
    KR_ASYNC_BEGIN(&l->co);
    for (;;) {
        l->w = (wait_fut){{&wait_vt}, l->m};
        KR_AWAIT(&l->co, &l->w.base, cx, NULL);
    }
    KR_ASYNC_END(&l->co);
}
static void looper_drop(kr_future *f) { atomic_fetch_add(&drops, 1); }
KR_FUTURE_VTABLE(looper_vt, looper, looper_poll, looper_drop, 0);

static void wakes_race_shutdown(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    long n = 1000;
    atomic_store(&drops, 0);
    mailbox *boxes = calloc(n, sizeof(*boxes));
    for (long i = 0; i < n; i++) {
        mailbox_init(&boxes[i]);
        looper l = {.base = {&looper_vt}, .m = &boxes[i]};
        assert_rc(kr_runtime_spawn(rt, &l.base, NULL), 0);
    }
    atomic_int stop = 0;
    waker_arg a = {rt, boxes, n, &stop};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, waker_thread, &a);
    /* Let the wakes flow (on ct nothing polls until shutdown: the wakes
     * land in the inject queue, which the shutdown drains). */
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_rc(kr_runtime_shutdown(rt), 0);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&drops), n);
    kr_runtime_free(rt);
    for (long i = 0; i < n; i++) {
        kr_waker_reset(&boxes[i].waker); /* wakers kept past the runtime */
        pthread_mutex_destroy(&boxes[i].lock);
    }
    free(boxes);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- spawns from outside threads while workers steal ----------------- */

typedef struct {
    kr_runtime *rt;
    kr_join_handle *h;
    long n;
    pthread_barrier_t *bar;
} spawner_arg;

static void *spawner(void *p) {
    spawner_arg *a = p;
    pthread_barrier_wait(a->bar);
    for (long i = 0; i < a->n; i++) {
        quick q = {.base = {&quick_vt}, .yields = (int)(i % 4)};
        assert_rc(kr_runtime_spawn(a->rt, &q.base, &a->h[i]), 0);
    }
    return NULL;
}

static void outside_spawners(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    enum { T = 8 };
    long per = test_scale(20000);
    atomic_store(&drops, 0);
    kr_join_handle *h = calloc(T * per, sizeof(*h));
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, T);
    pthread_t th[T];
    spawner_arg a[T];
    for (int i = 0; i < T; i++) {
        a[i] = (spawner_arg){rt, h + i * per, per, &bar};
        pthread_create(&th[i], NULL, spawner, &a[i]);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    assert_int_equal(await_all(rt, h, T * per), 7 * T * per);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&drops), T * per);
    free(h);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cross_worker_wakes),
    cmocka_unit_test(ping_pong_pairs),
    cmocka_unit_test(abort_races_completion),
    cmocka_unit_test(join_drop_races_completion),
    cmocka_unit_test(wakes_race_shutdown),
    cmocka_unit_test(outside_spawners),
};
KR_TEST_MAIN(tests)
