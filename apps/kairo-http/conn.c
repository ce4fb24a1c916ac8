/*
 * conn.c: one HTTP/1.1 connection, as one task.
 *
 * The loop: parse what the read buffer holds (parse.h), one event at a
 * time; at each complete request append its response to the write buffer;
 * when the buffer is parsed, flush the responses and read again. So
 * pipelined requests are answered in order, in one write per read.
 *
 * Every read and write waits under the connection's deadline (one kr_sleep,
 * moved, never re-armed from scratch): between requests the keep-alive
 * idle timeout; from a request's first byte to its headers' end the header
 * timeout, fixed when the request began (a client trickling header bytes is
 * cut off at it: 408, close); for a body's reads and every write, the idle
 * timeout again, per operation. A connection waits only on its own socket,
 * so a slow client delays nobody else. Between requests the read also
 * waits on the server's stop token: at shutdown idle connections close at
 * once, and one in a request finishes it with "Connection: close".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "files.h"
#include "http.h"

#define RBUF       8192
#define FILE_CHUNK 65536
#define FLUSH_AT   65536

static const char hello[] = "Hello, World!\n";

/* ---- a read or write under the deadline ------------------------------- */

/* Output (int64_t): the read's or write's result, KR_ELAPSED when the
 * deadline passed first, KR_ECANCELED when the stop token was cancelled
 * first (only where `stop` is set). Holds nothing while pending: the
 * sleep and the token's future are the connection's. */
typedef struct io_dl {
    kr_future base;
    kr_tcp_stream *s;
    bool write;
    void *buf;
    size_t len;
    kr_sleep *dl;
    kr_cancelled *stop;
} io_dl;

static kr_poll io_dl_poll(kr_future *f, kr_context *cx, void *out) {
    io_dl *d = (io_dl *)f;
    int64_t res;
    kr_poll p = d->write
                    ? kr_tcp_stream_poll_write(d->s, cx, d->buf, d->len, &res)
                    : kr_tcp_stream_poll_read(d->s, cx, d->buf, d->len, &res);
    if (p == KR_PENDING) {
        if (kr_future_poll(&d->dl->base, cx, NULL) == KR_READY)
            res = KR_ELAPSED;
        else if (d->stop &&
                 kr_future_poll(&d->stop->base, cx, NULL) == KR_READY)
            res = KR_ECANCELED;
        else
            return KR_PENDING;
    }
    *(int64_t *)out = res;
    return KR_READY;
}
KR_FUTURE_VTABLE(io_dl_vt, io_dl, io_dl_poll, NULL, sizeof(int64_t));

static io_dl io_dl_make(kr_tcp_stream *s, bool write, void *buf, size_t len,
                        kr_sleep *dl, kr_cancelled *stop) {
    io_dl d = {{&io_dl_vt}, s, write, buf, len, dl, stop};
    return d;
}

/* ---- the connection ---------------------------------------------------- */

typedef struct conn {
    kr_future base;
    kr_coro co;
    http_server *srv;
    kr_tcp_stream *s;
    kr_sleep dl;
    kr_cancelled stop;
    bool stopping; /* the token fired: no keep-alive */
    io_dl io;
    kr_fs_op op;
    int64_t n;
    hp hp;
    hp_event ev;
    bool close_after;   /* the response says "Connection: close" */
    bool finish;        /* close once the responses are flushed */
    bool reject;        /* a 503 for a connection over the limit */
    bool want_continue; /* Expect: 100-continue, not yet answered */
    kr_instant head_deadline;
    size_t rpos, rlen;
    char *wbuf;
    size_t wlen, wcap, woff;
    /* a static file being served */
    kr_file *file;
    kr_metadata md;
    uint64_t foff, fend; /* [foff, fend) still to send */
    char path[PATH_MAX];
    char canon[PATH_MAX];
    char rbuf[RBUF];
} conn;

static int wreserve(conn *c, size_t more) {
    if (c->wlen + more <= c->wcap)
        return 0;
    size_t cap = c->wcap ? c->wcap : 4096;
    while (cap < c->wlen + more)
        cap *= 2;
    char *nb = realloc(c->wbuf, cap);
    if (!nb)
        return -1;
    c->wbuf = nb;
    c->wcap = cap;
    return 0;
}

static void wadd(conn *c, const char *p, size_t n) {
    if (wreserve(c, n) != 0) {
        c->close_after = c->finish =
            true; /* out of memory: this response is cut */
        return;
    }
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
}

