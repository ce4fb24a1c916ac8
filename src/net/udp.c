/*
 * net/udp.c: kr_udp_socket: bind, connect, send_to / recv_from, and send /
 * recv on a connected socket.
 *
 * Datagram reads never clear readiness on a short result: a datagram
 * smaller than the buffer says nothing about the next one. Only EAGAIN
 * does (kr__sock_poll).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/sock.h"

#define SOCK(x) ((x) != NULL ? &(x)->s : NULL)

int kr_udp_socket_bind(kr_runtime *rt, const kr_sockaddr *addr,
                       kr_udp_socket **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (!kr__sockaddr_is_ip(addr) || kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    const kr__netsim_ops *sim = kr__netsim_of(rt);
    if (sim != NULL)
        return sim->bind(kr__net_runtime(rt), SOCK_DGRAM, addr, 0,
                         (kr__sock **)out);
    int fd = kr__sock_socket(addr->storage.family, SOCK_DGRAM);
    if (fd < 0)
        return fd;
    int rc;
    if (bind(fd, (const struct sockaddr *)&addr->storage, addr->len) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    kr__sock *s;
    rc = kr__sock_wrap(rt, fd, &s);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = (kr_udp_socket *)s;
    return 0;
}

int kr_udp_socket_from_fd(kr_runtime *rt, int fd, kr_udp_socket **out) {
    return kr__sock_adopt(rt, fd, SOCK_DGRAM, false, (kr__sock **)out);
}

void kr_udp_socket_free(kr_udp_socket *u) { kr__sock_close(SOCK(u)); }

int kr_udp_socket_connect(kr_udp_socket *u, const kr_sockaddr *addr) {
    if (u == NULL || !kr__sockaddr_is_ip(addr))
        return KR_EINVAL;
    if (u->s.sim != NULL)
        return u->s.sim->udp_connect(&u->s, addr);
    for (;;) {
        if (connect(u->s.fd, (const struct sockaddr *)&addr->storage,
                    addr->len) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

/* ---- send_to, recv_from ----------------------------------------------- */

