/*
 * The I/O reactor through kr_async_fd: readiness woken from another
 * thread, the edge-triggered read/clear loop, the tick guard, writability,
 * peer close, many fds at once, shutdown. KR_TEST_FLAVORS: ct mt
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads everything that arrives on an async fd until `want` bytes, the
 * read/EAGAIN/clear loop of io.h. Output: bytes read, or a negative code. */
typedef struct {
    kr_future base;
    kr_async_fd *afd;
    char *buf;
    long got, want;
    int clears;
} reader;

static kr_poll reader_poll(kr_future *f, kr_context *cx, void *out) {
    reader *r = (reader *)f;
    for (;;) {
        kr_ready_event ev;
        int rc = kr_async_fd_poll_ready(r->afd, cx, KR_READABLE, &ev);
        if (rc == 0)
            return KR_PENDING;
        if (rc < 0) {
            *(long *)out = rc;
            return KR_READY;
        }
        ssize_t n = read(kr_async_fd_fd(r->afd), r->buf + r->got,
                         (size_t)(r->want - r->got));
        if (n < 0 && errno == EAGAIN) {
            kr_async_fd_clear_ready(r->afd, ev);
            r->clears++;
            continue;
        }
        if (n <= 0) {
            *(long *)out = n == 0 ? r->got : -errno;
            return KR_READY;
        }
        r->got += n;
        if (r->got == r->want) {
            *(long *)out = r->got;
            return KR_READY;
        }
    }
}
KR_FUTURE_VTABLE(reader_vt, reader, reader_poll, NULL, sizeof(long));

typedef struct {
    int fd, delay_ms, chunks;
} writer_arg;

static void *writer_thread(void *p) {
    writer_arg *a = p;
    for (int i = 0; i < a->chunks; i++) {
        msleep(a->delay_ms);
        char c[100];
        memset(c, 'a' + i, sizeof(c));
        assert_int_equal(write(a->fd, c, sizeof(c)), sizeof(c));
    }
    return NULL;
}

static void readiness_from_another_thread(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, p[0], &afd), 0);
    char buf[500];
    writer_arg wa = {p[1], 10, 5};
    pthread_t th;
    pthread_create(&th, NULL, writer_thread, &wa);
    reader r = {.base = {&reader_vt}, .afd = afd, .buf = buf, .want = 500};
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &r.base, &h), 0);
    long got = 0;
    assert_rc(kr_runtime_block_on(rt, &h.base, &got), 0);
    assert_int_equal(got, 500);
    for (int i = 0; i < 500; i++)
        assert_int_equal(buf[i], 'a' + i / 100);
    pthread_join(th, NULL);
    kr_async_fd_free(afd);
    close(p[0]);
    close(p[1]);
    test_runtime_free(rt);
}

/* The tick guard: a clear with a stale event keeps newer readiness. */
static void clear_with_stale_tick_is_ignored(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    /* Let the reactor see the initial writability, via a block_on that
     * awaits it. */
    kr_readiness rw = kr_async_fd_ready(afd, KR_WRITABLE);
    int ready = 0;
    assert_rc(kr_runtime_block_on(rt, &rw.base, &ready), 0);
    assert_true(ready & KR_WRITABLE);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    kr_ready_event stale;
    assert_int_equal(kr_async_fd_poll_ready(afd, &cx, KR_WRITABLE, &stale), 1);
    /* A new event (data to read) arrives and is dispatched: new tick. */
    assert_int_equal(write(sv[1], "x", 1), 1);
    kr_readiness rr = kr_async_fd_ready(afd, KR_READABLE);
    assert_rc(kr_runtime_block_on(rt, &rr.base, &ready), 0);
    assert_true(ready & KR_READABLE);
    /* The stale clear must not erase the newer state. */
    kr_async_fd_clear_ready(afd, stale);
    kr_ready_event now;
    assert_int_equal(kr_async_fd_poll_ready(afd, &cx, KR_WRITABLE, &now), 1);
    assert_true(now.tick != stale.tick);
    /* A current clear does. */
    kr_async_fd_clear_ready(afd, now);
    assert_int_equal(kr_async_fd_poll_ready(afd, &cx, KR_WRITABLE, &now), 0);
    kr_async_fd_free(afd); /* drops the noop waker stored just now */
    close(sv[0]);
    close(sv[1]);
    test_runtime_free(rt);
}

