/*
 * http.h: kairo-http's server state, shared by the accept loop (main.c)
 * and the connections (conn.c).
 */
#ifndef KAIRO_HTTP_H
#define KAIRO_HTTP_H

#include <limits.h>
#include <stdatomic.h>

#include "kairo.h"
#include "parse.h"

typedef struct http_server {
    hp_limits lim;
    char root[PATH_MAX]; /* canonical, "" for none */
    size_t root_len;
    kr_duration
        header_timeout;       /* first byte of a request to its headers' end */
    kr_duration idle_timeout; /* keep-alive idle, and each body read/write */
    unsigned max_conns;
    atomic_uint conns;     /* open connections */
    atomic_uint rejects;   /* connections being answered 503 */
    kr_cancel_token *stop; /* cancelled at SIGINT/SIGTERM: drain */
} http_server;

/* Spawns the task serving `s` (owned by the task from here, also on
 * failure); with `reject`, one that answers 503 and closes. Returns
 * kr_spawn_in_place's code. */
int http_conn_spawn(http_server *srv, kr_tcp_stream *s, bool reject);

#endif
