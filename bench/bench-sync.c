/*
 * bench/bench-sync.c: the channel benchmarks of Tokio's benches/sync_mpsc.rs
 * (reference/tokio.md §7.6), by name and constants, on a multi-thread
 * runtime of --workers workers (Tokio's own: 6). The _recv_many rows use
 * kr_mpsc_recv_many, which Tokio 1.24 (the peer) does not have.
 *
 * Each benchmark builds its runtime once and frees it after; every runtime
 * here, as the Tokio peer's, has no I/O or timer driver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* sync_mpsc.rs: Medium = [usize; 64], Large = [Medium; 64]. */
#define MEDIUM_BYTES (64 * sizeof(size_t))
#define LARGE_BYTES  (64 * MEDIUM_BYTES)
/* contention/...: producers, and sends per producer. */
#define PRODUCERS    5
#define PER_PRODUCER 1000
#define TOTAL_MSGS   (PRODUCERS * PER_PRODUCER)

/* Tokio's sync benchmarks build their runtimes without enable_io or
 * enable_time: no drivers, so idle workers park on futexes. These do the
 * same (kr_runtime_config.disable_drivers), like for like. */
kr_runtime *bench_mt_runtime(const bench_cfg *cfg, const char *name) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = cfg->workers;
    c.disable_drivers = KR_DRIVERS_ALL;
    kr_runtime *rt = NULL;
    int rc = kr_runtime_new(&c, &rt);
    if (rc != 0) {
        fprintf(stderr, "kairo-bench: %s: skipped (kr_runtime_new: %s)\n", name,
                kr_strerror(rc));
        return NULL;
    }
    return rt;
}

/* The current-thread runtime of the same (no drivers). */
static kr_runtime *ct_runtime(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.disable_drivers = KR_DRIVERS_ALL;
    kr_runtime *rt = NULL;
    BENCH_OK(kr_runtime_new(&c, &rt));
    return rt;
}

/* ---- create_medium/N ---------------------------------------------------- */

static void create_iter(void *arg) {
    size_t cap = *(size_t *)arg;
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    BENCH_OK(kr_mpsc_new(MEDIUM_BYTES, cap, &tx, &rx));
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
}

static void create_medium(const bench_cfg *cfg, const char *name, size_t cap) {
    bench_measure(cfg, name, create_iter, &cap);
}
void mpsc_create_medium_1(const bench_cfg *cfg, const char *name) {
    create_medium(cfg, name, 1);
}
void mpsc_create_medium_100(const bench_cfg *cfg, const char *name) {
    create_medium(cfg, name, 100);
}
void mpsc_create_medium_100000(const bench_cfg *cfg, const char *name) {
    create_medium(cfg, name, 100000);
}

/* ---- send_{medium,large}_1000 --------------------------------------------- */

typedef struct send_bench {
    kr_runtime *rt;
    size_t bytes;
    unsigned char *msg, *dst;
} send_bench;

/* A channel of 1000, then one block_on to send and one to receive. */
static void send_iter(void *arg) {
    send_bench *b = arg;
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    int rc = -1;
    BENCH_OK(kr_mpsc_new(b->bytes, 1000, &tx, &rx));
    kr_mpsc_send s = kr_mpsc_send_future(tx, b->msg);
    BENCH_OK(kr_runtime_block_on(b->rt, &s.base, &rc));
    BENCH_OK(rc);
    kr_mpsc_recv r = kr_mpsc_recv_future(rx, b->dst);
    BENCH_OK(kr_runtime_block_on(b->rt, &r.base, &rc));
    BENCH_OK(rc);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
}

