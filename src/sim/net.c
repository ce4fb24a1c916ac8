/*
 * sim/net.c: the in-memory network (core/netsim.h): simulated sockets,
 * binding, and TCP (listen, connect, accept, read, write, shutdown).
 * Datagrams are in udp.c; the socket and the connection model in net.h.
 *
 * A connection attempt is a handshake in virtual time: the connect sends
 * EV_SYN toward the address; at its arrival the listener bound there (if
 * any, and its backlog has room) queues the new server end for accept and
 * answers EV_SYNACK, which opens the client end; with no listener the
 * client end is refused (KR_ECONNREFUSED). So a connect takes one round
 * trip of two seeded latencies, as on a real network.
 *
 * Faults: with probability tcp_reset_ppm a write resets its connection
 * instead of sending: the writer gets KR_ECONNRESET at once and the other
 * end an EV_RST after a latency (its reads and writes then fail with
 * KR_ECONNRESET too). Closing a stream sends EV_FIN (the other end reads
 * 0); closing a listener resets the connections it had not accepted.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/net.h"
#include "util/abort.h"
#include "util/alloc.h"

/* ---- sockets --------------------------------------------------------------- */

kr__sim_sock *kr__sim_sock_new(kr__sim *sim, int type) {
    kr__sim_sock *ss = kr__calloc(1, sizeof(*ss));
    if (ss == NULL)
        return NULL;
    atomic_init(&ss->s.refs, 1);
    atomic_init(&ss->s.closed, 0);
    ss->s.fd = -1;
    ss->s.afd = NULL;
    ss->s.rt = &sim->base;
    ss->s.sim = &kr__sim_netsim_ops;
    ss->sim = sim;
    ss->type = type;
    kr__list_init(&ss->waiters);
    kr__fetch_add_relaxed(&sim->refs, 1); /* released with the socket */
    return ss;
}

void kr__sim_wait(kr__sim_sock *ss, kr_io_waiter *w, kr_context *cx) {
    if (!kr__list_linked(&w->node_)) {
        kr__list_push_back(&ss->waiters, &w->node_);
        w->linked_ = 1;
    }
    kr_waker_set(&w->waker_, kr_context_waker(cx));
}

void kr__sim_unwait(kr_io_waiter *w) {
    if (kr__list_linked(&w->node_)) {
        kr__list_remove(&w->node_);
        kr__list_node_init(&w->node_);
        w->linked_ = 0;
    }
    kr_waker_reset(&w->waker_);
}

void kr__sim_sock_wake(kr__sim_sock *ss) {
    kr__list *n;
    while ((n = kr__list_pop_front(&ss->waiters)) != NULL) {
        kr_io_waiter *w = KR__CONTAINER_OF(n, kr_io_waiter, node_);
        kr__list_node_init(n);
        w->linked_ = 0;
        kr_waker_take_wake(&w->waker_);
    }
    kr_waker_take_wake(&ss->connect_waker);
}

static bool is_any(const kr_sockaddr *a) {
    if (a->storage.family == AF_INET)
        return ((const struct sockaddr_in *)&a->storage)->sin_addr.s_addr ==
               htonl(INADDR_ANY);
    const struct in6_addr *ip =
        &((const struct sockaddr_in6 *)&a->storage)->sin6_addr;
    return IN6_IS_ADDR_UNSPECIFIED(ip);
}

static bool same_ip(const kr_sockaddr *a, const kr_sockaddr *b) {
    if (a->storage.family == AF_INET)
        return ((const struct sockaddr_in *)&a->storage)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)&b->storage)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)&a->storage)->sin6_addr,
                  &((const struct sockaddr_in6 *)&b->storage)->sin6_addr,
                  sizeof(struct in6_addr)) == 0;
}

