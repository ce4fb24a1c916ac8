/*
 * net/connect.c: the connect future of TCP and Unix streams.
 *
 * States:
 *   START    make a socket and call connect(2). Done at once (0, EISCONN):
 *            register, finish. Under way (EINPROGRESS, EALREADY): register,
 *            go to WAIT. A Unix listener's full backlog (EAGAIN): close,
 *            go to BACKOFF. Anything else: the output.
 *   WAIT     wait for writability, then read SO_ERROR: an error is the
 *            output; none, and getpeername agrees, and it is connected. A
 *            wake-up with neither (ENOTCONN, no error yet) clears the
 *            readiness and waits again.
 *   RING     on the io_uring driver, where this thread turns it: START
 *            made the socket and submitted a CONNECT instead of calling
 *            connect(2) (net/connect_ring.c); its end is connect(2)'s
 *            answer, handled as START handles that one (a kernel that
 *            answers EINPROGRESS goes on to WAIT).
 *   BACKOFF  sleep KR__NET_BACKOFF_MS, then START again with a new socket.
 *   SPENT    the output is written; another poll aborts (core.h).
 * EINTR from connect(2) means the attempt goes on in the background: the
 * repeated call answers EALREADY (still going), EISCONN (done) or the
 * attempt's error.
 *
 * The socket is registered only after connect(2) has started it (see
 * sock.h, "Registration order"), with the runtime that polls the future.
 * Until the future outputs it, the socket is the future's alone: its drop
 * closes it, which is how kr_timeout cancels a connect. A connect made
 * from a kr_tcp_socket (kr__connect_fd) starts with that socket (prefd_,
 * the fd + 1, so that a zeroed future has none) and closes it the same
 * way if dropped or failed before START took it.
 */
#include <errno.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/sock.h"
#include "core/context.h"

/* SPENT: returned READY; a poll then aborts (core.h). */
enum { START = 0, WAIT = 1, BACKOFF = 2, SPENT = 3, RING = 4 };

static int started(kr_net_connect *c, int fd, int e);

static int start(kr_net_connect *c) {
    const kr_sockaddr *a = &c->addr_;
    int family = a->storage.family;
    int fd;
    if (c->prefd_ > 0) { /* a kr_tcp_socket's, set up by the user */
        fd = c->prefd_ - 1;
        c->prefd_ = 0;
    } else {
        fd = kr__sock_socket(family, SOCK_STREAM);
    }
    if (fd < 0)
        return fd;
    kr__cx *x;
    if (kr__cx_submit(fd, a, &x) == 0) {
        c->ring_ = x;
        c->state_ = RING;
        return 0;
    }
    int r;
    for (;;) {
        r = connect(fd, (const struct sockaddr *)&a->storage, a->len);
        if (r == 0 || errno != EINTR)
            break;
    }
    return started(c, fd, r == 0 ? 0 : errno);
}

/* connect(2)'s answer e (0 or an errno) for socket fd, from START or from
 * the ring's CONNECT: register it and go on, or back off, or fail. */
static int started(kr_net_connect *c, int fd, int e) {
    if (e == EAGAIN && c->addr_.storage.family == AF_UNIX) {
        close(fd);
        memset(&c->sleep_, 0, sizeof(c->sleep_));
        c->sleep_ = kr_sleep_for(kr_ms(KR__NET_BACKOFF_MS));
        c->state_ = BACKOFF;
        return 0;
    }
    if (e == EINTR)
        e = EINPROGRESS; /* the attempt goes on: wait, then SO_ERROR */
    if (e != 0 && e != EISCONN && e != EINPROGRESS && e != EALREADY) {
        close(fd);
        return -e;
    }
    kr__sock *s;
    int rc = kr__sock_wrap(NULL, fd, &s);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    c->sock_ = s;
    c->state_ = (e == 0 || e == EISCONN) ? -1 : WAIT; /* -1: connected */
    return 0;
}