static const char *reason(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* The Date header's value, formatted once a second per thread. */
static const char *http_now(void) {
    static _Thread_local time_t sec = -1;
    static _Thread_local char buf[40];
    time_t now = time(NULL);
    if (now != sec) {
        sec = now;
        files_http_date((int64_t)now, buf, sizeof(buf));
    }
    return buf;
}

/* A bounded header buffer: appends what fits (the head is cut at the
 * buffer's end, as snprintf cut it). */
typedef struct hbuf {
    char b[1024];
    size_t n;
} hbuf;

static void hput(hbuf *h, const char *s, size_t len) {
    size_t room = sizeof(h->b) - 1 - h->n;
    if (len > room)
        len = room;
    memcpy(h->b + h->n, s, len);
    h->n += len;
}

static void hputs(hbuf *h, const char *s) { hput(h, s, strlen(s)); }

static void hput_u64(hbuf *h, uint64_t v) {
    char d[20];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    hput(h, d + i, sizeof(d) - i);
}

/* Status line and the common headers; `length` < 0 leaves Content-Length
 * out (304, a chunked body). `extra` is more header lines, each ending in
 * CRLF. Built with copies, not snprintf: on the hello route the four
 * snprintf calls were ~2,600 of the ~6,700 user-space instructions a
 * request cost (callgrind, kairo-http on 2 workers under wrk). */
static void resp_head(conn *c, int status, const char *ctype, int64_t length,
                      const char *extra) {
    hbuf h;
    h.n = 0;
    hput(&h, "HTTP/1.1 ", 9);
    hput_u64(&h, (uint64_t)status);
    hput(&h, " ", 1);
    hputs(&h, reason(status));
    static const char server[] = "\r\nServer: kairo-http\r\nDate: ";
    hput(&h, server, sizeof(server) - 1);
    hputs(&h, http_now());
    hput(&h, "\r\n", 2);
    if (ctype) {
        hput(&h, "Content-Type: ", 14);
        hputs(&h, ctype);
        hput(&h, "\r\n", 2);
    }
    if (length >= 0) {
        hput(&h, "Content-Length: ", 16);
        hput_u64(&h, (uint64_t)length);
        hput(&h, "\r\n", 2);
    }
    if (c->close_after)
        hput(&h, "Connection: close\r\n", 19);
    wadd(c, h.b, h.n);
    if (extra)
        wadd(c, extra, strlen(extra));
    wadd(c, "\r\n", 2);
}

/* A short text response; the body left out for HEAD. */
static void resp_text(conn *c, int status, const char *body,
                      const char *extra) {
    size_t bl = strlen(body);
    resp_head(c, status, "text/plain; charset=utf-8", (int64_t)bl, extra);
    if (c->hp.req.method != HTTP_HEAD || c->hp.failed)
        wadd(c, body, bl);
}

static void resp_error(conn *c, int status) {
    char body[80];
    snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
    resp_text(c, status, body, NULL);
}

/* At the headers: decide whether the body is wanted. Returns 1 when a
 * response was already written and the connection must close (417). */
static int on_headers(conn *c) {
    hp_request *r = &c->hp.req;
    if (!r->keep_alive || c->stopping ||
        kr_cancel_token_is_cancelled(c->srv->stop))
        c->close_after = true;
    if (r->expect_other) {
        c->close_after = true;
        resp_error(c, 417);
        return 1;
    }
    /* POST or PUT /echo keeps its body to send it back */
    c->hp.keep_body = (r->method == HTTP_POST || r->method == HTTP_PUT) &&
                      r->url_len == 5 && memcmp(r->url, "/echo", 5) == 0;
    return 0;
}

/* Whether a body follows the headers (100-continue is sent only then). */
static bool body_expected(const hp_request *r) {
    return r->chunked || (r->has_length && r->content_length > 0);
}

/* Answers a complete request that needs no file. Returns 1 if it was
 * answered, 0 if it is a static file (c->path set). */
static int respond(conn *c) {
    hp_request *r = &c->hp.req;
    if (r->url_len == 1 && r->url[0] == '/') {
        if (r->method == HTTP_GET || r->method == HTTP_HEAD)
            resp_text(c, 200, hello, NULL);
        else
            resp_text(c, 405, "405 Method Not Allowed\n",
                      "Allow: GET, HEAD\r\n");
        return 1;
    }
    if (c->hp.keep_body) { /* POST /echo */
        if (r->chunked && r->minor >= 1) {
            /* a chunked request is answered chunked (HTTP/1.1 only) */
            char line[32];
            resp_head(c, 200, "application/octet-stream", -1,
                      "Transfer-Encoding: chunked\r\n");
            if (c->hp.body_len) {
                int n = snprintf(line, sizeof(line), "%zx\r\n", c->hp.body_len);
                wadd(c, line, (size_t)n);
                wadd(c, c->hp.body, c->hp.body_len);
                wadd(c, "\r\n", 2);
            }
            wadd(c, "0\r\n\r\n", 5);
            return 1;
        }
        resp_head(c, 200, "application/octet-stream", (int64_t)c->hp.body_len,
                  NULL);
        wadd(c, c->hp.body, c->hp.body_len);
        return 1;
    }
    if (c->srv->root_len == 0) {
        resp_error(c, 404);
        return 1;
    }
    if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
        resp_text(c, 405, "405 Method Not Allowed\n", "Allow: GET, HEAD\r\n");
        return 1;
    }
    char rel[PATH_MAX];
    if (files_safe_path(r->url, r->url_len, rel, sizeof(rel) - 1) != 0) {
        resp_error(c, 403);
        return 1;
    }
    int n = snprintf(c->path, sizeof(c->path), "%s/%s", c->srv->root, rel);
    if (n < 0 || n >= (int)sizeof(c->path)) {
        resp_error(c, 404);
        return 1;
    }
    return 0;
}

