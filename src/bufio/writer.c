/*
 * bufio/writer.c: kr_buf_writer, a bounded buffer in front of a
 * kr_io_stream (an owned write queue): append now, flush later.
 *
 * The buffer is buf[0..cap) with the queued bytes at pos..end; cap only
 * grows, and never past `limit`. Appending needs no waiting and no write
 * in progress may stop it: a write hands the stream buf+pos for the
 * length of one system call inside one poll, and between polls the
 * writer is the owning task's alone (bufio.h: one task at a time), so an
 * append may move or grow the buffer freely. A flush keeps no pointer
 * across polls, only the writer.
 */
#include <stdio.h>
#include <string.h>

#include "bufio/bufio.h"
#include "util/alloc.h"

struct kr_buf_writer {
    kr_io_stream s;
    char *buf;
    size_t cap, pos, end, limit, reserved;
    int err; /* the first write error, sticky */
};

int kr_buf_writer_new(kr_io_stream s, size_t limit, kr_buf_writer **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (s.ops == NULL || s.ops->poll_write == NULL)
        return KR_EINVAL;
    kr_buf_writer *w = kr__malloc(sizeof(*w));
    if (w == NULL)
        return KR_ENOMEM;
    w->s = s;
    w->buf = NULL;
    w->cap = w->pos = w->end = w->reserved = 0;
    w->limit = limit != 0 ? limit : KR_BUF_WRITER_LIMIT;
    w->err = 0;
    *out = w;
    return 0;
}

void kr_buf_writer_free(kr_buf_writer *w) {
    if (w == NULL)
        return;
    kr__free(w->buf);
    kr__free(w);
}

kr_io_stream kr_buf_writer_stream(const kr_buf_writer *w) { return w->s; }
size_t kr_buf_writer_buffered(const kr_buf_writer *w) {
    return w->end - w->pos;
}
size_t kr_buf_writer_capacity(const kr_buf_writer *w) { return w->cap; }
size_t kr_buf_writer_limit(const kr_buf_writer *w) { return w->limit; }

/* Room for len more bytes at end: 0, KR_ENOBUFS (over the limit) or
 * KR_ENOMEM. Moves the queued bytes to the front, or grows the buffer
 * (doubling, from 4 KiB, capped at the limit). */
static int room(kr_buf_writer *w, size_t len) {
    size_t have = w->end - w->pos;
    if (len > w->limit - have)
        return KR_ENOBUFS;
    if (w->end + len <= w->cap)
        return 0;
    if (have + len <= w->cap) {
        memmove(w->buf, w->buf + w->pos, have);
    } else {
        size_t cap = w->cap < 4096 ? 4096 : w->cap * 2;
        while (cap < have + len)
            cap *= 2;
        if (cap > w->limit)
            cap = w->limit;
        char *nb = kr__malloc(cap);
        if (nb == NULL)
            return KR_ENOMEM;
        if (have > 0)
            memcpy(nb, w->buf + w->pos, have);
        kr__free(w->buf);
        w->buf = nb;
        w->cap = cap;
    }
    w->pos = 0;
    w->end = have;
    return 0;
}

int kr_buf_writer_write(kr_buf_writer *w, const void *data, size_t len) {
    if (w == NULL || (data == NULL && len > 0))
        return KR_EINVAL;
    if (w->err != 0)
        return w->err;
    if (len == 0)
        return 0;
    int rc = room(w, len);
    if (rc != 0)
        return rc;
    memcpy(w->buf + w->end, data, len);
    w->end += len;
    return 0;
}

char *kr_buf_writer_reserve(kr_buf_writer *w, size_t len) {
    if (w == NULL || w->err != 0 || room(w, len) != 0)
        return NULL;
    w->reserved = len;
    return w->buf + w->end;
}

void kr_buf_writer_commit(kr_buf_writer *w, size_t len) {
    KR__REQUIRE(len <= w->reserved, "commit %zu of %zu reserved", len,
                w->reserved);
    if (len > w->reserved)
        len = w->reserved;
    w->end += len;
    w->reserved = 0;
}

