/*
 * http_hello.h: the HTTP/1.1 side of the hand-written hello servers
 * (epoll-http, uring-http), shared so that the two limits of
 * bench/http/bench.py answer byte for byte alike and differ only in how
 * they move bytes. Header-only and static, like epoll_loop.h.
 *
 * A connection has an input buffer and an output buffer. answer_all()
 * answers every complete request in the input, in order (pipelining),
 * into the output and keeps the incomplete rest; a request is its head
 * up to the blank line plus a Content-Length body, which is skipped.
 * HTTP/1.0 without "Connection: keep-alive", or "Connection: close", sets
 * `closing`. What these servers do not take (a head over 16 KiB, a chunked
 * body, a request line they cannot read) gets 400/501 and `closing`. Once
 * OUT_HIGH bytes wait to be sent, it stops and sets its result to 1, so a
 * client that does not read cannot make the server buffer without bound.
 *
 * GET / (and HEAD /) answers the same bytes as kairo-http's hello route,
 * with HTTP_HELLO_SERVER (10 characters, as "kairo-http") in the Server
 * header. Any other path gets 404, any other method 405, both keep-alive.
 * The responses are formatted once a second (the Date changes), not per
 * request.
 */
#ifndef HTTP_HELLO_H
#define HTTP_HELLO_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef HTTP_HELLO_SERVER
#error "define HTTP_HELLO_SERVER (the Server header) first"
#endif

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
    int n =
        snprintf(dst, cap,
                 "HTTP/1.1 %s\r\nServer: " HTTP_HELLO_SERVER "\r\nDate: %s\r\n"
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
                     "HTTP/1.1 %s\r\nServer: " HTTP_HELLO_SERVER "\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                     status, strlen(status) + 1, status);
    c->closing = true;
    return out_add(c, r, (size_t)n);
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

#endif
