/*
 * epoll-http: a minimal hand-written HTTP/1.1 "hello" server: one thread,
 * raw epoll, edge-triggered, non-blocking sockets, no runtime. It is the
 * limit of bench/http/bench.py: what kairo-http (or any runtime) adds on
 * the hello route is measured against it.
 *
 *     epoll-http PORT
 *
 * Listens on 127.0.0.1:PORT (backlog 1024) until killed. GET / (and HEAD /)
 * answers the same bytes as kairo-http's hello route, with "epoll-http" in
 * place of "kairo-http" in the Server header (same length):
 *
 *     HTTP/1.1 200 OK, Server, Date, Content-Type: text/plain;
 *     charset=utf-8, Content-Length: 14, body "Hello, World!\n"
 *
 * Any other path gets 404, any other method 405, both keep-alive. The
 * response is formatted once a second (the Date changes), not per request.
 *
 * Every connection is registered once for EPOLLIN | EPOLLOUT | EPOLLRDHUP |
 * EPOLLET. On readiness it reads until EAGAIN into the connection's own
 * input buffer; after each read it answers every complete request in the
 * buffer, in order (pipelining), into the connection's output buffer, and
 * sends that once per read. A request is its head up to the blank line plus
 * a Content-Length body, which is skipped. HTTP/1.0 without "Connection:
 * keep-alive", or "Connection: close", closes after the answer. What this
 * server does not take (a head over 16 KiB, a chunked body, a request line
 * it cannot read) gets 400/501 with Connection: close. When the send buffer
 * is full, the rest stays in the output buffer and reading stops until
 * EPOLLOUT has flushed it, so a client that does not read cannot make the
 * server buffer without bound. Accepted sockets get TCP_NODELAY, as
 * kairo-http's do. The HTTP side (parsing, the responses) is
 * ../common/http_hello.h, shared with uring-http.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../epoll-loop/epoll_loop.h"

#define HTTP_HELLO_SERVER "epoll-http"
#include "../common/http_hello.h"

static void conn_close(conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    free(c->out);
    free(c);
}

/* Sends what is in the output buffer. Returns 1 when all of it went, 0 when
 * the socket is full, -1 on error. */
static int flush_out(conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return -1;
        }
    }
    c->out_len = c->out_off = 0;
    return 1;
}

/* Runs the connection after a readiness event: send what is pending, then
 * read until EAGAIN, answering after each read. Returns -1 when it is done
 * (EOF, error, or an answer that closes it has been sent), else 0. */
static int serve(conn *c) {
    for (;;) {
        if (c->out_off < c->out_len) {
            int rc = flush_out(c);
            if (rc <= 0)
                return rc; /* error, or full: wait for EPOLLOUT */
        }
        if (c->closing)
            return -1;
        if (c->more) {
            /* requests left in the buffer at OUT_HIGH: answer those first */
            int rc = answer_all(c);
            if (rc < 0)
                return -1;
            c->more = rc == 1;
            continue;
        }
        if (c->in_len == IN_CAP)
            return -1; /* cannot happen: a full buffer is a head too long */
        ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->in_len += (size_t)n;
        int rc = answer_all(c);
        if (rc < 0)
            return -1;
        c->more = rc == 1;
    }
}

static void *open_hook(int fd) {
    conn *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->fd = fd;
    return c;
}
static int serve_hook(void *c) { return serve(c); }
static void close_hook(void *c) { conn_close(c); }

int main(int argc, char **argv) {
    static const epoll_server server = {"epoll-http", open_hook, serve_hook,
                                        close_hook};
    epoll_server_main(&server, argc, argv);
}
