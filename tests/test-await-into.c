/*
 * KR_AWAIT_INTO: an await that takes the variable the output goes to and
 * checks its size against the child's output (async.h, "Outputs"). With
 * KR_AWAIT an int64_t output awaited into an int overwrote the next field
 * silently. Here: outputs of several widths land whole and nothing beside
 * them is touched; a mismatch with a future the compiler cannot see
 * through (a user future, a join handle, a kr_future *) aborts with a
 * message when the await starts; the compile-time table agrees with every
 * vtable. (A mismatch with one of kairo's futures does not compile:
 * tests/compile-fail/await-into-size.c, run by ctest.) The run-time check
 * is on in this file whatever the build. KR_TEST_FLAVORS: ct mt
 */
#ifndef KR_DEBUG
#define KR_DEBUG 1
#endif
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "test.h"

/* ---- a future with an 8-byte output, and one with a 1-byte output ------ */

typedef struct {
    kr_future base;
} wide;
static kr_poll wide_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    *(int64_t *)out = INT64_C(0x1122334455667788);
    return KR_READY;
}
KR_FUTURE_VTABLE(wide_vt, wide, wide_poll, NULL, sizeof(int64_t));

typedef struct {
    kr_future base;
} narrow;
static kr_poll narrow_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    *(char *)out = 'k';
    return KR_READY;
}
KR_FUTURE_VTABLE(narrow_vt, narrow, narrow_poll, NULL, sizeof(char));

/* ---- outputs land whole, and only where they should -------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    wide w;
    narrow n;
    kr_unix_stream *a, *b;
    kr_unix_write wr;
    kr_unix_read rd;
    kr_join_handle jh;
    char buf[8];
    /* Each output, then a canary the output must not reach. */
    int64_t big;
    uint32_t canary1;
    char small;
    char canary2[7];
    int64_t bytes;
    uint32_t canary3;
    int64_t joined;
    uint32_t canary4;
} outputs;

static kr_poll outputs_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    outputs *o = (outputs *)f;
    KR_ASYNC_BEGIN(&o->co);
    o->w = (wide){{&wide_vt}};
    KR_AWAIT_INTO(&o->co, &o->w, cx, o->big); /* a user future's type */
    o->n = (narrow){{&narrow_vt}};
    KR_AWAIT_INTO(&o->co, &o->n.base, cx, o->small); /* a kr_future * */
    o->wr = kr_unix_stream_write(o->a, "hello", 5);
    KR_AWAIT_INTO(&o->co, &o->wr, cx, o->bytes); /* kairo's: compile time */
    o->rd = kr_unix_stream_read(o->b, o->buf, sizeof(o->buf));
    KR_AWAIT_INTO(&o->co, &o->rd, cx, o->bytes);
    o->w = (wide){{&wide_vt}};
    assert_rc(kr_spawn(&o->w.base, &o->jh), 0);
    KR_AWAIT_INTO(&o->co, &o->jh, cx, o->joined); /* its task's output */
    KR_ASYNC_END(&o->co);
}
static void outputs_drop(kr_future *f) { kr_coro_drop(&((outputs *)f)->co); }
KR_FUTURE_VTABLE(outputs_vt, outputs, outputs_poll, outputs_drop, 0);

static void await_into_writes_whole_outputs_and_nothing_else(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    outputs o;
    memset(&o, 0, sizeof(o));
    o.base.vtable = &outputs_vt;
    o.co = (kr_coro)KR_CORO_INIT;
    o.canary1 = o.canary3 = o.canary4 = 0xdeadbeef;
    memset(o.canary2, 0x5a, sizeof(o.canary2));
    assert_rc(kr_unix_stream_pair(rt, &o.a, &o.b), 0);
    assert_rc(kr_runtime_block_on(rt, &o.base, NULL), 0);
    assert_true(o.big == INT64_C(0x1122334455667788));
    assert_int_equal(o.small, 'k');
    assert_int_equal(o.bytes, 5);
    assert_memory_equal(o.buf, "hello", 5);
    assert_true(o.joined == INT64_C(0x1122334455667788));
    assert_int_equal(o.canary1, 0xdeadbeef);
    assert_int_equal(o.canary3, 0xdeadbeef);
    assert_int_equal(o.canary4, 0xdeadbeef);
    for (size_t i = 0; i < sizeof(o.canary2); i++)
        assert_int_equal(o.canary2[i], 0x5a);
    kr_unix_stream_free(o.a);
    kr_unix_stream_free(o.b);
    test_runtime_free(rt);
}

