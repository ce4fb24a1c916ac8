/*
 * epoll_loop.h: the one-thread, edge-triggered epoll server loop that the
 * hand-written peers (epoll-echo, epoll-http) share: the start of
 * ../common/listen.h (the listener on 127.0.0.1:PORT), accept until EAGAIN with
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

#include "../common/listen.h"

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
static inline _Noreturn void epoll_server_main(const epoll_server *s, int argc,
                                               char **argv) {
    int lfd = peer_listen(s->name, argc, argv, SOCK_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        peer_die(s->name, "epoll_create1", errno);
    /* The listener is edge-triggered too: accept until EAGAIN. Its event
     * carries a NULL pointer. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        peer_die(s->name, "epoll_ctl", errno);

    struct epoll_event events[EPOLL_LOOP_MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, EPOLL_LOOP_MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            peer_die(s->name, "epoll_wait", errno);
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
