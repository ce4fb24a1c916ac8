/*
 * net/unix_dgram.c: kr_unix_datagram, Unix-domain datagram sockets
 * (Tokio's UnixDatagram): bound, unbound and pairs; send_to / recv_from;
 * connect, then send / recv; readiness and try_*.
 *
 * The socket object is a kr__sock as every other (sock.h); the receive
 * futures are UDP's (a recvfrom does not care about the family) and the
 * connected send / recv are the shared datagram ones (net/stream.c). Only
 * send_to needs its own future: its address is a Unix one.
 */
#include <errno.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/sock.h"
#include "net/sockopt.h"

struct kr_unix_datagram {
    kr__sock s;
};

#define SOCK(x)   ((x) != NULL ? &(x)->s : NULL)
/* The UDP receive futures work on any datagram kr__sock. */
#define AS_UDP(x) ((kr_udp_socket *)(void *)(x))

/* Makes an unbound datagram socket and registers it. A datagram socket
 * may be registered at once: it never polls as hung up. */
static int make(kr_runtime *rt, int *fdp, kr__sock **out) {
    int fd = kr__sock_socket(AF_UNIX, SOCK_DGRAM);
    if (fd < 0)
        return fd;
    int rc = kr__sock_wrap(rt, fd, out);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *fdp = fd;
    return 0;
}

int kr_unix_datagram_unbound(kr_runtime *rt, kr_unix_datagram **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    if (kr__netsim_of(rt) != NULL)
        return KR_ENOIO; /* not simulated (kairo/sim.h) */
    int fd;
    return make(rt, &fd, (kr__sock **)out);
}

