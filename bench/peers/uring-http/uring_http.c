/*
 * uring-http: the hand-written HTTP/1.1 "hello" server on io_uring's
 * completions: one thread, one ring, no runtime (../uring-loop/uring_loop.h).
 * It is the io_uring limit of bench/http/bench.py, beside epoll-http, and
 * answers byte for byte as it does (../common/http_hello.h), with
 * "uring-http" in the Server header.
 *
 *     uring-http PORT
 *
 * Each connection: a RECV into its input buffer; every complete request in
 * it answered into the output buffer, in order; one SEND of the whole
 * output (again for what a short send left); then the next RECV. Past
 * OUT_HIGH of output the remaining requests wait until it has gone, so a
 * client that does not read cannot make the server buffer without bound.
 */
#include "../uring-loop/uring_loop.h"

#define HTTP_HELLO_SERVER "uring-http"
#include "../common/http_hello.h"

static void *open_hook(int fd) {
    conn *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->fd = fd;
    return c;
}

static char *rbuf_hook(void *p, size_t *cap) {
    conn *c = p;
    if (c->closing || c->in_len == IN_CAP)
        return NULL; /* a full buffer cannot happen: it is a head too long */
    *cap = IN_CAP - c->in_len;
    return c->in + c->in_len;
}

static int received_hook(void *p, size_t n) {
    conn *c = p;
    c->in_len += n;
    int rc = answer_all(c);
    if (rc < 0)
        return -1;
    c->more = rc == 1;
    return 0;
}

static const char *wbuf_hook(void *p, size_t *len) {
    conn *c = p;
    *len = c->out_len - c->out_off;
    return c->out + c->out_off;
}

static int sent_hook(void *p, size_t n) {
    conn *c = p;
    c->out_off += n;
    if (c->out_off < c->out_len)
        return 0;
    c->out_len = c->out_off = 0;
    if (c->more) {
        /* requests left in the buffer at OUT_HIGH: answer those now */
        int rc = answer_all(c);
        if (rc < 0)
            return -1;
        c->more = rc == 1;
    }
    return 0;
}

static void close_hook(void *p) {
    conn *c = p;
    free(c->out);
    free(c);
}

int main(int argc, char **argv) {
    static const uring_server server = {"uring-http",  open_hook, rbuf_hook,
                                        received_hook, wbuf_hook, sent_hook,
                                        close_hook};
    uring_server_main(&server, argc, argv);
}
