/*
 * kairo/net_udp.h: UDP sockets: bind, connect, send and receive, peek,
 * readiness and try_*, and their options (broadcast, TTL, multicast).
 * The conventions (objects, futures, sharing, cancellation, freeing,
 * errors) are net.h's, which includes this header.
 */
#ifndef KAIRO_NET_UDP_H
#define KAIRO_NET_UDP_H

#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* UDP                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct kr_udp_socket kr_udp_socket;

typedef struct kr_udp_send_to {
    kr_future base;
    void *sock_;
    const void *buf_;
    size_t len_;
    int held_;
    kr_sockaddr to_;
    kr_io_waiter w_;
} kr_udp_send_to;

typedef struct kr_udp_recv_from {
    kr_future base;
    void *sock_;
    void *buf_;
    size_t len_;
    kr_sockaddr *from_;
    int held_;
    kr_io_waiter w_;
} kr_udp_recv_from;

/*
 * Binds a UDP socket to `addr` (port 0 picks one). Returns 0, KR_EINVAL
 * (NULL, not IP, no runtime), KR_EADDRINUSE, KR_EADDRNOTAVAIL, KR_EACCES,
 * KR_EAFNOSUPPORT, KR_EMFILE, KR_ENFILE, KR_ENOBUFS, KR_ENOMEM,
 * KR_ESHUTDOWN.
 */
KR_API int kr_udp_socket_bind(kr_runtime *rt, const kr_sockaddr *addr,
                              kr_udp_socket **out);

/* Adopts a UDP socket, as kr_tcp_listener_from_fd. Returns 0, KR_EINVAL
 * (NULL out, fd < 0, no runtime, not a datagram socket), KR_ENOTSOCK,
 * KR_EBADF, KR_ENOMEM, KR_ESHUTDOWN. */
KR_API int kr_udp_socket_from_fd(kr_runtime *rt, int fd, kr_udp_socket **out);

/* Closes and frees (see "Freeing with futures around"). NULL is ignored. */
KR_API void kr_udp_socket_free(kr_udp_socket *u);

/*
 * Sets the default peer (connect(2) on UDP: immediate): send and recv then
 * work, and datagrams from other addresses are dropped. Returns 0,
 * KR_EINVAL (NULL, not IP), KR_EAFNOSUPPORT (family mismatch),
 * KR_ENETUNREACH, KR_EHOSTUNREACH.
 */
KR_API int kr_udp_socket_connect(kr_udp_socket *u, const kr_sockaddr *addr);

/*
 * Sends one datagram to `to` (copied when made). Output: an int64_t, len,
 * or KR_EMSGSIZE (too large), KR_EAFNOSUPPORT, KR_ENETUNREACH,
 * KR_ECONNREFUSED (an earlier datagram drew an ICMP port unreachable),
 * and the common ones. Cancel-safe.
 */
KR_API kr_udp_send_to kr_udp_socket_send_to(kr_udp_socket *u, const void *buf,
                                            size_t len, const kr_sockaddr *to);

/*
 * Receives one datagram into buf and its source into *from (may be NULL).
 * A datagram longer than len is truncated, the rest discarded (as
 * recv(2)). Output: an int64_t, the bytes stored (0 for an empty datagram)
 * or KR_ECONNREFUSED (see send_to) and the common ones. Cancel-safe.
 */
KR_API kr_udp_recv_from kr_udp_socket_recv_from(kr_udp_socket *u, void *buf,
                                                size_t len, kr_sockaddr *from);

/* Send / receive on a connected socket. As send_to / recv_from, plus
 * KR_EDESTADDRREQ (send: not connected). Cancel-safe. */
KR_API kr_udp_send kr_udp_socket_send(kr_udp_socket *u, const void *buf,
                                      size_t len);
KR_API kr_udp_recv kr_udp_socket_recv(kr_udp_socket *u, void *buf, size_t len);

/* Local / peer address. Return 0, KR_EINVAL (NULL), KR_ENOTCONN (peer). */
KR_API int kr_udp_socket_local_addr(const kr_udp_socket *u, kr_sockaddr *out);
KR_API int kr_udp_socket_peer_addr(const kr_udp_socket *u, kr_sockaddr *out);

/* The descriptor, or -1 for NULL. Still the socket's: do not close it. */
KR_API int kr_udp_socket_fd(const kr_udp_socket *u);

/* As kr_tcp_stream_ready / readable / writable. */
KR_API kr_udp_ready kr_udp_socket_ready(kr_udp_socket *u, int interest);
KR_API kr_udp_ready kr_udp_socket_readable(kr_udp_socket *u);
KR_API kr_udp_ready kr_udp_socket_writable(kr_udp_socket *u);