kr__sim_sock *kr__sim_lookup(kr__sim *sim, int type, const kr_sockaddr *addr) {
    int port = kr_sockaddr_port(addr);
    for (kr__sim_sock *b = sim->bound; b != NULL; b = b->bound_next) {
        if (b->type != type ||
            b->local.storage.family != addr->storage.family ||
            kr_sockaddr_port(&b->local) != port)
            continue;
        if (is_any(&b->local) || is_any(addr) || same_ip(&b->local, addr))
            return b;
    }
    return NULL;
}

static void unbind(kr__sim_sock *ss) {
    if (!ss->on_bound)
        return;
    for (kr__sim_sock **p = &ss->sim->bound; *p != NULL;
         p = &(*p)->bound_next) {
        if (*p == ss) {
            *p = ss->bound_next;
            break;
        }
    }
    ss->on_bound = false;
}

/* An unused ephemeral port for `type` (49152 up, wrapping; deterministic). */
static int ephemeral(kr__sim *sim, int type, kr_sockaddr *addr) {
    for (unsigned i = 0; i < 16384; i++) {
        int port = 49152 + (int)((sim->next_port - 49152 + i) % 16384);
        kr_sockaddr_set_port(addr, port);
        if (kr__sim_lookup(sim, type, addr) == NULL) {
            sim->next_port = (uint32_t)port + 1;
            return 0;
        }
    }
    return KR_EADDRINUSE;
}

static int sim_bind(kr_runtime *rt, int type, const kr_sockaddr *addr,
                    int backlog, kr__sock **out) {
    kr__sim *sim = kr__sim_of(rt);
    if (sim == NULL)
        return KR_EINVAL;
    int stype = type == SOCK_STREAM ? SS_LISTEN : SS_DGRAM;
    kr_sockaddr a = *addr;
    if (kr_sockaddr_port(&a) == 0) {
        if (ephemeral(sim, stype, &a) != 0)
            return KR_EADDRINUSE;
    } else if (kr__sim_lookup(sim, stype, &a) != NULL) {
        return KR_EADDRINUSE;
    }
    kr__sim_sock *ss = kr__sim_sock_new(sim, stype);
    if (ss == NULL)
        return KR_ENOMEM;
    ss->local = a;
    ss->backlog = backlog;
    ss->on_bound = true;
    ss->bound_next = sim->bound;
    sim->bound = ss;
    kr__sim_log(sim, "bind %s port %d", stype == SS_LISTEN ? "tcp" : "udp",
                kr_sockaddr_port(&a));
    *out = &ss->s;
    return 0;
}

/* ---- events ------------------------------------------------------------------ */

uint64_t kr__sim_latency(kr__sim *sim) {
    uint64_t lo = sim->opt.latency_min_us, hi = sim->opt.latency_max_us;
    uint64_t us = lo + (hi > lo ? kr__rng_below(&sim->rng, hi - lo + 1) : 0);
    return us * 1000;
}

kr__sim_event *kr__sim_event_new(kr__sim *sim, int kind, size_t len) {
    kr__sim_event *ev = kr__malloc(sizeof(*ev) + len);
    if (ev == NULL)
        return NULL;
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    ev->len = len;
    ev->at = sim->clock.base + kr__sim_latency(sim);
    return ev;
}

/* Sends an event down the connection from `from` to its remote, in order
 * after everything it sent before. False if there is no memory for it. */
static bool send_ev(kr__sim_sock *from, int kind, const void *data,
                    size_t len) {
    kr__sim_sock *to = from->remote;
    if (to == NULL || from->sim->dead)
        return true; /* the other end is gone: nobody to tell */
    kr__sim_event *ev = kr__sim_event_new(from->sim, kind, len);
    if (ev == NULL)
        return false;
    if (ev->at < from->last_at)
        ev->at = from->last_at;
    from->last_at = ev->at;
    ev->to = to;
    if (len > 0)
        memcpy(ev->data, data, len);
    kr__sim_event_push(from->sim, ev);
    return true;
}

