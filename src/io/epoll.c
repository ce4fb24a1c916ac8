/*
 * io/epoll.c: the epoll backend. Every fd is registered once for both
 * directions, edge-triggered (as mio does): EPOLLIN | EPOLLOUT | EPOLLRDHUP
 * | EPOLLPRI | EPOLLET. (mio asks for EPOLLPRI only with Interest::PRIORITY;
 * kairo registers once, and EPOLLPRI only fires on urgent data or an fd's
 * priority event, so asking always costs nothing else.)
 *
 * A reactor wake-up is an eventfd registered edge-triggered with a NULL
 * pointer, and never read (as mio's waker): every write(2) to an eventfd
 * wakes its poll wait queue (eventfd_write calls wake_up_locked_poll with
 * EPOLLIN whether or not the counter was already non-zero), and that wake
 * puts the fd back on epoll's ready list, so each write after a report is
 * a new edge. Draining it (two reads, the second meeting EAGAIN) cost two
 * system calls per wake-up for nothing. The counter only fills after
 * 2^64 - 2 writes: a write that meets EAGAIN resets it with one read and
 * writes again (no wake-up is lost: that write is a new edge).
 */
#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/reactor.h"
#include "util/alloc.h"
#include "util/atomic.h"

typedef struct epoll_backend {
    kr__backend base;
    int epfd;
    int evfd;
    struct epoll_event ev[KR__IO_EVENTS];
} epoll_backend;

static const kr__backend_ops epoll_ops;

static epoll_backend *eb(kr__backend *b) { return (epoll_backend *)b; }

int kr__epoll_new(kr__backend **out) {
    epoll_backend *b = kr__malloc(sizeof(*b));
    if (b == NULL)
        return KR_ENOMEM;
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (b->epfd < 0) {
        int e = -errno;
        kr__free(b);
        return e;
    }
    b->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    if (b->evfd < 0 || epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->evfd, &e) < 0) {
        int err = -errno;
        if (b->evfd >= 0)
            close(b->evfd);
        close(b->epfd);
        kr__free(b);
        return err;
    }
    b->base.ops = &epoll_ops;
    atomic_init(&b->base.ops_live, 0);
    atomic_init(&b->base.ops_total, 0);
    *out = &b->base;
    return 0;
}

static void epoll_free(kr__backend *base) {
    epoll_backend *b = eb(base);
    close(b->evfd);
    close(b->epfd);
    kr__free(b);
}

static int epoll_add(kr__backend *b, kr_async_fd *reg) {
    struct epoll_event e = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
        .data.ptr = reg,
    };
    return epoll_ctl(eb(b)->epfd, EPOLL_CTL_ADD, reg->fd, &e) < 0 ? -errno : 0;
}

static void epoll_del(kr__backend *b, kr_async_fd *reg) {
    /* ENOENT or EBADF: a closed fd left epoll already. */
    (void)epoll_ctl(eb(b)->epfd, EPOLL_CTL_DEL, reg->fd, NULL);
}

static uint32_t map_events(uint32_t e) {
    uint32_t r = 0;
    if (e & EPOLLIN)
        r |= KR_READABLE;
    if (e & EPOLLOUT)
        r |= KR_WRITABLE;
    if (e & EPOLLPRI)
        r |= KR_PRIORITY;
    if (e & EPOLLRDHUP)
        r |= KR_READABLE | KR_READ_CLOSED;
    if (e & EPOLLHUP)
        r |= KR_READABLE | KR_WRITABLE | KR_READ_CLOSED | KR_WRITE_CLOSED;
    if (e & EPOLLERR)
        r |= KR_READABLE | KR_WRITABLE | KR_IO_ERROR;
    return r;
}

static int epoll_wait_ev(kr__backend *base, kr__io_event *out, int max,
                         int64_t timeout_ns) {
    epoll_backend *b = eb(base);
    int ms;
    if (timeout_ns < 0)
        ms = -1;
    else if (timeout_ns == 0)
        ms = 0;
    else if (timeout_ns > (int64_t)INT_MAX * 1000000)
        /* Beyond an int of milliseconds (24.8 days): wait that long and
         * let the caller recompute. Cast, it would wrap negative, which
         * epoll takes as "forever". */
        ms = INT_MAX;
    else /* round up: never wake before a timer is due */
        ms = (int)((timeout_ns + 999999) / 1000000);
    if (max > KR__IO_EVENTS)
        max = KR__IO_EVENTS;
    int n = epoll_wait(b->epfd, b->ev, max, ms);
    if (n < 0)
        return 0; /* EINTR; nothing else can happen with valid arguments */
    for (int i = 0; i < n; i++) {
        kr_async_fd *reg = b->ev[i].data.ptr;
        out[i].reg = reg; /* NULL: the wake-up eventfd, left unread */
        out[i].ready = map_events(b->ev[i].events);
    }
    return n;
}

static void epoll_wake(kr__backend *base) {
    epoll_backend *b = eb(base);
    uint64_t one = 1, v;
    if (write(b->evfd, &one, sizeof(one)) >= 0)
        return;
    /* EAGAIN: the counter is full (never in practice, see the top). */
    ssize_t r = read(b->evfd, &v, sizeof(v));
    r = write(b->evfd, &one, sizeof(one));
    (void)r;
}

/* No completion operations: the files use the blocking pool. */
static const kr__backend_ops epoll_ops = {
    epoll_free,         epoll_add, epoll_del, epoll_wait_ev, epoll_wake,
    KR_IO_DRIVER_EPOLL, NULL,      NULL,      NULL};