int kr_buf_writer_vprintf(kr_buf_writer *w, const char *fmt, va_list ap) {
    if (w == NULL || fmt == NULL)
        return KR_EINVAL;
    if (w->err != 0)
        return w->err;
    /* Try the tail first: most replies fit, and then one vsnprintf. */
    size_t tail = w->cap - w->end;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tail > 0 ? w->buf + w->end : NULL, tail, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return KR_EINVAL;
    if ((size_t)n < tail) {
        if ((size_t)n > w->limit - (w->end - w->pos))
            return KR_ENOBUFS;
        w->end += (size_t)n;
        return n;
    }
    char *p = kr_buf_writer_reserve(w, (size_t)n + 1);
    if (p == NULL)
        return room(w, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    kr_buf_writer_commit(w, (size_t)n);
    return n;
}

int kr_buf_writer_printf(kr_buf_writer *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = kr_buf_writer_vprintf(w, fmt, ap);
    va_end(ap);
    return n;
}

/* One write of the queued bytes. READY with 0 (progress) or the error
 * (now sticky); PENDING. */
static kr_poll write_some(kr_buf_writer *w, kr_context *cx, int *err) {
    int64_t n;
    if (w->s.ops->poll_write(w->s.obj, cx, w->buf + w->pos, w->end - w->pos,
                             &n) == KR_PENDING)
        return KR_PENDING;
    if (n <= 0) {
        w->err = n < 0 ? (int)n : KR_EPIPE;
        *err = w->err;
        return KR_READY;
    }
    w->pos += (size_t)n;
    if (w->pos == w->end)
        w->pos = w->end = 0;
    *err = 0;
    return KR_READY;
}

static kr_poll done(kr_buf_op *op, void *out, int64_t v) {
    kr__buf_spend(op);
    if (out != NULL)
        *(int64_t *)out = v;
    return KR_READY;
}

static kr_poll flush_poll(kr_future *f, kr_context *cx, void *out) {
    kr_buf_op *op = (kr_buf_op *)f;
    kr__buf_check_live(op);
    kr_buf_writer *w = op->obj_;
    if (w == NULL)
        return done(op, out, KR_EINVAL);
    while (w->err == 0 && w->pos < w->end) {
        int err;
        if (write_some(w, cx, &err) == KR_PENDING)
            return KR_PENDING;
    }
    return done(op, out, w->err);
}

/* done_: bytes of a bypassing write (len > limit) written so far. */
static kr_poll write_all_poll(kr_future *f, kr_context *cx, void *out) {
    kr_buf_op *op = (kr_buf_op *)f;
    kr__buf_check_live(op);
    kr_buf_writer *w = op->obj_;
    if (w == NULL || (op->dst_ == NULL && op->len_ > 0))
        return done(op, out, KR_EINVAL);
    for (;;) {
        if (w->err != 0)
            return done(op, out, w->err);
        if (op->done_ > 0) /* bypassing: later appends come after */
            break;
        /* Tokio's rule: what is smaller than the buffer is buffered, what
         * is not goes straight out once the buffer is empty. */
        if (op->len_ < w->limit && op->len_ <= w->limit - (w->end - w->pos)) {
            int rc = kr_buf_writer_write(w, op->dst_, op->len_);
            return done(op, out, rc != 0 ? rc : (int64_t)op->len_);
        }
        int err;
        if (w->pos < w->end) {
            if (write_some(w, cx, &err) == KR_PENDING)
                return KR_PENDING;
            continue;
        }
        break;
    }
    /* Empty and still too big: straight from the caller's bytes. */
    {
        while (op->done_ < op->len_) {
            int64_t n;
            if (w->s.ops->poll_write(w->s.obj, cx, (char *)op->dst_ + op->done_,
                                     op->len_ - op->done_, &n) == KR_PENDING)
                return KR_PENDING;
            if (n <= 0) {
                w->err = n < 0 ? (int)n : KR_EPIPE;
                return done(op, out, w->err);
            }
            op->done_ += (size_t)n;
        }
        return done(op, out, (int64_t)op->len_);
    }
}

static const kr_future_vtable flush_vt = {flush_poll, NULL, sizeof(kr_buf_op),
                                          sizeof(int64_t),
                                          "kr_buf_writer_flush"};
static const kr_future_vtable write_all_vt = {
    write_all_poll, NULL, sizeof(kr_buf_op), sizeof(int64_t),
    "kr_buf_write_all"};

kr_buf_op kr_buf_writer_flush(kr_buf_writer *w) {
    return kr__buf_op_make(&flush_vt, w, NULL, 0, NULL, 0);
}

kr_buf_op kr_buf_write_all(kr_buf_writer *w, const void *data, size_t len) {
    return kr__buf_op_make(&write_all_vt, w, (void *)data, len, NULL, 0);
}