static void send_data(const bench_cfg *cfg, const char *name, size_t bytes) {
    send_bench b = {bench_mt_runtime(cfg, name), bytes, calloc(1, bytes),
                    malloc(bytes)};
    if (b.msg == NULL || b.dst == NULL)
        bench_fail("out of memory");
    if (b.rt != NULL) {
        bench_measure(cfg, name, send_iter, &b);
        kr_runtime_free(b.rt);
    }
    free(b.msg);
    free(b.dst);
}
void mpsc_send_medium_1000(const bench_cfg *cfg, const char *name) {
    send_data(cfg, name, MEDIUM_BYTES);
}
void mpsc_send_large_1000(const bench_cfg *cfg, const char *name) {
    send_data(cfg, name, LARGE_BYTES);
}

/* ---- contention and uncontented --------------------------------------------- */

/* A producer: PER_PRODUCER sends of 0, 1, ... (awaited, or try_send on an
 * unbounded channel); drops its sender at the end. */
typedef struct producer {
    kr_future base;
    kr_coro co;
    kr_mpsc_tx *tx;
    int unbounded;
    size_t i;
    kr_mpsc_send send;
    int rc;
} producer;

static kr_poll producer_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    producer *p = (producer *)f;
    KR_ASYNC_BEGIN(&p->co);
    for (p->i = 0; p->i < PER_PRODUCER; p->i++) {
        if (p->unbounded) {
            BENCH_OK(kr_mpsc_try_send(p->tx, &p->i));
            continue;
        }
        p->send = kr_mpsc_send_future(p->tx, &p->i);
        KR_AWAIT(&p->co, &p->send.base, cx, &p->rc);
        BENCH_OK(p->rc);
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

/* The block_on future: a channel (capacity `cap`, 0: unbounded); with
 * `spawn`, PRODUCERS spawned producers, else this future sends TOTAL_MSGS
 * itself first; then TOTAL_MSGS receives, one at a time or by recv_many. */
typedef struct chan_main {
    kr_future base;
    kr_coro co;
    size_t cap;
    int spawn, many;
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    size_t i, got;
    size_t one;
    size_t *buf;
    union {
        kr_mpsc_send send;
        kr_mpsc_recv recv;
        kr_mpsc_recv_many recv_many;
    } u;
    int rc;
} chan_main;

static kr_poll chan_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    chan_main *m = (chan_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    if (m->cap == 0)
        BENCH_OK(kr_mpsc_unbounded_new(sizeof(size_t), &m->tx, &m->rx));
    else
        BENCH_OK(kr_mpsc_new(sizeof(size_t), m->cap, &m->tx, &m->rx));
    if (m->spawn) {
        for (int k = 0; k < PRODUCERS; k++) {
            producer p;
            memset(&p, 0, sizeof(p));
            p.base.vtable = &producer_vt;
            p.co = (kr_coro)KR_CORO_INIT;
            p.tx = kr_mpsc_tx_clone(m->tx);
            p.unbounded = m->cap == 0;
            BENCH_OK(kr_spawn(&p.base, NULL));
        }
    } else {
        for (m->i = 0; m->i < TOTAL_MSGS; m->i++) {
            if (m->cap == 0) {
                BENCH_OK(kr_mpsc_try_send(m->tx, &m->i));
                continue;
            }
            m->u.send = kr_mpsc_send_future(m->tx, &m->i);
            KR_AWAIT(&m->co, &m->u.send.base, cx, &m->rc);
            BENCH_OK(m->rc);
        }
    }
    for (m->got = 0; m->got < TOTAL_MSGS;) {
        if (m->many) {
            m->u.recv_many = kr_mpsc_recv_many_future(m->rx, m->buf + m->got,
                                                      TOTAL_MSGS - m->got);
            KR_AWAIT(&m->co, &m->u.recv_many.base, cx, &m->rc);
            if (m->rc <= 0)
                bench_fail("recv_many returned %d", m->rc);
            m->got += (size_t)m->rc;
        } else {
            m->u.recv = kr_mpsc_recv_future(m->rx, &m->one);
            KR_AWAIT(&m->co, &m->u.recv.base, cx, &m->rc);
            BENCH_OK(m->rc);
            m->got++;
        }
    }
    kr_mpsc_tx_drop(m->tx);
    kr_mpsc_rx_drop(m->rx);
    m->tx = NULL;
    m->rx = NULL;
    KR_ASYNC_END(&m->co);
}
static void chan_main_drop(kr_future *f) {
    chan_main *m = (chan_main *)f;
    kr_coro_drop(&m->co);
    if (m->tx != NULL)
        kr_mpsc_tx_drop(m->tx);
    if (m->rx != NULL)
        kr_mpsc_rx_drop(m->rx);
}
KR_FUTURE_VTABLE(chan_main_vt, chan_main, chan_main_poll, chan_main_drop, 0);

typedef struct chan_bench {
    kr_runtime *rt;
    size_t cap;
    int spawn, many;
    size_t *buf;
} chan_bench;

static void chan_iter(void *arg) {
    chan_bench *b = arg;
    chan_main m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = &chan_main_vt;
    m.co = (kr_coro)KR_CORO_INIT;
    m.cap = b->cap;
    m.spawn = b->spawn;
    m.many = b->many;
    m.buf = b->buf;
    BENCH_OK(kr_runtime_block_on(b->rt, &m.base, NULL));
}

static void chan_bench_run(const bench_cfg *cfg, const char *name, size_t cap,
                           int spawn, int many) {
    chan_bench b = {bench_mt_runtime(cfg, name), cap, spawn, many,
                    malloc(TOTAL_MSGS * sizeof(size_t))};
    if (b.buf == NULL)
        bench_fail("out of memory");
    if (b.rt != NULL) {
        bench_measure(cfg, name, chan_iter, &b);
        kr_runtime_free(b.rt);
    }
    free(b.buf);
}

#define CHAN_BENCH(fn, cap, spawn, many)                                       \
    void fn(const bench_cfg *cfg, const char *name) {                          \
        chan_bench_run(cfg, name, cap, spawn, many);                           \
    }
CHAN_BENCH(mpsc_contention_bounded, 1000000, 1, 0)
CHAN_BENCH(mpsc_contention_bounded_recv_many, 1000000, 1, 1)
CHAN_BENCH(mpsc_contention_bounded_full, 100, 1, 0)
CHAN_BENCH(mpsc_contention_bounded_full_recv_many, 100, 1, 1)
CHAN_BENCH(mpsc_contention_unbounded, 0, 1, 0)
CHAN_BENCH(mpsc_contention_unbounded_recv_many, 0, 1, 1)
CHAN_BENCH(mpsc_uncontented_bounded, 1000000, 0, 0)
CHAN_BENCH(mpsc_uncontented_bounded_recv_many, 1000000, 0, 1)
CHAN_BENCH(mpsc_uncontented_unbounded, 0, 0, 0)
CHAN_BENCH(mpsc_uncontented_unbounded_recv_many, 0, 0, 1)

/* ---- mpsc_oneshot/request_reply_{ct,mt1} ------------------------------------ */

/* The server: answers every request (a kr_oneshot_tx *) until the channel
 * closes. */
typedef struct server {
    kr_future base;
    kr_coro co;
    kr_mpsc_rx *rx;
    kr_oneshot_tx *reply;
    kr_mpsc_recv recv;
    int rc;
} server;

static kr_poll server_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    server *s = (server *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (;;) {
        s->recv = kr_mpsc_recv_future(s->rx, &s->reply);
        KR_AWAIT(&s->co, &s->recv.base, cx, &s->rc);
        if (s->rc != 0)
            break;
        BENCH_OK(kr_oneshot_send(s->reply, NULL));
    }
    kr_mpsc_rx_drop(s->rx);
    s->rx = NULL;
    KR_ASYNC_END(&s->co);
}
static void server_drop(kr_future *f) {
    server *s = (server *)f;
    kr_coro_drop(&s->co);
    if (s->rx != NULL)
        kr_mpsc_rx_drop(s->rx);
}
KR_FUTURE_VTABLE(server_vt, server, server_poll, server_drop, 0);

/* One iteration: 1000 requests, each a fresh oneshot whose sender goes to
 * the server, then the wait for its reply. */
typedef struct client {
    kr_future base;
    kr_coro co;
    kr_mpsc_tx *tx;
    int i, rc;
    kr_oneshot_tx *otx;
    kr_oneshot_rx *orx;
    union {
        kr_mpsc_send send;
        kr_oneshot_recv recv;
    } u;
} client;

static kr_poll client_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    client *c = (client *)f;
    KR_ASYNC_BEGIN(&c->co);
    for (c->i = 0; c->i < 1000; c->i++) {
        BENCH_OK(kr_oneshot_new(0, &c->otx, &c->orx));
        c->u.send = kr_mpsc_send_future(c->tx, &c->otx);
        KR_AWAIT(&c->co, &c->u.send.base, cx, &c->rc);
        BENCH_OK(c->rc);
        c->u.recv = kr_oneshot_recv_future(c->orx, NULL);
        KR_AWAIT(&c->co, &c->u.recv.base, cx, &c->rc);
        BENCH_OK(c->rc);
        kr_oneshot_rx_drop(c->orx);
        c->orx = NULL;
    }
    KR_ASYNC_END(&c->co);
}
static void client_drop(kr_future *f) {
    client *c = (client *)f;
    kr_coro_drop(&c->co);
    kr_oneshot_rx_drop(c->orx);
}
KR_FUTURE_VTABLE(client_vt, client, client_poll, client_drop, 0);

