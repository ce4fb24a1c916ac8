/*
 * parse.h: kairo-http's request parsing glue around Debian's http_parser
 * (joyent/nodejs http-parser 2.9): the fields a response needs, the limits
 * (header size: 431, body size: 413), and one event at a time so the
 * connection answers pipelined requests in order.
 *
 *     hp_init(&hp, &limits);
 *     for each read: off = 0;
 *         while (off < n) {
 *             off += hp_feed(&hp, buf + off, n - off, &ev);
 *             HP_EV_NONE: no event in what was consumed (at least one
 *                 byte): feed the rest, or read more
 *             HP_EV_HEADERS: hp.req is filled in; answer 100-continue or
 *                 reject (413) now; hp_resume(&hp) and feed on
 *             HP_EV_MESSAGE: the request is complete (body in hp.body when
 *                 hp.keep_body was set at HP_EV_HEADERS); answer it, then
 *                 hp_resume(&hp) and feed the rest (the next request)
 *             HP_EV_ERROR: hp.error_status (400, 413, 431, 501, 505): answer
 *                 it and close; feeding further is refused
 *         }
 *
 * No allocation but the kept body (bounded by limits.max_body). Every
 * byte fed is consumed in the end (no event needs more than was given),
 * so the caller's buffer never has to hold a whole request.
 */
#ifndef KAIRO_HTTP_PARSE_H
#define KAIRO_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#define HP_URL_MAX   4096
#define HP_VALUE_MAX 256

typedef struct hp_limits {
    size_t max_header; /* request line + headers, bytes (431 beyond) */
    uint64_t max_body; /* decoded body, bytes (413 beyond) */
} hp_limits;

typedef enum hp_event {
    HP_EV_NONE = 0,
    HP_EV_HEADERS,
    HP_EV_MESSAGE,
    HP_EV_ERROR
} hp_event;

/* What one request said that kairo-http uses. Values longer than
 * HP_VALUE_MAX are kept truncated and flagged (a truncated Range or ETag
 * is then ignored, as an unparseable one would be). */
typedef struct hp_request {
    int method; /* enum http_method */
    unsigned short major, minor;
    char url[HP_URL_MAX + 1];
    size_t url_len;
    bool has_host;
    bool expect_continue; /* Expect: 100-continue */
    bool expect_other;    /* another Expect value: 417 */
    bool keep_alive;      /* http_should_keep_alive at the headers */
    bool chunked;
    bool has_length;
    uint64_t content_length;
    char if_none_match[HP_VALUE_MAX + 1];
    bool if_none_match_long;
    char range[HP_VALUE_MAX + 1];
    bool range_long;
} hp_request;

typedef struct hp {
    http_parser p;
    hp_limits lim;
    hp_request req;
    /* body kept for the caller (when keep_body) */
    bool keep_body;
    char *body;
    size_t body_len, body_cap;
    uint64_t body_seen; /* decoded body bytes this message */
    size_t feed_body;   /* decoded body bytes in this hp_feed */
    size_t head_bytes;  /* of the head being read, or of the trailers */
    bool in_head;       /* before this message's headers ended */
    bool in_message, headers_done, failed;
    int error_status;
    hp_event pending;
    /* the header being read */
    char field[32];
    size_t field_len;
    bool field_long;
    bool in_value; /* the last callback was a header value */
    int slot;      /* where the value goes (parse.c's HP__SLOT_*) */
    size_t value_len;
    char expect[32]; /* Expect's value, judged when it ends */
} hp;

void hp_init(hp *h, const hp_limits *lim);
/* Frees the kept body. */
void hp_free(hp *h);
/* Feeds len bytes; returns how many were consumed and sets *ev. */
size_t hp_feed(hp *h, const char *data, size_t len, hp_event *ev);
/* After HP_EV_HEADERS or HP_EV_MESSAGE: go on parsing. */
void hp_resume(hp *h);
/* True between a request's first byte and its end. */
static inline bool hp_in_message(const hp *h) { return h->in_message; }

#endif
