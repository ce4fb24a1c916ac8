/*
 * net/tcp_socket.c: kr_tcp_socket, the TCP socket builder (Tokio's
 * TcpSocket): make a v4 or v6 socket, set options, bind, then turn it into
 * a listener (listen) or a stream (connect); and the option getters and
 * setters of streams and listeners.
 *
 * The builder's socket is not registered with a reactor: a fresh
 * unconnected stream socket polls as hung up (sock.h, "Registration
 * order"). listen registers it after listen(2); connect hands it to the
 * connect future, which registers it once connect(2) has started.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "net/sock.h"
#include "net/sockopt.h"
#include "util/alloc.h"

struct kr_tcp_socket {
    int fd;
};

static int make(int family, kr_tcp_socket **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    kr_tcp_socket *s = kr__malloc(sizeof(*s));
    if (s == NULL)
        return KR_ENOMEM;
    s->fd = kr__sock_socket(family, SOCK_STREAM);
    if (s->fd < 0) {
        int rc = s->fd;
        kr__free(s);
        return rc;
    }
    /* IPV6_V6ONLY stays at the system default, as with Tokio's (mio's)
     * v6 sockets. */
    *out = s;
    return 0;
}

int kr_tcp_socket_new_v4(kr_tcp_socket **out) { return make(AF_INET, out); }
int kr_tcp_socket_new_v6(kr_tcp_socket **out) { return make(AF_INET6, out); }

int kr_tcp_socket_new_for(const kr_sockaddr *addr, kr_tcp_socket **out) {
    if (out != NULL)
        *out = NULL;
    if (!kr__sockaddr_is_ip(addr))
        return KR_EINVAL;
    return make(addr->storage.family, out);
}

void kr_tcp_socket_free(kr_tcp_socket *s) {
    if (s == NULL)
        return;
    close(s->fd);
    kr__free(s);
}

int kr_tcp_socket_fd(const kr_tcp_socket *s) { return s != NULL ? s->fd : -1; }

/* Takes the fd out of the builder and frees it. */
static int take(kr_tcp_socket *s) {
    int fd = s->fd;
    kr__free(s);
    return fd;
}

#define FD_OR_EINVAL(s)                                                        \
    do {                                                                       \
        if ((s) == NULL)                                                       \
            return KR_EINVAL;                                                  \
    } while (0)

int kr_tcp_socket_set_reuseaddr(kr_tcp_socket *s, bool on) {
    FD_OR_EINVAL(s);
    return kr__opt_set(s->fd, SOL_SOCKET, SO_REUSEADDR, on);
}
int kr_tcp_socket_reuseaddr(const kr_tcp_socket *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get_bool(s->fd, SOL_SOCKET, SO_REUSEADDR);
}
int kr_tcp_socket_set_reuseport(kr_tcp_socket *s, bool on) {
    FD_OR_EINVAL(s);
    return kr__opt_set(s->fd, SOL_SOCKET, SO_REUSEPORT, on);
}
int kr_tcp_socket_reuseport(const kr_tcp_socket *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get_bool(s->fd, SOL_SOCKET, SO_REUSEPORT);
}
int kr_tcp_socket_set_keepalive(kr_tcp_socket *s, bool on) {
    FD_OR_EINVAL(s);
    return kr__opt_set(s->fd, SOL_SOCKET, SO_KEEPALIVE, on);
}
int kr_tcp_socket_keepalive(const kr_tcp_socket *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get_bool(s->fd, SOL_SOCKET, SO_KEEPALIVE);
}
int kr_tcp_socket_set_nodelay(kr_tcp_socket *s, bool on) {
    FD_OR_EINVAL(s);
    return kr__opt_set(s->fd, IPPROTO_TCP, TCP_NODELAY, on);
}
int kr_tcp_socket_nodelay(const kr_tcp_socket *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get_bool(s->fd, IPPROTO_TCP, TCP_NODELAY);
}
int kr_tcp_socket_set_linger(kr_tcp_socket *s, int seconds) {
    FD_OR_EINVAL(s);
    return kr__opt_set_linger(s->fd, seconds);
}
int kr_tcp_socket_linger(const kr_tcp_socket *s, int *seconds) {
    FD_OR_EINVAL(s);
    return kr__opt_get_linger(s->fd, seconds);
}
int kr_tcp_socket_set_send_buffer_size(kr_tcp_socket *s, uint32_t size) {
    FD_OR_EINVAL(s);
    return kr__opt_set_size(s->fd, SO_SNDBUF, size);
}
int kr_tcp_socket_send_buffer_size(const kr_tcp_socket *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get(s->fd, SOL_SOCKET, SO_SNDBUF);
}
int kr_tcp_socket_set_recv_buffer_size(kr_tcp_socket *s, uint32_t size) {
    FD_OR_EINVAL(s);
    return kr__opt_set_size(s->fd, SO_RCVBUF, size);
}
int kr_tcp_socket_recv_buffer_size(const kr_tcp_socket *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get(s->fd, SOL_SOCKET, SO_RCVBUF);
}