typedef struct rr_bench {
    kr_runtime *rt;
    kr_mpsc_tx *tx;
} rr_bench;

static void rr_iter(void *arg) {
    rr_bench *b = arg;
    client c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &client_vt;
    c.co = (kr_coro)KR_CORO_INIT;
    c.tx = kr_mpsc_tx_clone(b->tx);
    BENCH_OK(kr_runtime_block_on(b->rt, &c.base, NULL));
    kr_mpsc_tx_drop(c.tx);
}

static void request_reply(const bench_cfg *cfg, const char *name,
                          kr_runtime *rt) {
    rr_bench b = {rt, NULL};
    kr_mpsc_rx *rx;
    BENCH_OK(kr_mpsc_new(sizeof(kr_oneshot_tx *), 10, &b.tx, &rx));
    server s;
    memset(&s, 0, sizeof(s));
    s.base.vtable = &server_vt;
    s.co = (kr_coro)KR_CORO_INIT;
    s.rx = rx;
    BENCH_OK(kr_runtime_spawn(rt, &s.base, NULL));
    bench_measure(cfg, name, rr_iter, &b);
    kr_mpsc_tx_drop(b.tx);
    kr_runtime_free(rt);
}

void mpsc_oneshot_request_reply_ct(const bench_cfg *cfg, const char *name) {
    request_reply(cfg, name, ct_runtime());
}
void mpsc_oneshot_request_reply_mt1(const bench_cfg *cfg, const char *name) {
    bench_cfg one = *cfg;
    one.workers = 1; /* the benchmark's own runtime: one worker */
    kr_runtime *rt = bench_mt_runtime(&one, name);
    if (rt != NULL)
        request_reply(cfg, name, rt);
}

