/*
 * Choosing the I/O driver's backend (kr_runtime_config.io_driver, the
 * KAIRO_IO environment variable) and falling back to epoll, with its log
 * line, where io_uring cannot be had: io_uring_setup refused by a seccomp
 * filter (EPERM, ENOSYS) in a child process, and a kernel without
 * multishot poll (a test hook, src/io/uring.c). Plus what the io_uring
 * backend must keep of epoll's behaviour: a deregistered socket is closed
 * at once for its peer, many registrations come and go while events fly.
 * The rest of its behaviour is every net, io, process and signal suite run
 * again on it (uring/... in ctest). No Tokio counterpart (Tokio has epoll
 * only). KR_TEST_FLAVORS: ct mt
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "test-net.h"

#ifdef KR_HAVE_URING_TESTS
extern _Atomic int kr__uring_test_no_multishot;
#endif

static kr_runtime *runtime_on(kr_io_driver d) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    c.io_driver = d;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

/* io_uring usable here? (a kernel may forbid it: then the tests that need
 * it skip, and the fallback tests still run). */
static bool uring_here(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    c.io_driver = KR_IO_DRIVER_URING;
    kr_runtime *rt = NULL;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2); /* the fallback's line, if any, is not for this log */
    int rc = kr_runtime_new(&c, &rt);
    dup2(saved, 2); /* before any assertion: cmocka reports on stderr */
    close(saved);
    close(null);
    assert_rc(rc, 0);
    bool ok = kr_runtime_io_driver(rt) == KR_IO_DRIVER_URING;
    test_runtime_free(rt);
    return ok;
}

static void config_field_selects_the_backend(void **state) {
    (void)state;
    unsetenv("KAIRO_IO");
    kr_runtime *rt = runtime_on(KR_IO_DRIVER_EPOLL);
    assert_int_equal(kr_runtime_io_driver(rt), KR_IO_DRIVER_EPOLL);
    test_runtime_free(rt);
    rt = runtime_on(KR_IO_DRIVER_AUTO); /* the default: epoll */
    assert_int_equal(kr_runtime_io_driver(rt), KR_IO_DRIVER_EPOLL);
    test_runtime_free(rt);
    if (!uring_here())
        net_skip("io_uring is not available on this machine");
    rt = runtime_on(KR_IO_DRIVER_URING);
    assert_int_equal(kr_runtime_io_driver(rt), KR_IO_DRIVER_URING);
    test_runtime_free(rt);
}

static void environment_chooses_for_auto_only(void **state) {
    (void)state;
    bool uring = uring_here();
    setenv("KAIRO_IO", "uring", 1);
    kr_runtime *rt = runtime_on(KR_IO_DRIVER_AUTO);
    assert_int_equal(kr_runtime_io_driver(rt),
                     uring ? KR_IO_DRIVER_URING : KR_IO_DRIVER_EPOLL);
    test_runtime_free(rt);
    rt = runtime_on(KR_IO_DRIVER_EPOLL); /* the config wins */
    assert_int_equal(kr_runtime_io_driver(rt), KR_IO_DRIVER_EPOLL);
    test_runtime_free(rt);
    setenv("KAIRO_IO", "epoll", 1);
    rt = runtime_on(KR_IO_DRIVER_AUTO);
    assert_int_equal(kr_runtime_io_driver(rt), KR_IO_DRIVER_EPOLL);
    test_runtime_free(rt);
    unsetenv("KAIRO_IO");
}

static void bad_values_are_refused(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.io_driver = (kr_io_driver)3;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_null(rt);
    assert_int_equal(kr_runtime_io_driver(NULL), KR_IO_DRIVER_AUTO);
    /* A runtime without the I/O driver has no backend. */
    c.io_driver = KR_IO_DRIVER_URING;
    c.disable_drivers = KR_DRIVER_IO;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    assert_int_equal(kr_runtime_io_driver(rt), KR_IO_DRIVER_AUTO);
    test_runtime_free(rt);
}

/* ---- the fallback, in a child process ---------------------------------- */

/* Makes io_uring_setup fail with `err` in this process from now on. */
static int deny_io_uring_setup(int err) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K,
                 SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -errno;
    return 0;
}

/* In the child: two runtimes asking for io_uring get epoll and work. */
static int child_runs_on_epoll(void) {
    for (int i = 0; i < 2; i++) {
        kr_runtime *rt = NULL;
        kr_runtime_config c = kr_runtime_config_default();
        c.flavor = test_flavor();
        c.workers = 2;
        c.io_driver = KR_IO_DRIVER_URING;
        if (kr_runtime_new(&c, &rt) != 0)
            return 10;
        if (kr_runtime_io_driver(rt) != KR_IO_DRIVER_EPOLL)
            return 11;
        kr_unix_stream *a = NULL, *b = NULL;
        if (kr_unix_stream_pair(rt, &a, &b) != 0)
            return 12;
        kr_unix_write w = kr_unix_stream_write(a, "ping", 4);
        int64_t n = 0;
        if (kr_runtime_block_on(rt, &w.base, &n) != 0 || n != 4)
            return 13;
        char buf[8];
        kr_unix_read r = kr_unix_stream_read(b, buf, sizeof(buf));
        if (kr_runtime_block_on(rt, &r.base, &n) != 0 || n != 4 ||
            memcmp(buf, "ping", 4) != 0)
            return 14;
        kr_unix_stream_free(a);
        kr_unix_stream_free(b);
        if (kr_runtime_free(rt) != 0)
            return 15;
    }
    return 0;
}

