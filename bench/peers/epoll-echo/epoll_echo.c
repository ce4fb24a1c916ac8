/*
 * epoll-echo: a minimal hand-written TCP echo server: one thread, raw
 * epoll, edge-triggered, non-blocking sockets, no runtime. It is the
 * throughput ceiling of bench/echo/run.sh: what any runtime adds is
 * measured against it.
 *
 *     epoll-echo PORT
 *
 * Listens on 127.0.0.1:PORT (backlog 1024) until killed. Every connection
 * is registered once for EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET. On
 * readiness it reads into one shared 64 KiB buffer until EAGAIN and writes
 * each chunk straight back; only when the socket's send buffer is full does
 * the unsent rest go to a per-connection buffer, and reading stops until
 * the next EPOLLOUT has flushed it (so a slow reader cannot make the server
 * buffer without bound). Accepted sockets get TCP_NODELAY, like every
 * server run.sh drives.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "../epoll-loop/epoll_loop.h"

#define BUF_SIZE 65536

typedef struct conn {
    int fd;
    char *pending; /* unsent bytes, when the send buffer filled */
    size_t len, off, cap;
} conn;

static char buf[BUF_SIZE];

static void conn_close(conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    free(c->pending);
    free(c);
}

/* Writes what is pending. Returns 1 when all of it went, 0 when the socket
 * is full again, -1 on error. */
static int flush_pending(conn *c) {
    while (c->off < c->len) {
        ssize_t n =
            send(c->fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n > 0) {
            c->off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return -1;
        }
    }
    c->len = c->off = 0;
    return 1;
}

/* Keeps data[0..n) for later. */
static int stash(conn *c, const char *data, size_t n) {
    if (c->cap < n) {
        char *p = realloc(c->pending, n);
        if (p == NULL)
            return -1;
        c->pending = p;
        c->cap = n;
    }
    memcpy(c->pending, data, n);
    c->len = n;
    c->off = 0;
    return 0;
}

/* Reads until EAGAIN, echoing each chunk. Returns -1 when the connection is
 * done (EOF or error), else 0. */
static int echo(conn *c) {
    if (c->len > 0) {
        int rc = flush_pending(c);
        if (rc <= 0)
            return rc; /* still full: wait for EPOLLOUT */
    }
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            ssize_t w = send(c->fd, buf + off, (size_t)n - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += (size_t)w;
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                /* Full: keep the rest and stop reading until EPOLLOUT. */
                return stash(c, buf + off, (size_t)n - off);
            } else {
                return -1;
            }
        }
    }
}

static void *open_hook(int fd) {
    conn *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->fd = fd;
    return c;
}
static int serve_hook(void *c) { return echo(c); }
static void close_hook(void *c) { conn_close(c); }

int main(int argc, char **argv) {
    static const epoll_server server = {"epoll-echo", open_hook, serve_hook,
                                        close_hook};
    epoll_server_main(&server, argc, argv);
}
