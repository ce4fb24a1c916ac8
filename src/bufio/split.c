/*
 * bufio/split.c: owned read and write halves of a TCP stream (Tokio's
 * TcpStream::into_split, OwnedReadHalf, OwnedWriteHalf, reunite).
 *
 * A stream serves one reader and one writer at a time already (net.h,
 * "Sharing"); what the halves add is ownership: each half may go to its
 * own task, and the stream is freed when the second half is. Both halves
 * live in one allocation with a count of the halves still owned; the
 * count is the only thing two tasks touch, and the last to let go frees.
 */
#include <stdatomic.h>

#include "bufio/bufio.h"
#include "util/alloc.h"

typedef struct split split;

struct kr_tcp_read_half {
    split *sp;
};
struct kr_tcp_write_half {
    split *sp;
};

struct split {
    _Atomic int halves;
    kr_tcp_stream *s;
    struct kr_tcp_read_half rd;
    struct kr_tcp_write_half wr;
};

int kr_tcp_stream_into_split(kr_tcp_stream *s, kr_tcp_read_half **rd,
                             kr_tcp_write_half **wr) {
    if (s == NULL || rd == NULL || wr == NULL)
        return KR_EINVAL;
    split *sp = kr__malloc(sizeof(*sp));
    if (sp == NULL)
        return KR_ENOMEM;
    atomic_init(&sp->halves, 2);
    sp->s = s;
    sp->rd.sp = sp;
    sp->wr.sp = sp;
    *rd = &sp->rd;
    *wr = &sp->wr;
    return 0;
}

static void let_go(split *sp) {
    /* acq_rel: the last half sees everything the other did with the
     * stream before letting go. */
    if (atomic_fetch_sub_explicit(&sp->halves, 1, memory_order_acq_rel) == 1) {
        kr_tcp_stream_free(sp->s);
        kr__free(sp);
    }
}

void kr_tcp_read_half_free(kr_tcp_read_half *h) {
    if (h != NULL)
        let_go(h->sp);
}

void kr_tcp_write_half_free(kr_tcp_write_half *h) {
    if (h == NULL)
        return;
    (void)kr_tcp_stream_shutdown(h->sp->s, KR_SHUT_WRITE);
    let_go(h->sp);
}

int kr_tcp_stream_reunite(kr_tcp_read_half *rd, kr_tcp_write_half *wr,
                          kr_tcp_stream **out) {
    if (rd == NULL || wr == NULL || out == NULL || rd->sp != wr->sp)
        return KR_EINVAL;
    *out = rd->sp->s;
    kr__free(rd->sp);
    return 0;
}

kr_tcp_stream *kr_tcp_read_half_stream(kr_tcp_read_half *h) {
    return h != NULL ? h->sp->s : NULL;
}
kr_tcp_stream *kr_tcp_write_half_stream(kr_tcp_write_half *h) {
    return h != NULL ? h->sp->s : NULL;
}

/* ---- the halves as streams ------------------------------------------- */

static kr_poll no_read(void *o, kr_context *cx, void *buf, size_t len,
                       int64_t *res) {
    (void)o, (void)cx, (void)buf, (void)len;
    *res = KR_EBADF;
    return KR_READY;
}
static kr_poll no_write(void *o, kr_context *cx, const void *buf, size_t len,
                        int64_t *res) {
    (void)o, (void)cx, (void)buf, (void)len;
    *res = KR_EBADF;
    return KR_READY;
}

static const kr_io_stream_ops read_half_ops = {kr__io_tcp_read, no_write, NULL,
                                               NULL, "tcp read half"};
static const kr_io_stream_ops write_half_ops = {
    no_read, kr__io_tcp_write, kr__io_tcp_writev, kr__io_tcp_shutdown,
    "tcp write half"};

kr_io_stream kr_io_tcp_read_half(kr_tcp_read_half *h) {
    kr_io_stream st = {h != NULL ? h->sp->s : NULL, &read_half_ops};
    return st;
}

kr_io_stream kr_io_tcp_write_half(kr_tcp_write_half *h) {
    kr_io_stream st = {h != NULL ? h->sp->s : NULL, &write_half_ops};
    return st;
}
