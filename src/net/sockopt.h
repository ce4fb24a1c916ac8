/*
 * net/sockopt.h: socket options on a descriptor, shared by the TCP socket
 * builder, streams, listeners and UDP sockets (net/sockopt.c).
 *
 * Each returns 0 / the value (>= 0), or a negated errno; they make no
 * allocation and never block.
 */
#ifndef KR_NET_SOCKOPT_H
#define KR_NET_SOCKOPT_H

#include <stdbool.h>
#include <stdint.h>

/* An int option: setsockopt with `v`; getsockopt's value (>= 0). */
int kr__opt_set(int fd, int level, int name, int v);
int kr__opt_get(int fd, int level, int name);
/* A boolean option: the value is 0 or 1. */
int kr__opt_get_bool(int fd, int level, int name);

/* SO_LINGER: seconds >= 0 on, -1 off (KR_EINVAL below -1); the getter
 * stores the same encoding in *seconds. */
int kr__opt_set_linger(int fd, int seconds);
int kr__opt_get_linger(int fd, int *seconds);

/* A buffer size (SO_SNDBUF / SO_RCVBUF): KR_EINVAL above INT_MAX. */
int kr__opt_set_size(int fd, int name, uint32_t size);

/* The unicast TTL / hop limit for the socket's family (IP_TTL for IPv4,
 * IPV6_UNICAST_HOPS for IPv6): 1..255 (set), KR_EINVAL otherwise. */
int kr__opt_set_ttl(int fd, uint32_t ttl);
int kr__opt_get_ttl(int fd);

/* The socket's address family (SO_DOMAIN). */
int kr__opt_family(int fd);

#endif