static int fs_status(int64_t rc) { return rc == KR_EACCES ? 403 : 404; }

/* The file is open and c->md filled: the head of its response, and the
 * range to send (none for HEAD, 304, 416). */
static void file_head(conn *c) {
    hp_request *r = &c->hp.req;
    char etag[64], lm[40], extra[512];
    files_etag(c->md.size, c->md.mtime_ns, etag, sizeof(etag));
    files_http_date(c->md.mtime_ns / 1000000000, lm, sizeof(lm));
    c->foff = c->fend = 0;
    /* If-None-Match first; If-Modified-Since only without it (RFC 9110
     * 13.1.3) */
    bool not_modified = false;
    int64_t ims;
    if (r->if_none_match[0])
        not_modified =
            !r->if_none_match_long && files_etag_match(r->if_none_match, etag);
    else if (r->if_modified_since[0] && !r->if_modified_since_long &&
             files_parse_http_date(r->if_modified_since, &ims) == 0)
        not_modified = c->md.mtime_ns / 1000000000 <= ims;
    if (not_modified) {
        snprintf(extra, sizeof(extra), "ETag: %s\r\nLast-Modified: %s\r\n",
                 etag, lm);
        resp_head(c, 304, NULL, -1, extra);
        return;
    }
    uint64_t first = 0, last = 0;
    int rg = 0;
    if (r->range[0] && !r->range_long)
        rg = files_range(r->range, c->md.size, &first, &last);
    if (rg < 0) {
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n",
                 (unsigned long long)c->md.size);
        resp_text(c, 416, "416 Range Not Satisfiable\n", extra);
        return;
    }
    const char *ctype = files_mime(c->canon);
    if (rg > 0) {
        snprintf(extra, sizeof(extra),
                 "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n"
                 "Content-Range: bytes %llu-%llu/%llu\r\n",
                 etag, lm, (unsigned long long)first, (unsigned long long)last,
                 (unsigned long long)c->md.size);
        resp_head(c, 206, ctype, (int64_t)(last - first + 1), extra);
        c->foff = first;
        c->fend = last + 1;
    } else {
        snprintf(extra, sizeof(extra),
                 "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n",
                 etag, lm);
        resp_head(c, 200, ctype, (int64_t)c->md.size, extra);
        c->foff = 0;
        c->fend = c->md.size;
    }
    if (r->method == HTTP_HEAD)
        c->foff = c->fend = 0;
}

