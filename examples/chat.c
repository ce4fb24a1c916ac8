/*
 * chat: a line-based TCP chat server on 127.0.0.1.
 *
 *     chat [--port P] [--idle-ms MS] [--workers N | --current-thread]
 *
 * Every line a client sends is broadcast to every other client, prefixed
 * with the sender's number ("3: hello"). A client that sends nothing for
 * MS milliseconds (default 60000) gets a goodbye line and is disconnected.
 * Prints "chat: listening on 127.0.0.1:PORT" once it accepts (port 0, the
 * default, picks a free one), and runs until SIGINT/SIGTERM.
 *
 * The parts of kairo it shows: one kr_broadcast channel carries every line
 * to every connection; each connection is one task that waits on three
 * things at once (its socket, the broadcast, an idle timer) with kr_select
 * in a loop. KR_SELECT_KEEP leaves the two that did not fire alive in their
 * branches, so they keep their place (the broadcast receive its cursor, the
 * read its buffer), as `&mut fut` does in Tokio's select! over a loop; only
 * the branch that fired is made again.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kairo.h"

#define LINE 256 /* longer lines are split */
#define RING 64  /* lines kept for slow clients; beyond that they lag */

typedef struct {
    uint64_t from;
    uint32_t len;
    char text[LINE];
} chat_line;

static kr_broadcast_tx *hub;
static kr_duration idle;

/* ---- one connection ------------------------------------------------- */

typedef struct {
    KR_ASYNC_FIELDS;
    uint64_t id;
    kr_tcp_stream *s;
    kr_broadcast_rx *rx;
    /* The three waits, alive across iterations (see the file comment):
     * br[0] the read, br[1] the broadcast, br[2] the idle timer. */
    kr_branch br[3];
    kr_tcp_read rd;
    int64_t nread;
    kr_broadcast_recv rv;
    int rv_rc;
    uint64_t lagged;
    chat_line in;
    kr_sleep nap;
    kr_select_fut sel;
    int which;
    kr_tcp_write_all wr;
    int64_t wrote;
    char out[LINE + 64];
    size_t used; /* bytes of a partial line in buf */
    char buf[LINE];
} client;
KR_ASYNC_FN_VOID(client);

/* Broadcasts the complete lines in c->buf; keeps a partial one. */
static void publish_lines(client *c) {
    size_t start = 0;
    for (size_t i = 0; i < c->used; i++) {
        if (c->buf[i] != '\n' && i + 1 - start < LINE)
            continue;
        chat_line l = {c->id, (uint32_t)(i + 1 - start), {0}};
        memcpy(l.text, c->buf + start, l.len);
        if (l.text[l.len - 1] != '\n' && l.len < LINE)
            l.text[l.len++] = '\n';
        (void)kr_broadcast_send(hub, &l); /* >= 1: this client listens */
        start = i + 1;
    }
    memmove(c->buf, c->buf + start, c->used - start);
    c->used -= start;
}

KR_ASYNC_POLL(client, c, cx) {
    kr_sleep_init(&c->nap, idle);
    KR_BRANCH_SET_VOID(&c->br[2], &c->nap);
    for (;;) {
        if (!kr_branch_live(&c->br[0])) {
            c->rd = kr_tcp_stream_read(c->s, c->buf + c->used,
                                       sizeof(c->buf) - c->used);
            KR_BRANCH_SET(&c->br[0], &c->rd, c->nread);
        }
        if (!kr_branch_live(&c->br[1])) {
            c->rv = kr_broadcast_recv_future(c->rx, &c->in, &c->lagged);
            KR_BRANCH_SET(&c->br[1], &c->rv, c->rv_rc);
        }
        KR_FN_CALL(c->sel, kr_select(c->br, 3, KR_POLL_BIASED | KR_SELECT_KEEP),
                   c->which);
        if (c->which == 0) { /* our client spoke */
            if (c->nread <= 0)
                break; /* it left */
            c->used += (size_t)c->nread;
            publish_lines(c);
            kr_sleep_reset(&c->nap, kr_instant_add(kr_instant_now(), idle));
            continue;
        }
        if (c->which == 2) { /* idle too long */
            snprintf(c->out, sizeof(c->out), "* goodbye: idle for %lld ms\n",
                     (long long)(idle / kr_ms(1)));
            KR_FN_CALL(c->wr,
                       kr_tcp_stream_write_all(c->s, c->out, strlen(c->out)),
                       c->wrote);
            break;
        }
        /* A line from the hub (or a lag, or the end). */
        if (c->rv_rc == KR_ECLOSED)
            break;
        if (c->rv_rc == KR_ELAGGED) {
            snprintf(c->out, sizeof(c->out), "* missed %llu lines\n",
                     (unsigned long long)c->lagged);
        } else if (c->in.from == c->id) {
            continue; /* our own line: everyone else's */
        } else {
            snprintf(c->out, sizeof(c->out), "%llu: %.*s",
                     (unsigned long long)c->in.from, (int)c->in.len,
                     c->in.text);
        }
        KR_FN_CALL(c->wr, kr_tcp_stream_write_all(c->s, c->out, strlen(c->out)),
                   c->wrote);
        if (c->wrote < 0)
            break;
    }
}
KR_ASYNC_POLL_END

