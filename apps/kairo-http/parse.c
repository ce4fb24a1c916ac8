/*
 * parse.c: the glue between http_parser's callbacks and kairo-http's
 * connection (parse.h has the contract). Callbacks collect the request's
 * fields into h->req and pause the parser at the two events, so one call
 * of hp_feed reports at most one of them; hp_feed counts the bytes of the
 * head against the limit.
 */
#include "parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    HP__SLOT_IGNORE = 0,
    HP__SLOT_HOST,
    HP__SLOT_EXPECT,
    HP__SLOT_INM,
    HP__SLOT_RANGE
};

static hp *of(http_parser *p) { return (hp *)p->data; }

static int fail(hp *h, int status) {
    h->failed = true;
    h->error_status = status;
    return -1; /* http_parser stops with HPE_CB_* */
}

static void reset_request(hp *h) {
    hp_request *r = &h->req;
    /* the URL is cleared by its length: 4 KiB is not worth zeroing */
    r->method = 0;
    r->major = r->minor = 0;
    r->url_len = 0;
    r->url[0] = 0;
    r->has_host = r->expect_continue = r->expect_other = false;
    r->keep_alive = r->chunked = r->has_length = false;
    r->content_length = 0;
    r->if_none_match[0] = 0;
    r->if_none_match_long = false;
    r->range[0] = 0;
    r->range_long = false;
    h->keep_body = false;
    h->body_len = 0;
    h->body_seen = 0;
    h->headers_done = false;
    h->field_len = 0;
    h->field_long = false;
    h->in_value = false;
    h->slot = HP__SLOT_IGNORE;
    h->value_len = 0;
    h->expect[0] = 0;
}

static int on_message_begin(http_parser *p) {
    hp *h = of(p);
    reset_request(h);
    h->in_message = true;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    hp *h = of(p);
    if (h->req.url_len + len > HP_URL_MAX)
        return fail(h, 414);
    memcpy(h->req.url + h->req.url_len, at, len);
    h->req.url_len += len;
    h->req.url[h->req.url_len] = 0;
    return 0;
}

