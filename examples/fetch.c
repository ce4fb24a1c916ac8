/*
 * fetch: an HTTP/1.0 client fetching N URLs, at most K at a time, each
 * with a deadline.
 *
 *     fetch [-k K] [-t MS] http://HOST[:PORT]/PATH ...
 *
 * Prints one line per URL, in the order given: "URL STATUS BYTES" or
 * "URL error: REASON". Exits 0 if every fetch got a response.
 *
 * Bounded concurrency: K worker tasks take the next URL from a shared
 * counter until none are left (no semaphore needed, and no more than K
 * connections at once). A fetch is one future: resolve, connect, write
 * the request through a kr_buf_writer, read the status line and headers
 * with kr_buf_read_line (a header over 8 KiB is an error, not unbounded
 * memory) and the body with kr_buf_read_to_end (at most 64 MiB);
 * kr_timeout around it cancels it at the deadline, which closes its
 * socket.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kairo.h"

#define LINE_MAX_ 8192
#define BODY_MAX  (64u << 20)

typedef struct result {
    int status; /* > 0, or a negative code */
    size_t bytes;
} result;

typedef struct job {
    char *const *urls;
    int n;
    atomic_int next;
    int timeout_ms;
    result *res;
} job;

/* ---- one fetch --------------------------------------------------------- */

typedef struct fetch {
    kr_future base;
    kr_coro co;
    char host[256], path[1024];
    int port;
    kr_sockaddr addr;
    kr_resolution rs;
    kr_tcp_connect conn;
    kr_tcp_stream *s;
    kr_buf_writer *w;
    kr_buf_reader *r;
    kr_buf_op op;
    const char *line;
    char *body;
    int64_t n;
    int rc, status;
    size_t *bytes;
} fetch;

/* http://host[:port]/path into the fetch. 0 or KR_EINVAL. */
static int parse_url(fetch *f, const char *url) {
    if (strncmp(url, "http://", 7) != 0)
        return KR_EINVAL;
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash != NULL ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hl);
    size_t nl = colon != NULL ? (size_t)(colon - h) : hl;
    if (nl == 0 || nl >= sizeof(f->host))
        return KR_EINVAL;
    memcpy(f->host, h, nl);
    f->host[nl] = '\0';
    f->port = colon != NULL ? atoi(colon + 1) : 80;
    snprintf(f->path, sizeof(f->path), "%s", slash != NULL ? slash : "/");
    return f->port > 0 && f->port < 65536 ? 0 : KR_EINVAL;
}

#define FAIL(code)                                                             \
    do {                                                                       \
        f->rc = (code);                                                        \
        goto out;                                                              \
    } while (0)

static kr_poll fetch_poll(kr_future *fut, kr_context *cx, void *out) {
    fetch *f = (fetch *)fut;
    KR_ASYNC_BEGIN(&f->co);
    f->rs = kr_resolve(f->host, f->port, &f->addr, 1);
    KR_AWAIT_INTO(&f->co, &f->rs, cx, f->rc);
    if (f->rc < 0)
        FAIL(f->rc);
    f->conn = kr_tcp_stream_connect(&f->addr, &f->s);
    KR_AWAIT_INTO(&f->co, &f->conn, cx, f->rc);
    if (f->rc < 0)
        FAIL(f->rc);
    if ((f->rc = kr_buf_writer_new(kr_io_tcp(f->s), 0, &f->w)) < 0 ||
        (f->rc = kr_buf_reader_new(kr_io_tcp(f->s), 0, &f->r)) < 0)
        FAIL(f->rc);
    kr_buf_writer_printf(f->w, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", f->path,
                         f->host);
    f->op = kr_buf_writer_flush(f->w);
    KR_AWAIT_INTO(&f->co, &f->op, cx, f->n);
    if (f->n < 0)
        FAIL((int)f->n);
    /* "HTTP/1.x NNN reason" */
    f->op = kr_buf_read_line(f->r, LINE_MAX_, &f->line);
    KR_AWAIT_INTO(&f->co, &f->op, cx, f->n);
    if (f->n <= 0)
        FAIL(f->n == 0 ? KR_EPROTO : (int)f->n);
    if (f->n < 12 || memcmp(f->line, "HTTP/1.", 7) != 0)
        FAIL(KR_EPROTO);
    f->status = atoi(f->line + 9);
    do { /* headers, to the empty line */
        f->op = kr_buf_read_line(f->r, LINE_MAX_, &f->line);
        KR_AWAIT_INTO(&f->co, &f->op, cx, f->n);
        if (f->n <= 0)
            FAIL(f->n == 0 ? KR_EPROTO : (int)f->n);
    } while (!(f->n == 2 && f->line[0] == '\r') && f->n != 1);
    f->op = kr_buf_read_to_end(f->r, BODY_MAX, &f->body, f->bytes);
    KR_AWAIT_INTO(&f->co, &f->op, cx, f->n);
    kr_buf_free(f->body);
    f->body = NULL;
    f->rc = f->n < 0 ? (int)f->n : f->status;
out:
    kr_buf_reader_free(f->r);
    kr_buf_writer_free(f->w);
    kr_tcp_stream_free(f->s);
    f->r = NULL;
    f->w = NULL;
    f->s = NULL;
    KR_RETURN(&f->co, out, int, f->rc);
    KR_ASYNC_END(&f->co);
}

