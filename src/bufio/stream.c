/*
 * bufio/stream.c: kr_io_stream over kairo's streams (TCP, Unix, pipes,
 * registered fds, files) and the read / write / write_all futures on any
 * stream.
 *
 * The socket adapters use the poll-style calls (kr_tcp_stream_poll_read,
 * ...: Tokio's AsyncRead / AsyncWrite), which keep the task's waker in the
 * direction's single slot. The pipe adapters make the pipe's own read or
 * write future on the stack, poll it once and drop it. That is sound
 * because those futures are cancel-safe (process.h): a PENDING poll took
 * nothing and left the task's waker with the reactor (one waker per
 * direction), and dropping it only gives back the reference it held.
 */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bufio/bufio.h"

/* ---- sockets and pipes: one future per poll ------------------------- */

static kr_poll poll_once(kr_future *f, kr_context *cx, int64_t *res) {
    kr_poll p = kr_future_poll(f, cx, res);
    kr_future_drop(f);
    return p;
}

kr_poll kr__io_tcp_read(void *o, kr_context *cx, void *buf, size_t len,
                        int64_t *res) {
    return kr_tcp_stream_poll_read(o, cx, buf, len, res);
}
kr_poll kr__io_tcp_write(void *o, kr_context *cx, const void *buf, size_t len,
                         int64_t *res) {
    return kr_tcp_stream_poll_write(o, cx, buf, len, res);
}
kr_poll kr__io_tcp_writev(void *o, kr_context *cx, const struct iovec *iov,
                          int n, int64_t *res) {
    return kr_tcp_stream_poll_writev(o, cx, iov, n, res);
}
int kr__io_tcp_shutdown(void *o) {
    return kr_tcp_stream_shutdown(o, KR_SHUT_WRITE);
}
static const kr_io_stream_ops tcp_ops = {kr__io_tcp_read, kr__io_tcp_write,
                                         kr__io_tcp_writev, kr__io_tcp_shutdown,
                                         "tcp"};

static kr_poll unix_read(void *o, kr_context *cx, void *buf, size_t len,
                         int64_t *res) {
    return kr_unix_stream_poll_read(o, cx, buf, len, res);
}
static kr_poll unix_write(void *o, kr_context *cx, const void *buf, size_t len,
                          int64_t *res) {
    return kr_unix_stream_poll_write(o, cx, buf, len, res);
}
static kr_poll unix_writev(void *o, kr_context *cx, const struct iovec *iov,
                           int n, int64_t *res) {
    return kr_unix_stream_poll_writev(o, cx, iov, n, res);
}
static int unix_shutdown(void *o) {
    return kr_unix_stream_shutdown(o, KR_SHUT_WRITE);
}
static const kr_io_stream_ops unix_ops = {unix_read, unix_write, unix_writev,
                                          unix_shutdown, "unix"};

static kr_poll pipe_read(void *o, kr_context *cx, void *buf, size_t len,
                         int64_t *res) {
    kr_pipe_io f = kr_pipe_read(o, buf, len);
    return poll_once(&f.base, cx, res);
}
static kr_poll pipe_write(void *o, kr_context *cx, const void *buf, size_t len,
                          int64_t *res) {
    kr_pipe_io f = kr_pipe_write(o, buf, len);
    return poll_once(&f.base, cx, res);
}
static const kr_io_stream_ops pipe_ops = {pipe_read, pipe_write, NULL, NULL,
                                          "pipe"};

kr_io_stream kr_io_tcp(kr_tcp_stream *s) {
    kr_io_stream st = {s, &tcp_ops};
    return st;
}
kr_io_stream kr_io_unix(kr_unix_stream *s) {
    kr_io_stream st = {s, &unix_ops};
    return st;
}
kr_io_stream kr_io_pipe(kr_pipe *p) {
    kr_io_stream st = {p, &pipe_ops};
    return st;
}

/* ---- a registered fd: io.h's loop ------------------------------------ */

static kr_poll fd_io(kr_async_fd *afd, kr_context *cx, int interest, void *buf,
                     size_t len, int64_t *res) {
    if (afd == NULL) {
        *res = KR_EINVAL;
        return KR_READY;
    }
    for (;;) {
        kr_ready_event ev;
        int r = kr_async_fd_poll_ready(afd, cx, interest, &ev);
        if (r == 0)
            return KR_PENDING;
        if (r < 0) {
            *res = r;
            return KR_READY;
        }
        int fd = kr_async_fd_fd(afd);
        ssize_t n =
            interest == KR_READABLE ? read(fd, buf, len) : write(fd, buf, len);
        if (n >= 0) {
            *res = n;
            return KR_READY;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            kr_async_fd_clear_ready(afd, ev);
            continue;
        }
        *res = -errno;
        return KR_READY;
    }
}
static kr_poll fd_read(void *o, kr_context *cx, void *buf, size_t len,
                       int64_t *res) {
    return fd_io(o, cx, KR_READABLE, buf, len, res);
}
static kr_poll fd_write(void *o, kr_context *cx, const void *buf, size_t len,
                        int64_t *res) {
    return fd_io(o, cx, KR_WRITABLE, (void *)buf, len, res);
}
static const kr_io_stream_ops fd_ops = {fd_read, fd_write, NULL, NULL, "fd"};

kr_io_stream kr_io_fd(kr_async_fd *afd) {
    kr_io_stream st = {afd, &fd_ops};
    return st;
}

/* ---- files: the pool operation lives in the record ------------------- */

