/*
 * net/accept.c: the accept future of TCP and Unix listeners.
 *
 * One accept4(2) per readiness, in io.h's loop. Faults, and why each is
 * handled so:
 *   - EINTR: retried.
 *   - ECONNABORTED, and the network errors Linux passes on from the
 *     pending connection (accept(2): "treat them like EAGAIN by
 *     retrying"): retried at once. Each took one dead connection off the
 *     queue, so the retries are bounded by the queue.
 *   - EMFILE, ENFILE (no descriptor), ENOBUFS, ENOMEM (no kernel memory):
 *     the connection stays queued and retrying now would fail again. With
 *     edge-triggered epoll no new edge comes for it, and keeping the
 *     readiness set would spin; so the future sleeps KR__NET_BACKOFF_MS on
 *     a kr_sleep (embedded: no allocation) and tries again. The task
 *     costs one poll per back-off (plus one per new connection arriving),
 *     and accepting resumes within one back-off of a descriptor coming
 *     free, with no connection lost (libuv's reserve-fd trick drops it).
 *
 * On the io_uring driver, polled on a thread that turns it, the
 * connections come from the listener's multishot ACCEPT instead
 * (net/accept_ring.c: its queue, then by readiness as above), with the
 * same faults: the kernel retries the per-connection errors itself and
 * ends the op on the resource ones, which reach this future once and
 * back it off. The peer's address is then a getpeername(2); a connection
 * already gone by then (ENOTCONN) is closed and the next one taken, as
 * accept4's ECONNABORTED.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "net/sock.h"
#include "util/atomic.h"

/* arg: where the peer's address goes, or NULL. */
static int64_t accept_op(kr__sock *s, void *arg) {
    kr_sockaddr *peer = arg;
    for (;;) {
        if (peer != NULL)
            peer->len = sizeof(peer->storage);
        int fd = accept4(
            s->fd, peer != NULL ? (struct sockaddr *)&peer->storage : NULL,
            peer != NULL ? &peer->len : NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        switch (errno) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP: /* per connection: listeners are SOCK_STREAM */
        case ENETUNREACH:
        case ENETDOWN:
            continue;
        default:
            return -errno;
        }
    }
}

/* The same, from the ring's queue (net/accept_ring.c) where it can. */
static int64_t ring_accept_op(kr__sock *s, void *arg) {
    kr_sockaddr *peer = arg;
    for (;;) {
        int64_t fd = kr__ax_accept(s);
        if (fd == KR__AX_OFF || fd == KR__AX_ARMED)
            return accept_op(s, arg);
        if (fd < 0 || peer == NULL)
            return fd;
        peer->len = sizeof(peer->storage);
        if (getpeername((int)fd, (struct sockaddr *)&peer->storage,
                        &peer->len) == 0)
            return fd;
        int e = errno;
        close((int)fd);
        if (e != ENOTCONN && e != EINVAL)
            return -e;
        /* reset before we looked: one dead connection, take the next */
    }
}

static bool out_of_resources(int64_t e) {
    return e == KR_EMFILE || e == KR_ENFILE || e == KR_ENOBUFS ||
           e == KR_ENOMEM;
}

static kr_poll accept_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_accept *a = (kr_net_accept *)f;
    kr__sock *s = a->sock_;
    int64_t res;
    kr__net_check_live(f, a->held_);
    if (s == NULL || a->out_ == NULL) {
        res = KR_EINVAL;
        goto done;
    }
    for (;;) {
        if (a->backoff_) {
            if (kr_future_poll(&a->sleep_.base, cx, NULL) == KR_PENDING)
                return KR_PENDING;
            kr_future_drop(&a->sleep_.base);
            a->backoff_ = 0;
        }
        kr_sockaddr peer;
        void *arg = a->peer_ != NULL ? &peer : NULL;
        kr__sock_op op = accept_op;
        res = KR_EAGAIN;
        if (kr__ax_usable(s)) {
            /* The queue first, whatever the readiness says: it may hold
             * connections no readiness event announces any more, and the
             * op it arms announces its own. */
            op = ring_accept_op;
            res = kr__load_acquire(&s->closed) ? KR_EAGAIN : op(s, arg);
            if (res != KR_EAGAIN) /* linked if it waited by readiness */
                kr_async_fd_waiter_cancel(s->afd, &a->w_);
        }
        if (res == KR_EAGAIN &&
            kr__sock_poll(s, &a->held_, &a->w_, cx, KR_READABLE, op, arg, 0,
                          &res) == KR_PENDING)
            return KR_PENDING;
        if (out_of_resources(res)) {
            /* Pending on the sleep: hold the listener as a pending
             * readiness wait does. */
            res = kr__sock_hold(s, &a->held_, &a->w_);
            if (res < 0)
                goto done;
            a->sleep_ = kr_sleep_for(kr_ms(KR__NET_BACKOFF_MS));
            a->backoff_ = 1;
            continue;
        }
        if (res < 0)
            goto done;
        int fd = (int)res;
        kr__sock *ns;
        res = kr__sock_wrap(s->rt, fd, &ns);
        if (res < 0) {
            close(fd); /* the peer sees the connection reset */
            goto done;
        }
        *a->out_ = ns;
        if (a->peer_ != NULL)
            *a->peer_ = peer;
        break;
    }
done:
    kr__sock_spend(s, &a->held_);
    if (out != NULL)
        *(int *)out = (int)res;
    return KR_READY;
}

static void accept_drop(kr_future *f) {
    kr_net_accept *a = (kr_net_accept *)f;
    if (a->backoff_) {
        kr_future_drop(&a->sleep_.base);
        a->backoff_ = 0;
    }
    if (a->sock_ != NULL)
        kr__sock_unhold(a->sock_, &a->held_, &a->w_);
}

static const kr_future_vtable accept_vt = {accept_poll, accept_drop,
                                           sizeof(kr_net_accept), sizeof(int),
                                           "kr_net_accept"};

kr_net_accept kr__accept(kr__sock *s, void **out, kr_sockaddr *peer) {
    if (s != NULL && s->sim != NULL)
        return s->sim->accept(s, out, peer);
    kr_net_accept a;
    a.base.vtable = &accept_vt;
    a.sock_ = s;
    a.out_ = out;
    a.peer_ = peer;
    a.held_ = 0;
    a.backoff_ = 0;
    memset(&a.w_, 0, sizeof(a.w_));
    memset(&a.sleep_, 0, sizeof(a.sleep_)); /* set when backing off */
    return a;
}
