/*
 * epoll_loop.h: the one-thread, edge-triggered epoll server loop that the
 * hand-written peers (epoll-echo, epoll-http) share: the argument check,
 * the listener on 127.0.0.1:PORT (backlog 1024), accept until EAGAIN with
 * TCP_NODELAY, one EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET registration
 * per connection, and the event loop. What a server does with a ready
 * connection is its hooks'. Header-only and static inline: each peer is
 * compiled with its own hooks known, so the loop calls them directly, as
 * the hand-written loop it replaces did.
 */
#ifndef EPOLL_LOOP_H
#define EPOLL_LOOP_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#define EPOLL_LOOP_MAX_EVENTS 256

typedef struct epoll_server {
    const char *name; /* "epoll-echo": in the usage and error lines */
    /* A new connection's state for the accepted socket `fd`, or NULL
     * (the loop then closes fd). */
    void *(*open)(int fd);
    /* On readiness (EPOLLIN, EPOLLOUT after a full send buffer,
     * EPOLLRDHUP/EPOLLHUP), and once right after accept (data may have
     * come before the registration). < 0: close the connection. */
    int (*serve)(void *conn);
    /* Closes the socket (which leaves the epoll set) and frees conn. */
    void (*close)(void *conn);
} epoll_server;

static inline void epoll_loop_die(const epoll_server *s, const char *what) {
    fprintf(stderr, "%s: %s: %s\n", s->name, what, strerror(errno));
    exit(1);
}

/* Accepts until EAGAIN, registering and serving each new connection. */
static inline void epoll_loop_accept(const epoll_server *s, int ep, int lfd) {
    int one = 1;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "%s: accept: %s\n", s->name, strerror(errno));
            return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        void *c = s->open(fd);
        if (c == NULL) {
            close(fd);
            continue;
        }
        struct epoll_event cev = {
            .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) != 0 || s->serve(c) < 0)
            s->close(c);
    }
}

/* main() of a peer: `NAME PORT`, then serves until killed. */
static inline int epoll_server_main(const epoll_server *s, int argc,
                                    char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", s->name);
        return 2;
    }
    int port = atoi(argv[1]);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "%s: bad port %s\n", s->name, argv[1]);
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
        epoll_loop_die(s, "socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        epoll_loop_die(s, "bind");
    if (listen(lfd, 1024) != 0)
        epoll_loop_die(s, "listen");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        epoll_loop_die(s, "epoll_create1");
    /* The listener is edge-triggered too: accept until EAGAIN. Its event
     * carries a NULL pointer. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        epoll_loop_die(s, "epoll_ctl");
    fprintf(stderr, "%s: listening on 127.0.0.1:%d\n", s->name, port);

    struct epoll_event events[EPOLL_LOOP_MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, EPOLL_LOOP_MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            epoll_loop_die(s, "epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *c = events[i].data.ptr;
            if (c == NULL)
                epoll_loop_accept(s, ep, lfd);
            else if ((events[i].events & EPOLLERR) || s->serve(c) < 0)
                s->close(c);
        }
    }
}

#endif
