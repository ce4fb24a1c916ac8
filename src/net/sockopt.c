/* net/sockopt.c: socket options on a descriptor (sockopt.h). */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kairo.h"
#include "net/sockopt.h"

int kr__opt_set(int fd, int level, int name, int v) {
    return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

int kr__opt_get(int fd, int level, int name) {
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -errno;
    return v < 0 ? KR_EINVAL : v; /* no option we read is negative */
}

int kr__opt_get_bool(int fd, int level, int name) {
    int v = kr__opt_get(fd, level, name);
    return v < 0 ? v : v != 0;
}

int kr__opt_set_linger(int fd, int seconds) {
    if (seconds < -1)
        return KR_EINVAL;
    struct linger l = {seconds >= 0, seconds >= 0 ? seconds : 0};
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0 ? -errno
                                                                    : 0;
}

int kr__opt_get_linger(int fd, int *seconds) {
    if (seconds == NULL)
        return KR_EINVAL;
    struct linger l = {0, 0};
    socklen_t len = sizeof(l);
    if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) < 0)
        return -errno;
    *seconds = l.l_onoff ? l.l_linger : -1;
    return 0;
}

int kr__opt_set_size(int fd, int name, uint32_t size) {
    if (size > INT_MAX)
        return KR_EINVAL;
    return kr__opt_set(fd, SOL_SOCKET, name, (int)size);
}

int kr__opt_family(int fd) { return kr__opt_get(fd, SOL_SOCKET, SO_DOMAIN); }

int kr__opt_set_ttl(int fd, uint32_t ttl) {
    if (ttl == 0 || ttl > 255)
        return KR_EINVAL;
    int fam = kr__opt_family(fd);
    if (fam < 0)
        return fam;
    if (fam == AF_INET6)
        return kr__opt_set(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, (int)ttl);
    if (fam == AF_INET)
        return kr__opt_set(fd, IPPROTO_IP, IP_TTL, (int)ttl);
    return KR_EAFNOSUPPORT;
}

int kr__opt_get_ttl(int fd) {
    int fam = kr__opt_family(fd);
    if (fam < 0)
        return fam;
    if (fam == AF_INET6)
        return kr__opt_get(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    if (fam == AF_INET)
        return kr__opt_get(fd, IPPROTO_IP, IP_TTL);
    return KR_EAFNOSUPPORT;
}
