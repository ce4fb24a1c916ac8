/*
 * os/pipe.c: kr_pipe, the parent's end of a child's stdio: read, write
 * and write_all futures over a non-blocking fd in the reactor.
 *
 * Writes block SIGPIPE in the writing thread for the one write(2) and
 * consume a SIGPIPE that write raised, so a reader gone is KR_EPIPE and
 * the process is never killed by it (pipes have no MSG_NOSIGNAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "os/process.h"
#include "util/alloc.h"

kr_pipe *kr__pipe_new(int fd) {
    kr_pipe *p = kr__malloc(sizeof(*p));
    if (p == NULL) {
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    p->fd = fd;
    p->afd = NULL;
    return p;
}

void kr_pipe_free(kr_pipe *p) {
    if (p == NULL)
        return;
    kr_async_fd_free(p->afd);
    close(p->fd);
    kr__free(p);
}

int kr_pipe_fd(const kr_pipe *p) { return p != NULL ? p->fd : KR_EINVAL; }

static ssize_t write_nosigpipe(int fd, const void *buf, size_t len) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n;
    do
        n = write(fd, buf, len);
    while (n < 0 && errno == EINTR);
    int e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

int kr__pipe_poll_io(kr_pipe *p, kr_context *cx, int interest, void *buf,
                     size_t len, int64_t *res) {
    if (p->afd == NULL) {
        int rc = kr_async_fd_new(p->fd, &p->afd);
        if (rc != 0) {
            p->afd = NULL;
            *res = rc;
            return 1;
        }
    }
    for (;;) {
        kr_ready_event ev;
        int r = kr_async_fd_poll_ready(p->afd, cx, interest, &ev);
        if (r < 0) {
            *res = r;
            return 1;
        }
        if (r == 0)
            return 0;
        ssize_t n;
        if (interest == KR_READABLE) {
            do
                n = read(p->fd, buf, len);
            while (n < 0 && errno == EINTR);
        } else {
            n = write_nosigpipe(p->fd, buf, len);
        }
        if (n >= 0) {
            *res = n;
            return 1;
        }
        if (errno != EAGAIN) {
            *res = -errno;
            return 1;
        }
        kr_async_fd_clear_ready(p->afd, ev);
    }
}

static kr_poll io_finish(void *out, int64_t res) {
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static kr_poll once_poll(kr_future *f, kr_context *cx, void *out,
                         int interest) {
    kr_pipe_io *io = (kr_pipe_io *)f;
    if (io->p_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return io_finish(out, KR_EINVAL);
    if (io->len_ == 0)
        return io_finish(out, 0);
    int64_t res;
    if (kr__pipe_poll_io(io->p_, cx, interest, io->buf_, io->len_, &res) == 0)
        return KR_PENDING;
    return io_finish(out, res);
}

static kr_poll read_poll(kr_future *f, kr_context *cx, void *out) {
    return once_poll(f, cx, out, KR_READABLE);
}

static kr_poll write_poll(kr_future *f, kr_context *cx, void *out) {
    return once_poll(f, cx, out, KR_WRITABLE);
}

static kr_poll write_all_poll(kr_future *f, kr_context *cx, void *out) {
    kr_pipe_io *io = (kr_pipe_io *)f;
    if (io->p_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return io_finish(out, KR_EINVAL);
    while (io->done_ < io->len_) {
        int64_t n;
        if (kr__pipe_poll_io(io->p_, cx, KR_WRITABLE,
                             (char *)io->buf_ + io->done_, io->len_ - io->done_,
                             &n) == 0)
            return KR_PENDING;
        if (n < 0)
            return io_finish(out, n);
        io->done_ += (size_t)n;
    }
    return io_finish(out, (int64_t)io->len_);
}

static const kr_future_vtable read_vt = {read_poll, NULL, sizeof(kr_pipe_io),
                                         sizeof(int64_t), "kr_pipe_read"};
static const kr_future_vtable write_vt = {write_poll, NULL, sizeof(kr_pipe_io),
                                          sizeof(int64_t), "kr_pipe_write"};
static const kr_future_vtable write_all_vt = {
    write_all_poll, NULL, sizeof(kr_pipe_io), sizeof(int64_t),
    "kr_pipe_write_all"};

kr_pipe_io kr_pipe_read(kr_pipe *p, void *buf, size_t len) {
    kr_pipe_io io = {{&read_vt}, p, buf, len, 0};
    return io;
}

kr_pipe_io kr_pipe_write(kr_pipe *p, const void *buf, size_t len) {
    kr_pipe_io io = {{&write_vt}, p, (void *)buf, len, 0};
    return io;
}

kr_pipe_io kr_pipe_write_all(kr_pipe *p, const void *buf, size_t len) {
    kr_pipe_io io = {{&write_all_vt}, p, (void *)buf, len, 0};
    return io;
}
