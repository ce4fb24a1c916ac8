/*
 * The TCP socket builder and socket options, connecting by host name, and
 * UDP options and multicast. Ported from Tokio: tcp_socket.rs
 * (basic_usage_v4, basic_usage_v6, bind_before_connect, basic_linger, the
 * option get/set tests), tcp_stream.rs (set_linger, nodelay, ttl),
 * tcp_connect.rs (connect_v4, connect_addr_host_string,
 * connect_addr_host_str_port_tuple), net_lookup_host.rs
 * (lookup_str_socket_addr), udp.rs (broadcast, multicast_loop_v4,
 * multicast_ttl_v4, multicast_loop_v6, ttl) and multicast join / leave
 * where loopback allows. KR_TEST_FLAVORS: ct mt
 */
#include "test-net.h"

static bool have_ipv6_loopback(void) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* Listener from a builder on `ip`, a client builder connecting to it, the
 * accept: tcp_socket.rs::basic_usage_v4 / _v6 / bind_before_connect. */
static void builder_roundtrip(const char *ip, bool v6, bool bind_client) {
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr any, addr;
    assert_rc(kr_sockaddr_from_ip(ip, 0, &any), 0);
    kr_tcp_socket *srv, *cli;
    assert_rc(v6 ? kr_tcp_socket_new_v6(&srv) : kr_tcp_socket_new_v4(&srv), 0);
    assert_rc(kr_tcp_socket_bind(srv, &any), 0);
    kr_tcp_listener *l;
    assert_rc(kr_tcp_socket_listen(srv, rt, 128, &l), 0);
    assert_rc(kr_tcp_listener_local_addr(l, &addr), 0);
    assert_int_not_equal(kr_sockaddr_port(&addr), 0);
    assert_rc(kr_tcp_socket_new_for(&addr, &cli), 0);
    if (bind_client)
        assert_rc(kr_tcp_socket_bind(cli, &any), 0);
    kr_tcp_stream *c = NULL, *s = NULL;
    kr_tcp_connect co = kr_tcp_socket_connect(cli, &addr, &c);
    assert_int_equal(block_on_int(rt, &co.base), 0);
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &s, NULL);
    assert_int_equal(block_on_int(rt, &acc.base), 0);
    kr_sockaddr ca, sp;
    assert_rc(kr_tcp_stream_local_addr(c, &ca), 0);
    assert_rc(kr_tcp_stream_peer_addr(s, &sp), 0);
    assert_true(kr_sockaddr_equal(&ca, &sp));
    kr_tcp_write_all wa = kr_tcp_stream_write_all(c, "ping", 4);
    assert_int_equal(block_on_i64(rt, &wa.base), 4);
    char buf[4];
    kr_tcp_read_exact re = kr_tcp_stream_read_exact(s, buf, 4);
    assert_int_equal(block_on_i64(rt, &re.base), 4);
    assert_memory_equal(buf, "ping", 4);
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

static void tcp_socket__basic_usage_v4(void **state) {
    (void)state;
    builder_roundtrip("127.0.0.1", false, false);
}

static void tcp_socket__basic_usage_v6(void **state) {
    (void)state;
    if (!have_ipv6_loopback())
        skip();
    builder_roundtrip("::1", true, false);
}

static void tcp_socket__bind_before_connect(void **state) {
    (void)state;
    builder_roundtrip("127.0.0.1", false, true);
}

/* tcp_socket.rs::basic_linger and tcp_stream.rs::set_linger. */
static void tcp_socket__basic_linger(void **state) {
    (void)state;
    kr_tcp_socket *s;
    assert_rc(kr_tcp_socket_new_v4(&s), 0);
    kr_sockaddr any = loopback4(0);
    assert_rc(kr_tcp_socket_bind(s, &any), 0);
    int secs = 99;
    assert_rc(kr_tcp_socket_linger(s, &secs), 0);
    assert_int_equal(secs, -1);
    assert_rc(kr_tcp_socket_set_linger(s, 0), 0);
    assert_rc(kr_tcp_socket_linger(s, &secs), 0);
    assert_int_equal(secs, 0);
    assert_rc(kr_tcp_socket_set_linger(s, -2), KR_EINVAL);
    assert_rc(kr_tcp_socket_linger(s, NULL), KR_EINVAL);
    kr_tcp_socket_free(s);
}

