/*
 * core/netsim.h: the simulated network, as the net layer sees it.
 *
 * The net layer (src/net) serves kr_tcp_* and kr_udp_* for every runtime;
 * the simulation flavor (src/sim) implements those calls in memory. The net
 * layer may not include the simulation (it sits above net), so the
 * simulation hands it this table instead, the way a scheduler is reached
 * through kr__sched_ops: struct kr_runtime carries it (core/runtime.h,
 * `netsim`, NULL on the real runtimes) and each simulated socket carries
 * it too (net/sock.h, kr__sock.sim), so an operation on a socket needs no
 * runtime lookup. A real socket pays one test of a NULL pointer per call.
 *
 * Every function runs on the simulation thread. Sockets are kr__socks
 * (net/sock.h) whose `sim` is this table and whose fd is -1: the net
 * layer's hold / unhold / spend protocol applies to them as to real ones,
 * and when the last reference goes it calls `release` instead of closing
 * an fd.
 */
#ifndef KR_CORE_NETSIM_H
#define KR_CORE_NETSIM_H

#include "kairo.h"

struct kr__sock;
struct iovec;

/* The stream operations of kr__netsim_ops.io. */
enum {
    KR__SIM_READ,
    KR__SIM_WRITE,
    KR__SIM_READ_EXACT,
    KR__SIM_WRITE_ALL,
    KR__SIM_SEND, /* a connected datagram socket */
    KR__SIM_RECV
};

typedef struct kr__netsim_ops {
    /* Binds a listener (SOCK_STREAM) or a datagram socket (SOCK_DGRAM).
     * Returns 0, KR_EADDRINUSE, KR_ENOMEM. */
    int (*bind)(kr_runtime *rt, int type, const kr_sockaddr *addr, int backlog,
                struct kr__sock **out);
    kr_net_connect (*connect)(const kr_sockaddr *addr, void **out);
    kr_net_accept (*accept)(struct kr__sock *s, void **out, kr_sockaddr *peer);
    kr_net_io (*io)(int op, struct kr__sock *s, void *buf, size_t len);
    kr_net_writev (*writev)(struct kr__sock *s, const struct iovec *iov,
                            int iovcnt);
    kr_udp_send_to (*send_to)(struct kr__sock *s, const void *buf, size_t len,
                              const kr_sockaddr *to);
    kr_udp_recv_from (*recv_from)(struct kr__sock *s, void *buf, size_t len,
                                  kr_sockaddr *from);
    int (*udp_connect)(struct kr__sock *s, const kr_sockaddr *addr);
    int (*name)(const struct kr__sock *s, bool peer, kr_sockaddr *out);
    int (*shutdown)(struct kr__sock *s, int how);
    /* The owner lets go (kr__sock_close): wake what waits on it. */
    void (*close)(struct kr__sock *s);
    /* The last reference went: free it. */
    void (*release)(struct kr__sock *s);
} kr__netsim_ops;

#endif
