/*
 * graceful: a TCP line-echo server that shuts down gracefully.
 *
 *     graceful [--deadline-ms N] [--workers N | --current-thread]
 *
 * Listens on 127.0.0.1 (an ephemeral port, printed as "listening on
 * 127.0.0.1:PORT"). Each client's lines are echoed back. On SIGINT
 * (kr_ctrl_c) the server stops accepting (the listener is closed), tells
 * every client "server shutting down" and half-closes, then waits for the
 * clients to close their ends, at most the deadline (default 2000 ms).
 * Clients still connected then are cut off. It prints how many closed in
 * time and exits 0, every task, socket and byte of memory released.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kairo.h"

static const char goodbye[] = "server shutting down\n";

static kr_notify *stop_notify; /* every connection waits on it */
static kr_notify
    *done_notify; /* the last connection to finish, once stopping */
static atomic_bool stopping;
static atomic_long live;

/* ---- one connection: echo until the peer closes or the server stops ---- */

enum { READING, WRITING, GOODBYE, DRAINING };

typedef struct {
    kr_future base;
    kr_tcp_stream *s;
    int state;
    bool started, told;
    kr_notified nf;
    bool nf_live;
    kr_tcp_read rd;
    kr_tcp_write_all wr;
    bool io_live;
    int64_t n;
    char buf[4096];
} conn;

static void conn_end_io(conn *c, kr_future *f) {
    if (c->io_live)
        kr_future_drop(f);
    c->io_live = false;
}

static void conn_read(conn *c) {
    c->rd = kr_tcp_stream_read(c->s, c->buf, sizeof(c->buf));
    c->io_live = true;
}

static void conn_say_goodbye(conn *c) {
    c->told = true;
    c->wr = kr_tcp_stream_write_all(c->s, goodbye, sizeof(goodbye) - 1);
    c->io_live = true;
    c->state = GOODBYE;
}

static void conn_finished(conn *c) {
    if (c->nf_live)
        kr_future_drop(&c->nf.base);
    c->nf_live = false;
    kr_tcp_stream_free(c->s);
    c->s = NULL;
    if (atomic_fetch_sub(&live, 1) == 1 && atomic_load(&stopping))
        kr_notify_one(done_notify);
}

/* True once the server is stopping (the notified future is polled only
 * until it completes). */
static bool conn_stop_seen(conn *c, kr_context *cx) {
    if (!c->nf_live)
        return true;
    if (kr_future_poll(&c->nf.base, cx, NULL) == KR_PENDING &&
        !atomic_load(&stopping))
        return false;
    kr_future_drop(&c->nf.base);
    c->nf_live = false;
    return true;
}

static kr_poll conn_poll(kr_future *f, kr_context *cx, void *out) {
    conn *c = (conn *)f;
    (void)out;
    if (!c->started) {
        /* Made before the flag is read: a stop after this wakes it. */
        c->started = true;
        c->nf = kr_notify_notified(stop_notify);
        c->nf_live = true;
        conn_read(c);
    }
    for (;;) {
        switch (c->state) {
        case READING:
            if (conn_stop_seen(c, cx)) {
                conn_end_io(c, &c->rd.base); /* reads are cancel-safe */
                conn_say_goodbye(c);
                continue;
            }
            if (kr_future_poll(&c->rd.base, cx, &c->n) == KR_PENDING)
                return KR_PENDING;
            conn_end_io(c, &c->rd.base);
            if (c->n <= 0)
                goto done;
            c->wr = kr_tcp_stream_write_all(c->s, c->buf, (size_t)c->n);
            c->io_live = true;
            c->state = WRITING;
            continue;
        case WRITING:
            if (kr_future_poll(&c->wr.base, cx, &c->n) == KR_PENDING)
                return KR_PENDING;
            conn_end_io(c, &c->wr.base);
            if (c->n < 0)
                goto done;
            conn_read(c);
            c->state = READING;
            continue;
        case GOODBYE:
            if (kr_future_poll(&c->wr.base, cx, &c->n) == KR_PENDING)
                return KR_PENDING;
            conn_end_io(c, &c->wr.base);
            if (c->n < 0)
                goto done;
            kr_tcp_stream_shutdown(c->s, KR_SHUT_WRITE);
            conn_read(c);
            c->state = DRAINING;
            continue;
        default: /* DRAINING: whatever the client still sends, until EOF */
            if (kr_future_poll(&c->rd.base, cx, &c->n) == KR_PENDING)
                return KR_PENDING;
            conn_end_io(c, &c->rd.base);
            if (c->n <= 0)
                goto done;
            conn_read(c);
            continue;
        }
    }
done:
    conn_finished(c);
    return KR_READY;
}

static void conn_drop(kr_future *f) {
    conn *c = (conn *)f;
    if (c->s == NULL)
        return; /* finished */
    /* Cut off at the deadline (the runtime is freed with it pending). */
    conn_end_io(c, c->state == READING || c->state == DRAINING ? &c->rd.base
                                                               : &c->wr.base);
    conn_finished(c);
}
KR_FUTURE_VTABLE(conn_vt, conn, conn_poll, conn_drop, 0);