/* ---- mismatches the compiler cannot see abort at the await ---------- */

typedef struct {
    kr_future base;
    kr_coro co;
    wide w;
    kr_join_handle jh;
    int small; /* 4 bytes: the wide output would overrun it */
    int next;
} mismatch;

static kr_poll user_mismatch_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    mismatch *m = (mismatch *)f;
    KR_ASYNC_BEGIN(&m->co);
    m->w = (wide){{&wide_vt}};
    KR_AWAIT_INTO(&m->co, &m->w, cx, m->small);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(user_mismatch_vt, mismatch, user_mismatch_poll, NULL, 0);

static kr_poll dyn_mismatch_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    mismatch *m = (mismatch *)f;
    KR_ASYNC_BEGIN(&m->co);
    m->w = (wide){{&wide_vt}};
    KR_AWAIT_INTO(&m->co, &m->w.base, cx, m->small);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(dyn_mismatch_vt, mismatch, dyn_mismatch_poll, NULL, 0);

static kr_poll join_mismatch_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    mismatch *m = (mismatch *)f;
    KR_ASYNC_BEGIN(&m->co);
    m->w = (wide){{&wide_vt}};
    TEST_CHILD_CHECK(kr_spawn(&m->w.base, &m->jh) == 0);
    KR_AWAIT_INTO(&m->co, &m->jh, cx, m->small);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(join_mismatch_vt, mismatch, join_mismatch_poll, NULL, 0);

static void run_mismatch(const kr_future_vtable *vt) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    kr_runtime *rt = NULL;
    TEST_CHILD_CHECK(kr_runtime_new(&c, &rt) == 0);
    mismatch m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = vt;
    kr_runtime_block_on(rt, &m.base, NULL);
}

static void child_user_mismatch(void) { run_mismatch(&user_mismatch_vt); }
static void child_dyn_mismatch(void) { run_mismatch(&dyn_mismatch_vt); }
static void child_join_mismatch(void) { run_mismatch(&join_mismatch_vt); }

static void death_await_into_smaller_variable(void **state) {
    (void)state;
    test_expect_abort(child_user_mismatch, "user_mismatch_poll");
    test_expect_abort(child_user_mismatch,
                      "KR_AWAIT_INTO awaits wide, whose output is 8 bytes, "
                      "into a variable of 4 bytes");
    test_expect_abort(child_dyn_mismatch, "dyn_mismatch_poll");
}

static void death_await_into_join_handle_smaller_variable(void **state) {
    (void)state;
    test_expect_abort(child_join_mismatch,
                      "KR_AWAIT_INTO awaits kr_join_handle, whose output is 8 "
                      "bytes, into a variable of 4 bytes");
}

/* ---- the compile-time table matches the vtables ------------------------ */

#define MATCHES(x)                                                             \
    assert_int_equal(KR__OUTPUT_SIZE(&(x)), (x).base.vtable->output_size)

