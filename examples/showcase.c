/*
 * showcase.c: a tour of kairo in one program (what `make run` runs).
 *
 * On one current-thread runtime, the main task spawns
 *   - a sleeper, which waits on a hand-written future that a plain pthread
 *     completes after 100 ms (how any callback or thread plugs into async);
 *   - two tickers, which take turns through kr_yield_now();
 *   - a producer, which hands the main task a value through a oneshot;
 *   - a doomed task, which waits for a message that never comes and is
 *     aborted: its join handle reads KR_ECANCELED;
 *   - a line reader, built in place in its task cell (kr_spawn_in_place),
 *     which runs a child process and reads its output line by line
 *     through a buffered reader;
 * then joins them all. Every step prints with the time since start.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kairo.h"

static struct timespec t0;

/* printf with the milliseconds since start in front. */
static void say(const char *fmt, ...) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - t0.tv_sec) * 1e3 +
                (double)(now.tv_nsec - t0.tv_nsec) / 1e6;
    va_list ap;
    va_start(ap, fmt);
    printf("[%6.1f ms] ", ms);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* ---- a leaf future woken from another thread ----------------------------
 * The state the future and its thread share lives on the heap, so either can
 * go first: if the task is cancelled, the thread still finds valid memory. */
typedef struct timer_state {
    pthread_mutex_t lock;
    bool completed;
    kr_waker waker; /* the task to wake; vtable NULL until the first poll */
    int refs;       /* the future and the thread, under the lock */
    unsigned ms;
} timer_state;

typedef struct {
    kr_future base;
    unsigned ms;
    timer_state *st;
} thread_timer;

static void timer_state_release(timer_state *st) {
    pthread_mutex_lock(&st->lock);
    bool last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (last) {
        pthread_mutex_destroy(&st->lock);
        free(st);
    }
}

static void *timer_thread(void *arg) {
    timer_state *st = arg;
    struct timespec d = {st->ms / 1000, (long)(st->ms % 1000) * 1000000};
    nanosleep(&d, NULL);
    pthread_mutex_lock(&st->lock);
    st->completed = true;
    kr_waker w = st->waker; /* take it: wake outside the lock */
    st->waker.vtable = NULL;
    pthread_mutex_unlock(&st->lock);
    if (w.vtable != NULL)
        kr_waker_wake(w); /* consumes the reference kr_waker_set cloned */
    timer_state_release(st);
    return NULL;
}

static kr_poll thread_timer_poll(kr_future *f, kr_context *cx, void *out) {
    thread_timer *t = (thread_timer *)f;
    if (t->st == NULL) { /* first poll: start the thread */
        timer_state *st = calloc(1, sizeof(*st));
        pthread_t th;
        if (st == NULL)
            abort();
        pthread_mutex_init(&st->lock, NULL);
        st->refs = 2;
        st->ms = t->ms;
        t->st = st;
        if (pthread_create(&th, NULL, timer_thread, st) != 0)
            abort();
        pthread_detach(th);
    }
    /* Check and store the waker under one lock, so the thread cannot
     * complete in between and find no waker: a lost wakeup. */
    pthread_mutex_lock(&t->st->lock);
    bool done = t->st->completed;
    if (!done) /* store (a clone of) our waker before saying PENDING */
        kr_waker_set(&t->st->waker, kr_context_waker(cx));
    pthread_mutex_unlock(&t->st->lock);
    if (!done)
        return KR_PENDING;
    /* Release at READY what only the wait needed. (KR_AWAIT drops its
     * child right after READY; that drop then finds nothing left.) */
    timer_state_release(t->st);
    t->st = NULL;
    return KR_READY;
}

/* Cancelled while waiting: forget the waker; the thread may still run. */
static void thread_timer_drop(kr_future *f) {
    thread_timer *t = (thread_timer *)f;
    if (t->st == NULL)
        return;
    pthread_mutex_lock(&t->st->lock);
    kr_waker_reset(&t->st->waker);
    pthread_mutex_unlock(&t->st->lock);
    timer_state_release(t->st);
    t->st = NULL;
}
KR_FUTURE_VTABLE(thread_timer_vt, thread_timer, thread_timer_poll,
                 thread_timer_drop, 0);

/* ---- the tasks ------------------------------------------------------ */

typedef struct {
    kr_future base;
    kr_coro co;
    thread_timer timer;
} sleeper;