static kr_poll conn_poll(kr_future *f, kr_context *cx, void *out) {
    conn *c = (conn *)f;
    (void)out;
    KR_ASYNC_BEGIN(&c->co);
    for (;;) {
        /* ---- parse what is buffered, answer each complete request */
        while (c->rpos < c->rlen && !c->finish) {
            bool was_in = hp_in_message(&c->hp);
            c->rpos +=
                hp_feed(&c->hp, c->rbuf + c->rpos, c->rlen - c->rpos, &c->ev);
            if (!was_in && hp_in_message(&c->hp))
                c->head_deadline =
                    kr_instant_add(kr_instant_now(), c->srv->header_timeout);
            if (c->ev == HP_EV_ERROR) {
                c->close_after = c->finish = true;
                resp_error(c, c->hp.error_status);
                break;
            }
            if (c->ev == HP_EV_HEADERS) {
                if (on_headers(c)) {
                    c->finish = true;
                    break;
                }
                hp_resume(&c->hp);
                c->want_continue =
                    c->hp.req.expect_continue && body_expected(&c->hp.req);
                continue;
            }
            if (c->ev != HP_EV_MESSAGE)
                continue;
            /* ---- a complete request (at shutdown: the last on this
             * connection) */
            if (kr_cancel_token_is_cancelled(c->srv->stop))
                c->close_after = true;
            if (!respond(c)) {
                c->n = 0;
                c->op = kr_fs_canonicalize(c->path, c->canon, sizeof(c->canon));
                KR_AWAIT_INTO(&c->co, &c->op, cx, c->n);
                if (c->n >= 0 &&
                    (strncmp(c->canon, c->srv->root, c->srv->root_len) != 0 ||
                     (c->canon[c->srv->root_len] != '/' &&
                      c->canon[c->srv->root_len] != 0)))
                    c->n = KR_EACCES; /* a symlink out of the root */
                if (c->n >= 0) {
                    kr_open_options o = kr_open_options_read();
                    c->op = kr_fs_open(c->canon, &o, &c->file);
                    KR_AWAIT_INTO(&c->co, &c->op, cx, c->n);
                }
                if (c->n >= 0) {
                    c->op = kr_file_metadata(c->file, &c->md);
                    KR_AWAIT_INTO(&c->co, &c->op, cx, c->n);
                    if (c->n >= 0 && c->md.type != KR_FILE_TYPE_FILE)
                        c->n = KR_EACCES; /* a directory: no listings */
                }
                if (c->n < 0)
                    resp_error(c, fs_status(c->n));
                else
                    file_head(c);
                while (c->foff < c->fend) {
                    if (wreserve(c, FILE_CHUNK) != 0) {
                        c->close_after = c->finish = true;
                        break;
                    }
                    {
                        uint64_t want = c->fend - c->foff;
                        if (want > FILE_CHUNK)
                            want = FILE_CHUNK;
                        c->op = kr_file_read_at(c->file, c->wbuf + c->wlen,
                                                (size_t)want, (int64_t)c->foff);
                    }
                    KR_AWAIT_INTO(&c->co, &c->op, cx, c->n);
                    if (c->n <= 0) {
                        /* the file shrank or failed under us: the length
                         * sent cannot be kept, so the connection ends */
                        c->close_after = c->finish = true;
                        break;
                    }
                    c->wlen += (size_t)c->n;
                    c->foff += (uint64_t)c->n;
                    if (c->wlen >= FLUSH_AT) {
                        c->woff = 0;
                        while (c->woff < c->wlen) {
                            kr_sleep_reset(
                                &c->dl, kr_instant_add(kr_instant_now(),
                                                       c->srv->idle_timeout));
                            c->io = io_dl_make(c->s, true, c->wbuf + c->woff,
                                               c->wlen - c->woff, &c->dl, NULL);
                            KR_AWAIT_INTO(&c->co, &c->io, cx, c->n);
                            if (c->n <= 0)
                                goto done;
                            c->woff += (size_t)c->n;
                        }
                        c->wlen = c->woff = 0;
                    }
                }
                kr_file_close(c->file);
                c->file = NULL;
            }
            if (c->close_after)
                c->finish = true; /* said "Connection: close": done */
            hp_resume(&c->hp);
        }
        /* The client waits for "100 Continue" before sending the body:
         * sent once the buffered input is parsed, unless the body began. */
        if (c->want_continue && !c->finish && hp_in_message(&c->hp) &&
            c->hp.body_seen == 0)
            wadd(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->want_continue = false;
        /* ---- flush the responses */
        c->woff = 0;
        while (c->woff < c->wlen) {
            kr_sleep_reset(
                &c->dl, kr_instant_add(kr_instant_now(), c->srv->idle_timeout));
            c->io = io_dl_make(c->s, true, c->wbuf + c->woff, c->wlen - c->woff,
                               &c->dl, NULL);
            KR_AWAIT_INTO(&c->co, &c->io, cx, c->n);
            if (c->n <= 0)
                goto done;
            c->woff += (size_t)c->n;
        }
        c->wlen = c->woff = 0;
        if (c->finish) {
            /* Lingering close: what the client sent after the last answer
             * (a body refused with 413, pipelined requests after a 400) is
             * read and dropped, for at most 1 s and 1 MiB, so closing with
             * unread input does not reset the connection before the client
             * reads the answer. */
            kr_tcp_stream_shutdown(c->s, KR_SHUT_WRITE);
            kr_sleep_reset(&c->dl,
                           kr_instant_add(kr_instant_now(), kr_secs(1)));
            for (c->woff = 0; c->woff < (1u << 20); c->woff += (size_t)c->n) {
                c->io = io_dl_make(c->s, false, c->rbuf, RBUF, &c->dl, NULL);
                KR_AWAIT_INTO(&c->co, &c->io, cx, c->n);
                if (c->n <= 0)
                    break;
            }
            break;
        }
        /* ---- read more */
        if (c->rpos == c->rlen)
            c->rpos = c->rlen = 0;
        if (!hp_in_message(&c->hp)) { /* idle between requests */
            if (c->stopping || kr_cancel_token_is_cancelled(c->srv->stop))
                break;
            kr_sleep_reset(
                &c->dl, kr_instant_add(kr_instant_now(), c->srv->idle_timeout));
        } else if (!c->hp.headers_done) {
            kr_sleep_reset(&c->dl, c->head_deadline);
        } else {
            kr_sleep_reset(
                &c->dl, kr_instant_add(kr_instant_now(), c->srv->idle_timeout));
        }
        c->io = io_dl_make(c->s, false, c->rbuf + c->rlen, RBUF - c->rlen,
                           &c->dl, hp_in_message(&c->hp) ? NULL : &c->stop);
        KR_AWAIT_INTO(&c->co, &c->io, cx, c->n);
        if (c->n == KR_ELAPSED && hp_in_message(&c->hp) &&
            !c->hp.headers_done) {
            /* the header timeout: tell the client why, then close */
            c->close_after = c->finish = true;
            resp_error(c, 408);
            continue;
        }
        if (c->n == KR_ECANCELED) {
            c->stopping = true;
            break;
        }
        if (c->n <= 0)
            break; /* end of stream, an error, or the idle timeout */
        c->rlen += (size_t)c->n;
    }
done:
    (void)0;
    KR_ASYNC_END(&c->co);
}

static void conn_drop(kr_future *f) {
    conn *c = (conn *)f;
    kr_coro_drop(&c->co); /* a pending read, write or file operation */
    kr_future_drop(&c->dl.base);
    kr_future_drop(&c->stop.base);
    kr_file_close(c->file);
    kr_tcp_stream_free(c->s);
    hp_free(&c->hp);
    free(c->wbuf);
    atomic_fetch_sub(c->reject ? &c->srv->rejects : &c->srv->conns, 1);
}
KR_FUTURE_VTABLE(conn_vt, conn, conn_poll, conn_drop, 0);

typedef struct spawn_arg {
    http_server *srv;
    kr_tcp_stream *s;
    bool reject;
} spawn_arg;

static int conn_init(kr_future *f, void *arg) {
    conn *c = (conn *)f;
    spawn_arg *a = arg;
    memset((char *)c + sizeof(c->base), 0,
           offsetof(conn, rbuf) - sizeof(c->base));
    c->srv = a->srv;
    c->s = a->s;
    hp_init(&c->hp, &a->srv->lim);
    c->dl = kr_sleep_for(a->srv->idle_timeout);
    c->stop = kr_cancel_token_cancelled(a->srv->stop);
    c->reject = a->reject;
    if (a->reject) { /* over the connection limit: 503, then close */
        c->close_after = c->finish = true;
        resp_error(c, 503);
    }
    return 0;
}

int http_conn_spawn(http_server *srv, kr_tcp_stream *s, bool reject) {
    spawn_arg a = {srv, s, reject};
    atomic_uint *count = reject ? &srv->rejects : &srv->conns;
    atomic_fetch_add(count, 1);
    int rc = kr_spawn_in_place(&conn_vt, conn_init, &a, NULL);
    if (rc != 0) {
        atomic_fetch_sub(count, 1);
        kr_tcp_stream_free(s);
    }
    return rc;
}