/* Trims spaces and tabs at both ends, in place. */
static void trim(char *s) {
    size_t n = strlen(s), i = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

/* A value is complete when the next field, or the end of the headers,
 * comes: Expect is judged then (each Expect header by its own value). */
static void end_value(hp *h) {
    if (h->slot == HP__SLOT_EXPECT) {
        trim(h->expect);
        if (strcasecmp(h->expect, "100-continue") == 0)
            h->req.expect_continue = true;
        else
            h->req.expect_other = true;
    }
    h->in_value = false;
    h->slot = HP__SLOT_IGNORE;
    h->value_len = 0;
    h->field_len = 0;
    h->field_long = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    hp *h = of(p);
    (void)at;
    if (h->in_value)
        end_value(h);
    if (h->field_len + len >= sizeof(h->field)) {
        h->field_long = true; /* no header read here is that long */
        return 0;
    }
    memcpy(h->field + h->field_len, at, len);
    h->field_len += len;
    h->field[h->field_len] = 0;
    return 0;
}

static int pick_slot(const hp *h) {
    if (h->field_long || h->headers_done)
        return HP__SLOT_IGNORE; /* trailers are not used */
    if (strcasecmp(h->field, "host") == 0)
        return HP__SLOT_HOST;
    if (strcasecmp(h->field, "expect") == 0)
        return HP__SLOT_EXPECT;
    if (strcasecmp(h->field, "if-none-match") == 0)
        return HP__SLOT_INM;
    if (strcasecmp(h->field, "range") == 0)
        return HP__SLOT_RANGE;
    return HP__SLOT_IGNORE;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    hp *h = of(p);
    if (!h->in_value) {
        h->in_value = true;
        h->slot = pick_slot(h);
        h->value_len = 0;
        if (h->slot == HP__SLOT_HOST)
            h->req.has_host = true;
        if (h->slot == HP__SLOT_EXPECT)
            h->expect[0] = 0;
    }
    char *dst = NULL;
    size_t cap = 0;
    bool *longp = NULL;
    switch (h->slot) {
    case HP__SLOT_EXPECT:
        dst = h->expect, cap = sizeof(h->expect) - 1;
        longp = &h->req.expect_other; /* too long to be 100-continue */
        break;
    case HP__SLOT_INM:
        dst = h->req.if_none_match, cap = HP_VALUE_MAX;
        longp = &h->req.if_none_match_long;
        break;
    case HP__SLOT_RANGE:
        dst = h->req.range, cap = HP_VALUE_MAX;
        longp = &h->req.range_long;
        break;
    default:
        break;
    }
    if (dst) {
        size_t n = len;
        if (h->value_len + n > cap) {
            n = h->value_len < cap ? cap - h->value_len : 0;
            *longp = true;
        }
        memcpy(dst + h->value_len, at, n);
        h->value_len += n;
        dst[h->value_len] = 0;
    }
    return 0;
}

static int on_headers_complete(http_parser *p) {
    hp *h = of(p);
    if (h->in_value)
        end_value(h);
    h->headers_done = true;
    hp_request *r = &h->req;
    trim(r->if_none_match);
    trim(r->range);
    r->method = (int)p->method;
    r->major = p->http_major;
    r->minor = p->http_minor;
    if (r->major != 1)
        return fail(h, 505);
    if (r->minor >= 1 && !r->has_host)
        return fail(h, 400); /* RFC 9112 3.2: Host is required in 1.1 */
    r->keep_alive = http_should_keep_alive(p) != 0;
    r->chunked = (p->flags & F_CHUNKED) != 0;
    if ((p->flags & F_CONTENTLENGTH) != 0) {
        r->has_length = true;
        r->content_length = p->content_length;
        if (r->content_length > h->lim.max_body)
            return fail(h, 413);
    }
    h->pending = HP_EV_HEADERS;
    h->in_head = false;
    h->head_bytes = 0; /* from here on: the body's framing (hp_feed) */
    http_parser_pause(p, 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    hp *h = of(p);
    h->body_seen += len;
    h->feed_body += len;
    if (h->body_seen > h->lim.max_body)
        return fail(h, 413);
    if (!h->keep_body)
        return 0;
    if (h->body_len + len > h->body_cap) {
        size_t cap = h->body_cap ? h->body_cap : 4096;
        while (cap < h->body_len + len)
            cap *= 2;
        char *nb = realloc(h->body, cap);
        if (!nb)
            return fail(h, 500);
        h->body = nb;
        h->body_cap = cap;
    }
    memcpy(h->body + h->body_len, at, len);
    h->body_len += len;
    return 0;
}

static int on_message_complete(http_parser *p) {
    hp *h = of(p);
    h->in_message = false;
    h->in_head = true; /* the next message's head starts here */
    h->head_bytes = 0;
    h->pending = HP_EV_MESSAGE;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void hp_init(hp *h, const hp_limits *lim) {
    memset(h, 0, sizeof(*h));
    h->lim = *lim;
    h->in_head = true;
    http_parser_init(&h->p, HTTP_REQUEST);
    h->p.data = h;
}

void hp_free(hp *h) {
    free(h->body);
    h->body = NULL;
    h->body_cap = h->body_len = 0;
}

void hp_resume(hp *h) { http_parser_pause(&h->p, 0); }

size_t hp_feed(hp *h, const char *data, size_t len, hp_event *ev) {
    *ev = HP_EV_NONE;
    if (h->failed) {
        *ev = HP_EV_ERROR;
        return 0;
    }
    h->p.data = h; /* the hp may have moved (a spawned future is copied) */
    h->pending = HP_EV_NONE;
    /* The head is everything from the end of the previous message (or
     * the connection's start) to the end of the headers: at most
     * max_header bytes (431). After it, the body's framing (chunk-size
     * lines, extensions, trailers: the bytes that are not body) is
     * counted the same way, against max_header + max_body (413), so no
     * stream of chunk extensions or trailers is endless. While counting,
     * the parser is given at most one byte more than the limit allows
     * (each byte adds at most one), so it stops at the same byte however
     * the input was split into reads: an error in the input and the
     * limit are found in the same order. */
    bool head = h->in_head;
    uint64_t limit = head ? h->lim.max_header
                          : (uint64_t)h->lim.max_header + h->lim.max_body;
    size_t feed = len;
    uint64_t room =
        h->head_bytes <= limit ? limit - h->head_bytes + 1 : (uint64_t)1;
    if (feed > room)
        feed = (size_t)room;
    h->feed_body = 0;
    size_t n = http_parser_execute(&h->p, &settings, data, feed);
    enum http_errno e = HTTP_PARSER_ERRNO(&h->p);
    if (h->failed) {
        *ev = HP_EV_ERROR;
        return n;
    }
    if (head ? h->in_head : !h->in_head && h->in_message) {
        /* still in the part counted (a HEADERS or MESSAGE event resets
         * the count for the next part) */
        size_t body = h->feed_body < n ? h->feed_body : n;
        h->head_bytes += n - body;
        if (h->head_bytes > limit) {
            fail(h, head ? 431 : 413);
            *ev = HP_EV_ERROR;
            return n;
        }
    }
    if (e == HPE_PAUSED) {
        *ev = h->pending;
        return n;
    }
    if (e != HPE_OK) {
        h->failed = true;
        h->error_status = 400; /* malformed, an unknown method included */
        *ev = HP_EV_ERROR;
    }
    return n;
}
