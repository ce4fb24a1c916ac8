/*
 * kairo-echo: a TCP echo server on 127.0.0.1, the echo benchmark's server.
 *
 *     kairo-echo PORT [--workers N | --current-thread] [--io uring|epoll]
 *
 * One task accepts; each connection gets a task that copies the stream
 * into itself (kr_io_copy), until the peer closes. Runs until SIGINT
 * (kr_ctrl_c) or SIGTERM, which end it cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kairo.h"

/* ---- one connection -------------------------------------------------
 * Echo is a copy of the stream into itself: kr_io_copy reads into its
 * 8 KiB buffer and writes it back until the peer closes. */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_tcp_stream *s;
    kr_io_copy_future cp;
    int64_t n;
} conn;

static kr_poll conn_poll(kr_future *f, kr_context *cx, void *out) {
    conn *c = (conn *)f;
    KR_ASYNC_BEGIN(&c->co);
    c->cp = kr_io_copy(kr_io_tcp(c->s), kr_io_tcp(c->s));
    KR_AWAIT_INTO(&c->co, &c->cp, cx, c->n); /* closed, or an error */
    kr_tcp_stream_free(c->s);
    c->s = NULL;
    KR_ASYNC_END(&c->co);
}

static void conn_drop(kr_future *f) {
    conn *c = (conn *)f;
    kr_coro_drop(&c->co);     /* the pending copy first... */
    kr_tcp_stream_free(c->s); /* ...then the socket it used */
    c->s = NULL;
}
KR_FUTURE_VTABLE(conn_vt, conn, conn_poll, conn_drop, 0);

/* ---- the accept loop -------------------------------------------------- */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_tcp_listener *l;
    kr_tcp_accept acc;
    kr_tcp_stream *s;
    int rc;
} acceptor;

static kr_poll acceptor_poll(kr_future *f, kr_context *cx, void *out) {
    acceptor *a = (acceptor *)f;
    KR_ASYNC_BEGIN(&a->co);
    for (;;) {
        a->acc = kr_tcp_listener_accept(a->l, &a->s, NULL);
        KR_AWAIT_INTO(&a->co, &a->acc, cx, a->rc);
        if (a->rc < 0) {
            fprintf(stderr, "kairo-echo: accept: %s\n", kr_strerror(a->rc));
            continue; /* out-of-fd back-off happens inside accept */
        }
        kr_tcp_stream_set_nodelay(a->s, true);
        conn c;
        memset(&c, 0, sizeof(c));
        c.base.vtable = &conn_vt;
        c.s = a->s;
        if (kr_spawn(&c.base, NULL) != 0)
            kr_tcp_stream_free(a->s);
    }
    KR_ASYNC_END(&a->co);
}

static void acceptor_drop(kr_future *f) { kr_coro_drop(&((acceptor *)f)->co); }
KR_FUTURE_VTABLE(acceptor_vt, acceptor, acceptor_poll, acceptor_drop, 0);

/* ---- main --------------------------------------------------------------- */

/* Runs the acceptor until SIGINT (kr_ctrl_c) or SIGTERM arrives. */
typedef struct {
    kr_future base;
    bool started;
    kr_ctrl_c_future cc;
    kr_signal_listener *term;
    kr_signal_recv term_recv;
    acceptor a;
} until_signal;

static kr_poll until_poll(kr_future *f, kr_context *cx, void *out) {
    until_signal *u = (until_signal *)f;
    int rc = 0;
    (void)out;
    if (!u->started) {
        u->started = true;
        u->cc = kr_ctrl_c();
        u->term_recv = kr_signal_listener_recv(u->term);
    }
    if (kr_future_poll(&u->cc.base, cx, &rc) == KR_READY ||
        kr_future_poll(&u->term_recv.base, cx, &rc) == KR_READY)
        return KR_READY;
    return kr_future_poll(&u->a.base, cx, NULL);
}

static void until_drop(kr_future *f) {
    until_signal *u = (until_signal *)f;
    if (u->started)
        kr_future_drop(&u->cc.base);
    kr_future_drop(&u->a.base);
}
KR_FUTURE_VTABLE(until_vt, until_signal, until_poll, until_drop, 0);

static void usage(void) {
    fprintf(stderr, "usage: kairo-echo PORT [--workers N | --current-thread] "
                    "[--io uring|epoll]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage();
    int port = atoi(argv[1]);
    if (port <= 0 || port > 65535)
        usage();
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--current-thread") == 0)
            cfg.flavor = KR_RUNTIME_CURRENT_THREAD;
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            cfg.workers = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--io") == 0 && i + 1 < argc) {
            /* The I/O driver's backend (kr_runtime_config.io_driver);
             * without --io, KAIRO_IO or the default (epoll). */
            const char *io = argv[++i];
            if (strcmp(io, "uring") == 0)
                cfg.io_driver = KR_IO_DRIVER_URING;
            else if (strcmp(io, "epoll") == 0)
                cfg.io_driver = KR_IO_DRIVER_EPOLL;
            else
                usage();
        } else
            usage();
    }
    kr_runtime *rt;
    int rc = kr_runtime_new(&cfg, &rt);
    if (rc != 0) {
        fprintf(stderr, "kairo-echo: %s\n", kr_strerror(rc));
        return 1;
    }
    kr_sockaddr addr;
    kr_tcp_listener *l;
    if ((rc = kr_sockaddr_from_ip("127.0.0.1", port, &addr)) != 0 ||
        (rc = kr_tcp_listener_bind(rt, &addr, NULL, &l)) != 0) {
        fprintf(stderr, "kairo-echo: bind 127.0.0.1:%d: %s\n", port,
                kr_strerror(rc));
        kr_runtime_free(rt);
        return 1;
    }
    until_signal u;
    memset(&u, 0, sizeof(u));
    u.base.vtable = &until_vt;
    u.a.base.vtable = &acceptor_vt;
    u.a.l = l;
    if ((rc = kr_signal_listen(SIGTERM, &u.term)) == 0)
        rc = kr_runtime_block_on(rt, &u.base, NULL); /* until a signal */
    else
        kr_future_drop(&u.base); /* block_on drops it otherwise */
    kr_signal_listener_free(u.term);
    kr_tcp_listener_free(l);
    kr_runtime_free(rt);
    return rc == 0 || rc == KR_ESHUTDOWN ? 0 : 1;
}
