/*
 * bench/bench-tasks.c: the futures the benchmarks spawn, shared by the
 * current-thread and multi-thread sets. Each is the C spelling of an async
 * block in Tokio's benches/ (named beside it), and each checks its results:
 * a benchmark that computed the wrong thing aborts instead of printing.
 *
 * Every future here frees what it owns in its drop function, so cancelling
 * one (kr_runtime_free with tasks still alive) leaks nothing. After READY
 * the harness drops a task's future too, so drop functions look at what is
 * still owned, not at whether the future ran.
 */
#include <sched.h>
#include <stdlib.h>

#include "bench.h"

void bench_stall(void) {
    uint64_t start = bench_now_ns();
    while (bench_now_ns() - start < STALL_NS)
        sched_yield();
}

/* ---- async {} ---------------------------------------------------------- */

static kr_poll empty_poll(kr_future *f, kr_context *cx, void *out) {
    return KR_READY;
}
KR_FUTURE_VTABLE(empty_vt, kr_future, empty_poll, NULL, 0);

kr_future bench_empty_task(void) {
    kr_future f = {&empty_vt};
    return f;
}

/* ---- join all ---------------------------------------------------------- */

static kr_poll join_all_poll(kr_future *f, kr_context *cx, void *out) {
    bench_join_all *j = (bench_join_all *)f;
    KR_ASYNC_BEGIN(&j->co);
    for (j->i = 0; j->i < j->n; j->i++) {
        j->value = 0;
        KR_AWAIT(&j->co, &j->handles[j->i].base, cx, &j->value);
        BENCH_OK(kr_join_handle_error(&j->handles[j->i]));
        j->sum += j->value;
    }
    KR_ASYNC_END(&j->co);
}

static void join_all_drop(kr_future *f) {
    bench_join_all *j = (bench_join_all *)f;
    for (; j->i < j->n; j->i++)
        kr_join_handle_drop(&j->handles[j->i]);
}
KR_FUTURE_VTABLE(join_all_vt, bench_join_all, join_all_poll, join_all_drop, 0);

bench_join_all bench_join_all_new(kr_join_handle *handles, int n) {
    bench_join_all j = {{&join_all_vt}, KR_CORO_INIT, handles, n, 0, 0, 0};
    return j;
}

/* ---- count-down ------------------------------------------------------- */

void bench_countdown_hit(bench_countdown *cd) {
    /* Relaxed, as in Tokio's benchmark: only the count matters here, and the
     * oneshot's send/receive orders everything the waiter reads after. */
    if (atomic_fetch_sub_explicit(&cd->left, 1, memory_order_relaxed) == 1) {
        kr_oneshot_tx *tx = cd->done;
        cd->done = NULL;
        BENCH_OK(kr_oneshot_send(tx, NULL));
    }
}

static kr_poll count_poll(kr_future *f, kr_context *cx, void *out) {
    bench_countdown_hit(((bench_count_task *)f)->cd);
    return KR_READY;
}
KR_FUTURE_VTABLE(count_vt, bench_count_task, count_poll, NULL, 0);

bench_count_task bench_count_task_new(bench_countdown *cd) {
    bench_count_task t = {{&count_vt}, cd};
    return t;
}

/* ---- ping / pong ------------------------------------------------------- */

/* The child: `ping_rx.await; pong_tx.send(())`. */
typedef struct pong {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *ping_rx;
    kr_oneshot_tx *pong_tx;
    kr_oneshot_recv recv;
    int rc;
} pong;

static kr_poll pong_poll(kr_future *f, kr_context *cx, void *out) {
    pong *p = (pong *)f;
    KR_ASYNC_BEGIN(&p->co);
    p->recv = kr_oneshot_recv_future(p->ping_rx, NULL);
    KR_AWAIT(&p->co, &p->recv.base, cx, &p->rc);
    BENCH_OK(p->rc);
    kr_oneshot_rx_drop(p->ping_rx);
    p->ping_rx = NULL;
    BENCH_OK(kr_oneshot_send(p->pong_tx, NULL));
    p->pong_tx = NULL;
    KR_ASYNC_END(&p->co);
}

static void pong_drop(kr_future *f) {
    pong *p = (pong *)f;
    kr_oneshot_rx_drop(p->ping_rx); /* both ignore NULL */
    kr_oneshot_tx_drop(p->pong_tx);
}
KR_FUTURE_VTABLE(pong_vt, pong, pong_poll, pong_drop, 0);

/* The parent: spawn the child, `ping_tx.send(()); pong_rx.await`. */
static kr_poll ping_pong_poll(kr_future *f, kr_context *cx, void *out) {
    bench_ping_pong *p = (bench_ping_pong *)f;
    KR_ASYNC_BEGIN(&p->co);
    {
        pong child = {
            {&pong_vt}, KR_CORO_INIT, NULL, NULL, {{NULL}, NULL, NULL, 0}, 0};
        kr_oneshot_rx *ping_rx;
        kr_oneshot_tx *pong_tx;
        BENCH_OK(kr_oneshot_new(0, &p->ping_tx, &ping_rx));
        BENCH_OK(kr_oneshot_new(0, &pong_tx, &p->pong_rx));
        child.ping_rx = ping_rx;
        child.pong_tx = pong_tx;
        BENCH_OK(kr_spawn(&child.base, NULL));
    }
    BENCH_OK(kr_oneshot_send(p->ping_tx, NULL));
    p->ping_tx = NULL;
    p->recv = kr_oneshot_recv_future(p->pong_rx, NULL);
    KR_AWAIT(&p->co, &p->recv.base, cx, &p->rc);
    BENCH_OK(p->rc);
    kr_oneshot_rx_drop(p->pong_rx);
    p->pong_rx = NULL;
    if (p->cd != NULL)
        bench_countdown_hit(p->cd);
    KR_ASYNC_END(&p->co);
}