/* tcp_socket.rs's option tests (keepalive, reuseaddr, reuseport,
 * send_buffer_size, recv_buffer_size, linger): the initial value differs
 * from the one set, and the getter then reports what was set (Linux
 * doubles buffer sizes). On v4 and v6 sockets. */
static void options_on(kr_tcp_socket *s) {
    assert_int_equal(kr_tcp_socket_keepalive(s), 0);
    assert_rc(kr_tcp_socket_set_keepalive(s, true), 0);
    assert_int_equal(kr_tcp_socket_keepalive(s), 1);
    assert_int_equal(kr_tcp_socket_reuseaddr(s), 0);
    assert_rc(kr_tcp_socket_set_reuseaddr(s, true), 0);
    assert_int_equal(kr_tcp_socket_reuseaddr(s), 1);
    assert_int_equal(kr_tcp_socket_reuseport(s), 0);
    assert_rc(kr_tcp_socket_set_reuseport(s, true), 0);
    assert_int_equal(kr_tcp_socket_reuseport(s), 1);
    assert_int_equal(kr_tcp_socket_nodelay(s), 0);
    assert_rc(kr_tcp_socket_set_nodelay(s, true), 0);
    assert_int_equal(kr_tcp_socket_nodelay(s), 1);
    assert_int_not_equal(kr_tcp_socket_send_buffer_size(s), 8192);
    assert_rc(kr_tcp_socket_set_send_buffer_size(s, 4096), 0);
    assert_int_equal(kr_tcp_socket_send_buffer_size(s), 8192);
    assert_int_not_equal(kr_tcp_socket_recv_buffer_size(s), 8192);
    assert_rc(kr_tcp_socket_set_recv_buffer_size(s, 4096), 0);
    assert_int_equal(kr_tcp_socket_recv_buffer_size(s), 8192);
    assert_rc(kr_tcp_socket_set_send_buffer_size(s, 0x80000000u), KR_EINVAL);
    int secs = 0;
    assert_rc(kr_tcp_socket_set_linger(s, 10), 0);
    assert_rc(kr_tcp_socket_linger(s, &secs), 0);
    assert_int_equal(secs, 10);
    assert_int_equal(kr_tcp_socket_take_error(s), 0);
}

static void tcp_socket__options(void **state) {
    (void)state;
    kr_tcp_socket *s;
    assert_rc(kr_tcp_socket_new_v4(&s), 0);
    options_on(s);
    kr_tcp_socket_free(s);
    if (have_ipv6_loopback()) {
        assert_rc(kr_tcp_socket_new_v6(&s), 0);
        options_on(s);
        kr_tcp_socket_free(s);
    }
}

/* Bad input: negative codes, no crash; listen and connect consume the
 * socket even when they fail (ASan checks nothing leaks). */
