/*
 * bench/bench-os.c: signals and child processes on the current-thread
 * runtime.
 *
 *   signal/many_signals  Tokio's benches/signal.rs: 10 listener tasks for
 *                        SIGCHLD and 10 for SIGIO, each forwarding every
 *                        delivery to one channel of capacity 10. An
 *                        iteration (block_on) sends SIGCHLD to the process
 *                        and receives 10 messages, then the same for SIGIO.
 *   process/spawn_wait   1,000 times in sequence: spawn `true` and await its
 *                        exit (Tokio: Command::new("true").status().await).
 */
#include <signal.h>
#include <unistd.h>

#include "bench.h"

#define NUM_SIGNALS 10
#define NUM_SPAWNS  1000

static kr_runtime *os_runtime(void) {
    kr_runtime *rt = NULL;
    BENCH_OK(kr_runtime_new(NULL, &rt)); /* the default: current-thread */
    return rt;
}

/* ---- signal/many_signals ---------------------------------------------- */

/* One listener task: listens at its first poll (as Tokio's task creates its
 * Signal), then sends a message per delivery until the channel closes. */
typedef struct sig_task {
    kr_future base;
    kr_coro co;
    int signum, rc;
    kr_signal_listener *l;
    kr_mpsc_tx *tx;
    kr_signal_recv recv;
    kr_mpsc_send send;
} sig_task;