/* ---- the server: accept until ctrl-c, then stop with a deadline -------- */

typedef struct {
    kr_future base;
    kr_tcp_listener *l;
    kr_duration deadline;
    int phase;
    kr_ctrl_c_future cc;
    kr_tcp_accept acc;
    kr_tcp_stream *s;
    int rc;
    kr_notified done;
    kr_sleep sleep;
    long clients, at_stop;
} server;

static kr_poll server_poll(kr_future *f, kr_context *cx, void *out) {
    server *sv = (server *)f;
    if (sv->phase == 0) {
        sv->cc = kr_ctrl_c();
        sv->acc = kr_tcp_listener_accept(sv->l, &sv->s, NULL);
        sv->phase = 1;
    }
    if (sv->phase == 1) {
        for (;;) {
            int rc = 0;
            if (kr_future_poll(&sv->cc.base, cx, &rc) == KR_READY)
                break;
            if (kr_future_poll(&sv->acc.base, cx, &sv->rc) == KR_PENDING)
                return KR_PENDING;
            kr_future_drop(&sv->acc.base);
            if (sv->rc == 0) {
                conn c;
                memset(&c, 0, sizeof(c));
                c.base.vtable = &conn_vt;
                c.s = sv->s;
                atomic_fetch_add(&live, 1);
                sv->clients++;
                if (kr_spawn(&c.base, NULL) != 0) {
                    atomic_fetch_sub(&live, 1);
                    kr_tcp_stream_free(sv->s);
                }
            }
            sv->acc = kr_tcp_listener_accept(sv->l, &sv->s, NULL);
        }
        /* Stop: no more accepts, then tell every connection. */
        kr_future_drop(&sv->cc.base);
        kr_future_drop(&sv->acc.base);
        kr_tcp_listener_free(sv->l);
        sv->l = NULL;
        sv->done = kr_notify_notified(done_notify);
        atomic_store(&stopping, true);
        kr_notify_waiters(stop_notify);
        sv->at_stop = atomic_load(&live);
        printf("shutting down: %ld clients connected\n", sv->at_stop);
        fflush(stdout);
        sv->sleep =
            kr_sleep_until(kr_instant_add(kr_instant_now(), sv->deadline));
        sv->phase = 2;
    }
    if (atomic_load(&live) != 0 &&
        kr_future_poll(&sv->done.base, cx, NULL) == KR_PENDING &&
        atomic_load(&live) != 0 &&
        kr_future_poll(&sv->sleep.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    kr_future_drop(&sv->done.base);
    kr_future_drop(&sv->sleep.base);
    *(long *)out = sv->at_stop - atomic_load(&live);
    return KR_READY;
}
KR_FUTURE_VTABLE(server_vt, server, server_poll, NULL, sizeof(long));

static void usage(void) {
    fprintf(stderr, "usage: graceful [--deadline-ms N] [--workers N | "
                    "--current-thread]\n");
    exit(2);
}

int main(int argc, char **argv) {
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    long deadline_ms = 2000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--current-thread") == 0)
            cfg.flavor = KR_RUNTIME_CURRENT_THREAD;
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            cfg.workers = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--deadline-ms") == 0 && i + 1 < argc)
            deadline_ms = atol(argv[++i]);
        else
            usage();
    }
    kr_runtime *rt;
    int rc = kr_runtime_new(&cfg, &rt);
    if (rc != 0) {
        fprintf(stderr, "graceful: %s\n", kr_strerror(rc));
        return 1;
    }
    kr_sockaddr addr;
    kr_tcp_listener *l = NULL;
    if ((rc = kr_notify_new(&stop_notify)) != 0 ||
        (rc = kr_notify_new(&done_notify)) != 0 ||
        (rc = kr_sockaddr_from_ip("127.0.0.1", 0, &addr)) != 0 ||
        (rc = kr_tcp_listener_bind(rt, &addr, NULL, &l)) != 0 ||
        (rc = kr_tcp_listener_local_addr(l, &addr)) != 0) {
        fprintf(stderr, "graceful: %s\n", kr_strerror(rc));
        kr_tcp_listener_free(l);
        kr_runtime_free(rt);
        kr_notify_free(stop_notify);
        kr_notify_free(done_notify);
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", kr_sockaddr_port(&addr));
    fflush(stdout);
    server sv;
    memset(&sv, 0, sizeof(sv));
    sv.base.vtable = &server_vt;
    sv.l = l;
    sv.deadline = kr_ms(deadline_ms);
    long closed = 0;
    rc = kr_runtime_block_on(rt, &sv.base, &closed);
    long cut = sv.at_stop - closed;
    /* Freeing the runtime drops the connections still open (cut off). */
    kr_runtime_free(rt);
    kr_notify_free(stop_notify);
    kr_notify_free(done_notify);
    printf("%ld of %ld clients closed in time, %ld cut off\n", closed,
           sv.at_stop, cut);
    return rc == 0 ? 0 : 1;
}