static void rx_append(kr__sim_sock *ss, const unsigned char *p, size_t n) {
    if (ss->rx_off > 0 && ss->rx_off == ss->rx_len)
        ss->rx_off = ss->rx_len = 0;
    if (ss->rx_len + n > ss->rx_cap) {
        size_t cap = ss->rx_cap ? ss->rx_cap * 2 : 4096;
        while (cap < ss->rx_len + n)
            cap *= 2;
        unsigned char *r = kr__allocator.realloc(ss->rx, cap);
        if (r == NULL) {
            /* Out of memory: the connection breaks rather than loses
             * bytes silently. */
            ss->reset = true;
            return;
        }
        ss->rx = r;
        ss->rx_cap = cap;
    }
    memcpy(ss->rx + ss->rx_len, p, n);
    ss->rx_len += n;
}

static void on_syn(kr__sim *sim, kr__sim_sock *client, kr__sim_event *ev) {
    if (client->state != CS_CONNECTING || kr__load_relaxed(&client->s.closed))
        return; /* the attempt was abandoned */
    kr__sim_sock *l = kr__sim_lookup(sim, SS_LISTEN, &client->peer);
    kr__sim_sock *srv = NULL;
    if (l != NULL && l->nacc < l->backlog)
        srv = kr__sim_sock_new(sim, SS_STREAM);
    if (srv == NULL) {
        kr__sim_log(sim, "refused c%" PRIu32, client->conn);
        client->state = CS_REFUSED;
        kr__sim_sock_wake(client);
        return;
    }
    (void)ev;
    srv->state = CS_OPEN;
    srv->conn = client->conn;
    srv->side = 's';
    srv->local = client->peer;
    srv->peer = client->local;
    srv->has_peer = true;
    srv->remote = client;
    client->remote = srv;
    if (l->acc_tail != NULL)
        l->acc_tail->acc_next = srv;
    else
        l->acc_head = srv;
    l->acc_tail = srv;
    l->nacc++;
    kr__sim_log(sim, "syn c%" PRIu32, client->conn);
    if (!send_ev(srv, EV_SYNACK, NULL, 0)) {
        client->state = CS_REFUSED; /* no memory: as if never answered */
        kr__sim_sock_wake(client);
    }
    kr__sim_sock_wake(l);
}

void kr__sim_net_apply(kr__sim *sim, kr__sim_event *ev) {
    kr__sim_sock *to = ev->to;
    if (ev->kind == EV_DGRAM) {
        kr__sim_dgram_apply(sim, ev);
        return;
    }
    if (ev->kind == EV_SYN) {
        on_syn(sim, to, ev);
        return;
    }
    bool closed = kr__load_relaxed(&to->s.closed) != 0;
    switch (ev->kind) {
    case EV_SYNACK:
        kr__sim_log(sim, "established c%" PRIu32, to->conn);
        if (to->state == CS_CONNECTING)
            to->state = CS_OPEN;
        break;
    case EV_DATA:
        kr__sim_log(sim, "data c%" PRIu32 " >%c %zu", to->conn, to->side,
                    ev->len);
        if (!closed && !to->reset && !to->rd_shut)
            rx_append(to, ev->data, ev->len);
        break;
    case EV_FIN:
        kr__sim_log(sim, "fin c%" PRIu32 " >%c", to->conn, to->side);
        to->rx_eof = true;
        break;
    case EV_RST:
        kr__sim_log(sim, "reset c%" PRIu32 " >%c", to->conn, to->side);
        to->reset = true;
        break;
    default:
        break;
    }
    kr__sim_sock_wake(to);
}

/* ---- connect ------------------------------------------------------------------ */

enum { C_START = 0, C_WAIT = 1, C_SPENT = 3 };

