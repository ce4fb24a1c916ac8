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
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "net/sock.h"

static int64_t accept_op(kr__sock *s, void *arg) {
    kr_sockaddr *peer = arg;
    for (;;) {
        peer->len = sizeof(peer->storage);
        int fd = accept4(s->fd, (struct sockaddr *)&peer->storage, &peer->len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
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
        if (kr__sock_poll(s, &a->held_, &a->w_, cx, KR_READABLE, accept_op,
                          &peer, 0, &res) == KR_PENDING)
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
