/*
 * net/unix.c: Unix-domain stream sockets: kr_unix_listener and
 * kr_unix_stream. The same kr__sock and futures as TCP; what differs is
 * the address (a path, or '@' for the abstract namespace) and unlinking,
 * which kairo leaves to the application (net.h says why).
 */
#include <errno.h>
#include <unistd.h>

#include "net/sock.h"

#define SOCK(x) ((x) != NULL ? &(x)->s : NULL)

int kr_unix_listener_bind(kr_runtime *rt, const char *path, int backlog,
                          kr_unix_listener **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (backlog < 0 || kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    if (kr__netsim_of(rt) != NULL)
        return KR_ENOIO; /* not simulated: no file is made (kairo/sim.h) */
    kr_sockaddr a;
    int rc = kr_sockaddr_unix(path, &a);
    if (rc < 0)
        return rc;
    int fd = kr__sock_socket(AF_UNIX, SOCK_STREAM);
    if (fd < 0)
        return fd;
    return kr__sock_listen(rt, fd, &a,
                           backlog != 0 ? backlog : KR__LISTEN_BACKLOG,
                           (kr__sock **)out);
}

int kr_unix_listener_from_fd(kr_runtime *rt, int fd, kr_unix_listener **out) {
    return kr__sock_adopt(rt, fd, SOCK_STREAM, true, (kr__sock **)out);
}

void kr_unix_listener_free(kr_unix_listener *l) { kr__sock_close(SOCK(l)); }

int kr_unix_listener_local_addr(const kr_unix_listener *l, kr_sockaddr *out) {
    return kr__sock_name(SOCK(l), false, out);
}

int kr_unix_listener_fd(const kr_unix_listener *l) {
    return l != NULL ? l->s.fd : -1;
}

kr_unix_accept kr_unix_listener_accept(kr_unix_listener *l,
                                       kr_unix_stream **stream,
                                       kr_sockaddr *peer) {
    return kr__accept(SOCK(l), (void **)stream, peer);
}

/* ---- streams ------------------------------------------------------------ */

kr_unix_connect kr_unix_stream_connect(const char *path, kr_unix_stream **out) {
    kr_sockaddr a;
    int rc = kr_sockaddr_unix(path, &a);
    if (rc == 0 && kr__netsim_of(NULL) != NULL)
        rc = KR_ENOIO; /* not simulated: never reaches the host's sockets */
    return kr__connect(&a, rc, (void **)out);
}

int kr_unix_stream_pair(kr_runtime *rt, kr_unix_stream **a,
                        kr_unix_stream **b) {
    if (a == NULL || b == NULL)
        return KR_EINVAL;
    *a = *b = NULL;
    if (kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    if (kr__netsim_of(rt) != NULL)
        return KR_ENOIO;
    kr__sock *x, *y;
    int rc = kr__sock_pair(rt, SOCK_STREAM, &x, &y);
    if (rc < 0)
        return rc;
    *a = (kr_unix_stream *)x;
    *b = (kr_unix_stream *)y;
    return 0;
}

int kr_unix_stream_from_fd(kr_runtime *rt, int fd, kr_unix_stream **out) {
    return kr__sock_adopt(rt, fd, SOCK_STREAM, false, (kr__sock **)out);
}

void kr_unix_stream_free(kr_unix_stream *s) { kr__sock_close(SOCK(s)); }

kr_unix_read kr_unix_stream_read(kr_unix_stream *s, void *buf, size_t len) {
    return kr__stream_read(SOCK(s), buf, len);
}

kr_unix_write kr_unix_stream_write(kr_unix_stream *s, const void *buf,
                                   size_t len) {
    return kr__stream_write(SOCK(s), buf, len);
}

kr_unix_writev kr_unix_stream_writev(kr_unix_stream *s, const struct iovec *iov,
                                     int iovcnt) {
    return kr__stream_writev(SOCK(s), iov, iovcnt);
}

kr_unix_read_exact kr_unix_stream_read_exact(kr_unix_stream *s, void *buf,
                                             size_t len) {
    return kr__stream_read_exact(SOCK(s), buf, len);
}

kr_unix_write_all kr_unix_stream_write_all(kr_unix_stream *s, const void *buf,
                                           size_t len) {
    return kr__stream_write_all(SOCK(s), buf, len);
}

int kr_unix_stream_shutdown(kr_unix_stream *s, int how) {
    return kr__sock_shutdown(SOCK(s), how);
}

int kr_unix_stream_peer_addr(const kr_unix_stream *s, kr_sockaddr *out) {
    return kr__sock_name(SOCK(s), true, out);
}

int kr_unix_stream_local_addr(const kr_unix_stream *s, kr_sockaddr *out) {
    return kr__sock_name(SOCK(s), false, out);
}

int kr_unix_stream_fd(const kr_unix_stream *s) {
    return s != NULL ? s->s.fd : -1;
}

/* ---- readiness, try_*, poll-style --------------------------------------- */

kr_unix_ready kr_unix_stream_ready(kr_unix_stream *s, int interest) {
    return kr__sock_ready(SOCK(s), interest);
}
kr_unix_ready kr_unix_stream_readable(kr_unix_stream *s) {
    return kr__sock_ready(SOCK(s), KR_READABLE);
}
kr_unix_ready kr_unix_stream_writable(kr_unix_stream *s) {
    return kr__sock_ready(SOCK(s), KR_WRITABLE);
}
int64_t kr_unix_stream_try_read(kr_unix_stream *s, void *buf, size_t len) {
    return kr__sock_try_recv(SOCK(s), buf, len, false);
}
int64_t kr_unix_stream_try_write(kr_unix_stream *s, const void *buf,
                                 size_t len) {
    return kr__sock_try_send(SOCK(s), buf, len);
}
int64_t kr_unix_stream_try_read_vectored(kr_unix_stream *s,
                                         const struct iovec *iov, int iovcnt) {
    return kr__sock_try_recvv(SOCK(s), iov, iovcnt);
}
int64_t kr_unix_stream_try_write_vectored(kr_unix_stream *s,
                                          const struct iovec *iov, int iovcnt) {
    return kr__sock_try_sendv(SOCK(s), iov, iovcnt);
}
kr_poll kr_unix_stream_poll_read(kr_unix_stream *s, kr_context *cx, void *buf,
                                 size_t len, int64_t *res) {
    return kr__stream_poll_read(SOCK(s), cx, buf, len, res);
}
kr_poll kr_unix_stream_poll_write(kr_unix_stream *s, kr_context *cx,
                                  const void *buf, size_t len, int64_t *res) {
    return kr__stream_poll_write(SOCK(s), cx, buf, len, res);
}
kr_poll kr_unix_stream_poll_writev(kr_unix_stream *s, kr_context *cx,
                                   const struct iovec *iov, int iovcnt,
                                   int64_t *res) {
    return kr__stream_poll_writev(SOCK(s), cx, iov, iovcnt, res);
}
