/*
 * bench/bench-fanout.c: Tokio's benches/sync_broadcast.rs (contention/N) and
 * benches/sync_watch.rs (contention_resubscribe/N), by shape and constants,
 * on a multi-thread runtime of --workers workers (Tokio's own: 6), as
 * broadcast/contention/N and watch/contention_resubscribe/N.
 *
 * N receiver tasks each wait for a message (or a change), do a little work
 * and count down a shared counter, notifying the sender when it reaches
 * zero; an iteration sends 100 values, waiting for every receiver after
 * each. Each benchmark builds its runtime and receivers once.
 *
 * Tokio's do_work formats ten random f64s from a seeded StdRng into a
 * String and sums its bytes. Both kairo and the Tokio peer do that work by
 * the same code: a 64-bit xorshift seeded by the task index (a fast seeded
 * RNG in place of StdRng's ChaCha12) yields ten doubles in [0, 1) the way
 * rand's `random::<f64>()` makes them (53 random bits times 2^-53), and each
 * is appended as " i=0.ddd" by a hand-written formatter: the exact decimal
 * expansion of the double, cut at 17 decimal places (about what Rust's "{}"
 * prints for such values, 16-17 digits), then the bytes are summed.
 * (Formatting with each language's library compared glibc's printf with
 * Rust's float formatting, not the runtimes: "%.17g" took twice the
 * instructions of Rust's "{}".)
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Both files: N_ITERS, the values an iteration sends. */
#define FANOUT_ITERS 100

static uint64_t xorshift_seed(size_t task) {
    return (uint64_t)task * 0x9E3779B97F4A7C15u + 1;
}

/* Appends v in decimal at buf[len]; returns the new length. (Lengths are
 * passed by value, not through a pointer that every char store may alias,
 * so the compiler keeps them in registers as Rust's does.) */
static size_t append_decimal(char *buf, size_t len, uint64_t v) {
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        buf[len++] = tmp[--n];
    return len;
}

/* Appends d, a double in [0, 1) with at most 53 significant bits, as
 * "0.ddd": its exact decimal expansion, cut at 17 decimal places ("0" for
 * 0). Returns the new length. */
static size_t append_double(char *buf, size_t len, double d) {
    const uint64_t one = (uint64_t)1 << 53;
    uint64_t frac = (uint64_t)(d * 0x1p53); /* exact: d = frac / 2^53 */
    buf[len++] = '0';
    if (frac == 0)
        return len;
    buf[len++] = '.';
    for (int n = 0; n < 17 && frac != 0; n++) {
        frac *= 10; /* < 10 * 2^53 < 2^57 */
        buf[len++] = (char)('0' + (frac >> 53));
        frac &= one - 1;
    }
    return len;
}

/* The work of one received value (see the head of the file). */
static uint32_t do_work(uint64_t *state) {
    char msg[320];
    size_t len = 0;
    uint64_t x = *state;
    for (uint64_t i = 1; i <= 10; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* black_box: the value is not known to the compiler. */
        volatile double d = (double)(x >> 11) * 0x1p-53;
        msg[len++] = ' ';
        len = append_decimal(msg, len, i);
        msg[len++] = '=';
        len = append_double(msg, len, d);
    }
    *state = x;
    uint32_t sum = 0;
    for (size_t k = 0; k < len; k++)
        sum += (unsigned char)msg[k];
    return sum;
}

/* Keeps do_work's result alive (black_box). */
static _Atomic uint32_t fanout_sink;

/* The shared wait group: the count still to receive and its notify. */
typedef struct fanout_wg {
    _Atomic size_t left;
    kr_notify *done;
} fanout_wg;

/* One receiver's countdown after its work. */
static void wg_done(fanout_wg *wg, memory_order order) {
    if (atomic_fetch_sub_explicit(&wg->left, 1, order) == 1)
        kr_notify_one(wg->done);
}

/* ---- broadcast/contention/N ------------------------------------------------- */

typedef struct bcast_rx_task {
    kr_future base;
    kr_coro co;
    kr_broadcast_rx *rx;
    fanout_wg *wg;
    uint64_t rng;
    size_t msg;
    kr_broadcast_recv recv;
    int rc;
} bcast_rx_task;

