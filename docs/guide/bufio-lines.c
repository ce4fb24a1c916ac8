/*
 * docs/guide/bufio-lines.c: the guide's "Buffered I/O" snippet. A writer
 * task appends replies to a kr_buf_writer and flushes them in one write;
 * a reader task reads them back with kr_buf_read_line. Built and run by
 * the guide's test: exits 0 when the lines came through.
 */
#include <stdio.h>
#include <string.h>

#include "kairo.h"

typedef struct replier {
    kr_future base;
    kr_coro co;
    kr_buf_writer *w;
    kr_buf_op op;
    int64_t rc;
} replier;

static kr_poll replier_poll(kr_future *f, kr_context *cx, void *out) {
    replier *t = (replier *)f;
    KR_ASYNC_BEGIN(&t->co);
    // [flush]
    for (int i = 1; i <= 3; i++) /* no waiting: appends to the buffer */
        kr_buf_writer_printf(t->w, "reply %d\r\n", i);
    t->op = kr_buf_writer_flush(t->w); /* one write for all three */
    KR_AWAIT_INTO(&t->co, &t->op, cx, t->rc);
    // [/flush]
    KR_RETURN(&t->co, out, int64_t, t->rc);
    KR_ASYNC_END(&t->co);
}
static void replier_drop(kr_future *f) { kr_coro_drop(&((replier *)f)->co); }
KR_FUTURE_VTABLE(replier_vt, replier, replier_poll, replier_drop,
                 sizeof(int64_t));

typedef struct liner {
    kr_future base;
    kr_coro co;
    kr_buf_reader *r;
    kr_buf_op op;
    const char *line; /* into the reader's buffer */
    int64_t n;
    int lines;
} liner;

static kr_poll liner_poll(kr_future *f, kr_context *cx, void *out) {
    liner *t = (liner *)f;
    KR_ASYNC_BEGIN(&t->co);
    for (;;) {
        // [read-line]
        t->op = kr_buf_read_line(t->r, 1024, &t->line); /* 1 KiB at most */
        KR_AWAIT_INTO(&t->co, &t->op, cx, t->n);
        if (t->n <= 0) /* 0: end of stream; < 0: KR_EMSGSIZE, an error */
            break;
        printf("got %.*s", (int)t->n, t->line); /* valid until next op */
        // [/read-line]
        t->lines++;
    }
    KR_RETURN(&t->co, out, int, t->n == 0 ? t->lines : (int)t->n);
    KR_ASYNC_END(&t->co);
}
static void liner_drop(kr_future *f) { kr_coro_drop(&((liner *)f)->co); }
KR_FUTURE_VTABLE(liner_vt, liner, liner_poll, liner_drop, sizeof(int));

int main(void) {
    kr_runtime *rt;
    kr_unix_stream *a, *b;
    kr_buf_writer *w;
    kr_buf_reader *r;
    if (kr_runtime_new(NULL, &rt) != 0 || kr_unix_stream_pair(rt, &a, &b) ||
        kr_buf_writer_new(kr_io_unix(a), 0, &w) ||
        kr_buf_reader_new(kr_io_unix(b), 0, &r))
        return 1;
    replier rp = {.base = {&replier_vt}, .co = KR_CORO_INIT, .w = w};
    int64_t wrc = -1;
    if (kr_runtime_block_on(rt, &rp.base, &wrc) != 0 || wrc != 0)
        return 1;
    kr_unix_stream_shutdown(a, KR_SHUT_WRITE); /* the reader sees the end */
    liner ln = {.base = {&liner_vt}, .co = KR_CORO_INIT, .r = r};
    int lines = -1;
    if (kr_runtime_block_on(rt, &ln.base, &lines) != 0)
        return 1;
    kr_buf_reader_free(r);
    kr_buf_writer_free(w);
    kr_unix_stream_free(a);
    kr_unix_stream_free(b);
    kr_runtime_free(rt);
    return lines == 3 ? 0 : 1;
}