static kr_poll connect_finish(kr_net_connect *c, void *out, int rc) {
    kr__sim_sock *ss = c->sock_;
    if (rc == 0) {
        *c->out_ = ss;
    } else if (ss != NULL) {
        kr__sock_close(&ss->s);
    }
    c->sock_ = NULL;
    c->state_ = C_SPENT;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static kr_poll connect_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_connect *c = (kr_net_connect *)f;
    if (c->state_ == C_SPENT)
        kr__net_polled_after_ready(f);
    kr__sim *sim = kr__sim_current();
    if (c->out_ == NULL || sim == NULL)
        return connect_finish(c, out, KR_EINVAL);
    if (c->state_ == C_START) {
        kr__sim_sock *ss = kr__sim_sock_new(sim, SS_STREAM);
        if (ss == NULL)
            return connect_finish(c, out, KR_ENOMEM);
        c->sock_ = ss;
        ss->side = 'c';
        ss->state = CS_CONNECTING;
        ss->conn = ++sim->next_conn;
        ss->peer = c->addr_;
        ss->has_peer = true;
        if (c->addr_.storage.family == AF_INET)
            kr_sockaddr_from_ip("127.0.0.1", 0, &ss->local);
        else
            kr_sockaddr_from_ip("::1", 0, &ss->local);
        kr_sockaddr_set_port(&ss->local, (int)(49152 + sim->next_conn % 16384));
        kr__sim_event *ev = kr__sim_event_new(sim, EV_SYN, 0);
        if (ev == NULL)
            return connect_finish(c, out, KR_ENOMEM);
        ev->to = ss;
        kr__sim_event_push(sim, ev);
        kr__sim_log(sim, "connect c%" PRIu32 " port %d", ss->conn,
                    kr_sockaddr_port(&c->addr_));
        c->state_ = C_WAIT;
    }
    kr__sim_sock *ss = c->sock_;
    if (ss->reset)
        return connect_finish(c, out, KR_ECONNRESET);
    if (ss->state == CS_OPEN)
        return connect_finish(c, out, 0);
    if (ss->state == CS_REFUSED)
        return connect_finish(c, out, KR_ECONNREFUSED);
    kr_waker_set(&ss->connect_waker, kr_context_waker(cx));
    return KR_PENDING;
}

static void connect_drop(kr_future *f) {
    kr_net_connect *c = (kr_net_connect *)f;
    if (c->state_ != C_SPENT && c->sock_ != NULL)
        kr__sock_close(&((kr__sim_sock *)c->sock_)->s);
    c->sock_ = NULL;
    c->state_ = C_START;
}

static const kr_future_vtable connect_vt = {connect_poll, connect_drop,
                                            sizeof(kr_net_connect), sizeof(int),
                                            "kr_net_connect"};

static kr_net_connect sim_connect(const kr_sockaddr *addr, void **out) {
    kr_net_connect c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &connect_vt;
    c.out_ = out;
    c.state_ = C_START;
    c.addr_ = *addr;
    return c;
}

/* ---- accept -------------------------------------------------------------------- */

static kr_poll accept_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_accept *a = (kr_net_accept *)f;
    kr__sim_sock *l = a->sock_;
    int res;
    kr__net_check_live(f, a->held_);
    if (l == NULL || a->out_ == NULL || l->type != SS_LISTEN) {
        res = KR_EINVAL;
    } else if (kr__load_relaxed(&l->s.closed)) {
        res = KR_EBADF;
    } else if (l->acc_head != NULL) {
        kr__sim_sock *srv = l->acc_head;
        l->acc_head = srv->acc_next;
        if (l->acc_head == NULL)
            l->acc_tail = NULL;
        srv->acc_next = NULL;
        l->nacc--;
        *a->out_ = srv; /* the queue's reference becomes the owner's */
        if (a->peer_ != NULL)
            *a->peer_ = srv->peer;
        kr__sim_log(l->sim, "accept c%" PRIu32, srv->conn);
        res = 0;
    } else {
        res = kr__sock_hold(&l->s, &a->held_, NULL);
        if (res == 0) {
            kr__sim_wait(l, &a->w_, cx);
            return KR_PENDING;
        }
    }
    kr__sim_unwait(&a->w_);
    kr__sock_spend(l != NULL ? &l->s : NULL, &a->held_);
    if (out != NULL)
        *(int *)out = res;
    return KR_READY;
}