static void fetch_drop(kr_future *fut) {
    fetch *f = (fetch *)fut;
    kr_coro_drop(&f->co); /* the pending step, then what it used */
    kr_buf_reader_free(f->r);
    kr_buf_writer_free(f->w);
    kr_tcp_stream_free(f->s);
}
KR_FUTURE_VTABLE(fetch_vt, fetch, fetch_poll, fetch_drop, sizeof(int));

/* ---- a worker: fetch the next URL until none are left -------------------- */

typedef struct worker {
    kr_future base;
    kr_coro co;
    job *j;
    int i;
    fetch *f;
    kr_timeout to;
    int rc, status;
} worker;

static kr_poll worker_poll(kr_future *fut, kr_context *cx, void *out) {
    worker *w = (worker *)fut;
    KR_ASYNC_BEGIN(&w->co);
    while ((w->i = atomic_fetch_add(&w->j->next, 1)) < w->j->n) {
        /* A fetch is ~2.5 KiB: on the heap, owned by the timeout. */
        w->f = calloc(1, sizeof(*w->f));
        w->f->base.vtable = &fetch_vt;
        w->f->bytes = &w->j->res[w->i].bytes;
        w->status = parse_url(w->f, w->j->urls[w->i]);
        if (w->status == 0) {
            w->to = kr_timeout_new(&w->f->base, kr_ms(w->j->timeout_ms),
                                   &w->status);
            KR_AWAIT_INTO(&w->co, &w->to, cx, w->rc);
            if (w->rc < 0)
                w->status = w->rc; /* KR_ELAPSED: the fetch was dropped */
        }
        free(w->f);
        w->f = NULL;
        w->j->res[w->i].status = w->status;
    }
    KR_ASYNC_END(&w->co);
}

static void worker_drop(kr_future *fut) {
    worker *w = (worker *)fut;
    kr_coro_drop(&w->co);
    free(w->f);
}
KR_FUTURE_VTABLE(worker_vt, worker, worker_poll, worker_drop, 0);

/* ---- main: K workers, wait for all ---------------------------------------- */

typedef struct all {
    kr_future base;
    kr_coro co;
    job *j;
    int k, i;
    kr_join_handle *h;
} all;

static kr_poll all_poll(kr_future *fut, kr_context *cx, void *out) {
    all *a = (all *)fut;
    KR_ASYNC_BEGIN(&a->co);
    for (a->i = 0; a->i < a->k; a->i++) {
        worker w = {.base = {&worker_vt}, .co = KR_CORO_INIT, .j = a->j};
        if (kr_spawn(&w.base, &a->h[a->i]) != 0)
            a->k = a->i; /* out of memory: fewer workers */
    }
    for (a->i = 0; a->i < a->k; a->i++)
        KR_AWAIT(&a->co, &a->h[a->i].base, cx, NULL);
    KR_ASYNC_END(&a->co);
}

static void all_drop(kr_future *fut) { kr_coro_drop(&((all *)fut)->co); }
KR_FUTURE_VTABLE(all_vt, all, all_poll, all_drop, 0);

int main(int argc, char **argv) {
    int k = 4, ms = 5000, i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-k") == 0)
            k = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-t") == 0)
            ms = atoi(argv[i + 1]);
        else
            break;
    }
    if (i >= argc || k <= 0 || ms <= 0) {
        fprintf(stderr, "usage: fetch [-k K] [-t MS] http://HOST[:PORT]/PATH"
                        " ...\n");
        return 2;
    }
    job j = {argv + i, argc - i, 0, ms,
             calloc((size_t)(argc - i), sizeof(result))};
    if (k > j.n)
        k = j.n;
    kr_join_handle *h = calloc((size_t)k, sizeof(*h));
    kr_runtime_config cfg = kr_runtime_config_default();
    kr_runtime *rt;
    int rc = kr_runtime_new(&cfg, &rt);
    if (rc == 0) {
        all a = {
            .base = {&all_vt}, .co = KR_CORO_INIT, .j = &j, .k = k, .h = h};
        rc = kr_runtime_block_on(rt, &a.base, NULL);
        kr_runtime_free(rt);
    }
    if (rc != 0) {
        fprintf(stderr, "fetch: %s\n", kr_strerror(rc));
        return 1;
    }
    int failed = 0;
    for (int u = 0; u < j.n; u++) {
        if (j.res[u].status > 0) {
            printf("%s %d %zu\n", j.urls[u], j.res[u].status, j.res[u].bytes);
        } else {
            printf("%s error: %s\n", j.urls[u], kr_strerror(j.res[u].status));
            failed++;
        }
    }
    free(j.res);
    free(h);
    return failed == 0 ? 0 : 1;
}