/* ---- notify/{notify_one,notify_waiters}/N ----------------------------------- */

/* sync_notify.rs: N_ITERS, the count an iteration notifies up to. */
#define NOTIFY_ITERS 500

/* A waiter task: forever { notified().await; counter += 1 }. */
typedef struct notify_waiter {
    kr_future base;
    kr_coro co;
    kr_notify *n;
    _Atomic size_t *counter;
    kr_notified wait;
} notify_waiter;

static kr_poll notify_waiter_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    notify_waiter *w = (notify_waiter *)f;
    KR_ASYNC_BEGIN(&w->co);
    for (;;) {
        w->wait = kr_notify_notified(w->n);
        KR_AWAIT(&w->co, &w->wait.base, cx, NULL);
        atomic_fetch_add_explicit(w->counter, 1, memory_order_relaxed);
    }
    KR_ASYNC_END(&w->co);
}
static void notify_waiter_drop(kr_future *f) {
    kr_coro_drop(&((notify_waiter *)f)->co);
}
KR_FUTURE_VTABLE(notify_waiter_vt, notify_waiter, notify_waiter_poll,
                 notify_waiter_drop, 0);

typedef struct notify_bench_arg {
    kr_notify *n;
    _Atomic size_t counter;
    int all;
} notify_bench_arg;