int64_t kr__dgram_send_to_op(kr__sock *s, void *arg) {
    kr_udp_send_to *st = arg;
    for (;;) {
        ssize_t n =
            sendto(s->fd, st->buf_, st->len_, MSG_NOSIGNAL,
                   (const struct sockaddr *)&st->to_.storage, st->to_.len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

kr_poll kr__dgram_send_to_poll(kr_udp_send_to *st, kr_context *cx, void *out,
                               bool addr_ok) {
    int64_t res;
    kr__net_check_live(&st->base, st->held_);
    if (st->sock_ == NULL || (st->buf_ == NULL && st->len_ > 0) || !addr_ok)
        res = KR_EINVAL;
    else if (kr__sock_poll(st->sock_, &st->held_, &st->w_, cx, KR_WRITABLE,
                           kr__dgram_send_to_op, st, 0, &res) == KR_PENDING)
        return KR_PENDING;
    kr__sock_spend(st->sock_, &st->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static kr_poll send_to_poll(kr_future *f, kr_context *cx, void *out) {
    kr_udp_send_to *st = (kr_udp_send_to *)f;
    return kr__dgram_send_to_poll(st, cx, out, kr__sockaddr_is_ip(&st->to_));
}

void kr__dgram_send_to_drop(kr_future *f) {
    kr_udp_send_to *st = (kr_udp_send_to *)f;
    if (st->sock_ != NULL)
        kr__sock_unhold(st->sock_, &st->held_, &st->w_);
}

static const kr_future_vtable send_to_vt = {
    send_to_poll, kr__dgram_send_to_drop, sizeof(kr_udp_send_to),
    sizeof(int64_t), "kr_udp_send_to"};

kr_udp_send_to kr_udp_socket_send_to(kr_udp_socket *u, const void *buf,
                                     size_t len, const kr_sockaddr *to) {
    if (u != NULL && u->s.sim != NULL)
        return u->s.sim->send_to(&u->s, buf, len, to);
    kr_udp_send_to st = {{&send_to_vt}, SOCK(u),          buf, len, 0,
                         {{0}, 0},      KR_IO_WAITER_INIT};
    if (to != NULL && to->len <= sizeof(to->storage))
        st.to_ = *to; /* else empty: the poll says KR_EINVAL */
    return st;
}

static int64_t recv_from_flags(kr__sock *s, kr_udp_recv_from *rf, int flags) {
    for (;;) {
        kr_sockaddr from;
        from.len = sizeof(from.storage);
        ssize_t n = recvfrom(s->fd, rf->buf_, rf->len_, flags,
                             (struct sockaddr *)&from.storage, &from.len);
        if (n >= 0) {
            /* An unbound Unix sender comes with no address at all (len
             * 0); std and Tokio call it unnamed: say so (AF_UNIX, an
             * empty path), which IP sockets never produce. */
            if (from.len == 0) {
                from.storage.family = AF_UNIX;
                from.len = offsetof(struct sockaddr_un, sun_path);
            }
            if (rf->from_ != NULL)
                *rf->from_ = from;
            return n;
        }
        if (errno != EINTR)
            return -errno;
    }
}

static int64_t recv_from_op(kr__sock *s, void *arg) {
    return recv_from_flags(s, arg, 0);
}

static const kr_future_vtable peek_from_vt; /* defined below */

static int64_t peek_from_op(kr__sock *s, void *arg) {
    return recv_from_flags(s, arg, MSG_PEEK);
}

static kr_poll recv_from_poll(kr_future *f, kr_context *cx, void *out) {
    kr_udp_recv_from *rf = (kr_udp_recv_from *)f;
    kr__sock_op op =
        rf->base.vtable == &peek_from_vt ? peek_from_op : recv_from_op;
    int64_t res;
    kr__net_check_live(f, rf->held_);
    if (rf->sock_ == NULL || (rf->buf_ == NULL && rf->len_ > 0))
        res = KR_EINVAL;
    else if (kr__sock_poll(rf->sock_, &rf->held_, &rf->w_, cx, KR_READABLE, op,
                           rf, 0, &res) == KR_PENDING)
        return KR_PENDING;
    kr__sock_spend(rf->sock_, &rf->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static void recv_from_drop(kr_future *f) {
    kr_udp_recv_from *rf = (kr_udp_recv_from *)f;
    if (rf->sock_ != NULL)
        kr__sock_unhold(rf->sock_, &rf->held_, &rf->w_);
}

static const kr_future_vtable recv_from_vt = {
    recv_from_poll, recv_from_drop, sizeof(kr_udp_recv_from), sizeof(int64_t),
    "kr_udp_recv_from"};

static const kr_future_vtable peek_from_vt = {
    recv_from_poll, recv_from_drop, sizeof(kr_udp_recv_from), sizeof(int64_t),
    "kr_udp_peek_from"};

kr_udp_recv_from kr_udp_socket_peek_from(kr_udp_socket *u, void *buf,
                                         size_t len, kr_sockaddr *from) {
    kr_udp_recv_from rf = {{&peek_from_vt},  SOCK(u), buf, len, from, 0,
                           KR_IO_WAITER_INIT};
    return rf;
}

kr_udp_recv_from kr_udp_socket_recv_from(kr_udp_socket *u, void *buf,
                                         size_t len, kr_sockaddr *from) {
    if (u != NULL && u->s.sim != NULL)
        return u->s.sim->recv_from(&u->s, buf, len, from);
    kr_udp_recv_from rf = {{&recv_from_vt},  SOCK(u), buf, len, from, 0,
                           KR_IO_WAITER_INIT};
    return rf;
}

/* ---- connected: send, recv (net/stream.c) ------------------------------ */

kr_udp_send kr_udp_socket_send(kr_udp_socket *u, const void *buf, size_t len) {
    return kr__dgram_send(SOCK(u), buf, len);
}

kr_udp_recv kr_udp_socket_recv(kr_udp_socket *u, void *buf, size_t len) {
    return kr__dgram_recv(SOCK(u), buf, len);
}

int kr_udp_socket_local_addr(const kr_udp_socket *u, kr_sockaddr *out) {
    return kr__sock_name(SOCK(u), false, out);
}

int kr_udp_socket_peer_addr(const kr_udp_socket *u, kr_sockaddr *out) {
    return kr__sock_name(SOCK(u), true, out);
}

int kr_udp_socket_fd(const kr_udp_socket *u) {
    return u != NULL ? u->s.fd : -1;
}

/* ---- readiness, try_*, peek ---------------------------------------------- */

kr_udp_ready kr_udp_socket_ready(kr_udp_socket *u, int interest) {
    return kr__sock_ready(SOCK(u), interest);
}
kr_udp_ready kr_udp_socket_readable(kr_udp_socket *u) {
    return kr__sock_ready(SOCK(u), KR_READABLE);
}
kr_udp_ready kr_udp_socket_writable(kr_udp_socket *u) {
    return kr__sock_ready(SOCK(u), KR_WRITABLE);
}
kr_udp_recv kr_udp_socket_peek(kr_udp_socket *u, void *buf, size_t len) {
    return kr__stream_peek(SOCK(u), buf, len);
}
int64_t kr_udp_socket_try_send(kr_udp_socket *u, const void *buf, size_t len) {
    return kr__sock_try_send(SOCK(u), buf, len);
}
int64_t kr_udp_socket_try_recv(kr_udp_socket *u, void *buf, size_t len) {
    return kr__sock_try_recv(SOCK(u), buf, len, false);
}
int64_t kr_udp_socket_try_send_to(kr_udp_socket *u, const void *buf, size_t len,
                                  const kr_sockaddr *to) {
    if ((buf == NULL && len > 0) || !kr__sockaddr_is_ip(to))
        return KR_EINVAL;
    kr_udp_send_to st = {{NULL}, SOCK(u), buf, len, 0, *to, KR_IO_WAITER_INIT};
    return kr__sock_try(SOCK(u), KR_WRITABLE, kr__dgram_send_to_op, &st);
}
static int64_t try_recv_from(kr_udp_socket *u, void *buf, size_t len,
                             kr_sockaddr *from, kr__sock_op op) {
    if (buf == NULL && len > 0)
        return KR_EINVAL;
    kr_udp_recv_from rf = {{NULL}, SOCK(u),          buf, len, from,
                           0,      KR_IO_WAITER_INIT};
    return kr__sock_try(SOCK(u), KR_READABLE, op, &rf);
}
int64_t kr_udp_socket_try_recv_from(kr_udp_socket *u, void *buf, size_t len,
                                    kr_sockaddr *from) {
    return try_recv_from(u, buf, len, from, recv_from_op);
}
int64_t kr_udp_socket_try_peek_from(kr_udp_socket *u, void *buf, size_t len,
                                    kr_sockaddr *from) {
    return try_recv_from(u, buf, len, from, peek_from_op);
}
