/*
 * net/stream.c: the futures of stream sockets, shared by TCP and Unix
 * streams (and, for send and recv, connected UDP sockets): read, write,
 * writev, read_exact, write_all.
 *
 * Each is a loop around kr__sock_poll (sock.h) with one system call as
 * its op; on the io_uring driver a read is a RECV on the ring instead
 * (net/rx.c), and every read call looks in its buffer first. Writes go
 * through send/sendmsg with MSG_NOSIGNAL, so a closed connection is
 * KR_EPIPE and never SIGPIPE.
 */
#include <errno.h>

#include "net/sock.h"
#include "util/atomic.h"

/* ---- the system calls --------------------------------------------------- */

typedef struct {
    void *buf;
    size_t len;
} span;

static int64_t sys_recv(int fd, void *buf, size_t len, int flags) {
    for (;;) {
        ssize_t n = recv(fd, buf, len, flags);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

/* Each read call takes what the ring reader's buffer holds first
 * (net/rx.c: a dropped ring read left it there), and meets KR__RX_BUSY
 * while a ring read is in flight (kr__sock_poll then waits for its end;
 * kr__sock_try answers KR_EAGAIN). */
static int64_t recv_op(kr__sock *s, void *arg) {
    span *sp = arg;
    struct iovec v = {sp->buf, sp->len};
    int64_t n;
    if (!kr__rx_take(s, &v, 1, false, &n))
        return sys_recv(s->fd, sp->buf, sp->len, 0);
    /* A short count from the buffer is topped up from the socket (the
     * buffer is empty now, and no op is in flight), so that a count
     * below the length still means the socket is drained (drain_below).
     * What the top-up meets (EAGAIN, an end, an error) the next read
     * meets again. */
    if (n > 0 && (size_t)n < sp->len) {
        int64_t m = sys_recv(s->fd, (char *)sp->buf + n, sp->len - (size_t)n,
                             MSG_DONTWAIT);
        if (m > 0)
            n += m;
    }
    return n;
}

static int64_t peek_op(kr__sock *s, void *arg) {
    span *sp = arg;
    struct iovec v = {sp->buf, sp->len};
    int64_t n;
    if (kr__rx_take(s, &v, 1, true, &n))
        return n;
    return sys_recv(s->fd, sp->buf, sp->len, MSG_PEEK);
}

static int64_t recvmsg_op(kr__sock *s, void *arg) {
    kr_net_writev *w = arg; /* an iovec array and count */
    int64_t n;
    if (kr__rx_take(s, w->iov_, w->iovcnt_, false, &n))
        return n;
    struct msghdr mh = {0};
    mh.msg_iov = (struct iovec *)w->iov_;
    mh.msg_iovlen = (size_t)w->iovcnt_;
    for (;;) {
        ssize_t r = recvmsg(s->fd, &mh, 0);
        if (r >= 0)
            return r;
        if (errno != EINTR)
            return -errno;
    }
}

static int64_t send_op(kr__sock *s, void *arg) {
    span *sp = arg;
    for (;;) {
        ssize_t n = send(s->fd, sp->buf, sp->len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

/* Where the ring cannot read (ring_recv_op): read by readiness. */
#define RX_OFF (INT64_MIN + 1)

/* The ring read's op (net/rx.c): the buffer's bytes, or a RECV submitted
 * (KR__RX_BUSY: wait for its end), or RX_OFF. */
static int64_t ring_recv_op(kr__sock *s, void *arg) {
    span *sp = arg;
    struct iovec v = {sp->buf, sp->len};
    int64_t n;
    if (kr__rx_take(s, &v, 1, false, &n))
        return n;
    return kr__rx_arm(s, sp->len) == 0 ? KR__RX_BUSY : RX_OFF;
}

/* One step of a stream read on the ring, without readiness: the buffer's
 * bytes, or a RECV submitted at once and its end waited for (kr__rx_wait,
 * with the future's reference taken as kr__sock_poll takes it); where the
 * ring cannot read, the readiness loop with the system call. */
static kr_poll ring_read(kr__sock *s, int *held, kr_io_waiter *w,
                         kr_context *cx, void *buf, size_t len, int64_t *res) {
    span sp = {buf, len};
    while (!kr__load_acquire(&s->closed)) {
        int64_t n = ring_recv_op(s, &sp);
        if (n == RX_OFF)
            break;
        if (n != KR__RX_BUSY) {
            /* Linked only if it waited by readiness before (RX_OFF). */
            if (w != NULL)
                kr_async_fd_waiter_cancel(s->afd, w);
            *res = n;
            return KR_READY;
        }
        if (!kr__rx_wait(s, cx))
            continue; /* it ended meanwhile */
        return kr__sock_pend(s, held, w, res);
    }
    /* Closed (kr__sock_poll says KR_EBADF), or no ring. */
    return kr__sock_poll(s, held, w, cx, KR_READABLE, recv_op, &sp, len, res);
}

/* ---- read, write, and datagram send and recv -----------------------------
 * One call; done_ is unused. A stream op of length 0 is done at once (0),
 * and a stream read passes its length as drain_below: a short read drained
 * the socket. A datagram op is always made (an empty datagram is one), and
 * a datagram read says nothing about the next datagram. */

static kr_poll finish(kr_net_io *io, void *out, int64_t res) {
    kr__sock_spend(io->sock_, &io->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static kr_poll once_poll(kr_net_io *io, kr_context *cx, void *out, int interest,
                         kr__sock_op op, bool stream) {
    int64_t res;
    kr__net_check_live(&io->base, io->held_);
    if (io->sock_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return finish(io, out, KR_EINVAL);
    if (stream && io->len_ == 0)
        return finish(io, out, 0);
    span sp = {io->buf_, io->len_};
    size_t drain_below = stream && interest == KR_READABLE ? io->len_ : 0;
    if (kr__sock_poll(io->sock_, &io->held_, &io->w_, cx, interest, op, &sp,
                      drain_below, &res) == KR_PENDING)
        return KR_PENDING;
    return finish(io, out, res);
}

static kr_poll read_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_io *io = (kr_net_io *)f;
    if (io->sock_ != NULL && io->buf_ != NULL && io->len_ > 0 &&
        kr__rx_usable(io->sock_)) {
        kr__net_check_live(f, io->held_);
        int64_t res;
        if (ring_read(io->sock_, &io->held_, &io->w_, cx, io->buf_, io->len_,
                      &res) == KR_PENDING)
            return KR_PENDING;
        return finish(io, out, res);
    }
    return once_poll(io, cx, out, KR_READABLE, recv_op, true);
}

static kr_poll write_poll(kr_future *f, kr_context *cx, void *out) {
    return once_poll((kr_net_io *)f, cx, out, KR_WRITABLE, send_op, true);
}

static kr_poll peek_poll(kr_future *f, kr_context *cx, void *out) {
    /* Not a drain: what was peeked is still there. Made for any length
     * (a peek of 0 waits for data), which also serves datagrams. */
    return once_poll((kr_net_io *)f, cx, out, KR_READABLE, peek_op, false);
}

static kr_poll dgram_recv_poll(kr_future *f, kr_context *cx, void *out) {
    return once_poll((kr_net_io *)f, cx, out, KR_READABLE, recv_op, false);
}

static kr_poll dgram_send_poll(kr_future *f, kr_context *cx, void *out) {
    return once_poll((kr_net_io *)f, cx, out, KR_WRITABLE, send_op, false);
}

/* ---- read_exact, write_all ------------------------------------------------
 * Loops of the same calls; done_ counts the bytes moved so far. */

static kr_poll read_exact_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_io *io = (kr_net_io *)f;
    kr__net_check_live(f, io->held_);
    if (io->sock_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return finish(io, out, KR_EINVAL);
    while (io->done_ < io->len_) {
        span sp = {(char *)io->buf_ + io->done_, io->len_ - io->done_};
        int64_t n;
        if (kr__sock_poll(io->sock_, &io->held_, &io->w_, cx, KR_READABLE,
                          recv_op, &sp, sp.len, &n) == KR_PENDING)
            return KR_PENDING;
        if (n <= 0)
            return finish(io, out, n == 0 ? KR_EOF : n);
        io->done_ += (size_t)n;
    }
    return finish(io, out, (int64_t)io->len_);
}

static kr_poll write_all_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_io *io = (kr_net_io *)f;
    kr__net_check_live(f, io->held_);
    if (io->sock_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return finish(io, out, KR_EINVAL);
    while (io->done_ < io->len_) {
        span sp = {(char *)io->buf_ + io->done_, io->len_ - io->done_};
        int64_t n;
        if (kr__sock_poll(io->sock_, &io->held_, &io->w_, cx, KR_WRITABLE,
                          send_op, &sp, 0, &n) == KR_PENDING)
            return KR_PENDING;
        if (n < 0)
            return finish(io, out, n);
        io->done_ += (size_t)n; /* send on a stream never returns 0 for
                                   len > 0: no endless loop */
    }
    return finish(io, out, (int64_t)io->len_);
}

static void io_drop(kr_future *f) {
    kr_net_io *io = (kr_net_io *)f;
    if (io->sock_ != NULL)
        kr__sock_unhold(io->sock_, &io->held_, &io->w_);
}

static const kr_future_vtable read_vt = {read_poll, io_drop, sizeof(kr_net_io),
                                         sizeof(int64_t), "kr_net_read"};
static const kr_future_vtable write_vt = {
    write_poll, io_drop, sizeof(kr_net_io), sizeof(int64_t), "kr_net_write"};
static const kr_future_vtable peek_vt = {peek_poll, io_drop, sizeof(kr_net_io),
                                         sizeof(int64_t), "kr_net_peek"};
static const kr_future_vtable dgram_recv_vt = {dgram_recv_poll, io_drop,
                                               sizeof(kr_net_io),
                                               sizeof(int64_t), "kr_net_recv"};
static const kr_future_vtable dgram_send_vt = {dgram_send_poll, io_drop,
                                               sizeof(kr_net_io),
                                               sizeof(int64_t), "kr_net_send"};
static const kr_future_vtable read_exact_vt = {
    read_exact_poll, io_drop, sizeof(kr_net_io), sizeof(int64_t),
    "kr_net_read_exact"};
static const kr_future_vtable write_all_vt = {
    write_all_poll, io_drop, sizeof(kr_net_io), sizeof(int64_t),
    "kr_net_write_all"};

static kr_net_io make_io(const kr_future_vtable *vt, kr__sock *s,
                         const void *buf, size_t len) {
    kr_net_io io = {{vt}, s, (void *)buf, len, 0, 0, KR_IO_WAITER_INIT};
    return io;
}

kr_net_io kr__stream_read(kr__sock *s, void *buf, size_t len) {
    if (s != NULL && s->sim != NULL)
        return s->sim->io(KR__SIM_READ, s, (void *)buf, len);
    return make_io(&read_vt, s, buf, len);
}
kr_net_io kr__stream_write(kr__sock *s, const void *buf, size_t len) {
    if (s != NULL && s->sim != NULL)
        return s->sim->io(KR__SIM_WRITE, s, (void *)buf, len);
    return make_io(&write_vt, s, buf, len);
}
kr_net_io kr__stream_read_exact(kr__sock *s, void *buf, size_t len) {
    if (s != NULL && s->sim != NULL)
        return s->sim->io(KR__SIM_READ_EXACT, s, (void *)buf, len);
    return make_io(&read_exact_vt, s, buf, len);
}
kr_net_io kr__stream_write_all(kr__sock *s, const void *buf, size_t len) {
    if (s != NULL && s->sim != NULL)
        return s->sim->io(KR__SIM_WRITE_ALL, s, (void *)buf, len);
    return make_io(&write_all_vt, s, buf, len);
}
kr_net_io kr__stream_peek(kr__sock *s, void *buf, size_t len) {
    return make_io(&peek_vt, s, buf, len);
}
kr_net_io kr__dgram_recv(kr__sock *s, void *buf, size_t len) {
    if (s != NULL && s->sim != NULL)
        return s->sim->io(KR__SIM_RECV, s, buf, len);
    return make_io(&dgram_recv_vt, s, buf, len);
}
kr_net_io kr__dgram_send(kr__sock *s, const void *buf, size_t len) {
    if (s != NULL && s->sim != NULL)
        return s->sim->io(KR__SIM_SEND, s, (void *)buf, len);
    return make_io(&dgram_send_vt, s, buf, len);
}

/* ---- writev ----------------------------------------------------------- */

/* Linux's UIO_MAXIOV; sendmsg fails with EMSGSIZE beyond it. */
#define MAX_IOV 1024

static int64_t sendmsg_op(kr__sock *s, void *arg) {
    kr_net_writev *w = arg;
    struct msghdr mh = {0};
    mh.msg_iov = (struct iovec *)w->iov_;
    mh.msg_iovlen = (size_t)w->iovcnt_;
    for (;;) {
        ssize_t n = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

static kr_poll writev_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_writev *w = (kr_net_writev *)f;
    int64_t res = 0;
    size_t total = 0;
    kr__net_check_live(f, w->held_);
    if (w->sock_ == NULL || w->iovcnt_ < 0 || w->iovcnt_ > MAX_IOV ||
        (w->iov_ == NULL && w->iovcnt_ > 0)) {
        res = KR_EINVAL;
        goto done;
    }
    for (int i = 0; i < w->iovcnt_; i++) {
        if (w->iov_[i].iov_base == NULL && w->iov_[i].iov_len > 0) {
            res = KR_EINVAL;
            goto done;
        }
        total += w->iov_[i].iov_len;
    }
    if (total == 0)
        goto done; /* nothing to send: 0 at once, as write */
    if (kr__sock_poll(w->sock_, &w->held_, &w->w_, cx, KR_WRITABLE, sendmsg_op,
                      w, 0, &res) == KR_PENDING)
        return KR_PENDING;
done:
    kr__sock_spend(w->sock_, &w->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static void writev_drop(kr_future *f) {
    kr_net_writev *w = (kr_net_writev *)f;
    if (w->sock_ != NULL)
        kr__sock_unhold(w->sock_, &w->held_, &w->w_);
}

static const kr_future_vtable writev_vt = {writev_poll, writev_drop,
                                           sizeof(kr_net_writev),
                                           sizeof(int64_t), "kr_net_writev"};

kr_net_writev kr__stream_writev(kr__sock *s, const struct iovec *iov,
                                int iovcnt) {
    if (s != NULL && s->sim != NULL)
        return s->sim->writev(s, iov, iovcnt);
    kr_net_writev w = {{&writev_vt}, s, iov, iovcnt, 0, KR_IO_WAITER_INIT};
    return w;
}

static bool iov_ok(const struct iovec *iov, int iovcnt) {
    if (iovcnt < 0 || iovcnt > MAX_IOV || (iov == NULL && iovcnt > 0))
        return false;
    for (int i = 0; i < iovcnt; i++)
        if (iov[i].iov_base == NULL && iov[i].iov_len > 0)
            return false;
    return true;
}

/* ---- poll-style calls (Tokio's poll_read / poll_write) -----------------
 * No future: the waker goes to the direction's single slot (io.h), so one
 * task per direction, as Tokio's AsyncRead / AsyncWrite impls. */

kr_poll kr__stream_poll_read(kr__sock *s, kr_context *cx, void *buf, size_t len,
                             int64_t *res) {
    if (s == NULL || cx == NULL || res == NULL || (buf == NULL && len > 0)) {
        if (res != NULL)
            *res = KR_EINVAL;
        return KR_READY;
    }
    if (len == 0) {
        *res = 0;
        return KR_READY;
    }
    if (kr__rx_usable(s))
        return ring_read(s, NULL, NULL, cx, buf, len, res);
    span sp = {buf, len};
    return kr__sock_poll(s, NULL, NULL, cx, KR_READABLE, recv_op, &sp, len,
                         res);
}

kr_poll kr__stream_poll_write(kr__sock *s, kr_context *cx, const void *buf,
                              size_t len, int64_t *res) {
    if (s == NULL || cx == NULL || res == NULL || (buf == NULL && len > 0)) {
        if (res != NULL)
            *res = KR_EINVAL;
        return KR_READY;
    }
    if (len == 0) {
        *res = 0;
        return KR_READY;
    }
    span sp = {(void *)buf, len};
    return kr__sock_poll(s, NULL, NULL, cx, KR_WRITABLE, send_op, &sp, 0, res);
}

kr_poll kr__stream_poll_writev(kr__sock *s, kr_context *cx,
                               const struct iovec *iov, int iovcnt,
                               int64_t *res) {
    if (s == NULL || cx == NULL || res == NULL || !iov_ok(iov, iovcnt)) {
        if (res != NULL)
            *res = KR_EINVAL;
        return KR_READY;
    }
    kr_net_writev w = {{NULL}, s, iov, iovcnt, 0, KR_IO_WAITER_INIT};
    return kr__sock_poll(s, NULL, NULL, cx, KR_WRITABLE, sendmsg_op, &w, 0,
                         res);
}

/* ---- try_* ------------------------------------------------------------- */

int64_t kr__sock_try_recv(kr__sock *s, void *buf, size_t len, bool peek) {
    if (buf == NULL && len > 0)
        return KR_EINVAL;
    span sp = {buf, len};
    return kr__sock_try(s, KR_READABLE, peek ? peek_op : recv_op, &sp);
}

int64_t kr__sock_try_send(kr__sock *s, const void *buf, size_t len) {
    if (buf == NULL && len > 0)
        return KR_EINVAL;
    span sp = {(void *)buf, len};
    return kr__sock_try(s, KR_WRITABLE, send_op, &sp);
}

int64_t kr__sock_try_recvv(kr__sock *s, const struct iovec *iov, int iovcnt) {
    if (!iov_ok(iov, iovcnt))
        return KR_EINVAL;
    kr_net_writev w = {{NULL}, s, iov, iovcnt, 0, KR_IO_WAITER_INIT};
    return kr__sock_try(s, KR_READABLE, recvmsg_op, &w);
}

int64_t kr__sock_try_sendv(kr__sock *s, const struct iovec *iov, int iovcnt) {
    if (!iov_ok(iov, iovcnt))
        return KR_EINVAL;
    kr_net_writev w = {{NULL}, s, iov, iovcnt, 0, KR_IO_WAITER_INIT};
    return kr__sock_try(s, KR_WRITABLE, sendmsg_op, &w);
}