static void accept_drop(kr_future *f) {
    kr_net_accept *a = (kr_net_accept *)f;
    kr__sim_unwait(&a->w_);
    if (a->sock_ != NULL)
        kr__sock_unhold(a->sock_, &a->held_, NULL);
}

static const kr_future_vtable accept_vt = {accept_poll, accept_drop,
                                           sizeof(kr_net_accept), sizeof(int),
                                           "kr_net_accept"};

static kr_net_accept sim_accept(kr__sock *s, void **out, kr_sockaddr *peer) {
    kr_net_accept a;
    memset(&a, 0, sizeof(a));
    a.base.vtable = &accept_vt;
    a.sock_ = s;
    a.out_ = out;
    a.peer_ = peer;
    return a;
}

/* ---- read and write -------------------------------------------------------------- */

/* One attempt: > 0 bytes moved, 0 end of stream, < 0 an error, or
 * KR_EAGAIN (nothing to read yet). */
static int64_t read_some(kr__sim_sock *ss, void *buf, size_t len) {
    if (kr__load_relaxed(&ss->s.closed))
        return KR_EBADF;
    if (ss->type != SS_STREAM || ss->state != CS_OPEN)
        return KR_ENOTCONN;
    if (ss->reset)
        return KR_ECONNRESET;
    if (ss->rd_shut)
        return 0;
    size_t avail = ss->rx_len - ss->rx_off;
    if (avail > 0) {
        size_t n = avail < len ? avail : len;
        memcpy(buf, ss->rx + ss->rx_off, n);
        ss->rx_off += n;
        return (int64_t)n;
    }
    return ss->rx_eof ? 0 : KR_EAGAIN;
}

static int64_t write_some(kr__sim_sock *ss, const void *buf, size_t len) {
    if (kr__load_relaxed(&ss->s.closed))
        return KR_EBADF;
    if (ss->type != SS_STREAM || ss->state != CS_OPEN)
        return KR_ENOTCONN;
    if (ss->reset)
        return KR_ECONNRESET;
    if (ss->wr_shut || ss->remote == NULL)
        return KR_EPIPE;
    if (kr__rng_ppm(&ss->sim->rng, ss->sim->opt.tcp_reset_ppm)) {
        kr__sim_log(ss->sim, "inject reset c%" PRIu32, ss->conn);
        ss->reset = true;
        send_ev(ss, EV_RST, NULL, 0);
        return KR_ECONNRESET;
    }
    if (!send_ev(ss, EV_DATA, buf, len))
        return KR_ENOMEM;
    return (int64_t)len;
}

