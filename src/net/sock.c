/* net/sock.c: the socket object and the shared readiness loop (sock.h). */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sock.h"
#include "core/context.h"
#include "core/driver.h"
#include "core/runtime.h"
#include "core/handle.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/atomic.h"

/* The runtime a socket call names, or the one this thread is inside
 * (running or entered: kr_runtime_enter). */
kr_runtime *kr__net_runtime(kr_runtime *rt) {
    return rt != NULL ? rt : kr__current_runtime();
}

const kr__netsim_ops *kr__netsim_of(kr_runtime *rt) {
    rt = kr__net_runtime(rt);
    return rt != NULL ? rt->netsim : NULL;
}

int kr__sock_socket(int family, int type) {
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd >= 0 ? fd : -errno;
}

/* known: kairo made fd non-blocking itself, so the driver need not look
 * at it (two system calls less a connection on io_uring, one on epoll). */
static int wrap(kr_runtime *rt, int fd, bool known, kr__sock **out) {
    rt = kr__net_runtime(rt);
    if (rt == NULL)
        return KR_EINVAL;
    kr__sock *s = kr__malloc(sizeof(*s));
    if (s == NULL)
        return KR_ENOMEM;
    kr__driver *d = rt->driver;
    int rc = known && d != NULL ? d->ops->socket_new(d, fd, &s->afd)
                                : kr_runtime_async_fd_new(rt, fd, &s->afd);
    if (rc < 0) {
        kr__free(s);
        return rc;
    }
    atomic_init(&s->refs, 1);
    atomic_init(&s->closed, 0);
    s->fd = fd;
    s->rt = rt;
    s->sim = NULL;
    atomic_init(&s->rx, NULL);
    atomic_init(&s->ax, NULL);
    *out = s;
    return 0;
}

int kr__sock_wrap(kr_runtime *rt, int fd, kr__sock **out) {
    return wrap(rt, fd, true, out);
}

