/*
 * uring_loop.h: the one-thread io_uring server loop that the hand-written
 * completion peers (uring-echo, uring-http) share. No readiness and no
 * runtime: what a program written straight on liburing does, the limit
 * that kairo's io_uring driver is measured against.
 *
 *   - One ring, made with IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN where
 *     the kernel has them (6.1 and later), else COOP_TASKRUN, else plain.
 *     The ring's descriptor is registered, so io_uring_enter skips its
 *     lookup.
 *   - One multishot ACCEPT on the listener, armed again whenever the kernel
 *     ends it. Accepted sockets get TCP_NODELAY (a setsockopt, as in the
 *     epoll peers).
 *   - Exactly one operation in flight per connection: a RECV into the
 *     connection's buffer, or a SEND of what it has to send. The next one
 *     is prepared while its completion is handled.
 *   - One io_uring_submit_and_wait(1) per round: every SQE the last batch
 *     of completions prepared goes in with the call that waits for the
 *     next batch. With DEFER_TASKRUN that call is also where the kernel
 *     runs the completions' work, in this thread.
 *
 * Not used, on purpose: provided buffer rings and multishot RECV (each
 * connection has at most one message in flight in these benchmarks, so a
 * buffer of its own costs nothing and saves the buffer's return), registered
 * files and direct descriptors (kairo's sockets are ordinary descriptors),
 * and SQPOLL (its kernel thread would take the other of the VM's two cores,
 * where the load client runs).
 *
 * A connection's state is its hooks'; the loop keeps a small record of its
 * own (the descriptor and which operation is in flight), whose address is
 * the operation's user_data. The listener's is 0.
 */
#ifndef URING_LOOP_H
#define URING_LOOP_H

#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/listen.h"

/* The exit status where the kernel has no io_uring for us (forbidden, too
 * old, no multishot accept): the tests skip on it. */
#define URING_LOOP_UNAVAILABLE 3

#define URING_LOOP_SQ 4096
#define URING_LOOP_CQ 16384

typedef struct uring_server {
    const char *name; /* "uring-echo": in the usage and error lines */
    /* A new connection's state for the accepted socket `fd`, or NULL (the
     * loop then closes fd). */
    void *(*open)(int fd);
    /* Where the next RECV goes: *cap bytes at the result. NULL: nothing
     * more is read and, with nothing to send, the connection is closed. */
    char *(*rbuf)(void *conn, size_t *cap);
    /* n > 0 bytes came into rbuf's buffer. < 0: close the connection. */
    int (*received)(void *conn, size_t n);
    /* What to send now: *len bytes at the result; NULL or 0 when nothing. */
    const char *(*wbuf)(void *conn, size_t *len);
    /* n > 0 bytes of wbuf's went. < 0: close the connection. */
    int (*sent)(void *conn, size_t n);
    /* Frees conn (the loop closes the socket). */
    void (*close)(void *conn);
} uring_server;

typedef struct uring_conn {
    void *app;
    int fd;
    int op; /* URING_LOOP_RECV or URING_LOOP_SEND: the one in flight */
} uring_conn;

enum { URING_LOOP_RECV = 1, URING_LOOP_SEND = 2 };

/* A free SQE; when the queue is full, what is in it is submitted first. */
static inline struct io_uring_sqe *uring_loop_sqe(struct io_uring *ring) {
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(ring)) == NULL)
        io_uring_submit(ring);
    return sqe;
}

static inline void uring_loop_arm_accept(struct io_uring *ring, int lfd) {
    struct io_uring_sqe *sqe = uring_loop_sqe(ring);
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, 0);
}

static inline void uring_loop_drop(const uring_server *s, uring_conn *u) {
    close(u->fd);
    s->close(u->app);
    free(u);
}

/* Prepares the connection's next operation: the send of what it has to
 * send, else the next receive, else its close. */