int kr_tcp_socket_bind(kr_tcp_socket *s, const kr_sockaddr *addr) {
    if (s == NULL || !kr__sockaddr_is_ip(addr))
        return KR_EINVAL;
    return bind(s->fd, (const struct sockaddr *)&addr->storage, addr->len) < 0
               ? -errno
               : 0;
}

int kr_tcp_socket_local_addr(const kr_tcp_socket *s, kr_sockaddr *out) {
    if (s == NULL || out == NULL)
        return KR_EINVAL;
    out->len = sizeof(out->storage);
    if (getsockname(s->fd, (struct sockaddr *)&out->storage, &out->len) < 0) {
        out->len = 0;
        return -errno;
    }
    return 0;
}

int kr_tcp_socket_take_error(kr_tcp_socket *s) {
    FD_OR_EINVAL(s);
    int e = kr__opt_get(s->fd, SOL_SOCKET, SO_ERROR);
    return e > 0 ? -e : e;
}

int kr_tcp_socket_listen(kr_tcp_socket *s, kr_runtime *rt, int backlog,
                         kr_tcp_listener **out) {
    if (out != NULL)
        *out = NULL;
    if (s == NULL)
        return KR_EINVAL;
    if (out == NULL || backlog < 0 || kr__net_runtime(rt) == NULL) {
        kr_tcp_socket_free(s);
        return KR_EINVAL;
    }
    int fd = take(s);
    int rc;
    if (listen(fd, backlog != 0 ? backlog : KR__LISTEN_BACKLOG) < 0)
        rc = -errno;
    else
        rc = kr__sock_wrap(rt, fd, (kr__sock **)out);
    if (rc < 0)
        close(fd);
    return rc;
}

kr_tcp_connect kr_tcp_socket_connect(kr_tcp_socket *s, const kr_sockaddr *addr,
                                     kr_tcp_stream **out) {
    if (s == NULL)
        return kr__connect(addr, KR_EINVAL, (void **)out);
    int fd = take(s);
    return kr__connect_fd(fd, addr, kr__sockaddr_is_ip(addr) ? 0 : KR_EINVAL,
                          (void **)out);
}

/* ---- streams and listeners ---------------------------------------------- */

int kr_tcp_stream_nodelay(const kr_tcp_stream *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get_bool(s->s.fd, IPPROTO_TCP, TCP_NODELAY);
}
int kr_tcp_stream_linger(const kr_tcp_stream *s, int *seconds) {
    FD_OR_EINVAL(s);
    return kr__opt_get_linger(s->s.fd, seconds);
}
int kr_tcp_stream_set_ttl(kr_tcp_stream *s, uint32_t ttl) {
    FD_OR_EINVAL(s);
    return kr__opt_set_ttl(s->s.fd, ttl);
}
int kr_tcp_stream_ttl(const kr_tcp_stream *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get_ttl(s->s.fd);
}
int kr_tcp_stream_set_keepalive(kr_tcp_stream *s, bool on) {
    FD_OR_EINVAL(s);
    return kr__opt_set(s->s.fd, SOL_SOCKET, SO_KEEPALIVE, on);
}
int kr_tcp_stream_keepalive(const kr_tcp_stream *s) {
    FD_OR_EINVAL(s);
    return kr__opt_get_bool(s->s.fd, SOL_SOCKET, SO_KEEPALIVE);
}
int kr_tcp_stream_take_error(kr_tcp_stream *s) {
    FD_OR_EINVAL(s);
    int e = kr__opt_get(s->s.fd, SOL_SOCKET, SO_ERROR);
    return e > 0 ? -e : e;
}
int kr_tcp_listener_set_ttl(kr_tcp_listener *l, uint32_t ttl) {
    FD_OR_EINVAL(l);
    return kr__opt_set_ttl(l->s.fd, ttl);
}
int kr_tcp_listener_ttl(const kr_tcp_listener *l) {
    FD_OR_EINVAL(l);
    return kr__opt_get_ttl(l->s.fd);
}
