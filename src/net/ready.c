/*
 * net/ready.c: the readiness future every socket type shares (Tokio's
 * TcpStream::ready / readable / writable, UdpSocket::ready, ...).
 *
 * It waits on its own kr_io_waiter node, so any number of them may wait on
 * one socket, and holds the socket while pending (sock.h, "Lifetime").
 * Its output is the ready bits; they stay set until an operation meets
 * EAGAIN (a try_* call clears them then), as in Tokio.
 */
#include "net/sock.h"
#include "util/atomic.h"

static kr_poll ready_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_ready *rd = (kr_net_ready *)f;
    kr__sock *s = rd->sock_;
    int res;
    kr__net_check_live(f, rd->held_);
    if (s == NULL || rd->interest_ == 0 ||
        (rd->interest_ & ~KR_INTEREST_MASK) != 0) {
        res = KR_EINVAL;
    } else if (kr__load_acquire(&s->closed)) {
        kr_async_fd_waiter_cancel(s->afd, &rd->w_); /* a re-poll: linked */
        res = KR_EBADF;
    } else {
        kr_ready_event ev;
        int r = kr_async_fd_poll_ready_waiter(s->afd, cx, rd->interest_, &ev,
                                              &rd->w_);
        if (r == 0) {
            int h = kr__sock_hold(s, &rd->held_, &rd->w_);
            if (h == 0)
                return KR_PENDING;
            res = h;
        } else {
            res = r > 0 ? (int)ev.ready : r;
        }
    }
    kr__sock_spend(s, &rd->held_);
    if (out != NULL)
        *(int *)out = res;
    return KR_READY;
}

static void ready_drop(kr_future *f) {
    kr_net_ready *rd = (kr_net_ready *)f;
    if (rd->sock_ != NULL)
        kr__sock_unhold(rd->sock_, &rd->held_, &rd->w_);
}

static const kr_future_vtable ready_vt = {
    ready_poll, ready_drop, sizeof(kr_net_ready), sizeof(int), "kr_net_ready"};

kr_net_ready kr__sock_ready(kr__sock *s, int interest) {
    kr_net_ready rd = {{&ready_vt}, s, interest, 0, KR_IO_WAITER_INIT};
    return rd;
}
