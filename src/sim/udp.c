/*
 * sim/udp.c: simulated datagrams (kr_udp_* on a simulation runtime).
 *
 * A send is never blocked and always "succeeds" (returns its length), as
 * UDP's does: with probability udp_drop_ppm the datagram is dropped on the
 * spot; otherwise it becomes an EV_DGRAM due after its own latency, so two
 * datagrams may arrive in either order. At arrival the socket bound at the
 * destination (looked up then) queues it; with none it is lost. A
 * connected socket (kr_udp_socket_connect) sends to its peer and receives
 * only from it. A receive into a buffer shorter than the datagram gets
 * the first bytes, and the rest is discarded, as recvfrom(2) does.
 */
#include <inttypes.h>
#include <string.h>

#include "sim/net.h"
#include "util/alloc.h"

/* Queued datagrams a socket keeps before dropping new ones (the receive
 * buffer a kernel would fill). */
#define DGRAM_QUEUE_MAX 4096

void kr__sim_dgram_free(kr__sim_sock *ss) {
    kr__sim_dgram *d;
    while ((d = ss->dq_head) != NULL) {
        ss->dq_head = d->next;
        kr__free(d);
    }
    ss->dq_tail = NULL;
    ss->ndq = 0;
}

void kr__sim_dgram_apply(kr__sim *sim, kr__sim_event *ev) {
    kr__sim_sock *to = kr__sim_lookup(sim, SS_DGRAM, &ev->dst);
    if (to == NULL || to->ndq >= DGRAM_QUEUE_MAX ||
        (to->has_peer && !kr_sockaddr_equal(&to->peer, &ev->from))) {
        kr__sim_log(sim, "dgram lost port %d %zu", kr_sockaddr_port(&ev->dst),
                    ev->len);
        return;
    }
    kr__sim_dgram *d = kr__malloc(sizeof(*d) + ev->len);
    if (d == NULL)
        return;
    d->next = NULL;
    d->from = ev->from;
    d->len = ev->len;
    memcpy(d->data, ev->data, ev->len);
    if (to->dq_tail != NULL)
        to->dq_tail->next = d;
    else
        to->dq_head = d;
    to->dq_tail = d;
    to->ndq++;
    kr__sim_log(sim, "dgram port %d %zu", kr_sockaddr_port(&ev->dst), ev->len);
    kr__sim_sock_wake(to);
}

/* ---- sending ------------------------------------------------------------------ */

static int64_t send_one(kr__sim_sock *ss, const void *buf, size_t len,
                        const kr_sockaddr *to) {
    kr__sim *sim = ss->sim;
    if (kr__load_relaxed(&ss->s.closed))
        return KR_EBADF;
    if (len > 65507)
        return KR_EMSGSIZE; /* the largest IPv4 UDP payload */
    if (kr__rng_ppm(&sim->rng, sim->opt.udp_drop_ppm)) {
        kr__sim_log(sim, "dgram drop port %d %zu", kr_sockaddr_port(to), len);
        return (int64_t)len;
    }
    kr__sim_event *ev = kr__sim_event_new(sim, EV_DGRAM, len);
    if (ev == NULL)
        return KR_ENOBUFS;
    ev->from = ss->local;
    ev->dst = *to;
    if (len > 0)
        memcpy(ev->data, buf, len);
    kr__sim_event_push(sim, ev);
    return (int64_t)len;
}

