/*
 * Unix-domain datagram sockets, peer credentials and the kinds of Unix
 * address. Ported from Tokio: uds_datagram.rs (echo, echo_from,
 * try_send_recv_never_block, send_to_recv_from_poll, send_recv_poll,
 * try_send_to_recv_from, poll_ready), uds_cred.rs (test_socket_pair),
 * uds_stream.rs (accept_read_write_socketaddr: pathname and unnamed
 * addresses) and std's abstract-namespace addresses (Linux).
 * KR_TEST_FLAVORS: ct mt
 */
#include <sys/stat.h>

#include "test-net.h"

/* A fresh directory for socket files; *dir gets its path. */
static void tmpdir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/kr-udgram-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void path_in(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

/* Echo server: receives `count` datagrams and sends each back to its
 * source. Output: int64_t, 0 or the first error. */
typedef struct echo_srv {
    kr_future base;
    kr_coro co;
    kr_unix_datagram *u;
    int count, i;
    char buf[64];
    kr_sockaddr from;
    char path[128];
    kr_unix_recv_from rf;
    kr_unix_send_to st;
    int64_t n;
} echo_srv;

static kr_poll echo_srv_poll(kr_future *f, kr_context *cx, void *out) {
    echo_srv *e = (echo_srv *)f;
    KR_ASYNC_BEGIN(&e->co);
    for (e->i = 0; e->i < e->count; e->i++) {
        e->rf =
            kr_unix_datagram_recv_from(e->u, e->buf, sizeof(e->buf), &e->from);
        KR_AWAIT_INTO(&e->co, &e->rf, cx, e->n);
        if (e->n < 0)
            break;
        if (kr_sockaddr_unix_name(&e->from, e->path, sizeof(e->path)) <= 0) {
            e->n = KR_EINVAL; /* the client must be bound to get an echo */
            break;
        }
        e->st = kr_unix_datagram_send_to(e->u, e->buf, (size_t)e->n, e->path);
        KR_AWAIT_INTO(&e->co, &e->st, cx, e->n);
        if (e->n < 0)
            break;
        e->n = 0;
    }
    KR_RETURN(&e->co, out, int64_t, e->n);
    KR_ASYNC_END(&e->co);
}
static void echo_srv_drop(kr_future *f) { kr_coro_drop(&((echo_srv *)f)->co); }
KR_FUTURE_VTABLE(echo_srv_vt, echo_srv, echo_srv_poll, echo_srv_drop,
                 sizeof(int64_t));

/* uds_datagram.rs::echo / echo_from: a bound client sends to a bound
 * server and reads the echo, via connect+send/recv and via
 * send_to/recv_from. */
static void uds_datagram__echo(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char dir[64], sp[128], cp[128];
    tmpdir(dir, sizeof(dir));
    path_in(sp, sizeof(sp), dir, "server.sock");
    path_in(cp, sizeof(cp), dir, "client.sock");
    kr_unix_datagram *srv, *cli;
    assert_rc(kr_unix_datagram_bind(rt, sp, &srv), 0);
    assert_rc(kr_unix_datagram_bind(rt, cp, &cli), 0);
    echo_srv e;
    memset(&e, 0, sizeof(e));
    e.base.vtable = &echo_srv_vt;
    e.u = srv;
    e.count = 2;
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &e.base, &h), 0);
    /* echo: connected. */
    assert_rc(kr_unix_datagram_connect(cli, sp), 0);
    kr_unix_dgram_io s1 = kr_unix_datagram_send(cli, "hello world", 11);
    assert_int_equal(block_on_i64(rt, &s1.base), 11);
    char buf[32] = {0};
    kr_unix_dgram_io r1 = kr_unix_datagram_recv(cli, buf, sizeof(buf));
    assert_int_equal(block_on_i64(rt, &r1.base), 11);
    assert_memory_equal(buf, "hello world", 11);
    kr_sockaddr peer;
    assert_rc(kr_unix_datagram_peer_addr(cli, &peer), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&peer), KR_UNIX_PATHNAME);
    /* echo_from: send_to / recv_from, the source is the server's path. */
    kr_unix_send_to s2 = kr_unix_datagram_send_to(cli, "again", 5, sp);
    assert_int_equal(block_on_i64(rt, &s2.base), 5);
    kr_sockaddr from;
    kr_unix_recv_from r2 =
        kr_unix_datagram_recv_from(cli, buf, sizeof(buf), &from);
    assert_int_equal(block_on_i64(rt, &r2.base), 5);
    char name[128];
    assert_int_equal(kr_sockaddr_unix_name(&from, name, sizeof(name)),
                     (int)strlen(sp));
    assert_string_equal(name, sp);
    int64_t res = -1;
    assert_rc(kr_runtime_block_on(rt, &h.base, &res), 0);
    assert_int_equal(res, 0);
    kr_unix_datagram_free(cli);
    kr_unix_datagram_free(srv);
    unlink(sp);
    unlink(cp);
    rmdir(dir);
    test_runtime_free(rt);
}

