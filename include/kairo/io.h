/*
 * kairo/io.h: readiness-based I/O on any file descriptor, the layer the
 * networking futures are built on.
 *
 * A kr_async_fd registers a non-blocking fd with its runtime's reactor
 * (edge-triggered epoll). For each direction it keeps a readiness bit and
 * one waker. A leaf future's poll follows the pattern
 *
 *     for (;;) {
 *         kr_ready_event ev;
 *         int r = kr_async_fd_poll_ready(afd, cx, KR_READABLE, &ev);
 *         if (r <= 0)
 *             return r == 0 ? KR_PENDING : finish(r);   // 0: waker stored
 *         ssize_t n = read(kr_async_fd_fd(afd), buf, len);
 *         if (n < 0 && errno == EAGAIN) {
 *             kr_async_fd_clear_ready(afd, ev);   // only if no newer event
 *             continue;
 *         }
 *         ...
 *     }
 *
 * The event carries a tick: clearing readiness with a stale event (one the
 * reactor has superseded since) does nothing, so an edge that arrives
 * between the read and the clear is never lost.
 */
#ifndef KAIRO_IO_H
#define KAIRO_IO_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_runtime kr_runtime;
typedef struct kr_async_fd kr_async_fd;

enum {
    KR_READABLE = 1,     /* data, a connection, or the read side closed */
    KR_WRITABLE = 2,     /* room to write, or the write side closed */
    KR_READ_CLOSED = 4,  /* the peer shut down its write side (EPOLLRDHUP) */
    KR_WRITE_CLOSED = 8, /* the write side is closed (EPOLLHUP) */
    KR_IO_ERROR = 16     /* EPOLLERR: a pending socket error */
};

typedef struct kr_ready_event {
    uint32_t ready; /* KR_READABLE | ... as seen by this poll */
    uint32_t tick;  /* the reactor's event count for this fd */
} kr_ready_event;

/*
 * Registers `fd` with the reactor of the runtime the calling thread runs
 * (kr_async_fd_new) or of `rt`, and sets O_NONBLOCK on it. The fd stays
 * the caller's: kr_async_fd_free does not close it.
 * Returns 0, KR_EINVAL (fd < 0, NULL out, no runtime), KR_EBADF, KR_ENOMEM,
 * KR_ESHUTDOWN (the runtime has been shut down), KR_ENOIO (a runtime made
 * without its I/O driver, KR_DRIVER_IO: so every socket, pipe, signal and
 * child-process call on it), or the negated errno of epoll_ctl.
 */
KR_API int kr_async_fd_new(int fd, kr_async_fd **out);
KR_API int kr_runtime_async_fd_new(kr_runtime *rt, int fd, kr_async_fd **out);

/*
 * Deregisters and frees. Wakers still stored are woken (so their tasks
 * notice) and dropped. Futures using it must not poll it afterwards: drop
 * them first, as a socket's owner does. NULL is ignored.
 */
KR_API void kr_async_fd_free(kr_async_fd *afd);

KR_API int kr_async_fd_fd(const kr_async_fd *afd);

/*
 * Readiness for `interest` (KR_READABLE, KR_WRITABLE or both). Returns 1
 * with *ev filled if the fd is (or may be) ready; 0 if not, after storing
 * the context's waker (one waker per direction: a second task polling the
 * same direction replaces the first); KR_ESHUTDOWN if the runtime has been
 * shut down; KR_EINVAL (NULL afd, cx or ev, or neither KR_READABLE nor
 * KR_WRITABLE in `interest`). Consumes one unit of cooperative budget when
 * ready.
 */
KR_API int kr_async_fd_poll_ready(kr_async_fd *afd, kr_context *cx,
                                  int interest, kr_ready_event *ev);

/* After EAGAIN: clears the readiness `ev` reported, unless a newer event
 * arrived since (the tick guard). */
KR_API void kr_async_fd_clear_ready(kr_async_fd *afd, kr_ready_event ev);

/*
 * A future that completes when the fd is ready for `interest`. Output: an
 * int, the ready bits (> 0) or a negative code (KR_EINVAL: NULL fd, no
 * direction in `interest`). Cancel-safe. Polled again after READY, it
 * aborts with a message.
 */
typedef struct kr_readiness {
    kr_future base;
    kr_async_fd *afd_;
    int interest_;
} kr_readiness;
KR_API kr_readiness kr_async_fd_ready(kr_async_fd *afd, int interest);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_IO_H */