static kr_poll send_to_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    kr_udp_send_to *st = (kr_udp_send_to *)f;
    int64_t res;
    kr__net_check_live(f, st->held_);
    if (st->sock_ == NULL || (st->buf_ == NULL && st->len_ > 0) ||
        !kr__sockaddr_is_ip(&st->to_))
        res = KR_EINVAL;
    else
        res = send_one(st->sock_, st->buf_, st->len_, &st->to_);
    kr__sock_spend(st->sock_, &st->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static void send_to_drop(kr_future *f) {
    kr_udp_send_to *st = (kr_udp_send_to *)f;
    if (st->sock_ != NULL)
        kr__sock_unhold(st->sock_, &st->held_, NULL);
}

static const kr_future_vtable send_to_vt = {send_to_poll, send_to_drop,
                                            sizeof(kr_udp_send_to),
                                            sizeof(int64_t), "kr_udp_send_to"};

kr_udp_send_to kr__sim_send_to(kr__sock *s, const void *buf, size_t len,
                               const kr_sockaddr *to) {
    kr_udp_send_to st = {{&send_to_vt},    s, buf, len, 0, {{0}, 0},
                         KR_IO_WAITER_INIT};
    if (to != NULL && to->len <= sizeof(to->storage))
        st.to_ = *to;
    return st;
}

/* ---- receiving -------------------------------------------------------------------- */

/* KR_EAGAIN: nothing queued. */
static int64_t recv_one(kr__sim_sock *ss, void *buf, size_t len,
                        kr_sockaddr *from) {
    if (kr__load_relaxed(&ss->s.closed))
        return KR_EBADF;
    kr__sim_dgram *d = ss->dq_head;
    if (d == NULL)
        return KR_EAGAIN;
    ss->dq_head = d->next;
    if (ss->dq_head == NULL)
        ss->dq_tail = NULL;
    ss->ndq--;
    size_t n = d->len < len ? d->len : len;
    if (n > 0)
        memcpy(buf, d->data, n);
    if (from != NULL)
        *from = d->from;
    kr__free(d);
    return (int64_t)n;
}

static kr_poll recv_from_poll(kr_future *f, kr_context *cx, void *out) {
    kr_udp_recv_from *rf = (kr_udp_recv_from *)f;
    int64_t res;
    kr__net_check_live(f, rf->held_);
    if (rf->sock_ == NULL || (rf->buf_ == NULL && rf->len_ > 0)) {
        res = KR_EINVAL;
    } else {
        kr__sim_sock *ss = rf->sock_;
        res = recv_one(ss, rf->buf_, rf->len_, rf->from_);
        if (res == KR_EAGAIN) {
            res = kr__sock_hold(&ss->s, &rf->held_, NULL);
            if (res == 0) {
                kr__sim_wait(ss, &rf->w_, cx);
                return KR_PENDING;
            }
        }
    }
    kr__sim_unwait(&rf->w_);
    kr__sock_spend(rf->sock_, &rf->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static void recv_from_drop(kr_future *f) {
    kr_udp_recv_from *rf = (kr_udp_recv_from *)f;
    kr__sim_unwait(&rf->w_);
    if (rf->sock_ != NULL)
        kr__sock_unhold(rf->sock_, &rf->held_, NULL);
}

static const kr_future_vtable recv_from_vt = {
    recv_from_poll, recv_from_drop, sizeof(kr_udp_recv_from), sizeof(int64_t),
    "kr_udp_recv_from"};

kr_udp_recv_from kr__sim_recv_from(kr__sock *s, void *buf, size_t len,
                                   kr_sockaddr *from) {
    kr_udp_recv_from rf = {{&recv_from_vt},  s, buf, len, from, 0,
                           KR_IO_WAITER_INIT};
    return rf;
}

/* ---- connected: send, recv ------------------------------------------------------ */

int kr__sim_udp_connect(kr__sock *s, const kr_sockaddr *addr) {
    kr__sim_sock *ss = (kr__sim_sock *)s;
    ss->peer = *addr;
    ss->has_peer = true;
    return 0;
}

static kr_poll dgram_finish(kr_net_io *io, void *out, int64_t res) {
    kr__sim_unwait(&io->w_);
    kr__sock_spend(io->sock_, &io->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static kr_poll send_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    kr_net_io *io = (kr_net_io *)f;
    kr__net_check_live(f, io->held_);
    kr__sim_sock *ss = io->sock_;
    if (ss == NULL || (io->buf_ == NULL && io->len_ > 0))
        return dgram_finish(io, out, KR_EINVAL);
    if (!ss->has_peer)
        return dgram_finish(io, out, KR_EDESTADDRREQ);
    return dgram_finish(io, out, send_one(ss, io->buf_, io->len_, &ss->peer));
}

static kr_poll recv_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_io *io = (kr_net_io *)f;
    kr__net_check_live(f, io->held_);
    kr__sim_sock *ss = io->sock_;
    if (ss == NULL || (io->buf_ == NULL && io->len_ > 0))
        return dgram_finish(io, out, KR_EINVAL);
    int64_t res = recv_one(ss, io->buf_, io->len_, NULL);
    if (res != KR_EAGAIN)
        return dgram_finish(io, out, res);
    res = kr__sock_hold(&ss->s, &io->held_, NULL);
    if (res != 0)
        return dgram_finish(io, out, res);
    kr__sim_wait(ss, &io->w_, cx);
    return KR_PENDING;
}

static void dgram_drop(kr_future *f) {
    kr_net_io *io = (kr_net_io *)f;
    kr__sim_unwait(&io->w_);
    if (io->sock_ != NULL)
        kr__sock_unhold(io->sock_, &io->held_, NULL);
}

static const kr_future_vtable send_vt = {
    send_poll, dgram_drop, sizeof(kr_net_io), sizeof(int64_t), "kr_net_send"};
static const kr_future_vtable recv_vt = {
    recv_poll, dgram_drop, sizeof(kr_net_io), sizeof(int64_t), "kr_net_recv"};

kr_net_io kr__sim_dgram_io(int op, kr__sock *s, void *buf, size_t len) {
    kr_net_io io = {{op == KR__SIM_SEND ? &send_vt : &recv_vt},
                    s,
                    buf,
                    len,
                    0,
                    0,
                    KR_IO_WAITER_INIT};
    return io;
}
