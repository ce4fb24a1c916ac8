/*
 * net/udp_opts.c: UDP socket options (Tokio's UdpSocket setters and
 * getters): broadcast, TTL, multicast TTL and loop, and joining and
 * leaving multicast groups, IPv4 and IPv6.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "net/sock.h"
#include "net/sockopt.h"

#define FD_OR_EINVAL(u)                                                        \
    do {                                                                       \
        if ((u) == NULL)                                                       \
            return KR_EINVAL;                                                  \
    } while (0)

int kr_udp_socket_set_broadcast(kr_udp_socket *u, bool on) {
    FD_OR_EINVAL(u);
    return kr__opt_set(u->s.fd, SOL_SOCKET, SO_BROADCAST, on);
}
int kr_udp_socket_broadcast(const kr_udp_socket *u) {
    FD_OR_EINVAL(u);
    return kr__opt_get_bool(u->s.fd, SOL_SOCKET, SO_BROADCAST);
}
int kr_udp_socket_set_ttl(kr_udp_socket *u, uint32_t ttl) {
    FD_OR_EINVAL(u);
    return kr__opt_set_ttl(u->s.fd, ttl);
}
int kr_udp_socket_ttl(const kr_udp_socket *u) {
    FD_OR_EINVAL(u);
    return kr__opt_get_ttl(u->s.fd);
}
int kr_udp_socket_set_multicast_loop_v4(kr_udp_socket *u, bool on) {
    FD_OR_EINVAL(u);
    return kr__opt_set(u->s.fd, IPPROTO_IP, IP_MULTICAST_LOOP, on);
}
int kr_udp_socket_multicast_loop_v4(const kr_udp_socket *u) {
    FD_OR_EINVAL(u);
    return kr__opt_get_bool(u->s.fd, IPPROTO_IP, IP_MULTICAST_LOOP);
}
int kr_udp_socket_set_multicast_ttl_v4(kr_udp_socket *u, uint32_t ttl) {
    if (u == NULL || ttl > 255)
        return KR_EINVAL;
    return kr__opt_set(u->s.fd, IPPROTO_IP, IP_MULTICAST_TTL, (int)ttl);
}
int kr_udp_socket_multicast_ttl_v4(const kr_udp_socket *u) {
    FD_OR_EINVAL(u);
    return kr__opt_get(u->s.fd, IPPROTO_IP, IP_MULTICAST_TTL);
}
int kr_udp_socket_set_multicast_loop_v6(kr_udp_socket *u, bool on) {
    FD_OR_EINVAL(u);
    return kr__opt_set(u->s.fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on);
}
int kr_udp_socket_multicast_loop_v6(const kr_udp_socket *u) {
    FD_OR_EINVAL(u);
    return kr__opt_get_bool(u->s.fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP);
}

static int v4_of(const kr_sockaddr *a, struct in_addr *out) {
    if (a == NULL || a->storage.family != AF_INET ||
        a->len < sizeof(struct sockaddr_in))
        return KR_EINVAL;
    struct sockaddr_in sin;
    memcpy(&sin, &a->storage, sizeof(sin));
    *out = sin.sin_addr;
    return 0;
}

static int group_v4(kr_udp_socket *u, const kr_sockaddr *group,
                    const kr_sockaddr *iface, int op) {
    FD_OR_EINVAL(u);
    struct ip_mreq m;
    memset(&m, 0, sizeof(m));
    if (v4_of(group, &m.imr_multiaddr) < 0)
        return KR_EINVAL;
    if (iface == NULL)
        m.imr_interface.s_addr = htonl(INADDR_ANY);
    else if (v4_of(iface, &m.imr_interface) < 0)
        return KR_EINVAL;
    return setsockopt(u->s.fd, IPPROTO_IP, op, &m, sizeof(m)) < 0 ? -errno : 0;
}

int kr_udp_socket_join_multicast_v4(kr_udp_socket *u, const kr_sockaddr *group,
                                    const kr_sockaddr *iface) {
    return group_v4(u, group, iface, IP_ADD_MEMBERSHIP);
}
int kr_udp_socket_leave_multicast_v4(kr_udp_socket *u, const kr_sockaddr *group,
                                     const kr_sockaddr *iface) {
    return group_v4(u, group, iface, IP_DROP_MEMBERSHIP);
}

static int group_v6(kr_udp_socket *u, const kr_sockaddr *group,
                    unsigned ifindex, int op) {
    if (u == NULL || group == NULL || group->storage.family != AF_INET6 ||
        group->len < sizeof(struct sockaddr_in6))
        return KR_EINVAL;
    struct sockaddr_in6 sin6;
    memcpy(&sin6, &group->storage, sizeof(sin6));
    struct ipv6_mreq m;
    memset(&m, 0, sizeof(m));
    m.ipv6mr_multiaddr = sin6.sin6_addr;
    m.ipv6mr_interface = ifindex;
    return setsockopt(u->s.fd, IPPROTO_IPV6, op, &m, sizeof(m)) < 0 ? -errno
                                                                    : 0;
}

int kr_udp_socket_join_multicast_v6(kr_udp_socket *u, const kr_sockaddr *group,
                                    unsigned ifindex) {
    return group_v6(u, group, ifindex, IPV6_JOIN_GROUP);
}
int kr_udp_socket_leave_multicast_v6(kr_udp_socket *u, const kr_sockaddr *group,
                                     unsigned ifindex) {
    return group_v6(u, group, ifindex, IPV6_LEAVE_GROUP);
}