static void ping_pong_drop(kr_future *f) {
    bench_ping_pong *p = (bench_ping_pong *)f;
    kr_oneshot_tx_drop(p->ping_tx);
    kr_oneshot_rx_drop(p->pong_rx);
}
KR_FUTURE_VTABLE(ping_pong_vt, bench_ping_pong, ping_pong_poll, ping_pong_drop,
                 0);

bench_ping_pong bench_ping_pong_new(bench_countdown *cd) {
    bench_ping_pong p = {{&ping_pong_vt},
                         KR_CORO_INIT,
                         cd,
                         NULL,
                         NULL,
                         {{NULL}, NULL, NULL, 0},
                         0};
    return p;
}

/* ---- yield loop -------------------------------------------------------- */

static kr_poll yield_loop_poll(kr_future *f, kr_context *cx, void *out) {
    bench_yield_loop *y = (bench_yield_loop *)f;
    KR_ASYNC_BEGIN(&y->co);
    for (y->i = 0; y->i < NUM_YIELD; y->i++) {
        y->y = kr_yield_now();
        KR_AWAIT(&y->co, &y->y.base, cx, NULL);
    }
    KR_RETURN(&y->co, out, int, y->i);
    KR_ASYNC_END(&y->co);
}
KR_FUTURE_VTABLE(yield_loop_vt, bench_yield_loop, yield_loop_poll, NULL,
                 sizeof(int));

bench_yield_loop bench_yield_loop_new(void) {
    bench_yield_loop y = {{&yield_loop_vt}, KR_CORO_INIT, {{NULL}, 0}, 0};
    return y;
}

/* ---- spawn chain ------------------------------------------------------ */

static kr_poll chain_poll(kr_future *f, kr_context *cx, void *out) {
    bench_chain *c = (bench_chain *)f;
    kr_oneshot_tx *done = c->done;
    c->done = NULL; /* passed on, or consumed by the send */
    if (c->n == 0) {
        BENCH_OK(kr_oneshot_send(done, &c->depth));
    } else {
        bench_chain next = bench_chain_new(done, c->n - 1);
        next.depth = c->depth + 1;
        BENCH_OK(kr_spawn(&next.base, NULL));
    }
    return KR_READY;
}

static void chain_drop(kr_future *f) {
    kr_oneshot_tx_drop(((bench_chain *)f)->done);
}
KR_FUTURE_VTABLE(chain_vt, bench_chain, chain_poll, chain_drop, 0);

bench_chain bench_chain_new(kr_oneshot_tx *done, int n) {
    bench_chain c = {{&chain_vt}, done, n, 0};
    return c;
}

/* ---- iterations shared by the ct and mt sets ---------------------------- */

kr_join_handle *bench_handles_new(int n) {
    kr_join_handle *h = calloc((size_t)n, sizeof(*h));
    if (h == NULL)
        bench_fail("out of memory");
    return h;
}

void bench_remote_iter(void *arg) {
    bench_spawn_set *b = arg;
    kr_future f = bench_empty_task();
    for (int i = 0; i < b->n; i++)
        BENCH_OK(kr_runtime_spawn(b->rt, &f, &b->handles[i]));
    bench_join_all all = bench_join_all_new(b->handles, b->n);
    BENCH_OK(kr_runtime_block_on(b->rt, &all.base, NULL));
    BENCH_CHECK_EQ("tasks joined", all.i, b->n);
}

/* The block_on future of chained_spawn: spawn the head of the chain, await
 * the oneshot its last link sends the depth on. */
typedef struct chain_wait {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_recv recv;
    int rc, depth;
} chain_wait;

static kr_poll chain_wait_poll(kr_future *f, kr_context *cx, void *out) {
    chain_wait *w = (chain_wait *)f;
    KR_ASYNC_BEGIN(&w->co);
    {
        kr_oneshot_tx *tx;
        BENCH_OK(kr_oneshot_new(sizeof(int), &tx, &w->rx));
        bench_chain head = bench_chain_new(tx, CHAIN_LEN);
        BENCH_OK(kr_spawn(&head.base, NULL));
    }
    w->recv = kr_oneshot_recv_future(w->rx, &w->depth);
    KR_AWAIT(&w->co, &w->recv.base, cx, &w->rc);
    BENCH_OK(w->rc);
    kr_oneshot_rx_drop(w->rx);
    w->rx = NULL;
    KR_ASYNC_END(&w->co);
}

static void chain_wait_drop(kr_future *f) {
    kr_oneshot_rx_drop(((chain_wait *)f)->rx);
}
KR_FUTURE_VTABLE(chain_wait_vt, chain_wait, chain_wait_poll, chain_wait_drop,
                 0);

void bench_chained_spawn_iter(void *rt) {
    chain_wait w = {{&chain_wait_vt},        KR_CORO_INIT, NULL,
                    {{NULL}, NULL, NULL, 0}, -1,           -1};
    BENCH_OK(kr_runtime_block_on(rt, &w.base, NULL));
    BENCH_CHECK_EQ("chain depth", w.depth, CHAIN_LEN);
}