static kr_poll sleeper_poll(kr_future *f, kr_context *cx, void *out) {
    sleeper *s = (sleeper *)f;
    KR_ASYNC_BEGIN(&s->co);
    say("sleeper: starting a 100 ms timer thread, then suspending");
    s->timer = (thread_timer){{&thread_timer_vt}, 100, NULL};
    KR_AWAIT(&s->co, &s->timer.base, cx, NULL);
    say("sleeper: woken by the timer thread");
    KR_RETURN(&s->co, out, int, 100);
    KR_ASYNC_END(&s->co);
}
/* Cancelling a coroutine drops the child it is awaiting. */
static void sleeper_drop(kr_future *f) { kr_coro_drop(&((sleeper *)f)->co); }
KR_FUTURE_VTABLE(sleeper_vt, sleeper, sleeper_poll, sleeper_drop, sizeof(int));

typedef struct {
    kr_future base;
    kr_coro co;
    kr_yield y;
    char name;
    int i;
} ticker;

static kr_poll ticker_poll(kr_future *f, kr_context *cx, void *out) {
    ticker *t = (ticker *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 1; t->i <= 3; t->i++) {
        say("ticker %c: tick %d, yielding", t->name, t->i);
        t->y = kr_yield_now(); /* to the back of the run queue */
        KR_AWAIT(&t->co, &t->y.base, cx, NULL);
    }
    KR_RETURN(&t->co, out, int, t->i - 1);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(ticker_vt, ticker, ticker_poll, NULL, sizeof(int));

typedef struct {
    kr_future base;
    kr_oneshot_tx *tx;
} producer;

static kr_poll producer_poll(kr_future *f, kr_context *cx, void *out) {
    producer *p = (producer *)f;
    int answer = 42;
    say("producer: sending %d", answer);
    kr_oneshot_send(p->tx, &answer); /* releases the sender */
    p->tx = NULL;
    return KR_READY;
}
static void producer_drop(kr_future *f) {
    kr_oneshot_tx_drop(((producer *)f)->tx); /* NULL once sent */
}
KR_FUTURE_VTABLE(producer_vt, producer, producer_poll, producer_drop, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    kr_oneshot_rx *rx;
    kr_oneshot_recv recv;
    int rc;
} doomed;

static kr_poll doomed_poll(kr_future *f, kr_context *cx, void *out) {
    doomed *d = (doomed *)f;
    KR_ASYNC_BEGIN(&d->co);
    say("doomed: waiting for a message that never comes");
    d->recv = kr_oneshot_recv_future(d->rx, NULL);
    KR_AWAIT_INTO(&d->co, &d->recv, cx, d->rc);
    say("doomed: this line never prints");
    kr_oneshot_rx_drop(d->rx);
    d->rx = NULL;
    KR_ASYNC_END(&d->co);
}
/* Abort drops the future where it waits: release what it still owns. */
static void doomed_drop(kr_future *f) {
    doomed *d = (doomed *)f;
    kr_coro_drop(&d->co); /* the pending receive */
    if (d->rx != NULL)
        say("doomed: cancelled, dropping its receiver");
    kr_oneshot_rx_drop(d->rx);
    d->rx = NULL;
}
KR_FUTURE_VTABLE(doomed_vt, doomed, doomed_poll, doomed_drop, 0);

/* A child's output, line by line. Its init runs inside the task cell at
 * spawn: the command starts there, and a failure is the spawn's error. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_child *child;
    kr_buf_reader *r;
    kr_buf_op op;
    const char *line;
    int64_t n;
    int count;
    kr_child_wait_future wait;
    int rc;
} liner;

static int liner_init(kr_future *f, void *arg) {
    liner *l = (liner *)f;
    (void)arg;
    memset((char *)l + sizeof(l->base), 0, sizeof(*l) - sizeof(l->base));
    kr_command *cmd = kr_command_new("printf");
    kr_command_arg(cmd, "%s\\n");
    kr_command_arg(cmd, "alpha");
    kr_command_arg(cmd, "beta");
    kr_command_stdout(cmd, KR_STDIO_PIPE);
    int rc = kr_command_spawn(cmd, &l->child);
    kr_command_free(cmd);
    if (rc == 0 && (rc = kr_buf_reader_new(
                        kr_io_pipe(kr_child_stdout(l->child)), 0, &l->r)) != 0)
        kr_child_free(l->child);
    return rc;
}

static kr_poll liner_poll(kr_future *f, kr_context *cx, void *out) {
    liner *l = (liner *)f;
    KR_ASYNC_BEGIN(&l->co);
    for (;;) {
        l->op = kr_buf_read_line(l->r, 256, &l->line);
        KR_AWAIT_INTO(&l->co, &l->op, cx, l->n);
        if (l->n <= 0)
            break; /* end of the child's output, or an error */
        say("liner: the child says \"%.*s\"", (int)l->n - 1, l->line);
        l->count++;
    }
    l->wait = kr_child_wait(l->child, NULL);
    KR_AWAIT_INTO(&l->co, &l->wait, cx, l->rc);
    KR_RETURN(&l->co, out, int, l->count);
    KR_ASYNC_END(&l->co);
}

