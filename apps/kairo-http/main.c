/*
 * kairo-http: an HTTP/1.1 server on kairo's public API.
 *
 *     kairo-http PORT [--root DIR] [--workers N | --current-thread]
 *                [--io uring|epoll] [--bind ADDR] [--max-conns N]
 *                [--max-header BYTES] [--max-body BYTES]
 *                [--header-timeout MS] [--idle-timeout MS]
 *
 * GET / answers a short plain-text hello (the benchmark route); POST /echo
 * sends the request's body back; with --root, GET and HEAD serve the files
 * under DIR (files.h, conn.c). SIGINT or SIGTERM: stop accepting, close the
 * idle connections, let the ones in a request finish it (at most 5 s), then
 * exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "http.h"

/* ---- the accept loop --------------------------------------------------- */

typedef struct acceptor {
    kr_future base;
    kr_coro co;
    http_server *srv;
    kr_tcp_listener *l;
    kr_tcp_accept acc;
    kr_tcp_stream *s;
    int rc;
} acceptor;

static kr_poll acceptor_poll(kr_future *f, kr_context *cx, void *out) {
    acceptor *a = (acceptor *)f;
    (void)out;
    KR_ASYNC_BEGIN(&a->co);
    for (;;) {
        a->acc = kr_tcp_listener_accept(a->l, &a->s, NULL);
        KR_AWAIT_INTO(&a->co, &a->acc, cx, a->rc);
        if (a->rc < 0) {
            fprintf(stderr, "kairo-http: accept: %s\n", kr_strerror(a->rc));
            continue; /* out-of-fd back-off happens inside accept */
        }
        kr_tcp_stream_set_nodelay(a->s, true);
        if (atomic_load(&a->srv->conns) < a->srv->max_conns)
            http_conn_spawn(a->srv, a->s, false);
        else if (atomic_load(&a->srv->rejects) < 64)
            http_conn_spawn(a->srv, a->s, true); /* a short-lived 503 */
        else
            kr_tcp_stream_free(a->s); /* a flood: not even a 503 */
    }
    KR_ASYNC_END(&a->co);
}

static void acceptor_drop(kr_future *f) { kr_coro_drop(&((acceptor *)f)->co); }
KR_FUTURE_VTABLE(acceptor_vt, acceptor, acceptor_poll, acceptor_drop, 0);

/* ---- until a signal, then the drain -------------------------------------- */

typedef struct server_main {
    kr_future base;
    int phase; /* 0 new, 1 serving, 2 draining */
    http_server *srv;
    kr_ctrl_c_future cc;
    kr_signal_listener *term;
    kr_signal_recv term_recv;
    acceptor a;
    kr_instant drain_end;
    kr_sleep tick;
} server_main;

static kr_poll main_poll(kr_future *f, kr_context *cx, void *out) {
    server_main *m = (server_main *)f;
    int rc = 0;
    (void)out;
    if (m->phase == 0) {
        m->phase = 1;
        m->cc = kr_ctrl_c();
        m->term_recv = kr_signal_listener_recv(m->term);
    }
    if (m->phase == 1) {
        if (kr_future_poll(&m->cc.base, cx, &rc) == KR_PENDING &&
            kr_future_poll(&m->term_recv.base, cx, &rc) == KR_PENDING)
            return kr_future_poll(&m->a.base, cx, NULL);
        /* a signal: stop accepting, and drain */
        kr_future_drop(&m->a.base);
        kr_future_drop(&m->cc.base);
        kr_future_drop(&m->term_recv.base);
        kr_cancel_token_cancel(m->srv->stop);
        m->drain_end = kr_instant_add(kr_instant_now(), kr_secs(5));
        m->phase = 2;
        m->tick = kr_sleep_for(kr_ms(10));
    }
    /* draining: look every 10 ms until the connections are gone */
    for (;;) {
        if ((atomic_load(&m->srv->conns) == 0 &&
             atomic_load(&m->srv->rejects) == 0) ||
            kr_instant_now().ns >= m->drain_end.ns)
            return KR_READY;
        if (kr_future_poll(&m->tick.base, cx, NULL) == KR_PENDING)
            return KR_PENDING;
        kr_sleep_reset(&m->tick, kr_instant_add(kr_instant_now(), kr_ms(10)));
    }
}

static void main_drop(kr_future *f) {
    server_main *m = (server_main *)f;
    if (m->phase == 1) {
        kr_future_drop(&m->cc.base);
        kr_future_drop(&m->term_recv.base);
    }
    if (m->phase <= 1)
        kr_future_drop(&m->a.base);
    if (m->phase == 2)
        kr_future_drop(&m->tick.base);
}
KR_FUTURE_VTABLE(main_vt, server_main, main_poll, main_drop, 0);