enum { DENY_EPERM, DENY_ENOSYS, NO_MULTISHOT };

/* Runs the child under `how`; returns what it wrote to stderr. */
static char *run_child(int how, char *log, size_t size) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        int rc = 0;
        if (how == DENY_EPERM)
            rc = deny_io_uring_setup(EPERM);
        else if (how == DENY_ENOSYS)
            rc = deny_io_uring_setup(ENOSYS);
        else {
#ifdef KR_HAVE_URING_TESTS
            kr__uring_test_no_multishot = 1;
#else
            _exit(77);
#endif
        }
        if (rc != 0)
            _exit(77); /* no seccomp here */
        _exit(child_runs_on_epoll());
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < size && (r = read(p[0], log + len, size - 1 - len)) > 0)
        len += (size_t)r;
    log[len] = '\0';
    close(p[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        net_skip("cannot make io_uring unavailable here (seccomp)");
    if (WEXITSTATUS(st) != 0)
        fail_msg("the child failed with %d; its stderr: %s", WEXITSTATUS(st),
                 log);
    return log;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void fallback_when_seccomp_forbids_io_uring(void **state) {
    (void)state;
    char log[1024];
    run_child(DENY_EPERM, log, sizeof(log));
#ifdef KR_HAVE_URING_TESTS
    /* One line for two runtimes, with the cause. */
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "kairo: io_uring unavailable (io_uring_setup"));
    assert_non_null(strstr(log, "Operation not permitted"));
    assert_non_null(strstr(log, "; using epoll\n"));
#else
    assert_non_null(strstr(log, "built without liburing"));
#endif
}

static void fallback_when_the_kernel_has_no_io_uring(void **state) {
    (void)state;
    char log[1024];
    run_child(DENY_ENOSYS, log, sizeof(log));
    assert_int_equal(count_lines(log), 1);
#ifdef KR_HAVE_URING_TESTS
    assert_non_null(strstr(log, "not implemented by this kernel"));
    assert_non_null(strstr(log, "Function not implemented"));
#endif
    assert_non_null(strstr(log, "; using epoll\n"));
}

static void fallback_when_multishot_poll_is_missing(void **state) {
    (void)state;
    if (!uring_here())
        net_skip("io_uring is not available on this machine");
    char log[1024];
    run_child(NO_MULTISHOT, log, sizeof(log));
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "lacks multishot poll"));
    assert_non_null(strstr(log, "; using epoll\n"));
}

/* ---- behaviour the io_uring backend keeps -------------------------------- */

/* The poll request holds a reference to the file: freeing the stream must
 * still close it for the peer at once (EPIPE on the next write, EOF on the
 * next read), on whichever thread armed the poll. */
static void freed_stream_is_closed_for_the_peer_at_once(void **state) {
    (void)state;
    if (!uring_here())
        net_skip("io_uring is not available on this machine");
    kr_runtime *rt = runtime_on(KR_IO_DRIVER_URING);
    for (int i = 0; i < 200; i++) {
        kr_unix_stream *a = NULL, *b = NULL;
        assert_rc(kr_unix_stream_pair(rt, &a, &b), 0);
        /* Arm both polls through a turn: a read that waits, then data. */
        kr_unix_write w = kr_unix_stream_write(a, "x", 1);
        assert_int_equal(block_on_i64(rt, &w.base), 1);
        char c;
        kr_unix_read r = kr_unix_stream_read(b, &c, 1);
        assert_int_equal(block_on_i64(rt, &r.base), 1);
        kr_unix_stream_free(a);
        r = kr_unix_stream_read(b, &c, 1);
        assert_int_equal(block_on_i64(rt, &r.base), 0); /* EOF */
        w = kr_unix_stream_write(b, "y", 1);
        assert_int_equal(block_on_i64(rt, &w.base), KR_EPIPE);
        kr_unix_stream_free(b);
    }
    test_runtime_free(rt);
}

/* Many registrations made and freed while their events are delivered:
 * each pair ping-pongs in a task, and half the tasks free their streams
 * in the middle of it (ASan checks that nothing touches freed memory). */
typedef struct {
    kr_future base;
    kr_unix_stream *a, *b;
    int round, rounds, state;
    char buf[4];
    kr_unix_write w;
    kr_unix_read r;
} pingpong;

