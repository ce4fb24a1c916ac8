/*
 * Signals (kairo/signal.h): several listeners, drops, a burst that
 * coalesces, the disposition restored by the last listener, ctrl_c, and
 * Tokio's tokio/tests/signal_*.rs.
 * KR_TEST_FLAVORS: ct mt
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

/* Awaits `n` recvs on `l`; output: an int, 0 or the first error. */
typedef struct waiter {
    kr_future base;
    kr_coro co;
    kr_signal_listener *l;
    kr_signal_recv r;
    int n, i, rc;
} waiter;

static kr_poll waiter_poll(kr_future *f, kr_context *cx, void *out) {
    waiter *w = (waiter *)f;
    KR_ASYNC_BEGIN(&w->co);
    for (w->i = 0; w->i < w->n; w->i++) {
        w->r = kr_signal_listener_recv(w->l);
        KR_AWAIT(&w->co, &w->r.base, cx, &w->rc);
        if (w->rc != 0)
            break;
    }
    KR_RETURN(&w->co, out, int, w->rc);
    KR_ASYNC_END(&w->co);
}

static void waiter_drop(kr_future *f) { kr_coro_drop(&((waiter *)f)->co); }

static const kr_future_vtable waiter_vt = {
    waiter_poll, waiter_drop, sizeof(waiter), sizeof(int), "waiter"};

static waiter waiter_make(kr_signal_listener *l, int n) {
    waiter w = {{&waiter_vt}, KR_CORO_INIT, l, {{NULL}, NULL}, n, 0, 0};
    return w;
}

/* Sleeps `ms`, then sends `sig` to the process (any thread may take it)
 * `times` times, once per sleep. */
typedef struct raiser {
    kr_future base;
    kr_coro co;
    kr_sleep s;
    int sig, ms, times, i;
} raiser;

static kr_poll raiser_poll(kr_future *f, kr_context *cx, void *out) {
    raiser *r = (raiser *)f;
    KR_ASYNC_BEGIN(&r->co);
    for (r->i = 0; r->i < r->times; r->i++) {
        r->s = kr_sleep_until(kr_instant_add(kr_instant_now(), kr_ms(r->ms)));
        KR_AWAIT(&r->co, &r->s.base, cx, NULL);
        raise(r->sig); /* this thread: TSan delays a handler for a thread
                          parked in a raw futex until that thread wakes */
    }
    (void)out;
    KR_ASYNC_END(&r->co);
}

static void raiser_drop(kr_future *f) { kr_coro_drop(&((raiser *)f)->co); }

static const kr_future_vtable raiser_vt = {raiser_poll, raiser_drop,
                                           sizeof(raiser), 0, "raiser"};

static void spawn_raiser(kr_runtime *rt, int sig, int ms, int times) {
    raiser r = {
        {&raiser_vt}, KR_CORO_INIT, {{NULL}, {0, {NULL}}}, sig, ms, times, 0};
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &r.base, &h), 0);
    kr_join_handle_drop(&h);
}

static int run_int(kr_runtime *rt, kr_future *f) {
    int v = -12345;
    assert_rc(kr_runtime_block_on(rt, f, &v), 0);
    return v;
}

/* The handler of `sig` as the process sees it now. */
static void (*disposition(int sig))(int) {
    struct sigaction sa;
    assert_int_equal(sigaction(sig, NULL, &sa), 0);
    return sa.sa_handler;
}

/* ---- ports of tokio/tests/signal_*.rs ------------------------------------ */

/* signal_usr1.rs: signal_usr1. */
static void signal_usr1(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *l;
    assert_rc(kr_signal_listen(SIGUSR1, &l), 0);
    spawn_raiser(rt, SIGUSR1, 10, 1);
    waiter w = waiter_make(l, 1);
    assert_rc(run_int(rt, &w.base), 0);
    kr_signal_listener_free(l);
    test_runtime_free(rt);
}

/* signal_twice.rs: twice (one delivery per recv, twice over). */
static void twice(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *l;
    assert_rc(kr_signal_listen(SIGUSR1, &l), 0);
    spawn_raiser(rt, SIGUSR1, 20, 2);
    waiter w = waiter_make(l, 2);
    assert_rc(run_int(rt, &w.base), 0);
    kr_signal_listener_free(l);
    test_runtime_free(rt);
}

/* signal_notify_both.rs: notify_both (two listeners, one delivery). */
static void notify_both(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *a, *b;
    assert_rc(kr_signal_listen(SIGUSR2, &a), 0);
    assert_rc(kr_signal_listen(SIGUSR2, &b), 0);
    kr_join_handle h;
    waiter wa = waiter_make(a, 1);
    assert_rc(kr_runtime_spawn(rt, &wa.base, &h), 0);
    spawn_raiser(rt, SIGUSR2, 10, 1);
    waiter wb = waiter_make(b, 1);
    assert_rc(run_int(rt, &wb.base), 0);
    assert_rc(run_int(rt, &h.base), 0);
    kr_signal_listener_free(a);
    kr_signal_listener_free(b);
    test_runtime_free(rt);
}