static void tcp_socket__misuse(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    assert_rc(kr_tcp_socket_new_v4(NULL), KR_EINVAL);
    kr_tcp_socket *s = (kr_tcp_socket *)1;
    kr_sockaddr un;
    assert_rc(kr_sockaddr_unix("/tmp/nope", &un), 0);
    assert_rc(kr_tcp_socket_new_for(&un, &s), KR_EINVAL);
    assert_null(s);
    assert_rc(kr_tcp_socket_new_for(NULL, &s), KR_EINVAL);
    assert_rc(kr_tcp_socket_set_nodelay(NULL, true), KR_EINVAL);
    assert_rc(kr_tcp_socket_nodelay(NULL), KR_EINVAL);
    assert_rc(kr_tcp_socket_bind(NULL, &un), KR_EINVAL);
    assert_int_equal(kr_tcp_socket_fd(NULL), -1);
    kr_tcp_socket_free(NULL);
    assert_rc(kr_tcp_socket_new_v4(&s), 0);
    assert_rc(kr_tcp_socket_bind(s, &un), KR_EINVAL);
    kr_tcp_listener *l = (kr_tcp_listener *)1;
    assert_rc(kr_tcp_socket_listen(s, rt, -1, &l), KR_EINVAL); /* consumed */
    assert_null(l);
    assert_rc(kr_tcp_socket_listen(NULL, rt, 0, &l), KR_EINVAL);
    /* A v6 address on a v4 socket: the kernel's error, a negative code. */
    assert_rc(kr_tcp_socket_new_v4(&s), 0);
    kr_sockaddr v6;
    assert_rc(kr_sockaddr_from_ip("::1", 0, &v6), 0);
    assert_true(kr_tcp_socket_bind(s, &v6) < 0);
    kr_tcp_socket_free(s);
    /* connect: a bad address outputs KR_EINVAL and closes the socket. */
    assert_rc(kr_tcp_socket_new_v4(&s), 0);
    kr_tcp_stream *c = NULL;
    kr_tcp_connect co = kr_tcp_socket_connect(s, &un, &c);
    assert_int_equal(block_on_int(rt, &co.base), KR_EINVAL);
    kr_tcp_connect co2 = kr_tcp_socket_connect(NULL, &un, &c);
    assert_int_equal(block_on_int(rt, &co2.base), KR_EINVAL);
    /* Dropped unpolled: the socket is closed by the drop. */
    assert_rc(kr_tcp_socket_new_v4(&s), 0);
    kr_sockaddr lo = loopback4(9);
    kr_tcp_connect co3 = kr_tcp_socket_connect(s, &lo, &c);
    kr_future_drop(&co3.base);
    test_runtime_free(rt);
}

/* tcp_stream.rs::set_linger, nodelay and ttl getters on a stream; the
 * listener's ttl. */
static void tcp_stream__options(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    kr_tcp_stream *c = NULL, *s = NULL;
    kr_tcp_connect co = kr_tcp_stream_connect(&addr, &c);
    assert_int_equal(block_on_int(rt, &co.base), 0);
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &s, NULL);
    assert_int_equal(block_on_int(rt, &acc.base), 0);
    int secs = 0;
    assert_rc(kr_tcp_stream_linger(c, &secs), 0);
    assert_int_equal(secs, -1);
    assert_rc(kr_tcp_stream_set_linger(c, 0), 0);
    assert_rc(kr_tcp_stream_linger(c, &secs), 0);
    assert_int_equal(secs, 0);
    assert_int_equal(kr_tcp_stream_nodelay(c), 0);
    assert_rc(kr_tcp_stream_set_nodelay(c, true), 0);
    assert_int_equal(kr_tcp_stream_nodelay(c), 1);
    assert_rc(kr_tcp_stream_set_ttl(c, 42), 0);
    assert_int_equal(kr_tcp_stream_ttl(c), 42);
    assert_rc(kr_tcp_stream_set_ttl(c, 0), KR_EINVAL);
    assert_rc(kr_tcp_stream_set_ttl(c, 256), KR_EINVAL);
    assert_int_equal(kr_tcp_stream_keepalive(s), 0);
    assert_rc(kr_tcp_stream_set_keepalive(s, true), 0);
    assert_int_equal(kr_tcp_stream_keepalive(s), 1);
    assert_int_equal(kr_tcp_stream_take_error(s), 0);
    assert_rc(kr_tcp_listener_set_ttl(l, 7), 0);
    assert_int_equal(kr_tcp_listener_ttl(l), 7);
    assert_rc(kr_tcp_stream_ttl(NULL), KR_EINVAL);
    assert_rc(kr_tcp_listener_ttl(NULL), KR_EINVAL);
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* tcp_connect.rs::connect_addr_host_string / _host_str_port_tuple and
 * net_lookup_host.rs::lookup_str_socket_addr: by name ("localhost") and
 * by literal. */