int kr_unix_datagram_bind(kr_runtime *rt, const char *path,
                          kr_unix_datagram **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    if (kr__netsim_of(rt) != NULL)
        return KR_ENOIO; /* not simulated: no file is made (kairo/sim.h) */
    kr_sockaddr a;
    int rc = kr_sockaddr_unix(path, &a);
    if (rc < 0)
        return rc;
    int fd = kr__sock_socket(AF_UNIX, SOCK_DGRAM);
    if (fd < 0)
        return fd;
    if (bind(fd, (const struct sockaddr *)&a.storage, a.len) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rc = kr__sock_wrap(rt, fd, (kr__sock **)out);
    if (rc < 0)
        close(fd);
    return rc;
}

int kr_unix_datagram_pair(kr_runtime *rt, kr_unix_datagram **a,
                          kr_unix_datagram **b) {
    if (a == NULL || b == NULL)
        return KR_EINVAL;
    *a = *b = NULL;
    if (kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    if (kr__netsim_of(rt) != NULL)
        return KR_ENOIO;
    kr__sock *x, *y;
    int rc = kr__sock_pair(rt, SOCK_DGRAM, &x, &y);
    if (rc < 0)
        return rc;
    *a = (kr_unix_datagram *)x;
    *b = (kr_unix_datagram *)y;
    return 0;
}

int kr_unix_datagram_from_fd(kr_runtime *rt, int fd, kr_unix_datagram **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (fd >= 0 && kr__opt_family(fd) != AF_UNIX)
        return KR_EINVAL;
    return kr__sock_adopt(rt, fd, SOCK_DGRAM, false, (kr__sock **)out);
}

void kr_unix_datagram_free(kr_unix_datagram *u) { kr__sock_close(SOCK(u)); }

int kr_unix_datagram_connect(kr_unix_datagram *u, const char *path) {
    if (u == NULL)
        return KR_EINVAL;
    kr_sockaddr a;
    int rc = kr_sockaddr_unix(path, &a);
    if (rc < 0)
        return rc;
    for (;;) {
        if (connect(u->s.fd, (const struct sockaddr *)&a.storage, a.len) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

/* ---- send_to ------------------------------------------------------------ */

/* UDP's future (net/udp.c) with the Unix address check: a bad path made an
 * empty address. */
static kr_poll send_to_poll(kr_future *f, kr_context *cx, void *out) {
    kr_udp_send_to *st = (kr_udp_send_to *)f;
    return kr__dgram_send_to_poll(st, cx, out, st->to_.len != 0);
}

static const kr_future_vtable send_to_vt = {
    send_to_poll, kr__dgram_send_to_drop, sizeof(kr_udp_send_to),
    sizeof(int64_t), "kr_unix_datagram_send_to"};

/* The address for `path`, or an empty one (the poll says KR_EINVAL; the
 * error code of a bad path is kept in *err for try_send_to). */
static kr_sockaddr to_addr(const char *path, int *err) {
    kr_sockaddr a;
    int rc = kr_sockaddr_unix(path, &a);
    if (rc < 0)
        memset(&a, 0, sizeof(a));
    if (err != NULL)
        *err = rc;
    return a;
}

kr_unix_send_to kr_unix_datagram_send_to(kr_unix_datagram *u, const void *buf,
                                         size_t len, const char *path) {
    kr_udp_send_to st = {{&send_to_vt},       SOCK(u),          buf, len, 0,
                         to_addr(path, NULL), KR_IO_WAITER_INIT};
    return st;
}

kr_unix_recv_from kr_unix_datagram_recv_from(kr_unix_datagram *u, void *buf,
                                             size_t len, kr_sockaddr *from) {
    return kr_udp_socket_recv_from(AS_UDP(u), buf, len, from);
}

kr_unix_recv_from kr_unix_datagram_peek_from(kr_unix_datagram *u, void *buf,
                                             size_t len, kr_sockaddr *from) {
    return kr_udp_socket_peek_from(AS_UDP(u), buf, len, from);
}

kr_unix_dgram_io kr_unix_datagram_send(kr_unix_datagram *u, const void *buf,
                                       size_t len) {
    return kr__dgram_send(SOCK(u), buf, len);
}

kr_unix_dgram_io kr_unix_datagram_recv(kr_unix_datagram *u, void *buf,
                                       size_t len) {
    return kr__dgram_recv(SOCK(u), buf, len);
}

/* ---- readiness, try_* ---------------------------------------------------- */

kr_unix_ready kr_unix_datagram_ready(kr_unix_datagram *u, int interest) {
    return kr__sock_ready(SOCK(u), interest);
}
kr_unix_ready kr_unix_datagram_readable(kr_unix_datagram *u) {
    return kr__sock_ready(SOCK(u), KR_READABLE);
}
kr_unix_ready kr_unix_datagram_writable(kr_unix_datagram *u) {
    return kr__sock_ready(SOCK(u), KR_WRITABLE);
}
int64_t kr_unix_datagram_try_send(kr_unix_datagram *u, const void *buf,
                                  size_t len) {
    return kr__sock_try_send(SOCK(u), buf, len);
}
int64_t kr_unix_datagram_try_recv(kr_unix_datagram *u, void *buf, size_t len) {
    return kr__sock_try_recv(SOCK(u), buf, len, false);
}
int64_t kr_unix_datagram_try_send_to(kr_unix_datagram *u, const void *buf,
                                     size_t len, const char *path) {
    int err;
    kr_udp_send_to st = {
        {NULL}, SOCK(u), buf, len, 0, to_addr(path, &err), KR_IO_WAITER_INIT};
    if (err < 0)
        return err;
    if (buf == NULL && len > 0)
        return KR_EINVAL;
    return kr__sock_try(SOCK(u), KR_WRITABLE, kr__dgram_send_to_op, &st);
}
int64_t kr_unix_datagram_try_recv_from(kr_unix_datagram *u, void *buf,
                                       size_t len, kr_sockaddr *from) {
    return kr_udp_socket_try_recv_from(AS_UDP(u), buf, len, from);
}

int kr_unix_datagram_shutdown(kr_unix_datagram *u, int how) {
    return kr__sock_shutdown(SOCK(u), how);
}
int kr_unix_datagram_local_addr(const kr_unix_datagram *u, kr_sockaddr *out) {
    return kr__sock_name(SOCK(u), false, out);
}
int kr_unix_datagram_peer_addr(const kr_unix_datagram *u, kr_sockaddr *out) {
    return kr__sock_name(SOCK(u), true, out);
}
int kr_unix_datagram_fd(const kr_unix_datagram *u) {
    return u != NULL ? u->s.fd : -1;
}