/* signal_drop_recv.rs: drop_then_get_a_signal. */
static void drop_then_get_a_signal(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *l;
    assert_rc(kr_signal_listen(SIGUSR1, &l), 0);
    kr_signal_listener_free(l);
    assert_rc(kr_signal_listen(SIGUSR1, &l), 0);
    spawn_raiser(rt, SIGUSR1, 10, 1);
    waiter w = waiter_make(l, 1);
    assert_rc(run_int(rt, &w.base), 0);
    kr_signal_listener_free(l);
    test_runtime_free(rt);
}

/* signal_drop_signal.rs:
 * dropping_signal_does_not_deregister_any_other_instances. */
static void
dropping_signal_does_not_deregister_any_other_instances(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *first, *l, *second;
    assert_rc(kr_signal_listen(SIGUSR1, &first), 0);
    assert_rc(kr_signal_listen(SIGUSR1, &l), 0);
    assert_rc(kr_signal_listen(SIGUSR1, &second), 0);
    kr_signal_listener_free(first);
    kr_signal_listener_free(second);
    assert_true(disposition(SIGUSR1) != SIG_DFL);
    spawn_raiser(rt, SIGUSR1, 10, 1);
    waiter w = waiter_make(l, 1);
    assert_rc(run_int(rt, &w.base), 0);
    kr_signal_listener_free(l);
    test_runtime_free(rt);
}

/* signal_ctrl_c.rs: ctrl_c. */
static void ctrl_c(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    /* The listener is made at the first poll: raise well after it. */
    spawn_raiser(rt, SIGINT, 50, 1);
    kr_ctrl_c_future c = kr_ctrl_c();
    assert_rc(run_int(rt, &c.base), 0);
    assert_true(disposition(SIGINT) == SIG_DFL);
    test_runtime_free(rt);
}

/* signal_realtime.rs: signal_realtime (every real-time signal). */
static void signal_realtime(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int n = SIGRTMAX - SIGRTMIN + 1;
    kr_signal_listener **ls = calloc((size_t)n, sizeof(*ls));
    for (int i = 0; i < n; i++)
        assert_rc(kr_signal_listen(SIGRTMIN + i, &ls[i]), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(raise(SIGRTMIN + i), 0);
        waiter w = waiter_make(ls[i], 1);
        assert_rc(run_int(rt, &w.base), 0);
    }
    for (int i = 0; i < n; i++)
        kr_signal_listener_free(ls[i]);
    free(ls);
    test_runtime_free(rt);
}

/* signal_multi_rt.rs: multi_loop (four runtimes on four threads, one
 * delivery wakes them all), ten rounds. */
typedef struct loop_arg {
    test_latch *ready;
    int rc;
} loop_arg;

static void *loop_main(void *p) {
    loop_arg *a = p;
    kr_runtime *rt;
    a->rc = kr_runtime_new(NULL, &rt);
    if (a->rc != 0) {
        test_latch_add(a->ready, 1);
        return NULL;
    }
    kr_signal_listener *l;
    a->rc = kr_signal_listen(SIGHUP, &l);
    test_latch_add(a->ready, 1);
    if (a->rc == 0) {
        waiter w = waiter_make(l, 1);
        int v = -1;
        kr_runtime_block_on(rt, &w.base, &v);
        a->rc = v;
        kr_signal_listener_free(l);
    }
    kr_runtime_free(rt);
    return NULL;
}

static void multi_loop(void **state) {
    (void)state;
    for (int round = 0; round < 10; round++) {
        test_latch ready;
        test_latch_init(&ready);
        pthread_t t[4];
        loop_arg a[4];
        for (int i = 0; i < 4; i++) {
            a[i] = (loop_arg){&ready, -1};
            assert_int_equal(pthread_create(&t[i], NULL, loop_main, &a[i]), 0);
        }
        while (test_latch_get(&ready) < 4)
            test_sleep_ms(1);
        kill(getpid(), SIGHUP);
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            assert_rc(a[i].rc, 0);
        }
        test_latch_destroy(&ready);
    }
    assert_true(disposition(SIGHUP) == SIG_DFL);
}

/* signal_drop_rt.rs: dropping_loops_does_not_cause_starvation (a listener
 * whose runtime is gone does not stop another runtime's listener). */