static kr_poll sig_poll(kr_future *f, kr_context *cx, void *out) {
    sig_task *t = (sig_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    BENCH_OK(kr_signal_listen(t->signum, &t->l));
    for (;;) {
        t->recv = kr_signal_listener_recv(t->l);
        KR_AWAIT_INTO(&t->co, &t->recv, cx, t->rc);
        BENCH_OK(t->rc);
        t->send = kr_mpsc_send_future(t->tx, NULL);
        KR_AWAIT_INTO(&t->co, &t->send, cx, t->rc);
        if (t->rc != 0)
            break;
    }
    KR_ASYNC_END(&t->co);
}

static void sig_drop(kr_future *f) {
    sig_task *t = (sig_task *)f;
    kr_coro_drop(&t->co); /* the recv or send in flight, first */
    kr_signal_listener_free(t->l);
    kr_mpsc_tx_drop(t->tx);
}
KR_FUTURE_VTABLE(sig_vt, sig_task, sig_poll, sig_drop, 0);

/* The block_on future of one iteration: raise, then NUM_SIGNALS receives,
 * for SIGCHLD and then SIGIO. */
typedef struct sig_iter_task {
    kr_future base;
    kr_coro co;
    kr_mpsc_rx *rx;
    kr_mpsc_recv recv;
    int round, i, rc;
} sig_iter_task;

static kr_poll sig_iter_poll(kr_future *f, kr_context *cx, void *out) {
    static const int sigs[2] = {SIGCHLD, SIGIO};
    sig_iter_task *t = (sig_iter_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->round = 0; t->round < 2; t->round++) {
        if (kill(getpid(), sigs[t->round]) != 0)
            bench_fail("signal: kill failed");
        for (t->i = 0; t->i < NUM_SIGNALS; t->i++) {
            t->recv = kr_mpsc_recv_future(t->rx, NULL);
            KR_AWAIT_INTO(&t->co, &t->recv, cx, t->rc);
            BENCH_OK(t->rc);
        }
    }
    KR_ASYNC_END(&t->co);
}

static void sig_iter_drop(kr_future *f) {
    kr_coro_drop(&((sig_iter_task *)f)->co);
}
KR_FUTURE_VTABLE(sig_iter_vt, sig_iter_task, sig_iter_poll, sig_iter_drop, 0);

/* Tokio's Spinner: ready at its fifth poll, waking itself before, so that
 * every listener task has run once (and listens) before the timing. */
typedef struct spinner {
    kr_future base;
    int count;
} spinner;

static kr_poll spinner_poll(kr_future *f, kr_context *cx, void *out) {
    spinner *s = (spinner *)f;
    (void)out;
    if (s->count > 3)
        return KR_READY;
    s->count++;
    kr_waker_wake_by_ref(kr_context_waker(cx));
    return KR_PENDING;
}
KR_FUTURE_VTABLE(spinner_vt, spinner, spinner_poll, NULL, 0);

typedef struct sig_bench {
    kr_runtime *rt;
    kr_mpsc_rx *rx;
} sig_bench;

static void sig_iter(void *arg) {
    sig_bench *b = arg;
    sig_iter_task t = {.base = {&sig_iter_vt}, .co = KR_CORO_INIT, .rx = b->rx};
    BENCH_OK(kr_runtime_block_on(b->rt, &t.base, NULL));
}

void signal_many_signals(const bench_cfg *cfg, const char *name) {
    sig_bench b = {os_runtime(), NULL};
    kr_mpsc_tx *tx;
    BENCH_OK(kr_mpsc_new(0, NUM_SIGNALS, &tx, &b.rx));
    for (int i = 0; i < 2 * NUM_SIGNALS; i++) {
        sig_task t = {.base = {&sig_vt},
                      .co = KR_CORO_INIT,
                      .signum = i % 2 ? SIGIO : SIGCHLD,
                      .tx = kr_mpsc_tx_clone(tx)};
        BENCH_OK(kr_runtime_spawn(b.rt, &t.base, NULL));
    }
    kr_mpsc_tx_drop(tx);
    spinner s = {.base = {&spinner_vt}};
    BENCH_OK(kr_runtime_block_on(b.rt, &s.base, NULL));
    bench_measure(cfg, name, sig_iter, &b);
    /* The listener tasks are dropped with the runtime; the receiver after,
     * so that none of them sees the channel close mid-send. */
    kr_runtime_free(b.rt);
    kr_mpsc_rx_drop(b.rx);
}

/* ---- process/spawn_wait ----------------------------------------------- */

typedef struct spawn_task {
    kr_future base;
    kr_coro co;
    kr_command *cmd;
    kr_child *child;
    kr_child_wait_future wait;
    kr_exit_status st;
    int i, rc;
} spawn_task;

static kr_poll spawn_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_task *t = (spawn_task *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < NUM_SPAWNS; t->i++) {
        BENCH_OK(kr_command_spawn(t->cmd, &t->child));
        t->wait = kr_child_wait(t->child, &t->st);
        KR_AWAIT_INTO(&t->co, &t->wait, cx, t->rc);
        BENCH_OK(t->rc);
        BENCH_CHECK_EQ("process: exit code of true", t->st.code, 0);
        kr_child_free(t->child);
        t->child = NULL;
    }
    KR_ASYNC_END(&t->co);
}

static void spawn_drop(kr_future *f) {
    spawn_task *t = (spawn_task *)f;
    kr_coro_drop(&t->co);
    kr_child_free(t->child);
}
KR_FUTURE_VTABLE(spawn_vt, spawn_task, spawn_poll, spawn_drop, 0);

typedef struct spawn_bench {
    kr_runtime *rt;
    kr_command *cmd;
} spawn_bench;

static void spawn_iter(void *arg) {
    spawn_bench *b = arg;
    spawn_task t = {.base = {&spawn_vt}, .co = KR_CORO_INIT, .cmd = b->cmd};
    BENCH_OK(kr_runtime_block_on(b->rt, &t.base, NULL));
}

void process_spawn_wait(const bench_cfg *cfg, const char *name) {
    spawn_bench b = {os_runtime(), kr_command_new("true")};
    if (b.cmd == NULL)
        bench_fail("process: out of memory");
    bench_measure(cfg, name, spawn_iter, &b);
    kr_command_free(b.cmd);
    kr_runtime_free(b.rt);
}