static void peer_close_is_read_closed(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    close(sv[1]);
    char buf[10];
    reader r = {.base = {&reader_vt}, .afd = afd, .buf = buf, .want = 10};
    long got = -1;
    assert_rc(kr_runtime_block_on(rt, &r.base, &got), 0);
    assert_int_equal(got, 0); /* EOF */
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    kr_ready_event ev;
    assert_int_equal(kr_async_fd_poll_ready(afd, &cx, KR_READABLE, &ev), 1);
    assert_true(ev.ready & KR_READ_CLOSED);
    kr_async_fd_clear_ready(afd, ev); /* closed stays set */
    assert_int_equal(kr_async_fd_poll_ready(afd, &cx, KR_READABLE, &ev), 1);
    kr_async_fd_free(afd);
    close(sv[0]);
    test_runtime_free(rt);
}

/* 1000 pipes, one reader task each, written from another thread. */
typedef struct {
    int *w;
    int n;
} many_arg;

static void *many_writer(void *p) {
    many_arg *a = p;
    msleep(5);
    for (int i = a->n - 1; i >= 0; i--) {
        char c[8];
        memset(c, (char)i, sizeof(c));
        assert_int_equal(write(a->w[i], c, sizeof(c)), sizeof(c));
    }
    return NULL;
}

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle *h;
    long n, k, sum, v;
} join_sum;

static kr_poll join_sum_poll(kr_future *f, kr_context *cx, void *out) {
    join_sum *j = (join_sum *)f;
    KR_ASYNC_BEGIN(&j->co);
    for (j->k = 0; j->k < j->n; j->k++) {
        KR_AWAIT(&j->co, &j->h[j->k].base, cx, &j->v);
        j->sum += j->v;
    }
    KR_RETURN(&j->co, out, long, j->sum);
    KR_ASYNC_END(&j->co);
}
KR_FUTURE_VTABLE(join_sum_vt, join_sum, join_sum_poll, NULL, sizeof(long));

static void thousand_fds(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    enum { N = 1000 };
    int *rd = calloc(N, sizeof(int)), *wr = calloc(N, sizeof(int));
    kr_async_fd **afd = calloc(N, sizeof(*afd));
    char(*buf)[8] = calloc(N, 8);
    kr_join_handle *h = calloc(N, sizeof(*h));
    for (int i = 0; i < N; i++) {
        int p[2];
        if (pipe(p) != 0) {
            /* The fd limit is lower than 2000 here: skip rather than fail. */
            skip();
        }
        rd[i] = p[0];
        wr[i] = p[1];
        assert_rc(kr_runtime_async_fd_new(rt, rd[i], &afd[i]), 0);
        reader r = {
            .base = {&reader_vt}, .afd = afd[i], .buf = buf[i], .want = 8};
        assert_rc(kr_runtime_spawn(rt, &r.base, &h[i]), 0);
    }
    many_arg ma = {wr, N};
    pthread_t th;
    pthread_create(&th, NULL, many_writer, &ma);
    join_sum j = {.base = {&join_sum_vt}, .h = h, .n = N};
    long total = 0;
    assert_rc(kr_runtime_block_on(rt, &j.base, &total), 0);
    assert_int_equal(total, 8L * N);
    pthread_join(th, NULL);
    for (int i = 0; i < N; i++) {
        for (int b = 0; b < 8; b++)
            assert_int_equal(buf[i][b], (char)i);
        kr_async_fd_free(afd[i]);
        close(rd[i]);
        close(wr[i]);
    }
    test_runtime_free(rt);
    free(rd);
    free(wr);
    free(afd);
    free(buf);
    free(h);
}

/* A registration outliving its runtime: polls report KR_ESHUTDOWN, the
 * free works and leaks nothing. */