static kr_poll bcast_rx_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    bcast_rx_task *t = (bcast_rx_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (;;) {
        t->recv = kr_broadcast_recv_future(t->rx, &t->msg, NULL);
        KR_AWAIT(&t->co, &t->recv.base, cx, &t->rc);
        if (t->rc != 0)
            break;
        atomic_store_explicit(&fanout_sink, do_work(&t->rng),
                              memory_order_relaxed);
        wg_done(t->wg, memory_order_relaxed);
    }
    KR_ASYNC_END(&t->co);
}
static void bcast_rx_drop(kr_future *f) {
    bcast_rx_task *t = (bcast_rx_task *)f;
    kr_coro_drop(&t->co);
    kr_broadcast_rx_drop(t->rx);
}
KR_FUTURE_VTABLE(bcast_rx_vt, bcast_rx_task, bcast_rx_poll, bcast_rx_drop, 0);

/* The block_on future of one iteration. */
typedef struct bcast_main {
    kr_future base;
    kr_coro co;
    kr_broadcast_tx *tx;
    fanout_wg *wg;
    size_t n, i;
    kr_notified wait;
} bcast_main;

static kr_poll bcast_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    bcast_main *m = (bcast_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < FANOUT_ITERS; m->i++) {
        if (atomic_fetch_add_explicit(&m->wg->left, m->n,
                                      memory_order_relaxed) != 0)
            bench_fail("broadcast: receivers still counting");
        if (kr_broadcast_send(m->tx, &m->i) < 1) /* receivers reached */
            bench_fail("broadcast: send failed");
        while (atomic_load_explicit(&m->wg->left, memory_order_relaxed) > 0) {
            m->wait = kr_notify_notified(m->wg->done);
            KR_AWAIT(&m->co, &m->wait.base, cx, NULL);
        }
    }
    KR_ASYNC_END(&m->co);
}
static void bcast_main_drop(kr_future *f) {
    kr_coro_drop(&((bcast_main *)f)->co);
}
KR_FUTURE_VTABLE(bcast_main_vt, bcast_main, bcast_main_poll, bcast_main_drop,
                 0);

typedef struct fanout_bench {
    kr_runtime *rt;
    fanout_wg wg;
    size_t n;
    kr_broadcast_tx *btx;
    kr_watch_tx *wtx;
} fanout_bench;

static void bcast_iter(void *arg) {
    fanout_bench *b = arg;
    bcast_main m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = &bcast_main_vt;
    m.co = (kr_coro)KR_CORO_INIT;
    m.tx = b->btx;
    m.wg = &b->wg;
    m.n = b->n;
    BENCH_OK(kr_runtime_block_on(b->rt, &m.base, NULL));
}

void broadcast_contention(const bench_cfg *cfg, const char *name, size_t n) {
    fanout_bench b;
    memset(&b, 0, sizeof(b));
    b.n = n;
    b.rt = bench_mt_runtime(cfg, name);
    if (b.rt == NULL)
        return;
    BENCH_OK(kr_notify_new(&b.wg.done));
    /* As Tokio's `_rx`, the first receiver stays alive, unread, throughout. */
    kr_broadcast_rx *rx0;
    BENCH_OK(kr_broadcast_new(sizeof(size_t), 1000, &b.btx, &rx0));
    for (size_t k = 0; k < n; k++) {
        bcast_rx_task t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &bcast_rx_vt;
        t.co = (kr_coro)KR_CORO_INIT;
        BENCH_OK(kr_broadcast_subscribe(b.btx, &t.rx));
        t.wg = &b.wg;
        t.rng = xorshift_seed(k);
        BENCH_OK(kr_runtime_spawn(b.rt, &t.base, NULL));
    }
    bench_measure(cfg, name, bcast_iter, &b);
    kr_runtime_free(b.rt); /* drops the receiver tasks and their receivers */
    kr_broadcast_rx_drop(rx0);
    kr_broadcast_tx_drop(b.btx);
    kr_notify_free(b.wg.done);
}

/* ---- watch/contention_resubscribe/N ------------------------------------------ */

typedef struct watch_rx_task {
    kr_future base;
    kr_coro co;
    kr_watch_rx *rx;
    fanout_wg *wg;
    uint64_t rng;
    kr_watch_changed changed;
    int rc;
} watch_rx_task;