static kr_poll file_read(void *o, kr_context *cx, void *buf, size_t len,
                         int64_t *res) {
    kr_io_file *rec = o;
    if (rec->rd_state_ == 0) {
        rec->rd_ = kr_file_read(rec->file_, buf, len);
        rec->rd_buf_ = buf;
        rec->rd_len_ = len;
        rec->rd_state_ = 1;
    }
    if (kr_future_poll(&rec->rd_.base, cx, res) == KR_PENDING)
        return KR_PENDING;
    kr_future_drop(&rec->rd_.base);
    rec->rd_state_ = 0;
    return KR_READY;
}
static kr_poll file_write(void *o, kr_context *cx, const void *buf, size_t len,
                          int64_t *res) {
    kr_io_file *rec = o;
    if (rec->wr_state_ == 0) {
        rec->wr_ = kr_file_write(rec->file_, buf, len);
        rec->wr_state_ = 1;
    }
    if (kr_future_poll(&rec->wr_.base, cx, res) == KR_PENDING)
        return KR_PENDING;
    kr_future_drop(&rec->wr_.base);
    rec->wr_state_ = 0;
    return KR_READY;
}
static const kr_io_stream_ops file_ops = {file_read, file_write, NULL, NULL,
                                          "file"};

kr_io_stream kr_io_file_stream(kr_io_file *rec, kr_file *file) {
    rec->file_ = file;
    rec->rd_state_ = rec->wr_state_ = 0;
    rec->rd_buf_ = NULL;
    rec->rd_len_ = 0;
    kr_io_stream st = {rec, &file_ops};
    return st;
}

void kr_io_file_drop(kr_io_file *rec) {
    if (rec == NULL)
        return;
    if (rec->rd_state_ != 0)
        kr_future_drop(&rec->rd_.base);
    if (rec->wr_state_ != 0)
        kr_future_drop(&rec->wr_.base);
    rec->rd_state_ = rec->wr_state_ = 0;
}

int kr_io_shutdown(kr_io_stream s) {
    if (s.ops == NULL)
        return KR_EINVAL;
    if (s.ops->shutdown == NULL)
        return KR_EOPNOTSUPP;
    return s.ops->shutdown(s.obj);
}

/* ---- read, write, write_all on any stream ---------------------------- */

/* done_ is SIZE_MAX once the op has returned READY: polling it again
 * aborts with a message (core.h: kairo's futures do). */
#define SPENT ((size_t)-1)

static void check_live(const kr_io_op *op) {
    if (__builtin_expect(op->done_ == SPENT, 0))
        kr__buf_polled_after_ready(&op->base);
}

static kr_poll op_out(kr_io_op *op, void *out, int64_t v) {
    op->done_ = SPENT;
    if (out != NULL)
        *(int64_t *)out = v;
    return KR_READY;
}

static kr_poll io_read_poll(kr_future *f, kr_context *cx, void *out) {
    kr_io_op *op = (kr_io_op *)f;
    check_live(op);
    int64_t res;
    if (op->s_.ops == NULL || (op->buf_ == NULL && op->len_ > 0))
        return op_out(op, out, KR_EINVAL);
    if (op->len_ == 0)
        return op_out(op, out, 0);
    if (op->s_.ops->poll_read(op->s_.obj, cx, op->buf_, op->len_, &res) ==
        KR_PENDING)
        return KR_PENDING;
    return op_out(op, out, res);
}

static kr_poll io_write_poll(kr_future *f, kr_context *cx, void *out) {
    kr_io_op *op = (kr_io_op *)f;
    check_live(op);
    int64_t res;
    if (op->s_.ops == NULL || (op->buf_ == NULL && op->len_ > 0))
        return op_out(op, out, KR_EINVAL);
    if (op->len_ == 0)
        return op_out(op, out, 0);
    if (op->s_.ops->poll_write(op->s_.obj, cx, op->buf_, op->len_, &res) ==
        KR_PENDING)
        return KR_PENDING;
    return op_out(op, out, res);
}

static kr_poll io_write_all_poll(kr_future *f, kr_context *cx, void *out) {
    kr_io_op *op = (kr_io_op *)f;
    check_live(op);
    if (op->s_.ops == NULL || (op->buf_ == NULL && op->len_ > 0))
        return op_out(op, out, KR_EINVAL);
    while (op->done_ < op->len_) {
        int64_t res;
        if (op->s_.ops->poll_write(op->s_.obj, cx, (char *)op->buf_ + op->done_,
                                   op->len_ - op->done_, &res) == KR_PENDING)
            return KR_PENDING;
        if (res < 0)
            return op_out(op, out, res);
        if (res == 0)
            return op_out(op, out, KR_EPIPE); /* a stream that takes nothing */
        op->done_ += (size_t)res;
    }
    return op_out(op, out, (int64_t)op->len_);
}

static const kr_future_vtable read_vt = {io_read_poll, NULL, sizeof(kr_io_op),
                                         sizeof(int64_t), "kr_io_read"};
static const kr_future_vtable write_vt = {io_write_poll, NULL, sizeof(kr_io_op),
                                          sizeof(int64_t), "kr_io_write"};
static const kr_future_vtable write_all_vt = {io_write_all_poll, NULL,
                                              sizeof(kr_io_op), sizeof(int64_t),
                                              "kr_io_write_all"};

static kr_io_op make_op(const kr_future_vtable *vt, kr_io_stream s,
                        const void *buf, size_t len) {
    kr_io_op op = {{vt}, s, (void *)buf, len, 0};
    return op;
}

kr_io_op kr_io_read(kr_io_stream s, void *buf, size_t len) {
    return make_op(&read_vt, s, buf, len);
}
kr_io_op kr_io_write(kr_io_stream s, const void *buf, size_t len) {
    return make_op(&write_vt, s, buf, len);
}
kr_io_op kr_io_write_all(kr_io_stream s, const void *buf, size_t len) {
    return make_op(&write_all_vt, s, buf, len);
}