static void liner_drop(kr_future *f) {
    liner *l = (liner *)f;
    kr_coro_drop(&l->co);
    kr_buf_reader_free(l->r);
    kr_child_free(l->child);
}
KR_FUTURE_VTABLE(liner_vt, liner, liner_poll, liner_drop, sizeof(int));

/* ---- the main task ---------------------------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle sleeper, tick_a, tick_b, producer, doomed, liner;
    kr_oneshot_rx *answer_rx;
    kr_oneshot_tx *never_tx;
    kr_oneshot_recv recv;
    int rc, answer, v;
} main_task;

static kr_poll main_poll(kr_future *f, kr_context *cx, void *out) {
    main_task *m = (main_task *)f;
    kr_oneshot_tx *answer_tx;
    kr_oneshot_rx *never_rx;
    KR_ASYNC_BEGIN(&m->co);
    say("main: spawning a sleeper, two tickers, a producer, a doomed task "
        "and a line reader");
    if (kr_oneshot_new(sizeof(int), &answer_tx, &m->answer_rx) != 0 ||
        kr_oneshot_new(0, &m->never_tx, &never_rx) != 0)
        KR_RETURN(&m->co, out, int, 1);
    { /* spawn copies each future into its task, so they can be locals */
        sleeper s = {{&sleeper_vt}, KR_CORO_INIT, {{NULL}, 0, NULL}};
        ticker a = {{&ticker_vt}, KR_CORO_INIT, {{NULL}, 0}, 'A', 0};
        ticker b = {{&ticker_vt}, KR_CORO_INIT, {{NULL}, 0}, 'B', 0};
        producer p = {{&producer_vt}, answer_tx};
        doomed d = {
            {&doomed_vt}, KR_CORO_INIT, never_rx, {{NULL}, NULL, NULL, 0}, 0};
        if (kr_spawn(&s.base, &m->sleeper) || kr_spawn(&a.base, &m->tick_a) ||
            kr_spawn(&b.base, &m->tick_b) || kr_spawn(&p.base, &m->producer) ||
            kr_spawn(&d.base, &m->doomed) ||
            kr_spawn_in_place(&liner_vt, liner_init, NULL, &m->liner))
            KR_RETURN(&m->co, out, int, 1);
    }

    /* Nothing has run yet: tasks run when the main task suspends. */
    say("main: awaiting the producer's value");
    m->recv = kr_oneshot_recv_future(m->answer_rx, &m->answer);
    KR_AWAIT_INTO(&m->co, &m->recv, cx, m->rc);
    say("main: received %d (%s)", m->answer, kr_strerror(m->rc));

    say("main: aborting the doomed task");
    kr_join_handle_abort(&m->doomed);
    KR_AWAIT(&m->co, &m->doomed.base, cx, NULL);
    say("main: doomed task's handle reads %s",
        kr_err_name(kr_join_handle_error(&m->doomed)));
    if (kr_join_handle_error(&m->doomed) != KR_ECANCELED)
        KR_RETURN(&m->co, out, int, 1);

    KR_AWAIT_INTO(&m->co, &m->tick_a, cx, m->v);
    say("main: ticker A ticked %d times", m->v);
    KR_AWAIT_INTO(&m->co, &m->tick_b, cx, m->v);
    say("main: ticker B ticked %d times", m->v);
    KR_AWAIT(&m->co, &m->producer.base, cx, NULL);
    say("main: waiting for the sleeper (the runtime parks: nothing to run)");
    KR_AWAIT_INTO(&m->co, &m->sleeper, cx, m->v);
    say("main: sleeper slept %d ms", m->v);
    KR_AWAIT_INTO(&m->co, &m->liner, cx, m->v);
    say("main: liner read %d lines; all tasks joined", m->v);

    kr_oneshot_rx_drop(m->answer_rx);
    kr_oneshot_tx_drop(m->never_tx);
    KR_RETURN(&m->co, out, int, m->answer == 42 ? 0 : 1);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(main_vt, main_task, main_poll, NULL, sizeof(int));

int main(void) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kr_runtime *rt;
    int rc = kr_runtime_new(NULL, &rt); /* NULL config: current-thread */
    if (rc != 0) {
        fprintf(stderr, "kr_runtime_new: %s\n", kr_strerror(rc));
        return 1;
    }
    say("main: current-thread runtime created");
    main_task m = {.base = {&main_vt}};
    int status = 1;
    rc = kr_runtime_block_on(rt, &m.base, &status);
    kr_runtime_free(rt);
    say("main: runtime freed, exiting with status %d", rc == 0 ? status : 1);
    return rc == 0 ? status : 1;
}