int kr__sock_pair(kr_runtime *rt, int type, kr__sock **a, kr__sock **b) {
    int sv[2];
    if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    int rc = kr__sock_wrap(rt, sv[0], a);
    if (rc < 0) {
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    rc = kr__sock_wrap(rt, sv[1], b);
    if (rc < 0) {
        kr__sock_close(*a);
        *a = NULL;
        close(sv[1]);
    }
    return rc;
}

int kr__sock_listen(kr_runtime *rt, int fd, const kr_sockaddr *addr,
                    int backlog, kr__sock **out) {
    int rc;
    if (bind(fd, (const struct sockaddr *)&addr->storage, addr->len) < 0 ||
        listen(fd, backlog) < 0)
        rc = -errno;
    else
        rc = kr__sock_wrap(rt, fd, out);
    if (rc < 0)
        close(fd);
    return rc;
}

int kr__sock_adopt(kr_runtime *rt, int fd, int type, bool listening,
                   kr__sock **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (fd < 0 || kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
        return -errno; /* EBADF, ENOTSOCK */
    if (v != type)
        return KR_EINVAL;
    if (type == SOCK_STREAM) {
        len = sizeof(v);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0)
            return -errno;
        if ((v != 0) != listening)
            return KR_EINVAL;
    }
    return wrap(rt, fd, false, out); /* the user's: made non-blocking */
}

/* Whether s's runtime is shut down (or freed, with its driver): its ops
 * in flight must then not be cancelled through the driver, and the last
 * reference shuts the socket down instead (unref). */
static bool runtime_gone(const kr__sock *s) {
    kr_ready_event ev;
    return kr_async_fd_readiness(s->afd, KR_READABLE, &ev) == KR_ESHUTDOWN;
}

static void unref(kr__sock *s) {
    /* Acq-rel: the last one sees every other holder's accesses. */
    if (kr__fetch_sub_acqrel(&s->refs, 1) != 1)
        return;
    if (s->sim != NULL) {
        s->sim->release(s);
        return;
    }
    bool gone = runtime_gone(s);
    /* The reader may keep the descriptor open until its op has ended. */
    bool kept = kr__rx_release(s, gone); /* before the registration */
    kr__ax_release(s, gone);
    if (gone) {
        /* After the runtime's free the registration no longer leaves the
         * driver (io/reactor.c makes no removal then), and on io_uring
         * its poll request, and any op, hold the file in the kernel till
         * the ring's own free: the close below would end neither the
         * connection nor the listening. Shut down, it is closed to the
         * peer at once. */
        shutdown(s->fd, SHUT_RDWR);
    }
    kr_async_fd_free(s->afd); /* before close: it leaves epoll by fd */
    if (!kept)
        close(s->fd); /* no retry on EINTR: Linux closed it */
    kr__free(s);
}

void kr__sock_close(kr__sock *s) {
    if (s == NULL)
        return;
    /* Seq-cst store then load, against kr__sock_hold (sock.h). */
    kr__store_seqcst(&s->closed, 1);
    if (s->sim != NULL)
        s->sim->close(s); /* wakes its waiters */
    else if (kr__load_seqcst(&s->refs) > 1)
        shutdown(s->fd, SHUT_RDWR); /* a hang-up wakes the waiters */
    unref(s);
}

void kr__sock_unhold(kr__sock *s, int *held, kr_io_waiter *w) {
    if (*held != 1)
        return; /* none held, or spent */
    *held = 0;
    /* While the reference keeps the registration alive. */
    if (w != NULL)
        kr_async_fd_waiter_cancel(s->afd, w);
    unref(s);
}

void kr__sock_spend(kr__sock *s, int *held) {
    /* No waiter to unlink: every READY path of kr__sock_poll and of the
     * readiness future leaves it unlinked (the fast path of a completed
     * operation pays no cancel). */
    if (s != NULL)
        kr__sock_unhold(s, held, NULL);
    *held = KR__NET_SPENT;
}

void kr__net_polled_after_ready(const kr_future *f) {
    kr__die("%s polled after it returned READY", f->vtable->name);
}

int kr__sock_hold(kr__sock *s, int *held, kr_io_waiter *w) {
    if (!*held) {
        /* Seq-cst add then load, against kr__sock_close (sock.h). */
        kr__fetch_add_seqcst(&s->refs, 1);
        *held = 1;
    }
    if (kr__load_seqcst(&s->closed)) {
        kr__sock_unhold(s, held, w);
        return KR_EBADF;
    }
    return 0;
}

kr_poll kr__sock_pend(kr__sock *s, int *held, kr_io_waiter *w, int64_t *res) {
    if (held == NULL)
        return KR_PENDING;
    int h = kr__sock_hold(s, held, w);
    if (h < 0) {
        *res = h;
        return KR_READY;
    }
    return KR_PENDING;
}

kr_poll kr__sock_poll(kr__sock *s, int *held, kr_io_waiter *w, kr_context *cx,
                      int interest, kr__sock_op op, void *arg,
                      size_t drain_below, int64_t *res) {
    for (;;) {
        /* Acquire: a cheap early look; the hold below settles races. */
        if (kr__load_acquire(&s->closed)) {
            /* Polled while linked (woken by a free's shutdown, or for
             * another reason): leave the list before completing. */
            if (w != NULL)
                kr_async_fd_waiter_cancel(s->afd, w);
            *res = KR_EBADF;
            return KR_READY;
        }
        kr_ready_event ev;
        /* No waiter: the poll-style calls (kr_tcp_stream_poll_read...),
         * which keep the waker in the direction's slot and hold nothing. */
        int r = w != NULL ? kr_async_fd_poll_ready_waiter(s->afd, cx, interest,
                                                          &ev, w)
                          : kr_async_fd_poll_ready(s->afd, cx, interest, &ev);
        if (r == 0) {
            return kr__sock_pend(s, held, w, res);
        }
        if (r < 0) {
            *res = r;
            return KR_READY;
        }
        int64_t n = op(s, arg);
        if (n == KR_EAGAIN) {
            kr_async_fd_clear_ready(s->afd, ev);
            continue;
        }
        if (n == KR__RX_BUSY) {
            /* A ring read in flight (net/rx.c): wait for its end, not
             * for readiness. Ready here, so w is not linked. */
            if (!kr__rx_wait(s, cx))
                continue; /* it ended meanwhile */
            return kr__sock_pend(s, held, w, res);
        }
        if (n > 0 && (size_t)n < drain_below)
            kr_async_fd_clear_ready(s->afd, ev);
        *res = n;
        return KR_READY;
    }
}

int64_t kr__sock_try(kr__sock *s, int interest, kr__sock_op op, void *arg) {
    if (s == NULL)
        return KR_EINVAL;
    if (kr__load_acquire(&s->closed))
        return KR_EBADF;
    kr_ready_event ev;
    int r = kr_async_fd_readiness(s->afd, interest, &ev);
    if (r < 0)
        return r;
    if (r == 0)
        return KR_EAGAIN; /* Tokio's try_io: no call without readiness */
    int64_t n = op(s, arg);
    if (n == KR__RX_BUSY)
        n = KR_EAGAIN;  /* a ring read in flight; its end sets READABLE */
    if (n == KR_EAGAIN) /* EWOULDBLOCK is EAGAIN on Linux */
        kr_async_fd_clear_ready(s->afd, ev);
    return n;
}

int kr__sock_name(const kr__sock *s, bool peer, kr_sockaddr *out) {
    if (s == NULL || out == NULL)
        return KR_EINVAL;
    if (s->sim != NULL)
        return s->sim->name(s, peer, out);
    out->len = sizeof(out->storage);
    int r =
        peer ? getpeername(s->fd, (struct sockaddr *)&out->storage, &out->len)
             : getsockname(s->fd, (struct sockaddr *)&out->storage, &out->len);
    if (r < 0) {
        out->len = 0;
        return -errno;
    }
    return 0;
}

int kr__sock_shutdown(kr__sock *s, int how) {
    if (s == NULL)
        return KR_EINVAL;
    if (s->sim != NULL)
        return s->sim->shutdown(s, how);
    int h;
    switch (how) {
    case KR_SHUT_READ:
        h = SHUT_RD;
        break;
    case KR_SHUT_WRITE:
        h = SHUT_WR;
        break;
    case KR_SHUT_BOTH:
        h = SHUT_RDWR;
        break;
    default:
        return KR_EINVAL;
    }
    return shutdown(s->fd, h) < 0 ? -errno : 0;
}