static void await_into_table_matches_vtables(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_sockaddr addr;
    assert_rc(kr_sockaddr_from_ip("127.0.0.1", 0, &addr), 0);
    char buf[4];
    struct iovec iov = {buf, sizeof(buf)};
    kr_tcp_read rd = kr_tcp_stream_read(NULL, buf, 1);
    kr_tcp_write wr = kr_tcp_stream_write(NULL, buf, 1);
    kr_tcp_read_exact re = kr_tcp_stream_read_exact(NULL, buf, 1);
    kr_tcp_write_all wa = kr_tcp_stream_write_all(NULL, buf, 1);
    kr_tcp_writev wv = kr_tcp_stream_writev(NULL, &iov, 1);
    kr_tcp_accept acc = kr_tcp_listener_accept(NULL, NULL, NULL);
    kr_tcp_connect con = kr_tcp_stream_connect(&addr, NULL);
    kr_unix_connect ucon = kr_unix_stream_connect("/nowhere", NULL);
    kr_udp_send_to st = kr_udp_socket_send_to(NULL, buf, 1, &addr);
    kr_udp_recv_from rf = kr_udp_socket_recv_from(NULL, buf, 1, NULL);
    kr_udp_send sd = kr_udp_socket_send(NULL, buf, 1);
    kr_udp_recv rv = kr_udp_socket_recv(NULL, buf, 1);
    kr_resolution res = kr_resolve("localhost", 80, &addr, 1);
    kr_readiness rdy = kr_async_fd_ready(NULL, KR_READABLE);
    kr_sleep sl = kr_sleep_for(kr_ms(1));
    kr_yield y = kr_yield_now();
    kr_timeout to = kr_timeout_new(&y.base, kr_ms(1), NULL);
    kr_interval iv = kr_interval_new(kr_ms(1), KR_MISSED_TICK_BURST);
    kr_interval_tick tick = kr_interval_tick_future(&iv);
    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(0, &tx, &rx), 0);
    kr_oneshot_recv orc = kr_oneshot_recv_future(rx, NULL);
    kr_oneshot_closed ocl = kr_oneshot_tx_closed(tx);
    kr_io_stream ios = kr_io_tcp(NULL);
    kr_buf_op bop = kr_buf_read_line(NULL, 1, NULL);
    kr_io_op iop = kr_io_read(ios, buf, 1);
    kr_io_copy_future cpy = kr_io_copy(ios, ios);
    kr_io_copy_bidi bidi = kr_io_copy_bidirectional(ios, ios, NULL, NULL);
    MATCHES(bop);
    MATCHES(iop);
    MATCHES(cpy);
    MATCHES(bidi);
    MATCHES(rd);
    MATCHES(wr);
    MATCHES(re);
    MATCHES(wa);
    MATCHES(wv);
    MATCHES(acc);
    MATCHES(con);
    MATCHES(ucon);
    MATCHES(st);
    MATCHES(rf);
    MATCHES(sd);
    MATCHES(rv);
    MATCHES(res);
    MATCHES(rdy);
    MATCHES(sl);
    MATCHES(y);
    MATCHES(to);
    MATCHES(tick);
    MATCHES(orc);
    MATCHES(ocl);
    kr_select_fut sel = kr_select(NULL, 0, 0);
    kr_join_fut jn = kr_join(NULL, 0, 0);
    kr_try_join_fut tj = kr_try_join(NULL, 0, 0);
    MATCHES(sel);
    MATCHES(jn);
    MATCHES(tj);
    /* Join handles are checked at run time: their output is their task's. */
    kr_join_handle jh;
    wide w = {{&wide_vt}};
    assert_rc(kr_runtime_spawn(rt, &w.base, &jh), 0);
    assert_true(KR__OUTPUT_SIZE(&jh) == KR__OUTPUT_UNKNOWN);
    kr_join_handle_drop(&jh);
    /* None of these was polled: dropping them releases nothing but is
     * what their owner does. */
    kr_future_drop(&to.base);
    kr_future_drop(&sl.base);
    kr_interval_drop(&iv);
    kr_oneshot_tx_drop(tx);
    kr_oneshot_rx_drop(rx);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(await_into_writes_whole_outputs_and_nothing_else),
    cmocka_unit_test(death_await_into_smaller_variable),
    cmocka_unit_test(death_await_into_join_handle_smaller_variable),
    cmocka_unit_test(await_into_table_matches_vtables),
};
KR_TEST_MAIN(tests)
