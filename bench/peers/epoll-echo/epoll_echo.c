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

#define BUF_SIZE   65536
#define MAX_EVENTS 256

typedef struct conn {
    int fd;
    char *pending; /* unsent bytes, when the send buffer filled */
    size_t len, off, cap;
} conn;

static char buf[BUF_SIZE];

static void die(const char *what) {
    fprintf(stderr, "epoll-echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

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

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: epoll-echo PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "epoll-echo: bad port %s\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        die("bind");
    if (listen(lfd, 1024) != 0)
        die("listen");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    /* The listener is edge-triggered too: accept until EAGAIN. Its event
     * carries a NULL pointer. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        die("epoll_ctl");
    fprintf(stderr, "epoll-echo: listening on 127.0.0.1:%d\n", port);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            conn *c = events[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd =
                        accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                            continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                            fprintf(stderr, "epoll-echo: accept: %s\n",
                                    strerror(errno));
                        break;
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    conn *nc = calloc(1, sizeof(*nc));
                    if (nc == NULL) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT |
                                                        EPOLLRDHUP | EPOLLET,
                                              .data.ptr = nc};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) != 0) {
                        conn_close(nc);
                        continue;
                    }
                    /* Data may already be there: the edge came before
                     * the registration. */
                    if (echo(nc) < 0)
                        conn_close(nc);
                }
                continue;
            }
            if (events[i].events & EPOLLERR) {
                conn_close(c);
                continue;
            }
            /* EPOLLIN, EPOLLOUT (room after a full send buffer), or
             * EPOLLRDHUP/EPOLLHUP (read to EOF, then close). */
            if (echo(c) < 0)
                conn_close(c);
        }
    }
}