static void dropping_loops_does_not_cause_starvation(void **state) {
    (void)state;
    kr_runtime *first = test_runtime(0), *second = test_runtime(0);
    kr_signal_listener *a, *b;
    assert_rc(kr_signal_listen(SIGUSR1, &a), 0);
    assert_rc(kr_signal_listen(SIGUSR1, &b), 0);
    assert_int_equal(raise(SIGUSR1), 0);
    waiter wa = waiter_make(a, 1);
    assert_rc(run_int(first, &wa.base), 0);
    kr_signal_listener_free(a);
    test_runtime_free(first);
    waiter wb = waiter_make(b, 2);
    spawn_raiser(second, SIGUSR1, 10, 1);
    assert_rc(run_int(second, &wb.base), 0);
    kr_signal_listener_free(b);
    test_runtime_free(second);
}

/* ---- kairo's own ---------------------------------------------------------- */

/* Eight listeners in eight tasks; every one sees the single delivery. */
static void raise_with_several_listeners(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    enum { N = 8 };
    kr_signal_listener *l[N];
    kr_join_handle h[N];
    for (int i = 0; i < N; i++) {
        assert_rc(kr_signal_listen(SIGUSR1, &l[i]), 0);
        waiter w = waiter_make(l[i], 1);
        assert_rc(kr_runtime_spawn(rt, &w.base, &h[i]), 0);
    }
    spawn_raiser(rt, SIGUSR1, 20, 1);
    for (int i = 0; i < N; i++)
        assert_rc(run_int(rt, &h[i].base), 0);
    for (int i = 0; i < N; i++)
        kr_signal_listener_free(l[i]);
    test_runtime_free(rt);
}

/* A recv pending in a task that is aborted, its listener then freed: the
 * other listener still gets the delivery, and nothing leaks. */
static void listener_dropped_while_pending(void **state) {
    (void)state;
    test_alloc_install();
    long before = test_alloc_live();
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *gone, *kept;
    assert_rc(kr_signal_listen(SIGUSR2, &gone), 0);
    assert_rc(kr_signal_listen(SIGUSR2, &kept), 0);
    kr_join_handle h;
    waiter w = waiter_make(gone, 1);
    assert_rc(kr_runtime_spawn(rt, &w.base, &h), 0);
    /* Let it go pending. */
    kr_sleep s = kr_sleep_until(kr_instant_add(kr_instant_now(), kr_ms(20)));
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_false(kr_join_handle_is_finished(&h));
    assert_rc(kr_join_handle_abort(&h), 0);
    int out = 0;
    assert_rc(kr_runtime_block_on(rt, &h.base, &out), 0);
    assert_rc(kr_join_handle_error(&h), KR_ECANCELED);
    kr_signal_listener_free(gone);
    spawn_raiser(rt, SIGUSR2, 10, 1);
    waiter wk = waiter_make(kept, 1);
    assert_rc(run_int(rt, &wk.base), 0);
    kr_signal_listener_free(kept);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), before);
    test_alloc_uninstall();
}

/* 1,000 deliveries while the listener is not polled coalesce into one:
 * the first recv completes at once, the second waits for a new one. */
typedef struct burst {
    kr_future base;
    kr_signal_listener *l;
} burst;

static kr_poll burst_poll(kr_future *f, kr_context *cx, void *out) {
    burst *b = (burst *)f;
    for (int i = 0; i < 1000; i++)
        raise(SIGUSR1); /* synchronous: the handler ran before it returns */
    kr_signal_recv r = kr_signal_listener_recv(b->l);
    int rc = -1;
    int first = kr_future_poll(&r.base, cx, &rc) == KR_READY && rc == 0;
    kr_signal_recv r2 = kr_signal_listener_recv(b->l);
    int second = kr_future_poll(&r2.base, cx, &rc) == KR_PENDING;
    *(int *)out = first && second;
    return KR_READY;
}

static const kr_future_vtable burst_vt = {burst_poll, NULL, sizeof(burst),
                                          sizeof(int), "burst"};

static void burst_of_1000_coalesces(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *l;
    assert_rc(kr_signal_listen(SIGUSR1, &l), 0);
    burst b = {{&burst_vt}, l};
    assert_int_equal(run_int(rt, &b.base), 1);
    /* And the next delivery is seen again. */
    spawn_raiser(rt, SIGUSR1, 10, 1);
    waiter w = waiter_make(l, 1);
    assert_rc(run_int(rt, &w.base), 0);
    kr_signal_listener_free(l);
    test_runtime_free(rt);
}

/* The last listener restores the disposition it found: the default, or a
 * program's own (here SIG_IGN). */