/* uds_datagram.rs::try_send_recv_never_block: fill a pair's queue with
 * try_send until it would block, then read every datagram back. */
static void uds_datagram__try_send_recv_never_block(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_unix_datagram *a, *b;
    assert_rc(kr_unix_datagram_pair(rt, &a, &b), 0);
    long count = 0;
    for (;;) {
        kr_unix_ready w = kr_unix_datagram_writable(a);
        assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
        int64_t n = kr_unix_datagram_try_send(a, "PAYLOAD", 7);
        if (n == KR_EAGAIN || n == KR_ENOBUFS)
            break;
        assert_int_equal(n, 7);
        count++;
    }
    assert_true(count > 0);
    char buf[16];
    while (count > 0) {
        kr_unix_ready r = kr_unix_datagram_readable(b);
        assert_true(block_on_int(rt, &r.base) & KR_READABLE);
        int64_t n = kr_unix_datagram_try_recv(b, buf, sizeof(buf));
        if (n == KR_EAGAIN)
            continue;
        assert_int_equal(n, 7);
        assert_memory_equal(buf, "PAYLOAD", 7);
        count--;
    }
    assert_int_equal(kr_unix_datagram_try_recv(b, buf, sizeof(buf)), KR_EAGAIN);
    kr_unix_datagram_free(a);
    kr_unix_datagram_free(b);
    test_runtime_free(rt);
}

/* uds_datagram.rs::send_recv_poll / send_to_recv_from_poll and
 * try_send_to_recv_from: an unbound sender's datagrams arrive with an
 * unnamed source. */
static void uds_datagram__try_send_to_recv_from(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char dir[64], sp[128];
    tmpdir(dir, sizeof(dir));
    path_in(sp, sizeof(sp), dir, "server.sock");
    kr_unix_datagram *srv, *cli;
    assert_rc(kr_unix_datagram_bind(rt, sp, &srv), 0);
    assert_rc(kr_unix_datagram_unbound(rt, &cli), 0);
    kr_sockaddr la;
    assert_rc(kr_unix_datagram_local_addr(cli, &la), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&la), KR_UNIX_UNNAMED);
    assert_rc(kr_unix_datagram_local_addr(srv, &la), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&la), KR_UNIX_PATHNAME);
    int64_t n = KR_EAGAIN;
    while (n == KR_EAGAIN) {
        kr_unix_ready w = kr_unix_datagram_writable(cli);
        assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
        n = kr_unix_datagram_try_send_to(cli, "hello world", 11, sp);
    }
    assert_int_equal(n, 11);
    char buf[32];
    kr_sockaddr from;
    n = KR_EAGAIN;
    while (n == KR_EAGAIN) {
        kr_unix_ready r = kr_unix_datagram_readable(srv);
        assert_true(block_on_int(rt, &r.base) & KR_READABLE);
        n = kr_unix_datagram_try_recv_from(srv, buf, sizeof(buf), &from);
    }
    assert_int_equal(n, 11);
    assert_memory_equal(buf, "hello world", 11);
    assert_int_equal(kr_sockaddr_unix_kind(&from), KR_UNIX_UNNAMED);
    char name[8];
    assert_int_equal(kr_sockaddr_unix_name(&from, name, sizeof(name)), 0);
    assert_string_equal(name, "");
    /* A peek leaves it for the recv. */
    kr_unix_send_to st = kr_unix_datagram_send_to(cli, "peek", 4, sp);
    assert_int_equal(block_on_i64(rt, &st.base), 4);
    kr_unix_recv_from pf =
        kr_unix_datagram_peek_from(srv, buf, sizeof(buf), NULL);
    assert_int_equal(block_on_i64(rt, &pf.base), 4);
    kr_unix_recv_from rf =
        kr_unix_datagram_recv_from(srv, buf, sizeof(buf), NULL);
    assert_int_equal(block_on_i64(rt, &rf.base), 4);
    assert_memory_equal(buf, "peek", 4);
    /* Bad input. */
    assert_int_equal(kr_unix_datagram_try_send_to(cli, "x", 1, NULL),
                     KR_EINVAL);
    assert_int_equal(kr_unix_datagram_try_send_to(cli, "x", 1, ""), KR_EINVAL);
    kr_unix_send_to bad = kr_unix_datagram_send_to(cli, "x", 1, NULL);
    assert_int_equal(block_on_i64(rt, &bad.base), KR_EINVAL);
    kr_unix_send_to none =
        kr_unix_datagram_send_to(cli, "x", 1, "/nonexistent/x");
    assert_true(block_on_i64(rt, &none.base) < 0);
    kr_unix_datagram_free(cli);
    kr_unix_datagram_free(srv);
    unlink(sp);
    rmdir(dir);
    test_runtime_free(rt);
}

