/*
 * net/tcp_listener.c: kr_tcp_listener: bind (SO_REUSEADDR always,
 * SO_REUSEPORT on request), adopt, accept (net/accept.c).
 */
#include <errno.h>
#include <unistd.h>

#include "net/sock.h"

int kr_tcp_listener_bind(kr_runtime *rt, const kr_sockaddr *addr,
                         const kr_tcp_listen_options *opts,
                         kr_tcp_listener **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (!kr__sockaddr_is_ip(addr) || kr__net_runtime(rt) == NULL)
        return KR_EINVAL;
    int backlog = opts != NULL ? opts->backlog : 0;
    if (backlog < 0)
        return KR_EINVAL;
    if (backlog == 0)
        backlog = KR__LISTEN_BACKLOG;
    const kr__netsim_ops *sim = kr__netsim_of(rt);
    if (sim != NULL)
        return sim->bind(kr__net_runtime(rt), SOCK_STREAM, addr, backlog,
                         (kr__sock **)out);
    int fd = kr__sock_socket(addr->storage.family, SOCK_STREAM);
    if (fd < 0)
        return fd;
    int one = 1, rc;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (opts != NULL && opts->reuseport &&
         setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return kr__sock_listen(rt, fd, addr, backlog, (kr__sock **)out);
}

int kr_tcp_listener_from_fd(kr_runtime *rt, int fd, kr_tcp_listener **out) {
    return kr__sock_adopt(rt, fd, SOCK_STREAM, true, (kr__sock **)out);
}

void kr_tcp_listener_free(kr_tcp_listener *l) {
    kr__sock_close(l != NULL ? &l->s : NULL);
}

int kr_tcp_listener_local_addr(const kr_tcp_listener *l, kr_sockaddr *out) {
    return kr__sock_name(l != NULL ? &l->s : NULL, false, out);
}

int kr_tcp_listener_fd(const kr_tcp_listener *l) {
    return l != NULL ? l->s.fd : -1;
}

kr_tcp_accept kr_tcp_listener_accept(kr_tcp_listener *l, kr_tcp_stream **stream,
                                     kr_sockaddr *peer) {
    return kr__accept(l != NULL ? &l->s : NULL, (void **)stream, peer);
}