/* After a writable wake-up: 1 connected, 0 not yet, < 0 failed. */
static int check(kr__sock *s) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    if (err != 0)
        return -err;
    kr_sockaddr peer;
    int r = kr__sock_name(s, true, &peer);
    if (r == KR_ENOTCONN)
        return 0;
    return r < 0 ? r : 1;
}

static kr_poll finish(kr_net_connect *c, void *out, int rc) {
    if (rc == 0) {
        *c->out_ = c->sock_;
        c->sock_ = NULL;
    } else if (c->sock_ != NULL) {
        kr__sock_close(c->sock_);
        c->sock_ = NULL;
    }
    c->state_ = SPENT;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static kr_poll connect_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_connect *c = (kr_net_connect *)f;
    if (c->state_ == SPENT)
        kr__net_polled_after_ready(f);
    if (c->err_ == 0 && (c->out_ == NULL || kr__ctx.rt == NULL))
        c->err_ = KR_EINVAL;
    if (c->err_ != 0) {
        if (c->prefd_ > 0) {
            close(c->prefd_ - 1);
            c->prefd_ = 0;
        }
        return finish(c, out, c->err_);
    }
    for (;;) {
        if (c->state_ == BACKOFF) {
            if (kr_future_poll(&c->sleep_.base, cx, NULL) == KR_PENDING)
                return KR_PENDING;
            kr_future_drop(&c->sleep_.base);
            c->state_ = START;
        }
        if (c->state_ == START) {
            int rc = start(c);
            if (rc < 0)
                return finish(c, out, rc);
        }
        if (c->state_ == RING) {
            int res, fd;
            if (!kr__cx_poll(c->ring_, cx, &res, &fd))
                return KR_PENDING;
            c->ring_ = NULL;
            int rc = started(c, fd, -res);
            if (rc < 0)
                return finish(c, out, rc);
        }
        if (c->state_ == BACKOFF)
            continue;
        if (c->state_ != WAIT)
            return finish(c, out, 0);
        kr__sock *s = c->sock_;
        kr_ready_event ev;
        int r = kr_async_fd_poll_ready(s->afd, cx, KR_WRITABLE, &ev);
        if (r == 0)
            return KR_PENDING;
        if (r < 0)
            return finish(c, out, r);
        r = check(s);
        if (r != 0)
            return finish(c, out, r > 0 ? 0 : r);
        kr_async_fd_clear_ready(s->afd, ev); /* a spurious wake-up */
    }
}

static void connect_drop(kr_future *f) {
    kr_net_connect *c = (kr_net_connect *)f;
    if (c->state_ == BACKOFF)
        kr_future_drop(&c->sleep_.base);
    if (c->state_ == RING) {
        kr__cx_drop(c->ring_); /* it closes the socket once ended */
        c->ring_ = NULL;
    }
    c->state_ = START;
    if (c->prefd_ > 0) { /* never started: the socket is still ours */
        close(c->prefd_ - 1);
        c->prefd_ = 0;
    }
    kr__sock_close(c->sock_); /* NULL-safe */
    c->sock_ = NULL;
}

static const kr_future_vtable connect_vt = {connect_poll, connect_drop,
                                            sizeof(kr_net_connect), sizeof(int),
                                            "kr_net_connect"};

kr_net_connect kr__connect_fd(int fd, const kr_sockaddr *addr, int err,
                              void **out) {
    kr_net_connect c = kr__connect(addr, err, out);
    c.prefd_ = fd + 1;
    return c;
}

kr_net_connect kr__connect(const kr_sockaddr *addr, int err, void **out) {
    kr_net_connect c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &connect_vt;
    c.out_ = out;
    c.state_ = START;
    c.err_ = err;
    if (err == 0) {
        if (addr == NULL || addr->len == 0 || addr->len > sizeof(addr->storage))
            c.err_ = KR_EINVAL;
        else
            c.addr_ = *addr;
    }
    return c;
}
