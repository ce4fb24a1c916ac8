/*
 * net/connect_host.c: kr_tcp_stream_connect_host, connecting by host name
 * (Tokio's TcpStream::connect with a (host, port) or "host:port"): resolve
 * with kr_resolve (net/resolve.c), then try each address in turn, in
 * getaddrinfo's order, and output the first connection or the last error.
 *
 * States: START (nothing made yet: the resolution is made on the first
 * poll, since it points into this future, which only stays put from then
 * on), RESOLVING, CONNECTING (addrs_[i_]), SPENT. Dropping it drops the
 * resolution (which detaches the lookup) or the connect (which closes its
 * half-made socket).
 */
#include <string.h>

#include "net/sock.h"

enum { START = 0, RESOLVING = 1, CONNECTING = 2, SPENT = 3 };

static kr_poll finish(kr_tcp_connect_host *c, void *out, int rc) {
    c->state_ = SPENT;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static kr_poll connect_host_poll(kr_future *f, kr_context *cx, void *out) {
    kr_tcp_connect_host *c = (kr_tcp_connect_host *)f;
    if (c->state_ == SPENT)
        kr__net_polled_after_ready(f);
    if (c->state_ == START) {
        if (c->out_ == NULL || c->host_ == NULL)
            return finish(c, out, KR_EINVAL);
        *c->out_ = NULL;
        c->res_ =
            kr_resolve(c->host_, c->port_, c->addrs_, KR_CONNECT_HOST_MAX);
        c->state_ = RESOLVING;
    }
    if (c->state_ == RESOLVING) {
        int n = 0;
        if (kr_future_poll(&c->res_.base, cx, &n) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&c->res_.base);
        if (n <= 0)
            return finish(c, out, n < 0 ? n : KR_ENOENT);
        c->n_ = n;
        c->i_ = 0;
        c->conn_ = kr_tcp_stream_connect(&c->addrs_[0], c->out_);
        c->state_ = CONNECTING;
    }
    for (;;) {
        int rc = 0;
        if (kr_future_poll(&c->conn_.base, cx, &rc) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&c->conn_.base);
        if (rc == 0)
            return finish(c, out, 0);
        c->last_ = rc; /* Tokio returns the last error */
        if (++c->i_ >= c->n_)
            return finish(c, out, c->last_);
        c->conn_ = kr_tcp_stream_connect(&c->addrs_[c->i_], c->out_);
    }
}

static void connect_host_drop(kr_future *f) {
    kr_tcp_connect_host *c = (kr_tcp_connect_host *)f;
    if (c->state_ == RESOLVING)
        kr_future_drop(&c->res_.base);
    else if (c->state_ == CONNECTING)
        kr_future_drop(&c->conn_.base);
    c->state_ = START;
}

static const kr_future_vtable connect_host_vt = {
    connect_host_poll, connect_host_drop, sizeof(kr_tcp_connect_host),
    sizeof(int), "kr_tcp_connect_host"};

kr_tcp_connect_host kr_tcp_stream_connect_host(const char *host, int port,
                                               kr_tcp_stream **out) {
    kr_tcp_connect_host c;
    memset(&c, 0, sizeof(c));
    c.base.vtable = &connect_host_vt;
    c.host_ = host;
    c.port_ = port;
    c.out_ = out;
    c.state_ = START;
    return c;
}
