/*
 * reply.c: the reply API (server.h "Replies"): RESP2 and RESP3 values
 * appended to a client's reply buffer, c->obuf. The connection task
 * writes the buffer once per batch of commands (networking.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

/* Room for n more bytes in c->obuf; returns where they go. */
static inline char *reserve(client *c, size_t n) {
    rbuf *b = &c->obuf;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n)
            cap *= 2;
        b->buf = zrealloc(b->buf, cap);
        b->cap = cap;
    }
    return b->buf + b->len;
}

static inline bool discard(const client *c) {
    return (c->flags & (CLIENT_NO_REPLY | CLIENT_CLOSE_ASAP)) != 0;
}

void add_reply_raw(client *c, const char *p, size_t len) {
    if (discard(c))
        return;
    char *d = reserve(c, len);
    memcpy(d, p, len);
    c->obuf.len += len;
}

/* Writes v in decimal at p; returns the length. */
static inline int ll_write(char *p, int64_t v) {
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    int len = 0;
    if (v < 0)
        p[len++] = '-';
    while (n > 0)
        p[len++] = tmp[--n];
    return len;
}

/* "<prefix><n>\r\n" */
static void add_header(client *c, char prefix, int64_t n) {
    if (discard(c))
        return;
    char *d = reserve(c, 32);
    d[0] = prefix;
    int l = 1 + ll_write(d + 1, n);
    d[l++] = '\r';
    d[l++] = '\n';
    c->obuf.len += (size_t)l;
}

void add_reply_status(client *c, const char *s) {
    if (discard(c))
        return;
    size_t n = strlen(s);
    char *d = reserve(c, n + 3);
    d[0] = '+';
    memcpy(d + 1, s, n);
    d[n + 1] = '\r';
    d[n + 2] = '\n';
    c->obuf.len += n + 3;
}

void add_reply_ok(client *c) { add_reply_raw(c, "+OK\r\n", 5); }

void add_reply_error(client *c, const char *msg) {
    server.stat_total_error_replies++;
    if (discard(c))
        return;
    /* Redis: a message that starts with '-' carries its own code;
     * otherwise "ERR " goes in front. Newlines would break the protocol:
     * they become spaces. */
    size_t n = strlen(msg);
    bool own = n > 0 && msg[0] == '-';
    size_t hl = own ? 0 : 5;
    char *d = reserve(c, hl + n + 2);
    if (!own)
        memcpy(d, "-ERR ", 5);
    memcpy(d + hl, msg, n);
    for (size_t i = 1; i < hl + n; i++)
        if (d[i] == '\r' || d[i] == '\n')
            d[i] = ' ';
    d[hl + n] = '\r';
    d[hl + n + 1] = '\n';
    c->obuf.len += hl + n + 2;
}

void add_reply_error_fmt(client *c, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    add_reply_error(c, buf);
}

void add_reply_error_arity(client *c) {
    add_reply_error_fmt(c, "wrong number of arguments for '%s' command",
                        c->cmd ? c->cmd->name : "unknown");
}

void add_reply_error_syntax(client *c) { add_reply_error(c, "syntax error"); }

void add_reply_wrongtype(client *c) {
    add_reply_error(c, "-WRONGTYPE Operation against a key holding the "
                       "wrong kind of value");
}

void add_reply_long_long(client *c, int64_t v) {
    if (v == 0) {
        add_reply_raw(c, ":0\r\n", 4);
        return;
    }
    if (v == 1) {
        add_reply_raw(c, ":1\r\n", 4);
        return;
    }
    add_header(c, ':', v);
}

void add_reply_bulk(client *c, const char *p, size_t len) {
    if (discard(c))
        return;
    char *d = reserve(c, len + 32);
    d[0] = '$';
    int l = 1 + ll_write(d + 1, (int64_t)len);
    d[l++] = '\r';
    d[l++] = '\n';
    if (len > 0)
        memcpy(d + l, p, len);
    l += (int)len; /* bulks are capped at proto-max-bulk-len (< 2^31) */
    d[l++] = '\r';
    d[l++] = '\n';
    c->obuf.len += (size_t)l;
}

void add_reply_bulk_cstr(client *c, const char *s) {
    if (s == NULL)
        add_reply_null(c);
    else
        add_reply_bulk(c, s, strlen(s));
}

