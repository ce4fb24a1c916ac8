/*
 * sim/net.h: the simulated socket, shared by net.c (sockets, TCP) and
 * udp.c.
 *
 * A kr__sim_sock is a kr__sock (net/sock.h: first member, fd -1, `sim`
 * the table of core/netsim.h), so the net layer's reference counting
 * (owner + one per pending future, + one per queued event aimed at it)
 * governs its lifetime unchanged. Single-threaded: every field is the
 * simulation thread's.
 *
 * A stream connection is two sockets, each the other's `remote` until one
 * of them is released. Bytes written on one end become an EV_DATA event
 * for the other, due after a latency but never before the previous one
 * sent the same way (`last_at`): a connection keeps its order, different
 * connections interleave freely. Writes never block (the send buffer is
 * unbounded: the simulation models latency, not congestion).
 */
#ifndef KR_SIM_NET_H
#define KR_SIM_NET_H

#include "net/sock.h"
#include "sim/sim.h"
#include "util/list.h"

enum { SS_LISTEN, SS_STREAM, SS_DGRAM };
enum { CS_CONNECTING, CS_OPEN, CS_REFUSED };

/* Event kinds (kr__sim_event.kind). */
enum { EV_SYN, EV_SYNACK, EV_DATA, EV_FIN, EV_RST, EV_DGRAM };

typedef struct kr__sim_dgram {
    struct kr__sim_dgram *next;
    kr_sockaddr from;
    size_t len;
    unsigned char data[];
} kr__sim_dgram;

typedef struct kr__sim_sock {
    kr__sock s;
    kr__sim *sim;
    int type;
    kr_sockaddr local, peer;
    bool has_peer;
    bool on_bound; /* in sim->bound (listeners, datagram sockets) */
    struct kr__sim_sock *bound_next;
    /* The futures waiting on it (reads, accepts, receives: any number, as
     * on a real socket), linked through their kr_io_waiter nodes in the
     * order they began to wait, and woken all at once on any event; and
     * the connect future's waker (a connecting socket is its alone). */
    kr__list waiters;
    kr_waker connect_waker;

    /* Listener: connections arrived and not accepted, FIFO. */
    struct kr__sim_sock *acc_head, *acc_tail, *acc_next;
    int backlog, nacc;

    /* Stream. */
    struct kr__sim_sock *remote;
    uint32_t conn; /* connection number, for the log */
    char side;     /* 'c' the connecting end, 's' the accepted one */
    int state;
    bool rx_eof, reset, wr_shut, rd_shut;
    unsigned char *rx;
    size_t rx_off, rx_len, rx_cap;
    uint64_t last_at;

    /* Datagram socket: the queue of datagrams received. */
    kr__sim_dgram *dq_head, *dq_tail;
    size_t ndq;
} kr__sim_sock;

/* Makes a socket of `type` on `sim` (one reference: the owner's). */
kr__sim_sock *kr__sim_sock_new(kr__sim *sim, int type);
/* Wakes every waiting future (and the connect future), in order. */
void kr__sim_sock_wake(kr__sim_sock *ss);
/* Makes the future whose node is `w` wait on `ss` with the context's
 * waker (linked once; the waker replaced on each poll). */
void kr__sim_wait(kr__sim_sock *ss, kr_io_waiter *w, kr_context *cx);
/* Stops waiting: unlinks `w` if linked and drops its waker. */
void kr__sim_unwait(kr_io_waiter *w);
/* A bound socket of `type` at `addr` (an exact match, or a wildcard
 * address of the same family and port), or NULL. */
kr__sim_sock *kr__sim_lookup(kr__sim *sim, int type, const kr_sockaddr *addr);
/* A new event of `kind` with room for `len` bytes, due after a latency;
 * NULL without memory. */
kr__sim_event *kr__sim_event_new(kr__sim *sim, int kind, size_t len);

/* udp.c */
kr_udp_send_to kr__sim_send_to(kr__sock *s, const void *buf, size_t len,
                               const kr_sockaddr *to);
kr_udp_recv_from kr__sim_recv_from(kr__sock *s, void *buf, size_t len,
                                   kr_sockaddr *from);
kr_net_io kr__sim_dgram_io(int op, kr__sock *s, void *buf, size_t len);
int kr__sim_udp_connect(kr__sock *s, const kr_sockaddr *addr);
void kr__sim_dgram_apply(kr__sim *sim, kr__sim_event *ev);
void kr__sim_dgram_free(kr__sim_sock *ss);

#endif