static void last_listener_restores_disposition(void **state) {
    (void)state;
    kr_signal_listener *a, *b;
    assert_true(disposition(SIGUSR1) == SIG_DFL);
    assert_rc(kr_signal_listen(SIGUSR1, &a), 0);
    assert_rc(kr_signal_listen(SIGUSR1, &b), 0);
    assert_true(disposition(SIGUSR1) != SIG_DFL);
    kr_signal_listener_free(a);
    assert_true(disposition(SIGUSR1) != SIG_DFL);
    kr_signal_listener_free(b);
    assert_true(disposition(SIGUSR1) == SIG_DFL);
    signal(SIGUSR2, SIG_IGN);
    assert_rc(kr_signal_listen(SIGUSR2, &a), 0);
    kr_signal_listener_free(a);
    assert_true(disposition(SIGUSR2) == SIG_IGN);
    signal(SIGUSR2, SIG_DFL);
}

/* In a child process: with no listener left, a delivery takes the default
 * action (the child dies of it). */
static void no_listener_default_action_in_child(void **state) {
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        kr_signal_listener *l;
        TEST_CHILD_CHECK(kr_signal_listen(SIGUSR1, &l) == 0);
        TEST_CHILD_CHECK(raise(SIGUSR1) == 0); /* handled: survives */
        kr_signal_listener_free(l);
        raise(SIGUSR1);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGUSR1);
}

/* A signal sent from outside while every runtime thread is parked (the
 * block_on thread, which the kernel picks first, on a futex on 2
 * workers): the listener still wakes. Under TSan this hung until the
 * thread woke for something else (the handler runs only at an
 * intercepted call), which kept kairo-http's 2-worker server from
 * exiting on SIGTERM; core/park.c now parks in slices there. */
/* Sends SIGUSR2 after 50 ms, then gives the listener 5 s: a hang is a
 * failure with a message, not a ctest timeout. */
static _Atomic int outside_done;

static void *kill_later(void *arg) {
    (void)arg;
    struct timespec ts = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 5; i++)
        nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR2);
    for (int i = 0; i < 500 && !atomic_load(&outside_done); i++)
        nanosleep(&ts, NULL);
    if (!atomic_load(&outside_done)) {
        fprintf(stderr, "signal_from_outside_while_every_thread_is_parked: "
                        "the listener did not wake within 5 s\n");
        _exit(1);
    }
    return NULL;
}

static void signal_from_outside_while_every_thread_is_parked(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_signal_listener *l;
    assert_rc(kr_signal_listen(SIGUSR2, &l), 0);
    /* No timer anywhere: the block_on thread parks without a timeout. */
    waiter w = waiter_make(l, 1);
    pthread_t th;
    atomic_store(&outside_done, 0);
    assert_int_equal(pthread_create(&th, NULL, kill_later, NULL), 0);
    assert_rc(run_int(rt, &w.base), 0);
    atomic_store(&outside_done, 1);
    pthread_join(th, NULL);
    kr_signal_listener_free(l);
    test_runtime_free(rt);
}

static void invalid_signals(void **state) {
    (void)state;
    kr_signal_listener *l;
    assert_rc(kr_signal_listen(0, &l), KR_EINVAL);
    assert_rc(kr_signal_listen(-1, &l), KR_EINVAL);
    assert_rc(kr_signal_listen(65, &l), KR_EINVAL);
    assert_rc(kr_signal_listen(SIGKILL, &l), KR_EINVAL);
    assert_rc(kr_signal_listen(SIGSTOP, &l), KR_EINVAL);
    assert_rc(kr_signal_listen(SIGSEGV, &l), KR_EINVAL);
    assert_rc(kr_signal_listen(SIGUSR1, NULL), KR_EINVAL);
    kr_signal_listener_free(NULL);
    kr_runtime *rt = test_runtime(0);
    kr_signal_recv r = kr_signal_listener_recv(NULL);
    assert_rc(run_int(rt, &r.base), KR_EINVAL);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signal_usr1),
        cmocka_unit_test(twice),
        cmocka_unit_test(notify_both),
        cmocka_unit_test(drop_then_get_a_signal),
        cmocka_unit_test(
            dropping_signal_does_not_deregister_any_other_instances),
        cmocka_unit_test(ctrl_c),
        cmocka_unit_test(signal_realtime),
        cmocka_unit_test(multi_loop),
        cmocka_unit_test(dropping_loops_does_not_cause_starvation),
        cmocka_unit_test(raise_with_several_listeners),
        cmocka_unit_test(listener_dropped_while_pending),
        cmocka_unit_test(burst_of_1000_coalesces),
        cmocka_unit_test(last_listener_restores_disposition),
        cmocka_unit_test(no_listener_default_action_in_child),
        cmocka_unit_test(signal_from_outside_while_every_thread_is_parked),
        cmocka_unit_test(invalid_signals),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