void add_reply_bulk_long_long(client *c, int64_t v) {
    char buf[24];
    int n = ll_write(buf, v);
    add_reply_bulk(c, buf, (size_t)n);
}

void add_reply_bulk_obj(client *c, const robj *o) {
    char buf[24];
    rslice s = robj_string_bytes(o, buf);
    add_reply_bulk(c, s.ptr, s.len);
}

void add_reply_null(client *c) {
    if (c->resp == 2)
        add_reply_raw(c, "$-1\r\n", 5);
    else
        add_reply_raw(c, "_\r\n", 3);
}

void add_reply_null_array(client *c) {
    if (c->resp == 2)
        add_reply_raw(c, "*-1\r\n", 5);
    else
        add_reply_raw(c, "_\r\n", 3);
}

void add_reply_array_len(client *c, int64_t n) { add_header(c, '*', n); }

void add_reply_map_len(client *c, int64_t n) {
    if (c->resp == 2)
        add_header(c, '*', n * 2);
    else
        add_header(c, '%', n);
}

void add_reply_set_len(client *c, int64_t n) {
    add_header(c, c->resp == 2 ? '*' : '~', n);
}

void add_reply_push_len(client *c, int64_t n) {
    add_header(c, c->resp == 2 ? '*' : '>', n);
}

void add_reply_double(client *c, double d) {
    char buf[64];
    if (isinf(d)) {
        if (c->resp == 2)
            add_reply_bulk_cstr(c, d > 0 ? "inf" : "-inf");
        else
            add_reply_raw(c, d > 0 ? ",inf\r\n" : ",-inf\r\n", d > 0 ? 6 : 7);
        return;
    }
    int n = snprintf(buf, sizeof(buf), "%.17g", d);
    if (c->resp == 2) {
        add_reply_bulk(c, buf, (size_t)n);
    } else {
        add_reply_raw(c, ",", 1);
        add_reply_raw(c, buf, (size_t)n);
        add_reply_raw(c, "\r\n", 2);
    }
}

void add_reply_human_long_double(client *c, long double d) {
    char buf[5200];
    int n = format_long_double_human(buf, sizeof(buf), d);
    if (c->resp == 2) {
        add_reply_bulk(c, buf, (size_t)n);
    } else {
        add_reply_raw(c, ",", 1);
        add_reply_raw(c, buf, (size_t)n);
        add_reply_raw(c, "\r\n", 2);
    }
}

void add_reply_bool(client *c, bool b) {
    if (c->resp == 2)
        add_reply_raw(c, b ? ":1\r\n" : ":0\r\n", 4);
    else
        add_reply_raw(c, b ? "#t\r\n" : "#f\r\n", 4);
}

void add_reply_verbatim(client *c, const char *p, size_t len, const char *ext) {
    if (c->resp == 2) {
        add_reply_bulk(c, p, len);
        return;
    }
    add_header(c, '=', (int64_t)len + 4);
    add_reply_raw(c, ext, 3);
    add_reply_raw(c, ":", 1);
    add_reply_raw(c, p, len);
    add_reply_raw(c, "\r\n", 2);
}

/* A deferred length reserves nothing: it remembers the offset, and
 * set_deferred_* inserts the header there (moving what follows, once). */
size_t add_reply_deferred_len(client *c) { return c->obuf.len; }

static void set_deferred(client *c, size_t handle, char prefix, int64_t n) {
    if (discard(c))
        return;
    char hdr[32];
    hdr[0] = prefix;
    int l = 1 + ll_write(hdr + 1, n);
    hdr[l++] = '\r';
    hdr[l++] = '\n';
    reserve(c, (size_t)l);
    rbuf *b = &c->obuf;
    memmove(b->buf + handle + l, b->buf + handle, b->len - handle);
    memcpy(b->buf + handle, hdr, (size_t)l);
    b->len += (size_t)l;
}

void set_deferred_array_len(client *c, size_t handle, int64_t n) {
    set_deferred(c, handle, '*', n);
}

void set_deferred_map_len(client *c, size_t handle, int64_t n) {
    if (c->resp == 2)
        set_deferred(c, handle, '*', n * 2);
    else
        set_deferred(c, handle, '%', n);
}

void set_deferred_set_len(client *c, size_t handle, int64_t n) {
    set_deferred(c, handle, c->resp == 2 ? '*' : '~', n);
}