static kr_poll io_finish(kr_net_io *io, void *out, int64_t res) {
    kr__sim_unwait(&io->w_); /* woken, or polled spuriously */
    kr__sock_spend(io->sock_, &io->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static kr_poll io_wait(kr_net_io *io, kr__sim_sock *ss, kr_context *cx,
                       void *out) {
    int h = kr__sock_hold(&ss->s, &io->held_, NULL);
    if (h != 0)
        return io_finish(io, out, h);
    kr__sim_wait(ss, &io->w_, cx);
    return KR_PENDING;
}

static kr_poll read_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_io *io = (kr_net_io *)f;
    kr__net_check_live(f, io->held_);
    if (io->sock_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return io_finish(io, out, KR_EINVAL);
    if (io->len_ == 0)
        return io_finish(io, out, 0);
    int64_t n = read_some(io->sock_, io->buf_, io->len_);
    if (n == KR_EAGAIN)
        return io_wait(io, io->sock_, cx, out);
    return io_finish(io, out, n);
}

static kr_poll read_exact_poll(kr_future *f, kr_context *cx, void *out) {
    kr_net_io *io = (kr_net_io *)f;
    kr__net_check_live(f, io->held_);
    if (io->sock_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return io_finish(io, out, KR_EINVAL);
    while (io->done_ < io->len_) {
        int64_t n = read_some(io->sock_, (char *)io->buf_ + io->done_,
                              io->len_ - io->done_);
        if (n == KR_EAGAIN)
            return io_wait(io, io->sock_, cx, out);
        if (n <= 0)
            return io_finish(io, out, n == 0 ? KR_EOF : n);
        io->done_ += (size_t)n;
    }
    return io_finish(io, out, (int64_t)io->len_);
}

static kr_poll write_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    kr_net_io *io = (kr_net_io *)f;
    kr__net_check_live(f, io->held_);
    if (io->sock_ == NULL || (io->buf_ == NULL && io->len_ > 0))
        return io_finish(io, out, KR_EINVAL);
    if (io->len_ == 0)
        return io_finish(io, out, 0);
    return io_finish(io, out, write_some(io->sock_, io->buf_, io->len_));
}

static void io_drop(kr_future *f) {
    kr_net_io *io = (kr_net_io *)f;
    kr__sim_unwait(&io->w_);
    if (io->sock_ != NULL)
        kr__sock_unhold(io->sock_, &io->held_, NULL);
}

static const kr_future_vtable read_vt = {read_poll, io_drop, sizeof(kr_net_io),
                                         sizeof(int64_t), "kr_net_read"};
static const kr_future_vtable read_exact_vt = {
    read_exact_poll, io_drop, sizeof(kr_net_io), sizeof(int64_t),
    "kr_net_read_exact"};
static const kr_future_vtable write_vt = {
    write_poll, io_drop, sizeof(kr_net_io), sizeof(int64_t), "kr_net_write"};
static const kr_future_vtable write_all_vt = {
    write_poll, io_drop, sizeof(kr_net_io), sizeof(int64_t),
    "kr_net_write_all"};

static kr_net_io sim_io(int op, kr__sock *s, void *buf, size_t len) {
    const kr_future_vtable *vt;
    switch (op) {
    case KR__SIM_READ:
        vt = &read_vt;
        break;
    case KR__SIM_READ_EXACT:
        vt = &read_exact_vt;
        break;
    case KR__SIM_WRITE:
        vt = &write_vt;
        break;
    case KR__SIM_WRITE_ALL:
        vt = &write_all_vt; /* a write never comes up short here */
        break;
    default:
        return kr__sim_dgram_io(op, s, buf, len);
    }
    kr_net_io io = {{vt}, s, buf, len, 0, 0, KR_IO_WAITER_INIT};
    return io;
}

/* writev: gathered into one segment (one write, as sendmsg makes one). */
static kr_poll writev_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    kr_net_writev *w = (kr_net_writev *)f;
    int64_t res = 0;
    kr__net_check_live(f, w->held_);
    size_t total = 0;
    if (w->sock_ == NULL || w->iovcnt_ < 0 || w->iovcnt_ > 1024 ||
        (w->iov_ == NULL && w->iovcnt_ > 0)) {
        res = KR_EINVAL;
        goto done;
    }
    for (int i = 0; i < w->iovcnt_; i++) {
        if (w->iov_[i].iov_base == NULL && w->iov_[i].iov_len > 0) {
            res = KR_EINVAL;
            goto done;
        }
        total += w->iov_[i].iov_len;
    }
    if (total == 0)
        goto done;
    unsigned char *buf = kr__malloc(total);
    if (buf == NULL) {
        res = KR_ENOMEM;
        goto done;
    }
    size_t off = 0;
    for (int i = 0; i < w->iovcnt_; i++) {
        if (w->iov_[i].iov_len > 0)
            memcpy(buf + off, w->iov_[i].iov_base, w->iov_[i].iov_len);
        off += w->iov_[i].iov_len;
    }
    res = write_some(w->sock_, buf, total);
    kr__free(buf);
done:
    kr__sock_spend(w->sock_, &w->held_);
    if (out != NULL)
        *(int64_t *)out = res;
    return KR_READY;
}

static void writev_drop(kr_future *f) {
    kr_net_writev *w = (kr_net_writev *)f;
    if (w->sock_ != NULL)
        kr__sock_unhold(w->sock_, &w->held_, NULL);
}

static const kr_future_vtable writev_vt = {writev_poll, writev_drop,
                                           sizeof(kr_net_writev),
                                           sizeof(int64_t), "kr_net_writev"};

static kr_net_writev sim_writev(kr__sock *s, const struct iovec *iov,
                                int iovcnt) {
    kr_net_writev w = {{&writev_vt}, s, iov, iovcnt, 0, KR_IO_WAITER_INIT};
    return w;
}

/* ---- names, shutdown, close, release ------------------------------------------ */

static int sim_name(const kr__sock *s, bool peer, kr_sockaddr *out) {
    const kr__sim_sock *ss = (const kr__sim_sock *)s;
    if (peer) {
        if (!ss->has_peer || (ss->type == SS_STREAM && ss->state != CS_OPEN)) {
            out->len = 0;
            return KR_ENOTCONN;
        }
        *out = ss->peer;
        return 0;
    }
    *out = ss->local;
    return 0;
}

static int sim_shutdown(kr__sock *s, int how) {
    kr__sim_sock *ss = (kr__sim_sock *)s;
    if (how < KR_SHUT_READ || how > KR_SHUT_BOTH)
        return KR_EINVAL;
    if (ss->type != SS_STREAM)
        return ss->type == SS_DGRAM ? 0 : KR_ENOTCONN;
    if (ss->state != CS_OPEN)
        return KR_ENOTCONN;
    if (how & KR_SHUT_READ) {
        ss->rd_shut = true;
        kr__sim_sock_wake(ss);
    }
    if ((how & KR_SHUT_WRITE) && !ss->wr_shut) {
        ss->wr_shut = true;
        if (!ss->reset)
            send_ev(ss, EV_FIN, NULL, 0);
    }
    return 0;
}

static void sim_close(kr__sock *s) {
    kr__sim_sock *ss = (kr__sim_sock *)s;
    if (ss->sim->dead) {
        kr__sim_sock_wake(ss);
        return; /* the runtime is gone: nothing to tell anyone */
    }
    unbind(ss);
    if (ss->type == SS_LISTEN) {
        /* Connections never accepted: reset, as a kernel does. */
        kr__sim_sock *c;
        while ((c = ss->acc_head) != NULL) {
            ss->acc_head = c->acc_next;
            c->acc_next = NULL;
            send_ev(c, EV_RST, NULL, 0);
            kr__sock_close(&c->s);
        }
        ss->acc_tail = NULL;
        ss->nacc = 0;
    } else if (ss->type == SS_STREAM && ss->state == CS_OPEN && !ss->wr_shut &&
               !ss->reset) {
        ss->wr_shut = true;
        send_ev(ss, EV_FIN, NULL, 0);
    }
    kr__sim_sock_wake(ss);
}

static void sim_release(kr__sock *s) {
    kr__sim_sock *ss = (kr__sim_sock *)s;
    unbind(ss);
    if (ss->remote != NULL)
        ss->remote->remote = NULL;
    kr__sim_sock_wake(ss); /* none should be left: a waiter holds a ref */
    kr_waker_reset(&ss->connect_waker);
    kr__free(ss->rx);
    kr__sim_dgram_free(ss);
    kr__sim *sim = ss->sim;
    kr__free(ss);
    kr__sim_unref(sim);
}

const kr__netsim_ops kr__sim_netsim_ops = {
    sim_bind,   sim_connect,     sim_accept,        sim_io,
    sim_writev, kr__sim_send_to, kr__sim_recv_from, kr__sim_udp_connect,
    sim_name,   sim_shutdown,    sim_close,         sim_release};
