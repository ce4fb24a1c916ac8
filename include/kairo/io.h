/*
 * kairo/io.h: readiness-based I/O on any file descriptor, the layer the
 * networking futures are built on.
 *
 * A kr_async_fd registers a non-blocking fd with its runtime's reactor
 * (edge-triggered epoll). It keeps readiness bits, one waker slot per
 * direction for kr_async_fd_poll_ready, and a list of waiters (any number,
 * each with its own interest) for the futures that carry a kr_io_waiter
 * node: kr_readiness here and every socket future of net.h. So any number
 * of tasks may wait on one fd in the same direction; an event wakes every
 * waiter whose interest it concerns (as Tokio's ScheduledIo does), and a
 * dropped future unlinks its node. A leaf future's poll follows the
 * pattern
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
struct iovec;

enum {
    KR_READABLE = 1,     /* data, a connection, or the read side closed */
    KR_WRITABLE = 2,     /* room to write, or the write side closed */
    KR_READ_CLOSED = 4,  /* the peer shut down its write side (EPOLLRDHUP) */
    KR_WRITE_CLOSED = 8, /* the write side is closed (EPOLLHUP) */
    KR_IO_ERROR = 16,    /* EPOLLERR: a pending socket error */
    KR_PRIORITY = 32     /* EPOLLPRI: urgent (TCP out-of-band) data, or a
                            priority event of the fd (sysfs, /proc) */
};

/*
 * Interest (what a wait asks for) uses the same bits: KR_READABLE is ready
 * on KR_READABLE or KR_READ_CLOSED (or KR_IO_ERROR), KR_WRITABLE on
 * KR_WRITABLE or KR_WRITE_CLOSED (or KR_IO_ERROR), KR_PRIORITY on
 * KR_PRIORITY or KR_READ_CLOSED, and KR_IO_ERROR on an error alone (Tokio's
 * Interest::ERROR). Or them together to wait for any.
 */
#define KR_INTEREST_MASK (KR_READABLE | KR_WRITABLE | KR_PRIORITY | KR_IO_ERROR)

/*
 * Private. The node a waiting future embeds to wait on an fd (layout
 * public only so futures can be plain values). `linked_` is written under
 * the registration's lock and read by the owner with acquire: 0 means the
 * reactor no longer references the node (src/io/reactor.h).
 */
#ifndef KR__LIST_DEFINED
#define KR__LIST_DEFINED
typedef struct kr__list {
    struct kr__list *next;
    struct kr__list *prev;
} kr__list;
#endif
typedef struct kr_io_waiter {
    kr__list node_;
    kr_waker waker_;
    uint32_t mask_;   /* the ready bits that wake it */
    uint32_t linked_; /* accessed with __atomic builtins only */
} kr_io_waiter;

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
 * the context's waker (one waker slot per direction: a second task polling
 * the same direction this way replaces the first; use
 * kr_async_fd_poll_ready_waiter or kr_async_fd_ready for several);
 * KR_ESHUTDOWN if the runtime has been shut down; KR_EINVAL (NULL afd, cx
 * or ev, or neither KR_READABLE nor KR_WRITABLE in `interest`). Consumes
 * one unit of cooperative budget when ready.
 */
KR_API int kr_async_fd_poll_ready(kr_async_fd *afd, kr_context *cx,
                                  int interest, kr_ready_event *ev);

/*
 * As kr_async_fd_poll_ready, for any interest (KR_INTEREST_MASK bits, at
 * least one), waiting on the node `w` the caller's future embeds: any
 * number of such waiters may wait at once. `w` starts zeroed (or
 * KR_IO_WAITER_INIT); while this returns 0 the node is linked and the
 * future must stay where it is (core.h's moving rule) until it is polled
 * again or its drop calls kr_async_fd_waiter_cancel. A return != 0 leaves
 * it unlinked. KR_EINVAL also for a NULL `w` or an interest outside the
 * mask.
 */
KR_API int kr_async_fd_poll_ready_waiter(kr_async_fd *afd, kr_context *cx,
                                         int interest, kr_ready_event *ev,
                                         kr_io_waiter *w);

/* Unlinks `w` if linked and drops its waker: a waiting future's drop.
 * Cheap (no lock) when it is not linked. NULL afd or w is ignored. */
KR_API void kr_async_fd_waiter_cancel(kr_async_fd *afd, kr_io_waiter *w);

#define KR_IO_WAITER_INIT                                                      \
    { {NULL, NULL}, {NULL, NULL}, 0, 0 }

/*
 * The readiness the fd has now for `interest`, without waiting: the ready
 * bits (> 0) with *ev filled, 0 if none, KR_ESHUTDOWN, KR_EINVAL (NULL
 * afd or ev, a bad interest). For try_* calls: act, and on EAGAIN clear
 * with kr_async_fd_clear_ready(afd, *ev).
 */
KR_API int kr_async_fd_readiness(kr_async_fd *afd, int interest,
                                 kr_ready_event *ev);

/*
 * One read(2) / write(2) on the fd if it is ready (Tokio's
 * AsyncFd::try_io): the bytes moved (>= 0), or KR_EAGAIN without a system
 * call when the last readiness seen was not ready, or KR_EAGAIN after a
 * call that met EAGAIN (the readiness is then cleared: wait again), or a
 * negated errno, KR_ESHUTDOWN, KR_EINVAL (NULL afd, NULL buf with len).
 * Never waits. The vectored forms use readv(2) / writev(2) (iovcnt 0..1024).
 */
KR_API int64_t kr_async_fd_try_read(kr_async_fd *afd, void *buf, size_t len);
KR_API int64_t kr_async_fd_try_write(kr_async_fd *afd, const void *buf,
                                     size_t len);
KR_API int64_t kr_async_fd_try_read_vectored(kr_async_fd *afd,
                                             const struct iovec *iov,
                                             int iovcnt);
KR_API int64_t kr_async_fd_try_write_vectored(kr_async_fd *afd,
                                              const struct iovec *iov,
                                              int iovcnt);

/* After EAGAIN: clears the readiness `ev` reported, unless a newer event
 * arrived since (the tick guard). */
KR_API void kr_async_fd_clear_ready(kr_async_fd *afd, kr_ready_event ev);

/*
 * A future that completes when the fd is ready for `interest` (any
 * KR_INTEREST_MASK bits: Tokio's AsyncFd::ready). Output: an int, the
 * ready bits (> 0) or a negative code (KR_EINVAL: NULL fd, no interest
 * or one outside the mask; KR_ESHUTDOWN). Any number of these may wait on
 * one fd. Cancel-safe: dropping it unlinks its waiter. The bits stay
 * set until an operation meets EAGAIN and clears them
 * (kr_async_fd_clear_ready, or a try_* call). Drop it before freeing the
 * fd. Polled again after READY, it aborts with a message.
 */
typedef struct kr_readiness {
    kr_future base;
    kr_async_fd *afd_;
    int interest_;
    kr_io_waiter w_;
} kr_readiness;
KR_API kr_readiness kr_async_fd_ready(kr_async_fd *afd, int interest);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_IO_H */
