/*
 * net/unix_cred.c: Unix peer credentials (SO_PEERCRED: Tokio's
 * UnixStream::peer_cred) and the kind of a Unix address (unnamed,
 * pathname, abstract: std's SocketAddr::is_unnamed / as_pathname /
 * as_abstract_name).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "net/sock.h"

static int peer_cred(int fd, kr_unix_cred *out) {
    if (out == NULL)
        return KR_EINVAL;
    struct ucred uc;
    socklen_t len = sizeof(uc);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
        return -errno;
    out->pid = uc.pid;
    out->uid = uc.uid;
    out->gid = uc.gid;
    return 0;
}

int kr_unix_stream_peer_cred(const kr_unix_stream *s, kr_unix_cred *out) {
    if (s == NULL)
        return KR_EINVAL;
    return peer_cred(s->s.fd, out);
}

int kr_sockaddr_unix_kind(const kr_sockaddr *a) {
    if (a == NULL || a->storage.family != AF_UNIX ||
        a->len > sizeof(struct sockaddr_un) ||
        a->len < offsetof(struct sockaddr_un, sun_path))
        return KR_EINVAL;
    size_t n = a->len - offsetof(struct sockaddr_un, sun_path);
    if (n == 0)
        return KR_UNIX_UNNAMED;
    const unsigned char *p =
        a->storage.bytes_ + offsetof(struct sockaddr_un, sun_path);
    return p[0] == '\0' ? KR_UNIX_ABSTRACT : KR_UNIX_PATHNAME;
}

int kr_sockaddr_unix_name(const kr_sockaddr *a, char *buf, size_t size) {
    int kind = kr_sockaddr_unix_kind(a);
    if (kind < 0 || buf == NULL || size == 0)
        return KR_EINVAL;
    size_t n = a->len - offsetof(struct sockaddr_un, sun_path);
    const char *p = (const char *)a->storage.bytes_ +
                    offsetof(struct sockaddr_un, sun_path);
    if (kind == KR_UNIX_ABSTRACT) {
        p++; /* the leading NUL */
        n--;
    } else if (kind == KR_UNIX_PATHNAME) {
        n = strnlen(p, n); /* a pathname may carry its NUL in len */
    }
    if (n + 1 > size) {
        buf[0] = '\0';
        return KR_ERANGE;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    return (int)n;
}
