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
 * kairo-http's do.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "../epoll-loop/epoll_loop.h"

#define MAX_HEAD 16384 /* a request head longer than this gets 400 */
#define IN_CAP   (MAX_HEAD + 4096)
/* Output beyond this stops the answering of further pipelined requests
 * until it has been sent. */
#define OUT_HIGH 65536

typedef struct conn {
    int fd;
    bool closing; /* close once the output is flushed */
    bool more;    /* complete requests left in `in` at OUT_HIGH */
    char in[IN_CAP];
    size_t in_len;
    size_t skip; /* body bytes of the last request still to discard */
    char *out;   /* unsent response bytes: out[out_off..out_len) */
    size_t out_len, out_off, out_cap;
} conn;

/* ---- the responses, formatted once a second ---------------------------- */

static const char hello[] = "Hello, World!\n";

static time_t resp_sec = -1;
static char resp_ok[256], resp_404[256], resp_405[256];
static size_t resp_ok_len, resp_ok_head_len, resp_404_len, resp_404_head_len,
    resp_405_len;

static size_t format_resp(char *dst, size_t cap, const char *status,
                          const char *date, const char *extra, const char *body,
                          size_t *head_len) {
    int n = snprintf(dst, cap,
                     "HTTP/1.1 %s\r\nServer: epoll-http\r\nDate: %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, date, strlen(body), extra);
    if (head_len)
        *head_len = (size_t)n;
    n += snprintf(dst + n, cap - (size_t)n, "%s", body);
    return (size_t)n;
}

static void refresh_responses(void) {
    time_t now = time(NULL);
    if (now == resp_sec)
        return;
    resp_sec = now;
    struct tm tm;
    char date[40];
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    resp_ok_len = format_resp(resp_ok, sizeof(resp_ok), "200 OK", date, "",
                              hello, &resp_ok_head_len);
    resp_404_len = format_resp(resp_404, sizeof(resp_404), "404 Not Found",
                               date, "", "404 Not Found\n", &resp_404_head_len);
    resp_405_len =
        format_resp(resp_405, sizeof(resp_405), "405 Method Not Allowed", date,
                    "Allow: GET, HEAD\r\n", "405 Method Not Allowed\n", NULL);
}

/* ---- connections ------------------------------------------------------- */

static void conn_close(conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    free(c->out);
    free(c);
}

static int out_add(conn *c, const char *p, size_t n) {
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *q = realloc(c->out, cap);
        if (q == NULL)
            return -1;
        c->out = q;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* An error answer; the connection closes after it. */
static int out_fatal(conn *c, const char *status) {
    char r[256];
    int n = snprintf(r, sizeof(r),
                     "HTTP/1.1 %s\r\nServer: epoll-http\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                     status, strlen(status) + 1, status);
    c->closing = true;
    return out_add(c, r, (size_t)n);
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

/* Whether header line [p, e) is `name: ...` (case-insensitive); *val is set
 * to its trimmed value. */
static bool header_is(const char *p, const char *e, const char *name,
                      const char **val, const char **val_end) {
    size_t nl = strlen(name);
    if ((size_t)(e - p) <= nl || p[nl] != ':' || strncasecmp(p, name, nl) != 0)
        return false;
    p += nl + 1;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *val = p;
    *val_end = e;
    return true;
}

static bool token_has(const char *v, const char *e, const char *tok) {
    size_t tl = strlen(tok);
    for (const char *p = v; p + tl <= e; p++)
        if (strncasecmp(p, tok, tl) == 0 && (p == v || !isalnum(p[-1])) &&
            (p + tl == e || !isalnum(p[tl])))
            return true;
    return false;
}

/* Answers the request whose head is in[0..head) (ending in the blank line).
 * Returns 0, or -1 when out of memory. Sets c->skip to its body length. */
static int answer(conn *c, const char *h, size_t head) {
    const char *end = h + head;
    const char *eol = memchr(h, '\r', head);
    /* request line: METHOD SP TARGET SP HTTP/1.x */
    const char *sp1 = memchr(h, ' ', (size_t)(eol - h));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : 0;
    if (sp1 == NULL || sp2 == NULL || eol - sp2 != 9 ||
        memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
        return out_fatal(c, "400 Bad Request");
    bool keep_alive = sp2[8] == '1';
    unsigned long long length = 0;
    for (const char *p = eol + 2; p < end - 2;) {
        const char *e = memchr(p, '\r', (size_t)(end - p));
        const char *v, *ve;
        if (header_is(p, e, "Connection", &v, &ve)) {
            if (token_has(v, ve, "close"))
                keep_alive = false;
            else if (token_has(v, ve, "keep-alive"))
                keep_alive = true;
        } else if (header_is(p, e, "Content-Length", &v, &ve)) {
            char *num_end;
            if (v == ve || !isdigit((unsigned char)*v))
                return out_fatal(c, "400 Bad Request");
            length = strtoull(v, &num_end, 10);
            if (num_end != ve)
                return out_fatal(c, "400 Bad Request");
        } else if (header_is(p, e, "Transfer-Encoding", &v, &ve)) {
            return out_fatal(c, "501 Not Implemented");
        }
        p = e + 2;
    }
    c->skip = length;
    size_t mlen = (size_t)(sp1 - h), tlen = (size_t)(sp2 - sp1 - 1);
    bool get = mlen == 3 && memcmp(h, "GET", 3) == 0;
    bool head_m = mlen == 4 && memcmp(h, "HEAD", 4) == 0;
    int rc;
    if (!get && !head_m)
        rc = out_add(c, resp_405, resp_405_len);
    else if (tlen != 1 || sp1[1] != '/')
        rc = out_add(c, resp_404, head_m ? resp_404_head_len : resp_404_len);
    else
        rc = out_add(c, resp_ok, head_m ? resp_ok_head_len : resp_ok_len);
    if (!keep_alive)
        c->closing = true; /* no Connection: close header: HTTP/1.0 or asked */
    return rc;
}

/* Answers every complete request in the input buffer, in order, and keeps
 * the incomplete rest. Returns 1 when it stopped at OUT_HIGH (complete
 * requests may be left), 0 when it answered all there were, -1 when out of
 * memory. */
static int answer_all(conn *c) {
    size_t off = 0;
    int more = 0;
    refresh_responses();
    while (!c->closing) {
        if (c->out_len - c->out_off >= OUT_HIGH) {
            more = 1;
            break;
        }
        if (c->skip > 0) {
            size_t n = c->in_len - off < c->skip ? c->in_len - off : c->skip;
            off += n;
            c->skip -= n;
            if (c->skip > 0)
                break;
        }
        char *h = c->in + off;
        size_t avail = c->in_len - off;
        char *blank = avail >= 4 ? memmem(h, avail, "\r\n\r\n", 4) : NULL;
        if (blank == NULL) {
            if (avail > MAX_HEAD && out_fatal(c, "400 Bad Request") < 0)
                return -1;
            break;
        }
        size_t head = (size_t)(blank - h) + 4;
        if (answer(c, h, head) < 0)
            return -1;
        off += head;
    }
    if (c->closing) {
        c->in_len = 0; /* whatever follows is not read */
    } else {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return more;
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
    return epoll_server_main(&server, argc, argv);
}