static kr_poll watch_rx_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    watch_rx_task *t = (watch_rx_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (;;) {
        t->changed = kr_watch_changed_future(t->rx);
        KR_AWAIT(&t->co, &t->changed.base, cx, &t->rc);
        if (t->rc != 0)
            break;
        int32_t v;
        BENCH_OK(kr_watch_borrow(t->rx, &v)); /* contends on the value's lock */
        atomic_store_explicit(&fanout_sink, do_work(&t->rng) + (uint32_t)v,
                              memory_order_relaxed);
        wg_done(t->wg, memory_order_release);
    }
    KR_ASYNC_END(&t->co);
}
static void watch_rx_drop(kr_future *f) {
    watch_rx_task *t = (watch_rx_task *)f;
    kr_coro_drop(&t->co);
    kr_watch_rx_drop(t->rx);
}
KR_FUTURE_VTABLE(watch_rx_vt, watch_rx_task, watch_rx_poll, watch_rx_drop, 0);

/* The spawned sender task of one iteration. */
typedef struct watch_sender {
    kr_future base;
    kr_coro co;
    kr_watch_tx *tx;
    fanout_wg *wg;
    size_t n, i;
    kr_notified wait;
} watch_sender;

static kr_poll watch_sender_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    watch_sender *s = (watch_sender *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < FANOUT_ITERS; s->i++) {
        if (atomic_fetch_add_explicit(&s->wg->left, s->n,
                                      memory_order_relaxed) != 0)
            bench_fail("watch: receivers still counting");
        int32_t v = 42;
        (void)kr_watch_send(s->tx, &v);
        while (atomic_load_explicit(&s->wg->left, memory_order_acquire) > 0) {
            s->wait = kr_notify_notified(s->wg->done);
            KR_AWAIT(&s->co, &s->wait.base, cx, NULL);
        }
    }
    KR_ASYNC_END(&s->co);
}
static void watch_sender_drop(kr_future *f) {
    kr_coro_drop(&((watch_sender *)f)->co);
}
KR_FUTURE_VTABLE(watch_sender_vt, watch_sender, watch_sender_poll,
                 watch_sender_drop, 0);

/* The block_on future: spawns the sender and awaits its handle. */
typedef struct watch_main {
    kr_future base;
    kr_coro co;
    fanout_bench *b;
    kr_join_handle join;
} watch_main;

static kr_poll watch_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    watch_main *m = (watch_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        watch_sender s;
        memset(&s, 0, sizeof(s));
        s.base.vtable = &watch_sender_vt;
        s.co = (kr_coro)KR_CORO_INIT;
        s.tx = m->b->wtx;
        s.wg = &m->b->wg;
        s.n = m->b->n;
        BENCH_OK(kr_spawn(&s.base, &m->join));
    }
    KR_AWAIT(&m->co, &m->join.base, cx, NULL);
    BENCH_OK(kr_join_handle_error(&m->join));
    KR_ASYNC_END(&m->co);
}
static void watch_main_drop(kr_future *f) {
    kr_coro_drop(&((watch_main *)f)->co);
}
KR_FUTURE_VTABLE(watch_main_vt, watch_main, watch_main_poll, watch_main_drop,
                 0);

static void watch_iter(void *arg) {
    watch_main m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = &watch_main_vt;
    m.co = (kr_coro)KR_CORO_INIT;
    m.b = arg;
    BENCH_OK(kr_runtime_block_on(m.b->rt, &m.base, NULL));
}

void watch_contention_resubscribe(const bench_cfg *cfg, const char *name,
                                  size_t n) {
    fanout_bench b;
    memset(&b, 0, sizeof(b));
    b.n = n;
    b.rt = bench_mt_runtime(cfg, name);
    if (b.rt == NULL)
        return;
    BENCH_OK(kr_notify_new(&b.wg.done));
    /* As Tokio's `let (snd, _)`, the first receiver is dropped at once. */
    int32_t init = 0;
    kr_watch_rx *rx0;
    BENCH_OK(kr_watch_new(sizeof(int32_t), &init, &b.wtx, &rx0));
    kr_watch_rx_drop(rx0);
    for (size_t k = 0; k < n; k++) {
        watch_rx_task t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &watch_rx_vt;
        t.co = (kr_coro)KR_CORO_INIT;
        BENCH_OK(kr_watch_subscribe(b.wtx, &t.rx));
        t.wg = &b.wg;
        t.rng = xorshift_seed(k);
        BENCH_OK(kr_runtime_spawn(b.rt, &t.base, NULL));
    }
    bench_measure(cfg, name, watch_iter, &b);
    kr_runtime_free(b.rt); /* drops the receiver tasks and their receivers */
    kr_watch_tx_drop(b.wtx);
    kr_notify_free(b.wg.done);
}