static void connect_to(kr_runtime *rt, kr_tcp_listener *l, const char *host,
                       int port) {
    kr_tcp_stream *c = NULL, *s = NULL;
    kr_tcp_connect_host ch = kr_tcp_stream_connect_host(host, port, &c);
    kr_tcp_accept acc = kr_tcp_listener_accept(l, &s, NULL);
    int rc_c = -1, rc_a = -1;
    join2 j = join2_make(&ch.base, &rc_c, &acc.base, &rc_a);
    assert_rc(kr_runtime_block_on(rt, &j.base, NULL), 0);
    assert_int_equal(rc_c, 0);
    assert_int_equal(rc_a, 0);
    assert_non_null(c);
    kr_tcp_stream_free(c);
    kr_tcp_stream_free(s);
}

static void tcp_connect__connect_addr_host_string(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    int port = kr_sockaddr_port(&addr);
    connect_to(rt, l, "127.0.0.1", port); /* a literal: no lookup */
    /* "localhost" may resolve to ::1 first, where nobody listens: the
     * next address (127.0.0.1) is tried after the refusal. */
    connect_to(rt, l, "localhost", port);
    kr_tcp_listener_free(l);
    test_runtime_free(rt);
}

/* Every address refused: the last error comes out. Bad input. */
static void tcp_connect__connect_host_errors(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    kr_tcp_listener *l = tcp_listen(rt, 0, &addr);
    int port = kr_sockaddr_port(&addr);
    kr_tcp_listener_free(l); /* nobody listens there now */
    kr_tcp_stream *c = NULL;
    kr_tcp_connect_host ch = kr_tcp_stream_connect_host("localhost", port, &c);
    assert_int_equal(block_on_int(rt, &ch.base), KR_ECONNREFUSED);
    assert_null(c);
    kr_tcp_connect_host bad = kr_tcp_stream_connect_host(NULL, port, &c);
    assert_int_equal(block_on_int(rt, &bad.base), KR_EINVAL);
    kr_tcp_connect_host bad2 = kr_tcp_stream_connect_host("localhost", 1, NULL);
    assert_int_equal(block_on_int(rt, &bad2.base), KR_EINVAL);
    kr_tcp_connect_host bad3 =
        kr_tcp_stream_connect_host("localhost", 70000, &c);
    assert_int_equal(block_on_int(rt, &bad3.base), KR_EINVAL);
    /* A name the resolver refuses without asking a server (a label longer
     * than DNS's 63 bytes): the answer is the same on every machine, and
     * no query leaves it. */
    char nxname[80];
    memset(nxname, 'a', 64);
    memcpy(nxname + 64, ".invalid", sizeof(".invalid"));
    kr_tcp_connect_host nx = kr_tcp_stream_connect_host(nxname, 80, &c);
    assert_int_equal(block_on_int(rt, &nx.base), KR_ENOENT);
    assert_null(c);
    /* Dropped before its first poll, and while resolving. */
    kr_tcp_connect_host d = kr_tcp_stream_connect_host("localhost", port, &c);
    kr_future_drop(&d.base);
    test_runtime_free(rt);
}

/* udp.rs's option tests: broadcast, multicast_loop_v4, multicast_ttl_v4,
 * multicast_loop_v6, ttl. */
static void udp__options(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr a4 = loopback4(0);
    kr_udp_socket *u;
    assert_rc(kr_udp_socket_bind(rt, &a4, &u), 0);
    assert_int_equal(kr_udp_socket_broadcast(u), 0);
    assert_rc(kr_udp_socket_set_broadcast(u, true), 0);
    assert_int_equal(kr_udp_socket_broadcast(u), 1);
    assert_int_equal(kr_udp_socket_multicast_loop_v4(u), 1);
    assert_rc(kr_udp_socket_set_multicast_loop_v4(u, false), 0);
    assert_int_equal(kr_udp_socket_multicast_loop_v4(u), 0);
    assert_int_equal(kr_udp_socket_multicast_ttl_v4(u), 1);
    assert_rc(kr_udp_socket_set_multicast_ttl_v4(u, 40), 0);
    assert_int_equal(kr_udp_socket_multicast_ttl_v4(u), 40);
    assert_rc(kr_udp_socket_set_multicast_ttl_v4(u, 256), KR_EINVAL);
    assert_rc(kr_udp_socket_set_ttl(u, 33), 0);
    assert_int_equal(kr_udp_socket_ttl(u), 33);
    kr_udp_socket_free(u);
    if (have_ipv6_loopback()) {
        kr_sockaddr a6;
        assert_rc(kr_sockaddr_from_ip("::1", 0, &a6), 0);
        assert_rc(kr_udp_socket_bind(rt, &a6, &u), 0);
        assert_int_equal(kr_udp_socket_multicast_loop_v6(u), 1);
        assert_rc(kr_udp_socket_set_multicast_loop_v6(u, false), 0);
        assert_int_equal(kr_udp_socket_multicast_loop_v6(u), 0);
        assert_rc(kr_udp_socket_set_ttl(u, 9), 0);
        assert_int_equal(kr_udp_socket_ttl(u), 9);
        assert_int_equal(kr_udp_socket_broadcast(u), 0);
        assert_rc(kr_udp_socket_set_broadcast(u, true), 0);
        assert_int_equal(kr_udp_socket_broadcast(u), 1);
        kr_udp_socket_free(u);
    }
    assert_rc(kr_udp_socket_broadcast(NULL), KR_EINVAL);
    assert_rc(kr_udp_socket_set_ttl(NULL, 1), KR_EINVAL);
    test_runtime_free(rt);
}