/* On the bench thread: notify until the waiters have counted 500. */
static void notify_iter(void *arg) {
    notify_bench_arg *b = arg;
    atomic_store_explicit(&b->counter, 0, memory_order_relaxed);
    for (;;) {
        if (b->all)
            kr_notify_waiters(b->n);
        else
            kr_notify_one(b->n);
        if (atomic_load_explicit(&b->counter, memory_order_relaxed) >=
            NOTIFY_ITERS)
            break;
    }
}

void notify_bench(const bench_cfg *cfg, const char *name, int waiters,
                  int all) {
    kr_runtime *rt = bench_mt_runtime(cfg, name);
    if (rt == NULL)
        return;
    notify_bench_arg b = {NULL, 0, all};
    BENCH_OK(kr_notify_new(&b.n));
    for (int i = 0; i < waiters; i++) {
        notify_waiter w;
        memset(&w, 0, sizeof(w));
        w.base.vtable = &notify_waiter_vt;
        w.co = (kr_coro)KR_CORO_INIT;
        w.n = b.n;
        w.counter = &b.counter;
        BENCH_OK(kr_runtime_spawn(rt, &w.base, NULL));
    }
    bench_measure(cfg, name, notify_iter, &b);
    kr_runtime_free(rt); /* drops the waiters, and their notified futures */
    kr_notify_free(b.n);
}

/* ---- semaphore/... and rwlock/... -------------------------------------------- */

/* `task(s)`: acquire one permit and drop it (sync_semaphore.rs), or, with
 * `rw` set, take the lock to read and drop the guard (sync_rwlock.rs).
 * With `unlock` set instead, it only drops that guard (`async move {
 * drop(write) }`). */
typedef struct lock_task {
    kr_future base;
    kr_coro co;
    kr_semaphore *sem;
    kr_rwlock *rw;
    kr_rwlock_guard *unlock;
    kr_rwlock_guard g;
    union {
        kr_semaphore_acquire acq;
        kr_rwlock_acquire read;
    } u;
    int rc;
} lock_task;

static kr_poll lock_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    lock_task *t = (lock_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    if (t->unlock != NULL) {
        kr_rwlock_unlock(t->unlock);
    } else if (t->rw != NULL) {
        t->u.read = kr_rwlock_read_future(t->rw);
        KR_AWAIT(&t->co, &t->u.read.base, cx, &t->g);
        kr_rwlock_unlock(&t->g);
    } else {
        t->u.acq = kr_semaphore_acquire_future(t->sem, 1);
        KR_AWAIT(&t->co, &t->u.acq.base, cx, &t->rc);
        BENCH_OK(t->rc);
        BENCH_OK(kr_semaphore_release(t->sem, 1));
    }
    KR_ASYNC_END(&t->co);
}
static void lock_task_drop(kr_future *f) {
    kr_coro_drop(&((lock_task *)f)->co);
}
KR_FUTURE_VTABLE(lock_task_vt, lock_task, lock_task_poll, lock_task_drop, 0);

/* Sets only what the task reads before its first await: the coroutine
 * assigns the acquire future and the guard before it uses them, as a Rust
 * future's unused fields are never written. (Zeroing the whole record with
 * memset was a `rep stos` per task, half the wall time of the JOIN rows.) */