/* uds_datagram.rs::poll_ready: a pair is writable at once; readable
 * after a send. */
static void uds_datagram__poll_ready(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_unix_datagram *a, *b;
    assert_rc(kr_unix_datagram_pair(rt, &a, &b), 0);
    kr_unix_ready w = kr_unix_datagram_ready(a, KR_WRITABLE);
    assert_true(block_on_int(rt, &w.base) & KR_WRITABLE);
    kr_unix_dgram_io s = kr_unix_datagram_send(a, "x", 1);
    assert_int_equal(block_on_i64(rt, &s.base), 1);
    kr_unix_ready r = kr_unix_datagram_ready(b, KR_READABLE);
    assert_true(block_on_int(rt, &r.base) & KR_READABLE);
    char c;
    kr_unix_dgram_io rv = kr_unix_datagram_recv(b, &c, 1);
    assert_int_equal(block_on_i64(rt, &rv.base), 1);
    /* A pair's ends are unnamed. */
    kr_sockaddr la;
    assert_rc(kr_unix_datagram_local_addr(a, &la), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&la), KR_UNIX_UNNAMED);
    assert_rc(kr_unix_datagram_shutdown(a, KR_SHUT_WRITE), 0);
    kr_unix_datagram_free(a);
    kr_unix_datagram_free(b);
    test_runtime_free(rt);
}

/* Abstract-namespace addresses (Linux): bound, seen as abstract, the
 * name without its NUL; a datagram to it arrives; no file is left. */
static void uds_datagram__abstract(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char name[64];
    snprintf(name, sizeof(name), "@kairo-test-%d-%s", (int)getpid(),
             test_flavor() == KR_RUNTIME_MULTI_THREAD ? "mt" : "ct");
    kr_unix_datagram *srv, *cli;
    assert_rc(kr_unix_datagram_bind(rt, name, &srv), 0);
    kr_sockaddr la;
    assert_rc(kr_unix_datagram_local_addr(srv, &la), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&la), KR_UNIX_ABSTRACT);
    char got[64];
    assert_int_equal(kr_sockaddr_unix_name(&la, got, sizeof(got)),
                     (int)strlen(name) - 1);
    assert_string_equal(got, name + 1);
    char text[KR_SOCKADDR_STRLEN];
    assert_true(kr_sockaddr_format(&la, text, sizeof(text)) > 0);
    assert_string_equal(text, name);
    assert_int_equal(kr_sockaddr_unix_name(&la, got, 4), KR_ERANGE);
    assert_rc(kr_unix_datagram_unbound(rt, &cli), 0);
    kr_unix_send_to st = kr_unix_datagram_send_to(cli, "abs", 3, name);
    assert_int_equal(block_on_i64(rt, &st.base), 3);
    char buf[8];
    kr_unix_recv_from rf =
        kr_unix_datagram_recv_from(srv, buf, sizeof(buf), NULL);
    assert_int_equal(block_on_i64(rt, &rf.base), 3);
    /* A second bind of the same name is refused. */
    kr_unix_datagram *dup = NULL;
    assert_rc(kr_unix_datagram_bind(rt, name, &dup), KR_EADDRINUSE);
    /* An abstract stream listener too. */
    kr_unix_listener *l;
    name[1] = 'L';
    assert_rc(kr_unix_listener_bind(rt, name, 0, &l), 0);
    assert_rc(kr_unix_listener_local_addr(l, &la), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&la), KR_UNIX_ABSTRACT);
    kr_unix_listener_free(l);
    kr_unix_datagram_free(cli);
    kr_unix_datagram_free(srv);
    test_runtime_free(rt);
}

/* uds_cred.rs::test_socket_pair: both ends see this process's ids. */
static void uds_cred__test_socket_pair(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_unix_stream *a, *b;
    assert_rc(kr_unix_stream_pair(rt, &a, &b), 0);
    kr_unix_cred ca, cb;
    assert_rc(kr_unix_stream_peer_cred(a, &ca), 0);
    assert_rc(kr_unix_stream_peer_cred(b, &cb), 0);
    assert_int_equal(ca.uid, geteuid());
    assert_int_equal(ca.gid, getegid());
    assert_int_equal(ca.pid, getpid());
    assert_int_equal(cb.pid, getpid());
    assert_int_equal(cb.uid, ca.uid);
    assert_rc(kr_unix_stream_peer_cred(NULL, &ca), KR_EINVAL);
    assert_rc(kr_unix_stream_peer_cred(a, NULL), KR_EINVAL);
    kr_unix_stream_free(a);
    kr_unix_stream_free(b);
    test_runtime_free(rt);
}