static inline void uring_loop_next(const uring_server *s, struct io_uring *ring,
                                   uring_conn *u) {
    size_t len = 0;
    const char *w = s->wbuf(u->app, &len);
    if (w != NULL && len > 0) {
        struct io_uring_sqe *sqe = uring_loop_sqe(ring);
        io_uring_prep_send(sqe, u->fd, w, len, MSG_NOSIGNAL);
        io_uring_sqe_set_data(sqe, u);
        u->op = URING_LOOP_SEND;
        return;
    }
    char *r = s->rbuf(u->app, &len);
    if (r == NULL || len == 0) {
        uring_loop_drop(s, u);
        return;
    }
    struct io_uring_sqe *sqe = uring_loop_sqe(ring);
    io_uring_prep_recv(sqe, u->fd, r, len, 0);
    io_uring_sqe_set_data(sqe, u);
    u->op = URING_LOOP_RECV;
}

static inline void uring_loop_accepted(const uring_server *s,
                                       struct io_uring *ring, int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    uring_conn *u = malloc(sizeof(*u));
    void *c = u != NULL ? s->open(fd) : NULL;
    if (c == NULL) {
        free(u);
        close(fd);
        return;
    }
    u->app = c;
    u->fd = fd;
    u->op = 0;
    uring_loop_next(s, ring, u);
}

/* One completion of a connection's operation. */
static inline void uring_loop_done(const uring_server *s, struct io_uring *ring,
                                   uring_conn *u, int res) {
    if (res == -EINTR || res == -EAGAIN) {
        /* not taken: prepare the same operation again */
    } else if (res <= 0) {
        uring_loop_drop(s, u); /* EOF, reset, or a send that took nothing */
        return;
    } else if (u->op == URING_LOOP_RECV) {
        if (s->received(u->app, (size_t)res) < 0) {
            uring_loop_drop(s, u);
            return;
        }
    } else if (s->sent(u->app, (size_t)res) < 0) {
        uring_loop_drop(s, u);
        return;
    }
    uring_loop_next(s, ring, u);
}

/* main() of a peer: `NAME PORT`, then serves until killed. */
static inline _Noreturn void uring_server_main(const uring_server *s, int argc,
                                               char **argv) {
    int lfd = peer_listen(s->name, argc, argv, 0);
    static const struct {
        unsigned flags;
        const char *name;
    } setups[] = {
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
         "SINGLE_ISSUER|DEFER_TASKRUN"},
        {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
        {0, "no setup flags"},
    };
    struct io_uring ring;
    int rc = -EINVAL;
    size_t i;
    for (i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = setups[i].flags | IORING_SETUP_CQSIZE;
        p.cq_entries = URING_LOOP_CQ;
        rc = io_uring_queue_init_params(URING_LOOP_SQ, &ring, &p);
        if (rc == 0)
            break;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: io_uring_queue_init_params: %s\n", s->name,
                strerror(-rc));
        exit(URING_LOOP_UNAVAILABLE);
    }
    io_uring_register_ring_fd(&ring); /* an optimisation: may fail */
    fprintf(stderr, "%s: ring with %s\n", s->name, setups[i].name);

    uring_loop_arm_accept(&ring, lfd);
    for (;;) {
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
            peer_die(s->name, "io_uring_submit_and_wait", -rc);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            uring_conn *u = io_uring_cqe_get_data(cqe);
            if (u != NULL) {
                uring_loop_done(s, &ring, u, cqe->res);
                continue;
            }
            if (cqe->res == -EINVAL) {
                fprintf(stderr, "%s: no multishot accept (Linux 5.19)\n",
                        s->name);
                exit(URING_LOOP_UNAVAILABLE);
            }
            if (cqe->res >= 0)
                uring_loop_accepted(s, &ring, cqe->res);
            else if (cqe->res != -ECONNABORTED && cqe->res != -EINTR)
                fprintf(stderr, "%s: accept: %s\n", s->name,
                        strerror(-cqe->res));
            if (cqe->res == -EMFILE || cqe->res == -ENFILE ||
                cqe->res == -ENOBUFS || cqe->res == -ENOMEM)
                usleep(10000); /* out of descriptors: do not spin */
            if (!(cqe->flags & IORING_CQE_F_MORE))
                uring_loop_arm_accept(&ring, lfd);
        }
        io_uring_cq_advance(&ring, seen);
    }
}

#endif