static void lock_task_init(lock_task *t, kr_semaphore *sem, kr_rwlock *rw,
                           kr_rwlock_guard *unlock) {
    t->base.vtable = &lock_task_vt;
    t->co = (kr_coro)KR_CORO_INIT;
    t->sem = sem;
    t->rw = rw;
    t->unlock = unlock;
}

#define LOCK_TASKS 6

/* join!: polls each unfinished child on every poll (they share its waker);
 * ready when all are. Output: none. */
typedef struct join_n {
    kr_future base;
    lock_task *t;
    int done[LOCK_TASKS];
    int n;
} join_n;

static kr_poll join_n_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    join_n *j = (join_n *)f;
    int left = 0;
    for (int k = 0; k < j->n; k++) {
        if (j->done[k])
            continue;
        if (kr_future_poll(&j->t[k].base, cx, NULL) == KR_READY)
            j->done[k] = 1;
        else
            left++;
    }
    return left == 0 ? KR_READY : KR_PENDING;
}
static void join_n_drop(kr_future *f) {
    join_n *j = (join_n *)f;
    for (int k = 0; k < j->n; k++)
        if (!j->done[k])
            kr_future_drop(&j->t[k].base);
}
KR_FUTURE_VTABLE(join_n_vt, join_n, join_n_poll, join_n_drop, 0);

/*
 * The block_on future of one iteration (mode SEQ: seq_main, below).
 * JOIN: LOCK_TASKS tasks polled together in this
 * future (join!); SPAWN: LOCK_TASKS spawned tasks, then their handles
 * awaited (try_join! of task::spawn). With `write`, it first takes the
 * lock to write and its first task only drops that guard.
 */
enum { SEQ, JOIN, SPAWN };
typedef struct lock_main {
    kr_future base;
    kr_coro co;
    kr_semaphore *sem;
    kr_rwlock *rw;
    int mode, write;
    int i, left;
    kr_rwlock_guard wg;
    kr_rwlock_acquire wacq;
    lock_task t[LOCK_TASKS];
    join_n join;
    kr_join_handle h[LOCK_TASKS];
} lock_main;

static kr_poll lock_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    lock_main *m = (lock_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    if (m->write) {
        m->wacq = kr_rwlock_write_future(m->rw);
        KR_AWAIT(&m->co, &m->wacq.base, cx, &m->wg);
    }
    for (m->i = 0; m->i < LOCK_TASKS; m->i++)
        lock_task_init(&m->t[m->i], m->sem, m->rw,
                       m->write && m->i == 0 ? &m->wg : NULL);
    if (m->mode == JOIN) {
        m->join = (join_n){{&join_n_vt}, m->t, {0}, LOCK_TASKS};
        KR_AWAIT(&m->co, &m->join.base, cx, NULL);
    } else {
        /* try_join!(async { drop(write) }, spawned readers...): the drop
         * runs in this future, after the spawns. */
        for (m->i = m->write; m->i < LOCK_TASKS; m->i++)
            BENCH_OK(kr_spawn(&m->t[m->i].base, &m->h[m->i]));
        if (m->write)
            kr_rwlock_unlock(&m->wg);
        for (m->i = m->write; m->i < LOCK_TASKS; m->i++)
            KR_AWAIT(&m->co, &m->h[m->i].base, cx, NULL);
    }
    KR_ASYNC_END(&m->co);
}
static void lock_main_drop(kr_future *f) {
    lock_main *m = (lock_main *)f;
    kr_coro_drop(&m->co);
}
KR_FUTURE_VTABLE(lock_main_vt, lock_main, lock_main_poll, lock_main_drop, 0);

/* SEQ, as Tokio's uncontended rows: one future that acquires and drops
 * six times in a loop (a permit, or a read guard), no task per lock. */
typedef struct seq_main {
    kr_future base;
    kr_coro co;
    kr_semaphore *sem;
    kr_rwlock *rw;
    int i, rc;
    kr_rwlock_guard g;
    union {
        kr_semaphore_acquire acq;
        kr_rwlock_acquire read;
    } u;
} seq_main;