static kr_poll pingpong_poll(kr_future *f, kr_context *cx, void *out) {
    pingpong *p = (pingpong *)f;
    for (;;) {
        int64_t n = 0;
        if (p->state == 0) {
            if (p->round == p->rounds) {
                *(int *)out = 0;
                return KR_READY;
            }
            p->w = kr_unix_stream_write(p->a, "ping", 4);
            p->state = 1;
        }
        if (p->state == 1) {
            if (p->w.base.vtable->poll(&p->w.base, cx, &n) == KR_PENDING)
                return KR_PENDING;
            if (n != 4) {
                *(int *)out = (int)n;
                return KR_READY;
            }
            p->r = kr_unix_stream_read(p->b, p->buf, 4);
            p->state = 2;
        }
        if (p->r.base.vtable->poll(&p->r.base, cx, &n) == KR_PENDING)
            return KR_PENDING;
        if (n <= 0) {
            *(int *)out = n == 0 ? -1 : (int)n;
            return KR_READY;
        }
        p->state = 0;
        p->round++;
    }
}

static void pingpong_drop(kr_future *f) {
    pingpong *p = (pingpong *)f;
    if (p->state == 1 && p->w.base.vtable->drop)
        p->w.base.vtable->drop(&p->w.base);
    if (p->state == 2 && p->r.base.vtable->drop)
        p->r.base.vtable->drop(&p->r.base);
    kr_unix_stream_free(p->a);
    kr_unix_stream_free(p->b);
}

KR_FUTURE_VTABLE(pingpong_vt, pingpong, pingpong_poll, pingpong_drop,
                 sizeof(int));

static void registrations_churn_while_events_fly(void **state) {
    (void)state;
    if (!uring_here())
        net_skip("io_uring is not available on this machine");
    kr_runtime *rt = runtime_on(KR_IO_DRIVER_URING);
    enum { N = 64 };
    for (int wave = 0; wave < 8; wave++) {
        kr_join_handle h[N];
        for (int i = 0; i < N; i++) {
            pingpong p;
            memset(&p, 0, sizeof(p));
            p.base.vtable = &pingpong_vt;
            assert_rc(kr_unix_stream_pair(rt, &p.a, &p.b), 0);
            p.rounds = 50;
            assert_rc(kr_runtime_spawn(rt, &p.base, &h[i]), 0);
        }
        /* Abort every other one mid-flight: its drop frees both streams
         * while their polls may be delivering. */
        for (int i = 0; i < N; i += 2)
            assert_rc(kr_join_handle_abort(&h[i]), 0);
        for (int i = 0; i < N; i++) {
            int out = -99;
            assert_rc(kr_runtime_block_on(rt, &h[i].base, &out), 0);
            int err = kr_join_handle_error(&h[i]);
            if (i % 2 == 1 || err == 0) /* or finished before the abort */
                assert_int_equal(out, 0);
            else
                assert_rc(err, KR_ECANCELED);
            kr_join_handle_drop(&h[i]);
        }
    }
    test_runtime_free(rt);
}

/* A datagram pair per round, freed from the test's thread (not a worker)
 * right after a worker's task received on it: each free deregisters while
 * a worker's turn may be reaping the same slot's poll end, which TSan
 * caught as a race on the slot's `armed` (uring.c, "Who touches what";
 * CI, uring/mt/net-unix-dgram/uds_datagram__echo, about once in 230
 * runs). "stress": CI's TSan step repeats it. */
static void deregistration_outside_a_turn_stress(void **state) {
    (void)state;
    if (!uring_here())
        net_skip("io_uring is not available on this machine");
    kr_runtime *rt = runtime_on(KR_IO_DRIVER_URING);
    static char buf[8];
    for (int round = 0; round < 1000; round++) {
        kr_unix_datagram *a, *b;
        assert_rc(kr_unix_datagram_pair(rt, &a, &b), 0);
        kr_unix_dgram_io r = kr_unix_datagram_recv(b, buf, sizeof(buf));
        kr_join_handle h;
        assert_rc(kr_runtime_spawn(rt, &r.base, &h), 0);
        kr_unix_dgram_io w = kr_unix_datagram_send(a, "ping", 4);
        int64_t n = -1;
        assert_rc(kr_runtime_block_on(rt, &w.base, &n), 0);
        assert_int_equal(n, 4);
        assert_rc(kr_runtime_block_on(rt, &h.base, &n), 0);
        assert_int_equal(n, 4);
        assert_memory_equal(buf, "ping", 4);
        kr_join_handle_drop(&h);
        kr_unix_datagram_free(a);
        kr_unix_datagram_free(b);
    }
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(config_field_selects_the_backend),
    cmocka_unit_test(environment_chooses_for_auto_only),
    cmocka_unit_test(bad_values_are_refused),
    cmocka_unit_test(fallback_when_seccomp_forbids_io_uring),
    cmocka_unit_test(fallback_when_the_kernel_has_no_io_uring),
    cmocka_unit_test(fallback_when_multishot_poll_is_missing),
    cmocka_unit_test(freed_stream_is_closed_for_the_peer_at_once),
    cmocka_unit_test(registrations_churn_while_events_fly),
    cmocka_unit_test(deregistration_outside_a_turn_stress),
};

KR_TEST_MAIN(tests)