static void async_fd_outlives_runtime(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, p[0], &afd), 0);
    kr_runtime_free(rt);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    kr_ready_event ev;
    assert_rc(kr_async_fd_poll_ready(afd, &cx, KR_READABLE, &ev), KR_ESHUTDOWN);
    kr_async_fd_free(afd);
    close(p[0]);
    close(p[1]);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void async_fd_misuse(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_async_fd *afd = (kr_async_fd *)1;
    assert_rc(kr_runtime_async_fd_new(rt, -1, &afd), KR_EINVAL);
    assert_null(afd);
    assert_rc(kr_runtime_async_fd_new(NULL, 0, &afd), KR_EINVAL);
    assert_rc(kr_runtime_async_fd_new(rt, 0, NULL), KR_EINVAL);
    assert_rc(kr_async_fd_new(0, &afd), KR_EINVAL); /* outside a runtime */
    assert_rc(kr_runtime_async_fd_new(rt, 987, &afd), KR_EBADF);
    /* A regular file cannot be registered with epoll. */
    FILE *tmp = tmpfile();
    assert_rc(kr_runtime_async_fd_new(rt, fileno(tmp), &afd), KR_EPERM);
    fclose(tmp);
    kr_async_fd_free(NULL);
    assert_int_equal(kr_async_fd_fd(NULL), -1);
    test_runtime_free(rt);
}

/* ---- registration churn on a loop that never parks ------------------------
 * Tokio's io_async_fd_memory_leak `memory_leak_when_fd_closed_before_drop`:
 * registrations made and freed in a loop that never lets the runtime park
 * (all of it in one poll) must not pile up. Even rounds close the fd
 * before the free, as Tokio's test does; odd ones after, the usual order.
 * Memory is measured in live blocks of the counting allocator. On the
 * multi-thread runtime another thread turns the reactor, so each phase may
 * wait (up to 5 s, sleeping) for it to catch up; a current-thread loop
 * inside one poll gets no turn at all, so there the bound must hold at
 * once. */

enum { CHURN_ROUNDS = 1000, CHURN_SLACK = 64 };

static void churn_phase(void) {
    for (int i = 0; i < CHURN_ROUNDS; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        kr_async_fd *afd;
        assert_rc(kr_async_fd_new(sv[0], &afd), 0);
        if (i % 2 == 0)
            close(sv[0]);
        kr_async_fd_free(afd);
        if (i % 2 == 1)
            close(sv[0]);
        close(sv[1]);
    }
}

/* Live blocks once they settle within CHURN_SLACK of `base`: at once on
 * current_thread, after up to 5 s on multi_thread. */
static long churn_settled(long base) {
    long now = test_alloc_live();
    for (int i = 0; i < 5000 && now - base >= CHURN_SLACK &&
                    test_flavor() == KR_RUNTIME_MULTI_THREAD;
         i++) {
        msleep(1);
        now = test_alloc_live();
    }
    return now;
}

typedef struct {
    kr_future base;
} churn;

static kr_poll churn_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    long *live = out;
    churn_phase(); /* warm-up */
    live[0] = test_alloc_live();
    churn_phase();
    live[1] = churn_settled(live[0]);
    churn_phase();
    live[2] = churn_settled(live[1]);
    return KR_READY;
}
KR_FUTURE_VTABLE(churn_vt, churn, churn_poll, NULL, 3 * sizeof(long));

static void memory_leak_when_fd_closed_before_drop(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    churn c = {{&churn_vt}};
    long live[3];
    assert_rc(kr_runtime_block_on(rt, &c.base, live), 0);
    long g2 = live[1] - live[0], g3 = live[2] - live[1];
    if (g2 >= CHURN_SLACK || g3 >= CHURN_SLACK)
        fail_msg("registrations pile up: +%ld blocks in phase 2, +%ld in "
                 "phase 3 (%d rounds each)",
                 g2, g3, CHURN_ROUNDS);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(readiness_from_another_thread),
    cmocka_unit_test(clear_with_stale_tick_is_ignored),
    cmocka_unit_test(peer_close_is_read_closed),
    cmocka_unit_test(thousand_fds),
    cmocka_unit_test(async_fd_outlives_runtime),
    cmocka_unit_test(async_fd_misuse),
    cmocka_unit_test(memory_leak_when_fd_closed_before_drop),
};
KR_TEST_MAIN(tests)