static kr_poll seq_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    seq_main *m = (seq_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < LOCK_TASKS; m->i++) {
        if (m->rw != NULL) {
            m->u.read = kr_rwlock_read_future(m->rw);
            KR_AWAIT(&m->co, &m->u.read.base, cx, &m->g);
            kr_rwlock_unlock(&m->g);
        } else {
            m->u.acq = kr_semaphore_acquire_future(m->sem, 1);
            KR_AWAIT(&m->co, &m->u.acq.base, cx, &m->rc);
            BENCH_OK(m->rc);
            BENCH_OK(kr_semaphore_release(m->sem, 1));
        }
    }
    KR_ASYNC_END(&m->co);
}
static void seq_main_drop(kr_future *f) { kr_coro_drop(&((seq_main *)f)->co); }
KR_FUTURE_VTABLE(seq_main_vt, seq_main, seq_main_poll, seq_main_drop, 0);

typedef struct lock_bench {
    kr_runtime *rt;
    kr_semaphore *sem;
    kr_rwlock *rw;
    int mode, write;
} lock_bench;

static void lock_iter(void *arg) {
    lock_bench *b = arg;
    if (b->mode == SEQ) {
        seq_main q = {.base = {&seq_main_vt},
                      .co = KR_CORO_INIT,
                      .sem = b->sem,
                      .rw = b->rw};
        BENCH_OK(kr_runtime_block_on(b->rt, &q.base, NULL));
        return;
    }
    lock_main m; /* only what lock_main_poll reads before writing it */
    m.base.vtable = &lock_main_vt;
    m.co = (kr_coro)KR_CORO_INIT;
    m.sem = b->sem;
    m.rw = b->rw;
    m.mode = b->mode;
    m.write = b->write;
    BENCH_OK(kr_runtime_block_on(b->rt, &m.base, NULL));
}

/* permits 0: the rwlock benchmarks. mt: Tokio's 6 workers (--workers),
 * else the current-thread runtime. */
static void lock_bench_run(const bench_cfg *cfg, const char *name,
                           size_t permits, int mt, int mode, int write) {
    lock_bench b = {NULL, NULL, NULL, mode, write};
    if (mt) {
        b.rt = bench_mt_runtime(cfg, name);
        if (b.rt == NULL)
            return;
    } else {
        b.rt = ct_runtime();
    }
    if (permits != 0)
        BENCH_OK(kr_semaphore_new(permits, &b.sem));
    else
        BENCH_OK(kr_rwlock_new(sizeof(int), &b.rw));
    bench_measure(cfg, name, lock_iter, &b);
    kr_runtime_free(b.rt);
    kr_semaphore_free(b.sem);
    kr_rwlock_free(b.rw);
}

#define LOCK_BENCH(fn, permits, mt, mode, write)                               \
    void fn(const bench_cfg *cfg, const char *name) {                          \
        lock_bench_run(cfg, name, permits, mt, mode, write);                   \
    }
LOCK_BENCH(semaphore_uncontended, 10, 1, SEQ, 0)
LOCK_BENCH(semaphore_uncontended_concurrent_multi, 10, 1, SPAWN, 0)
LOCK_BENCH(semaphore_uncontended_concurrent_single, 10, 0, JOIN, 0)
LOCK_BENCH(semaphore_contended_concurrent_multi, 5, 1, SPAWN, 0)
LOCK_BENCH(semaphore_contended_concurrent_single, 5, 0, JOIN, 0)
LOCK_BENCH(rwlock_uncontended_read, 0, 1, SEQ, 0)
LOCK_BENCH(rwlock_uncontended_read_concurrent, 0, 0, JOIN, 0)
LOCK_BENCH(rwlock_uncontended_read_concurrent_multi, 0, 1, SPAWN, 0)
LOCK_BENCH(rwlock_contended_read_concurrent, 0, 0, JOIN, 1)
LOCK_BENCH(rwlock_contended_read_concurrent_multi, 0, 1, SPAWN, 1)
