/*
 * listen.h: the start that every hand-written peer server shares (the
 * epoll and io_uring ones): the argument check (`NAME PORT`), SIGPIPE
 * ignored, the descriptor limit raised to its hard limit (1,000 clients),
 * and the listener on 127.0.0.1:PORT with SO_REUSEADDR and a backlog of
 * 1024. Header-only and static inline, as the loops that include it.
 */
#ifndef PEER_LISTEN_H
#define PEER_LISTEN_H

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>

static inline _Noreturn void peer_die(const char *name, const char *what,
                                      int err) {
    fprintf(stderr, "%s: %s: %s\n", name, what, strerror(err));
    exit(1);
}

/* Returns the listening socket (with `sock_flags` such as SOCK_NONBLOCK),
 * or exits with status 2 on a bad command line and 1 on a failed call. */
static inline int peer_listen(const char *name, int argc, char **argv,
                              int sock_flags) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", name);
        exit(2);
    }
    int port = atoi(argv[1]);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "%s: bad port %s\n", name, argv[1]);
        exit(2);
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | sock_flags, 0);
    if (lfd < 0)
        peer_die(name, "socket", errno);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        peer_die(name, "bind", errno);
    if (listen(lfd, 1024) != 0)
        peer_die(name, "listen", errno);
    fprintf(stderr, "%s: listening on 127.0.0.1:%d\n", name, port);
    return lfd;
}

#endif