/* ---- arguments ------------------------------------------------------------ */

static void usage(void) {
    fprintf(stderr,
            "usage: kairo-http PORT [--root DIR] [--workers N | "
            "--current-thread] [--io uring|epoll]\n"
            "                  [--bind ADDR] [--max-conns N] [--max-header "
            "BYTES] [--max-body BYTES]\n"
            "                  [--header-timeout MS] [--idle-timeout MS]\n");
    exit(2);
}

static unsigned long long num(const char *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-')
        usage();
    return v;
}

/* As many descriptors as the hard limit allows (1,000 connections). */
static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static http_server srv;

int main(int argc, char **argv) {
    if (argc < 2)
        usage();
    char *pend;
    long port = strtol(argv[1], &pend, 10);
    if (!argv[1][0] || *pend || port < 0 || port > 65535)
        usage(); /* 0: any free port (printed) */
    const char *bind_ip = "127.0.0.1";
    const char *root = NULL;
    srv.lim.max_header = 8192;
    srv.lim.max_body = 8u << 20;
    srv.header_timeout = kr_secs(10);
    srv.idle_timeout = kr_secs(30);
    srv.max_conns = 10000;
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--current-thread") == 0) {
            cfg.flavor = KR_RUNTIME_CURRENT_THREAD;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--workers") == 0)
            cfg.workers = (unsigned)num(v);
        else if (strcmp(a, "--root") == 0)
            root = v;
        else if (strcmp(a, "--bind") == 0)
            bind_ip = v;
        else if (strcmp(a, "--io") == 0) {
            if (strcmp(v, "uring") == 0)
                cfg.io_driver = KR_IO_DRIVER_URING;
            else if (strcmp(v, "epoll") == 0)
                cfg.io_driver = KR_IO_DRIVER_EPOLL;
            else
                usage();
        } else if (strcmp(a, "--max-conns") == 0)
            srv.max_conns = (unsigned)num(v);
        else if (strcmp(a, "--max-header") == 0)
            srv.lim.max_header = (size_t)num(v);
        else if (strcmp(a, "--max-body") == 0)
            srv.lim.max_body = num(v);
        else if (strcmp(a, "--header-timeout") == 0)
            srv.header_timeout = kr_ms((int64_t)num(v));
        else if (strcmp(a, "--idle-timeout") == 0)
            srv.idle_timeout = kr_ms((int64_t)num(v));
        else
            usage();
    }
    if (root) {
        /* once, before the runtime: the root every path is checked in */
        if (!realpath(root, srv.root)) {
            fprintf(stderr, "kairo-http: --root %s: %s\n", root,
                    kr_strerror(-errno));
            return 1;
        }
        srv.root_len = strlen(srv.root);
        if (srv.root_len == 1) /* "/": every path is under it */
            srv.root_len = 0, srv.root[0] = 0, srv.root_len = 0;
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    kr_runtime *rt;
    int rc = kr_runtime_new(&cfg, &rt);
    if (rc != 0) {
        fprintf(stderr, "kairo-http: %s\n", kr_strerror(rc));
        return 1;
    }
    if ((rc = kr_cancel_token_new(&srv.stop)) != 0) {
        fprintf(stderr, "kairo-http: %s\n", kr_strerror(rc));
        kr_runtime_free(rt);
        return 1;
    }
    kr_sockaddr addr;
    kr_tcp_listener *l;
    if ((rc = kr_sockaddr_from_ip(bind_ip, (int)port, &addr)) != 0 ||
        (rc = kr_tcp_listener_bind(rt, &addr, NULL, &l)) != 0) {
        fprintf(stderr, "kairo-http: bind %s:%ld: %s\n", bind_ip, port,
                kr_strerror(rc));
        kr_runtime_free(rt);
        kr_cancel_token_drop(srv.stop);
        return 1;
    }
    kr_sockaddr bound;
    if (kr_tcp_listener_local_addr(l, &bound) == 0) {
        char name[80];
        if (kr_sockaddr_format(&bound, name, sizeof(name)) >= 0)
            printf("kairo-http: listening on http://%s/\n", name);
        fflush(stdout);
    }
    server_main m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = &main_vt;
    m.srv = &srv;
    m.a.base.vtable = &acceptor_vt;
    m.a.srv = &srv;
    m.a.l = l;
    if ((rc = kr_signal_listen(SIGTERM, &m.term)) == 0)
        rc = kr_runtime_block_on(rt, &m.base, NULL); /* until a signal */
    else
        kr_future_drop(&m.base);
    kr_signal_listener_free(m.term);
    kr_tcp_listener_free(l);
    kr_runtime_free(rt); /* drops what is left of the connections */
    kr_cancel_token_drop(srv.stop);
    return rc == 0 || rc == KR_ESHUTDOWN ? 0 : 1;
}