/*
 * As recv_from / recv, without taking the datagram (MSG_PEEK): the next
 * receive gets it again. Output as theirs. Cancel-safe.
 */
KR_API kr_udp_recv_from kr_udp_socket_peek_from(kr_udp_socket *u, void *buf,
                                                size_t len, kr_sockaddr *from);
KR_API kr_udp_recv kr_udp_socket_peek(kr_udp_socket *u, void *buf, size_t len);

/*
 * One send / recv / sendto / recvfrom (peek_from: with MSG_PEEK) without
 * waiting (see "Readiness and try_*"). Returns the bytes, KR_EAGAIN,
 * KR_EINVAL (NULL, NULL buffer with a length, `to` not IP), KR_EBADF,
 * KR_ESHUTDOWN, or the call's error (as the futures of the same names).
 */
KR_API int64_t kr_udp_socket_try_send(kr_udp_socket *u, const void *buf,
                                      size_t len);
KR_API int64_t kr_udp_socket_try_recv(kr_udp_socket *u, void *buf, size_t len);
KR_API int64_t kr_udp_socket_try_send_to(kr_udp_socket *u, const void *buf,
                                         size_t len, const kr_sockaddr *to);
KR_API int64_t kr_udp_socket_try_recv_from(kr_udp_socket *u, void *buf,
                                           size_t len, kr_sockaddr *from);
KR_API int64_t kr_udp_socket_try_peek_from(kr_udp_socket *u, void *buf,
                                           size_t len, kr_sockaddr *from);

/*
 * Options (Tokio's UdpSocket setters and getters). Setters return 0 or a
 * negative code, getters the value (bools 0 or 1) or a negative code; all
 * KR_EINVAL for NULL. broadcast: SO_BROADCAST (sending to a broadcast
 * address needs it: KR_EACCES without). ttl: 1..255 (IPv6: the unicast
 * hop limit). multicast_ttl_v4: 0..255 (default 1: the local network).
 * multicast_loop_v4 / _v6: whether this host's own multicast datagrams
 * come back to it (default on). The _v4 ones on an IPv6 socket, or the
 * _v6 ones on an IPv4 socket, give the kernel's error (-ENOPROTOOPT or
 * KR_EINVAL).
 */
KR_API int kr_udp_socket_set_broadcast(kr_udp_socket *u, bool on);
KR_API int kr_udp_socket_broadcast(const kr_udp_socket *u);
KR_API int kr_udp_socket_set_ttl(kr_udp_socket *u, uint32_t ttl);
KR_API int kr_udp_socket_ttl(const kr_udp_socket *u);
KR_API int kr_udp_socket_set_multicast_loop_v4(kr_udp_socket *u, bool on);
KR_API int kr_udp_socket_multicast_loop_v4(const kr_udp_socket *u);
KR_API int kr_udp_socket_set_multicast_ttl_v4(kr_udp_socket *u, uint32_t ttl);
KR_API int kr_udp_socket_multicast_ttl_v4(const kr_udp_socket *u);
KR_API int kr_udp_socket_set_multicast_loop_v6(kr_udp_socket *u, bool on);
KR_API int kr_udp_socket_multicast_loop_v6(const kr_udp_socket *u);

/*
 * Joins / leaves an IPv4 multicast group (IP_ADD_MEMBERSHIP): `group` an
 * IPv4 multicast address (its port is ignored), `iface` the local
 * interface's IPv4 address, NULL for any (the kernel picks by route).
 * The v6 ones take the group's IPv6 address and an interface index (0:
 * any). Returns 0, KR_EINVAL (NULL, wrong family, not a multicast
 * address), KR_EADDRINUSE (joined already), KR_EADDRNOTAVAIL (leave: not
 * joined), -ENODEV (no such interface), or the kernel's error.
 */
KR_API int kr_udp_socket_join_multicast_v4(kr_udp_socket *u,
                                           const kr_sockaddr *group,
                                           const kr_sockaddr *iface);
KR_API int kr_udp_socket_leave_multicast_v4(kr_udp_socket *u,
                                            const kr_sockaddr *group,
                                            const kr_sockaddr *iface);
KR_API int kr_udp_socket_join_multicast_v6(kr_udp_socket *u,
                                           const kr_sockaddr *group,
                                           unsigned ifindex);
KR_API int kr_udp_socket_leave_multicast_v6(kr_udp_socket *u,
                                            const kr_sockaddr *group,
                                            unsigned ifindex);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_NET_UDP_H */