/* Joining and leaving multicast groups; a datagram to the group arrives
 * over loopback where the system routes it (else the round trip is
 * skipped: a container may have no multicast on lo). */
static void udp__multicast_join_leave(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr any, group, lo;
    assert_rc(kr_sockaddr_from_ip("0.0.0.0", 0, &any), 0);
    assert_rc(kr_sockaddr_from_ip("239.255.12.34", 0, &group), 0);
    assert_rc(kr_sockaddr_from_ip("127.0.0.1", 0, &lo), 0);
    kr_udp_socket *r;
    assert_rc(kr_udp_socket_bind(rt, &any, &r), 0);
    int rc = kr_udp_socket_join_multicast_v4(r, &group, &lo);
    if (rc == -ENODEV || rc == KR_EADDRNOTAVAIL) {
        kr_udp_socket_free(r);
        test_runtime_free(rt);
        skip();
    }
    assert_rc(rc, 0);
    assert_rc(kr_udp_socket_join_multicast_v4(r, &group, &lo), KR_EADDRINUSE);
    assert_rc(kr_udp_socket_join_multicast_v4(r, &lo, NULL), KR_EINVAL);
    assert_rc(kr_udp_socket_join_multicast_v4(r, NULL, NULL), KR_EINVAL);
    assert_rc(kr_udp_socket_join_multicast_v6(r, &group, 0), KR_EINVAL);
    assert_rc(kr_udp_socket_leave_multicast_v4(r, &group, &lo), 0);
    assert_true(kr_udp_socket_leave_multicast_v4(r, &group, &lo) < 0);
    if (have_ipv6_loopback()) {
        kr_sockaddr a6, g6;
        assert_rc(kr_sockaddr_from_ip("::", 0, &a6), 0);
        assert_rc(kr_sockaddr_from_ip("ff02::1:3", 0, &g6), 0);
        kr_udp_socket *u6;
        assert_rc(kr_udp_socket_bind(rt, &a6, &u6), 0);
        rc = kr_udp_socket_join_multicast_v6(u6, &g6, 1);
        if (rc == 0)
            assert_rc(kr_udp_socket_leave_multicast_v6(u6, &g6, 1), 0);
        else
            assert_true(rc < 0);
        kr_udp_socket_free(u6);
    }
    kr_udp_socket_free(r);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tcp_socket__basic_usage_v4),
    cmocka_unit_test(tcp_socket__basic_usage_v6),
    cmocka_unit_test(tcp_socket__bind_before_connect),
    cmocka_unit_test(tcp_socket__basic_linger),
    cmocka_unit_test(tcp_socket__options),
    cmocka_unit_test(tcp_socket__misuse),
    cmocka_unit_test(tcp_stream__options),
    cmocka_unit_test(tcp_connect__connect_addr_host_string),
    cmocka_unit_test(tcp_connect__connect_host_errors),
    cmocka_unit_test(udp__options),
    cmocka_unit_test(udp__multicast_join_leave),
};
KR_TEST_MAIN(tests)
