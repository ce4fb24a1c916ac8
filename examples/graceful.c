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
static kr_notify *done_notify; /* the last one to finish, once stopping */
static atomic_bool stopping;
static atomic_long live;

/* ---- one connection: echo until the peer closes or the server stops ---- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_tcp_stream *s;
    kr_branch br[2]; /* [0] the stop notice, [1] the read */
    kr_notified nf;
    kr_tcp_read rd;
    kr_tcp_write_all wr;
    kr_select_fut sel;
    int which;
    int64_t n;
    char buf[4096];
} conn;
KR_ASYNC_FN_VOID(conn);

static void conn_finished(conn *c) {
    kr_branches_drop(c->br, 2);
    kr_tcp_stream_free(c->s);
    c->s = NULL;
    if (atomic_fetch_sub(&live, 1) == 1 && atomic_load(&stopping))
        kr_notify_one(done_notify);
}

/* Cut off at the deadline (the runtime is freed with it pending). */
KR_ASYNC_DROP(conn, c) {
    if (c->s != NULL)
        conn_finished(c);
}

KR_ASYNC_POLL(conn, c, cx) {
    /* Made before the flag is read: a stop after this wakes it. */
    c->nf = kr_notify_notified(stop_notify);
    KR_BRANCH_SET_VOID(&c->br[0], &c->nf);
    while (!atomic_load(&stopping)) {
        c->rd = kr_tcp_stream_read(c->s, c->buf, sizeof(c->buf));
        KR_BRANCH_SET(&c->br[1], &c->rd, c->n);
        c->sel = kr_select(c->br, 2, KR_POLL_BIASED | KR_SELECT_KEEP);
        KR_FN_AWAIT_INTO(&c->sel, c->which);
        if (c->which == 0)
            break; /* stopping: the read (cancel-safe) is dropped */
        if (c->n <= 0)
            goto done;
        KR_FN_CALL(c->wr, kr_tcp_stream_write_all(c->s, c->buf, (size_t)c->n),
                   c->n);
        if (c->n < 0)
            goto done;
    }
    kr_branches_drop(c->br, 2);
    KR_FN_CALL(c->wr,
               kr_tcp_stream_write_all(c->s, goodbye, sizeof(goodbye) - 1),
               c->n);
    if (c->n < 0)
        goto done;
    kr_tcp_stream_shutdown(c->s, KR_SHUT_WRITE);
    do { /* whatever the client still sends, until EOF */
        KR_FN_CALL(c->rd, kr_tcp_stream_read(c->s, c->buf, sizeof(c->buf)),
                   c->n);
    } while (c->n > 0);
done:
    conn_finished(c);
}
KR_ASYNC_POLL_END

/* ---- the server: accept until ctrl-c, then stop with a deadline -------- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_tcp_listener *l;
    kr_duration deadline;
    kr_branch br[2];
    kr_ctrl_c_future cc;
    kr_tcp_accept acc;
    kr_tcp_stream *s;
    int rc, cc_rc, which;
    kr_select_fut sel;
    kr_notified done;
    kr_sleep sleep;
    long clients, at_stop;
} server;
KR_ASYNC_FN(server, long);
KR_ASYNC_DROP(server, sv) { kr_branches_drop(sv->br, 2); }

KR_ASYNC_POLL(server, sv, cx) {
    sv->cc = kr_ctrl_c();
    KR_BRANCH_SET(&sv->br[0], &sv->cc, sv->cc_rc);
    for (;;) {
        sv->acc = kr_tcp_listener_accept(sv->l, &sv->s, NULL);
        KR_BRANCH_SET(&sv->br[1], &sv->acc, sv->rc);
        sv->sel = kr_select(sv->br, 2, KR_POLL_BIASED | KR_SELECT_KEEP);
        KR_FN_AWAIT_INTO(&sv->sel, sv->which);
        if (sv->which == 0)
            break; /* ctrl-c */
        if (sv->rc != 0)
            continue;
        conn c = {KR_ASYNC_INIT(conn), .s = sv->s};
        atomic_fetch_add(&live, 1);
        sv->clients++;
        if (kr_spawn(&c.base, NULL) != 0) {
            atomic_fetch_sub(&live, 1);
            kr_tcp_stream_free(sv->s);
        }
    }
    /* Stop: no more accepts, then tell every connection. */
    kr_branches_drop(sv->br, 2);
    kr_tcp_listener_free(sv->l);
    sv->l = NULL;
    sv->done = kr_notify_notified(done_notify);
    atomic_store(&stopping, true);
    kr_notify_waiters(stop_notify);
    sv->at_stop = atomic_load(&live);
    printf("shutting down: %ld clients connected\n", sv->at_stop);
    fflush(stdout);
    /* Until the last connection is done, or the deadline. */
    sv->sleep = kr_sleep_until(kr_instant_add(kr_instant_now(), sv->deadline));
    KR_BRANCH_SET_VOID(&sv->br[0], &sv->done);
    KR_BRANCH_SET_VOID(&sv->br[1], &sv->sleep);
    if (atomic_load(&live) != 0) {
        sv->sel = kr_select(sv->br, 2, KR_POLL_BIASED);
        KR_FN_AWAIT_INTO(&sv->sel, sv->which);
    }
    kr_branches_drop(sv->br, 2);
    KR_FN_RETURN(sv->at_stop - atomic_load(&live));
}
KR_ASYNC_POLL_END

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
    server sv = {KR_ASYNC_INIT(server), .l = l, .deadline = kr_ms(deadline_ms)};
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
