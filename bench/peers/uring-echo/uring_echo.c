/*
 * uring-echo: a minimal hand-written TCP echo server on io_uring's
 * completions: one thread, one ring, no runtime (../uring-loop/uring_loop.h).
 * It is the io_uring limit of bench/echo/run.sh, beside epoll-echo.
 *
 *     uring-echo PORT
 *
 * Listens on 127.0.0.1:PORT (backlog 1024) until killed. Each connection
 * has a 16 KiB buffer: a RECV into it, then SENDs of what came until all of
 * it went, then the next RECV. So it never holds more than one buffer per
 * connection, and a client that does not read stops being read.
 */
#include <stdlib.h>

#include "../uring-loop/uring_loop.h"

#define BUF_SIZE 16384

typedef struct conn {
    size_t len, off; /* buf[off..len) is still to be sent */
    char buf[BUF_SIZE];
} conn;

static void *open_hook(int fd) {
    (void)fd;
    conn *c = malloc(sizeof(*c));
    if (c != NULL)
        c->len = c->off = 0;
    return c;
}

static char *rbuf_hook(void *p, size_t *cap) {
    conn *c = p;
    *cap = sizeof(c->buf);
    return c->buf;
}

static int received_hook(void *p, size_t n) {
    conn *c = p;
    c->len = n;
    c->off = 0;
    return 0;
}

static const char *wbuf_hook(void *p, size_t *len) {
    conn *c = p;
    *len = c->len - c->off;
    return c->buf + c->off;
}

static int sent_hook(void *p, size_t n) {
    conn *c = p;
    c->off += n;
    if (c->off == c->len)
        c->len = c->off = 0;
    return 0;
}

static void close_hook(void *c) { free(c); }

int main(int argc, char **argv) {
    static const uring_server server = {"uring-echo",  open_hook, rbuf_hook,
                                        received_hook, wbuf_hook, sent_hook,
                                        close_hook};
    uring_server_main(&server, argc, argv);
}
