/*
 * net/tcp_stream.c: kr_tcp_stream: connect (net/connect.c), the stream
 * futures (net/stream.c), half-close and the TCP socket options.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>

#include "net/sock.h"

#define SOCK(x) ((x) != NULL ? &(x)->s : NULL)

kr_tcp_connect kr_tcp_stream_connect(const kr_sockaddr *addr,
                                     kr_tcp_stream **out) {
    const kr__netsim_ops *sim = kr__netsim_of(NULL);
    if (sim != NULL && kr__sockaddr_is_ip(addr))
        return sim->connect(addr, (void **)out);
    return kr__connect(addr, kr__sockaddr_is_ip(addr) ? 0 : KR_EINVAL,
                       (void **)out);
}

int kr_tcp_stream_from_fd(kr_runtime *rt, int fd, kr_tcp_stream **out) {
    return kr__sock_adopt(rt, fd, SOCK_STREAM, false, (kr__sock **)out);
}

void kr_tcp_stream_free(kr_tcp_stream *s) { kr__sock_close(SOCK(s)); }

kr_tcp_read kr_tcp_stream_read(kr_tcp_stream *s, void *buf, size_t len) {
    return kr__stream_read(SOCK(s), buf, len);
}

kr_tcp_write kr_tcp_stream_write(kr_tcp_stream *s, const void *buf,
                                 size_t len) {
    return kr__stream_write(SOCK(s), buf, len);
}

kr_tcp_writev kr_tcp_stream_writev(kr_tcp_stream *s, const struct iovec *iov,
                                   int iovcnt) {
    return kr__stream_writev(SOCK(s), iov, iovcnt);
}

kr_tcp_read_exact kr_tcp_stream_read_exact(kr_tcp_stream *s, void *buf,
                                           size_t len) {
    return kr__stream_read_exact(SOCK(s), buf, len);
}

kr_tcp_write_all kr_tcp_stream_write_all(kr_tcp_stream *s, const void *buf,
                                         size_t len) {
    return kr__stream_write_all(SOCK(s), buf, len);
}

int kr_tcp_stream_shutdown(kr_tcp_stream *s, int how) {
    /* ENOTCONN means the connection is already gone (the peer reset it,
     * or the kernel gave up on it): what shutting down asks for holds.
     * Reporting it would make the caller race the peer's RST, which is
     * why Tokio maps it to success too (tokio#4665). */
    int rc = kr__sock_shutdown(SOCK(s), how);
    return rc == KR_ENOTCONN ? 0 : rc;
}

int kr_tcp_stream_set_nodelay(kr_tcp_stream *s, bool on) {
    if (s == NULL)
        return KR_EINVAL;
    if (s->s.sim != NULL)
        return 0; /* no Nagle in the simulation */
    int v = on;
    return setsockopt(s->s.fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) < 0
               ? -errno
               : 0;
}

int kr_tcp_stream_set_linger(kr_tcp_stream *s, int seconds) {
    if (s == NULL || seconds < -1)
        return KR_EINVAL;
    if (s->s.sim != NULL)
        return 0;
    struct linger l = {seconds >= 0, seconds >= 0 ? seconds : 0};
    return setsockopt(s->s.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0
               ? -errno
               : 0;
}

int kr_tcp_stream_peer_addr(const kr_tcp_stream *s, kr_sockaddr *out) {
    return kr__sock_name(SOCK(s), true, out);
}

int kr_tcp_stream_local_addr(const kr_tcp_stream *s, kr_sockaddr *out) {
    return kr__sock_name(SOCK(s), false, out);
}

int kr_tcp_stream_fd(const kr_tcp_stream *s) {
    return s != NULL ? s->s.fd : -1;
}

/* ---- readiness, try_*, peek, poll-style --------------------------------- */

kr_tcp_ready kr_tcp_stream_ready(kr_tcp_stream *s, int interest) {
    return kr__sock_ready(SOCK(s), interest);
}
kr_tcp_ready kr_tcp_stream_readable(kr_tcp_stream *s) {
    return kr__sock_ready(SOCK(s), KR_READABLE);
}
kr_tcp_ready kr_tcp_stream_writable(kr_tcp_stream *s) {
    return kr__sock_ready(SOCK(s), KR_WRITABLE);
}
int64_t kr_tcp_stream_try_read(kr_tcp_stream *s, void *buf, size_t len) {
    return kr__sock_try_recv(SOCK(s), buf, len, false);
}
int64_t kr_tcp_stream_try_write(kr_tcp_stream *s, const void *buf, size_t len) {
    return kr__sock_try_send(SOCK(s), buf, len);
}
int64_t kr_tcp_stream_try_read_vectored(kr_tcp_stream *s,
                                        const struct iovec *iov, int iovcnt) {
    return kr__sock_try_recvv(SOCK(s), iov, iovcnt);
}
int64_t kr_tcp_stream_try_write_vectored(kr_tcp_stream *s,
                                         const struct iovec *iov, int iovcnt) {
    return kr__sock_try_sendv(SOCK(s), iov, iovcnt);
}
kr_tcp_peek kr_tcp_stream_peek(kr_tcp_stream *s, void *buf, size_t len) {
    return kr__stream_peek(SOCK(s), buf, len);
}
kr_poll kr_tcp_stream_poll_read(kr_tcp_stream *s, kr_context *cx, void *buf,
                                size_t len, int64_t *res) {
    return kr__stream_poll_read(SOCK(s), cx, buf, len, res);
}
kr_poll kr_tcp_stream_poll_write(kr_tcp_stream *s, kr_context *cx,
                                 const void *buf, size_t len, int64_t *res) {
    return kr__stream_poll_write(SOCK(s), cx, buf, len, res);
}
kr_poll kr_tcp_stream_poll_writev(kr_tcp_stream *s, kr_context *cx,
                                  const struct iovec *iov, int iovcnt,
                                  int64_t *res) {
    return kr__stream_poll_writev(SOCK(s), cx, iov, iovcnt, res);
}