/* uds_stream.rs::accept_read_write_socketaddr: the listener's address is
 * the path; the accepted stream's peer (an unbound client) is unnamed;
 * credentials across a real connection. */
static void uds_stream__accept_read_write_socketaddr(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char dir[64], sp[128];
    tmpdir(dir, sizeof(dir));
    path_in(sp, sizeof(sp), dir, "listen.sock");
    kr_unix_listener *l;
    assert_rc(kr_unix_listener_bind(rt, sp, 0, &l), 0);
    kr_sockaddr la;
    assert_rc(kr_unix_listener_local_addr(l, &la), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&la), KR_UNIX_PATHNAME);
    char name[128];
    assert_true(kr_sockaddr_unix_name(&la, name, sizeof(name)) > 0);
    assert_string_equal(name, sp);
    kr_unix_stream *c = NULL, *s = NULL;
    kr_unix_connect co = kr_unix_stream_connect(sp, &c);
    assert_int_equal(block_on_int(rt, &co.base), 0);
    kr_sockaddr peer;
    kr_unix_accept acc = kr_unix_listener_accept(l, &s, &peer);
    assert_int_equal(block_on_int(rt, &acc.base), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&peer), KR_UNIX_UNNAMED);
    assert_rc(kr_unix_stream_peer_addr(c, &peer), 0);
    assert_int_equal(kr_sockaddr_unix_kind(&peer), KR_UNIX_PATHNAME);
    kr_unix_cred cr;
    assert_rc(kr_unix_stream_peer_cred(s, &cr), 0);
    assert_int_equal(cr.pid, getpid());
    assert_int_equal(kr_sockaddr_unix_kind(NULL), KR_EINVAL);
    kr_sockaddr ip = loopback4(1);
    assert_int_equal(kr_sockaddr_unix_kind(&ip), KR_EINVAL);
    kr_unix_stream_free(c);
    kr_unix_stream_free(s);
    kr_unix_listener_free(l);
    unlink(sp);
    rmdir(dir);
    test_runtime_free(rt);
}

/* Bad input on the datagram calls: negative codes, never a crash. */
static void uds_datagram__misuse(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_unix_datagram *u = (kr_unix_datagram *)1;
    assert_rc(kr_unix_datagram_bind(rt, NULL, &u), KR_EINVAL);
    assert_null(u);
    assert_rc(kr_unix_datagram_bind(rt, "/tmp/x", NULL), KR_EINVAL);
    assert_rc(kr_unix_datagram_unbound(rt, NULL), KR_EINVAL);
    assert_rc(kr_unix_datagram_pair(rt, NULL, &u), KR_EINVAL);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_rc(kr_unix_datagram_bind(rt, longp, &u), KR_ENAMETOOLONG);
    assert_rc(kr_unix_datagram_connect(NULL, "/tmp/x"), KR_EINVAL);
    assert_int_equal(kr_unix_datagram_fd(NULL), -1);
    assert_int_equal(kr_unix_datagram_try_send(NULL, "x", 1), KR_EINVAL);
    kr_unix_datagram_free(NULL);
    /* from_fd: a UDP socket is not a Unix one. */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_rc(kr_unix_datagram_from_fd(rt, fd, &u), KR_EINVAL);
    close(fd);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    assert_rc(kr_unix_datagram_from_fd(rt, sv[0], &u), 0);
    kr_unix_datagram_free(u);
    close(sv[1]);
    kr_unix_dgram_io r = kr_unix_datagram_recv(NULL, NULL, 0);
    assert_int_equal(block_on_i64(rt, &r.base), KR_EINVAL);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(uds_datagram__echo),
    cmocka_unit_test(uds_datagram__try_send_recv_never_block),
    cmocka_unit_test(uds_datagram__try_send_to_recv_from),
    cmocka_unit_test(uds_datagram__poll_ready),
    cmocka_unit_test(uds_datagram__abstract),
    cmocka_unit_test(uds_cred__test_socket_pair),
    cmocka_unit_test(uds_stream__accept_read_write_socketaddr),
    cmocka_unit_test(uds_datagram__misuse),
};
KR_TEST_MAIN(tests)
