/*
 * bufio/copy.c: kr_io_copy and kr_io_copy_bidirectional (Tokio's
 * io::copy and io::copy_bidirectional).
 *
 * A copy reads into its buffer while it has room and writes out what it
 * holds (Tokio's CopyBuffer); the 8 KiB buffer is allocated on the first poll so the future
 * itself stays a few words (it may be moved until then, core.h).
 */
#include "bufio/bufio.h"
#include "util/alloc.h"

static kr_poll copy_out(kr_io_copy_future *c, void *out, int64_t v) {
    kr__free(c->buf_);
    c->buf_ = NULL;
    c->eof_ = 2; /* spent */
    if (out != NULL)
        *(int64_t *)out = v;
    return KR_READY;
}

static kr_poll copy_poll(kr_future *f, kr_context *cx, void *out) {
    kr_io_copy_future *c = (kr_io_copy_future *)f;
    if (c->eof_ == 2)
        kr__buf_polled_after_ready(f);
    if (c->from_.ops == NULL || c->to_.ops == NULL)
        return copy_out(c, out, KR_EINVAL);
    if (c->buf_ == NULL) {
        c->buf_ = kr__malloc(KR_IO_COPY_BUF);
        if (c->buf_ == NULL)
            return copy_out(c, out, KR_ENOMEM);
    }
    for (;;) {
        int64_t n;
        /* Read while there is room, as Tokio's CopyBuffer does: small
         * reads (a slow link) gather into one large write. A pending read
         * with bytes in hand goes on to write them. */
        if (c->end_ < KR_IO_COPY_BUF && !c->eof_) {
            if (c->from_.ops->poll_read(c->from_.obj, cx, c->buf_ + c->end_,
                                        KR_IO_COPY_BUF - c->end_,
                                        &n) == KR_PENDING) {
                if (c->pos_ == c->end_)
                    return KR_PENDING;
            } else if (n < 0) {
                return copy_out(c, out, n);
            } else if (n == 0) {
                c->eof_ = 1;
            } else {
                c->end_ += (size_t)n;
            }
        }
        while (c->pos_ < c->end_) {
            if (c->to_.ops->poll_write(c->to_.obj, cx, c->buf_ + c->pos_,
                                       c->end_ - c->pos_, &n) == KR_PENDING)
                return KR_PENDING;
            if (n <= 0)
                return copy_out(c, out, n < 0 ? n : KR_EPIPE);
            c->pos_ += (size_t)n;
            c->total_ += n;
        }
        c->pos_ = c->end_ = 0;
        if (c->eof_)
            return copy_out(c, out, c->total_);
    }
}

static void copy_drop(kr_future *f) {
    kr_io_copy_future *c = (kr_io_copy_future *)f;
    kr__free(c->buf_);
    c->buf_ = NULL;
}

static const kr_future_vtable copy_vt = {copy_poll, copy_drop,
                                         sizeof(kr_io_copy_future),
                                         sizeof(int64_t), "kr_io_copy"};

kr_io_copy_future kr_io_copy(kr_io_stream from, kr_io_stream to) {
    kr_io_copy_future c = {{&copy_vt}, from, to, NULL, 0, 0, 0, 0};
    return c;
}

/* ---- both ways ---------------------------------------------------------- */

static kr_poll bidi_poll(kr_future *f, kr_context *cx, void *out) {
    kr_io_copy_bidi *b = (kr_io_copy_bidi *)f;
    if (b->err_ == 1)
        kr__buf_polled_after_ready(f);
    kr_io_copy_future *dir[2] = {&b->ab_, &b->ba_};
    int64_t *count[2] = {b->a_to_b_, b->b_to_a_};
    for (int i = 0; i < 2; i++) {
        if (b->done_[i])
            continue;
        int64_t n;
        if (kr_future_poll(&dir[i]->base, cx, &n) == KR_PENDING)
            continue;
        b->done_[i] = 1;
        if (n < 0) {
            b->err_ = 1;
            if (out != NULL)
                *(int *)out = (int)n;
            return KR_READY; /* the drop releases the other direction */
        }
        if (count[i] != NULL)
            *count[i] = n;
        /* This direction is over: the peer of its destination sees end
         * of stream (a stream without shutdown just stays open). */
        kr_io_stream to = dir[i]->to_;
        if (to.ops->shutdown != NULL)
            (void)to.ops->shutdown(to.obj);
    }
    if (!b->done_[0] || !b->done_[1])
        return KR_PENDING;
    b->err_ = 1;
    if (out != NULL)
        *(int *)out = 0;
    return KR_READY;
}

static void bidi_drop(kr_future *f) {
    kr_io_copy_bidi *b = (kr_io_copy_bidi *)f;
    copy_drop(&b->ab_.base);
    copy_drop(&b->ba_.base);
}

static const kr_future_vtable bidi_vt = {bidi_poll, bidi_drop,
                                         sizeof(kr_io_copy_bidi), sizeof(int),
                                         "kr_io_copy_bidirectional"};

kr_io_copy_bidi kr_io_copy_bidirectional(kr_io_stream a, kr_io_stream b,
                                         int64_t *a_to_b, int64_t *b_to_a) {
    kr_io_copy_bidi c;
    c.base.vtable = &bidi_vt;
    c.ab_ = kr_io_copy(a, b);
    c.ba_ = kr_io_copy(b, a);
    c.a_to_b_ = a_to_b;
    c.b_to_a_ = b_to_a;
    c.done_[0] = c.done_[1] = 0;
    c.err_ = 0;
    return c;
}