KR_ASYNC_DROP(client, c) {
    kr_branches_drop(c->br, 3); /* what the select left (KEEP) */
    kr_broadcast_rx_drop(c->rx);
    kr_tcp_stream_free(c->s);
}

/* ---- the accept loop -------------------------------------------------- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_tcp_listener *l;
    kr_tcp_accept acc;
    kr_tcp_stream *s;
    uint64_t next_id;
    int rc;
} acceptor;
KR_ASYNC_FN_VOID(acceptor);

KR_ASYNC_POLL(acceptor, a, cx) {
    for (;;) {
        KR_FN_CALL(a->acc, kr_tcp_listener_accept(a->l, &a->s, NULL), a->rc);
        if (a->rc < 0) {
            fprintf(stderr, "chat: accept: %s\n", kr_strerror(a->rc));
            continue;
        }
        client *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            kr_tcp_stream_free(a->s);
            continue;
        }
        c->base.vtable = &client_vt;
        c->id = ++a->next_id;
        c->s = a->s;
        /* Subscribed here, before the task runs: it sees every line sent
         * from the moment it was accepted. */
        if (kr_broadcast_subscribe(hub, &c->rx) != 0 ||
            kr_spawn(&c->base, NULL) != 0) {
            kr_broadcast_rx_drop(c->rx);
            kr_tcp_stream_free(a->s);
        }
        free(c); /* kr_spawn copied it into the task */
    }
}
KR_ASYNC_POLL_END

KR_ASYNC_NO_DROP(acceptor);

/* ---- main --------------------------------------------------------------- */

static void *signal_thread(void *arg) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig;
    if (sigwait(&set, &sig) == 0)
        kr_runtime_shutdown(arg);
    return NULL;
}

static void usage(void) {
    fprintf(stderr, "usage: chat [--port P] [--idle-ms MS] "
                    "[--workers N | --current-thread]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int port = 0;
    long idle_ms = 60000;
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--idle-ms") == 0 && i + 1 < argc)
            idle_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            cfg.workers = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--current-thread") == 0)
            cfg.flavor = KR_RUNTIME_CURRENT_THREAD;
        else
            usage();
    }
    if (port < 0 || port > 65535 || idle_ms <= 0)
        usage();
    idle = kr_ms(idle_ms);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    kr_runtime *rt;
    int rc = kr_runtime_new(&cfg, &rt);
    if (rc == 0)
        rc = kr_broadcast_new(sizeof(chat_line), RING, &hub, NULL);
    kr_sockaddr addr;
    kr_tcp_listener *l = NULL;
    if (rc == 0)
        rc = kr_sockaddr_from_ip("127.0.0.1", port, &addr);
    if (rc == 0)
        rc = kr_tcp_listener_bind(rt, &addr, NULL, &l);
    if (rc == 0)
        rc = kr_tcp_listener_local_addr(l, &addr);
    if (rc != 0) {
        fprintf(stderr, "chat: %s\n", kr_strerror(rc));
        return 1;
    }
    printf("chat: listening on 127.0.0.1:%d\n", kr_sockaddr_port(&addr));
    fflush(stdout);

    pthread_t sig;
    pthread_create(&sig, NULL, signal_thread, rt);
    acceptor a = {KR_ASYNC_INIT(acceptor), .l = l};
    rc = kr_runtime_block_on(rt, &a.base, NULL);
    /* Shut down by the signal thread (the accept loop never ends by
     * itself): every client task was dropped with it. Join that thread
     * before freeing the runtime it is shutting down. */
    pthread_join(sig, NULL);
    kr_tcp_listener_free(l);
    kr_broadcast_tx_drop(hub);
    kr_runtime_free(rt);
    return rc == KR_ESHUTDOWN ? 0 : 1;
}
